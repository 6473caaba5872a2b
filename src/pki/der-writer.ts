// A small DER writer for structures we encode ourselves on hot paths (X.690 clause 10): each
// function returns the complete TLV. Callers pass values already in canonical form.

function lengthOctets(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  if (length < 0x100) return Uint8Array.of(0x81, length);
  if (length < 0x10000) return Uint8Array.of(0x82, length >> 8, length & 0xff);
  if (length < 0x1000000)
    return Uint8Array.of(0x83, length >> 16, (length >> 8) & 0xff, length & 0xff);
  return Uint8Array.of(
    0x84,
    length >>> 24,
    (length >> 16) & 0xff,
    (length >> 8) & 0xff,
    length & 0xff,
  );
}

/** Tag (one octet) + length + the concatenated parts. */
export function tlv(tag: number, ...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const len = lengthOctets(length);
  const out = new Uint8Array(1 + len.length + length);
  out[0] = tag;
  out.set(len, 1);
  let offset = 1 + len.length;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export const seq = (...parts: readonly Uint8Array[]): Uint8Array => tlv(0x30, ...parts);

/** SET OF: components sorted by their encodings (X.690 11.6). */
export function setOf(...parts: readonly Uint8Array[]): Uint8Array {
  const sorted = [...parts].sort(compareBytes);
  return tlv(0x31, ...sorted);
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export const octetString = (value: Uint8Array): Uint8Array => tlv(0x04, value);
export const nullValue = (): Uint8Array => Uint8Array.of(0x05, 0x00);
export const bool = (value: boolean): Uint8Array => Uint8Array.of(0x01, 0x01, value ? 0xff : 0x00);
export const utf8String = (text: string): Uint8Array => tlv(0x0c, new TextEncoder().encode(text));

/** Context-specific tag number n (< 31), constructed (explicit or constructed implicit). */
export const contextConstructed = (n: number, ...parts: readonly Uint8Array[]): Uint8Array =>
  tlv(0xa0 | n, ...parts);
/** Context-specific tag number n (< 31), primitive (implicit primitive). */
export const contextPrimitive = (n: number, value: Uint8Array): Uint8Array => tlv(0x80 | n, value);

/** INTEGER from unsigned big-endian magnitude bytes (minimal two's complement). */
export function unsignedInteger(magnitude: Uint8Array): Uint8Array {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const body = magnitude.subarray(start);
  if (body.length === 0) return Uint8Array.of(0x02, 0x01, 0x00);
  return (body[0]! & 0x80) !== 0 ? tlv(0x02, Uint8Array.of(0), body) : tlv(0x02, body);
}

const MAX_SAFE_BIGINT = BigInt(Number.MAX_SAFE_INTEGER);

/** INTEGER from a non-negative safe integer or bigint. */
export function integer(value: number | bigint): Uint8Array {
  if (typeof value === 'bigint' && value >= 0n && value <= MAX_SAFE_BIGINT) {
    value = Number(value);
  }
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RangeError('not a non-negative integer');
    // Fast path (serial numbers, versions): at most 7 octets, no BigInt arithmetic, written in
    // place with a leading zero when the top bit is set.
    let octets = 1;
    let top = value;
    while (top >= 0x100) {
      top = Math.floor(top / 0x100);
      octets++;
    }
    const pad = top >= 0x80 ? 1 : 0;
    const out = new Uint8Array(2 + pad + octets);
    out[0] = 0x02;
    out[1] = pad + octets;
    let v = value;
    for (let i = out.length - 1; i >= 2 + pad; i--) {
      out[i] = v % 0x100;
      v = Math.floor(v / 0x100);
    }
    return out;
  }
  let v = value;
  if (v < 0n) throw new RangeError('negative integers are not used here');
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  } while (v > 0n);
  return unsignedInteger(Uint8Array.from(bytes));
}

/** OBJECT IDENTIFIER from dotted text. */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((a) => BigInt(a));
  if (arcs.length < 2) throw new RangeError('an object identifier has at least two arcs');
  const first = arcs[0]! * 40n + arcs[1]!;
  const out: number[] = [];
  for (const arc of [first, ...arcs.slice(2)]) {
    const chunk: number[] = [];
    let v = arc;
    do {
      chunk.unshift(Number(v & 0x7fn));
      v >>= 7n;
    } while (v > 0n);
    for (let i = 0; i < chunk.length - 1; i++) chunk[i]! |= 0x80;
    out.push(...chunk);
  }
  return tlv(0x06, Uint8Array.from(out));
}

/** AlgorithmIdentifier with absent parameters, or with the given DER parameters. */
export function algorithmIdentifier(dotted: string, params?: Uint8Array): Uint8Array {
  return params === undefined ? seq(oid(dotted)) : seq(oid(dotted), params);
}

/** GeneralizedTime from its text (caller ensures the DER form YYYYMMDDHHMMSS[.f]Z). */
export const generalizedTime = (text: string): Uint8Array =>
  tlv(0x18, new TextEncoder().encode(text));

/**
 * A deferred TLV: children are encoded once into a single buffer by encodeNode, instead of being
 * copied at every nesting level as tlv() does. Leaves are complete DER encodings.
 */
export interface DerNode {
  readonly tag: number;
  readonly children: readonly (DerNode | Uint8Array)[];
  length: number;
}

export function node(tag: number, ...children: readonly (DerNode | Uint8Array)[]): DerNode {
  return { tag, children, length: -1 };
}

function lengthSize(length: number): number {
  return length < 0x80 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : length < 0x1000000 ? 4 : 5;
}

function measure(n: DerNode | Uint8Array): number {
  if (n instanceof Uint8Array) return n.length;
  let content = 0;
  for (const c of n.children) content += measure(c);
  n.length = content;
  return 1 + lengthSize(content) + content;
}

function write(n: DerNode | Uint8Array, out: Uint8Array, offset: number): number {
  if (n instanceof Uint8Array) {
    out.set(n, offset);
    return offset + n.length;
  }
  out[offset++] = n.tag;
  const len = n.length;
  if (len < 0x80) out[offset++] = len;
  else {
    const size = lengthSize(len) - 1;
    out[offset++] = 0x80 | size;
    for (let i = size - 1; i >= 0; i--) out[offset++] = (len >>> (8 * i)) & 0xff;
  }
  for (const c of n.children) offset = write(c, out, offset);
  return offset;
}

/** Encodes a tree of nodes into one buffer: lengths first, then a single write pass. */
export function encodeNode(root: DerNode): Uint8Array {
  const out = new Uint8Array(measure(root));
  write(root, out, 0);
  return out;
}

/**
 * In-place writing for builders that lay a whole structure out in one preallocated buffer: the
 * size of a TLV from its content length, and its tag and length octets written at an offset or
 * ending at one.
 */
export function tlvSize(contentLength: number): number {
  return 1 + lengthSize(contentLength) + contentLength;
}

/** Writes tag and length octets at `offset`; returns the offset of the content. */
export function writeHeader(out: Uint8Array, offset: number, tag: number, length: number): number {
  out[offset++] = tag;
  if (length < 0x80) {
    out[offset++] = length;
    return offset;
  }
  const size = lengthSize(length) - 1;
  out[offset++] = 0x80 | size;
  for (let i = size - 1; i >= 0; i--) out[offset++] = (length >>> (8 * i)) & 0xff;
  return offset;
}

/** Writes tag and length octets ending just before `end`; returns where they start. */
export function writeHeaderBefore(
  out: Uint8Array,
  end: number,
  tag: number,
  length: number,
): number {
  const start = end - 1 - lengthSize(length);
  writeHeader(out, start, tag, length);
  return start;
}

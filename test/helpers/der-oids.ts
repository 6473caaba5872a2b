// Every OBJECT IDENTIFIER in a DER encoding, found by a generic walk of the TLV tree (X.690 8.1,
// 8.19): constructed values are entered, and so are OCTET STRING and BIT STRING values whose
// contents are themselves one DER value (extension values, eContent, SubjectPublicKeyInfo keys),
// so that OIDs inside extnValue, the TSTInfo and signed attributes are found too. Independent of
// the project's DER reader on purpose: it is the oracle that checks what the writers emit.

/** RFC 5280 4.1.2.4: implementations must handle arcs below 2^28; larger ones break parsers. */
export const ARC_LIMIT = 2n ** 28n;

export interface FoundOid {
  /** Dotted form, e.g. 1.3.6.1.4.1.32473.3161.7.1. */
  readonly oid: string;
  readonly arcs: readonly bigint[];
  /**
   * Where it sits: the identifier octets of each enclosing value in hex, `>` where the walk went
   * into the contents of an OCTET STRING or BIT STRING (e.g. `30/30/a3/30/30/04>30/06`).
   */
  readonly path: string;
}

interface Tlv {
  /** The identifier octets in hex (one octet unless the tag number is above 30). */
  readonly tag: string;
  readonly constructed: boolean;
  readonly content: Uint8Array;
}

/** The TLVs that exactly fill `bytes`, or undefined when they do not parse as definite DER. */
function readTlvs(bytes: Uint8Array): Tlv[] | undefined {
  const out: Tlv[] = [];
  let i = 0;
  while (i < bytes.length) {
    const start = i;
    const first = bytes[i++]!;
    if ((first & 0x1f) === 0x1f) {
      // High tag number form (X.690 8.1.2.4): base-128 octets, the last with bit 8 clear.
      for (;;) {
        if (i >= bytes.length) return undefined;
        if ((bytes[i++]! & 0x80) === 0) break;
      }
    }
    const tag = Buffer.from(bytes.subarray(start, i)).toString('hex');
    if (i >= bytes.length) return undefined;
    let length = bytes[i++]!;
    if (length === 0x80) return undefined; // indefinite length is BER, never DER
    if (length > 0x80) {
      const n = length & 0x7f;
      if (n > 4 || i + n > bytes.length) return undefined;
      length = 0;
      for (let k = 0; k < n; k++) length = length * 256 + bytes[i++]!;
    }
    if (i + length > bytes.length) return undefined;
    out.push({
      tag,
      constructed: (first & 0x20) !== 0,
      content: bytes.subarray(i, i + length),
    });
    i += length;
  }
  return out;
}

/** X.690 8.19: the arcs of an OID's contents, or undefined when they are not a valid encoding. */
export function decodeOidArcs(content: Uint8Array): bigint[] | undefined {
  if (content.length === 0 || (content[content.length - 1]! & 0x80) !== 0) return undefined;
  const subs: bigint[] = [];
  let value = 0n;
  let fresh = true;
  for (const b of content) {
    if (fresh && b === 0x80) return undefined; // a leading 0x80 octet is not minimal
    value = (value << 7n) | BigInt(b & 0x7f);
    fresh = (b & 0x80) === 0;
    if (fresh) {
      subs.push(value);
      value = 0n;
    }
  }
  const head = subs[0]!;
  const first = head < 40n ? 0n : head < 80n ? 1n : 2n;
  return [first, head - first * 40n, ...subs.slice(1)];
}

/** Whether these contents of an OCTET STRING or BIT STRING are one DER value worth entering. */
function holdsDer(bytes: Uint8Array): boolean {
  const tlvs = readTlvs(bytes);
  if (tlvs?.length !== 1) return false;
  const [only] = tlvs;
  // A random octet string (a key identifier, a nonce, an EC point) is seldom one complete TLV,
  // and almost never one whose constructed contents parse all the way down.
  if (only!.constructed) return parsesDeep(only!.content);
  if (only!.tag === '06') return decodeOidArcs(only!.content) !== undefined;
  return only!.tag === '04' || only!.tag === '03';
}

function parsesDeep(bytes: Uint8Array): boolean {
  const tlvs = readTlvs(bytes);
  if (tlvs === undefined) return false;
  return tlvs.every((t) => !t.constructed || parsesDeep(t.content));
}

function walk(bytes: Uint8Array, path: string, out: FoundOid[]): void {
  const tlvs = readTlvs(bytes);
  if (tlvs === undefined) throw new Error(`not DER at ${path === '' ? 'the top' : path}`);
  for (const t of tlvs) {
    const here = path === '' || path.endsWith('>') ? `${path}${t.tag}` : `${path}/${t.tag}`;
    if (t.constructed) {
      walk(t.content, here, out);
    } else if (t.tag === '06') {
      const arcs = decodeOidArcs(t.content);
      if (arcs === undefined) throw new Error(`malformed OBJECT IDENTIFIER at ${here}`);
      out.push({ oid: arcs.join('.'), arcs, path: here });
    } else if (t.tag === '04' && holdsDer(t.content)) {
      walk(t.content, `${here}>`, out);
    } else if (t.tag === '03' && t.content[0] === 0 && holdsDer(t.content.subarray(1))) {
      walk(t.content.subarray(1), `${here}>`, out);
    }
  }
}

/** Every OID in the DER value(s) `der`, in document order. Throws when `der` is not DER. */
export function findOids(der: Uint8Array): FoundOid[] {
  const out: FoundOid[] = [];
  walk(der, '', out);
  return out;
}

/** The OIDs in `der` with an arc at or above 2^28, each as `oid at path`. */
export function oversizedArcs(der: Uint8Array): string[] {
  return findOids(der)
    .filter((f) => f.arcs.some((a) => a >= ARC_LIMIT))
    .map((f) => `${f.oid} at ${f.path}`);
}

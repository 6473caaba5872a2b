// The one strict DER reader (ITU-T X.690 clause 8, 10 and 11): definite minimal lengths, minimal
// tags and integers, canonical booleans and bit strings, minimal OID arcs, sorted SETs, no
// trailing bytes, bounded nesting. assertStrictDer validates a whole value; readTlv and the read*
// functions navigate and decode one (lazily and allocation-light, as the TSA request hot path
// needs) with the same checks, so they are safe on bytes nobody validated first.
import { PkiError } from './errors.js';

/** Nesting deeper than this is refused: real certificates nest about 10 levels. */
export const DEFAULT_MAX_DEPTH = 32;

/** Four length octets already allow 4 GiB; anything longer is hostile. */
export const MAX_LENGTH_OCTETS = 4;

export interface DerLimits {
  /** Maximum nesting of constructed values (stack-exhaustion guard). */
  readonly maxDepth?: number;
}

/** One TLV with a single-octet tag, as readTlv returns it. */
export interface Tlv {
  readonly tag: number;
  /** Offset of the tag octet. */
  readonly start: number;
  /** Offset of the first value octet. */
  readonly valueStart: number;
  /** Offset after the value. */
  readonly end: number;
}

/** An encoding DER forbids (or bytes that are no DER at all). */
function invalid(message: string, offset: number): never {
  throw new PkiError('der-invalid', message, { details: { offset } });
}

/** Valid DER that is not the structure the caller expects. */
function schema(message: string, offset: number): never {
  throw new PkiError('asn1-schema', message, { details: { offset } });
}

/**
 * The end offset of the value whose length octets start at `at` (its TLV starts at `start`),
 * checking X.690 10.1 (definite form, minimal octets) and that it fits before `limit`.
 */
function valueEnd(
  b: Uint8Array,
  start: number,
  at: number,
  limit: number,
  maxLengthOctets: number,
): number {
  const first = b[at]!;
  if (first < 0x80) {
    const end = at + 1 + first;
    if (end > limit) invalid('value runs past its container', start);
    return end;
  }
  const n = first & 0x7f;
  if (n === 0) invalid('indefinite length is not DER', at);
  if (n > maxLengthOctets) invalid('length too large', at);
  if (at + 1 + n > limit) invalid('truncated length', at);
  if (b[at + 1] === 0) invalid('non-minimal length', at);
  let length = 0;
  for (let i = 1; i <= n; i++) length = length * 256 + b[at + i]!;
  if (length < 0x80) invalid('non-minimal length', at);
  const end = at + 1 + n + length;
  if (end > limit) invalid('value runs past its container', start);
  return end;
}

/** Offset of the first value octet, the length octets at `at` being valid. */
function valueOffset(b: Uint8Array, at: number): number {
  const first = b[at]!;
  return first < 0x80 ? at + 1 : at + 1 + (first & 0x7f);
}

/**
 * The TLV starting at `pos` inside [pos, limit): a single-octet tag (the structures we read use
 * no high tag numbers) and a strict DER length of at most `maxLengthOctets` octets.
 */
export function readTlv(
  b: Uint8Array,
  pos: number,
  limit: number = b.length,
  maxLengthOctets: number = MAX_LENGTH_OCTETS,
): Tlv {
  return readTlvInto({ tag: 0, start: 0, valueStart: 0, end: 0 }, b, pos, limit, maxLengthOctets);
}

/** A Tlv that readTlvInto overwrites. */
export interface MutableTlv {
  tag: number;
  start: number;
  valueStart: number;
  end: number;
}

/**
 * readTlv into `out` rather than a new object, for a reader on a hot path that walks values
 * without keeping them (the TSA request reader).
 */
export function readTlvInto(
  out: MutableTlv,
  b: Uint8Array,
  pos: number,
  limit: number = b.length,
  maxLengthOctets: number = MAX_LENGTH_OCTETS,
): MutableTlv {
  if (pos + 2 > limit) invalid('truncated', pos);
  const tag = b[pos]!;
  if ((tag & 0x1f) === 0x1f) schema('unexpected high tag number', pos);
  out.end = valueEnd(b, pos, pos + 1, limit, maxLengthOctets);
  out.tag = tag;
  out.start = pos;
  out.valueStart = valueOffset(b, pos + 1);
  return out;
}

/** The TLVs inside a constructed value. */
export function childrenOf(b: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let pos = parent.valueStart;
  while (pos < parent.end) {
    const t = readTlv(b, pos, parent.end);
    out.push(t);
    pos = t.end;
  }
  return out;
}

export function expectTag(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (t?.tag !== tag) schema(`expected ${what}`, t?.start ?? -1);
  return t;
}

export function contentOf(b: Uint8Array, t: Tlv): Uint8Array {
  return b.subarray(t.valueStart, t.end);
}

export function encodingOf(b: Uint8Array, t: Tlv): Uint8Array {
  return b.subarray(t.start, t.end);
}

// Value checks: each rule once, for the validating walk and for the decoders alike.

/** X.690 8.3.2: an INTEGER or ENUMERATED has content, in minimal two's complement. */
function checkInteger(b: Uint8Array, valueStart: number, end: number, start: number): void {
  const len = end - valueStart;
  if (len === 0) invalid('empty integer', start);
  if (len > 1) {
    const a = b[valueStart]!;
    const c = b[valueStart + 1]!;
    if ((a === 0x00 && (c & 0x80) === 0) || (a === 0xff && (c & 0x80) !== 0)) {
      invalid('non-minimal integer', start);
    }
  }
}

/** X.690 8.2.1 and 11.1: a BOOLEAN is one octet, FALSE 0x00 and TRUE 0xFF. */
function checkBoolean(b: Uint8Array, valueStart: number, end: number, start: number): boolean {
  if (end - valueStart !== 1) invalid('boolean must be one octet', start);
  const v = b[valueStart];
  if (v === 0xff) return true;
  if (v === 0x00) return false;
  return invalid('boolean must be 0x00 or 0xff', start);
}

/**
 * X.690 8.19.2 and 8.20.2 (OBJECT IDENTIFIER, RELATIVE-OID): content present, the last
 * subidentifier complete, and no subidentifier opening with 0x80 (non-minimal).
 */
function checkOid(b: Uint8Array, valueStart: number, end: number, start: number): void {
  if (end <= valueStart) invalid('empty object identifier', start);
  if ((b[end - 1]! & 0x80) !== 0) invalid('truncated object identifier', start);
  let atStart = true;
  for (let i = valueStart; i < end; i++) {
    const byte = b[i]!;
    if (atStart && byte === 0x80) invalid('non-minimal object identifier arc', i);
    atStart = (byte & 0x80) === 0;
  }
}

/**
 * Exact dotted text of the OBJECT IDENTIFIER content octets in [start, end), checked as
 * checkOid does. Arcs stay numbers while they are exact and turn into BigInt beyond (2.25 UUID
 * arcs exceed 2^53, which asn1js misreads).
 */
export function decodeOid(b: Uint8Array, start: number, end: number): string {
  checkOid(b, start, end, start);
  let text = '';
  let value = 0;
  let big: bigint | undefined;
  let first = true;
  for (let i = start; i < end; i++) {
    const byte = b[i]!;
    if (big !== undefined) big = (big << 7n) | BigInt(byte & 0x7f);
    else if (value > 0x3fffffffffff) big = (BigInt(value) << 7n) | BigInt(byte & 0x7f);
    else value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      if (first) {
        // X.690 8.19.4: the first subidentifier packs the first two arcs.
        const arc = big ?? BigInt(value);
        const top = arc < 80n ? arc / 40n : 2n;
        text = `${top}.${arc - top * 40n}`;
        first = false;
      } else {
        text += `.${big === undefined ? value : big}`;
      }
      value = 0;
      big = undefined;
    }
  }
  return text;
}

/** Exact dotted text of an OBJECT IDENTIFIER's content octets. */
export function oidFromContent(content: Uint8Array): string {
  return decodeOid(content, 0, content.length);
}

export function readOid(b: Uint8Array, t: Tlv | undefined): string {
  const v = expectTag(t, 0x06, 'object identifier');
  return decodeOid(b, v.valueStart, v.end);
}

export function readBoolean(b: Uint8Array, t: Tlv | undefined): boolean {
  const v = expectTag(t, 0x01, 'boolean');
  return checkBoolean(b, v.valueStart, v.end, v.start);
}

/** Checks an INTEGER's (or ENUMERATED's) content octets are minimal two's complement. */
export function checkIntegerContent(b: Uint8Array, t: Tlv): void {
  checkInteger(b, t.valueStart, t.end, t.start);
}

/** Non-negative INTEGER or ENUMERATED value. */
export function readUnsigned(b: Uint8Array, t: Tlv | undefined, tag = 0x02): bigint {
  const v = expectTag(t, tag, tag === 0x0a ? 'enumerated' : 'integer');
  checkInteger(b, v.valueStart, v.end, v.start);
  if ((b[v.valueStart]! & 0x80) !== 0) schema('negative value', v.start);
  let n = 0n;
  for (let i = v.valueStart; i < v.end; i++) n = (n << 8n) | BigInt(b[i]!);
  return n;
}

export function readUtf8(b: Uint8Array, t: Tlv | undefined): string {
  const v = expectTag(t, 0x0c, 'utf8 string');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(contentOf(b, v));
  } catch {
    return schema('invalid utf-8', v.start);
  }
}

export function readOctets(b: Uint8Array, t: Tlv | undefined): Uint8Array {
  return contentOf(b, expectTag(t, 0x04, 'octet string'));
}

/** GeneralizedTime (DER form) as a Date; fractions kept to milliseconds. */
export function readGeneralizedTime(b: Uint8Array, t: Tlv | undefined): Date {
  const v = expectTag(t, 0x18, 'generalized time');
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\.\d+)?Z$/.exec(
    latin1(b, v.valueStart, v.end - v.valueStart),
  );
  if (m === null) schema('generalized time not in DER form', v.start);
  const [, y, mo, d, h, mi, s, frac] = m;
  const ms = frac === undefined ? 0 : Math.floor(Number(`0${frac}`) * 1000);
  const date = utcInstant(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s), ms);
  if (date === undefined) schema('impossible date', v.start);
  return date;
}

/**
 * The instant of these UTC calendar fields (month 1-12), or undefined when a field is out of
 * range: Date.UTC would roll month 13, 30 February, 24:00 or second 60 over into a later valid
 * instant, and would read years 0-99 as 1900-1999.
 */
export function utcInstant(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  ms = 0,
): Date | undefined {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  const exact =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second;
  return exact ? date : undefined;
}

function latin1(bytes: Uint8Array, start: number, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += String.fromCharCode(bytes[start + i]!);
  return s;
}

// The validating walk over a whole value: any tag, every universal type's rules.

interface Header {
  readonly tagClass: number;
  readonly constructed: boolean;
  readonly tagNumber: number;
  readonly headerLength: number;
  readonly length: number;
}

/** The identifier (X.690 8.1.2, high tag numbers included) and length of the TLV at `offset`. */
function readHeader(bytes: Uint8Array, offset: number, end: number): Header {
  let pos = offset;
  if (pos >= end) invalid('truncated tag', pos);
  const first = bytes[pos++]!;
  const tagClass = first >> 6;
  const constructed = (first & 0x20) !== 0;
  let tagNumber = first & 0x1f;
  if (tagNumber === 0x1f) {
    // X.690 8.1.2.4: high tag numbers in base 128, no leading 0x80, and only when >= 31.
    tagNumber = 0;
    let count = 0;
    for (;;) {
      if (pos >= end) invalid('truncated tag', pos);
      const b = bytes[pos++]!;
      if (count === 0 && b === 0x80) invalid('non-minimal tag number', pos - 1);
      tagNumber = tagNumber * 128 + (b & 0x7f);
      if (++count > 4) invalid('tag number too large', pos);
      if ((b & 0x80) === 0) break;
    }
    if (tagNumber < 31) invalid('non-minimal tag number', offset);
  }
  if (pos >= end) invalid('truncated length', pos);
  const valueEndOffset = valueEnd(bytes, offset, pos, end, MAX_LENGTH_OCTETS);
  const valueStart = valueOffset(bytes, pos);
  return {
    tagClass,
    constructed,
    tagNumber,
    headerLength: valueStart - offset,
    length: valueEndOffset - valueStart,
  };
}

// X.690 8.5, 8.19, 8.20 and 10.2: REAL, object identifiers, times and every string type are
// primitive in DER.
const PRIMITIVE_ONLY = new Set([
  1, 2, 3, 4, 5, 6, 7, 9, 10, 12, 13, 14, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 30, 31, 32,
  33, 34,
]);

/** X.680 8.6: UNIVERSAL 0 belongs to end-of-contents (never in DER), 15 and 37 up are reserved. */
function isReservedUniversal(tagNumber: number): boolean {
  return tagNumber === 0 || tagNumber === 15 || tagNumber > 36;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function checkUniversal(bytes: Uint8Array, tlv: Header, start: number): void {
  const v = start + tlv.headerLength;
  const len = tlv.length;
  if (isReservedUniversal(tlv.tagNumber)) invalid('reserved universal tag', start);
  if (tlv.constructed && PRIMITIVE_ONLY.has(tlv.tagNumber)) {
    invalid('constructed encoding of a primitive type', start);
  }
  switch (tlv.tagNumber) {
    case 1:
      checkBoolean(bytes, v, v + len, start);
      break;
    case 2:
    case 10:
      checkInteger(bytes, v, v + len, start);
      break;
    case 3: {
      // X.690 11.2: unused bits 0..7, zero when empty, and the unused bits themselves zero
      if (len === 0) invalid('bit string without unused-bits octet', start);
      const unused = bytes[v]!;
      if (unused > 7 || (len === 1 && unused !== 0)) invalid('invalid unused-bits count', start);
      if (len > 1 && unused > 0 && (bytes[v + len - 1]! & ((1 << unused) - 1)) !== 0) {
        invalid('non-zero unused bits', start);
      }
      break;
    }
    case 5:
      if (len !== 0) invalid('null with content', start);
      break;
    case 6:
    case 13:
      checkOid(bytes, v, v + len, start);
      break;
    case 28: // UniversalString is UCS-4: four octets per character
      if (len % 4 !== 0) invalid('universal string length not a multiple of 4', start);
      break;
    case 30: // BMPString is UCS-2: two octets per character
      if (len % 2 !== 0) invalid('bmp string length not a multiple of 2', start);
      break;
    case 16:
    case 17:
      if (!tlv.constructed) invalid('primitive encoding of a constructed type', start);
      break;
    case 23: // X.690 11.8: UTCTime YYMMDDHHMMSSZ
      if (!/^\d{12}Z$/.test(latin1(bytes, v, len))) invalid('utc time not in DER form', start);
      break;
    case 24: // X.690 11.7: GeneralizedTime with Z, no trailing zeros in the fraction
      if (!/^\d{14}(\.\d*[1-9])?Z$/.test(latin1(bytes, v, len))) {
        invalid('generalized time not in DER form', start);
      }
      break;
    default:
      break;
  }
}

function walk(
  bytes: Uint8Array,
  start: number,
  end: number,
  depth: number,
  maxDepth: number,
): void {
  if (depth > maxDepth) {
    throw new PkiError('der-too-deep', 'nesting exceeds the limit', { details: { maxDepth } });
  }
  let pos = start;
  while (pos < end) {
    const tlv = readHeader(bytes, pos, end);
    if (tlv.tagClass === 0) checkUniversal(bytes, tlv, pos);
    const valueStart = pos + tlv.headerLength;
    const valueEnd = valueStart + tlv.length;
    if (tlv.constructed) {
      walk(bytes, valueStart, valueEnd, depth + 1, maxDepth);
      if (tlv.tagClass === 0 && tlv.tagNumber === 17) checkSetOrder(bytes, valueStart, valueEnd);
    }
    pos = valueEnd;
  }
}

function checkSetOrder(bytes: Uint8Array, start: number, end: number): void {
  // X.690 11.6: the encodings of the components of a SET OF appear in ascending order.
  let pos = start;
  let previous: Uint8Array | undefined;
  while (pos < end) {
    const tlv = readHeader(bytes, pos, end);
    const next = pos + tlv.headerLength + tlv.length;
    const current = bytes.subarray(pos, next);
    if (previous !== undefined && compareBytes(previous, current) > 0) {
      invalid('set components not in ascending order', pos);
    }
    previous = current;
    pos = next;
  }
}

/**
 * Throws PkiError unless `bytes` is exactly one strict-DER value (no trailing bytes).
 */
export function assertStrictDer(bytes: Uint8Array, limits: DerLimits = {}): void {
  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (bytes.length === 0) invalid('empty input', 0);
  const top = readHeader(bytes, 0, bytes.length);
  const total = top.headerLength + top.length;
  if (total !== bytes.length) {
    throw new PkiError('der-trailing-data', 'trailing bytes after the value', {
      details: { offset: total },
    });
  }
  walk(bytes, 0, bytes.length, 0, maxDepth);
}

/** Total encoded length of the first TLV in `bytes` (header plus value), DER rules. */
export function tlvLength(bytes: Uint8Array): number {
  const tlv = readHeader(bytes, 0, bytes.length);
  return tlv.headerLength + tlv.length;
}

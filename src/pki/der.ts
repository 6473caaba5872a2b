// Strict DER (ITU-T X.690 clause 10/11) validation and parsing: definite minimal lengths, minimal
// tags and integers, canonical booleans and bit strings, sorted SETs, no trailing bytes, bounded
// nesting. Everything we parse goes through here before asn1js sees it.
import * as asn1js from 'asn1js';
import { toArrayBuffer } from '../shared/index.js';
import { PkiError } from './errors.js';

/** Nesting deeper than this is refused: real certificates nest about 10 levels. */
export const DEFAULT_MAX_DEPTH = 32;

export interface DerLimits {
  /** Maximum nesting of constructed values (stack-exhaustion guard). */
  readonly maxDepth?: number;
}

interface Tlv {
  readonly tagClass: number;
  readonly constructed: boolean;
  readonly tagNumber: number;
  readonly headerLength: number;
  readonly length: number;
}

function fail(message: string, offset: number): never {
  throw new PkiError('der-invalid', message, { details: { offset } });
}

function readHeader(bytes: Uint8Array, offset: number, end: number): Tlv {
  let pos = offset;
  if (pos >= end) fail('truncated tag', pos);
  const first = bytes[pos++]!;
  const tagClass = first >> 6;
  const constructed = (first & 0x20) !== 0;
  let tagNumber = first & 0x1f;
  if (tagNumber === 0x1f) {
    // X.690 8.1.2.4: high tag numbers in base 128, no leading 0x80, and only when >= 31.
    tagNumber = 0;
    let count = 0;
    for (;;) {
      if (pos >= end) fail('truncated tag', pos);
      const b = bytes[pos++]!;
      if (count === 0 && b === 0x80) fail('non-minimal tag number', pos - 1);
      tagNumber = tagNumber * 128 + (b & 0x7f);
      if (++count > 4) fail('tag number too large', pos);
      if ((b & 0x80) === 0) break;
    }
    if (tagNumber < 31) fail('non-minimal tag number', offset);
  }
  if (pos >= end) fail('truncated length', pos);
  const lenByte = bytes[pos++]!;
  let length: number;
  if (lenByte < 0x80) {
    length = lenByte;
  } else if (lenByte === 0x80) {
    fail('indefinite length is not DER', pos - 1);
  } else {
    const n = lenByte & 0x7f;
    // Four length octets already allow 4 GiB; anything longer is hostile.
    if (n > 4) fail('length field too long', pos - 1);
    if (pos + n > end) fail('truncated length', pos);
    if (bytes[pos] === 0) fail('non-minimal length', pos);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + bytes[pos++]!;
    if (length < 0x80) fail('non-minimal length', pos - n - 1);
  }
  const headerLength = pos - offset;
  if (offset + headerLength + length > end) fail('value runs past its container', offset);
  return { tagClass, constructed, tagNumber, headerLength, length };
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

function checkUniversal(bytes: Uint8Array, tlv: Tlv, start: number): void {
  const v = start + tlv.headerLength;
  const len = tlv.length;
  if (isReservedUniversal(tlv.tagNumber)) fail('reserved universal tag', start);
  if (tlv.constructed && PRIMITIVE_ONLY.has(tlv.tagNumber)) {
    fail('constructed encoding of a primitive type', start);
  }
  switch (tlv.tagNumber) {
    case 1: // X.690 11.1: BOOLEAN TRUE is 0xFF
      if (len !== 1 || (bytes[v] !== 0x00 && bytes[v] !== 0xff))
        fail('non-canonical boolean', start);
      break;
    case 2: // X.690 8.3.2: INTEGER minimal two's complement
    case 10:
      if (len === 0) fail('empty integer', start);
      if (len > 1) {
        const a = bytes[v]!;
        const b = bytes[v + 1]!;
        if ((a === 0x00 && (b & 0x80) === 0) || (a === 0xff && (b & 0x80) !== 0)) {
          fail('non-minimal integer', start);
        }
      }
      break;
    case 3: {
      // X.690 11.2: unused bits 0..7, zero when empty, and the unused bits themselves zero
      if (len === 0) fail('bit string without unused-bits octet', start);
      const unused = bytes[v]!;
      if (unused > 7 || (len === 1 && unused !== 0)) fail('invalid unused-bits count', start);
      if (len > 1 && unused > 0 && (bytes[v + len - 1]! & ((1 << unused) - 1)) !== 0) {
        fail('non-zero unused bits', start);
      }
      break;
    }
    case 5:
      if (len !== 0) fail('null with content', start);
      break;
    case 6: // X.690 8.19.2 and 8.20.2 (OBJECT IDENTIFIER, RELATIVE-OID): minimal subidentifiers
    case 13: {
      if (len === 0) fail('empty object identifier', start);
      if ((bytes[v + len - 1]! & 0x80) !== 0) fail('truncated object identifier', start);
      let atStart = true;
      for (let i = 0; i < len; i++) {
        const b = bytes[v + i]!;
        if (atStart && b === 0x80) fail('non-minimal object identifier arc', start);
        atStart = (b & 0x80) === 0;
      }
      break;
    }
    case 28: // UniversalString is UCS-4: four octets per character
      if (len % 4 !== 0) fail('universal string length not a multiple of 4', start);
      break;
    case 30: // BMPString is UCS-2: two octets per character
      if (len % 2 !== 0) fail('bmp string length not a multiple of 2', start);
      break;
    case 16:
    case 17:
      if (!tlv.constructed) fail('primitive encoding of a constructed type', start);
      break;
    case 23: // X.690 11.8: UTCTime YYMMDDHHMMSSZ
      if (!/^\d{12}Z$/.test(latin1(bytes, v, len))) fail('utc time not in DER form', start);
      break;
    case 24: // X.690 11.7: GeneralizedTime with Z, no trailing zeros in the fraction
      if (!/^\d{14}(\.\d*[1-9])?Z$/.test(latin1(bytes, v, len))) {
        fail('generalized time not in DER form', start);
      }
      break;
    default:
      break;
  }
}

function latin1(bytes: Uint8Array, start: number, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += String.fromCharCode(bytes[start + i]!);
  return s;
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
      fail('set components not in ascending order', pos);
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
  if (bytes.length === 0) fail('empty input', 0);
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

/** Strict DER check, then asn1js parsing of exactly one value. */
export function parseDer(bytes: Uint8Array, limits?: DerLimits): asn1js.AsnType {
  assertStrictDer(bytes, limits);
  const parsed = asn1js.fromBER(toArrayBuffer(bytes));
  if (parsed.offset === -1 || parsed.offset !== bytes.length) {
    throw new PkiError('der-invalid', 'asn1 parsing failed', {
      details: { offset: parsed.offset },
    });
  }
  return parsed.result;
}

/** DER encoding of an asn1js value as a Uint8Array. */
export function encodeDer(value: { toBER(sizeOnly?: boolean): ArrayBuffer }): Uint8Array {
  return new Uint8Array(value.toBER(false));
}

/**
 * Whether `bytes` start with one complete BER value (X.690 8: long-form and indefinite lengths
 * allowed, trailing bytes ignored): a value that at worst breaks the DER rules, as opposed to
 * bytes that are no ASN.1 at all (truncated, or garbage).
 */
export function isBerEncoded(bytes: Uint8Array): boolean {
  if (bytes.length === 0) return false;
  const parsed = asn1js.fromBER(toArrayBuffer(bytes));
  return parsed.offset !== -1 && parsed.result.error === '';
}

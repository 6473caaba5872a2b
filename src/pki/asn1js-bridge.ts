// The bridge between our strict DER reader and asn1js values, for the pki code that builds or
// reads structures through asn1js and pkijs. Its results never leave src/pki.
import * as asn1js from 'asn1js';
import { toArrayBuffer } from '../shared/index.js';
import { assertStrictDer, type DerLimits } from './der.js';
import { PkiError } from './errors.js';

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

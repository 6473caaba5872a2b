// Public keys carried raw in the SubjectPublicKeyInfo BIT STRING under an OID with absent
// parameters, as ML-DSA, SLH-DSA and ML-KEM keys are (RFC 9881 4, RFC 9909 4, RFC 9935 4):
// writing such an SPKI, and the checks a family makes when reading one.
import type { Tlv } from '../der.js';
import { algorithmIdentifier, tlv } from '../der-writer.js';
import { unsupported, type Unsupported } from './types.js';

/** SubjectPublicKeyInfo { algorithm { oid } (parameters absent), subjectPublicKey BIT STRING }. */
export function encodeRawSpki(oid: string, key: Uint8Array): Uint8Array {
  const bits = tlv(0x03, Uint8Array.of(0), key);
  return tlv(0x30, algorithmIdentifier(oid), bits);
}

/**
 * The key of `label` when the parameters are absent and the key has `length` octets; why not
 * otherwise. The same OID names a public key of one length only (each parameter set has its own).
 */
export function readRawKey(
  label: string,
  rfc: string,
  params: Tlv | undefined,
  key: Uint8Array,
  length: number,
): Uint8Array | Unsupported {
  if (params !== undefined) return unsupported(`${label} parameters must be absent (${rfc})`);
  if (key.length !== length)
    return unsupported(`${label} public key of ${key.length} octets, not ${length}`);
  return key;
}

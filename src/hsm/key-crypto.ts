// Key generation, loading and signing through the mechanism registry (src/hsm/mechanisms, one
// file per algorithm family). With wrapping, the only code that touches private key material.
import type { KeyAlgorithm } from '../pki/index.js';
import {
  importPkcs8,
  mechanismFor,
  signOperation,
  verifyOperation,
  type GeneratedKey,
  type HsmAlgorithm,
  type PrivateKeyHandle,
} from './mechanisms/index.js';

export type {
  GeneratedKey,
  HsmAlgorithm,
  KeyClass,
  KeyWrapMode,
  Mechanism,
  PrivateKeyHandle,
} from './mechanisms/index.js';
export {
  checkAlgorithmPurposes,
  defaultPurposes,
  HSM_ALGORITHMS,
  isHsmAlgorithm,
  isSecretAlgorithm,
  isSignatureAlgorithm,
  mechanismFor,
  rowKind,
  signOperation,
} from './mechanisms/index.js';

export async function generateKey(algorithm: HsmAlgorithm): Promise<GeneratedKey> {
  return mechanismFor(algorithm).generate();
}

/**
 * An imported PKCS#8 key: its algorithm (by the key's OID, then its curve or size; `preferPss`
 * picks RSA-PSS over PKCS#1 v1.5), the loaded key and its public part.
 */
export function importKeyMaterial(
  pkcs8: Uint8Array,
  preferPss: boolean,
): { algorithm: HsmAlgorithm; key: PrivateKeyHandle; publicPart: Uint8Array } {
  const { mechanism, key } = importPkcs8(pkcs8, preferPss);
  return { algorithm: mechanism.name, key, publicPart: mechanism.publicPart(key) };
}

/** A key from its encoding (PKCS#8 for a key pair, the raw key for a secret key). */
export function loadKey(algorithm: HsmAlgorithm, encoded: Uint8Array): PrivateKeyHandle {
  return mechanismFor(algorithm).load(encoded);
}

/** The encoding of a key, as sealed at rest and exported wrapped; the caller wipes it. */
export function encodeKey(algorithm: HsmAlgorithm, key: PrivateKeyHandle): Uint8Array {
  return mechanismFor(algorithm).encode(key);
}

/** The public part of a key: its SPKI DER, or a secret key's check value. */
export function publicPartOf(algorithm: HsmAlgorithm, key: PrivateKeyHandle): Uint8Array {
  return mechanismFor(algorithm).publicPart(key);
}

/**
 * Signs `data` (not a digest) with the scheme of `algorithm`; ECDSA signatures are DER. Callers
 * on a hot path resolve the operation once with signOperation(algorithm) instead.
 */
export function signWith(
  key: PrivateKeyHandle,
  algorithm: KeyAlgorithm,
  data: Uint8Array,
): Uint8Array {
  return signOperation(algorithm)(key, data);
}

/** Verifies a signature made by signWith (used for proof of possession and self-checks). */
export function verifyWith(
  spki: Uint8Array,
  algorithm: HsmAlgorithm,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  return createVerifier(spki, algorithm)(data, signature);
}

/** A verifier bound to one public key, parsed once (a KeyObject per call costs ~100 us). */
export function createVerifier(
  spki: Uint8Array,
  algorithm: HsmAlgorithm,
): (data: Uint8Array, signature: Uint8Array) => boolean {
  return verifyOperation(algorithm, spki);
}

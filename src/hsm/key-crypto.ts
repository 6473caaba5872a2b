// Asymmetric key generation, loading and signing with node:crypto (OpenSSL) KeyObjects, through
// the mechanism registry (src/hsm/mechanisms, one file per algorithm family). The only code that
// touches private key material besides wrapping.
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { KeyAlgorithm } from '../pki/index.js';
import {
  detectMechanism,
  mechanismFor,
  signOperation,
  verifyOperation,
  type GeneratedKey,
} from './mechanisms/index.js';

export type { GeneratedKey, Mechanism } from './mechanisms/index.js';
export { exportPkcs8, loadPkcs8, mechanismFor, signOperation, spkiOf } from './mechanisms/index.js';

export async function generateKey(algorithm: KeyAlgorithm): Promise<GeneratedKey> {
  return mechanismFor(algorithm).generate();
}

/** The algorithm name a private key fits; `preferPss` picks RSA-PSS over PKCS#1 v1.5. */
export function detectAlgorithm(key: KeyObject, preferPss: boolean): KeyAlgorithm {
  return detectMechanism(key, preferPss).info.name;
}

/**
 * Signs `data` (not a digest) with the scheme of `algorithm`; ECDSA signatures are DER. Callers
 * on a hot path resolve the operation once with signOperation(algorithm) instead.
 */
export function signWith(key: KeyObject, algorithm: KeyAlgorithm, data: Uint8Array): Uint8Array {
  return signOperation(algorithm)(key, data);
}

/** Verifies a signature made by signWith (used for proof of possession and self-checks). */
export function verifyWith(
  spki: Uint8Array,
  algorithm: KeyAlgorithm,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  return createVerifier(spki, algorithm)(data, signature);
}

/** A verifier bound to one public key, parsed once (a KeyObject per call costs ~100 us). */
export function createVerifier(
  spki: Uint8Array,
  algorithm: KeyAlgorithm,
): (data: Uint8Array, signature: Uint8Array) => boolean {
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  return verifyOperation(algorithm, key);
}

// The signing capability other modules receive from the HSM: public data and a sign function,
// never key material.
import type { KeyAlgorithm } from './algorithms.js';

export interface Signer {
  /** Key algorithm, which fixes the signature scheme (see signatureAlgorithmIdentifier). */
  readonly algorithm: KeyAlgorithm;
  /** DER SubjectPublicKeyInfo of the signing key. */
  readonly spki: Uint8Array;
  /** DER certificates, leaf first; empty when the key has no certificate. */
  readonly certificateChain: readonly Uint8Array[];
  /**
   * Signs the given bytes (the DER to be signed, not a digest) and returns the signature in
   * its X.509/CMS encoding: DER ECDSA-Sig-Value, raw Ed25519, or the RSA signature.
   */
  sign(tbs: Uint8Array): Promise<Uint8Array>;
}

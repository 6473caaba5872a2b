// The private-key side of an algorithm family (src/hsm/mechanisms/<family>.ts, beside the public
// facts in src/pki/algorithms/<family>.ts): one Mechanism per key algorithm, resolved once.
import type { KeyObject } from 'node:crypto';
import type { KeyAlgorithmInfo, MechanismName } from '../../pki/index.js';

/** A private key as the mechanisms hold it (node:crypto, created once and kept inside src/hsm). */
export type PrivateKeyHandle = KeyObject;

export interface GeneratedKey {
  readonly privateKey: PrivateKeyHandle;
  readonly spki: Uint8Array;
}

/**
 * What the HSM can do with keys of one algorithm. Every mechanism generates, loads and exports
 * its keys; the operations are capabilities that a family offers or not (a KEM key does not
 * sign). Later families add theirs beside `sign`: encrypt/decrypt (AES-GCM, ChaCha20-Poly1305),
 * wrap/unwrap, encapsulate/decapsulate (ML-KEM), derive (ECDH with HKDF, BIP32).
 */
export interface Mechanism {
  /** The public facts of the algorithm (src/pki/algorithms). */
  readonly info: KeyAlgorithmInfo;
  /** A fresh key pair, generated inside the HSM. */
  generate(): Promise<GeneratedKey>;
  /** True when a loaded private key is of this algorithm (key type, curve, modulus size). */
  fits(key: PrivateKeyHandle): boolean;
  /** A PKCS#8 PrivateKeyInfo (RFC 5958) of this algorithm; HsmError invalid-argument otherwise. */
  load(pkcs8: Uint8Array): PrivateKeyHandle;
  exportPkcs8(key: PrivateKeyHandle): Uint8Array;
  /** The SubjectPublicKeyInfo DER of a private (or public) key. */
  spki(key: KeyObject): Uint8Array;
  /**
   * Signs `data` (not a digest) with the encoding X.509 and CMS carry, under the AlgorithmIdentifier
   * `info.signatureAlgorithm` (ECDSA: DER ECDSA-Sig-Value).
   */
  readonly sign?: (key: PrivateKeyHandle, data: Uint8Array) => Uint8Array;
  /** A verifier bound to one public key (proof of possession, self-checks). */
  readonly verifier?: (
    publicKey: KeyObject,
  ) => (data: Uint8Array, signature: Uint8Array) => boolean;
  /**
   * Signs a digest the caller computed with `info.hash` (its length checked), in the same
   * encoding as `sign`; absent when the scheme signs only whole messages (pure EdDSA).
   */
  readonly signDigest?: (key: PrivateKeyHandle, digest: Uint8Array) => Uint8Array;
  /**
   * A verifier of signatures over a digest, bound to one public key. The bound function
   * returns false for any bad or malformed signature; a digest of the wrong length is
   * HsmError invalid-argument, as for `signDigest`.
   */
  readonly digestVerifier?: (
    publicKey: KeyObject,
  ) => (digest: Uint8Array, signature: Uint8Array) => boolean;
}

/** One family's file: its mechanism for each of its key algorithms. */
export interface MechanismFamily {
  /** The family's name in src/pki/algorithms (KeyAlgorithmInfo.mechanism). */
  readonly name: MechanismName;
  mechanism(info: KeyAlgorithmInfo): Mechanism;
}

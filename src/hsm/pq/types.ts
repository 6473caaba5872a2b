// The primitive operations of the post-quantum algorithms (FIPS 203, 204, 205) behind one
// interface, for the HSM mechanism that will use them: keys exist as their seeds (RFC 9881 6,
// RFC 9935 6; SLH-DSA as SK.seed || SK.prf || PK.seed, FIPS 205 10.1) and are loaded once into a
// key object of the backend that signs or decapsulates with them.
import type { MlDsaParameterSet, MlKemParameterSet, SlhDsaParameterSet } from '../../pki/index.js';

/** The signature algorithms the adapter offers: ML-DSA-44/65/87 and the twelve SLH-DSA sets. */
export type PqSignatureAlgorithm = MlDsaParameterSet['name'] | SlhDsaParameterSet['name'];
/** The KEMs the adapter offers (ML-KEM-512 is only read in SPKIs, by src/pki). */
export type PqKemAlgorithm = Exclude<MlKemParameterSet['name'], 'ml-kem-512'>;
export type PqAlgorithm = PqSignatureAlgorithm | PqKemAlgorithm;

/** A signing key loaded from its seed. */
export interface PqSigningKey {
  readonly algorithm: PqSignatureAlgorithm;
  /** The raw public key (pkEncode of FIPS 204, PK.seed || PK.root of FIPS 205). */
  readonly publicKey: Uint8Array;
  /**
   * A pure signature over `message` with the empty context (FIPS 204 5.2, FIPS 205 10.2.1;
   * RFC 9881 3, RFC 9909 4), hedged: fresh randomness is mixed in each time.
   */
  sign(message: Uint8Array): Uint8Array;
}

/** A decapsulation key loaded from its seed d || z. */
export interface PqDecapsulationKey {
  readonly algorithm: PqKemAlgorithm;
  /** The encapsulation key ek (FIPS 203 7.1). */
  readonly publicKey: Uint8Array;
  /**
   * The shared secret of `ciphertext` (FIPS 203 7.3). A ciphertext of the right length that was
   * not made for this key gives a pseudorandom secret (implicit rejection), not an error; one of
   * the wrong length is HsmError invalid-argument.
   */
  decapsulate(ciphertext: Uint8Array): Uint8Array;
}

export interface Encapsulation {
  readonly ciphertext: Uint8Array;
  readonly sharedSecret: Uint8Array;
}

/** One implementation of the primitives: node:crypto (OpenSSL 3.5) or @noble/post-quantum. */
export interface PqBackend {
  readonly name: 'node:crypto' | '@noble/post-quantum';
  /** Whether this backend can run the algorithm in this process (detected when it loads). */
  supports(algorithm: PqAlgorithm): boolean;
  /**
   * The key of `seed`. For SLH-DSA the public key may be given (from an authenticated store),
   * which saves recomputing PK.root; it must start with the seed's PK.seed.
   */
  signingKey(
    algorithm: PqSignatureAlgorithm,
    seed: Uint8Array,
    publicKey?: Uint8Array,
  ): PqSigningKey;
  /** Whether `signature` is a pure signature of `message` under `publicKey`; never throws. */
  verify(
    algorithm: PqSignatureAlgorithm,
    publicKey: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
  ): boolean;
  decapsulationKey(algorithm: PqKemAlgorithm, seed: Uint8Array): PqDecapsulationKey;
  /** A fresh shared secret and its ciphertext for `publicKey` (FIPS 203 7.2). */
  encapsulate(algorithm: PqKemAlgorithm, publicKey: Uint8Array): Encapsulation;
}

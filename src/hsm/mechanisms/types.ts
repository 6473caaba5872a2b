// The private-key side of an algorithm family (src/hsm/mechanisms/<family>.ts, beside the public
// facts in src/pki/algorithms/<family>.ts for the families that sign): one Mechanism per key
// algorithm, resolved once.
import type { KeyObject } from 'node:crypto';
import type {
  Capability,
  HashName,
  KeyAlgorithm,
  KeyAlgorithmInfo,
  MechanismName,
} from '../../pki/index.js';
import type { MaterialKey } from './material-key.js';
import type { OtherAlgorithm } from './algorithms.js';

/**
 * A key as the mechanisms hold it inside src/hsm: a node:crypto KeyObject (a private key, or a
 * secret key) when OpenSSL implements the algorithm, otherwise the key's own material in a
 * MaterialKey, used by the mechanism's own code (a post-quantum seed under a Node without the
 * algorithm, an HD node's key and chain code). Only the key's mechanism reads it.
 */
export type PrivateKeyHandle = KeyObject | MaterialKey;

/** Every algorithm of the HSM's keys: the signature algorithms of src/pki, and the others. */
export type HsmAlgorithm = KeyAlgorithm | OtherAlgorithm;

/**
 * What a key is for, which decides the operations it may offer: a signature key signs (and its
 * public key verifies), an agreement key derives shared secrets, a KEM key decapsulates, a
 * secret key encrypts, wraps or MACs, a derivable key (BIP 32, SLIP-10) derives child keys
 * along paths (and signs with its curve's scheme when it has the purpose).
 */
export type KeyClass = 'signature' | 'agreement' | 'kem' | 'secret' | 'derivable';

export interface GeneratedKey {
  readonly privateKey: PrivateKeyHandle;
  /** The key's public part (Mechanism.publicPart). */
  readonly publicPart: Uint8Array;
}

/** An AEAD encryption: the nonce the mechanism chose, and the ciphertext with its tag appended. */
export interface AeadCiphertext {
  readonly nonce: Uint8Array;
  /** The ciphertext followed by the authentication tag (`aead.tagLength` bytes). */
  readonly ciphertext: Uint8Array;
}

/** The facts of an AEAD mechanism that callers and the usage counter need. */
export interface AeadFacts {
  readonly nonceLength: number;
  readonly tagLength: number;
  /**
   * How many encryptions one key may make with random nonces before it must be retired (NIST SP
   * 800-38D 8.3 for GCM; the same birthday bound for ChaCha20-Poly1305): the HSM counts them.
   */
  readonly invocationLimit: number;
}

/**
 * AES key wrap: RFC 3394 (`kw`, a key of a multiple of 8 bytes, 16 or more) or RFC 5649 with
 * padding (`kwp`, any length from 1 byte).
 */
export type KeyWrapMode = 'kw' | 'kwp';

/** The purposes a key of the mechanism takes when none are given, and those it may carry. */
export interface MechanismPurposes {
  readonly default: readonly Capability[];
  readonly allowed: readonly Capability[];
}

/**
 * What the HSM can do with keys of one algorithm. Every mechanism generates, loads and encodes
 * its keys; the operations are capabilities that a family offers or not (a KEM key does not
 * sign). Later families add theirs beside `sign`: encrypt/decrypt, wrap/unwrap, MAC,
 * encapsulate/decapsulate, derive.
 */
export interface Mechanism {
  /** The key algorithm's name, as key rows, the CLI and the API name it. */
  readonly name: HsmAlgorithm;
  readonly keyClass: KeyClass;
  /** The public facts of a signature algorithm (src/pki/algorithms); absent for other keys. */
  readonly info?: KeyAlgorithmInfo;
  /** The PKCS#8 algorithm OIDs a key of this algorithm may be imported under (none: no import). */
  readonly pkcs8Oids: readonly string[];
  /** A fresh key, generated inside the HSM. */
  generate(): Promise<GeneratedKey>;
  /**
   * A key from its encoding (`encode`): PKCS#8 PrivateKeyInfo (RFC 5958) for a key pair, the raw
   * key for a secret key; HsmError invalid-argument when it is not a key of this algorithm.
   */
  load(encoded: Uint8Array): PrivateKeyHandle;
  /** The key's encoding as `load` reads it: what is sealed at rest and exported wrapped. */
  encode(key: PrivateKeyHandle): Uint8Array;
  /**
   * What a key row stores in the clear, computed from the key itself: the SubjectPublicKeyInfo
   * DER of a key pair; for a secret key a key check value (secret-key families document theirs),
   * so that a row is checked against its sealed key without trusting the row.
   */
  publicPart(key: PrivateKeyHandle): Uint8Array;
  /**
   * Signs `data` (not a digest) with the encoding X.509 and CMS carry, under the AlgorithmIdentifier
   * `info.signatureAlgorithm` (ECDSA: DER ECDSA-Sig-Value).
   */
  readonly sign?: (key: PrivateKeyHandle, data: Uint8Array) => Uint8Array;
  /**
   * A verifier bound to one public key, given as its SPKI DER (parsed once here); HsmError
   * invalid-argument for a key of another algorithm.
   */
  readonly verifier?: (spki: Uint8Array) => (data: Uint8Array, signature: Uint8Array) => boolean;
  /**
   * Signs a digest the caller computed with `info.hash` (its length checked), in the same
   * encoding as `sign`; absent when the scheme signs only whole messages (pure EdDSA, ML-DSA).
   */
  readonly signDigest?: (key: PrivateKeyHandle, digest: Uint8Array) => Uint8Array;
  /**
   * The hash whose digest `signDigest` takes, for a mechanism without the public facts of
   * src/pki (`info.hash` otherwise): secp256k1 ECDSA signs SHA-256 digests.
   */
  readonly digestHash?: HashName;
  /**
   * A verifier of signatures over a digest, bound to one public key (SPKI DER). The bound
   * function returns false for any bad or malformed signature; a digest of the wrong length is
   * HsmError invalid-argument, as for `signDigest`.
   */
  readonly digestVerifier?: (
    spki: Uint8Array,
  ) => (digest: Uint8Array, signature: Uint8Array) => boolean;
  /**
   * The purposes of the mechanism's keys (absent: sign and verify by default, any allowed, as
   * for the signature keys).
   */
  readonly purposes?: MechanismPurposes;
  /** Present on an AEAD mechanism, with `encrypt` and `decrypt`. */
  readonly aead?: AeadFacts;
  /**
   * Encrypts with a fresh random nonce that the mechanism chooses (never the caller: a nonce
   * used twice under one key breaks GCM and ChaCha20-Poly1305), over the additional data.
   */
  readonly encrypt?: (
    key: PrivateKeyHandle,
    plaintext: Uint8Array,
    aad: Uint8Array,
  ) => AeadCiphertext;
  /**
   * Decrypts and authenticates; HsmError decrypt-failed when the tag does not verify (any bad
   * nonce, ciphertext, tag or additional data), invalid-argument for a nonce of the wrong length
   * or a ciphertext shorter than its tag.
   */
  readonly decrypt?: (
    key: PrivateKeyHandle,
    nonce: Uint8Array,
    ciphertext: Uint8Array,
    aad: Uint8Array,
  ) => Uint8Array;
  /** Wraps a key's encoding (RFC 3394 or RFC 5649); invalid-argument for a length `kw` refuses. */
  readonly wrapKey?: (
    key: PrivateKeyHandle,
    plaintext: Uint8Array,
    mode: KeyWrapMode,
  ) => Uint8Array;
  /** Unwraps; HsmError unwrap-failed when the integrity check fails. The caller wipes the result. */
  readonly unwrapKey?: (
    key: PrivateKeyHandle,
    wrapped: Uint8Array,
    mode: KeyWrapMode,
  ) => Uint8Array;
  /** A MAC of `data` (HMAC: the full output of the hash). */
  readonly mac?: (key: PrivateKeyHandle, data: Uint8Array) => Uint8Array;
  /** Recomputes the MAC and compares in constant time; false for any other tag, of any length. */
  readonly verifyMac?: (key: PrivateKeyHandle, data: Uint8Array, tag: Uint8Array) => boolean;
  /**
   * The raw shared secret with a peer's public key (SPKI DER) of the same algorithm: ECDH's
   * x-coordinate (SEC 1 3.3.1) or X25519's output (RFC 7748 6.1). It never leaves src/hsm: the
   * HSM derives a key from it and wipes it. HsmError invalid-argument for a peer key of another
   * algorithm or curve, or an all-zero X25519 result (a small-order peer point).
   */
  readonly agree?: (key: PrivateKeyHandle, peerSpki: Uint8Array) => Uint8Array;
  /**
   * A fresh shared secret and its ciphertext for a public key (SPKI DER) of this KEM (FIPS 203
   * 7.2): a public operation, which the HSM runs to make a key it shares with the holder of the
   * private key. HsmError invalid-argument for a key of another algorithm.
   */
  readonly encapsulate?: (spki: Uint8Array) => {
    readonly ciphertext: Uint8Array;
    readonly sharedSecret: Uint8Array;
  };
  /**
   * The shared secret of a ciphertext made for this key (FIPS 203 7.3). A ciphertext of the
   * right length not made for it gives a pseudorandom secret (implicit rejection); one of the
   * wrong length is HsmError invalid-argument. Never leaves src/hsm.
   */
  readonly decapsulate?: (key: PrivateKeyHandle, ciphertext: Uint8Array) => Uint8Array;
  /**
   * A secret key's length in bytes as the HSM generates it, and as a key derived from a shared
   * secret is made (HKDF output given to `load`): AES and ChaCha20 their key sizes, HMAC the
   * length of its hash.
   */
  readonly secretLength?: number;
}

/** A mechanism of a signature algorithm of src/pki: its public facts are always there. */
export interface SigningMechanism extends Mechanism {
  readonly name: KeyAlgorithm;
  readonly keyClass: 'signature';
  readonly info: KeyAlgorithmInfo;
}

/** One signature family's file: its mechanism for each of its key algorithms in src/pki. */
export interface MechanismFamily {
  /** The family's name in src/pki/algorithms (KeyAlgorithmInfo.mechanism). */
  readonly name: MechanismName;
  mechanism(info: KeyAlgorithmInfo): SigningMechanism;
}

/**
 * A family of keys that src/pki does not sign with (agreement, KEM, secret keys): it names its
 * own algorithms (src/hsm/mechanisms/algorithms.ts) and makes each one's mechanism.
 */
export interface OtherMechanismFamily {
  readonly algorithms: readonly OtherAlgorithm[];
  mechanism(name: OtherAlgorithm): Mechanism;
}

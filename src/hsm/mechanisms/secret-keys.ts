// Secret (symmetric) keys with node:crypto, shared by the secret-key families (aes.ts,
// chacha20-poly1305.ts, hmac.ts): the raw key bytes as their encoding, generation from
// node:crypto's random source inside the HSM, and the key check value that a key row stores as
// the key's public part.
import { createHash, createSecretKey, KeyObject, randomBytes } from 'node:crypto';
import { HsmError } from '../errors.js';
import type { OtherAlgorithm } from './algorithms.js';
import type { Mechanism, MechanismPurposes, PrivateKeyHandle } from './types.js';

/** The domain label of key check values; a new definition would be v2. */
export const KCV_LABEL = 'attestamp key check value v1';
/** Bytes of a key check value. */
export const KCV_LENGTH = 16;

/**
 * The key check value (KCV) of a secret key: the first 16 bytes of
 *
 *   SHA-256("attestamp key check value v1" || 0x00 || algorithm || 0x00 || key)
 *
 * with the algorithm's name in ASCII (`aes-256`) and the raw key. It names the key (a row is
 * checked against its sealed key, evidence names it) and lets whoever holds a candidate key
 * check it, which is what a KCV is for; with keys of 128 bits or more that allows no search.
 * It is deliberately not an operation under the key: the usual AES KCV, the encryption of a
 * zero block, is GCM's hash key H itself (whose knowledge lets anyone forge GCM tags), and an
 * HMAC of a fixed label under an HMAC key is a valid MAC of that label. The algorithm is bound
 * in, so the same bytes imported under two algorithms have two KCVs.
 */
export function keyCheckValue(algorithm: OtherAlgorithm, key: Uint8Array): Uint8Array {
  const digest = createHash('sha256')
    .update(KCV_LABEL, 'ascii')
    .update(Uint8Array.of(0))
    .update(algorithm, 'ascii')
    .update(Uint8Array.of(0))
    .update(key)
    .digest();
  return new Uint8Array(digest.subarray(0, KCV_LENGTH));
}

/** The secret KeyObject of a handle a secret mechanism made (anything else is a bug). */
export function secretKey(handle: PrivateKeyHandle): KeyObject {
  if (!(handle instanceof KeyObject) || handle.type !== 'secret') {
    throw new Error('a secret-key mechanism was given a key that is not a secret key');
  }
  return handle;
}

/** What a secret-key family gives for one algorithm; the rest of its Mechanism follows. */
export interface SecretMechanismParts extends Omit<
  Mechanism,
  'name' | 'keyClass' | 'info' | 'pkcs8Oids' | 'generate' | 'load' | 'encode' | 'publicPart'
> {
  readonly name: OtherAlgorithm;
  /** Bytes of a generated key. */
  readonly generateLength: number;
  /** Bytes a loaded (imported, unwrapped) key may have, inclusive. */
  readonly lengths: { readonly min: number; readonly max: number };
  readonly purposes: MechanismPurposes;
}

export function secretMechanism(parts: SecretMechanismParts): Mechanism {
  const { name, generateLength, lengths, ...operations } = parts;
  const publicPart = (handle: PrivateKeyHandle): Uint8Array => {
    const raw = secretKey(handle).export();
    try {
      return keyCheckValue(name, raw);
    } finally {
      raw.fill(0);
    }
  };
  return {
    ...operations,
    name,
    keyClass: 'secret',
    secretLength: generateLength,
    // A secret key is imported as its raw bytes, never as PKCS#8.
    pkcs8Oids: [],
    generate() {
      const raw = randomBytes(generateLength);
      try {
        const key = createSecretKey(raw);
        return Promise.resolve({ privateKey: key, publicPart: keyCheckValue(name, raw) });
      } finally {
        raw.fill(0);
      }
    },
    load(encoded) {
      if (encoded.length < lengths.min || encoded.length > lengths.max) {
        throw new HsmError(
          'invalid-argument',
          lengths.min === lengths.max
            ? `a ${name} key is ${lengths.min} bytes`
            : `a ${name} key is ${lengths.min} to ${lengths.max} bytes`,
          { details: { algorithm: name, bytes: encoded.length } },
        );
      }
      // createSecretKey copies the bytes: the caller wipes its own.
      return createSecretKey(encoded);
    },
    encode: (handle) => new Uint8Array(secretKey(handle).export()),
    publicPart,
  };
}

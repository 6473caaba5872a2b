// AEAD encryption with node:crypto's OpenSSL ciphers (AES-GCM, NIST SP 800-38D; ChaCha20-
// Poly1305, RFC 8439 2.8): a 96-bit nonce, a 128-bit tag appended to the ciphertext. The nonce
// is the caller's here only for known-answer tests: the mechanisms draw a random one themselves.
import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto';
import { HsmError } from '../errors.js';
import type { AeadCiphertext, AeadFacts } from './types.js';

/** Bytes of the nonce (96 bits: SP 800-38D 8.2.2 random IVs, RFC 8439 2.8). */
export const AEAD_NONCE_LENGTH = 12;
/** Bytes of the tag (128 bits, the full tag). */
export const AEAD_TAG_LENGTH = 16;

/**
 * Encryptions one key may make with random 96-bit nonces: NIST SP 800-38D 8.3 limits GCM with
 * random IVs to 2^32 invocations per key, where the chance that two nonces collide is about
 * 2^-33. ChaCha20-Poly1305's nonce is the same 96 bits, so the same birthday bound, and the
 * same limit, holds for it (RFC 8439 4: a nonce must never repeat under a key).
 */
export const RANDOM_NONCE_INVOCATION_LIMIT = 2 ** 32;

export const AEAD_FACTS: AeadFacts = Object.freeze({
  nonceLength: AEAD_NONCE_LENGTH,
  tagLength: AEAD_TAG_LENGTH,
  invocationLimit: RANDOM_NONCE_INVOCATION_LIMIT,
});

/** One AEAD cipher of OpenSSL: `aes-256-gcm`, `chacha20-poly1305`... */
export type AeadCipher = 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';

const options = { authTagLength: AEAD_TAG_LENGTH } as const;

/** OpenSSL's AEAD cipher context (the GCM and ChaCha20-Poly1305 overloads of node:crypto). */
function cipherOf(cipher: AeadCipher, key: KeyObject, nonce: Uint8Array) {
  return cipher === 'chacha20-poly1305'
    ? createCipheriv(cipher, key, nonce, options)
    : createCipheriv(cipher, key, nonce, options);
}

function decipherOf(cipher: AeadCipher, key: KeyObject, nonce: Uint8Array) {
  return cipher === 'chacha20-poly1305'
    ? createDecipheriv(cipher, key, nonce, options)
    : createDecipheriv(cipher, key, nonce, options);
}

/** Encrypts under a given nonce: for known-answer tests and for `aeadEncrypt` only. */
export function aeadSeal(
  cipher: AeadCipher,
  key: KeyObject,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  const c = cipherOf(cipher, key, nonce);
  c.setAAD(aad, { plaintextLength: plaintext.length });
  return new Uint8Array(Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]));
}

/** Encrypts with a fresh random 96-bit nonce (node:crypto's CSPRNG). */
export function aeadEncrypt(
  cipher: AeadCipher,
  key: KeyObject,
  plaintext: Uint8Array,
  aad: Uint8Array,
): AeadCiphertext {
  const nonce = new Uint8Array(randomBytes(AEAD_NONCE_LENGTH));
  return { nonce, ciphertext: aeadSeal(cipher, key, nonce, plaintext, aad) };
}

/** Decrypts and checks the tag; decrypt-failed when it does not verify. */
export function aeadDecrypt(
  cipher: AeadCipher,
  key: KeyObject,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  if (nonce.length !== AEAD_NONCE_LENGTH) {
    throw new HsmError('invalid-argument', `the nonce is ${AEAD_NONCE_LENGTH} bytes`, {
      details: { field: 'nonce', expected: `${AEAD_NONCE_LENGTH} bytes` },
    });
  }
  if (ciphertext.length < AEAD_TAG_LENGTH) {
    throw new HsmError(
      'invalid-argument',
      `the ciphertext ends with its ${AEAD_TAG_LENGTH}-byte tag: it is shorter than that`,
      { details: { field: 'ciphertext' } },
    );
  }
  const body = ciphertext.subarray(0, ciphertext.length - AEAD_TAG_LENGTH);
  const tag = ciphertext.subarray(ciphertext.length - AEAD_TAG_LENGTH);
  try {
    const d = decipherOf(cipher, key, nonce);
    d.setAAD(aad, { plaintextLength: body.length });
    d.setAuthTag(tag);
    const out = d.update(body);
    // final() throws when the tag does not verify; the unauthenticated output is wiped then.
    try {
      return new Uint8Array(Buffer.concat([out, d.final()]));
    } finally {
      out.fill(0);
    }
  } catch (cause) {
    throw new HsmError(
      'decrypt-failed',
      'the ciphertext does not authenticate under the key (nonce, ciphertext, tag or additional data)',
      { cause },
    );
  }
}

// Key wrapping: AES-256-GCM for keys at rest (AAD binds a blob to its device, partition and key),
// HKDF-derived sub-keys of the master key, and RFC 5649 AES key wrap with padding (plus the
// RSA-OAEP + AES-KWP envelope of PKCS#11 CKM_RSA_AES_KEY_WRAP) for exports.
import {
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  constants,
  hkdfSync,
  publicEncrypt,
  randomBytes,
  privateDecrypt,
  KeyObject,
} from 'node:crypto';
import { HsmError } from './errors.js';

const BLOB_VERSION = 1;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;

export function deriveSubkey(master: Uint8Array, salt: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.from(salt, 'utf8'), purpose, 32));
}

/** version(1) || iv(12) || ciphertext || tag(16) */
export function seal(key: Uint8Array, plaintext: Uint8Array, aad: string): Uint8Array {
  const iv = randomBytes(IV_LENGTH);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([BLOB_VERSION]), iv, body, cipher.getAuthTag()]);
}

export function open(key: Uint8Array, blob: Uint8Array, aad: string): Uint8Array {
  if (blob.length < 1 + IV_LENGTH + TAG_LENGTH || blob[0] !== BLOB_VERSION) {
    throw new HsmError('unwrap-failed', 'wrapped blob is malformed');
  }
  const iv = blob.subarray(1, 1 + IV_LENGTH);
  const tag = blob.subarray(blob.length - TAG_LENGTH);
  const body = blob.subarray(1 + IV_LENGTH, blob.length - TAG_LENGTH);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(tag);
    return new Uint8Array(Buffer.concat([decipher.update(body), decipher.final()]));
  } catch (cause) {
    throw new HsmError('unwrap-failed', 'wrapped blob failed authentication', { cause });
  }
}

/** RFC 5649 3: the alternative initial value (its high half; the low half is the length). */
const KWP_IV = Buffer.from('a65959a6', 'hex');
/** RFC 3394 2.2.3.1: the default initial value. */
const KW_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');

/** AES key wrap without padding (RFC 3394) or with it (RFC 5649). */
export type AesWrapMode = 'kw' | 'kwp';

/** A key-encryption key: its bytes, or a secret KeyObject holding them. */
export type AesKek = Uint8Array | KeyObject;

/** OpenSSL's cipher for the key-encryption key's size and the mode. */
function wrapCipher(kek: AesKek, mode: AesWrapMode): { name: string; iv: Buffer } {
  const size = kek instanceof KeyObject ? (kek.symmetricKeySize ?? 0) : kek.length;
  if (size !== 16 && size !== 24 && size !== 32) {
    throw new HsmError('invalid-argument', 'an aes key-encryption key is 16, 24 or 32 bytes');
  }
  const bits = size * 8;
  return mode === 'kwp'
    ? { name: `id-aes${bits}-wrap-pad`, iv: KWP_IV }
    : { name: `id-aes${bits}-wrap`, iv: KW_IV };
}

/**
 * AES key wrap of `plaintext` under `kek` (AES-128, -192 or -256). RFC 3394 2.2.1 wraps n >= 2
 * 64-bit blocks: a multiple of 8 bytes, at least 16; RFC 5649 any length from 1 byte.
 */
export function aesKeyWrap(kek: AesKek, plaintext: Uint8Array, mode: AesWrapMode): Uint8Array {
  const { name, iv } = wrapCipher(kek, mode);
  if (mode === 'kw' && (plaintext.length < 16 || plaintext.length % 8 !== 0)) {
    throw new HsmError(
      'invalid-argument',
      'rfc 3394 key wrap takes a multiple of 8 bytes, at least 16: use kwp (rfc 5649) for this key',
      { details: { field: 'mode', bytes: plaintext.length } },
    );
  }
  if (plaintext.length === 0) {
    throw new HsmError('invalid-argument', 'nothing to wrap');
  }
  const cipher = createCipheriv(name, kek, iv);
  return new Uint8Array(Buffer.concat([cipher.update(plaintext), cipher.final()]));
}

/**
 * Unwraps and checks the integrity value (RFC 3394 2.2.3, RFC 5649 3 with its length and
 * padding checks); HsmError unwrap-failed on any mismatch. The caller wipes the result.
 */
export function aesKeyUnwrap(kek: AesKek, wrapped: Uint8Array, mode: AesWrapMode): Uint8Array {
  const { name, iv } = wrapCipher(kek, mode);
  if (wrapped.length < (mode === 'kw' ? 24 : 16) || wrapped.length % 8 !== 0) {
    throw new HsmError('unwrap-failed', 'the wrapped key has the wrong length for aes key wrap');
  }
  try {
    const decipher = createDecipheriv(name, kek, iv);
    return new Uint8Array(Buffer.concat([decipher.update(wrapped), decipher.final()]));
  } catch (cause) {
    throw new HsmError('unwrap-failed', 'aes key unwrap failed', { cause });
  }
}

export function aesKeyWrapPad(kek: Uint8Array, plaintext: Uint8Array): Uint8Array {
  if (kek.length !== 32)
    throw new HsmError('invalid-argument', 'aes wrapping key must be 32 bytes');
  return aesKeyWrap(kek, plaintext, 'kwp');
}

export function aesKeyUnwrapPad(kek: Uint8Array, wrapped: Uint8Array): Uint8Array {
  if (kek.length !== 32)
    throw new HsmError('invalid-argument', 'aes wrapping key must be 32 bytes');
  return aesKeyUnwrap(kek, wrapped, 'kwp');
}

/** Minimum RSA modulus accepted as a wrapping key. */
const MIN_RSA_WRAP_BITS = 3072;

/** The RSA public key an export is wrapped under: refused unless RSA of 3072 bits or more. */
export function rsaWrappingKey(spki: Uint8Array): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new HsmError('invalid-argument', 'wrapping key is not a public key', { cause });
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.asymmetricKeyType !== 'rsa' || bits < MIN_RSA_WRAP_BITS) {
    throw new HsmError('invalid-argument', 'rsa wrapping key must be rsa with at least 3072 bits');
  }
  return key;
}

/** RSA-OAEP(SHA-256) of a fresh AES-256 key, followed by AES-KWP of the plaintext. */
export function rsaAesKeyWrap(spki: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const key = rsaWrappingKey(spki);
  const ephemeral = randomBytes(32);
  try {
    const head = publicEncrypt(
      { key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      ephemeral,
    );
    return Buffer.concat([head, aesKeyWrapPad(ephemeral, plaintext)]);
  } finally {
    ephemeral.fill(0);
  }
}

/** Inverse of rsaAesKeyWrap, for tests and for importing such envelopes. */
export function rsaAesKeyUnwrap(privateKey: KeyObject, wrapped: Uint8Array): Uint8Array {
  const bytes = (privateKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8;
  try {
    const ephemeral = privateDecrypt(
      { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      wrapped.subarray(0, bytes),
    );
    return aesKeyUnwrapPad(ephemeral, wrapped.subarray(bytes));
  } catch (cause) {
    throw new HsmError('unwrap-failed', 'rsa-aes key unwrap failed', { cause });
  }
}

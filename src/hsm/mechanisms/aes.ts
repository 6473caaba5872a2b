// AES secret keys (FIPS 197) with node:crypto: AES-GCM encryption (NIST SP 800-38D) with a
// random 96-bit nonce the HSM draws and a 128-bit tag, and AES key wrap of other keys, RFC 3394
// (`kw`) and RFC 5649 with padding (`kwp`, the helpers of src/hsm/wrap.ts).
import { aesKeyUnwrap, aesKeyWrap } from '../wrap.js';
import { AEAD_FACTS, aeadDecrypt, aeadEncrypt, type AeadCipher } from './aead.js';
import type { OtherAlgorithm } from './algorithms.js';
import { secretKey, secretMechanism } from './secret-keys.js';
import type { OtherMechanismFamily } from './types.js';

const SIZES = { 'aes-128': 16, 'aes-256': 32 } as const;
type AesAlgorithm = keyof typeof SIZES;

const isAes = (name: OtherAlgorithm): name is AesAlgorithm => Object.hasOwn(SIZES, name);

export const aes: OtherMechanismFamily = {
  algorithms: Object.keys(SIZES) as AesAlgorithm[],
  mechanism(name) {
    if (!isAes(name)) throw new Error(`mechanism ${name}: not an aes algorithm`);
    const bytes = SIZES[name];
    const gcm = `aes-${bytes * 8}-gcm` as AeadCipher;
    return secretMechanism({
      name,
      generateLength: bytes,
      lengths: { min: bytes, max: bytes },
      // Data keys by default; wrapping other keys is a purpose given on purpose (NIST SP 800-57
      // part 1 5.2: a key serves one purpose).
      purposes: {
        default: ['encrypt', 'decrypt'],
        allowed: ['encrypt', 'decrypt', 'wrap', 'unwrap'],
      },
      aead: AEAD_FACTS,
      encrypt: (key, plaintext, aad) => aeadEncrypt(gcm, secretKey(key), plaintext, aad),
      decrypt: (key, nonce, ciphertext, aad) =>
        aeadDecrypt(gcm, secretKey(key), nonce, ciphertext, aad),
      wrapKey: (key, plaintext, mode) => aesKeyWrap(secretKey(key), plaintext, mode),
      unwrapKey: (key, wrapped, mode) => aesKeyUnwrap(secretKey(key), wrapped, mode),
    });
  },
};

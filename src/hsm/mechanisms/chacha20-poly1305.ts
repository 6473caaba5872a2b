// ChaCha20-Poly1305 secret keys (RFC 8439 2.8, AEAD_CHACHA20_POLY1305) with node:crypto: 256-bit
// keys, a random 96-bit nonce the HSM draws, a 128-bit tag.
import { AEAD_FACTS, aeadDecrypt, aeadEncrypt } from './aead.js';
import { secretKey, secretMechanism } from './secret-keys.js';
import type { OtherMechanismFamily } from './types.js';

export const chacha20Poly1305: OtherMechanismFamily = {
  algorithms: ['chacha20-poly1305'],
  mechanism: (name) =>
    secretMechanism({
      name,
      generateLength: 32,
      lengths: { min: 32, max: 32 },
      purposes: { default: ['encrypt', 'decrypt'], allowed: ['encrypt', 'decrypt'] },
      aead: AEAD_FACTS,
      encrypt: (key, plaintext, aad) =>
        aeadEncrypt('chacha20-poly1305', secretKey(key), plaintext, aad),
      decrypt: (key, nonce, ciphertext, aad) =>
        aeadDecrypt('chacha20-poly1305', secretKey(key), nonce, ciphertext, aad),
    }),
};

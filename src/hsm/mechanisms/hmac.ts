// HMAC secret keys (RFC 2104, FIPS 198-1) over SHA-2 (FIPS 180-4) and SHA-3 (FIPS 202) with
// node:crypto: the full-length tag, verified by recomputing it and comparing in constant time.
// A MAC is the key's `sign` purpose and its check `verify`, as PKCS#11 names them (CKA_SIGN,
// CKA_VERIFY), so that the evidence's capability list needs no new entry.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { OtherAlgorithm } from './algorithms.js';
import { secretKey, secretMechanism } from './secret-keys.js';
import type { OtherMechanismFamily, PrivateKeyHandle } from './types.js';

/** node:crypto's hash, its output and block sizes in bytes. */
const HASHES = {
  'hmac-sha256': { hash: 'sha256', output: 32, block: 64 },
  'hmac-sha384': { hash: 'sha384', output: 48, block: 128 },
  'hmac-sha512': { hash: 'sha512', output: 64, block: 128 },
  'hmac-sha3-256': { hash: 'sha3-256', output: 32, block: 136 },
  'hmac-sha3-384': { hash: 'sha3-384', output: 48, block: 104 },
  'hmac-sha3-512': { hash: 'sha3-512', output: 64, block: 72 },
} as const;
type HmacAlgorithm = keyof typeof HASHES;

const isHmac = (name: OtherAlgorithm): name is HmacAlgorithm => Object.hasOwn(HASHES, name);

/**
 * Bytes of an imported key: at least 16 (128 bits, the least security strength the HSM's other
 * keys have; NIST SP 800-107 5.3.4), at most the hash's block size (a longer key is hashed
 * first by HMAC itself, RFC 2104 2, so that two different byte strings would be one key).
 */
const MIN_KEY_BYTES = 16;

export const hmac: OtherMechanismFamily = {
  algorithms: Object.keys(HASHES) as HmacAlgorithm[],
  mechanism(name) {
    if (!isHmac(name)) throw new Error(`mechanism ${name}: not an hmac algorithm`);
    const { hash, output, block } = HASHES[name];
    const mac = (key: PrivateKeyHandle, data: Uint8Array): Uint8Array =>
      new Uint8Array(createHmac(hash, secretKey(key)).update(data).digest());
    return secretMechanism({
      name,
      // RFC 2104 3: a key of the hash's output length.
      generateLength: output,
      lengths: { min: MIN_KEY_BYTES, max: block },
      purposes: { default: ['sign', 'verify'], allowed: ['sign', 'verify'] },
      mac,
      verifyMac(key, data, tag) {
        const expected = mac(key, data);
        // The length is public (the hash's output); the bytes are compared in constant time.
        return tag.length === expected.length && timingSafeEqual(expected, tag);
      },
    });
  },
};

// Signing over a digest the caller computed (as `openssl pkeyutl -sign` does): the checks every
// family makes on such a digest and on the public key a digest verifier is bound to.
import type { KeyObject } from 'node:crypto';
import { HASHES, type HashName, type KeyAlgorithmInfo } from '../../pki/index.js';
import { HsmError } from '../errors.js';

/**
 * Returns `digest` when it has the length of `hash`; HsmError invalid-argument otherwise. A digest
 * of another length is another hash (or none): signing it would sign under a name it is not.
 * The details name the expected length, never the bytes.
 */
export function checkDigest(hash: HashName, digest: Uint8Array): Uint8Array {
  const expected = HASHES[hash].length;
  if (digest.length !== expected) {
    throw new HsmError(
      'invalid-argument',
      "the digest does not have the length of the key algorithm's hash",
      {
        details: { field: 'digest', expected: `${expected} bytes` },
      },
    );
  }
  return digest;
}

/**
 * Returns `publicKey` when `fits` accepts it; HsmError invalid-argument otherwise, so that a
 * verifier is never bound to a key of another algorithm (it would answer false forever).
 */
export function checkPublicKey(
  info: KeyAlgorithmInfo,
  publicKey: KeyObject,
  fits: (key: KeyObject) => boolean,
): KeyObject {
  if (!fits(publicKey)) {
    throw new HsmError('invalid-argument', 'the public key is not of the named algorithm', {
      details: { algorithm: info.name, type: publicKey.asymmetricKeyType ?? 'unknown' },
    });
  }
  return publicKey;
}

// RSA keys with node:crypto (3072 and 4096 bits, e = 65537) signing RSASSA-PKCS1-v1_5 with the
// hash of the key algorithm (RFC 8017 8.2); also the RSA key generation the PSS family shares.
import { generateKeyPair, sign, verify, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { KeyAlgorithmInfo } from '../../pki/index.js';
import { keyPair, nodeMechanism, required } from './node-keys.js';
import type { GeneratedKey, MechanismFamily } from './types.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/** A fresh RSA key pair of the key algorithm's modulus size, public exponent F4. */
export async function generateRsa(info: KeyAlgorithmInfo): Promise<GeneratedKey> {
  const modulusLength = required(info.modulusBits, info, 'modulus size');
  return keyPair(await generateKeyPairAsync('rsa', { modulusLength, publicExponent: 0x10001 }));
}

/** True for an RSA key (rsaEncryption, not PSS-restricted) of the key algorithm's size. */
export function fitsRsa(info: KeyAlgorithmInfo, key: KeyObject): boolean {
  return (
    key.asymmetricKeyType === 'rsa' && key.asymmetricKeyDetails?.modulusLength === info.modulusBits
  );
}

export const rsaPkcs1: MechanismFamily = {
  name: 'rsa-pkcs1',
  mechanism(info) {
    const hash = required(info.hash, info, 'hash');
    return nodeMechanism(info, {
      generate: () => generateRsa(info),
      fits: (key) => fitsRsa(info, key),
      sign: (key, data) => new Uint8Array(sign(hash, data, key)),
      verifier: (key) => (data, signature) => verify(hash, data, key, signature),
    });
  },
};

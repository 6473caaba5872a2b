// RSA keys with node:crypto (3072 and 4096 bits, e = 65537) signing RSASSA-PKCS1-v1_5 with the
// hash of the key algorithm (RFC 8017 8.2), over the message or over a digest the caller computed
// (EMSA-PKCS1-v1_5 from step 2, RFC 8017 9.2); also the RSA pieces the PSS family shares.
import {
  constants,
  generateKeyPair,
  privateEncrypt,
  publicDecrypt,
  sign,
  timingSafeEqual,
  verify,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import { HASHES, der, type HashName, type KeyAlgorithmInfo } from '../../pki/index.js';
import { checkDigest, checkPublicKey } from './digest.js';
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

/** The modulus length in bits (modBits, RFC 8017 8.1.1) of an RSA key. */
export function modulusBits(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (bits === undefined) throw new Error('rsa key without a modulus length');
  return bits;
}

/**
 * DigestInfo (RFC 8017 9.2 step 2), the hash's AlgorithmIdentifier with NULL parameters (the
 * encoding of the table in note 1):
 *   DigestInfo ::= SEQUENCE { digestAlgorithm AlgorithmIdentifier, digest OCTET STRING }
 */
function digestInfo(hash: HashName, digest: Uint8Array): Buffer {
  const algorithm = der.algorithmIdentifier(HASHES[hash].oid, der.nullValue());
  return Buffer.from(der.seq(algorithm, der.octetString(digest)));
}

/** Equal length and content, in time independent of where the bytes differ. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export const rsaPkcs1: MechanismFamily = {
  name: 'rsa-pkcs1',
  mechanism(info) {
    const hash = required(info.hash, info, 'hash');
    const padding = constants.RSA_PKCS1_PADDING;
    const fits = (key: KeyObject): boolean => fitsRsa(info, key);
    return nodeMechanism(info, {
      generate: () => generateRsa(info),
      fits,
      sign: (key, data) => new Uint8Array(sign(hash, data, key)),
      verifier: (key) => (data, signature) => verify(hash, data, key, signature),
      // RSA_PKCS1_PADDING on a private-key operation is the type 1 block 00 01 FF.. 00 || T of
      // RFC 8017 9.2 steps 3-5 around the DigestInfo T, then RSASP1.
      signDigest: (key, digest) =>
        new Uint8Array(
          privateEncrypt({ key, padding }, digestInfo(hash, checkDigest(hash, digest))),
        ),
      digestVerifier(key) {
        const k = Math.ceil(modulusBits(checkPublicKey(info, key, fits)) / 8);
        return (digest, signature) => {
          const expected = digestInfo(hash, checkDigest(hash, digest));
          // RFC 8017 8.2.2 step 1: the signature has the length of the modulus, k octets.
          if (signature.length !== k) return false;
          try {
            return sameBytes(publicDecrypt({ key, padding }, signature), expected);
          } catch {
            return false;
          }
        };
      },
    });
  },
};

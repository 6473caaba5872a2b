// Asymmetric key generation, loading and signing with node:crypto (OpenSSL) KeyObjects. The only
// code that touches private key material besides wrapping.
import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import { keyAlgorithmInfo, PSS_SALT_LENGTH, type KeyAlgorithm } from '../pki/index.js';
import { HsmError } from './errors.js';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface GeneratedKey {
  readonly privateKey: KeyObject;
  readonly spki: Uint8Array;
}

export async function generateKey(algorithm: KeyAlgorithm): Promise<GeneratedKey> {
  const info = keyAlgorithmInfo(algorithm);
  let pair: { privateKey: KeyObject; publicKey: KeyObject };
  switch (info.family) {
    case 'ec':
      pair = await generateKeyPairAsync('ec', { namedCurve: info.curve ?? 'P-256' });
      break;
    case 'ed25519':
      pair = await generateKeyPairAsync('ed25519');
      break;
    case 'rsa':
      pair = await generateKeyPairAsync('rsa', {
        modulusLength: info.modulusBits ?? 3072,
        publicExponent: 0x10001,
      });
      break;
  }
  return { privateKey: pair.privateKey, spki: spkiOf(pair.publicKey) };
}

export function spkiOf(key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return new Uint8Array(pub.export({ type: 'spki', format: 'der' }));
}

export function exportPkcs8(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ type: 'pkcs8', format: 'der' }));
}

export function loadPkcs8(der: Uint8Array): KeyObject {
  try {
    return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  } catch (cause) {
    throw new HsmError('invalid-argument', 'not a pkcs#8 private key', { cause });
  }
}

/** The algorithm name a private key fits; `preferPss` picks RSA-PSS over PKCS#1 v1.5. */
export function detectAlgorithm(key: KeyObject, preferPss: boolean): KeyAlgorithm {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec':
      if (details.namedCurve === 'prime256v1') return 'ecdsa-p256';
      if (details.namedCurve === 'secp384r1') return 'ecdsa-p384';
      break;
    case 'ed25519':
      return 'ed25519';
    case 'rsa':
      if (details.modulusLength === 3072) return preferPss ? 'rsa-pss-3072' : 'rsa-3072';
      if (details.modulusLength === 4096) return preferPss ? 'rsa-pss-4096' : 'rsa-4096';
      break;
    default:
      break;
  }
  throw new HsmError('invalid-argument', 'unsupported key type or size', {
    details: { type: key.asymmetricKeyType ?? 'unknown' },
  });
}

/** Signs `data` (not a digest) with the scheme of `algorithm`; ECDSA signatures are DER. */
export function signWith(key: KeyObject, algorithm: KeyAlgorithm, data: Uint8Array): Uint8Array {
  const info = keyAlgorithmInfo(algorithm);
  switch (info.family) {
    case 'ec':
      return new Uint8Array(nodeSign(info.hash ?? 'sha256', data, { key, dsaEncoding: 'der' }));
    case 'ed25519':
      return new Uint8Array(nodeSign(null, data, key));
    case 'rsa':
      if (info.padding === 'pss') {
        return new Uint8Array(
          nodeSign('sha256', data, {
            key,
            padding: constants.RSA_PKCS1_PSS_PADDING,
            saltLength: PSS_SALT_LENGTH,
          }),
        );
      }
      return new Uint8Array(nodeSign('sha256', data, key));
  }
}

/** Verifies a signature made by signWith (used for proof of possession and self-checks). */
export function verifyWith(
  spki: Uint8Array,
  algorithm: KeyAlgorithm,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  return createVerifier(spki, algorithm)(data, signature);
}

/** A verifier bound to one public key, parsed once (a KeyObject per call costs ~100 us). */
export function createVerifier(
  spki: Uint8Array,
  algorithm: KeyAlgorithm,
): (data: Uint8Array, signature: Uint8Array) => boolean {
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  const info = keyAlgorithmInfo(algorithm);
  switch (info.family) {
    case 'ec':
      return (data, signature) =>
        nodeVerify(info.hash ?? 'sha256', data, { key, dsaEncoding: 'der' }, signature);
    case 'ed25519':
      return (data, signature) => nodeVerify(null, data, key, signature);
    case 'rsa':
      if (info.padding === 'pss') {
        return (data, signature) =>
          nodeVerify(
            'sha256',
            data,
            { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT_LENGTH },
            signature,
          );
      }
      return (data, signature) => nodeVerify('sha256', data, key, signature);
  }
}

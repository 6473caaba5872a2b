// ECDSA keys on secp256k1 (SEC 2 2.4.1) with node:crypto, for blockchain use: id-ecPublicKey
// SPKI and PKCS#8 with the named curve (RFC 5480 2.1.1, RFC 5915), ECDSA with SHA-256 as the DER
// ECDSA-Sig-Value, always low-S (BIP 62 "low S", BIP 146, EIP-2): toLowS of src/pki is applied
// to every signature, over data (node:crypto) and over a digest (the noble adapter). Not a
// signature algorithm of src/pki: no certificate or time-stamp is signed with such a key.
import { generateKeyPair, sign, verify, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { id_ecPublicKey, toLowS } from '../../pki/index.js';
import { HsmError } from '../errors.js';
import { checkDigest } from './digest.js';
import { publicPoint, signDigestEcdsa, verifyDigestEcdsa } from './noble-ecdsa.js';
import { exportPkcs8, keyPair, loadPkcs8, loadSpki, nodeKey, spkiOf } from './node-keys.js';
import type { Mechanism, OtherMechanismFamily } from './types.js';

const generateKeyPairAsync = promisify(generateKeyPair);

const fits = (key: KeyObject): boolean =>
  key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'secp256k1';

function notSecp256k1(key: KeyObject, what: string): HsmError {
  return new HsmError('invalid-argument', `the ${what} is not a secp256k1 key`, {
    details: { algorithm: 'ecdsa-secp256k1', type: key.asymmetricKeyType ?? 'unknown' },
  });
}

function publicKeyOfSpki(spki: Uint8Array): KeyObject {
  const key = loadSpki(spki);
  if (!fits(key)) throw notSecp256k1(key, 'public key');
  return key;
}

const mechanism: Mechanism = {
  name: 'ecdsa-secp256k1',
  keyClass: 'signature',
  purposes: { default: ['sign', 'verify'], allowed: ['sign', 'verify'] },
  // An EC PKCS#8 on secp256k1: the ECDSA families of the NIST curves refuse it by its curve.
  pkcs8Oids: [id_ecPublicKey],
  digestHash: 'sha256',
  generate: async () => keyPair(await generateKeyPairAsync('ec', { namedCurve: 'secp256k1' })),
  load(pkcs8) {
    const key = loadPkcs8(pkcs8);
    if (!fits(key)) throw notSecp256k1(key, 'private key');
    return key;
  },
  encode: (key) => exportPkcs8(nodeKey(key)),
  publicPart: (key) => spkiOf(nodeKey(key)),
  sign: (key, data) =>
    toLowS('secp256k1', sign('sha256', data, { key: nodeKey(key), dsaEncoding: 'der' })),
  verifier(spki) {
    const key = publicKeyOfSpki(spki);
    // X9.62 accepts either s; the low-S rule is the transaction rule of Bitcoin (isLowS).
    return (data, signature) => verify('sha256', data, { key, dsaEncoding: 'der' }, signature);
  },
  signDigest: (key, digest) =>
    signDigestEcdsa('secp256k1', nodeKey(key), checkDigest('sha256', digest)),
  digestVerifier(spki) {
    const point = publicPoint(publicKeyOfSpki(spki), 'secp256k1');
    return (digest, signature) =>
      verifyDigestEcdsa('secp256k1', point, checkDigest('sha256', digest), signature);
  },
};

export const secp256k1Ecdsa: OtherMechanismFamily = {
  algorithms: ['ecdsa-secp256k1'],
  mechanism: () => mechanism,
};

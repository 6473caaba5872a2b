// ECDSA keys on P-256 and P-384 with node:crypto: generation, and signatures as the DER
// ECDSA-Sig-Value that X.509 and CMS carry (RFC 5758 3.2), with the hash of the key algorithm;
// over a digest the caller computed through the noble adapter (noble-ecdsa.ts).
import { generateKeyPair, sign, verify, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { checkDigest, checkPublicKey } from './digest.js';
import { publicPoint, signDigestEcdsa, verifyDigestEcdsa, type NobleCurve } from './noble-ecdsa.js';
import { keyPair, nodeMechanism, required } from './node-keys.js';
import type { MechanismFamily } from './types.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/** OpenSSL's names of the curves, as KeyObject.asymmetricKeyDetails reports them. */
const OPENSSL_CURVES: Readonly<Record<NobleCurve, string>> = {
  'P-256': 'prime256v1',
  'P-384': 'secp384r1',
  secp256k1: 'secp256k1',
};

function isNobleCurve(curve: string): curve is NobleCurve {
  return Object.hasOwn(OPENSSL_CURVES, curve);
}

export const ecdsa: MechanismFamily = {
  name: 'ecdsa',
  mechanism(info) {
    const curve = required(info.curve, info, 'curve');
    if (!isNobleCurve(curve)) throw new Error(`mechanism ${info.name}: no curve ${curve}`);
    const opensslCurve = OPENSSL_CURVES[curve];
    const hash = required(info.hash, info, 'hash');
    const fits = (key: KeyObject): boolean =>
      key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === opensslCurve;
    return nodeMechanism(info, {
      generate: async () => keyPair(await generateKeyPairAsync('ec', { namedCurve: curve })),
      fits,
      sign: (key, data) => new Uint8Array(sign(hash, data, { key, dsaEncoding: 'der' })),
      verifier: (key) => (data, signature) =>
        verify(hash, data, { key, dsaEncoding: 'der' }, signature),
      signDigest: (key, digest) => signDigestEcdsa(curve, key, checkDigest(hash, digest)),
      digestVerifier(key) {
        const point = publicPoint(checkPublicKey(info, key, fits), curve);
        return (digest, signature) =>
          verifyDigestEcdsa(curve, point, checkDigest(hash, digest), signature);
      },
    });
  },
};

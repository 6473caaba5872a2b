// ECDSA keys on P-256 and P-384 with node:crypto: generation, and signatures as the DER
// ECDSA-Sig-Value that X.509 and CMS carry (RFC 5758 3.2), with the hash of the key algorithm.
import { generateKeyPair, sign, verify } from 'node:crypto';
import { promisify } from 'node:util';
import { keyPair, nodeMechanism, required } from './node-keys.js';
import type { MechanismFamily } from './types.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/** OpenSSL's names of the curves, as KeyObject.asymmetricKeyDetails reports them. */
const OPENSSL_CURVES: Readonly<Record<string, string>> = {
  'P-256': 'prime256v1',
  'P-384': 'secp384r1',
};

export const ecdsa: MechanismFamily = {
  name: 'ecdsa',
  mechanism(info) {
    const curve = required(info.curve, info, 'curve');
    const opensslCurve = required(OPENSSL_CURVES[curve], info, 'OpenSSL curve name');
    const hash = required(info.hash, info, 'hash');
    return nodeMechanism(info, {
      generate: async () => keyPair(await generateKeyPairAsync('ec', { namedCurve: curve })),
      fits: (key) =>
        key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === opensslCurve,
      sign: (key, data) => new Uint8Array(sign(hash, data, { key, dsaEncoding: 'der' })),
      verifier: (key) => (data, signature) =>
        verify(hash, data, { key, dsaEncoding: 'der' }, signature),
    });
  },
};

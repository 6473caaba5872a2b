// Key-agreement keys with node:crypto: ECDH on P-256 and P-384 (SEC 1 3.3.1, the shared secret
// is the x-coordinate) and X25519 (RFC 7748 6.1). Their SPKI and PKCS#8 are those of RFC 5480
// (id-ecPublicKey with the named curve) and RFC 8410 (id-X25519). They never sign: an ECDH key
// and an ECDSA key of the same curve share an encoding, and the key row's algorithm, not the
// key, says which one it is.
import { diffieHellman, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { id_ecPublicKey, id_X25519 } from '../../pki/index.js';
import { HsmError } from '../errors.js';
import type { OtherAlgorithm } from './algorithms.js';
import { exportPkcs8, keyPair, loadPkcs8, loadSpki, nodeKey, spkiOf } from './node-keys.js';
import type { Mechanism, OtherMechanismFamily } from './types.js';

const generateKeyPairAsync = promisify(generateKeyPair);

interface AgreementShape {
  readonly oid: string;
  readonly generate: () => Promise<{ privateKey: KeyObject; publicKey: KeyObject }>;
  readonly fits: (key: KeyObject) => boolean;
}

const ecCurve = (namedCurve: string, opensslCurve: string): AgreementShape => ({
  oid: id_ecPublicKey,
  generate: () => generateKeyPairAsync('ec', { namedCurve }),
  fits: (key) =>
    key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === opensslCurve,
});

const SHAPES = {
  'ecdh-p256': ecCurve('P-256', 'prime256v1'),
  'ecdh-p384': ecCurve('P-384', 'secp384r1'),
  x25519: {
    oid: id_X25519,
    generate: () => generateKeyPairAsync('x25519'),
    fits: (key) => key.asymmetricKeyType === 'x25519',
  },
} as const satisfies Partial<Record<OtherAlgorithm, AgreementShape>>;

type AgreementAlgorithm = keyof typeof SHAPES;

function isAgreementAlgorithm(name: string): name is AgreementAlgorithm {
  return Object.hasOwn(SHAPES, name);
}

function notOfAlgorithm(name: string, key: KeyObject, what: string): HsmError {
  return new HsmError('invalid-argument', `the ${what} is not of the named algorithm`, {
    details: { algorithm: name, type: key.asymmetricKeyType ?? 'unknown' },
  });
}

function agreementMechanism(name: AgreementAlgorithm): Mechanism {
  const shape: AgreementShape = SHAPES[name];
  return {
    name,
    keyClass: 'agreement',
    // An agreement key only derives: a key made from its shared secret (src/hsm/keys/derive.ts).
    purposes: { default: ['derive'], allowed: ['derive'] },
    // An EC PKCS#8 is imported as ECDSA unless the import names this algorithm.
    pkcs8Oids: [shape.oid],
    generate: async () => keyPair(await shape.generate()),
    load(pkcs8) {
      const key = loadPkcs8(pkcs8);
      if (!shape.fits(key)) throw notOfAlgorithm(name, key, 'private key');
      return key;
    },
    encode: (key) => exportPkcs8(nodeKey(key)),
    publicPart: (key) => spkiOf(nodeKey(key)),
    agree(key, peerSpki) {
      const publicKey = loadSpki(peerSpki);
      if (!shape.fits(publicKey)) throw notOfAlgorithm(name, publicKey, 'peer public key');
      let secret: Uint8Array;
      try {
        secret = new Uint8Array(diffieHellman({ privateKey: nodeKey(key), publicKey }));
      } catch (cause) {
        throw new HsmError('invalid-argument', 'no shared secret with the peer public key', {
          cause,
          details: { algorithm: name },
        });
      }
      // RFC 7748 6.1: an all-zero X25519 output means a small-order peer point; OpenSSL's ECDH
      // already refuses the point at infinity and points off the curve.
      if (secret.every((b) => b === 0)) {
        throw new HsmError('invalid-argument', 'the peer public key is of small order', {
          details: { algorithm: name },
        });
      }
      return secret;
    },
  };
}

export const agreement: OtherMechanismFamily = {
  algorithms: Object.keys(SHAPES).filter(isAgreementAlgorithm),
  mechanism(name) {
    if (!isAgreementAlgorithm(name)) throw new Error(`agreement family: no ${name}`);
    return agreementMechanism(name);
  },
};

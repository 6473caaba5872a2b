// Derivable keys: a private node of a BIP 32 / SLIP-10 key tree (src/hsm/hd) as a key of the
// HSM, sealed as its HdPrivateKey DER (hd/sealed.ts) in a MaterialKey. A new key is the master
// key of a seed drawn inside (BIP 32 "Master key generation", 256 bits); its public part is the
// SPKI of the node's public key (RFC 5480 id-ecPublicKey with secp256k1 or prime256v1, RFC 8410
// id-Ed25519). With the purpose sign, a node signs with its curve's scheme: low-S ECDSA-SHA-256
// on secp256k1 (BIP 62), ECDSA-SHA-256 on P-256, pure Ed25519 (RFC 8032). No PKCS#8: such a key
// is imported from a seed or an extended private key (keys/hd.ts).
import {
  createPrivateKey,
  createPublicKey,
  randomBytes,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { HsmError } from '../errors.js';
import {
  decodeHdPrivateKey,
  encodeHdPrivateKey,
  hdMasterKey,
  wipeHdNode,
  type HdCurve,
  type HdNode,
  type HdPrivateNode,
} from '../hd/index.js';
import type { OtherAlgorithm } from './algorithms.js';
import { checkDigest } from './digest.js';
import { MaterialKey } from './material-key.js';
import { signDigestWithScalar, verifyDigestEcdsa, type NobleCurve } from './noble-ecdsa.js';
import { loadSpki, nodeKey } from './node-keys.js';
import type { Mechanism, OtherMechanismFamily, PrivateKeyHandle } from './types.js';

/** The derivable key algorithms and their curve. */
export const HD_ALGORITHMS = {
  'bip32-secp256k1': 'secp256k1',
  'slip10-ed25519': 'ed25519',
  'slip10-p256': 'nist256p1',
} as const satisfies Partial<Record<OtherAlgorithm, HdCurve>>;

export type HdAlgorithm = keyof typeof HD_ALGORITHMS;

export function isHdAlgorithm(name: string): name is HdAlgorithm {
  return Object.hasOwn(HD_ALGORITHMS, name);
}

/** The derivable key algorithm of a curve. */
export function hdAlgorithmOf(curve: HdCurve): HdAlgorithm {
  const found = (Object.keys(HD_ALGORITHMS) as HdAlgorithm[]).find(
    (a) => HD_ALGORITHMS[a] === curve,
  );
  if (found === undefined) throw new Error(`no derivable key algorithm for ${curve}`);
  return found;
}

/** The seed a generated key is made from: 256 bits (BIP 32 allows 128 to 512). */
const SEED_BYTES = 32;

/** What the signing of each curve needs: its ECDSA curve for noble, or Ed25519. */
const ECDSA_CURVES: Readonly<Partial<Record<HdCurve, NobleCurve>>> = {
  secp256k1: 'secp256k1',
  nist256p1: 'P-256',
};

/** The JWK of a node's public key, for node:crypto (which writes the SPKI). */
function publicJwk(curve: HdCurve, publicKey: Uint8Array) {
  if (curve === 'ed25519') {
    return { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') };
  }
  const point = (curve === 'secp256k1' ? secp256k1 : p256).Point.fromBytes(publicKey).toBytes(
    false,
  );
  return {
    kty: 'EC',
    crv: curve === 'secp256k1' ? 'secp256k1' : 'P-256',
    x: Buffer.from(point.subarray(1, 33)).toString('base64url'),
    y: Buffer.from(point.subarray(33)).toString('base64url'),
  };
}

/** The DER SubjectPublicKeyInfo of a node's public key. */
export function hdNodeSpki(node: HdNode): Uint8Array {
  const key = createPublicKey({ key: publicJwk(node.curve, node.publicKey), format: 'jwk' });
  return new Uint8Array(key.export({ type: 'spki', format: 'der' }));
}

/** Whether a public KeyObject is one of the curve's. */
function fitsCurve(curve: HdCurve, key: KeyObject): boolean {
  if (curve === 'ed25519') return key.asymmetricKeyType === 'ed25519';
  const named = curve === 'secp256k1' ? 'secp256k1' : 'prime256v1';
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === named;
}

/**
 * The private node of a derivable key (a fresh copy the caller wipes with wipeHdNode); a key of
 * another algorithm is a bug.
 */
export function hdNodeOf(algorithm: HdAlgorithm, key: PrivateKeyHandle): HdPrivateNode {
  if (key instanceof MaterialKey) return decodeHdPrivateKey(key.materialFor(algorithm));
  throw new Error(`a ${nodeKey(key).asymmetricKeyType ?? 'node'} key given as a derivable key`);
}

/** A MaterialKey of the node: its sealed encoding, and its SPKI as the public part. */
export function hdKeyOfNode(algorithm: HdAlgorithm, node: HdPrivateNode): MaterialKey {
  if (node.curve !== HD_ALGORITHMS[algorithm]) {
    throw new HsmError('invalid-argument', `a ${node.curve} node is not a ${algorithm} key`, {
      details: { algorithm, curve: node.curve },
    });
  }
  const encoded = encodeHdPrivateKey(node);
  try {
    return new MaterialKey(algorithm, encoded, hdNodeSpki(node));
  } finally {
    encoded.fill(0);
  }
}

/** Runs `fn` on the private node of `key`, wiped afterwards. */
function withNode<T>(
  algorithm: HdAlgorithm,
  key: PrivateKeyHandle,
  fn: (n: HdPrivateNode) => T,
): T {
  const node = hdNodeOf(algorithm, key);
  try {
    return fn(node);
  } finally {
    wipeHdNode(node);
  }
}

/** RFC 8410 PrivateKeyInfo of an Ed25519 key up to its 32-byte seed (CurvePrivateKey). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * Pure Ed25519 (RFC 8032) with node:crypto over a SLIP-10 node's 32-byte private key, which is
 * the Ed25519 seed; the DER copy that holds it is zeroed after use.
 */
function signEd25519(seed: Uint8Array, data: Uint8Array): Uint8Array {
  const der = Buffer.concat([ED25519_PKCS8_PREFIX, seed]);
  try {
    return sign(null, data, createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
  } finally {
    der.fill(0);
  }
}

function hdMechanism(name: HdAlgorithm): Mechanism {
  const curve = HD_ALGORITHMS[name];
  const ecdsaCurve = ECDSA_CURVES[curve];
  const boundKey = (spki: Uint8Array): KeyObject => {
    const key = loadSpki(spki);
    if (!fitsCurve(curve, key)) {
      throw new HsmError('invalid-argument', `the public key is not a ${curve} key`, {
        details: { algorithm: name, type: key.asymmetricKeyType ?? 'unknown' },
      });
    }
    return key;
  };
  const signDigest =
    ecdsaCurve === undefined
      ? undefined
      : (key: PrivateKeyHandle, digest: Uint8Array): Uint8Array =>
          withNode(name, key, (node) =>
            signDigestWithScalar(ecdsaCurve, node.privateKey, checkDigest('sha256', digest)),
          );
  return {
    name,
    keyClass: 'derivable',
    // A tree's key derives children; a child (or, when asked, the tree's key) signs.
    purposes: { default: ['derive'], allowed: ['derive', 'sign', 'verify'] },
    pkcs8Oids: [],
    generate() {
      const seed = randomBytes(SEED_BYTES);
      const node = hdMasterKey(curve, seed);
      seed.fill(0);
      try {
        const key = hdKeyOfNode(name, node);
        return Promise.resolve({ privateKey: key, publicPart: key.publicPart });
      } finally {
        wipeHdNode(node);
      }
    },
    load(encoded) {
      const node = decodeHdPrivateKey(encoded);
      try {
        return hdKeyOfNode(name, node);
      } finally {
        wipeHdNode(node);
      }
    },
    encode: (key) => {
      if (!(key instanceof MaterialKey)) throw new Error('a derivable key is a MaterialKey');
      return key.materialFor(name).slice();
    },
    publicPart: (key) => {
      if (!(key instanceof MaterialKey)) throw new Error('a derivable key is a MaterialKey');
      return key.publicPart;
    },
    sign: (key, data) =>
      ecdsaCurve === undefined
        ? withNode(name, key, (node) => signEd25519(node.privateKey, data))
        : signDigest!(key, sha256(data)),
    verifier(spki) {
      const publicKey = boundKey(spki);
      return ecdsaCurve === undefined
        ? (data, signature) => verify(null, data, publicKey, signature)
        : (data, signature) =>
            verify('sha256', data, { key: publicKey, dsaEncoding: 'der' }, signature);
    },
    ...(signDigest === undefined || ecdsaCurve === undefined
      ? {}
      : {
          digestHash: 'sha256' as const,
          signDigest,
          digestVerifier(spki: Uint8Array) {
            const jwk = boundKey(spki).export({ format: 'jwk' });
            const point = Uint8Array.of(
              0x04,
              ...Buffer.from(jwk.x ?? '', 'base64url'),
              ...Buffer.from(jwk.y ?? '', 'base64url'),
            );
            return (digest: Uint8Array, signature: Uint8Array) =>
              verifyDigestEcdsa(ecdsaCurve, point, checkDigest('sha256', digest), signature);
          },
        }),
  };
}

export const hdKeys: OtherMechanismFamily = {
  algorithms: Object.keys(HD_ALGORITHMS) as HdAlgorithm[],
  mechanism: (name) => {
    if (!isHdAlgorithm(name)) throw new Error(`mechanism registry: ${name} is not derivable`);
    return hdMechanism(name);
  },
};

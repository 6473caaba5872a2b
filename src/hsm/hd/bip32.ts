// BIP 32 derivation on secp256k1 with @scure/bip32 (also SLIP-10 for secp256k1, which is BIP 32):
// the master key from a seed, CKDpriv and CKDpub. The library's HDKey holds copies of the key;
// each one made here has its private key wiped before it is dropped.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { HDKey } from '@scure/bip32';
import { id_secp256k1 } from '../../pki/index.js';
import { HsmError } from '../errors.js';
import type { DerivedPrivate, DerivedPublic, HdCurveOps, HdNode, HdPrivateNode } from './node.js';

/** Runs `fn` on an HDKey and wipes the key's private data whatever happens. */
function using<T>(key: HDKey, fn: (key: HDKey) => T): T {
  try {
    return fn(key);
  } finally {
    key.wipePrivateData();
  }
}

function hdKeyOf(node: HdNode): HDKey {
  const place = {
    depth: node.depth,
    index: node.childIndex,
    parentFingerprint: node.parentFingerprint,
    chainCode: node.chainCode,
  };
  return node.privateKey === undefined
    ? new HDKey({ ...place, publicKey: node.publicKey })
    : new HDKey({ ...place, privateKey: node.privateKey });
}

/** The private key and chain code of an HDKey, as fresh arrays the caller owns. */
function privateOf(key: HDKey): DerivedPrivate {
  const privateKey = key.privateKey;
  const chainCode = key.chainCode;
  if (privateKey === null || chainCode === null) throw new Error('bip32: no private key');
  return { privateKey, chainCode, index: key.index };
}

export const bip32Secp256k1: HdCurveOps = {
  curve: 'secp256k1',
  oid: id_secp256k1,
  seedKey: 'Bitcoin seed',
  hardenedOnly: false,
  publicKey: (privateKey) => secp256k1.getPublicKey(privateKey, true),
  serializePublicKey: (publicKey) => publicKey,
  isValidPrivateKey: (privateKey) =>
    privateKey.length === 32 && secp256k1.utils.isValidSecretKey(privateKey),
  isValidPublicKey(publicKey) {
    if (publicKey.length !== 33) return false;
    try {
      secp256k1.Point.fromBytes(publicKey);
      return true;
    } catch {
      return false;
    }
  },
  master(seed) {
    let key: HDKey;
    try {
      key = HDKey.fromMasterSeed(seed);
    } catch (cause) {
      // BIP 32: "In case I_L is 0 or >= n, the master key is invalid" (probability < 2^-127).
      throw new HsmError('invalid-argument', 'the seed gives no valid bip32 master key', {
        cause,
        details: { field: 'seed' },
      });
    }
    return using(key, privateOf);
  },
  childPrivate(parent: HdPrivateNode, index: number): DerivedPrivate {
    return using(hdKeyOf(parent), (key) => using(key.deriveChild(index), privateOf));
  },
  childPublic(parent: HdNode, index: number): DerivedPublic {
    const child = using(hdKeyOf(parent), (key) => using(key.deriveChild(index), (c) => c));
    const publicKey = child.publicKey;
    const chainCode = child.chainCode;
    if (publicKey === null || chainCode === null) throw new Error('bip32: no public key');
    return { publicKey, chainCode, index: child.index };
  },
};

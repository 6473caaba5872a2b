// Extended keys as wallets exchange them (BIP 32 "Serialization format"): the 78-byte structure
// in Base58Check, with the version bytes of BIP 32 (xprv/xpub, tprv/tpub) and of SLIP-132 for
// BIP 84 accounts (zprv/zpub, vprv/vpub). secp256k1 only: SLIP-10 defines no serialisation for
// the other curves. A Base58 string cannot be zeroed: an xprv stays inside the HSM.
import { createBase58check } from '@scure/base';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '../../shared/index.js';
import { HsmError } from '../errors.js';
import { bip32Secp256k1 } from './bip32.js';
import { hdCurveOps } from './derive.js';
import { ser32, type HdNode } from './node.js';

/** Version bytes by the prefix they give the Base58 string (BIP 32, SLIP-132). */
export const EXTENDED_KEY_VERSIONS = {
  xprv: 0x0488ade4,
  xpub: 0x0488b21e,
  tprv: 0x04358394,
  tpub: 0x043587cf,
  zprv: 0x04b2430c,
  zpub: 0x04b24746,
  vprv: 0x045f18bc,
  vpub: 0x045f1cf6,
} as const;

export type ExtendedKeyPrefix = keyof typeof EXTENDED_KEY_VERSIONS;

const PREFIXES = Object.keys(EXTENDED_KEY_VERSIONS) as ExtendedKeyPrefix[];
const base58check = createBase58check(sha256);

/** Whether the prefix is of an extended private key. */
export function isPrivatePrefix(prefix: ExtendedKeyPrefix): boolean {
  return prefix.endsWith('prv');
}

function invalid(why: string, cause?: unknown): HsmError {
  return new HsmError('invalid-argument', `invalid extended key: ${why}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { field: 'extendedKey' },
  });
}

/**
 * The Base58Check extended key of a secp256k1 node: version || depth || parent fingerprint ||
 * child number || chain code || key data (0x00 || k, or serP(K)). A private prefix needs a
 * private node; a public prefix writes the public key of either. HsmError invalid-argument for
 * another curve or a private prefix on a public node.
 */
export function encodeExtendedKey(node: HdNode, prefix: ExtendedKeyPrefix): string {
  if (hdCurveOps(node.curve) !== bip32Secp256k1) {
    throw new HsmError(
      'invalid-argument',
      `extended keys are secp256k1 keys only: SLIP-10 defines no serialisation for ${node.curve}`,
      { details: { field: 'curve', curve: node.curve } },
    );
  }
  const wantsPrivate = isPrivatePrefix(prefix);
  if (wantsPrivate && node.privateKey === undefined) {
    throw new HsmError('invalid-argument', `a public key has no ${prefix} serialisation`, {
      details: { field: 'prefix', prefix },
    });
  }
  const keyData =
    wantsPrivate && node.privateKey !== undefined
      ? concatBytes(Uint8Array.of(0), node.privateKey)
      : node.publicKey;
  const raw = concatBytes(
    ser32(EXTENDED_KEY_VERSIONS[prefix]),
    Uint8Array.of(node.depth),
    ser32(node.parentFingerprint),
    ser32(node.childIndex),
    node.chainCode,
    keyData,
  );
  try {
    return base58check.encode(raw);
  } finally {
    raw.fill(0);
    if (wantsPrivate) keyData.fill(0);
  }
}

export interface DecodedExtendedKey {
  readonly prefix: ExtendedKeyPrefix;
  /** A private node for a private prefix, a public one otherwise. */
  readonly node: HdNode;
}

/**
 * Reads an extended key. HsmError invalid-argument for a bad checksum or length, an unknown
 * version, a master key with a parent, key data that does not match the version, a private
 * key outside 1..n-1 or a public key off the curve (BIP 32 "Serialization format" and its
 * test vector 5).
 */
export function decodeExtendedKey(text: string): DecodedExtendedKey {
  let raw: Uint8Array;
  try {
    raw = base58check.decode(text);
  } catch (cause) {
    throw invalid('not base58check', cause);
  }
  try {
    if (raw.length !== 78) throw invalid(`${raw.length} bytes instead of 78`);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.length);
    const version = view.getUint32(0, false);
    const prefix = PREFIXES.find((p) => EXTENDED_KEY_VERSIONS[p] === version);
    if (prefix === undefined) throw invalid('unknown version bytes');
    const depth = raw[4]!;
    const parentFingerprint = view.getUint32(5, false);
    const childIndex = view.getUint32(9, false);
    if (depth === 0 && (parentFingerprint !== 0 || childIndex !== 0)) {
      throw invalid('a master key (depth 0) with a parent fingerprint or child number');
    }
    const chainCode = raw.slice(13, 45);
    const keyData = raw.subarray(45);
    const ops = bip32Secp256k1;
    const place = { curve: ops.curve, depth, parentFingerprint, childIndex, chainCode };
    if (isPrivatePrefix(prefix)) {
      if (keyData[0] !== 0) throw invalid(`${prefix} key data does not start with 0x00`);
      const privateKey = keyData.slice(1);
      if (!ops.isValidPrivateKey(privateKey)) {
        privateKey.fill(0);
        chainCode.fill(0);
        throw invalid('the private key is not in 1..n-1');
      }
      return { prefix, node: { ...place, privateKey, publicKey: ops.publicKey(privateKey) } };
    }
    if (!ops.isValidPublicKey(keyData)) throw invalid('the public key is not a point on the curve');
    return { prefix, node: { ...place, publicKey: keyData.slice() } };
  } finally {
    raw.fill(0);
  }
}

// Hierarchical deterministic derivation on every curve of SLIP-10: the master key from a seed
// (BIP 32 "Master key generation"), private and public children along a path, the neutered
// public node N((k, c)), and key identifiers and fingerprints (BIP 32 "Key identifiers").
import { ripemd160 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { HsmError } from '../errors.js';
import { bip32Secp256k1 } from './bip32.js';
import {
  wipeHdNode,
  type HdCurve,
  type HdCurveOps,
  type HdNode,
  type HdPrivateNode,
  type HdPublicNode,
} from './node.js';
import { MAX_DEPTH, pathSegments, type PathSegment } from './path.js';
import { slip10Ed25519, slip10P256 } from './slip10.js';

const CURVES: Readonly<Record<HdCurve, HdCurveOps>> = {
  secp256k1: bip32Secp256k1,
  nist256p1: slip10P256,
  ed25519: slip10Ed25519,
};

/** The curves keys can be derived on. */
export const HD_CURVES: readonly HdCurve[] = Object.keys(CURVES) as HdCurve[];

/** The curve's derivation; HsmError invalid-argument for a name that is not one. */
export function hdCurveOps(curve: string): HdCurveOps {
  const ops = Object.hasOwn(CURVES, curve) ? CURVES[curve as HdCurve] : undefined;
  if (ops === undefined) {
    throw new HsmError('invalid-argument', 'unknown curve for key derivation', {
      details: { field: 'curve', curve },
    });
  }
  return ops;
}

/** BIP 32 and SLIP-10: a seed S of 128 to 512 bits. */
const SEED_BYTES = { min: 16, max: 64 } as const;

/**
 * The master key m of a seed (BIP 32 "Master key generation", SLIP-10 for the other curves).
 * HsmError invalid-argument for a seed outside 16..64 bytes. The seed stays the caller's.
 */
export function hdMasterKey(curve: HdCurve, seed: Uint8Array): HdPrivateNode {
  const ops = hdCurveOps(curve);
  if (seed.length < SEED_BYTES.min || seed.length > SEED_BYTES.max) {
    throw new HsmError('invalid-argument', 'a seed is 16 to 64 bytes (128 to 512 bits)', {
      details: { field: 'seed', length: seed.length },
    });
  }
  const { privateKey, chainCode } = ops.master(seed);
  return {
    curve,
    depth: 0,
    parentFingerprint: 0,
    childIndex: 0,
    chainCode,
    privateKey,
    publicKey: ops.publicKey(privateKey),
  };
}

/** Hash160 (RIPEMD-160 of SHA-256) of serP(K): the key identifier of BIP 32. */
export function hdIdentifier(node: HdNode): Uint8Array {
  return ripemd160(sha256(hdCurveOps(node.curve).serializePublicKey(node.publicKey)));
}

/** The first 32 bits of the key identifier, as an unsigned integer (BIP 32 "fingerprint"). */
export function hdFingerprint(node: HdNode): number {
  return new DataView(hdIdentifier(node).buffer).getUint32(0, false);
}

/** N((k, c)): the extended public key of a node (no private key; the chain code copied). */
export function hdPublicNode(node: HdNode): HdPublicNode {
  return {
    curve: node.curve,
    depth: node.depth,
    parentFingerprint: node.parentFingerprint,
    childIndex: node.childIndex,
    chainCode: node.chainCode.slice(),
    publicKey: node.publicKey.slice(),
  };
}

function copyPrivate(node: HdPrivateNode): HdPrivateNode {
  return { ...hdPublicNode(node), privateKey: node.privateKey.slice() };
}

function segmentError(segment: PathSegment, why: string): HsmError {
  return new HsmError(
    'invalid-argument',
    `derivation path segment ${segment.position} (${JSON.stringify(segment.text)}) ${why}`,
    { details: { field: 'path', segment: segment.text, position: segment.position } },
  );
}

/** The segments of a path for a node: an absolute path from a master key only, within depth. */
function segmentsFor(node: HdNode, path: string | readonly number[]): readonly PathSegment[] {
  const { absolute, segments } = pathSegments(path);
  if (absolute && node.depth !== 0) {
    throw new HsmError(
      'invalid-argument',
      `derivation path starts at the master key (m/...) but the key has depth ${node.depth}: give a path relative to it`,
      { details: { field: 'path', depth: node.depth } },
    );
  }
  const tooDeep = segments[MAX_DEPTH - node.depth];
  if (tooDeep !== undefined) {
    throw segmentError(tooDeep, `is below the deepest key (depth ${MAX_DEPTH})`);
  }
  return segments;
}

/** One step down: the child at `index` of a private node, or of a public one. */
function childOf(node: HdPrivateNode, segment: PathSegment): HdPrivateNode {
  const ops = hdCurveOps(node.curve);
  if (ops.hardenedOnly && !segment.hardened) {
    throw segmentError(
      segment,
      `is not hardened: ${node.curve} keys derive hardened children only (SLIP-10)`,
    );
  }
  const child = ops.childPrivate(node, segment.index);
  return {
    curve: node.curve,
    depth: node.depth + 1,
    parentFingerprint: hdFingerprint(node),
    childIndex: child.index,
    chainCode: child.chainCode,
    privateKey: child.privateKey,
    publicKey: ops.publicKey(child.privateKey),
  };
}

/**
 * The private node at `path` below `node` (CKDpriv along the path): "m/44'/0'/0'" from a master
 * key, "0/5" or child indices relative to any node. A fresh node the caller wipes; `node` is
 * left as it was and the intermediate nodes are wiped. HsmError invalid-argument names a bad
 * segment (syntax, range, depth, or a non-hardened one on Ed25519).
 */
export function deriveHdPath(node: HdPrivateNode, path: string | readonly number[]): HdPrivateNode {
  const segments = segmentsFor(node, path);
  let current = copyPrivate(node);
  for (const segment of segments) {
    try {
      const next = childOf(current, segment);
      wipeHdNode(current);
      current = next;
    } catch (error) {
      wipeHdNode(current);
      throw error;
    }
  }
  return current;
}

/**
 * The public node at `path` below `node` (CKDpub along the path; N(node) first for a private
 * node): non-hardened segments only. HsmError invalid-argument for a hardened segment, and for
 * Ed25519, which has no public derivation (SLIP-10).
 */
export function derivePublicHdPath(node: HdNode, path: string | readonly number[]): HdPublicNode {
  const ops = hdCurveOps(node.curve);
  const segments = segmentsFor(node, path);
  const childPublic = ops.childPublic;
  if (childPublic === undefined) {
    throw new HsmError(
      'invalid-argument',
      `${node.curve} keys have no public derivation (SLIP-10): derive from the private key`,
      { details: { field: 'path', curve: node.curve } },
    );
  }
  let current = hdPublicNode(node);
  for (const segment of segments) {
    if (segment.hardened) {
      throw segmentError(
        segment,
        'is hardened: a public key derives non-hardened children only (BIP 32 CKDpub)',
      );
    }
    const child = childPublic(current, segment.index);
    const parentFingerprint = hdFingerprint(current);
    current.chainCode.fill(0);
    current = {
      curve: node.curve,
      depth: current.depth + 1,
      parentFingerprint,
      childIndex: child.index,
      chainCode: child.chainCode,
      publicKey: child.publicKey,
    };
  }
  return current;
}

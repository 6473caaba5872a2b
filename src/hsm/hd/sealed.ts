// The bytes the HSM seals for a derivable key: a private node of the key tree as one small DER
// value (below), the public key left out and recomputed on reading. Strict DER, one version,
// every field checked on the way in, so that a sealed value means one node only.
import { der, derReader, assertStrictDer } from '../../pki/index.js';
import { HsmError } from '../errors.js';
import { HD_CURVES, hdCurveOps } from './derive.js';
import { ser32, type HdCurveOps, type HdPrivateNode } from './node.js';
import { HARDENED_OFFSET, MAX_DEPTH } from './path.js';

/** The one version written and read. */
const VERSION = 1n;

function malformed(why: string, cause?: unknown): HsmError {
  return new HsmError('invalid-argument', `malformed hd private key: ${why}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { field: 'hdPrivateKey' },
  });
}

/**
 * HdPrivateKey ::= SEQUENCE {
 *   version            INTEGER { v1(1) },
 *   curve              OBJECT IDENTIFIER, -- secp256k1 (1.3.132.0.10), prime256v1
 *                                         -- (1.2.840.10045.3.1.7), id-Ed25519 (1.3.101.112)
 *   depth              INTEGER (0..255),
 *   parentFingerprint  OCTET STRING (SIZE (4)),
 *   childIndex         INTEGER (0..4294967295),
 *   chainCode          OCTET STRING (SIZE (32)),
 *   privateKey         OCTET STRING (SIZE (32)) }
 *
 * The DER of a private node, in one buffer that the caller zeroes once it is sealed (the chain
 * code and key are written into it directly, never copied elsewhere).
 */
export function encodeHdPrivateKey(node: HdPrivateNode): Uint8Array {
  const ops = hdCurveOps(node.curve);
  if (node.chainCode.length !== 32 || !ops.isValidPrivateKey(node.privateKey)) {
    throw new HsmError('invalid-argument', 'not a private node of the key tree', {
      details: { field: 'node', curve: node.curve },
    });
  }
  return der.encodeNode(
    der.node(
      0x30,
      der.integer(VERSION),
      der.oid(ops.oid),
      der.integer(node.depth),
      der.octetString(ser32(node.parentFingerprint)),
      der.integer(node.childIndex),
      der.node(0x04, node.chainCode),
      der.node(0x04, node.privateKey),
    ),
  );
}

function curveOf(oid: string): HdCurveOps {
  const ops = HD_CURVES.map(hdCurveOps).find((o) => o.oid === oid);
  if (ops === undefined) throw malformed(`curve ${oid} is not one keys are derived on`);
  return ops;
}

function smallUnsigned(value: bigint, max: number, what: string): number {
  if (value > BigInt(max)) throw malformed(`${what} is out of range`);
  return Number(value);
}

/**
 * The private node sealed in `bytes` (encodeHdPrivateKey), its public key recomputed. The key
 * and chain code are copied out: zero `bytes` afterwards. HsmError invalid-argument, naming the
 * field, for anything but the one encoding of a valid node.
 */
export function decodeHdPrivateKey(bytes: Uint8Array): HdPrivateNode {
  try {
    assertStrictDer(bytes);
  } catch (cause) {
    throw malformed('not strict der', cause);
  }
  const { readTlv, childrenOf, readUnsigned, readOid, readOctets, expectTag } = derReader;
  let fields;
  try {
    fields = childrenOf(bytes, expectTag(readTlv(bytes, 0), 0x30, 'sequence'));
  } catch (cause) {
    throw malformed('not a sequence', cause);
  }
  if (fields.length !== 7) throw malformed('expected 7 fields');
  const [version, curve, depthT, fingerprintT, indexT, chainCodeT, privateKeyT] = fields;
  let read;
  try {
    read = {
      version: readUnsigned(bytes, version),
      oid: readOid(bytes, curve),
      depth: readUnsigned(bytes, depthT),
      fingerprint: readOctets(bytes, fingerprintT),
      index: readUnsigned(bytes, indexT),
      chainCode: readOctets(bytes, chainCodeT),
      privateKey: readOctets(bytes, privateKeyT),
    };
  } catch (cause) {
    throw malformed('a field has the wrong type', cause);
  }
  if (read.version !== VERSION) throw malformed(`version ${read.version} is not 1`);
  const ops = curveOf(read.oid);
  const depth = smallUnsigned(read.depth, MAX_DEPTH, 'depth');
  const childIndex = smallUnsigned(read.index, 0xffff_ffff, 'child index');
  if (read.fingerprint.length !== 4) throw malformed('the parent fingerprint is not 4 bytes');
  const parentFingerprint = new DataView(
    read.fingerprint.buffer,
    read.fingerprint.byteOffset,
    4,
  ).getUint32(0, false);
  // BIP 32 serialisation: a master key has parent fingerprint and child number 0.
  if (depth === 0 && (parentFingerprint !== 0 || childIndex !== 0)) {
    throw malformed('a master key (depth 0) has no parent fingerprint or child index');
  }
  if (ops.hardenedOnly && depth > 0 && childIndex < HARDENED_OFFSET) {
    throw malformed(`${ops.curve} keys are hardened children only (SLIP-10)`);
  }
  if (read.chainCode.length !== 32) throw malformed('the chain code is not 32 bytes');
  if (!ops.isValidPrivateKey(read.privateKey)) throw malformed('the private key is not valid');
  const privateKey = read.privateKey.slice();
  return {
    curve: ops.curve,
    depth,
    parentFingerprint,
    childIndex,
    chainCode: read.chainCode.slice(),
    privateKey,
    publicKey: ops.publicKey(privateKey),
  };
}

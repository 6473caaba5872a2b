// SLIP-10 derivation for Ed25519 (hardened private derivation only) and NIST P-256 (BIP 32 with
// P-256's order and SLIP-10's retry rule), written out over HMAC-SHA512 (RFC 4231): no audited
// library of the noble family implements it. Every buffer that holds key material and is made
// here is zeroed once it is no longer needed (JavaScript bigints cannot be).
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { id_Ed25519, id_secp256r1 } from '../../pki/index.js';
import { concatBytes, utf8 } from '../../shared/index.js';
import {
  ser32,
  type DerivedPrivate,
  type DerivedPublic,
  type HdCurveOps,
  type HdNode,
  type HdPrivateNode,
} from './node.js';
import { HARDENED_OFFSET } from './path.js';

/** I = HMAC-SHA512(key, data) split into I_L and I_R (fresh copies); I itself is zeroed. */
function hmacSplit(key: Uint8Array, data: Uint8Array): { il: Uint8Array; ir: Uint8Array } {
  const i = hmac(sha512, key, data);
  try {
    return { il: i.slice(0, 32), ir: i.slice(32) };
  } finally {
    i.fill(0);
  }
}

/** HMAC over `data`, which holds key material and is zeroed afterwards. */
function hmacSplitSecret(key: Uint8Array, data: Uint8Array): { il: Uint8Array; ir: Uint8Array } {
  try {
    return hmacSplit(key, data);
  } finally {
    data.fill(0);
  }
}

/** 0x00 || ser256(k) || ser32(i): the data of a hardened child (BIP 32 CKDpriv). */
function hardenedData(privateKey: Uint8Array, index: number): Uint8Array {
  return concatBytes(Uint8Array.of(0), privateKey, ser32(index));
}

/**
 * SLIP-10 "Master key generation": I = HMAC-SHA512(Key = Curve, Data = S); when I_L is not a
 * valid key (never for Ed25519), S := I and again.
 */
function master(
  seedKey: string,
  seed: Uint8Array,
  valid: (il: Uint8Array) => boolean,
): { privateKey: Uint8Array; chainCode: Uint8Array } {
  const key = utf8(seedKey);
  let { il, ir } = hmacSplit(key, seed);
  while (!valid(il)) {
    const again = concatBytes(il, ir);
    il.fill(0);
    ir.fill(0);
    ({ il, ir } = hmacSplitSecret(key, again));
  }
  return { privateKey: il, chainCode: ir };
}

/** SLIP-10 Ed25519: every 32 bytes are a private key, and only hardened children exist. */
export const slip10Ed25519: HdCurveOps = {
  curve: 'ed25519',
  oid: id_Ed25519,
  seedKey: 'ed25519 seed',
  hardenedOnly: true,
  publicKey: (privateKey) => ed25519.getPublicKey(privateKey),
  // SLIP-10 serialises an Ed25519 public key as 0x00 || A for the key identifier.
  serializePublicKey: (publicKey) => concatBytes(Uint8Array.of(0), publicKey),
  isValidPrivateKey: (privateKey) => privateKey.length === 32,
  isValidPublicKey(publicKey) {
    if (publicKey.length !== 32) return false;
    try {
      ed25519.Point.fromBytes(publicKey);
      return true;
    } catch {
      return false;
    }
  },
  master: (seed) => master('ed25519 seed', seed, () => true),
  childPrivate(parent: HdPrivateNode, index: number): DerivedPrivate {
    // SLIP-10 CKDpriv 1: "If curve is ed25519: return failure" for a normal child.
    if (index < HARDENED_OFFSET) throw new Error('slip10 ed25519: non-hardened child');
    const { il, ir } = hmacSplitSecret(parent.chainCode, hardenedData(parent.privateKey, index));
    // SLIP-10 CKDpriv 4: the child key is I_L itself.
    return { privateKey: il, chainCode: ir, index };
  },
  childPublic: undefined,
};

const Fn = p256.Point.Fn;
const N = Fn.ORDER;

/** parse256(b) as a bigint. */
function parse256(b: Uint8Array): bigint {
  let n = 0n;
  for (const byte of b) n = (n << 8n) | BigInt(byte);
  return n;
}

function validScalar(b: Uint8Array): boolean {
  const n = parse256(b);
  return n > 0n && n < N;
}

/** SLIP-10 NIST P-256: BIP 32 with P-256's order, retrying with 0x01 || I_R || ser32(i). */
export const slip10P256: HdCurveOps = {
  curve: 'nist256p1',
  oid: id_secp256r1,
  seedKey: 'Nist256p1 seed',
  hardenedOnly: false,
  publicKey: (privateKey) => p256.getPublicKey(privateKey, true),
  serializePublicKey: (publicKey) => publicKey,
  isValidPrivateKey: (privateKey) => privateKey.length === 32 && validScalar(privateKey),
  isValidPublicKey(publicKey) {
    if (publicKey.length !== 33) return false;
    try {
      p256.Point.fromBytes(publicKey);
      return true;
    } catch {
      return false;
    }
  },
  master: (seed) => master('Nist256p1 seed', seed, validScalar),
  childPrivate(parent: HdPrivateNode, index: number): DerivedPrivate {
    const data =
      index >= HARDENED_OFFSET
        ? hardenedData(parent.privateKey, index)
        : concatBytes(parent.publicKey, ser32(index));
    let { il, ir } = hmacSplitSecret(parent.chainCode, data);
    const k = parse256(parent.privateKey);
    for (;;) {
      const t = parse256(il);
      const child = (t + k) % N;
      // SLIP-10 CKDpriv 5: parse256(I_L) >= n or a zero key: hash again rather than skip i.
      if (t < N && child !== 0n) {
        il.fill(0);
        return { privateKey: Fn.toBytes(child), chainCode: ir, index };
      }
      const again = concatBytes(Uint8Array.of(1), ir, ser32(index));
      il.fill(0);
      ir.fill(0);
      ({ il, ir } = hmacSplitSecret(parent.chainCode, again));
    }
  },
  childPublic(parent: HdNode, index: number): DerivedPublic {
    const point = p256.Point.fromBytes(parent.publicKey);
    let { il, ir } = hmacSplit(parent.chainCode, concatBytes(parent.publicKey, ser32(index)));
    for (;;) {
      const t = parse256(il);
      il.fill(0);
      // SLIP-10 CKDpub 5: parse256(I_L) >= n or the point at infinity: hash again.
      if (t < N) {
        const child = t === 0n ? point : point.add(p256.Point.BASE.multiply(t));
        if (!child.equals(p256.Point.ZERO)) {
          return { publicKey: child.toBytes(true), chainCode: ir, index };
        }
      }
      const again = concatBytes(Uint8Array.of(1), ir, ser32(index));
      ir.fill(0);
      ({ il, ir } = hmacSplit(parent.chainCode, again));
    }
  },
};

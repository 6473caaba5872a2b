// ECDSA over a digest the caller computed (SEC 1 4.1.3 and 4.1.4 from step 5 on, FIPS 186-5 6.4)
// with @noble/curves: node:crypto offers no pre-hashed ECDSA. The one adapter of the HSM that
// holds the noble options, and the one place that takes a private scalar out of a KeyObject.
// secp256k1 signatures are always low-S (BIP 62, BIP 146, EIP-2): noble makes them so, and
// toLowS of src/pki is applied to every one of them on its way out.
import type { KeyObject } from 'node:crypto';
import { p256, p384 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { derReader, toLowS } from '../../pki/index.js';

export type NobleCurve = 'P-256' | 'P-384' | 'secp256k1';

const CURVES = { 'P-256': p256, 'P-384': p384, secp256k1 } as const;

/** Bytes of a scalar and of a field element (SEC 1 2.3.7, 2.3.5). */
const SIZES: Readonly<Record<NobleCurve, number>> = { 'P-256': 32, 'P-384': 48, secp256k1: 32 };

/**
 * The private scalar d of an EC private key, as a fresh array the caller zeroes. Read from the
 * key's SEC 1 ECPrivateKey DER (RFC 5915 3: SEQUENCE { version 1, privateKey OCTET STRING, ... })
 * rather than its JWK: a DER buffer can be zeroed, a base64url string cannot.
 */
function privateScalar(key: KeyObject, curve: NobleCurve): Uint8Array {
  const der = key.export({ format: 'der', type: 'sec1' });
  try {
    const { readTlv, childrenOf, readOctets } = derReader;
    const [, privateKey] = childrenOf(der, readTlv(der, 0));
    const d = readOctets(der, privateKey);
    // RFC 5915 3: the octet string has the length of the order, ceiling(log2(n)/8).
    if (d.length !== SIZES[curve]) throw new Error('ec private key: scalar of the wrong length');
    // A copy (Buffer#slice would be a view of the buffer zeroed below).
    return new Uint8Array(d);
  } finally {
    der.fill(0);
  }
}

/** The uncompressed point 0x04 || x || y (SEC 1 2.3.3) of an EC public key. */
export function publicPoint(key: KeyObject, curve: NobleCurve): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  const size = SIZES[curve];
  const x = Buffer.from(jwk.x ?? '', 'base64url');
  const y = Buffer.from(jwk.y ?? '', 'base64url');
  if (x.length !== size || y.length !== size) throw new Error('ec public key: bad coordinates');
  return Uint8Array.of(0x04, ...x, ...y);
}

/**
 * A DER ECDSA-Sig-Value over `digest`. The digest is used as is (`prehash: false`); k is
 * RFC 6979 hedged with fresh entropy (`extraEntropy: true`) against fault attacks; noble
 * normalises s to the low half, which every verifier accepts. The copy of d is zeroed after use
 * (noble's own bigint copies cannot be).
 */
export function signDigestEcdsa(curve: NobleCurve, key: KeyObject, digest: Uint8Array): Uint8Array {
  const d = privateScalar(key, curve);
  try {
    return signDigestWithScalar(curve, d, digest);
  } finally {
    d.fill(0);
  }
}

/**
 * A DER ECDSA-Sig-Value over `digest` with the private scalar `d` (32 or 48 bytes, the caller's
 * to zero), with the options of signDigestEcdsa; on secp256k1 always low-S.
 */
export function signDigestWithScalar(
  curve: NobleCurve,
  d: Uint8Array,
  digest: Uint8Array,
): Uint8Array {
  const signature = CURVES[curve].sign(digest, d, {
    prehash: false,
    lowS: true,
    format: 'der',
    extraEntropy: true,
  });
  return curve === 'secp256k1' ? toLowS('secp256k1', signature) : signature;
}

/**
 * Whether `signature` (DER) is valid over `digest` for the point. `lowS: false`: about half of
 * the signatures OpenSSL makes are high-S. False for a malformed signature, never a throw.
 */
export function verifyDigestEcdsa(
  curve: NobleCurve,
  point: Uint8Array,
  digest: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    return CURVES[curve].verify(signature, digest, point, {
      prehash: false,
      lowS: false,
      format: 'der',
    });
  } catch {
    return false;
  }
}

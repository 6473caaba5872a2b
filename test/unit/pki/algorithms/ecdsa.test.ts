// secp256k1 in the ECDSA family (src/pki/algorithms/ecdsa.ts): its SPKI is read and labelled,
// its ecdsa-with-SHA* signatures verify, high-S as well as low-S (X9.62); tampered data and
// signatures, foreign keys and points off the curve do not; isLowS and toLowS apply the
// Bitcoin rule apart; the key stays out of certificate paths and out of the HSM's key list.
import { generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import {
  KEY_ALGORITHMS,
  PkiError,
  der,
  describePublicKey,
  id_ecPublicKey,
  id_ecdsa_with_SHA256,
  id_ecdsa_with_SHA384,
  id_ecdsa_with_SHA512,
  id_secp256k1,
  isLowS,
  publicKeyLabel,
  publicKeyProblem,
  toLowS,
  verifySignature,
} from '../../../../src/pki/index.js';

const DATA = new TextEncoder().encode('secp256k1 in the ecdsa family');
const alg = (oid: string): Uint8Array => der.algorithmIdentifier(oid);
const spkiOf = (key: KeyObject): Uint8Array =>
  new Uint8Array(key.export({ type: 'spki', format: 'der' }));

/** An id-ecPublicKey SPKI naming `curveOid` around the raw point bytes. */
function rawSpki(curveOid: string, point: Uint8Array): Uint8Array {
  return der.seq(
    der.algorithmIdentifier(id_ecPublicKey, der.oid(curveOid)),
    der.tlv(0x03, Uint8Array.of(0), point),
  );
}

/** The group order n of secp256k1 (SEC 2 2.4.1). */
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** The same signature with s replaced by n - s: the other of the pair X9.62 accepts. */
function flipS(signature: Uint8Array): Uint8Array {
  const parsed = secp256k1.Signature.fromBytes(signature, 'der');
  return new secp256k1.Signature(parsed.r, N - parsed.s).toBytes('der');
}

const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
const spki = spkiOf(k1.publicKey);

describe('secp256k1 public keys', () => {
  it('are read, labelled, and refused in certificate paths only', () => {
    const key = describePublicKey(spki);
    expect(key).toMatchObject({ kind: 'ec', curve: 'secp256k1' });
    expect((key as { point: Uint8Array }).point).toHaveLength(65);
    expect(publicKeyLabel(spki)).toBe('EC secp256k1');
    expect(publicKeyProblem(spki)).toBe(
      'elliptic curve secp256k1 is not on the allow-list for certificates',
    );
    // A key algorithm the HSM issues is one with a mechanism: none for secp256k1 yet.
    expect(KEY_ALGORITHMS.some((name) => name.includes('secp256k1'))).toBe(false);
  });

  it('the curve OID is 1.3.132.0.10 in the SPKI node:crypto writes', () => {
    expect(id_secp256k1).toBe('1.3.132.0.10');
    expect(Buffer.from(spki).includes(Buffer.from(der.oid(id_secp256k1)))).toBe(true);
  });
});

describe('secp256k1 signatures', () => {
  it.each([
    ['sha256', id_ecdsa_with_SHA256],
    ['sha384', id_ecdsa_with_SHA384],
    ['sha512', id_ecdsa_with_SHA512],
  ])(
    'node:crypto ECDSA with %s verifies; tampered data and signatures do not',
    async (hash, oid) => {
      const signature = new Uint8Array(
        sign(hash, DATA, { key: k1.privateKey, dsaEncoding: 'der' }),
      );
      expect(await verifySignature(spki, alg(oid), DATA, signature)).toBe(true);
      const data = DATA.slice();
      data[3]! ^= 0x10;
      expect(await verifySignature(spki, alg(oid), data, signature)).toBe(false);
      const bad = signature.slice();
      bad[bad.length - 1]! ^= 0x01;
      expect(await verifySignature(spki, alg(oid), DATA, bad)).toBe(false);
    },
  );

  it('a signature under another hash, another key or a P-256 key does not verify', async () => {
    const signature = new Uint8Array(
      sign('sha256', DATA, { key: k1.privateKey, dsaEncoding: 'der' }),
    );
    expect(await verifySignature(spki, alg(id_ecdsa_with_SHA384), DATA, signature)).toBe(false);
    const other = spkiOf(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey);
    expect(await verifySignature(other, alg(id_ecdsa_with_SHA256), DATA, signature)).toBe(false);
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const p256Signature = new Uint8Array(
      sign('sha256', DATA, { key: p256.privateKey, dsaEncoding: 'der' }),
    );
    expect(await verifySignature(spki, alg(id_ecdsa_with_SHA256), DATA, p256Signature)).toBe(false);
  });

  it('a P-256 point labelled secp256k1 is refused at verification, never thrown', async () => {
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const point = describePublicKey(spkiOf(p256.publicKey)) as { point: Uint8Array };
    const lying = rawSpki(id_secp256k1, point.point);
    const signature = new Uint8Array(
      sign('sha256', DATA, { key: p256.privateKey, dsaEncoding: 'der' }),
    );
    expect(await verifySignature(lying, alg(id_ecdsa_with_SHA256), DATA, signature)).toBe(false);
  });

  it('high-S and low-S forms both verify (X9.62); isLowS and toLowS tell and fix them', async () => {
    const signature = new Uint8Array(
      sign('sha256', DATA, { key: k1.privateKey, dsaEncoding: 'der' }),
    );
    const low = toLowS('secp256k1', signature);
    const high = flipS(low);
    expect(isLowS('secp256k1', low)).toBe(true);
    expect(isLowS('secp256k1', high)).toBe(false);
    expect(toLowS('secp256k1', high)).toEqual(low);
    expect(toLowS('secp256k1', low)).toEqual(low);
    for (const form of [low, high]) {
      expect(await verifySignature(spki, alg(id_ecdsa_with_SHA256), DATA, form)).toBe(true);
      // OpenSSL (through node:crypto) accepts both as well.
      expect(verify('sha256', DATA, { key: k1.publicKey, dsaEncoding: 'der' }, form)).toBe(true);
    }
    // The Bitcoin rule: noble's default verification (lowS: true) refuses the high form.
    const point = (describePublicKey(spki) as { point: Uint8Array }).point;
    const digest = sha256(DATA);
    const opts = { prehash: false, format: 'der' } as const;
    expect(secp256k1.verify(low, digest, point, opts)).toBe(true);
    expect(secp256k1.verify(high, digest, point, opts)).toBe(false);
  });

  it('isLowS and toLowS refuse a malformed signature with der-invalid', () => {
    for (const fn of [isLowS, toLowS]) {
      let thrown: unknown;
      try {
        fn('secp256k1', Uint8Array.of(0x30, 0x03, 0x02, 0x01));
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(PkiError);
      expect((thrown as PkiError).code).toBe('der-invalid');
    }
  });

  it('a low-S signature of noble (RFC 6979) verifies through the registry', async () => {
    const secret = secp256k1.utils.randomSecretKey();
    const publicKey = secp256k1.getPublicKey(secret, false);
    const signature = secp256k1.sign(sha256(DATA), secret, { prehash: false, format: 'der' });
    expect(isLowS('secp256k1', signature)).toBe(true);
    const raw = rawSpki(id_secp256k1, publicKey);
    expect(await verifySignature(raw, alg(id_ecdsa_with_SHA256), DATA, signature)).toBe(true);
  });
});

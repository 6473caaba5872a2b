// Keys from shared secrets (src/hsm/keys/derive.ts), end to end in one HSM with two partitions
// playing the two parties: ECDH and X25519 agreement and ML-KEM encapsulation give both sides
// the same AES key (one encrypts, the other decrypts), HKDF follows RFC 5869, the derived key's
// attributes say it was derived, the audit names the base key and never the secret, and the
// refusals name what is wrong.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hsm } from '../../../src/hsm/index.js';
import { hkdf } from '../../../src/hsm/keys/derive.js';
import { auditEntries, createTestDevice, type TestDevice } from '../../helpers/hsm.js';
import { expectHsmRejection } from './support.js';

const te = new TextEncoder();
const PLAINTEXT = te.encode('a message only the two parties read');
const KDF = { hash: 'sha256', salt: te.encode('salt'), info: te.encode('attestamp test') } as const;

let d: TestDevice;
let hsm: Hsm;

beforeAll(async () => {
  d = await createTestDevice();
  hsm = d.hsm;
  await hsm.createPartition('alice');
  await hsm.createPartition('bob');
}, 120_000);

afterAll(async () => {
  await hsm.close();
});

/** Encrypts in one partition with key `a`, decrypts in the other with key `b`. */
async function sameKey(a: string, b: string): Promise<void> {
  const sealed = await hsm.encrypt('alice', a, { plaintext: PLAINTEXT });
  const opened = await hsm.decrypt('bob', b, {
    nonce: sealed.nonce,
    ciphertext: sealed.ciphertext,
  });
  expect(opened.plaintext).toEqual(PLAINTEXT);
}

describe('HKDF (RFC 5869)', () => {
  it('gives the answers of test cases 1 and 3 (SHA-256)', () => {
    const h = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
    const ikm = (): Uint8Array => h('0b'.repeat(22));
    const case1 = hkdf(
      ikm(),
      { hash: 'sha256', salt: h('000102030405060708090a0b0c'), info: h('f0f1f2f3f4f5f6f7f8f9') },
      42,
    );
    expect(Buffer.from(case1).toString('hex')).toBe(
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    );
    const secret = ikm();
    const case3 = hkdf(secret, { hash: 'sha256' }, 42);
    expect(Buffer.from(case3).toString('hex')).toBe(
      '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8',
    );
    // The shared secret is wiped once used.
    expect(secret.every((b) => b === 0)).toBe(true);
  });
});

describe.each(['ecdh-p256', 'ecdh-p384', 'x25519'] as const)('agreement with %s', (algorithm) => {
  it('both parties derive the same AES-256 key; the secret never leaves', async () => {
    const a = await hsm.generateKey('alice', { label: `${algorithm}-a`, algorithm });
    const b = await hsm.generateKey('bob', { label: `${algorithm}-b`, algorithm });
    expect(a.attributes.purposes).toEqual(['derive']);
    const key = { algorithm: 'aes-256', purposes: ['encrypt', 'decrypt'] } as const;
    const ka = await hsm.deriveKey(
      'alice',
      a.label,
      { peerPublicKey: b.spki },
      {
        kdf: KDF,
        key: { ...key, label: `${algorithm}-shared` },
      },
    );
    const kb = await hsm.deriveKey(
      'bob',
      b.label,
      { peerPublicKey: a.spki },
      {
        kdf: KDF,
        key: { ...key, label: `${algorithm}-shared` },
      },
    );
    // The same key on both sides: the same key check value, and one decrypts what the other sealed.
    expect(ka.spki).toEqual(kb.spki);
    await sameKey(ka.label, kb.label);
    expect(ka.attributes).toMatchObject({
      origin: 'derived',
      local: false,
      extractable: false,
      neverExtractable: true,
      alwaysSensitive: true,
    });
    // Another info: another key.
    const other = await hsm.deriveKey(
      'alice',
      a.label,
      { peerPublicKey: b.spki },
      {
        kdf: { ...KDF, info: te.encode('another context') },
        key: { ...key, label: `${algorithm}-other` },
      },
    );
    expect(other.spki).not.toEqual(ka.spki);
    const entry = (await auditEntries(hsm)).find(
      (e) => e.action === 'key.derive' && e.keyId === ka.id,
    );
    expect(entry?.details).toMatchObject({
      from: a.id,
      fromLabel: a.label,
      source: 'agreement',
      algorithm: 'aes-256',
    });
    expect(JSON.stringify(entry)).not.toMatch(/peerPublicKey|secret/i);
  });
});

describe('ML-KEM', () => {
  it.each(['ml-kem-768', 'ml-kem-1024'] as const)(
    '%s: encapsulation in one partition and decapsulation in the other give one key',
    async (kem) => {
      const bob = await hsm.generateKey('bob', { label: `${kem}-b`, algorithm: kem });
      const key = { algorithm: 'aes-256', purposes: ['encrypt', 'decrypt'] } as const;
      const sent = await hsm.encapsulateKey('alice', kem, bob.spki, {
        kdf: KDF,
        key: { ...key, label: `${kem}-shared` },
      });
      expect(sent.kem).toBe(kem);
      const got = await hsm.deriveKey(
        'bob',
        bob.label,
        { ciphertext: sent.ciphertext },
        {
          kdf: KDF,
          key: { ...key, label: `${kem}-shared` },
        },
      );
      expect(got.spki).toEqual(sent.key.spki);
      await sameKey(sent.key.label, got.label);
      expect(got.attributes.origin).toBe('derived');
      // A ciphertext changed on the way: implicit rejection, another key (no error, no oracle).
      const flipped = sent.ciphertext.slice();
      flipped[3]! ^= 1;
      const wrong = await hsm.deriveKey(
        'bob',
        bob.label,
        { ciphertext: flipped },
        {
          kdf: KDF,
          key: { ...key, label: `${kem}-wrong` },
        },
      );
      expect(wrong.spki).not.toEqual(sent.key.spki);
    },
  );
});

describe('refusals', () => {
  it('names what is wrong, and writes nothing', async () => {
    const x = await hsm.generateKey('alice', { label: 'x-refusals', algorithm: 'x25519' });
    const peer = await hsm.generateKey('bob', { label: 'x-peer', algorithm: 'x25519' });
    const p256 = await hsm.generateKey('bob', { label: 'p256-peer', algorithm: 'ecdh-p256' });
    const signing = await hsm.generateKey('alice', { label: 'signer', algorithm: 'ecdsa-p256' });
    const aes = { kdf: KDF, key: { label: 'never', algorithm: 'aes-256' } } as const;
    const before = (await hsm.listKeys('alice')).length;
    // A peer key of another algorithm.
    const foreign = await expectHsmRejection(
      hsm.deriveKey('alice', x.label, { peerPublicKey: p256.spki }, aes),
      'invalid-argument',
    );
    expect(foreign.message).toBe('the peer public key is not of the named algorithm');
    // A key that does not agree, or has not the derive purpose.
    await expectHsmRejection(
      hsm.deriveKey('alice', signing.label, { peerPublicKey: peer.spki }, aes),
      'key-purpose-denied',
    );
    // A target that is not a secret key, or a purpose the target cannot have.
    const notSecret = await expectHsmRejection(
      hsm.deriveKey(
        'alice',
        x.label,
        { peerPublicKey: peer.spki },
        {
          kdf: KDF,
          key: { label: 'never', algorithm: 'ecdsa-p256' },
        },
      ),
      'invalid-argument',
    );
    expect(notSecret.details).toMatchObject({ field: 'algorithm' });
    await expectHsmRejection(
      hsm.deriveKey(
        'alice',
        x.label,
        { peerPublicKey: peer.spki },
        {
          kdf: KDF,
          key: { label: 'never', algorithm: 'aes-256', purposes: ['sign'] },
        },
      ),
      'invalid-argument',
    );
    // A label taken.
    await expectHsmRejection(
      hsm.deriveKey(
        'alice',
        x.label,
        { peerPublicKey: peer.spki },
        {
          kdf: KDF,
          key: { label: 'signer', algorithm: 'aes-256' },
        },
      ),
      'key-exists',
    );
    // An agreement key given a ciphertext; an encapsulation to a key that is no KEM's.
    await expectHsmRejection(
      hsm.deriveKey('alice', x.label, { ciphertext: new Uint8Array(1088) }, aes),
      'invalid-argument',
    );
    await expectHsmRejection(
      hsm.encapsulateKey('alice', 'x25519', peer.spki, aes),
      'invalid-argument',
    );
    expect((await hsm.listKeys('alice')).length).toBe(before);
  });
});

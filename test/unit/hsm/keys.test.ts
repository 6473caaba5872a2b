// User keys: generation of every algorithm with PKCS#11-style attribute defaults, signing,
// wrapped export (AES-KWP, RSA-OAEP + AES-KWP) and import under the partition policy.
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as nodeSign,
  randomBytes,
  verify,
  type KeyObject,
} from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyAttributes, KeyInfo } from '../../../src/hsm/index.js';
import { rsaAesKeyUnwrap } from '../../../src/hsm/wrap.js';
import type { KeyAlgorithm } from '../../../src/pki/index.js';
import { createTestDevice, OFFICER, type TestDevice } from '../../helpers/hsm.js';
import { expectHsmError, expectHsmRejection, MESSAGE, verifySignature } from './support.js';

const KWP_IV = Buffer.from('a65959a6', 'hex');

const GENERATED_DEFAULTS: KeyAttributes = {
  extractable: false,
  sensitive: true,
  alwaysSensitive: true,
  neverExtractable: true,
  local: true,
  modifiable: false,
  copyable: false,
  destroyable: true,
  purposes: ['sign', 'verify'],
  origin: 'generated',
};

function spkiOfPrivate(key: KeyObject): Uint8Array {
  return new Uint8Array(createPublicKey(key).export({ type: 'spki', format: 'der' }));
}

function pkcs8Of(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ type: 'pkcs8', format: 'der' }));
}

function loadPkcs8(der: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
}

function kwpUnwrap(key: Uint8Array, wrapped: Uint8Array): Uint8Array {
  const decipher = createDecipheriv('id-aes256-wrap-pad', key, KWP_IV);
  return new Uint8Array(Buffer.concat([decipher.update(wrapped), decipher.final()]));
}

function kwpWrap(key: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const cipher = createCipheriv('id-aes256-wrap-pad', key, KWP_IV);
  return new Uint8Array(Buffer.concat([cipher.update(plaintext), cipher.final()]));
}

function expectKeyShape(spki: Uint8Array, algorithm: KeyAlgorithm): void {
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  const details = key.asymmetricKeyDetails ?? {};
  switch (algorithm) {
    case 'ecdsa-p256':
      expect([key.asymmetricKeyType, details.namedCurve]).toEqual(['ec', 'prime256v1']);
      break;
    case 'ecdsa-p384':
      expect([key.asymmetricKeyType, details.namedCurve]).toEqual(['ec', 'secp384r1']);
      break;
    case 'ed25519':
      expect(key.asymmetricKeyType).toBe('ed25519');
      break;
    case 'rsa-3072':
    case 'rsa-pss-3072':
      expect([key.asymmetricKeyType, details.modulusLength]).toEqual(['rsa', 3072]);
      break;
    case 'rsa-4096':
    case 'rsa-pss-4096':
      expect([key.asymmetricKeyType, details.modulusLength]).toEqual(['rsa', 4096]);
      break;
    case 'ml-dsa-44':
    case 'ml-dsa-65':
    case 'ml-dsa-87':
    case 'slh-dsa-sha2-128f':
    case 'slh-dsa-sha2-192f':
    case 'slh-dsa-sha2-256f':
    case 'slh-dsa-shake-128f':
    case 'slh-dsa-shake-192f':
    case 'slh-dsa-shake-256f':
      // Post-quantum SPKIs are read by src/pki, not by this Node's OpenSSL (test/unit/hsm/pq).
      throw new Error(`${algorithm}: not a node:crypto key shape`);
  }
}

describe('key generation', () => {
  let d: TestDevice;

  beforeAll(async () => {
    d = await createTestDevice();
  });

  afterAll(async () => {
    await d.hsm.close();
  });

  it.each<KeyAlgorithm>(['ecdsa-p256', 'ecdsa-p384', 'ed25519', 'rsa-3072', 'rsa-pss-3072'])(
    'generates %s with the default attributes and signs',
    async (algorithm) => {
      const label = `gen-${algorithm}`;
      const info = await d.hsm.generateKey('default', { label, algorithm });
      expect(info).toMatchObject({
        label,
        role: 'user',
        algorithm,
        state: 'active',
        partitionName: 'default',
        partitionId: (await d.hsm.partition('default')).id,
        invalidatedAt: undefined,
      });
      expect(info.attributes).toEqual(GENERATED_DEFAULTS);
      expect(await d.hsm.key('default', label)).toEqual(info);
      expectKeyShape(info.spki, algorithm);

      const signer = await d.hsm.signer('default', label);
      expect(signer.algorithm).toBe(algorithm);
      expect(signer.spki).toEqual(info.spki);
      expect(signer.certificateChain).toEqual([]);
      const sig = await signer.sign(MESSAGE);
      expect(verifySignature(algorithm, info.spki, MESSAGE, sig)).toBe(true);
      expect(verifySignature(algorithm, info.spki, MESSAGE.subarray(1), sig)).toBe(false);
    },
  );

  it('signs rsa-pss-3072 with PSS, salt length 32, not PKCS#1 v1.5', async () => {
    const info = await d.hsm.key('default', 'gen-rsa-pss-3072');
    const key = createPublicKey({ key: Buffer.from(info.spki), format: 'der', type: 'spki' });
    const sig = await (await d.hsm.signer('default', info.label)).sign(MESSAGE);
    const pss = (saltLength: number): boolean =>
      verify('sha256', MESSAGE, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, sig);
    expect(pss(32)).toBe(true);
    expect(pss(64)).toBe(false);
    expect(verify('sha256', MESSAGE, key, sig)).toBe(false);

    const pkcs1 = await (await d.hsm.signer('default', 'gen-rsa-3072')).sign(MESSAGE);
    const pkcs1Key = (await d.hsm.key('default', 'gen-rsa-3072')).spki;
    expect(
      verify(
        'sha256',
        MESSAGE,
        createPublicKey({ key: Buffer.from(pkcs1Key), format: 'der', type: 'spki' }),
        pkcs1,
      ),
    ).toBe(true);
  });

  it('signs ecdsa with DER signatures and the curve hash', async () => {
    const info = await d.hsm.key('default', 'gen-ecdsa-p384');
    const sig = await (await d.hsm.signer('default', info.label)).sign(MESSAGE);
    expect(sig[0]).toBe(0x30);
    const key = createPublicKey({ key: Buffer.from(info.spki), format: 'der', type: 'spki' });
    expect(verify('sha384', MESSAGE, { key, dsaEncoding: 'der' }, sig)).toBe(true);
    expect(verify('sha256', MESSAGE, { key, dsaEncoding: 'der' }, sig)).toBe(false);
  });

  it('generates rsa-4096 and signs', async () => {
    const info = await d.hsm.generateKey('default', { label: 'big', algorithm: 'rsa-4096' });
    expect(info.attributes).toEqual(GENERATED_DEFAULTS);
    expectKeyShape(info.spki, 'rsa-4096');
    const sig = await (await d.hsm.signer('default', 'big')).sign(MESSAGE);
    expect(sig).toHaveLength(512);
    expect(verifySignature('rsa-4096', info.spki, MESSAGE, sig)).toBe(true);
  });

  it('records requested attributes', async () => {
    const info = await d.hsm.generateKey('default', {
      label: 'custom',
      algorithm: 'ed25519',
      extractable: true,
      modifiable: true,
      destroyable: false,
      purposes: ['sign'],
    });
    expect(info.attributes).toEqual({
      ...GENERATED_DEFAULTS,
      extractable: true,
      neverExtractable: false,
      modifiable: true,
      destroyable: false,
      purposes: ['sign'],
    });
  });

  it('refuses a duplicate label, also of a partition key', async () => {
    const before = await d.hsm.listKeys('default');
    await expectHsmRejection(
      d.hsm.generateKey('default', { label: 'gen-ed25519', algorithm: 'ed25519' }),
      'key-exists',
    );
    await expectHsmRejection(
      d.hsm.generateKey('default', { label: 'partition-timestamp', algorithm: 'ecdsa-p256' }),
      'key-exists',
    );
    expect(await d.hsm.listKeys('default')).toEqual(before);
    // The same label is free in another partition.
    await d.hsm.createPartition('elsewhere');
    const info = await d.hsm.generateKey('elsewhere', {
      label: 'gen-ed25519',
      algorithm: 'ed25519',
    });
    expect(info.partitionName).toBe('elsewhere');
  });

  it('refuses bad labels, unknown algorithms and unknown purposes', async () => {
    for (const label of ['', 'a b', '-x', 'x'.repeat(65), 'a/b']) {
      await expectHsmRejection(
        d.hsm.generateKey('default', { label, algorithm: 'ed25519' }),
        'invalid-argument',
      );
    }
    const bogus: string = 'rsa-1024';
    await expectHsmRejection(
      d.hsm.generateKey('default', { label: 'bogus', algorithm: bogus as KeyAlgorithm }),
      'invalid-argument',
    );
    const purpose: string = 'launch';
    await expectHsmRejection(
      d.hsm.generateKey('default', {
        label: 'bogus',
        algorithm: 'ed25519',
        purposes: [purpose as 'sign'],
      }),
      'invalid-argument',
    );
    await expectHsmRejection(d.hsm.key('default', 'bogus'), 'key-not-found');
  });

  it('reports an unknown key', async () => {
    await expectHsmRejection(d.hsm.key('default', 'absent'), 'key-not-found');
    await expectHsmRejection(d.hsm.signer('default', 'absent'), 'key-not-found');
    await expectHsmRejection(d.hsm.deleteKey('default', 'absent'), 'key-not-found');
    await expectHsmRejection(
      d.hsm.exportKey('default', 'absent', { kind: 'aes-kwp', key: new Uint8Array(32) }),
      'key-not-found',
    );
  });
});

describe('key export', () => {
  let d: TestDevice;
  let wrappingPair: { privateKey: KeyObject; publicKey: KeyObject };
  const aesKey = randomBytes(32);

  beforeAll(async () => {
    d = await createTestDevice();
    wrappingPair = generateKeyPairSync('rsa', { modulusLength: 3072 });
    await d.hsm.createPartition('open', { policy: { exportAllowed: true } });
    for (const p of ['default', 'open']) {
      await d.hsm.generateKey(p, { label: 'fixed', algorithm: 'ecdsa-p256' });
      await d.hsm.generateKey(p, { label: 'ext', algorithm: 'ecdsa-p256', extractable: true });
      await d.hsm.generateKey(p, { label: 'ext-ed', algorithm: 'ed25519', extractable: true });
    }
  });

  afterAll(async () => {
    await d.hsm.close();
  });

  it('refuses a non-extractable key even when the policy allows export', async () => {
    expect((await d.hsm.partition('open')).policy.exportAllowed).toBe(true);
    for (const wrapping of [
      { kind: 'aes-kwp', key: aesKey } as const,
      { kind: 'rsa-aes-kwp', spki: spkiOfPrivate(wrappingPair.privateKey) } as const,
    ]) {
      await expectHsmRejection(d.hsm.exportKey('open', 'fixed', wrapping), 'key-not-extractable');
      await expectHsmRejection(
        d.hsm.exportKey('open', 'partition-timestamp', wrapping),
        'key-not-extractable',
      );
      await expectHsmRejection(
        d.hsm.exportKey('default', 'fixed', wrapping),
        'key-not-extractable',
      );
    }
  });

  it('refuses an extractable key when the policy does not allow export', async () => {
    expect((await d.hsm.partition('default')).policy.exportAllowed).toBe(false);
    await expectHsmRejection(
      d.hsm.exportKey('default', 'ext', { kind: 'aes-kwp', key: aesKey }),
      'policy-export-denied',
    );
    await expectHsmRejection(
      d.hsm.exportKey('default', 'ext', {
        kind: 'rsa-aes-kwp',
        spki: spkiOfPrivate(wrappingPair.privateKey),
      }),
      'policy-export-denied',
    );
  });

  it('exports under AES-KWP when key and policy allow it', async () => {
    const info = await d.hsm.key('open', 'ext');
    const wrapped = await d.hsm.exportKey('open', 'ext', { kind: 'aes-kwp', key: aesKey });
    const pkcs8 = kwpUnwrap(aesKey, wrapped);
    const key = loadPkcs8(pkcs8);
    expect(spkiOfPrivate(key)).toEqual(info.spki);
    // The exported key is the key the HSM signs with.
    const sig = nodeSign('sha256', MESSAGE, { key, dsaEncoding: 'der' });
    expect(verifySignature('ecdsa-p256', info.spki, MESSAGE, sig)).toBe(true);
    const hsmSig = await (await d.hsm.signer('open', 'ext')).sign(MESSAGE);
    expect(verifySignature('ecdsa-p256', spkiOfPrivate(key), MESSAGE, hsmSig)).toBe(true);
    // Under a different AES key the blob does not unwrap.
    expect(() => kwpUnwrap(randomBytes(32), wrapped)).toThrow();
  });

  it('exports under RSA-OAEP + AES-KWP with an RSA-3072 wrapping key', async () => {
    for (const label of ['ext', 'ext-ed']) {
      const info = await d.hsm.key('open', label);
      const wrapped = await d.hsm.exportKey('open', label, {
        kind: 'rsa-aes-kwp',
        spki: spkiOfPrivate(wrappingPair.privateKey),
      });
      expect(wrapped.length).toBeGreaterThan(384);
      const pkcs8 = rsaAesKeyUnwrap(wrappingPair.privateKey, wrapped);
      expect(spkiOfPrivate(loadPkcs8(pkcs8))).toEqual(info.spki);
      const otherPair = generateKeyPairSync('rsa', { modulusLength: 2048 });
      expectHsmError(() => rsaAesKeyUnwrap(otherPair.privateKey, wrapped), 'unwrap-failed');
    }
  });

  it('refuses weak or malformed wrapping keys', async () => {
    await expectHsmRejection(
      d.hsm.exportKey('open', 'ext', { kind: 'aes-kwp', key: new Uint8Array(16) }),
      'invalid-argument',
    );
    const small = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await expectHsmRejection(
      d.hsm.exportKey('open', 'ext', {
        kind: 'rsa-aes-kwp',
        spki: spkiOfPrivate(small.privateKey),
      }),
      'invalid-argument',
    );
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await expectHsmRejection(
      d.hsm.exportKey('open', 'ext', { kind: 'rsa-aes-kwp', spki: spkiOfPrivate(ec.privateKey) }),
      'invalid-argument',
    );
    await expectHsmRejection(
      d.hsm.exportKey('open', 'ext', { kind: 'rsa-aes-kwp', spki: new Uint8Array(10) }),
      'invalid-argument',
    );
  });

  it('refuses an invalidated key', async () => {
    await d.hsm.generateKey('open', { label: 'gone', algorithm: 'ed25519', extractable: true });
    await d.hsm.deleteKey('open', 'gone');
    await expectHsmRejection(
      d.hsm.exportKey('open', 'gone', { kind: 'aes-kwp', key: aesKey }),
      'key-invalidated',
    );
  });

  it('stops exporting once an officer withdraws the permission', async () => {
    await d.hsm.setPartitionPolicy('open', { exportAllowed: false }, OFFICER);
    await expectHsmRejection(
      d.hsm.exportKey('open', 'ext', { kind: 'aes-kwp', key: aesKey }),
      'policy-export-denied',
    );
    await d.hsm.setPartitionPolicy('open', { exportAllowed: true }, OFFICER);
    const pkcs8 = kwpUnwrap(
      aesKey,
      await d.hsm.exportKey('open', 'ext', { kind: 'aes-kwp', key: aesKey }),
    );
    expect(spkiOfPrivate(loadPkcs8(pkcs8))).toEqual((await d.hsm.key('open', 'ext')).spki);
  });
});

describe('key import', () => {
  let d: TestDevice;
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ed = generateKeyPairSync('ed25519');

  beforeAll(async () => {
    d = await createTestDevice();
  });

  afterAll(async () => {
    await d.hsm.close();
  });

  it('is refused by the default policy', async () => {
    expect((await d.hsm.partition('default')).policy.importAllowed).toBe(false);
    await expectHsmRejection(
      d.hsm.importKey('default', { label: 'imp', pkcs8: pkcs8Of(ec.privateKey) }),
      'policy-import-denied',
    );
    await expectHsmRejection(d.hsm.key('default', 'imp'), 'key-not-found');
  });

  it('needs an authenticated officer to change the policy', async () => {
    await expectHsmRejection(
      d.hsm.setPartitionPolicy('default', { importAllowed: true }, undefined),
      'officer-required',
    );
    await expectHsmRejection(
      d.hsm.setPartitionPolicy(
        'default',
        { importAllowed: true },
        { name: OFFICER.name, passphrase: 'not the passphrase' },
      ),
      'officer-auth-failed',
    );
    await expectHsmRejection(
      d.hsm.setPartitionPolicy(
        'default',
        { importAllowed: true },
        { name: 'nobody', passphrase: OFFICER.passphrase },
      ),
      'officer-auth-failed',
    );
    expect((await d.hsm.partition('default')).policy.importAllowed).toBe(false);
  });

  it('imports once an officer allows it, recording the key as imported', async () => {
    const p = await d.hsm.setPartitionPolicy('default', { importAllowed: true }, OFFICER);
    expect(p.policy.importAllowed).toBe(true);
    expect((await d.hsm.partition('default')).policy.importAllowed).toBe(true);

    const info = await d.hsm.importKey('default', { label: 'imp', pkcs8: pkcs8Of(ec.privateKey) });
    expect(info).toMatchObject({ label: 'imp', role: 'user', algorithm: 'ecdsa-p256' });
    expect(info.state).toBe('active');
    expect(info.spki).toEqual(spkiOfPrivate(ec.privateKey));
    expect(info.attributes).toEqual({
      extractable: false,
      sensitive: true,
      alwaysSensitive: false,
      neverExtractable: false,
      local: false,
      modifiable: false,
      copyable: false,
      destroyable: true,
      purposes: ['sign', 'verify'],
      origin: 'imported',
    });
    const sig = await (await d.hsm.signer('default', 'imp')).sign(MESSAGE);
    expect(verify('sha256', MESSAGE, { key: ec.publicKey, dsaEncoding: 'der' }, sig)).toBe(true);

    await expectHsmRejection(
      d.hsm.importKey('default', { label: 'imp', pkcs8: pkcs8Of(ed.privateKey) }),
      'key-exists',
    );
  });

  it('detects the algorithm, with PSS on request for RSA', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 3072 });
    const pss = await d.hsm.importKey('default', {
      label: 'imp-pss',
      pkcs8: pkcs8Of(rsa.privateKey),
      pss: true,
    });
    expect(pss.algorithm).toBe('rsa-pss-3072');
    const sig = await (await d.hsm.signer('default', 'imp-pss')).sign(MESSAGE);
    expect(verifySignature('rsa-pss-3072', pss.spki, MESSAGE, sig)).toBe(true);

    const plain = await d.hsm.importKey('default', {
      label: 'imp-rsa',
      pkcs8: pkcs8Of(rsa.privateKey),
    });
    expect(plain.algorithm).toBe('rsa-3072');
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    expect(
      (await d.hsm.importKey('default', { label: 'imp-384', pkcs8: pkcs8Of(p384.privateKey) }))
        .algorithm,
    ).toBe('ecdsa-p384');
    expect(
      (await d.hsm.importKey('default', { label: 'imp-ed', pkcs8: pkcs8Of(ed.privateKey) }))
        .algorithm,
    ).toBe('ed25519');
  });

  it('refuses malformed and unsupported keys', async () => {
    await expectHsmRejection(
      d.hsm.importKey('default', { label: 'bad', pkcs8: randomBytes(64) }),
      'invalid-argument',
    );
    // A curve the HSM has no key algorithm for (secp256k1 is ecdsa-secp256k1 now).
    const k2 = generateKeyPairSync('ec', { namedCurve: 'secp521r1' });
    await expectHsmRejection(
      d.hsm.importKey('default', { label: 'bad', pkcs8: pkcs8Of(k2.privateKey) }),
      'invalid-argument',
    );
    const small = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await expectHsmRejection(
      d.hsm.importKey('default', { label: 'bad', pkcs8: pkcs8Of(small.privateKey) }),
      'invalid-argument',
    );
    await expectHsmRejection(
      d.hsm.importKey('default', { label: 'bad label', pkcs8: pkcs8Of(ed.privateKey) }),
      'invalid-argument',
    );
    await expectHsmRejection(d.hsm.key('default', 'bad'), 'key-not-found');
  });

  it('imports a key wrapped under AES-KWP and exports it back unchanged', async () => {
    await d.hsm.setPartitionPolicy('default', { exportAllowed: true }, OFFICER);
    const transport = randomBytes(32);
    const original = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pkcs8 = pkcs8Of(original.privateKey);
    const info: KeyInfo = await d.hsm.importWrappedKey('default', {
      label: 'wrapped-in',
      wrapped: kwpWrap(transport, pkcs8),
      unwrapKey: transport,
      extractable: true,
    });
    expect(info.spki).toEqual(spkiOfPrivate(original.privateKey));
    expect(info.attributes).toMatchObject({
      origin: 'imported',
      extractable: true,
      neverExtractable: false,
      local: false,
      alwaysSensitive: false,
    });
    const sig = await (await d.hsm.signer('default', 'wrapped-in')).sign(MESSAGE);
    expect(verifySignature('ecdsa-p256', info.spki, MESSAGE, sig)).toBe(true);

    const back = randomBytes(32);
    const exported = kwpUnwrap(
      back,
      await d.hsm.exportKey('default', 'wrapped-in', { kind: 'aes-kwp', key: back }),
    );
    expect(Buffer.from(exported)).toEqual(Buffer.from(pkcs8));

    await expectHsmRejection(
      d.hsm.importWrappedKey('default', {
        label: 'wrapped-bad',
        wrapped: kwpWrap(transport, pkcs8),
        unwrapKey: randomBytes(32),
      }),
      'unwrap-failed',
    );
    await expectHsmRejection(d.hsm.key('default', 'wrapped-bad'), 'key-not-found');
  });
});

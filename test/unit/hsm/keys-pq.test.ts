// Post-quantum user keys in a partition (ML-DSA, SLH-DSA): generated with the HSM's defaults,
// sealed in the store and used after reopening, signing data but refusing a digest, wrapped
// export of the seed-form PKCS#8 and import of one (seed kept, expanded-only refused), attested
// with the key's SPKI in the evidence, and invalidation.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectEvidence } from '../../../src/attestation/index.js';
import { Hsm } from '../../../src/hsm/index.js';
import { decodePqPkcs8, encodePqPkcs8, encodePqSpki } from '../../../src/hsm/pq/index.js';
import { der } from '../../../src/pki/index.js';
import { createTestDevice, OFFICER, type TestDevice } from '../../helpers/hsm.js';
import { expectHsmRejection, MESSAGE, verifySignature } from './support.js';

const KWP_IV = Buffer.from('a65959a6', 'hex');

function kwpUnwrap(key: Uint8Array, wrapped: Uint8Array): Uint8Array {
  const decipher = createDecipheriv('id-aes256-wrap-pad', key, KWP_IV);
  return new Uint8Array(Buffer.concat([decipher.update(wrapped), decipher.final()]));
}

function kwpWrap(key: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const cipher = createCipheriv('id-aes256-wrap-pad', key, KWP_IV);
  return new Uint8Array(Buffer.concat([cipher.update(plaintext), cipher.final()]));
}

describe('post-quantum keys in a partition', () => {
  let d: TestDevice;

  beforeAll(async () => {
    d = await createTestDevice();
    await d.hsm.createPartition('open', {
      policy: { exportAllowed: true, importAllowed: true },
    });
    await d.hsm.setPartitionPolicy('open', { importAllowed: true, exportAllowed: true }, OFFICER);
  }, 60_000);

  afterAll(async () => {
    await d.hsm.close();
  });

  it.each(['ml-dsa-44', 'ml-dsa-65', 'ml-dsa-87', 'slh-dsa-sha2-128f'] as const)(
    'generates %s with the default attributes, signs data and refuses a digest',
    async (algorithm) => {
      const label = `pq-${algorithm}`;
      const info = await d.hsm.generateKey('default', { label, algorithm });
      expect(info).toMatchObject({ label, algorithm, role: 'user', state: 'active' });
      expect(info.attributes).toMatchObject({
        extractable: false,
        neverExtractable: true,
        local: true,
        origin: 'generated',
        purposes: ['sign', 'verify'],
      });
      const signed = await d.hsm.sign('default', label, { data: MESSAGE });
      expect(signed.algorithm).toBe(algorithm);
      expect(verifySignature(algorithm, info.spki, MESSAGE, signed.signature)).toBe(true);
      expect(await d.hsm.verify('default', label, { data: MESSAGE }, signed.signature)).toBe(true);
      expect(
        await d.hsm.verify('default', label, { data: MESSAGE.subarray(1) }, signed.signature),
      ).toBe(false);
      // Pure ML-DSA and SLH-DSA only: a caller's digest is refused, whatever its length.
      for (const digest of [new Uint8Array(32), new Uint8Array(64)]) {
        const error = await expectHsmRejection(
          d.hsm.sign('default', label, { digest }),
          'invalid-argument',
        );
        expect(error.message).toBe('the key algorithm signs whole messages only, not a digest');
        expect(error.details).toEqual({ algorithm, field: 'digest' });
        await expectHsmRejection(
          d.hsm.verify('default', label, { digest }, signed.signature),
          'invalid-argument',
        );
      }
      // The signer the TSA and issuing code use signs too.
      const signer = await d.hsm.signer('default', label);
      expect(signer.spki).toEqual(info.spki);
      expect(verifySignature(algorithm, info.spki, MESSAGE, await signer.sign(MESSAGE))).toBe(true);
    },
    60_000,
  );

  it('a sealed key signs after the store is reopened, and stops once invalidated', async () => {
    await d.hsm.generateKey('default', { label: 'reopen', algorithm: 'ml-dsa-65' });
    const info = await d.hsm.key('default', 'reopen');
    await d.hsm.close();
    d = { ...d, hsm: await Hsm.open(d.storePath, d.masterKey) };
    const signed = await d.hsm.sign('default', 'reopen', { data: MESSAGE });
    expect(verifySignature('ml-dsa-65', info.spki, MESSAGE, signed.signature)).toBe(true);
    await d.hsm.deleteKey('default', 'reopen');
    await expectHsmRejection(d.hsm.sign('default', 'reopen', { data: MESSAGE }), 'key-invalidated');
  }, 60_000);

  it('exports an extractable key as its seed-form PKCS#8 under AES-KWP', async () => {
    const info = await d.hsm.generateKey('open', {
      label: 'ext-ml',
      algorithm: 'ml-dsa-65',
      extractable: true,
    });
    const aes = randomBytes(32);
    const pkcs8 = kwpUnwrap(
      aes,
      await d.hsm.exportKey('open', 'ext-ml', { kind: 'aes-kwp', key: aes }),
    );
    const decoded = decodePqPkcs8(pkcs8);
    expect(decoded.algorithm).toBe('ml-dsa-65');
    expect(decoded.expandedKey).toBeUndefined();
    // The exported seed is the key: noble derives the row's public key from it and signs with it.
    const pair = ml_dsa65.keygen(decoded.seed);
    expect(encodePqSpki('ml-dsa-65', pair.publicKey)).toEqual(info.spki);
    const theirs = ml_dsa65.sign(MESSAGE, pair.secretKey);
    expect(await d.hsm.verify('open', 'ext-ml', { data: MESSAGE }, theirs)).toBe(true);
    // A never-extractable key is not exported.
    await d.hsm.generateKey('open', { label: 'fixed-ml', algorithm: 'ml-dsa-44' });
    await expectHsmRejection(
      d.hsm.exportKey('open', 'fixed-ml', { kind: 'aes-kwp', key: aes }),
      'key-not-extractable',
    );
  }, 60_000);

  it('imports a seed PKCS#8 (plain and wrapped) as the algorithm its OID names', async () => {
    const seed = randomBytes(32);
    const pkcs8 = encodePqPkcs8('ml-dsa-44', seed);
    const plain = await d.hsm.importKey('open', { label: 'imp-ml', pkcs8 });
    expect(plain.algorithm).toBe('ml-dsa-44');
    expect(plain.attributes).toMatchObject({ origin: 'imported', local: false });
    const signed = await d.hsm.sign('open', 'imp-ml', { data: MESSAGE });
    expect(verifySignature('ml-dsa-44', plain.spki, MESSAGE, signed.signature)).toBe(true);

    // The 'both' form and a v2 key with its public key import as the same key.
    const both = encodePqPkcs8('ml-dsa-44', seed, { form: 'both', includePublicKey: true });
    const again = await d.hsm.importKey('open', { label: 'imp-ml-both', pkcs8: both });
    expect(again.spki).toEqual(plain.spki);

    const transport = randomBytes(32);
    const slhSeed = randomBytes(48);
    const slh = encodePqPkcs8('slh-dsa-shake-128f', slhSeed);
    const wrapped = await d.hsm.importWrappedKey('open', {
      label: 'imp-slh',
      wrapped: kwpWrap(transport, slh),
      unwrapKey: transport,
      extractable: true,
    });
    expect(wrapped.algorithm).toBe('slh-dsa-shake-128f');
    const back = randomBytes(32);
    const exported = kwpUnwrap(
      back,
      await d.hsm.exportKey('open', 'imp-slh', { kind: 'aes-kwp', key: back }),
    );
    expect(Buffer.from(exported)).toEqual(Buffer.from(slh));
  }, 60_000);

  it('refuses a key without its seed, and one whose parts disagree', async () => {
    const seed = randomBytes(32);
    const both = decodePqPkcs8(encodePqPkcs8('ml-dsa-65', seed, { form: 'both' }));
    // The expandedKey choice alone (RFC 9881 6): the seed cannot be recovered from it.
    const expandedOnly = der.seq(
      der.integer(0),
      der.algorithmIdentifier('2.16.840.1.101.3.4.3.18'),
      der.octetString(der.octetString(both.expandedKey!)),
    );
    const noSeed = await expectHsmRejection(
      d.hsm.importKey('open', { label: 'bad-ml', pkcs8: expandedOnly }),
      'invalid-argument',
    );
    expect(noSeed.message).toMatch(/without its seed/);
    // A seed beside another key's expanded key (RFC 9881 8.2: MUST reject).
    const other = decodePqPkcs8(encodePqPkcs8('ml-dsa-65', randomBytes(32), { form: 'both' }));
    const mixed = der.seq(
      der.integer(0),
      der.algorithmIdentifier('2.16.840.1.101.3.4.3.18'),
      der.octetString(der.seq(der.octetString(seed), der.octetString(other.expandedKey!))),
    );
    await expectHsmRejection(
      d.hsm.importKey('open', { label: 'bad-ml', pkcs8: mixed }),
      'invalid-argument',
    );
    await expectHsmRejection(d.hsm.key('open', 'bad-ml'), 'key-not-found');
  });

  it('attests a post-quantum key: the evidence names its SPKI and attributes', async () => {
    const info = await d.hsm.generateKey('default', { label: 'att-ml', algorithm: 'ml-dsa-87' });
    const evidence = await d.hsm.attestKey('default', 'att-ml', { nonce: Uint8Array.of(1, 2) });
    const report = await inspectEvidence(evidence, {
      anchors: { certificates: [d.factory.rootCertificate] },
      at: new Date(),
      allowSoftware: true,
      nonce: Uint8Array.of(1, 2),
      expectSpki: info.spki,
    });
    expect(report.outcome).toBe('verified');
    const keyBinding = report.checks.find((c) => c.id === 'key.binding');
    expect(keyBinding?.status).toBe('pass');
  }, 60_000);
});

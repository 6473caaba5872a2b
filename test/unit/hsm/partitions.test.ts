// Partitions: creation with their attestation and timestamp keys, naming rules, lookups, and
// certificate chains that OpenSSL accepts.
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PARTITION_POLICY, type PartitionInfo } from '../../../src/hsm/index.js';
import type { KeyAlgorithm } from '../../../src/pki/index.js';
import { createTestDevice, OFFICER, type TestDevice } from '../../helpers/hsm.js';
import { expectHsmRejection, MESSAGE, opensslVerify, verifySignature } from './support.js';

const ID_KP_TIME_STAMPING = '1.3.6.1.5.5.7.3.8';

function certSpki(der: Uint8Array): Uint8Array {
  return new Uint8Array(
    new X509Certificate(Buffer.from(der)).publicKey.export({ type: 'spki', format: 'der' }),
  );
}

describe('partitions', () => {
  let d: TestDevice;
  let other: TestDevice;
  let rsa: PartitionInfo;

  beforeAll(async () => {
    [d, other] = await Promise.all([createTestDevice(), createTestDevice()]);
    rsa = await d.hsm.createPartition('rsa-ts', { timestampAlgorithm: 'rsa-3072' });
  });

  afterAll(async () => {
    await d.hsm.close();
    await other.hsm.close();
  });

  it('creates a partition with an ecdsa-p256 timestamp key and the default policy', async () => {
    const p = await d.hsm.createPartition('tenant-1');
    expect(p.name).toBe('tenant-1');
    expect(p.policy).toEqual(DEFAULT_PARTITION_POLICY);
    expect(p.policy).toEqual({
      exportAllowed: false,
      importAllowed: false,
      invalidation: true,
      readOnly: false,
      keyUseRuleRequired: false,
    });
    expect(await d.hsm.partition('tenant-1')).toEqual(p);
    expect((await d.hsm.listPartitions()).map((x) => x.name)).toEqual([
      'default',
      'rsa-ts',
      'tenant-1',
    ]);

    const keys = await d.hsm.listKeys('tenant-1');
    expect(keys.map((k) => [k.label, k.role, k.algorithm, k.state]).sort()).toEqual([
      ['partition-attestation', 'partition-attestation', 'ecdsa-p384', 'active'],
      ['partition-timestamp', 'partition-timestamp', 'ecdsa-p256', 'active'],
    ]);
    for (const k of keys) {
      expect(k.partitionId).toBe(p.id);
      expect(k.attributes.destroyable).toBe(false);
      expect(k.attributes.extractable).toBe(false);
    }
    const ts = await d.hsm.key('tenant-1', 'partition-timestamp');
    expect(certSpki(p.timestampCertificate)).toEqual(ts.spki);
    const att = await d.hsm.key('tenant-1', 'partition-attestation');
    expect(certSpki(p.attestationCertificate)).toEqual(att.spki);

    const signer = await d.hsm.timestampSigner('tenant-1');
    expect(signer.algorithm).toBe('ecdsa-p256');
    const sig = await signer.sign(MESSAGE);
    expect(verifySignature('ecdsa-p256', ts.spki, MESSAGE, sig)).toBe(true);
  });

  it('creates a partition with an rsa-3072 timestamp key on request', async () => {
    const ts = await d.hsm.key('rsa-ts', 'partition-timestamp');
    expect(ts.algorithm).toBe('rsa-3072');
    const cert = new X509Certificate(Buffer.from(rsa.timestampCertificate));
    expect(cert.publicKey.asymmetricKeyType).toBe('rsa');
    expect(cert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(3072);
    expect(certSpki(rsa.timestampCertificate)).toEqual(ts.spki);
    const signer = await d.hsm.timestampSigner('rsa-ts');
    expect(signer.algorithm).toBe('rsa-3072');
    const sig = await signer.sign(MESSAGE);
    expect(verifySignature('rsa-3072', ts.spki, MESSAGE, sig)).toBe(true);
  });

  it('honours the attestation algorithm and an initial policy', async () => {
    const p = await d.hsm.createPartition('ed', {
      attestationAlgorithm: 'ed25519',
      timestampAlgorithm: 'ed25519',
      policy: { importAllowed: true },
    });
    expect(p.policy).toEqual({ ...DEFAULT_PARTITION_POLICY, importAllowed: true });
    expect((await d.hsm.key('ed', 'partition-attestation')).algorithm).toBe('ed25519');
    expect((await d.hsm.key('ed', 'partition-timestamp')).algorithm).toBe('ed25519');
  });

  it('refuses a duplicate name', async () => {
    const before = await d.hsm.listPartitions();
    await expectHsmRejection(d.hsm.createPartition('default'), 'partition-exists');
    await expectHsmRejection(d.hsm.createPartition('rsa-ts'), 'partition-exists');
    expect(await d.hsm.listPartitions()).toEqual(before);
  });

  it.each([
    '',
    ' ',
    'a b',
    '-leading-dash',
    '.hidden',
    '_under',
    'a/b',
    '../up',
    'semi;colon',
    'café',
    'x'.repeat(65),
    'new\nline',
  ])('refuses the bad name %j', async (name) => {
    await expectHsmRejection(d.hsm.createPartition(name), 'invalid-argument');
  });

  it('accepts a 64-character name', async () => {
    const name = `p${'x'.repeat(63)}`;
    const p = await d.hsm.createPartition(name);
    expect(p.name).toBe(name);
  });

  it('refuses an unknown algorithm', async () => {
    const bogus: string = 'dsa-1024';
    await expectHsmRejection(
      d.hsm.createPartition('bogus', { timestampAlgorithm: bogus as KeyAlgorithm }),
      'invalid-argument',
    );
    await expectHsmRejection(
      d.hsm.createPartition('bogus', { attestationAlgorithm: bogus as KeyAlgorithm }),
      'invalid-argument',
    );
    await expectHsmRejection(d.hsm.partition('bogus'), 'partition-not-found');
  });

  it('reports an unknown partition on every entry point', async () => {
    const h = d.hsm;
    await expectHsmRejection(h.partition('nope'), 'partition-not-found');
    await expectHsmRejection(h.chain('nope'), 'partition-not-found');
    await expectHsmRejection(h.listKeys('nope'), 'partition-not-found');
    await expectHsmRejection(h.key('nope', 'k'), 'partition-not-found');
    await expectHsmRejection(h.signer('nope', 'k'), 'partition-not-found');
    await expectHsmRejection(h.timestampSigner('nope'), 'partition-not-found');
    await expectHsmRejection(h.attestationSigner('nope'), 'partition-not-found');
    await expectHsmRejection(h.deleteKey('nope', 'k'), 'partition-not-found');
    await expectHsmRejection(h.restoreKey('nope', 'k', OFFICER), 'partition-not-found');
    await expectHsmRejection(h.purgeKey('nope', 'k', OFFICER), 'partition-not-found');
    await expectHsmRejection(
      h.setPartitionPolicy('nope', { readOnly: true }, OFFICER),
      'partition-not-found',
    );
    await expectHsmRejection(
      h.exportKey('nope', 'k', { kind: 'aes-kwp', key: new Uint8Array(32) }),
      'partition-not-found',
    );
    await expectHsmRejection(
      h.importKey('nope', { label: 'k', pkcs8: new Uint8Array(8) }),
      'partition-not-found',
    );
    await expectHsmRejection(
      h.generateKey('nope', { label: 'k', algorithm: 'ed25519' }),
      'partition-not-found',
    );
  });

  it('gives a chain whose certificates openssl verifies up to the root', async () => {
    for (const name of ['default', 'rsa-ts']) {
      const chain = await d.hsm.chain(name);
      expect(chain.root).toEqual(d.factory.rootCertificate);
      expect(chain.device).toEqual((await d.hsm.device()).certificate);
      expect(opensslVerify(chain.root, chain.device).ok).toBe(true);
      for (const leaf of [chain.partitionTimestamp, chain.partitionAttestation]) {
        const result = opensslVerify(chain.root, leaf, { untrusted: chain.device });
        expect(result.output).toMatch(/: OK\s*$/);
        expect(result.ok).toBe(true);
      }
      const ts = opensslVerify(chain.root, chain.partitionTimestamp, {
        untrusted: chain.device,
        purpose: 'timestampsign',
      });
      expect(ts.ok, ts.output).toBe(true);
      const eku = new X509Certificate(Buffer.from(chain.partitionTimestamp)).keyUsage;
      expect(eku).toEqual([ID_KP_TIME_STAMPING]);
    }
  });

  it('gives a chain that fails against another factory root or without the device', async () => {
    const chain = await d.hsm.chain('default');
    const foreignRoot = (await other.hsm.chain('default')).root;
    expect(opensslVerify(foreignRoot, chain.device).ok).toBe(false);
    expect(
      opensslVerify(foreignRoot, chain.partitionTimestamp, { untrusted: chain.device }).ok,
    ).toBe(false);
    expect(opensslVerify(chain.root, chain.partitionTimestamp).ok).toBe(false);
    // Another device's partition certificate does not chain to this device.
    expect(
      opensslVerify(chain.root, (await other.hsm.chain('default')).partitionTimestamp, {
        untrusted: chain.device,
      }).ok,
    ).toBe(false);
  });

  it('gives signers their chains: [timestamp, device, root] and [attestation, device, root]', async () => {
    for (const name of ['default', 'rsa-ts']) {
      const chain = await d.hsm.chain(name);
      expect((await d.hsm.timestampSigner(name)).certificateChain).toEqual([
        chain.partitionTimestamp,
        chain.device,
        chain.root,
      ]);
      expect((await d.hsm.attestationSigner(name)).certificateChain).toEqual([
        chain.partitionAttestation,
        chain.device,
        chain.root,
      ]);
      expect((await d.hsm.timestampSigner(name)).spki).toEqual(certSpki(chain.partitionTimestamp));
    }
    await d.hsm.generateKey('default', { label: 'user', algorithm: 'ed25519' });
    expect((await d.hsm.signer('default', 'user')).certificateChain).toEqual([]);
  });

  it('keeps partitions apart: a key label lives in one partition only', async () => {
    await d.hsm.generateKey('rsa-ts', { label: 'only-here', algorithm: 'ed25519' });
    await expectHsmRejection(d.hsm.key('default', 'only-here'), 'key-not-found');
    await expectHsmRejection(d.hsm.signer('default', 'only-here'), 'key-not-found');
    expect((await d.hsm.key('rsa-ts', 'only-here')).partitionId).toBe(rsa.id);
  });
});

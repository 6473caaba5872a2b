// Device transport keys (src/hsm/backup/transport.ts) between real devices of one factory, each
// with its own store and master key: a bundle for device B's ML-KEM-768 or ECDH P-256 transport
// key restored on B, refused on C; a tampered kemct or encryptedKey refused; the transport key
// reachable by no other operation; the source refusing a certificate whose evidence does not say
// import-only, or that has expired.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFactory, Hsm, type Factory } from '../../../../src/hsm/index.js';
import { deviceSigner } from '../../../../src/hsm/device.js';
import type { Core } from '../../../../src/hsm/core.js';
import {
  buildCertificate,
  capabilityOid,
  encodeTbsEvidence,
  id_element,
  KEY_CLAIMS,
  parseBackupBundle,
  parseCertificateFields,
  PLATFORM_CLAIMS,
  randomSerial,
  transportCertificateTemplate,
} from '../../../../src/pki/index.js';
import { auditEntries, initDevice } from '../../../helpers/hsm.js';
import { TestClock } from '../../../helpers/governance.js';
import { tempDir } from '../../../helpers/tmp.js';
import { expectHsmRejection } from '../support.js';

const clock = new TestClock();

const device = (factory: Factory, location: string): Promise<Hsm> =>
  initDevice(factory, location, clock);

/** The chain a target publishes: its transport certificate, then its device certificate. */
async function published(h: Hsm, id: string): Promise<Uint8Array[]> {
  const k = await h.transportKey(id);
  const [deviceCert] = await h.deviceCertificateChain();
  return [k.certificate, deviceCert!];
}

function flipped(bytes: Uint8Array, offset: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[offset]! ^= 0x01;
  return copy;
}

const offsetOf = (hay: Uint8Array, needle: Uint8Array): number => {
  const i = Buffer.from(hay).indexOf(Buffer.from(needle));
  if (i < 0) throw new Error('not found');
  return i;
};

describe('transport keys', () => {
  let a: Hsm;
  let b: Hsm;
  let c: Hsm;
  let kemKey: string;
  let ecdhKey: string;
  let kemBundle: Uint8Array;
  let ecdhBundle: Uint8Array;

  beforeAll(async () => {
    const dir = tempDir();
    const factory = await createFactory(join(dir, 'factory'), { development: true, clock });
    a = await device(factory, join(dir, 'a.sqlite'));
    b = await device(factory, join(dir, 'b.sqlite'));
    c = await device(factory, join(dir, 'c.sqlite'));
    await a.generateKey('default', { label: 'signing', algorithm: 'ecdsa-p256' });
    await a.generateKey('default', { label: 'secret', algorithm: 'aes-256' });
    kemKey = (await b.createTransportKey()).id;
    ecdhKey = (await b.createTransportKey('ecdh-p256')).id;
    await c.createTransportKey();
    kemBundle = (
      await a.backupPartition('default', { transportCertificate: await published(b, kemKey) })
    ).bundle;
    ecdhBundle = (
      await a.backupPartition('default', { transportCertificate: await published(b, ecdhKey) })
    ).bundle;
  }, 60_000);

  afterAll(async () => {
    for (const h of [a, b, c] as (Hsm | undefined)[]) await h?.close();
  });

  it('the certificate: device-issued, keyUsage of its algorithm, evidence, listed without secrets', async () => {
    const keys = await b.transportKeys();
    expect(keys.map((k) => k.algorithm).sort()).toEqual(['ecdh-p256', 'ml-kem-768']);
    expect(JSON.stringify(keys)).not.toMatch(/sealed/);
    const cert = parseCertificateFields((await b.transportKey(kemKey)).certificate);
    const deviceCert = parseCertificateFields((await b.deviceCertificateChain())[0]!);
    expect(Buffer.from(cert.issuer)).toEqual(Buffer.from(deviceCert.subject));
    const entries = await auditEntries(b);
    expect(entries.some((e) => e.action === 'transport-key.create')).toBe(true);
  });

  it('round trip via ML-KEM-768 (KEMRecipientInfo) and via ECDH P-256 (KeyAgreeRecipientInfo)', async () => {
    expect(parseBackupBundle(kemBundle).recipients[0]!.kind).toBe('kem');
    expect(parseBackupBundle(ecdhBundle).recipients[0]!.kind).toBe('kari');
    for (const [name, bundle] of [
      ['via-kem', kemBundle],
      ['via-ecdh', ecdhBundle],
    ] as const) {
      const r = await b.restorePartition(bundle, { name });
      expect(r).toMatchObject({ keys: 4, replaced: false });
      const sig = await b.sign(name, 'signing', { data: Uint8Array.of(7) });
      expect(await a.verify('default', 'signing', { data: Uint8Array.of(7) }, sig.signature)).toBe(
        true,
      );
    }
  });

  it('the manifest and the statement name the target device and the transport key hash', async () => {
    const p = parseBackupBundle(kemBundle);
    const manifest = JSON.parse(new TextDecoder().decode(p.manifest)) as {
      recipients: Record<string, unknown>[];
    };
    const k = await b.transportKey(kemKey);
    expect(manifest.recipients).toEqual([
      {
        kind: 'transport-key',
        device: (await b.device()).id,
        algorithm: 'ml-kem-768',
        certificate: k.certificateDigest,
        keyIdentifier: k.subjectKeyIdentifier,
      },
    ]);
    const backups = (await auditEntries(a)).filter((e) => e.action === 'partition.backup');
    expect(backups[0]!.details).toMatchObject({
      targetDevice: (await b.device()).id,
      transportKey: k.certificateDigest,
    });
  });

  it('a bundle for device B transport key is refused on device C', async () => {
    await expectHsmRejection(c.restorePartition(kemBundle, { name: 'x' }), 'transport-key-unknown');
    await expectHsmRejection(
      c.restorePartition(ecdhBundle, { name: 'x' }),
      'transport-key-unknown',
    );
  });

  it('a tampered kemct or encryptedKey is refused', async () => {
    const kem = parseBackupBundle(kemBundle).recipients[0]!;
    const kari = parseBackupBundle(ecdhBundle).recipients[0]!;
    if (kem.kind !== 'kem' || kari.kind !== 'kari') throw new Error('recipient kinds');
    const cases: [string, Uint8Array][] = [
      ['kemct', flipped(kemBundle, offsetOf(kemBundle, kem.kemct) + 100)],
      ['kem-wrapped', flipped(kemBundle, offsetOf(kemBundle, kem.encryptedKey) + 3)],
      ['kari-wrapped', flipped(ecdhBundle, offsetOf(ecdhBundle, kari.encryptedKey) + 3)],
      ['kari-originator', flipped(ecdhBundle, offsetOf(ecdhBundle, kari.originatorKey) + 10)],
    ];
    for (const [where, bytes] of cases) {
      const e = await expectHsmRejection(
        b.restorePartition(bytes, { name: `t-${where}` }),
        'backup-invalid',
      );
      expect(e.code, where).toBe('backup-invalid');
    }
    expect((await b.listPartitions()).filter((p) => p.name.startsWith('t-'))).toEqual([]);
  });

  it('the transport key serves no other use: no key operation finds it', async () => {
    for (const label of [kemKey, ecdhKey]) {
      await expectHsmRejection(
        b.sign('default', label, { data: Uint8Array.of(1) }),
        'key-not-found',
      );
      await expectHsmRejection(b.attestKey('default', label), 'key-not-found');
    }
    expect((await b.listKeys('default')).some((k) => k.id === kemKey)).toBe(false);
    // Nor is it a backup domain.
    await expectHsmRejection(
      b.backupPartition('default', { domain: kemKey }),
      'backup-domain-unknown',
    );
  });

  it('the source refuses a certificate whose evidence does not say import-only, or expired', async () => {
    // White-box: a certificate signed by device B's own key with evidence lacking the
    // import-only claim (the HSM never issues one), to show the source checks the claim.
    const core = (b as unknown as { core: Core }).core;
    const signer = await deviceSigner(core, core.store);
    const genuine = parseCertificateFields((await b.transportKey(kemKey)).certificate);
    const deviceCert = parseCertificateFields((await b.deviceCertificateChain())[0]!);
    const bool = (value: boolean) => ({ type: 'bool', value }) as const;
    const evidence = encodeTbsEvidence([
      {
        type: id_element.platform,
        claims: [
          { oid: PLATFORM_CLAIMS.deviceId.oid, value: { type: 'utf8', value: core.deviceId } },
        ],
      },
      {
        type: id_element.key,
        claims: [
          { oid: KEY_CLAIMS.identifier.oid, value: { type: 'utf8', value: 'forged' } },
          { oid: KEY_CLAIMS.spki.oid, value: { type: 'spki', value: genuine.spki } },
          { oid: KEY_CLAIMS.extractable.oid, value: bool(false) },
          { oid: KEY_CLAIMS.neverExtractable.oid, value: bool(true) },
          { oid: KEY_CLAIMS.local.oid, value: bool(true) },
          { oid: KEY_CLAIMS.origin.oid, value: { type: 'enum', value: 0n } },
          {
            oid: KEY_CLAIMS.purpose.oid,
            value: { type: 'oids', value: [capabilityOid('unwrap')] },
          },
        ],
      },
    ]);
    const forged = await buildCertificate(
      transportCertificateTemplate({
        serialNumber: randomSerial((n) => randomBytes(n)),
        subject: { commonName: 'transport key' },
        issuer: { name: deviceCert.subject, spki: signer.spki },
        spki: genuine.spki,
        algorithm: 'ml-kem-768',
        notBefore: clock.now(),
        notAfter: new Date(clock.now().getTime() + 86_400_000),
        evidence,
      }),
      signer,
    );
    const e = await expectHsmRejection(
      a.backupPartition('default', { transportCertificate: [forged, deviceCert.der] }),
      'transport-certificate-invalid',
    );
    expect(e.message).toMatch(/import only/);
    // Another device's certificate as the issuer: refused.
    const [cDevice] = await c.deviceCertificateChain();
    await expectHsmRejection(
      a.backupPartition('default', {
        transportCertificate: [(await b.transportKey(kemKey)).certificate, cDevice!],
      }),
      'transport-certificate-invalid',
    );
    // Expired: the source's clock past the certificate's notAfter.
    const chain = await published(b, kemKey);
    const saved = clock.ms;
    clock.ms = genuine.notAfter.getTime() + 1000;
    try {
      const expired = await expectHsmRejection(
        a.backupPartition('default', { transportCertificate: chain }),
        'transport-certificate-invalid',
      );
      expect(expired.message).toMatch(/not valid now|expired|not valid/);
    } finally {
      clock.ms = saved;
    }
  });
});

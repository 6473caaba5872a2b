// Custodian bundles (src/hsm/backup/custodians.ts) between two real devices of one factory, each
// with its own SQLite store: the content-encryption key split 2-of-3, each share opened by its
// custodian's own key outside any device, two shares restoring the partition on the second
// device; one share, a flipped byte, a share of another bundle refused; a partition holding
// keys that are not exportable refused naming each of them before anything is written.
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { createHash, webcrypto } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectBackup } from '../../../../src/attestation/index.js';
import { createFactory, Hsm, openCustodianShare, type Factory } from '../../../../src/hsm/index.js';
import {
  encodeCustodianShare,
  parseBackupBundle,
  type CustodianShareRecipient,
} from '../../../../src/pki/index.js';
import { auditEntries, initDevice, OFFICER } from '../../../helpers/hsm.js';
import { decideAs, officerWithKey, requestOf, TestClock } from '../../../helpers/governance.js';
import { tempDir } from '../../../helpers/tmp.js';
import { expectHsmRejection } from '../support.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const clock = new TestClock();
const DAY = 86_400_000;
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

const device = (factory: Factory, location: string): Promise<Hsm> =>
  initDevice(factory, location, clock);

interface Custodian {
  readonly certificate: Uint8Array;
  readonly pkcs8: Uint8Array;
}

let serial = 1;

/**
 * A custodian's self-issued EC P-256 certificate (keyUsage keyAgreement and digitalSignature,
 * or digitalSignature alone), and its PKCS#8.
 */
async function custodian(name: string, keyAgreement = true): Promise<Custodian> {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: (serial++).toString(16).padStart(2, '0'),
    name: `CN=${name}, O=Example Custodians`,
    notBefore: new Date(clock.ms - DAY),
    notAfter: new Date(clock.ms + 365 * DAY),
    signingAlgorithm: EC,
    keys,
    extensions: [
      keyAgreement
        ? new x509.KeyUsagesExtension(
            x509.KeyUsageFlags.keyAgreement | x509.KeyUsageFlags.digitalSignature,
            true,
          )
        : new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    ],
  });
  const pkcs8 = new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { certificate: new Uint8Array(cert.rawData), pkcs8 };
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

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

const withoutOrigin = (attributes: object): Record<string, unknown> => {
  const rest: Record<string, unknown> = { ...attributes };
  delete rest['restoredFrom'];
  return rest;
};

describe('custodian bundles', () => {
  let dir: string;
  let a: Hsm;
  let b: Hsm;
  let custodians: Custodian[];
  let bundle: Uint8Array;
  let shares: Uint8Array[];

  beforeAll(async () => {
    dir = tempDir();
    const factory = await createFactory(join(dir, 'factory'), { development: true, clock });
    a = await device(factory, join(dir, 'a.sqlite'));
    b = await device(factory, join(dir, 'b.sqlite'));
    await a.createPartition('vault', { policy: { exportAllowed: true } });
    await a.generateKey('vault', { label: 'signing', algorithm: 'ecdsa-p256', extractable: true });
    await a.generateKey('vault', { label: 'secret', algorithm: 'aes-256', extractable: true });
    custodians = [await custodian('alice'), await custodian('bob'), await custodian('carol')];
    bundle = (
      await a.backupPartition('vault', {
        custodians: { threshold: 2, certificates: custodians.map((c) => c.certificate) },
      })
    ).bundle;
    shares = [];
    for (const c of custodians) {
      shares.push(encodeCustodianShare(await openCustodianShare(bundle, c.pkcs8)));
    }
  }, 60_000);

  afterAll(async () => {
    for (const h of [a, b] as (Hsm | undefined)[]) await h?.close();
  });

  it('one custodian-share OtherRecipientInfo per custodian, the manifest naming them', async () => {
    const p = parseBackupBundle(bundle);
    const ri = p.recipients as CustodianShareRecipient[];
    expect(ri.map((r) => [r.kind, r.threshold, r.index])).toEqual([
      ['custodian-share', 2, 1],
      ['custodian-share', 2, 2],
      ['custodian-share', 2, 3],
    ]);
    // RFC 5649: a 33-octet share wraps to 48 octets.
    expect(ri.every((r) => r.kari.encryptedKey.length === 48)).toBe(true);
    const manifest = JSON.parse(new TextDecoder().decode(p.manifest)) as {
      recipients: unknown[];
      keys: { label: string; role: string }[];
    };
    expect(manifest.recipients).toEqual([
      {
        kind: 'custodians',
        threshold: 2,
        custodians: custodians.map((c, i) => ({
          certificate: sha256(c.certificate),
          subject: `CN=${['alice', 'bob', 'carol'][i]!}, O=Example Custodians`,
        })),
      },
    ]);
    // The partition's own keys are never in a custodian bundle.
    expect(manifest.keys.map((k) => [k.label, k.role]).sort()).toEqual([
      ['secret', 'user'],
      ['signing', 'user'],
    ]);
    // The auditor's offline check verifies it as any bundle.
    const report = await inspectBackup(bundle, {
      anchors: { certificates: [(await a.device()).rootCertificate] },
    });
    expect(report.outcome).toBe('verified');
    const backup = (await auditEntries(a)).filter((e) => e.action === 'partition.backup');
    expect(backup.at(-1)!.details).toMatchObject({
      custodians: custodians.map((c) => sha256(c.certificate)).join(','),
      threshold: 2,
      keys: 2,
    });
  });

  it('two of three shares restore the partition on a second device, the keys as they were', async () => {
    const r = await b.restorePartition(bundle, { shares: [shares[2]!, shares[0]!] });
    expect(r).toMatchObject({ keys: 2, replaced: false });
    const before = await a.listKeys('vault');
    const after = await b.listKeys('vault');
    const user = (ks: typeof before) =>
      ks
        .filter((k) => k.role === 'user')
        .map((k) => ({
          label: k.label,
          algorithm: k.algorithm,
          spki: Buffer.from(k.spki).toString('hex'),
          attributes: withoutOrigin(k.attributes),
          state: k.state,
        }))
        .sort((x, y) => x.label.localeCompare(y.label));
    expect(user(after)).toEqual(user(before));
    expect(after.find((k) => k.label === 'signing')!.attributes.restoredFrom).toMatchObject({
      device: (await a.device()).id,
    });
    // New partition keys, made on this device.
    const ownBefore = before.filter((k) => k.role !== 'user').map((k) => Buffer.from(k.spki));
    const ownAfter = after.filter((k) => k.role !== 'user');
    expect(ownAfter.map((k) => k.role).sort()).toEqual([
      'partition-attestation',
      'partition-timestamp',
    ]);
    for (const k of ownAfter) expect(ownBefore.some((s) => s.equals(k.spki))).toBe(false);
    const sig = await b.sign('vault', 'signing', { data: Uint8Array.of(7) });
    expect(await a.verify('vault', 'signing', { data: Uint8Array.of(7) }, sig.signature)).toBe(
      true,
    );
    // The other pair restores too, as another new partition.
    const again = await b.restorePartition(bundle, {
      name: 'vault-2',
      shares: [shares[1]!, shares[2]!],
    });
    expect(again.keys).toBe(2);
  });

  it('t-1 shares, the same share twice, no shares, a restore over a partition: refused', async () => {
    const one = await expectHsmRejection(
      b.restorePartition(bundle, { name: 'few', shares: [shares[0]!] }),
      'backup-invalid',
    );
    expect(one.message).toMatch(/needs 2 custodian shares, 1 given/);
    const twice = await expectHsmRejection(
      b.restorePartition(bundle, { name: 'twice', shares: [shares[1]!, shares[1]!] }),
      'backup-invalid',
    );
    expect(twice.message).toMatch(/given twice/);
    await expectHsmRejection(b.restorePartition(bundle, { name: 'none' }), 'invalid-argument');
    await expectHsmRejection(
      a.restorePartition(bundle, { shares: [shares[0]!, shares[1]!] }),
      'invalid-argument',
    );
    expect((await b.listPartitions()).map((p) => p.name)).not.toContain('few');
  });

  it('a flipped byte in a share recipient, a tampered share, a share of another bundle: refused', async () => {
    const p = parseBackupBundle(bundle);
    const ri = p.recipients as CustodianShareRecipient[];
    const at = offsetOf(bundle, ri[1]!.kari.encryptedKey) + 5;
    const bad = flipped(bundle, at);
    await expectHsmRejection(
      b.restorePartition(bad, { name: 'flip', shares: [shares[0]!, shares[1]!] }),
      'backup-invalid',
    );
    await expectHsmRejection(openCustodianShare(bad, custodians[1]!.pkcs8), 'backup-invalid');
    // The share value itself (its last octets): the combined key does not open the content.
    const share = shares[0]!;
    await expectHsmRejection(
      b.restorePartition(bundle, {
        name: 'tampered',
        shares: [flipped(share, share.length - 5), shares[1]!],
      }),
      'backup-invalid',
    );
    const other = (
      await a.backupPartition('vault', {
        custodians: { threshold: 2, certificates: custodians.map((c) => c.certificate) },
      })
    ).bundle;
    const foreign = encodeCustodianShare(await openCustodianShare(other, custodians[0]!.pkcs8));
    const err = await expectHsmRejection(
      b.restorePartition(bundle, { name: 'mixed', shares: [foreign, shares[1]!] }),
      'backup-invalid',
    );
    expect(err.message).toMatch(/another bundle/);
    // A key the bundle holds no share for.
    await expectHsmRejection(
      openCustodianShare(bundle, (await custodian('mallory')).pkcs8),
      'invalid-argument',
    );
  });

  it('a partition holding keys that are not exportable: refused naming each, nothing written', async () => {
    await a.createPartition('locked', { policy: { exportAllowed: true } });
    await a.generateKey('locked', { label: 'kept-1', algorithm: 'ecdsa-p256' });
    await a.generateKey('locked', { label: 'open', algorithm: 'aes-256', extractable: true });
    await a.generateKey('locked', { label: 'kept-2', algorithm: 'aes-256', extractable: false });
    const target = {
      custodians: { threshold: 2, certificates: custodians.map((c) => c.certificate) },
    };
    const err = await expectHsmRejection(
      a.backupPartition('locked', target),
      'backup-keys-protected',
    );
    expect(err.details).toMatchObject({ partition: 'locked', keys: 'kept-1 kept-2' });
    expect(err.message).toMatch(/kept-1, kept-2/);
    // The policy forbids export: every user key is named.
    await a.createPartition('sealed');
    await a.generateKey('sealed', { label: 'x', algorithm: 'aes-256', extractable: true });
    await a.generateKey('sealed', { label: 'y', algorithm: 'aes-256', extractable: true });
    const sealed = await expectHsmRejection(
      a.backupPartition('sealed', target),
      'backup-keys-protected',
    );
    expect(sealed.details).toMatchObject({ keys: 'x y' });
    const backups = (await auditEntries(a)).filter(
      (e) =>
        e.action === 'partition.backup' &&
        e.outcome === 'success' &&
        ['locked', 'sealed'].includes(String(e.details['partition'])),
    );
    expect(backups).toEqual([]);
  });

  it('custodians refused: threshold 1 or above n, a duplicate, no keyAgreement, more than 16', async () => {
    const certs = custodians.map((c) => c.certificate);
    for (const custodiansTarget of [
      { threshold: 1, certificates: certs },
      { threshold: 4, certificates: certs },
      { threshold: 2, certificates: [certs[0]!, certs[0]!] },
      {
        threshold: 2,
        certificates: [certs[0]!, (await custodian('signer', false)).certificate],
      },
      { threshold: 2, certificates: Array.from({ length: 17 }, () => certs[0]!) },
    ]) {
      await expectHsmRejection(
        a.backupPartition('vault', { custodians: custodiansTarget }),
        'invalid-argument',
      );
    }
  });

  it('under a partition.backup rule: the statement names the custodians and the threshold', async () => {
    await a.createPartition('guarded', { policy: { exportAllowed: true } });
    await a.generateKey('guarded', { label: 'g', algorithm: 'ecdsa-p256', extractable: true });
    const x = await officerWithKey(a, 'x', [{ role: 'device-so' }], OFFICER);
    const y = await officerWithKey(a, 'y', [{ role: 'device-so' }], OFFICER);
    await a.governance.setRule(
      'guarded',
      'partition.backup',
      { timeoutSeconds: 3600, alternatives: [{ groups: [{ members: ['x', 'y'], threshold: 2 }] }] },
      OFFICER,
    );
    const certificates = custodians.map((c) => c.certificate);
    const req = await requestOf(
      a.backupPartition('guarded', { custodians: { threshold: 3, certificates } }),
    );
    const statement = JSON.stringify((await a.governance.showRequest(req)).body.statement);
    expect(statement).toContain(certificates.map((c) => sha256(c)).join(','));
    expect(statement).toMatch(/"threshold":3/);
    await decideAs(a, req, x);
    await decideAs(a, req, y);
    expect((await a.executeRequest(req)).body.state).toBe('executed');
    const done = (await auditEntries(a)).filter(
      (e) =>
        e.action === 'partition.backup' &&
        e.outcome === 'success' &&
        e.details['partition'] === 'guarded',
    );
    expect(done).toHaveLength(1);
    expect(done[0]!.details).toMatchObject({ threshold: 3, keys: 1 });
  });

  it('a custodian bundle is an export: trashed and blocked keys refused, the key.export rule applies', async () => {
    const certificates = custodians.map((c) => c.certificate);
    const target = { custodians: { threshold: 2, certificates } };
    await a.createPartition('exports', { policy: { exportAllowed: true } });
    await a.generateKey('exports', { label: 'live', algorithm: 'aes-256', extractable: true });
    await a.generateKey('exports', { label: 'binned', algorithm: 'aes-256', extractable: true });
    await a.generateKey('exports', { label: 'stuck', algorithm: 'aes-256', extractable: true });
    await a.deleteKey('exports', 'binned');
    await a.blockKey('exports', 'stuck');
    const refused = await expectHsmRejection(
      a.backupPartition('exports', target),
      'backup-keys-protected',
    );
    expect(refused.details).toMatchObject({ keys: expect.stringMatching(/binned/) as unknown });
    expect(String(refused.details?.['keys'])).toMatch(/stuck/);
    expect(String(refused.details?.['keys'])).not.toMatch(/live/);
    await a.purgeKey('exports', 'binned', OFFICER);
    await a.unblockKey('exports', 'stuck');
    // Under a key.export rule (and no partition.backup rule) the bundle waits for its approvals.
    const x = await officerWithKey(a, 'ex', [{ role: 'device-so' }], OFFICER);
    const y = await officerWithKey(a, 'ey', [{ role: 'device-so' }], OFFICER);
    await a.governance.setRule(
      'exports',
      'key.export',
      {
        timeoutSeconds: 3600,
        alternatives: [{ groups: [{ members: ['ex', 'ey'], threshold: 2 }] }],
      },
      OFFICER,
    );
    const req = await requestOf(a.backupPartition('exports', target));
    await decideAs(a, req, x);
    await decideAs(a, req, y);
    expect((await a.executeRequest(req)).body.state).toBe('executed');
    // Each key that left is recorded as exported.
    const pid = (await a.partition('exports')).id;
    const exported = (await auditEntries(a)).filter(
      (e) =>
        e.action === 'key.export' &&
        e.partitionId === pid &&
        e.details['wrapping'] === 'custodian-shares',
    );
    expect(exported.map((e) => e.details['label']).sort()).toEqual(['live', 'stuck']);
    expect((await a.verifyAudit()).ok).toBe(true);
    for (const k of await a.listKeys('exports')) {
      if (k.role === 'user') expect(k.attributes.neverExtractable).toBe(false);
    }
  });

  it('openssl parses the bundle (the custodian shares are OtherRecipientInfos it skips)', () => {
    const file = join(dir, 'bundle.der');
    writeFileSync(file, bundle);
    let out: string;
    try {
      out = execFileSync('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', file], {
        encoding: 'utf8',
      });
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT' && process.env['CI'] !== 'true') {
        return;
      }
      throw cause;
    }
    expect(out).toMatch(/contentType: pkcs7-signedData/);
  });
});

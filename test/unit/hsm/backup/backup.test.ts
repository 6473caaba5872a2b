// Partition backup and restore between two real devices of one factory, each with its own
// store and master key (SQLite files; PostgreSQL for the second device when a server is there):
// domain enrolment, the round trip, tampering anywhere refused, a wrong domain refused, a
// non-extractable key still refused for export, rollback refused unless approved, quorum over
// an existing partition, provenance and the audit trail.
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectEvidence } from '../../../../src/attestation/index.js';
import { createFactory, Hsm, type Factory } from '../../../../src/hsm/index.js';
import { parseBackupBundle } from '../../../../src/pki/index.js';
import { auditEntries, initDevice, OFFICER } from '../../../helpers/hsm.js';
import { decideAs, officerWithKey, requestOf, TestClock } from '../../../helpers/governance.js';
import { freshDatabase, requirePostgres, type FreshDatabase } from '../../../helpers/postgres.js';
import { tempDir } from '../../../helpers/tmp.js';
import { expectHsmRejection } from '../support.js';

const clock = new TestClock();

const device = (factory: Factory, location: string): Promise<Hsm> =>
  initDevice(factory, location, clock);

/** Enrols `target` in the domain `name` of `source` (no rules: the local operator). */
async function enrol(source: Hsm, target: Hsm, name: string): Promise<void> {
  const request = await target.backupDomainJoinRequest(name);
  const answer = await source.enrolDevice(name, request);
  await target.joinBackupDomain(answer);
}

/** Flips one bit of a copy at `offset`. */
function flipped(bytes: Uint8Array, offset: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[offset]! ^= 0x01;
  return copy;
}

/** The offset of `needle` in `hay` (throws when absent). */
function offsetOf(hay: Uint8Array, needle: Uint8Array): number {
  const i = Buffer.from(hay).indexOf(Buffer.from(needle));
  if (i < 0) throw new Error('not found');
  return i;
}

const skipPg = requirePostgres();

for (const targetStore of ['sqlite', 'postgres'] as const) {
  describe.skipIf(targetStore === 'postgres' && skipPg)(
    `partition backup and restore (target store: ${targetStore})`,
    () => {
      let a: Hsm;
      let b: Hsm;
      let c: Hsm;
      let db: FreshDatabase | undefined;
      let bundle: Uint8Array;

      beforeAll(async () => {
        const dir = tempDir();
        const factory = await createFactory(join(dir, 'factory'), { development: true, clock });
        a = await device(factory, join(dir, 'a.sqlite'));
        if (targetStore === 'postgres') db = await freshDatabase();
        b = await device(factory, db?.url ?? join(dir, 'b.sqlite'));
        c = await device(factory, join(dir, 'c.sqlite'));
        await a.createBackupDomain('vault');
        await enrol(a, b, 'vault');
        // c is in a domain of its own only.
        await c.createBackupDomain('other');
        await a.setPartitionPolicy('default', { importAllowed: true }, OFFICER);
        await a.generateKey('default', { label: 'signing', algorithm: 'ecdsa-p256' });
        await a.generateKey('default', {
          label: 'exportable',
          algorithm: 'ecdsa-p256',
          extractable: true,
        });
        await a.generateKey('default', { label: 'secret', algorithm: 'aes-256' });
        await a.generateKey('default', { label: 'trashed', algorithm: 'ed25519' });
        await a.deleteKey('default', 'trashed');
        bundle = (await a.backupPartition('default', { domain: 'vault' })).bundle;
      }, 60_000);

      afterAll(async () => {
        for (const h of [a, b, c] as (Hsm | undefined)[]) await h?.close();
        await db?.drop();
      });

      it('the domain key is on both devices, with the same check value, and never shown', async () => {
        const [da] = await a.backupDomains();
        const onB = (await b.backupDomains()).find((d) => d.state === 'active');
        expect(onB).toMatchObject({ id: da!.id, name: 'vault', origin: 'enrolled', kcv: da!.kcv });
        expect(JSON.stringify(await b.backupDomains())).not.toMatch(/sealed/);
      });

      it('round trip: every key, attribute, state and policy as on the source', async () => {
        const restored = await b.restorePartition(bundle, { name: 'copy' });
        expect(restored).toMatchObject({ serial: 1, keys: 6, replaced: false });
        const before = await a.listKeys('default');
        const after = await b.listKeys('copy');
        const shape = (keys: typeof before) =>
          keys.map((k) => ({
            label: k.label,
            role: k.role,
            algorithm: k.algorithm,
            spki: Buffer.from(k.spki).toString('hex'),
            state: k.state,
            attributes: { ...k.attributes, restoredFrom: undefined },
          }));
        expect(shape(after)).toEqual(shape(before));
        expect((await b.partition('copy')).policy).toEqual((await a.partition('default')).policy);
        // The keys work: a signature by the restored key verifies under the source's key.
        const sig = await b.sign('copy', 'signing', { data: Uint8Array.of(1, 2, 3) });
        expect(
          await a.verify('default', 'signing', { data: Uint8Array.of(1, 2, 3) }, sig.signature),
        ).toBe(true);
        // Provenance in the authenticated attributes.
        const k = after.find((x) => x.label === 'signing')!;
        const src = before.find((x) => x.label === 'signing')!;
        const dev = await a.device();
        expect(k.attributes).toMatchObject({
          restoredFrom: { device: dev.id, key: src.id, serial: 1 },
        });
        // Its evidence says so (ARC.5.20-5.24), under b's chain.
        const evidence = await b.attestKey('copy', 'signing');
        const report = await inspectEvidence(evidence, {
          anchors: { certificates: [(await b.device()).rootCertificate] },
          at: clock.now(),
          allowSoftware: true,
        });
        expect(report.outcome).toBe('verified');
        const claims = report.claims as { keys: Record<string, unknown>[] };
        expect(claims.keys[0]).toMatchObject({
          restoredFromDevice: dev.id,
          restoredFromPartition: (await a.partition('default')).id,
          restoredFromKey: src.id,
          backupSerial: '1',
        });
        // The restored partition's certificates are issued by b's device for the same keys.
        const chain = await b.chain('copy');
        expect(Buffer.from(chain.device)).toEqual(Buffer.from((await b.device()).certificate));
      });

      it('a non-extractable key is still refused for export after restore', async () => {
        await b.setPartitionPolicy('copy', { exportAllowed: true }, OFFICER);
        await expectHsmRejection(
          b.exportKey('copy', 'signing', { kind: 'aes-kwp', key: randomBytes(32) }),
          'key-not-extractable',
        );
        // The extractable one is exportable, as on the source.
        const wrapped = await b.exportKey('copy', 'exportable', {
          kind: 'aes-kwp',
          key: randomBytes(32),
        });
        expect(wrapped.length).toBeGreaterThan(0);
      });

      it('one flipped byte anywhere is a refusal: signature, manifest, ciphertext, tag, certificates', async () => {
        const p = parseBackupBundle(bundle);
        const positions = {
          signature: offsetOf(bundle, p.signer.signature) + 5,
          manifest: offsetOf(bundle, p.manifest) + 20,
          ciphertext: offsetOf(bundle, p.ciphertext) + 10,
          tag: offsetOf(bundle, p.tag) + 3,
          nonce: offsetOf(bundle, p.nonce),
          wrappedKey:
            offsetOf(bundle, (p.recipients[0] as { encryptedKey: Uint8Array }).encryptedKey) + 2,
          certificate: offsetOf(bundle, p.certificates[1]!) + 200,
          header: 1,
          last: bundle.length - 1,
        };
        for (const [where, at] of Object.entries(positions)) {
          const e = await expectHsmRejection(
            b.restorePartition(flipped(bundle, at), { name: `t-${where}` }),
            'backup-invalid',
          );
          expect(e.code, where).toBe('backup-invalid');
        }
        // And truncation, and trailing bytes.
        await expectHsmRejection(
          b.restorePartition(bundle.subarray(0, bundle.length - 1), { name: 't-trunc' }),
          'backup-invalid',
        );
        const refused = (await b.listPartitions()).filter((x) => x.name.startsWith('t-'));
        expect(refused).toEqual([]);
      });

      it('a device outside the domain cannot open the bundle', async () => {
        await expectHsmRejection(
          c.restorePartition(bundle, { name: 'x' }),
          'backup-domain-unknown',
        );
      });

      it('restoring over the partition: newer serial accepted, older refused unless allowed', async () => {
        // A second backup of the source: serial 2, with one more key.
        await a.generateKey('default', { label: 'later', algorithm: 'ecdsa-p256' });
        const second = await a.backupPartition('default', { domain: 'vault' });
        expect(second.serial).toBe(2);
        const over = await b.restorePartition(second.bundle, { name: 'copy' });
        expect(over).toMatchObject({ serial: 2, replaced: true });
        expect((await b.listKeys('copy')).map((k) => k.label)).toContain('later');
        // Serial 1 over serial 2: a rollback.
        await expectHsmRejection(b.restorePartition(bundle, { name: 'copy' }), 'backup-rollback');
        // Allowed explicitly: the state of serial 1 again, which destroys 'later' (made after
        // serial 1): refused naming it unless the statement says so.
        const newer = await b
          .restorePartition(bundle, { name: 'copy', allowRollback: true })
          .catch((e: unknown) => e);
        expect(newer).toMatchObject({ code: 'backup-keys-protected', message: /later/ });
        await b.restorePartition(bundle, { name: 'copy', allowRollback: true, destroyNewer: true });
        expect((await b.listKeys('copy')).map((k) => k.label)).not.toContain('later');
        // Over an unrelated partition: refused.
        await b.createPartition('unrelated');
        await expectHsmRejection(
          b.restorePartition(second.bundle, { name: 'unrelated' }),
          'backup-source-mismatch',
        );
      });

      it('backup, restore and refusals are audited; the restore records the source audit head', async () => {
        const onA = (await auditEntries(a)).filter((e) => e.action === 'partition.backup');
        expect(onA.map((e) => e.details['serial'])).toEqual([1, 2]);
        const onB = (await auditEntries(b)).filter((e) => e.action === 'partition.restore');
        expect(onB[0]).toMatchObject({
          outcome: 'success',
          details: { serial: 1, sourceHead: onA[0]!.details['sourceHead'] },
        });
        expect(onB.some((e) => e.outcome === 'refused')).toBe(true);
        expect((await b.verifyAudit()).ok).toBe(true);
      });

      it('restoring over: never on a read-only partition, never destroying or changing a guarded key, never loosening the policy', async () => {
        await a.generateKey('default', { label: 'aead', algorithm: 'aes-256' });
        const base = (await a.backupPartition('default', { domain: 'vault' })).bundle;
        await b.restorePartition(base, { name: 'guarded' });
        // The restored copy's count of AEAD encryptions goes on; a later restore keeps it.
        for (let i = 0; i < 3; i++) {
          await b.encrypt('guarded', 'aead', { plaintext: Uint8Array.of(1) });
        }
        const later = (await a.backupPartition('default', { domain: 'vault' })).bundle;
        await b.restorePartition(later, { name: 'guarded' });
        const aead = (await b.listKeys('guarded')).find((k) => k.label === 'aead')!;
        expect(aead.attributes.encryptions).toBe(3);
        // A key made here after the backup and not destroyable: refused, named.
        await b.generateKey('guarded', {
          label: 'keeper',
          algorithm: 'ecdsa-p256',
          destroyable: false,
        });
        const kept = await b
          .restorePartition(later, { name: 'guarded', destroyNewer: true, allowRollback: true })
          .catch((e: unknown) => e);
        expect(kept).toMatchObject({ code: 'backup-keys-protected', message: /keeper/ });
        expect((await b.listKeys('guarded')).map((k) => k.label)).toContain('keeper');
        // The policy stays: the bundle's (exportAllowed false) does not replace the current one,
        // and a read-only partition is not written.
        await b.setPartitionPolicy('guarded', { readOnly: true }, OFFICER);
        await expectHsmRejection(
          b.restorePartition(later, { name: 'guarded', allowRollback: true }),
          'policy-read-only',
        );
        expect((await b.partition('guarded')).policy.readOnly).toBe(true);
      });

      it('restoring over never unblocks a key: refused naming it while it is blocked, done once unblocked', async () => {
        const base = (await a.backupPartition('default', { domain: 'vault' })).bundle;
        await b.restorePartition(base, { name: 'blocking' });
        await b.blockKey('blocking', 'signing');
        const refused = await b
          .restorePartition(base, { name: 'blocking', allowRollback: true })
          .catch((e: unknown) => e);
        expect(refused).toMatchObject({ code: 'backup-keys-protected', message: /signing/ });
        const still = (await b.listKeys('blocking')).find((k) => k.label === 'signing')!;
        expect(still.state).toBe('blocked');
        await b.unblockKey('blocking', 'signing');
        // The key the bundle holds unchanged may be replaced by itself.
        await b.restorePartition(base, { name: 'blocking', allowRollback: true });
        const again = (await b.listKeys('blocking')).find((k) => k.label === 'signing')!;
        expect(again.state).toBe('active');
      });
    },
  );
}

describe('backup and restore under quorum rules', () => {
  it('a backup and a restore over a partition run through approved requests', async () => {
    const dir = tempDir();
    const factory = await createFactory(join(dir, 'factory'), { development: true, clock });
    const a = await device(factory, join(dir, 'a.sqlite'));
    const b = await device(factory, join(dir, 'b.sqlite'));
    try {
      await a.createBackupDomain('vault');
      await enrol(a, b, 'vault');
      await a.generateKey('default', { label: 'k', algorithm: 'ecdsa-p256' });
      const first = await a.backupPartition('default', { domain: 'vault' });
      await b.restorePartition(first.bundle, { name: 'copy' });
      // b's copy is now guarded: two of two officers for partition.restore.
      const x = await officerWithKey(b, 'x', [{ role: 'device-so' }], OFFICER);
      const y = await officerWithKey(b, 'y', [{ role: 'device-so' }], OFFICER);
      await b.governance.setRule(
        'copy',
        'partition.restore',
        {
          timeoutSeconds: 3600,
          alternatives: [{ groups: [{ members: ['x', 'y'], threshold: 2 }] }],
        },
        OFFICER,
      );
      const second = await a.backupPartition('default', { domain: 'vault' });
      const req = await requestOf(b.restorePartition(second.bundle, { name: 'copy' }));
      await decideAs(b, req, x);
      await decideAs(b, req, y);
      const view = await b.executeRequest(req);
      expect(view.body.state).toBe('executed');
      const restores = (await auditEntries(b)).filter(
        (e) => e.action === 'partition.restore' && e.outcome === 'success',
      );
      expect(restores.at(-1)?.details['serial']).toBe(2);
    } finally {
      await a.close();
      await b.close();
    }
  }, 60_000);

  it('a new partition takes the roles and rules only on the source device, and names what it leaves out', async () => {
    const dir = tempDir();
    const factory = await createFactory(join(dir, 'factory'), { development: true, clock });
    const a = await device(factory, join(dir, 'a.sqlite'));
    const b = await device(factory, join(dir, 'b.sqlite'));
    try {
      await a.createBackupDomain('vault');
      await enrol(a, b, 'vault');
      await officerWithKey(a, 'x', [{ role: 'pso', partition: 'default' }], OFFICER);
      await officerWithKey(a, 'y', [{ role: 'pso', partition: 'default' }], OFFICER);
      await a.governance.setRule(
        'default',
        'trash.purge',
        { timeoutSeconds: 3600, alternatives: [{ groups: [{ members: ['x'], threshold: 1 }] }] },
        OFFICER,
      );
      await a.governance.setRule(
        'default',
        'key.export',
        { timeoutSeconds: 3600, alternatives: [{ groups: [{ members: ['y'], threshold: 1 }] }] },
        OFFICER,
      );
      // On b only x exists (with an approver key), and holds no role in any partition yet.
      await officerWithKey(b, 'x', [], OFFICER);
      const { bundle } = await a.backupPartition('default', { domain: 'vault' });
      // On another device: none of them, all named.
      const r = await b.restorePartition(bundle, { name: 'copy' });
      expect([...r.skippedGovernance].sort()).toEqual([
        'role:x/pso',
        'role:y/pso',
        'rule:key.export',
        'rule:trash.purge',
      ]);
      expect((await b.governance.rule('copy', 'trash.purge')).version).toBe(0);
      expect((await b.governance.rule('copy', 'key.export')).version).toBe(0);
      // On its own device, as a new partition: the roles and rules hold.
      const own = await a.restorePartition(bundle, { name: 'copy' });
      expect(own.skippedGovernance).toEqual([]);
      expect((await a.governance.rule('copy', 'trash.purge')).version).toBe(1);
      expect((await a.governance.rule('copy', 'key.export')).version).toBe(1);
    } finally {
      await a.close();
      await b.close();
    }
  }, 60_000);

  it('enrolment under a device quorum: the approved request holds the signed enrolment', async () => {
    const dir = tempDir();
    const factory = await createFactory(join(dir, 'factory'), { development: true, clock });
    const a = await device(factory, join(dir, 'a.sqlite'));
    const b = await device(factory, join(dir, 'b.sqlite'));
    try {
      await a.createBackupDomain('vault');
      const x = await officerWithKey(a, 'x', [{ role: 'device-so' }], OFFICER);
      const y = await officerWithKey(a, 'y', [{ role: 'device-so' }], OFFICER);
      await a.governance.setRule(
        undefined,
        'domain.change',
        {
          timeoutSeconds: 3600,
          alternatives: [{ groups: [{ members: ['x', 'y'], threshold: 2 }] }],
        },
        OFFICER,
      );
      const request = await b.backupDomainJoinRequest('vault');
      const id = await requestOf(a.enrolDevice('vault', request));
      await decideAs(a, id, x);
      await expectHsmRejection(a.executeRequest(id), 'request-not-approved');
      await decideAs(a, id, y);
      const done = await a.executeRequest(id);
      expect(done.body.state).toBe('executed');
      const result = done.body.result as { enrolment: string };
      const joined = await b.joinBackupDomain(Buffer.from(result.enrolment, 'base64'));
      expect(joined).toMatchObject({ name: 'vault', origin: 'enrolled' });
      // A second device cannot use the first one's enrolment.
      const c = await device(factory, join(dir, 'c.sqlite'));
      await expectHsmRejection(
        c.joinBackupDomain(Buffer.from(result.enrolment, 'base64')),
        'backup-invalid',
      );
      await c.close();
    } finally {
      await a.close();
      await b.close();
    }
  }, 60_000);

  it('a device of another factory refuses the bundle at its chain, before any key is tried', async () => {
    const dir = tempDir();
    const factory = await createFactory(join(dir, 'factory'), { development: true, clock });
    const other = await createFactory(join(dir, 'other'), { development: true, clock });
    const a = await device(factory, join(dir, 'a.sqlite'));
    const z = await device(other, join(dir, 'z.sqlite'));
    try {
      await a.createBackupDomain('vault');
      await z.createBackupDomain('vault');
      const { bundle } = await a.backupPartition('default', { domain: 'vault' });
      const e = await expectHsmRejection(
        z.restorePartition(bundle, { name: 'x' }),
        'backup-invalid',
      );
      expect(e.message).toMatch(/root/);
      // Nor can it join a's domain: its join request is signed under another root.
      await expectHsmRejection(
        a.enrolDevice('vault', await z.backupDomainJoinRequest('vault')),
        'backup-invalid',
      );
    } finally {
      await a.close();
      await z.close();
    }
  }, 60_000);
});

describe('backup domain enrolment checks', () => {
  it('the request, the answer and the pending request name one domain; a join is done once', async () => {
    const dir = tempDir();
    const factory = await createFactory(join(dir, 'factory'), { development: true, clock });
    const a = await device(factory, join(dir, 'a.sqlite'));
    const b = await device(factory, join(dir, 'b.sqlite'));
    const c = await device(factory, join(dir, 'c.sqlite'));
    try {
      await a.createBackupDomain('vault');
      await a.createBackupDomain('safe');
      // A request for 'safe' answered as 'vault': refused by the enrolling device.
      const forSafe = await b.backupDomainJoinRequest('safe');
      await expectHsmRejection(a.enrolDevice('vault', forSafe), 'backup-invalid');
      const answer = await a.enrolDevice('safe', forSafe);
      await b.joinBackupDomain(answer);
      // The request is done: the same answer again finds no pending request.
      expect((await b.backupDomains()).map((d) => d.state).sort()).toEqual(['active', 'done']);
      await expectHsmRejection(b.joinBackupDomain(answer), 'backup-invalid');
      // A second active domain of a name this device holds: refused.
      await c.createBackupDomain('safe');
      const again = await b.backupDomainJoinRequest('safe');
      await expectHsmRejection(
        b.joinBackupDomain(await c.enrolDevice('safe', again)),
        'invalid-argument',
      );
      expect((await b.backupDomains()).filter((d) => d.state === 'active')).toHaveLength(1);
    } finally {
      for (const h of [a, b, c]) await h.close();
    }
  });
});

describe('the rollback rule follows the lineage, from the verified audit chain', () => {
  it('a bundle of the partition older than a restore into it since is a rollback; an edited entry is an integrity failure', async () => {
    const dir = tempDir();
    const factory = await createFactory(join(dir, 'factory'), { development: true, clock });
    const a = await device(factory, join(dir, 'a.sqlite'));
    const bKey = randomBytes(32);
    let b = await Hsm.init({
      path: join(dir, 'b.sqlite'),
      masterKey: { kind: 'key', key: bKey },
      factory,
      officer: OFFICER,
      clock,
    });
    try {
      await a.createBackupDomain('vault');
      await enrol(a, b, 'vault');
      await a.generateKey('default', { label: 'one', algorithm: 'ecdsa-p256' });
      const s1 = (await a.backupPartition('default', { domain: 'vault' })).bundle;
      await b.restorePartition(s1, { name: 'r' });
      // R's own backup (R@1), then a newer S restored over R.
      const r1 = (await b.backupPartition('r', { domain: 'vault' })).bundle;
      await a.generateKey('default', { label: 'two', algorithm: 'ecdsa-p256' });
      const s2 = (await a.backupPartition('default', { domain: 'vault' })).bundle;
      await b.restorePartition(s2, { name: 'r' });
      // R@1 over R now holds less than S@2: a rollback, unless allowed.
      await expectHsmRejection(
        b.restorePartition(r1, { name: 'r', destroyNewer: true }),
        'backup-rollback',
      );
      // The newest backup entry of R edited behind the HSM (its action, then its outcome):
      // the chain up to it no longer verifies, and the restore is refused.
      await b.close();
      for (const [column, value] of [
        ['action', 'partition.noop'],
        ['outcome', 'refused'],
      ] as const) {
        const raw = new Database(join(dir, 'b.sqlite'), { fileMustExist: true });
        const row = raw
          .prepare(
            "SELECT seq, action, outcome FROM audit WHERE action = 'partition.backup' ORDER BY seq DESC LIMIT 1",
          )
          .get() as { seq: number; action: string; outcome: string };
        raw.prepare(`UPDATE audit SET ${column} = ? WHERE seq = ?`).run(value, row.seq);
        b = await Hsm.open(join(dir, 'b.sqlite'), { kind: 'key', key: bKey }, { clock });
        await expectHsmRejection(
          b.restorePartition(r1, { name: 'r', allowRollback: true, destroyNewer: true }),
          'integrity-failed',
        );
        await b.close();
        raw.prepare(`UPDATE audit SET ${column} = ? WHERE seq = ?`).run(row[column], row.seq);
        raw.close();
        b = await Hsm.open(join(dir, 'b.sqlite'), { kind: 'key', key: bKey }, { clock });
        if (column === 'action') await b.close();
      }
      // Put back as it was, and allowed explicitly: the state of R@1 again.
      await b.restorePartition(r1, { name: 'r', allowRollback: true, destroyNewer: true });
      expect((await b.listKeys('r')).map((k) => k.label)).not.toContain('two');
    } finally {
      await a.close();
      await b.close();
    }
  }, 60_000);
});

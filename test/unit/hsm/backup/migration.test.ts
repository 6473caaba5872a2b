// Partition migration end to end with the receipt (src/hsm/backup/migration.ts), between real
// devices of one factory, each with its own store and master key (SQLite files, or PostgreSQL
// databases when a server is there): the target's transport key, a backup for it, the restore,
// the receipt; the source's dry run (nothing written), the completion (keys refused after, a
// second completion refused, trash restore refused, certificates revoked); a receipt of another
// partition, a tampered byte, a device of another factory refused; keys made after the backup
// refused by name; completion under a partition.suspend quorum rule through an approval.
import Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createFactory,
  Hsm,
  MIGRATION_RECEIPT_FORMAT,
  type Factory,
  type MigrationStatement,
} from '../../../../src/hsm/index.js';
import { migrationReceipt } from '../../../../src/hsm/backup/migration.js';
import { openDevice } from '../../../../src/hsm/device.js';
import { openStore } from '../../../../src/hsm/store/open.js';
import { parseMigrationReceipt } from '../../../../src/pki/index.js';
import { auditEntries, initDevice, OFFICER } from '../../../helpers/hsm.js';
import { decideAs, officerWithKey, requestOf, TestClock } from '../../../helpers/governance.js';
import { hookedStore } from '../../../helpers/hooked-store.js';
import { freshDatabase, requirePostgres, type FreshDatabase } from '../../../helpers/postgres.js';
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

const statementOf = (receipt: Uint8Array): MigrationStatement =>
  JSON.parse(
    new TextDecoder().decode(parseMigrationReceipt(receipt).statement),
  ) as MigrationStatement;

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Source `a` backs up `partition` for `b`'s transport key; `b` restores it as `name`. */
async function migrateTo(
  a: Hsm,
  b: Hsm,
  partition: string,
  name: string,
): Promise<{ bundle: Uint8Array; receipt: Uint8Array }> {
  const transport = await b.createTransportKey();
  const { bundle } = await a.backupPartition(partition, {
    transportCertificate: await published(b, transport.id),
  });
  await b.restorePartition(bundle, { name });
  return { bundle, receipt: (await b.migrationReceipt(name)).receipt };
}

const skipPg = requirePostgres();

for (const stores of ['sqlite', 'postgres'] as const) {
  describe.skipIf(stores === 'postgres' && skipPg)(
    `partition migration (stores: ${stores})`,
    () => {
      let a: Hsm;
      let b: Hsm;
      let foreign: Hsm;
      const dbs: FreshDatabase[] = [];
      let chain: Uint8Array[];
      let bundle: Uint8Array;
      let receipt: Uint8Array;
      let aLocation: string;
      /** The source's partition row before the completion (SQLite), to put back afterwards. */
      let before: Record<string, unknown> | undefined;

      const location = async (dir: string, name: string): Promise<string> => {
        if (stores === 'sqlite') return join(dir, `${name}.sqlite`);
        const db = await freshDatabase();
        dbs.push(db);
        return db.url;
      };

      beforeAll(async () => {
        const dir = tempDir();
        const factory = await createFactory(join(dir, 'factory'), { development: true, clock });
        aLocation = await location(dir, 'a');
        a = await device(factory, aLocation);
        b = await device(factory, await location(dir, 'b'));
        const otherFactory = await createFactory(join(dir, 'other-factory'), {
          development: true,
          clock,
        });
        foreign = await device(otherFactory, join(dir, 'foreign.sqlite'));
        await a.generateKey('default', { label: 'signing', algorithm: 'ecdsa-p256' });
        await a.generateKey('default', { label: 'secret', algorithm: 'aes-256' });
        await a.generateKey('default', { label: 'trashed', algorithm: 'ed25519' });
        await a.deleteKey('default', 'trashed');
        await a.createPartition('second');
        const transport = await b.createTransportKey();
        chain = await published(b, transport.id);
        bundle = (await a.backupPartition('default', { transportCertificate: chain })).bundle;
        await b.restorePartition(bundle, { name: 'moved' });
        receipt = (await b.migrationReceipt('moved')).receipt;
      }, 120_000);

      afterAll(async () => {
        for (const h of [a, b, foreign] as (Hsm | undefined)[]) await h?.close();
        for (const db of dbs) await db.drop();
      });

      it("the backup side's plan: every key goes, none refused, nothing written", async () => {
        const head = await a.auditHead();
        const plan = await a.migrationPlan('default', chain);
        expect(plan).toMatchObject({
          partition: 'default',
          targetDevice: (await b.device()).id,
          refused: [],
          approvalRequired: false,
        });
        expect(plan.moving.map((k) => k.label).sort()).toEqual(
          ['partition-attestation', 'partition-timestamp', 'secret', 'signing', 'trashed'].sort(),
        );
        expect(plan.moving.find((k) => k.label === 'trashed')?.state).toBe('invalidated');
        expect(await a.auditHead()).toEqual(head);
      });

      it('the receipt: signed by the new partition, naming the source, the bundle and every key', async () => {
        const s = statementOf(receipt);
        const source = await a.partition('default');
        const moved = await b.partition('moved');
        expect(s).toMatchObject({
          format: MIGRATION_RECEIPT_FORMAT,
          source: {
            device: (await a.device()).id,
            partition: source.id,
            serial: 1,
            bundle: sha256(bundle),
          },
          target: {
            device: (await b.device()).id,
            partition: moved.id,
            name: 'moved',
            attestationCertificate: sha256(moved.attestationCertificate),
          },
        });
        const sourceKeys = await a.listKeys('default');
        const targetKeys = await b.listKeys('moved');
        expect(s.keys).toHaveLength(sourceKeys.length);
        for (const k of sourceKeys) {
          const held = s.keys.find((x) => x.sourceKey === k.id);
          expect(held, k.label).toBeDefined();
          expect(held!.public).toBe(Buffer.from(k.spki).toString('hex'));
          expect(targetKeys.find((t) => t.id === held!.key)?.label).toBe(k.label);
        }
        const entry = (await auditEntries(b)).find((e) => e.action === 'partition.migrate.receipt');
        expect(entry?.details).toMatchObject({ receipt: sha256(receipt), serial: 1 });
      });

      it('refused: a receipt of another partition, a tampered byte, a device of another factory', async () => {
        await expectHsmRejection(
          a.completeMigration('second', { receipt, dryRun: true }),
          'migration-receipt-invalid',
        );
        await expectHsmRejection(
          a.completeMigration('second', { receipt }),
          'migration-receipt-invalid',
        );
        // The signature's last byte, and a byte of the statement.
        const statementAt = Buffer.from(receipt).indexOf(Buffer.from('"format"'));
        expect(statementAt).toBeGreaterThan(0);
        for (const bad of [
          flipped(receipt, receipt.length - 1),
          flipped(receipt, statementAt + 2),
          receipt.subarray(0, receipt.length - 1),
        ]) {
          const e = await expectHsmRejection(
            a.completeMigration('default', { receipt: bad }),
            'migration-receipt-invalid',
          );
          expect(e.message).toMatch(/does not verify/);
        }
        // A receipt a device of another factory signed, for a restore on itself.
        const own = await migrateTo(foreign, foreign, 'default', 'copy');
        const e = await expectHsmRejection(
          a.completeMigration('default', { receipt: own.receipt }),
          'migration-receipt-invalid',
        );
        expect(e.message).toMatch(/root/);
        // The bundle given must be the one the receipt names.
        await expectHsmRejection(
          a.completeMigration('default', { receipt, bundle: own.bundle, dryRun: true }),
          'migration-receipt-invalid',
        );
        expect((await a.partition('default')).migratedTo).toBeUndefined();
      });

      it('keys made on the source after the backup: listed by the dry run, and the completion refused naming them', async () => {
        clock.ms += 60_000;
        await a.generateKey('default', { label: 'late', algorithm: 'ed25519' });
        const head = await a.auditHead();
        const dry = await a.completeMigration('default', { receipt, dryRun: true });
        expect(dry.refused).toEqual([
          { label: 'late', reason: expect.stringMatching(/after the backup/) as string },
        ]);
        // With the bundle, the manifest says which keys the backup held.
        const withBundle = await a.completeMigration('default', { receipt, bundle, dryRun: true });
        expect(withBundle.refused.map((k) => k.label)).toEqual(['late']);
        expect(await a.auditHead()).toEqual(head);
        const e = await expectHsmRejection(
          a.completeMigration('default', { receipt }),
          'backup-keys-protected',
        );
        expect(e.message).toMatch(/late/);
        expect(
          (await a.listKeys('default')).every(
            (k) => k.state !== 'invalidated' || k.label === 'trashed',
          ),
        ).toBe(true);
        // Gone from the source, the key no longer stands in the way.
        await a.deleteKey('default', 'late');
        await a.purgeKey('default', 'late', OFFICER);
      });

      it('the dry run lists what moves, and writes nothing (the audit head unchanged)', async () => {
        const head = await a.auditHead();
        const dry = await a.completeMigration('default', { receipt, dryRun: true });
        expect(dry.dryRun).toBe(true);
        expect(dry.refused).toEqual([]);
        expect(dry.moving.map((k) => k.label).sort()).toEqual(
          ['partition-attestation', 'partition-timestamp', 'secret', 'signing', 'trashed'].sort(),
        );
        expect(dry.moving.find((k) => k.label === 'signing')).toEqual({
          label: 'signing',
          role: 'user',
          algorithm: 'ecdsa-p256',
        });
        expect(await a.auditHead()).toEqual(head);
        expect((await a.partition('default')).migratedTo).toBeUndefined();
      });

      it('completing takes the partition out of service: keys refused, trash restore refused, read-only, revoked', async () => {
        const signer = await a.signer('default', 'signing');
        if (stores === 'sqlite') {
          const raw = new Database(aLocation, { fileMustExist: true });
          before = raw
            .prepare(
              "SELECT id, policy_json, audit_seq, mac FROM partitions WHERE name = 'default'",
            )
            .get() as Record<string, unknown>;
          raw.close();
        }
        const r = await a.completeMigration('default', { receipt });
        const moved = await b.partition('moved');
        const target = `${(await b.device()).id}/${moved.id}`;
        expect(r).toMatchObject({
          dryRun: false,
          serial: 1,
          receipt: sha256(receipt),
          refused: [],
        });
        expect(r.moving).toHaveLength(5);
        const p = await a.partition('default');
        expect(p.migratedTo).toBe(target);
        expect(p.policy.readOnly).toBe(true);
        for (const k of await a.listKeys('default')) {
          expect(k.state, k.label).toBe('invalidated');
          expect(k.attributes.migratedTo, k.label).toBe(target);
        }
        await expectHsmRejection(
          a.sign('default', 'signing', { data: Uint8Array.of(1) }),
          'partition-migrated',
        );
        await expectHsmRejection(a.signer('default', 'signing'), 'partition-migrated');
        await expectHsmRejection(a.timestampSigner('default'), 'partition-migrated');
        // A signer made before: its key is in the trash.
        await expectHsmRejection(signer.sign(Uint8Array.of(1)), 'key-invalidated');
        await expectHsmRejection(a.restoreKey('default', 'signing', OFFICER), 'partition-migrated');
        await expectHsmRejection(
          a.setPartitionPolicy('default', { readOnly: false }, OFFICER),
          'partition-migrated',
        );
        await expectHsmRejection(
          a.generateKey('default', { label: 'new', algorithm: 'ed25519' }),
          'policy-read-only',
        );
        await expectHsmRejection(
          a.backupPartition('default', { transportCertificate: chain }),
          'partition-migrated',
        );
        await expectHsmRejection(a.completeMigration('default', { receipt }), 'partition-migrated');
        await expectHsmRejection(
          a.completeMigration('default', { receipt, dryRun: true }),
          'partition-migrated',
        );
        // Its public keys still read, and verify what the target signs.
        const sig = await b.sign('moved', 'signing', { data: Uint8Array.of(9) });
        expect(
          await a.verify('default', 'signing', { data: Uint8Array.of(9) }, sig.signature),
        ).toBe(true);
        // Certificates revoked as superseded, for the device's next CRL.
        const state = await a.revocationState();
        const revoked = state.revoked.filter((x) => x.partitionId === p.id);
        expect(revoked.map((x) => x.reason)).toEqual(['superseded', 'superseded']);
        const entries = await auditEntries(a);
        const migrations = entries.filter(
          (e) => e.action === 'partition.migrate' && e.outcome === 'success',
        );
        const entry = migrations[0];
        expect(entry?.details).toMatchObject({
          targetDevice: (await b.device()).id,
          targetPartition: moved.id,
          receipt: sha256(receipt),
          keys: 5,
        });
        expect(migrations).toHaveLength(1);
        // The refusals before it are in the log too.
        expect(
          entries.some((e) => e.action === 'partition.migrate' && e.outcome === 'refused'),
        ).toBe(true);
        expect((await a.verifyAudit()).ok).toBe(true);
      });

      it.skipIf(stores !== 'sqlite')(
        'the partition row of before the migration, put back, is an integrity failure',
        async () => {
          expect(before).toBeDefined();
          const raw = new Database(aLocation, { fileMustExist: true });
          raw
            .prepare('UPDATE partitions SET policy_json = ?, audit_seq = ?, mac = ? WHERE id = ?')
            .run(before!['policy_json'], before!['audit_seq'], before!['mac'], before!['id']);
          raw.close();
          await expectHsmRejection(a.partition('default'), 'integrity-failed');
          await expectHsmRejection(a.restoreKey('default', 'signing', OFFICER), 'integrity-failed');
        },
      );
    },
  );
}

describe('partition migration under a partition.suspend quorum rule', () => {
  it('completion becomes an approval request; the approved request completes it', async () => {
    const dir = tempDir();
    const factory = await createFactory(join(dir, 'factory'), { development: true, clock });
    const a = await device(factory, join(dir, 'a.sqlite'));
    const b = await device(factory, join(dir, 'b.sqlite'));
    try {
      await a.generateKey('default', { label: 'signing', algorithm: 'ecdsa-p256' });
      const x = await officerWithKey(a, 'x', [{ role: 'pso', partition: 'default' }], OFFICER);
      await a.governance.setRule(
        'default',
        'partition.suspend',
        { timeoutSeconds: 3600, alternatives: [{ groups: [{ members: ['x'], threshold: 1 }] }] },
        OFFICER,
      );
      const { receipt } = await migrateTo(a, b, 'default', 'moved');
      // The dry run needs no approval and makes no request.
      expect((await a.completeMigration('default', { receipt, dryRun: true })).refused).toEqual([]);
      const req = await requestOf(a.completeMigration('default', { receipt }));
      const view = await a.governance.showRequest(req);
      expect(view.body.statement.params).toMatchObject({ receipt: sha256(receipt) });
      expect((await a.partition('default')).migratedTo).toBeUndefined();
      await decideAs(a, req, x);
      const done = await a.executeRequest(req);
      expect(done.body.state).toBe('executed');
      expect((await a.partition('default')).migratedTo).toBeDefined();
      await expectHsmRejection(
        a.sign('default', 'signing', { data: Uint8Array.of(1) }),
        'partition-migrated',
      );
    } finally {
      await a.close();
      await b.close();
    }
  }, 60_000);
});

describe('after a migration, no older bundle brings the keys back on the source', () => {
  it('a domain bundle taken before the migration is refused, as a new partition and over it', async () => {
    const dir = tempDir();
    const factory = await createFactory(join(dir, 'factory'), { development: true, clock });
    const a = await device(factory, join(dir, 'a.sqlite'));
    const b = await device(factory, join(dir, 'b.sqlite'));
    try {
      await a.generateKey('default', { label: 'signing', algorithm: 'ecdsa-p256' });
      await a.createBackupDomain('vault');
      const older = (await a.backupPartition('default', { domain: 'vault' })).bundle;
      const { receipt } = await migrateTo(a, b, 'default', 'moved');
      // Before the completion the bundle restores (as a copy): the refusal below is the migration's.
      expect((await a.restorePartition(older, { name: 'copy' })).keys).toBeGreaterThan(0);
      await a.completeMigration('default', { receipt });
      for (const name of ['again', 'default']) {
        await expectHsmRejection(a.restorePartition(older, { name }), 'partition-migrated');
      }
      expect((await a.listPartitions()).map((p) => p.name)).not.toContain('again');
    } finally {
      await a.close();
      await b.close();
    }
  }, 120_000);
});

describe('a receipt is issued only by a partition still holding the keys', () => {
  // B issues a receipt: it reads the partition, signs, then writes its entry in a transaction.
  // Just before that transaction (a store hook, no mock) B's partition migrates on to C.
  it('a partition migrated away between the read and the transaction issues no receipt', async () => {
    const dir = tempDir();
    const factory = await createFactory(join(dir, 'factory'), { development: true, clock });
    const a = await device(factory, join(dir, 'a.sqlite'));
    const masterKey = { kind: 'key', key: randomBytes(32) } as const;
    const bPath = join(dir, 'b.sqlite');
    const b = await Hsm.init({ path: bPath, masterKey, factory, officer: OFFICER, clock });
    const c = await device(factory, join(dir, 'c.sqlite'));
    let hook: (() => Promise<void>) | undefined;
    const hooked = hookedStore(await openStore(bPath), {
      beforeTx: async () => {
        const run = hook;
        hook = undefined;
        await run?.();
      },
    });
    const bCore = await openDevice(hooked, masterKey, { clock });
    try {
      await a.generateKey('default', { label: 'signing', algorithm: 'ecdsa-p256' });
      await migrateTo(a, b, 'default', 'moved');
      const onward = await migrateTo(b, c, 'moved', 'final');
      hook = async () => {
        await b.completeMigration('moved', { receipt: onward.receipt });
      };
      await expectHsmRejection(migrationReceipt(bCore, 'moved'), 'partition-migrated');
      expect(hook).toBeUndefined();
      const receipts = (await auditEntries(b)).filter(
        (e) => e.action === 'partition.migrate.receipt' && e.details['partition'] === 'moved',
      );
      // The one receipt issued before (for A), none while migrating away.
      expect(receipts.filter((e) => e.outcome === 'success')).toHaveLength(1);
    } finally {
      await hooked.close();
      for (const h of [a, b, c]) await h.close();
    }
  }, 120_000);
});

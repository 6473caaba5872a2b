// A store of schema version 3 (key kinds, no governance objects) is migrated to the current
// version once: the governance table and the audit entries' object are added, its officer
// becomes a principal holding the device SO role, no row is sealed again (an edited row stays
// refused), its log keeps verifying and its old entries name no object; a migration refused for
// a log that does not verify is itself logged.
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Hsm, type MasterKeyInput } from '../../../src/hsm/index.js';
import { SCHEMA_VERSION } from '../../../src/hsm/store/schema-version.js';
import { auditEntries, createTestDevice } from '../../helpers/hsm.js';
import { tempDir } from '../../helpers/tmp.js';
import { expectHsmRejection, MESSAGE, verifySignature, withRawDb } from './support.js';

const FIXTURE = join(import.meta.dirname, '../../fixtures/store-v3/attestamp-v3.sqlite');
const MASTER: MasterKeyInput = {
  kind: 'key',
  key: Buffer.from('b5524012ecba3d70b54fd421923c540bfb3bae2fcad8ea20dc9522ede564fcd2', 'hex'),
};
const OFFICER = { name: 'so', passphrase: 'correct horse battery staple' } as const;
const HEAD = { seq: 7, hash: 'd6f73e2d1bf2d20b2ca2575ade9c05e416152f109616efe775c4ac98b5fff8d5' };

function copyOfV3Store(): string {
  const path = join(tempDir(), 'attestamp.sqlite');
  copyFileSync(FIXTURE, path);
  return path;
}

const version = (path: string): unknown =>
  withRawDb(path, (db) => db.prepare("SELECT value FROM meta WHERE name = 'schema_version'").get());

/** Every authenticated row's MAC and last change, as stored. */
const sealed = (path: string): unknown =>
  withRawDb(path, (db) => ({
    keys: db.prepare('SELECT id, audit_seq, mac FROM keys ORDER BY id').all(),
    partitions: db.prepare('SELECT id, audit_seq, mac FROM partitions ORDER BY id').all(),
    device: db.prepare('SELECT id, mac FROM device').all(),
    officers: db.prepare('SELECT name, mac FROM officers').all(),
  }));

describe('migration of a schema 3 store', () => {
  it('adds governance and the audit object, seeds the officer, logs it once, changes no row, and keeps every row working', async () => {
    const path = copyOfV3Store();
    const before = sealed(path);
    const hsm = await Hsm.open(path, MASTER);
    try {
      // Migrated, and no row sealed again.
      expect(version(path)).toEqual({ value: String(SCHEMA_VERSION) });
      expect(sealed(path)).toStrictEqual(before);
      const v = await hsm.verifyAudit(HEAD);
      expect(v.ok).toBe(true);
      expect(v.expectedHead?.extended).toBe(true);
      const log = await auditEntries(hsm);
      // The migration's entry, then the officer made a principal with the device SO role:
      // the only entries that name an object.
      expect(log).toHaveLength(HEAD.seq + 3);
      expect(log[HEAD.seq]).toMatchObject({
        action: 'store.migrate',
        outcome: 'success',
        details: { from: 3, to: SCHEMA_VERSION },
        object: null,
      });
      expect(log.filter((e) => e.object !== null).map((e) => [e.seq, e.action, e.object])).toEqual([
        [HEAD.seq + 2, 'principal.add', 'principal:so'],
        [HEAD.seq + 3, 'role.grant', 'role:so/device-so/device'],
      ]);
      // Every row read through its MAC: the device, the partition (policy changed at seq 4),
      // the keys, and the officer, whose credential then changes the policy again.
      expect((await hsm.device()).id).toMatch(/^SWHSM-/);
      expect((await hsm.partition('default')).policy.exportAllowed).toBe(true);
      const gen = await hsm.key('default', 'gen');
      const sig = await (await hsm.signer('default', 'gen')).sign(MESSAGE);
      expect(verifySignature('ecdsa-p256', gen.spki, MESSAGE, sig)).toBe(true);
      expect((await hsm.key('default', 'trash')).state).toBe('invalidated');
      await hsm.attestKey('default', 'gen');
      await hsm.setPartitionPolicy('default', { exportAllowed: false }, OFFICER);
      expect((await hsm.partition('default')).policy.exportAllowed).toBe(false);
      await hsm.restoreKey('default', 'trash', OFFICER);
      expect((await hsm.key('default', 'trash')).state).toBe('active');
      expect((await hsm.verifyAudit(HEAD)).ok).toBe(true);
    } finally {
      await hsm.close();
    }
    withRawDb(path, (db) => {
      // The seeded principal and role rows; the two policy and restore changes above (officer
      // operations on the partition, no rule in force) add none.
      expect(db.prepare('SELECT kind, id FROM governance ORDER BY kind, id').all()).toEqual([
        { kind: 'principal', id: 'so' },
        { kind: 'role', id: 'so/device-so/device' },
      ]);
      const objects = db.prepare('SELECT DISTINCT object FROM audit ORDER BY object').all();
      expect(objects).toEqual([
        { object: null },
        { object: 'principal:so' },
        { object: 'role:so/device-so/device' },
      ]);
    });
    const again = await Hsm.open(path, MASTER);
    try {
      const migrations = (await auditEntries(again)).filter((e) => e.action === 'store.migrate');
      expect(migrations).toHaveLength(1);
      expect((await again.verifyAudit(HEAD)).ok).toBe(true);
    } finally {
      await again.close();
    }
  });

  it('seals no row again: a key row edited before the migration stays refused', async () => {
    const path = copyOfV3Store();
    withRawDb(path, (db) => {
      // The edit a migration must not launder: the trashed key made active.
      db.prepare(
        "UPDATE keys SET state = 'active', invalidated_at = NULL WHERE label = 'trash'",
      ).run();
    });
    const hsm = await Hsm.open(path, MASTER);
    try {
      await expectHsmRejection(hsm.key('default', 'trash'), 'integrity-failed');
      await expectHsmRejection(hsm.signer('default', 'trash'), 'integrity-failed');
      expect((await hsm.key('default', 'gen')).state).toBe('active');
    } finally {
      await hsm.close();
    }
    expect(version(path)).toEqual({ value: String(SCHEMA_VERSION) });
  });

  it('refuses a store whose log does not verify, leaves it at version 3, and logs the refusal', async () => {
    const path = copyOfV3Store();
    withRawDb(path, (db) => {
      db.prepare("UPDATE audit SET details_json = '{}' WHERE seq = 5").run();
    });
    await expectHsmRejection(Hsm.open(path, MASTER), 'integrity-failed');
    expect(version(path)).toEqual({ value: '3' });
    withRawDb(path, (db) => {
      const tables = db
        .prepare("SELECT name FROM sqlite_schema WHERE name IN ('governance', 'audit_object')")
        .all();
      expect(tables).toEqual([]);
      // The refusal is an entry of the old schema (no object column).
      expect(db.prepare('SELECT seq, action, outcome FROM audit WHERE seq > 7').all()).toEqual([
        { seq: 8, action: 'store.migrate', outcome: 'failure' },
      ]);
    });
  });

  it('refuses a store of schema 4 whose version was set back to 3: its log records 4', async () => {
    const d = await createTestDevice();
    await d.hsm.close();
    withRawDb(d.storePath, (db) => {
      db.prepare("UPDATE meta SET value = '3' WHERE name = 'schema_version'").run();
    });
    await expectHsmRejection(Hsm.open(d.storePath, d.masterKey), 'integrity-failed');
    expect(version(d.storePath)).toEqual({ value: '3' });
  });
});

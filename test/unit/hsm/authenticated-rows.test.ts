// Row authentication at rest: a store written by schema version 1 (before row MACs) is migrated
// once under the master key with an audit entry, and a store whose version was set back is
// refused rather than migrated again.
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import type Database from 'better-sqlite3';
import { Hsm, type MasterKeyInput } from '../../../src/hsm/index.js';
import { keyRowEncoding, rowMac, type KeyRowFields } from '../../../src/hsm/integrity.js';
import { deriveMasterKeys } from '../../../src/hsm/master-key.js';
import { MIGRATIONS } from '../../../src/hsm/store/sqlite/migrations.js';
import { SCHEMA_VERSION } from '../../../src/hsm/store/schema-version.js';
import { auditEntries, createTestDevice } from '../../helpers/hsm.js';
import { tempDir } from '../../helpers/tmp.js';
import { expectHsmRejection, MESSAGE, verifySignature, withRawDb } from './support.js';

const FIXTURE = join(import.meta.dirname, '../../fixtures/store-v1/attestamp-v1.sqlite');
const MASTER: MasterKeyInput = { kind: 'key', key: new Uint8Array(32).fill(0x11) };

function copyOfV1Store(): string {
  const path = join(tempDir(), 'v1.sqlite');
  copyFileSync(FIXTURE, path);
  return path;
}

function macColumns(path: string): { table: string; missing: number; total: number }[] {
  return withRawDb(path, (db) =>
    ['keys', 'partitions', 'device', 'officers'].map((table) => {
      const r = db
        .prepare(`SELECT count(*) AS total, sum(mac IS NULL) AS missing FROM ${table}`)
        .get() as { total: number; missing: number };
      return { table, missing: r.missing, total: r.total };
    }),
  );
}

describe('migration of a store written before row authentication', () => {
  it('adds a MAC to every row once, with a store.migrate entry, and keeps every key working', async () => {
    const path = copyOfV1Store();
    const before = withRawDb(path, (db) => db.prepare('SELECT count(*) AS n FROM audit').get()) as {
      n: number;
    };
    const hsm = await Hsm.open(path, MASTER);
    try {
      for (const t of macColumns(path)) {
        expect(t.total, t.table).toBeGreaterThan(0);
        expect(t.missing, t.table).toBe(0);
      }
      const log = await auditEntries(hsm);
      // The migration's entry, then (schema 4) the store's one officer made a principal
      // holding the device SO role.
      expect(log).toHaveLength(before.n + 3);
      expect(log.slice(before.n).map((e) => [e.action, e.object])).toEqual([
        ['store.migrate', null],
        ['principal.add', 'principal:so'],
        ['role.grant', 'role:so/device-so/device'],
      ]);
      expect(log[before.n]).toMatchObject({
        action: 'store.migrate',
        outcome: 'success',
        details: { from: 1, to: SCHEMA_VERSION },
      });
      expect((await hsm.verifyAudit()).ok).toBe(true);
      const gen = await hsm.key('p', 'gen');
      const sig = await (await hsm.signer('p', 'gen')).sign(MESSAGE);
      expect(verifySignature('ecdsa-p256', gen.spki, MESSAGE, sig)).toBe(true);
      expect((await hsm.key('p', 'trash')).state).toBe('invalidated');
      expect((await hsm.key('p', 'ext')).attributes.neverExtractable).toBe(false);
      await hsm.attestKey('p', 'gen');
      await hsm.attestKey('p', 'ext', { format: 'certificate' });
    } finally {
      await hsm.close();
    }
    const again = await Hsm.open(path, MASTER);
    try {
      const migrations = (await auditEntries(again)).filter((e) => e.action === 'store.migrate');
      expect(migrations).toHaveLength(1);
    } finally {
      await again.close();
    }
  });

  it('refuses a migrated store whose schema version was set back (and does not re-MAC it)', async () => {
    const path = copyOfV1Store();
    await (await Hsm.open(path, MASTER)).close();
    withRawDb(path, (db) => {
      db.prepare("UPDATE meta SET value = '1' WHERE name = 'schema_version'").run();
      // The edit the downgrade would launder: the officer-free trash key made active.
      db.prepare(
        "UPDATE keys SET state = 'active', invalidated_at = NULL WHERE label = 'trash'",
      ).run();
    });
    // The log records the migration to the current version: refused, never re-MACed.
    await expectHsmRejection(Hsm.open(path, MASTER), 'integrity-failed');
    const entries = withRawDb(path, (db) =>
      db.prepare("SELECT action, outcome FROM audit WHERE action = 'store.migrate'").all(),
    );
    expect(entries).toEqual([
      { action: 'store.migrate', outcome: 'success' },
      { action: 'store.migrate', outcome: 'failure' },
    ]);
    withRawDb(path, (db) => {
      db.prepare("UPDATE meta SET value = ? WHERE name = 'schema_version'").run(
        String(SCHEMA_VERSION),
      );
    });
    const hsm = await Hsm.open(path, MASTER);
    try {
      await expectHsmRejection(hsm.key('p', 'trash'), 'integrity-failed');
    } finally {
      await hsm.close();
    }
  });
});

const V1_KEY_COLUMNS =
  'id, partition_id, label, role, algorithm, spki, attributes_json, state, created_at, invalidated_at, wrapped';

describe('a migrated store rebuilt as version 1', () => {
  it('with the log cut before its migration and the old schema back, is refused by its key-check value', async () => {
    const path = copyOfV1Store();
    await (await Hsm.open(path, MASTER)).close();
    withRawDb(path, (db) => {
      // Everything a downgrade needs: the log's tail cut (a valid shorter chain), the tables,
      // columns and indexes of versions 2 to 5 dropped, the version set back, and then the edit.
      db.prepare(
        "DELETE FROM audit WHERE seq >= (SELECT seq FROM audit WHERE action = 'store.migrate')",
      ).run();
      db.exec('DROP INDEX audit_key_action; DROP INDEX audit_partition_action;');
      db.exec('DROP INDEX audit_key; DROP INDEX audit_partition;');
      // What version 4 added: the governance table and the audit entries' object.
      db.exec(
        'DROP TABLE governance; DROP INDEX audit_object; ALTER TABLE audit DROP COLUMN object;',
      );
      // The keys table as version 1 made it, with the very text of its definition.
      const v1Keys = /CREATE TABLE keys \([\s\S]*?\) STRICT;\s*CREATE UNIQUE INDEX[^;]*;/.exec(
        MIGRATIONS[0]!,
      )![0];
      db.exec(`CREATE TABLE keys_old AS SELECT ${V1_KEY_COLUMNS} FROM keys;
        DROP TABLE keys;
        ${v1Keys}
        INSERT INTO keys SELECT * FROM keys_old;
        DROP TABLE keys_old;`);
      db.exec('ALTER TABLE partitions DROP COLUMN audit_seq');
      for (const table of ['partitions', 'device', 'officers']) {
        db.exec(`ALTER TABLE ${table} DROP COLUMN mac`);
      }
      db.prepare("UPDATE meta SET value = '1' WHERE name = 'schema_version'").run();
      db.prepare(
        "UPDATE keys SET state = 'active', invalidated_at = NULL WHERE label = 'trash'",
      ).run();
    });
    const error = await expectHsmRejection(Hsm.open(path, MASTER), 'integrity-failed');
    expect(error.message).toContain('key-check value');
    const trash = withRawDb(path, (db) =>
      db.prepare("SELECT state FROM keys WHERE label = 'trash'").get(),
    );
    expect(trash).toEqual({ state: 'active' });
    const schema = withRawDb(path, (db) =>
      db.prepare("SELECT value FROM meta WHERE name = 'schema_version'").get(),
    );
    expect(schema).toEqual({ value: '1' });
  });
});

/**
 * Writes a key row whose MAC is right (made here with the master key): what a bug, or someone
 * holding the master key, could write. Attestation still checks the key itself and the log.
 */
function rewriteWithMac(
  db: Database.Database,
  masterKey: Uint8Array,
  label: string,
  change: (row: KeyRowFields) => KeyRowFields,
): void {
  const deviceId = (
    db.prepare("SELECT value FROM meta WHERE name = 'device_id'").get() as { value: string }
  ).value;
  const row = db.prepare('SELECT * FROM keys WHERE label = ?').get(label) as KeyRowFields;
  const next = change(row);
  const mac = rowMac(
    deriveMasterKeys(masterKey, deviceId).rows.key,
    keyRowEncoding(deviceId, next),
  );
  db.prepare(
    'UPDATE keys SET spki = @spki, attributes_json = @attributes_json, mac = @mac WHERE id = @id',
  ).run({ ...next, mac });
}

function editAttributes(row: KeyRowFields, changes: Record<string, unknown>): KeyRowFields {
  const a = JSON.parse(row.attributes_json) as Record<string, unknown>;
  return { ...row, attributes_json: JSON.stringify({ ...a, ...changes }) };
}

describe('attestation from the key itself, even under a correct row MAC', () => {
  it('an exported key never again claims never-extractable; an imported one never claims generated', async () => {
    const d = await createTestDevice();
    const key = d.masterKey.kind === 'key' ? d.masterKey.key : new Uint8Array(0);
    await d.hsm.createPartition('p', { policy: { exportAllowed: true, importAllowed: true } });
    await d.hsm.generateKey('p', { label: 'ext', algorithm: 'ed25519', extractable: true });
    await d.hsm.exportKey('p', 'ext', { kind: 'aes-kwp', key: new Uint8Array(32).fill(1) });
    expect((await d.hsm.key('p', 'ext')).attributes.neverExtractable).toBe(false);
    const pkcs8 = generateKeyPairSync('ed25519').privateKey.export({
      type: 'pkcs8',
      format: 'der',
    });
    await d.hsm.importKey('p', { label: 'imp', pkcs8: new Uint8Array(pkcs8) });
    await d.hsm.close();
    withRawDb(d.storePath, (db) => {
      rewriteWithMac(db, key, 'ext', (r) =>
        editAttributes(r, { extractable: false, neverExtractable: true }),
      );
      rewriteWithMac(db, key, 'imp', (r) =>
        editAttributes(r, { origin: 'generated', local: true, alwaysSensitive: true }),
      );
    });
    const hsm = await Hsm.open(d.storePath, d.masterKey);
    try {
      // The row reads (its MAC is right) but is not attested.
      expect((await hsm.key('p', 'ext')).attributes.neverExtractable).toBe(true);
      await expectHsmRejection(hsm.attestKey('p', 'ext'), 'integrity-failed');
      await expectHsmRejection(
        hsm.attestKey('p', 'imp', { format: 'certificate' }),
        'integrity-failed',
      );
    } finally {
      await hsm.close();
    }
  });

  it("a stored public key that is not the sealed key's is neither attested nor used to sign", async () => {
    const d = await createTestDevice();
    const key = d.masterKey.kind === 'key' ? d.masterKey.key : new Uint8Array(0);
    await d.hsm.generateKey('default', { label: 'k', algorithm: 'ecdsa-p256' });
    await d.hsm.close();
    const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
      type: 'spki',
      format: 'der',
    });
    withRawDb(d.storePath, (db) => {
      rewriteWithMac(db, key, 'k', (r) => ({ ...r, spki: attacker }));
    });
    const hsm = await Hsm.open(d.storePath, d.masterKey);
    try {
      await expectHsmRejection(hsm.attestKey('default', 'k'), 'integrity-failed');
      await expectHsmRejection(
        hsm.attestKey('default', 'k', { format: 'certificate' }),
        'integrity-failed',
      );
      await expectHsmRejection(
        (await hsm.signer('default', 'k')).sign(MESSAGE),
        'integrity-failed',
      );
      const log = (await auditEntries(hsm)).filter((e) => e.outcome === 'failure');
      expect(log.map((e) => e.action)).toEqual(['key.attest', 'key.attest', 'key.use']);
    } finally {
      await hsm.close();
    }
  });
});

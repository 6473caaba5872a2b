// The store is hostile: offline edits of the SQLite file with nothing but SQL (no master key)
// of every column that carries a decision, row swaps, moved, replayed and fabricated rows,
// replaced officer hashes. Each case asserts the integrity failure, that the operation did not
// happen, and its audit entry. TAMPER_CASES is the table of cases and expected outcomes.
import { copyFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { Hsm, HsmError, type HsmErrorCode, type MasterKeyInput } from '../../src/hsm/index.js';
import { hashCredential } from '../../src/hsm/roles.js';
import { auditEntries, createTestDevice, OFFICER } from '../helpers/hsm.js';
import { tempDir } from '../helpers/tmp.js';
import { MESSAGE, withRawDb } from '../unit/hsm/support.js';

const ATTACKER = { name: OFFICER.name, passphrase: 'mallory chose this passphrase' } as const;
const EXPORT_KEY = { kind: 'aes-kwp', key: new Uint8Array(32).fill(9) } as const;

type Db = Database.Database;

interface TamperCase {
  /** What the attacker edits, in words (the table the issue note lists). */
  readonly edit: string;
  /** What the attacker then asks the HSM to do. */
  readonly attempt: string;
  /** The expected outcome, in words. */
  readonly outcome: string;
  readonly tamper: (db: Db) => void;
  /** The operation; `undefined` when the store must already be refused at open. */
  readonly run: ((hsm: Hsm) => Promise<unknown>) | undefined;
  readonly code: HsmErrorCode;
  /** The audit entry of the failure: action and outcome (absent: no entry can be written). */
  readonly audit: { readonly action: string; readonly outcome: 'failure' | 'refused' } | undefined;
  /** Checks on the raw file afterwards that the operation did not happen. */
  readonly unchanged?: (db: Db) => void;
}

function keyField(db: Db, label: string, column: string, partition = 'p'): unknown {
  const row = db
    .prepare(
      `SELECT k.${column} AS v FROM keys k JOIN partitions p ON p.id = k.partition_id WHERE p.name = ? AND k.label = ?`,
    )
    .get(partition, label) as { v: unknown } | undefined;
  if (row === undefined) throw new Error(`no key ${partition}/${label}`);
  return row.v;
}

function partitionId(db: Db, name: string): string {
  return (db.prepare('SELECT id FROM partitions WHERE name = ?').get(name) as { id: string }).id;
}

function setAttr(db: Db, label: string, path: string, value: string, partition = 'p'): void {
  db.prepare(
    `UPDATE keys SET attributes_json = json_set(attributes_json, ?, json(?)) WHERE label = ? AND partition_id = ?`,
  ).run(path, value, label, partitionId(db, partition));
}

function setPolicy(db: Db, partition: string, path: string, value: string): void {
  db.prepare(
    'UPDATE partitions SET policy_json = json_set(policy_json, ?, json(?)) WHERE name = ?',
  ).run(path, value, partition);
}

function successes(db: Db, action: string): number {
  return (
    db
      .prepare("SELECT count(*) AS n FROM audit WHERE action = ? AND outcome = 'success'")
      .get(action) as { n: number }
  ).n;
}

function keyCount(db: Db, partition: string): number {
  return (
    db
      .prepare('SELECT count(*) AS n FROM keys WHERE partition_id = ?')
      .get(partitionId(db, partition)) as { n: number }
  ).n;
}

const attackerSpki: Buffer = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
  type: 'spki',
  format: 'der',
});

/** Snapshots of rows taken from the template before a legitimate change (for replays). */
interface Snapshots {
  readonly otherActive: Record<string, unknown>;
  readonly roBefore: Record<string, unknown>;
}
let snapshots: Snapshots;

function putRow(db: Db, table: string, row: Record<string, unknown>, key: string): void {
  const cols = Object.keys(row);
  db.prepare(`DELETE FROM ${table} WHERE ${key} = ?`).run(row[key]);
  db.prepare(
    `INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((c) => '@' + c).join(', ')})`,
  ).run(row);
}

function swapColumn(db: Db, column: string, a: string, b: string): void {
  const va = keyField(db, a, column);
  const vb = keyField(db, b, column);
  const pid = partitionId(db, 'p');
  const set = db.prepare(`UPDATE keys SET ${column} = ? WHERE partition_id = ? AND label = ?`);
  if (column === 'label') {
    set.run('swap-tmp', pid, a);
    set.run(va, pid, b);
    set.run(vb, pid, 'swap-tmp');
    return;
  }
  set.run(vb, pid, a);
  set.run(va, pid, b);
}

const expectKeyState = (label: string, state: string) => (db: Db) => {
  expect(keyField(db, label, 'state')).toBe(state);
};

export const TAMPER_CASES: readonly TamperCase[] = [
  {
    edit: 'keys.attributes_json: extractable=true on a non-extractable key',
    attempt: 'key export',
    outcome: 'integrity-failed; nothing exported; key.export failure',
    tamper: (db) => {
      setAttr(db, 'sealed', '$.extractable', 'true');
      setAttr(db, 'sealed', '$.neverExtractable', 'false');
    },
    run: (h) => h.exportKey('p', 'sealed', EXPORT_KEY),
    code: 'integrity-failed',
    audit: { action: 'key.export', outcome: 'failure' },
    unchanged: (db) => {
      expect(successes(db, 'key.export')).toBe(1);
    },
  },
  {
    edit: 'partitions.policy_json: exportAllowed=true where export is off',
    attempt: 'key export of an extractable key',
    outcome: 'integrity-failed; nothing exported; key.export failure',
    tamper: (db) => {
      setPolicy(db, 'default', '$.exportAllowed', 'true');
    },
    run: (h) => h.exportKey('default', 'dkx', EXPORT_KEY),
    code: 'integrity-failed',
    audit: { action: 'key.export', outcome: 'failure' },
    unchanged: (db) => {
      expect(successes(db, 'key.export')).toBe(1);
    },
  },
  {
    edit: 'keys.attributes_json: an exported key set back to extractable=false, neverExtractable=true',
    attempt: 'key attest (evidence)',
    outcome: 'integrity-failed; no evidence; key.attest failure',
    tamper: (db) => {
      setAttr(db, 'ext', '$.extractable', 'false');
      setAttr(db, 'ext', '$.neverExtractable', 'true');
    },
    run: (h) => h.attestKey('p', 'ext'),
    code: 'integrity-failed',
    audit: { action: 'key.attest', outcome: 'failure' },
  },
  {
    edit: 'keys.attributes_json: an imported key relabelled origin=generated, local=true',
    attempt: 'key attest (certificate)',
    outcome: 'integrity-failed; no certificate; key.attest failure',
    tamper: (db) => {
      setAttr(db, 'imported', '$.origin', '"generated"');
      setAttr(db, 'imported', '$.local', 'true');
    },
    run: (h) => h.attestKey('p', 'imported', { format: 'certificate' }),
    code: 'integrity-failed',
    audit: { action: 'key.attest', outcome: 'failure' },
  },
  {
    edit: "keys.spki: the attacker's public key on a real key",
    attempt: 'key attest (evidence)',
    outcome: 'integrity-failed; no evidence; key.attest failure',
    tamper: (db) => {
      db.prepare("UPDATE keys SET spki = ? WHERE label = 'sealed'").run(attackerSpki);
    },
    run: (h) => h.attestKey('p', 'sealed'),
    code: 'integrity-failed',
    audit: { action: 'key.attest', outcome: 'failure' },
  },
  {
    edit: 'keys.state: a trashed key set to active (no restore)',
    attempt: 'sign with it',
    outcome: 'integrity-failed; no signature; key.use failure; still invalidated for the HSM',
    tamper: (db) => {
      db.prepare(
        "UPDATE keys SET state = 'active', invalidated_at = NULL WHERE label = 'trashed'",
      ).run();
    },
    run: async (h) => (await h.signer('p', 'trashed')).sign(MESSAGE),
    code: 'integrity-failed',
    audit: { action: 'key.use', outcome: 'failure' },
    unchanged: (db) => {
      expect(successes(db, 'key.restore')).toBe(0);
    },
  },
  {
    edit: 'keys.state: an active key set to invalidated (to get it purged)',
    attempt: 'key purge with the real officer',
    outcome: 'integrity-failed; key kept; key.purge failure',
    tamper: (db) => {
      db.prepare("UPDATE keys SET state = 'invalidated' WHERE label = 'other'").run();
    },
    run: async (h) => {
      await h.purgeKey('p', 'other', OFFICER);
    },
    code: 'integrity-failed',
    audit: { action: 'key.purge', outcome: 'failure' },
    unchanged: (db) => {
      expect(keyCount(db, 'p')).toBe(8);
    },
  },
  {
    edit: 'keys.partition_id: a key moved to another partition',
    attempt: 'sign in the new partition',
    outcome: 'integrity-failed; key.use failure',
    tamper: (db) => {
      db.prepare("UPDATE keys SET partition_id = ? WHERE label = 'dk'").run(partitionId(db, 'p'));
    },
    run: (h) => h.signer('p', 'dk'),
    code: 'integrity-failed',
    audit: { action: 'key.use', outcome: 'failure' },
  },
  {
    edit: "keys.role: the partition timestamp key made a 'user' key",
    attempt: 'key delete',
    outcome: 'integrity-failed; key kept; key.delete failure',
    tamper: (db) => {
      db.prepare(
        "UPDATE keys SET role = 'user', attributes_json = json_set(attributes_json, '$.destroyable', json('true')) WHERE label = 'partition-timestamp' AND partition_id = ?",
      ).run(partitionId(db, 'p'));
    },
    run: (h) => h.deleteKey('p', 'partition-timestamp'),
    code: 'integrity-failed',
    audit: { action: 'key.delete', outcome: 'failure' },
    unchanged: (db) => {
      expect(keyField(db, 'partition-timestamp', 'state')).toBe('active');
    },
  },
  {
    edit: 'keys.algorithm: ecdsa-p256 relabelled ecdsa-p384',
    attempt: 'sign with it',
    outcome: 'integrity-failed; key.use failure',
    tamper: (db) => {
      db.prepare("UPDATE keys SET algorithm = 'ecdsa-p384' WHERE label = 'other'").run();
    },
    run: (h) => h.signer('p', 'other'),
    code: 'integrity-failed',
    audit: { action: 'key.use', outcome: 'failure' },
  },
  {
    edit: 'keys.created_at: creation time moved (attested creationTime)',
    attempt: 'key show',
    outcome: 'integrity-failed; key.show failure',
    tamper: (db) => {
      db.prepare(
        "UPDATE keys SET created_at = '2001-01-01T00:00:00.000Z' WHERE label = 'sealed'",
      ).run();
    },
    run: (h) => h.key('p', 'sealed'),
    code: 'integrity-failed',
    audit: { action: 'key.show', outcome: 'failure' },
  },
  {
    edit: 'keys.audit_seq: raised to hide a later change',
    attempt: 'key list',
    outcome: 'integrity-failed; key.list failure',
    tamper: (db) => {
      db.prepare("UPDATE keys SET audit_seq = audit_seq + 1000 WHERE label = 'sealed'").run();
    },
    run: (h) => h.listKeys('p'),
    code: 'integrity-failed',
    audit: { action: 'key.list', outcome: 'failure' },
  },
  {
    edit: 'keys.label swapped between two keys (row swap)',
    attempt: 'sign with the label',
    outcome: 'integrity-failed; key.use failure',
    tamper: (db) => {
      swapColumn(db, 'label', 'sealed', 'other');
    },
    run: (h) => h.signer('p', 'sealed'),
    code: 'integrity-failed',
    audit: { action: 'key.use', outcome: 'failure' },
  },
  {
    edit: 'keys.wrapped swapped between two keys (row swap)',
    attempt: 'sign',
    outcome: 'integrity-failed; key.use failure',
    tamper: (db) => {
      swapColumn(db, 'wrapped', 'sealed', 'other');
    },
    run: (h) => h.signer('p', 'other'),
    code: 'integrity-failed',
    audit: { action: 'key.use', outcome: 'failure' },
  },
  {
    edit: 'keys.attributes_json + mac swapped between an extractable and a sealed key',
    attempt: 'key export',
    outcome: 'integrity-failed; nothing exported; key.export failure',
    tamper: (db) => {
      swapColumn(db, 'attributes_json', 'sealed', 'ext');
      swapColumn(db, 'mac', 'sealed', 'ext');
    },
    run: (h) => h.exportKey('p', 'sealed', EXPORT_KEY),
    code: 'integrity-failed',
    audit: { action: 'key.export', outcome: 'failure' },
    unchanged: (db) => {
      expect(successes(db, 'key.export')).toBe(1);
    },
  },
  {
    edit: 'keys: an older copy of a row put back (active, before its delete)',
    attempt: 'sign with it',
    outcome: 'integrity-failed (older than its last change in the log); key.use failure',
    tamper: (db) => {
      putRow(db, 'keys', snapshots.otherActive, 'id');
    },
    run: (h) => h.signer('p', 'deleted-later'),
    code: 'integrity-failed',
    audit: { action: 'key.use', outcome: 'failure' },
  },
  {
    edit: "keys: a fabricated row (attacker's public key, generated, never-extractable, copied mac and blob)",
    attempt: 'key attest (evidence)',
    outcome: 'integrity-failed; no evidence; key.attest failure',
    tamper: (db) => {
      fabricateKey(db);
    },
    run: (h) => h.attestKey('p', 'fake'),
    code: 'integrity-failed',
    audit: { action: 'key.attest', outcome: 'failure' },
  },
  {
    edit: 'keys: the same fabricated row',
    attempt: 'key attest (certificate)',
    outcome: 'integrity-failed; no certificate; key.attest failure',
    tamper: (db) => {
      fabricateKey(db);
    },
    run: (h) => h.attestKey('p', 'fake', { format: 'certificate' }),
    code: 'integrity-failed',
    audit: { action: 'key.attest', outcome: 'failure' },
  },
  {
    edit: 'keys: a fabricated row without a mac',
    attempt: 'key list',
    outcome: 'integrity-failed; key.list failure',
    tamper: (db) => {
      fabricateKey(db, null);
    },
    run: (h) => h.listKeys('p'),
    code: 'integrity-failed',
    audit: { action: 'key.list', outcome: 'failure' },
  },
  {
    edit: 'partitions.policy_json: readOnly=false on a read-only partition',
    attempt: 'key generate',
    outcome: 'integrity-failed; no key generated; key.generate failure',
    tamper: (db) => {
      setPolicy(db, 'ro', '$.readOnly', 'false');
    },
    run: (h) => h.generateKey('ro', { label: 'new', algorithm: 'ed25519' }),
    code: 'integrity-failed',
    audit: { action: 'key.generate', outcome: 'failure' },
    unchanged: (db) => {
      expect(keyCount(db, 'ro')).toBe(2);
    },
  },
  {
    edit: 'partitions.policy_json: importAllowed=true where import is off',
    attempt: 'key import',
    outcome: 'integrity-failed; nothing imported; key.import failure',
    tamper: (db) => {
      setPolicy(db, 'default', '$.importAllowed', 'true');
    },
    run: (h) => h.importKey('default', { label: 'imp', pkcs8: importable() }),
    code: 'integrity-failed',
    audit: { action: 'key.import', outcome: 'failure' },
    unchanged: (db) => {
      expect(keyCount(db, 'default')).toBe(4);
    },
  },
  {
    edit: 'partitions.policy_json: invalidation=false (delete destroys instead of trashing)',
    attempt: 'key delete',
    outcome: 'integrity-failed; key kept; key.delete failure',
    tamper: (db) => {
      setPolicy(db, 'p', '$.invalidation', 'false');
    },
    run: (h) => h.deleteKey('p', 'other'),
    code: 'integrity-failed',
    audit: { action: 'key.delete', outcome: 'failure' },
    unchanged: expectKeyState('other', 'active'),
  },
  {
    edit: 'partitions: an older copy of the policy row put back (before readOnly was set)',
    attempt: 'key generate',
    outcome: 'integrity-failed (older than its last change in the log); key.generate failure',
    tamper: (db) => {
      putRowKeepingKeys(db, snapshots.roBefore);
    },
    run: (h) => h.generateKey('ro', { label: 'new', algorithm: 'ed25519' }),
    code: 'integrity-failed',
    audit: { action: 'key.generate', outcome: 'failure' },
    unchanged: (db) => {
      expect(keyCount(db, 'ro')).toBe(2);
    },
  },
  {
    edit: 'partitions.timestamp_certificate swapped between two partitions',
    attempt: 'timestamp signer',
    outcome: 'integrity-failed; key.use failure',
    tamper: (db) => {
      const a = db
        .prepare("SELECT timestamp_certificate AS c FROM partitions WHERE name = 'p'")
        .get() as { c: Buffer };
      const b = db
        .prepare("SELECT timestamp_certificate AS c FROM partitions WHERE name = 'default'")
        .get() as { c: Buffer };
      db.prepare("UPDATE partitions SET timestamp_certificate = ? WHERE name = 'p'").run(b.c);
      db.prepare("UPDATE partitions SET timestamp_certificate = ? WHERE name = 'default'").run(a.c);
    },
    run: (h) => h.timestampSigner('p'),
    code: 'integrity-failed',
    audit: { action: 'key.use', outcome: 'failure' },
  },
  {
    edit: 'partitions.name swapped between two partitions (moved rows)',
    attempt: 'partition show',
    outcome: 'integrity-failed; partition.show failure',
    tamper: (db) => {
      db.prepare("UPDATE partitions SET name = 'swap' WHERE name = 'p'").run();
      db.prepare("UPDATE partitions SET name = 'p' WHERE name = 'default'").run();
      db.prepare("UPDATE partitions SET name = 'default' WHERE name = 'swap'").run();
    },
    run: (h) => h.partition('p'),
    code: 'integrity-failed',
    audit: { action: 'partition.show', outcome: 'failure' },
  },
  {
    edit: "officers.hash and params_json replaced with those of the attacker's passphrase",
    attempt: 'key purge with that passphrase',
    outcome: 'integrity-failed; key kept; key.purge failure, actor the local principal',
    tamper: (db) => {
      const c = hashCredential(OFFICER.name, ATTACKER.passphrase);
      db.prepare('UPDATE officers SET hash = ?, params_json = ? WHERE name = ?').run(
        c.hash,
        JSON.stringify(c.params),
        OFFICER.name,
      );
    },
    run: async (h) => {
      await h.purgeKey('p', 'trashed', ATTACKER);
    },
    code: 'integrity-failed',
    audit: { action: 'key.purge', outcome: 'failure' },
    unchanged: (db) => {
      expect(keyField(db, 'trashed', 'state')).toBe('invalidated');
      const last = db.prepare('SELECT actor FROM audit ORDER BY seq DESC LIMIT 1').get() as {
        actor: string;
      };
      expect(last.actor).toBe('operator');
    },
  },
  {
    edit: 'officers.params_json: scrypt cost lowered',
    attempt: 'partition policy change with the real officer',
    outcome: 'integrity-failed; policy unchanged; partition.policy failure',
    tamper: (db) => {
      db.prepare("UPDATE officers SET params_json = json_set(params_json, '$.N', 1024)").run();
    },
    run: (h) => h.setPartitionPolicy('ro', { readOnly: false }, OFFICER),
    code: 'integrity-failed',
    audit: { action: 'partition.policy', outcome: 'failure' },
    unchanged: (db) => {
      const row = db.prepare("SELECT policy_json FROM partitions WHERE name = 'ro'").get() as {
        policy_json: string;
      };
      expect(JSON.parse(row.policy_json)).toMatchObject({ readOnly: true });
    },
  },
  {
    edit: "officers: a fabricated officer row (attacker's name and hash, copied mac)",
    attempt: 'key restore as that officer',
    outcome: 'integrity-failed; key still trashed; key.restore failure',
    tamper: (db) => {
      const c = hashCredential('mallory', ATTACKER.passphrase);
      const mac = (db.prepare('SELECT mac FROM officers').get() as { mac: Buffer }).mac;
      db.prepare(
        "INSERT INTO officers (name, params_json, hash, created_at, mac) VALUES ('mallory', ?, ?, '2026-01-01T00:00:00.000Z', ?)",
      ).run(JSON.stringify(c.params), c.hash, mac);
    },
    run: (h) => h.restoreKey('p', 'trashed', { name: 'mallory', passphrase: ATTACKER.passphrase }),
    code: 'integrity-failed',
    audit: { action: 'key.restore', outcome: 'failure' },
    unchanged: expectKeyState('trashed', 'invalidated'),
  },
  {
    edit: 'device.certificate replaced (by the root certificate)',
    attempt: 'device show',
    outcome: 'integrity-failed; device.show failure',
    tamper: (db) => {
      db.prepare('UPDATE device SET certificate = root_certificate').run();
    },
    run: (h) => h.device(),
    code: 'integrity-failed',
    audit: { action: 'device.show', outcome: 'failure' },
  },
  {
    edit: 'device.certificate replaced (by the root certificate)',
    attempt: 'timestamp signer (as serve does at start-up)',
    outcome: 'integrity-failed; key.use failure',
    tamper: (db) => {
      db.prepare('UPDATE device SET certificate = root_certificate').run();
    },
    run: (h) => h.timestampSigner('default'),
    code: 'integrity-failed',
    audit: { action: 'key.use', outcome: 'failure' },
  },
  {
    edit: 'device.development: 1 set to 0',
    attempt: 'device show',
    outcome: 'integrity-failed; device.show failure',
    tamper: (db) => {
      db.prepare('UPDATE device SET development = 0').run();
    },
    run: (h) => h.device(),
    code: 'integrity-failed',
    audit: { action: 'device.show', outcome: 'failure' },
  },
  {
    edit: 'device.key_id pointed at a partition attestation key',
    attempt: 'device show',
    outcome: 'integrity-failed; device.show failure',
    tamper: (db) => {
      db.prepare(
        "UPDATE device SET key_id = (SELECT id FROM keys WHERE label = 'partition-attestation' LIMIT 1)",
      ).run();
    },
    run: (h) => h.device(),
    code: 'integrity-failed',
    audit: { action: 'device.show', outcome: 'failure' },
  },
  {
    edit: 'device: a second device row',
    attempt: 'device show',
    outcome: 'integrity-failed; device.show failure',
    tamper: (db) => {
      db.prepare(
        "INSERT INTO device SELECT 'SWHSM-0000000000000000', key_id, root_certificate, certificate, factory_label, development, organization, country, created_at, mac FROM device",
      ).run();
    },
    run: (h) => h.device(),
    code: 'integrity-failed',
    audit: { action: 'device.show', outcome: 'failure' },
  },
  {
    edit: 'meta.schema_version set back to 1 (to have the rows re-MACed)',
    attempt: 'open the store',
    outcome: 'integrity-failed (its key-check value is of version 2); store.migrate failure',
    tamper: (db) => {
      db.prepare("UPDATE meta SET value = '1' WHERE name = 'schema_version'").run();
    },
    run: undefined,
    code: 'integrity-failed',
    audit: { action: 'store.migrate', outcome: 'failure' },
  },
  {
    edit: 'meta.device_id changed (the salt of every derived key)',
    attempt: 'open the store',
    outcome: 'master-key-wrong at open (exit 77); nothing can be written',
    tamper: (db) => {
      db.prepare("UPDATE meta SET value = 'SWHSM-0000000000000000' WHERE name = 'device_id'").run();
    },
    run: undefined,
    code: 'master-key-wrong',
    audit: undefined,
  },
];

function importable(): Uint8Array {
  return new Uint8Array(
    generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'der' }),
  );
}

/** A key row the attacker writes: their public key, the best attributes, another row's blob. */
function fabricateKey(db: Db, mac: 'copied' | null = 'copied'): void {
  const src = db
    .prepare(
      "SELECT * FROM keys WHERE label = 'sealed' AND partition_id = (SELECT id FROM partitions WHERE name = 'p')",
    )
    .get() as Record<string, unknown>;
  putRow(
    db,
    'keys',
    {
      ...src,
      id: '00000000-0000-4000-8000-000000000000',
      label: 'fake',
      spki: attackerSpki,
      mac: mac === null ? null : src.mac,
    },
    'id',
  );
}

/** Puts back an older partition row (its keys reference it, so update in place). */
function putRowKeepingKeys(db: Db, row: Record<string, unknown>): void {
  const cols = Object.keys(row).filter((c) => c !== 'id');
  db.prepare(
    `UPDATE partitions SET ${cols.map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id`,
  ).run(row);
}

let template: string;
let masterKey: MasterKeyInput;

beforeAll(async () => {
  const d = await createTestDevice();
  const h = d.hsm;
  masterKey = d.masterKey;
  await h.createPartition('p', { policy: { exportAllowed: true, importAllowed: true } });
  await h.createPartition('ro');
  await h.generateKey('p', { label: 'sealed', algorithm: 'ecdsa-p256' });
  await h.generateKey('p', { label: 'ext', algorithm: 'ed25519', extractable: true });
  await h.exportKey('p', 'ext', EXPORT_KEY);
  await h.generateKey('p', { label: 'other', algorithm: 'ecdsa-p256' });
  await h.generateKey('p', { label: 'trashed', algorithm: 'ed25519' });
  await h.deleteKey('p', 'trashed');
  await h.importKey('p', { label: 'imported', pkcs8: importable() });
  await h.generateKey('p', { label: 'deleted-later', algorithm: 'ecdsa-p256' });
  await h.generateKey('default', { label: 'dk', algorithm: 'ecdsa-p256' });
  await h.generateKey('default', { label: 'dkx', algorithm: 'ed25519', extractable: true });
  const roBefore = withRawDb(d.storePath, (db) =>
    db.prepare("SELECT * FROM partitions WHERE name = 'ro'").get(),
  ) as Record<string, unknown>;
  await h.setPartitionPolicy('ro', { readOnly: true }, OFFICER);
  const otherActive = withRawDb(d.storePath, (db) =>
    db.prepare("SELECT * FROM keys WHERE label = 'deleted-later'").get(),
  ) as Record<string, unknown>;
  await h.deleteKey('p', 'deleted-later');
  await h.close();
  snapshots = { otherActive, roBefore: roBefore };
  template = d.storePath;
});

function storeCopy(): string {
  const path = join(tempDir(), 'tampered.sqlite');
  copyFileSync(template, path);
  return path;
}

async function attempt(path: string, c: TamperCase): Promise<unknown> {
  let hsm: Hsm | undefined;
  try {
    hsm = await Hsm.open(path, masterKey);
    if (c.run !== undefined) await c.run(hsm);
    return undefined;
  } catch (error) {
    return error;
  } finally {
    await hsm?.close();
  }
}

describe('offline tampering of the store file', () => {
  it('the template store opens and verifies untouched', async () => {
    const path = storeCopy();
    const hsm = await Hsm.open(path, masterKey);
    try {
      expect((await hsm.verifyAudit()).ok).toBe(true);
      expect((await hsm.listKeys('p')).map((k) => k.label).sort()).toEqual([
        'deleted-later',
        'ext',
        'imported',
        'other',
        'partition-attestation',
        'partition-timestamp',
        'sealed',
        'trashed',
      ]);
      await hsm.attestKey('p', 'sealed');
    } finally {
      await hsm.close();
    }
  });

  it('a store with a tampered row still opens for audit verify and export', async () => {
    const path = storeCopy();
    withRawDb(path, (db) => {
      db.prepare('UPDATE device SET development = 0').run();
      setAttr(db, 'sealed', '$.extractable', 'true');
    });
    const hsm = await Hsm.open(path, masterKey);
    try {
      expect((await hsm.verifyAudit()).ok).toBe(true);
      expect((await auditEntries(hsm)).length).toBeGreaterThan(10);
    } finally {
      await hsm.close();
    }
  });

  it.each(TAMPER_CASES.map((c) => [`${c.edit} -> ${c.attempt}`, c] as const))(
    '%s',
    async (_name, c) => {
      const path = storeCopy();
      const before = withRawDb(path, (db) => {
        c.tamper(db);
        return (db.prepare('SELECT max(seq) AS s FROM audit').get() as { s: number }).s;
      });
      const error = await attempt(path, c);
      expect(error, c.outcome).toBeInstanceOf(HsmError);
      expect((error as HsmError).code).toBe(c.code);
      withRawDb(path, (db) => {
        const after = db
          .prepare(
            'SELECT seq, action, outcome, details_json FROM audit WHERE seq > ? ORDER BY seq',
          )
          .all(before) as { seq: number; action: string; outcome: string; details_json: string }[];
        if (c.audit === undefined) {
          expect(after).toEqual([]);
        } else {
          // Exactly one entry: the failure, with its code; nothing succeeded.
          expect(after.map((e) => [e.action, e.outcome])).toEqual([
            [c.audit.action, c.audit.outcome],
          ]);
          expect(JSON.parse(after[0]!.details_json)).toMatchObject({ code: c.code });
        }
        c.unchanged?.(db);
      });
    },
  );
});

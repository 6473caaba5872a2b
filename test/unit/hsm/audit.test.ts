// The audit log: one entry per operation (refusals included), a hash chain under a MAC keyed by
// the master key, and detection of every single-column edit, deleted rows and re-hashed rows.
import { createHash, createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit } from '../../../src/hsm/audit/log.js';
import { Hsm, type AuditEntry } from '../../../src/hsm/index.js';
import { deriveMasterKeys } from '../../../src/hsm/master-key.js';
import { openSqliteStore } from '../../../src/hsm/store/sqlite/sqlite-store.js';
import { fixedClock } from '../../../src/shared/index.js';
import { auditEntries, createTestDevice, OFFICER, type TestDevice } from '../../helpers/hsm.js';
import { expectHsmRejection, MESSAGE } from './support.js';

const NOW = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
const WRONG_OFFICER = { name: OFFICER.name, passphrase: 'wrong passphrase' } as const;

interface RawAuditRow {
  seq: number;
  at: string;
  actor: string;
  action: string;
  partition_id: string | null;
  key_id: string | null;
  outcome: string;
  details_json: string;
  prev_hash: Buffer;
  hash: Buffer;
  mac: Buffer;
}

/** The entry hash as the store defines it, computed here without the MAC key. */
function recomputeHash(prev: Buffer, row: RawAuditRow): Buffer {
  const body = JSON.stringify([
    row.seq,
    row.at,
    row.actor,
    row.action,
    row.partition_id,
    row.key_id,
    row.outcome,
    row.details_json,
  ]);
  return createHash('sha256').update(prev).update(body, 'utf8').digest();
}

type Column = 'actor' | 'action' | 'details_json' | 'outcome' | 'at' | 'partition_id' | 'key_id';

function tampered(column: Column, row: RawAuditRow): string | null {
  switch (column) {
    case 'actor':
      return `${row.actor}x`;
    case 'action':
      return `${row.action}x`;
    case 'details_json':
      return JSON.stringify({ ...(JSON.parse(row.details_json) as object), injected: true });
    case 'outcome':
      return row.outcome === 'success' ? 'failure' : 'success';
    case 'at':
      return new Date(Date.parse(row.at) + 1000).toISOString();
    case 'partition_id':
      return row.partition_id === null ? 'forged' : null;
    case 'key_id':
      return row.key_id === null ? 'forged' : null;
  }
}

describe('audit log', () => {
  let d: TestDevice;
  let hsm: Hsm;
  let raw: Database.Database;
  let auditKey: Buffer;
  const exportKey = randomBytes(32);
  const imported = generateKeyPairSync('ed25519').privateKey.export({
    type: 'pkcs8',
    format: 'der',
  });

  beforeAll(async () => {
    d = await createTestDevice({ clock: fixedClock(NOW) });
    if (d.masterKey.kind !== 'key') throw new Error('the test device uses a raw master key');
    auditKey = deriveMasterKeys(d.masterKey.key, (await d.hsm.device()).id).auditKey;
    hsm = d.hsm;
    raw = new Database(d.storePath, { fileMustExist: true });
  });

  afterAll(async () => {
    raw.close();
    await hsm.close();
  });

  function entries(): Promise<AuditEntry[]> {
    return auditEntries(hsm);
  }

  it('records device.init, officer.enrol, the officer as device SO and partition.create at init', async () => {
    const log = await entries();
    expect(log.map((e) => [e.seq, e.action, e.outcome, e.actor])).toEqual([
      [1, 'device.init', 'success', 'operator'],
      [2, 'officer.enrol', 'success', 'operator'],
      [3, 'principal.add', 'success', 'operator'],
      [4, 'role.grant', 'success', 'operator'],
      [5, 'partition.create', 'success', 'operator'],
    ]);
    const device = await hsm.device();
    expect(log[0]!.details).toMatchObject({
      deviceId: device.id,
      algorithm: 'ecdsa-p384',
      factory: d.factory.label,
      rootSha256: d.factory.rootSha256,
    });
    expect(log[0]!.keyId).toMatch(/^[0-9a-f-]{36}$/);
    expect(log[1]!.details).toEqual({ officer: OFFICER.name });
    expect(log[2]).toMatchObject({
      object: `principal:${OFFICER.name}`,
      details: { principal: OFFICER.name, type: 'officer' },
    });
    expect(log[3]).toMatchObject({
      object: `role:${OFFICER.name}/device-so/device`,
      partitionId: null,
      details: { principal: OFFICER.name, role: 'device-so', scope: 'device' },
    });
    const p = await hsm.partition('default');
    expect(log[4]!.partitionId).toBe(p.id);
    expect(log[4]!.details).toMatchObject({
      partition: 'default',
      timestampAlgorithm: 'ecdsa-p256',
      attestationAlgorithm: 'ecdsa-p384',
      timestampKeyId: (await hsm.key('default', 'partition-timestamp')).id,
      attestationKeyId: (await hsm.key('default', 'partition-attestation')).id,
    });
    for (const e of log) expect(e.at).toBe(NOW.toISOString());
  });

  it('appends an entry for every operation and every refusal', async () => {
    const start = (await entries()).length;
    const p = await hsm.createPartition('p');
    const k = await hsm.generateKey('p', { label: 'k', algorithm: 'ed25519', extractable: true });
    const n = await hsm.generateKey('p', { label: 'n', algorithm: 'ed25519' });
    await expectHsmRejection(
      hsm.exportKey('p', 'n', { kind: 'aes-kwp', key: exportKey }),
      'key-not-extractable',
    );
    await expectHsmRejection(
      hsm.exportKey('p', 'k', { kind: 'aes-kwp', key: exportKey }),
      'policy-export-denied',
    );
    await expectHsmRejection(
      hsm.importKey('p', { label: 'imp', pkcs8: new Uint8Array(imported) }),
      'policy-import-denied',
    );
    await hsm.setPartitionPolicy('p', { exportAllowed: true, importAllowed: true }, OFFICER);
    await hsm.exportKey('p', 'k', { kind: 'aes-kwp', key: exportKey });
    const imp = await hsm.importKey('p', { label: 'imp', pkcs8: new Uint8Array(imported) });
    await hsm.deleteKey('p', 'k');
    await expectHsmRejection(hsm.restoreKey('p', 'k', undefined), 'officer-required');
    await expectHsmRejection(hsm.restoreKey('p', 'k', WRONG_OFFICER), 'officer-auth-failed');
    await hsm.restoreKey('p', 'k', OFFICER);
    await expectHsmRejection(hsm.purgeKey('p', 'k', OFFICER), 'key-not-invalidated');
    await hsm.deleteKey('p', 'k');
    await hsm.purgeKey('p', 'k', OFFICER);
    await expectHsmRejection(hsm.deleteKey('p', 'partition-timestamp'), 'system-key');
    await hsm.setPartitionPolicy('p', { invalidation: false }, OFFICER);
    await hsm.deleteKey('p', 'imp');
    await hsm.setPartitionPolicy('p', { readOnly: true }, OFFICER);
    await expectHsmRejection(
      hsm.generateKey('p', { label: 'ro', algorithm: 'ed25519' }),
      'policy-read-only',
    );
    await expectHsmRejection(hsm.deleteKey('p', 'n'), 'policy-read-only');

    const log = (await entries()).slice(start);
    expect(log.map((e) => [e.action, e.outcome, e.actor, e.details.code])).toEqual([
      ['partition.create', 'success', 'operator', undefined],
      ['key.generate', 'success', 'operator', undefined],
      ['key.generate', 'success', 'operator', undefined],
      ['key.export', 'refused', 'operator', 'key-not-extractable'],
      ['key.export', 'refused', 'operator', 'policy-export-denied'],
      ['key.import', 'refused', 'operator', 'policy-import-denied'],
      ['partition.policy', 'success', OFFICER.name, undefined],
      ['key.export', 'success', 'operator', undefined],
      ['key.import', 'success', 'operator', undefined],
      ['key.invalidate', 'success', 'operator', undefined],
      ['key.restore', 'refused', 'operator', 'officer-required'],
      // A credential that fails proves nobody: logged as the local principal.
      ['key.restore', 'refused', 'operator', 'officer-auth-failed'],
      ['key.restore', 'success', OFFICER.name, undefined],
      ['key.purge', 'refused', OFFICER.name, 'key-not-invalidated'],
      ['key.invalidate', 'success', 'operator', undefined],
      ['key.purge', 'success', OFFICER.name, undefined],
      ['key.delete', 'refused', 'operator', 'system-key'],
      ['partition.policy', 'success', OFFICER.name, undefined],
      ['key.destroy', 'success', 'operator', undefined],
      ['partition.policy', 'success', OFFICER.name, undefined],
      ['key.generate', 'refused', 'operator', 'policy-read-only'],
      ['key.delete', 'refused', 'operator', 'policy-read-only'],
    ]);
    for (const e of log) expect(e.partitionId).toBe(p.id);

    const byAction = (action: string, outcome = 'success'): AuditEntry[] =>
      log.filter((e) => e.action === action && e.outcome === outcome);
    expect(byAction('key.generate').map((e) => e.keyId)).toEqual([k.id, n.id]);
    expect(byAction('key.generate')[0]!.details).toEqual({
      label: 'k',
      algorithm: 'ed25519',
      extractable: true,
    });
    expect(byAction('key.export')[0]).toMatchObject({
      keyId: k.id,
      details: { label: 'k', wrapping: 'aes-kwp' },
    });
    expect(byAction('key.export', 'refused').map((e) => e.keyId)).toEqual([n.id, k.id]);
    expect(byAction('key.import')[0]).toMatchObject({
      keyId: imp.id,
      details: { label: 'imp', algorithm: 'ed25519' },
    });
    expect(byAction('key.invalidate').map((e) => e.keyId)).toEqual([k.id, k.id]);
    expect(byAction('key.restore')[0]!.keyId).toBe(k.id);
    expect(byAction('key.purge')[0]!.keyId).toBe(k.id);
    expect(byAction('key.destroy')[0]!.keyId).toBe(imp.id);
    expect(byAction('partition.policy').at(-1)!.details).toMatchObject({
      partition: 'p',
      readOnly: true,
      invalidation: false,
      exportAllowed: true,
      importAllowed: true,
    });

    // Identifiers and facts only: no credentials or key material.
    const text = JSON.stringify(await entries());
    expect(text).not.toContain(OFFICER.passphrase);
    expect(text).not.toContain(WRONG_OFFICER.passphrase);
    expect(text).not.toContain(exportKey.toString('hex'));
    expect(text).not.toContain(exportKey.toString('base64'));
  });

  it('records not-found and duplicate refusals and unwrap failures, without secrets', async () => {
    const start = (await entries()).length;
    await hsm.generateKey('default', { label: 'dup', algorithm: 'ed25519' });
    await expectHsmRejection(
      hsm.generateKey('default', { label: 'dup', algorithm: 'ed25519' }),
      'key-exists',
    );
    await expectHsmRejection(hsm.key('default', 'absent'), 'key-not-found');
    await expectHsmRejection(hsm.listKeys('nowhere'), 'partition-not-found');
    await expectHsmRejection(hsm.createPartition('default'), 'partition-exists');
    const wrongKey = randomBytes(32);
    await expectHsmRejection(
      hsm.importWrappedKey('default', {
        label: 'w',
        wrapped: new Uint8Array(40),
        unwrapKey: wrongKey,
      }),
      'unwrap-failed',
    );
    const log = (await entries()).slice(start);
    expect(log.map((e) => [e.action, e.outcome, e.details.code])).toEqual([
      ['key.generate', 'success', undefined],
      ['key.generate', 'refused', 'key-exists'],
      ['key.show', 'refused', 'key-not-found'],
      ['key.list', 'refused', 'partition-not-found'],
      ['partition.create', 'refused', 'partition-exists'],
      ['key.import', 'failure', 'unwrap-failed'],
    ]);
    expect(log[2]!.details).toMatchObject({ partition: 'default', label: 'absent' });
    expect(JSON.stringify(log)).not.toContain(wrongKey.toString('hex'));
  });

  it('records the actor given when the store is opened', async () => {
    await hsm.close();
    hsm = await Hsm.open(d.storePath, d.masterKey, { actor: 'tsa', clock: fixedClock(NOW) });
    await hsm.generateKey('default', { label: 'by-tsa', algorithm: 'ed25519' });
    await (await hsm.timestampSigner('default')).sign(MESSAGE);
    const last = (await entries()).at(-1)!;
    expect(last).toMatchObject({ action: 'key.generate', actor: 'tsa', outcome: 'success' });
  });

  it('verifies: contiguous sequence, linked hashes, head is the last hash', async () => {
    const log = await entries();
    const v = await hsm.verifyAudit();
    expect(v).toEqual({ ok: true, entries: log.length, head: log.at(-1)!.hash });
    expect(log[0]!.prevHash).toBe('00'.repeat(32));
    log.forEach((e, i) => {
      expect(e.seq).toBe(i + 1);
      if (i > 0) expect(e.prevHash).toBe(log[i - 1]!.hash);
    });
  });

  it('detects an edit of any single column of any row, at that row', async () => {
    const rows = raw.prepare('SELECT * FROM audit ORDER BY seq').all() as RawAuditRow[];
    expect(rows.length).toBeGreaterThan(20);
    const columns: readonly Column[] = [
      'actor',
      'action',
      'details_json',
      'outcome',
      'at',
      'partition_id',
      'key_id',
    ];
    for (const row of rows) {
      for (const column of columns) {
        const update = raw.prepare(`UPDATE audit SET ${column} = ? WHERE seq = ?`);
        expect(update.run(tampered(column, row), row.seq).changes).toBe(1);
        const v = await hsm.verifyAudit();
        expect(v.ok, `${column} of ${row.seq}`).toBe(false);
        expect(v.firstBad?.seq, `${column} of ${row.seq}`).toBe(row.seq);
        update.run(row[column], row.seq);
      }
    }
    expect((await hsm.verifyAudit()).ok).toBe(true);
  });

  it('detects edits of the stored hash, link and mac', async () => {
    const row = raw.prepare('SELECT * FROM audit WHERE seq = 5').get() as RawAuditRow;
    for (const column of ['prev_hash', 'hash', 'mac'] as const) {
      const changed = Buffer.from(row[column]);
      changed[0] = changed[0]! ^ 1;
      const update = raw.prepare(`UPDATE audit SET ${column} = ? WHERE seq = 5`);
      update.run(changed);
      const v = await hsm.verifyAudit();
      expect(v.ok, column).toBe(false);
      expect(v.firstBad?.seq, column).toBe(5);
      update.run(row[column]);
    }
    expect((await hsm.verifyAudit()).ok).toBe(true);
  });

  it('detects a deleted middle row', async () => {
    const total = (await hsm.verifyAudit()).entries;
    const mid = Math.floor(total / 2);
    const row = raw.prepare('SELECT * FROM audit WHERE seq = ?').get(mid) as RawAuditRow;
    raw.prepare('DELETE FROM audit WHERE seq = ?').run(mid);
    const v = await hsm.verifyAudit();
    expect(v.ok).toBe(false);
    expect(v.firstBad?.seq).toBe(mid + 1);
    expect(v.firstBad?.reason).toMatch(/missing/);

    // Renumbering the later rows to close the gap breaks the hash chain instead.
    raw.prepare('UPDATE audit SET seq = seq - 1 WHERE seq > ?').run(mid);
    const renumbered = await hsm.verifyAudit();
    expect(renumbered.ok).toBe(false);
    expect(renumbered.firstBad?.seq).toBe(mid);
    // Shifted back in two steps so that no two rows share a seq on the way.
    raw.prepare('UPDATE audit SET seq = -(seq + 1) WHERE seq >= ?').run(mid);
    raw.prepare('UPDATE audit SET seq = -seq WHERE seq < 0').run();

    raw
      .prepare(
        `INSERT INTO audit (seq, at, actor, action, partition_id, key_id, outcome, details_json, prev_hash, hash, mac)
         VALUES (@seq, @at, @actor, @action, @partition_id, @key_id, @outcome, @details_json, @prev_hash, @hash, @mac)`,
      )
      .run(row);
    expect((await hsm.verifyAudit()).ok).toBe(true);
  });

  it('shows a truncated tail only through the recorded head', async () => {
    const before = await hsm.verifyAudit();
    const last = raw.prepare('SELECT * FROM audit ORDER BY seq DESC LIMIT 1').get() as RawAuditRow;
    raw.prepare('DELETE FROM audit WHERE seq = ?').run(last.seq);
    const after = await hsm.verifyAudit();
    expect(after.ok).toBe(true);
    expect(after.entries).toBe(before.entries - 1);
    expect(after.head).not.toBe(before.head);
    raw
      .prepare(
        `INSERT INTO audit (seq, at, actor, action, partition_id, key_id, outcome, details_json, prev_hash, hash, mac)
         VALUES (@seq, @at, @actor, @action, @partition_id, @key_id, @outcome, @details_json, @prev_hash, @hash, @mac)`,
      )
      .run(last);
    expect(await hsm.verifyAudit()).toEqual(before);
  });

  it('requires the log to extend a recorded head: the same log and a longer one do, a cut one does not', async () => {
    const head = await hsm.auditHead();
    expect(head.seq).toBe((await hsm.verifyAudit()).entries);
    await hsm.requireAuditHead(head);
    expect((await hsm.verifyAudit(head)).expectedHead).toEqual({ ...head, extended: true });
    await hsm.generateKey('default', { label: 'after-head', algorithm: 'ed25519' });
    await hsm.requireAuditHead(head);
    const later = await hsm.auditHead();
    expect(later.seq).toBeGreaterThan(head.seq);
    // Another history: the same sequence number with another hash.
    await expectHsmRejection(
      hsm.requireAuditHead({ seq: head.seq, hash: '00'.repeat(32) }),
      'audit-head-mismatch',
    );
    // The tail cut back to before the recorded head (a rollback of the log).
    const last = raw.prepare('SELECT * FROM audit ORDER BY seq DESC LIMIT 1').get() as RawAuditRow;
    raw.prepare('DELETE FROM audit WHERE seq = ?').run(last.seq);
    await expectHsmRejection(hsm.requireAuditHead(later), 'audit-head-mismatch');
    expect((await hsm.verifyAudit(later)).expectedHead?.extended).toBe(false);
    raw
      .prepare(
        `INSERT INTO audit (seq, at, actor, action, partition_id, key_id, outcome, details_json, prev_hash, hash, mac)
         VALUES (@seq, @at, @actor, @action, @partition_id, @key_id, @outcome, @details_json, @prev_hash, @hash, @mac)`,
      )
      .run(last);
    await hsm.requireAuditHead(later);
    // A broken chain is an integrity failure before any head comparison.
    raw.prepare("UPDATE audit SET actor = 'mallory' WHERE seq = 2").run();
    await expectHsmRejection(hsm.requireAuditHead(head), 'integrity-failed');
    await expectHsmRejection(hsm.auditHead(), 'integrity-failed');
    raw.prepare("UPDATE audit SET actor = 'operator' WHERE seq = 2").run();
    expect((await hsm.verifyAudit()).ok).toBe(true);
  });

  it('detects an edited row whose hash was recomputed without the MAC key', async () => {
    const original = raw.prepare('SELECT * FROM audit ORDER BY seq').all() as RawAuditRow[];
    const target = original.find((r) => r.action === 'key.export' && r.outcome === 'success')!;
    const rewrite = raw.prepare(
      'UPDATE audit SET details_json = ?, prev_hash = ?, hash = ?, mac = ? WHERE seq = ?',
    );

    // Rewrites the chain from the target onwards with a forged detail; `mac` decides each MAC.
    const forge = (mac: (hash: Buffer, row: RawAuditRow) => Buffer): void => {
      let prev: Buffer = Buffer.from(original[target.seq - 2]!.hash);
      for (const row of original.slice(target.seq - 1)) {
        const details_json =
          row.seq === target.seq ? '{"label":"k","wrapping":"none"}' : row.details_json;
        const hash = recomputeHash(prev, { ...row, details_json });
        rewrite.run(details_json, prev, hash, mac(hash, row), row.seq);
        prev = hash;
      }
    };

    // Only the edited row's hash, keeping its old MAC.
    const edited = { ...target, details_json: '{"label":"k","wrapping":"none"}' };
    rewrite.run(
      edited.details_json,
      target.prev_hash,
      recomputeHash(target.prev_hash, edited),
      target.mac,
      target.seq,
    );
    let v = await hsm.verifyAudit();
    expect(v.ok).toBe(false);
    expect(v.firstBad).toEqual({ seq: target.seq, reason: 'entry mac does not verify' });

    // The whole tail re-chained, old MACs kept.
    forge((_hash, row) => row.mac);
    v = await hsm.verifyAudit();
    expect(v.firstBad).toEqual({ seq: target.seq, reason: 'entry mac does not verify' });

    // The whole tail re-chained with MACs under a guessed key.
    const guess = randomBytes(32);
    forge((hash) => createHmac('sha256', guess).update(hash).digest());
    v = await hsm.verifyAudit();
    expect(v.firstBad).toEqual({ seq: target.seq, reason: 'entry mac does not verify' });

    // Control: with the real MAC key (derived from the master key) the same forgery passes,
    // so the MAC is what caught the rewrites above.
    forge((hash) => createHmac('sha256', auditKey).update(hash).digest());
    expect((await hsm.verifyAudit()).ok).toBe(true);

    for (const row of original) {
      rewrite.run(row.details_json, row.prev_hash, row.hash, row.mac, row.seq);
    }
    expect(await hsm.verifyAudit()).toMatchObject({
      ok: true,
      head: original.at(-1)!.hash.toString('hex'),
    });
  });
});

describe('audit rows outside the numbering', () => {
  it('a row planted with a sequence number of 0 or below is read by verify, and fails it', async () => {
    const d = await createTestDevice();
    await d.hsm.close();
    const db = new Database(d.storePath);
    try {
      const first = db.prepare('SELECT * FROM audit WHERE seq = 1').get() as Record<
        string,
        unknown
      >;
      db.prepare(
        `INSERT INTO audit (seq, at, actor, action, partition_id, key_id, outcome, details_json, prev_hash, hash, mac)
         VALUES (-5, @at, @actor, 'key.import', NULL, NULL, 'success', '{}', @prev_hash, @hash, @mac)`,
      ).run(first);
    } finally {
      db.close();
    }
    const hsm = await Hsm.open(d.storePath, d.masterKey);
    try {
      const v = await hsm.verifyAudit();
      expect(v.ok).toBe(false);
      expect(v.firstBad).toEqual({ seq: -5, reason: 'entry 1 is missing' });
    } finally {
      await hsm.close();
    }
  });
});

describe('audit entries that name a governance object', () => {
  it('carry the object under their hash: it is exported, and taking it off or adding one breaks the entry', async () => {
    const d = await createTestDevice();
    if (d.masterKey.kind !== 'key') throw new Error('the test device uses a raw master key');
    const key = deriveMasterKeys(d.masterKey.key, (await d.hsm.device()).id).auditKey;
    await d.hsm.close();
    const store = openSqliteStore(d.storePath);
    let seq = 0;
    try {
      seq = await store.tx((tx) =>
        appendAudit(tx, key, new Date(), {
          actor: 'operator',
          action: 'governance.rule.create',
          object: 'rule:r-1 ✓',
          outcome: 'success',
          details: { version: 1 },
        }),
      );
      expect(await store.audit.latestObjectChange('rule:r-1 ✓')).toBe(seq);
    } finally {
      await store.close();
    }
    const check = async (): Promise<Awaited<ReturnType<Hsm['verifyAudit']>>> => {
      const hsm = await Hsm.open(d.storePath, d.masterKey);
      try {
        return await hsm.verifyAudit();
      } finally {
        await hsm.close();
      }
    };
    const hsm = await Hsm.open(d.storePath, d.masterKey);
    try {
      expect((await hsm.verifyAudit()).ok).toBe(true);
      const log = await auditEntries(hsm);
      expect(log.find((e) => e.seq === seq)).toMatchObject({
        action: 'governance.rule.create',
        object: 'rule:r-1 ✓',
      });
      // Besides it, only the officer's principal and device SO role made at init name objects.
      expect(
        log
          .filter((e) => e.seq !== seq && e.object !== null)
          .map((e) => [e.action, e.object, e.actor]),
      ).toEqual([
        ['principal.add', 'principal:so', 'operator'],
        ['role.grant', 'role:so/device-so/device', 'operator'],
      ]);
    } finally {
      await hsm.close();
    }
    const edit = (sql: string, ...values: unknown[]): void => {
      const db = new Database(d.storePath);
      try {
        db.prepare(sql).run(...values);
      } finally {
        db.close();
      }
    };
    edit('UPDATE audit SET object = NULL WHERE seq = ?', seq);
    expect((await check()).firstBad?.seq).toBe(seq);
    edit('UPDATE audit SET object = ? WHERE seq = ?', 'rule:r-1 ✓', seq);
    expect((await check()).ok).toBe(true);
    edit("UPDATE audit SET object = 'role:admin' WHERE seq = 1");
    expect((await check()).firstBad?.seq).toBe(1);
  });
});

describe('the audit log a page at a time', () => {
  let d: TestDevice;
  beforeAll(async () => {
    d = await createTestDevice();
    for (let i = 0; i < 30; i++) {
      await d.hsm.recordAccess({ actor: 'jwt:pager', outcome: 'success', details: { n: i } });
    }
  }, 60_000);
  afterAll(async () => {
    await d.hsm.close();
  });

  it('pages through the whole log: the same entries as the export, next pointing on', async () => {
    const all = await auditEntries(d.hsm);
    const paged: AuditEntry[] = [];
    let after = 0;
    for (let pages = 0; pages < 100; pages++) {
      const page = await d.hsm.auditPage({ after, limit: 7 });
      expect(page.entries.length).toBeLessThanOrEqual(7);
      paged.push(...page.entries);
      if (page.next === null) break;
      expect(page.next).toBe(page.entries.at(-1)!.seq);
      after = page.next;
    }
    expect(paged).toStrictEqual(all);
    const last = all.at(-1)!.seq;
    expect(await d.hsm.auditPage({ after: last, limit: 5 })).toStrictEqual({
      entries: [],
      next: null,
    });
    // A page that ends exactly at the last entry says none follows.
    expect((await d.hsm.auditPage({ after: last - 3, limit: 3 })).next).toBeNull();
    expect((await d.hsm.auditPage({ after: last - 4, limit: 3 })).next).toBe(last - 1);
  });

  it('reads only the rows of the page, however far into the log it starts', async () => {
    const { auditPage } = await import('../../../src/hsm/audit/log.js');
    const store = openSqliteStore(d.storePath);
    try {
      let fullReads = 0;
      const rowsRead: number[] = [];
      const counting = {
        ...store,
        audit: {
          ...store.audit,
          entries: () => {
            fullReads++;
            return store.audit.entries();
          },
          page: async (after: number, limit: number) => {
            const rows = await store.audit.page(after, limit);
            rowsRead.push(rows.length);
            return rows;
          },
        },
      };
      for (const after of [0, 10, 25]) await auditPage(counting, after, 4);
      expect(fullReads).toBe(0);
      // Each page: its rows and one more (whether another page follows).
      expect(rowsRead).toEqual([5, 5, 5]);
    } finally {
      await store.close();
    }
  });

  it('refuses a page that is not one: a negative cursor, a limit of 0 or above 1000', async () => {
    for (const [page, field] of [
      [{ after: -1, limit: 5 }, 'after'],
      [{ after: 0.5, limit: 5 }, 'after'],
      [{ after: 0, limit: 0 }, 'limit'],
      [{ after: 0, limit: 1001 }, 'limit'],
    ] as const) {
      await expect(d.hsm.auditPage(page)).rejects.toMatchObject({
        code: 'invalid-argument',
        details: { field },
      });
    }
  });
});

// Row access for the tables that carry security decisions (keys, partitions, device, officers,
// governance): typed reads, inserts with their MACs, and compare-and-set updates and deletes
// that change a row only if it still holds the MAC the caller checked.
import type {
  AuditRow,
  DeviceRow,
  GovernanceKind,
  GovernanceRow,
  KeyRow,
  OfficerRow,
  PartitionRow,
} from '../device-store.js';
import type { Db } from './database.js';

export type { DeviceRow, KeyRow, OfficerRow, PartitionRow } from '../device-store.js';

// ------------------------------------------------------------------ keys

export function selectKeyById(db: Db, id: string): KeyRow | undefined {
  return db.prepare('SELECT * FROM keys WHERE id = ?').get(id) as KeyRow | undefined;
}

export function selectKeyByLabel(db: Db, partitionId: string, label: string): KeyRow | undefined {
  return db
    .prepare('SELECT * FROM keys WHERE partition_id = ? AND label = ?')
    .get(partitionId, label) as KeyRow | undefined;
}

export function selectKeysOfPartition(db: Db, partitionId: string): KeyRow[] {
  return db
    .prepare('SELECT * FROM keys WHERE partition_id = ? ORDER BY created_at, label')
    .all(partitionId) as KeyRow[];
}

export function selectAllKeys(db: Db): KeyRow[] {
  return db.prepare('SELECT * FROM keys ORDER BY created_at, id').all() as KeyRow[];
}

export function labelTaken(db: Db, partitionId: string, label: string): boolean {
  return (
    db
      .prepare('SELECT 1 FROM keys WHERE partition_id = ? AND label = ?')
      .get(partitionId, label) !== undefined
  );
}

export function insertKeyRow(db: Db, row: KeyRow): void {
  db.prepare(
    `INSERT INTO keys (id, partition_id, label, role, algorithm, spki, attributes_json, state, created_at, invalidated_at, wrapped, audit_seq, mac, kind)
     VALUES (@id, @partition_id, @label, @role, @algorithm, @spki, @attributes_json, @state, @created_at, @invalidated_at, @wrapped, @audit_seq, @mac, @kind)`,
  ).run(row);
}

/** Replaces the mutable columns of a key row if it still holds `expectedMac`; true when done. */
export function updateKeyRow(db: Db, row: KeyRow, expectedMac: Buffer): boolean {
  const r = db
    .prepare(
      `UPDATE keys SET attributes_json = @attributes_json, state = @state, invalidated_at = @invalidated_at,
         audit_seq = @audit_seq, mac = @mac
       WHERE id = @id AND mac = @expected`,
    )
    .run({
      id: row.id,
      attributes_json: row.attributes_json,
      state: row.state,
      invalidated_at: row.invalidated_at,
      audit_seq: row.audit_seq,
      mac: row.mac,
      expected: expectedMac,
    });
  return r.changes === 1;
}

/** Deletes a key row if it still holds `expectedMac`; true when done. */
export function deleteKeyRow(db: Db, id: string, expectedMac: Buffer): boolean {
  return db.prepare('DELETE FROM keys WHERE id = ? AND mac = ?').run(id, expectedMac).changes === 1;
}

/** Sets the MAC (and audit_seq) of a row at migration. */
export function setKeyMac(db: Db, id: string, auditSeq: number, mac: Buffer): void {
  db.prepare('UPDATE keys SET audit_seq = ?, mac = ? WHERE id = ?').run(auditSeq, mac, id);
}

// ------------------------------------------------------------------ partitions

export function selectPartitionByName(db: Db, name: string): PartitionRow | undefined {
  return db.prepare('SELECT * FROM partitions WHERE name = ?').get(name) as
    PartitionRow | undefined;
}

export function selectPartitionById(db: Db, id: string): PartitionRow | undefined {
  return db.prepare('SELECT * FROM partitions WHERE id = ?').get(id) as PartitionRow | undefined;
}

export function selectAllPartitions(db: Db): PartitionRow[] {
  return db.prepare('SELECT * FROM partitions ORDER BY name').all() as PartitionRow[];
}

export function partitionNameTaken(db: Db, name: string): boolean {
  return db.prepare('SELECT 1 FROM partitions WHERE name = ?').get(name) !== undefined;
}

export function insertPartitionRow(db: Db, row: PartitionRow): void {
  db.prepare(
    `INSERT INTO partitions (id, name, policy_json, attestation_certificate, timestamp_certificate, created_at, audit_seq, mac)
     VALUES (@id, @name, @policy_json, @attestation_certificate, @timestamp_certificate, @created_at, @audit_seq, @mac)`,
  ).run(row);
}

export function updatePartitionPolicyRow(db: Db, row: PartitionRow, expectedMac: Buffer): boolean {
  const r = db
    .prepare(
      `UPDATE partitions SET policy_json = @policy_json, audit_seq = @audit_seq, mac = @mac
       WHERE id = @id AND mac = @expected`,
    )
    .run({
      id: row.id,
      policy_json: row.policy_json,
      audit_seq: row.audit_seq,
      mac: row.mac,
      expected: expectedMac,
    });
  return r.changes === 1;
}

export function setPartitionMac(db: Db, id: string, auditSeq: number, mac: Buffer): void {
  db.prepare('UPDATE partitions SET audit_seq = ?, mac = ? WHERE id = ?').run(auditSeq, mac, id);
}

// ------------------------------------------------------------------ device and officers

export function selectDevice(db: Db): DeviceRow[] {
  return db.prepare('SELECT * FROM device').all() as DeviceRow[];
}

export function insertDeviceRow(db: Db, row: DeviceRow): void {
  db.prepare(
    `INSERT INTO device (id, key_id, root_certificate, certificate, factory_label, development, organization, country, created_at, mac)
     VALUES (@id, @key_id, @root_certificate, @certificate, @factory_label, @development, @organization, @country, @created_at, @mac)`,
  ).run(row);
}

export function setDeviceMac(db: Db, id: string, mac: Buffer): void {
  db.prepare('UPDATE device SET mac = ? WHERE id = ?').run(mac, id);
}

export function selectOfficer(db: Db, name: string): OfficerRow | undefined {
  return db.prepare('SELECT * FROM officers WHERE name = ?').get(name) as OfficerRow | undefined;
}

export function selectAllOfficers(db: Db): OfficerRow[] {
  return db.prepare('SELECT * FROM officers ORDER BY name').all() as OfficerRow[];
}

export function insertOfficerRow(db: Db, row: OfficerRow): void {
  db.prepare(
    'INSERT INTO officers (name, params_json, hash, created_at, mac) VALUES (@name, @params_json, @hash, @created_at, @mac)',
  ).run(row);
}

export function setOfficerMac(db: Db, name: string, mac: Buffer): void {
  db.prepare('UPDATE officers SET mac = ? WHERE name = ?').run(mac, name);
}

// ------------------------------------------------------------------ governance

export function selectGovernance(
  db: Db,
  kind: GovernanceKind,
  id: string,
): GovernanceRow | undefined {
  return db.prepare('SELECT * FROM governance WHERE kind = ? AND id = ?').get(kind, id) as
    GovernanceRow | undefined;
}

export function selectGovernanceOfKind(
  db: Db,
  kind: GovernanceKind,
  scope?: string,
): GovernanceRow[] {
  return (
    scope === undefined
      ? db.prepare('SELECT * FROM governance WHERE kind = ? ORDER BY id').all(kind)
      : db
          .prepare('SELECT * FROM governance WHERE kind = ? AND scope = ? ORDER BY id')
          .all(kind, scope)
  ) as GovernanceRow[];
}

export function selectAllGovernance(db: Db): GovernanceRow[] {
  return db.prepare('SELECT * FROM governance ORDER BY kind, id').all() as GovernanceRow[];
}

/** Inserts a governance row; false (and nothing changed) when one of that kind and id exists. */
export function insertGovernanceRow(db: Db, row: GovernanceRow): boolean {
  // ON CONFLICT names the key: any other constraint (the kind's CHECK) still fails.
  const r = db
    .prepare(
      `INSERT INTO governance (kind, id, scope, body_json, audit_seq, mac)
       VALUES (@kind, @id, @scope, @body_json, @audit_seq, @mac)
       ON CONFLICT (kind, id) DO NOTHING`,
    )
    .run(row);
  return r.changes === 1;
}

/** Replaces a governance row's content if it still holds `expectedMac`; true when done. */
export function updateGovernanceRow(db: Db, row: GovernanceRow, expectedMac: Buffer): boolean {
  const r = db
    .prepare(
      `UPDATE governance SET scope = @scope, body_json = @body_json, audit_seq = @audit_seq, mac = @mac
       WHERE kind = @kind AND id = @id AND mac = @expected`,
    )
    .run({
      kind: row.kind,
      id: row.id,
      scope: row.scope,
      body_json: row.body_json,
      audit_seq: row.audit_seq,
      mac: row.mac,
      expected: expectedMac,
    });
  return r.changes === 1;
}

/** Deletes a governance row if it still holds `expectedMac`; true when done. */
export function deleteGovernanceRow(
  db: Db,
  kind: GovernanceKind,
  id: string,
  expectedMac: Buffer,
): boolean {
  return (
    db
      .prepare('DELETE FROM governance WHERE kind = ? AND id = ? AND mac = ?')
      .run(kind, id, expectedMac).changes === 1
  );
}

// ------------------------------------------------------------------ the log, as rows refer to it

/** Sequence number of the newest successful audit entry of `actions` about the key (0: none). */
export function latestKeyChange(db: Db, keyId: string, actions: readonly string[]): number {
  const marks = actions.map(() => '?').join(', ');
  const row = db
    .prepare(
      `SELECT max(seq) AS seq FROM audit WHERE key_id = ? AND outcome = 'success' AND action IN (${marks})`,
    )
    .get(keyId, ...actions) as { seq: number | null };
  return row.seq ?? 0;
}

/** The same for a partition row. */
export function latestPartitionChange(
  db: Db,
  partitionId: string,
  actions: readonly string[],
): number {
  const marks = actions.map(() => '?').join(', ');
  const row = db
    .prepare(
      `SELECT max(seq) AS seq FROM audit WHERE partition_id = ? AND key_id IS NULL AND outcome = 'success' AND action IN (${marks})`,
    )
    .get(partitionId, ...actions) as { seq: number | null };
  return row.seq ?? 0;
}

/** Sequence number of the newest successful audit entry naming the governance object (0: none). */
export function latestObjectChange(db: Db, object: string): number {
  const row = db
    .prepare("SELECT max(seq) AS seq FROM audit WHERE object = ? AND outcome = 'success'")
    .get(object) as { seq: number | null };
  return row.seq ?? 0;
}

/** The newest audit sequence number (0 for an empty log). */
export function auditHeadSeq(db: Db): number {
  const row = db.prepare('SELECT max(seq) AS seq FROM audit').get() as { seq: number | null };
  return row.seq ?? 0;
}

/** True when the log records a successful export of the key. */
export function everExported(db: Db, keyId: string): boolean {
  return (
    db
      .prepare(
        "SELECT 1 FROM audit WHERE key_id = ? AND action = 'key.export' AND outcome = 'success' LIMIT 1",
      )
      .get(keyId) !== undefined
  );
}

/** How the log says the key came to be: key.generate, key.import or key.unwrap (undefined: none). */
export function creationAction(db: Db, keyId: string): string | undefined {
  const row = db
    .prepare(
      "SELECT action FROM audit WHERE key_id = ? AND outcome = 'success' AND action IN ('key.generate', 'key.import', 'key.unwrap') ORDER BY seq LIMIT 1",
    )
    .get(keyId) as { action: string } | undefined;
  return row?.action;
}

/** The device.init and store.migrate entries, which name the schema versions. */
export function schemaEntries(db: Db): { action: string; details_json: string }[] {
  return db
    .prepare(
      "SELECT action, details_json FROM audit WHERE action IN ('device.init', 'store.migrate') ORDER BY seq",
    )
    .all() as { action: string; details_json: string }[];
}

/** The newest audit entry's sequence number and hash. */
export function auditHead(db: Db): { seq: number; hash: Buffer } | undefined {
  return db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as
    { seq: number; hash: Buffer } | undefined;
}

/**
 * Up to `limit` audit rows after `afterSeq`, in order. A store not migrated yet (before schema
 * 4) has no object column: its entries name no object.
 */
export function auditPage(db: Db, afterSeq: number, limit: number): AuditRow[] {
  const page = db
    .prepare('SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?')
    .all(afterSeq, limit) as (Omit<AuditRow, 'object'> & { object?: string | null })[];
  return page.map((r) => ({ ...r, object: r.object ?? null }));
}

/**
 * Inserts an audit row. An entry that names no object leaves the column out, so that the
 * refusal of a migration is still written to a store of an older schema.
 */
export function insertAuditRow(db: Db, row: AuditRow): void {
  const { object, ...rest } = row;
  if (object === null) {
    db.prepare(
      `INSERT INTO audit (seq, at, actor, action, partition_id, key_id, outcome, details_json, prev_hash, hash, mac)
       VALUES (@seq, @at, @actor, @action, @partition_id, @key_id, @outcome, @details_json, @prev_hash, @hash, @mac)`,
    ).run(rest);
    return;
  }
  db.prepare(
    `INSERT INTO audit (seq, at, actor, action, partition_id, key_id, outcome, details_json, object, prev_hash, hash, mac)
     VALUES (@seq, @at, @actor, @action, @partition_id, @key_id, @outcome, @details_json, @object, @prev_hash, @hash, @mac)`,
  ).run(row);
}

/**
 * After a purge: folds the WAL into the database file and truncates it, so that the freed pages
 * (zeroed by secure_delete) are the only copy. Returns false when a reader kept it from finishing.
 */
export function checkpointTruncate(db: Db): boolean {
  const rows = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
  return rows[0]?.busy === 0;
}

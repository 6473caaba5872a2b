// The store seam: the one interface through which the HSM reads and writes its device store.
// Two implementations of the same schema sit behind it (store/sqlite: better-sqlite3, the
// embedded default; store/postgres: pg, for several nodes on one database). No SQL outside
// src/hsm/store. Rows come back as stored: authenticating them is the caller's work
// (src/hsm/authenticated-rows.ts), because the store is hostile.

/** A key row as stored (column names as in the schema). */
export interface KeyRow {
  id: string;
  partition_id: string | null;
  label: string;
  role: 'device' | 'partition-attestation' | 'partition-timestamp' | 'user';
  /** asymmetric: a key pair (spki: its SPKI); secret: a symmetric key (spki: its check value). */
  kind: 'asymmetric' | 'secret';
  algorithm: string;
  /** The key's public part; NULL only in rows of schemas 3 to 5 (never written so). */
  spki: Buffer | null;
  attributes_json: string;
  state: 'active' | 'invalidated';
  created_at: string;
  invalidated_at: string | null;
  wrapped: Buffer;
  audit_seq: number;
  mac: Buffer | null;
}

export interface PartitionRow {
  id: string;
  name: string;
  policy_json: string;
  attestation_certificate: Buffer;
  timestamp_certificate: Buffer;
  created_at: string;
  audit_seq: number;
  mac: Buffer | null;
}

export interface DeviceRow {
  id: string;
  key_id: string;
  root_certificate: Buffer;
  certificate: Buffer;
  factory_label: string;
  development: number;
  organization: string;
  country: string;
  created_at: string;
  mac: Buffer | null;
}

export interface OfficerRow {
  name: string;
  params_json: string;
  hash: Buffer;
  created_at: string;
  mac: Buffer | null;
}

/**
 * The kinds of governance object (roles, approver keys, quorum rules, approval requests and
 * their approvals, partition governance), all in one table: one MAC and rollback discipline.
 */
export const GOVERNANCE_KINDS = [
  'principal',
  'role',
  'approver-key',
  'rule',
  'request',
  'approval',
  'partition-governance',
  'backup-domain',
  'transport-key',
] as const;
export type GovernanceKind = (typeof GOVERNANCE_KINDS)[number];

/** A governance object as stored: its body is canonical JSON, authenticated by the row MAC. */
export interface GovernanceRow {
  kind: GovernanceKind;
  id: string;
  /** 'device', or 'partition:' and the partition id. */
  scope: string;
  body_json: string;
  /** The audit entry of the row's last change (an older copy put back is detected). */
  audit_seq: number;
  mac: Buffer;
}

export type AuditOutcome = 'success' | 'refused' | 'failure';

/** An audit row as stored. */
export interface AuditRow {
  seq: number;
  at: string;
  actor: string;
  action: string;
  partition_id: string | null;
  key_id: string | null;
  outcome: AuditOutcome;
  details_json: string;
  /** The governance object the entry changes ('kind:id'), covered by the entry's hash. */
  object: string | null;
  prev_hash: Buffer;
  hash: Buffer;
  mac: Buffer;
}

export interface MetaRepository {
  get(name: string): Promise<string | undefined>;
  /** Every meta row, ordered by name. */
  all(): Promise<{ name: string; value: string }[]>;
  /** The schema version the store says it has (0: empty store). */
  schemaVersion(): Promise<number>;
}

export interface MetaWriter extends MetaRepository {
  set(name: string, value: string): Promise<void>;
}

export interface DeviceRepository {
  /** Every device row (a sound store has exactly one). */
  all(): Promise<DeviceRow[]>;
}

export interface DeviceWriter extends DeviceRepository {
  insert(row: DeviceRow): Promise<void>;
  /** Sets the MAC of a row written before row authentication (migration only). */
  setMac(id: string, mac: Buffer): Promise<void>;
}

export interface PartitionRepository {
  byId(id: string): Promise<PartitionRow | undefined>;
  byName(name: string): Promise<PartitionRow | undefined>;
  /** Ordered by name. */
  all(): Promise<PartitionRow[]>;
  nameTaken(name: string): Promise<boolean>;
}

export interface PartitionWriter extends PartitionRepository {
  insert(row: PartitionRow): Promise<void>;
  /** Replaces policy_json, audit_seq and mac if the row still holds `expectedMac`. */
  updatePolicy(row: PartitionRow, expectedMac: Buffer): Promise<boolean>;
  setMac(id: string, auditSeq: number, mac: Buffer): Promise<void>;
}

export interface KeyRepository {
  byId(id: string): Promise<KeyRow | undefined>;
  byLabel(partitionId: string, label: string): Promise<KeyRow | undefined>;
  /** Ordered by created_at, then label. */
  ofPartition(partitionId: string): Promise<KeyRow[]>;
  /** Ordered by created_at, then id. */
  all(): Promise<KeyRow[]>;
  labelTaken(partitionId: string, label: string): Promise<boolean>;
}

export interface KeyWriter extends KeyRepository {
  insert(row: KeyRow): Promise<void>;
  /**
   * Replaces the mutable columns (attributes_json, state, invalidated_at, audit_seq, mac) if the
   * row still holds `expectedMac`; true when done (compare-and-set).
   */
  update(row: KeyRow, expectedMac: Buffer): Promise<boolean>;
  /** Deletes the row if it still holds `expectedMac`; true when done. */
  delete(id: string, expectedMac: Buffer): Promise<boolean>;
  setMac(id: string, auditSeq: number, mac: Buffer): Promise<void>;
}

export interface OfficerRepository {
  byName(name: string): Promise<OfficerRow | undefined>;
  /** Ordered by name. */
  all(): Promise<OfficerRow[]>;
}

export interface OfficerWriter extends OfficerRepository {
  insert(row: OfficerRow): Promise<void>;
  setMac(name: string, mac: Buffer): Promise<void>;
}

export interface GovernanceRepository {
  get(kind: GovernanceKind, id: string): Promise<GovernanceRow | undefined>;
  /** Every object of the kind (in one scope when given), ordered by id. */
  list(kind: GovernanceKind, scope?: string): Promise<GovernanceRow[]>;
  /** Every row, ordered by kind, then id. */
  all(): Promise<GovernanceRow[]>;
}

export interface GovernanceWriter extends GovernanceRepository {
  /** Inserts a new object; false when one of that kind and id exists. */
  insert(row: GovernanceRow): Promise<boolean>;
  /** Replaces scope, body_json, audit_seq and mac if the row still holds `expectedMac`. */
  update(row: GovernanceRow, expectedMac: Buffer): Promise<boolean>;
  /** Deletes the row if it still holds `expectedMac`; true when done. */
  delete(kind: GovernanceKind, id: string, expectedMac: Buffer): Promise<boolean>;
}

export interface AuditRepository {
  /** The newest entry's sequence number and hash (undefined: empty log). */
  head(): Promise<{ seq: number; hash: Buffer } | undefined>;
  /** Every entry in sequence order, read in pages so that a long log is not held in memory. */
  entries(): AsyncIterable<AuditRow>;
  /**
   * At most `limit` entries with a sequence number above `after`, in sequence order: one query
   * on the primary key, whatever the log's length (a page of an export costs its own rows).
   */
  page(after: number, limit: number): Promise<AuditRow[]>;
  /** Sequence number of the newest successful entry of `actions` about the key (0: none). */
  latestKeyChange(keyId: string, actions: readonly string[]): Promise<number>;
  /** The same for a partition row (entries with no key id). */
  latestPartitionChange(partitionId: string, actions: readonly string[]): Promise<number>;
  /** Sequence number of the newest successful entry naming the governance object (0: none). */
  latestObjectChange(object: string): Promise<number>;
  /** True when the log records a successful export of the key. */
  everExported(keyId: string): Promise<boolean>;
  /** The first successful key.generate or key.import of the key (undefined: neither). */
  creationAction(keyId: string): Promise<string | undefined>;
  /** details_json of every device.init and store.migrate entry, with the action. */
  schemaEntries(): Promise<{ action: string; details_json: string }[]>;
}

export interface AuditWriter extends AuditRepository {
  /** Inserts one entry; the store's UNIQUE seq refuses a second entry with the same number. */
  insert(row: AuditRow): Promise<void>;
}

/** What may be read outside a transaction. */
export interface StoreReader {
  readonly meta: MetaRepository;
  readonly device: DeviceRepository;
  readonly partitions: PartitionRepository;
  readonly keys: KeyRepository;
  readonly officers: OfficerRepository;
  readonly governance: GovernanceRepository;
  readonly audit: AuditRepository;
}

/** What a unit of work may read and write, all in one transaction. */
export interface StoreTx {
  readonly meta: MetaWriter;
  readonly device: DeviceWriter;
  readonly partitions: PartitionWriter;
  readonly keys: KeyWriter;
  readonly officers: OfficerWriter;
  readonly governance: GovernanceWriter;
  readonly audit: AuditWriter;
  /**
   * Checks that the schema is exactly what the migrations make for one of `versions` (no
   * trigger, view, rule or extra table; nothing dropped); an integrity failure otherwise.
   */
  assertSchema(versions: readonly number[]): Promise<void>;
  /** Applies pending migrations inside this transaction. */
  migrate(): Promise<{ from: number; to: number }>;
}

export interface DeviceStore extends StoreReader {
  /** Which implementation: for messages, metrics and tests; behaviour must not depend on it. */
  readonly dialect: 'sqlite' | 'postgres';
  /** Where the store is, without credentials (a file path, or a URL with the password removed). */
  readonly location: string;
  /**
   * Runs `fn` as one atomic unit of work. Writers are serialised (SQLite: BEGIN IMMEDIATE;
   * PostgreSQL: a transaction-scoped advisory lock taken first), so that a check and the change
   * it guards, and the audit entry appended after reading the log's head, see no other writer.
   * Rolls back when `fn` throws and rethrows. `fn` must use only `tx`, never this store's
   * readers (SQLite: they wait while the transaction is open, though not while it waits for
   * another connection's write lock).
   */
  tx<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` over one consistent state of the store, read only and without the writers' lock
   * (SQLite: a deferred read transaction; PostgreSQL: REPEATABLE READ READ ONLY): for a read in
   * several statements (the whole audit log) that another writer's commit must not split.
   * `fn` must use only its reader, as a transaction's `fn` uses only `tx`.
   */
  snapshot<T>(fn: (r: StoreReader) => Promise<T>): Promise<T>;
  /** Checks the schema outside a transaction (at open). */
  assertSchema(versions: readonly number[]): Promise<void>;
  /**
   * After a purge: makes the freed bytes the only copy (SQLite: WAL checkpoint with TRUNCATE,
   * after secure_delete zeroed them). False when it could not finish (a reader held it off).
   * The HSM owes a scrub after false or a failure, and retries it (src/hsm/scrub.ts).
   */
  scrubFreed(): Promise<boolean>;
  close(): Promise<void>;
}

// The SQLite device store's migrations, one per schema version (each applied in one transaction).
import { SCHEMA_VERSION } from '../schema-version.js';

export { SCHEMA_VERSION };

/** The governance kinds of schema 7 (as that step wrote them; later steps add to them). */
const V7_KINDS = [
  'principal',
  'role',
  'approver-key',
  'rule',
  'request',
  'approval',
  'partition-governance',
  'backup-domain',
] as const;

/**
 * A step that widens the governance kind CHECK: SQLite cannot change a CHECK, so the table is
 * rebuilt with its rows and their MACs as they are (the row encoding does not change).
 */
function rebuildGovernance(version: number, kinds: readonly string[]): string {
  const t = `governance_v${String(version)}`;
  return `
  CREATE TABLE ${t} (
    kind      TEXT NOT NULL CHECK (kind IN (${kinds.map((k) => `'${k}'`).join(', ')})),
    id        TEXT NOT NULL,
    scope     TEXT NOT NULL,
    body_json TEXT NOT NULL,
    audit_seq INTEGER NOT NULL,
    mac       BLOB NOT NULL,
    PRIMARY KEY (kind, id)
  ) STRICT;
  INSERT INTO ${t} (kind, id, scope, body_json, audit_seq, mac)
    SELECT kind, id, scope, body_json, audit_seq, mac FROM governance;
  DROP TABLE governance;
  ALTER TABLE ${t} RENAME TO governance;
  CREATE INDEX governance_scope ON governance (kind, scope, id);
  `;
}

/** MIGRATIONS[i] upgrades a store from version i to i + 1. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;

  CREATE TABLE device (
    id               TEXT PRIMARY KEY,
    key_id           TEXT NOT NULL,
    root_certificate BLOB NOT NULL,
    certificate      BLOB NOT NULL,
    factory_label    TEXT NOT NULL,
    development      INTEGER NOT NULL,
    organization     TEXT NOT NULL,
    country          TEXT NOT NULL,
    created_at       TEXT NOT NULL
  ) STRICT;

  CREATE TABLE partitions (
    id                      TEXT PRIMARY KEY,
    name                    TEXT NOT NULL UNIQUE,
    policy_json             TEXT NOT NULL,
    attestation_certificate BLOB NOT NULL,
    timestamp_certificate   BLOB NOT NULL,
    created_at              TEXT NOT NULL
  ) STRICT;

  CREATE TABLE keys (
    id              TEXT PRIMARY KEY,
    partition_id    TEXT REFERENCES partitions(id),
    label           TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('device', 'partition-attestation', 'partition-timestamp', 'user')),
    algorithm       TEXT NOT NULL,
    spki            BLOB NOT NULL,
    attributes_json TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('active', 'invalidated')),
    created_at      TEXT NOT NULL,
    invalidated_at  TEXT,
    wrapped         BLOB NOT NULL
  ) STRICT;
  CREATE UNIQUE INDEX keys_partition_label ON keys (ifnull(partition_id, ''), label);

  CREATE TABLE officers (
    name        TEXT PRIMARY KEY,
    params_json TEXT NOT NULL,
    hash        BLOB NOT NULL,
    created_at  TEXT NOT NULL
  ) STRICT;

  CREATE TABLE audit (
    seq          INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    partition_id TEXT,
    key_id       TEXT,
    outcome      TEXT NOT NULL CHECK (outcome IN ('success', 'refused', 'failure')),
    details_json TEXT NOT NULL,
    prev_hash    BLOB NOT NULL,
    hash         BLOB NOT NULL,
    mac          BLOB NOT NULL
  ) STRICT;
  `,
  // 2: every row that carries a security decision gets a MAC (src/hsm/integrity.ts); key and
  // partition rows name the audit entry of their last change (audit_seq), so that an older copy
  // of one row put back is detected against the log. The MACs are computed when the store is
  // opened with its master key, in the same transaction as this migration.
  `
  ALTER TABLE keys ADD COLUMN audit_seq INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE keys ADD COLUMN mac BLOB;
  ALTER TABLE partitions ADD COLUMN audit_seq INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE partitions ADD COLUMN mac BLOB;
  ALTER TABLE device ADD COLUMN mac BLOB;
  ALTER TABLE officers ADD COLUMN mac BLOB;
  CREATE INDEX audit_key ON audit (key_id, seq);
  CREATE INDEX audit_partition ON audit (partition_id, seq);
  `,
  // 3: a key kind, so that a secret (symmetric) key has a place: it has no public key. SQLite
  // cannot drop a NOT NULL: the table is rebuilt (its rows keep their MACs; the migration
  // re-authenticates them under the new row encoding).
  `
  CREATE TABLE keys_v3 (
    id              TEXT PRIMARY KEY,
    partition_id    TEXT REFERENCES partitions(id),
    label           TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('device', 'partition-attestation', 'partition-timestamp', 'user')),
    algorithm       TEXT NOT NULL,
    spki            BLOB,
    attributes_json TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('active', 'invalidated')),
    created_at      TEXT NOT NULL,
    invalidated_at  TEXT,
    wrapped         BLOB NOT NULL,
    audit_seq       INTEGER NOT NULL DEFAULT 0,
    mac             BLOB,
    kind            TEXT NOT NULL DEFAULT 'asymmetric' CHECK (kind IN ('asymmetric', 'secret')),
    CHECK ((kind = 'asymmetric') = (spki IS NOT NULL))
  ) STRICT;
  INSERT INTO keys_v3 (id, partition_id, label, role, algorithm, spki, attributes_json, state, created_at, invalidated_at, wrapped, audit_seq, mac, kind)
    SELECT id, partition_id, label, role, algorithm, spki, attributes_json, state, created_at, invalidated_at, wrapped, audit_seq, mac, 'asymmetric' FROM keys;
  DROP TABLE keys;
  ALTER TABLE keys_v3 RENAME TO keys;
  CREATE UNIQUE INDEX keys_partition_label ON keys (ifnull(partition_id, ''), label);
  `,
  // 4: governance objects (roles, approver keys, quorum rules, approval requests and their
  // approvals, partition governance), one authenticated table keyed by kind and id; an audit
  // entry may name the object it changes. The kinds are spelled out: a migration never changes
  // (GOVERNANCE_KINDS in store/device-store.ts is this list).
  `
  CREATE TABLE governance (
    kind      TEXT NOT NULL CHECK (kind IN ('principal', 'role', 'approver-key', 'rule', 'request', 'approval', 'partition-governance')),
    id        TEXT NOT NULL,
    scope     TEXT NOT NULL,
    body_json TEXT NOT NULL,
    audit_seq INTEGER NOT NULL,
    mac       BLOB NOT NULL,
    PRIMARY KEY (kind, id)
  ) STRICT;
  CREATE INDEX governance_scope ON governance (kind, scope, id);
  ALTER TABLE audit ADD COLUMN object TEXT;
  CREATE INDEX audit_object ON audit (object, seq);
  `,
  // 5: the newest change of a key or a partition found by its action, not by reading every
  // entry that names it (each use of a key is an audit entry: checking a key before a signature
  // read all of them, so signing slowed with every signature made).
  `
  CREATE INDEX audit_key_action ON audit (key_id, action, seq);
  CREATE INDEX audit_partition_action ON audit (partition_id, action, seq);
  `,
  // 6: every key row names its public part: a key pair its SPKI, a secret key its key check value
  // (src/hsm/mechanisms/secret-keys.ts), each checked against the sealed key where it is used.
  // The CHECK of schema 3 that kept a secret key's spki NULL becomes NOT NULL; SQLite cannot
  // change a CHECK, so the table is rebuilt with its rows and their MACs as they are (the row
  // encoding does not change).
  `
  CREATE TABLE keys_v6 (
    id              TEXT PRIMARY KEY,
    partition_id    TEXT REFERENCES partitions(id),
    label           TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('device', 'partition-attestation', 'partition-timestamp', 'user')),
    algorithm       TEXT NOT NULL,
    spki            BLOB NOT NULL,
    attributes_json TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('active', 'invalidated')),
    created_at      TEXT NOT NULL,
    invalidated_at  TEXT,
    wrapped         BLOB NOT NULL,
    audit_seq       INTEGER NOT NULL DEFAULT 0,
    mac             BLOB,
    kind            TEXT NOT NULL DEFAULT 'asymmetric' CHECK (kind IN ('asymmetric', 'secret'))
  ) STRICT;
  INSERT INTO keys_v6 (id, partition_id, label, role, algorithm, spki, attributes_json, state, created_at, invalidated_at, wrapped, audit_seq, mac, kind)
    SELECT id, partition_id, label, role, algorithm, spki, attributes_json, state, created_at, invalidated_at, wrapped, audit_seq, mac, kind FROM keys;
  DROP TABLE keys;
  ALTER TABLE keys_v6 RENAME TO keys;
  CREATE UNIQUE INDEX keys_partition_label ON keys (ifnull(partition_id, ''), label);
  `,
  // 7 (backup domains; numbered after the schema steps it was written beside): a governance
  // kind for a backup domain, whose key exists only inside the devices enrolled in it (README
  // "Backup and migration"). SQLite cannot change a CHECK: the table is rebuilt with its rows
  // and their MACs as they are (the row encoding does not change).
  rebuildGovernance(7, [...V7_KINDS]),
  // 8 (transport keys): a governance kind for a device's transport key, generated inside and
  // usable only to open backup bundles addressed to it (README "Backup and migration"). The
  // table is rebuilt as in 7, rows and MACs unchanged.
  rebuildGovernance(8, [...V7_KINDS, 'transport-key']),
];

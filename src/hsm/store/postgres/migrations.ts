// The PostgreSQL device store's migrations, one per schema version, each equal in meaning to the
// SQLite one of the same version (store/schema.ts): the same tables, columns, constraints and
// indexes. Each is applied in one transaction, inside the store's own schema.
//
// Where the dialects differ in spelling, not in meaning:
// - BLOB is bytea; INTEGER (64-bit in SQLite) is bigint, read back as a JS number;
// - every text column is COLLATE "C": SQLite's BINARY collation compares and orders by bytes, a
//   database's default collation (en_US, ICU...) would order partitions and keys differently
//   and could call two different labels equal;
// - ifnull() is coalesce();
// - STRICT is PostgreSQL's default (a column holds only its declared type), and SQLite's STRICT
//   tables make PRIMARY KEY columns NOT NULL, as PostgreSQL does.
// Object names are qualified with the schema: the store's sessions search pg_catalog only.
import { SCHEMA_VERSION } from '../schema-version.js';

export { SCHEMA_VERSION };

/** MIGRATIONS[i](schema) upgrades a store from version i to i + 1. */
export const MIGRATIONS: readonly ((schema: string) => string)[] = [
  (s) => `
  CREATE TABLE ${s}.meta (
    name  text COLLATE "C" PRIMARY KEY,
    value text COLLATE "C" NOT NULL
  );

  CREATE TABLE ${s}.device (
    id               text COLLATE "C" PRIMARY KEY,
    key_id           text COLLATE "C" NOT NULL,
    root_certificate bytea NOT NULL,
    certificate      bytea NOT NULL,
    factory_label    text COLLATE "C" NOT NULL,
    development      bigint NOT NULL,
    organization     text COLLATE "C" NOT NULL,
    country          text COLLATE "C" NOT NULL,
    created_at       text COLLATE "C" NOT NULL
  );

  CREATE TABLE ${s}.partitions (
    id                      text COLLATE "C" PRIMARY KEY,
    name                    text COLLATE "C" NOT NULL UNIQUE,
    policy_json             text COLLATE "C" NOT NULL,
    attestation_certificate bytea NOT NULL,
    timestamp_certificate   bytea NOT NULL,
    created_at              text COLLATE "C" NOT NULL
  );

  CREATE TABLE ${s}.keys (
    id              text COLLATE "C" PRIMARY KEY,
    partition_id    text COLLATE "C" REFERENCES ${s}.partitions(id),
    label           text COLLATE "C" NOT NULL,
    role            text COLLATE "C" NOT NULL CHECK (role IN ('device', 'partition-attestation', 'partition-timestamp', 'user')),
    algorithm       text COLLATE "C" NOT NULL,
    spki            bytea NOT NULL,
    attributes_json text COLLATE "C" NOT NULL,
    state           text COLLATE "C" NOT NULL CHECK (state IN ('active', 'invalidated')),
    created_at      text COLLATE "C" NOT NULL,
    invalidated_at  text COLLATE "C",
    wrapped         bytea NOT NULL
  );
  CREATE UNIQUE INDEX keys_partition_label ON ${s}.keys (coalesce(partition_id, ''), label);

  CREATE TABLE ${s}.officers (
    name        text COLLATE "C" PRIMARY KEY,
    params_json text COLLATE "C" NOT NULL,
    hash        bytea NOT NULL,
    created_at  text COLLATE "C" NOT NULL
  );

  CREATE TABLE ${s}.audit (
    seq          bigint PRIMARY KEY,
    at           text COLLATE "C" NOT NULL,
    actor        text COLLATE "C" NOT NULL,
    action       text COLLATE "C" NOT NULL,
    partition_id text COLLATE "C",
    key_id       text COLLATE "C",
    outcome      text COLLATE "C" NOT NULL CHECK (outcome IN ('success', 'refused', 'failure')),
    details_json text COLLATE "C" NOT NULL,
    prev_hash    bytea NOT NULL,
    hash         bytea NOT NULL,
    mac          bytea NOT NULL
  );
  `,
  // 2: row MACs and the audit entry of each row's last change (see store/schema.ts).
  (s) => `
  ALTER TABLE ${s}.keys ADD COLUMN audit_seq bigint NOT NULL DEFAULT 0;
  ALTER TABLE ${s}.keys ADD COLUMN mac bytea;
  ALTER TABLE ${s}.partitions ADD COLUMN audit_seq bigint NOT NULL DEFAULT 0;
  ALTER TABLE ${s}.partitions ADD COLUMN mac bytea;
  ALTER TABLE ${s}.device ADD COLUMN mac bytea;
  ALTER TABLE ${s}.officers ADD COLUMN mac bytea;
  CREATE INDEX audit_key ON ${s}.audit (key_id, seq);
  CREATE INDEX audit_partition ON ${s}.audit (partition_id, seq);
  `,
  // 3: a key kind, so that a secret (symmetric) key has a place: it has no public key.
  (s) => `
  ALTER TABLE ${s}.keys ADD COLUMN kind text COLLATE "C" NOT NULL DEFAULT 'asymmetric'
    CHECK (kind IN ('asymmetric', 'secret'));
  ALTER TABLE ${s}.keys ALTER COLUMN spki DROP NOT NULL;
  ALTER TABLE ${s}.keys ADD CONSTRAINT keys_spki_kind CHECK ((kind = 'asymmetric') = (spki IS NOT NULL));
  `,
  // 4: governance objects in one authenticated table, and the object an audit entry changes.
  (s) => `
  CREATE TABLE ${s}.governance (
    kind      text COLLATE "C" NOT NULL CHECK (kind IN ('principal', 'role', 'approver-key', 'rule', 'request', 'approval', 'partition-governance')),
    id        text COLLATE "C" NOT NULL,
    scope     text COLLATE "C" NOT NULL,
    body_json text COLLATE "C" NOT NULL,
    audit_seq bigint NOT NULL,
    mac       bytea NOT NULL,
    PRIMARY KEY (kind, id)
  );
  CREATE INDEX governance_scope ON ${s}.governance (kind, scope, id);
  ALTER TABLE ${s}.audit ADD COLUMN object text COLLATE "C";
  CREATE INDEX audit_object ON ${s}.audit (object, seq);
  `,
  // 5: the newest change of a key or a partition found by its action.
  (s) => `
  CREATE INDEX audit_key_action ON ${s}.audit (key_id, action, seq);
  CREATE INDEX audit_partition_action ON ${s}.audit (partition_id, action, seq);
  `,
  // 6: every key row names its public part (a secret key: its key check value), as in SQLite.
  (s) => `
  ALTER TABLE ${s}.keys DROP CONSTRAINT keys_spki_kind;
  ALTER TABLE ${s}.keys ALTER COLUMN spki SET NOT NULL;
  `,
  // 7 (backup domains): the governance kind of a backup domain, as in SQLite.
  (s) => `
  ALTER TABLE ${s}.governance DROP CONSTRAINT governance_kind_check;
  ALTER TABLE ${s}.governance ADD CONSTRAINT governance_kind_check
    CHECK (kind IN ('principal', 'role', 'approver-key', 'rule', 'request', 'approval', 'partition-governance', 'backup-domain'));
  `,
  // 8 (transport keys): the governance kind of a device's transport key, as in SQLite.
  (s) => `
  ALTER TABLE ${s}.governance DROP CONSTRAINT governance_kind_check;
  ALTER TABLE ${s}.governance ADD CONSTRAINT governance_kind_check
    CHECK (kind IN ('principal', 'role', 'approver-key', 'rule', 'request', 'approval', 'partition-governance', 'backup-domain', 'transport-key'));
  `,
];

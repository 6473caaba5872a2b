// The PostgreSQL store's repositories: the same operations as the SQLite store's (store/rows.ts,
// audit log), in PostgreSQL's dialect, returning the same row objects (Buffers for bytea,
// numbers for bigint, strings for text, null for NULL).
import { HsmError } from '../../errors.js';
import type {
  AuditRow,
  DeviceRow,
  GovernanceRow,
  KeyRow,
  OfficerRow,
  PartitionRow,
  StoreTx,
} from '../device-store.js';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';

/** Audit rows read per page by entries(). */
const AUDIT_PAGE = 500;

/** Runs one statement; the rows (typed by the caller, as the SQL says) and how many changed. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the row type is the statement's, named at the call
export type Run = <R extends object>(
  text: string,
  values?: unknown[],
) => Promise<{ rows: R[]; rowCount: number | null }>;

/** The statements of one store, with its schema's name written into them. */
function statements(s: string) {
  return {
    keysTable: `${s}.keys`,
    metaExists: `SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = 'meta' AND c.relkind = 'r'`,
    metaGet: `SELECT value FROM ${s}.meta WHERE name = $1`,
    metaAll: `SELECT name, value FROM ${s}.meta ORDER BY name`,
    metaSet: `INSERT INTO ${s}.meta (name, value) VALUES ($1, $2)
      ON CONFLICT (name) DO UPDATE SET value = excluded.value`,

    deviceAll: `SELECT * FROM ${s}.device`,
    deviceInsert: `INSERT INTO ${s}.device (id, key_id, root_certificate, certificate, factory_label, development, organization, country, created_at, mac)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    deviceSetMac: `UPDATE ${s}.device SET mac = $2 WHERE id = $1`,

    partitionById: `SELECT * FROM ${s}.partitions WHERE id = $1`,
    partitionByName: `SELECT * FROM ${s}.partitions WHERE name = $1`,
    partitionAll: `SELECT * FROM ${s}.partitions ORDER BY name`,
    partitionNameTaken: `SELECT 1 FROM ${s}.partitions WHERE name = $1`,
    partitionInsert: `INSERT INTO ${s}.partitions (id, name, policy_json, attestation_certificate, timestamp_certificate, created_at, audit_seq, mac)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    partitionUpdatePolicy: `UPDATE ${s}.partitions SET policy_json = $2, audit_seq = $3, mac = $4
      WHERE id = $1 AND mac = $5`,
    partitionSetMac: `UPDATE ${s}.partitions SET audit_seq = $2, mac = $3 WHERE id = $1`,

    keyById: `SELECT * FROM ${s}.keys WHERE id = $1`,
    keyByLabel: `SELECT * FROM ${s}.keys WHERE partition_id = $1 AND label = $2`,
    keysOfPartition: `SELECT * FROM ${s}.keys WHERE partition_id = $1 ORDER BY created_at, label`,
    keysAll: `SELECT * FROM ${s}.keys ORDER BY created_at, id`,
    keyLabelTaken: `SELECT 1 FROM ${s}.keys WHERE partition_id = $1 AND label = $2`,
    keyInsert: `INSERT INTO ${s}.keys (id, partition_id, label, role, algorithm, spki, attributes_json, state, created_at, invalidated_at, wrapped, audit_seq, mac, kind)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
    keyUpdate: `UPDATE ${s}.keys SET attributes_json = $2, state = $3, invalidated_at = $4, audit_seq = $5, mac = $6
      WHERE id = $1 AND mac = $7`,
    keyDelete: `DELETE FROM ${s}.keys WHERE id = $1 AND mac = $2`,
    keySetMac: `UPDATE ${s}.keys SET audit_seq = $2, mac = $3 WHERE id = $1`,

    officerByName: `SELECT * FROM ${s}.officers WHERE name = $1`,
    officerAll: `SELECT * FROM ${s}.officers ORDER BY name`,
    officerInsert: `INSERT INTO ${s}.officers (name, params_json, hash, created_at, mac) VALUES ($1, $2, $3, $4, $5)`,
    officerSetMac: `UPDATE ${s}.officers SET mac = $2 WHERE name = $1`,

    governanceGet: `SELECT * FROM ${s}.governance WHERE kind = $1 AND id = $2`,
    governanceOfKind: `SELECT * FROM ${s}.governance WHERE kind = $1 ORDER BY id`,
    governanceOfKindInScope: `SELECT * FROM ${s}.governance WHERE kind = $1 AND scope = $2 ORDER BY id`,
    governanceAll: `SELECT * FROM ${s}.governance ORDER BY kind, id`,
    // ON CONFLICT DO NOTHING: an existing object is an answer, not an error that would abort
    // the transaction; any other constraint (the kind's CHECK) still fails.
    governanceInsert: `INSERT INTO ${s}.governance (kind, id, scope, body_json, audit_seq, mac)
      VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kind, id) DO NOTHING`,
    governanceUpdate: `UPDATE ${s}.governance SET scope = $3, body_json = $4, audit_seq = $5, mac = $6
      WHERE kind = $1 AND id = $2 AND mac = $7`,
    governanceDelete: `DELETE FROM ${s}.governance WHERE kind = $1 AND id = $2 AND mac = $3`,

    auditHead: `SELECT seq, hash FROM ${s}.audit ORDER BY seq DESC LIMIT 1`,
    auditPage: `SELECT * FROM ${s}.audit WHERE seq > $1 ORDER BY seq LIMIT $2`,
    auditLatestKey: `SELECT max(seq) AS seq FROM ${s}.audit
      WHERE key_id = $1 AND outcome = 'success' AND action = ANY ($2::text[])`,
    auditLatestPartition: `SELECT max(seq) AS seq FROM ${s}.audit
      WHERE partition_id = $1 AND key_id IS NULL AND outcome = 'success' AND action = ANY ($2::text[])`,
    auditLatestObject: `SELECT max(seq) AS seq FROM ${s}.audit
      WHERE object = $1 AND outcome = 'success'`,
    auditEverExported: `SELECT 1 FROM ${s}.audit
      WHERE key_id = $1 AND action = 'key.export' AND outcome = 'success' LIMIT 1`,
    auditCreationAction: `SELECT action FROM ${s}.audit
      WHERE key_id = $1 AND outcome = 'success' AND action IN ('key.generate', 'key.import', 'key.unwrap') ORDER BY seq LIMIT 1`,
    auditSchemaEntries: `SELECT action, details_json FROM ${s}.audit
      WHERE action IN ('device.init', 'store.migrate') ORDER BY seq`,
    // An entry that names no object leaves the column out (see auditInsertRow).
    auditInsert: `INSERT INTO ${s}.audit (seq, at, actor, action, partition_id, key_id, outcome, details_json, prev_hash, hash, mac)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    auditInsertObject: `INSERT INTO ${s}.audit (seq, at, actor, action, partition_id, key_id, outcome, details_json, prev_hash, hash, mac, object)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
  } as const;
}

export type Statements = ReturnType<typeof statements>;

/** Statements by schema name, built once. */
const bySchema = new Map<string, Statements>();
export function statementsFor(schema: string): Statements {
  let st = bySchema.get(schema);
  if (st === undefined) {
    st = statements(schema);
    bySchema.set(schema, st);
  }
  return st;
}

/** The schema version the store says it has (0: no meta table, or no version in it). */
export async function schemaVersion(run: Run, schema: string): Promise<number> {
  const st = statementsFor(schema);
  if ((await run(st.metaExists, [schema])).rows.length === 0) return 0;
  const { rows } = await run<{ value: string }>(st.metaGet, ['schema_version']);
  return rows[0] === undefined ? 0 : Number(rows[0].value);
}

export interface MigrateOptions {
  /** The store was created by this process: a schema found migrated already is someone else's. */
  readonly expectEmpty: () => boolean;
}

/** Applies pending migrations; must run inside the caller's transaction. */
export async function migrate(
  run: Run,
  schema: string,
  options: MigrateOptions,
): Promise<{ from: number; to: number }> {
  const from = await schemaVersion(run, schema);
  if (from > SCHEMA_VERSION) {
    throw new HsmError('schema-too-new', 'the store was written by a newer attestamp', {
      details: { storeVersion: from, supported: SCHEMA_VERSION },
    });
  }
  if (from !== 0 && options.expectEmpty()) {
    // Two `init`s raced for one schema between its creation and the first migration.
    throw new HsmError('store-exists', 'a device store was created in this schema meanwhile', {
      details: { schema },
    });
  }
  const st = statementsFor(schema);
  for (let v = from; v < SCHEMA_VERSION; v++) {
    await run(MIGRATIONS[v]!(schema));
    await run(st.metaSet, ['schema_version', String(v + 1)]);
  }
  return { from, to: SCHEMA_VERSION };
}

function first<R>(result: { rows: R[] }): R | undefined {
  return result.rows[0];
}

function changedOne(result: { rowCount: number | null }): boolean {
  return result.rowCount === 1;
}

/** Every repository of the store over `run` (a pool outside a transaction, or one tx's client). */
export function repositories(
  run: Run,
  schema: string,
  tx: { assertSchema: StoreTx['assertSchema']; migrate: StoreTx['migrate'] },
): StoreTx {
  const st = statementsFor(schema);
  /** Entries after a sequence number, in order, at most `limit` (one query on the key). */
  const auditPage = async (after: number, limit: number): Promise<AuditRow[]> =>
    // A store not migrated yet (before schema 4) has no object column: no entry names one.
    (
      await run<Omit<AuditRow, 'object'> & { object?: string | null }>(st.auditPage, [after, limit])
    ).rows.map((r): AuditRow => ({ ...r, object: r.object ?? null }));
  return {
    meta: {
      get: async (name) => first(await run<{ value: string }>(st.metaGet, [name]))?.value,
      all: async () => (await run<{ name: string; value: string }>(st.metaAll)).rows,
      schemaVersion: () => schemaVersion(run, schema),
      set: async (name, value) => {
        await run(st.metaSet, [name, value]);
      },
    },
    device: {
      all: async () => (await run<DeviceRow>(st.deviceAll)).rows,
      insert: async (r) => {
        await run(st.deviceInsert, [
          r.id,
          r.key_id,
          r.root_certificate,
          r.certificate,
          r.factory_label,
          r.development,
          r.organization,
          r.country,
          r.created_at,
          r.mac,
        ]);
      },
      setMac: async (id, mac) => {
        await run(st.deviceSetMac, [id, mac]);
      },
    },
    partitions: {
      byId: async (id) => first(await run<PartitionRow>(st.partitionById, [id])),
      byName: async (name) => first(await run<PartitionRow>(st.partitionByName, [name])),
      all: async () => (await run<PartitionRow>(st.partitionAll)).rows,
      nameTaken: async (name) => (await run(st.partitionNameTaken, [name])).rows.length > 0,
      insert: async (r) => {
        await run(st.partitionInsert, [
          r.id,
          r.name,
          r.policy_json,
          r.attestation_certificate,
          r.timestamp_certificate,
          r.created_at,
          r.audit_seq,
          r.mac,
        ]);
      },
      updatePolicy: async (r, expectedMac) =>
        changedOne(
          await run(st.partitionUpdatePolicy, [
            r.id,
            r.policy_json,
            r.audit_seq,
            r.mac,
            expectedMac,
          ]),
        ),
      setMac: async (id, auditSeq, mac) => {
        await run(st.partitionSetMac, [id, auditSeq, mac]);
      },
    },
    keys: {
      byId: async (id) => first(await run<KeyRow>(st.keyById, [id])),
      byLabel: async (partitionId, label) =>
        first(await run<KeyRow>(st.keyByLabel, [partitionId, label])),
      ofPartition: async (partitionId) =>
        (await run<KeyRow>(st.keysOfPartition, [partitionId])).rows,
      all: async () => (await run<KeyRow>(st.keysAll)).rows,
      labelTaken: async (partitionId, label) =>
        (await run(st.keyLabelTaken, [partitionId, label])).rows.length > 0,
      insert: async (r) => {
        await run(st.keyInsert, [
          r.id,
          r.partition_id,
          r.label,
          r.role,
          r.algorithm,
          r.spki,
          r.attributes_json,
          r.state,
          r.created_at,
          r.invalidated_at,
          r.wrapped,
          r.audit_seq,
          r.mac,
          r.kind,
        ]);
      },
      update: async (r, expectedMac) =>
        changedOne(
          await run(st.keyUpdate, [
            r.id,
            r.attributes_json,
            r.state,
            r.invalidated_at,
            r.audit_seq,
            r.mac,
            expectedMac,
          ]),
        ),
      delete: async (id, expectedMac) => changedOne(await run(st.keyDelete, [id, expectedMac])),
      setMac: async (id, auditSeq, mac) => {
        await run(st.keySetMac, [id, auditSeq, mac]);
      },
    },
    officers: {
      byName: async (name) => first(await run<OfficerRow>(st.officerByName, [name])),
      all: async () => (await run<OfficerRow>(st.officerAll)).rows,
      insert: async (r) => {
        await run(st.officerInsert, [r.name, r.params_json, r.hash, r.created_at, r.mac]);
      },
      setMac: async (name, mac) => {
        await run(st.officerSetMac, [name, mac]);
      },
    },
    governance: {
      get: async (kind, id) => first(await run<GovernanceRow>(st.governanceGet, [kind, id])),
      list: async (kind, scope) =>
        (scope === undefined
          ? await run<GovernanceRow>(st.governanceOfKind, [kind])
          : await run<GovernanceRow>(st.governanceOfKindInScope, [kind, scope])
        ).rows,
      all: async () => (await run<GovernanceRow>(st.governanceAll)).rows,
      insert: async (r) =>
        changedOne(
          await run(st.governanceInsert, [r.kind, r.id, r.scope, r.body_json, r.audit_seq, r.mac]),
        ),
      update: async (r, expectedMac) =>
        changedOne(
          await run(st.governanceUpdate, [
            r.kind,
            r.id,
            r.scope,
            r.body_json,
            r.audit_seq,
            r.mac,
            expectedMac,
          ]),
        ),
      delete: async (kind, id, expectedMac) =>
        changedOne(await run(st.governanceDelete, [kind, id, expectedMac])),
    },
    audit: {
      head: async () => first(await run<{ seq: number; hash: Buffer }>(st.auditHead)),
      async *entries(): AsyncGenerator<AuditRow> {
        // From the lowest possible number: a row planted with seq <= 0 is read (and fails).
        let after = Number.MIN_SAFE_INTEGER;
        for (;;) {
          const page = await auditPage(after, AUDIT_PAGE);
          for (const r of page) yield r;
          if (page.length < AUDIT_PAGE) return;
          after = page[page.length - 1]!.seq;
        }
      },
      page: auditPage,
      latestKeyChange: async (keyId, actions) =>
        first(await run<{ seq: number | null }>(st.auditLatestKey, [keyId, [...actions]]))?.seq ??
        0,
      latestPartitionChange: async (partitionId, actions) =>
        first(
          await run<{ seq: number | null }>(st.auditLatestPartition, [partitionId, [...actions]]),
        )?.seq ?? 0,
      latestObjectChange: async (object) =>
        first(await run<{ seq: number | null }>(st.auditLatestObject, [object]))?.seq ?? 0,
      everExported: async (keyId) => (await run(st.auditEverExported, [keyId])).rows.length > 0,
      creationAction: async (keyId) =>
        first(await run<{ action: string }>(st.auditCreationAction, [keyId]))?.action,
      schemaEntries: async () =>
        (await run<{ action: string; details_json: string }>(st.auditSchemaEntries)).rows,
      insert: async (r) => {
        // Without an object, the column is left out: the refusal of a migration is still
        // written to a store of an older schema.
        const values = [
          r.seq,
          r.at,
          r.actor,
          r.action,
          r.partition_id,
          r.key_id,
          r.outcome,
          r.details_json,
          r.prev_hash,
          r.hash,
          r.mac,
        ];
        if (r.object === null) await run(st.auditInsert, values);
        else await run(st.auditInsertObject, [...values, r.object]);
      },
    },
    assertSchema: tx.assertSchema,
    migrate: tx.migrate,
  };
}

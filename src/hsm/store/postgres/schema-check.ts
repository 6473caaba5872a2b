// The PostgreSQL store's catalog is part of what the HSM trusts, as the SQLite schema is
// (store/schema-check.ts): whoever may run DDL in the store's schema could plant a trigger or a
// rule (run inside the HSM's own transactions), a row-level security policy (hiding rows), a
// view or a child table (rows from elsewhere read as the store's), a function or operator, or
// drop or invalidate a unique index. The catalog must be exactly what the migrations make for
// the store's version; anything else is an integrity failure. The expected catalog is built
// by the migrations themselves in a scratch schema, rolled back, on the same server. The TSA's
// issuance archive checks its own schema (attestamp_tsa) with the same comparison.
//
// Not covered: objects outside the schema that act on the whole database (event triggers, which
// only a superuser may create, and fire on DDL only) and the catalog itself: a superuser of the
// database is trusted, as the SQLite store trusts the SQLite library.
import { randomBytes } from 'node:crypto';
import { HsmError } from '../../errors.js';
import { MIGRATIONS } from './migrations.js';

/** What runs a statement: a pool, or the client of one transaction. */
export interface Queryable {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the row type is the statement's, named at the call
  query<R extends object>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

/**
 * One line per catalog object of the schema ($1), in a text that names no schema: relations
 * with their kind and persistence and row-level security, columns with their types, defaults,
 * collations and positions, constraints, indexes with their validity, triggers (internal ones,
 * the foreign keys', by function and state), rules, policies, inheritance, and every function,
 * type, operator, collation and other object kind a schema can hold.
 */
const CATALOG_SQL = `
WITH ns AS (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $1),
rel AS (SELECT c.* FROM pg_catalog.pg_class c, ns WHERE c.relnamespace = ns.oid)
SELECT item FROM (
  SELECT 'relation ' || r.relname || ' kind=' || r.relkind::text || ' persistence=' || r.relpersistence::text
      || ' rls=' || r.relrowsecurity::text || '/' || r.relforcerowsecurity::text
      || ' typed=' || (r.reloftype <> 0)::text || ' partition=' || r.relispartition::text AS item
    FROM rel r
  UNION ALL
  SELECT 'column ' || r.relname || '.' || a.attnum || ' ' || a.attname || ' '
      || pg_catalog.format_type(a.atttypid, a.atttypmod) || ' notnull=' || a.attnotnull::text
      || ' default=' || coalesce(pg_catalog.pg_get_expr(d.adbin, d.adrelid), '-')
      || ' collation=' || coalesce(co.collname, '-') || ' identity=' || a.attidentity::text
      || ' generated=' || a.attgenerated::text || ' dropped=' || a.attisdropped::text
    FROM rel r
    JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0
    LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
  UNION ALL
  SELECT 'constraint ' || r.relname || ' ' || c.conname || ' ' || c.contype::text || ' '
      || pg_catalog.pg_get_constraintdef(c.oid) || ' deferrable=' || c.condeferrable::text
      || '/' || c.condeferred::text || ' valid=' || c.convalidated::text
    FROM pg_catalog.pg_constraint c JOIN rel r ON r.oid = c.conrelid
  UNION ALL
  SELECT 'constraint (type) ' || c.conname FROM pg_catalog.pg_constraint c, ns
    WHERE c.connamespace = ns.oid AND c.conrelid = 0
  UNION ALL
  SELECT 'index ' || ir.relname || ' ' || pg_catalog.pg_get_indexdef(i.indexrelid)
      || ' valid=' || i.indisvalid::text || ' ready=' || i.indisready::text
      || ' live=' || i.indislive::text
    FROM pg_catalog.pg_index i JOIN rel r ON r.oid = i.indrelid
    JOIN pg_catalog.pg_class ir ON ir.oid = i.indexrelid
  UNION ALL
  SELECT 'trigger ' || r.relname || ' ' || CASE WHEN t.tgisinternal
      THEN 'internal ' || t.tgfoid::pg_catalog.regproc::text || ' ' || t.tgtype || ' ' || t.tgenabled::text
      ELSE t.tgname || ' ' || pg_catalog.pg_get_triggerdef(t.oid) || ' ' || t.tgenabled::text END
    FROM pg_catalog.pg_trigger t JOIN rel r ON r.oid = t.tgrelid
  UNION ALL
  SELECT 'rule ' || r.relname || ' ' || w.rulename || ' ' || pg_catalog.pg_get_ruledef(w.oid)
    FROM pg_catalog.pg_rewrite w JOIN rel r ON r.oid = w.ev_class
  UNION ALL
  SELECT 'policy ' || r.relname || ' ' || p.polname
    FROM pg_catalog.pg_policy p JOIN rel r ON r.oid = p.polrelid
  UNION ALL
  SELECT 'inherits ' || ch.relname || ' from ' || pa.relname
    FROM pg_catalog.pg_inherits h
    JOIN pg_catalog.pg_class ch ON ch.oid = h.inhrelid
    JOIN pg_catalog.pg_class pa ON pa.oid = h.inhparent
    WHERE ch.relnamespace IN (SELECT oid FROM ns) OR pa.relnamespace IN (SELECT oid FROM ns)
  UNION ALL
  SELECT 'function ' || p.proname || ' ' || p.prokind::text FROM pg_catalog.pg_proc p, ns
    WHERE p.pronamespace = ns.oid
  UNION ALL
  SELECT 'type ' || t.typname || ' ' || t.typtype::text FROM pg_catalog.pg_type t, ns
    WHERE t.typnamespace = ns.oid
  UNION ALL
  SELECT 'operator ' || o.oprname FROM pg_catalog.pg_operator o, ns WHERE o.oprnamespace = ns.oid
  UNION ALL
  SELECT 'operator class ' || o.opcname FROM pg_catalog.pg_opclass o, ns
    WHERE o.opcnamespace = ns.oid
  UNION ALL
  SELECT 'operator family ' || o.opfname FROM pg_catalog.pg_opfamily o, ns
    WHERE o.opfnamespace = ns.oid
  UNION ALL
  SELECT 'collation ' || c.collname FROM pg_catalog.pg_collation c, ns
    WHERE c.collnamespace = ns.oid
  UNION ALL
  SELECT 'conversion ' || c.conname FROM pg_catalog.pg_conversion c, ns
    WHERE c.connamespace = ns.oid
  UNION ALL
  SELECT 'statistics ' || s.stxname FROM pg_catalog.pg_statistic_ext s, ns
    WHERE s.stxnamespace = ns.oid
  UNION ALL
  SELECT 'text search ' || c.cfgname FROM pg_catalog.pg_ts_config c, ns
    WHERE c.cfgnamespace = ns.oid
  UNION ALL
  SELECT 'text search ' || d.dictname FROM pg_catalog.pg_ts_dict d, ns
    WHERE d.dictnamespace = ns.oid
  UNION ALL
  SELECT 'text search ' || p.prsname FROM pg_catalog.pg_ts_parser p, ns
    WHERE p.prsnamespace = ns.oid
  UNION ALL
  SELECT 'text search ' || t.tmplname FROM pg_catalog.pg_ts_template t, ns
    WHERE t.tmplnamespace = ns.oid
  UNION ALL
  SELECT 'extension ' || e.extname FROM pg_catalog.pg_extension e, ns
    WHERE e.extnamespace = ns.oid
) items ORDER BY item COLLATE "C"`;

/** The catalog of `schema` as lines, with the schema's own name taken out of them. */
async function catalog(q: Queryable, schema: string): Promise<string[]> {
  const { rows } = await q.query<{ item: string }>(CATALOG_SQL, [schema]);
  // pg_get_indexdef and pg_get_constraintdef qualify the names they print (the sessions search
  // pg_catalog only): drop the qualifier so that a scratch schema's catalog compares equal.
  const qualifier = new RegExp(`(?<![A-Za-z0-9_$"])${schema}\\.`, 'g');
  return rows.map((r) => r.item.replace(qualifier, ''));
}

/**
 * How the catalog of one schema version is made: `build(q, scratch, version)` runs the
 * migrations up to `version` inside the empty schema `scratch`. `name` keeps the memoised
 * catalogs of two kinds of schema (the device store's, the TSA archive's) apart.
 */
export interface CatalogBuilder {
  readonly name: string;
  build(q: Queryable, scratch: string, version: number): Promise<void>;
}

/** How a schema's catalog differs from the expected one: object names, for an error's details. */
export interface CatalogDifference {
  /** Objects present that the migrations do not make (a trigger, a view, a policy...). */
  readonly unexpected: readonly string[];
  /** Objects the migrations make that are absent or changed (a dropped UNIQUE...). */
  readonly missing: readonly string[];
}

/** Expected catalogs by kind, server version and schema version. */
const expected = new Map<string, Promise<string[]>>();

/**
 * The catalog the migrations make for `version` on this server, built in a scratch schema
 * under a savepoint that is rolled back (needs the right to create a schema). Memoised.
 */
async function expectedCatalog(
  q: Queryable,
  version: number,
  builder: CatalogBuilder,
): Promise<string[]> {
  const { rows } = await q.query<{ v: string }>(
    "SELECT pg_catalog.current_setting('server_version_num') AS v",
  );
  const key = `${builder.name}:${rows[0]?.v ?? ''}:${version}`;
  let text = expected.get(key);
  if (text === undefined) {
    text = buildExpected(q, version, builder);
    expected.set(key, text);
    // A failure (no CREATE right, a lost connection) is not remembered.
    text.catch(() => expected.delete(key));
  }
  return text;
}

async function buildExpected(
  q: Queryable,
  version: number,
  builder: CatalogBuilder,
): Promise<string[]> {
  const scratch = `attestamp_scratch_${randomBytes(8).toString('hex')}`;
  await q.query('SAVEPOINT attestamp_expected_schema');
  try {
    await q.query(`CREATE SCHEMA ${scratch}`);
    await builder.build(q, scratch, version);
    return await catalog(q, scratch);
  } finally {
    await q.query('ROLLBACK TO SAVEPOINT attestamp_expected_schema');
    await q.query('RELEASE SAVEPOINT attestamp_expected_schema');
  }
}

/** The first word or words of a catalog line that name the object (for the error's details). */
function objectName(line: string): string {
  const words = line.split(' ');
  const kind = words[0] ?? '';
  if (kind === 'column' || kind === 'relation' || kind === 'index' || kind === 'function') {
    return words.slice(0, kind === 'column' ? 3 : 2).join(' ');
  }
  return words.slice(0, 3).join(' ');
}

/**
 * Compares the catalog of `schema` with the ones `builder` makes for each of `versions`:
 * undefined when it is exactly one of them, else what differs from the last one tried. `q`
 * must be inside a transaction (the scratch schema lives under a savepoint) whose search path
 * is the same while both catalogs are read.
 */
export async function inspectCatalog(
  q: Queryable,
  schema: string,
  versions: readonly number[],
  builder: CatalogBuilder,
): Promise<CatalogDifference | undefined> {
  const actual = await catalog(q, schema);
  const text = JSON.stringify(actual);
  let want: string[] = [];
  for (const v of versions) {
    want = await expectedCatalog(q, v, builder);
    if (JSON.stringify(want) === text) return undefined;
  }
  const wanted = new Set(want);
  const have = new Set(actual);
  return {
    unexpected: [...new Set(actual.filter((l) => !wanted.has(l)).map(objectName))],
    missing: [...new Set(want.filter((l) => !have.has(l)).map(objectName))],
  };
}

/** The device store's migrations, each in one statement naming the scratch schema. */
const STORE_CATALOG: CatalogBuilder = {
  name: 'hsm',
  build: async (q, scratch, version) => {
    for (let v = 0; v < version; v++) await q.query(MIGRATIONS[v]!(scratch));
  },
};

/**
 * Refuses a store whose catalog is not exactly one the migrations make for one of `versions`;
 * `q` must be inside a transaction (the scratch schema lives under a savepoint).
 */
export async function assertSchema(
  q: Queryable,
  schema: string,
  versions: readonly number[],
): Promise<void> {
  const known = versions.filter((v) => v >= 0 && v <= MIGRATIONS.length);
  const diff = await inspectCatalog(q, schema, known, STORE_CATALOG);
  if (diff === undefined) return;
  throw new HsmError(
    'integrity-failed',
    "the store's SQL schema is not the one its version defines (a trigger, view, table, index, rule, policy or function was added, removed or changed)",
    {
      details: {
        table: 'schema',
        ...(diff.unexpected.length > 0
          ? { unexpected: diff.unexpected.join(', ').slice(0, 500) }
          : {}),
        ...(diff.missing.length > 0 ? { missing: diff.missing.join(', ').slice(0, 500) } : {}),
      },
    },
  );
}

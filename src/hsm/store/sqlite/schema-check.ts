// The store's SQL schema is part of what the HSM trusts: whoever can write the file could plant
// a trigger (run inside the HSM's own transactions: drop audit rows, copy sealed blobs, undo a
// delete), a view in place of a table, or drop a unique index. The schema must be exactly what
// the migrations make for the store's version; anything else is an integrity failure. The
// check guards writes (it runs in every write transaction); reads rely on the row MACs instead
// (see store/postgres/schema-check.ts for the reasoning, the same for both stores).
import Database from 'better-sqlite3';
import { HsmError } from '../../errors.js';
import type { Db } from './database.js';
import { MIGRATIONS } from './migrations.js';

interface SchemaRow {
  type: string;
  name: string;
  tbl_name: string;
  sql: string | null;
}

const SCHEMA_SQL =
  "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name <> 'sqlite_sequence' ORDER BY type, name";

/**
 * The same rows as one JSON text, made by SQLite (the check of every write transaction): no row
 * objects and no JSON.stringify per transaction. JSON's quoting keeps every field apart, so two
 * different schemas never make the same text; a text that differs in any way (even in the
 * order the rows were gathered) falls back to the row-by-row comparison.
 */
const SCHEMA_TEXT_SQL = `SELECT json_group_array(json_array(type, name, tbl_name, sql)) AS text FROM (${SCHEMA_SQL})`;

/** Both texts of the schema the migrations make for a version, memoised by version. */
const expected = new Map<number, { readonly rows: string; readonly text: string }>();

/** The schema text (SCHEMA_TEXT_SQL) of `db`. */
function schemaText(db: Db): string {
  return (db.prepare(SCHEMA_TEXT_SQL).get() as { text: string }).text;
}

/** The schema the migrations make for `version`: its rows as JSON, and its schema text. */
function expectedSchema(version: number): { readonly rows: string; readonly text: string } {
  let made = expected.get(version);
  if (made === undefined) {
    const db = new Database(':memory:');
    try {
      for (let v = 0; v < version; v++) db.exec(MIGRATIONS[v]!);
      made = { rows: JSON.stringify(db.prepare(SCHEMA_SQL).all()), text: schemaText(db) };
    } finally {
      db.close();
    }
    expected.set(version, made);
  }
  return made;
}

/**
 * Refuses a store whose schema is not exactly one the migrations make for one of `versions`
 * (its own and the current one: a version number set back is left to the key-check value,
 * which is audited). No trigger, view, extra table or changed index passes either way. The
 * comparison is of the whole schema as one text; the rows are read one by one only to name
 * what differs.
 */
export function assertSchema(db: Db, versions: readonly number[]): void {
  // A value JSON cannot hold (a BLOB written into sqlite_schema) makes SQLite refuse the text:
  // the rows then decide, and the store is refused as tampered with.
  let whole: string | undefined;
  try {
    whole = schemaText(db);
  } catch {
    whole = undefined;
  }
  if (whole !== undefined && versions.some((v) => whole === expectedSchema(v).text)) return;
  const actual = db.prepare(SCHEMA_SQL).all() as SchemaRow[];
  const text = JSON.stringify(actual);
  if (versions.some((v) => text === expectedSchema(v).rows)) return;
  const version = versions[versions.length - 1] ?? 0;
  const want = new Set(
    (JSON.parse(expectedSchema(version).rows) as SchemaRow[]).map((r) => `${r.type} ${r.name}`),
  );
  const have = new Set(actual.map((r) => `${r.type} ${r.name}`));
  const extra = [...have].filter((n) => !want.has(n));
  const missing = [...want].filter((n) => !have.has(n));
  throw new HsmError(
    'integrity-failed',
    "the store's SQL schema is not the one its version defines (a trigger, view, table or index was added, removed or changed)",
    {
      details: {
        table: 'schema',
        ...(extra.length > 0 ? { unexpected: extra.join(', ') } : {}),
        ...(missing.length > 0 ? { missing: missing.join(', ') } : {}),
      },
    },
  );
}

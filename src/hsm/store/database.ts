// Opening the SQLite device store (better-sqlite3): WAL with synchronous=FULL so that a
// committed transaction survives a crash, foreign keys on, and schema migrations.
import Database from 'better-sqlite3';
import { chmodSync, existsSync } from 'node:fs';
import { HsmError } from '../errors.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';

export type Db = Database.Database;

function configure(db: Db): void {
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // Freed cells and pages are overwritten with zeros: a purged key's sealed blob does not stay
  // in the file (the WAL is checkpointed and truncated after a purge, see store/rows.ts).
  db.pragma('secure_delete = ON');
}

/** The store file and its -wal and -shm companions, wherever they exist, readable by the owner only. */
export function restrictStoreFiles(path: string): void {
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    if (existsSync(file)) chmodSync(file, 0o600);
  }
}

export function createDatabase(path: string): Db {
  if (existsSync(path)) {
    throw new HsmError('store-exists', 'a device store already exists at this path');
  }
  const db = new Database(path);
  // SQLite creates the -wal and -shm files with the main file's mode: restrict it first.
  restrictStoreFiles(path);
  db.pragma('journal_mode = WAL');
  configure(db);
  restrictStoreFiles(path);
  return db;
}

export function openDatabase(path: string): Db {
  if (!existsSync(path)) {
    throw new HsmError('store-not-found', 'no device store at this path');
  }
  let db: Db;
  try {
    db = new Database(path, { fileMustExist: true });
    configure(db);
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (cause) {
    throw new HsmError('store-corrupt', 'the device store cannot be opened', { cause });
  }
  return db;
}

export function schemaVersion(db: Db): number {
  const hasMeta = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'")
    .get();
  if (hasMeta === undefined) return 0;
  const row = db.prepare("SELECT value FROM meta WHERE name = 'schema_version'").get() as
    { value: string } | undefined;
  return row === undefined ? 0 : Number(row.value);
}

/** Applies pending migrations; must run inside the caller's transaction. Returns versions applied. */
export function migrate(db: Db): { from: number; to: number } {
  const from = schemaVersion(db);
  if (from > SCHEMA_VERSION) {
    throw new HsmError('schema-too-new', 'the store was written by a newer attestamp', {
      details: { storeVersion: from, supported: SCHEMA_VERSION },
    });
  }
  for (let v = from; v < SCHEMA_VERSION; v++) {
    db.exec(MIGRATIONS[v]!);
    db.prepare(
      "INSERT INTO meta (name, value) VALUES ('schema_version', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    ).run(String(v + 1));
  }
  return { from, to: SCHEMA_VERSION };
}

export function getMeta(db: Db, name: string): string | undefined {
  const row = db.prepare('SELECT value FROM meta WHERE name = ?').get(name) as
    { value: string } | undefined;
  return row?.value;
}

export function setMeta(db: Db, name: string, value: string): void {
  db.prepare(
    'INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
  ).run(name, value);
}

// Opening the SQLite device store (better-sqlite3): WAL with synchronous=NORMAL (a commit reaches
// the WAL file; the store flushes the WAL before it releases what the commit did, see
// wal-flush.ts), foreign keys on, and schema migrations.
import Database from 'better-sqlite3';
import { accessSync, chmodSync, constants, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { HsmError } from '../../errors.js';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';

export type Db = Database.Database;

/** How long a statement waits for a lock held by another connection before SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

function configure(db: Db): void {
  // Durability is the store's WAL flush (wal-flush.ts), off the event loop; NORMAL still syncs
  // the WAL before each checkpoint copies it, and the database file after.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  // Functions with side effects may not run from schema objects (defence in depth beside the
  // schema check of store/schema-check.ts).
  db.pragma('trusted_schema = OFF');
  // Freed cells and pages are overwritten with zeros: a purged key's sealed blob does not stay
  // in the file (the WAL is checkpointed and truncated after a purge, see store/rows.ts).
  db.pragma('secure_delete = ON');
  reuseStatements(db);
}

/**
 * Each SQL text is compiled once per connection: better-sqlite3's prepare compiles on every
 * call, which cost more than the query itself on the short reads of every key use. The store's
 * statements are fixed texts (placeholders for values), and none is iterated, so one compiled
 * statement per text serves every call in turn; SQLite recompiles one by itself after a schema
 * change.
 */
function reuseStatements(db: Db): void {
  const compile = db.prepare.bind(db);
  const compiled = new Map<string, Database.Statement>();
  const prepare = (sql: string): Database.Statement => {
    let statement = compiled.get(sql);
    if (statement === undefined) {
      statement = compile(sql);
      compiled.set(sql, statement);
    }
    return statement;
  };
  db.prepare = prepare as Db['prepare'];
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
  // The first read creates the -wal file, which the store's flusher opens.
  db.prepare('SELECT count(*) FROM sqlite_master').get();
  restrictStoreFiles(path);
  return db;
}

export function openDatabase(path: string): Db {
  if (!existsSync(path)) {
    throw new HsmError('store-not-found', 'no device store at this path');
  }
  let db: Db | undefined;
  try {
    db = new Database(path, { fileMustExist: true });
    // The store's durability is the WAL flush: a file someone set to another journal mode is
    // set back (a no-op for a WAL file).
    db.pragma('journal_mode = WAL');
    configure(db);
    // The first read creates the -shm and -wal files of a WAL store: where a full disk shows.
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (cause) {
    // A handle left open would keep the files (and a mount) busy.
    db?.close();
    throw classifyOpenError(cause, path);
  }
  return db;
}

/** SQLite extended result codes and errno names, as better-sqlite3 and node:fs report them. */
function errorCode(error: unknown): string {
  if (typeof error !== 'object' || error === null || !('code' in error)) return '';
  return typeof error.code === 'string' ? error.code : '';
}

/** True when the process may not read and write the store file or create files beside it. */
function permissionDenied(path: string): boolean {
  for (const [target, mode] of [
    [path, constants.R_OK | constants.W_OK],
    [dirname(path), constants.W_OK | constants.X_OK],
  ] as const) {
    try {
      accessSync(target, mode);
    } catch (error) {
      const code = errorCode(error);
      if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return true;
    }
  }
  return false;
}

/**
 * Turns an error met while opening a store into the HsmError an operator can act on, keeping
 * the original as `cause`. Only SQLite's own corruption codes say "corrupt": a full disk or a
 * permission problem reported as corruption would send a supervisor into a restart loop on a
 * false integrity alarm (and an operator to restore a backup that was never needed).
 */
export function classifyOpenError(
  cause: unknown,
  path: string,
  what = 'the device store',
): HsmError {
  const code = errorCode(cause);
  // SQLITE_IOERR_SHMSIZE: the -shm file could not be extended, which on Unix means no space.
  if (code === 'SQLITE_FULL' || code === 'SQLITE_IOERR_SHMSIZE' || code === 'ENOSPC') {
    return new HsmError('store-no-space', `${what} cannot be opened: no space left`, {
      cause,
      details: { sqlite: code },
    });
  }
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return new HsmError('store-corrupt', `${what} file is corrupt or not a database`, {
      cause,
      details: { sqlite: code },
    });
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new HsmError('store-busy', `${what} is locked by another process`, {
      cause,
      details: { sqlite: code },
    });
  }
  const readOnly = code.startsWith('SQLITE_READONLY') && code !== 'SQLITE_READONLY_DBMOVED';
  if (
    readOnly ||
    code === 'SQLITE_PERM' ||
    code === 'EACCES' ||
    code === 'EPERM' ||
    code === 'EROFS' ||
    // SQLITE_CANTOPEN does not say why: ask the file system whether it is a permission.
    (code === 'SQLITE_CANTOPEN' && permissionDenied(path))
  ) {
    return new HsmError(
      'store-permission',
      `${what} cannot be opened for reading and writing: permission denied or read-only`,
      { cause, details: { sqlite: code } },
    );
  }
  return new HsmError('store-unavailable', `${what} cannot be opened`, {
    cause,
    details: { sqlite: code === '' ? undefined : code },
  });
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

export function allMeta(db: Db): { name: string; value: string }[] {
  return db.prepare('SELECT name, value FROM meta ORDER BY name').all() as {
    name: string;
    value: string;
  }[];
}

export function setMeta(db: Db, name: string, value: string): void {
  db.prepare(
    'INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
  ).run(name, value);
}

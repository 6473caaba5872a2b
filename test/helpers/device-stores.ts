// The device store implementations under test, each behind one harness, so that a store test
// suite runs unchanged against every one (ARCHITECTURE.md, "Tests"): a fresh store location per
// case, test-side access to plant hostile schema objects, write an older schema version, and
// read every byte the store keeps in its files.
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { DeviceStore } from '../../src/hsm/store/device-store.js';
import { DEFAULT_SCHEMA } from '../../src/hsm/store/postgres/connection.js';
import { MIGRATIONS as PG_MIGRATIONS } from '../../src/hsm/store/postgres/migrations.js';
import {
  createPostgresStore,
  openPostgresStore,
} from '../../src/hsm/store/postgres/postgres-store.js';
import { freshDatabase, postgresUrl, sql } from './postgres.js';

/** A change an attacker with write access to the store could make to its schema. */
export type HostileChange = 'trigger' | 'governance-trigger' | 'view' | 'table' | 'drop-index';

/** One empty place for a store (a file, a database), removed by `cleanup`. */
export interface StoreSlot {
  /** What create and open are given: a file path or a postgres:// URL. */
  readonly location: string;
  create(): Promise<DeviceStore>;
  open(): Promise<DeviceStore>;
  /** Makes the change behind the store's back (test-side SQL). */
  plant(change: HostileChange): Promise<void>;
  /** Writes a store at schema version 1 (the first migration only), as a release before 2. */
  writeVersion1(): Promise<void>;
  /** Every byte of the store's files that deletion must reach (see DeviceStore.scrubFreed). */
  storedBytes(): Promise<Buffer>;
  cleanup(): Promise<void>;
}

export interface StoreKind {
  readonly dialect: DeviceStore['dialect'];
  /** True when this store cannot be tested here (no server); the suite skips it. */
  readonly unavailable: boolean;
  slot(): Promise<StoreSlot>;
}

// ------------------------------------------------------------------ SQLite

export interface SqliteFactories {
  readonly create: (path: string) => DeviceStore | Promise<DeviceStore>;
  readonly open: (path: string) => DeviceStore | Promise<DeviceStore>;
  /** The SQLite migrations (MIGRATIONS[0] writes version 1). */
  readonly migrations: readonly string[];
}

const SQLITE_PLANTS: Readonly<Record<HostileChange, string>> = {
  trigger: 'CREATE TRIGGER evil BEFORE INSERT ON audit BEGIN SELECT RAISE(IGNORE); END',
  // Would undo every compare-and-set delete of a governance object.
  'governance-trigger':
    'CREATE TRIGGER evil BEFORE DELETE ON governance BEGIN SELECT RAISE(IGNORE); END',
  view: 'CREATE VIEW evil AS SELECT 1 AS one',
  table: 'CREATE TABLE evil (a INTEGER)',
  'drop-index': 'DROP INDEX audit_key',
};

/** The SQLite store in a file of a temp folder of its own. */
export function sqliteKind(factories: SqliteFactories): StoreKind {
  return {
    dialect: 'sqlite',
    unavailable: false,
    slot: () => {
      const dir = mkdtempSync(join(tmpdir(), 'attestamp-store-'));
      const path = join(dir, 'store.db');
      const withFile = (fn: (db: Database.Database) => void): Promise<void> => {
        const db = new Database(path);
        try {
          fn(db);
        } finally {
          db.close();
        }
        return Promise.resolve();
      };
      return Promise.resolve({
        location: path,
        // A factory that throws at once becomes a rejection, as the PostgreSQL one's.
        create: () => Promise.resolve().then(() => factories.create(path)),
        open: () => Promise.resolve().then(() => factories.open(path)),
        plant: (change) =>
          withFile((db) => {
            db.exec(SQLITE_PLANTS[change]);
          }),
        writeVersion1: () =>
          withFile((db) => {
            db.pragma('journal_mode = WAL');
            db.exec(factories.migrations[0]!);
            db.prepare("INSERT INTO meta (name, value) VALUES ('schema_version', '1')").run();
          }),
        storedBytes: () =>
          Promise.resolve(
            Buffer.concat(
              [path, `${path}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)),
            ),
          ),
        cleanup: () => {
          rmSync(dir, { recursive: true, force: true });
          return Promise.resolve();
        },
      });
    },
  };
}

// ------------------------------------------------------------------ PostgreSQL

const S = DEFAULT_SCHEMA;

const PG_PLANTS: Readonly<Record<HostileChange, string>> = {
  trigger: `CREATE FUNCTION public.evil() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
    CREATE TRIGGER evil BEFORE INSERT ON ${S}.audit FOR EACH ROW EXECUTE FUNCTION public.evil()`,
  'governance-trigger': `CREATE FUNCTION public.evil() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
    CREATE TRIGGER evil BEFORE DELETE ON ${S}.governance FOR EACH ROW EXECUTE FUNCTION public.evil()`,
  view: `CREATE VIEW ${S}.evil AS SELECT 1 AS one`,
  table: `CREATE TABLE ${S}.evil (a integer)`,
  'drop-index': `DROP INDEX ${S}.audit_key`,
};

/** The PostgreSQL store in a database of its own on the test server. */
export const postgresKind: StoreKind = {
  dialect: 'postgres',
  unavailable: postgresUrl() === undefined,
  slot: async () => {
    const db = await freshDatabase();
    return {
      location: db.url,
      create: () => createPostgresStore(db.url),
      open: () => openPostgresStore(db.url),
      plant: async (change) => {
        await sql(db.url, PG_PLANTS[change]);
      },
      writeVersion1: async () => {
        await sql(
          db.url,
          `CREATE SCHEMA ${S}; ${PG_MIGRATIONS[0]!(S)};
           INSERT INTO ${S}.meta (name, value) VALUES ('schema_version', '1')`,
        );
      },
      storedBytes: async () => {
        // Pages changed in shared buffers reach the files at a checkpoint.
        await sql(db.url, 'CHECKPOINT');
        // The keys table and its TOAST table, as the server's files hold them once flushed.
        const rows = await sql<{ bytes: Buffer }>(
          db.url,
          `SELECT pg_read_binary_file(pg_relation_filepath(oid)) AS bytes FROM pg_class
            WHERE oid = '${S}.keys'::regclass
               OR oid = (SELECT reltoastrelid FROM pg_class WHERE oid = '${S}.keys'::regclass)`,
        );
        return Buffer.concat(rows.map((r) => r.bytes));
      },
      cleanup: () => db.drop(),
    };
  },
};

// Where a device store lives: a file path (SQLite, the embedded default) or a postgres:// URL
// (PostgreSQL, for several nodes on one database). Creating and opening by location. The
// PostgreSQL driver is loaded only for a postgres:// location.
import type { DeviceStore } from './device-store.js';
import {
  createSqliteStore,
  openSqliteStore,
  type SqliteStoreOptions,
} from './sqlite/sqlite-store.js';

export type { SqliteStoreOptions };

const postgres = () => import('./postgres/postgres-store.js');

/** True for a PostgreSQL connection URL (postgres:// or postgresql://). */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** Creates an empty store at `location` (store-exists when one is there). */
export async function createStore(location: string): Promise<DeviceStore> {
  return isPostgresUrl(location)
    ? (await postgres()).createPostgresStore(location)
    : createSqliteStore(location);
}

/** Opens the store at `location` (store-not-found when there is none). */
export async function openStore(
  location: string,
  sqlite: SqliteStoreOptions = {},
): Promise<DeviceStore> {
  return isPostgresUrl(location)
    ? (await postgres()).openPostgresStore(location)
    : openSqliteStore(location, sqlite);
}

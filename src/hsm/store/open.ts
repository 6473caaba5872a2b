// Where a device store lives: a file path (SQLite, the embedded default) or a postgres:// URL
// (PostgreSQL, for several nodes on one database). Creating and opening by location.
import type { DeviceStore } from './device-store.js';
import { createPostgresStore, openPostgresStore } from './postgres/postgres-store.js';
import { createSqliteStore, openSqliteStore } from './sqlite/sqlite-store.js';

/** True for a PostgreSQL connection URL (postgres:// or postgresql://). */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** Creates an empty store at `location` (store-exists when one is there). */
export function createStore(location: string): Promise<DeviceStore> {
  return isPostgresUrl(location)
    ? createPostgresStore(location)
    : Promise.resolve().then(() => createSqliteStore(location));
}

/** Opens the store at `location` (store-not-found when there is none). */
export function openStore(location: string): Promise<DeviceStore> {
  return isPostgresUrl(location)
    ? openPostgresStore(location)
    : Promise.resolve().then(() => openSqliteStore(location));
}

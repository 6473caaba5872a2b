// The issuance archive's public surface: the seam every caller uses (types), the SQLite file
// archive, and openArchive, which picks the store from a path or a postgres:// URL.
export * from './archive/types.js';
export { Archive, type ArchiveOptions } from './archive/sqlite.js';
export { openArchive, isPostgresUrl, type OpenArchiveOptions } from './archive/open.js';
export type { PostgresArchiveOptions } from './archive/postgres.js';
export {
  importSqliteArchive,
  planArchiveImport,
  type ArchiveImportPlan,
  type ArchiveImportResult,
} from './archive/import.js';

// The device store's schema version, the same for every implementation: each has one migration
// per version step, equal in meaning (store/sqlite/migrations.ts, store/postgres/migrations.ts).

export const SCHEMA_VERSION = 8;

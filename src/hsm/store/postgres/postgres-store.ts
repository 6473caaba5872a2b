// The device store on PostgreSQL: DeviceStore over a pg Pool, for several nodes on one database.
// The store lives in a schema of its own (attestamp_hsm unless the URL says `?schema=NAME`), so
// that other tables of the database (the TSA's archive) are not part of its catalog. Writers are
// serialised across every node by a transaction-scoped advisory lock taken first in each
// transaction, as SQLite's BEGIN IMMEDIATE serialises the writers of one file.
import { createHash } from 'node:crypto';
import pg from 'pg';
import { HsmError } from '../../errors.js';
import { TxContext } from '../tx-context.js';
import type { DeviceStore, StoreReader, StoreTx } from '../device-store.js';
import {
  classifyOpenError,
  classifyPostgresError,
  errorCode,
  postgresTarget,
  type PostgresTarget,
} from './connection.js';
import { migrate, repositories, statementsFor, type Run } from './queries.js';
import { assertSchema, CatalogGuard, type Queryable } from './schema-check.js';

/** The first half of the writers' advisory lock key: "ATST", the same for every store. */
const LOCK_CLASS = 0x41545354;

/** The second half: from the schema's name, so that two stores in one database do not contend. */
function lockKey(schema: string): number {
  return createHash('sha256').update(schema, 'utf8').digest().readInt32BE(0);
}

const LOCK_SQL = 'SELECT pg_catalog.pg_advisory_xact_lock($1, $2)';

/**
 * True when a dead row version may have outlived VACUUM FULL: another session of the database
 * had a snapshot open before it began (it copies the row versions such a snapshot may still
 * read), or a prepared transaction or a replication slot holds back the horizon.
 */
const HELD_BACK_SQL = `SELECT
  -- Any database's: a backend still connecting, or one whose transaction is flagged to, holds
  -- the horizon of every database, and pg_stat_activity does not say which; so any snapshot.
  EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity
    WHERE pid <> pg_catalog.pg_backend_pid() AND backend_xmin IS NOT NULL
      AND (xact_start IS NULL OR xact_start < $1))
  OR EXISTS (SELECT 1 FROM pg_catalog.pg_prepared_xacts WHERE database = pg_catalog.current_database())
  OR EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots WHERE xmin IS NOT NULL) AS held`;

/** True when this session may VACUUM FULL the keys table (it owns it, or is a superuser). */
const MAY_VACUUM_SQL = `SELECT pg_catalog.pg_has_role(c.relowner, 'USAGE') AS may
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relname = 'keys'`;

function runOn(q: pg.Pool | pg.PoolClient): Run {
  return (text, values) => q.query(text, values);
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function asQueryable(run: Run): Queryable {
  return { query: (text, values) => run(text, values) };
}

function notInReaders(): never {
  throw new Error('migrations and schema checks run through a transaction');
}

class PostgresStore implements DeviceStore {
  readonly dialect = 'postgres';
  readonly location: string;
  readonly meta: StoreReader['meta'];
  readonly device: StoreReader['device'];
  readonly partitions: StoreReader['partitions'];
  readonly keys: StoreReader['keys'];
  readonly officers: StoreReader['officers'];
  readonly governance: StoreReader['governance'];
  readonly audit: StoreReader['audit'];
  private readonly schema: string;
  private readonly lockKey: number;
  private readonly inTx = new TxContext();
  /** The catalog check of this store's write transactions (a full comparison when it changed). */
  private readonly catalog: CatalogGuard;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    target: PostgresTarget,
    /** Created by this process and not migrated yet: a migrated schema is someone else's. */
    private fresh: boolean,
  ) {
    this.schema = target.schema;
    this.location = target.location;
    this.lockKey = lockKey(target.schema);
    this.catalog = new CatalogGuard(target.schema);
    const outside = repositories(this.readerRun, this.schema, {
      assertSchema: notInReaders,
      migrate: notInReaders,
    });
    this.meta = outside.meta;
    this.device = outside.device;
    this.partitions = outside.partitions;
    this.keys = outside.keys;
    this.officers = outside.officers;
    this.governance = outside.governance;
    this.audit = outside.audit;
  }

  private requireUsable(): void {
    if (this.inTx.inside()) {
      // In PostgreSQL a reader outside the transaction would not see its uncommitted writes.
      throw new Error("a store reader was used inside a transaction (use the transaction's)");
    }
    if (this.closed) throw new HsmError('store-unavailable', 'the device store is closed');
  }

  /** Readers run on any pooled connection, each statement on its own (autocommit). */
  private readonly readerRun: Run = async (text, values) => {
    this.requireUsable();
    try {
      return await runOn(this.pool)(text, values);
    } catch (error) {
      throw classifyPostgresError(error) ?? error;
    }
  };

  private async connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (error) {
      throw classifyOpenError(error);
    }
  }

  async tx<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    const state = { migrated: false };
    const result = await this.onConnection('write', (run) =>
      fn(
        repositories(run, this.schema, {
          assertSchema: (versions) => this.catalog.assert(asQueryable(run), versions),
          migrate: async () => {
            const applied = await migrate(run, this.schema, { expectEmpty: () => this.fresh });
            state.migrated = true;
            return applied;
          },
        }),
      ),
    );
    if (state.migrated) this.fresh = false;
    return result;
  }

  /** REPEATABLE READ READ ONLY: one snapshot for every statement, no writers' lock. */
  snapshot<T>(fn: (r: StoreReader) => Promise<T>): Promise<T> {
    return this.onConnection('snapshot', (run) =>
      fn(repositories(run, this.schema, { assertSchema: notInReaders, migrate: notInReaders })),
    );
  }

  /**
   * Runs `fn` in a transaction on one pooled connection: a writer's (READ COMMITTED, the writers'
   * lock taken first) or a snapshot's (REPEATABLE READ, read only). Committed when `fn` returns
   * and every statement succeeded, rolled back otherwise.
   */
  private async onConnection<T>(
    kind: 'write' | 'snapshot',
    fn: (run: Run) => Promise<T>,
  ): Promise<T> {
    if (this.inTx.inside()) {
      throw new Error('transactions do not nest');
    }
    this.requireUsable();
    const client = await this.connect();
    /** The first statement that failed: PostgreSQL aborts the transaction there. */
    let failure: unknown;
    let ended = false;
    // A checked-out client reports a lost connection as an event: without a listener it would
    // end the process.
    const onError = (error: Error): void => {
      failure ??= error;
    };
    client.on('error', onError);
    const statement = runOn(client);
    const run: Run = async (text, values) => {
      if (ended) throw new Error('a transaction was used after it ended');
      try {
        return await statement(text, values);
      } catch (error) {
        failure ??= error;
        throw classifyPostgresError(error) ?? error;
      }
    };
    let destroy: Error | undefined;
    try {
      if (kind === 'write') {
        // READ COMMITTED whatever the server's default: each statement after the lock sees
        // every writer that committed before it (a snapshot taken at the lock would not).
        await run('BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE');
        await run(LOCK_SQL, [LOCK_CLASS, this.lockKey]);
      } else {
        await run('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      }
      const result = await this.inTx.run(() => fn(run));
      // A statement failed and fn went on: PostgreSQL would answer COMMIT with a rollback.
      if (failure !== undefined) throw classifyPostgresError(failure) ?? asError(failure);
      await this.commit(client);
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        destroy = asError(rollbackError);
      }
      throw error;
    } finally {
      ended = true;
      client.off('error', onError);
      if (failure !== undefined && classifyPostgresError(failure)?.code === 'store-unavailable') {
        destroy ??= asError(failure);
      }
      client.release(destroy);
    }
  }

  private async commit(client: pg.PoolClient): Promise<void> {
    let result: pg.QueryResult;
    try {
      result = await client.query('COMMIT');
    } catch (error) {
      const classified = classifyPostgresError(error);
      if (classified?.code === 'store-unavailable') {
        throw new HsmError(
          'store-unavailable',
          'the connection to the device store failed during commit: the change may or may not have been applied',
          { cause: error, details: classified.details },
        );
      }
      throw classified ?? error;
    }
    if (result.command !== 'COMMIT') {
      throw new HsmError('store-unavailable', 'the device store rolled the transaction back');
    }
  }

  /** Runs `fn` in a transaction that is rolled back (the schema check's scratch schema). */
  private async rolledBack<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    this.requireUsable();
    const client = await this.connect();
    let destroy: Error | undefined;
    const run = runOn(client);
    const q: Queryable = {
      query: async (text, values) => {
        try {
          return await run(text, values);
        } catch (error) {
          throw classifyPostgresError(error) ?? error;
        }
      },
    };
    try {
      await q.query('BEGIN ISOLATION LEVEL READ COMMITTED');
      return await fn(q);
    } finally {
      try {
        await client.query('ROLLBACK');
      } catch (error) {
        destroy = asError(error);
      }
      client.release(destroy);
    }
  }

  /** The full comparison, always (at open). */
  async assertSchema(versions: readonly number[]): Promise<void> {
    await this.rolledBack((q) => assertSchema(q, this.schema, versions));
  }

  /**
   * After a purge. PostgreSQL has no secure_delete: DELETE leaves the row's bytes in its page
   * until VACUUM removes them, and plain VACUUM compacts the page without overwriting the freed
   * space. VACUUM FULL writes the keys table anew with its live rows only and unlinks the old
   * file, so the database's files no longer hold the purged row. What it does not reach: the
   * WAL (each write's record, full-page images included, until the segment is recycled and
   * overwritten), WAL archives, streaming replicas (which replay the same rows and then the
   * deletion in their own files), base backups and dumps, and the file system's freed blocks.
   * The row's sealed key stays encrypted under the master key wherever a copy survives.
   * False when it could not finish or could not be sure: the table's lock was held past the
   * lock timeout, this role does not own the table (VACUUM would skip it with a warning), or
   * another session's older snapshot (or a prepared transaction, or a replication slot) may
   * have kept the dead row version in the new file. Sessions of other roles show no snapshot
   * to a role without pg_read_all_stats: run the store as the table's owner with that role.
   */
  async scrubFreed(): Promise<boolean> {
    this.requireUsable();
    try {
      const may = await this.pool.query<{ may: boolean }>(MAY_VACUUM_SQL, [this.schema]);
      if (may.rows[0]?.may !== true) return false;
      const started = await this.pool.query<{ t: Date }>(
        'SELECT pg_catalog.statement_timestamp() AS t',
      );
      const heldBack = async (): Promise<boolean> =>
        (await this.pool.query<{ held: boolean }>(HELD_BACK_SQL, [started.rows[0]!.t])).rows[0]
          ?.held !== false;
      // Checked before and after: a snapshot that was held across the VACUUM kept the bytes.
      if (await heldBack()) return false;
      await this.pool.query(`VACUUM (FULL) ${statementsFor(this.schema).keysTable}`);
      return !(await heldBack());
    } catch (error) {
      if (errorCode(error) === '55P03') return false;
      throw classifyPostgresError(error) ?? error;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

function newPool(target: PostgresTarget): pg.Pool {
  const pool = new pg.Pool(target.config);
  // An idle connection that the server or the network drops is reported here and removed from
  // the pool; the next use opens a new one (the store recovers when the database is back).
  pool.on('error', () => undefined);
  return pool;
}

/** Runs the statements of `fn` on one connection of a new pool, ending the pool on failure. */
async function atOpen(target: PostgresTarget, fn: (run: Run) => Promise<void>): Promise<pg.Pool> {
  const pool = newPool(target);
  try {
    const client = await pool.connect();
    let destroy: Error | undefined;
    try {
      await fn(runOn(client));
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        destroy = asError(rollbackError);
      }
      throw error;
    } finally {
      client.release(destroy);
    }
    return pool;
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw classifyOpenError(error);
  }
}

/**
 * Creates the store's schema in the database at `url` (store-exists when the schema holds a
 * device store, or anything else); the first transaction's migrate() makes the tables.
 */
export async function createPostgresStore(url: string): Promise<DeviceStore> {
  const target = postgresTarget(url);
  const { schema } = target;
  const pool = await atOpen(target, async (run) => {
    await run('BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE');
    await run(LOCK_SQL, [LOCK_CLASS, lockKey(schema)]);
    const { rows } = await run<{ objects: number; store: boolean }>(
      `SELECT (SELECT count(*) FROM pg_catalog.pg_class WHERE relnamespace = n.oid)
            + (SELECT count(*) FROM pg_catalog.pg_proc WHERE pronamespace = n.oid) AS objects,
              EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE relnamespace = n.oid AND relname = 'meta') AS store
         FROM pg_catalog.pg_namespace n WHERE n.nspname = $1`,
      [schema],
    );
    const found = rows[0];
    if (found?.store === true) {
      throw new HsmError('store-exists', 'a device store already exists in this database', {
        details: { schema },
      });
    }
    if (found !== undefined && found.objects > 0) {
      throw new HsmError('store-exists', "the store's schema exists and is not empty", {
        details: { schema },
      });
    }
    if (found === undefined) await run(`CREATE SCHEMA ${schema}`);
    await run('COMMIT');
  });
  return new PostgresStore(pool, target, true);
}

/** Opens the store in the database at `url` (store-not-found when it holds none). */
export async function openPostgresStore(url: string): Promise<DeviceStore> {
  const target = postgresTarget(url);
  const { schema } = target;
  const pool = await atOpen(target, async (run) => {
    const { rows } = await run(statementsFor(schema).metaExists, [schema]);
    if (rows.length === 0) {
      throw new HsmError('store-not-found', 'no device store in this database', {
        details: { schema },
      });
    }
  });
  return new PostgresStore(pool, target, false);
}

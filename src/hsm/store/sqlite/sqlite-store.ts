// The embedded device store: DeviceStore over one SQLite file (better-sqlite3, WAL,
// synchronous=NORMAL with a group commit: a transaction's result, and a read's, is released only
// once the WAL holding what it committed or saw is on disk, flushed off the event loop while the
// next transactions run; see wal-flush.ts). better-sqlite3 is synchronous; the seam is async so
// that PostgreSQL fits behind it. One connection per store: the store's transactions take turns,
// and an open one holds the connection from BEGIN IMMEDIATE to COMMIT across its awaits, so reads
// from outside wait for it; a transaction still waiting for the file's write lock holds nothing,
// and reads go on.
import { HsmError } from '../../errors.js';
import { TxContext } from '../tx-context.js';
import type { AuditRow, DeviceStore, StoreReader, StoreTx } from '../device-store.js';
import {
  allMeta,
  BUSY_TIMEOUT_MS,
  classifyOpenError,
  createDatabase,
  getMeta,
  migrate,
  openDatabase,
  schemaVersion,
  setMeta,
  type Db,
} from './database.js';
import * as rows from './rows.js';
import { assertSchema } from './schema-check.js';
import { WalFlusher, type WalFlush } from './wal-flush.js';

export interface SqliteStoreOptions {
  /** The WAL flush (default fs.fdatasync); for tests. */
  readonly walFlush?: WalFlush;
}

/** Audit rows read per page by entries(). */
const AUDIT_PAGE = 500;

/** How long a transaction waits for another connection's write lock before store-busy. */
const WRITE_LOCK_WAIT_MS = 5_000;

function isBusy(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    typeof error.code === 'string' &&
    error.code.startsWith('SQLITE_BUSY')
  );
}

/**
 * BEGIN IMMEDIATE without blocking the event loop: SQLite's busy handler would sleep in this
 * thread while another connection (another process, or another store in this one) holds the
 * write lock, and that holder may need this thread to finish. So the lock is tried without a
 * busy timeout and retried on a timer, up to WRITE_LOCK_WAIT_MS. Between tries the connection
 * holds no transaction and keeps its usual busy timeout: reads from outside run meanwhile.
 * `begun` is called in the same turn as the BEGIN that succeeded, before any other code runs.
 */
async function beginImmediate(db: Db, begun: () => void): Promise<void> {
  const deadline = performance.now() + WRITE_LOCK_WAIT_MS;
  let pause = 1;
  for (;;) {
    db.pragma('busy_timeout = 0');
    try {
      db.exec('BEGIN IMMEDIATE');
      begun();
      return;
    } catch (error) {
      if (!isBusy(error)) throw error;
      if (performance.now() >= deadline) {
        throw new HsmError('store-busy', 'the device store is locked by another writer', {
          cause: error,
        });
      }
    } finally {
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(pause * 2, 50);
  }
}

/** The repositories over one connection; `gate` runs each call when the connection is free. */
function repositories(db: Db, gate: <T>(fn: () => T) => Promise<T>): StoreTx {
  const g =
    <A extends unknown[], R>(fn: (db: Db, ...args: A) => R) =>
    (...args: A): Promise<R> =>
      gate(() => fn(db, ...args));
  return {
    meta: {
      get: g(getMeta),
      all: g(allMeta),
      schemaVersion: g(schemaVersion),
      set: g(setMeta),
    },
    device: {
      all: g(rows.selectDevice),
      insert: g(rows.insertDeviceRow),
      setMac: g(rows.setDeviceMac),
    },
    partitions: {
      byId: g(rows.selectPartitionById),
      byName: g(rows.selectPartitionByName),
      all: g(rows.selectAllPartitions),
      nameTaken: g(rows.partitionNameTaken),
      insert: g(rows.insertPartitionRow),
      updatePolicy: g(rows.updatePartitionPolicyRow),
      setMac: g(rows.setPartitionMac),
    },
    keys: {
      byId: g(rows.selectKeyById),
      byLabel: g(rows.selectKeyByLabel),
      ofPartition: g(rows.selectKeysOfPartition),
      all: g(rows.selectAllKeys),
      labelTaken: g(rows.labelTaken),
      insert: g(rows.insertKeyRow),
      update: g(rows.updateKeyRow),
      delete: g(rows.deleteKeyRow),
      setMac: g(rows.setKeyMac),
    },
    officers: {
      byName: g(rows.selectOfficer),
      all: g(rows.selectAllOfficers),
      insert: g(rows.insertOfficerRow),
      setMac: g(rows.setOfficerMac),
    },
    governance: {
      get: g(rows.selectGovernance),
      list: g(rows.selectGovernanceOfKind),
      all: g(rows.selectAllGovernance),
      insert: g(rows.insertGovernanceRow),
      update: g(rows.updateGovernanceRow),
      delete: g(rows.deleteGovernanceRow),
    },
    audit: {
      head: g(rows.auditHead),
      async *entries(): AsyncGenerator<AuditRow> {
        // From the lowest possible number: a row planted with seq <= 0 is read (and fails).
        let after = Number.MIN_SAFE_INTEGER;
        for (;;) {
          const page = await gate(() => rows.auditPage(db, after, AUDIT_PAGE));
          for (const r of page) yield r;
          if (page.length < AUDIT_PAGE) return;
          after = page[page.length - 1]!.seq;
        }
      },
      page: (after, limit) => gate(() => rows.auditPage(db, after, limit)),
      latestKeyChange: g(rows.latestKeyChange),
      latestPartitionChange: g(rows.latestPartitionChange),
      latestObjectChange: g(rows.latestObjectChange),
      everExported: g(rows.everExported),
      creationAction: g(rows.creationAction),
      schemaEntries: g(rows.schemaEntries),
      insert: g(rows.insertAuditRow),
    },
    assertSchema: g(assertSchema),
    migrate: g(migrate),
  };
}

class SqliteStore implements DeviceStore {
  readonly dialect = 'sqlite';
  readonly meta: StoreReader['meta'];
  readonly device: StoreReader['device'];
  readonly partitions: StoreReader['partitions'];
  readonly keys: StoreReader['keys'];
  readonly officers: StoreReader['officers'];
  readonly governance: StoreReader['governance'];
  readonly audit: StoreReader['audit'];
  private readonly inTx = new TxContext();
  /** Resolves when the store's last queued transaction has ended: the next one's turn. */
  private turn: Promise<void> = Promise.resolve();
  /** True while a transaction is open on the connection (from its BEGIN to its end). */
  private open = false;
  /** Resolves when the open transaction (if any) has ended. */
  private ended: Promise<void> = Promise.resolve();
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly txRepos: StoreTx;
  private readonly wal: WalFlusher;
  /** PRAGMA data_version as last read: it moves when another connection commits. */
  private dataVersion: number;

  constructor(
    private readonly db: Db,
    readonly location: string,
    options: SqliteStoreOptions = {},
  ) {
    this.dataVersion = dataVersion(db);
    this.wal = new WalFlusher(location, options.walFlush);
    const outside = repositories(db, (fn) => this.whenFree(fn));
    this.meta = outside.meta;
    this.device = outside.device;
    this.partitions = outside.partitions;
    this.keys = outside.keys;
    this.officers = outside.officers;
    this.governance = outside.governance;
    this.audit = outside.audit;
    this.txRepos = repositories(db, (fn) => Promise.resolve().then(fn));
  }

  /** Runs a read outside any transaction: at once unless a transaction is open. */
  private async whenFree<T>(fn: () => T): Promise<T> {
    if (this.inTx.inside()) {
      // A deadlock otherwise: the transaction would wait for a read that waits for it.
      throw new Error("a store reader was used inside a transaction (use the transaction's)");
    }
    while (this.open) await this.ended;
    this.requireOpen();
    const result = fn();
    await this.durable(true);
    return result;
  }

  private requireOpen(): void {
    if (this.closed) throw new HsmError('store-unavailable', 'the device store is closed');
    const failed = this.wal.failed;
    if (failed !== undefined) throw unflushed(failed);
  }

  /**
   * Resolves once what this connection committed, and (with `read`) what it may have read of
   * other connections' commits, is on disk. At once when nothing is unflushed.
   */
  private async durable(read: boolean): Promise<void> {
    if (read) {
      const version = dataVersion(this.db);
      if (version !== this.dataVersion) {
        // Another connection committed since: its flush may not have finished, and what was
        // read of it is not released before it is on disk (the flush covers the whole file).
        this.dataVersion = version;
        this.wal.changed();
      }
    }
    try {
      await this.wal.durable();
    } catch (error) {
      throw unflushed(error);
    }
  }

  /** Marks a transaction open on the connection until the returned function is called. */
  private markOpen(): () => void {
    let end = (): void => undefined;
    this.ended = new Promise((r) => {
      end = r;
    });
    this.open = true;
    return () => {
      this.open = false;
      end();
    };
  }

  /**
   * Runs `fn` when the store's earlier transactions, snapshots and scrubs have ended: each takes
   * the connection in its turn.
   */
  private async inTurn<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inTx.inside()) {
      throw new Error('transactions do not nest');
    }
    const previous = this.turn;
    let done = (): void => undefined;
    this.turn = new Promise((r) => {
      done = r;
    });
    try {
      await previous;
      this.requireOpen();
      return await fn();
    } finally {
      done();
    }
  }

  async tx<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    const result = await this.inTurn(async () => {
      let end = (): void => undefined;
      try {
        await beginImmediate(this.db, () => {
          end = this.markOpen();
        });
        try {
          const value = await this.inTx.run(() => fn(this.txRepos));
          this.db.exec('COMMIT');
          this.wal.changed();
          return value;
        } catch (error) {
          if (this.db.inTransaction) this.db.exec('ROLLBACK');
          throw error;
        }
      } finally {
        end();
      }
    });
    // The next transaction runs meanwhile: commits made during a flush share the next one.
    await this.durable(false);
    return result;
  }

  /**
   * A deferred read transaction: SQLite takes its snapshot at the first read, and no writer of
   * another connection changes what it sees (WAL). Reads from outside go on meanwhile, on the
   * same connection: they see the snapshot, a consistent state too.
   */
  async snapshot<T>(fn: (r: StoreReader) => Promise<T>): Promise<T> {
    const result = await this.inTurn(async () => {
      this.db.exec('BEGIN DEFERRED');
      try {
        return await this.inTx.run(() => fn(this.txRepos));
      } finally {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
      }
    });
    await this.durable(true);
    return result;
  }

  assertSchema(versions: readonly number[]): Promise<void> {
    return this.whenFree(() => {
      assertSchema(this.db, versions);
    });
  }

  scrubFreed(): Promise<boolean> {
    // In its turn: a checkpoint cannot run on a connection that holds a read snapshot.
    return this.inTurn(() => Promise.resolve(rows.checkpointTruncate(this.db)));
  }

  close(): Promise<void> {
    // A second call waits for the same close.
    this.closing ??= this.closeNow();
    return this.closing;
  }

  private async closeNow(): Promise<void> {
    // After every transaction queued so far (each may queue none after it ends).
    for (let last = this.turn; ; last = this.turn) {
      await last;
      if (last === this.turn) break;
    }
    if (this.closed) return;
    this.closed = true;
    // The last flush finishes (and its waiters are answered) before the descriptor closes.
    await this.wal.close();
    this.db.close();
  }
}

/** PRAGMA data_version: changes whenever another connection (of any process) commits. */
function dataVersion(db: Db): number {
  return (db.prepare('PRAGMA data_version').get() as { data_version: number }).data_version;
}

/** The store after a failed flush of its WAL: closed for good (the kernel reports it once). */
function unflushed(cause: unknown): HsmError {
  return new HsmError(
    'store-unavailable',
    'the device store could not flush its log to disk; check the disk and restart',
    { cause },
  );
}

/** The store over an open connection; the connection is closed if the store cannot start. */
function storeOver(db: Db, path: string, options: SqliteStoreOptions): DeviceStore {
  try {
    return new SqliteStore(db, path, options);
  } catch (error) {
    db.close();
    // The WAL could not be opened: classified as an open failure of the store (permission...).
    throw error instanceof HsmError ? error : classifyOpenError(error, path);
  }
}

/** Creates a new, empty SQLite store file (store-exists when there is one). */
export function createSqliteStore(path: string, options: SqliteStoreOptions = {}): DeviceStore {
  return storeOver(createDatabase(path), path, options);
}

/** Opens an existing SQLite store file (store-not-found, or the classified open error). */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): DeviceStore {
  return storeOver(openDatabase(path), path, options);
}

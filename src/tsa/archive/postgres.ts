// The issuance archive in PostgreSQL, for several TSA nodes on one database (ETSI EN 319 421
// TIS-04): each node appends to its own hash chain with group commit, serial numbers come in
// blocks reserved under a row lock (the UNIQUE constraint on serial proves them unique), and
// signed checkpoints of all chain heads let verify() detect a truncated chain. A SQLite archive
// can be imported as one closed chain, kept exactly as it was hashed there.
//
// The database is hostile: what an attacker can edit there is detected, never obeyed. The
// schema's catalog is checked at open; a node keeps its own chain head in memory and refuses to
// append when the head row differs from it; a serial block that overlaps a reserved one is
// refused; each node's checkpoints are chained; verify() checks that every serial is unique and
// inside a block its node reserved.
import pg from 'pg';
import {
  createVerifier,
  inspectCatalog,
  type CatalogBuilder,
  type CatalogQueryable,
} from '../../hsm/index.js';
import { isKeyAlgorithm, sha256Fingerprint, type Signer } from '../../pki/index.js';
import {
  bytesEqual,
  ChainVerifier,
  GENESIS,
  nextLink,
  silentLogger,
  systemClock,
  toHex,
  utf8,
  verifyChainAsync,
  type Clock,
  type StoredEntry,
  type Logger,
} from '../../shared/index.js';
import type { ClockEvent, ClockSourceReport, ClockState } from '../clock/guard.js';
import { TsaError, type FailInfo } from '../errors.js';
import {
  archiveDigest,
  entryBody,
  hexOrNull,
  importedChainName,
  sha256,
  type StoredRow,
} from './entry.js';
import { checkedResponse, entryProblem, storedEntry } from './entry-check.js';
import type {
  ArchiveQuery,
  ArchiveRecord,
  ArchiveRow,
  ArchiveVerification,
  ArchiveVerifyOptions,
  ChainReport,
  CheckpointReport,
  ClockEventRow,
  EntryLocator,
  IssuanceArchive,
  KeptResponse,
  SerialReport,
} from './types.js';

export interface PostgresArchiveOptions {
  /** postgres://user:password@host:port/database */
  readonly url: string;
  /**
   * This node's id: its chain. Required to serve. One process per id: the node is the only
   * writer of its chain and keeps its head in memory, so another writer's rows would be taken
   * for an edit of the database (the archive stops granting).
   */
  readonly node?: string;
  /** Verify, search and read only: no migration, no serials, no checkpoints, no writes. */
  readonly readOnly?: boolean;
  /** Opens to import a chain (importChain): migrates, but registers no chain and takes no serials. */
  readonly importer?: boolean;
  /** Signs the checkpoints (the TSA unit's timestamp key); without it none are written. */
  readonly signer?: Signer;
  /** How often a checkpoint is written while serving (default 60 s; 0: only at close). */
  readonly checkpointIntervalMs?: number;
  /** Serial numbers per reserved block (default 1024). */
  readonly serialBlock?: number;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Connections in the pool (default 4). */
  readonly poolSize?: number;
  /** How long getting a connection may take before a write fails (default 5 s). */
  readonly connectTimeoutMs?: number;
  /** How long one statement may take before it fails (default 10 s). */
  readonly queryTimeoutMs?: number;
  /** While the database is unreachable, how often it is tried again (default 500 ms). */
  readonly retryMs?: number;
}

/** The schema version this code writes; an archive of a later version is refused. */
export const POSTGRES_SCHEMA_VERSION = 2;

/**
 * Versioned migrations, applied in order under an advisory lock at start. Byte columns are
 * bytea, times ISO 8601 text (hashed as text: a timestamptz would not give the same bytes back).
 * The statements name no schema: the catalog check runs them again in a scratch schema.
 */
const MIGRATIONS: readonly (readonly string[])[] = [
  [
    `CREATE TABLE archive_meta (name text PRIMARY KEY, value text NOT NULL)`,
    `CREATE TABLE serial_state (
       id integer PRIMARY KEY CHECK (id = 1),
       next numeric(49, 0) NOT NULL CHECK (next > 0))`,
    `INSERT INTO serial_state (id, next) VALUES (1, 1)`,
    `CREATE TABLE serial_blocks (
       first numeric(49, 0) PRIMARY KEY,
       next numeric(49, 0) NOT NULL,
       node text NOT NULL,
       at text NOT NULL,
       CHECK (next > first))`,
    `CREATE TABLE chains (
       node text PRIMARY KEY,
       head_seq bigint NOT NULL CHECK (head_seq >= 0),
       head_hash bytea NOT NULL,
       created_at text NOT NULL)`,
    `CREATE TABLE responses (
       node text NOT NULL REFERENCES chains (node),
       seq bigint NOT NULL CHECK (seq > 0),
       at text NOT NULL,
       unit text NOT NULL,
       key_spki_sha256 text NOT NULL,
       serial numeric(49, 0) UNIQUE,
       gen_time text,
       policy text,
       hash_algorithm text,
       imprint bytea,
       nonce bytea,
       status text NOT NULL CHECK (status IN ('granted', 'rejection')),
       fail_info text,
       response_sha256 bytea NOT NULL,
       response bytea,
       prev_hash bytea NOT NULL,
       hash bytea NOT NULL,
       PRIMARY KEY (node, seq))`,
    `CREATE INDEX responses_imprint ON responses (imprint)`,
    `CREATE INDEX responses_at ON responses (at)`,
    `CREATE TABLE clock_events (
       seq bigserial PRIMARY KEY,
       node text NOT NULL,
       at text NOT NULL,
       from_state text NOT NULL CHECK (from_state IN ('synced', 'degraded', 'unsynced')),
       to_state text NOT NULL CHECK (to_state IN ('synced', 'degraded', 'unsynced')),
       reason text NOT NULL,
       sources_json text NOT NULL)`,
    `CREATE TABLE checkpoints (
       id bigserial PRIMARY KEY,
       node text NOT NULL,
       at text NOT NULL,
       body text NOT NULL,
       algorithm text NOT NULL,
       spki bytea NOT NULL,
       certificates bytea[] NOT NULL,
       signature bytea NOT NULL)`,
  ],
  // 2: how a chain's entries are hashed. 'node': with the node id (every chain written here);
  // 'imported-sqlite': a SQLite archive's one chain, imported as stored (no node id), closed.
  [
    `ALTER TABLE chains ADD COLUMN format text NOT NULL DEFAULT 'node'
       CHECK (format IN ('node', 'imported-sqlite'))`,
  ],
];

/** How a chain's entries are hashed (migration 2). */
export type ChainFormat = 'node' | 'imported-sqlite';

/** A SQLite archive's chain, as importChain reads it. */
export interface ChainImportSource {
  /** The chain's last entry: the rows must end there. */
  readonly head: { readonly seq: number; readonly hash: Uint8Array };
  /** Its rows exactly as stored, oldest first. */
  readonly rows: AsyncIterable<StoredRow>;
  /** Its clock events, oldest first (recorded under the imported chain's name). */
  readonly clockEvents: readonly ClockEvent[];
}

export interface ImportedChain {
  readonly node: string;
  readonly entries: number;
  readonly clockEvents: number;
  /** The serial block recorded for it, [first, next), when it holds tokens. */
  readonly serials?: { readonly first: string; readonly next: string };
}

/** The PostgreSQL schema that holds the archive's tables. */
const ARCHIVE_SCHEMA = 'attestamp_tsa';

/** Every statement that changes the schema runs under this advisory lock (one node migrates). */
const MIGRATION_LOCK = 0x61747374; // 'atst'

/**
 * The `type` of a checkpoint body: what its signature is over, and nothing else can be. A v2
 * body also carries `prev` (the hex SHA-256 of the text of the same node's previous checkpoint)
 * and `prevId` (that checkpoint's id), absent in a node's first; v1 bodies are not chained.
 */
const CHECKPOINT_TYPE = 'attestamp archive checkpoint v2';
const CHECKPOINT_TYPE_V1 = 'attestamp archive checkpoint v1';

/** A node id names a chain: short, printable, no spaces (it appears in logs and reports). */
const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

const MAX_BATCH = 256;
/** Rows read per query while verifying or exporting a chain. */
const PAGE = 1000;
/** Columns of one responses row as inserted. */
const INSERT_COLUMNS = [
  'node',
  'seq',
  'at',
  'unit',
  'key_spki_sha256',
  'serial',
  'gen_time',
  'policy',
  'hash_algorithm',
  'imprint',
  'nonce',
  'status',
  'fail_info',
  'response_sha256',
  'response',
  'prev_hash',
  'hash',
] as const;

interface RawRow {
  node: string;
  seq: string;
  at: string;
  unit: string;
  key_spki_sha256: string;
  serial: string | null;
  gen_time: string | null;
  policy: string | null;
  hash_algorithm: string | null;
  imprint: Buffer | null;
  nonce: Buffer | null;
  status: 'granted' | 'rejection';
  fail_info: FailInfo | null;
  response_sha256: Buffer;
  response: Buffer | null;
  prev_hash: Buffer;
  hash: Buffer;
}

interface RawCheckpoint {
  id: string;
  node: string;
  at: string;
  body: string;
  algorithm: string;
  spki: Buffer;
  certificates: Buffer[];
  signature: Buffer;
}

interface CheckpointBody {
  readonly type: string;
  readonly node: string;
  readonly at: string;
  readonly prev?: string;
  readonly prevId?: number;
  readonly heads: readonly { node: string; seq: number; hash: string }[];
}

/** A chain head as this node holds it (seq 0 and GENESIS: an empty chain). */
interface Head {
  readonly seq: number;
  readonly hash: Uint8Array;
}

/** The chain's head row, locked, and (on first use) the chain's last entry beside it. */
interface HeadRow {
  head_seq: string;
  head_hash: Buffer;
  last_seq?: string | null;
  last_hash?: Buffer | null;
}

/** The head row under this batch's row lock. */
const LOCK_HEAD_SQL =
  'SELECT head_seq::text AS head_seq, head_hash FROM chains WHERE node = $1 FOR UPDATE';

/** The head row under its lock and the chain's last entry (the primary key's index, backwards). */
const LOCK_HEAD_AND_LAST_SQL = `
  SELECT c.head_seq::text AS head_seq, c.head_hash, l.seq::text AS last_seq, l.hash AS last_hash
  FROM chains c LEFT JOIN LATERAL (
    SELECT r.seq, r.hash FROM responses r WHERE r.node = c.node ORDER BY r.seq DESC LIMIT 1) l
    ON true
  WHERE c.node = $1 FOR UPDATE OF c`;

/** The archive's migrations in a scratch schema (they name none), for the catalog check. */
const ARCHIVE_CATALOG: CatalogBuilder = {
  name: 'tsa-archive',
  build: async (q, scratch, version) => {
    await q.query(`SET LOCAL search_path TO ${scratch}`);
    for (let v = 0; v < version; v++) {
      for (const statement of MIGRATIONS[v]!) await q.query(statement);
    }
    await q.query('SET LOCAL search_path TO pg_catalog');
  },
};

/** A pool client as the catalog check's query function. */
function catalogQueryable(client: pg.PoolClient): CatalogQueryable {
  return { query: (text, values) => client.query(text, values) };
}

/**
 * Refuses an archive schema whose catalog is not exactly what the migrations of `version` make:
 * a trigger, rule, policy, view or table added, a UNIQUE or primary key dropped, a column
 * changed. Runs inside `client`'s transaction, which must be able to create (and roll back)
 * a scratch schema. Both catalogs are read under the same search path (pg_catalog only).
 */
async function assertArchiveCatalog(client: pg.PoolClient, version: number): Promise<void> {
  await client.query('SET LOCAL search_path TO pg_catalog');
  let diff;
  try {
    diff = await inspectCatalog(
      catalogQueryable(client),
      ARCHIVE_SCHEMA,
      [version],
      ARCHIVE_CATALOG,
    );
  } catch (error) {
    throw new Error(
      `the archive's SQL schema cannot be checked (the check builds the expected one in a scratch schema, rolled back, and needs the right to create it): ${message(error)}`,
      { cause: error },
    );
  }
  if (diff === undefined) return;
  const unexpected = diff.unexpected.join(', ').slice(0, 500);
  const missing = diff.missing.join(', ').slice(0, 500);
  throw new TsaError(
    'archive-integrity',
    `the archive's SQL schema ${ARCHIVE_SCHEMA} is not the one version ${String(version)} defines${unexpected === '' ? '' : `; unexpected: ${unexpected}`}${missing === '' ? '' : `; missing or changed: ${missing}`}`,
    {
      details: {
        schema: ARCHIVE_SCHEMA,
        ...(unexpected === '' ? {} : { unexpected }),
        ...(missing === '' ? {} : { missing }),
      },
    },
  );
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const sameHead = (a: Head, b: Head): boolean => a.seq === b.seq && bytesEqual(a.hash, b.hash);

interface Pending {
  readonly record: ArchiveRecord;
  readonly done: () => void;
  readonly fail: (e: unknown) => void;
}

interface Block {
  readonly first: bigint;
  readonly end: bigint;
}

const fields = (r: RawRow) => ({ ...r, seq: Number(r.seq) });

/** The node id a row's body names: none for an imported SQLite chain (hashed as it was there). */
const bodyNode = (r: RawRow, format: ChainFormat = 'node'): string | undefined =>
  format === 'imported-sqlite' ? undefined : r.node;

/** Rows per INSERT while importing a chain (17 parameters each, well under PostgreSQL's limit). */
const IMPORT_BATCH = 200;

function toRow(r: RawRow): ArchiveRow {
  return {
    node: r.node,
    seq: Number(r.seq),
    at: r.at,
    unit: r.unit,
    keySpkiSha256: r.key_spki_sha256,
    serial: r.serial,
    genTime: r.gen_time,
    policy: r.policy,
    hashAlgorithm: r.hash_algorithm,
    imprint: hexOrNull(r.imprint),
    nonce: hexOrNull(r.nonce),
    status: r.status,
    failInfo: r.fail_info,
    responseSha256: r.response_sha256.toString('hex'),
    responseKept: r.response !== null,
    hash: r.hash.toString('hex'),
  };
}

const message = (e: unknown): string => (e instanceof Error ? e.message : 'unknown error');

export class PostgresArchive implements IssuanceArchive {
  private pending: Pending[] = [];
  private inFlight = false;
  private scheduled = false;
  private idle: (() => void)[] = [];
  private batches = 0;
  private rowCount = 0;
  private serialNext = 0n;
  private serialEnd = 0n;
  private spare: Block | undefined;
  private prefetching: Promise<void> | undefined;
  private serialWarned = false;
  /** Set while the database is unreachable: records are refused at once until it is back. */
  private down: Error | undefined;
  /**
   * Set when the database was found edited under the archive (a chain head, the serial
   * counter, a row in this node's chain): every record and serial is refused until restart.
   */
  private broken: TsaError | undefined;
  /**
   * This chain's head as this process last committed it (the node is the only writer of its
   * chain). Undefined until checked against the chain's last entry: at open, and again after a
   * write whose outcome is unknown.
   */
  private head: Head | undefined;
  /**
   * This node's last checkpoint (its id and the SHA-256 of its text), which the next one names
   * as `prev`; null when it has none, undefined when it must be read from the database again.
   */
  private prevCheckpoint: { id: number; sha256: string } | null | undefined;
  /** Checkpoints are written one at a time, so that each names the one before it. */
  private checkpointing: Promise<unknown> = Promise.resolve();
  private retry: NodeJS.Timeout | undefined;
  private checkpointTimer: NodeJS.Timeout | undefined;
  /** The heads this node last signed, so that an idle node does not write the same again. */
  private lastSigned: string | undefined;
  private closed = false;
  /** The schema version found (read-only) or written: version 1 has no chain format. */
  private schema = POSTGRES_SCHEMA_VERSION;
  private readonly node: string;
  private readonly block: bigint;
  private readonly logger: Logger;
  private readonly clock: Clock;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly options: PostgresArchiveOptions,
  ) {
    this.node = options.node ?? '';
    this.block = BigInt(options.serialBlock ?? 1024);
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Connects, runs the migrations (serving) or checks the schema version (read-only), registers
   * this node's chain and reserves its first block of serials.
   */
  static async open(options: PostgresArchiveOptions): Promise<PostgresArchive> {
    const readOnly = options.readOnly === true;
    if (
      !readOnly &&
      options.importer !== true &&
      (options.node === undefined || !NODE_ID.test(options.node))
    ) {
      throw new RangeError(
        'a PostgreSQL archive needs a node id (letters, digits, . _ : -, at most 64)',
      );
    }
    const serialBlock = options.serialBlock ?? 1024;
    if (!Number.isSafeInteger(serialBlock) || serialBlock < 2) {
      throw new RangeError('the serial block size must be an integer of at least 2');
    }
    const logger = options.logger ?? silentLogger;
    // Session settings given in the URL (?options=) would replace the archive's own: they are
    // taken out and put first, so that the archive's schema and durable commits come last and
    // win. The device store's ?schema= is not the archive's.
    const target = new URL(options.url);
    const userOptions = target.searchParams.get('options') ?? '';
    target.searchParams.delete('options');
    target.searchParams.delete('schema');
    const pool = new pg.Pool({
      connectionString: target.toString(),
      max: options.poolSize ?? 4,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      query_timeout: options.queryTimeoutMs ?? 10_000,
      keepAlive: true,
      application_name: readOnly ? 'attestamp-archive-reader' : 'attestamp-archive',
      // Each commit waits for the server's flush to disk whatever the server's default; a
      // reader cannot change anything, by the server's own rule.
      // The archive's tables live in a schema of their own, apart from the device store's
      // (attestamp_hsm), so that the two can share a database.
      options:
        `${userOptions} -c search_path=${ARCHIVE_SCHEMA} ${readOnly ? '-c default_transaction_read_only=on' : '-c synchronous_commit=on'}`.trim(),
    });
    // An idle connection that the server drops is taken out of the pool; without these
    // listeners its error would end the process.
    pool.on('error', (error) => {
      logger.warn('archive database connection lost', { error: error.message });
    });
    pool.on('connect', (client) => {
      client.on('error', () => {
        // The query in progress (if any) fails with this error; the pool discards the client.
      });
    });
    const archive = new PostgresArchive(pool, options);
    try {
      if (readOnly) await archive.checkSchema();
      else if (options.importer === true) await archive.migrate();
      else {
        await archive.migrate();
        await archive.register();
        archive.head = await archive.checkedHead();
        const first = await archive.reserveBlock();
        archive.serialNext = first.first;
        archive.serialEnd = first.end;
        const every = options.checkpointIntervalMs ?? 60_000;
        if (options.signer !== undefined && every > 0) {
          archive.checkpointTimer = setInterval(() => {
            void archive.checkpoint().catch((error: unknown) => {
              logger.warn('archive checkpoint not written', { error: message(error) });
            });
          }, every);
          archive.checkpointTimer.unref();
        }
      }
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
    return archive;
  }

  /** This node's id (its chain). */
  get nodeId(): string {
    return this.node;
  }

  private async migrate(): Promise<void> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${ARCHIVE_SCHEMA}`);
      const version = await this.schemaVersion(client);
      if (version > POSTGRES_SCHEMA_VERSION) {
        throw new Error(
          `the archive database has schema version ${String(version)}, newer than this attestamp (${String(POSTGRES_SCHEMA_VERSION)})`,
        );
      }
      for (let v = version + 1; v <= MIGRATIONS.length; v++) {
        for (const statement of MIGRATIONS[v - 1]!) await client.query(statement);
        await client.query(
          `INSERT INTO archive_meta (name, value) VALUES ('schema_version', $1)
           ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
          [String(v)],
        );
      }
      // Once per open, not per write: the catalog is what the migrations make, nothing else.
      await assertArchiveCatalog(client, MIGRATIONS.length);
      await client.query('COMMIT');
    } catch (error) {
      broken = error instanceof Error ? error : new Error('migration failed');
      throw error;
    } finally {
      client.release(broken);
    }
  }

  private async schemaVersion(client: pg.ClientBase | pg.Pool): Promise<number> {
    const exists = await client.query<{ t: string | null }>(
      "SELECT to_regclass('archive_meta')::text AS t",
    );
    if (exists.rows[0]?.t == null) return 0;
    const row = await client.query<{ value: string }>(
      "SELECT value FROM archive_meta WHERE name = 'schema_version'",
    );
    return Number(row.rows[0]?.value ?? 0);
  }

  private async checkSchema(): Promise<void> {
    const version = await this.schemaVersion(this.pool);
    if (version === 0) throw new Error('no attestamp archive in this database');
    if (version > POSTGRES_SCHEMA_VERSION) {
      throw new Error(
        `the archive database has schema version ${String(version)}, newer than this attestamp`,
      );
    }
    // A reader checks the catalog too (a view or a policy would change what it reads). The
    // scratch schema needs a writable transaction: this one is always rolled back, so that the
    // reader still changes nothing.
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN READ WRITE');
      await assertArchiveCatalog(client, version);
    } finally {
      try {
        await client.query('ROLLBACK');
      } catch (error) {
        broken = error instanceof Error ? error : new Error('rollback failed');
      }
      client.release(broken);
    }
    this.schema = version;
  }

  /** The chains' format column, or 'node' for all in a version-1 archive read as it is. */
  private get formatColumn(): string {
    return this.schema >= 2 ? 'format' : "'node'::text AS format";
  }

  private async register(): Promise<void> {
    await this.pool.query(
      `INSERT INTO chains (node, head_seq, head_hash, created_at) VALUES ($1, 0, $2, $3)
       ON CONFLICT (node) DO NOTHING`,
      [this.node, Buffer.from(GENESIS), this.clock.now().toISOString()],
    );
    // An imported chain is closed: it keeps the head it was imported with.
    const chain = await this.pool.query<{ format: ChainFormat }>(
      'SELECT format FROM chains WHERE node = $1',
      [this.node],
    );
    if (chain.rows[0]?.format !== 'node') {
      throw new Error(
        `the chain ${this.node} was imported from a SQLite archive and is closed: give this node another id`,
      );
    }
  }

  /**
   * The chain's head row, checked against what this node knows of its chain: its own last
   * commit, or (at open and after a write whose outcome is unknown) the chain's last entry. A
   * head row that differs was edited: refused, never linked onto.
   */
  private async checkedHead(client: pg.ClientBase | pg.Pool = this.pool): Promise<Head> {
    const known = this.head;
    const r = await client.query<HeadRow>(
      known === undefined ? LOCK_HEAD_AND_LAST_SQL : LOCK_HEAD_SQL,
      [this.node],
    );
    const row = r.rows[0];
    if (row === undefined) {
      throw new TsaError(
        'archive-integrity',
        `the chain head row of node ${this.node} is missing from the archive database (table chains)`,
        { details: { node: this.node, table: 'chains' } },
      );
    }
    const recorded: Head = { seq: Number(row.head_seq), hash: row.head_hash };
    const expected: Head =
      known ??
      (row.last_seq == null || row.last_hash == null
        ? { seq: 0, hash: GENESIS }
        : { seq: Number(row.last_seq), hash: row.last_hash });
    if (!sameHead(recorded, expected)) {
      const what = known === undefined ? "the chain's last entry" : 'this node last committed';
      throw new TsaError(
        'archive-integrity',
        `the chain head of node ${this.node} was edited in the archive database (table chains): it says entry ${String(recorded.seq)} (${hex(recorded.hash)}) but ${what} is entry ${String(expected.seq)} (${hex(expected.hash)}); refusing to append to it`,
        {
          details: {
            node: this.node,
            table: 'chains',
            headSeq: recorded.seq,
            expectedSeq: expected.seq,
          },
        },
      );
    }
    return recorded;
  }

  // --- serials ---------------------------------------------------------------------------

  /**
   * One block of serials, reserved by one statement: the UPDATE takes serial_state's row lock
   * for the time of that statement only, and the block is recorded with the node that took it.
   * The counter must not be behind the highest block reserved (found by the primary key's
   * index, in the same statement): a counter moved back would hand out serials again, so the
   * statement then changes nothing and the reservation is refused.
   */
  private async reserveBlock(): Promise<Block> {
    const r = await this.pool.query<{ first: string; next: string }>(
      `WITH top AS (SELECT next FROM serial_blocks ORDER BY first DESC LIMIT 1),
       b AS (
         UPDATE serial_state SET next = next + $1
         WHERE id = 1 AND next >= coalesce((SELECT next FROM top), 1)
         RETURNING next - $1 AS first, next)
       INSERT INTO serial_blocks (first, next, node, at)
         SELECT first, next, $2, $3 FROM b
       RETURNING first::text AS first, next::text AS next`,
      [this.block.toString(), this.node, this.clock.now().toISOString()],
    );
    const row = r.rows[0];
    if (row !== undefined) return { first: BigInt(row.first), end: BigInt(row.next) };
    const why = await this.pool.query<{ state: string | null; top: string | null }>(
      `SELECT (SELECT next::text FROM serial_state WHERE id = 1) AS state,
              (SELECT next::text FROM serial_blocks ORDER BY first DESC LIMIT 1) AS top`,
    );
    const state = why.rows[0]?.state ?? null;
    const top = why.rows[0]?.top ?? null;
    throw new TsaError(
      'archive-integrity',
      state === null
        ? 'the serial counter row is missing from the archive database (table serial_state)'
        : `the serial counter was moved back in the archive database (table serial_state): its next serial ${state} is below the end of the highest block reserved (${top ?? '?'}); refusing to reserve serials that may have been issued`,
      { details: { table: 'serial_state', ...(state === null ? {} : { next: state }) } },
    );
  }

  /** Reserves the next block in the background; a failure is retried on a later next(). */
  private prefetch(): void {
    if (this.prefetching !== undefined || this.spare !== undefined || this.closed) return;
    this.prefetching = this.reserveBlock()
      .then(
        (b) => {
          this.spare = b;
          this.serialWarned = false;
        },
        (error: unknown) => {
          if (isIntegrity(error)) {
            this.fatal(error);
            return;
          }
          // Once per episode: while the database is away every request would try again.
          if (!this.serialWarned) {
            this.logger.warn('serial block not reserved', { error: message(error) });
          }
          this.serialWarned = true;
        },
      )
      .finally(() => {
        this.prefetching = undefined;
      });
  }

  /**
   * The next serial, from this node's block; the next block is reserved in the background when
   * half of this one is spent. With none at hand the request is refused (never waits).
   */
  next(): bigint {
    if (this.options.readOnly === true || this.closed) throw new Error('the archive is closed');
    if (this.broken !== undefined) throw this.broken;
    if (this.serialNext >= this.serialEnd) {
      const spare = this.spare;
      if (spare === undefined) {
        this.prefetch();
        throw new Error('no serial number block is reserved (the archive database is unreachable)');
      }
      this.spare = undefined;
      this.serialNext = spare.first;
      this.serialEnd = spare.end;
    }
    const serial = this.serialNext++;
    if (this.serialEnd - this.serialNext <= this.block / 2n) this.prefetch();
    return serial;
  }

  // --- records ---------------------------------------------------------------------------

  record(record: ArchiveRecord): Promise<void> {
    if (this.options.readOnly === true)
      return Promise.reject(new Error('the archive is read-only'));
    if (this.closed) return Promise.reject(new Error('the archive is closed'));
    if (this.broken !== undefined) return Promise.reject(this.broken);
    if (this.down !== undefined) return Promise.reject(this.down);
    return new Promise((done, fail) => {
      this.pending.push({ record, done, fail });
      if (!this.inFlight) this.schedule();
    });
  }

  /** Group commit: what arrives in one turn, or while a batch is being committed, goes together. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.send();
    });
  }

  private send(): void {
    if (this.inFlight) return;
    if (this.pending.length === 0) {
      this.notifyIdle();
      return;
    }
    const batch = this.pending.splice(0, MAX_BATCH);
    this.inFlight = true;
    this.writeBatch(batch.map((p) => p.record)).then(
      () => {
        this.inFlight = false;
        this.batches++;
        this.rowCount += batch.length;
        for (const p of batch) p.done();
        this.send();
      },
      (error: unknown) => {
        this.inFlight = false;
        for (const p of batch) p.fail(error);
        this.lost(error);
        this.send();
      },
    );
  }

  /**
   * One transaction: lock this node's chain row, check it against the head this node holds,
   * chain the batch to it, insert the rows and move the head. Only this node's row is locked:
   * other nodes append at the same time.
   */
  private async writeBatch(records: readonly ArchiveRecord[]): Promise<void> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const current = await this.checkedHead(client);
      let head: Head | undefined = current.seq === 0 ? undefined : current;
      const values: unknown[] = [];
      const tuples: string[] = [];
      for (const r of records) {
        const f = {
          at: r.at,
          unit: r.unit,
          key_spki_sha256: r.keySpkiSha256,
          serial: r.serial === null ? null : r.serial.toString(),
          gen_time: r.genTime,
          policy: r.policy,
          hash_algorithm: r.hashAlgorithm,
          imprint: r.imprint === null ? null : Buffer.from(r.imprint),
          nonce: r.nonce === null ? null : Buffer.from(r.nonce),
          status: r.status,
          fail_info: r.failInfo,
          response_sha256: Buffer.from(r.responseSha256),
        };
        const link = nextLink(head, (seq) => entryBody({ seq, ...f }, this.node), {
          digest: archiveDigest,
        });
        const row = [
          this.node,
          link.seq,
          f.at,
          f.unit,
          f.key_spki_sha256,
          f.serial,
          f.gen_time,
          f.policy,
          f.hash_algorithm,
          f.imprint,
          f.nonce,
          f.status,
          f.fail_info,
          f.response_sha256,
          r.response === undefined ? null : Buffer.from(r.response),
          Buffer.from(link.prevHash),
          Buffer.from(link.hash),
        ];
        const base = values.length;
        tuples.push(`(${row.map((_, i) => `$${String(base + i + 1)}`).join(', ')})`);
        values.push(...row);
        head = link;
      }
      const n = values.length;
      values.push(head?.seq ?? 0, Buffer.from(head?.hash ?? GENESIS), this.node);
      await client.query(
        `WITH inserted AS (
           INSERT INTO responses (${INSERT_COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}
           RETURNING 1)
         UPDATE chains SET head_seq = $${String(n + 1)}, head_hash = $${String(n + 2)}
         WHERE node = $${String(n + 3)}`,
        values,
      );
      await client.query('COMMIT');
      this.head = head ?? { seq: 0, hash: GENESIS };
    } catch (error) {
      // The outcome of a failed commit is unknown: the head is read and checked again.
      this.head = undefined;
      // The connection is discarded, not reused: the server rolls back what it did not commit.
      broken = error instanceof Error ? error : new Error('archive write failed');
      throw this.conflict(error) ?? error;
    } finally {
      client.release(broken);
    }
  }

  /**
   * A row that already holds this batch's serial or sequence number: the serial counter or
   * this node's chain was edited (the node reserved that serial, and only it appends here).
   */
  private conflict(error: unknown): TsaError | undefined {
    const e = error as { code?: unknown; constraint?: unknown };
    if (e.code !== '23505') return undefined;
    if (e.constraint === 'responses_serial_key') {
      return new TsaError(
        'archive-integrity',
        'a serial this node reserved is already in the archive database (table responses): the serial counter or its blocks were edited',
        { cause: error, details: { node: this.node, table: 'responses' } },
      );
    }
    if (e.constraint === 'responses_pkey') {
      return new TsaError(
        'archive-integrity',
        `a row was put into the chain of node ${this.node} in the archive database (table responses) after its head; refusing to append`,
        { cause: error, details: { node: this.node, table: 'responses' } },
      );
    }
    return undefined;
  }

  /**
   * The database was edited under the archive: refuse what is pending and every record and
   * serial from now on, with that error; no retry clears it (a restart checks again).
   */
  private fatal(error: TsaError): void {
    const left = this.pending;
    this.pending = [];
    for (const p of left) p.fail(error);
    if (this.broken !== undefined) return;
    this.broken = error;
    this.logger.error('archive database edited; refusing to grant', {
      node: this.node,
      error: error.message,
    });
  }

  /**
   * A write failed: refuse what is pending and every record until the database answers again
   * (tried every retryMs). Nothing waits on an unreachable database.
   */
  private lost(error: unknown): void {
    if (this.closed) return;
    if (isIntegrity(error)) {
      this.fatal(error);
      return;
    }
    const left = this.pending;
    this.pending = [];
    for (const p of left) p.fail(error);
    if (this.down === undefined) {
      this.down = new Error(`the archive database is unreachable: ${message(error)}`);
      this.logger.error('archive write failed; refusing to grant until the database is back', {
        node: this.node,
        error: message(error),
      });
    }
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.retry !== undefined || this.closed) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.recheck();
    }, this.options.retryMs ?? 500);
    this.retry.unref();
  }

  /** Tries the database; clears the refusal when it answers. */
  private async recheck(): Promise<boolean> {
    try {
      await this.pool.query('SELECT 1');
    } catch {
      this.scheduleRetry();
      return false;
    }
    if (this.down !== undefined) {
      this.down = undefined;
      this.logger.info('archive database reachable again; granting', { node: this.node });
    }
    if (this.serialNext >= this.serialEnd || this.serialEnd - this.serialNext <= this.block / 2n) {
      this.prefetch();
    }
    return true;
  }

  private notifyIdle(): void {
    const waiting = this.idle;
    this.idle = [];
    for (const w of waiting) w();
  }

  drain(): Promise<void> {
    if (!this.inFlight && this.pending.length === 0) return Promise.resolve();
    return new Promise((done) => {
      this.idle.push(done);
      if (!this.inFlight && !this.scheduled) this.send();
    });
  }

  stats(): { batches: number; rows: number } {
    return { batches: this.batches, rows: this.rowCount };
  }

  // --- clock events and readiness ---------------------------------------------------------

  async recordClockEvent(event: ClockEvent): Promise<void> {
    await this.pool.query(
      `INSERT INTO clock_events (node, at, from_state, to_state, reason, sources_json)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [this.node, event.at, event.from, event.to, event.reason, JSON.stringify(event.sources)],
    );
  }

  async clockEvents(): Promise<ClockEventRow[]> {
    const r = await this.pool.query<{
      seq: string;
      node: string;
      at: string;
      from_state: ClockState;
      to_state: ClockState;
      reason: string;
      sources_json: string;
    }>('SELECT * FROM clock_events ORDER BY seq');
    return r.rows.map((e) => ({
      seq: Number(e.seq),
      node: e.node,
      at: e.at,
      from: e.from_state,
      to: e.to_state,
      reason: e.reason,
      sources: JSON.parse(e.sources_json) as ClockSourceReport[],
    }));
  }

  /** Readiness: the database takes a write, and a serial is at hand; the number of entries. */
  async probe(at: Date): Promise<number> {
    if (this.closed) throw new Error('the archive is closed');
    if (this.broken !== undefined) throw this.broken;
    if (this.down !== undefined && !(await this.recheck())) throw this.down;
    await this.pool.query(
      `INSERT INTO archive_meta (name, value) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
      [`last_probe:${this.node}`, at.toISOString()],
    );
    if (this.serialNext >= this.serialEnd && this.spare === undefined) {
      this.prefetch();
      throw new Error('no serial number block is reserved');
    }
    const r = await this.pool.query<{ n: string }>(
      'SELECT coalesce(sum(head_seq), 0)::text AS n FROM chains',
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  // --- checkpoints -------------------------------------------------------------------------

  /**
   * Signs the heads of every chain this node can see and stores the checkpoint, chained to this
   * node's previous one; returns its id, or undefined when there is no signer, nothing changed
   * since this node's last one, or this node's own head is not known for sure (after a failed
   * write, until the next batch checks it). One at a time.
   */
  checkpoint(): Promise<number | undefined> {
    const run = this.checkpointing.catch(() => undefined).then(() => this.writeCheckpoint());
    this.checkpointing = run;
    return run;
  }

  private async writeCheckpoint(): Promise<number | undefined> {
    const signer = this.options.signer;
    if (signer === undefined || this.options.readOnly === true) return undefined;
    // Never a signature over a database found edited, nor over a head this node is unsure of.
    if (this.broken !== undefined) throw this.broken;
    const own = this.head;
    if (own === undefined) return undefined;
    // Other nodes' heads as their rows say; this node's own as it committed it.
    const heads = await this.pool.query<{ node: string; seq: string; hash: Buffer }>(
      `SELECT node, head_seq::text AS seq, head_hash AS hash FROM chains
       WHERE head_seq > 0 AND node <> $1 ORDER BY node`,
      [this.node],
    );
    const list = heads.rows.map((h) => ({
      node: h.node,
      seq: Number(h.seq),
      hash: h.hash.toString('hex'),
    }));
    if (own.seq > 0) list.push({ node: this.node, seq: own.seq, hash: hex(own.hash) });
    list.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
    const key = JSON.stringify(list);
    if (key === this.lastSigned) return undefined;
    if (this.prevCheckpoint === undefined) {
      const last = await this.pool.query<{ id: string; body: string }>(
        `SELECT id::text AS id, body FROM checkpoints WHERE node = $1
         ORDER BY checkpoints.id DESC LIMIT 1`,
        [this.node],
      );
      const row = last.rows[0];
      this.prevCheckpoint =
        row === undefined
          ? null
          : { id: Number(row.id), sha256: sha256(utf8(row.body)).toString('hex') };
    }
    const prev = this.prevCheckpoint;
    const at = this.clock.now().toISOString();
    const body: CheckpointBody = {
      type: CHECKPOINT_TYPE,
      node: this.node,
      at,
      ...(prev === null ? {} : { prev: prev.sha256, prevId: prev.id }),
      heads: list,
    };
    const text = JSON.stringify(body);
    const signature = await signer.sign(utf8(text));
    let r: pg.QueryResult<{ id: string }>;
    try {
      r = await this.pool.query<{ id: string }>(
        `INSERT INTO checkpoints (node, at, body, algorithm, spki, certificates, signature)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id::text AS id`,
        [
          this.node,
          at,
          text,
          signer.algorithm,
          Buffer.from(signer.spki),
          signer.certificateChain.map((c) => Buffer.from(c)),
          Buffer.from(signature),
        ],
      );
    } catch (error) {
      // It may have been committed: the next one reads which checkpoint is this node's last.
      this.prevCheckpoint = undefined;
      throw error;
    }
    const id = Number(r.rows[0]?.id);
    this.prevCheckpoint = { id, sha256: sha256(utf8(text)).toString('hex') };
    this.lastSigned = key;
    return id;
  }

  // --- import of a SQLite archive ----------------------------------------------------------

  /** Whether a chain of this name is in the archive. */
  async hasChain(node: string): Promise<boolean> {
    const r = await this.pool.query('SELECT 1 FROM chains WHERE node = $1', [node]);
    return r.rows.length > 0;
  }

  /**
   * Imports a SQLite archive's chain in one transaction, every row as stored (fields, kept
   * bytes, links, hashes: nothing re-hashed), as the closed chain importedChainName(head), with
   * its clock events. Each row is checked as it is copied (a source that does not verify is not
   * imported). Its serials get a block of their own, and the counter moves past them, so that
   * no node hands one out again. Refused when the archive holds that chain already, or when a
   * serial of it is taken here.
   */
  async importChain(source: ChainImportSource): Promise<ImportedChain> {
    if (this.options.readOnly === true) throw new Error('the archive is read-only');
    const node = importedChainName(toHex(source.head.hash));
    const at = this.clock.now().toISOString();
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const created = await client.query(
        `INSERT INTO chains (node, head_seq, head_hash, created_at, format)
         VALUES ($1, 0, $2, $3, 'imported-sqlite') ON CONFLICT (node) DO NOTHING RETURNING node`,
        [node, Buffer.from(GENESIS), at],
      );
      if (created.rows.length === 0) {
        throw new Error(`the archive holds the chain ${node} already: this archive was imported`);
      }
      const verifier = new ChainVerifier<StoredEntry & { row: StoredRow }>({
        digest: archiveDigest,
        check: (e) =>
          e.row.response !== null && !sha256(e.row.response).equals(e.row.response_sha256)
            ? 'the kept response does not match its hash'
            : undefined,
      });
      let batch: StoredRow[] = [];
      const flush = async (): Promise<void> => {
        if (batch.length === 0) return;
        const values: unknown[] = [];
        const tuples: string[] = [];
        for (const r of batch) {
          const row = [
            node,
            r.seq,
            r.at,
            r.unit,
            r.key_spki_sha256,
            r.serial,
            r.gen_time,
            r.policy,
            r.hash_algorithm,
            r.imprint === null ? null : Buffer.from(r.imprint),
            r.nonce === null ? null : Buffer.from(r.nonce),
            r.status,
            r.fail_info,
            Buffer.from(r.response_sha256),
            r.response === null ? null : Buffer.from(r.response),
            Buffer.from(r.prev_hash),
            Buffer.from(r.hash),
          ];
          const base = values.length;
          tuples.push(`(${row.map((_, i) => `$${String(base + i + 1)}`).join(', ')})`);
          values.push(...row);
        }
        await client.query(
          `INSERT INTO responses (${INSERT_COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`,
          values,
        );
        batch = [];
      };
      for await (const row of source.rows) {
        const entry = {
          seq: row.seq,
          body: entryBody(row),
          prevHash: row.prev_hash,
          hash: row.hash,
          row,
        };
        if (!verifier.push(entry)) {
          const bad = verifier.result().firstBad;
          throw new Error(
            `the source archive does not verify at entry ${String(bad?.seq ?? row.seq)}: ${bad?.reason ?? ''}`,
          );
        }
        batch.push(row);
        if (batch.length >= IMPORT_BATCH) await flush();
      }
      await flush();
      const copied = verifier.result();
      if (copied.headSeq !== source.head.seq || copied.head !== toHex(source.head.hash)) {
        throw new Error(
          `the source rows end at entry ${String(copied.headSeq)}, not at its head (entry ${String(source.head.seq)})`,
        );
      }
      await client.query('UPDATE chains SET head_seq = $1, head_hash = $2 WHERE node = $3', [
        copied.headSeq,
        Buffer.from(source.head.hash),
        node,
      ]);
      for (const e of source.clockEvents) {
        await client.query(
          `INSERT INTO clock_events (node, at, from_state, to_state, reason, sources_json)
           VALUES ($1, $2, $3, $4, $5, $6)`,
          [node, e.at, e.from, e.to, e.reason, JSON.stringify(e.sources)],
        );
      }
      const serials = await this.importSerials(client, node, at);
      await client.query('COMMIT');
      return {
        node,
        entries: copied.entries,
        clockEvents: source.clockEvents.length,
        ...(serials === undefined ? {} : { serials }),
      };
    } catch (error) {
      broken = error instanceof Error ? error : new Error('archive import failed');
      if ((error as { code?: unknown }).code === '23505') {
        // The UNIQUE constraint on serial: a token of the source has a serial issued here.
        throw new Error('a serial number of the imported archive is in this archive already', {
          cause: error,
        });
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /**
   * The imported chain's serials as a block of its own, [lowest, highest + 1), under
   * serial_state's row lock (taken last: live nodes wait for it only at the end of the
   * import); the counter moves past it. Refused when a block reserved here overlaps it.
   */
  private async importSerials(
    client: pg.PoolClient,
    node: string,
    at: string,
  ): Promise<{ first: string; next: string } | undefined> {
    const range = await client.query<{ first: string | null; next: string | null }>(
      `SELECT min(serial)::text AS first, (max(serial) + 1)::text AS next
       FROM responses WHERE node = $1`,
      [node],
    );
    const { first, next } = range.rows[0] ?? { first: null, next: null };
    if (first === null || next === null) return undefined;
    await client.query('SELECT next FROM serial_state WHERE id = 1 FOR UPDATE');
    const overlap = await client.query<{ node: string; first: string }>(
      `SELECT node, first::text AS first FROM serial_blocks
       WHERE first < $2::numeric AND next > $1::numeric ORDER BY first LIMIT 1`,
      [first, next],
    );
    const taken = overlap.rows[0];
    if (taken !== undefined) {
      throw new Error(
        `the imported serials (${first} to ${(BigInt(next) - 1n).toString()}) overlap the block from ${taken.first} that ${taken.node} reserved`,
      );
    }
    await client.query(
      'INSERT INTO serial_blocks (first, next, node, at) VALUES ($1::numeric, $2::numeric, $3, $4)',
      [first, next, node, at],
    );
    await client.query('UPDATE serial_state SET next = greatest(next, $1::numeric) WHERE id = 1', [
      next,
    ]);
    return { first, next };
  }

  // --- verification and searches ------------------------------------------------------------

  /** One chain's rows in order, read a page at a time. */
  private async *chainRows(node: string): AsyncGenerator<RawRow> {
    let after = 0;
    for (;;) {
      const r = await this.pool.query<RawRow>(
        `SELECT node, seq::text AS seq, at, unit, key_spki_sha256, serial::text AS serial, gen_time,
                policy, hash_algorithm, imprint, nonce, status, fail_info, response_sha256,
                response, prev_hash, hash
         FROM responses WHERE node = $1 AND seq > $2 ORDER BY responses.seq LIMIT ${String(PAGE)}`,
        [node, after],
      );
      for (const row of r.rows) yield row;
      if (r.rows.length < PAGE) return;
      after = Number(r.rows[r.rows.length - 1]!.seq);
    }
  }

  private async nodes(checkpointed: Iterable<string>): Promise<string[]> {
    const r = await this.pool.query<{ node: string }>(
      'SELECT node FROM chains UNION SELECT DISTINCT node FROM responses',
    );
    return [...new Set([...r.rows.map((x) => x.node), ...checkpointed])].sort();
  }

  /**
   * Checks every checkpoint (signature, key, body, each node's checkpoints chained) and then
   * every node's chain: sequence, links, hashes, kept responses, that each checkpointed head is
   * in its chain with that hash, and that no chain ends before a checkpointed head or its
   * recorded head (a truncated tail); then that every serial is unique and inside a block its
   * entry's node reserved.
   */
  async verify(options: ArchiveVerifyOptions = {}): Promise<ArchiveVerification> {
    const cp = await this.verifyCheckpoints(options);
    const recorded = await this.pool.query<{
      node: string;
      seq: string;
      hash: Buffer;
      format: ChainFormat;
    }>(`SELECT node, head_seq::text AS seq, head_hash AS hash, ${this.formatColumn} FROM chains`);
    const recordedHeads = new Map(recorded.rows.map((h) => [h.node, h]));
    const chains: ChainReport[] = [];
    for (const node of await this.nodes(cp.expected.keys())) {
      const expected = cp.expected.get(node) ?? new Map<number, { hash: string; id: number }>();
      const format = recordedHeads.get(node)?.format ?? 'node';
      const entries = async function* (rows: AsyncIterable<RawRow>) {
        for await (const row of rows) yield storedEntry(fields(row), bodyNode(row, format));
      };
      const v = await verifyChainAsync(entries(this.chainRows(node)), {
        digest: archiveDigest,
        check: (e, hash) => {
          const problem = entryProblem(e.row);
          if (problem !== undefined) return problem;
          const signed = expected.get(e.seq);
          if (signed !== undefined && signed.hash !== Buffer.from(hash).toString('hex')) {
            return `entry differs from the one checkpoint ${String(signed.id)} signed`;
          }
          return undefined;
        },
      });
      let firstBad = v.firstBad;
      if (firstBad === undefined) {
        // A truncated tail: the chain ends before a head that a checkpoint signed.
        const beyond = [...expected].filter(([seq]) => seq > v.headSeq).sort((a, b) => b[0] - a[0]);
        const top = beyond[0];
        const head = recordedHeads.get(node);
        const headSeq = head === undefined ? 0 : Number(head.seq);
        if (top !== undefined) {
          firstBad = {
            seq: v.headSeq + 1,
            reason: `entry ${String(v.headSeq + 1)} is missing: the chain ends at entry ${String(v.headSeq)} but checkpoint ${String(top[1].id)} signed entry ${String(top[0])}`,
          };
        } else if (headSeq > v.headSeq) {
          firstBad = {
            seq: v.headSeq + 1,
            reason: `entry ${String(v.headSeq + 1)} is missing: the chain ends at entry ${String(v.headSeq)} but its recorded head is entry ${String(headSeq)}`,
          };
        } else if (
          head !== undefined &&
          headSeq === v.headSeq &&
          head.hash.toString('hex') !== v.head &&
          headSeq > 0
        ) {
          firstBad = {
            seq: headSeq,
            reason: 'the recorded chain head does not match its last entry',
          };
        } else if (format === 'imported-sqlite' && node !== importedChainName(v.head)) {
          // The name commits to the head it was imported with: a chain cut or rewritten since.
          firstBad = {
            seq: v.headSeq,
            reason: `the imported chain ends at a head that its name does not name (${importedChainName(v.head)})`,
          };
        }
      }
      chains.push({
        node,
        ok: firstBad === undefined,
        entries: v.entries,
        headSeq: v.headSeq,
        head: v.head,
        ...(firstBad === undefined ? {} : { firstBad }),
      });
    }
    const serials = await this.verifySerials();
    const badChain = chains.find((c) => !c.ok);
    const entries = chains.reduce((n, c) => n + c.entries, 0);
    const head =
      chains.length === 1
        ? chains[0]!.head
        : sha256(
            utf8(chains.map((c) => `${c.node} ${String(c.headSeq)} ${c.head}\n`).join('')),
          ).toString('hex');
    const badSerial = serials.firstBad;
    const firstBad =
      badChain?.firstBad !== undefined
        ? { node: badChain.node, ...badChain.firstBad }
        : badSerial !== undefined
          ? { node: badSerial.node, seq: badSerial.seq, reason: badSerial.reason }
          : cp.report.firstBad !== undefined
            ? {
                seq: 0,
                reason: `checkpoint ${String(cp.report.firstBad.id)}: ${cp.report.firstBad.reason}`,
              }
            : undefined;
    return {
      ok: firstBad === undefined,
      entries,
      head,
      ...(firstBad === undefined ? {} : { firstBad }),
      chains,
      checkpoints: cp.report,
      serials,
    };
  }

  /**
   * Every serial unique across all chains (the UNIQUE constraint says so only while it is
   * there) and inside a block reserved by the node whose chain holds it (a counter moved back,
   * or a block given to another node, would break one of these). The first offender, by
   * serial for a duplicate (its second entry, by node and sequence), else by node and sequence.
   */
  private async verifySerials(): Promise<SerialReport> {
    const counted = await this.pool.query<{ n: string }>(
      'SELECT count(serial)::text AS n FROM responses',
    );
    const checked = Number(counted.rows[0]?.n ?? 0);
    const twice = await this.pool.query<{ serial: string; node: string; seq: string }>(
      `SELECT d.serial::text AS serial, r.node, r.seq::text AS seq FROM (
         SELECT serial FROM responses WHERE serial IS NOT NULL
         GROUP BY serial HAVING count(*) > 1 ORDER BY serial LIMIT 1) d
       JOIN responses r ON r.serial = d.serial
       ORDER BY r.node, r.seq LIMIT 2`,
    );
    const [one, two] = twice.rows;
    if (one !== undefined && two !== undefined) {
      return {
        ok: false,
        checked,
        firstBad: {
          node: two.node,
          seq: Number(two.seq),
          serial: two.serial,
          reason: `serial ${two.serial} is granted twice: also by node ${one.node} entry ${one.seq}`,
        },
      };
    }
    const outside = await this.pool.query<{
      node: string;
      seq: string;
      serial: string;
      owner: string | null;
      end: string | null;
    }>(
      `SELECT r.node, r.seq::text AS seq, r.serial::text AS serial, b.node AS owner,
              b.next::text AS end
       FROM responses r LEFT JOIN LATERAL (
         SELECT node, next FROM serial_blocks s WHERE s.first <= r.serial
         ORDER BY s.first DESC LIMIT 1) b ON true
       WHERE r.serial IS NOT NULL AND (b.node IS NULL OR b.node <> r.node OR r.serial >= b.next)
       ORDER BY r.node, r.seq LIMIT 1`,
    );
    const bad = outside.rows[0];
    if (bad === undefined) return { ok: true, checked };
    const inBlock = bad.owner !== null && bad.end !== null && BigInt(bad.serial) < BigInt(bad.end);
    return {
      ok: false,
      checked,
      firstBad: {
        node: bad.node,
        seq: Number(bad.seq),
        serial: bad.serial,
        reason: inBlock
          ? `serial ${bad.serial} lies in a block reserved by node ${bad.owner ?? '?'}, not by this entry's node`
          : `serial ${bad.serial} lies in no reserved serial block`,
      },
    };
  }

  private async verifyCheckpoints(options: ArchiveVerifyOptions): Promise<{
    report: CheckpointReport;
    expected: Map<string, Map<number, { hash: string; id: number }>>;
  }> {
    const r = await this.pool.query<RawCheckpoint>(
      `SELECT id::text AS id, node, at, body, algorithm, spki, certificates, signature
       FROM checkpoints ORDER BY checkpoints.id`,
    );
    const expected = new Map<string, Map<number, { hash: string; id: number }>>();
    const keys = new Set<string>();
    let verified = 0;
    let firstBad: { id: number; reason: string } | undefined;
    const pinned = options.checkpointKeys;
    // Each node's checkpoints in order, with the SHA-256 of each text: a v2 body names the one
    // before it, so that a deleted or moved checkpoint in the middle is found.
    const texts = new Map<string, number>();
    for (const c of r.rows)
      texts.set(`${c.node} ${sha256(utf8(c.body)).toString('hex')}`, Number(c.id));
    const previous = new Map<string, { id: number; sha256: string }>();
    for (const c of r.rows) {
      const id = Number(c.id);
      const reason = checkpointProblem(c, pinned);
      const before = previous.get(c.node);
      previous.set(c.node, { id, sha256: sha256(utf8(c.body)).toString('hex') });
      if (reason !== undefined) {
        firstBad ??= { id, reason };
        continue;
      }
      const body = JSON.parse(c.body) as CheckpointBody;
      const broken = chainProblem(c.node, body, before, texts);
      if (broken !== undefined) firstBad ??= { id, reason: broken };
      keys.add(sha256Fingerprint(c.spki));
      verified++;
      for (const h of body.heads) {
        let m = expected.get(h.node);
        if (m === undefined)
          expected.set(h.node, (m = new Map<number, { hash: string; id: number }>()));
        const seen = m.get(h.seq);
        // Two checkpoints that disagree on one entry: the later one is checked against it too.
        if (seen !== undefined && seen.hash !== h.hash) {
          firstBad ??= {
            id,
            reason: `checkpoint ${String(seen.id)} signed another hash of ${h.node} entry ${String(h.seq)}`,
          };
        }
        if (seen === undefined) m.set(h.seq, { hash: h.hash, id });
      }
    }
    const last = r.rows[r.rows.length - 1];
    return {
      expected,
      report: {
        count: r.rows.length,
        verified,
        keys: [...keys].sort(),
        keysPinned: pinned !== undefined,
        ...(last === undefined
          ? {}
          : { latest: { id: Number(last.id), node: last.node, at: last.at } }),
        ...(firstBad === undefined ? {} : { firstBad }),
      },
    };
  }

  async find(query: ArchiveQuery): Promise<ArchiveRow[]> {
    const where: string[] = [];
    const params: (string | Buffer)[] = [];
    const add = (sql: string, value: string | Buffer): void => {
      params.push(value);
      where.push(sql.replace('?', `$${String(params.length)}`));
    };
    if (query.imprint !== undefined) add('imprint = ?', Buffer.from(query.imprint));
    if (query.serial !== undefined) add('serial = ?::numeric', query.serial.toString());
    if (query.from !== undefined) add('at >= ?', query.from);
    if (query.to !== undefined) add('at <= ?', query.to);
    const r = await this.pool.query<RawRow>(
      `SELECT node, seq::text AS seq, at, unit, key_spki_sha256, serial::text AS serial, gen_time,
              policy, hash_algorithm, imprint, nonce, status, fail_info, response_sha256,
              response, prev_hash, hash
       FROM responses${where.length > 0 ? ' WHERE ' + where.join(' AND ') : ''}
       ORDER BY responses.node, responses.seq`,
      params,
    );
    return r.rows.map(toRow);
  }

  async response(entry: EntryLocator): Promise<KeptResponse> {
    if (entry.node === undefined) return undefined;
    const r = await this.pool.query<
      RawRow & { format: ChainFormat | null; before: Buffer | null; after: Buffer | null }
    >(
      `SELECT r.node, r.seq::text AS seq, r.at, r.unit, r.key_spki_sha256, r.serial::text AS serial,
              r.gen_time, r.policy, r.hash_algorithm, r.imprint, r.nonce, r.status, r.fail_info,
              r.response_sha256, r.response, r.prev_hash, r.hash,
              (SELECT ${this.formatColumn} FROM chains WHERE node = r.node) AS format,
              (SELECT hash FROM responses WHERE node = r.node AND seq = r.seq - 1) AS before,
              (SELECT prev_hash FROM responses WHERE node = r.node AND seq = r.seq + 1) AS after
       FROM responses r WHERE r.node = $1 AND r.seq = $2`,
      [entry.node, entry.seq],
    );
    const row = r.rows[0];
    if (row === undefined) return undefined;
    return checkedResponse(
      fields(row),
      bodyNode(row, row.format ?? 'node'),
      row.before ?? undefined,
      row.after ?? undefined,
    );
  }

  async *export(): AsyncGenerator<ArchiveRow> {
    for (const node of await this.nodes([])) {
      for await (const row of this.chainRows(node)) yield toRow(row);
    }
  }

  /**
   * Stops taking records, commits what is pending, writes a last checkpoint (a clean shutdown
   * leaves every head signed) and closes the pool. Bounded by the pool's timeouts.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.checkpointTimer !== undefined) clearInterval(this.checkpointTimer);
    if (this.retry !== undefined) clearTimeout(this.retry);
    this.retry = undefined;
    if (this.options.readOnly !== true) {
      await this.drain();
      this.closed = true;
      await this.prefetching;
      if (this.down === undefined && this.broken === undefined) {
        try {
          await this.checkpoint();
        } catch (error) {
          this.logger.warn('archive checkpoint at close not written', { error: message(error) });
        }
      }
    }
    this.closed = true;
    const left = this.pending;
    this.pending = [];
    for (const p of left) p.fail(new Error('the archive is closed'));
    await this.pool.end();
  }
}

/** What is wrong with a stored checkpoint, or undefined when it checks out. */
function checkpointProblem(
  c: RawCheckpoint,
  pinned: readonly Uint8Array[] | undefined,
): string | undefined {
  if (!isKeyAlgorithm(c.algorithm)) return `unknown signature algorithm ${c.algorithm}`;
  let signed: boolean;
  try {
    signed = createVerifier(c.spki, c.algorithm)(utf8(c.body), c.signature);
  } catch {
    signed = false;
  }
  if (!signed) return 'the signature does not verify';
  if (pinned !== undefined && !pinned.some((k) => bytesEqual(k, c.spki))) {
    return 'signed by a key that is not trusted';
  }
  const leaf = c.certificates[0];
  if (leaf !== undefined && !leaf.includes(c.spki)) {
    return 'the stored certificate does not carry the signing key';
  }
  let body: unknown;
  try {
    body = JSON.parse(c.body);
  } catch {
    return 'the body is not JSON';
  }
  if (!isCheckpointBody(body)) return 'the body is not a checkpoint';
  if (body.node !== c.node || body.at !== c.at) return 'the body does not match its row';
  return undefined;
}

/**
 * What is wrong with where a verified checkpoint of `node` stands in that node's checkpoints:
 * a v2 body names the text of the one before it (`before`, the previous one stored), or is
 * the node's first. `texts` finds where a named one is, when it is not just before.
 */
function chainProblem(
  node: string,
  body: CheckpointBody,
  before: { id: number; sha256: string } | undefined,
  texts: ReadonlyMap<string, number>,
): string | undefined {
  if (body.type !== CHECKPOINT_TYPE) return undefined;
  if (body.prev === undefined) {
    return before === undefined
      ? undefined
      : `it is node ${node}'s first checkpoint, but checkpoint ${String(before.id)} of that node comes before it`;
  }
  if (before?.sha256 === body.prev) return undefined;
  const named = body.prevId === undefined ? 'the checkpoint' : `checkpoint ${String(body.prevId)}`;
  const here =
    before === undefined
      ? 'none comes before it'
      : `checkpoint ${String(before.id)} comes before it`;
  const found = texts.get(`${node} ${body.prev}`);
  return found === undefined
    ? `${named}, which node ${node} signed before it, is missing (${here})`
    : `${named}, which node ${node} signed before it, is stored as checkpoint ${String(found)}, out of order (${here})`;
}

function isCheckpointBody(b: unknown): b is CheckpointBody {
  if (typeof b !== 'object' || b === null) return false;
  const o = b as Record<string, unknown>;
  const chained =
    o.type === CHECKPOINT_TYPE
      ? (o.prev === undefined && o.prevId === undefined) ||
        (typeof o.prev === 'string' &&
          /^[0-9a-f]{64}$/.test(o.prev) &&
          (o.prevId === undefined ||
            (typeof o.prevId === 'number' && Number.isSafeInteger(o.prevId) && o.prevId > 0)))
      : o.type === CHECKPOINT_TYPE_V1 && o.prev === undefined && o.prevId === undefined;
  return (
    chained &&
    typeof o.node === 'string' &&
    typeof o.at === 'string' &&
    Array.isArray(o.heads) &&
    o.heads.every((h: unknown) => {
      if (typeof h !== 'object' || h === null) return false;
      const x = h as Record<string, unknown>;
      return (
        typeof x.node === 'string' &&
        typeof x.seq === 'number' &&
        Number.isSafeInteger(x.seq) &&
        x.seq > 0 &&
        typeof x.hash === 'string' &&
        /^[0-9a-f]{64}$/.test(x.hash)
      );
    })
  );
}

function isIntegrity(error: unknown): error is TsaError {
  return error instanceof TsaError && error.code === 'archive-integrity';
}

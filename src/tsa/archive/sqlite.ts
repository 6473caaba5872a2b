// The issuance archive in a SQLite file (ETSI EN 319 421 TIS-04): every response, granted or
// rejected, recorded before it is sent, hash-chained, with group commit (one durable transaction
// per batch of responses). It also hands out serial numbers in blocks, unique by construction
// across restarts and processes; the UNIQUE index on serial proves it.
import Database from 'better-sqlite3';
import { closeSync, fdatasync, fdatasyncSync, openSync, realpathSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { nextLink, verifyChain } from '../../shared/index.js';
import type { ClockEvent, ClockSourceReport, ClockState } from '../clock/guard.js';
import type { FailInfo } from '../errors.js';
import { encodeBatch } from './batch-message.js';
import { archiveDigest, entryBody, hexOrNull as hex, type StoredRow } from './entry.js';
import { checkedResponse, entryProblem, storedEntry } from './entry-check.js';
import type {
  ArchiveQuery,
  ArchiveRecord,
  ArchiveRow,
  ArchiveVerification,
  ClockEventRow,
  EntryLocator,
  IssuanceArchive,
  KeptResponse,
} from './types.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS archive_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
  CREATE TABLE IF NOT EXISTS serial_state (id INTEGER PRIMARY KEY CHECK (id = 1), next INTEGER NOT NULL) STRICT;
  INSERT OR IGNORE INTO serial_state (id, next) VALUES (1, 1);
  CREATE TABLE IF NOT EXISTS responses (
    seq              INTEGER PRIMARY KEY,
    at               TEXT NOT NULL,
    unit             TEXT NOT NULL,
    key_spki_sha256  TEXT NOT NULL,
    serial           TEXT UNIQUE,
    gen_time         TEXT,
    policy           TEXT,
    hash_algorithm   TEXT,
    imprint          BLOB,
    nonce            BLOB,
    status           TEXT NOT NULL CHECK (status IN ('granted', 'rejection')),
    fail_info        TEXT,
    response_sha256  BLOB NOT NULL,
    prev_hash        BLOB NOT NULL,
    hash             BLOB NOT NULL
  ) STRICT;
  CREATE INDEX IF NOT EXISTS responses_imprint ON responses (imprint);
  CREATE INDEX IF NOT EXISTS responses_gen_time ON responses (gen_time);
  INSERT OR IGNORE INTO archive_meta (name, value) VALUES ('schema_version', '1');
`;

/**
 * Version 2 keeps the exact response bytes when asked (--archive-responses full). They stay out
 * of the row hash: the chained response_sha256 already authenticates them.
 */
function migrate(db: Database.Database): void {
  const columns = db.prepare('PRAGMA table_info(responses)').all() as { name: string }[];
  if (!columns.some((c) => c.name === 'response')) {
    db.transaction(() => {
      db.exec('ALTER TABLE responses ADD COLUMN response BLOB');
      db.prepare("UPDATE archive_meta SET value = '2' WHERE name = 'schema_version'").run();
    }).immediate();
  }
}

/**
 * Clock events (ETSI EN 319 421 TIS-03): every state change of the clock guard, with the time
 * sources and their offsets. Kept apart from the responses table and its hash chain.
 */
const CLOCK_SCHEMA = `
  CREATE TABLE IF NOT EXISTS clock_events (
    seq           INTEGER PRIMARY KEY,
    at            TEXT NOT NULL,
    from_state    TEXT NOT NULL CHECK (from_state IN ('synced', 'degraded', 'unsynced')),
    to_state      TEXT NOT NULL CHECK (to_state IN ('synced', 'degraded', 'unsynced')),
    reason        TEXT NOT NULL,
    sources_json  TEXT NOT NULL
  ) STRICT;
`;

interface RawClockEventRow {
  seq: number;
  at: string;
  from_state: ClockState;
  to_state: ClockState;
  reason: string;
  sources_json: string;
}

interface RawRow {
  seq: number;
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
  /** Absent in a version-1 archive opened read-only (no migration runs then). */
  response?: Buffer | null;
  prev_hash: Buffer;
  hash: Buffer;
}

/** Serial numbers are reserved in blocks of this size per process. */
const SERIAL_BLOCK = 1024n;

const INSERT_SQL = `INSERT INTO responses (seq, at, unit, key_spki_sha256, serial, gen_time, policy, hash_algorithm, imprint, nonce, status, fail_info, response_sha256, response, prev_hash, hash)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** The bytes as a Buffer for binding: the same memory when they are one already (no copy). */
const bound = (b: Uint8Array): Buffer =>
  Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/**
 * Opens an archive connection in WAL mode. synchronous=FULL (the default) makes each commit
 * durable before it returns; NORMAL leaves the WAL's flush to the caller (the wal-sync writer).
 */
export function openArchiveDatabase(
  path: string,
  synchronous: 'FULL' | 'NORMAL' = 'FULL',
): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  db.pragma('busy_timeout = 10000');
  return db;
}

/**
 * Writes one batch in one IMMEDIATE transaction, chaining each row to the last one committed
 * (by any process): the group commit. Used inline and by the writer thread.
 */
export function createBatchWriter(
  db: Database.Database,
): (records: readonly ArchiveRecord[]) => void {
  const insert = db.prepare(INSERT_SQL);
  const last = db.prepare('SELECT seq, hash FROM responses ORDER BY seq DESC LIMIT 1');
  const write = db.transaction((records: readonly ArchiveRecord[]) => {
    let head = last.get() as { seq: number; hash: Uint8Array } | undefined;
    for (const r of records) {
      const fields = {
        at: r.at,
        unit: r.unit,
        key_spki_sha256: r.keySpkiSha256,
        serial: r.serial === null ? null : r.serial.toString(),
        gen_time: r.genTime,
        policy: r.policy,
        hash_algorithm: r.hashAlgorithm,
        imprint: r.imprint === null ? null : bound(r.imprint),
        nonce: r.nonce === null ? null : bound(r.nonce),
        status: r.status,
        fail_info: r.failInfo,
        response_sha256: bound(r.responseSha256),
      };
      const link = nextLink(head, (seq) => entryBody({ seq, ...fields }), {
        digest: archiveDigest,
      });
      insert.run(
        link.seq,
        fields.at,
        fields.unit,
        fields.key_spki_sha256,
        fields.serial,
        fields.gen_time,
        fields.policy,
        fields.hash_algorithm,
        fields.imprint,
        fields.nonce,
        fields.status,
        fields.fail_info,
        fields.response_sha256,
        r.response === undefined ? null : bound(r.response),
        bound(link.prevHash),
        bound(link.hash),
      );
      head = link;
    }
  });
  return (records) => {
    write.immediate(records);
  };
}

interface Pending {
  readonly record: ArchiveRecord;
  readonly done: () => void;
  readonly fail: (e: unknown) => void;
}

/** Flushes a file's data to disk and calls back (fs.fdatasync; replaceable in tests). */
export type WalFlush = (fd: number, done: (error: Error | null) => void) => void;

export interface ArchiveOptions {
  /**
   * 'inline' commits on the event loop with synchronous=FULL (simple; the fsync blocks it).
   * 'thread' does the same in a worker thread, so that the next batch fills while the previous
   * one is being made durable. 'wal-sync' commits on the event loop with synchronous=NORMAL
   * (the rows reach the WAL file, not yet the disk), then flushes the WAL with fdatasync in
   * libuv's thread pool, and a batch resolves only once a flush that began after its commit has
   * finished; the next batches commit meanwhile. On one core it saves the thread hop of
   * 'thread' (a message each way and two context switches per batch) without blocking the
   * event loop on the disk.
   */
  readonly writer?: 'inline' | 'thread' | 'wal-sync' | 'read-only';
  /** The flush of the wal-sync writer (default fs.fdatasync); for tests. */
  readonly walFlush?: WalFlush;
  /** Its flush on the spot, for clock events, probes and close (default fdatasyncSync). */
  readonly walFlushSync?: (fd: number) => void;
}

/** Largest batch committed at once. */
const MAX_BATCH = 256;

export class Archive implements IssuanceArchive {
  private pending: Pending[] = [];
  private inFlight: Pending[] | undefined;
  private scheduled = false;
  private serialNext = 0n;
  private serialEnd = 0n;
  private batches = 0;
  private rows = 0;
  private idle: (() => void)[] = [];
  /** Set when the writer is gone: every record is refused from then on (fail closed). */
  private failure: Error | undefined;
  private closing = false;
  private readonly writeInline: ((records: readonly ArchiveRecord[]) => void) | undefined;
  private readonly worker: Worker | undefined;
  /** wal-sync: the WAL file's path, its descriptor once opened, and the flush. */
  private readonly wal:
    | {
        path: string;
        fd?: number;
        flush: WalFlush;
        flushSync: (fd: number) => void;
        running: boolean;
        closeAfter: boolean;
      }
    | undefined;
  /** wal-sync: batches committed but not yet covered by a finished flush. */
  private unflushed: Pending[] = [];
  /** wal-sync: the batches the running flush covers. */
  private flushing: Pending[] | undefined;

  private constructor(
    private readonly db: Database.Database,
    path: string,
    options: ArchiveOptions,
  ) {
    if (options.writer === 'wal-sync') {
      // The WAL beside the file SQLite really opened (it resolves symbolic links), opened now,
      // so that no write of this connection reaches the disk's queue before the descriptor
      // whose flush reports its errors. SQLite created it when the schema was read.
      const walPath = `${realpathSync(path)}-wal`;
      this.wal = {
        path: walPath,
        fd: openSync(walPath, 'r+'),
        flush: options.walFlush ?? fdatasync,
        flushSync: options.walFlushSync ?? fdatasyncSync,
        running: false,
        closeAfter: false,
      };
    }
    if (options.writer === 'thread') {
      this.worker = new Worker(new URL('./sqlite-writer.js', import.meta.url), {
        workerData: { path },
      });
      this.worker.on('message', (m: { ok: boolean; error?: string }) => {
        this.settle(m.ok ? undefined : new Error(m.error ?? 'archive write failed'));
      });
      this.worker.on('error', (e) => {
        this.fail(e);
      });
      this.worker.on('exit', () => {
        if (!this.closing) this.fail(new Error('the archive writer thread stopped'));
      });
      this.worker.unref();
    } else if (options.writer === 'read-only') {
      this.failure = new Error('the archive is open read-only');
    } else {
      this.writeInline = createBatchWriter(db);
    }
  }

  /** Opens (creating if needed) the archive file. */
  static open(path: string, options: ArchiveOptions = {}): Archive {
    const db = openArchiveDatabase(path, options.writer === 'wal-sync' ? 'NORMAL' : 'FULL');
    db.exec(SCHEMA);
    db.exec(CLOCK_SCHEMA);
    migrate(db);
    try {
      return new Archive(db, path, options);
    } catch (error) {
      // The WAL of a wal-sync archive could not be opened: no connection is left behind.
      db.close();
      throw error;
    }
  }

  /**
   * Opens an existing archive read-only, for verification and searches: an audit of the
   * archive must not change the file it audits. Recording and serials are refused.
   */
  static openReadOnly(path: string): Archive {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 10000');
    return new Archive(db, path, { writer: 'read-only' });
  }

  /** Records one clock event (TIS-03) in its own durable transaction. */
  recordClockEvent(event: ClockEvent): Promise<void> {
    try {
      this.writeClockEvent(event);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error('clock event not recorded'));
    }
  }

  private writeClockEvent(event: ClockEvent): void {
    const insert = this.db.prepare(
      'INSERT INTO clock_events (at, from_state, to_state, reason, sources_json) VALUES (?, ?, ?, ?, ?)',
    );
    this.db
      .transaction(() => {
        insert.run(event.at, event.from, event.to, event.reason, JSON.stringify(event.sources));
      })
      .immediate();
    // wal-sync: a clock event (rare) is made durable at once, as under synchronous=FULL. A
    // failed flush fails the archive: the kernel reports a write-back error once, so the next
    // flush of the same file could succeed over rows that never reached the disk.
    if (this.wal !== undefined) this.flushNowOrFail();
  }

  /** wal-sync: flushes the WAL on the spot; a failure fails the archive (closed) and is thrown. */
  private flushNowOrFail(): void {
    try {
      this.wal!.flushSync(this.walFd());
    } catch (error) {
      this.fail(error);
      throw error;
    }
  }

  /** wal-sync: the WAL file's descriptor (opened with the archive; refused once closed). */
  private walFd(): number {
    const fd = this.wal!.fd;
    if (fd === undefined) throw new Error('the archive is closed');
    return fd;
  }

  /** The recorded clock events, oldest first. */
  clockEvents(): Promise<ClockEventRow[]> {
    return Promise.resolve(this.readClockEvents());
  }

  private readClockEvents(): ClockEventRow[] {
    const rows = this.db
      .prepare('SELECT * FROM clock_events ORDER BY seq')
      .all() as RawClockEventRow[];
    return rows.map((r) => ({
      seq: r.seq,
      at: r.at,
      from: r.from_state,
      to: r.to_state,
      reason: r.reason,
      sources: JSON.parse(r.sources_json) as ClockSourceReport[],
    }));
  }

  /** Readiness probe: proves the archive is writable; returns the number of responses. */
  probe(at: Date): Promise<number> {
    try {
      return Promise.resolve(this.probeNow(at));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error('archive probe failed'));
    }
  }

  private probeNow(at: Date): number {
    // A failed writer is not ready, whatever a new write would say.
    if (this.failure !== undefined) throw this.failure;
    this.db
      .prepare(
        "INSERT INTO archive_meta (name, value) VALUES ('last_probe', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
      )
      .run(at.toISOString());
    // wal-sync: the probe's row reaches the disk, or the probe fails (and the archive with it).
    if (this.wal !== undefined) this.flushNowOrFail();
    return (
      this.db.prepare('SELECT ifnull(max(seq), 0) AS n FROM responses').get() as { n: number }
    ).n;
  }

  /** The next serial: from this process's reserved block, reserving a new block when empty. */
  next(): bigint {
    if (this.serialNext >= this.serialEnd) {
      const reserve = this.db.transaction(() => {
        const row = this.db.prepare('SELECT next FROM serial_state WHERE id = 1').get() as {
          next: number | bigint;
        };
        const start = BigInt(row.next);
        this.db.prepare('UPDATE serial_state SET next = ? WHERE id = 1').run(start + SERIAL_BLOCK);
        return start;
      });
      const start = reserve.immediate();
      this.serialNext = start;
      this.serialEnd = start + SERIAL_BLOCK;
    }
    return this.serialNext++;
  }

  /** Resolves once the record is committed; a response is released only after that. */
  record(record: ArchiveRecord): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((done, fail) => {
      this.pending.push({ record, done, fail });
      if (this.inFlight === undefined) this.schedule();
    });
  }

  /**
   * Pipelined group commit: whenever the writer is idle, whatever is pending goes out at once
   * (after the current turn of the event loop, so that records made in the same turn share the
   * commit); records arriving while a batch is being made durable form the next batch, which
   * goes out as soon as the previous one is on disk. Nothing waits for companions.
   */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.send();
    });
  }

  private send(): void {
    if (this.inFlight !== undefined || this.pending.length === 0) {
      if (this.inFlight === undefined) this.notifyIdle();
      return;
    }
    if (this.wal !== undefined) {
      this.commitForFlush();
      return;
    }
    const batch = this.pending.splice(0, MAX_BATCH);
    this.inFlight = batch;
    const records = batch.map((p) => p.record);
    if (this.worker !== undefined) {
      // Keeps the process alive while a batch is on its way to disk (unref'd when idle).
      this.worker.ref();
      this.worker.postMessage(encodeBatch(records));
      return;
    }
    try {
      this.writeInline?.(records);
      this.settle(undefined);
    } catch (error) {
      this.settle(error);
    }
  }

  private settle(error: unknown): void {
    const batch = this.inFlight ?? [];
    this.inFlight = undefined;
    this.worker?.unref();
    if (error === undefined) {
      this.batches++;
      this.rows += batch.length;
      for (const p of batch) p.done();
    } else {
      for (const p of batch) p.fail(error);
    }
    // What arrived while that batch was on its way to disk goes out now.
    if (this.pending.length > 0) this.send();
    else this.notifyIdle();
  }

  /**
   * wal-sync: commits everything pending (in batches of at most MAX_BATCH), then starts a flush
   * unless one is running; what it commits while a flush runs waits for the next one.
   */
  private commitForFlush(): void {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH);
      try {
        this.writeInline?.(batch.map((p) => p.record));
      } catch (error) {
        // The transaction rolled back: this batch fails, the archive goes on (as inline).
        for (const p of batch) p.fail(error);
        continue;
      }
      this.batches++;
      for (const p of batch) this.unflushed.push(p);
    }
    this.flushWal();
  }

  /** wal-sync: flushes the WAL for the batches committed so far; they resolve when it is done. */
  private flushWal(): void {
    if (this.flushing !== undefined) return;
    if (this.unflushed.length === 0) {
      this.notifyIdle();
      return;
    }
    const covered = this.unflushed;
    this.unflushed = [];
    this.flushing = covered;
    let fd: number;
    try {
      fd = this.walFd();
    } catch (error) {
      this.flushing = undefined;
      this.unflushed = covered;
      this.fail(error);
      return;
    }
    const wal = this.wal!;
    wal.running = true;
    wal.flush(fd, (error) => {
      wal.running = false;
      if (wal.closeAfter) {
        // Closed meanwhile: the batch was settled by the close's own flush.
        wal.closeAfter = false;
        closeSync(fd);
        return;
      }
      if (this.flushing !== covered) return;
      this.flushing = undefined;
      if (error !== null) {
        // The disk refused: nothing committed since the last good flush can be promised.
        this.unflushed = [...covered, ...this.unflushed];
        this.fail(error);
        return;
      }
      this.rows += covered.length;
      for (const p of covered) p.done();
      // What was committed while this flush ran, and what arrived meanwhile, go out now.
      if (this.pending.length > 0) this.commitForFlush();
      else this.flushWal();
    });
  }

  /** The writer failed for good: reject what is in flight and pending, and all that follows. */
  private fail(error: unknown): void {
    this.failure = error instanceof Error ? error : new Error('the archive writer failed');
    const all = [
      ...(this.inFlight ?? []),
      ...(this.flushing ?? []),
      ...this.unflushed,
      ...this.pending,
    ];
    this.inFlight = undefined;
    this.flushing = undefined;
    this.unflushed = [];
    this.pending = [];
    for (const p of all) p.fail(error);
    this.notifyIdle();
  }

  /** Nothing pending, being written or waiting for its flush. */
  private settled(): boolean {
    return (
      this.inFlight === undefined &&
      this.pending.length === 0 &&
      this.flushing === undefined &&
      this.unflushed.length === 0
    );
  }

  private notifyIdle(): void {
    if (!this.settled()) return;
    const waiting = this.idle;
    this.idle = [];
    for (const w of waiting) w();
  }

  /** Resolves when nothing is pending or being written. */
  drain(): Promise<void> {
    if (this.settled()) return Promise.resolve();
    return new Promise((done) => {
      this.idle.push(done);
      if (this.inFlight === undefined && !this.scheduled) this.send();
    });
  }

  stats(): { batches: number; rows: number } {
    return { batches: this.batches, rows: this.rows };
  }

  verify(): Promise<ArchiveVerification> {
    return Promise.resolve(this.verifyNow());
  }

  private verifyNow(): ArchiveVerification {
    const rows = this.db
      .prepare('SELECT * FROM responses ORDER BY seq')
      .iterate() as Iterable<RawRow>;
    const v = verifyChain(storedEntries(rows), {
      digest: archiveDigest,
      check: (e) => entryProblem(e.row),
    });
    return {
      ok: v.ok,
      entries: v.entries,
      head: v.head,
      ...(v.firstBad === undefined ? {} : { firstBad: v.firstBad }),
    };
  }

  find(query: ArchiveQuery): Promise<ArchiveRow[]> {
    return Promise.resolve(this.findNow(query));
  }

  private findNow(query: ArchiveQuery): ArchiveRow[] {
    const where: string[] = [];
    const params: (string | Buffer)[] = [];
    if (query.imprint !== undefined) {
      where.push('imprint = ?');
      params.push(Buffer.from(query.imprint));
    }
    if (query.serial !== undefined) {
      where.push('serial = ?');
      params.push(query.serial.toString());
    }
    if (query.from !== undefined) {
      where.push('at >= ?');
      params.push(query.from);
    }
    if (query.to !== undefined) {
      where.push('at <= ?');
      params.push(query.to);
    }
    const sql = `SELECT * FROM responses${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY seq`;
    return (this.db.prepare(sql).all(...params) as RawRow[]).map(toRow);
  }

  /**
   * The exact response bytes of one entry, checked against the chained response hash;
   * 'not-kept' when the archive keeps only the hash, 'mismatch' when the bytes were changed.
   */
  response(entry: EntryLocator): Promise<KeptResponse> {
    return Promise.resolve(entry.node === undefined ? this.responseNow(entry.seq) : undefined);
  }

  private responseNow(seq: number): KeptResponse {
    const r = this.db.prepare('SELECT * FROM responses WHERE seq = ?').get(seq) as
      RawRow | undefined;
    if (r === undefined) return undefined;
    if (r.response == null) return 'not-kept';
    const before = this.db.prepare('SELECT hash FROM responses WHERE seq = ?').get(seq - 1) as
      { hash: Buffer } | undefined;
    const after = this.db.prepare('SELECT prev_hash FROM responses WHERE seq = ?').get(seq + 1) as
      { prev_hash: Buffer } | undefined;
    return checkedResponse(r, undefined, before?.hash, after?.prev_hash);
  }

  async *export(): AsyncGenerator<ArchiveRow> {
    await Promise.resolve();
    yield* this.allRows();
  }

  private *allRows(): Generator<ArchiveRow> {
    for (const r of this.db
      .prepare('SELECT * FROM responses ORDER BY seq')
      .iterate() as Iterable<RawRow>) {
      yield toRow(r);
    }
  }

  /**
   * The chain's rows exactly as stored, up to entry `last`, read a page at a time (so that an
   * archive larger than memory can be copied): for an import into another store.
   */
  async *storedRows(last: number): AsyncGenerator<StoredRow> {
    const page = this.db.prepare(
      'SELECT * FROM responses WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT 1000',
    );
    let after = 0;
    for (;;) {
      const rows = page.all(after, last) as RawRow[];
      for (const r of rows) yield { ...r, response: r.response ?? null };
      if (rows.length < 1000) return;
      after = rows[rows.length - 1]!.seq;
      await Promise.resolve();
    }
  }

  /** Closes after committing what is pending (inline) — use drain() first with a writer thread. */
  close(): Promise<void> {
    this.closeNow();
    return Promise.resolve();
  }

  private closeNow(): void {
    // Inline: commit what is pending now (each send settles synchronously).
    while (this.worker === undefined && this.pending.length > 0 && this.inFlight === undefined) {
      this.send();
    }
    if (this.wal !== undefined) this.flushNowForClose();
    this.closing = true;
    const left = [...(this.inFlight ?? []), ...this.pending];
    this.inFlight = undefined;
    this.pending = [];
    for (const p of left) p.fail(new Error('the archive is closed'));
    this.failure ??= new Error('the archive is closed');
    void this.worker?.terminate();
    this.db.close();
  }

  /**
   * wal-sync at close: one flush on the spot for everything committed, then the descriptor is
   * closed (after the pool's running flush, if any, which then settles nothing).
   */
  private flushNowForClose(): void {
    const covered = [...(this.flushing ?? []), ...this.unflushed];
    let flushed = covered.length === 0;
    if (!flushed) {
      try {
        this.flushNowOrFail();
        flushed = true;
      } catch {
        // Failed closed: fail() rejected every record, covered ones included.
      }
    }
    if (flushed) {
      this.flushing = undefined;
      this.unflushed = [];
      this.rows += covered.length;
      for (const p of covered) p.done();
    }
    const wal = this.wal!;
    if (wal.fd !== undefined) {
      // A flush the pool still runs keeps its descriptor until it calls back.
      if (wal.running) wal.closeAfter = true;
      else closeSync(wal.fd);
      wal.fd = undefined;
    }
  }
}

/** Stored rows as hash-chain entries (the body recomputed from the row's own fields). */
function* storedEntries(rows: Iterable<RawRow>): Generator<ReturnType<typeof storedEntry<RawRow>>> {
  for (const row of rows) yield storedEntry(row);
}

function toRow(r: RawRow): ArchiveRow {
  return {
    seq: r.seq,
    at: r.at,
    unit: r.unit,
    keySpkiSha256: r.key_spki_sha256,
    serial: r.serial,
    genTime: r.gen_time,
    policy: r.policy,
    hashAlgorithm: r.hash_algorithm,
    imprint: hex(r.imprint),
    nonce: hex(r.nonce),
    status: r.status,
    failInfo: r.fail_info,
    responseSha256: Buffer.from(r.response_sha256).toString('hex'),
    responseKept: r.response != null,
    hash: Buffer.from(r.hash).toString('hex'),
  };
}

// The issuance archive (ETSI EN 319 421 TIS-04): every response, granted or rejected, recorded
// in SQLite before it is sent, hash-chained, with group commit (one durable transaction per
// batch of responses). It also hands out serial numbers in blocks, unique by construction
// across restarts and processes; the UNIQUE index on serial proves it.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import type { FailInfo } from './errors.js';

export interface ArchiveRecord {
  readonly at: string;
  readonly unit: string;
  readonly keySpkiSha256: string;
  readonly serial: bigint | null;
  readonly genTime: string | null;
  readonly policy: string | null;
  readonly hashAlgorithm: string | null;
  readonly imprint: Uint8Array | null;
  readonly nonce: Uint8Array | null;
  readonly status: 'granted' | 'rejection';
  readonly failInfo: FailInfo | null;
  readonly responseSha256: Uint8Array;
}

export interface ArchiveRow {
  readonly seq: number;
  readonly at: string;
  readonly unit: string;
  readonly keySpkiSha256: string;
  readonly serial: string | null;
  readonly genTime: string | null;
  readonly policy: string | null;
  readonly hashAlgorithm: string | null;
  readonly imprint: string | null;
  readonly nonce: string | null;
  readonly status: 'granted' | 'rejection';
  readonly failInfo: FailInfo | null;
  readonly responseSha256: string;
  readonly hash: string;
}

export interface ArchiveSink {
  /** Resolves once the record is durable (committed with synchronous=FULL). */
  record(record: ArchiveRecord): Promise<void>;
}

export interface SerialSource {
  next(): bigint;
}

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
  prev_hash: Buffer;
  hash: Buffer;
}

const GENESIS: Buffer = Buffer.alloc(32);
const hex = (b: Uint8Array | null): string | null =>
  b === null ? null : Buffer.from(b).toString('hex');

function rowHash(prev: Buffer, r: Omit<RawRow, 'prev_hash' | 'hash'>): Buffer {
  const body = JSON.stringify([
    r.seq,
    r.at,
    r.unit,
    r.key_spki_sha256,
    r.serial,
    r.gen_time,
    r.policy,
    r.hash_algorithm,
    hex(r.imprint),
    hex(r.nonce),
    r.status,
    r.fail_info,
    hex(r.response_sha256),
  ]);
  return createHash('sha256').update(prev).update(body, 'utf8').digest();
}

/** Serial numbers are reserved in blocks of this size per process. */
const SERIAL_BLOCK = 1024n;

export class Archive implements ArchiveSink, SerialSource {
  private pending: { record: ArchiveRecord; done: () => void; fail: (e: unknown) => void }[] = [];
  private scheduled = false;
  private serialNext = 0n;
  private serialEnd = 0n;
  private readonly insert: Database.Statement;
  private readonly last: Database.Statement;
  private batches = 0;
  private rows = 0;

  private constructor(private readonly db: Database.Database) {
    this.insert = db.prepare(
      `INSERT INTO responses (seq, at, unit, key_spki_sha256, serial, gen_time, policy, hash_algorithm, imprint, nonce, status, fail_info, response_sha256, prev_hash, hash)
       VALUES (@seq, @at, @unit, @key_spki_sha256, @serial, @gen_time, @policy, @hash_algorithm, @imprint, @nonce, @status, @fail_info, @response_sha256, @prev_hash, @hash)`,
    );
    this.last = db.prepare('SELECT seq, hash FROM responses ORDER BY seq DESC LIMIT 1');
  }

  /** Opens (creating if needed) the archive file: WAL, synchronous=FULL. */
  static open(path: string): Archive {
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 10000');
    db.exec(SCHEMA);
    return new Archive(db);
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

  record(record: ArchiveRecord): Promise<void> {
    return new Promise((done, fail) => {
      this.pending.push({ record, done, fail });
      if (!this.scheduled) {
        this.scheduled = true;
        // Group commit: everything queued during this event-loop turn is committed together.
        setImmediate(() => {
          this.flush();
        });
      }
    });
  }

  /** Commits what is pending now (normally called by the scheduler). */
  flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    try {
      const write = this.db.transaction(() => {
        const last = this.last.get() as { seq: number; hash: Buffer } | undefined;
        let seq = last?.seq ?? 0;
        let prev = last?.hash ?? GENESIS;
        for (const { record: r } of batch) {
          seq++;
          const row = {
            seq,
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
          const hash = rowHash(prev, row);
          this.insert.run({ ...row, prev_hash: prev, hash });
          prev = hash;
        }
      });
      write.immediate();
      this.batches++;
      this.rows += batch.length;
      for (const p of batch) p.done();
    } catch (error) {
      for (const p of batch) p.fail(error);
    }
  }

  stats(): { batches: number; rows: number } {
    return { batches: this.batches, rows: this.rows };
  }

  verify(): {
    ok: boolean;
    entries: number;
    head: string;
    firstBad?: { seq: number; reason: string };
  } {
    let prev = GENESIS;
    let expected = 1;
    let count = 0;
    for (const r of this.db
      .prepare('SELECT * FROM responses ORDER BY seq')
      .iterate() as Iterable<RawRow>) {
      count++;
      const bad = (reason: string) => ({
        ok: false,
        entries: count,
        head: prev.toString('hex'),
        firstBad: { seq: r.seq, reason },
      });
      if (r.seq !== expected) return bad(`entry ${expected} is missing`);
      if (!Buffer.from(r.prev_hash).equals(prev)) return bad('previous-hash link broken');
      const h = rowHash(prev, r);
      if (!h.equals(Buffer.from(r.hash))) return bad('entry content does not match its hash');
      prev = h;
      expected++;
    }
    return { ok: true, entries: count, head: prev.toString('hex') };
  }

  find(query: { imprint?: Uint8Array; serial?: bigint; from?: string; to?: string }): ArchiveRow[] {
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

  *export(): Generator<ArchiveRow> {
    for (const r of this.db
      .prepare('SELECT * FROM responses ORDER BY seq')
      .iterate() as Iterable<RawRow>) {
      yield toRow(r);
    }
  }

  close(): void {
    this.flush();
    this.db.close();
  }
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
    hash: Buffer.from(r.hash).toString('hex'),
  };
}

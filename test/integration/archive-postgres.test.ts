// The issuance archive on a real PostgreSQL server: round trip, two nodes writing at once (no
// duplicate serial, both chains and the checkpoints verify), a truncated tail and an edited row
// detected, and a lost database connection refusing records until it is back. Each test has a
// database of its own. Skipped without ATTESTAMP_TEST_POSTGRES_URL, except under CI.
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { Signer } from '../../src/pki/index.js';
import { fixedClock } from '../../src/shared/index.js';
import {
  createSystemTimeSource,
  openArchive,
  TimeStampService,
  type ArchiveRecord,
} from '../../src/tsa/index.js';
import { archiveDigest, entryBody, type EntryFields } from '../../src/tsa/archive/entry.js';
import { PostgresArchive } from '../../src/tsa/archive/postgres.js';

import { createTestDevice } from '../helpers/hsm.js';
import { FAIL_BIT, parseResponse, sha256, timeStampQuery } from '../helpers/tsp.js';
import { waitFor } from '../helpers/wait.js';

const BASE_URL = process.env.ATTESTAMP_TEST_POSTGRES_URL;
const IN_CI = process.env.CI === 'true';

/** A throwaway database on the test server; dropped when the file finishes. */
async function createDatabase(): Promise<{ url: string; name: string; sql: pg.Pool }> {
  const name = `attestamp_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: BASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(BASE_URL!);
  url.pathname = `/${name}`;
  // The test's own SQL names the archive's tables as the archive does: in its schema.
  const sql = new pg.Pool({
    connectionString: url.toString(),
    max: 2,
    options: '-c search_path=attestamp_tsa',
  });
  sql.on('error', () => undefined);
  databases.push({ name, sql });
  return { url: url.toString(), name, sql };
}

const databases: { name: string; sql: pg.Pool }[] = [];

/** Runs a statement on the server's maintenance database (not the one under test). */
async function admin(statement: string): Promise<void> {
  const c = new pg.Client({ connectionString: BASE_URL });
  await c.connect();
  try {
    await c.query(statement);
  } finally {
    await c.end();
  }
}

afterAll(async () => {
  for (const d of databases) {
    await d.sql.end().catch(() => undefined);
    await admin(`DROP DATABASE IF EXISTS ${d.name} WITH (FORCE)`);
  }
});

/** A P-256 signer standing in for the TSA unit's timestamp key. */
function testSigner(): Signer {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    algorithm: 'ecdsa-p256',
    spki: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })),
    certificateChain: [],
    sign: (tbs) => Promise.resolve(sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' })),
  };
}

let counter = 0;
/** A record with a unique response hash (the test finds each record by it). */
function record(serial: bigint | null, extra: Partial<ArchiveRecord> = {}): ArchiveRecord {
  const n = counter++;
  return {
    at: new Date(Date.UTC(2026, 0, 2, 3, 4, 5) + n).toISOString(),
    unit: 'default',
    keySpkiSha256: 'ab'.repeat(32),
    serial,
    genTime: serial === null ? null : '20260102030405Z',
    policy: '1.3.6.1.4.1.99999.1',
    hashAlgorithm: '2.16.840.1.101.3.4.2.1',
    imprint: createHash('sha256')
      .update(`imprint ${String(n)}`)
      .digest(),
    nonce: null,
    status: serial === null ? 'rejection' : 'granted',
    failInfo: serial === null ? 'badAlg' : null,
    responseSha256: createHash('sha256')
      .update(`response ${String(n)}`)
      .digest(),
    ...extra,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.runIf(BASE_URL === undefined && IN_CI)('archive on PostgreSQL (CI)', () => {
  it('needs ATTESTAMP_TEST_POSTGRES_URL under CI', () => {
    expect.fail('ATTESTAMP_TEST_POSTGRES_URL is not set: CI must provide a PostgreSQL server');
  });
});

describe.runIf(BASE_URL !== undefined)('archive on PostgreSQL', () => {
  it('records, verifies, finds and returns responses; migrations run once; a node continues its chain', async () => {
    const db = await createDatabase();
    const signer = testSigner();
    const archive = await openArchive(db.url, {
      node: 'node-a',
      signer,
      checkpointIntervalMs: 0,
      clock: fixedClock(new Date('2026-01-02T03:05:00Z')),
    });
    const kept = new TextEncoder().encode('the exact response');
    const granted = record(archive.next(), {
      response: kept,
      responseSha256: createHash('sha256').update(kept).digest(),
      nonce: new Uint8Array([1, 2, 3]),
    });
    const serial2 = archive.next();
    await Promise.all([
      archive.record(granted),
      archive.record(record(serial2)),
      archive.record(record(null)),
    ]);
    await archive.recordClockEvent({
      at: '2026-01-02T03:04:00.000Z',
      from: 'unsynced',
      to: 'synced',
      reason: 'quorum reached',
      sources: [],
    });
    expect(await archive.probe(new Date())).toBe(3);
    expect(archive.stats().rows).toBe(3);
    await archive.close();
    await expect(archive.record(record(null))).rejects.toThrow(/closed/);

    const meta = await db.sql.query<{ value: string }>(
      "SELECT value FROM archive_meta WHERE name = 'schema_version'",
    );
    expect(meta.rows[0]?.value).toBe('2');
    // The clean shutdown signed a checkpoint of the one chain head.
    const cps = await db.sql.query<{ node: string; body: string }>(
      'SELECT node, body FROM checkpoints',
    );
    expect(cps.rows).toHaveLength(1);
    expect(JSON.parse(cps.rows[0]!.body)).toMatchObject({
      node: 'node-a',
      heads: [{ node: 'node-a', seq: 3 }],
    });

    // Reopened: the migrations do not run again and the chain goes on at entry 4.
    const again = await openArchive(db.url, { node: 'node-a', checkpointIntervalMs: 0 });
    const serial3 = again.next();
    expect(serial3).toBeGreaterThan(serial2);
    await again.record(record(serial3));
    await again.close();

    const reader = await openArchive(db.url, { mode: 'read-only' });
    try {
      const v = await reader.verify({ checkpointKeys: [signer.spki] });
      expect(v).toMatchObject({ ok: true, entries: 4 });
      expect(v.chains).toEqual([expect.objectContaining({ node: 'node-a', ok: true, headSeq: 4 })]);
      expect(v.checkpoints).toMatchObject({ count: 1, verified: 1, keysPinned: true });
      const bySerial = await reader.find({ serial: granted.serial! });
      expect(bySerial).toHaveLength(1);
      expect(bySerial[0]).toMatchObject({
        node: 'node-a',
        seq: 1,
        serial: String(granted.serial),
        nonce: '010203',
        responseKept: true,
      });
      expect(await reader.find({ imprint: granted.imprint! })).toHaveLength(1);
      expect(
        (await reader.find({ from: '2026-01-01T00:00:00Z', to: '2027-01-01T00:00:00Z' })).length,
      ).toBe(4);
      expect(await reader.response({ node: 'node-a', seq: 1 })).toEqual(kept);
      expect(await reader.response({ node: 'node-a', seq: 2 })).toBe('not-kept');
      expect(await reader.response({ node: 'node-a', seq: 99 })).toBeUndefined();
      const exported = [];
      for await (const row of reader.export()) exported.push(row.seq);
      expect(exported).toEqual([1, 2, 3, 4]);
      expect((await reader.clockEvents()).map((e) => [e.node, e.reason])).toEqual([
        ['node-a', 'quorum reached'],
      ]);
      // A reader writes nothing: the server refuses it.
      await expect(reader.record(record(null))).rejects.toThrow(/read-only/);
      expect(() => reader.next()).toThrow();
      await expect(reader.probe(new Date())).rejects.toThrow(/read-only/);
    } finally {
      await reader.close();
    }
    // Changing the kept bytes is named by response() and by verify().
    await db.sql.query("UPDATE responses SET response = 'x'::bytea WHERE seq = 1");
    const audit = await openArchive(db.url, { mode: 'read-only' });
    try {
      expect(await audit.response({ node: 'node-a', seq: 1 })).toBe('mismatch');
      expect((await audit.verify()).firstBad).toEqual({
        node: 'node-a',
        seq: 1,
        reason: 'the kept response does not match its hash',
      });
    } finally {
      await audit.close();
    }
  });

  it('two nodes write at once: no duplicate serial, both chains and the checkpoints verify', async () => {
    const db = await createDatabase();
    const signer = testSigner();
    // Small blocks, so that both nodes reserve many while the other does too.
    const open = (node: string) =>
      PostgresArchive.open({ url: db.url, node, signer, checkpointIntervalMs: 0, serialBlock: 8 });
    const [a, b] = await Promise.all([open('node-a'), open('node-b')]);
    const write = async (archive: PostgresArchive, n: number): Promise<void> => {
      const pending: Promise<void>[] = [];
      for (let i = 0; i < n; i++) {
        // Some requests wait for a block to arrive: a refusal then is a systemFailure, retried.
        let serial: bigint | undefined;
        while (serial === undefined) {
          try {
            serial = archive.next();
          } catch {
            await sleep(2);
          }
        }
        pending.push(archive.record(record(serial)));
        if (i % 16 === 15) await Promise.all(pending.splice(0));
      }
      await Promise.all(pending);
    };
    await Promise.all([write(a, 400), write(b, 400)]);
    expect(await a.checkpoint()).toBeGreaterThan(0);
    // Nothing changed since: the same heads are not signed again.
    expect(await a.checkpoint()).toBeUndefined();
    await Promise.all([a.close(), b.close()]);

    const dup = await db.sql.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM (
         SELECT serial FROM responses WHERE serial IS NOT NULL GROUP BY serial HAVING count(*) > 1) d`,
    );
    expect(dup.rows[0]?.n).toBe('0');
    const counts = await db.sql.query<{ node: string; n: string; max: string }>(
      'SELECT node, count(*)::text AS n, max(seq)::text AS max FROM responses GROUP BY node ORDER BY node',
    );
    expect(counts.rows).toEqual([
      { node: 'node-a', n: '400', max: '400' },
      { node: 'node-b', n: '400', max: '400' },
    ]);
    // The reserved blocks never overlap.
    const overlaps = await db.sql.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM serial_blocks x JOIN serial_blocks y
         ON x.first < y.first AND y.first < x.next`,
    );
    expect(overlaps.rows[0]?.n).toBe('0');
    const reader = await openArchive(db.url, { mode: 'read-only' });
    try {
      const v = await reader.verify({ checkpointKeys: [signer.spki] });
      expect(v.ok).toBe(true);
      expect(v.entries).toBe(800);
      expect(v.chains?.map((c) => [c.node, c.ok, c.headSeq])).toEqual([
        ['node-a', true, 400],
        ['node-b', true, 400],
      ]);
      // a's explicit checkpoint, then one at each close (b's heads moved after a's).
      expect(v.checkpoints?.count).toBeGreaterThanOrEqual(2);
      expect(v.checkpoints?.verified).toBe(v.checkpoints?.count);
      // Under another trusted key, the same checkpoints fail.
      const other = await reader.verify({ checkpointKeys: [testSigner().spki] });
      expect(other.ok).toBe(false);
      expect(other.checkpoints?.firstBad?.reason).toBe('signed by a key that is not trusted');
    } finally {
      await reader.close();
    }
  });

  it('a truncated tail is detected, even with the recorded head moved back to match', async () => {
    const db = await createDatabase();
    const signer = testSigner();
    const a = await PostgresArchive.open({
      url: db.url,
      node: 'node-a',
      signer,
      checkpointIntervalMs: 0,
    });
    const b = await PostgresArchive.open({
      url: db.url,
      node: 'node-b',
      signer,
      checkpointIntervalMs: 0,
    });
    for (let i = 0; i < 10; i++)
      await Promise.all([a.record(record(a.next())), b.record(record(b.next()))]);
    await a.close();
    await b.close();
    const verify = async () => {
      const reader = await openArchive(db.url, { mode: 'read-only' });
      try {
        return await reader.verify();
      } finally {
        await reader.close();
      }
    };
    const intact = await verify();
    expect(intact.ok).toBe(true);
    // Deleting the last rows of b's chain: its own recorded head gives it away.
    await db.sql.query("DELETE FROM responses WHERE node = 'node-b' AND seq > 7");
    const naive = await verify();
    expect(naive.ok).toBe(false);
    expect(naive.firstBad).toMatchObject({ node: 'node-b', seq: 8 });
    expect(naive.firstBad?.reason).toMatch(/entry 8 is missing: the chain ends at entry 7/);
    // Moving the recorded head back as well: the signed checkpoint still names entry 10.
    await db.sql.query(
      `UPDATE chains SET head_seq = 7, head_hash = (SELECT hash FROM responses WHERE node = 'node-b' AND seq = 7)
       WHERE node = 'node-b'`,
    );
    const cunning = await verify();
    expect(cunning.ok).toBe(false);
    expect(cunning.firstBad).toMatchObject({ node: 'node-b', seq: 8 });
    expect(cunning.firstBad?.reason).toMatch(/checkpoint \d+ signed entry 10/);
    expect(cunning.chains?.find((c) => c.node === 'node-a')?.ok).toBe(true);
  });

  it('an edited row, a forged checkpoint and a checkpointed head rewritten are detected', async () => {
    const db = await createDatabase();
    const signer = testSigner();
    const a = await PostgresArchive.open({
      url: db.url,
      node: 'node-a',
      signer,
      checkpointIntervalMs: 0,
    });
    for (let i = 0; i < 8; i++) await a.record(record(a.next()));
    await a.close();
    const verify = async () => {
      const reader = await openArchive(db.url, { mode: 'read-only' });
      try {
        return await reader.verify();
      } finally {
        await reader.close();
      }
    };
    await db.sql.query("UPDATE responses SET unit = 'other' WHERE node = 'node-a' AND seq = 5");
    expect((await verify()).firstBad).toEqual({
      node: 'node-a',
      seq: 5,
      reason: 'entry content does not match its hash',
    });
    await db.sql.query("UPDATE responses SET unit = 'default' WHERE node = 'node-a' AND seq = 5");
    expect((await verify()).ok).toBe(true);
    // A row moved to another chain no longer hashes: the node id is part of each entry.
    await db.sql.query("INSERT INTO chains VALUES ('node-x', 0, '\\x00', 'now')");
    await db.sql.query("UPDATE responses SET node = 'node-x' WHERE node = 'node-a' AND seq = 1");
    expect((await verify()).firstBad).toMatchObject({
      node: 'node-a',
      seq: 2,
      reason: 'entry 1 is missing',
    });
    await db.sql.query("UPDATE responses SET node = 'node-a' WHERE node = 'node-x'");
    await db.sql.query("DELETE FROM chains WHERE node = 'node-x'");
    expect((await verify()).ok).toBe(true);
    // The last entry rewritten with a hash recomputed and the recorded head moved to it: the
    // chain holds together, but the checkpoint signed another entry 8.
    const last = await db.sql.query<Record<string, unknown>>(
      "SELECT *, seq::int AS seq, serial::text AS serial FROM responses WHERE node = 'node-a' AND seq = 8",
    );
    const row = last.rows[0]! as unknown as EntryFields & { prev_hash: Buffer };
    const forgedHash = archiveDigest(
      row.prev_hash,
      entryBody({ ...row, unit: 'forged' }, 'node-a'),
    );
    await db.sql.query(
      "UPDATE responses SET unit = 'forged', hash = $1 WHERE node = 'node-a' AND seq = 8",
      [Buffer.from(forgedHash)],
    );
    await db.sql.query("UPDATE chains SET head_hash = $1 WHERE node = 'node-a'", [
      Buffer.from(forgedHash),
    ]);
    const rewritten = await verify();
    expect(rewritten.firstBad).toMatchObject({ node: 'node-a', seq: 8 });
    expect(rewritten.firstBad?.reason).toMatch(/entry differs from the one checkpoint \d+ signed/);
    // A changed signature.
    await db.sql.query(
      'UPDATE checkpoints SET signature = set_byte(signature, 9, get_byte(signature, 9) # 255)',
    );
    const forged = await verify();
    expect(forged.ok).toBe(false);
    expect(forged.checkpoints?.firstBad?.reason).toBe('the signature does not verify');
  });

  it('a lost database connection refuses records (none resolves as durable) until it is back', async () => {
    const db = await createDatabase();
    const archive = await PostgresArchive.open({
      url: db.url,
      node: 'node-a',
      checkpointIntervalMs: 0,
      retryMs: 100,
      connectTimeoutMs: 1_000,
      serialBlock: 100_000,
    });
    const resolved: string[] = [];
    const rejectedDuringOutage: string[] = [];
    const state: { outage: 'before' | 'down' | 'after'; writing: boolean } = {
      outage: 'before',
      writing: true,
    };
    const writer = (async () => {
      while (state.writing) {
        const r = record(archive.next());
        const id = Buffer.from(r.responseSha256).toString('hex');
        const startedIn = state.outage;
        const batch = Array.from({ length: 4 }, () => record(archive.next()));
        await Promise.all(
          [r, ...batch].map((x) =>
            archive.record(x).then(
              () => {
                resolved.push(Buffer.from(x.responseSha256).toString('hex'));
                if (startedIn === 'down') throw new Error(`record ${id} resolved while down`);
              },
              () => {
                if (startedIn === 'down') rejectedDuringOutage.push(id);
              },
            ),
          ),
        );
        await sleep(5);
      }
    })();
    await waitFor('a record resolved before the outage', () => resolved.length > 0);
    // The database goes away: no new connection, and the archive's own are cut.
    await admin(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS false`);
    await admin(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db.name}' AND pid <> pg_backend_pid()`,
    );
    state.outage = 'down';
    await sleep(800);
    await expect(archive.probe(new Date())).rejects.toThrow();
    const resolvedWhileDown = resolved.length;
    // Records started during the outage are refused (each after its connection attempt).
    await waitFor('a record refused during the outage', () => rejectedDuringOutage.length > 0);
    await sleep(300);
    expect(resolved.length).toBe(resolvedWhileDown);
    // Back: the archive recovers by itself.
    state.outage = 'after';
    await admin(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`);
    const deadline = Date.now() + 15_000;
    while (resolved.length === resolvedWhileDown && Date.now() < deadline) await sleep(50);
    expect(resolved.length).toBeGreaterThan(resolvedWhileDown);
    expect(await archive.probe(new Date())).toBeGreaterThan(0);
    state.writing = false;
    await writer;
    await archive.close();
    // Every record that resolved is in the table; the chain verifies.
    const rows = await db.sql.query<{ h: string }>(
      "SELECT encode(response_sha256, 'hex') AS h FROM responses",
    );
    const stored = new Set(rows.rows.map((r) => r.h));
    expect(resolved.filter((h) => !stored.has(h))).toEqual([]);
    const reader = await openArchive(db.url, { mode: 'read-only' });
    try {
      expect(await reader.verify()).toMatchObject({ ok: true });
    } finally {
      await reader.close();
    }
  });

  it('the time-stamp service on it: tokens while it answers, systemFailure while it is away, checkpoints by the unit key', async () => {
    const db = await createDatabase();
    const device = await createTestDevice();
    const signer = await device.hsm.timestampSigner('default');
    const archive = await PostgresArchive.open({
      url: db.url,
      node: 'node-a',
      signer,
      checkpointIntervalMs: 0,
      retryMs: 100,
      connectTimeoutMs: 1_000,
    });
    const service = new TimeStampService({
      units: [{ name: 'default', signer, policies: ['1.3.6.1.4.1.99999.1'] }],
      hashes: ['sha256'],
      legacySha1: false,
      precision: 3,
      accuracy: { seconds: 1, millis: 0, micros: 0 },
      includeIssuers: false,
      qualified: false,
      includeTsaName: false,
      verifyTokens: 'off',
      timeSource: createSystemTimeSource(),
      serials: archive,
      archive,
    });
    const ask = async (i: number) =>
      parseResponse(
        (
          await service.respond(
            'default',
            timeStampQuery({ digest: sha256(`document ${String(i)}`) }),
          )
        ).response,
      );
    try {
      expect((await ask(1)).status).toBe(0);
      await admin(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS false`);
      await admin(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db.name}' AND pid <> pg_backend_pid()`,
      );
      // RFC 3161 2.4.2: no token that is not archived; the refusal says systemFailure.
      const refused = await ask(2);
      expect(refused.status).toBe(2);
      expect(refused.failBits).toEqual([FAIL_BIT.systemFailure]);
      await admin(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`);
      const deadline = Date.now() + 15_000;
      let status = -1;
      while (status !== 0 && Date.now() < deadline) {
        status = (await ask(3)).status;
        if (status !== 0) await sleep(100);
      }
      expect(status).toBe(0);
    } finally {
      await archive.close();
      await device.hsm.close();
    }
    const reader = await openArchive(db.url, { mode: 'read-only' });
    try {
      const v = await reader.verify({ checkpointKeys: [signer.spki] });
      expect(v).toMatchObject({ ok: true, checkpoints: { count: 1, verified: 1 } });
      const granted = (await reader.find({})).filter((r) => r.status === 'granted');
      expect(granted.length).toBe(2);
    } finally {
      await reader.close();
    }
  });

  it('a version-1 archive (no chain format) is read as it is, and a node migrates it to version 2', async () => {
    const db = await createDatabase();
    const a = await PostgresArchive.open({ url: db.url, node: 'node-a', checkpointIntervalMs: 0 });
    await a.record(record(a.next()));
    await a.close();
    // The chains table as version 1 made it (a dropped column would stay in the catalog).
    for (const statement of [
      'ALTER TABLE responses DROP CONSTRAINT responses_node_fkey',
      `CREATE TABLE chains_v1 (
         node text PRIMARY KEY,
         head_seq bigint NOT NULL CHECK (head_seq >= 0),
         head_hash bytea NOT NULL,
         created_at text NOT NULL)`,
      'INSERT INTO chains_v1 SELECT node, head_seq, head_hash, created_at FROM chains',
      'DROP TABLE chains',
      'ALTER TABLE chains_v1 RENAME TO chains',
      'ALTER INDEX chains_v1_pkey RENAME TO chains_pkey',
      'ALTER TABLE chains RENAME CONSTRAINT chains_v1_head_seq_check TO chains_head_seq_check',
      'ALTER TABLE responses ADD CONSTRAINT responses_node_fkey FOREIGN KEY (node) REFERENCES chains (node)',
    ]) {
      await db.sql.query(statement);
    }
    await db.sql.query("UPDATE archive_meta SET value = '1' WHERE name = 'schema_version'");
    const reader = await openArchive(db.url, { mode: 'read-only' });
    try {
      expect(await reader.verify()).toMatchObject({ ok: true, entries: 1 });
      expect(await reader.response({ node: 'node-a', seq: 1 })).toBe('not-kept');
    } finally {
      await reader.close();
    }
    const again = await PostgresArchive.open({
      url: db.url,
      node: 'node-a',
      checkpointIntervalMs: 0,
    });
    await again.close();
    const chains = await db.sql.query('SELECT node, format FROM chains');
    expect(chains.rows).toEqual([{ node: 'node-a', format: 'node' }]);
  });
});

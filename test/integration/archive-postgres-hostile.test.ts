// The PostgreSQL issuance archive against a hostile database: an edited chain head, a deleted or
// moved checkpoint, checkpoints signed by a key that is not pinned, a serial counter moved back,
// a UNIQUE dropped with a duplicate serial put in, and DDL planted in the archive's schema. Each
// is detected (an error code and reason, or a verify finding), never obeyed. Real server.
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { Hsm } from '../../src/hsm/index.js';
import { encodePem, type Signer } from '../../src/pki/index.js';
import { TsaError, type ArchiveRecord, type ArchiveVerification } from '../../src/tsa/index.js';
import { archiveDigest, entryBody, type EntryFields } from '../../src/tsa/archive/entry.js';
import { PostgresArchive } from '../../src/tsa/archive/postgres.js';
import { runCli } from '../helpers/cli.js';
import { schemaOf, validate } from '../helpers/json-schema.js';
import { freshDatabase, requirePostgres, type FreshDatabase } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';

const skip = requirePostgres();
const VERIFY_SCHEMA = join(import.meta.dirname, '../../schemas/cli/archive-verify.schema.json');

interface Db {
  readonly url: string;
  /** The test's own SQL, naming the archive's tables as the archive does (its schema). */
  readonly sql: pg.Pool;
}

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function database(): Promise<Db> {
  const fresh: FreshDatabase = await freshDatabase();
  const sql = new pg.Pool({
    connectionString: fresh.url,
    max: 2,
    options: '-c search_path=attestamp_tsa',
  });
  sql.on('error', () => undefined);
  cleanup.push(async () => {
    await sql.end().catch(() => undefined);
    await fresh.drop();
  });
  return { url: fresh.url, sql };
}

/** A P-256 signer standing in for a TSA unit's timestamp key. */
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
function record(serial: bigint): ArchiveRecord {
  const n = counter++;
  return {
    at: new Date(Date.UTC(2026, 0, 2, 3, 4, 5) + n).toISOString(),
    unit: 'default',
    keySpkiSha256: 'ab'.repeat(32),
    serial,
    genTime: '20260102030405Z',
    policy: '1.3.6.1.4.1.99999.1',
    hashAlgorithm: '2.16.840.1.101.3.4.2.1',
    imprint: createHash('sha256')
      .update(`imprint ${String(n)}`)
      .digest(),
    nonce: null,
    status: 'granted',
    failInfo: null,
    responseSha256: createHash('sha256')
      .update(`response ${String(n)}`)
      .digest(),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The error `p` rejects with: a TsaError with the archive's integrity code. */
async function integrityError(p: Promise<unknown>): Promise<TsaError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TsaError);
  expect((error as TsaError).code).toBe('archive-integrity');
  return error as TsaError;
}

const serve = (db: Db, node: string, extra: { signer?: Signer; serialBlock?: number } = {}) =>
  PostgresArchive.open({ url: db.url, node, checkpointIntervalMs: 0, ...extra });

async function verify(db: Db, keys?: Uint8Array[]): Promise<ArchiveVerification> {
  const reader = await PostgresArchive.open({ url: db.url, readOnly: true });
  try {
    return await reader.verify(keys === undefined ? {} : { checkpointKeys: keys });
  } finally {
    await reader.close();
  }
}

/** Appends a well-hashed entry to `node`'s chain by hand and moves its head: an attacker's row. */
async function appendByHand(db: Db, node: string, serial: string): Promise<number> {
  const last = await db.sql.query<Record<string, unknown>>(
    'SELECT *, seq::int AS seq, serial::text AS serial FROM responses WHERE node = $1 ORDER BY responses.seq DESC LIMIT 1',
    [node],
  );
  const prev = last.rows[0]! as unknown as EntryFields & { hash: Buffer };
  const row: EntryFields = { ...prev, seq: prev.seq + 1, serial };
  const hash = Buffer.from(archiveDigest(prev.hash, entryBody(row, node)));
  await db.sql.query(
    `INSERT INTO responses (node, seq, at, unit, key_spki_sha256, serial, gen_time, policy,
       hash_algorithm, imprint, nonce, status, fail_info, response_sha256, response, prev_hash, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULL, $15, $16)`,
    [
      node,
      row.seq,
      row.at,
      row.unit,
      row.key_spki_sha256,
      row.serial,
      row.gen_time,
      row.policy,
      row.hash_algorithm,
      row.imprint,
      row.nonce,
      row.status,
      row.fail_info,
      row.response_sha256,
      prev.hash,
      hash,
    ],
  );
  await db.sql.query('UPDATE chains SET head_seq = $1, head_hash = $2 WHERE node = $3', [
    row.seq,
    hash,
    node,
  ]);
  return row.seq;
}

describe.skipIf(skip)('the PostgreSQL archive on a hostile database', () => {
  it('an edited chain head: the batch is refused (nothing linked onto it), the archive stops granting, a restart refuses to open', async () => {
    const db = await database();
    const a = await serve(db, 'node-a');
    for (let i = 0; i < 3; i++) await a.record(record(a.next()));
    // The head moved back onto a real entry: a node trusting the row would fork its chain there.
    await db.sql.query(
      `UPDATE chains SET head_seq = 2,
         head_hash = (SELECT hash FROM responses WHERE node = 'node-a' AND seq = 2)
       WHERE node = 'node-a'`,
    );
    const refused = await integrityError(a.record(record(a.next())));
    expect(refused.details).toMatchObject({
      node: 'node-a',
      table: 'chains',
      headSeq: 2,
      expectedSeq: 3,
    });
    expect(refused.message).toMatch(/chain head of node node-a was edited/);
    const rows = await db.sql.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM responses WHERE node = 'node-a'",
    );
    expect(rows.rows[0]?.n).toBe('3');
    // Down for good: records, serials and readiness all say why; no retry clears it.
    await sleep(50);
    expect((await integrityError(a.record(record(1n)))).message).toBe(refused.message);
    expect(() => a.next()).toThrow(refused.message);
    await integrityError(a.probe(new Date()));
    await a.close();
    // Restarted: the head row is checked against the chain's last entry before anything else.
    const restarted = await integrityError(serve(db, 'node-a'));
    expect(restarted.details).toMatchObject({ node: 'node-a', headSeq: 2, expectedSeq: 3 });
    expect(restarted.message).toMatch(/the chain's last entry is entry 3/);
    // Put back, the node opens and continues its chain.
    await db.sql.query(
      `UPDATE chains SET head_seq = 3,
         head_hash = (SELECT hash FROM responses WHERE node = 'node-a' AND seq = 3)
       WHERE node = 'node-a'`,
    );
    const again = await serve(db, 'node-a');
    await again.record(record(again.next()));
    await again.close();
    expect((await verify(db)).ok).toBe(true);
  });

  it("a row put into a running node's chain after its head: the batch is refused as an edit", async () => {
    const db = await database();
    const a = await serve(db, 'node-a');
    for (let i = 0; i < 2; i++) await a.record(record(a.next()));
    await db.sql.query(
      `INSERT INTO responses SELECT node, 3, at, unit, key_spki_sha256, NULL, gen_time, policy,
         hash_algorithm, imprint, nonce, status, fail_info, response_sha256, response, prev_hash, hash
       FROM responses WHERE node = 'node-a' AND seq = 2`,
    );
    const refused = await integrityError(a.record(record(a.next())));
    expect(refused.details).toMatchObject({ node: 'node-a', table: 'responses' });
    expect(refused.message).toMatch(/a row was put into the chain of node node-a/);
    await a.close();
  });

  it("each node's checkpoints are chained: a deleted or moved one in the middle is named; a restarted node chains on; v1 bodies still verify", async () => {
    const db = await database();
    const signer = testSigner();
    const a = await serve(db, 'node-a', { signer });
    const ids: number[] = [];
    for (let i = 0; i < 4; i++) {
      await a.record(record(a.next()));
      ids.push((await a.checkpoint())!);
    }
    await a.close();
    const [c1, c2, c3, c4] = ids as [number, number, number, number];
    const bodies = await db.sql.query<{ id: string; body: string }>(
      'SELECT id::text AS id, body FROM checkpoints ORDER BY id',
    );
    const text = new Map(bodies.rows.map((r) => [Number(r.id), r.body]));
    const sha = (id: number): string => createHash('sha256').update(text.get(id)!).digest('hex');
    expect(JSON.parse(text.get(c1)!)).toMatchObject({ type: 'attestamp archive checkpoint v2' });
    expect(JSON.parse(text.get(c1)!)).not.toHaveProperty('prev');
    expect(JSON.parse(text.get(c3)!)).toMatchObject({ prev: sha(c2), prevId: c2 });
    const intact = await verify(db, [signer.spki]);
    expect(intact.ok).toBe(true);
    expect(intact.checkpoints).toMatchObject({ count: 4, verified: 4, keysPinned: true });

    // The middle one deleted: the next one names it.
    const saved = await db.sql.query('SELECT * FROM checkpoints WHERE id = $1', [c2]);
    await db.sql.query('DELETE FROM checkpoints WHERE id = $1', [c2]);
    const deleted = await verify(db, [signer.spki]);
    expect(deleted.ok).toBe(false);
    expect(deleted.checkpoints?.firstBad).toEqual({
      id: c3,
      reason: `checkpoint ${String(c2)}, which node node-a signed before it, is missing (checkpoint ${String(c1)} comes before it)`,
    });
    expect(deleted.firstBad?.reason).toBe(
      `checkpoint ${String(c3)}: checkpoint ${String(c2)}, which node node-a signed before it, is missing (checkpoint ${String(c1)} comes before it)`,
    );
    const row = saved.rows[0] as Record<string, unknown>;
    await db.sql.query(
      'INSERT INTO checkpoints (id, node, at, body, algorithm, spki, certificates, signature) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
      [
        row.id,
        row.node,
        row.at,
        row.body,
        row.algorithm,
        row.spki,
        row.certificates,
        row.signature,
      ],
    );
    expect((await verify(db, [signer.spki])).ok).toBe(true);

    // Two swapped: the one found out of order is named with where its predecessor is.
    await db.sql.query('UPDATE checkpoints SET id = -1 WHERE id = $1', [c3]);
    await db.sql.query('UPDATE checkpoints SET id = $1 WHERE id = $2', [c3, c4]);
    await db.sql.query('UPDATE checkpoints SET id = $1 WHERE id = -1', [c4]);
    const moved = await verify(db, [signer.spki]);
    expect(moved.ok).toBe(false);
    expect(moved.checkpoints?.firstBad).toEqual({
      id: c3,
      reason: `checkpoint ${String(c3)}, which node node-a signed before it, is stored as checkpoint ${String(c4)}, out of order (checkpoint ${String(c2)} comes before it)`,
    });
    await db.sql.query('UPDATE checkpoints SET id = -1 WHERE id = $1', [c3]);
    await db.sql.query('UPDATE checkpoints SET id = $1 WHERE id = $2', [c3, c4]);
    await db.sql.query('UPDATE checkpoints SET id = $1 WHERE id = -1', [c4]);
    expect((await verify(db, [signer.spki])).ok).toBe(true);

    // Restarted, the node's next checkpoint names its last one in the database.
    const again = await serve(db, 'node-a', { signer });
    await again.record(record(again.next()));
    const c5 = (await again.checkpoint())!;
    await again.close();
    const fifth = await db.sql.query<{ body: string }>(
      'SELECT body FROM checkpoints WHERE id = $1',
      [c5],
    );
    expect(JSON.parse(fifth.rows[0]!.body)).toMatchObject({ prev: sha(c4), prevId: c4 });

    // A v1 body (an archive written before checkpoints were chained) verifies, unchained.
    const head = await db.sql.query<{ hash: Buffer }>(
      "SELECT hash FROM responses WHERE node = 'node-a' AND seq = 1",
    );
    const v1 = JSON.stringify({
      type: 'attestamp archive checkpoint v1',
      node: 'node-old',
      at: '2026-01-01T00:00:00.000Z',
      heads: [{ node: 'node-a', seq: 1, hash: head.rows[0]!.hash.toString('hex') }],
    });
    await db.sql.query(
      `INSERT INTO checkpoints (node, at, body, algorithm, spki, certificates, signature)
       VALUES ('node-old', '2026-01-01T00:00:00.000Z', $1, 'ecdsa-p256', $2, '{}', $3)`,
      [v1, Buffer.from(signer.spki), Buffer.from(await signer.sign(new TextEncoder().encode(v1)))],
    );
    const withV1 = await verify(db, [signer.spki]);
    expect(withV1.ok).toBe(true);
    expect(withV1.checkpoints).toMatchObject({ count: 6, verified: 6 });
  });

  it('a serial counter moved back: no block is reserved (the counter is left as found), the running node stops granting', async () => {
    const db = await database();
    const a = await serve(db, 'node-a', { serialBlock: 8 });
    for (let i = 0; i < 3; i++) await a.record(record(a.next()));
    await db.sql.query('UPDATE serial_state SET next = 1');
    const blocks = await db.sql.query<{ n: string }>(
      'SELECT count(*)::text AS n FROM serial_blocks',
    );
    // A node opening now would reserve serials 1 to 8 again.
    const refused = await integrityError(serve(db, 'node-b', { serialBlock: 8 }));
    expect(refused.details).toMatchObject({ table: 'serial_state', next: '1' });
    expect(refused.message).toMatch(/serial counter was moved back.*next serial 1 is below/);
    const state = await db.sql.query<{ next: string }>(
      'SELECT next::text AS next FROM serial_state',
    );
    expect(state.rows[0]?.next).toBe('1');
    const after = await db.sql.query<{ n: string }>(
      'SELECT count(*)::text AS n FROM serial_blocks',
    );
    expect(after.rows[0]?.n).toBe(blocks.rows[0]?.n);
    // The running node reserves its next block in the background: refused, it stops granting.
    let stopped: unknown;
    const deadline = Date.now() + 10_000;
    while (stopped === undefined && Date.now() < deadline) {
      try {
        a.next();
      } catch (error) {
        if (error instanceof TsaError) stopped = error;
      }
      await sleep(5);
    }
    expect(stopped).toBeInstanceOf(TsaError);
    expect((stopped as TsaError).code).toBe('archive-integrity');
    await integrityError(a.record(record(99n)));
    await a.close();
    // Put forward again, nodes open.
    await db.sql.query('UPDATE serial_state SET next = (SELECT max(next) FROM serial_blocks)');
    await (await serve(db, 'node-b', { serialBlock: 8 })).close();
  });

  it("the UNIQUE on serial dropped and a duplicate put in: open refused (both modes), verify reports the duplicate; a serial outside its node's blocks is reported", async () => {
    const db = await database();
    const a = await serve(db, 'node-a');
    const serials: bigint[] = [];
    for (let i = 0; i < 3; i++) {
      const s = a.next();
      serials.push(s);
      await a.record(record(s));
    }
    await a.close();
    // A reader opened before (the catalog is checked at open, not per query).
    const reader = await PostgresArchive.open({ url: db.url, readOnly: true });
    try {
      await db.sql.query('ALTER TABLE responses DROP CONSTRAINT responses_serial_key');
      const dupSeq = await appendByHand(db, 'node-a', serials[1]!.toString());
      const refused = await integrityError(serve(db, 'node-a'));
      expect(refused.details?.missing).toMatch(/constraint responses responses_serial_key/);
      expect(refused.message).toMatch(/missing or changed: .*responses_serial_key/);
      const reading = await integrityError(PostgresArchive.open({ url: db.url, readOnly: true }));
      expect(reading.details?.missing).toMatch(/responses_serial_key/);
      const v = await reader.verify();
      expect(v.chains?.every((c) => c.ok)).toBe(true);
      expect(v.serials).toEqual({
        ok: false,
        checked: 4,
        firstBad: {
          node: 'node-a',
          seq: dupSeq,
          serial: serials[1]!.toString(),
          reason: `serial ${serials[1]!.toString()} is granted twice: also by node node-a entry 2`,
        },
      });
      expect(v.ok).toBe(false);
      expect(v.firstBad).toEqual({
        node: 'node-a',
        seq: dupSeq,
        reason: v.serials?.firstBad?.reason,
      });
      expect(validate(schemaOf(readFileSync(VERIFY_SCHEMA, 'utf8')), v)).toEqual([]);
    } finally {
      await reader.close();
    }
    // Taken out and the constraint put back as it was: the catalog matches again (exact check).
    await db.sql.query("DELETE FROM responses WHERE node = 'node-a' AND seq = 4");
    await db.sql.query(
      `UPDATE chains SET head_seq = 3,
         head_hash = (SELECT hash FROM responses WHERE node = 'node-a' AND seq = 3)
       WHERE node = 'node-a'`,
    );
    await db.sql.query('ALTER TABLE responses ADD CONSTRAINT responses_serial_key UNIQUE (serial)');
    await (await serve(db, 'node-a')).close();
    const clean = await verify(db);
    expect(clean.ok).toBe(true);
    expect(clean.serials).toEqual({ ok: true, checked: 3 });
    // The block given to another node, then no block at all.
    await db.sql.query("UPDATE serial_blocks SET node = 'node-b'");
    const foreign = await verify(db);
    expect(foreign.serials?.firstBad).toEqual({
      node: 'node-a',
      seq: 1,
      serial: serials[0]!.toString(),
      reason: `serial ${serials[0]!.toString()} lies in a block reserved by node node-b, not by this entry's node`,
    });
    await db.sql.query('DELETE FROM serial_blocks');
    expect((await verify(db)).serials?.firstBad?.reason).toBe(
      `serial ${serials[0]!.toString()} lies in no reserved serial block`,
    );
  });

  it('DDL planted in the archive schema (a trigger, a rule, a policy, a view, a dropped primary key): open refused in both modes, naming it', async () => {
    const db = await database();
    const a = await serve(db, 'node-a');
    await a.record(record(a.next()));
    await a.close();
    const cases: readonly {
      plant: string;
      named: RegExp;
      field: 'unexpected' | 'missing';
      undo?: string;
    }[] = [
      {
        plant: `CREATE FUNCTION public.attestamp_test_keep() RETURNS trigger LANGUAGE plpgsql
                    AS $$BEGIN RETURN NEW; END$$;
                  CREATE TRIGGER copy_rows AFTER INSERT ON attestamp_tsa.responses
                    FOR EACH ROW EXECUTE FUNCTION public.attestamp_test_keep()`,
        named: /trigger responses copy_rows/,
        field: 'unexpected',
        undo: 'DROP TRIGGER copy_rows ON attestamp_tsa.responses',
      },
      {
        plant: 'CREATE RULE keep_none AS ON INSERT TO attestamp_tsa.checkpoints DO INSTEAD NOTHING',
        named: /rule checkpoints keep_none/,
        field: 'unexpected',
        undo: 'DROP RULE keep_none ON attestamp_tsa.checkpoints',
      },
      {
        plant: `ALTER TABLE attestamp_tsa.responses ENABLE ROW LEVEL SECURITY;
                  CREATE POLICY hide ON attestamp_tsa.responses USING (seq < 0)`,
        named: /policy responses hide/,
        field: 'unexpected',
        undo: `DROP POLICY hide ON attestamp_tsa.responses;
                 ALTER TABLE attestamp_tsa.responses DISABLE ROW LEVEL SECURITY`,
      },
      {
        plant: 'CREATE VIEW attestamp_tsa.shadow AS SELECT 1 AS x',
        named: /relation shadow/,
        field: 'unexpected',
        undo: 'DROP VIEW attestamp_tsa.shadow',
      },
      {
        plant: 'ALTER TABLE attestamp_tsa.serial_blocks DROP CONSTRAINT serial_blocks_pkey',
        named: /constraint serial_blocks serial_blocks_pkey/,
        field: 'missing',
      },
    ];
    for (const c of cases) {
      await db.sql.query(c.plant);
      for (const open of [
        () => serve(db, 'node-a'),
        () => PostgresArchive.open({ url: db.url, readOnly: true }),
      ]) {
        const refused = await integrityError(open());
        expect(refused.details?.[c.field], c.plant).toMatch(c.named);
        expect(refused.details?.schema).toBe('attestamp_tsa');
        expect(refused.message).toMatch(c.named);
      }
      if (c.undo !== undefined) {
        await db.sql.query(c.undo);
        // Undone: the catalog is exactly the migrations' again, and the archive opens.
        await (await serve(db, 'node-a')).close();
        await (await PostgresArchive.open({ url: db.url, readOnly: true })).close();
      }
    }
  });

  it('tsa archive verify pins checkpoint keys: the device TSA unit keys by default, --checkpoint-key FILE when given; a foreign key fails', async () => {
    const db = await database();
    const dir = tempDir();
    const init = runCli(['init', '--store', db.url], { cwd: dir });
    expect(init.code, init.stderr).toBe(0);
    const key = Buffer.from(readFileSync(join(dir, 'data/master.key'), 'utf8').trim(), 'hex');
    const hsm = await Hsm.open(db.url, { kind: 'key', key });
    let certificate: Uint8Array;
    try {
      const unit = await hsm.timestampSigner('default');
      certificate = (await hsm.partition('default')).timestampCertificate;
      const a = await serve(db, 'node-a', { signer: unit });
      await a.record(record(a.next()));
      await a.close();
    } finally {
      await hsm.close();
    }
    const run = (args: string[], cwd = dir) =>
      runCli(['tsa', 'archive', 'verify', '--store', db.url, '--json', ...args], { cwd });
    const report = (r: { stdout: string }) => JSON.parse(r.stdout) as ArchiveVerification;
    // Default: the device's unit keys, from the device store opened with DATA/master.key.
    const byDevice = run([]);
    expect(byDevice.code, byDevice.stderr).toBe(0);
    expect(report(byDevice).checkpoints).toMatchObject({ count: 1, verified: 1, keysPinned: true });
    // The unit's certificate given as a file.
    const certFile = join(dir, 'unit.pem');
    writeFileSync(certFile, encodePem('CERTIFICATE', certificate));
    const byCert = run(['--checkpoint-key', certFile]);
    expect(byCert.code, byCert.stderr).toBe(0);
    expect(report(byCert).checkpoints?.keysPinned).toBe(true);
    // A foreign public key given: the checkpoints fail (exit 4).
    const foreign = join(dir, 'foreign.pem');
    writeFileSync(foreign, encodePem('PUBLIC KEY', testSigner().spki));
    const byForeign = run(['--checkpoint-key', foreign]);
    expect(byForeign.code).toBe(4);
    const bad = report(byForeign);
    expect(bad.ok).toBe(false);
    expect(bad.checkpoints?.firstBad?.reason).toBe('signed by a key that is not trusted');
    expect(validate(schemaOf(readFileSync(VERIFY_SCHEMA, 'utf8')), bad)).toEqual([]);
    // Repeatable: the foreign key and the unit's certificate together.
    expect(run(['--checkpoint-key', foreign, '--checkpoint-key', certFile]).code).toBe(0);
    // A checkpoint by another key, which the device does not hold: the default pin fails it.
    const b = await serve(db, 'node-b', { signer: testSigner() });
    await b.record(record(b.next()));
    await b.close();
    const mixed = run([]);
    expect(mixed.code).toBe(4);
    expect(report(mixed).checkpoints?.firstBad?.reason).toBe('signed by a key that is not trusted');
    // Without the master key the keys are not pinned, and the report says so.
    const elsewhere = tempDir();
    const unpinned = run([], elsewhere);
    expect(unpinned.code, unpinned.stderr).toBe(0);
    expect(report(unpinned).checkpoints).toMatchObject({
      count: 2,
      verified: 2,
      keysPinned: false,
    });
    const text = runCli(['tsa', 'archive', 'verify', '--store', db.url], { cwd: elsewhere });
    expect(text.stdout).toMatch(/not pinned/);
    // A file without a key is refused as input (65), naming the option.
    const empty = join(dir, 'empty.pem');
    writeFileSync(empty, 'nothing here\n');
    const refused = run(['--checkpoint-key', empty]);
    expect(refused.code).toBe(65);
    expect(refused.stderr).toMatch(/--checkpoint-key/);
  });
});

// `attestamp store migrate`: an embedded store copied into PostgreSQL (and into a new SQLite
// file) keeps every partition, key and audit entry, verifies as extending the source's head,
// signs with the same keys, and refuses a destination that is not empty. Into PostgreSQL the
// issuance archive comes along as one closed chain, hashed as it was, that verifies, serves
// `archive get`, and whose serials the nodes serving afterwards never issue again.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { id_sha1 } from '../../src/pki/index.js';
import { PostgresArchive } from '../../src/tsa/archive/postgres.js';
import { runCli } from '../helpers/cli.js';
import { freshDatabase, requirePostgres, sql } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';
import { post, startTsa } from '../helpers/tsa.js';
import { parseResponse, serialOf, sha256, timeStampQuery } from '../helpers/tsp.js';
import { validate, schemaOf } from '../helpers/json-schema.js';

const skip = requirePostgres();
const SCHEMA = join(import.meta.dirname, '../../schemas/cli/store-migrate.schema.json');

interface ArchiveVerifyReport {
  ok: boolean;
  entries: number;
  head: string;
  firstBad?: { node?: string; seq: number; reason: string };
  chains?: { node: string; ok: boolean; entries: number; headSeq: number; head: string }[];
}

function archiveVerify(
  cwd: string,
  extra: string[],
): { code: number; report: ArchiveVerifyReport } {
  const r = runCli(['tsa', 'archive', 'verify', '--json', ...extra], { cwd });
  expect(r.stdout, r.stderr).not.toBe('');
  return { code: r.code, report: JSON.parse(r.stdout) as ArchiveVerifyReport };
}

/** Serves the data folder (quick start: initialised on first use), sends `queries`, stops. */
async function serveAndStamp(
  cwd: string,
  args: string[],
  queries: Uint8Array[],
): Promise<Uint8Array[]> {
  const tsa = await startTsa(cwd, args);
  const replies: Uint8Array[] = [];
  try {
    for (const q of queries) {
      const r = await post(tsa.url, q);
      expect(r.status).toBe(200);
      replies.push(r.body);
    }
  } finally {
    expect(await tsa.stop()).toBe(0);
  }
  return replies;
}

const granted = (reply: Uint8Array): bigint => {
  const p = parseResponse(reply);
  expect(p.status).toBe(0);
  return serialOf(p.tstInfo!);
};

/** A data folder whose embedded archive holds three tokens (kept in full) and a rejection. */
async function issuedFolder(): Promise<{ cwd: string; replies: Uint8Array[]; head: string }> {
  const cwd = tempDir();
  const replies = await serveAndStamp(
    cwd,
    ['start', '--port', '0', '--archive-responses', 'full'],
    [
      timeStampQuery({ digest: sha256('one') }),
      timeStampQuery({ digest: sha256('two') }),
      // SHA-1 is refused by default: a rejection is archived too.
      timeStampQuery({ hashOid: id_sha1, digest: new Uint8Array(20) }),
      timeStampQuery({ digest: sha256('three') }),
    ],
  );
  const source = archiveVerify(cwd, []);
  expect(source.code).toBe(0);
  expect(source.report.entries).toBe(4);
  return { cwd, replies, head: source.report.head };
}

function keyList(cwd: string, extra: string[]): string {
  const r = runCli(['key', 'list', 'default', ...extra], { cwd });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

describe('store migrate', () => {
  it.skipIf(skip)(
    'copies an embedded store into PostgreSQL: same keys and log, signing keys unchanged',
    async () => {
      const cwd = tempDir();
      expect(runCli(['init'], { cwd }).code).toBe(0);
      expect(
        runCli(['key', 'generate', 'default', '--label', 'k1', '--algorithm', 'ed25519'], { cwd })
          .code,
      ).toBe(0);
      const head = runCli(['audit', 'head'], { cwd }).stdout.trim();
      const db = await freshDatabase();
      try {
        const r = runCli(['store', 'migrate', '--to', db.url, '--json'], { cwd });
        expect(r.code, r.stderr).toBe(0);
        const report = JSON.parse(r.stdout) as Record<string, unknown>;
        expect(validate(schemaOf(readFileSync(SCHEMA, 'utf8')), report)).toEqual([]);
        expect(report).toMatchObject({
          to: 'postgres',
          partitions: 1,
          keys: 4,
          governance: 2,
          sourceHead: head,
          archive: { copied: false, reason: 'not-present' },
        });
        // The same keys, read through the authenticated rows of the copy.
        expect(keyList(cwd, ['--store', db.url])).toBe(keyList(cwd, []));
        const verify = runCli(['audit', 'verify', '--store', db.url, '--expect-head', head], {
          cwd,
        });
        expect(verify.code, verify.stdout + verify.stderr).toBe(0);
        const pub = (store: string[]): string =>
          runCli(['key', 'public', 'default', 'k1', ...store], { cwd }).stdout;
        expect(pub(['--store', db.url])).toBe(pub([]));
        const entries = await sql<{ action: string }>(
          db.url,
          'SELECT action FROM attestamp_hsm.audit ORDER BY seq DESC LIMIT 1',
        );
        expect(entries[0]?.action).toBe('store.copy');
        // A second copy into the same database is refused: it holds a store already.
        const again = runCli(['store', 'migrate', '--to', db.url], { cwd });
        expect(again.code).toBe(5);
        expect(again.stderr).toContain('store-exists');
      } finally {
        await db.drop();
      }
    },
    120_000,
  );

  it('copies into a new SQLite file, refuses an existing one, and needs --to', () => {
    const cwd = tempDir();
    expect(runCli(['init'], { cwd }).code).toBe(0);
    const r = runCli(['store', 'migrate', '--to', 'copy.sqlite'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /copied 1 partitions, 3 keys, 1 officers, 2 governance objects, \d+ audit entries/,
    );
    expect(r.stdout).toContain('archive: not present (no tsa-archive.sqlite in the data folder)');
    expect(runCli(['store', 'migrate', '--to', 'copy.sqlite'], { cwd }).code).toBe(5);
    const none = runCli(['store', 'migrate'], { cwd });
    expect(none.code).toBe(64);
    expect(none.stderr).toContain('--to');
  }, 60_000);

  it.skipIf(skip)(
    'copies the embedded archive into PostgreSQL: same head, verifies, get works, later serials are larger, the chain is closed',
    async () => {
      const { cwd, replies, head } = await issuedFolder();
      const serials = [replies[0]!, replies[1]!, replies[3]!].map(granted);
      const chain = `imported-${head.slice(0, 12)}`;
      const db = await freshDatabase();
      try {
        const r = runCli(['store', 'migrate', '--to', db.url, '--json'], { cwd });
        expect(r.code, r.stderr).toBe(0);
        const report = JSON.parse(r.stdout) as Record<string, unknown>;
        expect(validate(schemaOf(readFileSync(SCHEMA, 'utf8')), report)).toEqual([]);
        const max = serials.reduce((a, b) => (a > b ? a : b));
        expect(report.archive).toEqual({
          copied: true,
          chain,
          entries: 4,
          clockEvents: expect.any(Number) as number,
          head: `4:${head}`,
          serials: {
            first: serials.reduce((a, b) => (a < b ? a : b)).toString(),
            last: max.toString(),
          },
        });
        // The rows as stored: the same hashes and kept bytes as in the SQLite file.
        const source = new Database(join(cwd, 'data/tsa-archive.sqlite'), { readonly: true });
        const stored = source
          .prepare('SELECT seq, hash, response FROM responses ORDER BY seq')
          .all() as { seq: number; hash: Buffer; response: Buffer | null }[];
        source.close();
        const copied = await sql<{ seq: string; hash: Buffer; response: Buffer | null }>(
          db.url,
          'SELECT seq::text AS seq, hash, response FROM attestamp_tsa.responses WHERE node = $1 ORDER BY seq',
          [chain],
        );
        expect(copied.map((c) => [Number(c.seq), c.hash, c.response])).toEqual(
          stored.map((x) => [x.seq, x.hash, x.response]),
        );

        // `tsa archive verify` on the database: the imported chain, with the source's head.
        const verified = archiveVerify(cwd, ['--store', db.url]);
        expect(verified.code, JSON.stringify(verified.report)).toBe(0);
        expect(verified.report.chains).toEqual([
          { node: chain, ok: true, entries: 4, headSeq: 4, head },
        ]);
        // An imported token given back byte for byte, and found by its serial.
        const got = runCli(
          [
            'tsa',
            'archive',
            'get',
            '--store',
            db.url,
            '--serial',
            serials[1]!.toString(),
            '--out',
            'copy.tsr',
          ],
          { cwd },
        );
        expect(got.code, got.stderr).toBe(0);
        expect(new Uint8Array(readFileSync(join(cwd, 'copy.tsr')))).toEqual(replies[1]);
        const found = runCli(
          [
            'tsa',
            'archive',
            'find',
            '--store',
            db.url,
            '--serial',
            serials[0]!.toString(),
            '--json',
          ],
          { cwd },
        );
        expect(found.code, found.stderr).toBe(0);
        expect(JSON.parse(found.stdout)).toMatchObject({
          responses: [{ node: chain, seq: 1, serial: serials[0]!.toString() }],
        });

        // No node may append to the imported chain.
        await expect(
          PostgresArchive.open({ url: db.url, node: chain, checkpointIntervalMs: 0 }),
        ).rejects.toThrow(/imported from a SQLite archive and is closed/);

        // Served from the database afterwards: a larger serial, a chain of its own.
        const after = await serveAndStamp(
          cwd,
          ['serve', '--port', '0', '--store', db.url],
          [timeStampQuery({ digest: sha256('after the migration') })],
        );
        expect(granted(after[0]!)).toBeGreaterThan(max);
        const all = archiveVerify(cwd, ['--store', db.url]);
        expect(all.code, JSON.stringify(all.report)).toBe(0);
        expect(all.report.entries).toBe(5);
        expect(all.report.chains?.find((c) => c.node === chain)).toMatchObject({ ok: true, head });
        // The node's checkpoint at shutdown signed the imported head too.
        const cps = await sql<{ body: string }>(
          db.url,
          'SELECT body FROM attestamp_tsa.checkpoints',
        );
        const heads = cps.flatMap(
          (c) => (JSON.parse(c.body) as { heads: { node: string; hash: string }[] }).heads,
        );
        expect(heads).toContainEqual({ node: chain, seq: 4, hash: head });

        // An edited imported row: verify names it.
        await sql(
          db.url,
          "UPDATE attestamp_tsa.responses SET unit = 'other' WHERE node = $1 AND seq = 2",
          [chain],
        );
        const edited = archiveVerify(cwd, ['--store', db.url]);
        expect(edited.code).toBe(4);
        expect(edited.report.firstBad).toEqual({
          node: chain,
          seq: 2,
          reason: 'entry content does not match its hash',
        });
      } finally {
        await db.drop();
      }
    },
    180_000,
  );

  it.skipIf(skip)(
    'refuses, before writing anything, an archive migrated there before or one that does not verify; a cut imported chain does not match its name',
    async () => {
      const { cwd, head } = await issuedFolder();
      const chain = `imported-${head.slice(0, 12)}`;
      const db = await freshDatabase();
      const broken = await freshDatabase();
      const hasStore = async (url: string): Promise<boolean> =>
        (
          await sql<{ t: string | null }>(
            url,
            "SELECT to_regclass('attestamp_hsm.meta')::text AS t",
          )
        )[0]?.t != null;
      try {
        const first = runCli(['store', 'migrate', '--to', db.url], { cwd });
        expect(first.code, first.stderr).toBe(0);
        expect(first.stdout).toContain(`archive: copied 4 entries and `);
        expect(first.stdout).toContain(`as chain ${chain}`);
        // The device store dropped, the archive kept: the archive refuses a second copy.
        await sql(db.url, 'DROP SCHEMA attestamp_hsm CASCADE');
        const again = runCli(['store', 'migrate', '--to', db.url], { cwd });
        expect(again.code).toBe(5);
        expect(again.stderr).toContain('[archive-exists]');
        expect(again.stderr).toContain(chain);
        expect(await hasStore(db.url)).toBe(false);

        // The imported chain cut by one entry, its recorded head moved back to match: with no
        // checkpoint yet, its name (the head it was imported with) gives it away.
        await sql(db.url, 'DELETE FROM attestamp_tsa.responses WHERE node = $1 AND seq = 4', [
          chain,
        ]);
        await sql(
          db.url,
          `UPDATE attestamp_tsa.chains SET head_seq = 3,
             head_hash = (SELECT hash FROM attestamp_tsa.responses WHERE node = $1 AND seq = 3)
           WHERE node = $1`,
          [chain],
        );
        const cut = archiveVerify(cwd, ['--store', db.url]);
        expect(cut.code).toBe(4);
        expect(cut.report.firstBad).toMatchObject({ node: chain, seq: 3 });
        expect(cut.report.firstBad?.reason).toMatch(/imported chain ends at a head that its name/);

        // A source archive that does not verify is not copied, nor is the device store.
        const file = new Database(join(cwd, 'data/tsa-archive.sqlite'));
        file.prepare("UPDATE responses SET unit = 'other' WHERE seq = 3").run();
        file.close();
        const bad = runCli(['store', 'migrate', '--to', broken.url], { cwd });
        expect(bad.code).toBe(4);
        expect(bad.stderr).toContain('[archive-integrity]');
        expect(await hasStore(broken.url)).toBe(false);
      } finally {
        await db.drop();
        await broken.drop();
      }
    },
    180_000,
  );

  it.skipIf(skip)(
    'from PostgreSQL into a SQLite file: the store is copied, the archive is not, and the report says why',
    async () => {
      const cwd = tempDir();
      const db = await freshDatabase();
      try {
        expect(runCli(['init', '--store', db.url], { cwd }).code).toBe(0);
        const r = runCli(['store', 'migrate', '--store', db.url, '--to', 'copy.sqlite', '--json'], {
          cwd,
        });
        expect(r.code, r.stderr).toBe(0);
        const report = JSON.parse(r.stdout) as Record<string, unknown>;
        expect(validate(schemaOf(readFileSync(SCHEMA, 'utf8')), report)).toEqual([]);
        expect(report).toMatchObject({
          to: 'sqlite',
          archive: { copied: false, reason: 'no-sqlite-form' },
        });
        const text = runCli(['store', 'migrate', '--store', db.url, '--to', 'other.sqlite'], {
          cwd,
        });
        expect(text.code, text.stderr).toBe(0);
        expect(text.stdout).toContain('archive: not copied: a PostgreSQL archive');
      } finally {
        await db.drop();
      }
    },
    120_000,
  );

  it('--store takes only a PostgreSQL URL, and never prints it back', () => {
    const cwd = tempDir();
    const r = runCli(['key', 'list', 'default', '--store', 'mysql://u:secret@h/db'], { cwd });
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('--store must be a postgres://');
    expect(r.stderr).not.toContain('secret');
  });
});

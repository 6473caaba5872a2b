// `attestamp store migrate`: an embedded store copied into PostgreSQL (and into a new SQLite
// file) keeps every partition, key and audit entry, verifies as extending the source's head,
// signs with the same keys, and refuses a destination that is not empty.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { freshDatabase, requirePostgres, sql } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';
import { validate, schemaOf } from '../helpers/json-schema.js';

const skip = requirePostgres();
const SCHEMA = join(import.meta.dirname, '../../schemas/cli/store-migrate.schema.json');

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
          governance: 0,
          sourceHead: head,
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
      /copied 1 partitions, 3 keys, 1 officers, 0 governance objects, \d+ audit entries/,
    );
    expect(runCli(['store', 'migrate', '--to', 'copy.sqlite'], { cwd }).code).toBe(5);
    const none = runCli(['store', 'migrate'], { cwd });
    expect(none.code).toBe(64);
    expect(none.stderr).toContain('--to');
  }, 60_000);

  it('--store takes only a PostgreSQL URL, and never prints it back', () => {
    const cwd = tempDir();
    const r = runCli(['key', 'list', 'default', '--store', 'mysql://u:secret@h/db'], { cwd });
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('--store must be a postgres://');
    expect(r.stderr).not.toContain('secret');
  });
});

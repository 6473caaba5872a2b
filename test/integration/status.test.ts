// `attestamp status` names the store that holds the device: SQLite with its file's path, or
// PostgreSQL with its URL, the password taken out, in the text and in the --json document.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { schemaOf, validate } from '../helpers/json-schema.js';
import { freshDatabase, requirePostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';

const SCHEMA = schemaOf(
  readFileSync(resolve(import.meta.dirname, '../../schemas/cli/status.schema.json'), 'utf8'),
);
const SECRET = 'pw-Status-never-shown';

function status(args: string[], cwd: string): { text: string; doc: Record<string, unknown> } {
  const text = runCli(['status', ...args], { cwd });
  expect(text.code, text.stderr).toBe(0);
  const json = runCli(['status', ...args, '--json'], { cwd });
  expect(json.code, json.stderr).toBe(0);
  const doc = JSON.parse(json.stdout) as Record<string, unknown>;
  expect(validate(SCHEMA, doc)).toEqual([]);
  return { text: text.stdout, doc };
}

describe('attestamp status names its store', () => {
  it('SQLite: the store file', () => {
    const cwd = tempDir();
    expect(runCli(['init'], { cwd }).code).toBe(0);
    const path = join(cwd, 'data', 'attestamp.sqlite');
    const { text, doc } = status([], cwd);
    expect(text).toContain(`store:        SQLite ${path}\n`);
    expect(doc.store).toEqual({ dialect: 'sqlite', location: path });
  });

  it.skipIf(requirePostgres())('PostgreSQL: the URL without its password', async () => {
    const db = await freshDatabase();
    try {
      const cwd = tempDir();
      const url = new URL(db.url);
      url.username = url.username === '' ? 'postgres' : url.username;
      // The test server trusts its loopback clients: the password is accepted and never needed.
      url.password = SECRET;
      url.searchParams.set('schema', 'node_a');
      const withSecret = url.toString();
      expect(runCli(['init', '--store', withSecret], { cwd }).code).toBe(0);
      const { text, doc } = status(['--store', withSecret], cwd);
      url.password = '';
      const shown = url.toString();
      expect(shown).not.toContain(SECRET);
      expect(text).toContain(`store:        PostgreSQL ${shown}\n`);
      expect(doc.store).toEqual({ dialect: 'postgres', location: shown });
      expect(text + JSON.stringify(doc)).not.toContain(SECRET);
    } finally {
      await db.drop();
    }
  });

  it('the schema refuses a status without its store, or with another dialect', () => {
    const cwd = tempDir();
    expect(runCli(['init'], { cwd }).code).toBe(0);
    const { doc } = status([], cwd);
    const without = { ...doc };
    delete without.store;
    expect(validate(SCHEMA, without)).not.toEqual([]);
    expect(validate(SCHEMA, { ...doc, store: { dialect: 'mysql', location: 'x' } })).not.toEqual(
      [],
    );
  });
});

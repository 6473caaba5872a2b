// Exactly-once execution of an approved request through the operator CLI: two `attestamp approvals
// execute` processes started together on the same request, on the SQLite store and on PostgreSQL;
// one executes, the other is refused (request-closed, or store-busy and then request-closed), the
// audit log holds one approval.execute per request and the role is granted once.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, runCliAsync, type CliResult } from '../helpers/cli.js';
import { schemaOf, validate } from '../helpers/json-schema.js';
import { freshDatabase, requirePostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';

const SCHEMAS = resolve(import.meta.dirname, '../../schemas/cli');
const skip = requireTool('openssl');
const skipPostgres = skip || requirePostgres();

/** The officers granted a role by a guarded request, one race each. */
const GRANTEES = ['alice', 'bob', 'carol'] as const;

const RULE_2_OF_3 = {
  alternatives: [
    { groups: [{ name: 'officers', members: ['alice', 'bob', 'carol'], threshold: 2 }] },
  ],
  timeoutSeconds: 86400,
};

interface RequestDoc {
  id: string;
  state: string;
}

interface ErrorDoc {
  error: { code: string; details?: Record<string, unknown> };
  exitCode: number;
}

interface AuditEntry {
  action: string;
  outcome: string;
  details: Record<string, unknown> | null;
}

/** A device store for the CLI: its working folder and the options that select it. */
interface Device {
  readonly cwd: string;
  readonly store: readonly string[];
  env: Record<string, string>;
}

function checkSchema(schema: string, doc: unknown, what: string): void {
  const errors = validate(
    schemaOf(readFileSync(join(SCHEMAS, `${schema}.schema.json`), 'utf8')),
    doc,
  );
  expect(errors, `${schema}: ${what}`).toEqual([]);
}

function cli(d: Device, args: readonly string[]): CliResult {
  return runCli([...args, ...d.store], { cwd: d.cwd, env: d.env });
}

/** Runs with --json, checks the exit code and the document against its schema, returns it. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the document's shape
function json<T>(d: Device, args: readonly string[], code: number, schema: string): T {
  const r = cli(d, [...args, '--json']);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(code);
  const doc: unknown = JSON.parse(r.stdout);
  checkSchema(schema, doc, args.join(' '));
  return doc as T;
}

function openssl(cwd: string, args: readonly string[]): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

/** An Ed25519 signature by `who`'s key over the file `file`, written to `out`. */
function sign(cwd: string, who: string, file: string, out: string): void {
  openssl(cwd, ['pkeyutl', '-sign', '-rawin', '-inkey', `${who}.pem`, '-in', file, '-out', out]);
}

/**
 * Initialises the store, enrols alice, bob and carol, enrols approver keys for alice and bob
 * (proved with openssl over the key-challenge bytes) and sets the 2-of-3 rule on officers.change.
 * Returns the approver key fingerprints by name.
 */
function setUp(d: Device): Record<string, string> {
  const init = cli(d, ['init']);
  expect(init.code, init.stderr).toBe(0);
  d.env = {
    ATTESTAMP_OFFICER_PASSPHRASE: readFileSync(
      join(d.cwd, 'data/officer.passphrase'),
      'utf8',
    ).trim(),
  };
  for (const who of GRANTEES) {
    writeFileSync(join(d.cwd, `${who}.pass`), `passphrase of ${who}\n`);
    json(d, ['officer', 'add', who, '--passphrase-file', `${who}.pass`], 0, 'officer-add');
  }
  const fingerprints: Record<string, string> = {};
  for (const who of ['alice', 'bob']) {
    openssl(d.cwd, ['genpkey', '-algorithm', 'ed25519', '-out', `${who}.pem`]);
    openssl(d.cwd, ['pkey', '-in', `${who}.pem`, '-pubout', '-out', `${who}.pub.pem`]);
    json(
      d,
      ['officer', 'key-challenge', who, '--key', `${who}.pub.pem`, '--out', `${who}.challenge`],
      0,
      'officer-key-challenge',
    );
    sign(d.cwd, who, `${who}.challenge`, `${who}.proof`);
    const key = json<{ fingerprint: string }>(
      d,
      ['officer', 'enroll-key', who, '--key', `${who}.pub.pem`, '--proof', `${who}.proof`],
      0,
      'approver-key',
    );
    fingerprints[who] = key.fingerprint;
  }
  writeFileSync(join(d.cwd, 'rule.json'), JSON.stringify(RULE_2_OF_3));
  json(d, ['quorum', 'set', 'officers.change', '--rule', 'rule.json'], 0, 'quorum-set');
  return fingerprints;
}

/**
 * A device-role grant made into a request (exit 7) and approved by two of the three: alice with
 * openssl over the bytes `approvals show --bytes` wrote, bob with `approvals sign`.
 */
function approvedGrant(d: Device, grantee: string, fingerprints: Record<string, string>): string {
  const made = json<ErrorDoc>(d, ['officer', 'grant', grantee, 'auditor'], 7, 'error');
  expect(made.error.code).toBe('approval-required');
  const id = String(made.error.details?.request);
  const bytes = `${id}-alice.bin`;
  json(
    d,
    [
      'approvals',
      'show',
      id,
      '--bytes',
      'approve',
      '--approver-key',
      fingerprints.alice!,
      '--out',
      bytes,
    ],
    0,
    'approvals-bytes',
  );
  sign(d.cwd, 'alice', bytes, `${bytes}.sig`);
  const byAlice = json<RequestDoc>(
    d,
    [
      'approvals',
      'submit',
      id,
      '--decision',
      'approve',
      '--approver-key',
      fingerprints.alice!,
      '--signature',
      `${bytes}.sig`,
    ],
    0,
    'approval-request',
  );
  expect(byAlice.state).toBe('pending');
  const byBob = json<RequestDoc>(
    d,
    ['approvals', 'sign', id, '--decision', 'approve', '--key', 'bob.pem'],
    0,
    'approval-request',
  );
  expect(byBob.state).toBe('approved');
  return id;
}

/** What one of the racing processes ended with: its exit code and its JSON document. */
interface Outcome {
  readonly code: number;
  readonly doc: RequestDoc | ErrorDoc;
  readonly stderr: string;
}

function outcome(r: CliResult, what: string): Outcome {
  let doc: unknown;
  try {
    doc = JSON.parse(r.stdout);
  } catch {
    throw new Error(`${what}: exit ${String(r.code)}, no JSON on stdout: ${r.stderr}`);
  }
  checkSchema(r.code === 0 ? 'approval-request' : 'error', doc, what);
  return { code: r.code, doc: doc as RequestDoc | ErrorDoc, stderr: r.stderr };
}

const errorCode = (o: Outcome): string | undefined =>
  'error' in o.doc ? o.doc.error.code : undefined;

/** Two execute processes started in the same turn; returns [winner, loser] or fails. */
async function race(d: Device, id: string): Promise<[Outcome, Outcome]> {
  const args = ['approvals', 'execute', id, '--json', ...d.store];
  const both = await Promise.all([
    runCliAsync(args, { cwd: d.cwd, env: d.env }),
    runCliAsync(args, { cwd: d.cwd, env: d.env }),
  ]);
  const [a, b] = both.map((r, i) => outcome(r, `execute #${String(i + 1)} of ${id}`)) as [
    Outcome,
    Outcome,
  ];
  const codes = `exit codes ${String(a.code)} and ${String(b.code)}: ${a.stderr} | ${b.stderr}`;
  expect(
    [a.code, b.code].filter((c) => c === 0),
    codes,
  ).toHaveLength(1);
  return a.code === 0 ? [a, b] : [b, a];
}

/** The entries of the audit log, from `attestamp audit export` (JSON lines). */
function auditEntries(d: Device): AuditEntry[] {
  const r = cli(d, ['audit', 'export']);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as AuditEntry);
}

async function raceThreeTimes(d: Device): Promise<void> {
  const fingerprints = setUp(d);
  const requests = new Map<string, string>();
  for (const grantee of GRANTEES) {
    const id = approvedGrant(d, grantee, fingerprints);
    requests.set(grantee, id);
    const [winner, loser] = await race(d, id);
    expect((winner.doc as RequestDoc).id).toBe(id);
    expect((winner.doc as RequestDoc).state).toBe('executed');
    if (loser.code === 75) {
      // The writer lock was held past the loser's wait: it did nothing, and now finds it closed.
      expect(errorCode(loser), loser.stderr).toBe('store-busy');
      const later = json<ErrorDoc>(d, ['approvals', 'execute', id], 2, 'error');
      expect(later.error.code).toBe('request-closed');
    } else {
      expect(loser.code, loser.stderr).toBe(2);
      expect(errorCode(loser)).toBe('request-closed');
      expect((loser.doc as ErrorDoc).error.details).toMatchObject({
        request: id,
        state: 'executed',
      });
    }
    expect(json<RequestDoc>(d, ['approvals', 'show', id], 0, 'approval-request').state).toBe(
      'executed',
    );
  }

  const entries = auditEntries(d);
  for (const [grantee, id] of requests) {
    const executions = entries.filter(
      (e) => e.action === 'approval.execute' && e.details?.request === id,
    );
    expect(executions, `approval.execute entries of ${id}`).toHaveLength(1);
    expect(executions[0]!.outcome).toBe('success');
    const grants = entries.filter(
      (e) =>
        e.action === 'role.grant' &&
        e.details?.principal === grantee &&
        e.details.role === 'auditor' &&
        e.details.scope === 'device',
    );
    // The guarded call that made the request is logged as the request; a loser that read the
    // request before the winner closed it is refused inside its transaction and logged as a
    // refused grant (one that read it after is refused before, unlogged): never a second success.
    expect(
      grants.filter((e) => e.outcome === 'success'),
      `granted to ${grantee}`,
    ).toHaveLength(1);
    const refused = grants.filter((e) => e.outcome !== 'success');
    expect(refused.length, `refused grants to ${grantee}`).toBeLessThanOrEqual(1);
    for (const e of refused) {
      expect(e).toMatchObject({ outcome: 'refused', details: { code: 'request-closed' } });
    }
  }
  expect(entries.filter((e) => e.action === 'approval.execute')).toHaveLength(GRANTEES.length);
  const verify = cli(d, ['audit', 'verify']);
  expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  expect(verify.stdout).toContain('audit log verified');
}

describe.skipIf(skip)('two processes race to execute one approved request', () => {
  const sqliteDir = tempDir('governance-race-');
  const postgresDir = tempDir('governance-race-pg-');

  it('on the SQLite store: one executes, the other is refused, the role granted once', async () => {
    await raceThreeTimes({ cwd: sqliteDir, store: [], env: {} });
  }, 150_000);

  it.skipIf(skipPostgres)(
    'on PostgreSQL: one executes, the other is refused, the role granted once',
    async () => {
      const db = await freshDatabase();
      try {
        await raceThreeTimes({
          cwd: postgresDir,
          store: ['--store', db.url],
          env: {},
        });
      } finally {
        await db.drop();
      }
    },
    150_000,
  );
});

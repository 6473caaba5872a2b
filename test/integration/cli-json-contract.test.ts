// The operator CLI's JSON contract: with --json each command prints exactly one JSON document,
// and that document is valid against the command's schema in schemas/cli (errors against
// error.schema.json). Real outputs of a real device, a real TSA and its archive.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { schemaOf, validate } from '../helpers/json-schema.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';
import { post, startTsa, type RunningTsa } from '../helpers/tsa.js';

const SCHEMAS = resolve(import.meta.dirname, '../../schemas/cli');
const skip = requireTool('openssl');

let cwd: string;
let tsa: RunningTsa;

/** Runs a command with --json: exactly one JSON document on standard output. */
function json(args: string[]): { code: number; doc: unknown } {
  const r = runCli([...args, '--json'], { cwd });
  const doc: unknown = JSON.parse(r.stdout);
  return { code: r.code, doc };
}

function expectValid(schema: string, doc: unknown): void {
  const errors = validate(
    schemaOf(readFileSync(join(SCHEMAS, `${schema}.schema.json`), 'utf8')),
    doc,
  );
  expect(errors, schema).toEqual([]);
}

describe.skipIf(skip)('operator CLI JSON documents match their schemas', () => {
  beforeAll(async () => {
    cwd = tempDir();
    const init = json(['init']);
    expect(init.code).toBe(0);
    expectValid('init', init.doc);
    tsa = await startTsa(cwd, ['serve', '--port', '0', '--archive-responses', 'full']);
    writeFileSync(join(cwd, 'doc.txt'), 'json contract\n');
    writeFileSync(join(cwd, 'no-rules.json'), '{}');
    execFileSync(
      'openssl',
      ['ts', '-query', '-data', 'doc.txt', '-sha256', '-cert', '-out', 'q.tsq'],
      {
        cwd,
        stdio: 'pipe',
      },
    );
    expect((await post(tsa.url, readFileSync(join(cwd, 'q.tsq')))).status).toBe(200);
  });

  afterAll(async () => {
    await tsa.stop();
  });

  const cases: [string, string[], number][] = [
    ['status', ['status'], 0],
    ['partition-list', ['partition', 'list'], 0],
    ['partition-show', ['partition', 'show', 'default'], 0],
    ['key-show', ['key', 'generate', 'default', '--label', 'k1', '--algorithm', 'ed25519'], 0],
    ['key-list', ['key', 'list', 'default'], 0],
    ['key-show', ['key', 'show', 'default', 'k1'], 0],
    ['key-sign', ['key', 'sign', 'default', 'k1', '--in', 'doc.txt', '--out', 'k1.sig'], 0],
    [
      'key-verify',
      ['key', 'verify', 'default', 'k1', '--in', 'doc.txt', '--signature', 'k1.sig'],
      0,
    ],
    ['key-verify', ['key', 'verify', 'default', 'k1', '--in', 'q.tsq', '--signature', 'k1.sig'], 8],
    ['key-show', ['key', 'block', 'default', 'k1'], 0],
    ['error', ['key', 'sign', 'default', 'k1', '--in', 'doc.txt', '--out', 'k2.sig'], 2],
    ['key-show', ['key', 'unblock', 'default', 'k1'], 0],
    [
      'key-show',
      ['key', 'generate', 'default', '--label', 'k3', '--algorithm', 'ed25519', '--modifiable'],
      0,
    ],
    ['key-show', ['key', 'policy', 'default', 'k3', '--set', 'no-rules.json'], 0],
    ['key-show', ['key', 'policy', 'default', 'k3', '--clear'], 0],
    ['error', ['key', 'policy', 'default', 'k1', '--clear'], 2],
    ['chain', ['chain', 'default', '--out', 'chain'], 0],
    ['key-public', ['key', 'public', 'default', 'k1', '--format', 'jwk'], 0],
    ['key-public', ['key', 'public', 'default', 'k1', '--format', 'pem'], 0],
    ['key-attest', ['key', 'attest', 'default', 'k1'], 0],
    ['key-attest', ['key', 'attest', 'default', 'k1', '--format', 'certificate', '--chain'], 0],
    ['crl-issue', ['crl', 'issue', '--by', 'device', '--out', 'device.crl'], 0],
    ['partition-show', ['partition', 'create', 'p2'], 0],
    [
      'partition-revoke',
      ['partition', 'revoke', 'p2', '--officer-passphrase-file', 'data/officer.passphrase'],
      0,
    ],
    ['transport-key', ['device', 'transport-key', 'create', '--algorithm', 'ecdh-p256'], 0],
    ['transport-key-list', ['device', 'transport-key', 'list'], 0],
    ['error', ['device', 'transport-key', 'certificate', 'nope', '--out', 'nope.pem'], 2],
    ['audit-verify', ['audit', 'verify'], 0],
    ['audit-head', ['audit', 'head'], 0],
    ['archive-verify', ['tsa', 'archive', 'verify'], 0],
    ['archive-find', ['tsa', 'archive', 'find', '--serial', '1'], 0],
    ['archive-find', ['tsa', 'archive', 'find', '--serial', '999999'], 3],
    ['archive-get', ['tsa', 'archive', 'get', '--serial', '1', '--out', 'one.tsr'], 0],
    ['quorum-show', ['quorum', 'show'], 0],
    ['quorum-show', ['quorum', 'show', 'key.export', '--partition', 'default'], 0],
    ['approvals-list', ['approvals', 'list'], 0],
    ['officer-keys', ['officer', 'keys'], 0],
    ['officer-list', ['officer', 'list'], 0],
    ['officer-list', ['officer', 'list', '--partition', 'default'], 0],
    ['error', ['approvals', 'show', 'no-such-request'], 3],
    ['error', ['key', 'show', 'default', 'nope'], 3],
    ['error', ['partition', 'show', 'nope'], 3],
    ['error', ['key', 'list', 'default', '--colour'], 64],
    ['error', ['tsa', 'archive', 'get', '--serial', '999999', '--out', 'x.tsr'], 3],
    ['error', ['--data', 'nowhere', 'tsa', 'archive', 'verify'], 3],
  ];
  for (const [schema, args, code] of cases) {
    it(`${args.join(' ')} --json: ${schema} (exit ${String(code)})`, () => {
      const r = json(args);
      expect(r.code).toBe(code);
      expectValid(schema, r.doc);
    });
  }

  it('stamp --json matches its schema, verified and refused', () => {
    expect(runCli(['chain', 'default', '--out', 'chain2'], { cwd }).code).toBe(0);
    const ok = json([
      'stamp',
      'doc.txt',
      '--tsa',
      tsa.url,
      '--verify',
      '--anchor',
      'chain2/root.pem',
    ]);
    expect(ok.code).toBe(0);
    expectValid('stamp', ok.doc);
    const refused = json(['stamp', 'doc.txt', '--tsa', tsa.url, '--policy', '1.2.3']);
    expect(refused.code).toBe(2);
    expectValid('stamp', refused.doc);
  });

  it('transport key certificate, backup to it and restore --json match their schemas', () => {
    const created = json(['device', 'transport-key', 'create']);
    expect(created.code).toBe(0);
    expectValid('transport-key', created.doc);
    const id = (created.doc as { id: string }).id;
    const cert = json(['device', 'transport-key', 'certificate', id, '--out', 'transport.pem']);
    expect(cert.code).toBe(0);
    expectValid('transport-key-certificate', cert.doc);
    const backup = json([
      'partition',
      'backup',
      'default',
      '--transport-cert',
      'transport.pem',
      '--out',
      'default.bundle',
    ]);
    expect(backup.code).toBe(0);
    expectValid('partition-backup', backup.doc);
    const restored = json(['partition', 'restore', 'default.bundle', '--name', 'restored']);
    expect(restored.code).toBe(0);
    expectValid('partition-restore', restored.doc);
  });

  it('the schemas reject a document that breaks them (the check can fail)', () => {
    const schema = schemaOf(readFileSync(join(SCHEMAS, 'audit-head.schema.json'), 'utf8'));
    expect(validate(schema, { seq: 1, hash: 'ab', head: '1:ab' })).not.toEqual([]);
    expect(
      validate(schema, { seq: 1, hash: 'a'.repeat(64), head: `1:${'a'.repeat(64)}`, extra: 1 }),
    ).not.toEqual([]);
  });
});

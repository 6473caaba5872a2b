// Governance through the operator CLI, as a subprocess with OpenSSL as the approvers' only tool:
// officers enrolled, approver keys proved with signatures over the key-challenge bytes, a quorum
// rule set, a guarded change made into a request (exit 7), approvals signed over the bytes
// `approvals show --bytes` wrote (P-256, Ed25519, RSA-PSS 3072), execution, and the refusals.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { OPERATION_CLASSES } from '../../src/hsm/index.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { schemaOf, validate } from '../helpers/json-schema.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';
import { runVerify } from '../helpers/verify.js';

const SCHEMAS = resolve(import.meta.dirname, '../../schemas/cli');
const skip = requireTool('openssl');

let cwd: string;
let env: Record<string, string>;

const cli = (args: string[], input?: string): CliResult =>
  runCli(args, { cwd, env, ...(input === undefined ? {} : { input }) });

/** Runs with --json, checks the exit code and the document against its schema, returns it. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the document's shape
function json<T = Record<string, unknown>>(args: string[], code: number, schema: string): T {
  const r = cli([...args, '--json']);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(code);
  const doc: unknown = JSON.parse(r.stdout);
  const errors = validate(
    schemaOf(readFileSync(join(SCHEMAS, `${schema}.schema.json`), 'utf8')),
    doc,
  );
  expect(errors, `${schema}: ${args.join(' ')}`).toEqual([]);
  return doc as T;
}

function openssl(args: readonly string[]): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

/** How each approver's key signs a file of bytes with plain OpenSSL. */
const SIGN: Readonly<Record<string, (file: string, out: string) => string[]>> = {
  alice: (f, o) => ['dgst', '-sha256', '-sign', 'alice.pem', '-out', o, f],
  bob: (f, o) => ['pkeyutl', '-sign', '-rawin', '-inkey', 'bob.pem', '-in', f, '-out', o],
  carol: (f, o) => [
    'dgst',
    '-sha256',
    '-sigopt',
    'rsa_padding_mode:pss',
    '-sign',
    'carol.pem',
    '-out',
    o,
    f,
  ],
};

const fingerprints: Record<string, string> = {};

interface RequestDoc {
  id: string;
  state: string;
  statementVerified: boolean;
  statement: { operation: string; params: Record<string, unknown>; requester: string };
  approvals: { principal: string; decision: string }[];
}

interface ErrorDoc {
  error: { code: string; details?: Record<string, unknown> };
  exitCode: number;
}

/** The approver signs the bytes `approvals show --bytes` wrote, and submits the signature. */
function approveWithOpenssl(id: string, who: string, decision = 'approve'): RequestDoc {
  const bytesFile = `${id}-${who}-${decision}.bin`;
  const sigFile = `${bytesFile}.sig`;
  const shown = json<{ out: string; length: number }>(
    [
      'approvals',
      'show',
      id,
      '--bytes',
      decision,
      '--approver-key',
      fingerprints[who]!,
      '--out',
      bytesFile,
    ],
    0,
    'approvals-bytes',
  );
  expect(readFileSync(join(cwd, bytesFile)).length).toBe(shown.length);
  openssl(SIGN[who]!(bytesFile, sigFile));
  return json<RequestDoc>(
    [
      'approvals',
      'submit',
      id,
      '--decision',
      decision,
      '--approver-key',
      fingerprints[who]!,
      '--signature',
      sigFile,
    ],
    0,
    'approval-request',
  );
}

const RULE_2_OF_3 = {
  alternatives: [
    { groups: [{ name: 'officers', members: ['alice', 'bob', 'carol'], threshold: 2 }] },
  ],
  timeoutSeconds: 86400,
};

describe.skipIf(skip)('governance through the CLI, approvers signing with openssl', () => {
  beforeAll(() => {
    cwd = tempDir('governance-cli');
    env = {};
    expect(cli(['init']).code).toBe(0);
    env = {
      ATTESTAMP_OFFICER_PASSPHRASE: readFileSync(
        join(cwd, 'data/officer.passphrase'),
        'utf8',
      ).trim(),
    };
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'alice.pem']);
    openssl(['genpkey', '-algorithm', 'ed25519', '-out', 'bob.pem']);
    openssl([
      'genpkey',
      '-algorithm',
      'rsa',
      '-pkeyopt',
      'rsa_keygen_bits:3072',
      '-out',
      'carol.pem',
    ]);
    for (const who of ['alice', 'bob', 'carol']) {
      openssl(['pkey', '-in', `${who}.pem`, '-pubout', '-out', `${who}.pub.pem`]);
      writeFileSync(join(cwd, `${who}.pass`), `passphrase of ${who}\n`);
    }
  }, 180_000);

  it('enrols officers with a passphrase from a file or standard input, never argv', () => {
    const added = json<{ officer: string; roles: unknown[] }>(
      ['officer', 'add', 'alice', '--role', 'device-so', '--passphrase-file', 'alice.pass'],
      0,
      'officer-add',
    );
    expect(added).toEqual({ officer: 'alice', roles: [{ role: 'device-so', partition: null }] });
    const bob = cli(
      [
        'officer',
        'add',
        'bob',
        '--role',
        'auditor',
        '--role',
        'pso@default',
        '--passphrase-file',
        '-',
      ],
      'passphrase of bob\n',
    );
    expect(bob.code, bob.stderr).toBe(0);
    expect(bob.stdout).toContain('officer bob enrolled with auditor, pso@default');
    expect(cli(['officer', 'add', 'carol', '--passphrase-file', 'carol.pass']).code).toBe(0);
    const missing = cli(['officer', 'add', 'dave']);
    expect(missing.code).toBe(64);
    expect(missing.stderr).toContain('missing --passphrase-file');
    const badRole = cli([
      'officer',
      'add',
      'dave',
      '--role',
      'root',
      '--passphrase-file',
      'alice.pass',
    ]);
    expect(badRole.code).toBe(64);
    expect(badRole.stderr).toContain("unknown role 'root'");
  });

  it('enrols approver keys with a proof made by openssl over the key-challenge bytes', () => {
    for (const who of ['alice', 'bob', 'carol']) {
      const challenge = json<{ fingerprint: string; out: string }>(
        ['officer', 'key-challenge', who, '--key', `${who}.pub.pem`, '--out', `${who}.challenge`],
        0,
        'officer-key-challenge',
      );
      expect(readFileSync(challenge.out).toString('latin1')).toContain(
        'attestamp approver enrollment v1\0',
      );
      openssl(SIGN[who]!(`${who}.challenge`, `${who}.proof`));
      // bob enrols his own key with his own session; the others by the device SO.
      const self =
        who === 'bob' ? ['--officer', 'bob', '--officer-passphrase-file', 'bob.pass'] : [];
      const key = json<{ fingerprint: string; principal: string; state: string }>(
        [
          'officer',
          'enroll-key',
          who,
          '--key',
          `${who}.pub.pem`,
          '--proof',
          `${who}.proof`,
          ...self,
        ],
        0,
        'approver-key',
      );
      expect(key.fingerprint).toBe(challenge.fingerprint);
      expect(key.principal).toBe(who);
      expect(key.state).toBe('active');
      fingerprints[who] = key.fingerprint;
    }
    const keys = json<{ principal: string; algorithm: string }[]>(
      ['officer', 'keys'],
      0,
      'officer-keys',
    );
    expect(keys.map((k) => `${k.principal}:${k.algorithm}`).sort()).toEqual([
      'alice:ecdsa-p256-sha256',
      'bob:ed25519',
      'carol:rsa-pss-sha256',
    ]);
    expect(json<unknown[]>(['officer', 'keys', 'bob'], 0, 'officer-keys')).toHaveLength(1);
    // officer list: each principal with its roles and usable approver keys, from the store.
    const officers = json<{ name: string; roles: unknown[]; approverKeys: number }[]>(
      ['officer', 'list'],
      0,
      'officer-list',
    );
    expect(officers.find((o) => o.name === 'bob')).toMatchObject({
      type: 'officer',
      state: 'active',
      roles: [
        { role: 'auditor', partition: null },
        { role: 'pso', partition: 'default' },
      ],
      approverKeys: 1,
    });
    expect(officers.find((o) => o.name === 'carol')).toMatchObject({ roles: [], approverKeys: 1 });
    const inDefault = json<{ name: string }[]>(
      ['officer', 'list', '--partition', 'default'],
      0,
      'officer-list',
    );
    expect(inDefault.map((o) => o.name)).toEqual(['bob']);
    const text = cli(['officer', 'list']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('carol\tofficer\tactive\t-\t1 approver key\n');
    expect(text.stdout).toContain('bob\tofficer\tactive\tauditor,pso@default\t1 approver key\n');
    const none = json<ErrorDoc>(['officer', 'list', '--partition', 'nope'], 3, 'error');
    expect(none.error.code).toBe('partition-not-found');
  });

  it('refuses an enrolment proof that is not a signature over the challenge', () => {
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'eve.pem']);
    openssl(['pkey', '-in', 'eve.pem', '-pubout', '-out', 'eve.pub.pem']);
    const r = json<ErrorDoc>(
      ['officer', 'enroll-key', 'carol', '--key', 'eve.pub.pem', '--proof', 'alice.proof'],
      2,
      'error',
    );
    expect(r.error.code).toBe('approver-proof-invalid');
  });

  it('sets a 2-of-3 rule and shows it', () => {
    writeFileSync(join(cwd, 'rule.json'), JSON.stringify(RULE_2_OF_3));
    const set = json<{ version: number; operation: string }>(
      ['quorum', 'set', 'officers.change', '--rule', 'rule.json'],
      0,
      'quorum-set',
    );
    expect(set).toMatchObject({ operation: 'officers.change', version: 1 });
    const shown = json<{ rules: { operation: string; version: number; rule: unknown }[] }>(
      ['quorum', 'show'],
      0,
      'quorum-show',
    );
    expect(shown.rules.map((r) => r.operation)).toEqual([...OPERATION_CLASSES]);
    expect(shown.rules.find((r) => r.operation === 'officers.change')?.version).toBe(1);
    expect(shown.rules.find((r) => r.operation === 'key.export')?.rule).toBeNull();
    const text = cli(['quorum', 'show', 'officers.change']);
    expect(text.stdout).toContain('2 of alice, bob, carol (officers)');
    const bad = cli(['quorum', 'show', 'officers.changes']);
    expect(bad.code).toBe(64);
    writeFileSync(join(cwd, 'bad-rule.json'), JSON.stringify({ ...RULE_2_OF_3, extra: 1 }));
    const invalid = json<ErrorDoc>(
      ['quorum', 'set', 'key.export', '--rule', 'bad-rule.json'],
      65,
      'error',
    );
    expect(invalid.error.code).toBe('quorum-rule-invalid');
  });

  let requestId: string;

  it('a guarded change exits 7 with the request id and what to do next', () => {
    const r = cli(['officer', 'grant', 'carol', 'auditor']);
    expect(r.code).toBe(7);
    const id = /approval request ([0-9a-f-]{36}) is waiting/.exec(r.stderr)?.[1];
    expect(id, r.stderr).toBeDefined();
    expect(r.stderr).toContain(`attestamp approvals execute ${id!}`);
    const partitionGrant = json<{ change: string }>(
      ['officer', 'grant', 'carol', 'crypto-user', '--partition', 'default'],
      0,
      'officer-role',
    );
    expect(partitionGrant).toMatchObject({ change: 'grant' });
    requestId = id!;
    const list = json<{ id: string; state: string }[]>(['approvals', 'list'], 0, 'approvals-list');
    expect(list.find((x) => x.id === requestId)?.state).toBe('pending');
    const again = json<ErrorDoc>(['officer', 'grant', 'carol', 'auditor'], 7, 'error');
    expect(again.error.code).toBe('approval-required');
    expect(typeof again.error.details?.request).toBe('string');
    // The second request is not wanted: its requester cancels it.
    const cancelled = json<RequestDoc>(
      ['approvals', 'cancel', String(again.error.details?.request)],
      0,
      'approval-request',
    );
    expect(cancelled.state).toBe('cancelled');
  });

  it('shows the request as a person reads it, its statement signature verified', () => {
    const doc = json<RequestDoc>(['approvals', 'show', requestId], 0, 'approval-request');
    expect(doc.statementVerified).toBe(true);
    expect(doc.statement.operation).toBe('role.grant');
    expect(doc.statement.params).toEqual({ principal: 'carol', role: 'auditor', scope: 'device' });
    const text = cli(['approvals', 'show', requestId]).stdout;
    for (const part of [
      'operation:   role.grant',
      'principal: "carol"',
      'requester:   so',
      'device/officers.change version 1',
      '2 of alice, bob, carol',
      'state:       pending (officers.change needs 2 more approvals)',
      'signature verified',
      'approvals: none yet',
    ]) {
      expect(text).toContain(part);
    }
  });

  it('refuses a bad signature with exit 2 and approval-signature-invalid', () => {
    // alice's signature over the approve bytes, submitted for reject, and under bob's key.
    approveWithOpenssl(requestId, 'alice');
    const sig = `${requestId}-alice-approve.bin.sig`;
    const asReject = json<ErrorDoc>(
      [
        'approvals',
        'submit',
        requestId,
        '--decision',
        'reject',
        '--approver-key',
        fingerprints.carol!,
        '--signature',
        sig,
      ],
      2,
      'error',
    );
    expect(asReject.error.code).toBe('approval-signature-invalid');
    const otherKey = cli([
      'approvals',
      'submit',
      requestId,
      '--decision',
      'approve',
      '--approver-key',
      fingerprints.bob!,
      '--signature',
      sig,
    ]);
    expect(otherKey.code).toBe(2);
    expect(otherKey.stderr).toContain('approval-signature-invalid');
  });

  it('executes once the rule is met: P-256, Ed25519 and RSA-PSS approvals by openssl', () => {
    const early = json<ErrorDoc>(['approvals', 'execute', requestId], 7, 'error');
    expect(early.error.code).toBe('request-not-approved');
    const afterBob = approveWithOpenssl(requestId, 'bob');
    expect(afterBob.state).toBe('approved');
    const afterCarol = approveWithOpenssl(requestId, 'carol');
    expect(afterCarol.approvals.map((a) => a.principal).sort()).toEqual(['alice', 'bob', 'carol']);
    const executed = json<RequestDoc>(['approvals', 'execute', requestId], 0, 'approval-request');
    expect(executed.state).toBe('executed');
    expect(json<RequestDoc>(['approvals', 'show', requestId], 0, 'approval-request').state).toBe(
      'executed',
    );
    const twice = json<ErrorDoc>(['approvals', 'execute', requestId], 2, 'error');
    expect(twice.error.code).toBe('request-closed');
  });

  it('signs with a PEM key file through approvals sign; a reject vetoes', () => {
    const r = json<ErrorDoc>(['officer', 'revoke', 'carol', 'auditor'], 7, 'error');
    const id = String(r.error.details?.request);
    const signed = json<RequestDoc>(
      ['approvals', 'sign', id, '--decision', 'approve', '--key', 'carol.pem'],
      0,
      'approval-request',
    );
    expect(signed.approvals).toEqual([
      expect.objectContaining({ principal: 'carol', decision: 'approve' }),
    ]);
    const rejected = json<RequestDoc>(
      ['approvals', 'sign', id, '--decision', 'reject', '--key', 'bob.pem'],
      0,
      'approval-request',
    );
    expect(rejected.state).toBe('rejected');
    const refused = json<ErrorDoc>(['approvals', 'execute', id], 2, 'error');
    expect(refused.error.code).toBe('request-rejected');
  });

  it('excludes the device SO from a partition and includes it again (a PSO decision)', () => {
    const pso = ['--officer', 'bob', '--officer-passphrase-file', 'bob.pass'];
    expect(json(['partition', 'exclude-so', 'default', ...pso], 0, 'partition-so')).toEqual({
      partition: 'default',
      soExcluded: true,
    });
    const bySo = json<ErrorDoc>(['partition', 'include-so', 'default'], 2, 'error');
    expect(bySo.error.code).toBe('role-required');
    expect(json(['partition', 'include-so', 'default', ...pso], 0, 'partition-so')).toEqual({
      partition: 'default',
      soExcluded: false,
    });
  });

  it('a key under its own use rule signs only through a request approved with openssl', () => {
    writeFileSync(join(cwd, 'key-policy.json'), JSON.stringify({ use: RULE_2_OF_3 }));
    writeFileSync(join(cwd, 'release.txt'), 'release 1.0\n');
    const key = json<{ attributes: { policy: { version: number; use: unknown } } }>(
      [
        'key',
        'generate',
        'default',
        '--label',
        'release',
        '--algorithm',
        'ecdsa-p256',
        '--policy',
        'key-policy.json',
      ],
      0,
      'key-show',
    );
    expect(key.attributes.policy.version).toBe(1);
    expect(cli(['key', 'show', 'default', 'release']).stdout).toContain(
      'approval policy:    version 1; use: 2 of alice,bob,carol within 86400s',
    );
    const made = json<ErrorDoc>(
      ['key', 'sign', 'default', 'release', '--in', 'release.txt', '--out', 'release.sig'],
      7,
      'error',
    );
    expect(made.error.code).toBe('approval-required');
    const id = String(made.error.details?.request);
    const shown = json<RequestDoc>(['approvals', 'show', id], 0, 'approval-request');
    expect(shown.statement.operation).toBe('key.sign');
    expect(shown.statement.params['data']).toBe(Buffer.from('release 1.0\n').toString('hex'));
    expect(cli(['approvals', 'show', id]).stdout).toContain('data as text: "release 1.0\\n"');
    // Not approved yet: still waiting, nothing written.
    expect(cli(['key', 'sign', 'default', 'release', '--request', id, '--out', 'r.sig']).code).toBe(
      7,
    );
    expect(existsSync(join(cwd, 'r.sig'))).toBe(false);
    approveWithOpenssl(id, 'alice');
    approveWithOpenssl(id, 'carol');
    const done = json<{ request: string; bytes: number }>(
      ['key', 'sign', 'default', 'release', '--request', id, '--out', 'release.sig'],
      0,
      'key-sign',
    );
    expect(done.request).toBe(id);
    expect(cli(['key', 'public', 'default', 'release', '--out', 'release.pub.pem']).code).toBe(0);
    openssl([
      'dgst',
      '-sha256',
      '-verify',
      'release.pub.pem',
      '-signature',
      'release.sig',
      'release.txt',
    ]);
    const verified = json<{ valid: boolean }>(
      ['key', 'verify', 'default', 'release', '--in', 'release.txt', '--signature', 'release.sig'],
      0,
      'key-verify',
    );
    expect(verified.valid).toBe(true);
    // Exactly once.
    const again = json<ErrorDoc>(
      ['key', 'sign', 'default', 'release', '--request', id, '--out', 'again.sig'],
      2,
      'error',
    );
    expect(again.error.code).toBe('request-closed');
    // The policy is in the key's evidence, as the standalone verifier reports it.
    expect(cli(['key', 'attest', 'default', 'release', '--out', 'release.evidence']).code).toBe(0);
    expect(cli(['chain', 'default', '--out', 'policy-chain']).code).toBe(0);
    const report = runVerify(
      [
        'evidence',
        'release.evidence',
        '--anchor',
        'policy-chain/root.pem',
        '--allow-software',
        '--json',
      ],
      { cwd },
    );
    expect(report.code, report.stderr).toBe(0);
    const doc = JSON.parse(report.stdout) as { claims: { keys: { approvalPolicy?: string }[] } };
    const policy = JSON.parse(doc.claims.keys[0]?.approvalPolicy ?? 'null') as {
      use: { alternatives: { groups: { threshold: number }[] }[] };
    };
    expect(policy.use.alternatives[0]?.groups[0]?.threshold).toBe(2);
  });

  it('deletes a key with a policy only through an approved request (its use rule, lacking a modify rule)', () => {
    const made = json<ErrorDoc>(['key', 'delete', 'default', 'release'], 7, 'error');
    expect(made.error.code).toBe('approval-required');
    const id = String(made.error.details?.request);
    const shown = json<RequestDoc>(['approvals', 'show', id], 0, 'approval-request');
    expect(shown.statement.operation).toBe('key.delete');
    expect(
      json<{ state: string }>(['key', 'show', 'default', 'release'], 0, 'key-show').state,
    ).toBe('active');
    approveWithOpenssl(id, 'alice');
    approveWithOpenssl(id, 'bob');
    const executed = json<RequestDoc>(['approvals', 'execute', id], 0, 'approval-request');
    expect(executed.state).toBe('executed');
    expect(
      json<{ state: string }>(['key', 'show', 'default', 'release'], 0, 'key-show').state,
    ).toBe('invalidated');
  });

  it('revokes an approver key', () => {
    const key = json<{ state: string }>(
      [
        'officer',
        'revoke-key',
        fingerprints.alice!,
        '--officer',
        'alice',
        '--officer-passphrase-file',
        'alice.pass',
      ],
      0,
      'approver-key',
    );
    expect(key.state).toBe('revoked');
  });

  it('every new command has --help with its flow', () => {
    for (const path of [
      ['officer', 'add'],
      ['officer', 'key-challenge'],
      ['quorum', 'set'],
      ['approvals', 'show'],
      ['partition', 'exclude-so'],
    ]) {
      const r = cli([...path, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: attestamp ${path.join(' ')}`);
    }
    expect(cli(['approvals', 'show', '--help']).stdout).toContain(
      'openssl dgst -sha256 -sign key.pem -out sig.der FILE',
    );
    expect(cli(['officer', 'keys', '--help']).stdout).toContain(
      'attestamp officer keys [PRINCIPAL]',
    );
  });
});

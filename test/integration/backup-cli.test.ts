// Backup and restore through the operator CLI, between two devices of one factory (each its own
// data folder, store and master key): domain enrolment in three steps, partition backup, backup
// inspect (against the device's root and an explicit anchor), restore, and the refusals' exit
// codes (a flipped byte, an older serial), and a backup under a quorum rule downloaded from its
// executed request.
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runMain } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

let cwd: string;

const on = (data: string, args: readonly string[]) => runMain([...args, '--data', data], { cwd });

/** Runs and expects success, showing stderr when it fails. */
async function ok(data: string, args: readonly string[]): Promise<string> {
  const r = await on(data, args);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

describe('backup and restore through the CLI', () => {
  beforeAll(async () => {
    cwd = tempDir('backup-cli');
    await ok('a', ['init']);
    await ok('b', ['init', '--factory', 'a-factory']);
    await ok('a', ['domain', 'create', 'vault']);
    await ok('b', ['domain', 'join-request', 'vault', '--out', 'req.bin']);
    await ok('a', ['domain', 'enrol', 'vault', 'req.bin', '--out', 'enr.bin']);
    const joined = await ok('b', ['domain', 'join', 'enr.bin', '--json']);
    expect(JSON.parse(joined)).toMatchObject({ name: 'vault', origin: 'enrolled' });
    await ok('a', ['key', 'generate', 'default', '--label', 'k1', '--algorithm', 'ecdsa-p256']);
  }, 120_000);

  it('backs up, inspects without opening, and restores on the other device', async () => {
    const b1 = await on('a', [
      'partition',
      'backup',
      'default',
      '--domain',
      'vault',
      '--out',
      'one.bundle',
      '--json',
    ]);
    expect(b1.code, b1.stderr).toBe(0);
    expect(JSON.parse(b1.stdout)).toMatchObject({ serial: 1, keys: 3 });
    const inspected = await on('b', ['backup', 'inspect', 'one.bundle', '--json']);
    expect(inspected.code, inspected.stderr).toBe(0);
    const report = JSON.parse(inspected.stdout) as {
      outcome: string;
      claims: { manifest: { keys: { label: string }[] } };
    };
    expect(report.outcome).toBe('verified');
    expect(report.claims.manifest.keys.map((k) => k.label)).toContain('k1');
    const withAnchor = await on('b', [
      'backup',
      'inspect',
      'one.bundle',
      '--anchor',
      'a-factory/root.pem',
    ]);
    expect(withAnchor.code, withAnchor.stderr).toBe(0);
    const restored = await on('b', [
      'partition',
      'restore',
      'one.bundle',
      '--name',
      'copy',
      '--json',
    ]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({ partition: 'copy', serial: 1, keys: 3 });
    const keys = await on('b', ['key', 'list', 'copy', '--json']);
    expect(keys.stdout).toContain('k1');
  });

  it('attestamp-verify backup checks the bundle against the root, and refuses a flipped byte', async () => {
    const { verifyMain } = await import('../../src/cli/verify.js');
    const run = async (args: readonly string[]) => {
      let stdout = '';
      const code = await verifyMain(args, {
        stdout: (t: string) => (stdout += t),
        stderr: () => undefined,
        now: () => new Date(),
      });
      return { code, stdout };
    };
    const good = await run([
      'backup',
      join(cwd, 'one.bundle'),
      '--anchor',
      join(cwd, 'a-factory/root.pem'),
      '--json',
    ]);
    expect(good.code).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ outcome: 'verified' });
    const noAnchor = await run(['backup', join(cwd, 'one.bundle')]);
    expect(noAnchor.code).not.toBe(0);
  });

  it('a flipped byte and an older serial are refused with their exit codes', async () => {
    const bytes = readFileSync(join(cwd, 'one.bundle'));
    bytes[bytes.length - 3]! ^= 0x01;
    writeFileSync(join(cwd, 'bad.bundle'), bytes);
    const bad = await on('b', ['partition', 'restore', 'bad.bundle', '--name', 'bad']);
    expect(bad.code).toBe(65);
    expect(bad.stderr).toMatch(/does not verify/);
    expect((await on('b', ['backup', 'inspect', 'bad.bundle'])).code).toBe(4);
    expect(
      (
        await on('a', [
          'partition',
          'backup',
          'default',
          '--domain',
          'vault',
          '--out',
          'two.bundle',
        ])
      ).code,
    ).toBe(0);
    expect((await on('b', ['partition', 'restore', 'two.bundle', '--name', 'copy'])).code).toBe(0);
    const older = await on('b', ['partition', 'restore', 'one.bundle', '--name', 'copy']);
    expect(older.code).toBe(6);
    const allowed = await on('b', [
      'partition',
      'restore',
      'one.bundle',
      '--name',
      'copy',
      '--allow-rollback',
    ]);
    expect(allowed.code, allowed.stderr).toBe(0);
  });

  it('a backup under a quorum rule: the request shows no bundle, approvals download writes it', async () => {
    // alice, pso of default with a P-256 approver key, is the rule's one member.
    const env = {
      ATTESTAMP_OFFICER_PASSPHRASE: readFileSync(join(cwd, 'a/officer.passphrase'), 'utf8').trim(),
    };
    const run = (args: readonly string[]) => runMain([...args, '--data', 'a'], { cwd, env });
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(join(cwd, 'alice.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }));
    writeFileSync(join(cwd, 'alice.pub.pem'), publicKey.export({ format: 'pem', type: 'spki' }));
    writeFileSync(join(cwd, 'alice.pass'), 'passphrase of alice\n', { mode: 0o600 });
    const steps: (readonly string[])[] = [
      [
        'officer',
        'add',
        'alice',
        '--role',
        'pso@default',
        '--passphrase-file',
        join(cwd, 'alice.pass'),
      ],
      ['officer', 'key-challenge', 'alice', '--key', 'alice.pub.pem', '--out', 'alice.challenge'],
    ];
    for (const args of steps) {
      const r = await run(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    const challenge = readFileSync(join(cwd, 'alice.challenge'));
    writeFileSync(join(cwd, 'alice.proof'), sign('sha256', challenge, privateKey));
    const enrolled = await run([
      'officer',
      'enroll-key',
      'alice',
      '--key',
      'alice.pub.pem',
      '--proof',
      'alice.proof',
    ]);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    writeFileSync(
      join(cwd, 'rule.json'),
      JSON.stringify({
        alternatives: [{ groups: [{ members: ['alice'], threshold: 1 }] }],
        timeoutSeconds: 3600,
      }),
    );
    const set = await run([
      'quorum',
      'set',
      'partition.backup',
      '--rule',
      'rule.json',
      '--partition',
      'default',
    ]);
    expect(set.code, set.stderr).toBe(0);
    const guarded = await run([
      'partition',
      'backup',
      'default',
      '--domain',
      'vault',
      '--out',
      'q.bundle',
      '--json',
    ]);
    expect(guarded.code, guarded.stderr).toBe(7);
    const id = (JSON.parse(guarded.stdout) as { error: { details: { request: string } } }).error
      .details.request;
    const signed = await run([
      'approvals',
      'sign',
      id,
      '--decision',
      'approve',
      '--key',
      'alice.pem',
    ]);
    expect(signed.code, signed.stderr).toBe(0);
    const executed = await run(['approvals', 'execute', id, '--json']);
    expect(executed.code, executed.stderr).toBe(0);
    const result = (JSON.parse(executed.stdout) as { result: Record<string, unknown> }).result;
    expect(result.bundle).toBeUndefined();
    expect(result.download).toBe(`attestamp approvals download ${id} --out FILE`);
    const listed = await run(['approvals', 'list', '--json']);
    expect(listed.stdout).not.toContain('"bundle"');
    const dl = await run(['approvals', 'download', id, '--out', 'q.bundle', '--json']);
    expect(dl.code, dl.stderr).toBe(0);
    const facts = JSON.parse(dl.stdout) as { sha256: string; partition: string };
    expect(facts).toMatchObject({ request: id, partition: 'default', sha256: result.digest });
    const bytes = readFileSync(join(cwd, 'q.bundle'));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(result.digest);
    expect((await on('b', ['backup', 'inspect', 'q.bundle'])).code).toBe(0);
    const notBackup = await run([
      'approvals',
      'download',
      '00000000-0000-4000-8000-000000000000',
      '--out',
      'x.bin',
    ]);
    expect(notBackup.code).toBe(3);
  });
});

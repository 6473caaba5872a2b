// The secret-key commands of the operator CLI as subprocesses on a local store, and with --api
// against the REST API: generate, encrypt (nonce || ciphertext || tag), decrypt, a tampered file
// refused with exit 65, mac and verify-mac (exit 8), wrap and unwrap, a wrapped secret-key
// import, key public refused, evidence of a secret key checked by attestamp-verify with
// --expect-kcv; every --json document checked against its schema in schemas/cli.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-explicit-any -- JSON documents are checked against their schemas before a test reads their fields */
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hsm } from '../../src/hsm/index.js';
import { startApiFixture, type ApiFixture } from '../helpers/api.js';
import { decideAs, officerWithKey, type Approver } from '../helpers/governance.js';
import { runCli, runCliAsync, type CliResult } from '../helpers/cli.js';
import { schemaOf, validate } from '../helpers/json-schema.js';
import { OFFICER } from '../helpers/hsm.js';
import { tempDir } from '../helpers/tmp.js';

const SCHEMAS = resolve(import.meta.dirname, '../../schemas/cli');
const VERIFY = resolve(import.meta.dirname, '../../dist/src/cli/attestamp-verify.js');

function documentOf(r: CliResult, schema: string): any {
  const value: unknown = JSON.parse(r.stdout);
  const errors = validate(
    schemaOf(readFileSync(join(SCHEMAS, `${schema}.schema.json`), 'utf8')),
    value,
  );
  expect(errors, `${schema}: ${r.stdout.slice(0, 400)} ${r.stderr}`).toEqual([]);
  return value;
}

describe('secret-key commands on a local store', () => {
  let cwd: string;
  let officerEnv: Record<string, string>;
  const cli = (args: string[], env: Record<string, string> = {}): CliResult =>
    runCli(args, { cwd, env });
  const json = (args: string[], schema: string, code = 0): any => {
    const r = cli([...args, '--json']);
    expect([r.code, r.stderr.slice(0, 300)]).toEqual([
      code,
      code === 0 ? '' : r.stderr.slice(0, 300),
    ]);
    return documentOf(r, schema);
  };

  beforeAll(() => {
    cwd = tempDir('secret-cli-');
    expect(cli(['init']).code).toBe(0);
    officerEnv = {
      ATTESTAMP_OFFICER_PASSPHRASE: readFileSync(
        join(cwd, 'data/officer.passphrase'),
        'utf8',
      ).trim(),
    };
    expect(
      cli(['partition', 'policy', 'default', '--export', 'on', '--import', 'on'], officerEnv).code,
    ).toBe(0);
    writeFileSync(join(cwd, 'plain.txt'), 'payroll run 2026-12, to be sealed\n');
    writeFileSync(join(cwd, 'aad.bin'), 'batch 7');
  }, 120_000);

  it('generates, encrypts, decrypts and refuses a tampered file', () => {
    const k = json(
      ['key', 'generate', 'default', '--label', 'dek', '--algorithm', 'aes-256'],
      'key-show',
    );
    expect(k.keyCheckValue).toMatch(/^[0-9a-f]{32}$/);
    expect(k).not.toHaveProperty('spkiSha256');
    const shown = cli(['key', 'show', 'default', 'dek']);
    expect(shown.stdout).toContain(`key check value:    ${k.keyCheckValue as string}`);
    const enc = json(
      [
        'key',
        'encrypt',
        'default',
        'dek',
        '--in',
        'plain.txt',
        '--aad-file',
        'aad.bin',
        '--out',
        'sealed.bin',
      ],
      'key-encrypt',
    );
    const sealed = readFileSync(join(cwd, 'sealed.bin'));
    expect(sealed.subarray(0, 12).toString('hex')).toBe(enc.nonce);
    expect(sealed.length).toBe(readFileSync(join(cwd, 'plain.txt')).length + 28);
    expect(enc.encryptions).toBe(1);
    const dec = json(
      [
        'key',
        'decrypt',
        'default',
        'dek',
        '--in',
        'sealed.bin',
        '--aad-file',
        'aad.bin',
        '--out',
        'back.txt',
      ],
      'key-decrypt',
    );
    expect(dec.bytes).toBe(readFileSync(join(cwd, 'plain.txt')).length);
    expect(readFileSync(join(cwd, 'back.txt'))).toEqual(readFileSync(join(cwd, 'plain.txt')));
    expect(statSync(join(cwd, 'back.txt')).mode & 0o777).toBe(0o600);
    sealed[20]! ^= 1;
    writeFileSync(join(cwd, 'tampered.bin'), sealed);
    const bad = json(
      [
        'key',
        'decrypt',
        'default',
        'dek',
        '--in',
        'tampered.bin',
        '--aad-file',
        'aad.bin',
        '--out',
        'x.txt',
      ],
      'error',
      65,
    );
    expect(bad.error.code).toBe('decrypt-failed');
    // No nonce option exists; a secret key has no public key.
    const nonce = cli([
      'key',
      'encrypt',
      'default',
      'dek',
      '--in',
      'plain.txt',
      '--out',
      'y',
      '--nonce',
      '00',
    ]);
    expect(nonce.code).toBe(64);
    expect(cli(['key', 'public', 'default', 'dek']).code).toBe(64);
  });

  it('computes and checks an HMAC (exit 8 when it does not verify)', () => {
    json(
      ['key', 'generate', 'default', '--label', 'mac', '--algorithm', 'hmac-sha256'],
      'key-show',
    );
    const m = json(
      ['key', 'mac', 'default', 'mac', '--in', 'plain.txt', '--out', 'plain.mac'],
      'key-mac',
    );
    expect(m.bytes).toBe(32);
    expect(
      json(
        ['key', 'verify-mac', 'default', 'mac', '--in', 'plain.txt', '--mac', 'plain.mac'],
        'key-verify',
      ).valid,
    ).toBe(true);
    expect(
      json(
        ['key', 'verify-mac', 'default', 'mac', '--in', 'aad.bin', '--mac', 'plain.mac'],
        'key-verify',
        8,
      ).valid,
    ).toBe(false);
  });

  it('wraps and unwraps a key, and imports a wrapped secret key', () => {
    json(
      [
        'key',
        'generate',
        'default',
        '--label',
        'kek',
        '--algorithm',
        'aes-256',
        '--purposes',
        'wrap,unwrap',
      ],
      'key-show',
    );
    const out = json(
      [
        'key',
        'generate',
        'default',
        '--label',
        'travel',
        '--algorithm',
        'chacha20-poly1305',
        '--extractable',
      ],
      'key-show',
    );
    const w = json(
      ['key', 'wrap', 'default', 'kek', '--key', 'travel', '--out', 'travel.kwp'],
      'key-wrap',
    );
    expect([w.mode, w.bytes]).toEqual(['kwp', 40]);
    const u = json(
      [
        'key',
        'unwrap',
        'default',
        'kek',
        '--in',
        'travel.kwp',
        '--label',
        'travel-2',
        '--algorithm',
        'chacha20-poly1305',
      ],
      'key-show',
    );
    expect(u.keyCheckValue).toBe(out.keyCheckValue);
    expect(u.attributes.origin).toBe('unwrapped');
    // Export under a transport key of the operator's, import it back as a secret key.
    writeFileSync(join(cwd, 'transport.hex'), '11'.repeat(32), { mode: 0o600 });
    expect(
      cli([
        'key',
        'export',
        'default',
        'travel',
        '--wrap-key-file',
        'transport.hex',
        '--out',
        'travel.exp',
      ]).code,
    ).toBe(0);
    const imp = json(
      [
        'key',
        'import',
        'default',
        '--label',
        'travel-3',
        '--algorithm',
        'chacha20-poly1305',
        '--in',
        'travel.exp',
        '--unwrap-key-file',
        'transport.hex',
      ],
      'key-show',
    );
    expect(imp.keyCheckValue).toBe(out.keyCheckValue);
    expect(
      cli([
        'key',
        'import',
        'default',
        '--label',
        'x',
        '--algorithm',
        'aes-256',
        '--in',
        'travel.exp',
      ]).code,
    ).toBe(64);
  });

  it('attests a secret key: attestamp-verify checks its KCV with --expect-kcv', () => {
    const k = json(['key', 'show', 'default', 'dek'], 'key-show');
    expect(
      cli(['key', 'attest', 'default', 'dek', '--nonce', '0a0b', '--out', 'dek.ev.pem']).code,
    ).toBe(0);
    expect(cli(['key', 'attest', 'default', 'dek', '--format', 'certificate']).code).toBe(64);
    expect(cli(['chain', 'default', '--out', 'chain']).code).toBe(0);
    const verify = (kcv: string) =>
      spawnSync(
        process.execPath,
        [
          VERIFY,
          'evidence',
          'dek.ev.pem',
          '--anchor',
          'chain/root.pem',
          '--allow-software',
          '--nonce',
          '0a0b',
          '--expect-kcv',
          kcv,
          '--json',
        ],
        { cwd, encoding: 'utf8' },
      );
    const good = verify(k.keyCheckValue as string);
    expect(good.status, good.stdout).toBe(0);
    const report = JSON.parse(good.stdout);
    expect(report.claims.keys[0]).toMatchObject({
      keyAlgorithm: 'aes-256',
      keyCheckValue: k.keyCheckValue,
    });
    const bad = verify('00'.repeat(16));
    expect(bad.status).toBe(2);
  });
});

describe('secret-key commands under a use rule: exit 7, then --request ID', () => {
  it('encrypts and decrypts through approval requests', async () => {
    const cwd = tempDir('secret-cli-rule-');
    const cli = (args: string[]): CliResult => runCli(args, { cwd });
    expect(cli(['init']).code).toBe(0);
    const masterKey = {
      kind: 'key' as const,
      key: new Uint8Array(
        Buffer.from(readFileSync(join(cwd, 'data/master.key'), 'utf8').trim(), 'hex'),
      ),
    };
    const so = {
      name: 'so',
      passphrase: readFileSync(join(cwd, 'data/officer.passphrase'), 'utf8').trim(),
    };
    const store = join(cwd, 'data/attestamp.sqlite');
    let hsm = await Hsm.open(store, masterKey);
    const people: Approver[] = [];
    for (const n of ['ann', 'bob']) {
      people.push(
        await officerWithKey(hsm, n, [{ role: 'crypto-officer', partition: 'default' }], so),
      );
    }
    await hsm.generateKey('default', {
      label: 'guarded',
      algorithm: 'aes-256',
      policy: {
        use: {
          timeoutSeconds: 3600,
          alternatives: [{ groups: [{ name: 'two', members: ['ann', 'bob'], threshold: 2 }] }],
        },
      },
    });
    await hsm.close();
    writeFileSync(join(cwd, 'plain.txt'), 'approved plaintext\n');
    const approveAll = async (id: string): Promise<void> => {
      hsm = await Hsm.open(store, masterKey);
      for (const a of people) await decideAs(hsm, id, a);
      await hsm.close();
    };
    const pending = cli([
      'key',
      'encrypt',
      'default',
      'guarded',
      '--in',
      'plain.txt',
      '--out',
      'c.bin',
      '--json',
    ]);
    expect(pending.code).toBe(7);
    const id = JSON.parse(pending.stdout).error.details.request as string;
    await approveAll(id);
    const enc = cli([
      'key',
      'encrypt',
      'default',
      'guarded',
      '--request',
      id,
      '--out',
      'c.bin',
      '--json',
    ]);
    expect(enc.code, enc.stderr).toBe(0);
    expect(documentOf(enc, 'key-encrypt')).toMatchObject({ request: id, encryptions: 1 });
    const decPending = cli([
      'key',
      'decrypt',
      'default',
      'guarded',
      '--in',
      'c.bin',
      '--out',
      'p.txt',
      '--json',
    ]);
    expect(decPending.code).toBe(7);
    const decId = JSON.parse(decPending.stdout).error.details.request as string;
    await approveAll(decId);
    const dec = cli([
      'key',
      'decrypt',
      'default',
      'guarded',
      '--request',
      decId,
      '--out',
      'p.txt',
      '--json',
    ]);
    expect(dec.code, dec.stderr).toBe(0);
    expect(readFileSync(join(cwd, 'p.txt'), 'utf8')).toBe('approved plaintext\n');
    // The request of one operation is not another's.
    const wrong = cli([
      'key',
      'encrypt',
      'default',
      'guarded',
      '--request',
      decId,
      '--out',
      'x.bin',
    ]);
    expect(wrong.code).toBe(64);
  }, 120_000);
});

describe('secret-key commands with --api', () => {
  let f: ApiFixture;
  let cwd: string;
  let remote: string[];
  const cli = (args: string[]) =>
    runCliAsync(args, { cwd, env: { ATTESTAMP_DATA: join(cwd, 'no-local-store') } });

  beforeAll(async () => {
    f = await startApiFixture();
    cwd = tempDir('secret-cli-api-');
    await f.hsm.setPartitionPolicy(
      'default',
      { exportAllowed: true, importAllowed: true },
      OFFICER,
    );
    const token = await f.token('cli-officer', ['crypto-officer'], ['default']);
    writeFileSync(join(cwd, 'officer.jwt'), token + '\n', { mode: 0o600 });
    writeFileSync(join(cwd, 'server-ca.pem'), f.serverCa.pem);
    writeFileSync(join(cwd, 'plain.txt'), 'remote plaintext\n');
    remote = ['--api', f.api.url, '--api-token-file', 'officer.jwt', '--api-ca', 'server-ca.pem'];
  }, 120_000);

  afterAll(async () => {
    await f.close();
  });

  it('generates, encrypts, decrypts, MACs, wraps and unwraps through the API', async () => {
    const run = async (args: string[], schema: string, code = 0): Promise<any> => {
      const r = await cli([...args, ...remote, '--json']);
      expect([r.code, r.stderr]).toEqual([code, code === 0 ? '' : r.stderr]);
      return documentOf(r, schema);
    };
    const k = await run(
      ['key', 'generate', 'default', '--label', 'r-dek', '--algorithm', 'aes-128'],
      'key-show',
    );
    expect(k.keyCheckValue).toBe(
      Buffer.from((await f.hsm.key('default', 'r-dek')).spki).toString('hex'),
    );
    await run(
      ['key', 'encrypt', 'default', 'r-dek', '--in', 'plain.txt', '--out', 'r.bin'],
      'key-encrypt',
    );
    await run(
      ['key', 'decrypt', 'default', 'r-dek', '--in', 'r.bin', '--out', 'r.txt'],
      'key-decrypt',
    );
    expect(readFileSync(join(cwd, 'r.txt'), 'utf8')).toBe('remote plaintext\n');
    await run(
      ['key', 'generate', 'default', '--label', 'r-mac', '--algorithm', 'hmac-sha3-384'],
      'key-show',
    );
    await run(['key', 'mac', 'default', 'r-mac', '--in', 'plain.txt', '--out', 'r.mac'], 'key-mac');
    expect(
      (
        await run(
          ['key', 'verify-mac', 'default', 'r-mac', '--in', 'plain.txt', '--mac', 'r.mac'],
          'key-verify',
        )
      ).valid,
    ).toBe(true);
    await run(
      ['key', 'verify-mac', 'default', 'r-mac', '--in', 'r.txt', '--mac', 'r.bin'],
      'key-verify',
      8,
    );
    await run(
      [
        'key',
        'generate',
        'default',
        '--label',
        'r-kek',
        '--algorithm',
        'aes-256',
        '--purposes',
        'wrap,unwrap',
      ],
      'key-show',
    );
    await run(
      [
        'key',
        'generate',
        'default',
        '--label',
        'r-out',
        '--algorithm',
        'hmac-sha256',
        '--extractable',
      ],
      'key-show',
    );
    await run(
      ['key', 'wrap', 'default', 'r-kek', '--key', 'r-out', '--mode', 'kw', '--out', 'r.kw'],
      'key-wrap',
    );
    const u = await run(
      [
        'key',
        'unwrap',
        'default',
        'r-kek',
        '--in',
        'r.kw',
        '--mode',
        'kw',
        '--label',
        'r-in',
        '--algorithm',
        'hmac-sha256',
      ],
      'key-show',
    );
    expect(u.attributes.origin).toBe('unwrapped');
    const failed = await run(
      ['key', 'decrypt', 'default', 'r-dek', '--in', 'r.mac', '--out', 'z'],
      'error',
      65,
    );
    expect(failed.error.code).toBe('decrypt-failed');
  });
});

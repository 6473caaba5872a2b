// The blockchain-key commands of the operator CLI as subprocesses on a local store, and with
// --api against the REST API: an ecdsa-secp256k1 key generated and signing low-S, key import
// --seed-file and --xprv-file (BIP 32 test vector 1), key derive-child to the vector's chains and
// key public --format xpub giving their xpubs, key address with the BIP 84 and BIP 86 known
// answers, a temporary child's expiry, refusals with their exit codes, --help of the new
// commands, attestamp-verify --require derivation-path=..., and every --json document checked
// against its schema in schemas/cli.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-explicit-any -- JSON documents are checked against their schemas before a test reads their fields */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLowS } from '../../src/pki/index.js';
import { startApiFixture, type ApiFixture } from '../helpers/api.js';
import { runCli, runCliAsync, runMain, type CliResult } from '../helpers/cli.js';
import { BIP32_VECTORS } from '../helpers/hd-vectors.js';
import { OFFICER } from '../helpers/hsm.js';
import { schemaOf, validate } from '../helpers/json-schema.js';
import { tempDir } from '../helpers/tmp.js';

const SCHEMAS = resolve(import.meta.dirname, '../../schemas/cli');
const VERIFY = resolve(import.meta.dirname, '../../dist/src/cli/attestamp-verify.js');
const ABANDON_SEED =
  '5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc19a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4';
const VECTOR = BIP32_VECTORS[0]!;
const prime = (path: string): string => path.replace(/[hH]/g, "'");

function documentOf(r: CliResult, schema: string): any {
  const value: unknown = JSON.parse(r.stdout);
  const errors = validate(
    schemaOf(readFileSync(join(SCHEMAS, `${schema}.schema.json`), 'utf8')),
    value,
  );
  expect(errors, `${schema}: ${r.stdout.slice(0, 400)} ${r.stderr}`).toEqual([]);
  return value;
}

describe('blockchain-key commands on a local store', () => {
  let cwd: string;
  const cli = (args: string[]): CliResult => runCli(args, { cwd });
  const json = (args: string[], schema: string): any => {
    const r = cli([...args, '--json']);
    expect([r.code, r.stderr.slice(0, 300)]).toEqual([0, '']);
    return documentOf(r, schema);
  };

  beforeAll(() => {
    cwd = tempDir('hd-cli-');
    expect(cli(['init']).code).toBe(0);
    const env = {
      ATTESTAMP_OFFICER_PASSPHRASE: readFileSync(
        join(cwd, 'data/officer.passphrase'),
        'utf8',
      ).trim(),
    };
    expect(runCli(['partition', 'policy', 'default', '--import', 'on'], { cwd, env }).code).toBe(0);
    writeFileSync(join(cwd, 'seed.hex'), `${VECTOR.seed}\n`, { mode: 0o600 });
    writeFileSync(join(cwd, 'abandon.hex'), ABANDON_SEED, { mode: 0o600 });
    writeFileSync(join(cwd, 'xprv.txt'), `${VECTOR.chains[2]!.xprv}\n`, { mode: 0o600 });
    writeFileSync(join(cwd, 'tx.bin'), 'a transaction to sign');
  }, 120_000);

  it('generates an ecdsa-secp256k1 key that signs low-S and has addresses', () => {
    const k = json(
      ['key', 'generate', 'default', '--label', 'k1', '--algorithm', 'ecdsa-secp256k1'],
      'key-show',
    );
    expect(k.algorithm).toBe('ecdsa-secp256k1');
    json(['key', 'sign', 'default', 'k1', '--in', 'tx.bin', '--out', 'k1.sig'], 'key-sign');
    expect(isLowS('secp256k1', readFileSync(join(cwd, 'k1.sig')))).toBe(true);
    const a = json(['key', 'address', 'default', 'k1', '--type', 'ethereum'], 'key-address');
    expect(a.address).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(a).not.toHaveProperty('network');
  });

  it('imports the seed of BIP 32 vector 1 and derives its chains: the xpubs match', () => {
    const m = json(
      [
        'key',
        'import',
        'default',
        '--label',
        'v1',
        '--seed-file',
        'seed.hex',
        '--algorithm',
        'bip32-secp256k1',
      ],
      'key-show',
    );
    expect(m.attributes).toMatchObject({ origin: 'imported', purposes: ['derive'] });
    const pub = json(['key', 'public', 'default', 'v1', '--format', 'xpub'], 'key-public');
    expect(pub.xpub).toBe(VECTOR.chains[0]!.xpub);
    for (const [i, chain] of VECTOR.chains.slice(1).entries()) {
      const c = json(
        [
          'key',
          'derive-child',
          'default',
          'v1',
          '--path',
          prime(chain.path),
          '--new-label',
          `v1c${i}`,
          '--persistent',
        ],
        'key-show',
      );
      expect(c.attributes.derivation.path).toBe(prime(chain.path));
      expect(c.attributes).not.toHaveProperty('expiresAt');
      expect(cli(['key', 'public', 'default', `v1c${i}`, '--format', 'xpub']).stdout).toBe(
        `${chain.xpub}\n`,
      );
    }
  });

  it('imports an xprv and derives the next chain relatively', () => {
    json(
      [
        'key',
        'import',
        'default',
        '--label',
        'x2',
        '--xprv-file',
        'xprv.txt',
        '--purposes',
        'derive',
      ],
      'key-show',
    );
    expect(cli(['key', 'public', 'default', 'x2', '--format', 'xpub']).stdout).toBe(
      `${VECTOR.chains[2]!.xpub}\n`,
    );
    const next = VECTOR.chains[3]!;
    const step = prime(next.path.split('/').at(-1)!);
    expect(
      cli(['key', 'derive-child', 'default', 'x2', '--path', step, '--new-label', 'x3']).code,
    ).toBe(0);
    expect(cli(['key', 'public', 'default', 'x3', '--format', 'xpub']).stdout).toBe(
      `${next.xpub}\n`,
    );
    const shown = cli(['key', 'show', 'default', 'x3']);
    expect(shown.stdout).toMatch(/expires: {12}\d{4}-/);
    expect(shown.stdout).toContain('derivation path:');
  });

  it('gives the BIP 84 and BIP 86 addresses of the "abandon ... about" wallet', () => {
    expect(
      cli([
        'key',
        'import',
        'default',
        '--label',
        'w',
        '--seed-file',
        'abandon.hex',
        '--algorithm',
        'bip32-secp256k1',
      ]).code,
    ).toBe(0);
    for (const [path, label] of [
      ["m/84'/0'/0'/0/0", 'w84'],
      ["m/86'/0'/0'/0/0", 'w86'],
    ] as const) {
      const r = cli([
        'key',
        'derive-child',
        'default',
        'w',
        '--path',
        path,
        '--new-label',
        label,
        '--expires-in',
        '600',
      ]);
      expect(r.code, r.stderr).toBe(0);
    }
    const p2wpkh = json(['key', 'address', 'default', 'w84', '--type', 'p2wpkh'], 'key-address');
    expect(p2wpkh).toMatchObject({
      network: 'mainnet',
      address: 'bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu',
    });
    expect(cli(['key', 'address', 'default', 'w86', '--type', 'p2tr']).stdout).toBe(
      'bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr\n',
    );
    expect(
      cli(['key', 'address', 'default', 'w84', '--type', 'p2wpkh', '--network', 'testnet']).stdout,
    ).toMatch(/^tb1q/);
    json(['key', 'sign', 'default', 'w84', '--in', 'tx.bin', '--out', 'w84.sig'], 'key-sign');
    expect(isLowS('secp256k1', readFileSync(join(cwd, 'w84.sig')))).toBe(true);
  });

  it('refuses bad arguments with their exit codes', () => {
    // Usage errors: 64.
    expect(cli(['key', 'address', 'default', 'w84', '--type', 'p2pkh']).code).toBe(64);
    expect(
      cli([
        'key',
        'derive-child',
        'default',
        'w',
        '--path',
        "m/0'",
        '--new-label',
        'z',
        '--persistent',
        '--expires-in',
        '5',
      ]).code,
    ).toBe(64);
    expect(cli(['key', 'import', 'default', '--label', 'q', '--seed-file', 'seed.hex']).code).toBe(
      64,
    );
    // The HSM's refusals: a non-derivable key, a public key of another algorithm.
    const r = cli(['key', 'derive-child', 'default', 'k1', '--path', '0', '--new-label', 'z']);
    expect([r.code, r.stderr]).toEqual([64, expect.stringContaining('not derivable')]);
    expect(cli(['key', 'public', 'default', 'k1', '--format', 'xpub']).code).toBe(64);
  });

  it('attests a derived key: attestamp-verify requires its path and reads its expiry', () => {
    expect(cli(['key', 'attest', 'default', 'w84', '--out', 'w84.ev.pem']).code).toBe(0);
    expect(cli(['chain', 'default', '--out', 'chain']).code).toBe(0);
    const verify = (path: string) =>
      spawnSync(
        process.execPath,
        [
          VERIFY,
          'evidence',
          'w84.ev.pem',
          '--anchor',
          'chain/root.pem',
          '--allow-software',
          '--require',
          `origin=derived,derivation-path=${path},key-algorithm=bip32-secp256k1`,
          '--json',
        ],
        { cwd, encoding: 'utf8' },
      );
    const good = verify("m/84'/0'/0'/0/0");
    expect(good.status, good.stdout + good.stderr).toBe(0);
    const report = JSON.parse(good.stdout);
    expect(report.claims.keys[0]).toMatchObject({ derivationPath: "m/84'/0'/0'/0/0" });
    expect(report.claims.keys[0].expiry).toMatch(/^\d{4}-/);
    expect(verify("m/84'/0'/0'/0/1").status).toBe(2);
  });

  it('prints --help for the new commands', () => {
    for (const cmd of ['derive-child', 'address']) {
      const r = cli(['key', cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`attestamp key ${cmd}`);
    }
    expect(cli(['key', 'import', '--help']).stdout).toContain('--seed-file');
  });
});

describe('blockchain-key commands with --api', () => {
  let f: ApiFixture;
  let cwd: string;
  let remote: string[];

  beforeAll(async () => {
    f = await startApiFixture();
    cwd = tempDir('hd-cli-api-');
    writeFileSync(join(cwd, 'user.jwt'), await f.token('app-user', ['crypto-user'], ['default']));
    writeFileSync(
      join(cwd, 'officer.jwt'),
      await f.token('app-officer', ['crypto-officer'], ['default']),
    );
    writeFileSync(join(cwd, 'server-ca.pem'), f.serverCa.pem);
    remote = ['--api', f.api.url, '--api-token-file', 'user.jwt', '--api-ca', 'server-ca.pem'];
    await f.hsm.setPartitionPolicy('default', { importAllowed: true }, OFFICER);
    await f.hsm.importHdKey(
      'default',
      { seed: new Uint8Array(Buffer.from(ABANDON_SEED, 'hex')), algorithm: 'bip32-secp256k1' },
      { label: 'w' },
    );
  }, 120_000);

  afterAll(async () => {
    await f.close();
  });

  it('derives a child and prints its address through the API', async () => {
    const run = (args: string[]) => runCliAsync([...args, ...remote, '--json'], { cwd });
    const c = await run([
      'key',
      'derive-child',
      'default',
      'w',
      '--path',
      "m/84'/0'/0'/0/0",
      '--new-label',
      'r0',
    ]);
    expect(c.code, c.stderr).toBe(0);
    expect(documentOf(c, 'key-show').attributes.derivation.path).toBe("m/84'/0'/0'/0/0");
    const a = await run(['key', 'address', 'default', 'r0', '--type', 'p2wpkh']);
    expect(a.code, a.stderr).toBe(0);
    expect(documentOf(a, 'key-address').address).toBe('bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu');
  });

  it('imports a seed and an xprv, and prints xpubs, through the API', async () => {
    const env = { ATTESTAMP_DATA: join(cwd, 'no-local-store') };
    const officer = [...remote.slice(0, 2), '--api-token-file', 'officer.jwt', ...remote.slice(4)];
    const run = (args: string[], as = remote) => runMain([...args, ...as], { cwd, env });
    writeFileSync(join(cwd, 'v1.seed'), `${VECTOR.seed}\n`);
    const seed = await run(
      [
        'key',
        'import',
        'default',
        '--label',
        'v1',
        '--seed-file',
        'v1.seed',
        '--algorithm',
        'bip32-secp256k1',
        '--purposes',
        'derive,sign,verify',
        '--json',
      ],
      officer,
    );
    expect(seed.code, seed.stderr).toBe(0);
    expect(documentOf(seed, 'key-show').algorithm).toBe('bip32-secp256k1');
    const pub = await run(['key', 'public', 'default', 'v1', '--format', 'xpub', '--json']);
    expect(pub.code, pub.stderr).toBe(0);
    expect(documentOf(pub, 'key-public').xpub).toBe(VECTOR.chains[0]!.xpub);
    const last = VECTOR.chains.at(-1)!;
    const c = await run([
      'key',
      'derive-child',
      'default',
      'v1',
      '--path',
      prime(last.path),
      '--new-label',
      'v1-leaf',
    ]);
    expect(c.code, c.stderr).toBe(0);
    const leaf = await run(['key', 'public', 'default', 'v1-leaf', '--format', 'xpub']);
    expect(leaf.stdout).toBe(`${last.xpub}\n`);

    writeFileSync(join(cwd, 'x2.xprv'), `${VECTOR.chains[2]!.xprv}\n`);
    const x = await run(
      ['key', 'import', 'default', '--label', 'x2', '--xprv-file', 'x2.xprv'],
      officer,
    );
    expect(x.code, x.stderr).toBe(0);
    expect(x.stdout).not.toContain(VECTOR.chains[2]!.xprv);
    const xp = await run(['key', 'public', 'default', 'x2', '--format', 'xpub']);
    expect(xp.stdout).toBe(`${VECTOR.chains[2]!.xpub}\n`);

    // The API's refusals as the CLI's: an xpub given as the xprv, a short seed.
    writeFileSync(join(cwd, 'pub.xprv'), `${VECTOR.chains[0]!.xpub}\n`);
    const refused = await run(
      ['key', 'import', 'default', '--label', 'no', '--xprv-file', 'pub.xprv'],
      officer,
    );
    expect(refused.code).toBe(65);
    expect(refused.stderr).toContain('xprv');
    writeFileSync(join(cwd, 'short.seed'), '00'.repeat(15));
    const short = await run(
      [
        'key',
        'import',
        'default',
        '--label',
        'no',
        '--seed-file',
        'short.seed',
        '--algorithm',
        'slip10-ed25519',
      ],
      officer,
    );
    expect(short.code).toBe(65);
    expect(short.stderr).not.toContain('00'.repeat(15));
    const pem = await run(['key', 'public', 'default', 'x2']);
    expect(pem.code).toBe(64);
  });
});

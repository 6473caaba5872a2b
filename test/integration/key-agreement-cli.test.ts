// attestamp key derive and key encapsulate as subprocesses, on a local store and with --api:
// two partitions agree on an AES key with ECDH P-256 and X25519, and with ML-KEM-768
// (encapsulate in one, derive from the ciphertext in the other), and each decrypts what the
// other encrypted; refusals with distinct exit codes that name the argument (a missing option,
// bad salt hex, a peer key of another curve, a small-order point, a key without the derive
// purpose); a derivation under the base key's use rule (exit 7, then --request ID); every
// --json document checked against its schema in schemas/cli.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-explicit-any -- JSON documents are checked against their schemas before a test reads their fields */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hsm } from '../../src/hsm/index.js';
import { encodePem } from '../../src/pki/index.js';
import { startApiFixture, type ApiFixture } from '../helpers/api.js';
import { runCli, runCliAsync, type CliResult } from '../helpers/cli.js';
import { decideAs, officerWithKey, type Approver } from '../helpers/governance.js';
import { schemaOf, validate } from '../helpers/json-schema.js';
import { tempDir } from '../helpers/tmp.js';

const SCHEMAS = resolve(import.meta.dirname, '../../schemas/cli');
const KDF = ['--kdf-hash', 'sha512', '--salt', '00112233445566778899', '--info', 'payroll 2026'];
const AES = ['--algorithm', 'aes-256', '--purposes', 'encrypt,decrypt'];

/** An X25519 public key of order 8 (RFC 7748 6.1: its shared secret is all zeros). */
const SMALL_ORDER_X25519 = encodePem(
  'PUBLIC KEY',
  Buffer.from(
    '302a300506032b656e032100e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
    'hex',
  ),
);

function documentOf(r: CliResult, schema: string): any {
  const value: unknown = JSON.parse(r.stdout);
  const errors = validate(
    schemaOf(readFileSync(join(SCHEMAS, `${schema}.schema.json`), 'utf8')),
    value,
  );
  expect(errors, `${schema}: ${r.stdout.slice(0, 400)} ${r.stderr}`).toEqual([]);
  return value;
}

describe('key derive and key encapsulate on a local store', () => {
  let cwd: string;
  const cli = (args: string[]): CliResult => runCli(args, { cwd });
  const json = (args: string[], schema: string, code = 0): any => {
    const r = cli([...args, '--json']);
    expect([r.code, code === 0 ? r.stderr : '']).toEqual([code, '']);
    return documentOf(r, schema);
  };
  const publicKey = (partition: string, label: string, file: string): void => {
    expect(cli(['key', 'public', partition, label, '--out', file]).code).toBe(0);
  };
  /** Encrypts with `a` in default and decrypts with `b` in bob, and the other way. */
  const sameKey = (a: string, b: string): void => {
    writeFileSync(join(cwd, 'plain.txt'), `sealed under ${a}\n`);
    for (const [from, to] of [
      [
        ['default', a],
        ['bob', b],
      ],
      [
        ['bob', b],
        ['default', a],
      ],
    ] as const) {
      expect(cli(['key', 'encrypt', ...from, '--in', 'plain.txt', '--out', 'c.bin']).code).toBe(0);
      const dec = cli(['key', 'decrypt', ...to, '--in', 'c.bin', '--out', 'back.txt']);
      expect(dec.code, dec.stderr).toBe(0);
      expect(readFileSync(join(cwd, 'back.txt'), 'utf8')).toBe(`sealed under ${a}\n`);
    }
  };

  beforeAll(() => {
    cwd = tempDir('derive-cli-');
    expect(cli(['init']).code).toBe(0);
    expect(cli(['partition', 'create', 'bob']).code).toBe(0);
  }, 120_000);

  it.each(['ecdh-p256', 'x25519'])('%s: both partitions derive one AES key', (algorithm) => {
    json(
      ['key', 'generate', 'default', '--label', `${algorithm}-a`, '--algorithm', algorithm],
      'key-show',
    );
    json(
      ['key', 'generate', 'bob', '--label', `${algorithm}-b`, '--algorithm', algorithm],
      'key-show',
    );
    publicKey('default', `${algorithm}-a`, `${algorithm}-a.pem`);
    publicKey('bob', `${algorithm}-b`, `${algorithm}-b.pem`);
    const mine = json(
      [
        'key',
        'derive',
        'default',
        `${algorithm}-a`,
        '--peer-public-key',
        `${algorithm}-b.pem`,
        '--label',
        `${algorithm}-k`,
        ...AES,
        ...KDF,
      ],
      'key-show',
    );
    expect(mine.attributes).toMatchObject({ origin: 'derived', local: false, extractable: false });
    const theirs = json(
      [
        'key',
        'derive',
        'bob',
        `${algorithm}-b`,
        '--peer-public-key',
        `${algorithm}-a.pem`,
        '--label',
        `${algorithm}-k`,
        ...AES,
        ...KDF,
      ],
      'key-show',
    );
    expect(theirs.keyCheckValue).toBe(mine.keyCheckValue);
    sameKey(`${algorithm}-k`, `${algorithm}-k`);
    // The salt from a file is the same salt; other info, another key.
    writeFileSync(join(cwd, 'salt.bin'), Buffer.from('00112233445566778899', 'hex'));
    const fromFile = json(
      [
        'key',
        'derive',
        'bob',
        `${algorithm}-b`,
        '--peer-public-key',
        `${algorithm}-a.pem`,
        '--label',
        `${algorithm}-f`,
        ...AES,
        '--kdf-hash',
        'sha512',
        '--salt-file',
        'salt.bin',
        '--info',
        'payroll 2026',
      ],
      'key-show',
    );
    expect(fromFile.keyCheckValue).toBe(mine.keyCheckValue);
    const other = json(
      [
        'key',
        'derive',
        'bob',
        `${algorithm}-b`,
        '--peer-public-key',
        `${algorithm}-a.pem`,
        '--label',
        `${algorithm}-o`,
        ...AES,
        '--info',
        'another context',
      ],
      'key-show',
    );
    expect(other.keyCheckValue).not.toBe(mine.keyCheckValue);
  });

  it('ML-KEM-768: encapsulate in one partition, derive from the ciphertext in the other', () => {
    json(['key', 'generate', 'bob', '--label', 'kem', '--algorithm', 'ml-kem-768'], 'key-show');
    publicKey('bob', 'kem', 'kem.pem');
    const sent = json(
      [
        'key',
        'encapsulate',
        'default',
        '--peer-public-key',
        'kem.pem',
        '--label',
        'kem-k',
        ...AES,
        ...KDF,
        '--out',
        'kem.ct',
      ],
      'key-encapsulate',
    );
    expect(sent).toMatchObject({ kem: 'ml-kem-768', bytes: 1088 });
    expect(readFileSync(join(cwd, 'kem.ct'))).toHaveLength(1088);
    const got = json(
      ['key', 'derive', 'bob', 'kem', '--ciphertext', 'kem.ct', '--label', 'kem-k', ...AES, ...KDF],
      'key-show',
    );
    expect(got.keyCheckValue).toBe(sent.key.keyCheckValue);
    sameKey('kem-k', 'kem-k');
    const text = cli([
      'key',
      'encapsulate',
      'default',
      '--peer-public-key',
      'kem.pem',
      '--label',
      'kem-t',
      ...AES,
      '--out',
      'kem2.ct',
    ]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('ciphertext (ml-kem-768) for the peer:');
  });

  it('refuses with distinct exit codes that name what is wrong', () => {
    json(['key', 'generate', 'default', '--label', 'x', '--algorithm', 'x25519'], 'key-show');
    json(['key', 'generate', 'bob', '--label', 'p256', '--algorithm', 'ecdh-p256'], 'key-show');
    json(
      ['key', 'generate', 'default', '--label', 'signer', '--algorithm', 'ecdsa-p256'],
      'key-show',
    );
    json(['key', 'generate', 'bob', '--label', 'kem-r', '--algorithm', 'ml-kem-768'], 'key-show');
    publicKey('bob', 'p256', 'p256.pem');
    publicKey('default', 'x', 'x.pem');
    publicKey('bob', 'kem-r', 'kem-r.pem');
    writeFileSync(join(cwd, 'small.pem'), SMALL_ORDER_X25519);
    const base = ['key', 'derive', 'default', 'x', '--label', 'never', ...AES];
    const cases: [string[], number, string | RegExp][] = [
      // Usage errors (exit 64) naming the option.
      [
        ['key', 'derive', 'default', 'x', '--peer-public-key', 'p256.pem', ...AES],
        64,
        'missing --label',
      ],
      [
        ['key', 'derive', 'default', 'x', '--peer-public-key', 'p256.pem', '--label', 'never'],
        64,
        'missing --algorithm',
      ],
      [[...base], 64, /missing --peer-public-key FILE .* or --ciphertext FILE/],
      [
        [...base, '--peer-public-key', 'p256.pem', '--ciphertext', 'kem.ct'],
        64,
        'give --peer-public-key or --ciphertext, not both',
      ],
      [
        [...base, '--peer-public-key', 'p256.pem', '--salt', 'xyz'],
        64,
        '--salt must be hexadecimal',
      ],
      [
        [...base, '--peer-public-key', 'p256.pem', '--salt', '00', '--salt-file', 'p256.pem'],
        64,
        'give --salt or --salt-file, not both',
      ],
      [
        [...base, '--peer-public-key', 'p256.pem', '--kdf-hash', 'md5'],
        64,
        '--kdf-hash must be one of sha256, sha384, sha512',
      ],
      [
        [
          'key',
          'derive',
          'default',
          'x',
          '--peer-public-key',
          'p256.pem',
          '--label',
          'never',
          '--algorithm',
          'ecdsa-p256',
        ],
        64,
        '--algorithm must be a secret key algorithm',
      ],
      [
        ['key', 'encapsulate', 'default', '--label', 'never', ...AES, '--out', 'n.ct'],
        64,
        'missing --peer-public-key',
      ],
      [
        [
          'key',
          'encapsulate',
          'default',
          '--peer-public-key',
          'kem-r.pem',
          '--label',
          'never',
          ...AES,
        ],
        64,
        'missing --out',
      ],
      // The HSM's refusals: a peer key of another curve, a small-order point (invalid-argument,
      // exit 64 as a bad argument), a key without the derive purpose (exit 2).
      [
        [...base, '--peer-public-key', 'p256.pem'],
        64,
        'the peer public key is not of the named algorithm',
      ],
      [[...base, '--peer-public-key', 'small.pem'], 64, /small order|no shared secret/],
      [[...base, '--ciphertext', 'kem-r.pem'], 64, 'the key does not decapsulate'],
      [
        [
          'key',
          'derive',
          'default',
          'signer',
          '--peer-public-key',
          'p256.pem',
          '--label',
          'never',
          ...AES,
        ],
        2,
        'key-purpose-denied',
      ],
      // Input files (exit 65): no such file; an X25519 key given to encapsulate to.
      [[...base, '--peer-public-key', 'nowhere.pem'], 65, 'nowhere.pem'],
      [
        [
          'key',
          'encapsulate',
          'default',
          '--peer-public-key',
          'x.pem',
          '--label',
          'never',
          ...AES,
          '--out',
          'n.ct',
        ],
        65,
        'not an ML-KEM public key',
      ],
    ];
    for (const [args, code, text] of cases) {
      const r = cli(args);
      expect([r.code, r.stdout], args.join(' ')).toEqual([code, '']);
      expect(r.stderr, args.join(' ')).toMatch(text);
      const doc = documentOf(cli([...args, '--json']), 'error');
      expect(doc.error.code, args.join(' ')).toBeTypeOf('string');
    }
    expect(cli(['key', 'show', 'default', 'never']).code).toBe(3);
    expect(cli(['key', 'show', 'bob', 'never']).code).toBe(3);
  });

  it('documents both commands in --help', () => {
    const derive = cli(['key', 'derive', '--help']);
    expect(derive.code).toBe(0);
    for (const o of [
      '--peer-public-key',
      '--ciphertext',
      '--kdf-hash',
      '--salt-file',
      '--request',
      '--api',
    ]) {
      expect(derive.stdout).toContain(o);
    }
    const encap = cli(['key', 'encapsulate', '--help']);
    expect(encap.code).toBe(0);
    expect(encap.stdout).toContain('--out');
  });
});

describe('key derive under a use rule: exit 7, then --request ID', () => {
  it('derives the key the approved request names', async () => {
    const cwd = tempDir('derive-cli-rule-');
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
      algorithm: 'x25519',
      policy: {
        use: {
          timeoutSeconds: 3600,
          alternatives: [{ groups: [{ name: 'two', members: ['ann', 'bob'], threshold: 2 }] }],
        },
      },
    });
    const peer = await hsm.generateKey('default', { label: 'peer', algorithm: 'x25519' });
    const guarded = await hsm.key('default', 'guarded');
    await hsm.close();
    writeFileSync(join(cwd, 'peer.pem'), encodePem('PUBLIC KEY', peer.spki));
    writeFileSync(join(cwd, 'guarded.pem'), encodePem('PUBLIC KEY', guarded.spki));
    const args = ['--label', 'agreed', ...AES, ...KDF];
    const pending = cli([
      'key',
      'derive',
      'default',
      'guarded',
      '--peer-public-key',
      'peer.pem',
      ...args,
      '--json',
    ]);
    expect(pending.code).toBe(7);
    const id = JSON.parse(pending.stdout).error.details.request as string;
    expect(pending.stderr).toContain(`approval request ${id} is waiting for its approvers`);
    // --request carries out what the request holds: no inputs beside it.
    const extra = cli([
      'key',
      'derive',
      'default',
      'guarded',
      '--request',
      id,
      '--label',
      'agreed',
    ]);
    expect([extra.code, extra.stderr]).toEqual([64, expect.stringContaining('no --label')]);
    const notYet = cli(['key', 'derive', 'default', 'guarded', '--request', id]);
    expect(notYet.code).toBe(7);
    hsm = await Hsm.open(store, masterKey);
    for (const a of people) await decideAs(hsm, id, a);
    await hsm.close();
    const wrongKey = cli(['key', 'derive', 'default', 'peer', '--request', id]);
    expect(wrongKey.code).toBe(64);
    const done = cli(['key', 'derive', 'default', 'guarded', '--request', id, '--json']);
    expect(done.code, done.stderr).toBe(0);
    const mine = documentOf(done, 'key-show');
    expect(mine).toMatchObject({ label: 'agreed', attributes: { origin: 'derived' } });
    const theirs = documentOf(
      cli([
        'key',
        'derive',
        'default',
        'peer',
        '--peer-public-key',
        'guarded.pem',
        '--label',
        'agreed-2',
        ...AES,
        ...KDF,
        '--json',
      ]),
      'key-show',
    );
    expect(theirs.keyCheckValue).toBe(mine.keyCheckValue);
  }, 120_000);
});

describe('key derive and key encapsulate with --api', () => {
  let f: ApiFixture;
  let cwd: string;
  let remote: string[];
  const cli = (args: string[]) =>
    runCliAsync(args, { cwd, env: { ATTESTAMP_DATA: join(cwd, 'no-local-store') } });

  beforeAll(async () => {
    f = await startApiFixture();
    await f.hsm.createPartition('bob');
    cwd = tempDir('derive-cli-api-');
    const token = await f.token('cli-user', ['crypto-user', 'crypto-officer'], ['default', 'bob']);
    writeFileSync(join(cwd, 'app.jwt'), token + '\n', { mode: 0o600 });
    writeFileSync(join(cwd, 'server-ca.pem'), f.serverCa.pem);
    remote = ['--api', f.api.url, '--api-token-file', 'app.jwt', '--api-ca', 'server-ca.pem'];
  }, 120_000);

  afterAll(async () => {
    await f.close();
  });

  it('agrees with X25519 and ML-KEM-768 through the API; refusals keep their exit codes', async () => {
    const run = async (args: string[], schema: string, code = 0): Promise<any> => {
      const r = await cli([...args, ...remote, '--json']);
      expect([r.code, code === 0 ? r.stderr : '']).toEqual([code, '']);
      return documentOf(r, schema);
    };
    const a = await f.hsm.generateKey('default', { label: 'xa', algorithm: 'x25519' });
    const b = await f.hsm.generateKey('bob', { label: 'xb', algorithm: 'x25519' });
    const p = await f.hsm.generateKey('bob', { label: 'pb', algorithm: 'ecdh-p256' });
    const kem = await f.hsm.generateKey('bob', { label: 'kem', algorithm: 'ml-kem-768' });
    writeFileSync(join(cwd, 'xa.pem'), encodePem('PUBLIC KEY', a.spki));
    writeFileSync(join(cwd, 'xb.der'), b.spki);
    writeFileSync(join(cwd, 'pb.pem'), encodePem('PUBLIC KEY', p.spki));
    writeFileSync(join(cwd, 'kem.pem'), encodePem('PUBLIC KEY', kem.spki));
    const mine = await run(
      [
        'key',
        'derive',
        'default',
        'xa',
        '--peer-public-key',
        'xb.der',
        '--label',
        'k',
        ...AES,
        ...KDF,
      ],
      'key-show',
    );
    const theirs = await f.hsm.deriveKey(
      'bob',
      'xb',
      { peerPublicKey: a.spki },
      {
        kdf: {
          hash: 'sha512',
          salt: new Uint8Array(Buffer.from('00112233445566778899', 'hex')),
          info: new TextEncoder().encode('payroll 2026'),
        },
        key: { label: 'k', algorithm: 'aes-256', purposes: ['encrypt', 'decrypt'] },
      },
    );
    expect(mine.keyCheckValue).toBe(Buffer.from(theirs.spki).toString('hex'));
    const sealed = await f.hsm.encrypt('bob', 'k', { plaintext: new TextEncoder().encode('hi') });
    const opened = await f.hsm.decrypt('default', 'k', sealed);
    expect(new TextDecoder().decode(opened.plaintext)).toBe('hi');

    const sent = await run(
      [
        'key',
        'encapsulate',
        'default',
        '--peer-public-key',
        'kem.pem',
        '--label',
        'kk',
        ...AES,
        ...KDF,
        '--out',
        'kem.ct',
      ],
      'key-encapsulate',
    );
    expect(sent.kem).toBe('ml-kem-768');
    const got = await run(
      ['key', 'derive', 'bob', 'kem', '--ciphertext', 'kem.ct', '--label', 'kk', ...AES, ...KDF],
      'key-show',
    );
    expect(got.keyCheckValue).toBe(sent.key.keyCheckValue);

    const curve = await run(
      ['key', 'derive', 'default', 'xa', '--peer-public-key', 'pb.pem', '--label', 'never', ...AES],
      'error',
      64,
    );
    expect(curve.error.code).toBe('invalid-argument');
    const taken = await run(
      ['key', 'derive', 'default', 'xa', '--peer-public-key', 'xb.der', '--label', 'k', ...AES],
      'error',
      5,
    );
    expect(taken.error.code).toBe('key-exists');
  });
});

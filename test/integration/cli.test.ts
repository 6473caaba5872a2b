// The operator CLI as a subprocess on a real SQLite store: the README quick start, the chain
// profile as openssl sees it, exit codes, and audit tampering.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const ROLE_OID = '1.3.6.1.4.1.32473.3161.7.1';

let cwd: string;
let officerEnv: Record<string, string>;

function cli(args: string[], env: Record<string, string> = {}) {
  return runCli(args, { cwd, env });
}

function openssl(args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8' });
}

beforeAll(() => {
  cwd = tempDir();
  const r = cli(['init']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  officerEnv = {
    ATTESTAMP_OFFICER_PASSPHRASE: readFileSync(join(cwd, 'data/officer.passphrase'), 'utf8').trim(),
  };
});

describe('quick start', () => {
  it('creates the store, a development factory beside it and secret files with mode 0600', () => {
    expect(existsSync(join(cwd, 'data/attestamp.sqlite'))).toBe(true);
    expect(existsSync(join(cwd, 'data-factory/root.pem'))).toBe(true);
    expect(existsSync(join(cwd, 'data/root-key.pem'))).toBe(false);
    for (const f of ['data/master.key', 'data/officer.passphrase', 'data-factory/root-key.pem']) {
      expect(statSync(join(cwd, f)).mode & 0o777).toBe(0o600);
    }
  });

  it('init --if-needed keeps the store, and status reports it', () => {
    const before = createHash('sha256')
      .update(readFileSync(join(cwd, 'data/master.key')))
      .digest('hex');
    expect(cli(['init', '--if-needed']).code).toBe(0);
    expect(cli(['init']).code).toBe(5);
    const r = cli(['status', '--json']);
    expect(r.code).toBe(0);
    const status = JSON.parse(r.stdout) as {
      device: { development: boolean; rootSha256: string };
      partitions: { name: string }[];
      audit: { ok: boolean };
    };
    expect(status.device.development).toBe(true);
    expect(status.partitions.map((p) => p.name)).toEqual(['default']);
    expect(status.audit.ok).toBe(true);
    const after = createHash('sha256')
      .update(readFileSync(join(cwd, 'data/master.key')))
      .digest('hex');
    expect(after).toBe(before);
  });

  it('the root fingerprint printed equals the SHA-256 of root.pem in DER', () => {
    const r = cli(['status', '--json']);
    const status = JSON.parse(r.stdout) as { device: { rootSha256: string } };
    const der = execFileSync('openssl', [
      'x509',
      '-in',
      join(cwd, 'data-factory/root.pem'),
      '-outform',
      'DER',
    ]);
    expect(status.device.rootSha256).toBe(createHash('sha256').update(der).digest('hex'));
  });
});

describe('chain profile as openssl sees it', () => {
  let dir: string;
  beforeAll(() => {
    dir = join(cwd, 'chain');
    const r = cli(['chain', 'default', '--out', dir]);
    expect(r.code).toBe(0);
  });

  it('openssl verify accepts both partition certificates against the root with the device untrusted', () => {
    for (const leaf of ['partition-timestamp.pem', 'partition-attestation.pem']) {
      const out = openssl([
        'verify',
        '-CAfile',
        join(dir, 'root.pem'),
        '-untrusted',
        join(dir, 'device.pem'),
        join(dir, leaf),
      ]);
      expect(out.trim()).toBe(`${join(dir, leaf)}: OK`);
    }
  });

  it('openssl verify refuses a partition certificate without the device certificate', () => {
    expect(() =>
      execFileSync(
        'openssl',
        ['verify', '-CAfile', join(dir, 'root.pem'), join(dir, 'partition-timestamp.pem')],
        {
          stdio: 'pipe',
        },
      ),
    ).toThrow();
  });

  it('the timestamp certificate has one critical EKU timeStamping, no CA, digitalSignature only', () => {
    const text = openssl(['x509', '-in', join(dir, 'partition-timestamp.pem'), '-noout', '-text']);
    expect(text).toMatch(/X509v3 Extended Key Usage: critical\s+Time Stamping\s*\n/);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\s*\n/);
    expect(text).toContain('X509v3 Subject Key Identifier');
    expect(text).toContain('X509v3 Authority Key Identifier');
    expect(text).toContain(ROLE_OID);
  });

  it('root, device and attestation certificates carry the profile basicConstraints and keyUsage', () => {
    const root = openssl(['x509', '-in', join(dir, 'root.pem'), '-noout', '-text']);
    expect(root).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:2/);
    expect(root).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    const device = openssl(['x509', '-in', join(dir, 'device.pem'), '-noout', '-text']);
    expect(device).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:1/);
    expect(device).toMatch(/Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
    expect(device).toMatch(/serialNumber\s*=\s*SWHSM-[0-9A-F]{16}/);
    const att = openssl(['x509', '-in', join(dir, 'partition-attestation.pem'), '-noout', '-text']);
    expect(att).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(att).toMatch(/Key Usage: critical\s+Digital Signature, Certificate Sign\s*\n/);
    expect(att).toMatch(/Extended Key Usage:\s+1\.3\.6\.1\.4\.1\.32473\.3161\.3\.1/);
    for (const t of [root, device, att]) expect(t).toContain(ROLE_OID);
  });

  it('bundle.pem lists timestamp, device and root, leaf first', () => {
    const bundle = readFileSync(join(dir, 'bundle.pem'), 'utf8');
    const parts = bundle.split('-----END CERTIFICATE-----').filter((p) => p.includes('BEGIN'));
    expect(parts).toHaveLength(3);
    const order = ['partition-timestamp.pem', 'device.pem', 'root.pem'].map((f) =>
      readFileSync(join(dir, f), 'utf8').trim(),
    );
    expect(parts.map((p) => (p + '-----END CERTIFICATE-----').trim())).toEqual(order);
  });
});

describe('exit codes and messages', () => {
  it('--help at the top level exits 0, no command at all exits 64', () => {
    // --help on every command and group: cli-conventions.test.ts.
    expect(cli(['--help']).code).toBe(0);
    expect(cli([]).code).toBe(64);
  });

  it('usage errors name the bad argument and exit 64', () => {
    const unknown = cli(['key', 'list', 'default', '--colour']);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain("'--colour'");
    const alg = cli(['key', 'generate', 'default', '--label', 'x', '--algorithm', 'dsa-1024']);
    expect(alg.code).toBe(64);
    expect(alg.stderr).toContain('--algorithm');
    const missing = cli(['key', 'show', 'default']);
    expect(missing.code).toBe(64);
    expect(missing.stderr).toContain('missing LABEL');
    const badSwitch = cli(['partition', 'policy', 'default', '--export', 'maybe'], officerEnv);
    expect(badSwitch.code).toBe(64);
    expect(badSwitch.stderr).toContain('--export must be on or off');
  });

  it('not found exits 3, exists exits 5, refused exits 2, authentication exits 77', () => {
    expect(cli(['partition', 'show', 'nope']).code).toBe(3);
    expect(cli(['partition', 'create', 'default']).code).toBe(5);
    const gen = cli([
      'key',
      'generate',
      'default',
      '--label',
      'pinned',
      '--algorithm',
      'ecdsa-p256',
    ]);
    expect(gen.code).toBe(0);
    const aes = join(cwd, 'aes.hex');
    execFileSync('sh', ['-c', `openssl rand -hex 32 > ${aes}`]);
    const exp = cli([
      'key',
      'export',
      'default',
      'pinned',
      '--wrap-key',
      aes,
      '--out',
      join(cwd, 'x.bin'),
    ]);
    expect(exp.code).toBe(2);
    expect(exp.stderr).toContain('[key-not-extractable]');
    expect(existsSync(join(cwd, 'x.bin'))).toBe(false);
    expect(cli(['key', 'delete', 'default', 'partition-timestamp']).code).toBe(2);
    const noOfficer = cli(['key', 'purge', 'default', 'pinned']);
    expect(noOfficer.code).toBe(77);
    const wrongOfficer = cli(['key', 'purge', 'default', 'pinned'], {
      ATTESTAMP_OFFICER_PASSPHRASE: 'not the passphrase',
    });
    expect(wrongOfficer.code).toBe(77);
    expect(wrongOfficer.stderr).not.toContain('not the passphrase');
  });

  it('a wrong master key exits 77, names no secret and leaves the store unchanged', () => {
    const db = join(cwd, 'data/attestamp.sqlite');
    const before = createHash('sha256').update(readFileSync(db)).digest('hex');
    const wrong = 'ab'.repeat(32);
    const r = cli(['key', 'generate', 'default', '--label', 'never', '--algorithm', 'ed25519'], {
      ATTESTAMP_MASTER_KEY: wrong,
    });
    expect(r.code).toBe(77);
    expect(r.stderr).toContain('[master-key-wrong]');
    expect(r.stderr).not.toContain(wrong);
    expect(createHash('sha256').update(readFileSync(db)).digest('hex')).toBe(before);
    expect(cli(['key', 'show', 'default', 'never']).code).toBe(3);
  });

  it('a malformed master key is a usage error naming the variable', () => {
    const r = cli(['status'], { ATTESTAMP_MASTER_KEY: 'xyz' });
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('ATTESTAMP_MASTER_KEY');
  });
});

describe('export, import and the trash through the CLI', () => {
  it('exports only when the key is extractable and the policy allows it, then imports elsewhere', () => {
    const aes = join(cwd, 'wrap.hex');
    execFileSync('sh', ['-c', `openssl rand -hex 32 > ${aes}`]);
    expect(cli(['partition', 'create', 'exp']).code).toBe(0);
    expect(
      cli([
        'key',
        'generate',
        'exp',
        '--label',
        'mobile',
        '--algorithm',
        'ecdsa-p384',
        '--extractable',
      ]).code,
    ).toBe(0);
    const denied = cli([
      'key',
      'export',
      'exp',
      'mobile',
      '--wrap-key',
      aes,
      '--out',
      join(cwd, 'm.kwp'),
    ]);
    expect(denied.code).toBe(2);
    expect(denied.stderr).toContain('[policy-export-denied]');
    expect(cli(['partition', 'policy', 'exp', '--export', 'on']).code).toBe(77);
    expect(cli(['partition', 'policy', 'exp', '--export', 'on'], officerEnv).code).toBe(0);
    const ok = cli([
      'key',
      'export',
      'exp',
      'mobile',
      '--wrap-key',
      aes,
      '--out',
      join(cwd, 'm.kwp'),
    ]);
    expect(ok.code).toBe(0);
    const wrapped = readFileSync(join(cwd, 'm.kwp'));
    // RFC 5649: the output unwraps with openssl's id-aes256-wrap-pad to a PKCS#8 key.
    const key = readFileSync(aes, 'utf8').trim();
    const pkcs8 = execFileSync('openssl', [
      'enc',
      '-d',
      '-id-aes256-wrap-pad',
      '-K',
      key,
      '-iv',
      'A65959A6',
      '-in',
      join(cwd, 'm.kwp'),
    ]);
    expect(pkcs8[0]).toBe(0x30);
    expect(wrapped.length).toBeGreaterThan(pkcs8.length);

    expect(cli(['partition', 'create', 'imp']).code).toBe(0);
    const refused = cli([
      'key',
      'import',
      'imp',
      '--label',
      'moved',
      '--in',
      join(cwd, 'm.kwp'),
      '--unwrap-key',
      aes,
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('[policy-import-denied]');
    expect(cli(['partition', 'policy', 'imp', '--import', 'on'], officerEnv).code).toBe(0);
    const imported = cli([
      'key',
      'import',
      'imp',
      '--label',
      'moved',
      '--in',
      join(cwd, 'm.kwp'),
      '--unwrap-key',
      aes,
      '--json',
    ]);
    expect(imported.code).toBe(0);
    const info = JSON.parse(imported.stdout) as {
      attributes: { origin: string; local: boolean; neverExtractable: boolean };
    };
    expect(info.attributes).toMatchObject({
      origin: 'imported',
      local: false,
      neverExtractable: false,
    });
    const original = JSON.parse(cli(['key', 'show', 'exp', 'mobile', '--json']).stdout) as {
      spkiSha256: string;
    };
    expect((JSON.parse(imported.stdout) as { spkiSha256: string }).spkiSha256).toBe(
      original.spkiSha256,
    );
  });

  it('delete moves a key to the trash; restore and purge need the officer', () => {
    expect(
      cli(['key', 'generate', 'default', '--label', 'tmp', '--algorithm', 'ed25519']).code,
    ).toBe(0);
    expect(cli(['key', 'delete', 'default', 'tmp']).code).toBe(0);
    const listed = JSON.parse(
      cli(['key', 'list', 'default', '--state', 'invalidated', '--json']).stdout,
    ) as { label: string }[];
    expect(listed.map((k) => k.label)).toEqual(['tmp']);
    expect(cli(['key', 'restore', 'default', 'tmp']).code).toBe(77);
    expect(cli(['key', 'restore', 'default', 'tmp'], officerEnv).code).toBe(0);
    expect(cli(['key', 'delete', 'default', 'tmp']).code).toBe(0);
    expect(cli(['key', 'purge', 'default', 'tmp'], officerEnv).code).toBe(0);
    expect(cli(['key', 'show', 'default', 'tmp']).code).toBe(3);
  });

  it('a read-only partition refuses changes until the officer lifts it', () => {
    expect(cli(['partition', 'create', 'ro']).code).toBe(0);
    expect(cli(['partition', 'policy', 'ro', '--read-only', 'on'], officerEnv).code).toBe(0);
    const r = cli(['key', 'generate', 'ro', '--label', 'x', '--algorithm', 'ed25519']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[policy-read-only]');
    expect(cli(['partition', 'policy', 'ro', '--read-only', 'off'], officerEnv).code).toBe(0);
    expect(cli(['key', 'generate', 'ro', '--label', 'x', '--algorithm', 'ed25519']).code).toBe(0);
  });
});

describe('audit through the CLI', () => {
  it('verify passes, then fails naming the entry whose row was edited', () => {
    const ok = cli(['audit', 'verify', '--json']);
    expect(ok.code).toBe(0);
    const v = JSON.parse(ok.stdout) as { ok: boolean; entries: number };
    expect(v.ok).toBe(true);
    expect(v.entries).toBeGreaterThan(10);

    const exported = cli(['audit', 'export']).stdout.trim().split('\n');
    expect(exported).toHaveLength(v.entries);
    const refusedEntry = exported
      .map((l) => JSON.parse(l) as { seq: number; outcome: string; action: string })
      .find((e) => e.outcome === 'refused');
    expect(refusedEntry).toBeDefined();

    const db = new Database(join(cwd, 'data/attestamp.sqlite'));
    const target = 5;
    db.prepare("UPDATE audit SET actor = 'mallory' WHERE seq = ?").run(target);
    db.close();
    const bad = cli(['audit', 'verify']);
    expect(bad.code).toBe(4);
    expect(bad.stdout).toContain(`entry ${target}`);
    const badJson = JSON.parse(cli(['audit', 'verify', '--json']).stdout) as {
      firstBad: { seq: number };
    };
    expect(badJson.firstBad.seq).toBe(target);
    expect(cli(['status']).code).toBe(4);
  });
});

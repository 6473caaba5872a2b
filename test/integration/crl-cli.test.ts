// CRL issuance through the operator CLI (RFC 5280 5): the device CRL over partition
// certificates and the factory CRL over device certificates, as openssl parses and uses them,
// as attestamp-verify --require-revocation decides with them, as the server publishes them;
// and the revocation state and CRL numbers refused when the store's log is edited.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { startTsa } from '../helpers/tsa.js';
import { runVerify } from '../helpers/verify.js';

let cwd: string;
let officerEnv: Record<string, string>;

function cli(args: string[], env: Record<string, string> = {}) {
  return runCli(args, { cwd, env });
}

function crlText(file: string): string {
  return execFileSync('openssl', ['crl', '-inform', 'DER', '-in', file, '-noout', '-text'], {
    encoding: 'utf8',
  });
}

function pemCrl(file: string): string {
  const out = `${file}.pem`;
  execFileSync('openssl', ['crl', '-inform', 'DER', '-in', file, '-out', out]);
  return out;
}

function opensslVerify(deviceCrl: string, rootCrl: string) {
  return spawnSync(
    'openssl',
    [
      'verify',
      '-crl_check_all',
      '-CAfile',
      join(cwd, 'ch/root.pem'),
      '-untrusted',
      join(cwd, 'ch/device.pem'),
      '-CRLfile',
      pemCrl(deviceCrl),
      '-CRLfile',
      pemCrl(rootCrl),
      join(cwd, 'ch/partition-timestamp.pem'),
    ],
    { encoding: 'utf8' },
  );
}

function verifyChain(deviceCrl: string, rootCrl: string) {
  return runVerify(
    [
      'chain',
      'path.pem',
      '--anchor',
      'ch/root.pem',
      '--crl',
      deviceCrl,
      '--crl',
      rootCrl,
      '--require-revocation',
      '--json',
    ],
    { cwd },
  );
}

beforeAll(() => {
  cwd = tempDir();
  expect(cli(['init']).code).toBe(0);
  officerEnv = {
    ATTESTAMP_OFFICER_PASSPHRASE: readFileSync(join(cwd, 'data/officer.passphrase'), 'utf8').trim(),
  };
  expect(cli(['chain', 'default', '--out', 'ch']).code).toBe(0);
  execFileSync('sh', ['-c', 'cat ch/partition-timestamp.pem ch/device.pem > path.pem'], { cwd });
});

describe('crl issue', () => {
  it('issues v2 CRLs by the device and the factory that openssl and attestamp-verify accept', () => {
    const d = cli(['crl', 'issue', '--by', 'device', '--out', 'device-1.crl', '--json']);
    expect(d.code, d.stderr).toBe(0);
    expect(JSON.parse(d.stdout)).toMatchObject({ issuer: 'device', crlNumber: 1, revoked: 0 });
    const r = cli([
      'crl',
      'issue',
      '--by',
      'factory',
      '--factory',
      'data-factory',
      '--next-update-days',
      '30',
      '--out',
      'root-1.crl',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ issuer: 'root', crlNumber: 1, recorded: true });
    for (const f of ['device-1.crl', 'root-1.crl']) {
      const text = crlText(join(cwd, f));
      expect(text).toMatch(/Version 2 \(0x1\)/);
      expect(text).toMatch(/X509v3 CRL Number: \n\s+1\n/);
      expect(text).toMatch(/X509v3 Authority Key Identifier/);
      expect(text).toMatch(/Next Update: /);
      expect(text).toContain('No Revoked Certificates.');
    }
    const ok = opensslVerify(join(cwd, 'device-1.crl'), join(cwd, 'root-1.crl'));
    expect(ok.stdout + ok.stderr).toContain(': OK');
    expect(ok.status).toBe(0);
    const v = verifyChain('device-1.crl', 'root-1.crl');
    expect(v.code, v.stdout).toBe(0);
  });

  it('refuses a bad issuer or --next-update-days as usage errors', () => {
    expect(cli(['crl', 'issue', '--by', 'tsa']).code).toBe(64);
    expect(cli(['crl', 'issue', '--by', 'factory']).code).toBe(64);
    expect(cli(['crl', 'issue', '--by', 'device', '--next-update-days', '0']).code).toBe(64);
  });

  it('the server publishes the latest CRLs as application/pkix-crl', async () => {
    const tsa = await startTsa(cwd, ['serve', '--port', '0']);
    try {
      for (const [name, file] of [
        ['device', 'device-1.crl'],
        ['root', 'root-1.crl'],
      ] as const) {
        const res = await fetch(`${tsa.url}crl/${name}.crl`);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('application/pkix-crl');
        const body = Buffer.from(await res.arrayBuffer());
        expect(body.equals(readFileSync(join(cwd, file)))).toBe(true);
      }
      expect((await fetch(`${tsa.url}crl/other.crl`)).status).toBe(404);
    } finally {
      await tsa.stop();
    }
  });

  it('a revoked partition is listed with its reason, and the chain then fails', () => {
    const no = cli(['partition', 'revoke', 'default', '--reason', 'keyCompromise']);
    expect(no.code).toBe(77);
    expect(cli(['partition', 'revoke', 'default', '--reason', 'sideways'], officerEnv).code).toBe(
      64,
    );
    const rev = cli(
      ['partition', 'revoke', 'default', '--reason', 'keyCompromise', '--json'],
      officerEnv,
    );
    expect(rev.code, rev.stderr).toBe(0);
    expect((JSON.parse(rev.stdout) as { revokedSerials: string[] }).revokedSerials).toHaveLength(2);
    expect(cli(['partition', 'revoke', 'default'], officerEnv).code).toBe(2);
    const d = cli(['crl', 'issue', '--by', 'device', '--out', 'device-2.crl', '--json']);
    expect(JSON.parse(d.stdout)).toMatchObject({ crlNumber: 2, revoked: 2 });
    const text = crlText(join(cwd, 'device-2.crl'));
    expect(text).toMatch(/X509v3 CRL Number: \n\s+2\n/);
    expect(text.match(/Key Compromise/g)).toHaveLength(2);
    const tsSerial = execFileSync(
      'openssl',
      ['x509', '-in', join(cwd, 'ch/partition-timestamp.pem'), '-noout', '-serial'],
      { encoding: 'utf8' },
    )
      .trim()
      .replace('serial=', '');
    expect(text).toContain(`Serial Number: ${tsSerial}`);
    const bad = opensslVerify(join(cwd, 'device-2.crl'), join(cwd, 'root-1.crl'));
    expect(bad.status).not.toBe(0);
    expect(bad.stdout + bad.stderr).toContain('certificate revoked');
    const v = verifyChain('device-2.crl', 'root-1.crl');
    expect(v.code, v.stdout).toBe(1);
    expect(v.stdout).toMatch(/is revoked/);
    const r2 = cli(['crl', 'issue', '--by', 'factory', '--factory', 'data-factory', '--json']);
    expect(JSON.parse(r2.stdout)).toMatchObject({ crlNumber: 2 });
  });
});

describe('the revocation state in a hostile store', () => {
  function edit(sql: string): void {
    const db = new Database(join(cwd, 'data/attestamp.sqlite'));
    try {
      db.prepare(sql).run();
    } finally {
      db.close();
    }
  }

  it('an edited revocation entry or CRL number is an integrity failure, not a new CRL', () => {
    edit(
      "UPDATE audit SET details_json = json_set(details_json, '$.serials', '') WHERE action = 'partition.revoke'",
    );
    const r = cli(['crl', 'issue', '--by', 'device', '--out', 'device-3.crl']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('[integrity-failed]');
    expect(cli(['partition', 'revoke', 'default'], officerEnv).stderr).toContain(
      '[integrity-failed]',
    );
  });

  it('a CRL number set back is an integrity failure', () => {
    const dir = cwd;
    cwd = tempDir();
    try {
      expect(cli(['init']).code).toBe(0);
      expect(cli(['crl', 'issue', '--by', 'device', '--out', 'a.crl']).code).toBe(0);
      edit(
        "UPDATE audit SET details_json = json_set(details_json, '$.crlNumber', 0) WHERE action = 'crl.issue'",
      );
      const r = cli(['crl', 'issue', '--by', 'device', '--out', 'b.crl']);
      expect(r.code).toBe(4);
      expect(r.stderr).toContain('[integrity-failed]');
    } finally {
      cwd = dir;
    }
  });
});

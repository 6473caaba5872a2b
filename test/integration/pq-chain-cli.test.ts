// A post-quantum attestation chain from the command line: `factory init --algorithm ml-dsa-87
// --passphrase-file`, `init --device-algorithm ml-dsa-65`, a partition with ML-DSA-65 attestation
// and ML-DSA-44 timestamp keys, and `attestamp-verify` accepting the chain, the evidence and the
// key attestation certificate offline (and refusing them under another anchor).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { runVerify } from '../helpers/verify.js';

let cwd: string;

function cli(args: string[]) {
  return runCli(args, { cwd });
}

interface Report {
  outcome: string;
  checks: { id: string; status: string; detail: string }[];
}

beforeAll(() => {
  cwd = tempDir();
  writeFileSync(join(cwd, 'factory.pass'), 'a factory passphrase of some length\n');
  const factory = cli([
    'factory',
    'init',
    '--out',
    'factory',
    '--algorithm',
    'ml-dsa-87',
    '--passphrase-file',
    'factory.pass',
  ]);
  expect(factory.code, factory.stderr).toBe(0);
  // Without the passphrase, the encrypted root key is named as such (exit 77 for a missing one).
  const refused = cli(['init', '--factory', 'factory', '--data', 'refused']);
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toMatch(/passphrase/);
  const init = cli([
    'init',
    '--factory',
    'factory',
    '--factory-passphrase-file',
    'factory.pass',
    '--device-algorithm',
    'ml-dsa-65',
    '--no-default-partition',
  ]);
  expect(init.code, init.stderr).toBe(0);
  const partition = cli([
    'partition',
    'create',
    'pq',
    '--attestation-algorithm',
    'ml-dsa-65',
    '--timestamp-algorithm',
    'ml-dsa-44',
  ]);
  expect(partition.code, partition.stderr).toBe(0);
  expect(cli(['key', 'generate', 'pq', '--label', 'app', '--algorithm', 'ml-dsa-65']).code).toBe(0);
  expect(cli(['chain', 'pq', '--out', 'chain']).code).toBe(0);
}, 180_000);

describe('a post-quantum chain from the CLI', () => {
  it('attestamp-verify accepts the chain, every certificate signed with ML-DSA', () => {
    const r = runVerify(
      ['chain', join('chain', 'bundle.pem'), '--anchor', join('chain', 'root.pem'), '--json'],
      { cwd },
    );
    expect(r.code, r.stdout).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.outcome).toBe('verified');
    expect(readFileSync(join(cwd, 'factory', 'root-key.pem'), 'utf8')).toMatch(
      /^-----BEGIN ENCRYPTED PRIVATE KEY-----/,
    );
  });

  it('accepts the evidence and the key attestation certificate; another anchor fails', () => {
    const evidence = cli(['key', 'attest', 'pq', 'app', '--nonce', '0a0b', '--out', 'app.ev']);
    expect(evidence.code, evidence.stderr).toBe(0);
    const verified = runVerify(
      [
        'evidence',
        'app.ev',
        '--anchor',
        join('chain', 'root.pem'),
        '--allow-software',
        '--nonce',
        '0a0b',
        '--require',
        'extractable=false,never-extractable=true,local=true',
        '--json',
      ],
      { cwd },
    );
    expect(verified.code, verified.stdout).toBe(0);
    const report = JSON.parse(verified.stdout) as Report;
    expect(report.checks.find((c) => c.id === 'evidence.signature')?.status).toBe('pass');

    const cert = cli([
      'key',
      'attest',
      'pq',
      'app',
      '--format',
      'certificate',
      '--chain',
      '--out',
      'app-cert.pem',
    ]);
    expect(cert.code, cert.stderr).toBe(0);
    const certReport = runVerify(
      ['certificate', 'app-cert.pem', '--anchor', join('chain', 'root.pem'), '--allow-software'],
      { cwd },
    );
    expect(certReport.code, certReport.stdout).toBe(0);

    // A classical factory's root is no anchor for this chain.
    expect(cli(['factory', 'init', '--out', 'other']).code).toBe(0);
    const wrong = runVerify(
      ['evidence', 'app.ev', '--anchor', join('other', 'root.pem'), '--allow-software'],
      { cwd },
    );
    expect(wrong.code).toBe(1);
  });
});

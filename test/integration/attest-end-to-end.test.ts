// Key attestation end to end with the command lines only: attestamp init, key generate, key attest
// (evidence and certificate, with a nonce), then attestamp-verify trusting nothing but the factory
// root, given as its certificate or only as its SHA-256.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/attestation/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { runVerify } from '../helpers/verify.js';

const NONCE = '5eed0f0a77e57a7100112233445566778899aabb';
const OTHER_NONCE = '5eed0f0a77e57a7100112233445566778899aabc';
const STRICT = 'extractable=false,never-extractable=true,local=true';

let cwd: string;
let rootSha256: string;
let keySpkiSha256: string;

function cli(args: string[]): void {
  const r = runCli(args, { cwd });
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
}

function verify(args: string[]): { code: number; report: Report } {
  const r = runVerify([...args, '--json'], { cwd });
  expect(r.stderr).toBe('');
  return { code: r.code, report: JSON.parse(r.stdout) as Report };
}

function statusOf(report: Report, id: string): string | undefined {
  return report.checks.find((c) => c.id === id)?.status;
}

function failed(report: Report): string[] {
  return report.checks.filter((c) => c.status === 'fail').map((c) => c.id);
}

const ROOT_ANCHOR = (): string[] => ['--anchor', 'data-factory/root.pem'];
const PIN_ANCHOR = (): string[] => ['--anchor-sha256', rootSha256];

beforeAll(() => {
  cwd = tempDir();
  cli(['init']);
  const status = runCli(['status', '--json'], { cwd });
  rootSha256 = (JSON.parse(status.stdout) as { device: { rootSha256: string } }).device.rootSha256;
  const key = runCli(
    ['key', 'generate', 'default', '--label', 'e2e', '--algorithm', 'ecdsa-p256', '--json'],
    { cwd },
  );
  expect(key.code, key.stderr).toBe(0);
  keySpkiSha256 = (JSON.parse(key.stdout) as { spkiSha256: string }).spkiSha256;
  cli(['key', 'attest', 'default', 'e2e', '--nonce', NONCE, '--out', 'evidence.pem']);
  cli([
    'key',
    'attest',
    'default',
    'e2e',
    '--format',
    'certificate',
    '--nonce',
    NONCE,
    '--out',
    'cert.pem',
  ]);
  cli(['key', 'attest', 'default', 'partition-timestamp', '--out', 'ts-evidence.pem']);
  cli([
    'key',
    'attest',
    'default',
    'partition-timestamp',
    '--format',
    'certificate',
    '--out',
    'ts-cert.pem',
  ]);
  cli(['chain', 'default', '--out', 'chain']);
  // A key attestation certificate is written alone; its issuers come from `attestamp chain`.
  // With a root certificate anchor the bundle may stop below the root; a pin names the root
  // without giving it, so that bundle must carry the root certificate too.
  const read = (f: string): string => readFileSync(join(cwd, 'chain', f), 'utf8');
  const issuers = read('partition-attestation.pem') + read('device.pem');
  for (const leaf of ['cert', 'ts-cert']) {
    const text = readFileSync(join(cwd, `${leaf}.pem`), 'utf8') + issuers;
    writeFileSync(join(cwd, `${leaf}-bundle.pem`), text);
    writeFileSync(join(cwd, `${leaf}-bundle-root.pem`), text + read('root.pem'));
  }
}, 120_000);

describe.each([
  ['the root certificate', ROOT_ANCHOR, ''],
  ['the SHA-256 of the root certificate only', PIN_ANCHOR, '-root'],
])('attestamp-verify trusting %s', (_name, anchor, bundle) => {
  const policy = (): string[] => ['--allow-software', '--require', STRICT, '--nonce', NONCE];

  it('verifies the evidence: the key, its attributes and the nonce', () => {
    const { code, report } = verify(['evidence', 'evidence.pem', ...anchor(), ...policy()]);
    expect(failed(report)).toEqual([]);
    expect(code).toBe(0);
    expect(report.outcome).toBe('verified');
    expect(report.anchor).toBe(rootSha256);
    expect(statusOf(report, 'freshness.nonce')).toBe('pass');
    expect(statusOf(report, 'policy.attributes')).toBe('pass');
    expect(statusOf(report, 'evidence.signature')).toBe('pass');
    const claims = report.claims as {
      transaction: { nonce: string };
      platform: { protectionClass: string };
      keys: { spki: string; extractable: boolean; local: boolean }[];
    };
    expect(claims.transaction.nonce).toBe(NONCE);
    expect(claims.platform.protectionClass).toBe('software');
    expect(claims.keys).toHaveLength(1);
    expect(claims.keys[0]).toMatchObject({ spki: keySpkiSha256, extractable: false, local: true });
  });

  it('verifies the key attestation certificate with its issuers', () => {
    const { code, report } = verify([
      'certificate',
      `cert-bundle${bundle}.pem`,
      ...anchor(),
      ...policy(),
    ]);
    expect(failed(report)).toEqual([]);
    expect(code).toBe(0);
    expect(report.anchor).toBe(rootSha256);
    expect(statusOf(report, 'key.certificate-binding')).toBe('pass');
    expect((report.claims as { keys: { spki: string }[] }).keys[0]?.spki).toBe(keySpkiSha256);
  });

  it('refuses software protection unless --allow-software is given (exit 2)', () => {
    for (const [kind, file] of [
      ['evidence', 'evidence.pem'],
      ['certificate', `cert-bundle${bundle}.pem`],
    ]) {
      const { code, report } = verify([
        kind!,
        file!,
        ...anchor(),
        '--require',
        STRICT,
        '--nonce',
        NONCE,
      ]);
      expect(code).toBe(2);
      expect(report.outcome).toBe('policy-failed');
      expect(failed(report)).toEqual(['policy.protection-class']);
    }
  });

  it('refuses another nonce (exit 2)', () => {
    for (const [kind, file] of [
      ['evidence', 'evidence.pem'],
      ['certificate', `cert-bundle${bundle}.pem`],
    ]) {
      const { code, report } = verify([
        kind!,
        file!,
        ...anchor(),
        '--allow-software',
        '--nonce',
        OTHER_NONCE,
      ]);
      expect(code).toBe(2);
      expect(failed(report)).toEqual(['freshness.nonce']);
    }
  });

  it("verifies the partition's own timestamp key: generated inside, never extractable", () => {
    const expectKey = ['--expect-spki', 'chain/partition-timestamp.pem'];
    for (const [kind, file] of [
      ['evidence', 'ts-evidence.pem'],
      ['certificate', `ts-cert-bundle${bundle}.pem`],
    ]) {
      const { code, report } = verify([
        kind!,
        file!,
        ...anchor(),
        '--allow-software',
        '--require',
        STRICT,
        ...expectKey,
      ]);
      expect(failed(report)).toEqual([]);
      expect(code).toBe(0);
      expect(statusOf(report, 'key.binding')).toBe('pass');
      expect(statusOf(report, 'freshness.nonce')).toBe('skip');
    }
  });
});

describe('attestamp-verify without what it needs', () => {
  it('fails without any anchor (exit 1), never a silent pass', () => {
    const { code, report } = verify(['evidence', 'evidence.pem', '--allow-software']);
    expect(code).toBe(1);
    expect(failed(report)).toContain('trust.anchor');
  });

  it('cannot reach the root from the key attestation certificate alone (exit 1)', () => {
    const { code, report } = verify([
      'certificate',
      'cert.pem',
      ...ROOT_ANCHOR(),
      '--allow-software',
    ]);
    expect(code).toBe(1);
    expect(failed(report)).toContain('path.build');
  });

  it('--help exits 0 and explains the trust model', () => {
    const r = runVerify(['--help'], { cwd });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^Usage: attestamp-verify chain\|evidence\|certificate\|token\|backup /,
    );
    expect(r.stdout).toContain('Trust comes only from the anchors you give');
    expect(r.stdout).toContain('nothing is fetched and no anchor means failure');
    expect(r.stdout).toContain('--anchor-sha256');
    expect(r.stdout).toMatch(
      /0 verified, 1 cryptographic or chain failure, 2 policy failure, 3 indeterminate,\s+64 usage error or unparseable input/,
    );
  });
});

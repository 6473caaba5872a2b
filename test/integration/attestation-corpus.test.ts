// attestamp-verify as a subprocess on every case of the key attestation corpus
// (test/vectors/attestation): exit code, outcome and failing check id as expect.json says; and for
// the chain and certificate cases that plain RFC 5280 can judge, the same verdict as openssl verify.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/attestation/index.js';
import { requireTool } from '../helpers/tools.js';
import { tempDir } from '../helpers/tmp.js';
import { runProgram, runVerifyAsync } from '../helpers/verify.js';
import type { Expectation } from '../vectors/attestation/corpus.js';

const CORPUS = resolve(import.meta.dirname, '../vectors/attestation');

interface CorpusCase {
  readonly path: string;
  readonly folder: string;
  readonly set: 'valid' | 'invalid';
  readonly expect: Expectation;
  readonly args: readonly string[];
}

const cases: CorpusCase[] = (['valid', 'invalid'] as const).flatMap((set) =>
  readdirSync(join(CORPUS, set))
    .sort()
    .map((name) => {
      const folder = join(CORPUS, set, name);
      const read = (f: string): unknown => JSON.parse(readFileSync(join(folder, f), 'utf8'));
      return {
        path: `${set}/${name}`,
        folder,
        set,
        expect: read('expect.json') as Expectation,
        args: read('args.json') as string[],
      };
    }),
);

const has = (c: CorpusCase, file: string): boolean => existsSync(join(c.folder, file));

/** The command line a case stands for (README.md in the corpus): files first, then args.json. */
function verifierArgs(c: CorpusCase): string[] {
  const args: string[] = [c.expect.command];
  if (has(c, 'input.pem')) args.push('input.pem');
  if (has(c, 'anchor.pem')) args.push('--anchor', 'anchor.pem');
  if (has(c, 'anchor-sha256.txt'))
    args.push('--anchor-sha256', readFileSync(join(c.folder, 'anchor-sha256.txt'), 'utf8').trim());
  if (has(c, 'crl.pem')) args.push('--crl', 'crl.pem');
  if (has(c, 'expect-spki.pem')) args.push('--expect-spki', 'expect-spki.pem');
  return [...args, ...c.args, '--json'];
}

/** Every check that can fail on its own; each must be the failing check of some invalid case. */
const FAILABLE_CHECKS = [
  'trust.anchor',
  'path.build',
  'path.leftover',
  'path.validity',
  'path.ca',
  'path.key-cert-sign',
  'path.path-length',
  'path.key-ids',
  'path.critical-extensions',
  'path.algorithms',
  'path.der',
  'roles.chain',
  'roles.evidence-on-leaf',
  'roles.ids',
  'roles.attestation-key',
  'evidence.structure',
  'evidence.signature',
  'evidence.ak-spki',
  'key.certificate-binding',
  'key.binding',
  'policy.attributes',
  'policy.protection-class',
  'policy.key-state',
  'freshness.nonce',
  'revocation',
];

describe('the corpus', () => {
  it('has valid and invalid cases for every command and every failable check', () => {
    expect(cases.filter((c) => c.set === 'valid').length).toBeGreaterThanOrEqual(10);
    expect(cases.filter((c) => c.set === 'invalid').length).toBeGreaterThanOrEqual(40);
    for (const command of ['chain', 'evidence', 'certificate']) {
      expect(cases.some((c) => c.set === 'valid' && c.expect.command === command)).toBe(true);
      expect(cases.some((c) => c.set === 'invalid' && c.expect.command === command)).toBe(true);
    }
    const covered = new Set(cases.map((c) => c.expect.failingCheck));
    expect(FAILABLE_CHECKS.filter((id) => !covered.has(id))).toEqual([]);
    for (const code of [1, 2, 3, 64]) {
      expect(cases.some((c) => c.expect.exitCode === code)).toBe(true);
    }
  });
});

describe('attestamp-verify on the corpus', () => {
  it.concurrent.each(cases)('$path', async (c) => {
    const r = await runVerifyAsync(verifierArgs(c), { cwd: c.folder });
    expect(r.code, r.stderr).toBe(c.expect.exitCode);
    if (c.expect.outcome === 'usage') {
      // With --json, the refusal is the one JSON document on standard output; one line on stderr.
      const doc = JSON.parse(r.stdout) as { error: { code: string; message: string } };
      expect(doc.error.code).toBe('usage');
      expect(r.stderr).toMatch(/^attestamp-verify: [^\n]+\n$/);
      expect(r.stderr).toBe(`attestamp-verify: ${doc.error.message}\n`);
      return;
    }
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as Report;
    expect(report.outcome).toBe(c.expect.outcome);
    expect(report.exitCode).toBe(c.expect.exitCode);
    const failed = report.checks.filter((k) => k.status === 'fail').map((k) => k.id);
    if (c.set === 'valid') {
      expect(failed).toEqual([]);
      expect(report.checks.filter((k) => k.status === 'warn')).toEqual([]);
      expect(report.anchor).toMatch(/^[0-9a-f]{64}$/);
      return;
    }
    const id = c.expect.failingCheck;
    expect(id).not.toBeNull();
    if (c.expect.outcome === 'indeterminate') {
      // Undecided, not failed: the check is a warning and nothing failed.
      expect(failed).toEqual([]);
      expect(report.checks.filter((k) => k.status === 'warn').map((k) => k.id)).toContain(id);
    } else {
      expect(failed).toContain(id);
    }
  });
});

// ------------------------------------------------------------------ openssl verify on the same input

/** Cases openssl judges as RFC 5280 does; it must accept exactly when attestamp-verify does. */
const OPENSSL_COMPARED = [
  'valid/certificate-built-by-hand',
  'valid/certificate-good',
  'valid/certificate-timestamp-key',
  'valid/chain-crl-not-revoked',
  'valid/chain-expired-device-at-inside',
  'valid/chain-good',
  'invalid/certificate-expired',
  'invalid/certificate-forged-leaf',
  'invalid/certificate-path-length-exceeded',
  'invalid/chain-expired-device',
  'invalid/chain-issuer-without-key-cert-sign',
  'invalid/chain-missing-authority-key-id',
  'invalid/chain-no-anchor',
  'invalid/chain-revocation-required-missing',
  'invalid/chain-revoked-device',
  'invalid/chain-rsa-1024-key',
  'invalid/chain-sha1-signature',
  'invalid/chain-unknown-critical-extension',
  'invalid/chain-wrong-anchor',
];

/**
 * Cases that break only our profile (roles, evidence binding, strict DER, exact bundles): openssl
 * accepts them, which shows each case isolates that one check.
 */
const OPENSSL_PROFILE_ONLY: Readonly<Record<string, string>> = {
  'invalid/certificate-evidence-on-intermediate': 'role profile: evidence extension on a leaf only',
  'invalid/certificate-key-not-attested': 'evidence extension bound to the certificate key',
  'invalid/certificate-partition-id-swapped': 'role extension ids against the claims',
  'invalid/chain-device-id-mismatch': 'role extension ids along the chain',
  'invalid/chain-ber-long-form-length': 'openssl reads BER lengths; we require strict DER',
  'invalid/chain-ber-indefinite-length': 'openssl reads BER lengths; we require strict DER',
  'invalid/chain-trailing-bytes': 'openssl ignores bytes after a certificate',
  'invalid/chain-duplicate-certificate': 'openssl ignores unused untrusted certificates',
  'invalid/chain-leftover-certificate': 'openssl ignores unused untrusted certificates',
};

/** Chain and certificate cases openssl cannot judge at all. */
const OPENSSL_NOT_JUDGED: Readonly<Record<string, string>> = {
  'valid/chain-anchor-sha256-certificate': 'openssl verify has no SHA-256 anchor pins',
  'valid/chain-anchor-sha256-spki': 'openssl verify has no SHA-256 anchor pins',
  'invalid/usage-no-file': 'a command-line error, no chain to judge',
  'invalid/usage-unknown-option': 'a command-line error',
  'invalid/usage-bad-at': 'a command-line error',
  'invalid/usage-nonexistent-date': 'a command-line error',
};

function pemBlocks(text: string): string[] {
  return [...text.matchAll(/-----BEGIN [A-Z0-9 ]+-----[\s\S]*?-----END [A-Z0-9 ]+-----\n?/g)].map(
    (m) => m[0],
  );
}

const scratch = tempDir('attestamp-openssl-');

/** openssl verify with the case's anchor, intermediates, time and CRLs; true when it accepts. */
async function opensslAccepts(c: CorpusCase): Promise<{ ok: boolean; output: string }> {
  const [leaf, ...rest] = pemBlocks(readFileSync(join(c.folder, 'input.pem'), 'utf8'));
  const base = join(scratch, c.path.replace('/', '-'));
  writeFileSync(`${base}-leaf.pem`, leaf ?? '');
  const args = ['verify', '-x509_strict', '-auth_level', '2'];
  if (has(c, 'anchor.pem')) args.push('-CAfile', join(c.folder, 'anchor.pem'));
  else args.push('-no-CAfile', '-no-CApath', '-no-CAstore');
  if (rest.length > 0) {
    writeFileSync(`${base}-untrusted.pem`, rest.join(''));
    args.push('-untrusted', `${base}-untrusted.pem`);
  }
  const at = c.args.indexOf('--at');
  if (at >= 0) args.push('-attime', String(Math.floor(Date.parse(c.args[at + 1]!) / 1000)));
  if (has(c, 'crl.pem') || c.args.includes('--require-revocation')) {
    args.push('-crl_check_all');
    if (has(c, 'crl.pem')) args.push('-CRLfile', join(c.folder, 'crl.pem'));
  }
  args.push(`${base}-leaf.pem`);
  const r = await runProgram('openssl', args, { cwd: c.folder });
  return { ok: r.code === 0 && r.stdout.trim().endsWith(': OK'), output: r.stdout + r.stderr };
}

const chainLike = cases.filter((c) => c.expect.command !== 'evidence');

describe('openssl verify on the chain and certificate cases', () => {
  it('classifies every chain and certificate case exactly once', () => {
    const listed = [
      ...OPENSSL_COMPARED,
      ...Object.keys(OPENSSL_PROFILE_ONLY),
      ...Object.keys(OPENSSL_NOT_JUDGED),
    ];
    expect(new Set(listed).size).toBe(listed.length);
    expect([...listed].sort()).toEqual(chainLike.map((c) => c.path).sort());
  });

  describe.skipIf(requireTool('openssl'))('with openssl', () => {
    const compared = chainLike.filter((c) => OPENSSL_COMPARED.includes(c.path));
    it.concurrent.each(compared)('$path: openssl agrees', async (c) => {
      const { ok, output } = await opensslAccepts(c);
      expect(ok, output).toBe(c.expect.exitCode === 0);
    });

    const profileOnly = chainLike.filter((c) => c.path in OPENSSL_PROFILE_ONLY);
    it.concurrent.each(profileOnly)(
      '$path: openssl accepts, only our profile refuses',
      async (c) => {
        expect(c.expect.exitCode).not.toBe(0);
        const { ok, output } = await opensslAccepts(c);
        expect(ok, output).toBe(true);
      },
    );
  });
});

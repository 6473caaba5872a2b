// Keys and chains out of the operator CLI: 'key public' in PEM, DER and JWK (read by openssl and
// node:crypto, and checked against signatures the HSM made), and 'key attest --chain/--json'.
import { execFileSync } from 'node:child_process';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { runVerify } from '../helpers/verify.js';

let cwd: string;

function cli(args: string[], env: Record<string, string> = {}) {
  return runCli(args, { cwd, env });
}

function pemBlocks(text: string): string[] {
  return text.match(/-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----\n/g) ?? [];
}

beforeAll(() => {
  cwd = tempDir();
  expect(cli(['init']).code).toBe(0);
  for (const [label, alg] of [
    ['ed', 'ed25519'],
    ['p256', 'ecdsa-p256'],
    ['p384', 'ecdsa-p384'],
    ['rsa', 'rsa-3072'],
  ] as const) {
    const r = cli(['key', 'generate', 'default', '--label', label, '--algorithm', alg]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }
});

describe('key public', () => {
  it.each(['ed', 'p256', 'p384', 'rsa'])(
    '%s: PEM and DER read by openssl, JWK imports and equals the SPKI',
    (label) => {
      const pem = cli(['key', 'public', 'default', label]);
      expect(pem.code).toBe(0);
      expect(pem.stdout).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
      const derFile = join(cwd, `${label}.der`);
      expect(
        cli(['key', 'public', 'default', label, '--format', 'der', '--out', derFile]).code,
      ).toBe(0);
      const fromDer = execFileSync(
        'openssl',
        ['pkey', '-pubin', '-inform', 'DER', '-in', derFile, '-outform', 'PEM'],
        { encoding: 'utf8' },
      );
      const fromPem = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'PEM'], {
        input: pem.stdout,
        encoding: 'utf8',
      });
      expect(fromDer).toBe(pem.stdout);
      expect(fromPem).toBe(pem.stdout);

      const jwkOut = cli(['key', 'public', 'default', label, '--format', 'jwk']);
      expect(jwkOut.code).toBe(0);
      const jwk = JSON.parse(jwkOut.stdout) as Record<string, string>;
      expect(jwk.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(jwk.d).toBeUndefined();
      const spki = createPublicKey({ key: jwk, format: 'jwk' }).export({
        type: 'spki',
        format: 'der',
      });
      expect(Buffer.compare(spki, readFileSync(derFile))).toBe(0);

      const json = cli(['key', 'public', 'default', label, '--json']);
      const doc = JSON.parse(json.stdout) as {
        spki: string;
        sha256: string;
        key: { spkiSha256: string };
      };
      expect(doc.spki).toBe(readFileSync(derFile).toString('hex'));
      expect(doc.sha256).toBe(doc.key.spkiSha256);
    },
  );

  it('a signature made by the HSM verifies with the exported key', () => {
    const att = cli(['key', 'attest', 'default', 'ed', '--format', 'certificate']);
    expect(att.code).toBe(0);
    const pub = cli(['key', 'public', 'default', 'partition-attestation']);
    expect(pub.code).toBe(0);
    const cert = new X509Certificate(att.stdout);
    expect(cert.verify(createPublicKey(pub.stdout))).toBe(true);
    const other = cli(['key', 'public', 'default', 'partition-timestamp']);
    expect(cert.verify(createPublicKey(other.stdout))).toBe(false);
  });

  it('refuses an unknown format and DER to a terminal, and an unknown key', () => {
    expect(cli(['key', 'public', 'default', 'ed', '--format', 'xml']).code).toBe(64);
    expect(cli(['key', 'public', 'default', 'ed', '--format', 'der']).code).toBe(64);
    expect(cli(['key', 'public', 'default', 'nope']).code).toBe(3);
  });
});

describe('key attest --chain and --json', () => {
  it('writes the certificate with its chain, leaf first, and attestamp-verify accepts it', () => {
    const out = join(cwd, 'att.pem');
    const r = cli([
      'key',
      'attest',
      'default',
      'p256',
      '--format',
      'certificate',
      '--chain',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    const blocks = pemBlocks(readFileSync(out, 'utf8'));
    expect(blocks).toHaveLength(4);
    const certs = blocks.map((b) => new X509Certificate(b));
    for (let i = 0; i + 1 < certs.length; i++) {
      expect(certs[i]!.checkIssued(certs[i + 1]!)).toBe(true);
    }
    expect(certs[3]!.checkIssued(certs[3]!)).toBe(true);
    const v = runVerify(
      ['certificate', out, '--anchor', join(cwd, 'data-factory/root.pem'), '--allow-software'],
      { cwd },
    );
    expect(v.stdout + v.stderr).toContain('VERIFIED');
    expect(v.code).toBe(0);
  });

  it('--json prints one JSON document, not PEM', () => {
    const r = cli([
      'key',
      'attest',
      'default',
      'p256',
      '--format',
      'certificate',
      '--chain',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      format: string;
      pem: string;
      der: string;
      sha256: string;
      chain: { pem: string; sha256: string }[];
    };
    expect(doc.format).toBe('certificate');
    expect(pemBlocks(doc.pem)).toHaveLength(4);
    expect(doc.chain).toHaveLength(3);
    expect(doc.sha256).toMatch(/^[0-9a-f]{64}$/);
    const ev = cli(['key', 'attest', 'default', 'p256', '--json']);
    expect((JSON.parse(ev.stdout) as { format: string }).format).toBe('evidence');
    expect(cli(['key', 'attest', 'default', 'p256', '--chain']).code).toBe(64);
  });
});

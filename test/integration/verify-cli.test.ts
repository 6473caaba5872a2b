// attestamp-verify's command-line conventions, as a subprocess: --version, help per subcommand,
// one-line usage errors that name the option, the JSON error document, --certs for every
// subcommand, a corrupt certificate as unparseable input, and the hint for a root-first bundle.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/attestation/index.js';
import { decodePemAll, encodePem } from '../../src/pki/index.js';
import { tempDir } from '../helpers/tmp.js';
import { runVerify } from '../helpers/verify.js';

const CORPUS = resolve(import.meta.dirname, '../vectors/attestation');
const PACKAGE = JSON.parse(
  readFileSync(resolve(import.meta.dirname, '../../package.json'), 'utf8'),
) as { version: string };

interface ErrorDocument {
  readonly error: { code: string; message: string; details: Record<string, unknown> };
}

let cwd: string;

function pemsOf(file: string): string[] {
  return decodePemAll(readFileSync(file, 'utf8')).map((b) => encodePem(b.label, b.der));
}

function run(args: readonly string[]) {
  return runVerify(args, { cwd });
}

function json(args: readonly string[]): { code: number; doc: unknown; stderr: string } {
  const r = run([...args, '--json']);
  return { code: r.code, doc: JSON.parse(r.stdout) as unknown, stderr: r.stderr };
}

beforeAll(() => {
  cwd = tempDir();
  const chain = pemsOf(join(CORPUS, 'valid/chain-good/input.pem'));
  writeFileSync(join(cwd, 'root.pem'), readFileSync(join(CORPUS, 'valid/chain-good/anchor.pem')));
  writeFileSync(join(cwd, 'chain.pem'), chain.join(''));
  writeFileSync(join(cwd, 'leaf.pem'), chain[0]!);
  writeFileSync(join(cwd, 'issuers.pem'), chain.slice(1).join(''));
  writeFileSync(join(cwd, 'root-first.pem'), [...chain].reverse().join(''));
  const certificate = pemsOf(join(CORPUS, 'valid/certificate-good/input.pem'));
  writeFileSync(
    join(cwd, 'cert-root.pem'),
    readFileSync(join(CORPUS, 'valid/certificate-good/anchor.pem')),
  );
  writeFileSync(join(cwd, 'attested.pem'), certificate[0]!);
  writeFileSync(join(cwd, 'attested-issuers.pem'), certificate.slice(1).join(''));
  // The leaf cut in half inside a well-formed PEM block: no certificate, not even BER.
  const leafDer = decodePemAll(chain[0]!)[0]!.der;
  writeFileSync(
    join(cwd, 'corrupt.pem'),
    encodePem('CERTIFICATE', leafDer.subarray(0, leafDer.length >> 1)) + chain.slice(1).join(''),
  );
  // A PEM block whose END line is missing (a file cut short).
  writeFileSync(join(cwd, 'cut.pem'), chain.join('').replace(/-----END CERTIFICATE-----\n$/, ''));
});

describe('attestamp-verify --version and --help', () => {
  it('--version prints the package version, anywhere on the line', () => {
    for (const args of [['--version'], ['chain', '--version'], ['token', '--json', '--version']]) {
      const r = run(args);
      expect([r.code, r.stdout, r.stderr]).toEqual([
        0,
        `attestamp-verify ${PACKAGE.version}\n`,
        '',
      ]);
    }
  });

  it('--help lists the subcommands; SUBCOMMAND --help shows only its own options (exit 0)', () => {
    const top = run(['--help']);
    expect(top.code).toBe(0);
    for (const k of ['chain', 'evidence', 'certificate', 'token'])
      expect(top.stdout).toMatch(new RegExp(`^  ${k} `, 'm'));
    expect(top.stdout).not.toContain('--expect-spki');

    const token = run(['token', '--help']);
    expect([token.code, token.stderr]).toEqual([0, '']);
    expect(token.stdout).toMatch(/^Usage: attestamp-verify token --token FILE/);
    for (const o of ['--token', '--data', '--digest', '--request', '--evidence', '--certs'])
      expect(token.stdout).toContain(o);
    for (const o of ['--expect-spki', '--require ', '--nonce'])
      expect(token.stdout).not.toContain(o);

    const chain = run(['chain', '-h']);
    expect(chain.code).toBe(0);
    expect(chain.stdout).toMatch(/^Usage: attestamp-verify chain FILE/);
    expect(chain.stdout).toContain('--profile');
    expect(chain.stdout).not.toContain('--token');
    const evidence = run(['evidence', '--help']);
    expect(evidence.stdout).toContain('--expect-spki');
    expect(evidence.stdout).not.toContain('--profile');
  });
});

describe('attestamp-verify usage errors: one line naming the option, exit 64', () => {
  it.each([
    [
      ['chain', 'chain.pem', '--anchr', 'root.pem'],
      "attestamp-verify: unknown option '--anchr'; did you mean --anchor? (see attestamp-verify chain --help)\n",
    ],
    [
      ['evidence', 'x.pem', '--profile', 'x509'],
      'attestamp-verify: --profile does not apply to evidence (it applies to chain, token) (see attestamp-verify evidence --help)\n',
    ],
    [['chain', 'chain.pem', '--anchor'], 'attestamp-verify: --anchor needs a value (FILE)\n'],
    [
      ['chian', 'chain.pem'],
      "attestamp-verify: unknown subcommand 'chian'; did you mean chain? (see attestamp-verify --help)\n",
    ],
    [['chain', 'chain.pem', '--json=yes'], 'attestamp-verify: --json takes no value\n'],
  ])('%j', (args, line) => {
    const r = run(args);
    expect([r.code, r.stdout, r.stderr]).toEqual([64, '', line]);
  });

  it('never repeats the value of an option', () => {
    const secretish = 'zz-not-a-hash-zz';
    for (const args of [
      ['chain', 'chain.pem', '--anchor-sha256', secretish],
      ['chain', 'chain.pem', '--at', secretish],
      ['chain', 'chain.pem', '--profile', secretish],
      ['evidence', 'x.pem', '--nonce', secretish],
    ]) {
      const r = run(args);
      expect(r.code).toBe(64);
      expect(r.stderr.split('\n')).toHaveLength(2);
      expect(r.stderr).not.toContain(secretish);
    }
  });

  it('names the unknown --require attribute of evidence', () => {
    const r = run(['evidence', 'x.pem', '--require', 'constructor=true']);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/^attestamp-verify: --require: unknown attribute 'constructor'/);
  });

  it('with --json, the refusal is one error document on stdout', () => {
    const { code, doc, stderr } = json(['chain', 'chain.pem', '--anchr', 'root.pem']);
    expect(code).toBe(64);
    expect(doc).toEqual({
      error: {
        code: 'usage',
        message:
          "unknown option '--anchr'; did you mean --anchor? (see attestamp-verify chain --help)",
        details: { option: '--anchr', subcommand: 'chain', suggestions: ['--anchor'] },
      },
    });
    expect(stderr).toBe(`attestamp-verify: ${(doc as ErrorDocument).error.message}\n`);
    const missing = json(['chain', 'nonexistent.pem', '--anchor', 'root.pem']);
    expect(missing.code).toBe(64);
    expect((missing.doc as ErrorDocument).error).toMatchObject({
      code: 'unreadable-input',
      details: { option: 'FILE', path: 'nonexistent.pem' },
    });
    const cut = json(['chain', 'cut.pem', '--anchor', 'root.pem']);
    expect(cut.code).toBe(64);
    expect((cut.doc as ErrorDocument).error.code).toBe('unparseable-input');
    expect((cut.doc as ErrorDocument).error.message).toMatch(/without its END line/);
  });
});

describe('attestamp-verify input handling', () => {
  it('chain --certs completes the path with untrusted certificates', () => {
    const alone = json(['chain', 'leaf.pem', '--anchor', 'root.pem']);
    expect(alone.code).toBe(1);
    const r = json(['chain', 'leaf.pem', '--certs', 'issuers.pem', '--anchor', 'root.pem']);
    const report = r.doc as Report;
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(r.code).toBe(0);
    // Unused --certs certificates are no leftovers: the full bundle again as --certs.
    const again = json(['chain', 'chain.pem', '--certs', 'issuers.pem', '--anchor', 'root.pem']);
    expect(again.code).toBe(0);
  });

  it('certificate --certs completes the path of a key attestation certificate', () => {
    const args = ['certificate', 'attested.pem', '--anchor', 'cert-root.pem'];
    const rest = ['--allow-software', '--at', '2025-06-01T01:00:00Z'];
    expect(json([...args, ...rest]).code).toBe(1);
    const r = json([...args, '--certs', 'attested-issuers.pem', ...rest]);
    expect((r.doc as Report).checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(r.code).toBe(0);
  });

  it('a corrupt certificate in a chain is unparseable (exit 64), as a corrupt token is', () => {
    const r = json(['chain', 'corrupt.pem', '--anchor', 'root.pem']);
    const report = r.doc as Report;
    expect(r.code).toBe(64);
    expect(report.outcome).toBe('unparseable');
    expect(report.checks.find((c) => c.id === 'path.der')?.detail).toMatch(
      /^certificate 0 cannot be parsed/,
    );
    expect(run(['chain', 'corrupt.pem', '--anchor', 'root.pem']).stdout).toMatch(/^UNPARSEABLE/);
  });

  it('a root-first bundle fails with a hint to give the leaf first', () => {
    const r = json(['chain', 'root-first.pem', '--anchor', 'root.pem']);
    const report = r.doc as Report;
    expect(r.code).toBe(1);
    expect(report.checks.find((c) => c.id === 'path.leftover')?.detail).toBe(
      '2 certificate(s) not on the path, 0 duplicate(s); certificates appear root first; give the leaf first',
    );
  });
});

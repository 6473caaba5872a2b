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

describe('wrapping keys come from files, and are never echoed', () => {
  const secret = 'c0ffee'.repeat(10) + 'abcd';

  it.each([
    ['key', 'export', 'default', 'ed', '--wrap-key', secret, '--out', 'x.kwp'],
    ['key', 'export', 'default', 'ed', '--wrap-key-file', secret, '--out', 'x.kwp'],
    ['key', 'import', 'default', '--label', 'i', '--in', 'x.kwp', '--unwrap-key', secret],
    ['key', 'import', 'default', '--label', 'i', '--in', 'x.kwp', '--unwrap-key-file', secret],
  ])('%s %s ... %s refuses the hex without printing it', (...args) => {
    for (const json of [[], ['--json']]) {
      const r = cli([...args, ...json]);
      expect(r.code).toBe(64);
      expect(r.stdout + r.stderr).not.toContain(secret);
      expect(r.stdout + r.stderr).not.toContain(secret.slice(0, 16));
      expect(r.stdout + r.stderr).toMatch(/-key-file FILE/);
    }
  });

  it('an unreadable key file is not named either (it may be a mistyped key)', () => {
    const r = cli([
      'key',
      'export',
      'default',
      'ed',
      '--wrap-key-file',
      'no-such-kf',
      '--out',
      'x',
    ]);
    expect(r.code).toBe(65);
    expect(r.stderr).not.toContain('no-such-kf');
  });

  it('--wrap-key-file and its alias --wrap-key read the key file', () => {
    expect(cli(['partition', 'create', 'wk']).code).toBe(0);
    const officer = {
      ATTESTAMP_OFFICER_PASSPHRASE: readFileSync(
        join(cwd, 'data/officer.passphrase'),
        'utf8',
      ).trim(),
    };
    expect(cli(['partition', 'policy', 'wk', '--export', 'on'], officer).code).toBe(0);
    expect(
      cli(['key', 'generate', 'wk', '--label', 'm', '--algorithm', 'ecdsa-p256', '--extractable'])
        .code,
    ).toBe(0);
    execFileSync('sh', ['-c', 'openssl rand -hex 32 > kek.hex'], { cwd });
    for (const flag of ['--wrap-key-file', '--wrap-key']) {
      const r = cli(['key', 'export', 'wk', 'm', flag, 'kek.hex', '--out', 'm.kwp']);
      expect(r.code, r.stderr).toBe(0);
    }
    const both = cli([
      'key',
      'export',
      'wk',
      'm',
      '--wrap-key-file',
      'kek.hex',
      '--wrap-key',
      'kek.hex',
      '--out',
      'm.kwp',
    ]);
    expect(both.code).toBe(64);
  });
});

describe('key command JSON and officer hints', () => {
  it('delete, restore and purge print the key as key show --json does', () => {
    expect(
      cli(['key', 'generate', 'default', '--label', 'trash', '--algorithm', 'ed25519']).code,
    ).toBe(0);
    const show = JSON.parse(cli(['key', 'show', 'default', 'trash', '--json']).stdout) as Record<
      string,
      unknown
    >;
    const del = JSON.parse(cli(['key', 'delete', 'default', 'trash', '--json']).stdout) as Record<
      string,
      unknown
    >;
    // The same fields, and invalidatedAt once the key is in the trash.
    expect(Object.keys(del).sort()).toEqual([...Object.keys(show), 'invalidatedAt'].sort());
    expect(del).toMatchObject({ id: show.id, label: 'trash', state: 'invalidated' });
    const officer = {
      ATTESTAMP_OFFICER_PASSPHRASE: readFileSync(
        join(cwd, 'data/officer.passphrase'),
        'utf8',
      ).trim(),
    };
    const restored = JSON.parse(
      cli(['key', 'restore', 'default', 'trash', '--json'], officer).stdout,
    ) as Record<string, unknown>;
    expect(Object.keys(restored).sort()).toEqual(Object.keys(show).sort());
    expect(restored).toMatchObject({ id: show.id, state: 'active' });
    expect(cli(['key', 'delete', 'default', 'trash']).code).toBe(0);
    const purged = JSON.parse(
      cli(['key', 'purge', 'default', 'trash', '--json'], officer).stdout,
    ) as Record<string, unknown>;
    expect(purged).toMatchObject({ id: show.id, label: 'trash', state: 'destroyed' });
    expect(Object.keys(purged).sort()).toEqual([...Object.keys(show), 'invalidatedAt'].sort());
  });

  it('restore and purge without a credential exit 77 naming the flag and the passphrase file', () => {
    expect(
      cli(['key', 'generate', 'default', '--label', 'tr2', '--algorithm', 'ed25519']).code,
    ).toBe(0);
    expect(cli(['key', 'delete', 'default', 'tr2']).code).toBe(0);
    for (const action of ['restore', 'purge']) {
      const r = cli(['key', action, 'default', 'tr2']);
      expect(r.code).toBe(77);
      expect(r.stderr).toContain('--officer-passphrase-file');
      expect(r.stderr).toContain(join(cwd, 'data/officer.passphrase'));
      expect(r.stderr).not.toContain(
        readFileSync(join(cwd, 'data/officer.passphrase'), 'utf8').trim(),
      );
    }
  });
});

describe('key public in a hostile store', () => {
  it('a public key swapped in the row is an integrity failure, not an export', async () => {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(join(cwd, 'data/attestamp.sqlite'));
    try {
      const other = db.prepare("SELECT spki FROM keys WHERE label = 'p256'").get() as {
        spki: Buffer;
      };
      db.prepare("UPDATE keys SET spki = ? WHERE label = 'p384'").run(other.spki);
    } finally {
      db.close();
    }
    const r = cli(['key', 'public', 'default', 'p384']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('[integrity-failed]');
    expect(r.stdout).toBe('');
  });
});

// Signatures over a digest against OpenSSL's `pkeyutl` (the pre-hashed signing an HSM client
// expects): OpenSSL's signatures of a digest verify with the HSM's digest verifier, and the HSM's
// verify with `openssl pkeyutl -verify`, for ECDSA P-256 and P-384, RSA PKCS#1 v1.5 and RSA-PSS
// (MGF1 with the hash, salt 32); Ed25519 has no digest mode here as in OpenSSL.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  digestVerifyOperation,
  mechanismFor,
  signDigestOperation,
  type GeneratedKey,
} from '../../src/hsm/mechanisms/index.js';
import { encodePem, keyAlgorithmInfo, type KeyAlgorithm } from '../../src/pki/index.js';
import { expectHsmError } from '../unit/hsm/support.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';

function openssl(args: readonly string[], cwd: string): { status: number | null; out: string } {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function opensslOk(args: readonly string[], cwd: string): void {
  const r = openssl(args, cwd);
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.out}`);
}

const PSS_OPTIONS = ['rsa_padding_mode:pss', 'rsa_pss_saltlen:32', 'rsa_mgf1_md:sha256'];

/** The -pkeyopt options that name the scheme of each key algorithm to pkeyutl. */
const CASES: readonly (readonly [KeyAlgorithm, readonly string[]])[] = [
  ['ecdsa-p256', []],
  ['ecdsa-p384', []],
  ['rsa-3072', ['rsa_padding_mode:pkcs1']],
  ['rsa-pss-3072', PSS_OPTIONS],
];

const skip = requireTool('openssl');

describe.skipIf(skip)('signatures over a digest with openssl pkeyutl', () => {
  let cwd: string;
  const keys = new Map<KeyAlgorithm, GeneratedKey>();

  beforeAll(async () => {
    cwd = tempDir('digest-openssl');
    for (const name of [...CASES.map(([n]) => n), 'ed25519' as const]) {
      const mechanism = mechanismFor(name);
      const key = await mechanism.generate();
      keys.set(name, key);
      writeFileSync(
        join(cwd, `${name}.pem`),
        encodePem('PRIVATE KEY', mechanism.encode(key.privateKey)),
      );
      writeFileSync(join(cwd, `${name}.pub.pem`), encodePem('PUBLIC KEY', key.publicPart));
    }
  }, 120_000);

  /** The public key as the verifiers take it: SPKI DER. */
  function publicKeyOf(name: KeyAlgorithm): Uint8Array {
    return keys.get(name)!.publicPart;
  }

  /** A digest of `text` with the key algorithm's hash, written to a file of its own. */
  function digestFile(name: KeyAlgorithm, text: string): { digest: Uint8Array; file: string } {
    const hash = keyAlgorithmInfo(name).hash!;
    const digest = new Uint8Array(createHash(hash).update(text).digest());
    const file = `${name}-${createHash('sha256').update(text).digest('hex').slice(0, 8)}.dgst`;
    writeFileSync(join(cwd, file), digest);
    return { digest, file };
  }

  const pkeyopts = (name: KeyAlgorithm, options: readonly string[]): string[] =>
    [`digest:${keyAlgorithmInfo(name).hash!}`, ...options].flatMap((o) => ['-pkeyopt', o]);

  it.each(CASES)('%s: openssl signs a digest, the digest verifier accepts it', (name, options) => {
    const check = digestVerifyOperation(name, publicKeyOf(name));
    const { digest, file } = digestFile(name, 'signed by openssl');
    const other = digestFile(name, 'another message');
    // Several signatures: ECDSA's differ each time, and about half of OpenSSL's are high-S.
    for (let i = 0; i < 4; i++) {
      const sig = `${file}.openssl-${i}.sig`;
      opensslOk(
        [
          'pkeyutl',
          '-sign',
          '-inkey',
          `${name}.pem`,
          '-in',
          file,
          '-out',
          sig,
          ...pkeyopts(name, options),
        ],
        cwd,
      );
      const signature = readFileSync(join(cwd, sig));
      expect(check(digest, signature)).toBe(true);
      expect(check(other.digest, signature)).toBe(false);
    }
  });

  it.each(CASES)(
    '%s: the HSM signs a digest, openssl pkeyutl -verify accepts it',
    (name, options) => {
      const { digest, file } = digestFile(name, 'signed by the hsm');
      const other = digestFile(name, 'not signed by the hsm');
      const sig = `${file}.hsm.sig`;
      writeFileSync(join(cwd, sig), signDigestOperation(name)(keys.get(name)!.privateKey, digest));
      const verifyArgs = (input: string): string[] => [
        'pkeyutl',
        '-verify',
        '-pubin',
        '-inkey',
        `${name}.pub.pem`,
        '-in',
        input,
        '-sigfile',
        sig,
        ...pkeyopts(name, options),
      ];
      const good = openssl(verifyArgs(file), cwd);
      expect(good.out).toContain('Signature Verified Successfully');
      expect(good.status).toBe(0);
      const bad = openssl(verifyArgs(other.file), cwd);
      expect(bad.out).toContain('Signature Verification Failure');
      expect(bad.status).not.toBe(0);
    },
  );

  it('RSA: openssl tells PKCS#1 v1.5 and PSS signatures of one key apart as the HSM does', () => {
    const { digest, file } = digestFile('rsa-3072', 'padding');
    const sig = `${file}.pkcs1.sig`;
    writeFileSync(
      join(cwd, sig),
      signDigestOperation('rsa-3072')(keys.get('rsa-3072')!.privateKey, digest),
    );
    const asPss = openssl(
      [
        'pkeyutl',
        '-verify',
        '-pubin',
        '-inkey',
        'rsa-3072.pub.pem',
        '-in',
        file,
        '-sigfile',
        sig,
        ...pkeyopts('rsa-3072', PSS_OPTIONS),
      ],
      cwd,
    );
    expect(asPss.status).not.toBe(0);
    expect(
      digestVerifyOperation('rsa-pss-3072', publicKeyOf('rsa-3072'))(
        digest,
        readFileSync(join(cwd, sig)),
      ),
    ).toBe(false);
  });

  it('Ed25519: no digest mode, in the HSM (invalid-argument) as in openssl pkeyutl', () => {
    expect(
      expectHsmError(() => signDigestOperation('ed25519'), 'invalid-argument').details,
    ).toEqual({ algorithm: 'ed25519', field: 'digest' });
    expectHsmError(
      () => digestVerifyOperation('ed25519', publicKeyOf('ed25519')),
      'invalid-argument',
    );
    writeFileSync(join(cwd, 'ed.dgst'), createHash('sha256').update('x').digest());
    const r = openssl(['pkeyutl', '-sign', '-inkey', 'ed25519.pem', '-in', 'ed.dgst'], cwd);
    expect(r.status).not.toBe(0);
  });
});

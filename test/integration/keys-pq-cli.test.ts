// Post-quantum keys from the operator CLI: generated with --algorithm ml-dsa-*/slh-dsa-*, their
// public key as PEM and as the AKP JWK (RFC 7638 thumbprint of alg, kty, pub as kid), an SLH-DSA
// key's --format jwk refused in one line and "jwk": null in --json, data signed and verified,
// and a --digest refused with the HSM's invalid-argument (exit 64).
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ml_dsa44 } from '@noble/post-quantum/ml-dsa.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodePqSpki } from '../../src/hsm/pq/index.js';
import { decodePem } from '../../src/pki/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

let cwd: string;

function cli(args: string[]) {
  return runCli(args, { cwd });
}

beforeAll(() => {
  cwd = tempDir();
  expect(cli(['init']).code).toBe(0);
  for (const [label, alg] of [
    ['ml', 'ml-dsa-44'],
    ['slh', 'slh-dsa-shake-128f'],
  ] as const) {
    const r = cli(['key', 'generate', 'default', '--label', label, '--algorithm', alg]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }
}, 120_000);

describe('post-quantum keys from the CLI', () => {
  it('an ML-DSA key: PEM, and a JWK of kty AKP whose kid is its RFC 7638 thumbprint', () => {
    const pem = cli(['key', 'public', 'default', 'ml']);
    expect(pem.code).toBe(0);
    const { algorithm, publicKey } = decodePqSpki(decodePem(pem.stdout, 'PUBLIC KEY'));
    expect(algorithm).toBe('ml-dsa-44');
    const out = cli(['key', 'public', 'default', 'ml', '--format', 'jwk']);
    expect(out.code).toBe(0);
    const jwk = JSON.parse(out.stdout) as Record<string, string>;
    const pub = Buffer.from(publicKey).toString('base64url');
    const thumbprint = createHash('sha256')
      .update(`{"alg":"ML-DSA-44","kty":"AKP","pub":"${pub}"}`)
      .digest('base64url');
    expect(jwk).toEqual({ alg: 'ML-DSA-44', kty: 'AKP', pub, kid: thumbprint });
    const json = JSON.parse(cli(['key', 'public', 'default', 'ml', '--json']).stdout) as {
      jwk: Record<string, string>;
    };
    expect(json.jwk).toEqual(jwk);
  });

  it('an SLH-DSA key: --format jwk is refused, --json says jwk null, PEM works', () => {
    const refused = cli(['key', 'public', 'default', 'slh', '--format', 'jwk']);
    expect(refused.code).toBe(64);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(
      /--format jwk: no JWK form is specified for slh-dsa-shake-128f keys; use --format pem or der/,
    );
    const json = JSON.parse(cli(['key', 'public', 'default', 'slh', '--json']).stdout) as {
      jwk: unknown;
      key: { algorithm: string };
    };
    expect(json.jwk).toBeNull();
    expect(json.key.algorithm).toBe('slh-dsa-shake-128f');
    expect(cli(['key', 'public', 'default', 'slh']).stdout).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });

  it('signs data that @noble/post-quantum verifies; a digest is refused with exit 64', () => {
    const data = join(cwd, 'data.txt');
    const sig = join(cwd, 'data.sig');
    runCli(['key', 'public', 'default', 'ml', '--out', join(cwd, 'ml.pem')], { cwd });
    const { publicKey } = decodePqSpki(
      decodePem(readFileSync(join(cwd, 'ml.pem'), 'utf8'), 'PUBLIC KEY'),
    );
    writeFileSync(data, 'to be signed\n');
    const signed = cli(['key', 'sign', 'default', 'ml', '--in', data, '--out', sig]);
    expect(signed.code).toBe(0);
    const signature = readFileSync(sig);
    expect(ml_dsa44.verify(signature, readFileSync(data), publicKey)).toBe(true);
    expect(cli(['key', 'verify', 'default', 'ml', '--in', data, '--signature', sig]).code).toBe(0);
    const digest = cli([
      'key',
      'sign',
      'default',
      'ml',
      '--digest',
      'ab'.repeat(32),
      '--out',
      join(cwd, 'digest.sig'),
    ]);
    expect(digest.code).toBe(64);
    expect(digest.stderr).toMatch(/signs whole messages only, not a digest/);
  });
});

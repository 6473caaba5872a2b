// Custodian bundles through the operator CLI, between two devices of one factory: partition
// backup --custodian --threshold, backup open-share with each custodian's own key (no device),
// partition restore --share on the other device, the refusals (one share too few, a partition
// holding a key that is not extractable), and the --help of each.
import 'reflect-metadata';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { runMain } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

let cwd: string;
let officer: Record<string, string>;

const on = (data: string, args: readonly string[], env: Record<string, string> = {}) =>
  runMain([...args, '--data', data], { cwd, env });

async function ok(
  data: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<string> {
  const r = await on(data, args, env);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

const pem = (label: string, der: ArrayBuffer): string =>
  `-----BEGIN ${label}-----\n${Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '')}\n-----END ${label}-----\n`;

/** A custodian's certificate and PKCS#8 key, written as PEM files NAME.crt and NAME.key. */
async function custodian(name: string): Promise<void> {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 30 * DAY),
    signingAlgorithm: EC,
    keys,
    extensions: [
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyAgreement | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
    ],
  });
  writeFileSync(join(cwd, `${name}.crt`), pem('CERTIFICATE', cert.rawData));
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  writeFileSync(join(cwd, `${name}.key`), pem('PRIVATE KEY', pkcs8), { mode: 0o600 });
}

describe('custodian bundles through the CLI', () => {
  beforeAll(async () => {
    cwd = tempDir('custodians-cli');
    await ok('a', ['init']);
    await ok('b', ['init', '--factory', 'a-factory']);
    officer = {
      ATTESTAMP_OFFICER_PASSPHRASE: readFileSync(join(cwd, 'a/officer.passphrase'), 'utf8').trim(),
    };
    await ok('a', ['partition', 'create', 'vault']);
    await ok('a', ['partition', 'policy', 'vault', '--export', 'on'], officer);
    await ok('a', [
      'key',
      'generate',
      'vault',
      '--label',
      'k1',
      '--algorithm',
      'ecdsa-p256',
      '--extractable',
    ]);
    for (const name of ['alice', 'bob', 'carol']) await custodian(name);
  }, 120_000);

  it('backs up for 2 of 3 custodians, opens two shares, restores on the other device', async () => {
    const backup = await ok('a', [
      'partition',
      'backup',
      'vault',
      '--custodian',
      'alice.crt',
      '--custodian',
      'bob.crt',
      '--custodian',
      'carol.crt',
      '--threshold',
      '2',
      '--out',
      'cust.bundle',
      '--json',
    ]);
    expect(JSON.parse(backup)).toMatchObject({ serial: 1, keys: 1 });
    // A share written over a file others could read is not left readable by them.
    writeFileSync(join(cwd, 'carol.share'), 'old', { mode: 0o644 });
    chmodSync(join(cwd, 'carol.share'), 0o644);
    for (const name of ['alice', 'carol']) {
      const r = await runMain(
        ['backup', 'open-share', 'cust.bundle', '--key', `${name}.key`, '--out', `${name}.share`],
        { cwd },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(statSync(join(cwd, `${name}.share`)).mode & 0o777).toBe(0o600);
    }
    const few = await on('b', ['partition', 'restore', 'cust.bundle', '--share', 'alice.share']);
    expect(few.code).not.toBe(0);
    expect(few.stderr).toMatch(/needs 2 custodian shares, 1 given/);
    const restored = await ok('b', [
      'partition',
      'restore',
      'cust.bundle',
      '--share',
      'alice.share',
      '--share',
      'carol.share',
      '--json',
    ]);
    expect(JSON.parse(restored)).toMatchObject({ partition: 'vault', keys: 1, replaced: false });
    expect(await ok('b', ['key', 'list', 'vault', '--json'])).toContain('k1');
  });

  it('a partition holding a key that is not extractable is refused, naming it', async () => {
    await ok('a', ['key', 'generate', 'vault', '--label', 'kept', '--algorithm', 'ecdsa-p256']);
    const r = await on('a', [
      'partition',
      'backup',
      'vault',
      '--custodian',
      'alice.crt',
      '--custodian',
      'bob.crt',
      '--threshold',
      '2',
      '--out',
      'refused.bundle',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/kept/);
    expect(() => statSync(join(cwd, 'refused.bundle'))).toThrow();
  });

  it('--help names the custodian options', async () => {
    const help = async (args: string[]) => (await runMain([...args, '--help'], { cwd })).stdout;
    expect(await help(['partition', 'backup'])).toMatch(/--custodian CERT[\s\S]*--threshold T/);
    expect(await help(['partition', 'restore'])).toMatch(/--share SHARE/);
    expect(await help(['backup', 'open-share'])).toMatch(/--key KEY\.pem[\s\S]*--out SHARE/);
  });
});

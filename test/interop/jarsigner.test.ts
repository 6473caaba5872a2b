// Interop with the JDK's jarsigner (`jarsigner -tsa`, checklist "Clients a TSA must satisfy"):
// a jar signed with a throwaway EC key and time-stamped by each unit, then verified by jarsigner
// with the TSA's root trusted, so that Java's PKIX checks the TSA chain and its EKU too.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { id_tsaPolicyBaseline } from '../../src/pki/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';
import { startTsa, type RunningTsa } from '../helpers/tsa.js';

const STOREPASS = 'throwaway-test-keystore';

interface Run {
  readonly code: number;
  readonly out: string;
}

function run(tool: string, args: readonly string[], cwd: string): Run {
  const r = spawnSync(tool, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

const skip = requireTool('jar', 'jarsigner', 'keytool');

describe.skipIf(skip)('jarsigner -tsa against the TSA', () => {
  let cwd: string;
  let tsa: RunningTsa;
  let keystore: string;
  let unsigned: string;

  /** Signs a copy of the jar with a time-stamp from the given URL; returns the signed jar. */
  function sign(
    name: string,
    tsaUrl: string,
    extra: readonly string[] = [],
  ): Run & { jar: string } {
    const jar = join(cwd, `${name}.jar`);
    const r = run(
      'jarsigner',
      [
        '-keystore',
        keystore,
        '-storepass',
        STOREPASS,
        '-tsa',
        tsaUrl,
        ...extra,
        '-signedjar',
        jar,
        unsigned,
        'signer',
      ],
      cwd,
    );
    return { ...r, jar };
  }

  function verifyJar(jar: string): Run {
    return run(
      'jarsigner',
      ['-verify', '-verbose', '-certs', '-keystore', keystore, '-storepass', STOREPASS, jar],
      cwd,
    );
  }

  beforeAll(async () => {
    cwd = tempDir();
    expect(runCli(['init'], { cwd }).code).toBe(0);
    const rsa = runCli(['partition', 'create', 'rsa', '--timestamp-algorithm', 'rsa-3072'], {
      cwd,
    });
    expect(rsa.code, rsa.stderr).toBe(0);
    const chain = runCli(['chain', 'default', '--out', join(cwd, 'chain')], { cwd });
    expect(chain.code, chain.stderr).toBe(0);

    mkdirSync(join(cwd, 'content'));
    writeFileSync(join(cwd, 'content', 'hello.txt'), 'hello from the jar\n');
    unsigned = join(cwd, 'unsigned.jar');
    const jar = run('jar', ['cf', unsigned, '-C', join(cwd, 'content'), '.'], cwd);
    expect(jar.code, jar.out).toBe(0);

    keystore = join(cwd, 'signer.p12');
    const key = run(
      'keytool',
      [
        '-genkeypair',
        '-storetype',
        'PKCS12',
        '-keystore',
        keystore,
        '-storepass',
        STOREPASS,
        '-alias',
        'signer',
        '-keyalg',
        'EC',
        '-groupname',
        'secp256r1',
        '-dname',
        'CN=attestamp jar signer test',
        '-validity',
        '2',
      ],
      cwd,
    );
    expect(key.code, key.out).toBe(0);
    // The TSA's root as a trusted entry: jarsigner -verify -keystore then validates the TSA chain.
    const trust = run(
      'keytool',
      [
        '-importcert',
        '-noprompt',
        '-storetype',
        'PKCS12',
        '-keystore',
        keystore,
        '-storepass',
        STOREPASS,
        '-alias',
        'attestamp-root',
        '-file',
        join(cwd, 'chain', 'root.pem'),
      ],
      cwd,
    );
    expect(trust.code, trust.out).toBe(0);

    // With certReq the token carries the issuers too, so Java can build the path to the root.
    tsa = await startTsa(cwd, [
      'serve',
      '--port',
      '0',
      '--unit',
      'default:/',
      '--unit',
      'rsa:/rsa',
      '--include-issuers',
      'on',
    ]);
  });

  afterAll(async () => {
    if (tsa.child.exitCode === null) expect(await tsa.stop()).toBe(0);
  });

  it('HTTP-01 REQ-07 CRT-01 the default unit time-stamps a jar that jarsigner verifies', () => {
    const signed = sign('default', tsa.url);
    expect(signed.out).toContain('jar signed.');
    expect(signed.code).toBe(0);
    expect(signed.out).not.toContain('TSA certificate chain is invalid');
    const v = verifyJar(signed.jar);
    expect(v.code, v.out).toBe(0);
    expect(v.out).toContain('jar verified.');
    expect(v.out).toContain('Timestamped by "CN=default time-stamping unit');
    expect(v.out).toContain('Timestamp digest algorithm: SHA-256');
    // Java's PKIX accepted the TSA chain (leaf first, issuers, critical timeStamping EKU).
    expect(v.out).not.toContain('Invalid TSA certificate chain');
  });

  it('HTTP-01 the RSA-3072 unit at /rsa time-stamps a jar that jarsigner verifies', () => {
    const signed = sign('rsa', new URL('rsa', tsa.url).href, ['-tsadigestalg', 'SHA-384']);
    expect(signed.code, signed.out).toBe(0);
    const v = verifyJar(signed.jar);
    expect(v.code, v.out).toBe(0);
    expect(v.out).toContain('jar verified.');
    expect(v.out).toContain('Timestamped by "CN=rsa time-stamping unit');
    expect(v.out).toContain('Timestamp digest algorithm: SHA-384');
    expect(v.out).toMatch(/Timestamp signature algorithm: SHA\d+withRSA, 3072-bit key/);
    expect(v.out).not.toContain('Invalid TSA certificate chain');
  });

  it('TST-02 E422-01 -tsapolicyid of the RSA unit sent to / is served by the RSA unit', () => {
    const signed = sign('policy', tsa.url, ['-tsapolicyid', `${id_tsaPolicyBaseline}.1`]);
    expect(signed.code, signed.out).toBe(0);
    const v = verifyJar(signed.jar);
    expect(v.out).toContain('jar verified.');
    expect(v.out).toContain('Timestamped by "CN=rsa time-stamping unit');
  });

  it('REQ-05 jarsigner refuses a time-stamp for a policy the TSA does not serve', () => {
    const signed = sign('bad-policy', tsa.url, ['-tsapolicyid', '1.2.3.4.5.6']);
    expect(signed.code).not.toBe(0);
    expect(signed.out).not.toContain('jar signed.');
  });

  it('HTTP-02 jarsigner fails against a path the TSA does not serve', () => {
    const signed = sign('not-found', new URL('nowhere', tsa.url).href);
    expect(signed.code).not.toBe(0);
    expect(signed.out).not.toContain('jar signed.');
  });
});

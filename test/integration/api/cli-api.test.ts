// `attestamp api` as a subprocess on a real store: --help, settings refused with the field
// named, and the listener up with a JWKS file, a client-certificate map and an allow-list,
// answering a bearer token and a mapped client certificate, then stopping on SIGTERM.
/* eslint-disable @typescript-eslint/no-unsafe-member-access -- every answer is checked against the OpenAPI document by the client before a test reads its fields as plain JSON */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, writeApiListenerFiles, type TestCert } from '../../helpers/api.js';
import { BIN, runCli } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/tmp.js';

let cwd: string;
const cli = (args: string[]) => runCli(args, { cwd });

beforeAll(() => {
  cwd = tempDir('api-cli-');
  expect(cli(['init']).code).toBe(0);
}, 120_000);

describe('attestamp api', () => {
  it('has --help naming its settings', () => {
    const r = cli(['api', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: attestamp api');
    for (const f of [
      '--api-port',
      '--api-tls-cert',
      '--api-jwks',
      '--api-client-map',
      '--api-allow',
    ]) {
      expect(r.stdout).toContain(f);
    }
  });

  it('refuses incomplete or weakening settings, naming the field (exit 64)', () => {
    const noTls = cli(['api', '--api-jwks', 'x.json']);
    expect([noTls.code, noTls.stderr]).toEqual([64, expect.stringContaining('--api-tls-cert')]);
    const base = ['api', '--api-tls-cert', 'c.pem', '--api-tls-key', 'k.pem'];
    const half = cli([...base, '--api-jwks', 'x.json']);
    expect([half.code, half.stderr]).toEqual([64, expect.stringContaining('--api-jwt-issuer')]);
    const hs = cli([
      ...base,
      '--api-jwks',
      'x.json',
      '--api-jwt-issuer',
      'i',
      '--api-jwt-audience',
      'a',
      '--api-jwt-algorithm',
      'HS256',
    ]);
    expect([hs.code, hs.stderr]).toEqual([64, expect.stringContaining("'HS256'")]);
    const remote = cli([
      ...base,
      '--api-jwks-url',
      'https://keys.example/jwks',
      '--api-jwt-issuer',
      'i',
      '--api-jwt-audience',
      'a',
    ]);
    expect([remote.code, remote.stderr]).toEqual([64, expect.stringContaining('loopback')]);
    const allow = cli([
      ...base,
      '--api-jwks',
      'x.json',
      '--api-jwt-issuer',
      'i',
      '--api-jwt-audience',
      'a',
      '--api-allow',
      'not-an-address',
    ]);
    expect(allow.code).toBe(64);
    // A mapping by subject with no client CA would let Node's public roots vouch for it.
    writeFileSync(
      join(cwd, 'subject-map.json'),
      JSON.stringify([{ subject: 'CN=x', principal: 'x', roles: ['auditor'], partitions: [] }]),
    );
    const noCa = cli([...base, '--api-client-map', 'subject-map.json']);
    expect([noCa.code, noCa.stderr]).toEqual([64, expect.stringContaining('--api-client-ca')]);
  });

  describe('running', () => {
    let child: ReturnType<typeof spawn>;
    let url: string;
    let serverCa: string;
    let client: TestCert;
    let token: string;

    beforeAll(async () => {
      const files = await writeApiListenerFiles(cwd, 'pipeline');
      ({ serverCa, client, token } = files);
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(process.env))
        if (v !== undefined && !k.startsWith('ATTESTAMP_')) env[k] = v;
      child = spawn(process.execPath, [BIN, 'api', ...files.args, '--api-allow', '127.0.0.1/32'], {
        cwd,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      url = await new Promise<string>((resolve, reject) => {
        let out = '';
        let err = '';
        child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
        child.on('exit', (code) => {
          reject(new Error(`api exited ${String(code)}: ${err}`));
        });
        child.stdout!.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /listening on (https:\/\/\S+)/.exec(out);
          if (m !== null) resolve(m[1]!);
        });
      });
    }, 120_000);

    afterAll(() => {
      if (child.exitCode === null) child.kill('SIGTERM');
    });

    it('answers a bearer token and a mapped client certificate', async () => {
      const r = await call(url, serverCa, 'GET', '/v1/partitions/default/keys', { token });
      expect(r.status).toBe(200);
      const a = await call(url, serverCa, 'GET', '/v1/audit?limit=2', { cert: client });
      expect(a.status).toBe(200);
      expect(a.json.entries).toHaveLength(2);
      const none = await call(url, serverCa, 'GET', '/v1/device');
      expect(none.status).toBe(401);
    });

    it('stops on SIGTERM with exit 0', async () => {
      const code = await new Promise<number | null>((resolve) => {
        child.removeAllListeners('exit');
        child.once('exit', resolve);
        child.kill('SIGTERM');
      });
      expect(code).toBe(0);
    });
  });
});

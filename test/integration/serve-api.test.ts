// `attestamp serve` with the REST API beside the TSA in one process: the API starts when its
// TLS settings are given (each on its own port), answers a bearer token and a mapped client
// certificate over HTTPS while the TSA answers RFC 3161 over HTTP, and SIGTERM stops both with
// exit 0; with --workers 2 the primary alone runs the API. Settings that would leave the API
// without TLS or authentication are refused (exit 64) naming the setting; without API settings,
// or with --serve-api off, serve says in its log that the API is not started.
/* eslint-disable @typescript-eslint/no-unsafe-member-access -- every answer is checked against the OpenAPI document by the client before a test reads its fields as plain JSON */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { call, writeApiListenerFiles, type TestCert } from '../helpers/api.js';
import { BIN, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { parseResponse, sha256, timeStampQuery } from '../helpers/tsp.js';
import { post } from '../helpers/tsa.js';

let cwd: string;
let serverCa: string;
let client: TestCert;
let token: string;
let apiArgs: string[];
const cli = (args: string[]) => runCli(args, { cwd });

interface Served {
  readonly child: ChildProcess;
  readonly tsaUrl: string;
  readonly apiUrl: string | undefined;
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

const running: ChildProcess[] = [];

/**
 * Runs `attestamp serve ARGS` without the caller's ATTESTAMP_* variables, until it announced
 * the TSA and, when `withApi`, the API.
 */
function serve(args: readonly string[], withApi: boolean): Promise<Served> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith('ATTESTAMP_')) env[k] = v;
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not start: ${err}`));
    }, 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${String(code)} before listening: ${err}`));
    });
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const tsa = /TSA listening on (http:\/\/\S+\/)\n/.exec(out);
      const api = /API listening on (https:\/\/\S+)\n/.exec(out);
      if (tsa === null || (withApi && api === null)) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({
        child,
        tsaUrl: tsa[1]!,
        apiUrl: api?.[1],
        stdout: () => out,
        stderr: () => err,
        stop: () =>
          new Promise((done) => {
            if (child.exitCode !== null) {
              done(child.exitCode);
              return;
            }
            child.once('exit', (code) => {
              done(code);
            });
            child.kill('SIGTERM');
          }),
      });
    });
  });
}

/** The log lines (JSON) of standard error with this message. */
function logLines(stderr: string, msg: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.message === msg);
}

async function expectStamps(tsaUrl: string): Promise<void> {
  const r = await post(tsaUrl, timeStampQuery({ digest: sha256('a document'), certReq: true }));
  expect([r.status, r.type]).toEqual([200, 'application/timestamp-reply']);
  expect(parseResponse(r.body).status).toBe(0);
}

beforeAll(async () => {
  cwd = tempDir('serve-api-');
  expect(cli(['init']).code).toBe(0);
  const files = await writeApiListenerFiles(cwd, 'monitor');
  ({ serverCa, client, token } = files);
  apiArgs = files.args;
}, 120_000);

afterEach(() => {
  for (const c of running.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

describe('attestamp serve with the REST API', () => {
  it('serves the TSA and the API on their own ports, then stops both on SIGTERM (exit 0)', async () => {
    const s = await serve(apiArgs, true);
    const tsaPort = Number(new URL(s.tsaUrl).port);
    const apiPort = Number(new URL(s.apiUrl!).port);
    expect(apiPort).not.toBe(tsaPort);
    await expectStamps(s.tsaUrl);

    const device = await call(s.apiUrl!, serverCa, 'GET', '/v1/device', { token });
    expect(device.status).toBe(200);
    const keys = await call(s.apiUrl!, serverCa, 'GET', '/v1/partitions/default/keys', {
      token,
    });
    expect(keys.status).toBe(200);
    expect(keys.json.keys.length).toBeGreaterThan(0);
    const audit = await call(s.apiUrl!, serverCa, 'GET', '/v1/audit?limit=1', { cert: client });
    expect([audit.status, audit.json.entries.length]).toEqual([200, 1]);
    const anonymous = await call(s.apiUrl!, serverCa, 'GET', '/v1/device');
    expect([anonymous.status, anonymous.json.code]).toEqual([401, 'api-unauthenticated']);
    // The API is HTTPS only, and the TSA's port is not the API's.
    const onTsa = await fetch(`${s.tsaUrl}v1/device`);
    expect(onTsa.status).not.toBe(200);
    await onTsa.body?.cancel();

    // Standard error is another pipe: its lines may arrive after the announcement.
    await expect
      .poll(() => logLines(s.stderr(), 'attestamp started')[0])
      .toMatchObject({
        api: s.apiUrl,
      });
    // The log names the listener, never the files or the token.
    expect(s.stderr()).not.toContain('api.key');
    expect(s.stderr()).not.toContain(token);
    expect(await s.stop()).toBe(0);
    expect(logLines(s.stderr(), 'attestamp stopped')).toHaveLength(1);
  });

  it('with --workers 2, the primary runs the one API listener; both stop on SIGTERM', async () => {
    const s = await serve(['--workers', '2', ...apiArgs], true);
    expect(s.stdout().match(/API listening on/g)).toHaveLength(1);
    await expectStamps(s.tsaUrl);
    const device = await call(s.apiUrl!, serverCa, 'GET', '/v1/device', { token });
    expect(device.status).toBe(200);
    await expect.poll(() => logLines(s.stderr(), 'REST API listening')).toHaveLength(1);
    expect(await s.stop()).toBe(0);
    // Each worker stopped, and the primary's API with them.
    expect(logLines(s.stderr(), 'attestamp stopped')).toHaveLength(2);
  });

  it('without API settings, or with --serve-api off, serves the TSA alone and logs why', async () => {
    const plain = await serve([], false);
    expect(plain.stdout()).not.toContain('API listening');
    await expect
      .poll(() => logLines(plain.stderr(), 'REST API not started')[0])
      .toMatchObject({
        serveApi: 'auto',
      });
    expect(await plain.stop()).toBe(0);

    const off = await serve(['--serve-api', 'off', ...apiArgs], false);
    expect(off.stdout()).not.toContain('API listening');
    await expectStamps(off.tsaUrl);
    await expect
      .poll(() => logLines(off.stderr(), 'REST API not started')[0])
      .toMatchObject({ serveApi: 'off' });
    expect(await off.stop()).toBe(0);
  });

  it('refuses API settings without TLS or authentication, naming the setting (exit 64)', () => {
    const noTls = cli(['serve', '--api-port', '0', '--api-jwks', 'jwks.json']);
    expect([noTls.code, noTls.stderr]).toEqual([64, expect.stringContaining('--api-port')]);
    expect(noTls.stderr).toContain('--api-tls-cert');
    const fromEnv = runCli(['serve'], { cwd, env: { ATTESTAMP_API_JWKS: 'jwks.json' } });
    expect([fromEnv.code, fromEnv.stderr]).toEqual([
      64,
      expect.stringContaining('ATTESTAMP_API_JWKS'),
    ]);
    const noAuth = cli(['serve', '--api-tls-cert', 'api.crt', '--api-tls-key', 'api.key']);
    expect([noAuth.code, noAuth.stderr]).toEqual([64, expect.stringContaining('--api-jwks')]);
    const halfTls = cli(['serve', '--api-tls-cert', 'api.crt', '--api-jwks', 'jwks.json']);
    expect([halfTls.code, halfTls.stderr]).toEqual([64, expect.stringContaining('--api-tls-key')]);
    const required = cli(['serve', '--serve-api', 'on']);
    expect([required.code, required.stderr]).toEqual([
      64,
      expect.stringContaining('--api-tls-cert'),
    ]);
    const badMode = cli(['serve', '--serve-api', 'sometimes']);
    expect([badMode.code, badMode.stderr]).toEqual([64, expect.stringContaining('--serve-api')]);
  });

  it('names the API settings and the rule in serve --help', () => {
    const r = cli(['serve', '--help']);
    expect(r.code).toBe(0);
    for (const f of ['--serve-api', '--api-port', '--api-tls-cert', '--api-jwks']) {
      expect(r.stdout).toContain(f);
    }
    expect(r.stdout).toContain('when --api-tls-cert and --api-tls-key are given');
  });
});

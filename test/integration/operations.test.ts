// Operations of the running TSA: /healthz, /readyz (and its failure), Prometheus metrics on a
// separate port after real requests, and HTTPS beside plain HTTP with openssl ts through curl.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { post, startTsa, type RunningTsa } from '../helpers/tsa.js';
import { requireTool } from '../helpers/tools.js';

let cwd: string;
let tsa: RunningTsa;
let httpsUrl: string;
let metricsUrl: string;

beforeAll(async () => {
  cwd = tempDir();
  expect(runCli(['init'], { cwd }).code).toBe(0);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(cwd, 'tls.key'),
      '-out',
      join(cwd, 'tls.crt'),
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-days',
      '30',
    ],
    { stdio: 'pipe' },
  );
  tsa = await startTsa(cwd, [
    'serve',
    '--port',
    '0',
    '--https-port',
    '0',
    '--tls-cert',
    'tls.crt',
    '--tls-key',
    'tls.key',
    '--metrics-port',
    '0',
  ]);
  // The start-up lines name the HTTPS and metrics listeners.
  await new Promise((r) => setTimeout(r, 200));
  const out = tsa.stdout();
  httpsUrl = /listening on (https:\/\/127\.0\.0\.1:\d+\/)/.exec(out)![1]!;
  metricsUrl = /metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(out)![1]!;
  writeFileSync(join(cwd, 'doc.txt'), 'operations\n');
  execFileSync(
    'openssl',
    ['ts', '-query', '-data', join(cwd, 'doc.txt'), '-sha256', '-cert', '-out', join(cwd, 'q.tsq')],
    { stdio: 'pipe' },
  );
});

afterAll(async () => {
  await tsa.stop();
});

describe('health and readiness', () => {
  it('/healthz answers ok', async () => {
    const r = await fetch(new URL('healthz', tsa.url));
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('ok\n');
  });

  it('/readyz reports clock, archive, key and certificate checks, all passing', async () => {
    const r = await fetch(new URL('readyz', tsa.url));
    expect(r.status).toBe(200);
    const body = (await r.json()) as { ready: boolean; checks: { name: string; ok: boolean }[] };
    expect(body.ready).toBe(true);
    expect(body.checks.map((c) => c.name)).toEqual([
      'clock',
      'archive',
      'key:default',
      'certificate:default',
    ]);
  });

  it('/readyz fails with 503 when the certificate has fewer days left than required', async () => {
    const dir = tempDir();
    expect(runCli(['init'], { cwd: dir }).code).toBe(0);
    const strict = await startTsa(dir, ['serve', '--port', '0', '--ready-min-cert-days', '36500']);
    try {
      const r = await fetch(new URL('readyz', strict.url));
      expect(r.status).toBe(503);
      const body = (await r.json()) as { ready: boolean; checks: { name: string; ok: boolean }[] };
      expect(body.ready).toBe(false);
      expect(body.checks.find((c) => c.name === 'certificate:default')?.ok).toBe(false);
    } finally {
      await strict.stop();
    }
  });
});

describe('logs', () => {
  it('are JSON lines with a request id for a rejection, and carry no secret or token bytes', async () => {
    const r = await fetch(tsa.url, {
      method: 'POST',
      body: Uint8Array.of(0x30, 0x00),
      headers: { 'content-type': 'application/timestamp-query', 'x-request-id': 'req-ops-1' },
    });
    expect(r.headers.get('x-request-id')).toBe('req-ops-1');
    await r.arrayBuffer();
    await new Promise((done) => setTimeout(done, 100));
    const lines = tsa
      .stderr()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) {
      expect(typeof l.time).toBe('string');
      expect(['info', 'warn', 'error']).toContain(l.level);
      expect(typeof l.message).toBe('string');
    }
    const rejection = lines.find((l) => l.requestId === 'req-ops-1');
    expect(rejection).toMatchObject({
      message: 'time-stamp request rejected',
      failInfo: 'badDataFormat',
    });
    const all = tsa.stderr();
    const masterKey = readFileSync(join(cwd, 'data/master.key'), 'utf8').trim();
    const officer = readFileSync(join(cwd, 'data/officer.passphrase'), 'utf8').trim();
    expect(all).not.toContain(masterKey);
    expect(all).not.toContain(officer);
    // A server-made id when the client sends none.
    const own = await fetch(tsa.url, {
      method: 'POST',
      body: Uint8Array.of(0x30, 0x00),
      headers: { 'content-type': 'application/timestamp-query' },
    });
    expect(own.headers.get('x-request-id')).toMatch(/^[0-9a-f]{6}-[0-9a-z]+$/);
  });
});

describe('metrics', () => {
  it('counts granted and rejected requests by failInfo and reports certificate days and archive size', async () => {
    expect((await post(tsa.url, readFileSync(join(cwd, 'q.tsq')))).status).toBe(200);
    expect((await post(tsa.url, Uint8Array.of(0x30, 0x03, 0x02, 0x01))).status).toBe(200);
    const text = await (await fetch(metricsUrl)).text();
    expect(text).toMatch(
      /attestamp_tsa_requests_total\{unit="default",outcome="granted",fail_info=""\} [1-9]/,
    );
    expect(text).toMatch(
      /attestamp_tsa_requests_total\{unit="default",outcome="rejection",fail_info="badDataFormat"\} [1-9]/,
    );
    expect(text).toMatch(/attestamp_certificate_days_left\{unit="default"\} 36\d\d/);
    expect(text).toMatch(/attestamp_archive_responses [2-9]/);
    expect(text).toMatch(/attestamp_clock_state\{state="synced"\} 1/);
    expect(text).toContain('attestamp_tsa_request_duration_seconds_bucket');
    expect(text).toMatch(/attestamp_build_info\{version="[^"]+",node="v\d+/);
  });

  it('the metrics listener answers only GET /metrics', async () => {
    expect((await fetch(new URL('/other', metricsUrl))).status).toBe(404);
  });
});

describe.skipIf(requireTool('curl', 'openssl'))('HTTP-03 HTTPS beside plain HTTP', () => {
  it('openssl ts through curl --cacert gets a token that openssl verifies', () => {
    execFileSync(
      'curl',
      [
        '-sS',
        '--fail',
        '--cacert',
        join(cwd, 'tls.crt'),
        '-H',
        'Content-Type: application/timestamp-query',
        '--data-binary',
        `@${join(cwd, 'q.tsq')}`,
        httpsUrl,
        '-o',
        join(cwd, 'r.tsr'),
      ],
      { stdio: 'pipe' },
    );
    expect(runCli(['chain', 'default', '--out', join(cwd, 'chain')], { cwd }).code).toBe(0);
    const out = execFileSync(
      'openssl',
      [
        'ts',
        '-verify',
        '-data',
        join(cwd, 'doc.txt'),
        '-in',
        join(cwd, 'r.tsr'),
        '-CAfile',
        join(cwd, 'chain/root.pem'),
        '-untrusted',
        join(cwd, 'chain/device.pem'),
      ],
      { encoding: 'utf8', stdio: 'pipe' },
    );
    expect(out).toContain('Verification: OK');
  });

  it('curl without the CA certificate refuses the TLS listener', () => {
    expect(() =>
      execFileSync('curl', ['-sS', '--fail', httpsUrl + 'healthz'], { stdio: 'pipe' }),
    ).toThrow();
  });
});

// Operations of the running TSA: /healthz, /readyz (and its failure), Prometheus metrics on a
// separate port after real requests, and HTTPS beside plain HTTP with openssl ts through curl.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { listenerUrl, post, startTsa, type RunningTsa } from '../helpers/tsa.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait.js';

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
    '--access-log',
    'on',
  ]);
  // The start-up lines name the HTTPS and metrics listeners (printed after the HTTP one that
  // startTsa waits for).
  httpsUrl = await listenerUrl(tsa, 'https');
  metricsUrl = await listenerUrl(tsa, 'metrics');
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

  it('/readyz says local-only (and is ready) when no time source is configured', async () => {
    const r = await fetch(new URL('readyz', tsa.url));
    const body = (await r.json()) as { checks: { name: string; ok: boolean; detail: string }[] };
    const clock = body.checks.find((c) => c.name === 'clock');
    expect(clock?.ok).toBe(true);
    expect(clock?.detail).toMatch(/^local-only: no time source configured/);
    expect(clock?.detail).not.toContain('trusted');
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
    // The access line is written when the response has finished, which may be after the client
    // has read it: wait for that line (reading complete lines only).
    const lines = await waitFor('the log lines of request req-ops-1', () => {
      const all = tsa.stderr();
      const parsed = all
        .slice(0, all.lastIndexOf('\n') + 1)
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      return parsed.some((l) => l.requestId === 'req-ops-1' && l.message === 'request') && parsed;
    });
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
    // The access log line of the same request: no body, no headers, no query.
    const access = lines.find((l) => l.requestId === 'req-ops-1' && l.message === 'request');
    expect(access).toMatchObject({
      method: 'POST',
      path: '/',
      status: 200,
      unit: 'default',
      failInfo: 'badDataFormat',
      client: '127.0.0.1',
    });
    expect(typeof access?.durationMs).toBe('number');
    expect(Object.keys(access ?? {}).sort()).toEqual(
      [
        'client',
        'durationMs',
        'failInfo',
        'level',
        'message',
        'method',
        'path',
        'requestId',
        'status',
        'time',
        'unit',
      ].sort(),
    );
    // The start-up line names the version, units, listeners and settings, no file or secret.
    const started = lines.find((l) => l.message === 'attestamp started');
    expect(started).toMatchObject({
      version: expect.stringMatching(/^\d+\.\d+\.\d+/) as unknown,
      units: 'default:/ ecdsa-p256',
      http: tsa.url,
      https: httpsUrl,
      metrics: metricsUrl,
      clock: 'local-only',
      timeSources: 'none',
      auth: 'none',
      accessLog: true,
    });
    expect(JSON.stringify(started)).not.toContain('tls.key');
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
  it('counts granted and rejected requests by failInfo and reports certificate expiry and archive size', async () => {
    expect((await post(tsa.url, readFileSync(join(cwd, 'q.tsq')))).status).toBe(200);
    expect((await post(tsa.url, Uint8Array.of(0x30, 0x03, 0x02, 0x01))).status).toBe(200);
    const text = await (await fetch(metricsUrl)).text();
    expect(text).toMatch(
      /attestamp_tsa_requests_total\{unit="default",outcome="granted",fail_info="",status="200"\} [1-9]/,
    );
    expect(text).toMatch(
      /attestamp_tsa_requests_total\{unit="default",outcome="rejection",fail_info="badDataFormat",status="200"\} [1-9]/,
    );
    const expiry = /attestamp_certificate_expiry_timestamp_seconds\{unit="default"\} (\d+)/.exec(
      text,
    );
    expect(expiry).not.toBeNull();
    // A unit certificate of about ten years, in seconds since the epoch.
    const daysLeft = (Number(expiry![1]) - Date.now() / 1000) / 86_400;
    expect(daysLeft).toBeGreaterThan(3_600);
    expect(daysLeft).toBeLessThan(3_700);
    expect(text).not.toContain('days_left');
    expect(text).toMatch(/attestamp_archive_responses [2-9]/);
    expect(text).toMatch(/attestamp_clock_state\{state="local-only"\} 1/);
    expect(text).toMatch(/attestamp_clock_state\{state="synced"\} 0/);
    expect(text).toContain('attestamp_tsa_request_duration_seconds_bucket');
    expect(text).toMatch(/attestamp_build_info\{version="[^"]+",node="v\d+/);
  });

  it('counts every answered status, with the HTTP status in its own label', async () => {
    expect((await fetch(tsa.url)).status).toBe(405);
    expect((await post(tsa.url, Uint8Array.of(0x30, 0x00), 'text/plain')).status).toBe(415);
    expect((await post(tsa.url, new Uint8Array(20_000))).status).toBe(413);
    expect((await fetch(new URL('nowhere', tsa.url))).status).toBe(404);
    const text = await (await fetch(metricsUrl)).text();
    for (const status of ['405', '413', '415']) {
      expect(text).toMatch(
        new RegExp(
          `attestamp_tsa_requests_total\\{unit="default",outcome="http-error",fail_info="",status="${status}"\\} [1-9]`,
        ),
      );
    }
    expect(text).toMatch(/attestamp_http_responses_total\{route="other",status="404"\} [1-9]/);
    expect(text).toMatch(/attestamp_http_responses_total\{route="health",status="200"\} [1-9]/);
    // fail_info carries RFC 3161 failInfo names only, never an HTTP status.
    for (const m of text.matchAll(/fail_info="([^"]*)"/g))
      expect(m[1]).toMatch(/^(|[a-z][A-Za-z]+)$/);
  });

  it('includes the process and Node.js metrics under the attestamp_ prefix', async () => {
    const text = await (await fetch(metricsUrl)).text();
    expect(text).toContain('attestamp_process_cpu_user_seconds_total');
    expect(text).toContain('attestamp_process_resident_memory_bytes');
    expect(text).toContain('attestamp_nodejs_eventloop_lag_seconds');
    expect(text).toContain('attestamp_nodejs_heap_size_used_bytes');
  });

  it('the metrics listener answers only GET /metrics', async () => {
    expect((await fetch(new URL('/other', metricsUrl))).status).toBe(404);
  });
});

describe('metrics host, shutdown log and RSA-PSS warning', () => {
  it('--metrics-host binds the metrics listener there, and shutdown logs reason, drained count and duration', async () => {
    const dir = tempDir();
    expect(runCli(['init'], { cwd: dir }).code).toBe(0);
    const other = Object.values(networkInterfaces())
      .flat()
      .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;
    const open = await startTsa(dir, [
      'serve',
      '--port',
      '0',
      '--metrics-port',
      '0',
      '--metrics-host',
      '0.0.0.0',
    ]);
    let code: number | null;
    try {
      const port = new URL(await listenerUrl(open, 'metrics', '0.0.0.0')).port;
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
      if (other !== undefined)
        expect((await fetch(`http://${other}:${port}/metrics`)).status).toBe(200);
    } finally {
      code = await open.stop();
    }
    expect(code).toBe(0);
    const lines = open
      .stderr()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const stopped = lines.find((l) => l.message === 'attestamp stopped');
    expect(stopped).toMatchObject({ reason: 'SIGTERM' });
    expect(typeof stopped?.drained).toBe('number');
    expect(typeof stopped?.durationMs).toBe('number');
    // The default keeps metrics on the loopback address.
    if (other !== undefined) {
      const local = await startTsa(dir, ['serve', '--port', '0', '--metrics-port', '0']);
      try {
        const p = new URL(await listenerUrl(local, 'metrics')).port;
        await expect(fetch(`http://${other}:${p}/metrics`)).rejects.toThrow();
      } finally {
        await local.stop();
      }
    }
  });

  it('warns when an RSA-PSS unit is created and when it is served', async () => {
    const dir = tempDir();
    expect(runCli(['init'], { cwd: dir }).code).toBe(0);
    const created = runCli(
      ['partition', 'create', 'pss', '--timestamp-algorithm', 'rsa-pss-3072'],
      {
        cwd: dir,
      },
    );
    expect(created.code).toBe(0);
    expect(created.stderr).toContain(
      "warning: rsa-pss-3072 time-stamp tokens cannot be verified with 'openssl ts -verify'",
    );
    const plain = runCli(['partition', 'create', 'ec'], { cwd: dir });
    expect(plain.code).toBe(0);
    expect(plain.stderr).not.toContain('warning');
    const pss = await startTsa(dir, ['serve', '--port', '0', '--unit', 'pss:/']);
    await pss.stop();
    const warn = pss
      .stderr()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.level === 'warn' && l.unit === 'pss');
    expect(String(warn?.message)).toContain("cannot be verified with 'openssl ts -verify'");
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

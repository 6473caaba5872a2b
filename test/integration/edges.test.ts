// The server's edges against hostile or crowded clients: the connection cap, the TLS handshake
// timeout, per-client buckets (for time-stamps and fresh evidence) keyed by the address a
// trusted proxy reports and by nothing a client can forge. Clients are told apart by binding
// different loopback addresses (127.0.0.0/8 is all local on Linux).
import { execFileSync } from 'node:child_process';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { listenerUrl, startTsa, type RunningTsa } from '../helpers/tsa.js';
import { timeStampQuery } from '../helpers/tsp.js';
import { waitFor } from '../helpers/wait.js';

const HANDSHAKE_MS = 500;
const MAX_CONNECTIONS = 8;
/** The address that plays the reverse proxy; 127.0.0.1 and the others are direct clients. */
const PROXY = '127.0.0.2';

let cwd: string;
let tsa: RunningTsa;
let httpsPort: number;
const query = Buffer.from(timeStampQuery());

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
      'tls.key',
      '-out',
      'tls.crt',
      '-subj',
      '/CN=127.0.0.1',
      '-days',
      '30',
    ],
    { cwd, stdio: 'pipe' },
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
    '--tls-handshake-timeout-ms',
    String(HANDSHAKE_MS),
    '--max-connections',
    String(MAX_CONNECTIONS),
    '--trusted-proxy',
    `${PROXY}/32`,
    '--rate-limit',
    '2',
    '--evidence-rate-limit',
    '1',
  ]);
  httpsPort = Number(new URL(await listenerUrl(tsa, 'https')).port);
});

afterAll(async () => {
  if (tsa.child.exitCode === null) expect(await tsa.stop()).toBe(0);
});

/** One request on a fresh connection (no keep-alive) from `from`; resolves with the status. */
function send(
  from: string,
  path: string,
  options: { forwardedFor?: string; post?: Buffer } = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: tsa.port,
        localAddress: from,
        path,
        method: options.post === undefined ? 'GET' : 'POST',
        agent: false,
        headers: {
          connection: 'close',
          ...(options.post === undefined ? {} : { 'content-type': 'application/timestamp-query' }),
          ...(options.forwardedFor === undefined
            ? {}
            : { 'x-forwarded-for': options.forwardedFor }),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          resolve(res.statusCode ?? 0);
        });
      },
    );
    req.on('error', reject);
    req.end(options.post);
  });
}

const stamp = (from: string, forwardedFor?: string): Promise<number> =>
  send(from, '/', { post: query, ...(forwardedFor === undefined ? {} : { forwardedFor }) });

/** Sends a keep-alive GET /healthz on `socket`; resolves once the answer's head has arrived. */
function answered(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    let head = '';
    const onData = (d: Buffer): void => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      if (head.startsWith('HTTP/1.1 200')) resolve();
      else reject(new Error(`unexpected answer: ${head}`));
    };
    socket.on('data', onData);
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  });
}

/** Opens a TCP connection; resolves once connected. */
function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      resolve(s);
    });
    s.on('error', reject);
  });
}

/**
 * How long `closed` waits for the server to close a connection. A "did not hang" guard, not a
 * latency bound: ten times the handshake timeout and far beyond what closing takes on a busy
 * machine, yet well below what the server would otherwise leave a connection open (the 10 s
 * headers timeout, Node's 120 s TLS handshake timeout).
 */
const CLOSE_WAIT_MS = 5_000;

/**
 * Resolves with the milliseconds until the server closes `socket` and what it sent; gives up
 * (ms = Infinity) after CLOSE_WAIT_MS so that a missing limit fails fast instead of hanging.
 */
function closed(socket: Socket, started: number): Promise<{ ms: number; received: number }> {
  return new Promise((resolve) => {
    let received = 0;
    const giveUp = setTimeout(() => {
      socket.removeAllListeners('close');
      socket.destroy();
      resolve({ ms: Infinity, received });
    }, CLOSE_WAIT_MS);
    socket.on('data', (d: Buffer) => (received += d.length));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(giveUp);
      resolve({ ms: Date.now() - started, received });
    });
  });
}

describe('connection limits', () => {
  it('connections beyond --max-connections are closed at once; freed slots are usable again', async () => {
    const held = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, () => open(tsa.port)));
    // The server has accepted all of them before the next one arrives: each has been answered
    // (and stays open, keep-alive) instead of a fixed pause that a busy server may outlast.
    await Promise.all(held.map(answered));
    const started = Date.now();
    const extra = await open(tsa.port);
    const end = closed(extra, started);
    extra.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    const r = await end;
    expect(r.received).toBe(0);
    expect(r.ms).toBeLessThan(CLOSE_WAIT_MS);
    for (const s of held) s.destroy();
    // The freed slots are usable again once the server has seen the connections close.
    expect(
      await waitFor('a request through a freed slot', () =>
        send('127.0.0.1', '/healthz').catch(() => undefined),
      ),
    ).toBe(200);
  });

  it('the HTTPS listener has the same cap: a TLS handshake beyond it fails, one after it succeeds', async () => {
    /** Resolves with the connected TLS socket, or with the error of a refused handshake. */
    const handshake = (): Promise<TLSSocket | Error> =>
      new Promise((resolve) => {
        const s = tlsConnect({ host: '127.0.0.1', port: httpsPort, rejectUnauthorized: false });
        s.once('secureConnect', () => {
          resolve(s);
        });
        s.once('error', (e: Error) => {
          resolve(e);
        });
      });
    // Finished handshakes are idle HTTP connections: they stay open (headers timeout 10 s).
    const held = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, handshake));
    expect(held.every((h) => !(h instanceof Error))).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(await handshake()).toBeInstanceOf(Error);
    for (const h of held) if (!(h instanceof Error)) h.destroy();
    // Once the server has seen the connections close, a handshake succeeds again.
    const after = await waitFor('a TLS handshake through a freed slot', async () => {
      const h = await handshake();
      return !(h instanceof Error) && h;
    });
    after.destroy();
  });

  it('a TLS client that sends nothing is closed after --tls-handshake-timeout-ms', async () => {
    const started = Date.now();
    const socket = await open(httpsPort);
    const r = await closed(socket, started);
    expect(r.ms).toBeGreaterThanOrEqual(HANDSHAKE_MS - 50);
    expect(r.ms).toBeLessThan(CLOSE_WAIT_MS);
  });
});

describe('per-client buckets and trusted proxies', () => {
  it('behind the trusted proxy, each forwarded client has its own time-stamp bucket', async () => {
    // Sent at once: one after another, they would outrun the refill (2 a second on a burst of
    // 4) only if each took under 250 ms, which a busy machine does not promise.
    const a = await Promise.all(Array.from({ length: 8 }, () => stamp(PROXY, '198.51.100.1')));
    expect(a.filter((s) => s === 200).length).toBeGreaterThanOrEqual(4);
    expect(a).toContain(429);
    // Another client behind the same proxy is not locked out (nor is the client's forged
    // leftmost element believed: the proxy appended the real peer on the right).
    expect(await stamp(PROXY, '198.51.100.1, 198.51.100.2')).toBe(200);
  });

  it('from an address that is not a trusted proxy, X-Forwarded-For is ignored', async () => {
    const a = await Promise.all(
      Array.from({ length: 8 }, (_, i) => stamp('127.0.0.5', `198.51.100.${10 + i}`)),
    );
    expect(a).toContain(429);
    expect(await stamp('127.0.0.5', '198.51.100.99')).toBe(429);
    // A different direct client has its own bucket.
    expect(await stamp('127.0.0.6')).toBe(200);
  });

  it('logs name the forwarded client', async () => {
    const garbage = Buffer.alloc(64, 0x7f);
    expect(await send(PROXY, '/', { post: garbage, forwardedFor: '203.0.113.77' })).toBe(200);
    // The line may be written after the client has its answer.
    await waitFor('a log line naming the forwarded client', () =>
      tsa.stderr().includes('"client":"203.0.113.77"'),
    );
  });

  it('fresh evidence is limited per client: one client exhausting its budget does not lock out another', async () => {
    // At once, as above (1 a second on a burst of 2).
    const a = await Promise.all(
      Array.from({ length: 5 }, () => send('127.0.0.7', '/evidence.pem?nonce=0102')),
    );
    expect(a.filter((s) => s === 200).length).toBeGreaterThanOrEqual(2);
    expect(a).toContain(429);
    expect(await send('127.0.0.8', '/evidence.pem?nonce=0102')).toBe(200);
    expect(await send(PROXY, '/evidence.pem?nonce=0102', { forwardedFor: '198.51.100.50' })).toBe(
      200,
    );
    // The cached evidence is not limited.
    expect(await send('127.0.0.7', '/evidence.pem')).toBe(200);
  });
});

describe('the TSA HTTPS listener', () => {
  it('TLS 1.2 and 1.3 only: a TLS 1.1 client is refused', async () => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: httpsPort,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.1',
      maxVersion: 'TLSv1.1',
      // Lets this client offer TLS 1.1 at all: the refusal must be the server's.
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    const error = await new Promise<Error>((resolve) => {
      socket.once('error', resolve);
      socket.once('secureConnect', () => {
        resolve(new Error('connected'));
      });
    });
    socket.destroy();
    expect(error.message).toMatch(/protocol version/i);
  });

  it('refuses a TLS 1.2 client-initiated renegotiation, and keeps serving', async () => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: httpsPort,
      rejectUnauthorized: false,
      maxVersion: 'TLSv1.2',
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    expect(socket.getProtocol()).toBe('TLSv1.2');
    const outcome = await new Promise<string>((resolve) => {
      socket.once('error', (e: Error) => {
        resolve(`error: ${e.message}`);
      });
      socket.once('close', () => {
        resolve('closed');
      });
      const asked = socket.renegotiate({ rejectUnauthorized: false }, (e) => {
        resolve(e === null ? 'renegotiated' : `error: ${e.message}`);
      });
      if (!asked) resolve('not asked');
      // A renegotiation needs the server's answer: drive the connection with a request.
      socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    });
    socket.destroy();
    expect(outcome).not.toBe('renegotiated');
    expect(await send('127.0.0.1', '/healthz')).toBe(200);
  });
});

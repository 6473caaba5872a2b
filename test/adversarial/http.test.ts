// Hostile input against the running TSA over HTTP (RFC 3161 3.4, checklist HTTP-01/02/04 and the
// request rules REQ-xx): each gets its documented answer, never a 5xx, never a hang, and the
// server still serves a normal query afterwards.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { id_md5, id_sha1, id_sha256, id_sha384, id_sha512 } from '../../src/pki/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { FAIL_BIT, parseResponse, sha256, timeStampQuery } from '../helpers/tsp.js';
import { post, startTsa, type RunningTsa } from '../helpers/tsa.js';

/** Above the 16 KiB default, so that a 10 000-deep SEQUENCE (~40 KB) reaches the parser. */
const BODY_LIMIT = 65_536;
/**
 * Long enough that a busy server answers the other requests (the paced bodies, the client
 * served while two are stalled) before it cuts a request off; short enough to wait out.
 */
const REQUEST_TIMEOUT_MS = 3_000;
const QUERY_TYPE = 'application/timestamp-query';

let cwd: string;
let tsa: RunningTsa;
/** Every HTTP status this file saw from the TSA (HTTP-02: never a 5xx for a client fault). */
const statuses: number[] = [];

beforeAll(async () => {
  cwd = tempDir();
  expect(runCli(['init'], { cwd }).code).toBe(0);
  const rsa = runCli(['partition', 'create', 'rsa', '--timestamp-algorithm', 'rsa-3072'], { cwd });
  expect(rsa.code, rsa.stderr).toBe(0);
  tsa = await startTsa(cwd, [
    'serve',
    '--port',
    '0',
    '--unit',
    'default:/',
    '--unit',
    'rsa:/rsa',
    '--body-limit',
    String(BODY_LIMIT),
    '--request-timeout-ms',
    String(REQUEST_TIMEOUT_MS),
  ]);
});

afterAll(async () => {
  if (tsa.child.exitCode === null) expect(await tsa.stop()).toBe(0);
});

async function send(body: Uint8Array, contentType = QUERY_TYPE, path = '/') {
  const r = await post(new URL(path, tsa.url).href, body, contentType);
  statuses.push(r.status);
  return r;
}

/** POSTs a body that must be answered with HTTP 200 and a rejection carrying exactly `bit`. */
async function expectRejection(body: Uint8Array, bit: number): Promise<string | undefined> {
  const r = await send(body);
  expect(r.status).toBe(200);
  expect(r.type).toBe('application/timestamp-reply');
  const parsed = parseResponse(r.body);
  expect(parsed.status).toBe(2);
  expect(parsed.failBits).toEqual([bit]);
  expect(parsed.failInfoMinimal).toBe(true);
  expect(parsed.tstInfo).toBeUndefined();
  return parsed.statusText;
}

async function expectGranted(path = '/'): Promise<void> {
  const r = await send(
    timeStampQuery({ nonce: Uint8Array.of(0x01, 0x02, 0x03) }),
    QUERY_TYPE,
    path,
  );
  expect(r.status).toBe(200);
  const parsed = parseResponse(r.body);
  expect(parsed.status).toBe(0);
  expect(parsed.tstInfo).toBeDefined();
}

interface RawReply {
  readonly status: number;
  readonly head: string;
  /** Milliseconds from connecting to the answer. */
  readonly ms: number;
  /** Date.now() when the answer arrived. */
  readonly at: number;
}

/**
 * Writes a request on a raw socket and resolves with the response head as soon as it arrives,
 * without waiting for the body to be accepted (the server may answer early and close).
 * `feed` writes body chunks, paced, until the answer arrives or `total` bytes are written: a
 * write racing the server's close would otherwise fail with EPIPE before the answer is read.
 */
function rawRequest(head: string, feed?: { total: number; chunk: Uint8Array }): Promise<RawReply> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let received = '';
    let done = false;
    let sent = 0;
    const socket: Socket = connect(tsa.port, '127.0.0.1');
    const finish = (error?: Error): void => {
      if (done) return;
      const end = received.indexOf('\r\n\r\n');
      if (end < 0 && error === undefined) return;
      done = true;
      socket.destroy();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(received);
      if (m === null) {
        reject(error ?? new Error(`no HTTP answer: ${received}`));
        return;
      }
      const at = Date.now();
      resolve({ status: Number(m[1]), head: received.slice(0, end), ms: at - started, at });
    };
    const pump = (): void => {
      if (feed === undefined || done || received.length > 0 || sent >= feed.total) return;
      sent += feed.chunk.length;
      const next = (): void => {
        setTimeout(pump, 25);
      };
      if (socket.write(feed.chunk)) next();
      else socket.once('drain', next);
    };
    socket.on('connect', () => {
      socket.write(head);
      pump();
    });
    socket.on('data', (d: Buffer) => {
      received += d.toString('latin1');
      finish();
    });
    socket.on('error', (e) => {
      finish(e);
    });
    socket.on('close', () => {
      finish(new Error('closed'));
    });
  });
}

describe('HTTP-02 REQ-xx hostile request bodies get a rejection, not a crash', () => {
  it('HTTP-02 garbage bytes: HTTP 200, rejection badDataFormat', async () => {
    const garbage = new Uint8Array(512);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 151 + 7) & 0xff;
    garbage[0] = 0xde;
    await expectRejection(garbage, FAIL_BIT.badDataFormat);
  });

  it('HTTP-02 an empty body: rejection badDataFormat', async () => {
    await expectRejection(new Uint8Array(0), FAIL_BIT.badDataFormat);
  });

  it('HTTP-02 truncated DER at every length: rejection badDataFormat', async () => {
    const valid = timeStampQuery({ nonce: Uint8Array.of(0x12, 0x34), certReq: true });
    for (const cut of [1, 2, 5, 10, valid.length >> 1, valid.length - 1]) {
      await expectRejection(valid.subarray(0, cut), FAIL_BIT.badDataFormat);
    }
  });

  it('HTTP-02 trailing bytes after the request: rejection badDataFormat', async () => {
    const valid = timeStampQuery();
    const padded = new Uint8Array(valid.length + 2);
    padded.set(valid);
    await expectRejection(padded, FAIL_BIT.badDataFormat);
  });

  it('HTTP-02 RSP-04 indefinite-length encoding (BER, not DER): rejection badDataFormat', async () => {
    const valid = timeStampQuery();
    // 30 80 <content> 00 00: the same content with an indefinite length.
    const content = valid.subarray(2);
    const ber = new Uint8Array([0x30, 0x80, ...content, 0x00, 0x00]);
    const text = await expectRejection(ber, FAIL_BIT.badDataFormat);
    expect(text).toMatch(/indefinite length/);
  });

  it('HTTP-02 a 10 000-deep nested SEQUENCE: rejection badDataFormat, no stack overflow', async () => {
    let nested: Uint8Array = Uint8Array.of(0x05, 0x00);
    for (let i = 0; i < 10_000; i++) {
      const len = nested.length;
      const header =
        len < 0x80
          ? [0x30, len]
          : len < 0x100
            ? [0x30, 0x81, len]
            : len < 0x10000
              ? [0x30, 0x82, len >> 8, len & 0xff]
              : [0x30, 0x83, len >> 16, (len >> 8) & 0xff, len & 0xff];
      const next = new Uint8Array(header.length + len);
      next.set(header);
      next.set(nested, header.length);
      nested = next;
    }
    expect(nested.length).toBeLessThanOrEqual(BODY_LIMIT);
    expect(nested.length).toBeGreaterThan(16_384);
    await expectRejection(nested, FAIL_BIT.badDataFormat);
  });

  it('REQ-08 a 1 KB nonce: rejection badRequest', async () => {
    const nonce = new Uint8Array(1024).fill(0x5a);
    const text = await expectRejection(timeStampQuery({ nonce }), FAIL_BIT.badRequest);
    expect(text).toMatch(/nonce/);
  });

  it('REQ-08 a 160-bit nonce with a leading 0x00 octet is granted and echoed exactly', async () => {
    const nonce = new Uint8Array(21).fill(0xa5);
    nonce[0] = 0x00;
    const r = await send(timeStampQuery({ nonce }));
    const parsed = parseResponse(r.body);
    expect(parsed.status).toBe(0);
    expect(Buffer.from(parsed.tstInfo!.nonce!.valueBlock.valueHexView)).toEqual(Buffer.from(nonce));
  });

  it('REQ-03 an unknown hash OID: rejection badAlg', async () => {
    await expectRejection(
      timeStampQuery({ hashOid: '1.2.3.4.5.6.7', digest: new Uint8Array(32) }),
      FAIL_BIT.badAlg,
    );
  });

  it('REQ-03 SHA-1 and MD5 imprints: rejection badAlg', async () => {
    await expectRejection(
      timeStampQuery({ hashOid: id_sha1, digest: new Uint8Array(20) }),
      FAIL_BIT.badAlg,
    );
    await expectRejection(
      timeStampQuery({ hashOid: id_md5, digest: new Uint8Array(16) }),
      FAIL_BIT.badAlg,
    );
  });

  it('REQ-02 a digest of the wrong length: rejection badDataFormat', async () => {
    for (const [hashOid, length] of [
      [id_sha256, 31],
      [id_sha256, 48],
      [id_sha384, 32],
      [id_sha512, 0],
    ] as const) {
      await expectRejection(
        timeStampQuery({ hashOid, digest: new Uint8Array(length) }),
        FAIL_BIT.badDataFormat,
      );
    }
  });

  it('REQ-01 version 2 (and 0): rejection badRequest', async () => {
    await expectRejection(timeStampQuery({ version: 2 }), FAIL_BIT.badRequest);
    await expectRejection(timeStampQuery({ version: 0 }), FAIL_BIT.badRequest);
  });

  it('REQ-06 unknown critical and non-critical extensions: rejection unacceptedExtension', async () => {
    await expectRejection(
      timeStampQuery({ extensions: [{ oid: '1.2.3.4.5.1', critical: true }] }),
      FAIL_BIT.unacceptedExtension,
    );
    await expectRejection(
      timeStampQuery({ extensions: [{ oid: '1.2.3.4.5.2', critical: false }] }),
      FAIL_BIT.unacceptedExtension,
    );
  });

  it('REQ-05 a policy the TSA does not serve: rejection unacceptedPolicy', async () => {
    await expectRejection(timeStampQuery({ policy: '1.2.3.4.5.6' }), FAIL_BIT.unacceptedPolicy);
  });
});

describe('HTTP-01 HTTP-02 transport faults get HTTP status codes', () => {
  it('HTTP-02 a 10 MB body declared by Content-Length: 413 before the body is read', async () => {
    const total = 10 * 1024 * 1024;
    // The first 64 KiB only: the server must answer from the header, not after reading 10 MB.
    const r = await rawRequest(
      `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${QUERY_TYPE}\r\nContent-Length: ${total}\r\n\r\n`,
      { total: 64 * 1024, chunk: new Uint8Array(64 * 1024) },
    );
    statuses.push(r.status);
    expect(r.status).toBe(413);
  });

  it('HTTP-02 a 10 MB chunked body (no Content-Length): 413 once the cap is passed', async () => {
    const chunk = new Uint8Array(new TextEncoder().encode('10000\r\n').length + 0x10000 + 2);
    const prefix = new TextEncoder().encode('10000\r\n');
    chunk.set(prefix);
    chunk.set(new TextEncoder().encode('\r\n'), prefix.length + 0x10000);
    const r = await rawRequest(
      `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${QUERY_TYPE}\r\nTransfer-Encoding: chunked\r\n\r\n`,
      { total: 10 * 1024 * 1024, chunk },
    );
    statuses.push(r.status);
    expect(r.status).toBe(413);
  });

  it('HTTP-02 a body one byte over --body-limit: 413', async () => {
    const r = await rawRequest(
      `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${QUERY_TYPE}\r\nContent-Length: ${BODY_LIMIT + 1}\r\n\r\n`,
      { total: BODY_LIMIT + 1, chunk: new Uint8Array(BODY_LIMIT + 1) },
    );
    statuses.push(r.status);
    expect(r.status).toBe(413);
  });

  it('HTTP-02 a body exactly at --body-limit is read and answered (badDataFormat)', async () => {
    const body = new Uint8Array(BODY_LIMIT).fill(0xab);
    await expectRejection(body, FAIL_BIT.badDataFormat);
  });

  it('HTTP-02 a wrong content type: 415', async () => {
    for (const type of ['application/octet-stream', 'text/plain', 'application/timestamp-reply']) {
      const r = await send(timeStampQuery(), type);
      expect(r.status).toBe(415);
    }
  });

  it('HTTP-01 a content type with parameters is accepted and granted', async () => {
    const r = await send(timeStampQuery(), 'application/timestamp-query; charset=binary');
    expect(r.status).toBe(200);
    expect(r.type).toBe('application/timestamp-reply');
    expect(parseResponse(r.body).status).toBe(0);
    const upper = await send(timeStampQuery(), 'Application/TimeStamp-Query');
    expect(upper.status).toBe(200);
    expect(parseResponse(upper.body).status).toBe(0);
  });

  it.each(['GET', 'PUT', 'DELETE'])(
    'HTTP-02 %s on a unit path: 405 with Allow: POST',
    async (method) => {
      for (const path of ['/', '/rsa']) {
        const r = await fetch(new URL(path, tsa.url), {
          method,
          ...(method === 'PUT'
            ? { body: timeStampQuery(), headers: { 'content-type': QUERY_TYPE } }
            : {}),
        });
        statuses.push(r.status);
        expect(r.status).toBe(405);
        expect(r.headers.get('allow')).toBe('POST');
      }
    },
  );

  it('HTTP-02 an unknown path: 404 for POST and GET', async () => {
    const r = await send(timeStampQuery(), QUERY_TYPE, '/nowhere');
    expect(r.status).toBe(404);
    const g = await fetch(new URL('/rsa/nowhere.pem', tsa.url));
    statuses.push(g.status);
    expect(g.status).toBe(404);
  });

  it('HTTP-02 a client that sends headers and stalls does not hang the server', async () => {
    const query = timeStampQuery();
    const stalledBody = rawRequest(
      `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${QUERY_TYPE}\r\nContent-Length: ${query.length}\r\n\r\n`,
      { total: 4, chunk: query.subarray(0, 4) },
    );
    const stalledHeaders = rawRequest('POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty');
    // Another client is served while both are stalled, before they are cut off.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await expectGranted();
    const servedAt = Date.now();
    // The stalled clients are cut off with 408 after --request-timeout-ms (Node checks the
    // timeout only every connectionsCheckingInterval; serve sets it to at most 1 s). The upper
    // bound is a "did not hang" guard, generous for a busy machine: a server without the
    // timeout would hold them until the test's own timeout.
    const [a, b] = await Promise.all([stalledBody, stalledHeaders]);
    for (const r of [a, b]) {
      expect(r.status).toBe(408);
      expect(r.at).toBeGreaterThan(servedAt);
      expect(r.ms).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
      expect(r.ms).toBeLessThan(REQUEST_TIMEOUT_MS + 10_000);
    }
  });
});

describe('HTTP-04 certificate publication', () => {
  it.each(['/chain.pem', '/root.pem', '/tsa.pem', '/rsa/chain.pem', '/rsa/tsa.pem'])(
    'HTTP-04 GET %s: 200 with PEM',
    async (path) => {
      const r = await fetch(new URL(path, tsa.url));
      statuses.push(r.status);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('application/pem-certificate-chain');
      const text = await r.text();
      const count = (text.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length;
      expect(count).toBe(path.endsWith('chain.pem') ? 3 : 1);
      expect(text.trimEnd().endsWith('-----END CERTIFICATE-----')).toBe(true);
    },
  );

  it('HTTP-04 both units publish the same root and different TSA certificates', async () => {
    const get = async (p: string): Promise<string> => (await fetch(new URL(p, tsa.url))).text();
    expect(await get('/rsa/root.pem')).toBe(await get('/root.pem'));
    expect(await get('/rsa/tsa.pem')).not.toBe(await get('/tsa.pem'));
    expect((await get('/chain.pem')).startsWith(await get('/tsa.pem'))).toBe(true);
  });
});

describe('HTTP-02 after all of that', () => {
  it('HTTP-02 the server still serves normal queries on both units and never answered 5xx', async () => {
    await expectGranted('/');
    await expectGranted('/rsa');
    expect(tsa.child.exitCode).toBeNull();
    expect(statuses.length).toBeGreaterThan(30);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    const digest = sha256('still alive');
    const r = await send(timeStampQuery({ digest, certReq: true }));
    const parsed = parseResponse(r.body);
    expect(parsed.status).toBe(0);
    expect(
      Buffer.from(parsed.tstInfo!.messageImprint.hashedMessage.valueBlock.valueHexView),
    ).toEqual(Buffer.from(digest));
  });
});

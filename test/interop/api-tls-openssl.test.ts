// The REST API's TLS listener against `openssl s_client`: TLS 1.2 and 1.3 handshakes and a
// request answered over them; a TLS 1.2 client-initiated renegotiation (s_client's `R` command)
// refused, so that the request sent after it on the same connection gets no answer (Node's
// default would have renegotiated and answered it); TLS 1.1 and 1.0 refused with a
// protocol_version alert (the client allowed to offer them with SECLEVEL=0, so that the refusal
// is the server's, not the local OpenSSL's).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiFixture, type ApiFixture } from '../helpers/api.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';

const skip = requireTool('openssl');

interface Session {
  readonly code: number | null;
  readonly out: string;
}

/**
 * Runs s_client against the listener, writing `steps` to its standard input one by one (a
 * string, or a pause in milliseconds), then closing it. Asynchronous: the server runs in this
 * process.
 */
function sClient(
  port: number,
  args: readonly string[],
  steps: readonly (string | number)[],
  cwd: string,
): Promise<Session> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${String(port)}`, '-CAfile', 'ca.pem', ...args],
      { cwd, timeout: 30_000 },
    );
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, out });
    });
    // A write to a client that already ended (its connection refused) is not this test's error.
    child.stdin.on('error', () => undefined);
    void (async () => {
      for (const step of steps) {
        if (typeof step === 'number') await new Promise((r) => setTimeout(r, step));
        else child.stdin.write(step);
      }
      child.stdin.end();
    })();
  });
}

const REQUEST = 'GET /v1/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n';

describe.skipIf(skip)('the API listener under openssl s_client', () => {
  let f: ApiFixture;
  let cwd: string;

  beforeAll(async () => {
    f = await startApiFixture();
    cwd = tempDir('api-tls-');
    writeFileSync(join(cwd, 'ca.pem'), f.serverCa.pem);
  }, 60_000);

  afterAll(async () => {
    await f.close();
  });

  it.each([
    ['-tls1_2', 'TLSv1.2'],
    ['-tls1_3', 'TLSv1.3'],
  ])('completes a %s handshake and answers a request over it', async (flag, protocol) => {
    const s = await sClient(f.api.port, [flag, '-ign_eof'], [REQUEST, 1500], cwd);
    expect(s.out).toContain(`Protocol  : ${protocol}`);
    expect(s.out).toContain('Verify return code: 0 (ok)');
    expect(s.out).toContain('HTTP/1.1 200 OK');
  });

  it('refuses a TLS 1.2 client-initiated renegotiation: the request after it is not answered', async () => {
    // s_client reads its command letters (R) only without -ign_eof.
    const s = await sClient(f.api.port, ['-tls1_2'], [500, 'R\n', 1000, REQUEST, 1500], cwd);
    expect(s.out).toContain('Protocol  : TLSv1.2');
    expect(s.out).toContain('RENEGOTIATING');
    expect(s.out).toMatch(/no renegotiation|alert handshake failure|unexpected record/);
    expect(s.out).not.toContain('HTTP/1.1');
    // The listener is unharmed: the next connection is answered.
    const r = await f.request('GET', '/v1/openapi.json');
    expect(r.status).toBe(200);
  });

  it.each([
    ['-tls1_1', 'TLSv1.1'],
    ['-tls1', 'TLSv1'],
  ])('refuses %s with a protocol_version alert', async (flag, protocol) => {
    const s = await sClient(f.api.port, [flag, '-cipher', 'DEFAULT@SECLEVEL=0'], [], cwd);
    expect(s.code).not.toBe(0);
    expect(s.out).toContain('alert protocol version');
    expect(s.out).toContain(`Protocol  : ${protocol}`);
    expect(s.out).toContain('Cipher is (NONE)');
    expect(s.out).not.toContain('HTTP/1.1');
  });
});

// Access control of the running TSA: HTTP Basic, JWT bearer tokens (issuer, audience, expiry),
// mutual TLS, and per-client rate limits with 429 and Retry-After that recover.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { startTsa, type RunningTsa } from '../helpers/tsa.js';
import { timeStampQuery } from '../helpers/tsp.js';

let cwd: string;
let tsa: RunningTsa;
let httpsUrl: string;
let signingKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
const password = randomBytes(18).toString('base64url');
const query = timeStampQuery();

async function jwt(
  audience: string,
  expiresIn = '5m',
  issuer = 'https://issuer.example',
): Promise<string> {
  return new SignJWT({ sub: 'client-1' })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(signingKey);
}

async function stamp(
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; type: string | null }> {
  const r = await fetch(tsa.url, {
    method: 'POST',
    body: query,
    headers: { 'content-type': 'application/timestamp-query', ...headers },
  });
  await r.arrayBuffer();
  return { status: r.status, headers: r.headers, type: r.headers.get('content-type') };
}

function basic(user: string, pass: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` };
}

beforeAll(async () => {
  cwd = tempDir();
  expect(runCli(['init'], { cwd }).code).toBe(0);
  const pair = await generateKeyPair('ES256', { extractable: true });
  signingKey = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' };
  writeFileSync(join(cwd, 'jwks.json'), JSON.stringify({ keys: [jwk] }));
  writeFileSync(
    join(cwd, 'users.json'),
    JSON.stringify([
      { user: 'acrobat', passwordSha256: createHash('sha256').update(password).digest('hex') },
    ]),
  );
  // A client CA and a client certificate for mutual TLS, and the server's TLS certificate.
  const o = (args: string[]): void => {
    execFileSync('openssl', args, { cwd, stdio: 'pipe' });
  };
  o([
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
    '-addext',
    'subjectAltName=IP:127.0.0.1',
    '-days',
    '30',
  ]);
  o([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-subj',
    '/CN=client CA',
    '-days',
    '30',
  ]);
  o([
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'client.key',
    '-out',
    'client.csr',
    '-subj',
    '/CN=pipeline',
  ]);
  o([
    'x509',
    '-req',
    '-in',
    'client.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '30',
    '-out',
    'client.crt',
  ]);
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
    '--auth-basic-file',
    'users.json',
    '--jwt-jwks',
    'jwks.json',
    '--jwt-issuer',
    'https://issuer.example',
    '--jwt-audience',
    'attestamp-tsa',
    '--mtls-ca',
    'ca.crt',
    '--rate-limit',
    '5',
  ]);
  await new Promise((r) => setTimeout(r, 200));
  httpsUrl = /listening on (https:\/\/127\.0\.0\.1:\d+\/)/.exec(tsa.stdout())![1]!;
});

afterAll(async () => {
  await tsa.stop();
});

describe('access control', () => {
  it('a request without credentials gets 401 with WWW-Authenticate naming Basic and Bearer', async () => {
    const r = await stamp();
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toContain('Basic');
    expect(r.headers.get('www-authenticate')).toContain('Bearer');
  });

  it('HTTP Basic: the right password is granted, a wrong one refused', async () => {
    const ok = await stamp(basic('acrobat', password));
    expect(ok.status).toBe(200);
    expect(ok.type).toBe('application/timestamp-reply');
    expect((await stamp(basic('acrobat', password + 'x'))).status).toBe(401);
    expect((await stamp(basic('someone', password))).status).toBe(401);
  });

  it('JWT: a good token is granted, a wrong audience gets 403, an expired or foreign token 401', async () => {
    expect((await stamp({ authorization: `Bearer ${await jwt('attestamp-tsa')}` })).status).toBe(
      200,
    );
    expect((await stamp({ authorization: `Bearer ${await jwt('another-service')}` })).status).toBe(
      403,
    );
    const expired = await jwt('attestamp-tsa', '-1m');
    expect((await stamp({ authorization: `Bearer ${expired}` })).status).toBe(401);
    const otherIssuer = await jwt('attestamp-tsa', '5m', 'https://evil.example');
    expect((await stamp({ authorization: `Bearer ${otherIssuer}` })).status).toBe(401);
    expect((await stamp({ authorization: 'Bearer not.a.jwt' })).status).toBe(401);
  });

  it('mutual TLS: a client certificate from the client CA is granted, none is refused', async () => {
    const send = (withCert: boolean): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = httpsRequest(
          httpsUrl,
          {
            method: 'POST',
            ca: readFileSync(join(cwd, 'tls.crt')),
            headers: { 'content-type': 'application/timestamp-query' },
            ...(withCert
              ? {
                  cert: readFileSync(join(cwd, 'client.crt')),
                  key: readFileSync(join(cwd, 'client.key')),
                }
              : {}),
          },
          (res) => {
            res.resume();
            res.on('end', () => {
              resolve(res.statusCode ?? 0);
            });
          },
        );
        req.on('error', reject);
        req.end(Buffer.from(query));
      });
    expect(await send(true)).toBe(200);
    expect(await send(false)).toBe(401);
  });

  it('the rate limit answers 429 with Retry-After under a burst and recovers', async () => {
    await new Promise((r) => setTimeout(r, 2_100)); // refill the bucket
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 20; i++) {
      const r = await stamp(basic('acrobat', password));
      statuses.push(r.status);
      if (r.status === 429) retryAfter ??= r.headers.get('retry-after');
    }
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(5);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 1_200));
    expect((await stamp(basic('acrobat', password))).status).toBe(200);
  });
});

// Access control of the running TSA: HTTP Basic against scrypt hashes, JWT bearer tokens
// (issuer, audience, required and bounded expiry, clock skew), mutual TLS, the same
// authentication on fresh evidence, per-client rate limits with 429 and Retry-After that
// recover, and a budget for failed authentication.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { listenerUrl, startTsa, type RunningTsa } from '../helpers/tsa.js';
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
  // One user from standard input, one from a file: lines of the password file.
  const line = runCli(['tsa', 'passwd', 'acrobat'], { cwd, input: `${password}\n` });
  expect(line.code, line.stderr).toBe(0);
  expect(line.stdout).toMatch(/^acrobat:scrypt\$32768\$8\$1\$/);
  expect(line.stdout).not.toContain(password);
  writeFileSync(join(cwd, 'other.password'), 'another long password\n');
  const other = runCli(['tsa', 'passwd', 'other', '--password-file', 'other.password'], { cwd });
  expect(other.code, other.stderr).toBe(0);
  writeFileSync(join(cwd, 'users.passwd'), `# Basic users\n${line.stdout}${other.stdout}`);
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
    'users.passwd',
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
    '--auth-failure-limit',
    '30',
  ]);
  // Printed after the HTTP listener line that startTsa waits for.
  httpsUrl = await listenerUrl(tsa, 'https');
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

  it('JWT: a token typed as another kind of JWT (a DPoP proof, a logout token) is refused', async () => {
    const typed = (typ: string): Promise<string> =>
      new SignJWT({ sub: 'client-1' })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ })
        .setIssuer('https://issuer.example')
        .setAudience('attestamp-tsa')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(signingKey);
    for (const typ of ['dpop+jwt', 'logout+jwt']) {
      expect((await stamp({ authorization: `Bearer ${await typed(typ)}` })).status, typ).toBe(401);
    }
    for (const typ of ['at+jwt', 'JWT']) {
      expect((await stamp({ authorization: `Bearer ${await typed(typ)}` })).status, typ).toBe(200);
    }
  });

  it('JWT: exp is required, iat in the future and too long a lifetime are refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = (claims: { iat?: number; exp?: number; nbf?: number }): Promise<string> => {
      const t = new SignJWT({ sub: 'client-1' })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer('https://issuer.example')
        .setAudience('attestamp-tsa');
      if (claims.iat !== undefined) t.setIssuedAt(claims.iat);
      if (claims.exp !== undefined) t.setExpirationTime(claims.exp);
      if (claims.nbf !== undefined) t.setNotBefore(claims.nbf);
      return t.sign(signingKey);
    };
    const status = async (claims: Parameters<typeof token>[0]): Promise<number> =>
      (await stamp({ authorization: `Bearer ${await token(claims)}` })).status;
    // The same signature, issuer and audience throughout: only the time claims differ.
    expect(await status({ iat: now, exp: now + 300 })).toBe(200);
    expect(await status({ exp: now + 300 })).toBe(200);
    // RFC 9068 2.2: exp is required.
    expect(await status({ iat: now })).toBe(401);
    expect(await status({})).toBe(401);
    // Issued a year ahead (and valid until after that).
    expect(await status({ iat: now + 365 * 86_400, exp: now + 365 * 86_400 + 300 })).toBe(401);
    // Within the default 60 s skew is fine; beyond it is not.
    expect(await status({ iat: now + 30, exp: now + 300 })).toBe(200);
    expect(await status({ iat: now + 120, exp: now + 300 })).toBe(401);
    expect(await status({ nbf: now + 120, exp: now + 300 })).toBe(401);
    // Lifetime above the default 24 h: from iat, or from now without iat.
    expect(await status({ iat: now, exp: now + 86_400 + 3_600 })).toBe(401);
    expect(await status({ exp: now + 30 * 86_400 })).toBe(401);
    expect(await status({ iat: now - 3_600, exp: now + 82_800 })).toBe(200);
  });

  it('fresh evidence needs the same authentication as time-stamps; cached evidence stays public', async () => {
    const evidence = (headers: Record<string, string> = {}, nonce = true): Promise<Response> =>
      fetch(new URL(nonce ? 'evidence.pem?nonce=00ff' : 'evidence.pem', tsa.url), { headers });
    const anonymous = await evidence();
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain('Basic');
    expect((await evidence(basic('acrobat', password + 'x'))).status).toBe(401);
    const granted = await evidence(basic('acrobat', password));
    expect(granted.status).toBe(200);
    expect(await granted.text()).toContain('BEGIN EVIDENCE');
    expect((await evidence({}, false)).status).toBe(200);
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
    // All at once: 20 requests one after another would need to take under 100 ms each to
    // outrun the refill (5 a second on a burst of 10), which a busy machine does not promise.
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => stamp(basic('acrobat', password))),
    );
    const statuses = answers.map((r) => r.status);
    const retryAfter = answers.find((r) => r.status === 429)?.headers.get('retry-after') ?? null;
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(5);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 1_200));
    expect((await stamp(basic('acrobat', password))).status).toBe(200);
  });

  it('the former unsalted SHA-256 password file is refused at start-up, saying how to convert', () => {
    writeFileSync(
      join(cwd, 'users.json'),
      JSON.stringify([
        { user: 'acrobat', passwordSha256: createHash('sha256').update(password).digest('hex') },
      ]),
    );
    const r = runCli(['serve', '--port', '0', '--auth-basic-file', 'users.json'], { cwd });
    expect(r.code).toBe(65);
    expect(r.stderr).toContain('unsalted SHA-256');
    expect(r.stderr).toContain('attestamp tsa passwd USER');
    expect(r.stderr + r.stdout).not.toContain(password);
  });

  it('a JWK set with a symmetric or private key is refused at start-up, naming the key', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const cases: [string, Record<string, unknown>][] = [
      ['oct', { kty: 'oct', k: randomBytes(32).toString('base64url'), kid: 'h' }],
      ['private', { ...(await exportJWK(pair.privateKey)), kid: 'p' }],
    ];
    for (const [name, key] of cases) {
      writeFileSync(join(cwd, `jwks-${name}.json`), JSON.stringify({ keys: [key] }));
      const r = runCli(
        [
          'serve',
          '--port',
          '0',
          '--jwt-jwks',
          `jwks-${name}.json`,
          '--jwt-issuer',
          'i',
          '--jwt-audience',
          'a',
        ],
        { cwd },
      );
      expect(r.code, name).toBe(65);
      expect(r.stderr).toContain('--jwt-jwks key 0 is symmetric or private');
    }
  });

  it('JWT: a token signed with HS256 is refused even if its key were known (asymmetric only)', async () => {
    const secret = new TextEncoder().encode('a shared secret a shared secret!');
    const forged = await new SignJWT({ sub: 'mallory' })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setIssuer('https://issuer.example')
      .setAudience('attestamp-tsa')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(secret);
    expect((await stamp({ authorization: `Bearer ${forged}` })).status).toBe(401);
  });

  // Last: it spends the failure budget of 127.0.0.1.
  it('failed authentication is throttled: 300 wrong passwords get 429s, not 300 401s', async () => {
    const statuses: number[] = [];
    const started = Date.now();
    for (let batch = 0; batch < 6; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          stamp(basic('acrobat', `wrong-${batch}-${i}`)).then((r) => r.status),
        ),
      );
      statuses.push(...answers);
    }
    const count = (s: number): number => statuses.filter((x) => x === s).length;
    // The budget is 30 per minute: at most 30 passwords were checked, plus what refilled.
    expect(count(401)).toBeLessThanOrEqual(30 + Math.ceil((Date.now() - started) / 2_000));
    expect(count(429)).toBeGreaterThanOrEqual(250);
    expect(count(401) + count(429)).toBe(300);
    // Guesses of another user's password are refused the same way. The budget refills one check
    // every 2 s, so on a slow run one of them may be checked (401); back to back, the next are not.
    const others: number[] = [];
    for (let i = 0; i < 3; i++) others.push((await stamp(basic('other', `guess-${i}`))).status);
    expect(others.filter((s) => s === 429).length).toBeGreaterThanOrEqual(2);
    // A credential already proven (cached for a while) is not locked out by the guesses.
    expect((await stamp(basic('acrobat', password))).status).toBe(200);
  });
});

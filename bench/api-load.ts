// The REST API under load for `npm run bench`: `attestamp api` on HTTPS with a JWT issuer of its
// own, a P-256 application key, and autocannon signing through POST .../sign with 32 connections.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import autocannon from 'autocannon';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export const API_ISSUER = 'https://issuer.bench.invalid';
export const API_AUDIENCE = 'attestamp-bench';

export interface ApiBenchFiles {
  /** The `attestamp api` options that point at the files written. */
  readonly args: readonly string[];
  /** A bearer token for a crypto-user of the default partition. */
  readonly token: string;
}

/** A self-signed TLS certificate for 127.0.0.1, a JWKS file and a token, under `dir`. */
export async function writeApiBenchFiles(dir: string): Promise<ApiBenchFiles> {
  const ec = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = await webcrypto.subtle.generateKey(ec, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=attestamp bench API',
    notBefore: new Date(now - 86_400_000),
    notAfter: new Date(now + 86_400_000),
    keys,
    signingAlgorithm: ec,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }])],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64')}\n-----END PRIVATE KEY-----\n`;
  writeFileSync(join(dir, 'api-cert.pem'), cert.toString('pem'));
  writeFileSync(join(dir, 'api-key.pem'), keyPem, { mode: 0o600 });
  const issuer = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(issuer.publicKey)), kid: 'bench', alg: 'ES256', use: 'sig' };
  writeFileSync(join(dir, 'api-jwks.json'), JSON.stringify({ keys: [jwk] }));
  const token = await new SignJWT({
    attestamp_roles: ['crypto-user'],
    attestamp_partitions: ['default'],
  })
    .setProtectedHeader({ alg: 'ES256', kid: 'bench', typ: 'at+jwt' })
    .setIssuer(API_ISSUER)
    .setAudience(API_AUDIENCE)
    .setSubject('bench-client')
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(issuer.privateKey);
  return {
    token,
    args: [
      '--api-port',
      '0',
      '--api-tls-cert',
      join(dir, 'api-cert.pem'),
      '--api-tls-key',
      join(dir, 'api-key.pem'),
      '--api-jwks',
      join(dir, 'api-jwks.json'),
      '--api-jwt-issuer',
      API_ISSUER,
      '--api-jwt-audience',
      API_AUDIENCE,
      // The per-principal limit would measure the limiter, not the API.
      '--api-rate-limit',
      '100000',
    ],
  };
}

export interface ApiLoad {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  /** Answers other than 200, and connection errors and timeouts. */
  readonly failures: number;
}

/** Signs 32 bytes through the API for `ms`, with `connections` keep-alive connections. */
export async function apiSignLoad(
  port: number,
  token: string,
  path: string,
  connections: number,
  ms: number,
): Promise<ApiLoad> {
  const r = await autocannon({
    url: `https://127.0.0.1:${port}${path}`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ data: Buffer.alloc(32, 7).toString('base64') }),
    connections,
    pipelining: 1,
    duration: ms / 1000,
    // As in run.ts's load: stop near the slice's end, the rate over the time it ran.
    sampleInt: Math.min(50, ms),
  });
  return {
    rps: r.requests.total / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    failures: r.non2xx + r.errors + r.timeouts,
  };
}

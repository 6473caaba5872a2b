// The REST API under test: a real HSM on a SQLite file or a PostgreSQL database, the API's HTTPS
// listener on port 0, a test PKI (server certificate, client CAs, client certificates with chosen dates), JWTs signed
// by a test issuer, and a client that checks EVERY answer against the OpenAPI document
// (documented status, content type, body schema).
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
import { request as httpsRequest } from 'node:https';
import * as x509 from '@peculiar/x509';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { expect } from 'vitest';
import {
  documentValidators,
  findOperation,
  PROBLEM_TYPE,
  responseFor,
  startApiServer,
  type ApiServer,
  type ApiServerOptions,
  type AuthSettings,
  type OperationSpec,
} from '../../src/api/index.js';
import type { Hsm } from '../../src/hsm/index.js';
import { createTestDevice, type TestDevice } from './hsm.js';
import { freshDatabase, requirePostgres, type FreshDatabase } from './postgres.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface TestCert {
  readonly cert: string;
  readonly key: string;
  readonly der: Uint8Array;
}

export interface TestCaKeys {
  readonly name: string;
  readonly pem: string;
  readonly cert: x509.X509Certificate;
  readonly keys: CryptoKeyPair;
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  const b = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n');
  return `-----BEGIN PRIVATE KEY-----\n${b}\n-----END PRIVATE KEY-----\n`;
}

let serial = 1;

export async function makeCa(name: string): Promise<TestCaKeys> {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: (serial++).toString(16).padStart(2, '0'),
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 30 * DAY),
    keys,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
    ],
  });
  return { name, pem: cert.toString('pem'), cert, keys };
}

/** A leaf under `ca`: a TLS server for 127.0.0.1, or a client, valid from/to the given days. */
export async function makeLeaf(
  ca: TestCaKeys,
  subject: string,
  options: { server?: boolean; fromDays?: number; toDays?: number } = {},
): Promise<TestCert> {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: (serial++).toString(16).padStart(2, '0'),
    subject,
    issuer: ca.cert.subject,
    notBefore: new Date(Date.now() + (options.fromDays ?? -1) * DAY),
    notAfter: new Date(Date.now() + (options.toDays ?? 30) * DAY),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([
        options.server === true
          ? x509.ExtendedKeyUsage.serverAuth
          : x509.ExtendedKeyUsage.clientAuth,
      ]),
      ...(options.server === true
        ? [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }])]
        : []),
    ],
  });
  return {
    cert: cert.toString('pem'),
    key: await keyPem(keys.privateKey),
    der: new Uint8Array(cert.rawData),
  };
}

/** A JWT issuer: an ES256 key in a JWKS, and tokens with chosen claims. */
export interface TestIssuer {
  readonly issuer: string;
  readonly audience: string;
  readonly jwks: { keys: JWK[] };
  readonly publicJwk: JWK;
  token(
    claims: Record<string, unknown>,
    options?: { expiresIn?: string | number; audience?: string; typ?: string; kid?: string },
  ): Promise<string>;
}

export async function makeIssuer(): Promise<TestIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const issuer = 'https://issuer.test';
  const audience = 'attestamp-api';
  return {
    issuer,
    audience,
    jwks: { keys: [publicJwk] },
    publicJwk,
    token: (claims, options = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({
          alg: 'ES256',
          kid: options.kid ?? 'k1',
          ...(options.typ === undefined ? {} : { typ: options.typ }),
        })
        .setIssuer(issuer)
        .setAudience(options.audience ?? audience)
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? '10m')
        .sign(privateKey),
  };
}

export interface ApiFixture {
  readonly device: TestDevice;
  readonly hsm: Hsm;
  readonly api: ApiServer;
  readonly serverCa: TestCaKeys;
  readonly clientCa: TestCaKeys;
  readonly issuer: TestIssuer;
  /** A token for `sub` with roles and partitions. */
  token(sub: string, roles: readonly string[], partitions?: readonly string[]): Promise<string>;
  request(method: string, path: string, options?: RequestOptions): Promise<ApiResponse>;
  close(): Promise<void>;
}

export interface RequestOptions {
  readonly token?: string;
  readonly json?: unknown;
  readonly raw?: string | Buffer;
  readonly headers?: Record<string, string>;
  readonly cert?: TestCert;
  /** Skip the document check (only for answers that are not the API's, e.g. a reset). */
  readonly unchecked?: boolean;
  /**
   * The statuses the test accepts, each documented for the operation (expectStatusOf);
   * 'documented': any the operation lists by number. Absent: any documented answer.
   */
  readonly statuses?: readonly number[] | 'documented';
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly type: string;
  readonly text: string;
  /** The body's bytes (a binary answer: a DER bundle, a PEM chain). */
  readonly body: Buffer;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly json: any;
}

const { doc, validators } = documentValidators();

/** The operation a method and path name in the document (undefined: none, or no such path). */
function operationOf(method: string, path: string): OperationSpec | undefined {
  try {
    const found = findOperation(doc, method, path.split('?')[0]!);
    return typeof found === 'string' ? undefined : found.op;
  } catch {
    return undefined; // a path that does not decode
  }
}

/**
 * Whether the document has `status` for the operation: its own number or range (4XX), or, for
 * a refusal or failure (400 and above) only, its `default` response. A success the operation
 * does not list is never covered by `default`.
 */
export function isDocumentedStatus(op: OperationSpec, status: number): boolean {
  if (op.responses[String(status)] !== undefined) return true;
  if (op.responses[`${String(status)[0] ?? ''}XX`] !== undefined) return true;
  return status >= 400 && op.responses.default !== undefined;
}

/** The statuses the operation lists by number (200, 202...), without its default response. */
export function documentedStatuses(method: string, path: string): number[] {
  const op = operationOf(method, path);
  if (op === undefined) throw new Error(`${method} ${path} is not an operation of the document`);
  return Object.keys(op.responses)
    .filter((k) => /^\d{3}$/.test(k))
    .map(Number)
    .sort((a, b) => a - b);
}

/**
 * Checks an answer against the document: the status is documented for the operation (its own
 * number or range; `default` for 400 and above only; for a path the document does not have, a
 * problem), the content type is one documented for it, the body matches that schema, and a
 * problem's `status` is the answer's.
 */
export function expectDocumented(method: string, path: string, r: ApiResponse): void {
  const op = operationOf(method, path);
  const where = `${method} ${path} -> ${r.status}`;
  if (op === undefined || r.type === PROBLEM_TYPE) {
    expect(r.type, where).toBe(PROBLEM_TYPE);
    expect(
      validators.check({ $ref: '#/components/schemas/Problem' }, r.json),
      where,
    ).toBeUndefined();
    expect((r.json as { status?: unknown }).status, `${where}: the problem's status`).toBe(
      r.status,
    );
    if (op === undefined) return;
  }
  expect(isDocumentedStatus(op, r.status), `${where}: status not documented`).toBe(true);
  const spec = responseFor(op, r.status)!;
  const schema = spec.content[r.type];
  expect(schema, `${where}: content type ${r.type} not documented`).toBeDefined();
  // A JSON answer is checked as its value; a binary one (DER, PEM) as the string it is.
  const json = /^application\/(.+\+)?json$/.test(r.type);
  expect(
    validators.check(schema!, json ? r.json : r.text),
    `${where}: body ${r.text.slice(0, 300)}`,
  ).toBeUndefined();
  for (const h of spec.headers) {
    expect(r.headers[h.toLowerCase()], `${where}: header ${h}`).toBeDefined();
  }
}

/**
 * Checks that an answer's status is one of `expected`, each of which must be documented for
 * the operation (a test cannot accept a status the document does not have); without
 * `expected`, any status the operation lists by number (not its default problem).
 */
export function expectStatusOf(
  method: string,
  path: string,
  r: ApiResponse,
  expected?: readonly number[],
): void {
  const op = operationOf(method, path);
  if (op === undefined) throw new Error(`${method} ${path} is not an operation of the document`);
  const allowed = expected ?? documentedStatuses(method, path);
  for (const s of allowed) {
    expect(isDocumentedStatus(op, s), `${method} ${path}: ${s} is not documented`).toBe(true);
  }
  expect(allowed, `${method} ${path} -> ${r.status}: ${r.text.slice(0, 300)}`).toContain(r.status);
}

export function call(
  url: string,
  ca: string,
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<ApiResponse> {
  const body =
    options.raw !== undefined
      ? Buffer.from(options.raw)
      : options.json !== undefined
        ? Buffer.from(JSON.stringify(options.json))
        : undefined;
  const headers: Record<string, string> = {
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
    ...options.headers,
  };
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${url}${path}`,
      {
        method,
        headers,
        ca,
        ...(options.cert === undefined ? {} : { cert: options.cert.cert, key: options.cert.key }),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          const text = bytes.toString('utf8');
          const type = (res.headers['content-type'] ?? '').split(';')[0]!.trim();
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          const r: ApiResponse = {
            status: res.statusCode ?? 0,
            headers: res.headers,
            type,
            text,
            body: bytes,
            json,
          };
          try {
            if (options.unchecked !== true) expectDocumented(method, path, r);
            if (options.statuses !== undefined) {
              expectStatusOf(
                method,
                path,
                r,
                options.statuses === 'documented' ? undefined : options.statuses,
              );
            }
            resolve(r);
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** The device stores an API test can run on. */
export type ApiStore = 'sqlite' | 'postgres';

/**
 * The stores an API suite runs on, each with whether it must be skipped: SQLite always,
 * PostgreSQL when the test server is there. Call it while tests are collected: with CI=true a
 * missing server registers a failing test (requirePostgres), so the run cannot pass without it.
 */
export function apiStores(): readonly { readonly store: ApiStore; readonly skip: boolean }[] {
  return [
    { store: 'sqlite', skip: false },
    { store: 'postgres', skip: requirePostgres() },
  ];
}

/** A test device on a store, and how to close it (and drop its PostgreSQL database). */
export interface ApiDevice {
  readonly device: TestDevice;
  close(): Promise<void>;
}

/**
 * A device on a SQLite file, or on a database of its own on the PostgreSQL test server (dropped
 * by close), for several API listeners of one file to share: a device costs a factory, root
 * and partition keys, a listener only its TLS and token keys.
 */
export async function createApiDevice(store: ApiStore = 'sqlite'): Promise<ApiDevice> {
  const db: FreshDatabase | undefined = store === 'postgres' ? await freshDatabase() : undefined;
  const device = await createTestDevice(db === undefined ? {} : { location: db.url });
  return {
    device,
    close: async () => {
      await device.hsm.close();
      await db?.drop();
    },
  };
}

/**
 * A device (on a SQLite file, or on a database of its own on the PostgreSQL test server, dropped
 * by close; or `device`, shared and left open by close), the API on port 0 over HTTPS, JWT and
 * (optionally) client-certificate auth.
 */
export async function startApiFixture(
  options: {
    store?: ApiStore;
    /** A device to serve instead of a new one; close() leaves it open. */
    device?: TestDevice;
    auth?: (f: {
      issuer: TestIssuer;
      clientCa: TestCaKeys;
    }) => Promise<Partial<AuthSettings>> | Partial<AuthSettings>;
    allow?: readonly string[];
    limits?: ApiServerOptions['limits'];
    logger?: ApiServerOptions['logger'];
    /** The monotonic milliseconds of rate limits and idempotency (performance.now by default). */
    monotonic?: ApiServerOptions['monotonic'];
  } = {},
): Promise<ApiFixture> {
  const own = options.device === undefined ? await createApiDevice(options.store) : undefined;
  const device = options.device ?? own!.device;
  const serverCa = await makeCa('api test server ca');
  const clientCa = await makeCa('api test client ca');
  const tls = await makeLeaf(serverCa, 'CN=127.0.0.1', { server: true });
  const issuer = await makeIssuer();
  const extra = options.auth === undefined ? {} : await options.auth({ issuer, clientCa });
  const api = await startApiServer({
    hsm: device.hsm,
    auth: {
      jwt: { issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks },
      ...extra,
    },
    tls: { cert: tls.cert, key: tls.key, clientCa: clientCa.pem },
    port: 0,
    ...(options.allow === undefined ? {} : { allow: options.allow }),
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.monotonic === undefined ? {} : { monotonic: options.monotonic }),
  });
  return {
    device,
    hsm: device.hsm,
    api,
    serverCa,
    clientCa,
    issuer,
    token: (sub, roles, partitions = ['default']) =>
      issuer.token({ sub, attestamp_roles: roles, attestamp_partitions: partitions }),
    request: (method, path, o) => call(api.url, serverCa.pem, method, path, o),
    close: async () => {
      await api.close();
      await own?.close();
    },
  };
}

export interface ApiListenerFiles {
  /** The PEM of the CA that issued the listener's certificate (for the client to trust). */
  readonly serverCa: string;
  /** A client certificate mapped to `principal` (auditor of every partition). */
  readonly client: TestCert;
  /** A token for `app`, crypto-user of the default partition. */
  readonly token: string;
  /** The `--api-*` options naming the files (relative to `dir`) and the issuer. */
  readonly args: string[];
}

/**
 * What `attestamp api` or `serve` needs for a test listener, written into `dir`: TLS certificate
 * and key, client CA and certificate map, JWKS; and the options that name them.
 */
export async function writeApiListenerFiles(
  dir: string,
  principal: string,
): Promise<ApiListenerFiles> {
  const sca = await makeCa(`${principal} server ca`);
  const tls = await makeLeaf(sca, 'CN=127.0.0.1', { server: true });
  const cca = await makeCa(`${principal} client ca`);
  const client = await makeLeaf(cca, `CN=${principal}`);
  const issuer = await makeIssuer();
  const token = await issuer.token({
    sub: 'app',
    attestamp_roles: ['crypto-user'],
    attestamp_partitions: ['default'],
  });
  writeFileSync(join(dir, 'api.crt'), tls.cert);
  writeFileSync(join(dir, 'api.key'), tls.key);
  writeFileSync(join(dir, 'client-ca.pem'), cca.pem);
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify(issuer.jwks));
  writeFileSync(
    join(dir, 'clients.json'),
    JSON.stringify([
      { subject: `CN=${principal}`, principal, roles: ['auditor'], partitions: ['*'] },
    ]),
  );
  return {
    serverCa: sca.pem,
    client,
    token,
    args: [
      '--api-port',
      '0',
      '--api-tls-cert',
      'api.crt',
      '--api-tls-key',
      'api.key',
      '--api-client-ca',
      'client-ca.pem',
      '--api-client-map',
      'clients.json',
      '--api-jwks',
      'jwks.json',
      '--api-jwt-issuer',
      issuer.issuer,
      '--api-jwt-audience',
      issuer.audience,
    ],
  };
}

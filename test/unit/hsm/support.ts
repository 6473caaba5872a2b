// Shared assertions for the HSM core tests: error class and code, independent signature
// verification with node:crypto, raw access to a device store, and `openssl verify`.
import { execFileSync } from 'node:child_process';
import { constants, createHash, createPublicKey, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import { HsmError, type HsmErrorCode } from '../../../src/hsm/index.js';
import { encodePem, type KeyAlgorithm } from '../../../src/pki/index.js';
import { noblePqVerify } from '../../helpers/noble-pq.js';

/**
 * Runs `fn`, expects it to throw an HsmError with `code`, and returns the error. For a call that
 * returns a promise (every Hsm method), use expectHsmRejection: a promise here fails the test.
 */
export function expectHsmError(fn: () => unknown, code: HsmErrorCode): HsmError {
  let thrown: unknown;
  let result: unknown;
  try {
    result = fn();
  } catch (error) {
    thrown = error;
  }
  if (isThenable(result)) {
    // Settled quietly so that the misuse is reported once, by this failure.
    result.then(undefined, () => undefined);
    expect.fail(`expected a synchronous HsmError '${code}', got a promise: use expectHsmRejection`);
  }
  expect(thrown, `expected HsmError '${code}'`).toBeInstanceOf(HsmError);
  const error = thrown as HsmError;
  expect(error.code).toBe(code);
  return error;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    'then' in value &&
    typeof value.then === 'function'
  );
}

/** Awaits `promise`, expects it to reject with an HsmError with `code`, and returns the error. */
export async function expectHsmRejection(
  promise: Promise<unknown>,
  code: HsmErrorCode,
): Promise<HsmError> {
  let thrown: unknown;
  try {
    await promise;
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `expected HsmError '${code}'`).toBeInstanceOf(HsmError);
  const error = thrown as HsmError;
  expect(error.code).toBe(code);
  return error;
}

/**
 * Verifies a signature made by an HSM signer, with node:crypto (the post-quantum algorithms with
 * @noble/post-quantum: pure, empty context, the raw key from the SPKI) and nothing from src/hsm.
 */
export function verifySignature(
  algorithm: KeyAlgorithm,
  spki: Uint8Array,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  const pq = noblePqVerify(algorithm, spki, data, signature);
  if (pq !== undefined) return pq;
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  switch (algorithm) {
    case 'ecdsa-p256':
      return verify('sha256', data, { key, dsaEncoding: 'der' }, signature);
    case 'ecdsa-p384':
      return verify('sha384', data, { key, dsaEncoding: 'der' }, signature);
    case 'ed25519':
      return verify(null, data, key, signature);
    case 'rsa-3072':
    case 'rsa-4096':
      return verify('sha256', data, key, signature);
    case 'rsa-pss-3072':
    case 'rsa-pss-4096':
      return verify(
        'sha256',
        data,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
        signature,
      );
    default:
      throw new Error(`no independent verifier for ${algorithm}`);
  }
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Opens the SQLite file directly, runs `fn` and closes the connection. */
export function withRawDb<T>(path: string, fn: (db: Database.Database) => T): T {
  const db = new Database(path, { fileMustExist: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

export const STORE_TABLES = [
  'meta',
  'device',
  'partitions',
  'keys',
  'officers',
  'governance',
  'audit',
] as const;

export function rowCounts(db: Database.Database): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const table of STORE_TABLES) {
    const row = db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number };
    counts[table] = row.n;
  }
  return counts;
}

export interface OpensslResult {
  readonly ok: boolean;
  readonly output: string;
}

/**
 * `openssl verify -CAfile root.pem [-untrusted device.pem] [-purpose p] leaf.pem`, with the
 * DER certificates written to a temporary folder that is removed afterwards.
 */
export function opensslVerify(
  root: Uint8Array,
  leaf: Uint8Array,
  options: { untrusted?: Uint8Array; purpose?: string } = {},
): OpensslResult {
  const dir = mkdtempSync(join(tmpdir(), 'attestamp-openssl-'));
  try {
    return runVerify(dir, root, leaf, options);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runVerify(
  dir: string,
  root: Uint8Array,
  leaf: Uint8Array,
  options: { untrusted?: Uint8Array; purpose?: string },
): OpensslResult {
  const rootPath = join(dir, 'root.pem');
  const leafPath = join(dir, 'leaf.pem');
  writeFileSync(rootPath, encodePem('CERTIFICATE', root));
  writeFileSync(leafPath, encodePem('CERTIFICATE', leaf));
  const args = ['verify', '-CAfile', rootPath];
  if (options.untrusted !== undefined) {
    const untrustedPath = join(dir, 'device.pem');
    writeFileSync(untrustedPath, encodePem('CERTIFICATE', options.untrusted));
    args.push('-untrusted', untrustedPath);
  }
  if (options.purpose !== undefined) args.push('-purpose', options.purpose);
  args.push(leafPath);
  try {
    const output = execFileSync('openssl', args, { encoding: 'utf8', stdio: 'pipe' });
    return { ok: true, output };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** A second, fixed piece of data to sign. */
export const MESSAGE = new Uint8Array(Buffer.from('attestamp hsm test message', 'utf8'));

// Resolution of the data folder, the master key, the officer credential and the factory from
// flags, environment and files: the only place these are read.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import {
  Hsm,
  HsmError,
  isPostgresUrl,
  type MasterKeyInput,
  type OfficerCredential,
} from '../hsm/index.js';
import { fromHex } from '../shared/index.js';
import { stringOption, type Invocation } from './command.js';
import { InputError, UsageError } from './exit-codes.js';

export const STORE_FILE = 'attestamp.sqlite';
export const MASTER_KEY_FILE = 'master.key';
export const OFFICER_PASSPHRASE_FILE = 'officer.passphrase';

export function dataDir(inv: Invocation): string {
  const given = stringOption(inv, 'data') ?? inv.io.env.ATTESTAMP_DATA ?? 'data';
  return isAbsolute(given) ? given : resolve(inv.io.cwd, given);
}

export function storePath(inv: Invocation): string {
  return join(dataDir(inv), STORE_FILE);
}

/**
 * Where the device store is: a PostgreSQL URL from --store or $ATTESTAMP_STORE, else the SQLite
 * file under the data folder. The URL is never printed back (it may hold a password).
 */
export function storeLocation(
  inv: Invocation,
  configured?: string,
): { kind: 'sqlite' | 'postgres'; location: string } {
  const flagValue = stringOption(inv, 'store');
  const given = flagValue ?? inv.io.env.ATTESTAMP_STORE ?? configured;
  if (given === undefined || given === '') return { kind: 'sqlite', location: storePath(inv) };
  if (!isPostgresUrl(given)) {
    throw new UsageError(
      `${flagValue === undefined ? '$ATTESTAMP_STORE' : '--store'} must be a postgres:// or postgresql:// URL (the embedded SQLite store is chosen with --data)`,
    );
  }
  return { kind: 'postgres', location: given };
}

/** The quick-start factory lives beside the data folder, never inside it. */
export function developmentFactoryDir(inv: Invocation): string {
  return `${dataDir(inv)}-factory`;
}

export function readInputFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    throw new InputError(`cannot read ${what} file '${path}'`);
  }
}

/** Reads a one-line secret from a file (trailing newline removed). */
export function readSecretFile(path: string, what: string): string {
  const text = readInputFile(path, what)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (text.length === 0) throw new InputError(`${what} file '${path}' is empty`);
  return text;
}

function parseKeyHex(text: string, source: string): Uint8Array {
  const key = fromHex(text.trim());
  if (key?.length !== 32) {
    throw new UsageError(`${source} must hold 64 hex digits (a 32-byte key)`);
  }
  return key;
}

/**
 * Master key, in order: $ATTESTAMP_MASTER_KEY (64 hex digits), $ATTESTAMP_MASTER_PASSPHRASE,
 * --master-key-file, or DATA/master.key.
 */
export function masterKey(inv: Invocation): MasterKeyInput {
  const env = inv.io.env;
  if (env.ATTESTAMP_MASTER_KEY !== undefined && env.ATTESTAMP_MASTER_KEY !== '') {
    return { kind: 'key', key: parseKeyHex(env.ATTESTAMP_MASTER_KEY, 'ATTESTAMP_MASTER_KEY') };
  }
  if (env.ATTESTAMP_MASTER_PASSPHRASE !== undefined && env.ATTESTAMP_MASTER_PASSPHRASE !== '') {
    return { kind: 'passphrase', passphrase: env.ATTESTAMP_MASTER_PASSPHRASE };
  }
  const file = stringOption(inv, 'master-key-file') ?? join(dataDir(inv), MASTER_KEY_FILE);
  if (!existsSync(file)) {
    throw new UsageError(
      `no master key: set ATTESTAMP_MASTER_KEY or ATTESTAMP_MASTER_PASSPHRASE, or give --master-key-file (looked for '${file}')`,
    );
  }
  return {
    kind: 'key',
    key: parseKeyHex(readSecretFile(file, 'master key'), `master key file '${file}'`),
  };
}

/** At init: the configured master key, or a new key file (mode 0600) when none is configured. */
export function masterKeyForInit(inv: Invocation): { input: MasterKeyInput; createdFile?: string } {
  const env = inv.io.env;
  const explicit =
    (env.ATTESTAMP_MASTER_KEY ?? '') !== '' ||
    (env.ATTESTAMP_MASTER_PASSPHRASE ?? '') !== '' ||
    stringOption(inv, 'master-key-file') !== undefined;
  if (explicit) return { input: masterKey(inv) };
  const file = join(dataDir(inv), MASTER_KEY_FILE);
  const key = randomBytes(32);
  writeSecretFile(file, key.toString('hex') + '\n');
  return { input: { kind: 'key', key }, createdFile: file };
}

/**
 * Writes bytes only their owner may read (a bundle, a share, a receipt): mode 0600, also when
 * the file was there already with a wider mode (writeFileSync's mode applies to a new file only).
 */
export function writePrivateFile(path: string, bytes: Uint8Array): void {
  writeFileSync(path, bytes, { mode: 0o600 });
  chmodSync(path, 0o600);
}

export function writeSecretFile(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
}

/** Creates the folder, or restricts an existing one, to mode 0700. */
export function ensureDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chmodSync(path, 0o700);
}

/**
 * The audit principal of a local call that proves no credential: the operating-system user who
 * runs the CLI (`cli:<user>`). Officers who prove a credential are logged by name instead.
 */
export function localPrincipal(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return `cli:uid-${process.getuid?.() ?? 'unknown'}`;
  }
}

/** Officer credential from --officer and $ATTESTAMP_OFFICER_PASSPHRASE or --officer-passphrase-file. */
export function officerCredential(inv: Invocation): OfficerCredential | undefined {
  const name = stringOption(inv, 'officer') ?? 'so';
  const file = stringOption(inv, 'officer-passphrase-file');
  if (file !== undefined) return { name, passphrase: readSecretFile(file, 'officer passphrase') };
  const env = inv.io.env.ATTESTAMP_OFFICER_PASSPHRASE;
  if (env !== undefined && env !== '') return { name, passphrase: env };
  return undefined;
}

export async function openHsm(inv: Invocation, configuredStore?: string): Promise<Hsm> {
  const store = storeLocation(inv, configuredStore);
  if (store.kind === 'postgres') {
    return Hsm.open(store.location, masterKey(inv), { actor: localPrincipal() });
  }
  // The store is looked for first: a wrong --data folder is "not found", not "no master key".
  const path = store.location;
  if (!existsSync(path)) {
    throw new HsmError(
      'store-not-found',
      `no device store in '${dataDir(inv)}': give --data DIR (or $ATTESTAMP_DATA) of an initialised device, or run attestamp init`,
      { details: { path } },
    );
  }
  return Hsm.open(path, masterKey(inv), { actor: localPrincipal() });
}

export async function withHsm<T>(inv: Invocation, fn: (hsm: Hsm) => Promise<T> | T): Promise<T> {
  const hsm = await openHsm(inv);
  try {
    return await fn(hsm);
  } finally {
    await hsm.close();
  }
}

/**
 * Runs an action that needs the security officer; a refusal for want of a credential says how
 * to give one: the flag, the variable, and the passphrase file init wrote (when it exists).
 */
export async function withOfficerHint<T>(inv: Invocation, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (!(error instanceof HsmError) || error.code !== 'officer-required') throw error;
    const file = join(dataDir(inv), OFFICER_PASSPHRASE_FILE);
    const where = existsSync(file) ? ` (init wrote the passphrase to '${file}')` : '';
    throw new HsmError(
      'officer-required',
      `this action needs the security officer: give --officer-passphrase-file FILE${where} or set ATTESTAMP_OFFICER_PASSPHRASE`,
      { cause: error },
    );
  }
}

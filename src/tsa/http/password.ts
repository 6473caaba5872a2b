// Passwords of HTTP Basic users (RFC 7617), stored salted and stretched with scrypt (RFC 7914)
// as `scrypt$N$r$p$SALT$HASH` (salt and hash in base64url), so that a leaked password file
// costs a guesser ~100 ms and 32 MiB per guess and per user, instead of one SHA-256.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export interface PasswordHash {
  readonly n: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

/** The parameters `attestamp tsa passwd` uses (the same work factor as the master passphrase). */
export const DEFAULT_SCRYPT = { n: 2 ** 15, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
/**
 * Stored parameters are bounded: a password file is configuration, but one with N = 2^30 would
 * let each request cost gigabytes, and one with N = 2 would not stretch at all.
 */
const MIN_LOG_N = 14;
const MAX_LOG_N = 20;
const MAX_MEMORY = 256 * 1024 * 1024;

function memoryFor(h: { n: number; r: number; p: number }): number {
  return 128 * h.n * h.r * h.p;
}

function b64(bytes: Buffer): string {
  return bytes.toString('base64url');
}

/** Parses a stored hash; throws RangeError naming what is wrong (never echoing the value). */
export function parsePasswordHash(text: string): PasswordHash {
  const parts = text.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') {
    throw new RangeError('not a scrypt$N$r$p$salt$hash password hash');
  }
  const [n, r, p] = parts.slice(1, 4).map((v) => (/^\d{1,9}$/.test(v) ? Number(v) : NaN)) as [
    number,
    number,
    number,
  ];
  const logN = Math.log2(n);
  if (!Number.isInteger(logN) || logN < MIN_LOG_N || logN > MAX_LOG_N) {
    throw new RangeError(`scrypt N must be a power of two from 2^${MIN_LOG_N} to 2^${MAX_LOG_N}`);
  }
  if (!(r >= 1 && r <= 32) || !(p >= 1 && p <= 16) || memoryFor({ n, r, p }) > MAX_MEMORY) {
    throw new RangeError('scrypt r must be 1..32, p 1..16, and 128*N*r*p at most 256 MiB');
  }
  const salt = Buffer.from(parts[4]!, 'base64url');
  const hash = Buffer.from(parts[5]!, 'base64url');
  if (salt.length < SALT_BYTES || hash.length < HASH_BYTES || hash.length > 64) {
    throw new RangeError(`the salt needs ${SALT_BYTES}+ bytes and the hash 32 to 64 bytes`);
  }
  return { n, r, p, salt, hash };
}

function derive(
  password: string,
  salt: Buffer,
  length: number,
  h: { n: number; r: number; p: number },
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // Asynchronous: scrypt runs on libuv's thread pool, not on the event loop.
    scrypt(
      Buffer.from(password, 'utf8'),
      salt,
      length,
      { N: h.n, r: h.r, p: h.p, maxmem: 2 * memoryFor(h) },
      (error, key) => {
        if (error === null) resolve(key);
        else reject(error);
      },
    );
  });
}

/** A new stored hash for `password` (fresh random salt). */
export async function hashPassword(
  password: string,
  params: { n: number; r: number; p: number } = DEFAULT_SCRYPT,
): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, HASH_BYTES, params);
  return `scrypt$${params.n}$${params.r}$${params.p}$${b64(salt)}$${b64(hash)}`;
}

/** True when `password` matches; the comparison takes the same time wherever bytes differ. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const candidate = await derive(password, stored.salt, stored.hash.length, stored);
  return timingSafeEqual(candidate, stored.hash);
}

export interface BasicUser {
  readonly user: string;
  readonly password: PasswordHash;
}

/**
 * Reads a password file: one `USER:scrypt$N$r$p$salt$hash` line per user (as printed by
 * `attestamp tsa passwd USER`), blank lines and `#` comments ignored. The former JSON file of
 * unsalted SHA-256 hashes is refused: those cannot be converted without the passwords.
 */
export function parsePasswordFile(text: string): BasicUser[] {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    throw new RangeError(
      'this is the former JSON file of unsalted SHA-256 password hashes, which is no longer accepted; ' +
        'make a line per user with `attestamp tsa passwd USER < password-file >> users.passwd` ' +
        '(the old hashes cannot be converted: each password has to be entered again)',
    );
  }
  const users: BasicUser[] = [];
  const seen = new Set<string>();
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    const user = colon < 0 ? '' : line.slice(0, colon);
    // RFC 7617 2: the user-id cannot contain a colon.
    if (!/^[^\s:]{1,128}$/.test(user)) throw new RangeError(`line ${i + 1}: expected USER:HASH`);
    if (seen.has(user)) throw new RangeError(`line ${i + 1}: user '${user}' appears twice`);
    seen.add(user);
    let password: PasswordHash;
    try {
      password = parsePasswordHash(line.slice(colon + 1));
    } catch (error) {
      throw new RangeError(
        `line ${i + 1}: ${error instanceof Error ? error.message : 'bad hash'}`,
        {
          cause: error,
        },
      );
    }
    users.push({ user, password });
  }
  if (users.length === 0) throw new RangeError('no users in the password file');
  return users;
}

// Roles and credentials: security officers authenticate with a passphrase stored only as a
// scrypt hash and compared in constant time. (Quorum of several officers builds on this.)
import { timingSafeEqual } from 'node:crypto';
import { newScryptParams, scryptKey, type ScryptParams } from './master-key.js';

export interface StoredCredential {
  readonly name: string;
  readonly params: ScryptParams;
  readonly hash: Uint8Array;
}

export function hashCredential(name: string, passphrase: string): StoredCredential {
  const params = newScryptParams();
  return { name, params, hash: scryptKey(passphrase, params) };
}

/** A fixed dummy so that an unknown officer name costs the same time as a wrong passphrase. */
const DUMMY: StoredCredential = {
  name: '',
  params: { salt: '00'.repeat(16), N: 1 << 15, r: 8, p: 1 },
  hash: new Uint8Array(32),
};

export function checkCredential(stored: StoredCredential | undefined, passphrase: string): boolean {
  const target = stored ?? DUMMY;
  const candidate = scryptKey(passphrase, target.params);
  const equal = candidate.length === target.hash.length && timingSafeEqual(candidate, target.hash);
  return equal && stored !== undefined;
}

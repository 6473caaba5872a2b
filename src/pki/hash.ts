// Hash functions by name (browser-safe, @noble/hashes) and SHA-256 fingerprints.
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { sha3_256, sha3_384, sha3_512 } from '@noble/hashes/sha3.js';
import { toHex } from '../shared/index.js';
import { PkiError } from './errors.js';
import { id_sha256, id_sha384, id_sha512, id_sha3_256, id_sha3_384, id_sha3_512 } from './oids.js';

export type HashName = 'sha256' | 'sha384' | 'sha512' | 'sha3-256' | 'sha3-384' | 'sha3-512';

export interface HashInfo {
  readonly name: HashName;
  readonly oid: string;
  readonly length: number;
  readonly digest: (data: Uint8Array) => Uint8Array;
}

export const HASHES: Readonly<Record<HashName, HashInfo>> = {
  sha256: { name: 'sha256', oid: id_sha256, length: 32, digest: (d) => sha256(d) },
  sha384: { name: 'sha384', oid: id_sha384, length: 48, digest: (d) => sha384(d) },
  sha512: { name: 'sha512', oid: id_sha512, length: 64, digest: (d) => sha512(d) },
  'sha3-256': { name: 'sha3-256', oid: id_sha3_256, length: 32, digest: (d) => sha3_256(d) },
  'sha3-384': { name: 'sha3-384', oid: id_sha3_384, length: 48, digest: (d) => sha3_384(d) },
  'sha3-512': { name: 'sha3-512', oid: id_sha3_512, length: 64, digest: (d) => sha3_512(d) },
};

export function hashByOid(oid: string): HashInfo | undefined {
  return Object.values(HASHES).find((h) => h.oid === oid);
}

export function digest(name: HashName, data: Uint8Array): Uint8Array {
  const info = HASHES[name] as HashInfo | undefined;
  if (info === undefined) throw new PkiError('algorithm-unsupported', 'unknown hash');
  return info.digest(data);
}

/** Lowercase hex SHA-256 of the given DER (a certificate or SPKI fingerprint). */
export function sha256Fingerprint(der: Uint8Array): string {
  return toHex(sha256(der));
}

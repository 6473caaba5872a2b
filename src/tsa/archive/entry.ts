// The issuance archive's entry format, shared by its SQLite and PostgreSQL stores: the canonical
// body each row hashes (fixed: existing archives must keep verifying) and the chain's digest.
import { createHash } from 'node:crypto';
import { canonicalBody, type ChainDigest } from '../../shared/index.js';

/** The stored fields an entry's hash covers (the kept response bytes stay out of it). */
export interface EntryFields {
  readonly seq: number;
  readonly at: string;
  readonly unit: string;
  readonly key_spki_sha256: string;
  readonly serial: string | null;
  readonly gen_time: string | null;
  readonly policy: string | null;
  readonly hash_algorithm: string | null;
  readonly imprint: Uint8Array | null;
  readonly nonce: Uint8Array | null;
  readonly status: 'granted' | 'rejection';
  readonly fail_info: string | null;
  readonly response_sha256: Uint8Array;
}

/** An entry exactly as a store keeps it: the hashed fields, the kept bytes and the links. */
export interface StoredRow extends EntryFields {
  readonly response: Uint8Array | null;
  readonly prev_hash: Uint8Array;
  readonly hash: Uint8Array;
}

export const hexOrNull = (b: Uint8Array | null): string | null =>
  b === null ? null : Buffer.from(b).toString('hex');

/**
 * The canonical body: a JSON array of the fields in this order, bytes as lowercase hex. With a
 * node id (a PostgreSQL chain), the id comes first, so that each row names the chain it is in.
 */
export function entryBody(r: EntryFields, node?: string): string {
  const fields = [
    r.seq,
    r.at,
    r.unit,
    r.key_spki_sha256,
    r.serial,
    r.gen_time,
    r.policy,
    r.hash_algorithm,
    hexOrNull(r.imprint),
    hexOrNull(r.nonce),
    r.status,
    r.fail_info,
    hexOrNull(r.response_sha256),
  ];
  return canonicalBody(node === undefined ? fields : [node, ...fields]);
}

/**
 * The name of a SQLite archive's chain imported into PostgreSQL: its head's first 12 hex
 * digits, so that the name commits to the head (verify checks it) and one archive imported
 * twice is refused. A valid node id, which no node may take (the chain is closed).
 */
export function importedChainName(headHex: string): string {
  return `imported-${headHex.slice(0, 12)}`;
}

/** SHA-256(prev || body) with node:crypto: the same bytes as the shared default, faster. */
export const archiveDigest: ChainDigest = (prev, body) => {
  const h = createHash('sha256').update(prev);
  return typeof body === 'string' ? h.update(body, 'utf8').digest() : h.update(body).digest();
};

export const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

// The checks both archive stores (SQLite, PostgreSQL) make of one stored entry, over the shared
// hash chain: its body recomputed from the row's own fields, its kept response against the
// chained response hash, and its place between its neighbours when its bytes are asked for.
import { bytesEqual, GENESIS, type StoredEntry } from '../../shared/index.js';
import { archiveDigest, entryBody, sha256, type EntryFields } from './entry.js';
import type { KeptResponse } from './types.js';

/** A stored row as checked: the hashed fields, the kept response (absent in an old SQLite file), the links. */
export interface CheckedRow extends EntryFields {
  readonly response?: Uint8Array | null;
  readonly prev_hash: Uint8Array;
  readonly hash: Uint8Array;
}

/** A row as a hash-chain entry, its body recomputed; `node` names its chain (PostgreSQL). */
export function storedEntry<R extends CheckedRow>(
  row: R,
  node?: string,
): StoredEntry & { readonly row: R } {
  return {
    seq: row.seq,
    body: entryBody(row, node),
    prevHash: row.prev_hash,
    hash: row.hash,
    row,
  };
}

/** What is wrong with an entry whose hash verified, beyond the chain: its kept response. */
export function entryProblem(row: CheckedRow): string | undefined {
  // The kept bytes are outside the row hash; the chained response_sha256 authenticates them.
  if (row.response != null && !sha256(row.response).equals(row.response_sha256)) {
    return 'the kept response does not match its hash';
  }
  return undefined;
}

/**
 * The kept bytes of one row, checked against the chained response hash, the row's own hash and
 * the links of the rows before and after it (`before`: the previous row's hash, undefined when
 * there is none; `after`: the next row's previous hash): editing the bytes and their hash
 * together breaks one of these.
 */
export function checkedResponse(
  row: CheckedRow,
  node: string | undefined,
  before: Uint8Array | undefined,
  after: Uint8Array | undefined,
): KeptResponse {
  if (row.response == null) return 'not-kept';
  if (!sha256(row.response).equals(row.response_sha256)) return 'mismatch';
  if (!bytesEqual(archiveDigest(row.prev_hash, entryBody(row, node)), row.hash)) return 'mismatch';
  if (row.seq > 1 && before === undefined) return 'mismatch';
  if (!bytesEqual(before ?? GENESIS, row.prev_hash)) return 'mismatch';
  if (after !== undefined && !bytesEqual(after, row.hash)) return 'mismatch';
  return new Uint8Array(row.response);
}

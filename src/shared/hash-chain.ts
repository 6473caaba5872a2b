// One hash-chained log, shared by the HSM audit log and the TSA issuance archive: each entry's hash
// is SHA-256(previous hash || canonical body), and a verifier walks a sequence of entries (sync or
// async) checking sequence continuity, links, hashes, an optional MAC and an optional known head.
import { sha256 } from '@noble/hashes/sha2.js';
import { constantTimeEqual, toHex, utf8 } from './bytes.js';

/** The previous hash of a chain's first entry: 32 zero bytes. */
export const GENESIS: Uint8Array = new Uint8Array(32);

/**
 * SHA-256 over `prev` followed by `body` (a string as UTF-8). The default is browser-safe
 * (@noble/hashes); a server may pass node:crypto's for speed, giving the same bytes.
 */
export type ChainDigest = (prev: Uint8Array, body: string | Uint8Array) => Uint8Array;

export const chainDigest: ChainDigest = (prev, body) =>
  sha256
    .create()
    .update(prev)
    .update(typeof body === 'string' ? utf8(body) : body)
    .digest();

/**
 * The canonical body of an entry: its fields as a JSON array, in a fixed order (the format both
 * logs have always hashed). Fields are numbers, strings or null; an object must be made
 * canonical (sorted keys) and passed as its text.
 */
export function canonicalBody(fields: readonly (string | number | boolean | null)[]): string {
  return JSON.stringify(fields);
}

/** An entry's hash: SHA-256(prev || body). */
export function linkHash(
  prev: Uint8Array,
  body: string | Uint8Array,
  digest: ChainDigest = chainDigest,
): Uint8Array {
  return digest(prev, body);
}

/** The last entry of a chain: its sequence number and hash (hex), or where a chain was seen. */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

/** The position a new entry takes: its sequence number, previous hash and hash. */
export interface ChainLink {
  readonly seq: number;
  readonly prevHash: Uint8Array;
  readonly hash: Uint8Array;
}

/**
 * Links the next entry after `head` (undefined: the chain is empty; its first entry gets
 * `firstSeq`). The body depends on the entry's own sequence number, which it usually contains.
 */
export function nextLink(
  head: { readonly seq: number; readonly hash: Uint8Array } | undefined,
  body: (seq: number) => string | Uint8Array,
  options: { readonly firstSeq?: number; readonly digest?: ChainDigest } = {},
): ChainLink {
  const seq = head === undefined ? (options.firstSeq ?? 1) : head.seq + 1;
  const prevHash = head?.hash ?? GENESIS;
  return { seq, prevHash, hash: linkHash(prevHash, body(seq), options.digest) };
}

/** An entry as stored, for verification: what it claims (seq, links, hash, MAC) and its body. */
export interface StoredEntry {
  readonly seq: number;
  /** The canonical body recomputed from the stored fields. */
  readonly body: string | Uint8Array;
  readonly prevHash: Uint8Array;
  readonly hash: Uint8Array;
  /** The stored MAC over the hash, when the log keeps one. */
  readonly mac?: Uint8Array | null | undefined;
}

export interface ChainVerifyOptions<E extends StoredEntry> {
  /** Sequence number of the first entry (default 1). */
  readonly firstSeq?: number;
  /** Previous hash of the first entry (default GENESIS): a segment may start mid-chain. */
  readonly genesis?: Uint8Array;
  readonly digest?: ChainDigest;
  /**
   * The MAC the entry must carry, computed from its verified hash (for instance HMAC-SHA-256
   * under a key derived from the master key); compared with the stored one in constant time.
   */
  readonly mac?: (hash: Uint8Array, entry: E) => Uint8Array;
  /** A further check of an entry whose hash verified: a reason when it fails, else undefined. */
  readonly check?: (entry: E, hash: Uint8Array) => string | undefined;
  /** A head recorded elsewhere: the result says whether this chain passes through it. */
  readonly expect?: ChainHead;
}

export interface ChainVerification {
  readonly ok: boolean;
  /** Entries read, the bad one included. */
  readonly entries: number;
  /** Hex hash of the last entry that verified (GENESIS when none): record it elsewhere. */
  readonly head: string;
  /** Sequence number of that entry (firstSeq - 1 when none). */
  readonly headSeq: number;
  readonly firstBad?: { readonly seq: number; readonly reason: string };
  /** Present when `expect` was given: whether the chain verified and passes through that head. */
  readonly expectedHead?: ChainHead & { readonly extended: boolean };
}

/**
 * Verifies entries one at a time, so that the same checks serve an array, a database cursor and
 * an async stream. `push` returns false once an entry failed; later entries are not read.
 */
export class ChainVerifier<E extends StoredEntry = StoredEntry> {
  private prev: Uint8Array;
  private expectedSeq: number;
  private count = 0;
  private extended = false;
  private bad: { seq: number; reason: string } | undefined;

  constructor(private readonly options: ChainVerifyOptions<E> = {}) {
    this.prev = options.genesis ?? GENESIS;
    this.expectedSeq = options.firstSeq ?? 1;
  }

  push(entry: E): boolean {
    if (this.bad !== undefined) return false;
    this.count++;
    const reason = this.reasonAgainst(entry);
    if (reason !== undefined) {
      this.bad = { seq: entry.seq, reason };
      return false;
    }
    return true;
  }

  private reasonAgainst(entry: E): string | undefined {
    const o = this.options;
    if (entry.seq !== this.expectedSeq) return `entry ${this.expectedSeq} is missing`;
    if (!constantTimeEqual(entry.prevHash, this.prev)) return 'previous-hash link broken';
    const hash = linkHash(this.prev, entry.body, o.digest);
    if (!constantTimeEqual(hash, entry.hash)) return 'entry content does not match its hash';
    if (o.mac !== undefined) {
      const stored = entry.mac ?? new Uint8Array(0);
      if (!constantTimeEqual(stored, o.mac(hash, entry))) return 'entry mac does not verify';
    }
    const other = o.check?.(entry, hash);
    if (other !== undefined) return other;
    if (o.expect !== undefined && entry.seq === o.expect.seq) {
      this.extended = toHex(hash) === o.expect.hash.toLowerCase();
    }
    this.prev = hash;
    this.expectedSeq++;
    return undefined;
  }

  result(): ChainVerification {
    const expect = this.options.expect;
    const ok = this.bad === undefined;
    return {
      ok,
      entries: this.count,
      head: toHex(this.prev),
      headSeq: this.expectedSeq - 1,
      ...(this.bad === undefined ? {} : { firstBad: { ...this.bad } }),
      ...(expect === undefined
        ? {}
        : { expectedHead: { seq: expect.seq, hash: expect.hash, extended: ok && this.extended } }),
    };
  }
}

/** Verifies a whole chain from a sync iterable (an array, a SQLite statement's iterate()). */
export function verifyChain<E extends StoredEntry>(
  entries: Iterable<E>,
  options: ChainVerifyOptions<E> = {},
): ChainVerification {
  const v = new ChainVerifier(options);
  for (const e of entries) if (!v.push(e)) break;
  return v.result();
}

/** The same over an async iterable (a PostgreSQL cursor read in pages) or a sync one. */
export async function verifyChainAsync<E extends StoredEntry>(
  entries: AsyncIterable<E> | Iterable<E>,
  options: ChainVerifyOptions<E> = {},
): Promise<ChainVerification> {
  const v = new ChainVerifier(options);
  for await (const e of entries) if (!v.push(e)) break;
  return v.result();
}

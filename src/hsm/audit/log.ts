// Hash-chained, MAC-protected audit log kept in the device store. Each entry is appended in the
// same transaction as the change it records; the store serialises writers (one chain, one head).
import { createHash, createHmac } from 'node:crypto';
import {
  bytesEqual,
  canonicalBody,
  ChainVerifier,
  nextLink,
  verifyChainAsync,
  type ChainDigest,
  type StoredEntry,
} from '../../shared/index.js';
import { HsmError } from '../errors.js';
import type { AuditOutcome, AuditRow, StoreReader, StoreTx } from '../store/device-store.js';

export type { AuditOutcome };

export interface AuditEvent {
  readonly actor: string;
  readonly action: string;
  readonly partitionId?: string | undefined;
  readonly keyId?: string | undefined;
  /** The governance object the entry changes ('kind:id'). */
  readonly object?: string | undefined;
  readonly outcome: AuditOutcome;
  /** Identifiers and non-secret facts only. */
  readonly details?: Readonly<Record<string, string | number | boolean>>;
}

export interface AuditEntry {
  readonly seq: number;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly partitionId: string | null;
  readonly keyId: string | null;
  readonly object: string | null;
  readonly outcome: AuditOutcome;
  readonly details: Readonly<Record<string, string | number | boolean>>;
  readonly prevHash: string;
  readonly hash: string;
}

function canonicalDetails(details: Readonly<Record<string, unknown>>): string {
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(details).sort()) sorted[k] = details[k];
  return JSON.stringify(sorted);
}

type AuditFields = Pick<
  AuditRow,
  | 'seq'
  | 'at'
  | 'actor'
  | 'action'
  | 'partition_id'
  | 'key_id'
  | 'outcome'
  | 'details_json'
  | 'object'
>;

/**
 * The entry's canonical body, as the shared hash chain (src/shared/hash-chain.ts) links it. An
 * entry about a governance object has a ninth field, the object: entries written before it
 * existed keep their hashes, and an object removed from an entry breaks its hash.
 */
function entryBody(row: AuditFields): string {
  const fields = [
    row.seq,
    row.at,
    row.actor,
    row.action,
    row.partition_id,
    row.key_id,
    row.outcome,
    row.details_json,
  ];
  return canonicalBody(row.object === null ? fields : [...fields, row.object]);
}

/** node:crypto's SHA-256 for the chain: the same bytes as the default, faster on a server. */
const nodeDigest: ChainDigest = (prev, body) =>
  createHash('sha256').update(prev).update(body).digest();

function entryMac(key: Uint8Array, hash: Uint8Array): Buffer {
  return createHmac('sha256', key).update(hash).digest();
}

function storedEntry(row: AuditRow): StoredEntry {
  return {
    seq: row.seq,
    body: entryBody(row),
    prevHash: row.prev_hash,
    hash: row.hash,
    mac: row.mac,
  };
}

function chainOptions(macKey: Uint8Array): {
  digest: ChainDigest;
  mac: (hash: Uint8Array) => Buffer;
} {
  return { digest: nodeDigest, mac: (hash) => entryMac(macKey, hash) };
}

/** Appends one entry; call inside the transaction that makes the change. */
export async function appendAudit(
  tx: StoreTx,
  macKey: Uint8Array,
  at: Date,
  event: AuditEvent,
): Promise<number> {
  const last = await tx.audit.head();
  const fields = (seq: number): AuditFields => ({
    seq,
    at: at.toISOString(),
    actor: event.actor,
    action: event.action,
    partition_id: event.partitionId ?? null,
    key_id: event.keyId ?? null,
    outcome: event.outcome,
    object: event.object ?? null,
    details_json: canonicalDetails(event.details ?? {}),
  });
  const link = nextLink(last, (seq) => entryBody(fields(seq)), { digest: nodeDigest });
  const hash = Buffer.from(link.hash);
  await tx.audit.insert({
    ...fields(link.seq),
    prev_hash: Buffer.from(link.prevHash),
    hash,
    mac: entryMac(macKey, hash),
  });
  return link.seq;
}

export interface AuditVerification {
  readonly ok: boolean;
  readonly entries: number;
  /** Hex hash of the last entry: record it elsewhere to detect truncation later. */
  readonly head: string;
  readonly firstBad?: { readonly seq: number; readonly reason: string };
  /** Present when a recorded head was given: whether this log extends it. */
  readonly expectedHead?: AuditHead & { readonly extended: boolean };
}

/** A point of the log recorded elsewhere: an entry's sequence number and its hash (hex). */
export interface AuditHead {
  readonly seq: number;
  readonly hash: string;
}

/** Parses `SEQ:HASH` (decimal sequence number, 64 hex digits); undefined when malformed. */
export function parseAuditHead(text: string): AuditHead | undefined {
  const m = /^([1-9][0-9]{0,15}):([0-9a-fA-F]{64})$/.exec(text.trim());
  if (m === null) return undefined;
  const seq = Number(m[1]);
  return Number.isSafeInteger(seq) ? { seq, hash: m[2]!.toLowerCase() } : undefined;
}

export function formatAuditHead(head: AuditHead): string {
  return `${head.seq}:${head.hash}`;
}

/**
 * Recomputes the chain and every MAC; names the first entry that does not check out. With
 * `expect`, also says whether the chain passes through that entry with that hash: an older copy
 * of the store put back, or another history, does not.
 */
export async function verifyAudit(
  store: StoreReader,
  macKey: Uint8Array,
  expect?: AuditHead,
): Promise<AuditVerification> {
  async function* entries(): AsyncGenerator<StoredEntry> {
    for await (const row of store.audit.entries()) yield storedEntry(row);
  }
  const v = await verifyChainAsync(entries(), {
    ...chainOptions(macKey),
    ...(expect === undefined ? {} : { expect }),
  });
  return {
    ok: v.ok,
    entries: v.entries,
    head: v.head,
    ...(v.firstBad === undefined ? {} : { firstBad: v.firstBad }),
    ...(v.expectedHead === undefined ? {} : { expectedHead: v.expectedHead }),
  };
}

/**
 * The log's entries in one pass, each yielded only once its link and MAC verified; the first
 * that does not is an integrity failure. One pass, so that what is used is what was verified:
 * verifying first and reading again would use entries appended in between unverified. Read it
 * through a snapshot or a transaction (DeviceStore.snapshot, tx) for one state of the log.
 */
export async function* verifiedAuditEntries(
  store: StoreReader,
  macKey: Uint8Array,
): AsyncGenerator<AuditEntry> {
  const chain = new ChainVerifier(chainOptions(macKey));
  for await (const row of store.audit.entries()) {
    if (!chain.push(storedEntry(row))) {
      throw new HsmError('integrity-failed', 'the audit log does not verify', {
        details: { table: 'audit', seq: chain.result().firstBad?.seq ?? row.seq },
      });
    }
    yield toEntry(row);
  }
}

/** The most entries one page of the log holds (the REST API's limit is at most this). */
export const AUDIT_PAGE_LIMIT = 1000;

/** A page of the log: its entries, and the `after` of the next page (null: none follows). */
export interface AuditPage {
  readonly entries: AuditEntry[];
  readonly next: number | null;
}

/** The entries after `after`, at most `limit`: one more row is read to tell whether more follow. */
export async function auditPage(
  store: StoreReader,
  after: number,
  limit: number,
): Promise<AuditPage> {
  const rows = await store.audit.page(after, limit + 1);
  const entries = rows.slice(0, limit).map(toEntry);
  return { entries, next: rows.length > limit ? (entries.at(-1)?.seq ?? null) : null };
}

export async function* exportAudit(store: StoreReader): AsyncGenerator<AuditEntry> {
  for await (const row of store.audit.entries()) {
    yield toEntry(row);
  }
}

function toEntry(row: AuditRow): AuditEntry {
  return {
    seq: row.seq,
    at: row.at,
    actor: row.actor,
    action: row.action,
    partitionId: row.partition_id,
    keyId: row.key_id,
    object: row.object,
    outcome: row.outcome,
    details: JSON.parse(row.details_json) as Record<string, string | number | boolean>,
    prevHash: Buffer.from(row.prev_hash).toString('hex'),
    hash: Buffer.from(row.hash).toString('hex'),
  };
}

/**
 * One entry by its sequence number, believed only when its hash is that of its body and its
 * predecessor's hash and its MAC checks under the audit key (an entry rewritten behind the HSM
 * is an integrity failure); undefined when there is no such entry.
 */
export async function verifiedEntry(
  r: StoreReader,
  macKey: Uint8Array,
  seq: number,
): Promise<AuditEntry | undefined> {
  const [row] = await r.audit.page(seq - 1, 1);
  if (row?.seq !== seq) return undefined;
  const hash = nodeDigest(row.prev_hash, entryBody(row));
  if (!bytesEqual(hash, row.hash) || !bytesEqual(entryMac(macKey, hash), row.mac)) {
    throw new HsmError('integrity-failed', 'the audit log does not verify', {
      details: { table: 'audit', seq },
    });
  }
  return toEntry(row);
}

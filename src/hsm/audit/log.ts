// Hash-chained, MAC-protected audit log kept in the device store. Each entry is appended in the
// same transaction as the change it records; the store serialises writers (one chain, one head).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { AuditOutcome, AuditRow, StoreReader, StoreTx } from '../store/device-store.js';

export type { AuditOutcome };

export interface AuditEvent {
  readonly actor: string;
  readonly action: string;
  readonly partitionId?: string | undefined;
  readonly keyId?: string | undefined;
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
  readonly outcome: AuditOutcome;
  readonly details: Readonly<Record<string, string | number | boolean>>;
  readonly prevHash: string;
  readonly hash: string;
}

const GENESIS: Buffer = Buffer.alloc(32);

function canonicalDetails(details: Readonly<Record<string, unknown>>): string {
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(details).sort()) sorted[k] = details[k];
  return JSON.stringify(sorted);
}

function entryHash(
  prev: Buffer,
  row: Pick<
    AuditRow,
    'seq' | 'at' | 'actor' | 'action' | 'partition_id' | 'key_id' | 'outcome' | 'details_json'
  >,
): Buffer {
  const body = JSON.stringify([
    row.seq,
    row.at,
    row.actor,
    row.action,
    row.partition_id,
    row.key_id,
    row.outcome,
    row.details_json,
  ]);
  return createHash('sha256').update(prev).update(body, 'utf8').digest();
}

function entryMac(key: Uint8Array, hash: Buffer): Buffer {
  return createHmac('sha256', key).update(hash).digest();
}

/** Appends one entry; call inside the transaction that makes the change. */
export async function appendAudit(
  tx: StoreTx,
  macKey: Uint8Array,
  at: Date,
  event: AuditEvent,
): Promise<number> {
  const last = await tx.audit.head();
  const seq = (last?.seq ?? 0) + 1;
  const prev = last?.hash ?? GENESIS;
  const row = {
    seq,
    at: at.toISOString(),
    actor: event.actor,
    action: event.action,
    partition_id: event.partitionId ?? null,
    key_id: event.keyId ?? null,
    outcome: event.outcome,
    details_json: canonicalDetails(event.details ?? {}),
  };
  const hash = entryHash(prev, row);
  await tx.audit.insert({
    ...row,
    prev_hash: Buffer.from(prev),
    hash,
    mac: entryMac(macKey, hash),
  });
  return seq;
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
  let prev: Buffer = GENESIS;
  let expectedSeq = 1;
  let count = 0;
  let extended = false;
  const withExpected = (v: AuditVerification): AuditVerification =>
    expect === undefined ? v : { ...v, expectedHead: { ...expect, extended: v.ok && extended } };
  for await (const row of store.audit.entries()) {
    count++;
    const bad = (reason: string): AuditVerification =>
      withExpected({
        ok: false,
        entries: count,
        head: prev.toString('hex'),
        firstBad: { seq: row.seq, reason },
      });
    if (row.seq !== expectedSeq) return bad(`entry ${expectedSeq} is missing`);
    if (!Buffer.from(row.prev_hash).equals(prev)) return bad('previous-hash link broken');
    const hash = entryHash(prev, row);
    if (!hash.equals(Buffer.from(row.hash))) return bad('entry content does not match its hash');
    const mac = entryMac(macKey, hash);
    const stored = Buffer.from(row.mac);
    if (stored.length !== mac.length || !timingSafeEqual(stored, mac)) {
      return bad('entry mac does not verify');
    }
    if (expect !== undefined && row.seq === expect.seq) {
      extended = hash.toString('hex') === expect.hash;
    }
    prev = hash;
    expectedSeq++;
  }
  return withExpected({ ok: true, entries: count, head: prev.toString('hex') });
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
    outcome: row.outcome,
    details: JSON.parse(row.details_json) as Record<string, string | number | boolean>,
    prevHash: Buffer.from(row.prev_hash).toString('hex'),
    hash: Buffer.from(row.hash).toString('hex'),
  };
}

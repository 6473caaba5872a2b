// The issuance archive's seam (ETSI EN 319 421 TIS-04): what the service, the server and the
// archive commands use, implemented by the SQLite file archive and the PostgreSQL archive.
import type { ClockEvent } from '../clock/guard.js';
import type { FailInfo } from '../errors.js';

export interface ArchiveRecord {
  readonly at: string;
  readonly unit: string;
  readonly keySpkiSha256: string;
  readonly serial: bigint | null;
  readonly genTime: string | null;
  readonly policy: string | null;
  readonly hashAlgorithm: string | null;
  readonly imprint: Uint8Array | null;
  readonly nonce: Uint8Array | null;
  readonly status: 'granted' | 'rejection';
  readonly failInfo: FailInfo | null;
  readonly responseSha256: Uint8Array;
  /** The exact response bytes, kept when the TSA archives full responses (else absent). */
  readonly response?: Uint8Array;
}

export interface ArchiveRow {
  /** The chain the entry is in (PostgreSQL: one chain per node); absent in a SQLite archive. */
  readonly node?: string;
  readonly seq: number;
  readonly at: string;
  readonly unit: string;
  readonly keySpkiSha256: string;
  readonly serial: string | null;
  readonly genTime: string | null;
  readonly policy: string | null;
  readonly hashAlgorithm: string | null;
  readonly imprint: string | null;
  readonly nonce: string | null;
  readonly status: 'granted' | 'rejection';
  readonly failInfo: FailInfo | null;
  readonly responseSha256: string;
  /** Whether the exact response bytes are kept (`archive get` can return them). */
  readonly responseKept: boolean;
  readonly hash: string;
}

export interface ArchiveSink {
  /** Resolves once the record is durable (committed); rejects when it is not. */
  record(record: ArchiveRecord): Promise<void>;
}

export interface SerialSource {
  /** The next serial number; throws (never waits) when none can be handed out now. */
  next(): bigint;
}

/** A clock event as stored, with its sequence number. */
export interface ClockEventRow extends ClockEvent {
  readonly seq: number;
  /** The node that recorded it (PostgreSQL). */
  readonly node?: string;
}

export interface ArchiveQuery {
  readonly imprint?: Uint8Array;
  readonly serial?: bigint;
  readonly from?: string;
  readonly to?: string;
}

/** Where an entry is: its chain (PostgreSQL) and sequence number. */
export interface EntryLocator {
  readonly node?: string | undefined;
  readonly seq: number;
}

export interface ArchiveVerifyOptions {
  /**
   * DER SubjectPublicKeyInfos trusted to sign checkpoints (the TSA units' keys). When given, a
   * checkpoint signed by another key fails; without it, each checkpoint's signature is checked
   * against the key it names, and the report lists those keys for the auditor to compare
   * (keysPinned false).
   */
  readonly checkpointKeys?: readonly Uint8Array[];
}

/** One chain's result (PostgreSQL: one per node). */
export interface ChainReport {
  readonly node: string;
  readonly ok: boolean;
  readonly entries: number;
  /** Sequence number and hex hash of the last entry that verified. */
  readonly headSeq: number;
  readonly head: string;
  readonly firstBad?: { readonly seq: number; readonly reason: string };
}

export interface CheckpointReport {
  readonly count: number;
  /** Checkpoints whose signature, key and heads all check out. */
  readonly verified: number;
  /** SHA-256 fingerprints (hex) of the keys that signed them. */
  readonly keys: readonly string[];
  /** Whether those keys were checked against trusted keys (ArchiveVerifyOptions). */
  readonly keysPinned: boolean;
  readonly latest?: { readonly id: number; readonly node: string; readonly at: string };
  readonly firstBad?: { readonly id: number; readonly reason: string };
}

/** PostgreSQL: every serial unique across the chains and inside a block its node reserved. */
export interface SerialReport {
  readonly ok: boolean;
  /** Entries that carry a serial. */
  readonly checked: number;
  readonly firstBad?: {
    readonly node: string;
    readonly seq: number;
    readonly serial: string;
    readonly reason: string;
  };
}

export interface ArchiveVerification {
  readonly ok: boolean;
  readonly entries: number;
  /**
   * Hex hash of the last entry of the one chain (SQLite); with several chains, the SHA-256 of
   * their heads (one "node seq hash" line each, sorted by node).
   */
  readonly head: string;
  readonly firstBad?: {
    readonly node?: string;
    readonly seq: number;
    readonly reason: string;
  };
  /** PostgreSQL: every node's chain. */
  readonly chains?: readonly ChainReport[];
  /** PostgreSQL: the signed checkpoints of all chain heads. */
  readonly checkpoints?: CheckpointReport;
  /** PostgreSQL: the serials across all chains. */
  readonly serials?: SerialReport;
}

/** What the kept bytes of one entry are, checked against its place in the chain. */
export type KeptResponse = Uint8Array | 'not-kept' | 'mismatch' | undefined;

/** The whole issuance archive, as the server and the archive commands use it. */
export interface IssuanceArchive extends ArchiveSink, SerialSource {
  /** Records one clock event (TIS-03), durably. */
  recordClockEvent(event: ClockEvent): Promise<void>;
  /** The recorded clock events, oldest first. */
  clockEvents(): Promise<ClockEventRow[]>;
  /** Readiness probe: proves the archive is writable and serials are at hand; a row count. */
  probe(at: Date): Promise<number>;
  /** Resolves when nothing is pending or being written. */
  drain(): Promise<void>;
  stats(): { batches: number; rows: number };
  verify(options?: ArchiveVerifyOptions): Promise<ArchiveVerification>;
  find(query: ArchiveQuery): Promise<ArchiveRow[]>;
  /**
   * The exact response bytes of one entry, checked against the chained response hash;
   * 'not-kept' when the archive keeps only the hash, 'mismatch' when the bytes were changed.
   */
  response(entry: EntryLocator): Promise<KeptResponse>;
  /** Every entry, chain by chain, oldest first. */
  export(): AsyncIterable<ArchiveRow>;
  /** Commits what is pending where it can, then closes; records after it are refused. */
  close(): Promise<void>;
}

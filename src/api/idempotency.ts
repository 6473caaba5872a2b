// Idempotency-Key for POSTs: the first answer to (principal, key) is kept with a digest of the
// request (method, path, body); the same request again gets that answer, another request with
// the key gets 422. Kept in this process's memory only, bounded three ways so that no caller
// can make the process hold more than the operator allowed: a number of keys in all, a number
// per principal (one busy or hostile principal forgets its own oldest keys, not everyone's),
// and a byte budget over the kept answers (an approval request's answer can be 100 KiB: ten
// thousand of them would be a gigabyte). Over any bound the oldest key is forgotten; each key
// lives for ttlMs. A restart forgets them all (a retry then acts again, and the HSM's own
// checks, such as a taken label, answer it).
import { createHash } from 'node:crypto';
import { ApiError } from './errors.js';

export interface IdempotencyLimits {
  /** Keys kept in all. */
  readonly keys: number;
  /** Keys kept per principal. */
  readonly keysPerPrincipal: number;
  /** Bytes of the kept answers (bodies, Location, the key itself), in all. */
  readonly bytes: number;
  /** How long a key is kept, milliseconds. */
  readonly ttlMs: number;
}

export const IDEMPOTENCY: IdempotencyLimits = {
  keys: 10_000,
  keysPerPrincipal: 1_000,
  bytes: 32 * 1024 * 1024,
  ttlMs: 24 * 3600_000,
};

export interface StoredAnswer {
  readonly status: number;
  readonly type: string;
  /** JSON text, or the bytes of a binary answer. */
  readonly body: string | Buffer;
  readonly location: string | undefined;
}

interface Entry {
  readonly principal: string;
  readonly digest: string;
  readonly until: number;
  /** Bytes counted against the budget once the answer is kept (0 while it is produced). */
  size: number;
  answer: Promise<StoredAnswer | undefined>;
}

/** What an entry costs: its answer, its id and digest, and a fixed overhead for the rest. */
const ENTRY_OVERHEAD = 128;
function sizeOf(id: string, entry: Entry, a: StoredAnswer): number {
  return (
    ENTRY_OVERHEAD +
    Buffer.byteLength(id) +
    entry.digest.length +
    Buffer.byteLength(a.body) +
    Buffer.byteLength(a.type) +
    (a.location === undefined ? 0 : Buffer.byteLength(a.location))
  );
}

export class IdempotencyStore {
  /** Every entry, oldest first (an entry is never moved: its age is its first request's). */
  private readonly entries = new Map<string, Entry>();
  /** Each principal's entry ids, oldest first. */
  private readonly byPrincipal = new Map<string, Set<string>>();
  private bytes = 0;
  readonly limits: IdempotencyLimits;

  constructor(
    private readonly now: () => number = () => performance.now(),
    limits: Partial<IdempotencyLimits> = {},
  ) {
    this.limits = { ...IDEMPOTENCY, ...limits };
    for (const [k, v] of Object.entries(this.limits)) {
      if (!Number.isInteger(v) || (v as number) < 1) {
        throw new RangeError(`the idempotency limit ${k} must be a positive whole number`);
      }
    }
  }

  static digest(method: string, path: string, body: Buffer): string {
    return createHash('sha256').update(`${method} ${path}\n`).update(body).digest('hex');
  }

  /** Keys kept now, in all and for one principal; bytes kept (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }
  keptFor(principal: string): number {
    return this.byPrincipal.get(principal)?.size ?? 0;
  }
  get keptBytes(): number {
    return this.bytes;
  }

  private remove(id: string): void {
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    this.entries.delete(id);
    this.bytes -= entry.size;
    const own = this.byPrincipal.get(entry.principal);
    own?.delete(id);
    if (own?.size === 0) this.byPrincipal.delete(entry.principal);
  }

  /** Forgets the oldest entry of all. */
  private evictOldest(): void {
    const first = this.entries.keys().next();
    if (first.done !== true) this.remove(first.value);
  }

  /** Forgets expired entries (the oldest are first) and makes room for one of `principal`. */
  private makeRoom(principal: string, t: number): void {
    for (const [id, e] of this.entries) {
      if (e.until > t) break;
      this.remove(id);
    }
    const own = this.byPrincipal.get(principal);
    while (own !== undefined && own.size >= this.limits.keysPerPrincipal) {
      const oldest = own.values().next();
      if (oldest.done === true) break;
      this.remove(oldest.value);
    }
    while (this.entries.size >= this.limits.keys) this.evictOldest();
  }

  private add(id: string, entry: Entry): void {
    this.entries.set(id, entry);
    let own = this.byPrincipal.get(entry.principal);
    if (own === undefined) {
      own = new Set();
      this.byPrincipal.set(entry.principal, own);
    }
    own.add(id);
  }

  /** Counts a produced answer against the byte budget, forgetting the oldest to fit it. */
  private keep(id: string, entry: Entry, answer: StoredAnswer): boolean {
    if (this.entries.get(id) !== entry) return false;
    const size = sizeOf(id, entry, answer);
    if (size > this.limits.bytes) {
      // Larger than the whole budget: answered, not kept.
      this.remove(id);
      return false;
    }
    entry.size = size;
    this.bytes += size;
    while (this.bytes > this.limits.bytes) {
      const first = this.entries.keys().next();
      if (first.done === true) break;
      this.remove(first.value);
    }
    return this.entries.get(id) === entry;
  }

  /**
   * Runs `produce` once per (principal, key): a repeat waits for and gets the first answer; a
   * different request under the key is refused. A failed `produce` (nothing answered) frees
   * the key, and so does a 5xx.
   */
  async run(
    principal: string,
    key: string,
    digest: string,
    produce: () => Promise<StoredAnswer>,
  ): Promise<StoredAnswer> {
    const id = `${principal}\0${key}`;
    const t = this.now();
    const found = this.entries.get(id);
    if (found !== undefined && found.until > t) {
      if (found.digest !== digest) {
        throw new ApiError(
          'api-idempotency-mismatch',
          'this Idempotency-Key was used with another request',
          { details: { header: 'Idempotency-Key' } },
        );
      }
      const answer = await found.answer;
      if (answer !== undefined) return answer;
    }
    if (found !== undefined) this.remove(id);
    this.makeRoom(principal, t);
    const entry: Entry = {
      principal,
      digest,
      until: t + this.limits.ttlMs,
      size: 0,
      answer: Promise.resolve(undefined),
    };
    const produced = produce();
    entry.answer = produced.then(
      (a) => (a.status < 500 && this.keep(id, entry, a) ? a : undefined),
      () => undefined,
    );
    this.add(id, entry);
    try {
      const answer = await produced;
      // A server failure is not an answer to keep: a retry tries again.
      if (answer.status >= 500 && this.entries.get(id) === entry) this.remove(id);
      return answer;
    } catch (error) {
      if (this.entries.get(id) === entry) this.remove(id);
      throw error;
    }
  }
}

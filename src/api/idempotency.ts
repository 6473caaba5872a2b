// Idempotency-Key for POSTs: the first answer to (principal, key) is kept with a digest of the
// request (method, path, body); the same request again gets that answer, another request with
// the key gets 422. Kept in this process's memory only: IDEMPOTENCY.capacity keys at most,
// each for IDEMPOTENCY.ttlMs; a restart forgets them (a retry then acts again, and the HSM's
// own checks, such as a taken label, answer it).
import { createHash } from 'node:crypto';
import { LruMap } from '../tsa/index.js';
import { ApiError } from './errors.js';

export const IDEMPOTENCY = { capacity: 10_000, ttlMs: 24 * 3600_000 } as const;

export interface StoredAnswer {
  readonly status: number;
  readonly type: string;
  readonly body: string;
  readonly location: string | undefined;
}

interface Entry {
  readonly digest: string;
  readonly until: number;
  answer: Promise<StoredAnswer | undefined>;
}

export class IdempotencyStore {
  private readonly entries = new LruMap<Entry>(IDEMPOTENCY.capacity);

  constructor(private readonly now: () => number = () => performance.now()) {}

  static digest(method: string, path: string, body: Buffer): string {
    return createHash('sha256').update(`${method} ${path}\n`).update(body).digest('hex');
  }

  /**
   * Runs `produce` once per (principal, key): a repeat waits for and gets the first answer; a
   * different request under the key is refused. A failed `produce` (nothing answered) frees
   * the key.
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
    const entry: Entry = {
      digest,
      until: t + IDEMPOTENCY.ttlMs,
      answer: Promise.resolve(undefined),
    };
    const produced = produce();
    entry.answer = produced.then(
      (a) => (a.status >= 500 ? undefined : a),
      () => undefined,
    );
    this.entries.set(id, entry);
    try {
      const answer = await produced;
      // A server failure is not an answer to keep: a retry tries again.
      if (answer.status >= 500 && this.entries.get(id) === entry) this.entries.delete(id);
      return answer;
    } catch (error) {
      if (this.entries.get(id) === entry) this.entries.delete(id);
      throw error;
    }
  }
}

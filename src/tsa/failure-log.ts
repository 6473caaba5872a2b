// Logs a lasting failure (a full disk, a broken key) as a change of state instead of once per
// request: a request refused every millisecond must not write a stack trace each time (8.6 MB in
// 10 s were measured with the disk full, filling the very disk that was full).
import type { Logger } from '../shared/index.js';

/** Distinct failures logged in full per episode; more are only counted. */
const MAX_KINDS = 8;

function describeError(error: unknown): { message: string; cause: string | null } {
  if (!(error instanceof Error)) return { message: 'unknown', cause: null };
  return {
    message: error.message,
    cause: error.cause instanceof Error ? error.cause.message : null,
  };
}

/**
 * One failure state: the first failure of an episode (and the first of each other kind, up to
 * MAX_KINDS) is logged with its stack and cause; repeats are counted; the first success after
 * them logs the recovery once with the number of failures and how long the state lasted.
 */
export class FailureLog {
  private failing = false;
  private since = 0;
  private count = 0;
  private readonly kinds = new Set<string>();

  constructor(
    private readonly logger: Logger,
    private readonly what: string,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Failures seen in the current episode (0 when not failing). */
  get failures(): number {
    return this.count;
  }

  /**
   * Records a failure; `count` false for a follow-up of a failure already counted (the
   * rejection of a request that failed could not be archived either).
   */
  failed(error: unknown, fields: Readonly<Record<string, string>> = {}, count = true): void {
    const { message, cause } = describeError(error);
    if (!this.failing) {
      this.failing = true;
      this.since = this.now();
      this.count = 0;
      this.kinds.clear();
    }
    if (count) this.count++;
    const kind = `${message}\u0000${cause ?? ''}`;
    if (this.kinds.has(kind) || this.kinds.size >= MAX_KINDS) return;
    this.kinds.add(kind);
    this.logger.error(`${this.what} failed; further failures are counted, not logged`, {
      ...fields,
      error: message,
      cause,
      stack: error instanceof Error ? (error.stack ?? null) : null,
    });
  }

  /** Called on success; logs the recovery once when a failure state ends. */
  succeeded(fields: Readonly<Record<string, string>> = {}): void {
    if (!this.failing) return;
    this.failing = false;
    this.logger.info(`${this.what} recovered`, {
      ...fields,
      failures: this.count,
      seconds: Math.round((this.now() - this.since) / 1000),
    });
    this.count = 0;
    this.kinds.clear();
  }
}

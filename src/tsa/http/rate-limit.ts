// Per-client token buckets (RFC 6585 4: 429 with Retry-After beyond the rate), with bounded
// memory: the least recently seen clients are forgotten first, in O(1) per request.
import { LruMap } from './lru.js';

/** Clients whose rate-limit state is kept at once (a forgotten client comes back with a full bucket). */
export const MAX_CLIENTS = 100_000;

export interface RateLimiterOptions {
  /** Tokens added per second. */
  readonly ratePerSecond: number;
  /** Largest number of tokens saved up (the burst). */
  readonly burst: number;
  readonly capacity?: number;
  /** Monotonic milliseconds; performance.now by default. */
  readonly now?: () => number;
}

export interface RateLimiter {
  /** Takes one token for `key`: 0 when allowed, else the seconds to wait (Retry-After). */
  take(key: string): number;
  /** Gives back one token taken for `key` (a reservation that turned out not to count). */
  refund(key: string): void;
}

interface Bucket {
  tokens: number;
  last: number;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const rate = options.ratePerSecond;
  const burst = Math.max(1, options.burst);
  if (!(rate > 0)) throw new RangeError('the rate must be above zero');
  const now = options.now ?? (() => performance.now());
  const buckets = new LruMap<Bucket>(options.capacity ?? MAX_CLIENTS);
  const refill = (key: string): Bucket => {
    const t = now();
    // Only idle clients are evicted: a forgotten one gets back the full bucket it had earned.
    const b = buckets.get(key) ?? { tokens: burst, last: t };
    b.tokens = Math.min(burst, b.tokens + ((t - b.last) / 1000) * rate);
    b.last = t;
    buckets.set(key, b);
    return b;
  };
  return {
    take(key) {
      const b = refill(key);
      if (b.tokens < 1) return Math.max(1, Math.ceil((1 - b.tokens) / rate));
      b.tokens -= 1;
      return 0;
    },
    refund(key) {
      const b = refill(key);
      b.tokens = Math.min(burst, b.tokens + 1);
    },
  };
}

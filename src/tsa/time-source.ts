// Where the TSA reads time: the wall clock with sub-millisecond resolution and a trust verdict
// (RFC 3161 2.4.2, ETSI EN 319 421 TIS-7.7.1: no token with a doubtful time).

export interface TimeReading {
  /** Milliseconds since the epoch, with a fractional part (microsecond resolution). */
  readonly epochMs: number;
  /** False when the clock cannot be trusted: the TSA answers timeNotAvailable. */
  readonly trusted: boolean;
  /** Why the clock is not trusted (for the statusString and the log). */
  readonly reason?: string;
}

export interface TimeSource {
  read(): TimeReading;
  /**
   * The accuracy the source can vouch for now, in microseconds, when it measures one (TIS-02):
   * tokens then declare the larger of this and the configured accuracy.
   */
  accuracyMicros?(): number;
}

/**
 * The local clock, checked against the monotonic clock: when the wall clock moves away from the
 * monotonic reference by more than maxJumpMs (someone set the clock, a VM resumed), readings are
 * untrusted until the operator restarts the service with a clock it trusts.
 */
export function createSystemTimeSource(options: { maxJumpMs?: number } = {}): TimeSource {
  const maxJump = options.maxJumpMs ?? 1000;
  const wallAtStart = Date.now();
  const monoAtStart = performance.now();
  // Read once: the getter calls into the runtime each time.
  const origin = performance.timeOrigin;
  return {
    read() {
      const mono = performance.now();
      const wall = Date.now();
      const expected = wallAtStart + (mono - monoAtStart);
      if (Math.abs(wall - expected) > maxJump) {
        return {
          epochMs: wall,
          trusted: false,
          reason: 'wall clock jumped against the monotonic clock',
        };
      }
      // performance.timeOrigin + now() carries microseconds; anchored to the checked wall clock.
      return { epochMs: origin + mono, trusted: true };
    },
  };
}

/** A fixed reading, for tests and reproducible vectors. */
export function fixedTimeSource(epochMs: number, trusted = true): TimeSource {
  return {
    read: () => ({ epochMs, trusted, ...(trusted ? {} : { reason: 'fixed untrusted clock' }) }),
  };
}

export type GenTimePrecision = 0 | 1 | 2 | 3 | 4 | 5 | 6;

/**
 * GeneralizedTime text in DER form (X.690 11.7; checklist TST-05): UTC, seconds present, a
 * fraction of at most `precision` digits with trailing zeros removed, no bare '.'.
 */
export function formatGenTime(epochMs: number, precision: GenTimePrecision): string {
  // Whole microseconds, rounded: near the current epoch a double in milliseconds resolves only
  // about 0.24 us, so truncating its fraction would turn 0.000021 s into 0.00002 s.
  const epochMicros = Math.round(epochMs * 1000);
  const second = Math.floor(epochMicros / 1_000_000);
  const base = genTimeSeconds(second);
  if (precision === 0) return base + 'Z';
  // The first `precision` digits of the six, without trailing zeros.
  let digits: number = precision;
  let fraction = Math.floor((epochMicros - second * 1_000_000) / FRACTION_DIVISORS[precision]);
  while (digits > 0 && fraction % 10 === 0) {
    fraction /= 10;
    digits--;
  }
  return digits === 0 ? base + 'Z' : `${base}.${String(fraction).padStart(digits, '0')}Z`;
}

const FRACTION_DIVISORS = [1_000_000, 100_000, 10_000, 1000, 100, 10, 1] as const;

/** YYYYMMDDHHMMSS of a whole second since the epoch, kept for the last second asked. */
let lastSecond = Number.NaN;
let lastSecondText = '';

function genTimeSeconds(second: number): string {
  if (second === lastSecond) return lastSecondText;
  const d = new Date(second * 1000);
  const p2 = (n: number): string => (n < 10 ? '0' + String(n) : String(n));
  lastSecondText =
    String(d.getUTCFullYear()).padStart(4, '0') +
    p2(d.getUTCMonth() + 1) +
    p2(d.getUTCDate()) +
    p2(d.getUTCHours()) +
    p2(d.getUTCMinutes()) +
    p2(d.getUTCSeconds());
  lastSecond = second;
  return lastSecondText;
}

// The clock guard (ETSI EN 319 421 TIS-01..03, checklist RSP-07): a TimeSource that checks the
// wall clock against the monotonic clock (jumps) and against SNTP servers (RFC 4330) with an
// N-of-M quorum, keeps a synced / degraded / unsynced state, and reports every state change.
import { silentLogger, type Logger } from '../../shared/index.js';
import { accuracyFromMicros, type Accuracy } from '../response.js';
import type { TimeReading, TimeSource } from '../time-source.js';
import { querySntp, type SntpQueryOptions, type SntpResult } from './sntp.js';

/**
 * synced: the quorum agrees and every configured server answered within the limits.
 * degraded: the quorum agrees, but some server failed, was out of limits or disagreed.
 * unsynced: no quorum, the wall clock jumped, or checks stopped; every request is refused.
 */
export type ClockState = 'synced' | 'degraded' | 'unsynced';

/**
 * The state shown to operators (metrics, /readyz): `local-only` when no time source is
 * configured and the local jump check passes. The guard itself then runs as synced (tokens are
 * issued, and the archive's clock events keep the three states), but nothing external vouches
 * for the time, so it is not reported as synced.
 */
export type ClockStatusLabel = ClockState | 'local-only';

export const CLOCK_STATUS_LABELS: readonly ClockStatusLabel[] = [
  'synced',
  'degraded',
  'local-only',
  'unsynced',
];

export function clockStatusLabel(status: {
  readonly state: ClockState;
  readonly sntp: boolean;
}): ClockStatusLabel {
  return !status.sntp && status.state === 'synced' ? 'local-only' : status.state;
}

export interface SntpServer {
  readonly host: string;
  readonly port: number;
}

/** One time source's contribution to a check: a measurement, a failure, or both. */
export interface ClockSourceReport {
  /** "host:port" for an SNTP server, "monotonic" for the wall-vs-monotonic comparison. */
  readonly server: string;
  /** Source clock minus our clock, in milliseconds. */
  readonly offsetMs?: number;
  readonly delayMs?: number;
  /** Why this source does not count towards the quorum (absent when it does). */
  readonly error?: string;
}

/** A state change, to be logged and archived (TIS-03). */
export interface ClockEvent {
  /** ISO 8601 wall-clock time of the change. */
  readonly at: string;
  readonly from: ClockState;
  readonly to: ClockState;
  readonly reason: string;
  readonly sources: readonly ClockSourceReport[];
}

/** The clocks the guard compares; injectable for tests. */
export interface GuardClocks {
  /** The system wall clock, epoch milliseconds (may be stepped by anyone). */
  wallMs(): number;
  /** A monotonic clock in milliseconds (never steps). */
  monoMs(): number;
}

export const systemGuardClocks: GuardClocks = {
  wallMs: () => Date.now(),
  monoMs: () => performance.now(),
};

export interface ClockGuardOptions {
  /** SNTP servers; none means SNTP is disabled and only the jump check runs. */
  readonly servers?: readonly SntpServer[];
  /** Agreeing good answers needed (default: a majority of the servers). */
  readonly quorum?: number;
  /**
   * Largest accepted |offset| + delay/2 of one server, and largest spread between the offsets
   * of the agreeing servers, in ms (default 100).
   */
  readonly maxOffsetMs?: number;
  /** Largest tolerated step of the wall clock against the monotonic clock (default maxOffsetMs). */
  readonly maxJumpMs?: number;
  /**
   * Time between checks once started (default 64 000). RFC 4330 10: never poll a public server
   * more often than every 15 s; shorter intervals are for your own servers and tests.
   */
  readonly intervalMs?: number;
  /** How long one SNTP query waits for its reply (default 1000; below intervalMs). */
  readonly timeoutMs?: number;
  /** Good checks in a row needed to leave unsynced after a loss (default 3). */
  readonly recoveryChecks?: number;
  /**
   * With servers: reads are refused once no check has completed for this long (default three
   * intervals plus the timeout), so that a stalled guard cannot keep vouching for the clock.
   */
  readonly maxCheckAgeMs?: number;
  /** The accuracy the TSA declares, in microseconds (E422-03, TIS-02). */
  readonly declaredAccuracyMicros: number;
  /** Added to the measured bound for drift between checks and other error, in µs (default 0). */
  readonly marginMicros?: number;
  readonly logger?: Logger;
  /** Receives every state change (for the archive); errors are logged, never thrown. */
  readonly onEvent?: (event: ClockEvent) => void | Promise<void>;
  readonly clocks?: GuardClocks;
  /** How one server is asked (default querySntp over UDP); another source can stand in. */
  readonly query?: SntpQuery;
}

/** One time-source query: the SNTP client's signature, so other probes can be plugged in. */
export type SntpQuery = (
  host: string,
  port: number,
  options: SntpQueryOptions,
) => Promise<SntpResult>;

/** A reading with the guard's verdict and the accuracy it can claim now. */
export interface ClockReading extends TimeReading {
  readonly state: ClockState;
  readonly accuracyMicros: number;
}

export interface ClockGuardStatus {
  readonly state: ClockState;
  readonly reason: string;
  /** ISO time of the last state change (or of construction). */
  readonly since: string;
  /** False when no servers are configured (monotonic check only). */
  readonly sntp: boolean;
  readonly quorum: number;
  readonly lastCheckAt: string | null;
  readonly goodChecksInRow: number;
  /** max |offset| + delay/2 over the agreeing servers of the last good check, in ms. */
  readonly boundMs: number | null;
  readonly accuracyMicros: number;
  /** Each source's result in the last check. */
  readonly sources: readonly ClockSourceReport[];
}

/** The verdict of one round of SNTP answers (pure, see assessTimeSources). */
export interface SourceAssessment {
  readonly verdict: ClockState;
  readonly reason: string;
  /** Servers counted towards the quorum (all within limits and agreeing with each other). */
  readonly agreeing: number;
  /** max |offset| + delay/2 over the agreeing servers, in ms; undefined without quorum. */
  readonly boundMs: number | undefined;
  readonly sources: readonly ClockSourceReport[];
}

export type SntpAnswer =
  | { readonly server: string; readonly result: SntpResult }
  | { readonly server: string; readonly error: string };

/** The error bound one answer puts on our clock: |offset| + delay/2 (RFC 5905 8, "distance"). */
function answerBound(r: SntpResult): number {
  return Math.abs(r.offsetMs) + Math.max(0, r.delayMs) / 2;
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000;

/**
 * Judges one round of answers: an answer is within limits when |offset| + delay/2 <= maxOffsetMs;
 * the agreeing set is the largest group of those whose offsets lie within maxOffsetMs of each
 * other. synced when every server is in it and it reaches the quorum, degraded when it reaches
 * the quorum without every server, unsynced otherwise.
 */
export function assessTimeSources(
  answers: readonly SntpAnswer[],
  limits: { readonly quorum: number; readonly maxOffsetMs: number },
): SourceAssessment {
  const max = limits.maxOffsetMs;
  const within: { server: string; result: SntpResult }[] = [];
  for (const a of answers) {
    if ('result' in a && answerBound(a.result) <= max) within.push(a);
  }
  // The largest window of offsets no wider than maxOffsetMs; ties go to the smaller bound.
  const sorted = [...within].sort((x, y) => x.result.offsetMs - y.result.offsetMs);
  let best: typeof sorted = [];
  let bestBound = Infinity;
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (
      j + 1 < sorted.length &&
      sorted[j + 1]!.result.offsetMs - sorted[i]!.result.offsetMs <= max
    )
      j++;
    const group = sorted.slice(i, j + 1);
    const bound = Math.max(...group.map((g) => answerBound(g.result)));
    if (group.length > best.length || (group.length === best.length && bound < bestBound)) {
      best = group;
      bestBound = bound;
    }
  }
  const agreeing = new Set(best.map((b) => b.server));
  const sources: ClockSourceReport[] = answers.map((a) => {
    if (!('result' in a)) return { server: a.server, error: a.error };
    const base = {
      server: a.server,
      offsetMs: round3(a.result.offsetMs),
      delayMs: round3(a.result.delayMs),
    };
    if (answerBound(a.result) > max) {
      return { ...base, error: `offset beyond ${max} ms (|offset| + delay/2)` };
    }
    if (!agreeing.has(a.server)) {
      return { ...base, error: `disagrees with the other sources by more than ${max} ms` };
    }
    return base;
  });
  const failed = sources.filter((s) => s.error !== undefined).map((s) => s.server);
  if (best.length >= limits.quorum) {
    const boundMs = bestBound;
    if (failed.length === 0) {
      return {
        verdict: 'synced',
        reason: `${best.length} of ${answers.length} time sources agree within ${max} ms`,
        agreeing: best.length,
        boundMs,
        sources,
      };
    }
    return {
      verdict: 'degraded',
      reason: `quorum met (${best.length} of ${answers.length}); failing: ${failed.join(', ')}`,
      agreeing: best.length,
      boundMs,
      sources,
    };
  }
  const reason =
    within.length >= limits.quorum
      ? `time sources disagree by more than ${max} ms (largest agreeing group ${best.length}, quorum ${limits.quorum})`
      : `only ${within.length} of ${answers.length} time sources answered within ${max} ms (quorum ${limits.quorum})`;
  return { verdict: 'unsynced', reason, agreeing: best.length, boundMs: undefined, sources };
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`clock guard: ${name} must be positive`);
  return v;
}

function serverName(s: SntpServer): string {
  return s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`;
}

function summarize(sources: readonly ClockSourceReport[]): string {
  return sources
    .map((s) => {
      const parts = [s.server];
      if (s.offsetMs !== undefined) parts.push(`offset=${s.offsetMs}ms`);
      if (s.delayMs !== undefined) parts.push(`delay=${s.delayMs}ms`);
      if (s.error !== undefined) parts.push(`error=${s.error}`);
      return parts.join(' ');
    })
    .join('; ');
}

/**
 * The TSA's time source under guard. read() returns the wall clock carried forward on the
 * monotonic clock from an anchor (microsecond resolution), and refuses (trusted=false) while
 * unsynced. The first good check after construction synchronizes; after a loss, recoveryChecks
 * good checks in a row are needed. Without servers the state is synced until a jump, and a jump
 * stays (no source could vouch for the new time) until the process restarts.
 */
export class ClockGuard implements TimeSource {
  private readonly servers: readonly SntpServer[];
  private readonly names: readonly string[];
  private readonly quorum: number;
  private readonly maxOffsetMs: number;
  private readonly maxJumpMs: number;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly recoveryChecks: number;
  private readonly maxCheckAgeMs: number;
  private readonly declaredMicros: number;
  private readonly marginMicros: number;
  private readonly logger: Logger;
  private readonly onEvent: ((event: ClockEvent) => void | Promise<void>) | undefined;
  private readonly clocks: GuardClocks;
  private readonly query: SntpQuery;

  private anchorWall: number;
  private anchorMono: number;
  private current: ClockState;
  private reason: string;
  private since: string;
  private everSynced = false;
  private latched = false;
  private jumps = 0;
  private goodInRow = 0;
  private boundMs: number | undefined;
  private lastCheckMono: number | undefined;
  private lastCheckAt: string | null = null;
  private lastSources: readonly ClockSourceReport[] = [];
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(options: ClockGuardOptions) {
    this.servers = [...(options.servers ?? [])];
    this.names = this.servers.map(serverName);
    for (const s of this.servers) {
      if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65_535) {
        throw new RangeError(`clock guard: invalid port for ntp server ${s.host}`);
      }
    }
    if (new Set(this.names).size !== this.names.length) {
      throw new RangeError('clock guard: an ntp server is listed twice');
    }
    const n = this.servers.length;
    this.quorum = options.quorum ?? (n === 0 ? 0 : Math.floor(n / 2) + 1);
    if (n > 0 && (!Number.isInteger(this.quorum) || this.quorum < 1 || this.quorum > n)) {
      throw new RangeError(`clock guard: quorum must be a whole number from 1 to ${n}`);
    }
    if (n === 0 && options.quorum !== undefined && options.quorum !== 0) {
      throw new RangeError('clock guard: quorum needs ntp servers');
    }
    this.maxOffsetMs = positive('maxOffsetMs', options.maxOffsetMs, 100);
    this.maxJumpMs = positive('maxJumpMs', options.maxJumpMs, this.maxOffsetMs);
    this.intervalMs = positive('intervalMs', options.intervalMs, 64_000);
    this.timeoutMs = positive('timeoutMs', options.timeoutMs, 1000);
    if (this.timeoutMs >= this.intervalMs) {
      throw new RangeError('clock guard: timeoutMs must be below intervalMs');
    }
    this.recoveryChecks = options.recoveryChecks ?? 3;
    if (!Number.isInteger(this.recoveryChecks) || this.recoveryChecks < 1) {
      throw new RangeError('clock guard: recoveryChecks must be a whole number from 1');
    }
    this.maxCheckAgeMs = positive(
      'maxCheckAgeMs',
      options.maxCheckAgeMs,
      3 * this.intervalMs + this.timeoutMs,
    );
    this.declaredMicros = options.declaredAccuracyMicros;
    if (!Number.isInteger(this.declaredMicros) || this.declaredMicros < 1) {
      throw new RangeError('clock guard: declaredAccuracyMicros must be a whole number from 1');
    }
    this.marginMicros = options.marginMicros ?? 0;
    if (!Number.isInteger(this.marginMicros) || this.marginMicros < 0) {
      throw new RangeError('clock guard: marginMicros must be a whole number from 0');
    }
    this.logger = options.logger ?? silentLogger;
    this.onEvent = options.onEvent;
    this.clocks = options.clocks ?? systemGuardClocks;
    this.query = options.query ?? querySntp;
    this.anchorMono = this.clocks.monoMs();
    this.anchorWall = this.clocks.wallMs();
    this.since = new Date(this.anchorWall).toISOString();
    if (n === 0) {
      this.current = 'synced';
      this.reason = 'sntp disabled; wall clock checked against the monotonic clock only';
      this.everSynced = true;
    } else {
      // Fail closed (RSP-07): no token before the first check has confirmed the clock.
      this.current = 'unsynced';
      this.reason = 'not yet checked against the time sources';
    }
  }

  /** Runs the first check, then one every intervalMs until stop(). */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    if (this.servers.length === 0) {
      this.logger.warn(
        'sntp disabled: no time servers configured; the clock guard only checks the wall clock against the monotonic clock',
        { maxJumpMs: this.maxJumpMs, intervalMs: this.intervalMs },
      );
    } else {
      this.logger.info('clock guard started', {
        servers: this.names.join(','),
        quorum: this.quorum,
        maxOffsetMs: this.maxOffsetMs,
        intervalMs: this.intervalMs,
        recoveryChecks: this.recoveryChecks,
      });
      if (this.intervalMs < 15_000) {
        // RFC 4330 10: clients must not poll a server more often than every 15 s.
        this.logger.warn('clock check interval below 15 s; use it only with your own servers', {
          intervalMs: this.intervalMs,
        });
      }
      if (this.maxOffsetMs * 1000 + this.marginMicros > this.declaredMicros) {
        this.logger.warn(
          'max offset plus margin exceeds the declared accuracy; the measured bound may exceed it',
          {
            maxOffsetMs: this.maxOffsetMs,
            marginMicros: this.marginMicros,
            declaredAccuracyMicros: this.declaredMicros,
          },
        );
      }
    }
    await this.check();
    this.schedule();
  }

  /** Stops the interval checks and waits for a check in progress. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.check().finally(() => {
        this.schedule();
      });
    }, this.intervalMs);
    // The guard alone must not keep the process alive.
    this.timer.unref();
  }

  state(): ClockState {
    return this.current;
  }

  /** One check now: the jump check and, with servers, one SNTP round. Never rejects. */
  check(): Promise<void> {
    this.inFlight ??= this.runCheck().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  read(): ClockReading {
    const mono = this.clocks.monoMs();
    const wall = this.clocks.wallMs();
    let epochMs = this.anchorWall + (mono - this.anchorMono);
    if (!this.latched && this.jumpCheck(wall, mono, epochMs)) {
      epochMs = this.anchorWall + (mono - this.anchorMono);
    }
    // With servers, a guard whose checks stopped cannot vouch for the clock (TIS-01).
    if (
      this.servers.length > 0 &&
      this.current !== 'unsynced' &&
      this.lastCheckMono !== undefined &&
      mono - this.lastCheckMono > this.maxCheckAgeMs
    ) {
      this.goodInRow = 0;
      this.transition(
        'unsynced',
        `no completed clock check for ${Math.round(mono - this.lastCheckMono)} ms`,
        this.lastSources,
      );
    }
    const accuracyMicros = this.accuracyMicros();
    if (this.current === 'unsynced') {
      return { epochMs, trusted: false, reason: this.reason, state: this.current, accuracyMicros };
    }
    return { epochMs, trusted: true, state: this.current, accuracyMicros };
  }

  /**
   * The accuracy a token may claim: the declared accuracy, or more when the measured bound of
   * the last good check plus the margin exceeds it (TIS-02: never better than declared, and
   * always covering the measured bound).
   */
  accuracyMicros(): number {
    if (this.boundMs === undefined) return this.declaredMicros;
    return Math.max(this.declaredMicros, Math.ceil(this.boundMs * 1000) + this.marginMicros);
  }

  /** accuracyMicros() as an RFC 3161 Accuracy. */
  accuracy(): Accuracy {
    return accuracyFromMicros(this.accuracyMicros());
  }

  status(): ClockGuardStatus {
    return {
      state: this.current,
      reason: this.reason,
      since: this.since,
      sntp: this.servers.length > 0,
      quorum: this.quorum,
      lastCheckAt: this.lastCheckAt,
      goodChecksInRow: this.goodInRow,
      boundMs: this.boundMs ?? null,
      accuracyMicros: this.accuracyMicros(),
      sources: this.lastSources,
    };
  }

  /** The time whose offset SNTP measures: the same clock read() returns. */
  private epochNow(): number {
    return this.anchorWall + (this.clocks.monoMs() - this.anchorMono);
  }

  /**
   * TIS-01: the wall clock against the monotonic clock. Returns true when a jump was found (and
   * handled: with servers the anchor moves to the new wall time, which SNTP then has to confirm;
   * without servers the guard stays unsynced).
   */
  private jumpCheck(wall: number, mono: number, expected: number): boolean {
    const deviation = wall - expected;
    if (Math.abs(deviation) <= this.maxJumpMs) return false;
    this.jumps++;
    this.goodInRow = 0;
    this.boundMs = undefined;
    const sources: ClockSourceReport[] = [
      {
        server: 'monotonic',
        offsetMs: round3(deviation),
        error: `wall clock moved ${round3(deviation)} ms against the monotonic clock`,
      },
    ];
    this.lastSources = sources;
    let reason = `wall clock jumped by ${round3(deviation)} ms against the monotonic clock`;
    if (this.servers.length === 0) {
      this.latched = true;
      reason += '; restart with a clock you trust';
    } else {
      this.anchorWall = wall;
      this.anchorMono = mono;
      reason += '; waiting for the time sources to confirm the new time';
    }
    this.logger.warn('clock jump detected', {
      deviationMs: round3(deviation),
      maxJumpMs: this.maxJumpMs,
    });
    this.transition('unsynced', reason, sources);
    return true;
  }

  private async runCheck(): Promise<void> {
    try {
      const mono = this.clocks.monoMs();
      const wall = this.clocks.wallMs();
      if (this.latched) return;
      if (this.jumpCheck(wall, mono, this.anchorWall + (mono - this.anchorMono))) {
        this.completed(mono, wall);
        return;
      }
      if (this.servers.length === 0) {
        this.lastSources = [{ server: 'monotonic', offsetMs: round3(wall - this.epochNow()) }];
        this.completed(mono, wall);
        return;
      }
      const jumpsBefore = this.jumps;
      const answers = await Promise.all(
        this.servers.map(async (s, i): Promise<SntpAnswer> => {
          const server = this.names[i]!;
          try {
            const result = await this.query(s.host, s.port, {
              timeoutMs: this.timeoutMs,
              now: () => this.epochNow(),
            });
            return { server, result };
          } catch (error) {
            return { server, error: error instanceof Error ? error.message : 'query failed' };
          }
        }),
      );
      const monoAfter = this.clocks.monoMs();
      const wallAfter = this.clocks.wallMs();
      // A jump during the round makes its measurements meaningless.
      if (
        this.jumpCheck(wallAfter, monoAfter, this.anchorWall + (monoAfter - this.anchorMono)) ||
        this.jumps !== jumpsBefore
      ) {
        this.completed(monoAfter, wallAfter);
        return;
      }
      const assessment = assessTimeSources(answers, {
        quorum: this.quorum,
        maxOffsetMs: this.maxOffsetMs,
      });
      this.lastSources = assessment.sources;
      this.completed(monoAfter, wallAfter);
      this.apply(assessment);
    } catch (error) {
      // Fail closed: a check that could not run is a bad check.
      this.goodInRow = 0;
      this.logger.error('clock check failed', {
        error: error instanceof Error ? error.message : 'unknown',
      });
      this.transition('unsynced', 'the clock check failed', this.lastSources);
    }
  }

  private completed(mono: number, wall: number): void {
    this.lastCheckMono = mono;
    this.lastCheckAt = new Date(wall).toISOString();
  }

  private apply(a: SourceAssessment): void {
    if (a.verdict === 'unsynced') {
      this.goodInRow = 0;
      this.transition('unsynced', a.reason, a.sources);
      return;
    }
    this.goodInRow++;
    this.boundMs = a.boundMs;
    if (this.current === 'unsynced' && this.everSynced && this.goodInRow < this.recoveryChecks) {
      // Recovery after a loss needs recoveryChecks good checks in a row.
      this.reason = `recovering: ${this.goodInRow} of ${this.recoveryChecks} good checks in a row`;
      this.logger.info('clock recovering', {
        goodChecks: this.goodInRow,
        needed: this.recoveryChecks,
      });
      return;
    }
    this.everSynced = true;
    this.transition(a.verdict, a.reason, a.sources);
  }

  private transition(to: ClockState, reason: string, sources: readonly ClockSourceReport[]): void {
    const from = this.current;
    this.reason = reason;
    if (from === to) return;
    const at = new Date(this.clocks.wallMs()).toISOString();
    this.current = to;
    this.since = at;
    const event: ClockEvent = { at, from, to, reason, sources };
    const fields = { from, to, reason, sources: summarize(sources) };
    if (to === 'synced') this.logger.info('clock state changed', fields);
    else this.logger.warn('clock state changed', fields);
    if (this.onEvent === undefined) return;
    const failed = (error: unknown): void => {
      this.logger.error('clock event not recorded', {
        from,
        to,
        error: error instanceof Error ? error.message : 'unknown',
      });
    };
    try {
      const pending = this.onEvent(event);
      if (pending instanceof Promise) void pending.catch(failed);
    } catch (error) {
      failed(error);
    }
  }
}

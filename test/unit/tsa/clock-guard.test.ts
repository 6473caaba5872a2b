// The clock guard (ETSI EN 319 421 TIS-01..03, checklist RSP-07) and its SNTP client (RFC 4330)
// against real SNTP responders on 127.0.0.1 that can be told to lie: skewed, late, silent,
// disagreeing, broken. Checks are run by calling check(), not by waiting for the interval.
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { id_tsaPolicyBaseline, type Signer } from '../../../src/pki/index.js';
import type { Logger, LogFields } from '../../../src/shared/index.js';
import {
  Archive,
  ClockGuard,
  SNTP_PACKET_LENGTH,
  SntpError,
  TimeStampService,
  accuracyFromMicros,
  assessTimeSources,
  buildSntpRequest,
  epochMsToNtp,
  ntpToEpochMs,
  querySntp,
  sntpOffsetDelay,
  validateSntpReply,
  type ClockEvent,
  type ClockGuardOptions,
  type GuardClocks,
  type NtpTimestamp,
  type SntpErrorCode,
} from '../../../src/tsa/index.js';
import { createTestDevice, type TestDevice } from '../../helpers/hsm.js';
import { startSntpResponder, type SntpResponder } from '../../helpers/sntp-responder.js';
import { tempDir } from '../../helpers/tmp.js';
import { FAIL_BIT, parseResponse, timeStampQuery } from '../../helpers/tsp.js';
import { waitFor } from '../../helpers/wait.js';

// ---------------------------------------------------------------------------------------------
// Helpers

interface LogLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: LogFields | undefined;
}

function memoryLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const push =
    (level: LogLine['level']) =>
    (message: string, fields?: LogFields): void => {
      lines.push({ level, message, fields });
    };
  return { logger: { info: push('info'), warn: push('warn'), error: push('error') }, lines };
}

/** Real clocks with a settable step of the wall clock (a jump) and of elapsed time. */
function steppableClocks(): GuardClocks & { wallStep: number; elapsed: number } {
  const c = {
    wallStep: 0,
    elapsed: 0,
    wallMs: () => Date.now() + c.wallStep + c.elapsed,
    monoMs: () => performance.now() + c.elapsed,
  };
  return c;
}

async function expectSntpError(p: Promise<unknown>, code: SntpErrorCode): Promise<SntpError> {
  const error: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SntpError);
  expect((error as SntpError).code).toBe(code);
  return error as SntpError;
}

function udpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

/** A reply (48 octets) answering `request`, with fields overridable. */
function replyTo(
  request: Uint8Array,
  over: {
    leap?: number;
    version?: number;
    mode?: number;
    stratum?: number;
    refId?: string;
    originate?: NtpTimestamp;
    receive?: NtpTimestamp;
    transmit?: NtpTimestamp;
  } = {},
): Uint8Array {
  const out = new Uint8Array(48);
  const view = new DataView(out.buffer);
  out[0] = ((over.leap ?? 0) << 6) | ((over.version ?? 4) << 3) | (over.mode ?? 4);
  out[1] = over.stratum ?? 1;
  out.set(new TextEncoder().encode(over.refId ?? 'GPS\0'), 12);
  if (over.originate === undefined) out.set(request.subarray(40, 48), 24);
  else {
    view.setUint32(24, over.originate.seconds);
    view.setUint32(28, over.originate.fraction);
  }
  const put = (at: number, ts: NtpTimestamp): void => {
    view.setUint32(at, ts.seconds);
    view.setUint32(at + 4, ts.fraction);
  };
  put(32, over.receive ?? epochMsToNtp(Date.UTC(2026, 0, 1)));
  put(40, over.transmit ?? epochMsToNtp(Date.UTC(2026, 0, 1) + 1));
  return out;
}

// ---------------------------------------------------------------------------------------------
// NTP timestamps and reply validation (no network)

describe('NTP timestamps (RFC 4330 3)', () => {
  it('converts the Unix epoch, half seconds and the era 1 boundary', () => {
    expect(epochMsToNtp(0)).toEqual({ seconds: 0x83aa7e80, fraction: 0 });
    expect(epochMsToNtp(1500)).toEqual({ seconds: 0x83aa7e81, fraction: 0x8000_0000 });
    expect(epochMsToNtp(250)).toEqual({ seconds: 0x83aa7e80, fraction: 0x4000_0000 });
    // 2036-02-07T06:28:16Z starts era 1: seconds wrap to 0 (most significant bit clear).
    const era1 = Date.UTC(2036, 1, 7, 6, 28, 16);
    expect(epochMsToNtp(era1)).toEqual({ seconds: 0, fraction: 0 });
    expect(epochMsToNtp(era1 - 1000)).toEqual({ seconds: 0xffff_ffff, fraction: 0 });
    expect(ntpToEpochMs({ seconds: 0, fraction: 0 })).toBe(era1);
    expect(ntpToEpochMs({ seconds: 0xffff_ffff, fraction: 0 })).toBe(era1 - 1000);
    expect(ntpToEpochMs({ seconds: 0x83aa7e80, fraction: 0 })).toBe(0);
    // 1968-01-20T03:14:08Z is the earliest era-0 time with the MSB set.
    expect(ntpToEpochMs({ seconds: 0x8000_0000, fraction: 0 })).toBe(
      Date.UTC(1968, 0, 20, 3, 14, 8),
    );
  });

  it('round-trips instants with sub-microsecond precision in both eras', () => {
    for (const ms of [
      Date.UTC(2026, 5, 1, 12, 34, 56) + 123.456789,
      Date.UTC(2036, 1, 7, 6, 28, 15) + 999.9999,
      Date.UTC(2040, 0, 1) + 0.001,
      Date.UTC(2100, 0, 1) + 500,
    ]) {
      const back = ntpToEpochMs(epochMsToNtp(ms));
      expect(Math.abs(back - ms)).toBeLessThan(0.001);
    }
  });

  it('carries a fraction that rounds up to a whole second', () => {
    const ts = epochMsToNtp(999.99999999999);
    expect(ts.fraction).toBeLessThan(2 ** 32);
    expect(ts).toEqual({ seconds: 0x83aa7e81, fraction: 0 });
  });
});

describe('SNTP messages (RFC 4330 4, 5)', () => {
  const sent = buildSntpRequest(epochMsToNtp(Date.UTC(2026, 0, 1)));

  it('builds a 48-octet client request: LI 0, VN 4, mode 3, only the transmit timestamp set', () => {
    expect(sent).toHaveLength(SNTP_PACKET_LENGTH);
    expect(sent[0]).toBe(0x23);
    expect(sent.subarray(1, 40).every((b) => b === 0)).toBe(true);
    const view = new DataView(sent.buffer);
    expect(ntpToEpochMs({ seconds: view.getUint32(40), fraction: view.getUint32(44) })).toBeCloseTo(
      Date.UTC(2026, 0, 1),
      3,
    );
  });

  it('accepts a good reply and reads T2 and T3', () => {
    const r = validateSntpReply(replyTo(sent), sent);
    expect(r).toMatchObject({ leap: 0, version: 4, mode: 4, stratum: 1 });
    expect(r.receiveMs).toBeCloseTo(Date.UTC(2026, 0, 1), 3);
    expect(r.transmitMs).toBeCloseTo(Date.UTC(2026, 0, 1) + 1, 3);
  });

  it('rejects a reply whose originate timestamp is not our transmit timestamp', () => {
    const other = epochMsToNtp(Date.UTC(2026, 0, 1) + 0.001);
    expect(() => validateSntpReply(replyTo(sent, { originate: other }), sent)).toThrow(
      expect.objectContaining({ code: 'sntp-originate-mismatch' }),
    );
  });

  it.each([
    ['mode 3 (client)', { mode: 3 }, 'sntp-reply-invalid'],
    ['mode 5 (broadcast) to a unicast request', { mode: 5 }, 'sntp-reply-invalid'],
    ['version 2', { version: 2 }, 'sntp-reply-invalid'],
    ['leap indicator 3 (alarm)', { leap: 3 }, 'sntp-reply-invalid'],
    ['stratum 16', { stratum: 16 }, 'sntp-reply-invalid'],
    ['stratum 0 (kiss-o-death)', { stratum: 0, refId: 'DENY' }, 'sntp-kiss-of-death'],
    ['a zero transmit timestamp', { transmit: { seconds: 0, fraction: 0 } }, 'sntp-reply-invalid'],
    ['a zero receive timestamp', { receive: { seconds: 0, fraction: 0 } }, 'sntp-reply-invalid'],
  ] as const)('rejects a reply with %s', (_name, over, code) => {
    let caught: unknown;
    try {
      validateSntpReply(replyTo(sent, over), sent);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(SntpError);
    expect((caught as SntpError).code).toBe(code);
    if (code === 'sntp-kiss-of-death') expect((caught as SntpError).message).toContain('DENY');
  });

  it('accepts leap indicators 1 and 2 and NTPv3 replies', () => {
    expect(validateSntpReply(replyTo(sent, { leap: 1 }), sent).leap).toBe(1);
    expect(validateSntpReply(replyTo(sent, { leap: 2, version: 3 }), sent).version).toBe(3);
  });

  it('rejects a reply shorter than 48 octets', () => {
    expect(() => validateSntpReply(replyTo(sent).subarray(0, 47), sent)).toThrow(
      expect.objectContaining({ code: 'sntp-reply-short' }),
    );
  });

  it('computes offset and delay from T1..T4', () => {
    // Server 100 ms ahead, 10 ms each way, 10 ms processing.
    expect(sntpOffsetDelay(0, 110, 120, 30)).toEqual({ offsetMs: 100, delayMs: 20 });
    // Server 50 ms behind, asymmetric paths (4 ms out, 6 ms back).
    expect(sntpOffsetDelay(1000, 954, 955, 1011)).toEqual({ offsetMs: -51, delayMs: 10 });
  });
});

describe('accuracyFromMicros', () => {
  it('splits microseconds into seconds, millis and micros', () => {
    expect(accuracyFromMicros(1_000_000)).toEqual({ seconds: 1, millis: 0, micros: 0 });
    expect(accuracyFromMicros(1_234_567)).toEqual({ seconds: 1, millis: 234, micros: 567 });
    expect(accuracyFromMicros(20_250)).toEqual({ seconds: 0, millis: 20, micros: 250 });
    expect(() => accuracyFromMicros(0)).toThrow(RangeError);
  });
});

describe('assessTimeSources', () => {
  const ok = (server: string, offsetMs: number, delayMs = 1) => ({
    server,
    result: { offsetMs, delayMs, stratum: 2, server },
  });
  const limits = { quorum: 2, maxOffsetMs: 50 };

  it('synced when every server is within limits and agrees', () => {
    const a = assessTimeSources([ok('a', 1), ok('b', -2), ok('c', 3)], limits);
    expect(a.verdict).toBe('synced');
    expect(a.agreeing).toBe(3);
    expect(a.boundMs).toBeCloseTo(3.5, 6);
  });

  it('counts |offset| + delay/2 against the limit', () => {
    const a = assessTimeSources([ok('a', 45, 12), ok('b', 0), ok('c', 0)], limits);
    expect(a.verdict).toBe('degraded');
    expect(a.sources[0]!.error).toMatch(/beyond 50 ms/);
  });

  it('picks the largest agreeing group and reports the others as disagreeing', () => {
    const a = assessTimeSources([ok('a', -40), ok('b', 30), ok('c', 35)], limits);
    expect(a.verdict).toBe('degraded');
    expect(a.sources.map((s) => s.error === undefined)).toEqual([false, true, true]);
    expect(a.sources[0]!.error).toMatch(/disagrees/);
    expect(a.boundMs).toBeCloseTo(35.5, 6);
  });

  it('unsynced when the agreeing group is below the quorum', () => {
    const a = assessTimeSources([ok('a', -40), ok('b', 40), { server: 'c', error: 'x' }], limits);
    expect(a.verdict).toBe('unsynced');
    expect(a.reason).toMatch(/disagree/);
    expect(a.boundMs).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// The SNTP client over real UDP

const responders: SntpResponder[] = [];

beforeAll(async () => {
  for (let i = 0; i < 3; i++) responders.push(await startSntpResponder());
});

afterAll(async () => {
  for (const r of responders) await r.close();
});

beforeEach(() => {
  for (const r of responders) r.set({});
});

function responder(i: number): SntpResponder {
  return responders[i]!;
}

/**
 * The timeout of a query that is meant to be answered: a generous "did not hang" guard, far
 * beyond a loopback round trip on a loaded machine. It costs nothing when the answer comes.
 */
const ANSWERED_TIMEOUT_MS = 5_000;

/**
 * How long a late responder holds its reply where a test shows that the wait ends at the
 * timeout instead: the wait must end well before this.
 */
const LATE_MS = 3_000;

describe('querySntp against a real responder on 127.0.0.1', () => {
  it('measures an honest server: offset near zero, small delay', async () => {
    const started = performance.now();
    const r = await querySntp('127.0.0.1', responder(0).port, { timeoutMs: ANSWERED_TIMEOUT_MS });
    const elapsed = performance.now() - started;
    expect(r.server).toBe(`127.0.0.1:${responder(0).port}`);
    expect(r.stratum).toBe(2);
    // The delay is the round trip less the server's time: at most the whole query took, which
    // a loaded machine lengthens (so no fixed limit), up to the timestamps' rounding.
    expect(r.delayMs).toBeGreaterThanOrEqual(-0.5);
    expect(r.delayMs).toBeLessThanOrEqual(elapsed + 0.5);
    // Same clock at both ends: the offset is zero up to half the round trip (the two legs may
    // differ under load, RFC 5905 8) plus the timestamps' rounding.
    expect(Math.abs(r.offsetMs)).toBeLessThanOrEqual(r.delayMs / 2 + 1);
  });

  /**
   * An offset is exact up to half the round trip (the two legs may differ: RFC 5905 8), plus a
   * few milliseconds of the responder's own timing; a busy machine lengthens the round trip.
   */
  const expectOffset = (r: { offsetMs: number; delayMs: number }, skew: number): void => {
    expect(Math.abs(r.offsetMs - skew)).toBeLessThanOrEqual(5 + r.delayMs / 2);
  };

  it('measures a skew in either direction', async () => {
    responder(0).set({ skewMs: 5000 });
    const answered = { timeoutMs: ANSWERED_TIMEOUT_MS };
    expectOffset(await querySntp('127.0.0.1', responder(0).port, answered), 5000);
    responder(0).set({ skewMs: -750 });
    expectOffset(await querySntp('127.0.0.1', responder(0).port, answered), -750);
  });

  it('measures against the injected clock', async () => {
    const r = await querySntp('127.0.0.1', responder(0).port, {
      timeoutMs: ANSWERED_TIMEOUT_MS,
      now: () => performance.timeOrigin + performance.now() - 2000,
    });
    expectOffset(r, 2000);
  });

  it('a late answer beyond the timeout is a timeout, and the wait ends at the timeout', async () => {
    responder(0).set({ lateMs: LATE_MS });
    const started = performance.now();
    const e = await expectSntpError(
      querySntp('127.0.0.1', responder(0).port, { timeoutMs: 150 }),
      'sntp-timeout',
    );
    // Not before the timeout, and not for the late answer (a timer late on a busy machine
    // stays far below it).
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(149);
    expect(waited).toBeLessThan(LATE_MS - 1_000);
    expect(e.details?.server).toBe(`127.0.0.1:${responder(0).port}`);
  });

  it('a silent server is a timeout', async () => {
    responder(0).set({ silent: true });
    const before = responder(0).requests();
    await expectSntpError(
      querySntp('127.0.0.1', responder(0).port, { timeoutMs: 100 }),
      'sntp-timeout',
    );
    expect(responder(0).requests()).toBe(before + 1);
  });

  it('discards a reply with the wrong originate timestamp and times out naming it', async () => {
    responder(0).set({ fault: 'bad-originate' });
    const e = await expectSntpError(
      querySntp('127.0.0.1', responder(0).port, { timeoutMs: 150 }),
      'sntp-timeout',
    );
    expect(e.message).toMatch(/originate/);
  });

  it.each([
    ['bad-mode', 'sntp-reply-invalid'],
    ['leap-alarm', 'sntp-reply-invalid'],
    ['zero-transmit', 'sntp-reply-invalid'],
    ['kiss-of-death', 'sntp-kiss-of-death'],
  ] as const)('rejects a %s reply at once', async (fault, code) => {
    responder(0).set({ fault });
    const started = performance.now();
    const e = await expectSntpError(
      querySntp('127.0.0.1', responder(0).port, { timeoutMs: 10_000 }),
      code,
    );
    // At once: with the reply, not at the timeout (half of it leaves a busy machine room).
    expect(performance.now() - started).toBeLessThan(5_000);
    if (fault === 'kiss-of-death') expect(e.message).toContain('RATE');
  });

  it('closes its socket on success, timeout and invalid replies', async () => {
    await sleep(30); // let sockets of earlier tests finish closing
    const baseline = udpHandles();
    expect(baseline).toBe(responders.length);
    responder(1).set({ silent: true });
    responder(2).set({ fault: 'bad-mode' });
    const outcomes = await Promise.allSettled([
      querySntp('127.0.0.1', responder(0).port, { timeoutMs: ANSWERED_TIMEOUT_MS }),
      querySntp('127.0.0.1', responder(1).port, { timeoutMs: 100 }),
      querySntp('127.0.0.1', responder(2).port, { timeoutMs: ANSWERED_TIMEOUT_MS }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    await sleep(30);
    expect(udpHandles()).toBe(baseline);
  });
});

// ---------------------------------------------------------------------------------------------
// The clock guard over real UDP

const POLICY = id_tsaPolicyBaseline;
const dir = tempDir();
let device: TestDevice;
let timestampSigner: Signer;

beforeAll(async () => {
  device = await createTestDevice();
  timestampSigner = await device.hsm.timestampSigner('default');
});

interface Harness {
  readonly guard: ClockGuard;
  readonly events: ClockEvent[];
  readonly lines: LogLine[];
}

function makeGuard(over: Partial<ClockGuardOptions> = {}): Harness {
  const events: ClockEvent[] = [];
  const { logger, lines } = memoryLogger();
  const guard = new ClockGuard({
    servers: responders.map((r) => ({ host: r.host, port: r.port })),
    quorum: 2,
    maxOffsetMs: 50,
    intervalMs: 10_000,
    // Honest servers must answer inside it, also on a loaded machine; each check with a
    // silent server waits it out, and it must stay below the 1 s interval of some tests.
    timeoutMs: 900,
    recoveryChecks: 3,
    declaredAccuracyMicros: 1_000_000,
    logger,
    onEvent: (e) => {
      events.push(e);
    },
    ...over,
  });
  return { guard, events, lines };
}

function makeService(guard: ClockGuard, archive?: Archive): TimeStampService {
  let serial = 1n;
  return new TimeStampService({
    units: [{ name: 'default', signer: timestampSigner, policies: [POLICY] }],
    hashes: ['sha256'],
    legacySha1: false,
    precision: 3,
    accuracy: guard.accuracy(),
    includeIssuers: false,
    qualified: false,
    includeTsaName: false,
    verifyTokens: 'off',
    timeSource: guard,
    serials: archive ?? { next: () => serial++ },
    archive,
  });
}

/** Asks the service for a token; returns PKIStatus and failInfo bits (decoded with pkijs). */
async function ask(
  service: TimeStampService,
): Promise<{ status: number; bits: readonly number[]; text: string | undefined }> {
  const result = await service.respond('default', timeStampQuery());
  const parsed = parseResponse(result.response);
  return { status: parsed.status, bits: parsed.failBits, text: parsed.statusText };
}

const transitions = (events: readonly ClockEvent[]): string[] =>
  events.map((e) => `${e.from}->${e.to}`);

describe('ClockGuard with SNTP servers (TIS-01)', () => {
  it('TIS-01: starts unsynced, refuses, and is synced after a check against honest servers', async () => {
    const { guard, events, lines } = makeGuard();
    expect(guard.state()).toBe('unsynced');
    expect(guard.read().trusted).toBe(false);
    await guard.check();
    expect(guard.state()).toBe('synced');
    const reading = guard.read();
    expect(reading.trusted).toBe(true);
    expect(Math.abs(reading.epochMs - Date.now())).toBeLessThan(50);
    expect(transitions(events)).toEqual(['unsynced->synced']);
    const status = guard.status();
    expect(status.sources).toHaveLength(3);
    for (const s of status.sources) {
      expect(s.error).toBeUndefined();
      // An honest responder's offset is within half the round trip (plus rounding).
      expect(Math.abs(s.offsetMs!)).toBeLessThanOrEqual(s.delayMs! / 2 + 1);
    }
    expect(status.lastCheckAt).not.toBeNull();
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 'info', message: 'clock state changed' }),
    );
  });

  it('TIS-01: one server skewed beyond the limit among three with quorum 2 is degraded', async () => {
    const { guard, events, lines } = makeGuard();
    await guard.check();
    responder(1).set({ skewMs: 200 });
    await guard.check();
    expect(guard.state()).toBe('degraded');
    expect(guard.read().trusted).toBe(true);
    const bad = guard.status().sources[1]!;
    expect(bad.offsetMs).toBeGreaterThan(190);
    expect(bad.error).toMatch(/beyond 50 ms/);
    expect(transitions(events)).toEqual(['unsynced->synced', 'synced->degraded']);
    expect(events[1]!.reason).toContain(`127.0.0.1:${responder(1).port}`);
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.fields?.to)).toEqual(['degraded']);
    // The server comes back: synced again at once (degraded never lost the time).
    responder(1).set({});
    await guard.check();
    expect(guard.state()).toBe('synced');
  });

  it('RSP-07: two servers skewed beyond the limit: unsynced, and the service answers timeNotAvailable', async () => {
    const { guard, events } = makeGuard();
    const service = makeService(guard);
    await guard.check();
    const before = await ask(service);
    expect(before.status).toBe(0);
    responder(0).set({ skewMs: 120 });
    responder(2).set({ skewMs: -300 });
    await guard.check();
    expect(guard.state()).toBe('unsynced');
    const reading = guard.read();
    expect(reading.trusted).toBe(false);
    expect(reading.reason).toMatch(/only 1 of 3/);
    const refused = await ask(service);
    expect(refused.status).toBe(2);
    expect(refused.bits).toEqual([FAIL_BIT.timeNotAvailable]);
    expect(refused.text).toMatch(/time source/);
    expect(transitions(events)).toEqual(['unsynced->synced', 'synced->unsynced']);
    const lost = events[1]!;
    expect(lost.sources.map((s) => s.error === undefined)).toEqual([false, true, false]);
    expect(lost.sources[0]!.offsetMs).toBeGreaterThan(110);
    expect(lost.sources[2]!.offsetMs).toBeLessThan(-290);
  });

  it('TIS-01: servers that disagree among themselves beyond the limit: unsynced', async () => {
    // Each server alone is within 50 ms, but no two of them agree within 50 ms.
    responder(0).set({ skewMs: -40 });
    responder(2).set({ skewMs: 40 });
    responder(1).set({ silent: true });
    const strict = makeGuard({ quorum: 2 });
    await strict.guard.check();
    expect(strict.guard.state()).toBe('unsynced');
    expect(strict.guard.status().reason).toMatch(/disagree/);
    expect(strict.guard.read().trusted).toBe(false);
    // Control: with the middle server answering, two of three agree.
    responder(1).set({});
    await strict.guard.check();
    expect(strict.guard.state()).toBe('degraded');
  });

  it('TIS-01: late answers beyond the timeout count as failures', async () => {
    const { guard, events } = makeGuard({ timeoutMs: 150 });
    await guard.check();
    responder(0).set({ lateMs: LATE_MS });
    responder(1).set({ lateMs: LATE_MS });
    const started = performance.now();
    await guard.check();
    // The check ends at the timeout, not with the late answers.
    expect(performance.now() - started).toBeLessThan(LATE_MS - 1_000);
    expect(guard.state()).toBe('unsynced');
    const sources = guard.status().sources;
    expect(sources[0]!.error).toMatch(/no reply within 150 ms/);
    expect(sources[1]!.error).toMatch(/no reply within 150 ms/);
    expect(sources[2]!.error).toBeUndefined();
    expect(transitions(events)).toEqual(['unsynced->synced', 'synced->unsynced']);
  });

  it('TIS-01: a late answer inside the timeout still fails when delay/2 exceeds the limit', async () => {
    const { guard } = makeGuard({ timeoutMs: ANSWERED_TIMEOUT_MS });
    responder(2).set({ lateMs: 150 });
    await guard.check();
    expect(guard.state()).toBe('degraded');
    // A reply held 150 ms on its way back: delay ~150 ms, offset ~-75 ms, bound ~150 ms. The
    // offset is half the outward leg less the return leg; the return leg is at least the 150 ms
    // held and the outward one at most the rest of the delay, so the offset is at most
    // delay/2 - 150 (a loaded machine lengthens either leg), up to the timestamps' rounding.
    const late = guard.status().sources[2]!;
    expect(late.delayMs).toBeGreaterThan(140);
    expect(late.offsetMs).toBeLessThanOrEqual(late.delayMs! / 2 - 150 + 2);
    expect(late.error).toMatch(/beyond 50 ms/);
  });

  it('TIS-01: servers that stop answering: degraded with one, unsynced with two', async () => {
    const { guard, events } = makeGuard();
    await guard.check();
    responder(0).set({ silent: true });
    await guard.check();
    expect(guard.state()).toBe('degraded');
    responder(1).set({ silent: true });
    await guard.check();
    expect(guard.state()).toBe('unsynced');
    expect(guard.read().trusted).toBe(false);
    expect(transitions(events)).toEqual([
      'unsynced->synced',
      'synced->degraded',
      'degraded->unsynced',
    ]);
  });

  it('TIS-01: a kiss-o-death server does not count towards the quorum', async () => {
    const { guard } = makeGuard();
    responder(2).set({ fault: 'kiss-of-death' });
    await guard.check();
    expect(guard.state()).toBe('degraded');
    expect(guard.status().sources[2]!.error).toMatch(/kiss-o'-death \(RATE\)/);
  });

  it('TIS-03: recovery needs recoveryChecks good checks in a row, not fewer', async () => {
    const { guard, events, lines } = makeGuard({ recoveryChecks: 3 });
    const service = makeService(guard);
    await guard.check();
    responder(0).set({ silent: true });
    responder(1).set({ silent: true });
    await guard.check();
    expect(guard.state()).toBe('unsynced');
    responder(0).set({});
    responder(1).set({});
    // Two good checks are not enough.
    await guard.check();
    await guard.check();
    expect(guard.state()).toBe('unsynced');
    expect(guard.status().goodChecksInRow).toBe(2);
    expect(guard.read().reason).toMatch(/recovering: 2 of 3/);
    expect((await ask(service)).bits).toEqual([FAIL_BIT.timeNotAvailable]);
    // A bad check starts the count again.
    responder(0).set({ skewMs: 500 });
    responder(1).set({ skewMs: 500 });
    await guard.check();
    expect(guard.status().goodChecksInRow).toBe(0);
    responder(0).set({});
    responder(1).set({});
    await guard.check();
    await guard.check();
    expect(guard.state()).toBe('unsynced');
    await guard.check();
    expect(guard.state()).toBe('synced');
    expect((await ask(service)).status).toBe(0);
    expect(transitions(events)).toEqual([
      'unsynced->synced',
      'synced->unsynced',
      'unsynced->synced',
    ]);
    const recovering = lines.filter((l) => l.message === 'clock recovering');
    expect(recovering.map((l) => l.fields?.goodChecks)).toEqual([1, 2, 1, 2]);
    expect(
      lines.filter((l) => l.message === 'clock state changed').map((l) => l.fields?.to),
    ).toEqual(['synced', 'unsynced', 'synced']);
  });

  it('TIS-03: every state change lands in the archive clock_events table', async () => {
    const archive = Archive.open(join(dir, 'clock-archive.sqlite'));
    try {
      const { guard, events } = makeGuard({
        recoveryChecks: 1,
        onEvent: (e) => {
          events.push(e);
          return archive.recordClockEvent(e);
        },
      });
      const service = makeService(guard, archive);
      await guard.check();
      expect((await ask(service)).status).toBe(0);
      responder(1).set({ skewMs: 400 });
      await guard.check();
      responder(0).set({ silent: true });
      await guard.check();
      expect((await ask(service)).bits).toEqual([FAIL_BIT.timeNotAvailable]);
      responder(0).set({});
      responder(1).set({});
      await guard.check();
      await archive.drain();
      const rows = await archive.clockEvents();
      expect(rows.map((r) => `${r.from}->${r.to}`)).toEqual([
        'unsynced->synced',
        'synced->degraded',
        'degraded->unsynced',
        'unsynced->synced',
      ]);
      expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
      for (const [i, row] of rows.entries()) {
        const e = events[i]!;
        expect(row).toEqual({ seq: i + 1, ...e });
      }
      expect(rows[1]!.sources[1]!.offsetMs).toBeGreaterThan(390);
      expect(rows[2]!.sources[0]!.error).toMatch(/no reply/);
      // The responses table and its hash chain are untouched by clock events.
      const responses = await archive.find({});
      expect(responses.map((r) => r.status)).toEqual(['granted', 'rejection']);
      expect(responses[1]!.failInfo).toBe('timeNotAvailable');
      expect(await archive.verify()).toMatchObject({ ok: true, entries: 2 });
    } finally {
      await archive.close();
    }
  });

  it('TIS-03: a failing onEvent is logged and does not stop the guard', async () => {
    const { logger, lines } = memoryLogger();
    const guard = new ClockGuard({
      servers: [{ host: '127.0.0.1', port: responder(0).port }],
      quorum: 1,
      timeoutMs: ANSWERED_TIMEOUT_MS,
      declaredAccuracyMicros: 1_000_000,
      logger,
      onEvent: () => {
        throw new Error('disk full');
      },
    });
    await guard.check();
    expect(guard.state()).toBe('synced');
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 'error', message: 'clock event not recorded' }),
    );
  });

  it('TIS-02: accuracyMicros covers the measured bound plus the margin, never below declared', async () => {
    responder(0).set({ skewMs: 20 });
    responder(1).set({ skewMs: 22 });
    responder(2).set({ skewMs: 21 });
    const { guard } = makeGuard({ declaredAccuracyMicros: 1000, marginMicros: 250 });
    expect(guard.accuracyMicros()).toBe(1000);
    await guard.check();
    expect(guard.state()).toBe('synced');
    const { boundMs } = guard.status();
    expect(boundMs).toBeGreaterThan(21);
    const expected = Math.ceil(boundMs! * 1000) + 250;
    expect(guard.accuracyMicros()).toBe(expected);
    expect(guard.accuracyMicros()).toBeGreaterThan(21_250);
    expect(guard.read().accuracyMicros).toBe(expected);
    expect(guard.accuracy()).toEqual(accuracyFromMicros(expected));
    // Honest servers and a generous declaration: the declared accuracy, never a better one.
    for (const r of responders) r.set({});
    const generous = makeGuard({ declaredAccuracyMicros: 500_000, marginMicros: 250 });
    await generous.guard.check();
    // The bound is the worst |offset| + delay/2 of the answers (RFC 5905 distance); a loaded
    // machine lengthens the round trips, so the test derives it from them instead of a fixed limit.
    const honest = generous.guard.status();
    const distances = honest.sources.map((s) => Math.abs(s.offsetMs!) + s.delayMs! / 2);
    // The reports round offsets and delays to 0.001 ms.
    expect(Math.abs(honest.boundMs! - Math.max(...distances))).toBeLessThanOrEqual(0.002);
    expect(honest.boundMs! * 1000 + 250).toBeLessThan(500_000);
    expect(generous.guard.accuracyMicros()).toBe(500_000);
  });

  it('TIS-02: with a plugged-in source, the accuracy is exactly the bound plus the margin', async () => {
    const answers: Record<string, { offsetMs: number; delayMs: number }> = {
      'a:1': { offsetMs: 30, delayMs: 10 },
      'b:2': { offsetMs: -12, delayMs: 4 },
    };
    const { guard } = makeGuard({
      servers: [
        { host: 'a', port: 1 },
        { host: 'b', port: 2 },
      ],
      quorum: 2,
      declaredAccuracyMicros: 20_000,
      marginMicros: 1500,
      query: (host, port) => {
        const server = `${host}:${port}`;
        const a = answers[server];
        return a === undefined
          ? Promise.reject(new Error('unknown'))
          : Promise.resolve({ ...a, stratum: 1, server });
      },
    });
    await guard.check();
    expect(guard.state()).toBe('synced');
    expect(guard.status().boundMs).toBe(35);
    expect(guard.accuracyMicros()).toBe(36_500);
    expect(guard.accuracy()).toEqual({ seconds: 0, millis: 36, micros: 500 });
    // A smaller bound: the declared 20 ms, never less.
    answers['a:1'] = { offsetMs: 2, delayMs: 2 };
    await guard.check();
    expect(guard.status().boundMs).toBe(14);
    expect(guard.accuracyMicros()).toBe(20_000);
  });

  it('TIS-01: a wall-clock jump makes the guard unsynced until SNTP confirms the new time', async () => {
    const clocks = steppableClocks();
    const { guard, events } = makeGuard({ clocks, maxJumpMs: 100, recoveryChecks: 2 });
    await guard.check();
    expect(guard.state()).toBe('synced');
    // Someone sets the clock 5 s ahead: caught at the next read, before any check.
    clocks.wallStep = 5000;
    const reading = guard.read();
    expect(reading.trusted).toBe(false);
    expect(reading.reason).toMatch(/wall clock jumped by 49\d\d|5\d{3}/);
    expect(guard.state()).toBe('unsynced');
    expect(events[1]!.sources[0]!.server).toBe('monotonic');
    expect(events[1]!.sources[0]!.offsetMs).toBeGreaterThan(4990);
    // The honest servers see the new time 5 s ahead: it stays refused.
    await guard.check();
    await guard.check();
    expect(guard.state()).toBe('unsynced');
    expect(guard.status().sources.every((s) => (s.offsetMs ?? 0) < -4900)).toBe(true);
    // The clock is set right again: another jump, then two good checks recover.
    clocks.wallStep = 0;
    expect(guard.read().trusted).toBe(false);
    await guard.check();
    expect(guard.state()).toBe('unsynced');
    await guard.check();
    expect(guard.state()).toBe('synced');
    expect(Math.abs(guard.read().epochMs - Date.now())).toBeLessThan(50);
    expect(transitions(events)).toEqual([
      'unsynced->synced',
      'synced->unsynced',
      'unsynced->synced',
    ]);
  });

  it('TIS-01: reads are refused when checks stop (no completed check within maxCheckAgeMs)', async () => {
    const clocks = steppableClocks();
    const { guard, events } = makeGuard({ clocks, intervalMs: 1000, maxCheckAgeMs: 3000 });
    await guard.check();
    clocks.elapsed = 2500;
    expect(guard.read().trusted).toBe(true);
    clocks.elapsed = 3500;
    const reading = guard.read();
    expect(reading.trusted).toBe(false);
    expect(reading.reason).toMatch(/no completed clock check/);
    expect(transitions(events)).toEqual(['unsynced->synced', 'synced->unsynced']);
  });

  it('start() checks at once and then on the interval; stop() ends the checks', async () => {
    const { guard, lines } = makeGuard({ intervalMs: 600, timeoutMs: 500 });
    const before = responder(0).requests();
    await guard.start();
    expect(guard.state()).toBe('synced');
    expect(responder(0).requests()).toBe(before + 1);
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 'info', message: 'clock guard started' }),
    );
    // Then on the interval, without being asked.
    await waitFor('a check on the interval', () => responder(0).requests() >= before + 2);
    // stop() waits for a check in flight; after it, none follows (two intervals later).
    await guard.stop();
    const stopped = responder(0).requests();
    await sleep(1_200);
    expect(responder(0).requests()).toBe(stopped);
  });

  it('rejects inconsistent options, naming the field', () => {
    const servers = [{ host: '127.0.0.1', port: 123 }];
    const base = { servers, declaredAccuracyMicros: 1000 };
    expect(() => new ClockGuard({ ...base, quorum: 2 })).toThrow(/quorum/);
    expect(() => new ClockGuard({ ...base, quorum: 0 })).toThrow(/quorum/);
    expect(() => new ClockGuard({ ...base, timeoutMs: 5000, intervalMs: 5000 })).toThrow(
      /timeoutMs/,
    );
    expect(() => new ClockGuard({ ...base, recoveryChecks: 0 })).toThrow(/recoveryChecks/);
    expect(() => new ClockGuard({ ...base, maxOffsetMs: -1 })).toThrow(/maxOffsetMs/);
    expect(() => new ClockGuard({ ...base, declaredAccuracyMicros: 0 })).toThrow(
      /declaredAccuracyMicros/,
    );
    expect(() => new ClockGuard({ ...base, servers: [...servers, ...servers] })).toThrow(/twice/);
    expect(() => new ClockGuard({ ...base, servers: [{ host: '127.0.0.1', port: 0 }] })).toThrow(
      /port/,
    );
  });
});

describe('ClockGuard without servers (quick start)', () => {
  it('warns at start that SNTP is disabled and is synced on the monotonic check alone', async () => {
    const { guard, lines, events } = makeGuard({ servers: [], quorum: undefined });
    await guard.start();
    await guard.stop();
    expect(guard.state()).toBe('synced');
    expect(guard.read().trusted).toBe(true);
    expect(guard.status().sntp).toBe(false);
    const warnings = lines.filter((l) => l.level === 'warn').map((l) => l.message);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^sntp disabled/);
    expect(events).toEqual([]);
  });

  it('TIS-01: a wall-clock jump is unsynced and stays so (no source can confirm the new time)', async () => {
    const clocks = steppableClocks();
    const { guard, events, lines } = makeGuard({
      servers: [],
      quorum: undefined,
      clocks,
      maxJumpMs: 100,
    });
    const service = makeService(guard);
    // A step below the threshold is tolerated.
    clocks.wallStep = 60;
    await guard.check();
    expect(guard.read().trusted).toBe(true);
    expect((await ask(service)).status).toBe(0);
    clocks.wallStep = -2000;
    await guard.check();
    expect(guard.state()).toBe('unsynced');
    expect((await ask(service)).bits).toEqual([FAIL_BIT.timeNotAvailable]);
    clocks.wallStep = 0;
    await guard.check();
    expect(guard.read().trusted).toBe(false);
    expect(guard.read().reason).toMatch(/restart/);
    // One jump, one warning: later reads do not flood the log.
    for (let i = 0; i < 5; i++) guard.read();
    expect(lines.filter((l) => l.message === 'clock jump detected')).toHaveLength(1);
    expect(transitions(events)).toEqual(['synced->unsynced']);
    expect(events[0]!.sources).toEqual([
      expect.objectContaining({ server: 'monotonic', offsetMs: expect.any(Number) as number }),
    ]);
    expect(events[0]!.sources[0]!.offsetMs).toBeLessThan(-1900);
  });
});

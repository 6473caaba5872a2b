// Prometheus metrics of the TSA (served on a separate port), named by the Prometheus conventions
// (counters end in _total, durations in _seconds, times are Unix timestamps in seconds): requests
// by unit, outcome, RFC 3161 failInfo and HTTP status, every HTTP answer by route and status,
// latency, clock state and offset, certificate expiry, archive size, build info, and the
// process and Node.js metrics of prom-client, all prefixed attestamp_.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CLOCK_STATUS_LABELS, type ClockStatusLabel } from '../clock/guard.js';

export type RequestOutcome = 'granted' | 'rejection' | 'http-error';

/** The kinds of route an HTTP answer is counted under (bounded, unlike raw paths). */
export type RouteKind = 'timestamp' | 'evidence' | 'certificates' | 'health' | 'other';

export interface TsaMetrics {
  readonly registry: Registry;
  /**
   * One answered time-stamp request. failInfo is an RFC 3161 PKIFailureInfo name, only for
   * rejections; HTTP-level refusals (405, 413, 415, 401, 429...) carry their status alone.
   */
  observe(
    unit: string,
    outcome: RequestOutcome,
    failInfo: string | undefined,
    status: number,
    seconds: number,
  ): void;
  /** Every HTTP answer of the TSA listener, whatever the route. */
  observeHttp(route: RouteKind, status: number): void;
  setClock(state: ClockStatusLabel, offsetMs: number | undefined): void;
  /** When the unit certificate (or its key usage period) ends, Unix time in milliseconds. */
  setCertificateExpiry(unit: string, notAfterMs: number): void;
  setArchiveRows(rows: number): void;
}

export function createTsaMetrics(build: { version: string; node: string }): TsaMetrics {
  const registry = new Registry();
  // Process (CPU, memory, file descriptors) and Node.js (event loop lag, heap, GC) metrics.
  collectDefaultMetrics({ register: registry, prefix: 'attestamp_' });
  const requests = new Counter({
    name: 'attestamp_tsa_requests_total',
    help: 'Time-stamp requests by unit, outcome, RFC 3161 failInfo (rejections only) and HTTP status',
    labelNames: ['unit', 'outcome', 'fail_info', 'status'],
    registers: [registry],
  });
  const responses = new Counter({
    name: 'attestamp_http_responses_total',
    help: 'HTTP answers of the TSA listener by route kind and status',
    labelNames: ['route', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'attestamp_tsa_request_duration_seconds',
    help: 'Time from request received to response sent',
    labelNames: ['unit'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const clockState = new Gauge({
    name: 'attestamp_clock_state',
    help: `1 for the current clock state (${CLOCK_STATUS_LABELS.join(', ')}), 0 for the others`,
    labelNames: ['state'],
    registers: [registry],
  });
  const clockOffset = new Gauge({
    name: 'attestamp_clock_offset_seconds',
    help: 'Last measured clock offset bound',
    registers: [registry],
  });
  const expiry = new Gauge({
    name: 'attestamp_certificate_expiry_timestamp_seconds',
    help: 'When the unit certificate or its key usage period ends, Unix time in seconds',
    labelNames: ['unit'],
    registers: [registry],
  });
  const archiveRows = new Gauge({
    name: 'attestamp_archive_responses',
    help: 'Responses recorded in the issuance archive',
    registers: [registry],
  });
  new Gauge({
    name: 'attestamp_build_info',
    help: 'Build information',
    labelNames: ['version', 'node'],
    registers: [registry],
  }).set(build, 1);
  return {
    registry,
    observe(unit, outcome, failInfo, status, seconds) {
      requests.inc({
        unit,
        outcome,
        fail_info: outcome === 'rejection' ? (failInfo ?? '') : '',
        status: String(status),
      });
      latency.observe({ unit }, seconds);
    },
    observeHttp(route, status) {
      responses.inc({ route, status: String(status) });
    },
    setClock(state, offsetMs) {
      for (const s of CLOCK_STATUS_LABELS) clockState.set({ state: s }, s === state ? 1 : 0);
      if (offsetMs !== undefined) clockOffset.set(offsetMs / 1000);
    },
    setCertificateExpiry(unit, notAfterMs) {
      expiry.set({ unit }, Math.floor(notAfterMs / 1000));
    },
    setArchiveRows(rows) {
      archiveRows.set(rows);
    },
  };
}

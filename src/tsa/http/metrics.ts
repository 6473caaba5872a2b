// Prometheus metrics of the TSA (served on a separate port): requests by outcome and failInfo,
// latency, clock state and offset, certificate days left, archive size, build info.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface TsaMetrics {
  readonly registry: Registry;
  observe(
    unit: string,
    outcome: 'granted' | 'rejection' | 'http-error',
    failInfo: string,
    seconds: number,
  ): void;
  setClock(state: 'synced' | 'degraded' | 'unsynced', offsetMs: number | undefined): void;
  setCertificateDaysLeft(unit: string, days: number): void;
  setArchiveRows(rows: number): void;
}

export function createTsaMetrics(build: { version: string; node: string }): TsaMetrics {
  const registry = new Registry();
  const requests = new Counter({
    name: 'attestamp_tsa_requests_total',
    help: 'Time-stamp requests by unit, outcome and failInfo',
    labelNames: ['unit', 'outcome', 'fail_info'],
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
    help: '1 for the current clock state (synced, degraded, unsynced)',
    labelNames: ['state'],
    registers: [registry],
  });
  const clockOffset = new Gauge({
    name: 'attestamp_clock_offset_seconds',
    help: 'Last measured clock offset bound',
    registers: [registry],
  });
  const daysLeft = new Gauge({
    name: 'attestamp_certificate_days_left',
    help: 'Days until the unit certificate or its key usage period ends',
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
    observe(unit, outcome, failInfo, seconds) {
      requests.inc({ unit, outcome, fail_info: failInfo });
      latency.observe({ unit }, seconds);
    },
    setClock(state, offsetMs) {
      for (const s of ['synced', 'degraded', 'unsynced'])
        clockState.set({ state: s }, s === state ? 1 : 0);
      if (offsetMs !== undefined) clockOffset.set(offsetMs / 1000);
    },
    setCertificateDaysLeft(unit, days) {
      daysLeft.set({ unit }, days);
    },
    setArchiveRows(rows) {
      archiveRows.set(rows);
    },
  };
}

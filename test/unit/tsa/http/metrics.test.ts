// The TSA's Prometheus metrics: conventional names, failInfo apart from the HTTP status, the
// local-only clock state, certificate expiry in Unix seconds and the default process metrics.
import { describe, expect, it } from 'vitest';
import { clockStatusLabel, createTsaMetrics } from '../../../../src/tsa/index.js';

describe('TSA metrics', () => {
  it('keep RFC 3161 failInfo and the HTTP status in separate labels', async () => {
    const m = createTsaMetrics({ version: '0.0.0', node: 'v0' });
    m.observe('u', 'granted', undefined, 200, 0.001);
    m.observe('u', 'rejection', 'badAlg', 200, 0.001);
    m.observe('u', 'http-error', undefined, 429, 0);
    // A failInfo given for a non-rejection is not reported as one.
    m.observe('u', 'http-error', 'badRequest', 415, 0);
    const text = await m.registry.metrics();
    expect(text).toContain(
      'attestamp_tsa_requests_total{unit="u",outcome="rejection",fail_info="badAlg",status="200"} 1',
    );
    expect(text).toContain(
      'attestamp_tsa_requests_total{unit="u",outcome="http-error",fail_info="",status="429"} 1',
    );
    expect(text).toContain(
      'attestamp_tsa_requests_total{unit="u",outcome="http-error",fail_info="",status="415"} 1',
    );
    expect(text).not.toMatch(/fail_info="\d+"/);
  });

  it('report certificate expiry in Unix seconds and the local-only clock state', async () => {
    const m = createTsaMetrics({ version: '0.0.0', node: 'v0' });
    m.setCertificateExpiry('u', Date.UTC(2036, 0, 1, 0, 0, 0, 999));
    m.setClock(clockStatusLabel({ state: 'synced', sntp: false }), undefined);
    m.observeHttp('other', 404);
    const text = await m.registry.metrics();
    expect(text).toContain(
      `attestamp_certificate_expiry_timestamp_seconds{unit="u"} ${Date.UTC(2036, 0, 1) / 1000}`,
    );
    expect(text).toContain('attestamp_clock_state{state="local-only"} 1');
    expect(text).toContain('attestamp_clock_state{state="synced"} 0');
    expect(text).toContain('attestamp_http_responses_total{route="other",status="404"} 1');
    expect(text).toContain('attestamp_process_cpu_user_seconds_total');
    expect(text).toContain('attestamp_nodejs_eventloop_lag_seconds');
    expect(text).not.toContain('days_left');
  });

  it('the clock label is local-only only without time sources', () => {
    expect(clockStatusLabel({ state: 'synced', sntp: false })).toBe('local-only');
    expect(clockStatusLabel({ state: 'unsynced', sntp: false })).toBe('unsynced');
    expect(clockStatusLabel({ state: 'synced', sntp: true })).toBe('synced');
    expect(clockStatusLabel({ state: 'degraded', sntp: true })).toBe('degraded');
  });
});

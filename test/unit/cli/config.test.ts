// The server configuration schema: the sample config file loads, flags win over environment
// over file over defaults, and every bad value is refused with a message naming its source.
import { resolve } from 'node:path';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Invocation, OptionValues } from '../../../src/cli/command.js';
import { loadServerConfig } from '../../../src/cli/config.js';
import { UsageError } from '../../../src/cli/exit-codes.js';
import { tempDir } from '../../helpers/tmp.js';

const SAMPLE = resolve(import.meta.dirname, '../../../config/attestamp.sample.json');

function inv(options: OptionValues, env: Record<string, string> = {}): Invocation {
  return {
    io: { stdout: () => undefined, stderr: () => undefined, env, cwd: process.cwd() },
    positionals: [],
    options,
  };
}

describe('server configuration', () => {
  it('loads the sample config file shipped in config/', () => {
    const c = loadServerConfig(inv({ config: SAMPLE }));
    expect(c.port).toBe(3161);
    expect(c.units).toEqual([
      {
        partition: 'default',
        path: '/',
        policies: ['1.3.6.1.4.1.32473.3161.6.1'],
      },
    ]);
    expect(c.hashes).toHaveLength(6);
    expect(c.precision).toBe(3);
    expect(c.includeIssuers).toBe(true);
    expect(c.verifyTokens).toBe('auto');
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('flags win over environment variables, which win over the file', () => {
    expect(loadServerConfig(inv({ config: SAMPLE }, { ATTESTAMP_PORT: '4000' })).port).toBe(4000);
    expect(
      loadServerConfig(inv({ config: SAMPLE, port: '5000' }, { ATTESTAMP_PORT: '4000' })).port,
    ).toBe(5000);
    expect(loadServerConfig(inv({})).port).toBe(3161);
  });

  it.each([
    [{ port: '70000' }, {}, '--port'],
    [{ precision: '7' }, {}, '--precision'],
    [{ hash: ['md5'] }, {}, '--hash'],
    [{ 'verify-tokens': 'sometimes' }, {}, '--verify-tokens'],
    [{ 'https-port': '0' }, {}, '--https-port'],
    [{ 'jwt-jwks': 'x.json' }, {}, '--jwt-jwks'],
    [{}, { ATTESTAMP_PRECISION: 'three' }, 'ATTESTAMP_PRECISION'],
    [{ unit: ['default:nopath'] }, {}, '--unit'],
    [{ policy: ['not.an.oid'] }, {}, '--policy'],
    [{ 'trusted-proxy': ['10.0.0.0/40'] }, {}, '--trusted-proxy'],
    [{}, { ATTESTAMP_TRUSTED_PROXIES: 'proxy.example' }, 'ATTESTAMP_TRUSTED_PROXIES'],
    [{ 'tls-handshake-timeout-ms': '50' }, {}, '--tls-handshake-timeout-ms'],
    [{ 'max-connections': '0' }, {}, '--max-connections'],
    [{ 'auth-failure-limit': '0' }, {}, '--auth-failure-limit'],
    [{ 'evidence-rate-limit': '0' }, {}, '--evidence-rate-limit'],
    [{ 'jwt-max-lifetime-s': '10' }, {}, '--jwt-max-lifetime-s'],
    [{ 'jwt-clock-skew-s': '7200' }, {}, '--jwt-clock-skew-s'],
  ])('refuses %o %o naming %s', (options, env, name) => {
    expect(() => loadServerConfig(inv(options as OptionValues, env))).toThrow(UsageError);
    expect(() => loadServerConfig(inv(options as OptionValues, env))).toThrow(name);
  });

  it('refuses unknown fields and bad values in the file, naming the field', () => {
    const dir = tempDir();
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ prot: 1 }));
    expect(() => loadServerConfig(inv({ config: file }))).toThrow(
      "config prot: unknown field; did you mean 'port'?",
    );
    writeFileSync(file, JSON.stringify({ metricHost: '0.0.0.0' }));
    expect(() => loadServerConfig(inv({ config: file }))).toThrow("did you mean 'metricsHost'");
    writeFileSync(file, JSON.stringify({ zzzzzzzzzz: 1 }));
    expect(() => loadServerConfig(inv({ config: file }))).toThrow(
      'config zzzzzzzzzz: unknown field (keys are the camelCase of the flags',
    );
    writeFileSync(file, JSON.stringify({ unit: [{ path: '/' }] }));
    expect(() => loadServerConfig(inv({ config: file }))).toThrow('config unit[0].partition');
    writeFileSync(file, JSON.stringify({ unit: [{ partition: 'a', polices: [] }] }));
    expect(() => loadServerConfig(inv({ config: file }))).toThrow('config unit[0].polices');
    writeFileSync(file, JSON.stringify({ port: 'eighty' }));
    expect(() => loadServerConfig(inv({ config: file }))).toThrow('config port');
  });

  it('reads the former config keys for one release, with a warning naming the new key', () => {
    const dir = tempDir();
    const file = join(dir, 'old.json');
    writeFileSync(
      file,
      JSON.stringify({
        hashes: ['sha256'],
        includeTsaName: false,
        accuracyMicros: 500,
        jwtJwksFile: 'jwks.json',
        jwtIssuer: 'i',
        jwtAudience: 'a',
        trustedProxies: ['10.0.0.0/8'],
        units: [{ partition: 'default', path: '/' }, 'rsa:/rsa'],
      }),
    );
    const warnings: string[] = [];
    const c = loadServerConfig({
      ...inv({ config: file }),
      io: { stdout: () => undefined, stderr: (t) => warnings.push(t), env: {}, cwd: dir },
    });
    expect(c.hashes).toEqual(['sha256']);
    expect(c.includeTsaName).toBe(false);
    expect(c.accuracyMicros).toBe(500);
    expect(c.jwtJwksFile).toBe('jwks.json');
    expect(c.trustedProxies).toEqual(['10.0.0.0/8']);
    expect(c.units.map((u) => u.path)).toEqual(['/', '/rsa']);
    expect(warnings).toHaveLength(6);
    expect(warnings).toContain(
      "warning: config hashes is deprecated and will be refused in a later release; use 'hash'\n",
    );
    expect(warnings.join('')).toContain('config includeTsaName is deprecated');
    expect(warnings.join('')).toContain("use 'tsaName'");
    expect(warnings.join('')).toContain("use 'accuracyUs'");
    expect(warnings.join('')).toContain("use 'jwtJwks'");
    expect(warnings.join('')).toContain("use 'unit'");
    // The new keys read the same way, without warnings.
    writeFileSync(file, JSON.stringify({ hash: 'sha256,sha384', tsaName: false, accuracyUs: 500 }));
    const quiet: string[] = [];
    const d = loadServerConfig({
      ...inv({ config: file }),
      io: { stdout: () => undefined, stderr: (t) => quiet.push(t), env: {}, cwd: dir },
    });
    expect(d.hashes).toEqual(['sha256', 'sha384']);
    expect(d.includeTsaName).toBe(false);
    expect(quiet).toEqual([]);
    // Both names at once is ambiguous.
    writeFileSync(file, JSON.stringify({ hash: ['sha256'], hashes: ['sha384'] }));
    expect(() => loadServerConfig(inv({ config: file }))).toThrow(
      "config hashes: give only 'hash'",
    );
  });

  it('the metrics host and access log settings have safe defaults and read their sources', () => {
    const d = loadServerConfig(inv({}));
    expect(d.metricsHost).toBe('127.0.0.1');
    expect(d.accessLog).toBe(false);
    const set = loadServerConfig(
      inv({ 'metrics-host': '0.0.0.0' }, { ATTESTAMP_ACCESS_LOG: 'on' }),
    );
    expect(set.metricsHost).toBe('0.0.0.0');
    expect(set.accessLog).toBe(true);
    expect(() => loadServerConfig(inv({ 'access-log': 'sometimes' }))).toThrow(
      '--access-log: must be on or off',
    );
    expect(() => loadServerConfig(inv({ 'metrics-host': '' }))).toThrow('--metrics-host');
  });

  it('gives each further unit a policy of its own', () => {
    const c = loadServerConfig(inv({ unit: ['default:/', 'rsa:/rsa'] }));
    expect(c.units.map((u) => u.policies[0])).toEqual([
      '1.3.6.1.4.1.32473.3161.6.1',
      '1.3.6.1.4.1.32473.3161.6.1.1',
    ]);
  });

  it('the edge settings have their documented defaults and read their sources', () => {
    const d = loadServerConfig(inv({}));
    expect(d.tlsHandshakeTimeoutMs).toBe(10_000);
    expect(d.maxConnections).toBe(10_000);
    expect(d.authFailureLimit).toBe(10);
    expect(d.evidenceRateLimit).toBe(2);
    expect(d.jwtMaxLifetimeSeconds).toBe(86_400);
    expect(d.jwtClockSkewSeconds).toBe(60);
    expect(d.trustedProxies).toEqual([]);
    const sample = loadServerConfig(inv({ config: SAMPLE }));
    expect(sample.maxConnections).toBe(10_000);
    expect(sample.trustedProxies).toEqual([]);
    const set = loadServerConfig(
      inv(
        { 'trusted-proxy': ['10.0.0.0/8', '::1'], 'max-connections': '50' },
        { ATTESTAMP_JWT_CLOCK_SKEW_S: '5', ATTESTAMP_AUTH_FAILURE_LIMIT: '3' },
      ),
    );
    expect(set.trustedProxies).toEqual(['10.0.0.0/8', '::1']);
    expect(set.maxConnections).toBe(50);
    expect(set.jwtClockSkewSeconds).toBe(5);
    expect(set.authFailureLimit).toBe(3);
  });

  it('serve runs the REST API when its TLS settings are given, and refuses it half-configured', () => {
    const none = loadServerConfig(inv({}));
    expect([none.serveApi, none.api]).toEqual(['auto', undefined]);
    expect(loadServerConfig(inv({ config: SAMPLE })).api).toBeUndefined();
    const tls = { 'api-tls-cert': 'api.crt', 'api-tls-key': 'api.key' };
    const jwt = { 'api-jwks': 'jwks.json', 'api-jwt-issuer': 'i', 'api-jwt-audience': 'a' };
    const on = loadServerConfig(inv({ ...tls, ...jwt, 'api-port': '9443' }));
    expect(on.api).toMatchObject({ port: 9443, tlsCert: 'api.crt', jwks: 'jwks.json' });
    expect(Object.isFrozen(on.api)).toBe(true);
    // off ignores the API's settings; on requires them.
    expect(loadServerConfig(inv({ ...tls, ...jwt, 'serve-api': 'off' })).api).toBeUndefined();
    expect(() => loadServerConfig(inv({ 'serve-api': 'on' }))).toThrow('--api-tls-cert');
    // An API setting without TLS is refused, naming where it came from.
    const file = join(tempDir(), 'api.json');
    writeFileSync(file, JSON.stringify({ apiPort: 9443 }));
    expect(() => loadServerConfig(inv({ config: file }))).toThrow(UsageError);
    expect(() => loadServerConfig(inv({ config: file }))).toThrow('config apiPort');
    expect(() => loadServerConfig(inv({}, { ATTESTAMP_API_HOST: '::1' }))).toThrow(
      'ATTESTAMP_API_HOST',
    );
    // TLS without an authentication method is refused as by attestamp api.
    expect(() => loadServerConfig(inv(tls))).toThrow('bearer tokens');
  });
});

describe('the REST API idempotency settings', () => {
  const tls = { 'api-tls-cert': 'api.crt', 'api-tls-key': 'api.key' };
  const jwt = { 'api-jwks': 'jwks.json', 'api-jwt-issuer': 'i', 'api-jwt-audience': 'a' };

  it('keeps an answer 24 h and 10000 keys by default; a flag, a variable or the file sets them', () => {
    expect(loadServerConfig(inv({ ...tls, ...jwt })).api).toMatchObject({
      idempotencyTtlSeconds: 86_400,
      idempotencyKeys: 10_000,
    });
    const file = join(tempDir(), 'idem.json');
    writeFileSync(file, JSON.stringify({ apiIdempotencyTtlS: 600, apiIdempotencyKeys: 2000 }));
    expect(loadServerConfig(inv({ ...tls, ...jwt, config: file })).api).toMatchObject({
      idempotencyTtlSeconds: 600,
      idempotencyKeys: 2000,
    });
    const env = { ATTESTAMP_API_IDEMPOTENCY_TTL_S: '3600', ATTESTAMP_API_IDEMPOTENCY_KEYS: '5000' };
    expect(loadServerConfig(inv({ ...tls, ...jwt, config: file }, env)).api).toMatchObject({
      idempotencyTtlSeconds: 3600,
      idempotencyKeys: 5000,
    });
    const flags = { 'api-idempotency-ttl-s': '120', 'api-idempotency-keys': '1000' };
    expect(loadServerConfig(inv({ ...tls, ...jwt, ...flags }, env)).api).toMatchObject({
      idempotencyTtlSeconds: 120,
      idempotencyKeys: 1000,
    });
  });

  it.each([
    [{ 'api-idempotency-ttl-s': '59' }, {}, '--api-idempotency-ttl-s'],
    [{ 'api-idempotency-ttl-s': '604801' }, {}, '--api-idempotency-ttl-s'],
    [{ 'api-idempotency-ttl-s': '1h' }, {}, '--api-idempotency-ttl-s'],
    [{ 'api-idempotency-keys': '999' }, {}, '--api-idempotency-keys'],
    [{ 'api-idempotency-keys': '1000001' }, {}, '--api-idempotency-keys'],
    [{}, { ATTESTAMP_API_IDEMPOTENCY_KEYS: '-1' }, 'ATTESTAMP_API_IDEMPOTENCY_KEYS'],
    [{}, { ATTESTAMP_API_IDEMPOTENCY_TTL_S: 'forever' }, 'ATTESTAMP_API_IDEMPOTENCY_TTL_S'],
  ])('refuses %o %o naming %s', (options, env, name) => {
    const i = inv({ ...tls, ...jwt, ...options }, env);
    expect(() => loadServerConfig(i)).toThrow(UsageError);
    expect(() => loadServerConfig(i)).toThrow(name);
  });

  it('refuses a bad value in the config file naming its key', () => {
    const file = join(tempDir(), 'bad-idem.json');
    writeFileSync(file, JSON.stringify({ apiIdempotencyTtlS: 'a day' }));
    expect(() => loadServerConfig(inv({ ...tls, ...jwt, config: file }))).toThrow(
      'config apiIdempotencyTtlS',
    );
    writeFileSync(file, JSON.stringify({ apiIdempotencyKeys: 10 }));
    expect(() => loadServerConfig(inv({ ...tls, ...jwt, config: file }))).toThrow(
      'config apiIdempotencyKeys',
    );
  });

  it("hands them to the API's limits (milliseconds and keys)", async () => {
    const { writeApiListenerFiles } = await import('../../helpers/api.js');
    const { prepareApi } = await import('../../../src/cli/commands/api.js');
    const { loadApiConfig } = await import('../../../src/cli/config.js');
    const dir = tempDir();
    const files = await writeApiListenerFiles(dir, 'idem');
    const args: Record<string, string> = {};
    for (let i = 0; i < files.args.length; i += 2) {
      const name = files.args[i]!.slice(2);
      const value = files.args[i + 1]!;
      args[name] = /\.(crt|key|pem|json)$/.test(value) ? join(dir, value) : value;
    }
    const config = loadApiConfig(
      inv({ ...args, 'api-idempotency-ttl-s': '90', 'api-idempotency-keys': '1500' }),
    );
    expect(prepareApi(config).limits).toMatchObject({
      idempotencyTtlMs: 90_000,
      idempotencyKeys: 1500,
    });
  });
});

// The server configuration: one typed schema read from flags, environment variables and an
// optional JSON config file (flags win, then environment, then file, then defaults), validated
// once at start-up with messages that name the bad field, then frozen.
import { readFileSync } from 'node:fs';
import { parseAuditHead, type AuditHead } from '../hsm/index.js';
import { id_tsaPolicyBaseline, HASHES, type HashName } from '../pki/index.js';
import { ACCESS_DEFAULTS, parseTrustedProxies, type GenTimePrecision } from '../tsa/index.js';
import { stringOption, type Invocation, type OptionSpec } from './command.js';
import { InputError, UsageError } from './exit-codes.js';

export interface UnitConfig {
  readonly partition: string;
  readonly path: string;
  readonly policies: readonly string[];
}

export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  readonly units: readonly UnitConfig[];
  readonly hashes: readonly HashName[];
  readonly legacySha1: boolean;
  readonly precision: GenTimePrecision;
  readonly accuracyMicros: number;
  readonly includeIssuers: boolean;
  readonly qualified: boolean;
  readonly includeTsaName: boolean;
  readonly verifyTokens: 'auto' | 'on' | 'off';
  /** 'full' keeps every response's bytes in the archive; 'hash' only their SHA-256. */
  readonly archiveResponses: 'hash' | 'full';
  readonly bodyLimit: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /** Server processes (node:cluster) sharing the listening port and the archive file. */
  readonly workers: number;
  /** Prometheus metrics port; undefined: no metrics listener. */
  readonly metricsPort: number | undefined;
  /** HTTPS listener beside plain HTTP; undefined: none. */
  readonly httpsPort: number | undefined;
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
  /** /readyz fails when a unit certificate has fewer days left than this. */
  readonly readyMinCertDays: number;
  /** Requests per second per client for time-stamp queries; undefined: unlimited. */
  readonly rateLimit: number | undefined;
  /** Password file for HTTP Basic: `USER:scrypt$N$r$p$salt$hash` lines. */
  readonly authBasicFile: string | undefined;
  /** Failed authentications per minute per client address (burst the same) before 429. */
  readonly authFailureLimit: number;
  /** Fresh evidence requests per second per client (burst twice that). */
  readonly evidenceRateLimit: number;
  /** Longest accepted JWT lifetime (exp - iat, or exp - now without iat), seconds. */
  readonly jwtMaxLifetimeSeconds: number;
  /** Tolerated clock difference with the JWT issuer, seconds. */
  readonly jwtClockSkewSeconds: number;
  /** Proxies (addresses or CIDR ranges) whose X-Forwarded-For is believed. */
  readonly trustedProxies: readonly string[];
  /** Time a TLS client has to complete its handshake. */
  readonly tlsHandshakeTimeoutMs: number;
  /** Open connections per listener; further ones are closed at once. */
  readonly maxConnections: number;
  readonly jwtJwksFile: string | undefined;
  readonly jwtIssuer: string | undefined;
  readonly jwtAudience: string | undefined;
  /** PEM CA certificates whose client certificates are accepted on the HTTPS listener. */
  readonly mtlsCa: string | undefined;
  /** SNTP servers of the clock guard; empty: only the local jump check. */
  readonly ntpServers: readonly { readonly host: string; readonly port: number }[];
  readonly ntpQuorum: number | undefined;
  readonly maxOffsetMs: number;
  readonly clockCheckIntervalMs: number;
  /** A recorded audit head (SEQ:HASH) the store's log must extend; undefined: not checked. */
  readonly expectAuditHead: AuditHead | undefined;
}

type Kind = 'string' | 'int' | 'bool' | 'list';

interface Field {
  readonly key: keyof ServerConfig | 'policy' | 'unit';
  readonly flag: string;
  readonly env: string;
  readonly kind: Kind;
  readonly description: string;
}

const FIELDS: readonly Field[] = [
  {
    key: 'host',
    flag: 'host',
    env: 'ATTESTAMP_HOST',
    kind: 'string',
    description: 'listen address (default 127.0.0.1)',
  },
  {
    key: 'port',
    flag: 'port',
    env: 'ATTESTAMP_PORT',
    kind: 'int',
    description: 'listen port (default 3161; 0 picks a free port and prints it)',
  },
  {
    key: 'unit',
    flag: 'unit',
    env: 'ATTESTAMP_UNITS',
    kind: 'list',
    description: 'time-stamping unit PARTITION[:PATH], repeatable (default default:/)',
  },
  {
    key: 'policy',
    flag: 'policy',
    env: 'ATTESTAMP_POLICY',
    kind: 'list',
    description: 'policy OIDs of the first unit, default first (default ARC.6.1)',
  },
  {
    key: 'hashes',
    flag: 'hash',
    env: 'ATTESTAMP_HASHES',
    kind: 'list',
    description: `accepted imprint hashes (default ${Object.keys(HASHES).join(',')})`,
  },
  {
    key: 'legacySha1',
    flag: 'legacy-sha1',
    env: 'ATTESTAMP_LEGACY_SHA1',
    kind: 'bool',
    description: 'also accept SHA-1 imprints (legacy clients only)',
  },
  {
    key: 'precision',
    flag: 'precision',
    env: 'ATTESTAMP_PRECISION',
    kind: 'int',
    description: 'genTime fraction digits, 0 (seconds) to 6 (microseconds); default 3',
  },
  {
    key: 'accuracyMicros',
    flag: 'accuracy-us',
    env: 'ATTESTAMP_ACCURACY_US',
    kind: 'int',
    description: 'declared accuracy in microseconds, 1..1000000 (default 1000000)',
  },
  {
    key: 'includeIssuers',
    flag: 'include-issuers',
    env: 'ATTESTAMP_INCLUDE_ISSUERS',
    kind: 'bool',
    description: 'with certReq, add the issuers after the TSA certificate (default on)',
  },
  {
    key: 'qualified',
    flag: 'qualified',
    env: 'ATTESTAMP_QUALIFIED',
    kind: 'bool',
    description: 'ETSI qualified mode: qcStatements in every token',
  },
  {
    key: 'includeTsaName',
    flag: 'tsa-name',
    env: 'ATTESTAMP_TSA_NAME',
    kind: 'bool',
    description: 'put the TSA name in TSTInfo (default on)',
  },
  {
    key: 'verifyTokens',
    flag: 'verify-tokens',
    env: 'ATTESTAMP_VERIFY_TOKENS',
    kind: 'string',
    description: 'verify each token before release: auto (RSA units), on, off',
  },
  {
    key: 'archiveResponses',
    flag: 'archive-responses',
    env: 'ATTESTAMP_ARCHIVE_RESPONSES',
    kind: 'string',
    description:
      "hash (default): archive each response's SHA-256; full: also its exact bytes, so that tsa archive get can return a lost token",
  },
  {
    key: 'bodyLimit',
    flag: 'body-limit',
    env: 'ATTESTAMP_BODY_LIMIT',
    kind: 'int',
    description: 'largest request body in bytes (default 16384)',
  },
  {
    key: 'requestTimeoutMs',
    flag: 'request-timeout-ms',
    env: 'ATTESTAMP_REQUEST_TIMEOUT_MS',
    kind: 'int',
    description: 'time to receive a whole request (default 10000)',
  },
  {
    key: 'keepAliveTimeoutMs',
    flag: 'keep-alive-timeout-ms',
    env: 'ATTESTAMP_KEEP_ALIVE_TIMEOUT_MS',
    kind: 'int',
    description: 'idle keep-alive timeout (default 5000)',
  },
  {
    key: 'tlsHandshakeTimeoutMs',
    flag: 'tls-handshake-timeout-ms',
    env: 'ATTESTAMP_TLS_HANDSHAKE_TIMEOUT_MS',
    kind: 'int',
    description: 'time a TLS client has to finish its handshake, 100..120000 (default 10000)',
  },
  {
    key: 'maxConnections',
    flag: 'max-connections',
    env: 'ATTESTAMP_MAX_CONNECTIONS',
    kind: 'int',
    description:
      'open connections per listener; more are closed at once, 1..1000000 (default 10000)',
  },
  {
    key: 'workers',
    flag: 'workers',
    env: 'ATTESTAMP_WORKERS',
    kind: 'int',
    description:
      'server processes sharing the port and the archive, each with its own serial blocks (default 1)',
  },
  {
    key: 'metricsPort',
    flag: 'metrics-port',
    env: 'ATTESTAMP_METRICS_PORT',
    kind: 'int',
    description: 'serve Prometheus /metrics on this port of 127.0.0.1 (default: off; 0 picks one)',
  },
  {
    key: 'httpsPort',
    flag: 'https-port',
    env: 'ATTESTAMP_HTTPS_PORT',
    kind: 'int',
    description: 'also serve HTTPS on this port (needs --tls-cert and --tls-key; 0 picks one)',
  },
  {
    key: 'tlsCert',
    flag: 'tls-cert',
    env: 'ATTESTAMP_TLS_CERT',
    kind: 'string',
    description: 'PEM certificate chain of the HTTPS listener',
  },
  {
    key: 'tlsKey',
    flag: 'tls-key',
    env: 'ATTESTAMP_TLS_KEY',
    kind: 'string',
    description: 'PEM private key of the HTTPS listener (a transport key, not an HSM key)',
  },
  {
    key: 'readyMinCertDays',
    flag: 'ready-min-cert-days',
    env: 'ATTESTAMP_READY_MIN_CERT_DAYS',
    kind: 'int',
    description: '/readyz fails when a unit certificate has fewer days left (default 30)',
  },
  {
    key: 'rateLimit',
    flag: 'rate-limit',
    env: 'ATTESTAMP_RATE_LIMIT',
    kind: 'int',
    description:
      'time-stamp queries per second per client; 429 with Retry-After beyond (default: off)',
  },
  {
    key: 'authBasicFile',
    flag: 'auth-basic-file',
    env: 'ATTESTAMP_AUTH_BASIC_FILE',
    kind: 'string',
    description:
      'require HTTP Basic: file of USER:scrypt$N$r$p$salt$hash lines (from attestamp tsa passwd)',
  },
  {
    key: 'authFailureLimit',
    flag: 'auth-failure-limit',
    env: 'ATTESTAMP_AUTH_FAILURE_LIMIT',
    kind: 'int',
    description: `failed authentications per minute per client address before 429, 1..100000 (default ${ACCESS_DEFAULTS.authFailuresPerMinute})`,
  },
  {
    key: 'evidenceRateLimit',
    flag: 'evidence-rate-limit',
    env: 'ATTESTAMP_EVIDENCE_RATE_LIMIT',
    kind: 'int',
    description: `fresh evidence requests (evidence.pem?nonce=) per second per client, 1..10000 (default ${ACCESS_DEFAULTS.evidenceRatePerSecond})`,
  },
  {
    key: 'jwtJwksFile',
    flag: 'jwt-jwks',
    env: 'ATTESTAMP_JWT_JWKS',
    kind: 'string',
    description:
      'accept JWT bearer tokens signed by a key in this JWKS file (with --jwt-issuer, --jwt-audience)',
  },
  {
    key: 'jwtIssuer',
    flag: 'jwt-issuer',
    env: 'ATTESTAMP_JWT_ISSUER',
    kind: 'string',
    description: 'required JWT issuer',
  },
  {
    key: 'jwtAudience',
    flag: 'jwt-audience',
    env: 'ATTESTAMP_JWT_AUDIENCE',
    kind: 'string',
    description: 'required JWT audience',
  },
  {
    key: 'jwtMaxLifetimeSeconds',
    flag: 'jwt-max-lifetime-s',
    env: 'ATTESTAMP_JWT_MAX_LIFETIME_S',
    kind: 'int',
    description: `longest accepted JWT lifetime in seconds (exp - iat), 60..31536000 (default ${ACCESS_DEFAULTS.jwtMaxLifetimeSeconds})`,
  },
  {
    key: 'jwtClockSkewSeconds',
    flag: 'jwt-clock-skew-s',
    env: 'ATTESTAMP_JWT_CLOCK_SKEW_S',
    kind: 'int',
    description: `tolerated JWT issuer clock difference in seconds, 0..3600 (default ${ACCESS_DEFAULTS.jwtClockSkewSeconds})`,
  },
  {
    key: 'trustedProxies',
    flag: 'trusted-proxy',
    env: 'ATTESTAMP_TRUSTED_PROXIES',
    kind: 'list',
    description:
      'reverse proxy ADDRESS[/PREFIX] whose X-Forwarded-For names the client for limits and logs (default: none)',
  },
  {
    key: 'mtlsCa',
    flag: 'mtls-ca',
    env: 'ATTESTAMP_MTLS_CA',
    kind: 'string',
    description: 'accept client certificates issued by these CAs on the HTTPS listener',
  },
  {
    key: 'ntpServers',
    flag: 'ntp-server',
    env: 'ATTESTAMP_NTP_SERVERS',
    kind: 'list',
    description: 'SNTP server HOST:PORT for the clock guard (default: none, local checks only)',
  },
  {
    key: 'ntpQuorum',
    flag: 'ntp-quorum',
    env: 'ATTESTAMP_NTP_QUORUM',
    kind: 'int',
    description: 'agreeing servers needed (default: a majority)',
  },
  {
    key: 'maxOffsetMs',
    flag: 'max-offset-ms',
    env: 'ATTESTAMP_MAX_OFFSET_MS',
    kind: 'int',
    description: 'largest tolerated clock offset (default 100)',
  },
  {
    key: 'clockCheckIntervalMs',
    flag: 'clock-check-interval-ms',
    env: 'ATTESTAMP_CLOCK_CHECK_INTERVAL_MS',
    kind: 'int',
    description: 'time between clock checks (default 64000)',
  },
  {
    key: 'expectAuditHead',
    flag: 'expect-audit-head',
    env: 'ATTESTAMP_EXPECT_AUDIT_HEAD',
    kind: 'string',
    description:
      "refuse to start unless the audit log extends this SEQ:HASH (from 'audit head'; exit 6)",
  },
];

export const SERVER_OPTIONS: Readonly<Record<string, OptionSpec>> = Object.fromEntries([
  ...FIELDS.map((f): [string, OptionSpec] => [
    f.flag,
    {
      type: 'string' as const,
      value: f.kind === 'bool' ? 'on|off' : f.kind === 'int' ? 'N' : 'VALUE',
      description: f.description + (f.kind === 'list' ? ' (comma-separated or repeated)' : ''),
      ...(f.kind === 'list' ? { multiple: true } : {}),
    },
  ]),
  [
    'config',
    { type: 'string', value: 'FILE', description: 'JSON config file with the same fields' },
  ],
]);

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 3161,
  precision: 3,
  accuracyMicros: 1_000_000,
  bodyLimit: 16_384,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  tlsHandshakeTimeoutMs: 10_000,
  maxConnections: 10_000,
} as const;

function bad(field: string, message: string): never {
  throw new UsageError(`${field}: ${message}`);
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new InputError(`cannot read config file '${path}'`);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch {
    throw new InputError(`config file '${path}' is not a JSON object`);
  }
}

function auditHeadField(text: string | undefined): AuditHead | undefined {
  if (text === undefined) return undefined;
  return parseAuditHead(text) ?? bad('--expect-audit-head', "must be SEQ:HASH (from 'audit head')");
}

const OID_RE = /^[0-2](\.(0|[1-9]\d*))+$/;

export function loadServerConfig(inv: Invocation): Readonly<ServerConfig> {
  const configPath = stringOption(inv, 'config') ?? inv.io.env.ATTESTAMP_CONFIG;
  const file = configPath === undefined ? {} : readConfigFile(configPath);
  const known = new Set<string>([...FIELDS.map((f) => f.key), 'units']);
  for (const k of Object.keys(file)) if (!known.has(k)) bad(`config ${k}`, 'unknown field');

  /** The raw value of a field and the name to blame when it is bad. */
  const raw = (f: Field): { value: unknown; source: string } | undefined => {
    const flagValue = inv.options[f.flag];
    if (flagValue !== undefined && !(Array.isArray(flagValue) && flagValue.length === 0)) {
      return { value: flagValue, source: `--${f.flag}` };
    }
    const envValue = inv.io.env[f.env];
    if (envValue !== undefined && envValue !== '') return { value: envValue, source: f.env };
    if (f.key in file) return { value: file[f.key], source: `config ${f.key}` };
    return undefined;
  };
  const int = (f: Field, fallback: number, min: number, max: number): number => {
    const r = raw(f);
    if (r === undefined) return fallback;
    const n =
      typeof r.value === 'number'
        ? r.value
        : typeof r.value === 'string' && /^\d+$/.test(r.value)
          ? Number(r.value)
          : NaN;
    if (!Number.isInteger(n) || n < min || n > max)
      bad(r.source, `must be a whole number from ${min} to ${max}`);
    return n;
  };
  const bool = (f: Field, fallback: boolean): boolean => {
    const r = raw(f);
    if (r === undefined) return fallback;
    if (r.value === true || r.value === 'on' || r.value === 'true') return true;
    if (r.value === false || r.value === 'off' || r.value === 'false') return false;
    return bad(r.source, 'must be on or off');
  };
  const list = (f: Field): { items: string[]; source: string } | undefined => {
    const r = raw(f);
    if (r === undefined) return undefined;
    const values = Array.isArray(r.value) ? r.value : [r.value];
    const items: string[] = [];
    for (const v of values) {
      if (typeof v !== 'string') bad(r.source, 'must be text');
      items.push(
        ...v
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s.length > 0),
      );
    }
    return { items, source: r.source };
  };
  const field = (key: Field['key']): Field => FIELDS.find((f) => f.key === key)!;
  const trustedProxies = (): readonly string[] => {
    const l = list(field('trustedProxies'));
    if (l === undefined) return Object.freeze([]);
    try {
      parseTrustedProxies(l.items);
    } catch (error) {
      bad(l.source, error instanceof Error ? error.message : 'not a CIDR range');
    }
    return Object.freeze(l.items);
  };
  const optionalInt = (f: Field): number | undefined =>
    raw(f) === undefined ? undefined : int(f, 0, 0, 65535);
  const optionalText = (f: Field): string | undefined => {
    const r = raw(f);
    if (r === undefined) return undefined;
    if (typeof r.value !== 'string' || r.value.length === 0) bad(r.source, 'must be a file path');
    return r.value;
  };

  const hostRaw = raw(field('host'));
  const host = hostRaw === undefined ? DEFAULTS.host : hostRaw.value;
  if (typeof host !== 'string' || host.length === 0)
    bad(hostRaw?.source ?? '--host', 'must be a host name or address');

  const hashList = list(field('hashes'));
  const hashes = (hashList?.items ?? Object.keys(HASHES)) as HashName[];
  for (const h of hashes) {
    if (!(h in HASHES))
      bad(
        hashList?.source ?? '--hash',
        `unknown hash '${h}' (known: ${Object.keys(HASHES).join(', ')})`,
      );
  }

  const verifyRaw = raw(field('verifyTokens'));
  const verifyTokens = verifyRaw === undefined ? 'auto' : verifyRaw.value;
  if (verifyTokens !== 'auto' && verifyTokens !== 'on' && verifyTokens !== 'off') {
    bad(verifyRaw?.source ?? '--verify-tokens', 'must be auto, on or off');
  }

  const archiveRaw = raw(field('archiveResponses'));
  const archiveResponses = archiveRaw === undefined ? 'hash' : archiveRaw.value;
  if (archiveResponses !== 'hash' && archiveResponses !== 'full') {
    bad(archiveRaw?.source ?? '--archive-responses', 'must be hash or full');
  }

  // Units: --unit PARTITION[:PATH], or the config file's "units" array with policies.
  let units: UnitConfig[];
  const unitList = list(field('unit'));
  if (unitList !== undefined) {
    units = unitList.items.map((spec, i) => {
      const [partition = '', path = i === 0 ? '/' : `/${partition}`] = spec.split(':');
      return { partition, path, policies: [] };
    });
  } else if (Array.isArray(file.units)) {
    units = file.units.map((u: unknown, i) => {
      if (typeof u !== 'object' || u === null) bad(`config units[${i}]`, 'must be an object');
      const o = u as Record<string, unknown>;
      if (typeof o.partition !== 'string') bad(`config units[${i}].partition`, 'must be text');
      const path = o.path ?? (i === 0 ? '/' : `/${o.partition}`);
      if (typeof path !== 'string') bad(`config units[${i}].path`, 'must be text');
      const policies = o.policies ?? [];
      if (!Array.isArray(policies) || policies.some((p) => typeof p !== 'string')) {
        bad(`config units[${i}].policies`, 'must be a list of OIDs');
      }
      return { partition: o.partition, path, policies: policies as string[] };
    });
  } else {
    units = [{ partition: 'default', path: '/', policies: [] }];
  }
  if (units.length === 0) bad('--unit', 'at least one unit is needed');
  const firstPolicies = list(field('policy'));
  units = units.map((u, i) => {
    if (!/^\/[A-Za-z0-9._~/-]*$/.test(u.path))
      bad('--unit', `path '${u.path}' must start with / and use URL-safe characters`);
    if (u.partition.length === 0) bad('--unit', 'partition name missing');
    let policies = u.policies;
    if (i === 0 && firstPolicies !== undefined) policies = firstPolicies.items;
    // Every unit needs its own policy so that a request's reqPolicy can pick it.
    if (policies.length === 0)
      policies = [i === 0 ? id_tsaPolicyBaseline : `${id_tsaPolicyBaseline}.${i}`];
    for (const p of policies)
      if (!OID_RE.test(p))
        bad(i === 0 ? '--policy' : `units[${i}].policies`, `'${p}' is not an object identifier`);
    return { ...u, policies };
  });
  const paths = new Set(units.map((u) => u.path));
  if (paths.size !== units.length) bad('--unit', 'two units share a path');

  const config = Object.freeze({
    host,
    port: int(field('port'), DEFAULTS.port, 0, 65535),
    units: Object.freeze(units),
    hashes: Object.freeze(hashes),
    legacySha1: bool(field('legacySha1'), false),
    precision: int(field('precision'), DEFAULTS.precision, 0, 6) as GenTimePrecision,
    accuracyMicros: int(field('accuracyMicros'), DEFAULTS.accuracyMicros, 1, 1_000_000),
    // With certReq, the whole chain by default: Java and PDF signers need the issuers.
    includeIssuers: bool(field('includeIssuers'), true),
    qualified: bool(field('qualified'), false),
    includeTsaName: bool(field('includeTsaName'), true),
    verifyTokens,
    archiveResponses,
    bodyLimit: int(field('bodyLimit'), DEFAULTS.bodyLimit, 256, 1 << 20),
    requestTimeoutMs: int(field('requestTimeoutMs'), DEFAULTS.requestTimeoutMs, 100, 600_000),
    keepAliveTimeoutMs: int(field('keepAliveTimeoutMs'), DEFAULTS.keepAliveTimeoutMs, 100, 600_000),
    tlsHandshakeTimeoutMs: int(
      field('tlsHandshakeTimeoutMs'),
      DEFAULTS.tlsHandshakeTimeoutMs,
      100,
      120_000,
    ),
    maxConnections: int(field('maxConnections'), DEFAULTS.maxConnections, 1, 1_000_000),
    workers: int(field('workers'), 1, 1, 64),
    metricsPort: optionalInt(field('metricsPort')),
    httpsPort: optionalInt(field('httpsPort')),
    tlsCert: optionalText(field('tlsCert')),
    tlsKey: optionalText(field('tlsKey')),
    readyMinCertDays: int(field('readyMinCertDays'), 30, 0, 36_500),
    rateLimit:
      raw(field('rateLimit')) === undefined ? undefined : int(field('rateLimit'), 0, 1, 1_000_000),
    authBasicFile: optionalText(field('authBasicFile')),
    authFailureLimit: int(
      field('authFailureLimit'),
      ACCESS_DEFAULTS.authFailuresPerMinute,
      1,
      100_000,
    ),
    evidenceRateLimit: int(
      field('evidenceRateLimit'),
      ACCESS_DEFAULTS.evidenceRatePerSecond,
      1,
      10_000,
    ),
    jwtMaxLifetimeSeconds: int(
      field('jwtMaxLifetimeSeconds'),
      ACCESS_DEFAULTS.jwtMaxLifetimeSeconds,
      60,
      31_536_000,
    ),
    jwtClockSkewSeconds: int(
      field('jwtClockSkewSeconds'),
      ACCESS_DEFAULTS.jwtClockSkewSeconds,
      0,
      3_600,
    ),
    trustedProxies: trustedProxies(),
    jwtJwksFile: optionalText(field('jwtJwksFile')),
    jwtIssuer: optionalText(field('jwtIssuer')),
    jwtAudience: optionalText(field('jwtAudience')),
    mtlsCa: optionalText(field('mtlsCa')),
    ntpServers: (list(field('ntpServers'))?.items ?? []).map((spec) => {
      const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(spec);
      const port = Number(m?.[2] ?? '123');
      if (m === null || port < 1 || port > 65535)
        bad('--ntp-server', `'${spec}' is not HOST[:PORT]`);
      return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
    }),
    ntpQuorum:
      raw(field('ntpQuorum')) === undefined ? undefined : int(field('ntpQuorum'), 1, 1, 32),
    maxOffsetMs: int(field('maxOffsetMs'), 100, 1, 60_000),
    clockCheckIntervalMs: int(field('clockCheckIntervalMs'), 64_000, 100, 86_400_000),
    expectAuditHead: auditHeadField(optionalText(field('expectAuditHead'))),
  });
  if (config.ntpQuorum !== undefined && config.ntpQuorum > config.ntpServers.length) {
    bad('--ntp-quorum', `cannot exceed the ${config.ntpServers.length} configured server(s)`);
  }
  const jwtParts = [config.jwtJwksFile, config.jwtIssuer, config.jwtAudience];
  if (jwtParts.some((p) => p !== undefined) && jwtParts.some((p) => p === undefined)) {
    bad('--jwt-jwks', 'needs --jwt-issuer and --jwt-audience as well');
  }
  if (config.mtlsCa !== undefined && config.httpsPort === undefined) {
    bad('--mtls-ca', 'needs the HTTPS listener (--https-port)');
  }
  if (
    config.httpsPort !== undefined &&
    (config.tlsCert === undefined || config.tlsKey === undefined)
  ) {
    bad('--https-port', 'needs --tls-cert and --tls-key');
  }
  return config;
}

// The server configuration: one typed schema read from flags, environment variables and an
// optional JSON config file (flags win, then environment, then file, then defaults), validated
// once at start-up with messages that name the bad field, then frozen.
import { readFileSync } from 'node:fs';
import { isPostgresUrl, parseAuditHead, type AuditHead } from '../hsm/index.js';
import { id_tsaPolicyBaseline, HASHES, type HashName } from '../pki/index.js';
import { ASYMMETRIC_ALGORITHMS, IDEMPOTENCY } from '../api/index.js';
import { ACCESS_DEFAULTS, parseTrustedProxies, type GenTimePrecision } from '../tsa/index.js';
import { closeNames, stringOption, type Invocation, type OptionSpec } from './command.js';
import { InputError, UsageError } from './exit-codes.js';

export interface UnitConfig {
  readonly partition: string;
  readonly path: string;
  readonly policies: readonly string[];
  /**
   * The policies are the default ARC.6.1[.N], none being configured: serve gives a unit whose
   * key is post-quantum ARC.6.2[.N] instead (unitPolicies in commands/serve.ts).
   */
  readonly defaultPolicy?: true;
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
  /** Address of the metrics listener (127.0.0.1 unless exposing metrics is intended). */
  readonly metricsHost: string;
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
  /** One log line per answered request (no bodies, no credentials). */
  readonly accessLog: boolean;
  /** The PostgreSQL store (device store and archive); undefined: the SQLite files under --data. */
  readonly store: string | undefined;
  /** Whether serve also runs the REST API: auto (when its TLS settings are given), on, off. */
  readonly serveApi: 'auto' | 'on' | 'off';
  /** The REST API's listener that serve runs beside the TSA; undefined: none. */
  readonly api: Readonly<ApiConfig> | undefined;
}

/** The REST API's listener (`attestamp api`, or `attestamp serve` beside the TSA). */
export interface ApiConfig {
  readonly host: string;
  readonly port: number;
  readonly tlsCert: string;
  readonly tlsKey: string;
  readonly clientCa: string | undefined;
  readonly clientMap: string | undefined;
  readonly jwks: string | undefined;
  readonly jwksUrl: string | undefined;
  readonly jwtIssuer: string | undefined;
  readonly jwtAudience: string | undefined;
  readonly jwtAlgorithms: readonly string[];
  readonly jwtLeewaySeconds: number;
  readonly jwtRequireTyp: boolean;
  readonly allow: readonly string[];
  readonly ratePerSecond: number;
  readonly authFailuresPerMinute: number;
  readonly bodyLimit: number;
  /** Largest application/octet-stream body (a backup bundle), bytes. */
  readonly binaryBodyLimit: number;
  /** How long an Idempotency-Key's first answer is kept, seconds. */
  readonly idempotencyTtlSeconds: number;
  /** Idempotency-Keys kept in all (each principal at most its own share, see ApiLimits). */
  readonly idempotencyKeys: number;
}

type Kind = 'string' | 'int' | 'bool' | 'list' | 'enum';

/** A JSON value a setting takes by default (absent: the setting is off or unset). */
type DefaultValue = string | number | boolean | readonly string[];

/**
 * One server setting. Its config-file key is the camelCase of its flag (`--accuracy-us` is
 * `accuracyUs`), derived by `configKey`, never written by hand, so flag and key cannot differ.
 */
export interface Field {
  readonly flag: string;
  readonly env: string;
  readonly kind: Kind;
  /** The placeholder shown after the flag in help and in the README (N, FILE, on|off...). */
  readonly value?: string;
  /** Inclusive range of an int. */
  readonly min?: number;
  readonly max?: number;
  /** Allowed values of an enum or of a list's items. */
  readonly values?: readonly string[];
  readonly default?: DefaultValue;
  /** How the default reads when it is not a JSON value (majority, none...). */
  readonly defaultText?: string;
  /** A config key accepted for one release with a warning naming the new key. */
  readonly deprecatedKey?: string;
  readonly description: string;
}

/** The config-file key of a flag: its camelCase (`tls-handshake-timeout-ms` -> `tlsHandshakeTimeoutMs`). */
export function configKey(flagName: string): string {
  return flagName.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

const HASH_NAMES = Object.keys(HASHES);

export const FIELDS: readonly Field[] = [
  {
    flag: 'host',
    env: 'ATTESTAMP_HOST',
    kind: 'string',
    value: 'ADDRESS',
    default: '127.0.0.1',
    description: 'listen address (default 127.0.0.1)',
  },
  {
    flag: 'port',
    env: 'ATTESTAMP_PORT',
    kind: 'int',
    min: 0,
    max: 65535,
    default: 3161,
    description: 'listen port (default 3161; 0 picks a free port and prints it)',
  },
  {
    flag: 'unit',
    env: 'ATTESTAMP_UNITS',
    kind: 'list',
    value: 'PARTITION[:PATH]',
    default: ['default:/'],
    deprecatedKey: 'units',
    description: 'time-stamping unit PARTITION[:PATH], repeatable (default default:/)',
  },
  {
    flag: 'policy',
    env: 'ATTESTAMP_POLICY',
    kind: 'list',
    value: 'OID',
    defaultText: 'ARC.6.1; ARC.6.1.N further, ARC.6.2 post-quantum',
    description: 'policy OIDs of the first unit, default first (default ARC.6.1)',
  },
  {
    flag: 'hash',
    env: 'ATTESTAMP_HASHES',
    kind: 'list',
    value: 'ALG',
    values: HASH_NAMES,
    default: HASH_NAMES,
    deprecatedKey: 'hashes',
    description: `accepted imprint hashes (default ${HASH_NAMES.join(',')})`,
  },
  {
    flag: 'legacy-sha1',
    env: 'ATTESTAMP_LEGACY_SHA1',
    kind: 'bool',
    default: false,
    description: 'also accept SHA-1 imprints (legacy clients only)',
  },
  {
    flag: 'precision',
    env: 'ATTESTAMP_PRECISION',
    kind: 'int',
    min: 0,
    max: 6,
    default: 3,
    description: 'genTime fraction digits, 0 (seconds) to 6 (microseconds); default 3',
  },
  {
    flag: 'accuracy-us',
    env: 'ATTESTAMP_ACCURACY_US',
    kind: 'int',
    min: 1,
    max: 1_000_000,
    default: 1_000_000,
    deprecatedKey: 'accuracyMicros',
    description: 'declared accuracy in microseconds, 1..1000000 (default 1000000)',
  },
  {
    flag: 'include-issuers',
    env: 'ATTESTAMP_INCLUDE_ISSUERS',
    kind: 'bool',
    // With certReq, the whole chain by default: Java and PDF signers need the issuers.
    default: true,
    description: 'with certReq, add the issuers after the TSA certificate (default on)',
  },
  {
    flag: 'qualified',
    env: 'ATTESTAMP_QUALIFIED',
    kind: 'bool',
    default: false,
    description: 'ETSI qualified mode: qcStatements in every token',
  },
  {
    flag: 'tsa-name',
    env: 'ATTESTAMP_TSA_NAME',
    kind: 'bool',
    default: true,
    deprecatedKey: 'includeTsaName',
    description: 'put the TSA name in TSTInfo (default on)',
  },
  {
    flag: 'verify-tokens',
    env: 'ATTESTAMP_VERIFY_TOKENS',
    kind: 'enum',
    values: ['auto', 'on', 'off'],
    default: 'auto',
    description: 'verify each token before release: auto (RSA units), on, off',
  },
  {
    flag: 'archive-responses',
    env: 'ATTESTAMP_ARCHIVE_RESPONSES',
    kind: 'enum',
    values: ['hash', 'full'],
    default: 'hash',
    description:
      "hash (default): archive each response's SHA-256; full: also its exact bytes, so that tsa archive get can return a lost token",
  },
  {
    flag: 'body-limit',
    env: 'ATTESTAMP_BODY_LIMIT',
    kind: 'int',
    value: 'BYTES',
    min: 256,
    max: 1 << 20,
    default: 16_384,
    description: 'largest request body in bytes (default 16384)',
  },
  {
    flag: 'request-timeout-ms',
    env: 'ATTESTAMP_REQUEST_TIMEOUT_MS',
    kind: 'int',
    min: 100,
    max: 600_000,
    default: 10_000,
    description: 'time to receive a whole request (default 10000)',
  },
  {
    flag: 'keep-alive-timeout-ms',
    env: 'ATTESTAMP_KEEP_ALIVE_TIMEOUT_MS',
    kind: 'int',
    min: 100,
    max: 600_000,
    default: 5_000,
    description: 'idle keep-alive timeout (default 5000)',
  },
  {
    flag: 'tls-handshake-timeout-ms',
    env: 'ATTESTAMP_TLS_HANDSHAKE_TIMEOUT_MS',
    kind: 'int',
    min: 100,
    max: 120_000,
    default: 10_000,
    description: 'time a TLS client has to finish its handshake, 100..120000 (default 10000)',
  },
  {
    flag: 'max-connections',
    env: 'ATTESTAMP_MAX_CONNECTIONS',
    kind: 'int',
    min: 1,
    max: 1_000_000,
    default: 10_000,
    description:
      'open connections per listener; more are closed at once, 1..1000000 (default 10000)',
  },
  {
    flag: 'workers',
    env: 'ATTESTAMP_WORKERS',
    kind: 'int',
    min: 1,
    max: 64,
    default: 1,
    description:
      'server processes sharing the port and the archive, each with its own serial blocks, 1..64 (default 1)',
  },
  {
    flag: 'metrics-port',
    env: 'ATTESTAMP_METRICS_PORT',
    kind: 'int',
    min: 0,
    max: 65535,
    description:
      'serve Prometheus /metrics on this port of --metrics-host (default: off; 0 picks one)',
  },
  {
    flag: 'metrics-host',
    env: 'ATTESTAMP_METRICS_HOST',
    kind: 'string',
    value: 'ADDRESS',
    default: '127.0.0.1',
    description:
      'address of the metrics listener (default 127.0.0.1; 0.0.0.0 exposes unauthenticated metrics to the network)',
  },
  {
    flag: 'https-port',
    env: 'ATTESTAMP_HTTPS_PORT',
    kind: 'int',
    min: 0,
    max: 65535,
    description: 'also serve HTTPS on this port (needs --tls-cert and --tls-key; 0 picks one)',
  },
  {
    flag: 'tls-cert',
    env: 'ATTESTAMP_TLS_CERT',
    kind: 'string',
    value: 'FILE',
    description: 'PEM certificate chain of the HTTPS listener',
  },
  {
    flag: 'tls-key',
    env: 'ATTESTAMP_TLS_KEY',
    kind: 'string',
    value: 'FILE',
    description: 'PEM private key of the HTTPS listener (a transport key, not an HSM key)',
  },
  {
    flag: 'ready-min-cert-days',
    env: 'ATTESTAMP_READY_MIN_CERT_DAYS',
    kind: 'int',
    min: 0,
    max: 36_500,
    default: 30,
    description: '/readyz fails when a unit certificate has fewer days left (default 30)',
  },
  {
    flag: 'rate-limit',
    env: 'ATTESTAMP_RATE_LIMIT',
    kind: 'int',
    min: 1,
    max: 1_000_000,
    description:
      'time-stamp queries per second per client; 429 with Retry-After beyond (default: off)',
  },
  {
    flag: 'auth-basic-file',
    env: 'ATTESTAMP_AUTH_BASIC_FILE',
    kind: 'string',
    value: 'FILE',
    description:
      'require HTTP Basic: file of USER:scrypt$N$r$p$salt$hash lines (from attestamp tsa passwd)',
  },
  {
    flag: 'auth-failure-limit',
    env: 'ATTESTAMP_AUTH_FAILURE_LIMIT',
    kind: 'int',
    min: 1,
    max: 100_000,
    default: ACCESS_DEFAULTS.authFailuresPerMinute,
    description: `failed authentications per minute per client address before 429, 1..100000 (default ${ACCESS_DEFAULTS.authFailuresPerMinute})`,
  },
  {
    flag: 'evidence-rate-limit',
    env: 'ATTESTAMP_EVIDENCE_RATE_LIMIT',
    kind: 'int',
    min: 1,
    max: 10_000,
    default: ACCESS_DEFAULTS.evidenceRatePerSecond,
    description: `fresh evidence requests (evidence.pem?nonce=) per second per client, 1..10000 (default ${ACCESS_DEFAULTS.evidenceRatePerSecond})`,
  },
  {
    flag: 'jwt-jwks',
    env: 'ATTESTAMP_JWT_JWKS',
    kind: 'string',
    value: 'FILE',
    deprecatedKey: 'jwtJwksFile',
    description:
      'accept JWT bearer tokens signed by a key in this JWKS file (with --jwt-issuer, --jwt-audience)',
  },
  {
    flag: 'jwt-issuer',
    env: 'ATTESTAMP_JWT_ISSUER',
    kind: 'string',
    description: 'required JWT issuer',
  },
  {
    flag: 'jwt-audience',
    env: 'ATTESTAMP_JWT_AUDIENCE',
    kind: 'string',
    description: 'required JWT audience',
  },
  {
    flag: 'jwt-max-lifetime-s',
    env: 'ATTESTAMP_JWT_MAX_LIFETIME_S',
    kind: 'int',
    min: 60,
    max: 31_536_000,
    default: ACCESS_DEFAULTS.jwtMaxLifetimeSeconds,
    deprecatedKey: 'jwtMaxLifetimeSeconds',
    description: `longest accepted JWT lifetime in seconds (exp - iat), 60..31536000 (default ${ACCESS_DEFAULTS.jwtMaxLifetimeSeconds})`,
  },
  {
    flag: 'jwt-clock-skew-s',
    env: 'ATTESTAMP_JWT_CLOCK_SKEW_S',
    kind: 'int',
    min: 0,
    max: 3_600,
    default: ACCESS_DEFAULTS.jwtClockSkewSeconds,
    deprecatedKey: 'jwtClockSkewSeconds',
    description: `tolerated JWT issuer clock difference in seconds, 0..3600 (default ${ACCESS_DEFAULTS.jwtClockSkewSeconds})`,
  },
  {
    flag: 'trusted-proxy',
    env: 'ATTESTAMP_TRUSTED_PROXIES',
    kind: 'list',
    value: 'CIDR',
    default: [],
    deprecatedKey: 'trustedProxies',
    description:
      'reverse proxy ADDRESS[/PREFIX] whose X-Forwarded-For names the client for limits and logs (default: none)',
  },
  {
    flag: 'mtls-ca',
    env: 'ATTESTAMP_MTLS_CA',
    kind: 'string',
    value: 'FILE',
    description: 'accept client certificates issued by these CAs on the HTTPS listener',
  },
  {
    flag: 'ntp-server',
    env: 'ATTESTAMP_NTP_SERVERS',
    kind: 'list',
    value: 'HOST[:PORT]',
    default: [],
    deprecatedKey: 'ntpServers',
    description: 'SNTP server HOST:PORT for the clock guard (default: none, local checks only)',
  },
  {
    flag: 'ntp-quorum',
    env: 'ATTESTAMP_NTP_QUORUM',
    kind: 'int',
    min: 1,
    max: 32,
    defaultText: 'a majority',
    description: 'agreeing servers needed (default: a majority)',
  },
  {
    flag: 'max-offset-ms',
    env: 'ATTESTAMP_MAX_OFFSET_MS',
    kind: 'int',
    min: 1,
    max: 60_000,
    default: 100,
    description: 'largest tolerated clock offset (default 100)',
  },
  {
    flag: 'clock-check-interval-ms',
    env: 'ATTESTAMP_CLOCK_CHECK_INTERVAL_MS',
    kind: 'int',
    min: 100,
    max: 86_400_000,
    default: 64_000,
    description: 'time between clock checks (default 64000)',
  },
  {
    flag: 'expect-audit-head',
    env: 'ATTESTAMP_EXPECT_AUDIT_HEAD',
    kind: 'string',
    value: 'SEQ:HASH',
    description:
      "refuse to start unless the audit log extends this SEQ:HASH (from 'audit head'; exit 6)",
  },
  {
    flag: 'store',
    env: 'ATTESTAMP_STORE',
    kind: 'string',
    value: 'URL',
    description:
      'device store and issuance archive in PostgreSQL, postgres://USER@HOST:PORT/DB, shared by several nodes (default: the SQLite files under --data)',
  },
  {
    flag: 'access-log',
    env: 'ATTESTAMP_ACCESS_LOG',
    kind: 'bool',
    default: false,
    description:
      'log one line per request: id, client, method, path, status, duration, unit, serial or failInfo (default off)',
  },
  {
    flag: 'serve-api',
    env: 'ATTESTAMP_SERVE_API',
    kind: 'enum',
    values: ['auto', 'on', 'off'],
    default: 'auto',
    description:
      'also serve the REST API on its own listener (the --api-* settings): auto (default) when --api-tls-cert and --api-tls-key are given, on (required), off',
  },
];

/** The placeholder after a flag: N for numbers, on|off, the values of an enum, or the field's own. */
export function valueHint(f: Field): string {
  if (f.value !== undefined) return f.value;
  if (f.kind === 'bool') return 'on|off';
  if (f.kind === 'int') return 'N';
  if (f.kind === 'enum') return (f.values ?? []).join('|');
  return 'VALUE';
}

/**
 * The settings of the REST API's own listener (`attestamp api`): in the same config file as the
 * TSA's, with their own flags and variables, so that neither listener takes the other's TLS.
 */
export const API_FIELDS: readonly Field[] = [
  {
    flag: 'api-host',
    env: 'ATTESTAMP_API_HOST',
    kind: 'string',
    value: 'ADDRESS',
    default: '127.0.0.1',
    description: 'REST API listen address (default 127.0.0.1)',
  },
  {
    flag: 'api-port',
    env: 'ATTESTAMP_API_PORT',
    kind: 'int',
    min: 0,
    max: 65535,
    default: 8443,
    description: 'REST API HTTPS port (default 8443; 0 picks a free port and prints it)',
  },
  {
    flag: 'api-tls-cert',
    env: 'ATTESTAMP_API_TLS_CERT',
    kind: 'string',
    value: 'FILE',
    description: 'PEM certificate chain of the REST API listener (required)',
  },
  {
    flag: 'api-tls-key',
    env: 'ATTESTAMP_API_TLS_KEY',
    kind: 'string',
    value: 'FILE',
    description: 'PEM private key of the REST API listener (required)',
  },
  {
    flag: 'api-client-ca',
    env: 'ATTESTAMP_API_CLIENT_CA',
    kind: 'string',
    value: 'FILE',
    description: 'PEM CA certificates that API client certificates are checked against',
  },
  {
    flag: 'api-client-map',
    env: 'ATTESTAMP_API_CLIENT_MAP',
    kind: 'string',
    value: 'FILE',
    description:
      'JSON list mapping client certificates (fingerprint, or subject and issuer) to a principal, roles and partitions',
  },
  {
    flag: 'api-jwks',
    env: 'ATTESTAMP_API_JWKS',
    kind: 'string',
    value: 'FILE',
    description: 'JWKS file with the keys API bearer tokens are verified with',
  },
  {
    flag: 'api-jwks-url',
    env: 'ATTESTAMP_API_JWKS_URL',
    kind: 'string',
    value: 'URL',
    description: 'JWKS URL on a loopback address (instead of --api-jwks)',
  },
  {
    flag: 'api-jwt-issuer',
    env: 'ATTESTAMP_API_JWT_ISSUER',
    kind: 'string',
    value: 'ISSUER',
    description: 'required iss of API bearer tokens',
  },
  {
    flag: 'api-jwt-audience',
    env: 'ATTESTAMP_API_JWT_AUDIENCE',
    kind: 'string',
    value: 'AUDIENCE',
    description: 'required aud of API bearer tokens',
  },
  {
    flag: 'api-jwt-algorithm',
    env: 'ATTESTAMP_API_JWT_ALGORITHMS',
    kind: 'list',
    value: 'ALG',
    values: ASYMMETRIC_ALGORITHMS,
    default: [],
    defaultText: 'every asymmetric algorithm',
    description:
      'JWS algorithm accepted for API bearer tokens (asymmetric only; default all of them)',
  },
  {
    flag: 'api-jwt-leeway-s',
    env: 'ATTESTAMP_API_JWT_LEEWAY_S',
    kind: 'int',
    min: 0,
    max: 300,
    default: 30,
    description: 'tolerated clock difference for exp and nbf of API tokens, seconds (default 30)',
  },
  {
    flag: 'api-jwt-require-typ',
    env: 'ATTESTAMP_API_JWT_REQUIRE_TYP',
    kind: 'bool',
    default: false,
    description:
      'require the RFC 9068 typ header at+jwt on API tokens (default off: no typ, JWT or at+jwt; any other typ is refused either way)',
  },
  {
    flag: 'api-allow',
    env: 'ATTESTAMP_API_ALLOW',
    kind: 'list',
    value: 'CIDR',
    default: [],
    defaultText: 'any address',
    description: 'client ADDRESS[/PREFIX] allowed to call the REST API (default: any)',
  },
  {
    flag: 'api-rate-limit',
    env: 'ATTESTAMP_API_RATE_LIMIT',
    kind: 'int',
    min: 1,
    max: 100_000,
    default: 50,
    description: 'API requests per second per principal, burst twice that (default 50)',
  },
  {
    flag: 'api-auth-failure-limit',
    env: 'ATTESTAMP_API_AUTH_FAILURE_LIMIT',
    kind: 'int',
    min: 1,
    max: 10_000,
    default: 10,
    description: 'failed API authentications per minute per client address (default 10)',
  },
  {
    flag: 'api-body-limit',
    env: 'ATTESTAMP_API_BODY_LIMIT',
    kind: 'int',
    min: 1024,
    max: 16 * 1024 * 1024,
    default: 1024 * 1024,
    description: 'largest API request body in bytes (default 1048576)',
  },
  {
    flag: 'api-binary-body-limit',
    env: 'ATTESTAMP_API_BINARY_BODY_LIMIT',
    kind: 'int',
    // A backup bundle holds every key of a partition and is read into memory to be verified.
    min: 1024,
    max: 1024 * 1024 * 1024,
    default: 64 * 1024 * 1024,
    description:
      'largest API application/octet-stream body (a backup bundle) in bytes (default 67108864: 64 MiB)',
  },
  {
    flag: 'api-idempotency-ttl-s',
    env: 'ATTESTAMP_API_IDEMPOTENCY_TTL_S',
    kind: 'int',
    // From a minute (a client's retries) to a week: every kept answer is held in memory.
    min: 60,
    max: 7 * 86_400,
    default: IDEMPOTENCY.ttlMs / 1000,
    description:
      'how long the first answer to an API Idempotency-Key is kept, seconds, 60..604800 (default 86400: 24 h)',
  },
  {
    flag: 'api-idempotency-keys',
    env: 'ATTESTAMP_API_IDEMPOTENCY_KEYS',
    kind: 'int',
    // At least one principal's share; at most what the answers' byte budget can hold anyway.
    min: IDEMPOTENCY.keysPerPrincipal,
    max: 1_000_000,
    default: IDEMPOTENCY.keys,
    description: `API Idempotency-Keys kept in all (the oldest forgotten first), ${IDEMPOTENCY.keysPerPrincipal}..1000000 (default ${IDEMPOTENCY.keys})`,
  },
];

/** Every setting of the config file: the TSA's and the REST API's. */
export const ALL_FIELDS: readonly Field[] = [...FIELDS, ...API_FIELDS];

/** The command-line options of a table of settings, and --config with its description. */
export function optionsOf(
  fields: readonly Field[],
  configDescription: string,
): Readonly<Record<string, OptionSpec>> {
  return Object.fromEntries([
    ...fields.map((f): [string, OptionSpec] => [
      f.flag,
      {
        type: 'string' as const,
        value: valueHint(f),
        description: f.description + (f.kind === 'list' ? ' (comma-separated or repeated)' : ''),
        ...(f.kind === 'list' ? { multiple: true } : {}),
      },
    ]),
    ['config', { type: 'string', value: 'FILE', description: configDescription }],
  ]);
}

/** The options of serve and start: the TSA's settings and those of the REST API it runs beside. */
export const SERVER_OPTIONS = optionsOf(
  ALL_FIELDS,
  'JSON config file; its keys are the camelCase of these flags (schemas/config.schema.json)',
);

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

/**
 * The config file with every key checked: unknown keys are refused with the close valid names,
 * and a deprecated key is read under its new name with a warning. `$schema` is allowed so that
 * editors can find the schema.
 */
function normalizeConfigFile(
  file: Record<string, unknown>,
  warn: (text: string) => void,
): Record<string, unknown> {
  const keys = ALL_FIELDS.map((f) => configKey(f.flag));
  const renamed = new Map(
    ALL_FIELDS.filter((f) => f.deprecatedKey !== undefined).map((f) => [
      f.deprecatedKey!,
      configKey(f.flag),
    ]),
  );
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(file)) {
    if (k === '$schema') continue;
    const now = renamed.get(k);
    if (now !== undefined) {
      if (now in file) bad(`config ${k}`, `give only '${now}' (the new name of '${k}')`);
      warn(
        `warning: config ${k} is deprecated and will be refused in a later release; use '${now}'\n`,
      );
      out[now] = v;
      continue;
    }
    if (!keys.includes(k)) {
      const near = closeNames(k, keys);
      bad(
        `config ${k}`,
        `unknown field${near.length > 0 ? `; did you mean ${near.map((n) => `'${n}'`).join(' or ')}?` : ''} (keys are the camelCase of the flags; see schemas/config.schema.json)`,
      );
    }
    out[k] = v;
  }
  return out;
}

function auditHeadField(text: string | undefined): AuditHead | undefined {
  if (text === undefined) return undefined;
  return parseAuditHead(text) ?? bad('--expect-audit-head', "must be SEQ:HASH (from 'audit head')");
}

const OID_RE = /^[0-2](\.(0|[1-9]\d*))+$/;

function fieldOf(flagName: string): Field {
  const f = FIELDS.find((x) => x.flag === flagName);
  if (f === undefined) throw new RangeError(`no server setting --${flagName}`);
  return f;
}

/**
 * The readers of settings for one invocation: flags, then environment, then the config file
 * (keys of every table), then defaults; each names the flag, variable or key it blames.
 */
export function settingsReader(inv: Invocation) {
  const configPath = stringOption(inv, 'config') ?? inv.io.env.ATTESTAMP_CONFIG;
  const file =
    configPath === undefined
      ? {}
      : normalizeConfigFile(readConfigFile(configPath), (t) => {
          inv.io.stderr(t);
        });

  /** The raw value of a field and the name to blame when it is bad; null in the file is unset. */
  const raw = (f: Field): { value: unknown; source: string } | undefined => {
    const flagValue = inv.options[f.flag];
    if (flagValue !== undefined && !(Array.isArray(flagValue) && flagValue.length === 0)) {
      return { value: flagValue, source: `--${f.flag}` };
    }
    const envValue = inv.io.env[f.env];
    if (envValue !== undefined && envValue !== '') return { value: envValue, source: f.env };
    const key = configKey(f.flag);
    if (key in file && file[key] !== null) return { value: file[key], source: `config ${key}` };
    return undefined;
  };
  /** An int within the field's range, its default when unset. */
  const int = (f: Field, fallback = f.default): number => {
    const min = f.min ?? 0;
    const max = f.max ?? Number.MAX_SAFE_INTEGER;
    const r = raw(f);
    if (r === undefined) {
      if (typeof fallback !== 'number') throw new RangeError(`--${f.flag} has no default`);
      return fallback;
    }
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
  const bool = (f: Field): boolean => {
    const r = raw(f);
    if (r === undefined) return f.default === true;
    if (r.value === true || r.value === 'on' || r.value === 'true') return true;
    if (r.value === false || r.value === 'off' || r.value === 'false') return false;
    return bad(r.source, 'must be on or off');
  };
  const oneOf = (f: Field): string => {
    const r = raw(f);
    const value = r === undefined ? f.default : r.value;
    const values = f.values ?? [];
    if (typeof value !== 'string' || !values.includes(value)) {
      const names = values.slice(0, -1).join(', ') + ' or ' + (values.at(-1) ?? '');
      return bad(r?.source ?? `--${f.flag}`, `must be ${names}`);
    }
    return value;
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
  const optionalInt = (f: Field): number | undefined =>
    raw(f) === undefined ? undefined : int(f, 0);
  const optionalText = (f: Field): string | undefined => {
    const r = raw(f);
    if (r === undefined) return undefined;
    if (typeof r.value !== 'string' || r.value.length === 0) bad(r.source, 'must be a file path');
    return r.value;
  };
  const address = (f: Field): string => {
    const r = raw(f);
    const value = r === undefined ? f.default : r.value;
    if (typeof value !== 'string' || value.length === 0)
      bad(r?.source ?? `--${f.flag}`, 'must be a host name or address');
    return value;
  };

  return { raw, int, bool, oneOf, list, optionalInt, optionalText, address };
}

type SettingsReader = ReturnType<typeof settingsReader>;

function apiFieldOf(flagName: string): Field {
  const f = API_FIELDS.find((x) => x.flag === flagName);
  if (f === undefined) throw new RangeError(`no API setting --${flagName}`);
  return f;
}

/** The REST API's settings (`attestamp api`): TLS and an authentication method are required. */
export function loadApiConfig(
  inv: Invocation,
  r: SettingsReader = settingsReader(inv),
): Readonly<ApiConfig> {
  const f = apiFieldOf;
  const algorithms = r.list(f('api-jwt-algorithm'));
  const allow = r.list(f('api-allow'));
  const config: ApiConfig = {
    host: r.address(f('api-host')),
    port: r.int(f('api-port')),
    tlsCert: r.optionalText(f('api-tls-cert')) ?? bad('--api-tls-cert', 'is required'),
    tlsKey: r.optionalText(f('api-tls-key')) ?? bad('--api-tls-key', 'is required'),
    clientCa: r.optionalText(f('api-client-ca')),
    clientMap: r.optionalText(f('api-client-map')),
    jwks: r.optionalText(f('api-jwks')),
    jwksUrl: r.optionalText(f('api-jwks-url')),
    jwtIssuer: r.optionalText(f('api-jwt-issuer')),
    jwtAudience: r.optionalText(f('api-jwt-audience')),
    jwtAlgorithms: Object.freeze(algorithms?.items ?? []),
    jwtLeewaySeconds: r.int(f('api-jwt-leeway-s')),
    jwtRequireTyp: r.bool(f('api-jwt-require-typ')),
    allow: Object.freeze(allow?.items ?? []),
    ratePerSecond: r.int(f('api-rate-limit')),
    authFailuresPerMinute: r.int(f('api-auth-failure-limit')),
    bodyLimit: r.int(f('api-body-limit')),
    binaryBodyLimit: r.int(f('api-binary-body-limit')),
    idempotencyTtlSeconds: r.int(f('api-idempotency-ttl-s')),
    idempotencyKeys: r.int(f('api-idempotency-keys')),
  };
  const values = f('api-jwt-algorithm').values ?? [];
  for (const a of config.jwtAlgorithms) {
    if (!values.includes(a)) {
      bad(algorithms?.source ?? '--api-jwt-algorithm', `'${a}' is not one of ${values.join(', ')}`);
    }
  }
  try {
    parseTrustedProxies(config.allow);
  } catch (error) {
    bad(allow?.source ?? '--api-allow', error instanceof Error ? error.message : 'not a CIDR');
  }
  if (config.jwks !== undefined && config.jwksUrl !== undefined) {
    bad('--api-jwks', 'give --api-jwks or --api-jwks-url, not both');
  }
  const jwtParts = [config.jwks ?? config.jwksUrl, config.jwtIssuer, config.jwtAudience];
  if (jwtParts.some((p) => p !== undefined) && jwtParts.some((p) => p === undefined)) {
    bad(
      '--api-jwks',
      'bearer tokens need --api-jwks (or --api-jwks-url), --api-jwt-issuer and --api-jwt-audience',
    );
  }
  if (jwtParts.every((p) => p === undefined) && config.clientMap === undefined) {
    bad(
      '--api-jwks',
      'the API needs bearer tokens (--api-jwks ...) or client certificates (--api-client-map)',
    );
  }
  return Object.freeze(config);
}

/**
 * The REST API that serve runs beside the TSA, by --serve-api: off, none; on, the API's settings
 * as `attestamp api` requires them; auto, those settings when --api-tls-cert or --api-tls-key is
 * given, none when no API setting is, and a refusal when API settings come without their TLS
 * (the API listens only over TLS, and a setting given for nothing is a mistake to report).
 */
function serveApiConfig(
  inv: Invocation,
  r: SettingsReader,
  mode: ServerConfig['serveApi'],
): Readonly<ApiConfig> | undefined {
  if (mode === 'off') return undefined;
  if (mode === 'auto') {
    const tls = ['api-tls-cert', 'api-tls-key'].some((n) => r.raw(apiFieldOf(n)) !== undefined);
    if (!tls) {
      const given = API_FIELDS.map((f) => r.raw(f)).find((v) => v !== undefined);
      if (given === undefined) return undefined;
      bad(
        given.source,
        'the REST API listens only over TLS: give --api-tls-cert and --api-tls-key as well, or --serve-api off',
      );
    }
  }
  return loadApiConfig(inv, r);
}

export function loadServerConfig(inv: Invocation): Readonly<ServerConfig> {
  const reader = settingsReader(inv);
  const { raw, int, bool, oneOf, list, optionalInt, optionalText, address } = reader;
  const field = fieldOf;
  const trustedProxies = (): readonly string[] => {
    const l = list(field('trusted-proxy'));
    if (l === undefined) return Object.freeze([]);
    try {
      parseTrustedProxies(l.items);
    } catch (error) {
      bad(l.source, error instanceof Error ? error.message : 'not a CIDR range');
    }
    return Object.freeze(l.items);
  };
  const host = address(field('host'));

  const hashList = list(field('hash'));
  const hashes = (hashList?.items ?? HASH_NAMES) as HashName[];
  for (const h of hashes) {
    if (!(h in HASHES))
      bad(hashList?.source ?? '--hash', `unknown hash '${h}' (known: ${HASH_NAMES.join(', ')})`);
  }

  const verifyTokens = oneOf(field('verify-tokens')) as ServerConfig['verifyTokens'];
  const archiveResponses = oneOf(field('archive-responses')) as ServerConfig['archiveResponses'];
  const serveApi = oneOf(field('serve-api')) as ServerConfig['serveApi'];

  // Units: PARTITION[:PATH] items (flag, environment or file), or in the file also objects
  // { partition, path, policies }.
  const unitSpec = (spec: string, i: number): UnitConfig => {
    const [partition = '', path = i === 0 ? '/' : `/${partition}`] = spec.split(':');
    return { partition, path, policies: [] };
  };
  let units: UnitConfig[];
  const unitRaw = raw(field('unit'));
  if (unitRaw === undefined) {
    units = [{ partition: 'default', path: '/', policies: [] }];
  } else if (unitRaw.source.startsWith('config') && Array.isArray(unitRaw.value)) {
    const at = unitRaw.source;
    units = unitRaw.value.map((u: unknown, i): UnitConfig => {
      if (typeof u === 'string') return unitSpec(u, i);
      if (typeof u !== 'object' || u === null || Array.isArray(u))
        bad(`${at}[${i}]`, 'must be PARTITION[:PATH] or an object');
      const o = u as Record<string, unknown>;
      for (const k of Object.keys(o))
        if (!['partition', 'path', 'policies'].includes(k))
          bad(`${at}[${i}].${k}`, 'unknown field (partition, path, policies)');
      if (typeof o.partition !== 'string') bad(`${at}[${i}].partition`, 'must be text');
      const path = o.path ?? (i === 0 ? '/' : `/${o.partition}`);
      if (typeof path !== 'string') bad(`${at}[${i}].path`, 'must be text');
      const policies = o.policies ?? [];
      if (!Array.isArray(policies) || policies.some((p) => typeof p !== 'string')) {
        bad(`${at}[${i}].policies`, 'must be a list of OIDs');
      }
      return { partition: o.partition, path, policies: policies as string[] };
    });
  } else {
    units = (list(field('unit'))?.items ?? []).map(unitSpec);
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
    if (policies.length === 0) {
      return {
        ...u,
        policies: [i === 0 ? id_tsaPolicyBaseline : `${id_tsaPolicyBaseline}.${i}`],
        defaultPolicy: true as const,
      };
    }
    for (const p of policies)
      if (!OID_RE.test(p))
        bad(i === 0 ? '--policy' : `units[${i}].policies`, `'${p}' is not an object identifier`);
    return { ...u, policies };
  });
  const paths = new Set(units.map((u) => u.path));
  if (paths.size !== units.length) bad('--unit', 'two units share a path');

  const config = Object.freeze({
    host,
    port: int(field('port')),
    units: Object.freeze(units),
    hashes: Object.freeze(hashes),
    legacySha1: bool(field('legacy-sha1')),
    precision: int(field('precision')) as GenTimePrecision,
    accuracyMicros: int(field('accuracy-us')),
    includeIssuers: bool(field('include-issuers')),
    qualified: bool(field('qualified')),
    includeTsaName: bool(field('tsa-name')),
    verifyTokens,
    archiveResponses,
    bodyLimit: int(field('body-limit')),
    requestTimeoutMs: int(field('request-timeout-ms')),
    keepAliveTimeoutMs: int(field('keep-alive-timeout-ms')),
    tlsHandshakeTimeoutMs: int(field('tls-handshake-timeout-ms')),
    maxConnections: int(field('max-connections')),
    workers: int(field('workers')),
    metricsPort: optionalInt(field('metrics-port')),
    metricsHost: address(field('metrics-host')),
    httpsPort: optionalInt(field('https-port')),
    tlsCert: optionalText(field('tls-cert')),
    tlsKey: optionalText(field('tls-key')),
    readyMinCertDays: int(field('ready-min-cert-days')),
    rateLimit: optionalInt(field('rate-limit')),
    authBasicFile: optionalText(field('auth-basic-file')),
    authFailureLimit: int(field('auth-failure-limit')),
    evidenceRateLimit: int(field('evidence-rate-limit')),
    jwtMaxLifetimeSeconds: int(field('jwt-max-lifetime-s')),
    jwtClockSkewSeconds: int(field('jwt-clock-skew-s')),
    trustedProxies: trustedProxies(),
    jwtJwksFile: optionalText(field('jwt-jwks')),
    jwtIssuer: optionalText(field('jwt-issuer')),
    jwtAudience: optionalText(field('jwt-audience')),
    mtlsCa: optionalText(field('mtls-ca')),
    ntpServers: (list(field('ntp-server'))?.items ?? []).map((spec) => {
      const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(spec);
      const port = Number(m?.[2] ?? '123');
      if (m === null || port < 1 || port > 65535)
        bad('--ntp-server', `'${spec}' is not HOST[:PORT]`);
      return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
    }),
    ntpQuorum: optionalInt(field('ntp-quorum')),
    maxOffsetMs: int(field('max-offset-ms')),
    clockCheckIntervalMs: int(field('clock-check-interval-ms')),
    expectAuditHead: auditHeadField(optionalText(field('expect-audit-head'))),
    accessLog: bool(field('access-log')),
    store: optionalText(field('store')),
    serveApi,
  });
  if (config.store !== undefined && !isPostgresUrl(config.store)) {
    bad('--store', 'must be a postgres:// or postgresql:// URL');
  }
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
  return Object.freeze({ ...config, api: serveApiConfig(inv, reader, serveApi) });
}

// The api command: the HSM's REST API on its own HTTPS listener (port, TLS certificate and key,
// client CA and certificate mappings, JWT issuer and keys, allow-list, limits) until SIGINT or
// SIGTERM. Settings come from the API's rows of the settings table (flags, environment, the
// shared --config file, defaults).
import type { JSONWebKeySet } from 'jose';
import {
  checkJwtSettings,
  startApiServer,
  type AuthSettings,
  type CertificateMapping,
  type JwtSettings,
} from '../../api/index.js';
import { ROLES, type Role } from '../../hsm/index.js';
import { parseTrustedProxies } from '../../tsa/index.js';
import { flag, type Command, type Invocation } from '../command.js';
import { API_FIELDS, optionsOf, settingsReader, type Field } from '../config.js';
import { openHsm, readInputFile } from '../context.js';
import { EXIT, InputError, UsageError } from '../exit-codes.js';
import { createJsonLogger } from '../logger.js';
import { MASTER_OPTIONS } from './partition.js';

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
}

function bad(field: string, message: string): never {
  throw new UsageError(`${field}: ${message}`);
}

function fieldOf(name: string): Field {
  const f = API_FIELDS.find((x) => x.flag === name);
  if (f === undefined) throw new RangeError(`no API setting --${name}`);
  return f;
}

export function loadApiConfig(inv: Invocation): Readonly<ApiConfig> {
  const r = settingsReader(inv);
  const f = fieldOf;
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
  };
  const values = fieldOf('api-jwt-algorithm').values ?? [];
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

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readInputFile(path, what).toString('utf8')) as unknown;
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`${what} file '${path}' is not JSON`);
  }
}

/** The client-certificate mappings file: a JSON list, each entry checked with its index. */
export function parseClientMap(value: unknown, file: string): CertificateMapping[] {
  if (!Array.isArray(value)) throw new InputError(`client map '${file}' must be a JSON list`);
  return value.map((e: unknown, i): CertificateMapping => {
    const at = `client map '${file}' entry ${i}`;
    if (typeof e !== 'object' || e === null) throw new InputError(`${at} must be an object`);
    const o = e as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (!['fingerprint', 'subject', 'issuer', 'principal', 'roles', 'partitions'].includes(k)) {
        throw new InputError(`${at}: unknown field '${k}'`);
      }
    }
    const text = (k: string): string | undefined => {
      const v = o[k];
      if (v === undefined) return undefined;
      if (typeof v !== 'string' || v.length === 0) throw new InputError(`${at}: ${k} must be text`);
      return v;
    };
    const fingerprint = text('fingerprint');
    const subject = text('subject');
    if ((fingerprint === undefined) === (subject === undefined)) {
      throw new InputError(`${at}: give a fingerprint or a subject`);
    }
    if (fingerprint !== undefined && !/^[0-9a-fA-F]{64}$/.test(fingerprint.replace(/:/g, ''))) {
      throw new InputError(`${at}: fingerprint must be the SHA-256 of the certificate, hex`);
    }
    const principal = text('principal') ?? '';
    if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(principal)) {
      throw new InputError(`${at}: principal must be a principal name`);
    }
    const list = (k: string): string[] => {
      const v = o[k] ?? [];
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
        throw new InputError(`${at}: ${k} must be a list of text`);
      }
      return v;
    };
    const roles = list('roles');
    const unknown = roles.find((x) => !(ROLES as readonly string[]).includes(x));
    if (unknown !== undefined) throw new InputError(`${at}: unknown role '${unknown}'`);
    const issuer = text('issuer');
    return {
      ...(fingerprint === undefined
        ? {}
        : { fingerprint: fingerprint.replace(/:/g, '').toLowerCase() }),
      ...(subject === undefined ? {} : { subject }),
      ...(issuer === undefined ? {} : { issuer }),
      principal,
      roles: roles as Role[],
      partitions: list('partitions'),
    };
  });
}

/** The authentication settings of a configuration (files read here, checked before listening). */
export function authSettings(config: Readonly<ApiConfig>): AuthSettings {
  let jwt: JwtSettings | undefined;
  const keys =
    config.jwks !== undefined
      ? (readJson(config.jwks, 'JWKS') as JSONWebKeySet)
      : config.jwksUrl !== undefined
        ? new URL(config.jwksUrl)
        : undefined;
  if (keys !== undefined && config.jwtIssuer !== undefined && config.jwtAudience !== undefined) {
    jwt = {
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
      jwks: keys,
      leewaySeconds: config.jwtLeewaySeconds,
      requireAccessTokenType: config.jwtRequireTyp,
      ...(config.jwtAlgorithms.length === 0 ? {} : { algorithms: config.jwtAlgorithms }),
    };
    try {
      checkJwtSettings(jwt);
    } catch (error) {
      bad('--api-jwks-url', error instanceof Error ? error.message : 'refused');
    }
  }
  const certificates =
    config.clientMap === undefined
      ? undefined
      : parseClientMap(readJson(config.clientMap, 'client map'), config.clientMap);
  // A subject is only as good as the CA that vouches for it: never one of the public roots.
  if (config.clientCa === undefined && certificates?.some((c) => c.subject !== undefined)) {
    bad(
      '--api-client-ca',
      'a client map entry by subject needs --api-client-ca (the CA whose certificates it names); pin others by fingerprint',
    );
  }
  return {
    ...(jwt === undefined ? {} : { jwt }),
    ...(certificates === undefined ? {} : { certificates }),
  };
}

export const API_OPTIONS = optionsOf(
  API_FIELDS,
  'JSON config file shared with serve; keys are the camelCase of the flags',
);

export const api: Command = {
  path: ['api'],
  summary: "Serve the HSM's REST API over HTTPS (JWT bearer tokens or client certificates).",
  positionals: [],
  details: `The API's OpenAPI 3.1 document is served at GET /v1/openapi.json. Callers authenticate with a
JWT (sub: the principal; attestamp_roles: its roles; attestamp_partitions: the partitions they
hold in, '*' for all) from --api-jwt-issuer for --api-jwt-audience, verified with --api-jwks, or
with a client certificate mapped in --api-client-map. Every request is written to the HSM's
audit log with its principal. See the README's "HSM REST API" section.`,
  options: { ...API_OPTIONS, ...MASTER_OPTIONS },
  async run(inv) {
    const config = loadApiConfig(inv);
    const auth = authSettings(config);
    const cert = readInputFile(config.tlsCert, 'TLS certificate');
    const key = readInputFile(config.tlsKey, 'TLS key');
    const clientCa =
      config.clientCa === undefined ? undefined : readInputFile(config.clientCa, 'client CA');
    const logger = createJsonLogger(inv.io.stderr);
    const hsm = await openHsm(inv);
    let running;
    try {
      running = await startApiServer({
        hsm,
        auth,
        logger,
        tls: { cert, key, ...(clientCa === undefined ? {} : { clientCa }) },
        host: config.host,
        port: config.port,
        allow: config.allow,
        limits: {
          bodyBytes: config.bodyLimit,
          ratePerSecond: config.ratePerSecond,
          authFailuresPerMinute: config.authFailuresPerMinute,
        },
      });
    } catch (error) {
      await hsm.close();
      throw error;
    }
    if (flag(inv, 'json')) {
      inv.io.stdout(JSON.stringify({ listening: running.url, port: running.port }) + '\n');
    } else {
      inv.io.stdout(`attestamp API listening on ${running.url}\n`);
    }
    await new Promise<void>((done) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void running.close().then(async () => {
          await hsm.close();
          done();
        });
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    return EXIT.ok;
  },
};

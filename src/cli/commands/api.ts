// The api command: the HSM's REST API on its own HTTPS listener (port, TLS certificate and key,
// client CA and certificate mappings, JWT issuer and keys, allow-list, limits) until SIGINT or
// SIGTERM. Settings come from the API's rows of the settings table (flags, environment, the
// shared --config file, defaults).
import type { JSONWebKeySet } from 'jose';
import {
  checkJwtSettings,
  startApiServer,
  type ApiServer,
  type ApiServerOptions,
  type AuthSettings,
  type CertificateMapping,
  type JwtSettings,
} from '../../api/index.js';
import { ROLES, type Hsm, type Role } from '../../hsm/index.js';
import type { Logger } from '../../shared/index.js';
import { flag, type Command } from '../command.js';
import { API_FIELDS, loadApiConfig, optionsOf, type ApiConfig } from '../config.js';
import { openHsm, readInputFile } from '../context.js';
import { EXIT, InputError, UsageError } from '../exit-codes.js';
import { createJsonLogger } from '../logger.js';
import { MASTER_OPTIONS } from './partition.js';

function bad(field: string, message: string): never {
  throw new UsageError(`${field}: ${message}`);
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

/** What the API's listener needs besides the HSM and a logger: every file read and checked. */
export type PreparedApi = Omit<ApiServerOptions, 'hsm' | 'logger'>;

/**
 * Reads the files a configuration names (JWKS, client map, TLS certificate and key, client CA)
 * and checks them, before anything listens, so that a bad file stops start-up at once.
 */
export function prepareApi(config: Readonly<ApiConfig>): PreparedApi {
  const auth = authSettings(config);
  const cert = readInputFile(config.tlsCert, 'API TLS certificate');
  const key = readInputFile(config.tlsKey, 'API TLS key');
  const clientCa =
    config.clientCa === undefined ? undefined : readInputFile(config.clientCa, 'API client CA');
  return {
    auth,
    tls: { cert, key, ...(clientCa === undefined ? {} : { clientCa }) },
    host: config.host,
    port: config.port,
    allow: config.allow,
    limits: {
      bodyBytes: config.bodyLimit,
      binaryBodyBytes: config.binaryBodyLimit,
      ratePerSecond: config.ratePerSecond,
      authFailuresPerMinute: config.authFailuresPerMinute,
      idempotencyTtlMs: config.idempotencyTtlSeconds * 1000,
      idempotencyKeys: config.idempotencyKeys,
    },
  };
}

/** The API's HTTPS listener on a prepared configuration. */
export function startPreparedApi(
  prepared: PreparedApi,
  hsm: Hsm,
  logger: Logger,
): Promise<ApiServer> {
  return startApiServer({ ...prepared, hsm, logger });
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
audit log with its principal. attestamp serve runs the same listener beside the TSA when these
settings are given (see serve --help). See the README's "HSM REST API" section.`,
  options: { ...API_OPTIONS, ...MASTER_OPTIONS },
  async run(inv) {
    const prepared = prepareApi(loadApiConfig(inv));
    const logger = createJsonLogger(inv.io.stderr);
    const hsm = await openHsm(inv);
    let running: ApiServer;
    try {
      running = await startPreparedApi(prepared, hsm, logger);
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

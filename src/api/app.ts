// The REST API's Koa application: routes, parameters and bodies from the OpenAPI document,
// the caller authenticated and limited (allow-list, failed-authentication budget per address,
// rate per principal), answers as JSON or RFC 9457 problems, a guarded call answered 202 with
// its approval request, Idempotency-Key on POSTs, and one audit entry per request.
import { createHmac, randomBytes } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import Koa from 'koa';
import { HsmError, type Hsm, type PresentedPrincipal } from '../hsm/index.js';
import { silentLogger, systemClock, type Clock, type Logger } from '../shared/index.js';
import {
  addressKey,
  createClientAddress,
  createRateLimiter,
  parseTrustedProxies,
  type RateLimiter,
} from '../tsa/index.js';
import { createAuthenticator, type AuthSettings } from './auth.js';
import { findOperation, loadDocument, type ApiDocument, type OperationSpec } from './document.js';
import { ApiError } from './errors.js';
import { IDEMPOTENCY, IdempotencyStore, type StoredAnswer } from './idempotency.js';
import { BODY_DEFAULTS, parseJsonBody, readRawBody } from './json-body.js';
import { PROBLEM_TYPE, problemOf } from './problem.js';
import { createHandlers, type Answer, type Handler } from './routes/index.js';
import { approvalView } from './routes/types.js';
import { responseFor, validatorsFor, type Validators } from './validation.js';

/**
 * Operations whose answers are never kept for an Idempotency-Key: a decryption's answer is the
 * plaintext, which must not stay in the process's memory for a day.
 */
const NEVER_KEPT: ReadonlySet<string> = new Set(['decryptKey']);

export interface ApiLimits {
  /** Largest JSON body, bytes (default 1 MiB). */
  readonly bodyBytes: number;
  /**
   * Largest application/octet-stream body (a backup bundle, a DER message), bytes (default 64
   * MiB): a bundle holds every key of a partition, and is read into memory to be verified.
   */
  readonly binaryBodyBytes: number;
  /** Deepest nesting of a JSON body (default 32). */
  readonly bodyDepth: number;
  /** Requests per second per principal (burst twice that); default 50. */
  readonly ratePerSecond: number;
  /** Failed authentications per minute per client address (burst the same); default 10. */
  readonly authFailuresPerMinute: number;
  /** Idempotency-Keys kept in all (default 10 000), per principal (default 1000). */
  readonly idempotencyKeys: number;
  readonly idempotencyKeysPerPrincipal: number;
  /** Bytes of the answers kept for Idempotency-Keys (default 32 MiB). */
  readonly idempotencyBytes: number;
  /** How long an Idempotency-Key's first answer is kept, milliseconds (default 24 h). */
  readonly idempotencyTtlMs: number;
}

export const API_LIMITS: ApiLimits = {
  bodyBytes: BODY_DEFAULTS.bytes,
  binaryBodyBytes: 64 * 1024 * 1024,
  bodyDepth: BODY_DEFAULTS.depth,
  ratePerSecond: 50,
  authFailuresPerMinute: 10,
  idempotencyKeys: IDEMPOTENCY.keys,
  idempotencyKeysPerPrincipal: IDEMPOTENCY.keysPerPrincipal,
  idempotencyBytes: IDEMPOTENCY.bytes,
  idempotencyTtlMs: IDEMPOTENCY.ttlMs,
};

export interface ApiAppOptions {
  readonly hsm: Hsm;
  readonly auth: AuthSettings;
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly limits?: Partial<ApiLimits>;
  /** Client addresses or CIDR ranges allowed to connect; absent or empty: any. */
  readonly allow?: readonly string[];
  /** Monotonic milliseconds for rate limits and idempotency (performance.now by default). */
  readonly monotonic?: () => number;
}

/** The peer address as the TSA names it ('::ffff:192.0.2.1' as '192.0.2.1'); no proxies. */
const peerAddress = createClientAddress([]);

function allowed(list: BlockList | undefined, address: string): boolean {
  if (list === undefined) return true;
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Query parameters by their schemas: integers as numbers; unknown names refused. */
function queryValues(op: OperationSpec, query: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(query)) {
    const spec = op.parameters.find((p) => p.in === 'query' && p.name === name);
    if (spec === undefined) {
      throw new ApiError('api-invalid-request', `unknown query parameter '${name}'`, {
        details: { field: name },
      });
    }
    if (typeof raw !== 'string') {
      throw new ApiError('api-invalid-request', `give the query parameter '${name}' once`, {
        details: { field: name },
      });
    }
    const type = typeof spec.schema === 'object' ? spec.schema.type : undefined;
    out[name] = type === 'integer' && /^\d{1,15}$/.test(raw) ? Number(raw) : raw;
  }
  return out;
}

const OCTETS = /^application\/octet-stream\s*(;|$)/i;

/** Whether the request carries raw bytes to an operation that takes them. */
const binaryBody = (op: OperationSpec, contentType: string): boolean =>
  op.requestBody?.binary === true && OCTETS.test(contentType);

interface Outcome {
  status: number;
  principal?: PresentedPrincipal;
}

export function createApiApp(options: ApiAppOptions): Koa {
  const doc: ApiDocument = loadDocument();
  const validators = validatorsFor(doc);
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const limits: ApiLimits = { ...API_LIMITS, ...options.limits };
  // An embedding application's limits, checked here so that the refusal names its field.
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || (value as number) < 1) {
      throw new RangeError(
        `the API limit ${name} must be a positive whole number (got ${String(value)})`,
      );
    }
  }
  const monotonic = options.monotonic ?? (() => performance.now());
  const handlers = createHandlers({ hsm: options.hsm, document: doc.raw });
  const documented = new Set(doc.operations.map((o) => o.operationId));
  for (const id of documented) {
    if (handlers[id] === undefined) throw new Error(`no handler for the operation ${id}`);
  }
  for (const id of Object.keys(handlers)) {
    if (!documented.has(id)) throw new Error(`the handler ${id} is not in the OpenAPI document`);
  }
  const authenticate = createAuthenticator(options.auth, clock);
  const allowList =
    options.allow === undefined || options.allow.length === 0
      ? undefined
      : parseTrustedProxies(options.allow);
  const perPrincipal: RateLimiter = createRateLimiter({
    ratePerSecond: limits.ratePerSecond,
    burst: limits.ratePerSecond * 2,
    now: monotonic,
  });
  const failures: RateLimiter = createRateLimiter({
    ratePerSecond: limits.authFailuresPerMinute / 60,
    burst: limits.authFailuresPerMinute,
    now: monotonic,
  });
  const idempotency = new IdempotencyStore(monotonic, {
    keys: limits.idempotencyKeys,
    keysPerPrincipal: limits.idempotencyKeysPerPrincipal,
    bytes: limits.idempotencyBytes,
    ttlMs: limits.idempotencyTtlMs,
  });

  /**
   * Bearer checks in flight, by a keyed digest of the token: requests sent in parallel with the
   * same token share one check and one reservation of the failure budget, so that a client with
   * many connections is not refused for the checks its own good token has in flight.
   */
  const inFlight = new Map<string, Promise<PresentedPrincipal>>();
  const inFlightKey = randomBytes(32);

  /** Authenticates with the failed-authentication budget of the client address. */
  const check = async (ctx: Koa.Context, key: string): Promise<PresentedPrincipal> => {
    // The budget is reserved before the check, so that guesses sent in parallel cannot all pass
    // it while their checks run; a check that is not a failed guess gives it back.
    const wait = failures.take(key);
    if (wait > 0) {
      throw new ApiError('api-rate-limited', 'too many failed authentications', {
        details: { retryAfter: wait },
      });
    }
    try {
      const p = await authenticate({
        authorization: ctx.get('authorization'),
        socket: ctx.req.socket,
      });
      failures.refund(key);
      return p;
    } catch (error) {
      // A missing credential is not a guess; a verified token for another audience neither.
      if (error instanceof ApiError && error.details?.reason === 'missing') failures.refund(key);
      if (error instanceof ApiError && error.code === 'api-forbidden') failures.refund(key);
      // Keys the service could not fetch say nothing about the caller.
      if (error instanceof ApiError && error.code === 'api-jwks-unavailable') failures.refund(key);
      throw error;
    }
  };

  const principalFor = async (ctx: Koa.Context, address: string): Promise<PresentedPrincipal> => {
    // Per address, an IPv6 client by its /64 (one host is routinely given a whole /64).
    const key = addressKey(address);
    const authorization = ctx.get('authorization');
    // Shared only when the token alone decides: no client certificate on the connection.
    const socket = ctx.req.socket as Partial<TLSSocket>;
    if (authorization === '' || socket.getPeerX509Certificate?.() !== undefined) {
      return check(ctx, key);
    }
    const shared = createHmac('sha256', inFlightKey)
      .update(key)
      .update('\n')
      .update(authorization)
      .digest('base64url');
    const pending = inFlight.get(shared);
    if (pending !== undefined) return pending;
    const started = check(ctx, key).finally(() => inFlight.delete(shared));
    inFlight.set(shared, started);
    return started;
  };

  /** Runs the operation: parameters, body, handler; a guarded call becomes its 202. */
  const perform = async (
    op: OperationSpec,
    handler: Handler,
    principal: PresentedPrincipal | undefined,
    params: Record<string, string>,
    query: Record<string, unknown>,
    raw: Buffer,
    contentType: string,
    accept: string,
  ): Promise<Answer> => {
    for (const p of op.parameters) {
      const value = p.in === 'path' ? params[p.name] : p.in === 'query' ? query[p.name] : undefined;
      if (value === undefined) {
        if (p.required) {
          throw new ApiError('api-invalid-request', `missing parameter '${p.name}'`, {
            details: { field: p.name },
          });
        }
        continue;
      }
      const bad = validators.check(p.schema, value);
      if (bad !== undefined) {
        throw new ApiError('api-invalid-request', `parameter '${p.name}' ${bad.message}`, {
          details: { field: p.name },
        });
      }
    }
    let body: unknown = undefined;
    let bytes: Uint8Array | undefined;
    if (binaryBody(op, contentType)) {
      if (raw.length === 0) {
        throw new ApiError('api-invalid-request', 'this operation needs a body', {
          details: { field: 'body' },
        });
      }
      bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.length);
    } else if (raw.length > 0 || op.requestBody?.required === true) {
      if (op.requestBody === undefined) {
        throw new ApiError('api-invalid-request', 'this operation takes no body', {
          details: { field: 'body' },
        });
      }
      if (raw.length === 0) {
        throw new ApiError('api-invalid-request', 'this operation needs a JSON body', {
          details: { field: 'body' },
        });
      }
      if (!/^application\/json\s*(;|$)/i.test(contentType)) {
        const expected = op.requestBody.binary
          ? 'application/json, application/octet-stream'
          : 'application/json';
        throw new ApiError('api-unsupported-media-type', `the body must be ${expected}`, {
          details: { expected },
        });
      }
      body = parseJsonBody(raw, { bytes: limits.bodyBytes, depth: limits.bodyDepth });
      const bad = validators.check(op.requestBody.schema, body);
      if (bad !== undefined) {
        throw new ApiError('api-invalid-request', `${bad.at || 'the body'} ${bad.message}`, {
          details: { field: bad.at === '' ? 'body' : bad.at },
        });
      }
    }
    try {
      return await handler({
        principal,
        params,
        query,
        body,
        ...(bytes === undefined ? {} : { bytes }),
        accept,
      });
    } catch (error) {
      const id = error instanceof HsmError ? error.details?.request : undefined;
      if (
        error instanceof HsmError &&
        error.code === 'approval-required' &&
        typeof id === 'string' &&
        op.responses['202'] !== undefined
      ) {
        const view = await options.hsm.governance.showRequest(id);
        return { status: 202, body: approvalView(view), location: `/v1/approvals/${id}` };
      }
      throw error;
    }
  };

  const toStored = (answer: Answer): StoredAnswer =>
    answer.body instanceof Uint8Array
      ? {
          status: answer.status,
          type: answer.type ?? 'application/octet-stream',
          body: Buffer.from(answer.body.buffer, answer.body.byteOffset, answer.body.length),
          location: answer.location,
        }
      : {
          status: answer.status,
          type: 'application/json',
          body: JSON.stringify(answer.body),
          location: answer.location,
        };

  const problemAnswer = (error: unknown, ctx: Koa.Context): StoredAnswer => {
    const { problem, expected } = problemOf(error);
    if (!expected) {
      // The real error, for the operator only: its class and message (no bodies, no tokens).
      logger.error('api request failed', {
        method: ctx.method,
        path: ctx.path.slice(0, 200),
        error: error instanceof Error ? `${error.name}: ${error.message}` : 'non-error thrown',
      });
    } else if (problem.status >= 500) {
      logger.error('api request failed', {
        method: ctx.method,
        path: ctx.path.slice(0, 200),
        code: problem.code,
      });
    }
    return {
      status: problem.status,
      type: PROBLEM_TYPE,
      body: JSON.stringify(problem),
      location: undefined,
    };
  };

  const app = new Koa();
  app.proxy = false;
  // Every error is answered by the middleware below; this only keeps Koa from printing.
  app.silent = true;

  app.use(async (ctx) => {
    const outcome: Outcome = { status: 500 };
    let route = 'unknown';
    let operationId = 'unknown';
    const address = peerAddress(ctx.req.socket.remoteAddress, '');
    let answer: StoredAnswer;
    try {
      if (!allowed(allowList, address)) {
        throw new ApiError('api-address-refused', 'this client address is not allowed', {
          details: { address },
        });
      }
      let found: ReturnType<typeof findOperation>;
      try {
        found = findOperation(doc, ctx.method, ctx.path);
      } catch {
        throw new ApiError('api-invalid-request', 'the path is not well-formed', {
          details: { field: 'path' },
        });
      }
      if (found === 'no-path') throw new ApiError('api-not-found', 'no such resource');
      if (found === 'no-method') {
        const allow = doc.operations
          .filter((o) => o.pattern.test(ctx.path))
          .map((o) => o.method)
          .join(', ');
        ctx.set('Allow', allow);
        throw new ApiError('api-method-not-allowed', `the resource answers ${allow}`, {
          details: { allow },
        });
      }
      const { op, params } = found;
      route = op.path;
      operationId = op.operationId;
      const principal = op.public ? undefined : await principalFor(ctx, address);
      if (principal !== undefined) {
        outcome.principal = principal;
        const wait = perPrincipal.take(principal.principal);
        if (wait > 0) {
          throw new ApiError('api-rate-limited', 'rate limit exceeded', {
            details: { retryAfter: wait },
          });
        }
      }
      const query = queryValues(op, ctx.query);
      const raw =
        ctx.method === 'GET' || ctx.method === 'DELETE'
          ? Buffer.alloc(0)
          : await readRawBody(
              ctx.req,
              binaryBody(op, ctx.get('content-type')) ? limits.binaryBodyBytes : limits.bodyBytes,
            );
      const handler = handlers[op.operationId]!;
      const run = async (): Promise<StoredAnswer> => {
        try {
          return toStored(
            await perform(
              op,
              handler,
              principal,
              params,
              query,
              raw,
              ctx.get('content-type'),
              ctx.get('accept'),
            ),
          );
        } catch (error) {
          return problemAnswer(error, ctx);
        }
      };
      const key = ctx.get('idempotency-key');
      if (
        ctx.method === 'POST' &&
        key !== '' &&
        principal !== undefined &&
        !NEVER_KEPT.has(op.operationId)
      ) {
        if (!/^[\x21-\x7e]{1,128}$/.test(key)) {
          throw new ApiError(
            'api-invalid-request',
            'Idempotency-Key is 1 to 128 visible characters',
            {
              details: { field: 'Idempotency-Key' },
            },
          );
        }
        const digest = IdempotencyStore.digest(ctx.method, ctx.path, raw);
        answer = await idempotency.run(principal.principal, key, digest, run);
      } else {
        answer = await run();
      }
    } catch (error) {
      if (error instanceof ApiError) {
        const wait = error.details?.retryAfter;
        if (typeof wait === 'number') ctx.set('Retry-After', String(wait));
        if (error.code === 'api-unauthenticated') {
          ctx.set('WWW-Authenticate', 'Bearer realm="attestamp"');
        }
      }
      answer = problemAnswer(error, ctx);
    }
    outcome.status = answer.status;
    ctx.status = answer.status;
    ctx.type = answer.type;
    ctx.body = answer.body;
    if (answer.location !== undefined) ctx.set('Location', answer.location);
    ctx.set('Cache-Control', 'no-store');
    // Every authenticated request in the HSM's audit log: the principal, never its
    // credential. A request without one (refused address, no or a bad credential, the public
    // document) goes to the operator's log only: an anonymous caller must not be able to grow
    // the audit log or hold the store's write lock.
    if (outcome.principal === undefined) {
      logger.info('api request without a principal', {
        method: ctx.method,
        route,
        status: outcome.status,
        address,
      });
      return;
    }
    try {
      await options.hsm.recordAccess({
        actor: outcome.principal.principal,
        outcome: outcome.status < 400 ? 'success' : outcome.status < 500 ? 'refused' : 'failure',
        details: {
          method: ctx.method,
          route,
          operation: operationId,
          status: outcome.status,
          via: outcome.principal.via,
        },
      });
    } catch (error) {
      logger.error('api audit entry not written', {
        code: error instanceof HsmError ? error.code : 'internal',
      });
    }
  });
  return app;
}

/** The validators of the document, for checking answers against it (used by the tests). */
export function documentValidators(): { doc: ApiDocument; validators: Validators } {
  const doc = loadDocument();
  return { doc, validators: validatorsFor(doc) };
}

export { responseFor };

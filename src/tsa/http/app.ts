// The Koa application of the TSA (RFC 3161 3.4 HTTP transport, checklist HTTP-01..04): POST
// time-stamp queries per unit path, GET certificate publication. RFC 3161 routes catch their own
// errors and always answer with a TimeStampResp; HTTP status codes only for transport faults.
import Koa from 'koa';
import type { IncomingMessage } from 'node:http';
import { encodePem } from '../../pki/index.js';
import { silentLogger, type Logger } from '../../shared/index.js';
import { buildRejection } from '../response.js';
import type { TimeStampService } from '../service.js';
import type { RequestOutcome, RouteKind, TsaMetrics } from './metrics.js';
import { createAccessControl, type AccessCheck, type AccessDecision } from './access.js';
import { createClientAddress, type ClientAddress } from './client-address.js';

export interface UnitRoute {
  /** URL path answering POSTed queries, e.g. "/" or "/pq". */
  readonly path: string;
  readonly unit: string;
  /** DER certificates, leaf first: TSA certificate, issuers..., root last. */
  readonly chain: readonly Uint8Array[];
  /** Evidence about the unit's key: cached when no nonce is given, fresh with one. */
  readonly evidence?: (nonce: Uint8Array | undefined) => Promise<Uint8Array>;
  /** The latest CRL of the device or the root (DER), read on each request; absent: 404. */
  readonly crl?: (issuer: 'device' | 'root') => Promise<Uint8Array | undefined>;
}

export interface HttpOptions {
  readonly service: TimeStampService;
  readonly routes: readonly UnitRoute[];
  /** Largest accepted request body in bytes (HTTP-02: 413 above it). */
  readonly bodyLimit: number;
  readonly logger?: Logger;
  /** Readiness checks for GET /readyz (clock, store, key, certificate). */
  readonly readiness?: () => Promise<readonly ReadinessCheck[]>;
  readonly metrics?: TsaMetrics;
  /**
   * Authentication and rate limits for time-stamp queries and fresh evidence. Absent: no
   * authentication, no limit on queries, and the default per-client limit on fresh evidence.
   */
  readonly access?: AccessCheck;
  /** Schemes named in WWW-Authenticate on a 401. */
  readonly authSchemes?: readonly string[];
  /** The client address for limits and logs (default: the socket's peer; see trusted proxies). */
  readonly clientAddress?: ClientAddress;
  /** Log one line per answered request (no bodies, no credentials); default off. */
  readonly accessLog?: boolean;
}

/** What a request turned out to be, for its metrics and its access log line. */
interface RequestNote {
  route: RouteKind;
  unit?: string;
  outcome?: RequestOutcome;
  failInfo?: string;
  serial?: bigint;
}

export interface ReadinessCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

const QUERY_TYPE = 'application/timestamp-query';
const REPLY_TYPE = 'application/timestamp-reply';

/** Reads the body up to `limit` bytes; 'too-large' as soon as it would exceed it. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve('too-large');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        // Stop buffering; Node discards the rest of the body after the answer, so the client
        // reads a clean 413 instead of a reset (the request timeout bounds a endless body).
        done = true;
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks, size));
    });
    req.on('error', (e) => {
      if (!done) reject(e);
    });
  });
}

function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

function joinPath(base: string, leaf: string): string {
  return base === '/' ? `/${leaf}` : `${base}/${leaf}`;
}

function plain(ctx: Koa.Context, status: number, text: string): void {
  ctx.status = status;
  ctx.type = 'text/plain';
  ctx.body = text;
}

export function createTsaApp(options: HttpOptions): Koa {
  const logger = options.logger ?? silentLogger;
  const app = new Koa();
  app.silent = true;
  app.on('error', (err: unknown) => {
    logger.error('http error', { error: err instanceof Error ? err.message : 'unknown' });
  });

  const posts = new Map<string, UnitRoute>();
  const gets = new Map<string, string>();
  const evidenceRoutes = new Map<string, UnitRoute>();
  const crlRoutes = new Map<string, () => Promise<Uint8Array | undefined>>();
  const access = options.access ?? createAccessControl({});
  const clientAddress = options.clientAddress ?? createClientAddress([]);
  /** Answers a refusal; false when the request may go on. */
  const refused = async (
    ctx: Koa.Context,
    request: Parameters<AccessCheck>[1],
  ): Promise<boolean> => {
    let decision: AccessDecision;
    try {
      decision = await access(ctx, request);
    } catch (error) {
      logger.error('credentials could not be checked', {
        client: request.address,
        error: error instanceof Error ? error.message : 'unknown',
      });
      decision = { ok: false, status: 401, message: 'credentials could not be checked' };
    }
    if (decision.ok) return false;
    if (decision.status === 401) {
      ctx.set('WWW-Authenticate', (options.authSchemes ?? ['Basic realm="attestamp"']).join(', '));
    }
    if (decision.retryAfter !== undefined) ctx.set('Retry-After', String(decision.retryAfter));
    plain(ctx, decision.status, `${decision.message}\n`);
    return true;
  };
  for (const r of options.routes) {
    if (posts.has(r.path)) throw new RangeError(`two units at ${r.path}`);
    posts.set(r.path, r);
    const pem = r.chain.map((c) => encodePem('CERTIFICATE', c));
    gets.set(joinPath(r.path, 'chain.pem'), pem.join(''));
    gets.set(joinPath(r.path, 'tsa.pem'), pem[0] ?? '');
    gets.set(joinPath(r.path, 'root.pem'), pem[pem.length - 1] ?? '');
    if (r.evidence !== undefined) evidenceRoutes.set(joinPath(r.path, 'evidence.pem'), r);
    const crl = r.crl;
    if (crl !== undefined) {
      for (const issuer of ['device', 'root'] as const) {
        crlRoutes.set(joinPath(r.path, `crl/${issuer}.crl`), () => crl(issuer));
      }
    }
  }

  let requestCounter = 0;
  const instance = Math.floor(Math.random() * 0xffffff)
    .toString(16)
    .padStart(6, '0');
  app.use(async (ctx) => {
    const started = performance.now();
    // A request id for log correlation: the client's (if sane) or ours, echoed in the answer.
    const given = ctx.get('x-request-id');
    const requestId = /^[A-Za-z0-9._-]{1,64}$/.test(given)
      ? given
      : `${instance}-${(++requestCounter).toString(36)}`;
    ctx.set('X-Request-Id', requestId);
    const client = clientAddress(ctx.req.socket.remoteAddress, ctx.get('x-forwarded-for'));
    const note: RequestNote = { route: 'other' };
    try {
      await answer(ctx, requestId, client, note);
    } finally {
      // Every answer is counted, whatever its status (405, 413, 415, 429 included).
      const seconds = (performance.now() - started) / 1000;
      options.metrics?.observeHttp(note.route, ctx.status);
      if (note.route === 'timestamp' && note.unit !== undefined) {
        options.metrics?.observe(
          note.unit,
          note.outcome ?? 'http-error',
          note.failInfo,
          ctx.status,
          seconds,
        );
      }
      if (options.accessLog === true) {
        // No bodies, no query strings, no headers: nothing a credential could hide in.
        logger.info('request', {
          requestId,
          client,
          method: ctx.method,
          path: ctx.path,
          status: ctx.status,
          durationMs: Math.round(seconds * 1e6) / 1000,
          ...(note.unit === undefined ? {} : { unit: note.unit }),
          ...(note.serial === undefined ? {} : { serial: note.serial.toString() }),
          ...(note.failInfo === undefined ? {} : { failInfo: note.failInfo }),
        });
      }
    }
  });

  const answer = async (
    ctx: Koa.Context,
    requestId: string,
    client: string,
    note: RequestNote,
  ): Promise<void> => {
    const route = posts.get(ctx.path);
    if (route !== undefined) {
      note.route = 'timestamp';
      note.unit = route.unit;
      if (ctx.method !== 'POST') {
        ctx.set('Allow', 'POST');
        plain(ctx, 405, 'use POST with application/timestamp-query\n');
        return;
      }
      if (await refused(ctx, { address: client, purpose: 'timestamp' })) return;
      if (mediaType(ctx.get('content-type')) !== QUERY_TYPE) {
        plain(ctx, 415, `content type must be ${QUERY_TYPE}\n`);
        return;
      }
      let body: Buffer | 'too-large';
      try {
        body = await readBody(ctx.req, options.bodyLimit);
      } catch {
        plain(ctx, 400, 'request body could not be read\n');
        return;
      }
      if (body === 'too-large') {
        plain(ctx, 413, `request body exceeds ${options.bodyLimit} bytes\n`);
        return;
      }
      let reply: Uint8Array;
      try {
        const result = await options.service.respond(route.unit, body);
        reply = result.response;
        note.unit = result.unit;
        note.outcome = result.status;
        if (result.failInfo !== undefined) note.failInfo = result.failInfo;
        if (result.serial !== undefined) note.serial = result.serial;
        // systemFailure is logged by the service as a failure state (once, then counted): a
        // line per request would fill a full disk faster.
        if (result.status === 'rejection' && result.failInfo !== 'systemFailure') {
          logger.info('time-stamp request rejected', {
            requestId,
            client,
            unit: result.unit,
            failInfo: result.failInfo ?? null,
          });
        }
      } catch (error) {
        // Unreachable by design (respond answers every fault), but never Koa's error page.
        logger.error('unexpected failure answering a time-stamp query', {
          requestId,
          client,
          error: error instanceof Error ? error.message : 'unknown',
        });
        reply = buildRejection('systemFailure', 'internal error');
        note.outcome = 'rejection';
        note.failInfo = 'systemFailure';
      }
      // HTTP-01: 200 (never 201) with application/timestamp-reply.
      ctx.status = 200;
      ctx.type = REPLY_TYPE;
      ctx.body = Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength);
      return;
    }
    if (ctx.path === '/healthz' || ctx.path === '/readyz') {
      note.route = 'health';
      if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
        ctx.set('Allow', 'GET, HEAD');
        plain(ctx, 405, 'use GET\n');
        return;
      }
      if (ctx.path === '/healthz') {
        plain(ctx, 200, 'ok\n');
        return;
      }
      const checks = options.readiness === undefined ? [] : await options.readiness();
      const ready = checks.every((c) => c.ok);
      ctx.status = ready ? 200 : 503;
      ctx.type = 'application/json';
      ctx.body = JSON.stringify({ ready, checks });
      return;
    }
    const evidenceRoute = evidenceRoutes.get(ctx.path);
    if (evidenceRoute?.evidence !== undefined) {
      note.route = 'evidence';
      note.unit = evidenceRoute.unit;
      if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
        ctx.set('Allow', 'GET, HEAD');
        plain(ctx, 405, 'use GET\n');
        return;
      }
      const nonceText = ctx.query.nonce;
      let nonce: Uint8Array | undefined;
      if (nonceText !== undefined) {
        const text = Array.isArray(nonceText) ? '' : nonceText;
        nonce = /^([0-9a-fA-F]{2}){1,64}$/.test(text) ? Buffer.from(text, 'hex') : undefined;
        if (nonce === undefined) {
          plain(ctx, 400, 'nonce must be 2 to 128 hex digits\n');
          return;
        }
        // Fresh evidence costs a signature and an audit entry: the same authentication as
        // time-stamp queries, and a limit per client (one client cannot lock out the others).
        if (await refused(ctx, { address: client, purpose: 'evidence' })) return;
      }
      try {
        const der = await evidenceRoute.evidence(nonce);
        ctx.status = 200;
        ctx.type = 'application/pem-evidence';
        ctx.body = encodePem('EVIDENCE', der);
      } catch (error) {
        logger.error('evidence could not be produced', {
          requestId,
          client,
          error: error instanceof Error ? error.message : 'unknown',
        });
        plain(ctx, 503, 'evidence is not available\n');
      }
      return;
    }
    const crlRoute = crlRoutes.get(ctx.path);
    if (crlRoute !== undefined && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
      // RFC 5280 4.2.1.13 / RFC 2585: a DER CRL served as application/pkix-crl.
      let der: Uint8Array | undefined;
      try {
        der = await crlRoute();
      } catch (error) {
        logger.error('the CRL could not be read', {
          error: error instanceof Error ? error.message : 'unknown',
        });
        plain(ctx, 503, 'the CRL is not available\n');
        return;
      }
      if (der === undefined) plain(ctx, 404, 'no CRL issued yet\n');
      else {
        ctx.status = 200;
        ctx.type = 'application/pkix-crl';
        ctx.body = Buffer.from(der);
      }
      return;
    }
    const published = gets.get(ctx.path);
    if (published !== undefined) {
      note.route = 'certificates';
      if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
        ctx.set('Allow', 'GET, HEAD');
        plain(ctx, 405, 'use GET\n');
        return;
      }
      ctx.status = 200;
      ctx.type = 'application/pem-certificate-chain';
      ctx.body = published;
      return;
    }
    plain(ctx, 404, 'not found\n');
  };
  return app;
}

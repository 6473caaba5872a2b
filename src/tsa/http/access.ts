// Access control for deployments that need it (off by default): HTTP Basic (Acrobat supports
// it), JWT bearer tokens verified with jose (issuer, audience, expiry), mutual TLS; and per-client
// token-bucket rate limits answered with 429 and Retry-After. Secrets are compared in constant
// time and never logged.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet } from 'jose';
import type Koa from 'koa';

export interface BasicUser {
  readonly user: string;
  /** Hex SHA-256 of the password (use a long random password: it is not stretched). */
  readonly passwordSha256: string;
}

export interface AccessOptions {
  readonly basic?: readonly BasicUser[];
  readonly jwt?: {
    readonly jwks: JSONWebKeySet;
    readonly issuer: string;
    readonly audience: string;
  };
  /** Accept clients whose TLS certificate chains to the configured client CA. */
  readonly mtls?: boolean;
  /** Requests per second per client; undefined: no limit. Burst is twice the rate. */
  readonly ratePerSecond?: number;
}

/** Clients whose rate-limit state is kept at once. */
const MAX_CLIENTS = 100_000;

export type AccessDecision =
  | { readonly ok: true; readonly client: string }
  | {
      readonly ok: false;
      readonly status: 401 | 403 | 429;
      readonly message: string;
      readonly retryAfter?: number;
    };

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

interface StoredUser {
  readonly user: string;
  readonly hash: Buffer;
}

function checkBasic(header: string, users: readonly StoredUser[]): string | undefined {
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const user = decoded.slice(0, colon);
  const candidate = sha256(decoded.slice(colon + 1));
  let match: string | undefined;
  // Every configured user is compared, so the time does not reveal which names exist.
  for (const u of users) {
    const sameHash = u.hash.length === candidate.length && timingSafeEqual(u.hash, candidate);
    if (sameHash && u.user === user) match = user;
  }
  return match;
}

/** Builds the access check; the caller answers refusals as plain HTTP errors. */
export function createAccessControl(
  options: AccessOptions,
): (ctx: Koa.Context) => Promise<AccessDecision> {
  const jwks = options.jwt === undefined ? undefined : createLocalJWKSet(options.jwt.jwks);
  // Stored hashes decoded once, not per request.
  const users = options.basic?.map((u) => ({
    user: u.user,
    hash: Buffer.from(u.passwordSha256, 'hex'),
  }));
  const buckets = new Map<string, { tokens: number; last: number }>();
  const rate = options.ratePerSecond;
  const enabled = options.basic !== undefined || options.jwt !== undefined || options.mtls === true;

  const limit = (client: string): AccessDecision => {
    if (rate === undefined) return { ok: true, client };
    const now = performance.now();
    const capacity = Math.max(1, rate * 2);
    const b = buckets.get(client) ?? { tokens: capacity, last: now };
    b.tokens = Math.min(capacity, b.tokens + ((now - b.last) / 1000) * rate);
    b.last = now;
    // Re-inserted so that the Map's order is least recently seen first.
    buckets.delete(client);
    buckets.set(client, b);
    // Bounded memory under a flood of addresses: forget the least recently seen clients (a full
    // bucket is what a forgotten client gets back, so only idle clients lose anything).
    if (buckets.size > MAX_CLIENTS) {
      const excess = buckets.size - MAX_CLIENTS;
      let n = 0;
      for (const key of buckets.keys()) {
        if (n++ >= excess) break;
        buckets.delete(key);
      }
    }
    if (b.tokens < 1) {
      return {
        ok: false,
        status: 429,
        message: 'rate limit exceeded',
        retryAfter: Math.ceil((1 - b.tokens) / rate),
      };
    }
    b.tokens -= 1;
    return { ok: true, client };
  };

  return async (ctx) => {
    const address = ctx.req.socket.remoteAddress ?? 'unknown';
    if (!enabled) return limit(`ip:${address}`);
    const auth = ctx.get('authorization');
    if (options.mtls === true) {
      const socket = ctx.req.socket as Partial<TLSSocket>;
      if (socket.authorized === true) {
        const subject: unknown = socket.getPeerCertificate?.().subject.CN;
        return limit(`mtls:${typeof subject === 'string' ? subject : address}`);
      }
    }
    if (users !== undefined && /^basic /i.test(auth)) {
      const user = checkBasic(auth, users);
      if (user === undefined) return { ok: false, status: 401, message: 'bad credentials' };
      return limit(`basic:${user}`);
    }
    if (jwks !== undefined && options.jwt !== undefined && /^bearer /i.test(auth)) {
      try {
        const { payload } = await jwtVerify(auth.slice(7).trim(), jwks, {
          issuer: options.jwt.issuer,
          audience: options.jwt.audience,
        });
        return limit(`jwt:${payload.sub ?? address}`);
      } catch (error) {
        // RFC 6750 3.1: a valid token for another audience is forbidden; anything else unauthorized.
        if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'aud') {
          return { ok: false, status: 403, message: 'the token is not for this service' };
        }
        return { ok: false, status: 401, message: 'invalid or expired token' };
      }
    }
    return { ok: false, status: 401, message: 'credentials required' };
  };
}

// Access control for deployments that need it (off by default): HTTP Basic (RFC 7617; Acrobat
// supports it) against scrypt hashes, JWT bearer tokens (RFC 9068: signature, issuer, audience,
// a required and bounded expiry, bounded clock skew), mutual TLS; per-client token-bucket rate
// limits answered with 429 and Retry-After, and a tighter budget for failed authentication per
// client address. Secrets are compared in constant time and never logged.
import { createHmac, randomBytes } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { createLocalJWKSet, type JSONWebKeySet, type JWTPayload } from 'jose';
import type Koa from 'koa';
import { addressKey } from './client-address.js';
import { JwtRefusal, verifyBearerJwt } from './jwt.js';
import { LruMap } from './lru.js';
import { DEFAULT_SCRYPT, verifyPassword, type BasicUser, type PasswordHash } from './password.js';
import { createRateLimiter, type RateLimiter } from './rate-limit.js';

export type { BasicUser } from './password.js';

export interface JwtOptions {
  readonly jwks: JSONWebKeySet;
  readonly issuer: string;
  readonly audience: string;
  /** Longest accepted lifetime, exp - iat (or exp - now without iat), in seconds. */
  readonly maxLifetimeSeconds?: number;
  /** Tolerated clock difference with the issuer for exp, nbf and iat, in seconds. */
  readonly clockSkewSeconds?: number;
}

export interface AccessOptions {
  readonly basic?: readonly BasicUser[];
  readonly jwt?: JwtOptions;
  /** Accept clients whose TLS certificate chains to the configured client CA. */
  readonly mtls?: boolean;
  /** Time-stamp queries per second per client; undefined: no limit. Burst is twice the rate. */
  readonly ratePerSecond?: number;
  /** Failed authentications per minute per client address (burst the same); default 10. */
  readonly authFailuresPerMinute?: number;
  /** Fresh evidence requests per second per client (burst twice that); default 2. */
  readonly evidenceRatePerSecond?: number;
  /** Wall-clock time in milliseconds, for JWT claims (Date.now by default). */
  readonly now?: () => number;
}

export const ACCESS_DEFAULTS = {
  authFailuresPerMinute: 10,
  evidenceRatePerSecond: 2,
  jwtMaxLifetimeSeconds: 86_400,
  jwtClockSkewSeconds: 60,
} as const;

/** What is being asked for: a time-stamp, or fresh evidence (a signature and an audit row). */
export type AccessPurpose = 'timestamp' | 'evidence';

export interface AccessRequest {
  /** The client address (after trusted-proxy resolution). */
  readonly address: string;
  readonly purpose: AccessPurpose;
}

export type AccessDecision =
  | { readonly ok: true; readonly client: string }
  | {
      readonly ok: false;
      readonly status: 401 | 403 | 429;
      readonly message: string;
      readonly retryAfter?: number;
    };

export type AccessCheck = (ctx: Koa.Context, request: AccessRequest) => Promise<AccessDecision>;

/** Successful Basic verifications remembered at once, and for how long. */
const CACHE_ENTRIES = 10_000;
const CACHE_MS = 5 * 60_000;

/** Compared against when the user does not exist, so that the time does not tell. */
const DUMMY: PasswordHash = {
  ...DEFAULT_SCRYPT,
  salt: Buffer.alloc(16, 0x5a),
  hash: Buffer.alloc(32, 0xa5),
};

function refusal(
  status: 401 | 403 | 429,
  message: string,
  retryAfter?: number,
): AccessDecision & { ok: false } {
  return retryAfter === undefined
    ? { ok: false, status, message }
    : { ok: false, status, message, retryAfter };
}

/** HTTP Basic: scrypt per new credential, with a cache of successes keyed by an HMAC. */
function createBasicCheck(
  users: readonly BasicUser[],
  failures: RateLimiter,
): (header: string, address: string) => Promise<AccessDecision> {
  const byName = new Map(users.map((u) => [u.user, u.password]));
  // Why a cache, and why this one: scrypt costs ~100 ms of a thread-pool thread and 32 MiB per
  // check, so checking every request would cap the TSA at a few dozen requests per second. Only
  // successes are cached, so every wrong guess still pays scrypt (and the failure budget). The
  // key is an HMAC of the whole credential under a random key that lives only in this process:
  // the cache holds neither passwords nor unsalted hashes of them, a key from another process or
  // a previous run matches nothing, and an entry lasts CACHE_MS at most. The cost: a memory dump
  // of the running process (which sees plaintext passwords in every request anyway) allows
  // guessing cached credentials at HMAC speed instead of scrypt speed; and a cached credential is
  // answered faster, which tells only its owner that it was used recently.
  const cacheKey = randomBytes(32);
  const cache = new LruMap<{ user: string; until: number }>(CACHE_ENTRIES);
  // Concurrent requests with one credential share one scrypt run (and one failure reservation).
  const pending = new Map<string, Promise<string | undefined>>();

  const verify = async (user: string, password: string): Promise<string | undefined> => {
    const stored = byName.get(user);
    const ok = await verifyPassword(password, stored ?? DUMMY);
    return ok && stored !== undefined ? user : undefined;
  };

  return async (header, address) => {
    const encoded = header.slice(6).trim();
    const mac = createHmac('sha256', cacheKey).update(encoded).digest('base64url');
    const now = performance.now();
    const hit = cache.get(mac);
    if (hit !== undefined && hit.until > now) return { ok: true, client: `basic:${hit.user}` };
    let check = pending.get(mac);
    if (check === undefined) {
      // The failure budget is reserved before the check, so that guesses sent in parallel
      // cannot all pass it while their checks run; a success gives the token back.
      const wait = failures.take(addressKey(address));
      if (wait > 0) return refusal(429, 'too many failed authentications', wait);
      const decoded = Buffer.from(encoded, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      check =
        colon < 0
          ? Promise.resolve(undefined)
          : verify(decoded.slice(0, colon), decoded.slice(colon + 1));
      pending.set(mac, check);
      try {
        const user = await check;
        if (user !== undefined) {
          failures.refund(addressKey(address));
          cache.set(mac, { user, until: performance.now() + CACHE_MS });
        }
      } finally {
        pending.delete(mac);
      }
    }
    const user = await check;
    return user === undefined
      ? refusal(401, 'bad credentials')
      : { ok: true, client: `basic:${user}` };
  };
}

/** JWT bearer tokens (RFC 9068 2.2: exp is required), with bounded lifetime and skew. */
function createJwtCheck(
  options: JwtOptions,
  now: () => number,
): (token: string, address: string) => Promise<AccessDecision> {
  const jwks = createLocalJWKSet(options.jwks);
  const maxLifetime = options.maxLifetimeSeconds ?? ACCESS_DEFAULTS.jwtMaxLifetimeSeconds;
  const skew = options.clockSkewSeconds ?? ACCESS_DEFAULTS.jwtClockSkewSeconds;
  return async (token, address) => {
    let payload: JWTPayload;
    try {
      payload = await verifyBearerJwt(token, jwks, {
        issuer: options.issuer,
        audience: options.audience,
        clockSkewSeconds: skew,
        maxLifetimeSeconds: maxLifetime,
        at: new Date(now()),
      });
    } catch (error) {
      const reason = error instanceof JwtRefusal ? error.reason : 'invalid';
      switch (reason) {
        // RFC 6750 3.1: a valid token for another audience is forbidden; anything else unauthorized.
        case 'audience':
          return refusal(403, 'the token is not for this service');
        case 'issued-in-future':
          return refusal(401, 'the token is issued in the future');
        case 'lifetime':
          return refusal(401, 'the token lifetime is too long');
        case 'type':
          return refusal(401, 'the token is not an access token (typ)');
        default:
          return refusal(401, 'invalid or expired token');
      }
    }
    return {
      ok: true,
      client: payload.sub === undefined ? `ip:${addressKey(address)}` : `jwt:${payload.sub}`,
    };
  };
}

/** Builds the access check; the caller answers refusals as plain HTTP errors. */
export function createAccessControl(options: AccessOptions): AccessCheck {
  const now = options.now ?? (() => Date.now());
  const rate = options.ratePerSecond;
  const timestamps =
    rate === undefined ? undefined : createRateLimiter({ ratePerSecond: rate, burst: rate * 2 });
  const evidenceRate = options.evidenceRatePerSecond ?? ACCESS_DEFAULTS.evidenceRatePerSecond;
  const evidence = createRateLimiter({ ratePerSecond: evidenceRate, burst: evidenceRate * 2 });
  const failuresPerMinute = options.authFailuresPerMinute ?? ACCESS_DEFAULTS.authFailuresPerMinute;
  const failures = createRateLimiter({
    ratePerSecond: failuresPerMinute / 60,
    burst: failuresPerMinute,
  });
  const basic = options.basic === undefined ? undefined : createBasicCheck(options.basic, failures);
  const jwt = options.jwt === undefined ? undefined : createJwtCheck(options.jwt, now);
  const enabled = basic !== undefined || jwt !== undefined || options.mtls === true;

  const limit = (purpose: AccessPurpose, client: string): AccessDecision => {
    const limiter = purpose === 'evidence' ? evidence : timestamps;
    const wait = limiter?.take(client) ?? 0;
    if (wait === 0) return { ok: true, client };
    return refusal(
      429,
      purpose === 'evidence' ? 'too many fresh evidence requests' : 'rate limit exceeded',
      wait,
    );
  };

  /** A wrong bearer token counts against the failure budget too (after a cheap check). */
  const bearer = async (token: string, address: string): Promise<AccessDecision> => {
    const key = addressKey(address);
    const wait = failures.take(key);
    if (wait > 0) return refusal(429, 'too many failed authentications', wait);
    const decision = await jwt!(token, address);
    // A correctly signed token for another audience is not a guess: only 401s count.
    if (decision.ok || decision.status !== 401) failures.refund(key);
    return decision;
  };

  return async (ctx, { address, purpose }) => {
    const anonymous = `ip:${addressKey(address)}`;
    if (!enabled) return limit(purpose, anonymous);
    if (options.mtls === true) {
      const socket = ctx.req.socket as Partial<TLSSocket>;
      if (socket.authorized === true) {
        const subject: unknown = socket.getPeerCertificate?.().subject.CN;
        return limit(purpose, `mtls:${typeof subject === 'string' ? subject : address}`);
      }
    }
    const auth = ctx.get('authorization');
    let decision: AccessDecision | undefined;
    if (basic !== undefined && /^basic /i.test(auth)) decision = await basic(auth, address);
    else if (jwt !== undefined && /^bearer /i.test(auth))
      decision = await bearer(auth.slice(7).trim(), address);
    if (decision === undefined) {
      // No credentials: the challenge a client needs before it sends them. Not a failed
      // guess, but limited per address like any anonymous request when a rate is set.
      const limited = limit(purpose, anonymous);
      return limited.ok ? refusal(401, 'credentials required') : limited;
    }
    return decision.ok ? limit(purpose, decision.client) : decision;
  };
}

// Authentication of API callers: a JWT bearer token (verified as the TSA's are, by
// src/tsa/http/jwt.ts: issuer, audience, exp/nbf with a small leeway, an asymmetric algorithm
// allow-list; keys from a JWKS file or a JWKS URL on loopback), or a TLS client certificate
// mapped to a principal (by SHA-256 fingerprint, or by issuer and subject under the configured
// client CA). The result is the principal with the roles and partitions its credential grants,
// named jwt:<sub> or mtls:<principal> (never a local officer's name); tokens are never logged.
import { X509Certificate, createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { createLocalJWKSet, type JSONWebKeySet, type JWTPayload } from 'jose';
import { presentedName, ROLES, type PresentedPrincipal, type Role } from '../hsm/index.js';
import type { Clock } from '../shared/index.js';
import { JWT_ALGORITHMS, JwtRefusal, remoteKeySet, verifyBearerJwt } from '../tsa/index.js';
import { ApiError } from './errors.js';

/** The claims a token's roles and scope are read from (documented in the README). */
export const CLAIMS = {
  roles: 'attestamp_roles',
  partitions: 'attestamp_partitions',
} as const;

/** Asymmetric JWS algorithms (RFC 7518, RFC 8037); never none, never an HMAC (RFC 8725 3.1). */
export const ASYMMETRIC_ALGORITHMS = JWT_ALGORITHMS;

export interface JwtSettings {
  readonly issuer: string;
  readonly audience: string;
  /** The verification keys: a JWKS document, or a URL on a loopback address. */
  readonly jwks: JSONWebKeySet | URL;
  /** Allowed algorithms (a subset of ASYMMETRIC_ALGORITHMS); default all of them. */
  readonly algorithms?: readonly string[];
  /** Tolerated clock difference for exp and nbf, seconds (default 30). */
  readonly leewaySeconds?: number;
  /** Longest accepted lifetime (exp - iat), seconds (default one day). */
  readonly maxLifetimeSeconds?: number;
  /**
   * RFC 9068 2.1: require the typ header at+jwt. Without it, a token without typ or typed JWT
   * or at+jwt is taken, and one of any other explicit type (dpop+jwt, logout+jwt...) refused.
   */
  readonly requireAccessTokenType?: boolean;
  /** How long a JWKS URL fetch may take, milliseconds (default 5000). */
  readonly jwksTimeoutMs?: number;
}

/** One client certificate mapping: a fingerprint, or issuer and subject under the client CA. */
export interface CertificateMapping {
  /** SHA-256 of the certificate's DER, hex (pinned: it need not chain to the client CA). */
  readonly fingerprint?: string;
  /** The subject as Node prints it with ', ' between attributes ("CN=app1, O=Example"). */
  readonly subject?: string;
  readonly issuer?: string;
  readonly principal: string;
  readonly roles: readonly Role[];
  readonly partitions: readonly string[];
}

export interface AuthSettings {
  readonly jwt?: JwtSettings;
  /** Client certificate mappings; the TLS listener asks for certificates when given. */
  readonly certificates?: readonly CertificateMapping[];
}

export type Authenticate = (ctx: {
  readonly authorization: string;
  readonly socket: unknown;
}) => Promise<PresentedPrincipal>;

const PRINCIPAL_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const PARTITION_RE = /^(\*|[A-Za-z0-9][A-Za-z0-9._-]{0,63})$/;

function unauthenticated(message: string, reason: string): ApiError {
  return new ApiError('api-unauthenticated', message, { details: { reason } });
}

/** Whether a URL names this machine: 127.0.0.0/8, ::1 or localhost. */
export function isLoopbackUrl(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** Refuses settings that would weaken verification: none, HS*, a JWKS URL off this machine. */
export function checkJwtSettings(s: JwtSettings): void {
  for (const alg of s.algorithms ?? []) {
    if (!(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(alg)) {
      throw new RangeError(
        `JWT algorithm '${alg}' is not allowed (asymmetric only: ${ASYMMETRIC_ALGORITHMS.join(', ')})`,
      );
    }
  }
  if (s.jwks instanceof URL && !isLoopbackUrl(s.jwks)) {
    throw new RangeError('the JWKS URL must be on a loopback address (127.0.0.1, ::1, localhost)');
  }
  if (s.issuer.length === 0 || s.audience.length === 0) {
    throw new RangeError('the JWT issuer and audience must be given');
  }
}

function rolesOf(value: unknown): Role[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((r) => typeof r === 'string')) {
    throw unauthenticated(`the ${CLAIMS.roles} claim must be a list of roles`, 'claims');
  }
  const unknown = value.find((r) => !(ROLES as readonly string[]).includes(r));
  if (unknown !== undefined) {
    throw unauthenticated(`the ${CLAIMS.roles} claim names an unknown role`, 'claims');
  }
  return value as Role[];
}

function partitionsOf(value: unknown): string[] {
  if (value === undefined) return [];
  if (
    !Array.isArray(value) ||
    !value.every((p): p is string => typeof p === 'string' && PARTITION_RE.test(p))
  ) {
    throw unauthenticated(
      `the ${CLAIMS.partitions} claim must be a list of partition names or '*'`,
      'claims',
    );
  }
  return value;
}

function createJwtVerifier(
  s: JwtSettings,
  clock: Clock,
): (token: string) => Promise<PresentedPrincipal> {
  checkJwtSettings(s);
  const keys =
    s.jwks instanceof URL
      ? remoteKeySet(s.jwks, s.jwksTimeoutMs === undefined ? {} : { timeoutMs: s.jwksTimeoutMs })
      : createLocalJWKSet(s.jwks);
  const leeway = s.leewaySeconds ?? 30;
  const maxLifetime = s.maxLifetimeSeconds ?? 86_400;
  const algorithms = [...(s.algorithms ?? ASYMMETRIC_ALGORITHMS)];
  return async (token) => {
    let payload: JWTPayload;
    try {
      payload = await verifyBearerJwt(token, keys, {
        issuer: s.issuer,
        audience: s.audience,
        algorithms,
        clockSkewSeconds: leeway,
        maxLifetimeSeconds: maxLifetime,
        // sub names the principal.
        requiredClaims: ['sub'],
        requireAccessTokenType: s.requireAccessTokenType === true,
        at: clock.now(),
      });
    } catch (error) {
      const reason = error instanceof JwtRefusal ? error.reason : 'invalid';
      switch (reason) {
        case 'audience':
          throw new ApiError('api-forbidden', 'the token is not for this service', {
            details: { reason: 'audience' },
          });
        case 'expired':
          throw unauthenticated('the token has expired', 'expired');
        case 'algorithm':
          throw unauthenticated('the token is signed with an algorithm not accepted', 'algorithm');
        case 'issued-in-future':
          throw unauthenticated('the token is issued in the future', 'iat');
        case 'lifetime':
          throw unauthenticated('the token lifetime is too long', 'lifetime');
        case 'type':
          throw unauthenticated(
            s.requireAccessTokenType === true
              ? 'the token is not typed as an access token (typ at+jwt)'
              : 'the token is typed as another kind of token (typ)',
            'type',
          );
        case 'keys-unavailable':
          // The issuer's keys cannot be had now: the service's fault, not the token's.
          throw new ApiError('api-jwks-unavailable', 'the token signing keys cannot be fetched', {
            details: { reason: 'jwks', retryAfter: 5 },
          });
        case 'invalid':
          throw unauthenticated('the token does not verify', 'invalid');
      }
    }
    const sub = payload.sub!;
    if (!PRINCIPAL_RE.test(sub)) {
      throw unauthenticated('the token subject is not a principal name', 'claims');
    }
    return {
      // Qualified: a token's subject never acts as the local officer of that name.
      principal: presentedName('jwt', sub),
      roles: rolesOf(payload[CLAIMS.roles]),
      partitions: partitionsOf(payload[CLAIMS.partitions]),
      via: 'jwt',
    };
  };
}

/** Errors of a peer certificate that only say it does not chain to the client CA. */
const CHAIN_ONLY = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

const names = (text: string): string => text.split('\n').join(', ');

/** The peer certificate's DER; Node answers {} (no raw) when the client sent none. */
function peerRaw(socket: Partial<TLSSocket>): Buffer | undefined {
  const peer = socket.getPeerCertificate?.() as { raw?: Buffer } | undefined;
  return peer?.raw;
}

function createCertificateMapper(
  mappings: readonly CertificateMapping[],
  clock: Clock,
): (socket: Partial<TLSSocket>) => PresentedPrincipal | undefined {
  return (socket) => {
    const raw = peerRaw(socket);
    if (raw === undefined) return undefined;
    const cert = new X509Certificate(raw);
    const fingerprint = createHash('sha256').update(raw).digest('hex');
    // Node sets it to an Error, or leaves it null or undefined when the chain verified.
    const failure = socket.authorizationError as unknown;
    const error =
      typeof failure === 'string'
        ? failure
        : failure instanceof Error
          ? ((failure as { code?: string }).code ?? failure.message)
          : undefined;
    const now = clock.now().getTime();
    for (const m of mappings) {
      let ok = false;
      if (m.fingerprint !== undefined) {
        // Pinned: the chain may be its own, but the certificate must be valid now.
        ok =
          m.fingerprint.toLowerCase() === fingerprint &&
          (socket.authorized === true || (error !== undefined && CHAIN_ONLY.has(error))) &&
          Date.parse(cert.validFrom) <= now &&
          now <= Date.parse(cert.validTo);
      } else if (m.subject !== undefined) {
        // Under the client CA: OpenSSL checked chain and dates (authorized).
        ok =
          socket.authorized === true &&
          names(cert.subject) === m.subject &&
          (m.issuer === undefined || names(cert.issuer) === m.issuer);
      }
      if (ok) {
        return {
          principal: presentedName('mtls', m.principal),
          roles: m.roles,
          partitions: m.partitions,
          via: 'mtls',
        };
      }
    }
    const reason =
      error === 'CERT_HAS_EXPIRED' ? 'expired' : error !== undefined ? 'untrusted' : 'unmapped';
    throw unauthenticated(
      reason === 'unmapped'
        ? 'the client certificate is not mapped to a principal'
        : `the client certificate is not accepted (${reason})`,
      `certificate-${reason}`,
    );
  };
}

/** The authenticator: a client certificate first (when mapped), then a bearer token. */
export function createAuthenticator(settings: AuthSettings, clock: Clock): Authenticate {
  const jwt = settings.jwt === undefined ? undefined : createJwtVerifier(settings.jwt, clock);
  const certs =
    settings.certificates === undefined || settings.certificates.length === 0
      ? undefined
      : createCertificateMapper(settings.certificates, clock);
  return ({ authorization, socket }) => {
    const bearer = /^bearer\s+(\S+)\s*$/i.exec(authorization);
    if (certs !== undefined) {
      const s = socket as Partial<TLSSocket>;
      const hasCert = peerRaw(s) !== undefined;
      // A certificate that is presented must be acceptable, even when a token comes too.
      if (hasCert) {
        const p = certs(s);
        if (p !== undefined) return Promise.resolve(p);
      }
    }
    if (bearer !== null && jwt !== undefined) return jwt(bearer[1]!);
    return Promise.reject(
      unauthenticated(
        bearer === null ? 'credentials required' : 'bearer tokens are not accepted here',
        'missing',
      ),
    );
  };
}

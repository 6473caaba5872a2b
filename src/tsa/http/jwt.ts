// JWT bearer token verification shared by the TSA's access control and the REST API: jose's
// signature and claim checks with an asymmetric algorithm allow-list (RFC 8725 3.1: never none,
// never an HMAC), a required exp (RFC 9068 2.2), a bounded clock skew, no token issued in the
// future, a bounded lifetime, and explicit typing (RFC 8725 3.11: a token typed as something
// else, such as a DPoP proof or a logout token, is never taken for an access token). Each
// refusal has a reason the caller turns into its answer; keys that cannot be fetched are a
// reason of their own (the service's fault, not the token's).
import {
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';

/** The signature algorithms a bearer token may use (RFC 7518 / RFC 8037). */
export const JWT_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

export type JwtRefusalReason =
  | 'audience'
  | 'expired'
  | 'algorithm'
  | 'invalid'
  | 'issued-in-future'
  | 'lifetime'
  /** The typ header names another kind of token (or, when required, is not at+jwt). */
  | 'type'
  /** The verification keys could not be fetched (a JWKS URL that does not answer). */
  | 'keys-unavailable';

export class JwtRefusal extends Error {
  constructor(
    readonly reason: JwtRefusalReason,
    options?: ErrorOptions,
  ) {
    super(`token refused: ${reason}`, options);
    this.name = 'JwtRefusal';
  }
}

export interface BearerJwtOptions {
  readonly issuer: string;
  readonly audience: string;
  /** A subset of JWT_ALGORITHMS; default all of them. */
  readonly algorithms?: readonly string[];
  readonly clockSkewSeconds: number;
  readonly maxLifetimeSeconds: number;
  /** Claims besides exp that must be present (sub for the REST API). */
  readonly requiredClaims?: readonly string[];
  /**
   * RFC 9068 2.1: the typ header must be at+jwt (application/at+jwt). Without it a token
   * without typ, or typed JWT or at+jwt, is taken; any other explicit typ is refused.
   */
  readonly requireAccessTokenType?: boolean;
  readonly at: Date;
}

/**
 * The media type a typ header names, lowercased, without the implied application/ prefix
 * (RFC 7515 4.1.9: a typ without '/' is application/<typ>).
 */
function tokenType(typ: string): string {
  const t = typ.trim().toLowerCase();
  return t.startsWith('application/') ? t.slice('application/'.length) : t;
}

/** Whether a token's typ header is acceptable for an access token. */
export function acceptableTokenType(typ: unknown, requireAccessTokenType: boolean): boolean {
  if (typ === undefined) return !requireAccessTokenType;
  if (typeof typ !== 'string') return false;
  const t = tokenType(typ);
  return t === 'at+jwt' || (!requireAccessTokenType && t === 'jwt');
}

/** jose errors about the token or its key match, as opposed to the fetch of the key set. */
const TOKEN_KEY_ERRORS = new Set([
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JOSE_NOT_SUPPORTED',
  'ERR_JWK_INVALID',
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JWS_INVALID',
]);

/**
 * Keys fetched from a JWKS URL (jose's remote key set: cached, refetched for an unknown kid
 * after a cooldown), where a fetch that fails (no answer, a timeout, not 200, not a key set)
 * is JwtRefusal('keys-unavailable'), so that it is not answered as a bad token.
 */
export function remoteKeySet(url: URL, options: { timeoutMs?: number } = {}): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(url, { timeoutDuration: options.timeoutMs ?? 5_000 });
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (error instanceof joseErrors.JOSEError && typeof code === 'string') {
        if (TOKEN_KEY_ERRORS.has(code)) throw error;
      }
      throw new JwtRefusal('keys-unavailable', { cause: error });
    }
  };
}

/** Verifies a bearer token; throws JwtRefusal with the reason. */
export async function verifyBearerJwt(
  token: string,
  keys: JWTVerifyGetKey,
  options: BearerJwtOptions,
): Promise<JWTPayload> {
  const skew = options.clockSkewSeconds;
  let payload: JWTPayload;
  let typ: unknown;
  try {
    ({
      payload,
      protectedHeader: { typ },
    } = await jwtVerify(token, keys, {
      issuer: options.issuer,
      audience: options.audience,
      // RFC 9068 2.2: exp is REQUIRED; without it a leaked token would never expire.
      requiredClaims: ['exp', ...(options.requiredClaims ?? [])],
      algorithms: [...(options.algorithms ?? JWT_ALGORITHMS)],
      // exp and nbf are checked by jose within this tolerance.
      clockTolerance: skew,
      currentDate: options.at,
    }));
  } catch (error) {
    if (error instanceof JwtRefusal) throw error;
    if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'aud') {
      throw new JwtRefusal('audience');
    }
    if (error instanceof joseErrors.JWTExpired) throw new JwtRefusal('expired');
    if (error instanceof joseErrors.JOSEAlgNotAllowed) throw new JwtRefusal('algorithm');
    throw new JwtRefusal('invalid');
  }
  // RFC 8725 3.11, RFC 9068 2.1: explicit typing; another kind of JWT is not an access token.
  if (!acceptableTokenType(typ, options.requireAccessTokenType === true)) {
    throw new JwtRefusal('type');
  }
  const nowSeconds = options.at.getTime() / 1000;
  // A token issued in the future (beyond the skew) comes from a wrong clock or was minted to
  // outlive its apparent lifetime.
  if (payload.iat !== undefined && payload.iat > nowSeconds + skew) {
    throw new JwtRefusal('issued-in-future');
  }
  // Bounded lifetime: a token valid for years is as good as one that never expires.
  if (payload.exp! - (payload.iat ?? nowSeconds) > options.maxLifetimeSeconds) {
    throw new JwtRefusal('lifetime');
  }
  return payload;
}

// JWT bearer token verification shared by the TSA's access control and the REST API: jose's
// signature and claim checks with an asymmetric algorithm allow-list (RFC 8725 3.1: never none,
// never an HMAC), a required exp (RFC 9068 2.2), a bounded clock skew, no token issued in the
// future and a bounded lifetime. Each refusal has a reason the caller turns into its answer.
import { errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';

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
  'audience' | 'expired' | 'algorithm' | 'invalid' | 'issued-in-future' | 'lifetime';

export class JwtRefusal extends Error {
  constructor(readonly reason: JwtRefusalReason) {
    super(`token refused: ${reason}`);
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
  readonly at: Date;
}

/** Verifies a bearer token; throws JwtRefusal with the reason. */
export async function verifyBearerJwt(
  token: string,
  keys: JWTVerifyGetKey,
  options: BearerJwtOptions,
): Promise<JWTPayload> {
  const skew = options.clockSkewSeconds;
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keys, {
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
    if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'aud') {
      throw new JwtRefusal('audience');
    }
    if (error instanceof joseErrors.JWTExpired) throw new JwtRefusal('expired');
    if (error instanceof joseErrors.JOSEAlgNotAllowed) throw new JwtRefusal('algorithm');
    throw new JwtRefusal('invalid');
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

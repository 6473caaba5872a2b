// Public surface of the RFC 3161 time-stamp authority: request reader, token template, service,
// archive, certificate checks and the Koa application.
export * from './errors.js';
export * from './request.js';
export * from './response.js';
export * from './time-source.js';
export * from './archive.js';
export * from './certificate-check.js';
export * from './service.js';
export { FailureLog } from './failure-log.js';
export * from './clock/sntp.js';
export * from './clock/guard.js';
export { createTsaApp } from './http/app.js';
export type { HttpOptions, UnitRoute, ReadinessCheck } from './http/app.js';
export { createTsaMetrics } from './http/metrics.js';
export type { TsaMetrics } from './http/metrics.js';
export { createAccessControl, ACCESS_DEFAULTS } from './http/access.js';
export type {
  AccessCheck,
  AccessDecision,
  AccessOptions,
  AccessPurpose,
  AccessRequest,
  JwtOptions,
} from './http/access.js';
export {
  DEFAULT_SCRYPT,
  hashPassword,
  parsePasswordFile,
  parsePasswordHash,
  verifyPassword,
} from './http/password.js';
export type { BasicUser, PasswordHash } from './http/password.js';
export { addressKey, createClientAddress, parseTrustedProxies } from './http/client-address.js';
export type { ClientAddress } from './http/client-address.js';
export { createRateLimiter, MAX_CLIENTS } from './http/rate-limit.js';
export type { RateLimiter, RateLimiterOptions } from './http/rate-limit.js';
export { LruMap } from './http/lru.js';
export {
  acceptableTokenType,
  JWT_ALGORITHMS,
  JwtRefusal,
  remoteKeySet,
  verifyBearerJwt,
} from './http/jwt.js';
export type { BearerJwtOptions, JwtRefusalReason } from './http/jwt.js';

// Public surface of the REST API: the Koa app factory, its HTTPS listener, authentication
// settings, and the OpenAPI document with its validators.
export { ApiError, type ApiErrorCode } from './errors.js';
export { createApiApp, documentValidators, API_LIMITS } from './app.js';
export type { ApiAppOptions, ApiLimits } from './app.js';
export { startApiServer } from './server.js';
export type { ApiServer, ApiServerOptions, ApiTls } from './server.js';
export {
  ASYMMETRIC_ALGORITHMS,
  CLAIMS,
  checkJwtSettings,
  isLoopbackUrl,
  type AuthSettings,
  type CertificateMapping,
  type JwtSettings,
} from './auth.js';
export { documentPath, loadDocument, findOperation } from './document.js';
export type { ApiDocument, OperationSpec } from './document.js';
export { Validators, responseFor } from './validation.js';
export {
  HSM_CLASS_STATUS,
  HSM_CODE_STATUS,
  API_STATUS,
  PROBLEM_TYPE,
  statusOf,
} from './problem.js';
export { IDEMPOTENCY } from './idempotency.js';

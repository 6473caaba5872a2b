// Errors raised by the REST API itself (transport, authentication, validation); each code has
// one HTTP status in problem.ts. HsmErrors pass through with their own codes.
import { AttestampError } from '../shared/index.js';

export type ApiErrorCode =
  /** No credential, or one that does not verify (bad signature, expired, wrong algorithm). */
  | 'api-unauthenticated'
  /** A verified credential that is not for this service (another audience), or unmapped. */
  | 'api-forbidden'
  /** The client address is not on the allow-list. */
  | 'api-address-refused'
  | 'api-rate-limited'
  | 'api-body-too-large'
  /** The body is not JSON, nests too deep, or uses a prototype key. */
  | 'api-malformed-json'
  /** The request does not match the OpenAPI document (the field is named). */
  | 'api-invalid-request'
  | 'api-unsupported-media-type'
  | 'api-not-found'
  | 'api-method-not-allowed'
  /** The JWKS URL did not answer with the token signing keys: a retry may succeed. */
  | 'api-jwks-unavailable'
  /** An Idempotency-Key reused with another request. */
  | 'api-idempotency-mismatch'
  /** Anything unexpected: a fixed generic text, the real error only in the server log. */
  | 'api-internal';

export class ApiError extends AttestampError<ApiErrorCode> {}

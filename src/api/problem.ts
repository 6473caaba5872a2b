// RFC 9457 problem documents: every error becomes one, with the stable code and its non-secret
// details. The HTTP status of an HsmError comes from its class (src/hsm/error-classes.ts, the
// one classification the CLI's exit codes use too); an ApiError's from the table here.
import { HsmError, hsmErrorClass, type HsmErrorClass, type HsmErrorCode } from '../hsm/index.js';
import { CanonicalJsonError, type ErrorDetails } from '../shared/index.js';
import { ApiError, type ApiErrorCode } from './errors.js';

export const PROBLEM_TYPE = 'application/problem+json';

/**
 * The status of each HsmError class. A caller's fault is 4xx; only the HSM's own failures
 * (integrity, storage, its secrets) are 5xx. approval-required is answered 202 by the routes
 * that document it; here (a call that cannot become a request) it is a 409.
 */
export const HSM_CLASS_STATUS: Readonly<Record<HsmErrorClass, number>> = {
  'not-found': 404,
  exists: 409,
  refused: 403,
  conflict: 409,
  'approval-required': 409,
  pending: 409,
  'bad-data': 422,
  'bad-argument': 400,
  credential: 401,
  'operator-secret': 500,
  integrity: 500,
  rollback: 500,
  'no-space': 507,
  'cant-write': 500,
  busy: 503,
  unavailable: 503,
  internal: 500,
};

/**
 * Codes whose HTTP status is not their class's. A bundle older than the partition's last backup
 * (`backup-rollback`, class rollback: exit code 6 like a store rolled back) is what the caller
 * sent, and the call may be made again with allowRollback: a conflict, not the server's fault.
 */
export const HSM_CODE_STATUS: Readonly<Partial<Record<HsmErrorCode, number>>> = {
  'backup-rollback': 409,
};

export const API_STATUS: Readonly<Record<ApiErrorCode, number>> = {
  'api-unauthenticated': 401,
  'api-forbidden': 403,
  'api-address-refused': 403,
  'api-rate-limited': 429,
  'api-body-too-large': 413,
  'api-malformed-json': 400,
  'api-invalid-request': 400,
  'api-unsupported-media-type': 415,
  'api-not-found': 404,
  'api-method-not-allowed': 405,
  'api-idempotency-mismatch': 422,
  'api-jwks-unavailable': 503,
  'api-internal': 500,
};

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  507: 'Insufficient Storage',
};

export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: string;
  readonly details?: Readonly<Record<string, string | number | boolean>>;
}

/** The text of an unexpected failure: fixed, so that nothing internal leaks. */
export const INTERNAL_DETAIL = 'the server could not complete the request';

function cleanDetails(d: ErrorDetails | undefined): Problem['details'] {
  if (d === undefined) return undefined;
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(d)) if (v !== undefined) out[k] = v;
  return Object.keys(out).length === 0 ? undefined : out;
}

/**
 * A value past the canonical JSON limits of a signed statement or request (1 MiB, 1024 members):
 * what the caller sent is too large to hold there (a bundle over about 760 KiB escrowed in a
 * restore request), not a failure of the server.
 */
export const CANONICAL_JSON_STATUS = 422;

export function statusOf(error: unknown): number {
  if (error instanceof ApiError) return API_STATUS[error.code];
  if (error instanceof CanonicalJsonError) return CANONICAL_JSON_STATUS;
  if (error instanceof HsmError) {
    return HSM_CODE_STATUS[error.code] ?? HSM_CLASS_STATUS[hsmErrorClass(error.code)];
  }
  return 500;
}

/** The problem document of an error; `expected` false: a failure nobody classified. */
export function problemOf(error: unknown): { problem: Problem; expected: boolean } {
  const known =
    error instanceof ApiError || error instanceof HsmError || error instanceof CanonicalJsonError;
  const status = statusOf(error);
  const code = known ? error.code : 'api-internal';
  // A classified 5xx (integrity, storage) keeps its code; its message is the HSM's own,
  // written without secrets (ARCHITECTURE.md, "Errors").
  const detail = known ? error.message : INTERNAL_DETAIL;
  const details = known ? cleanDetails(error.details) : undefined;
  const problem: Problem = {
    type: `urn:attestamp:problem:${code}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    code,
    ...(details === undefined ? {} : { details }),
  };
  return { problem, expected: known };
}

// Errors of the REST API client: a problem document the server answered (its code, status and
// details, an HsmError or ApiError code), or a transport failure (TLS, connection, bad answer).
import { AttestampError, type AttestampErrorOptions } from '../shared/index.js';
import type { components } from './schema.js';

export type Problem = components['schemas']['Problem'];

export type ClientTransportCode =
  /** The server's certificate does not chain to the trusted CA, or names another host. */
  | 'client-tls-untrusted'
  /** The TLS handshake failed otherwise (a client certificate refused, no common protocol). */
  | 'client-tls-failed'
  /** The server could not be reached (refused, reset, timed out, unknown host). */
  | 'client-connection-failed'
  /** The server answered outside the document (not JSON, no problem document). */
  | 'client-bad-response';

/**
 * Raised by every client call that did not succeed. `code` is the problem's code (an HsmError
 * or ApiError code from the server) or a ClientTransportCode; `status` is 0 for a transport
 * failure.
 */
export class ApiClientError extends AttestampError {
  readonly status: number;
  readonly problem: Problem | undefined;

  constructor(
    code: string,
    message: string,
    status: number,
    problem?: Problem,
    options: AttestampErrorOptions = {},
  ) {
    super(code, message, options);
    this.status = status;
    this.problem = problem;
  }

  /** Whether the failure happened before the server answered. */
  get transport(): boolean {
    return this.status === 0;
  }
}

/** The error of a problem document (RFC 9457) the server answered. */
export function problemError(problem: Problem): ApiClientError {
  return new ApiClientError(problem.code, problem.detail, problem.status, problem, {
    ...(problem.details === undefined ? {} : { details: problem.details }),
  });
}

/** Node's TLS verification codes that mean "this server is not the one you trust". */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function causeCode(error: unknown): { code: string | undefined; message: string } {
  let e: unknown = error;
  // fetch wraps the socket's error (TypeError: fetch failed, cause: the real one).
  for (let depth = 0; depth < 4 && e instanceof Error; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET') return { code, message: e.message };
    e = e.cause;
  }
  return { code: undefined, message: error instanceof Error ? error.message : String(error) };
}

/** A failed fetch as a transport error that names the problem (never a header or a token). */
export function transportError(error: unknown, url: string): ApiClientError {
  const { code, message } = causeCode(error);
  const origin = new URL(url).origin;
  if (code !== undefined && UNTRUSTED.has(code)) {
    return new ApiClientError(
      'client-tls-untrusted',
      `the server ${origin} is not trusted: ${message} (${code}); give its CA with --api-ca`,
      0,
      undefined,
      { cause: error, details: { reason: code } },
    );
  }
  if (code !== undefined && (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS'))) {
    return new ApiClientError(
      'client-tls-failed',
      `the TLS handshake with ${origin} failed: ${message}`,
      0,
      undefined,
      { cause: error, details: { reason: code } },
    );
  }
  return new ApiClientError(
    'client-connection-failed',
    `cannot reach ${origin}: ${message}${code === undefined ? '' : ` (${code})`}`,
    0,
    undefined,
    { cause: error, ...(code === undefined ? {} : { details: { reason: code } }) },
  );
}

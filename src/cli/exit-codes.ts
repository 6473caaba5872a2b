// Exit codes of the operator CLI (sysexits-style where one fits), and the mapping from errors.
import { HsmError, hsmErrorClass, type HsmErrorClass } from '../hsm/index.js';
import { PkiError } from '../pki/index.js';
import { TsaError, type TsaErrorCode } from '../tsa/index.js';

export const EXIT = {
  ok: 0,
  /** Unexpected internal failure. */
  failure: 1,
  /** Refused by a security policy or a key attribute. */
  refused: 2,
  /** A partition, key, store or factory does not exist. */
  notFound: 3,
  /** An integrity check failed (audit chain, store corruption). */
  integrity: 4,
  /** The thing to create exists already. */
  exists: 5,
  /** The audit log does not extend the head given with --expect-head (a rollback or a fork). */
  rollback: 6,
  /** The operation is guarded by a quorum rule: an approval request was created, or is waiting. */
  pending: 7,
  /** key verify: the signature does not verify. */
  badSignature: 8,
  /** A remote service (a TSA) could not be reached or answered outside its protocol. */
  unavailable: 69,
  /** The store cannot be written: permission denied or a read-only file system (EX_CANTCREAT). */
  cantWrite: 73,
  /** No space left for the store (EX_IOERR). */
  noSpace: 74,
  /** The store is locked by another process: try again later (EX_TEMPFAIL). */
  busy: 75,
  /** Bad command line: unknown command or option, missing or malformed argument. */
  usage: 64,
  /** An input file's content is malformed. */
  dataError: 65,
  /** Authentication failed: wrong master key or officer credential. */
  auth: 77,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Each HsmError class (src/hsm/error-classes.ts, the one classification of its codes). */
const HSM_CLASS_EXIT: Readonly<Record<HsmErrorClass, ExitCode>> = {
  'not-found': EXIT.notFound,
  exists: EXIT.exists,
  refused: EXIT.refused,
  conflict: EXIT.refused,
  'approval-required': EXIT.pending,
  pending: EXIT.pending,
  'bad-data': EXIT.dataError,
  'bad-argument': EXIT.usage,
  credential: EXIT.auth,
  'operator-secret': EXIT.auth,
  integrity: EXIT.integrity,
  rollback: EXIT.rollback,
  'no-space': EXIT.noSpace,
  'cant-write': EXIT.cantWrite,
  busy: EXIT.busy,
  unavailable: EXIT.failure,
  internal: EXIT.failure,
};

/**
 * TSA errors that reach a command (a refusal to serve or to open the archive); a request's own
 * faults become RFC 3161 rejections and never get here.
 */
const TSA_EXIT: Readonly<Record<TsaErrorCode, ExitCode>> = {
  'request-malformed': EXIT.dataError,
  'request-version': EXIT.dataError,
  'request-too-large': EXIT.dataError,
  'hash-unsupported': EXIT.dataError,
  'hash-length': EXIT.dataError,
  'nonce-too-long': EXIT.dataError,
  'policy-unaccepted': EXIT.refused,
  'extension-unaccepted': EXIT.refused,
  'clock-untrusted': EXIT.refused,
  'key-not-usable': EXIT.failure,
  'certificate-not-valid': EXIT.refused,
  'archive-integrity': EXIT.integrity,
  internal: EXIT.failure,
};

/** Raised by the CLI itself for a bad command line; names the offending argument. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Raised for an input file that cannot be read or parsed. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/** A refusal of the CLI itself (no HSM behind it): a stable code and its exit code. */
export class CliError extends Error {
  constructor(
    readonly code: string,
    readonly exit: ExitCode,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exit;
  if (error instanceof UsageError) return EXIT.usage;
  if (error instanceof InputError) return EXIT.dataError;
  if (error instanceof HsmError) return HSM_CLASS_EXIT[hsmErrorClass(error.code)];
  if (error instanceof PkiError) return EXIT.dataError;
  if (error instanceof TsaError) return TSA_EXIT[error.code];
  return EXIT.failure;
}

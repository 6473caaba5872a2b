// Exit codes of the operator CLI (sysexits-style where one fits) and the CLI's own errors. The
// mapping from the modules' errors is in error-exit.ts, loaded only when a command fails.

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

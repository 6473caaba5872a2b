// Error base class for every module: a stable string code, a lowercase message, ES2022 cause and
// non-secret details (never key bytes, PINs, passphrases or tokens).

/** Details that may accompany an error: identifiers only, never secrets. */
export type ErrorDetails = Readonly<Record<string, string | number | boolean | undefined>>;

export interface AttestampErrorOptions {
  readonly cause?: unknown;
  readonly details?: ErrorDetails;
}

export class AttestampError<C extends string = string> extends Error {
  readonly code: C;
  readonly details: ErrorDetails | undefined;

  constructor(code: C, message: string, options: AttestampErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details;
  }
}

/** Narrowing helper usable across module error classes. */
export function isAttestampError(value: unknown): value is AttestampError {
  return value instanceof AttestampError;
}

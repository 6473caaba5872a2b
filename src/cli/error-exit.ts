// The exit code for an error a command ended with: the CLI's own errors, each HsmError class, the
// PKI's and the TSA's errors. Loaded only on the error path; of the modules' error types it loads
// only the one the error's class names, so that a refusal of `key list` does not load the TSA.
import type { HsmErrorClass } from '../hsm/index.js';
import { AttestampError } from '../shared/index.js';
import type { TsaErrorCode } from '../tsa/index.js';
import { CliError, EXIT, InputError, UsageError, type ExitCode } from './exit-codes.js';

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

export async function exitCodeFor(error: unknown): Promise<ExitCode> {
  if (error instanceof CliError) return error.exit;
  if (error instanceof UsageError) return EXIT.usage;
  if (error instanceof InputError) return EXIT.dataError;
  if (!(error instanceof AttestampError)) return EXIT.failure;
  // The class name picks the module to load; instanceof then confirms the error is its type.
  switch (error.name) {
    case 'HsmError': {
      const { HsmError, hsmErrorClass } = await import('../hsm/index.js');
      if (error instanceof HsmError) return HSM_CLASS_EXIT[hsmErrorClass(error.code)];
      break;
    }
    case 'PkiError': {
      const { PkiError } = await import('../pki/index.js');
      if (error instanceof PkiError) return EXIT.dataError;
      break;
    }
    case 'TsaError': {
      const { TsaError } = await import('../tsa/index.js');
      if (error instanceof TsaError) return TSA_EXIT[error.code];
      break;
    }
  }
  return EXIT.failure;
}

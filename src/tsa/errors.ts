// TSA errors: each code maps to exactly one RFC 3161 PKIFailureInfo bit (one table), so that a
// rejection always carries the right failInfo.
import { AttestampError } from '../shared/index.js';

/**
 * PKIFailureInfo ::= BIT STRING { badAlg (0), badRequest (2), badDataFormat (5),
 *   timeNotAvailable (14), unacceptedPolicy (15), unacceptedExtension (16),
 *   addInfoNotAvailable (17), systemFailure (25) }   -- RFC 3161 2.4.2
 */
export const FAIL_INFO_BITS = {
  badAlg: 0,
  badRequest: 2,
  badDataFormat: 5,
  timeNotAvailable: 14,
  unacceptedPolicy: 15,
  unacceptedExtension: 16,
  addInfoNotAvailable: 17,
  systemFailure: 25,
} as const;
export type FailInfo = keyof typeof FAIL_INFO_BITS;

export type TsaErrorCode =
  | 'request-malformed'
  | 'request-version'
  | 'request-too-large'
  | 'hash-unsupported'
  | 'hash-length'
  | 'nonce-too-long'
  | 'policy-unaccepted'
  | 'extension-unaccepted'
  | 'clock-untrusted'
  | 'key-not-usable'
  | 'certificate-not-valid'
  | 'archive-integrity'
  | 'internal';

/** The one table from error code to failInfo bit (RFC 3161 2.4.2, checklist RSP-03). */
export const FAIL_INFO_FOR: Readonly<Record<TsaErrorCode, FailInfo>> = {
  'request-malformed': 'badDataFormat',
  'request-version': 'badRequest',
  'request-too-large': 'badRequest',
  'hash-unsupported': 'badAlg',
  'hash-length': 'badDataFormat',
  'nonce-too-long': 'badRequest',
  'policy-unaccepted': 'unacceptedPolicy',
  'extension-unaccepted': 'unacceptedExtension',
  'clock-untrusted': 'timeNotAvailable',
  'key-not-usable': 'systemFailure',
  'certificate-not-valid': 'systemFailure',
  /** The archive database was edited under the TSA: nothing is granted until it is looked at. */
  'archive-integrity': 'systemFailure',
  internal: 'systemFailure',
};

export class TsaError extends AttestampError<TsaErrorCode> {
  get failInfo(): FailInfo {
    return FAIL_INFO_FOR[this.code];
  }
}

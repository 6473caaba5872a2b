// Errors raised by the pki module (parsing, encoding, certificate building).
import { AttestampError } from '../shared/index.js';

export type PkiErrorCode =
  | 'der-invalid'
  | 'der-too-deep'
  | 'der-trailing-data'
  | 'pem-invalid'
  | 'asn1-schema'
  | 'algorithm-unsupported'
  | 'extension-invalid'
  | 'certificate-invalid'
  | 'csr-invalid'
  /** A public key that is not a valid point of its curve, where an address or key is made. */
  | 'public-key-invalid';

export class PkiError extends AttestampError<PkiErrorCode> {}

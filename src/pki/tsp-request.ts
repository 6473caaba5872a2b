// RFC 3161 2.4.1 TimeStampReq, written by clients (the `stamp` command) in DER.
import {
  algorithmIdentifier,
  bool,
  integer,
  octetString,
  oid,
  seq,
  unsignedInteger,
} from './der-writer.js';
import { hashByOid } from './hash.js';
import { PkiError } from './errors.js';

/**
 * TimeStampReq ::= SEQUENCE {
 *   version        INTEGER { v1(1) },
 *   messageImprint MessageImprint,
 *   reqPolicy      TSAPolicyId OPTIONAL,
 *   nonce          INTEGER OPTIONAL,
 *   certReq        BOOLEAN DEFAULT FALSE,
 *   extensions     [0] IMPLICIT Extensions OPTIONAL }
 * MessageImprint ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, hashedMessage OCTET STRING }
 */
export interface TimeStampReqFields {
  readonly hashOid: string;
  readonly hashedMessage: Uint8Array;
  readonly policy?: string;
  /** Magnitude of a positive nonce, big-endian. */
  readonly nonce?: Uint8Array;
  readonly certReq: boolean;
}

export function encodeTimeStampReq(req: TimeStampReqFields): Uint8Array {
  const hash = hashByOid(req.hashOid);
  // RFC 3161 2.4.1: the hashedMessage length must be that of the hash algorithm.
  if (hash !== undefined && hash.length !== req.hashedMessage.length) {
    throw new PkiError('asn1-schema', 'hashedMessage length does not match its hash algorithm');
  }
  return seq(
    integer(1),
    seq(algorithmIdentifier(req.hashOid), octetString(req.hashedMessage)),
    ...(req.policy === undefined ? [] : [oid(req.policy)]),
    ...(req.nonce === undefined ? [] : [unsignedInteger(req.nonce)]),
    // DER: a DEFAULT value is omitted (X.690 11.5).
    ...(req.certReq ? [bool(true)] : []),
  );
}

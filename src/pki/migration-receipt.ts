// The migration receipt's CMS (README "Backup and migration"): a SignedData (RFC 5652 5, the
// profile of src/pki/cms-signed-data.ts) by the target partition's attestation key, its
// certificates root -> device -> partition included, whose eContent
// (id-ct-attestampMigrationReceipt) is the receipt statement as RFC 8785 JSON. The chain is
// checked as a bundle's (verifyBundleChain). No private keys here: the caller signs.
import {
  buildSignedData,
  faultOf,
  parseSignedData,
  signedDataProblem,
  type ParsedSignedData,
} from './cms-signed-data.js';
import { id_ct_attestampMigrationReceipt } from './oids.js';
import type { Signer } from './signer.js';

/** Largest receipt accepted: a statement of thousands of keys is well under this. */
export const MAX_RECEIPT_BYTES = 16 * 1024 * 1024;

const bad = faultOf('migration receipt');
const TYPE = 'id-ct-attestampMigrationReceipt';

/** The receipt of `statement` (RFC 8785 JSON), signed by the partition attestation key. */
export function buildMigrationReceipt(statement: Uint8Array, signer: Signer): Promise<Uint8Array> {
  return buildSignedData(id_ct_attestampMigrationReceipt, statement, signer);
}

/** A parsed receipt: the certificates, the SignerInfo fields and the statement's octets. */
export interface ParsedMigrationReceipt extends ParsedSignedData {
  /** The eContent: the statement (RFC 8785 JSON text). */
  readonly statement: Uint8Array;
}

/** Parses a receipt (strict DER throughout); a structural fault is a PkiError. */
export function parseMigrationReceipt(bytes: Uint8Array): ParsedMigrationReceipt {
  if (bytes.length > MAX_RECEIPT_BYTES) bad('too large');
  const signed = parseSignedData(bytes, id_ct_attestampMigrationReceipt, TYPE, bad);
  return { ...signed, statement: signed.content };
}

/**
 * The signature checks (RFC 5652 5.4, 5.6, 11.1, 11.2): a signer certificate in the receipt,
 * contentType id-ct-attestampMigrationReceipt, messageDigest the digest of the statement, the
 * signature valid under the certificate's key. Undefined when all pass; else the failure.
 */
export function receiptSignatureProblem(p: ParsedMigrationReceipt): Promise<string | undefined> {
  return signedDataProblem(p, id_ct_attestampMigrationReceipt, {
    structure: 'receipt',
    type: TYPE,
    content: 'statement',
  });
}

// Custodians of a backup bundle (README "Backup and migration"): the check of a custodian's
// X.509 certificate before a share of the content-encryption key is encrypted to it, and the
// share file a custodian hands back for a restore. The key agreement and the split run in the
// HSM; the custodian opens a share with its own key (src/hsm/backup/custodians.ts).
import { parseCertificateFields, type CertificateFields } from './certificate.js';
import { integer, octetString, seq } from './der-writer.js';
import { childrenOf, expectTag, readOctets, readTlv, readUnsigned } from './der.js';
import { PkiError } from './errors.js';
import { keyIdentifier, KEY_USAGE_BITS } from './extensions.js';
import { formatName, pkijsName } from './name.js';
import { id_ce_basicConstraints, id_ce_keyUsage } from './oids.js';
import { keyUsageBits, transportAlgorithmOfSpki } from './transport-certificate.js';
import { MAX_CUSTODIANS } from './cms-recipients.js';

/** A Shamir share of a 32-octet content-encryption key: the 32 octets and its x-coordinate. */
export const CUSTODIAN_SHARE_LENGTH = 33;

export interface CustodianCertificateFacts {
  /** DER SubjectPublicKeyInfo (EC P-256). */
  readonly spki: Uint8Array;
  /**
   * The rid of the custodian's share: the project's key identifier of the SPKI (SHA-256 of the
   * key bits, 20 octets), whatever subjectKeyIdentifier the certificate carries, so that the
   * custodian's private key alone finds its share.
   */
  readonly keyIdentifier: Uint8Array;
  /** The subject as one readable line (C=..,O=..,CN=..). */
  readonly subject: string;
  readonly certificate: CertificateFields;
}

const refuse = (reason: string): never => {
  throw new PkiError('certificate-invalid', `custodian certificate: ${reason}`);
};

/**
 * A custodian's certificate, checked before a share is encrypted to it: strict DER, valid at
 * `at`, an EC P-256 key, an end entity, and a keyUsage that allows keyAgreement. Its issuer is
 * not checked: who the custodians are is what the operator names and the partition.backup
 * statement (their certificates' hashes) lets approvers see. PkiError certificate-invalid.
 */
export function verifyCustodianCertificate(der: Uint8Array, at: Date): CustodianCertificateFacts {
  let c: CertificateFields;
  try {
    c = parseCertificateFields(der);
  } catch (cause) {
    throw new PkiError('certificate-invalid', 'custodian certificate: not a certificate', {
      cause,
    });
  }
  // RFC 5280 4.1.2.5: valid at the time of use.
  if (at < c.notBefore || at > c.notAfter) refuse('not valid now (expired or not yet valid)');
  if (transportAlgorithmOfSpki(c.spki) !== 'ecdh-p256') refuse('not an EC P-256 key');
  const ext = (oid: string): Uint8Array | undefined =>
    c.extensions.find((e) => e.oid === oid)?.value;
  const bc = ext(id_ce_basicConstraints);
  // RFC 5280 4.2.1.9: an end-entity certificate (cA absent or FALSE: an empty SEQUENCE).
  if (bc !== undefined && !(bc.length === 2 && bc[0] === 0x30)) refuse('a CA certificate');
  // RFC 5280 4.2.1.3: keyAgreement is the bit of a key used for ECDH (RFC 5480 3).
  const ku = ext(id_ce_keyUsage) ?? refuse('no keyUsage');
  if (!keyUsageBits(ku).has(KEY_USAGE_BITS.keyAgreement)) refuse('keyUsage lacks keyAgreement');
  let subject: string;
  try {
    subject = formatName(pkijsName(c.subject));
  } catch (cause) {
    throw new PkiError('certificate-invalid', 'custodian certificate: unreadable subject', {
      cause,
    });
  }
  return { spki: c.spki, keyIdentifier: keyIdentifier(c.spki), subject, certificate: c };
}

/**
 * The file a custodian hands back for a restore:
 * CustodianShare ::= SEQUENCE {
 *   version INTEGER (0),
 *   bundle OCTET STRING (SIZE (32)),  -- SHA-256 of the bundle the share belongs to
 *   threshold INTEGER (2..16),
 *   index INTEGER (1..16),  -- the custodian's place in the manifest's list
 *   share OCTET STRING (SIZE (33)) }  -- the Shamir share: a secret, the file is mode 0600
 */
export interface CustodianShare {
  readonly bundle: Uint8Array;
  readonly threshold: number;
  readonly index: number;
  readonly share: Uint8Array;
}

const badShare = (message: string): never => {
  throw new PkiError('asn1-schema', `custodian share: ${message}`);
};

export function encodeCustodianShare(s: CustodianShare): Uint8Array {
  return seq(
    integer(0),
    octetString(s.bundle),
    integer(s.threshold),
    integer(s.index),
    octetString(s.share),
  );
}

/** Strict parse of a CustodianShare (no trailing bytes, every field in its range). */
export function parseCustodianShare(b: Uint8Array): CustodianShare {
  const top = readTlv(b, 0);
  if (top.end !== b.length) badShare('trailing bytes');
  const f = childrenOf(b, expectTag(top, 0x30, 'CustodianShare'));
  if (f.length !== 5) badShare('shape');
  if (readUnsigned(b, f[0]) !== 0n) badShare('version');
  const bundle = readOctets(b, f[1]);
  if (bundle.length !== 32) badShare('bundle digest length');
  const threshold = readUnsigned(b, f[2]);
  const index = readUnsigned(b, f[3]);
  const max = BigInt(MAX_CUSTODIANS);
  if (threshold < 2n || threshold > max) badShare('threshold');
  if (index < 1n || index > max) badShare('index');
  const share = readOctets(b, f[4]);
  if (share.length !== CUSTODIAN_SHARE_LENGTH) badShare('share length');
  return {
    bundle: Uint8Array.from(bundle),
    threshold: Number(threshold),
    index: Number(index),
    share: Uint8Array.from(share),
  };
}

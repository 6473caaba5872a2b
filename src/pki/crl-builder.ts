// Building X.509 v2 CRLs (RFC 5280 5.1): version 2, authorityKeyIdentifier (5.2.1), cRLNumber
// (5.2.3), thisUpdate/nextUpdate, and reasonCode entry extensions (5.3.1), signed through a Signer.
import { signatureAlgorithmIdentifier } from './algorithms.js';
import { encodeDer } from './asn1js-bridge.js';
import { assertStrictDer } from './der.js';
import { integer, oid, seq, tlv, unsignedInteger } from './der-writer.js';
import { PkiError } from './errors.js';
import { authorityKeyIdentifier, type ExtensionSpec } from './extensions.js';
import { id_ce_cRLNumber, id_ce_cRLReasons } from './oids.js';
import type { Signer } from './signer.js';

/** RFC 5280 5.3.1 CRLReason; 7 is not used. */
export const CRL_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;
export type CrlReason = keyof typeof CRL_REASONS;

export function isCrlReason(value: string): value is CrlReason {
  return Object.hasOwn(CRL_REASONS, value);
}

export interface RevokedEntry {
  /** Positive serial number of the revoked certificate, big-endian magnitude. */
  readonly serialNumber: Uint8Array;
  readonly revocationDate: Date;
  readonly reason: CrlReason;
}

export interface CrlTemplate {
  /** DER Name of the issuer (the subject of the certificate whose key signs). */
  readonly issuer: Uint8Array;
  /** DER SubjectPublicKeyInfo of the issuer, for the authorityKeyIdentifier. */
  readonly issuerSpki: Uint8Array;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  /** RFC 5280 5.2.3: monotonically increasing, at most 20 octets. */
  readonly crlNumber: bigint;
  readonly revoked: readonly RevokedEntry[];
}

/** RFC 5280 5.1.2.4: UTCTime through 2049, GeneralizedTime from 2050; whole seconds. */
function time(at: Date): Uint8Array {
  const iso = new Date(Math.floor(at.getTime() / 1000) * 1000).toISOString();
  const digits = iso.replace(/[-:T]/g, '').replace(/\.\d{3}Z$/, 'Z');
  const year = at.getUTCFullYear();
  const text = year < 2050 ? digits.slice(2) : digits;
  return tlv(year < 2050 ? 0x17 : 0x18, new TextEncoder().encode(text));
}

function extension(e: ExtensionSpec): Uint8Array {
  return seq(
    oid(e.oid),
    ...(e.critical ? [Uint8Array.of(0x01, 0x01, 0xff)] : []),
    tlv(0x04, e.value),
  );
}

/**
 * CertificateList ::= SEQUENCE { tbsCertList TBSCertList, signatureAlgorithm, signatureValue }
 * TBSCertList ::= SEQUENCE { version v2, signature, issuer, thisUpdate, nextUpdate,
 *   revokedCertificates SEQUENCE OF SEQUENCE { userCertificate, revocationDate,
 *   crlEntryExtensions OPTIONAL } OPTIONAL, crlExtensions [0] EXPLICIT Extensions }
 */
export async function buildCrl(
  template: CrlTemplate,
  issuer: Pick<Signer, 'algorithm' | 'sign'>,
): Promise<Uint8Array> {
  if (template.nextUpdate.getTime() <= template.thisUpdate.getTime()) {
    throw new PkiError('certificate-invalid', 'nextUpdate must be after thisUpdate');
  }
  if (template.crlNumber < 0n || template.crlNumber >= 1n << 159n) {
    throw new PkiError('certificate-invalid', 'cRLNumber must be 0 to 2^159 - 1');
  }
  const algorithm = encodeDer(signatureAlgorithmIdentifier(issuer.algorithm).toSchema());
  const entries = template.revoked.map((r) => {
    // RFC 5280 5.3.1: the reason code unspecified SHOULD be absent rather than 0.
    const ext =
      r.reason === 'unspecified'
        ? []
        : [
            seq(
              extension({
                oid: id_ce_cRLReasons,
                critical: false,
                value: tlv(0x0a, Uint8Array.of(CRL_REASONS[r.reason])),
              }),
            ),
          ];
    return seq(unsignedInteger(r.serialNumber), time(r.revocationDate), ...ext);
  });
  const extensions = seq(
    extension(authorityKeyIdentifier(template.issuerSpki)),
    extension({ oid: id_ce_cRLNumber, critical: false, value: integer(template.crlNumber) }),
  );
  const tbs = seq(
    integer(1),
    algorithm,
    template.issuer,
    time(template.thisUpdate),
    time(template.nextUpdate),
    ...(entries.length === 0 ? [] : [seq(...entries)]),
    tlv(0xa0, extensions),
  );
  const signature = await issuer.sign(tbs);
  const crl = seq(tbs, algorithm, tlv(0x03, Uint8Array.of(0), signature));
  assertStrictDer(crl);
  return crl;
}

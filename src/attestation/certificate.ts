// Certificates as the verifier sees them (RFC 5280 4.1): strict DER, then the fields path
// validation needs, with exact OIDs and the original TBS bytes that signatures cover.
import {
  assertStrictDer,
  derReader,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_certificatePolicies,
  id_ce_cRLDistributionPoints,
  id_ce_extKeyUsage,
  id_ce_inhibitAnyPolicy,
  id_ce_keyUsage,
  id_ce_nameConstraints,
  id_ce_policyConstraints,
  id_ce_policyMappings,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  PkiError,
  readTime,
  sha256Fingerprint,
} from '../pki/index.js';
import { bytesEqual } from '../shared/index.js';

const {
  readTlv,
  childrenOf,
  readOid,
  contentOf,
  encodingOf,
  expectTag,
  readBoolean,
  readUnsigned,
} = derReader;

export interface CertExtension {
  readonly oid: string;
  readonly critical: boolean;
  readonly value: Uint8Array;
}

export interface ParsedCert {
  readonly der: Uint8Array;
  readonly sha256: string;
  readonly tbs: Uint8Array;
  readonly version: number;
  readonly serial: Uint8Array;
  /** Outer signatureAlgorithm (DER). */
  readonly signatureAlgorithm: Uint8Array;
  /** TBSCertificate.signature (DER); must equal the outer one. */
  readonly innerSignatureAlgorithm: Uint8Array;
  readonly signature: Uint8Array;
  readonly issuer: Uint8Array;
  readonly subject: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly spki: Uint8Array;
  readonly spkiSha256: string;
  readonly extensions: readonly CertExtension[];
}

/** RFC 5280 Time (UTCTime or GeneralizedTime), range-checked; also used for CRLs. */
export { readTime };

/**
 * The extensions path validation decodes (RFC 5280 4.2.1.1-.6, .9-.14), strict DER inside too;
 * any other critical extension fails the path (RFC 5280 4.2). The first five are also decoded
 * here; the others when the path is processed, and CRL distribution points by revocation
 * checking (RFC 5280 6.3.3).
 */
export const PATH_EXTENSIONS: ReadonlySet<string> = new Set([
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_ce_extKeyUsage,
  id_ce_subjectKeyIdentifier,
  id_ce_authorityKeyIdentifier,
  id_ce_subjectAltName,
  id_ce_certificatePolicies,
  id_ce_policyMappings,
  id_ce_policyConstraints,
  id_ce_inhibitAnyPolicy,
  id_ce_nameConstraints,
  id_ce_cRLDistributionPoints,
]);

/** Parses a certificate; throws PkiError on anything that is not a strict-DER X.509 certificate. */
export function parseCert(der: Uint8Array): ParsedCert {
  assertStrictDer(der);
  const [tbsT, algT, sigT, ...extra] = childrenOf(
    der,
    expectTag(readTlv(der, 0), 0x30, 'Certificate'),
  );
  if (extra.length > 0) throw new PkiError('certificate-invalid', 'trailing fields in Certificate');
  const tbsFields = childrenOf(der, expectTag(tbsT, 0x30, 'TBSCertificate'));
  let i = 0;
  let version = 1;
  if (tbsFields[0]?.tag === 0xa0) {
    const [v] = childrenOf(der, tbsFields[0]);
    version = Number(readUnsigned(der, v)) + 1;
    i = 1;
  }
  const serialT = expectTag(tbsFields[i], 0x02, 'serialNumber');
  const innerAlg = expectTag(tbsFields[i + 1], 0x30, 'signature');
  const issuer = expectTag(tbsFields[i + 2], 0x30, 'issuer');
  const validity = childrenOf(der, expectTag(tbsFields[i + 3], 0x30, 'validity'));
  const subject = expectTag(tbsFields[i + 4], 0x30, 'subject');
  const spki = expectTag(tbsFields[i + 5], 0x30, 'subjectPublicKeyInfo');
  const extensions: CertExtension[] = [];
  for (const f of tbsFields.slice(i + 6)) {
    if (f.tag === 0x81 || f.tag === 0x82) continue; // unique identifiers
    if (f.tag !== 0xa3)
      throw new PkiError('certificate-invalid', 'unexpected field in TBSCertificate');
    const [list] = childrenOf(der, f);
    for (const e of childrenOf(der, expectTag(list, 0x30, 'extensions'))) {
      const parts = childrenOf(der, expectTag(e, 0x30, 'extension'));
      const oid = readOid(der, parts[0]);
      let critical = false;
      let valueT = parts[1];
      if (valueT?.tag === 0x01) {
        critical = readBoolean(der, valueT);
        valueT = parts[2];
      }
      extensions.push({
        oid,
        critical,
        value: contentOf(der, expectTag(valueT, 0x04, 'extnValue')),
      });
    }
  }
  const sig = contentOf(der, expectTag(sigT, 0x03, 'signatureValue'));
  if (sig[0] !== 0)
    throw new PkiError('certificate-invalid', 'signature bit string has unused bits');
  const spkiDer = encodingOf(der, spki);
  const cert: ParsedCert = {
    der,
    sha256: sha256Fingerprint(der),
    tbs: encodingOf(der, tbsT!),
    version,
    serial: contentOf(der, serialT),
    signatureAlgorithm: encodingOf(der, expectTag(algT, 0x30, 'signatureAlgorithm')),
    innerSignatureAlgorithm: encodingOf(der, innerAlg),
    signature: sig.subarray(1),
    issuer: encodingOf(der, issuer),
    subject: encodingOf(der, subject),
    notBefore: readTime(der, validity[0]),
    notAfter: readTime(der, validity[1]),
    spki: spkiDer,
    spkiSha256: sha256Fingerprint(spkiDer),
    extensions,
  };
  // RFC 5280 4.1: extnValue holds the DER of the extension. The ones path validation reads are
  // decoded here, so a malformed one fails parsing instead of throwing during validation.
  try {
    for (const e of extensions) if (PATH_EXTENSIONS.has(e.oid)) assertStrictDer(e.value);
    basicConstraintsOf(cert);
    keyUsageBits(cert);
    extendedKeyUsages(cert);
    subjectKeyId(cert);
    authorityKeyId(cert);
  } catch (cause) {
    throw new PkiError('certificate-invalid', 'malformed extension value', { cause });
  }
  return cert;
}

export function extension(cert: ParsedCert, oid: string): CertExtension | undefined {
  return cert.extensions.find((e) => e.oid === oid);
}

export interface BasicConstraints {
  readonly ca: boolean;
  readonly pathLen: number | undefined;
}

export function basicConstraintsOf(cert: ParsedCert): BasicConstraints | undefined {
  const e = extension(cert, id_ce_basicConstraints);
  if (e === undefined) return undefined;
  const v = e.value;
  const fields = childrenOf(v, readTlv(v, 0));
  let k = 0;
  let ca = false;
  if (fields[0]?.tag === 0x01) {
    ca = readBoolean(v, fields[0]);
    k = 1;
  }
  const pl = fields[k];
  return { ca, pathLen: pl === undefined ? undefined : Number(readUnsigned(v, pl)) };
}

/** Named bits of keyUsage, as bit numbers that are set. */
export function keyUsageBits(cert: ParsedCert): Set<number> | undefined {
  const e = extension(cert, id_ce_keyUsage);
  if (e === undefined) return undefined;
  const content = contentOf(e.value, expectTag(readTlv(e.value, 0), 0x03, 'keyUsage'));
  const bits = new Set<number>();
  for (let i = 1; i < content.length; i++) {
    for (let j = 0; j < 8; j++) if ((content[i]! & (0x80 >> j)) !== 0) bits.add((i - 1) * 8 + j);
  }
  return bits;
}

export function extendedKeyUsages(
  cert: ParsedCert,
): { oids: string[]; critical: boolean } | undefined {
  const e = extension(cert, id_ce_extKeyUsage);
  if (e === undefined) return undefined;
  const oids = childrenOf(e.value, readTlv(e.value, 0)).map((t) => readOid(e.value, t));
  return { oids, critical: e.critical };
}

export function subjectKeyId(cert: ParsedCert): Uint8Array | undefined {
  const e = extension(cert, id_ce_subjectKeyIdentifier);
  return e === undefined ? undefined : contentOf(e.value, readTlv(e.value, 0));
}

export function authorityKeyId(cert: ParsedCert): Uint8Array | undefined {
  const e = extension(cert, id_ce_authorityKeyIdentifier);
  if (e === undefined) return undefined;
  const keyId = childrenOf(e.value, readTlv(e.value, 0)).find((t) => t.tag === 0x80);
  return keyId === undefined ? undefined : contentOf(e.value, keyId);
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return bytesEqual(a, b);
}

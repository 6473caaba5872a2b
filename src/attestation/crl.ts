// RFC 5280 5 and 4.2.1.13: CRLs, their extensions and entries, and cRLDistributionPoints.
import {
  assertStrictDer,
  derReader,
  id_ce_authorityKeyIdentifier,
  id_ce_certificateIssuer,
  id_ce_cRLNumber,
  id_ce_cRLReasons,
  id_ce_deltaCRLIndicator,
  id_ce_freshestCRL,
  id_ce_holdInstructionCode,
  id_ce_invalidityDate,
  id_ce_issuerAltName,
  id_ce_issuingDistributionPoint,
  id_pe_authorityInfoAccess,
  PkiError,
} from '../pki/index.js';
import { readTime } from './certificate.js';
import { parseGeneralNames, type GeneralName } from './general-names.js';

const { readTlv, childrenOf, contentOf, encodingOf, expectTag, readOid, readUnsigned } = derReader;

/** CRL extensions we process (RFC 5280 5.2); any other critical one makes the CRL unusable. */
const KNOWN_CRL_EXTENSIONS = new Set([
  id_ce_authorityKeyIdentifier,
  id_ce_issuerAltName,
  id_ce_cRLNumber,
  id_ce_deltaCRLIndicator,
  id_ce_issuingDistributionPoint,
  id_ce_freshestCRL,
  id_pe_authorityInfoAccess,
]);
/** CRL entry extensions we process (RFC 5280 5.3). */
const KNOWN_ENTRY_EXTENSIONS = new Set([
  id_ce_cRLReasons,
  id_ce_holdInstructionCode,
  id_ce_invalidityDate,
  id_ce_certificateIssuer,
]);

/** ReasonFlags bit numbers (RFC 5280 4.2.1.13); bit 0 is unused. */
export const ALL_REASONS = 0x1fe;
/** CRLReason removeFromCRL (RFC 5280 5.3.1). */
export const REASON_REMOVE_FROM_CRL = 8;

/**
 * DistributionPointName ::= CHOICE { fullName [0] GeneralNames,
 *   nameRelativeToCRLIssuer [1] RelativeDistinguishedName }
 */
export type DistributionPointName =
  | { readonly kind: 'full'; readonly names: readonly GeneralName[] }
  | { readonly kind: 'relative'; readonly rdn: Uint8Array };

/** DistributionPoint ::= SEQUENCE { distributionPoint [0], reasons [1], cRLIssuer [2] } */
export interface DistributionPoint {
  readonly name: DistributionPointName | undefined;
  /** ReasonFlags as a bit mask (bit k of the BIT STRING is 1 << k); undefined is all reasons. */
  readonly reasons: number | undefined;
  readonly crlIssuer: readonly GeneralName[] | undefined;
}

/**
 * IssuingDistributionPoint ::= SEQUENCE { distributionPoint [0] OPTIONAL,
 *   onlyContainsUserCerts [1] BOOLEAN DEFAULT FALSE, onlyContainsCACerts [2] BOOLEAN DEFAULT FALSE,
 *   onlySomeReasons [3] ReasonFlags OPTIONAL, indirectCRL [4] BOOLEAN DEFAULT FALSE,
 *   onlyContainsAttributeCerts [5] BOOLEAN DEFAULT FALSE }
 */
export interface IssuingDistributionPoint {
  readonly name: DistributionPointName | undefined;
  readonly onlyContainsUserCerts: boolean;
  readonly onlyContainsCACerts: boolean;
  readonly onlySomeReasons: number | undefined;
  readonly indirectCRL: boolean;
  readonly onlyContainsAttributeCerts: boolean;
  /** The extension's DER, to compare the scopes of a complete CRL and its delta. */
  readonly der: Uint8Array;
}

export interface CrlEntry {
  readonly serial: Uint8Array;
  /** CRLReason; undefined when the entry has no reasonCode (unspecified). */
  readonly reason: number | undefined;
  /** The issuer of the revoked certificate: certificateIssuer, or inherited (5.3.3). */
  readonly certificateIssuer: readonly GeneralName[] | undefined;
}

export interface ParsedCrl {
  readonly der: Uint8Array;
  readonly issuer: Uint8Array;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
  readonly entries: readonly CrlEntry[];
  readonly tbs: Uint8Array;
  readonly signatureAlgorithm: Uint8Array;
  readonly innerSignatureAlgorithm: Uint8Array;
  readonly signature: Uint8Array;
  readonly crlNumber: bigint | undefined;
  /** deltaCRLIndicator's BaseCRLNumber: this is a delta CRL. */
  readonly baseCrlNumber: bigint | undefined;
  readonly idp: IssuingDistributionPoint | undefined;
  readonly authorityKeyId: Uint8Array | undefined;
  /** Why the CRL cannot be used at all (unknown critical extension...), or undefined. */
  readonly unusable: string | undefined;
}

/** ReasonFlags ::= BIT STRING, as a mask of bit numbers. */
function reasonFlags(b: Uint8Array, t: derReader.Tlv): number {
  const c = contentOf(b, t);
  let mask = 0;
  for (let i = 1; i < c.length && i < 3; i++) {
    for (let j = 0; j < 8; j++) if ((c[i]! & (0x80 >> j)) !== 0) mask |= 1 << ((i - 1) * 8 + j);
  }
  return mask;
}

function dpName(b: Uint8Array, t: derReader.Tlv): DistributionPointName {
  const [choice, ...rest] = childrenOf(b, t);
  if (choice === undefined || rest.length > 0)
    throw new PkiError('extension-invalid', 'DistributionPointName');
  if (choice.tag === 0xa0) return { kind: 'full', names: parseGeneralNames(b, choice) };
  if (choice.tag === 0xa1) {
    // The RDN's SET OF, re-tagged as a universal SET so that it reads as one RDN of a Name.
    const rdn = encodingOf(b, choice).slice();
    rdn[0] = 0x31;
    return { kind: 'relative', rdn };
  }
  throw new PkiError('extension-invalid', 'DistributionPointName');
}

function implicitBoolean(b: Uint8Array, t: derReader.Tlv): boolean {
  const c = contentOf(b, t);
  if (c.length !== 1) throw new PkiError('extension-invalid', 'bad BOOLEAN');
  return c[0] === 0xff;
}

/** CRLDistributionPoints ::= SEQUENCE SIZE (1..MAX) OF DistributionPoint (extension value). */
export function parseDistributionPoints(value: Uint8Array): DistributionPoint[] {
  const top = readTlv(value, 0);
  if (top.tag !== 0x30) throw new PkiError('extension-invalid', 'cRLDistributionPoints');
  const dps = childrenOf(value, top);
  // A few distribution points are normal; more is a denial-of-service attempt.
  if (dps.length === 0 || dps.length > 16)
    throw new PkiError('extension-invalid', 'bad number of distribution points');
  return dps.map((dp) => {
    let name: DistributionPointName | undefined;
    let reasons: number | undefined;
    let crlIssuer: GeneralName[] | undefined;
    for (const f of childrenOf(value, expectTag(dp, 0x30, 'DistributionPoint'))) {
      if (f.tag === 0xa0) name = dpName(value, f);
      else if (f.tag === 0x81) reasons = reasonFlags(value, f);
      else if (f.tag === 0xa2) crlIssuer = parseGeneralNames(value, f);
      else throw new PkiError('extension-invalid', 'unexpected field in DistributionPoint');
    }
    // RFC 5280 4.2.1.13: a DistributionPoint MUST NOT consist of only the reasons field.
    if (name === undefined && crlIssuer === undefined)
      throw new PkiError('extension-invalid', 'distribution point without name or cRLIssuer');
    return { name, reasons, crlIssuer };
  });
}

function parseIdp(value: Uint8Array): IssuingDistributionPoint {
  const top = expectTag(readTlv(value, 0), 0x30, 'IssuingDistributionPoint');
  let name: DistributionPointName | undefined;
  let user = false;
  let ca = false;
  let some: number | undefined;
  let indirect = false;
  let attr = false;
  for (const f of childrenOf(value, top)) {
    if (f.tag === 0xa0) name = dpName(value, f);
    else if (f.tag === 0x81) user = implicitBoolean(value, f);
    else if (f.tag === 0x82) ca = implicitBoolean(value, f);
    else if (f.tag === 0x83) some = reasonFlags(value, f);
    else if (f.tag === 0x84) indirect = implicitBoolean(value, f);
    else if (f.tag === 0x85) attr = implicitBoolean(value, f);
    else throw new PkiError('extension-invalid', 'unexpected field in IssuingDistributionPoint');
  }
  return {
    name,
    onlyContainsUserCerts: user,
    onlyContainsCACerts: ca,
    onlySomeReasons: some,
    indirectCRL: indirect,
    onlyContainsAttributeCerts: attr,
    der: value,
  };
}

interface RawExtension {
  readonly oid: string;
  readonly critical: boolean;
  readonly value: Uint8Array;
}

function extensionsOf(b: Uint8Array, t: derReader.Tlv): RawExtension[] {
  const out: RawExtension[] = [];
  for (const e of childrenOf(b, expectTag(t, 0x30, 'Extensions'))) {
    const parts = childrenOf(b, expectTag(e, 0x30, 'Extension'));
    const oid = readOid(b, parts[0]);
    let critical = false;
    let valueT = parts[1];
    if (valueT?.tag === 0x01) {
      critical = b[valueT.valueStart] === 0xff;
      valueT = parts[2];
    }
    const value = contentOf(b, expectTag(valueT, 0x04, 'extnValue'));
    if (out.some((x) => x.oid === oid))
      throw new PkiError('extension-invalid', 'repeated extension');
    out.push({ oid, critical, value });
  }
  return out;
}

/** CRLs larger than this many entries are refused: far beyond what a browser should scan. */
const MAX_ENTRIES = 100_000;

/**
 * CertificateList ::= SEQUENCE { tbsCertList TBSCertList, signatureAlgorithm, signatureValue }
 * TBSCertList ::= SEQUENCE { version Version OPTIONAL, signature AlgorithmIdentifier,
 *   issuer Name, thisUpdate Time, nextUpdate Time OPTIONAL,
 *   revokedCertificates SEQUENCE OF SEQUENCE { userCertificate CertificateSerialNumber,
 *     revocationDate Time, crlEntryExtensions Extensions OPTIONAL } OPTIONAL,
 *   crlExtensions [0] EXPLICIT Extensions OPTIONAL }
 */
export function parseCrl(der: Uint8Array): ParsedCrl {
  // A CRL is hostile input like a certificate: strict DER first, the whole value at once.
  assertStrictDer(der);
  const [tbsT, algT, sigT, ...extra] = childrenOf(
    der,
    expectTag(readTlv(der, 0), 0x30, 'CertificateList'),
  );
  if (extra.length > 0) throw new PkiError('asn1-schema', 'trailing fields in CertificateList');
  const fields = childrenOf(der, expectTag(tbsT, 0x30, 'TBSCertList'));
  let i = fields[0]?.tag === 0x02 ? 1 : 0;
  const innerAlg = expectTag(fields[i], 0x30, 'signature');
  const issuer = expectTag(fields[i + 1], 0x30, 'issuer');
  const thisUpdate = readTime(der, fields[i + 2]);
  i += 3;
  let nextUpdate: Date | undefined;
  if (fields[i]?.tag === 0x17 || fields[i]?.tag === 0x18) nextUpdate = readTime(der, fields[i++]);
  let unusable: string | undefined;
  const issuerDer = encodingOf(der, issuer);
  const entries: CrlEntry[] = [];
  let pendingEntries: derReader.Tlv[] = [];
  if (fields[i]?.tag === 0x30) pendingEntries = childrenOf(der, fields[i++]!);
  if (pendingEntries.length > MAX_ENTRIES)
    throw new PkiError('asn1-schema', 'too many CRL entries');
  let crlNumber: bigint | undefined;
  let baseCrlNumber: bigint | undefined;
  let idp: IssuingDistributionPoint | undefined;
  let authorityKeyId: Uint8Array | undefined;
  if (fields[i]?.tag === 0xa0) {
    const [list] = childrenOf(der, fields[i++]!);
    for (const e of extensionsOf(der, expectTag(list, 0x30, 'crlExtensions'))) {
      const v = e.value;
      // The reader relies on strict DER inside the extensions it decodes, too.
      if (KNOWN_CRL_EXTENSIONS.has(e.oid)) assertStrictDer(v);
      if (e.oid === id_ce_cRLNumber) crlNumber = readUnsigned(v, readTlv(v, 0));
      else if (e.oid === id_ce_deltaCRLIndicator) baseCrlNumber = readUnsigned(v, readTlv(v, 0));
      else if (e.oid === id_ce_issuingDistributionPoint) idp = parseIdp(v);
      else if (e.oid === id_ce_authorityKeyIdentifier) {
        const keyId = childrenOf(v, readTlv(v, 0)).find((t) => t.tag === 0x80);
        authorityKeyId = keyId === undefined ? undefined : contentOf(v, keyId);
      } else if (e.critical && !KNOWN_CRL_EXTENSIONS.has(e.oid))
        // RFC 5280 5.2: a CRL with an unrecognized critical extension MUST NOT be used.
        unusable ??= `unknown critical CRL extension ${e.oid}`;
      if (e.critical && e.oid === id_ce_freshestCRL)
        // RFC 5280 5.2.6: freshestCRL MUST be non-critical.
        unusable ??= 'critical freshestCRL';
    }
  }
  if (i !== fields.length) throw new PkiError('asn1-schema', 'unexpected field in TBSCertList');

  // RFC 5280 5.3.3: in an indirect CRL, entries without certificateIssuer inherit the previous
  // entry's issuer; the first defaults to the CRL issuer.
  let currentIssuer: GeneralName[] | undefined;
  for (const r of pendingEntries) {
    const [serialT, dateT, extT, ...more] = childrenOf(der, expectTag(r, 0x30, 'CRL entry'));
    if (more.length > 0) throw new PkiError('asn1-schema', 'trailing fields in CRL entry');
    readTime(der, dateT);
    const serial = contentOf(der, expectTag(serialT, 0x02, 'userCertificate'));
    let reason: number | undefined;
    if (extT !== undefined) {
      for (const e of extensionsOf(der, extT)) {
        const v = e.value;
        if (KNOWN_ENTRY_EXTENSIONS.has(e.oid)) assertStrictDer(v);
        if (e.oid === id_ce_cRLReasons) reason = Number(readUnsigned(v, readTlv(v, 0), 0x0a));
        else if (e.oid === id_ce_certificateIssuer) {
          if (idp?.indirectCRL === true) currentIssuer = parseGeneralNames(v, readTlv(v, 0));
          // RFC 5280 5.3.3: only meaningful in an indirect CRL; elsewhere we cannot honour it.
          else unusable ??= 'certificateIssuer entry extension in a CRL that is not indirect';
        } else if (e.critical && !KNOWN_ENTRY_EXTENSIONS.has(e.oid))
          // RFC 5280 5.3: an unrecognized critical entry extension makes the CRL unusable.
          unusable ??= `unknown critical CRL entry extension ${e.oid}`;
      }
    }
    entries.push({ serial, reason, certificateIssuer: currentIssuer });
  }

  const sig = contentOf(der, expectTag(sigT, 0x03, 'signature'));
  return {
    der,
    issuer: issuerDer,
    thisUpdate,
    nextUpdate,
    entries,
    tbs: encodingOf(der, tbsT!),
    signatureAlgorithm: encodingOf(der, expectTag(algT, 0x30, 'signatureAlgorithm')),
    innerSignatureAlgorithm: encodingOf(der, innerAlg),
    // A signature with unused bits is no signature of ours: it verifies under no key.
    signature: sig[0] === 0 ? sig.subarray(1) : new Uint8Array(0),
    crlNumber,
    baseCrlNumber,
    idp,
    authorityKeyId,
    unusable,
  };
}

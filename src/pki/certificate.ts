// Building X.509 v3 certificates (RFC 5280 4.1) whose TBS is signed through a Signer, and strict
// parsing of certificates into plain fields.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { toArrayBuffer } from '../shared/index.js';
import { signatureAlgorithmIdentifier } from './algorithms.js';
import { encodeDer } from './asn1js-bridge.js';
import {
  assertStrictDer,
  childrenOf,
  contentOf,
  encodingOf,
  expectTag,
  readBoolean,
  readGeneralizedTime,
  readOctets,
  readOid,
  readTlv,
  readUnsigned,
  utcInstant,
  type Tlv,
} from './der.js';
import { ensureCryptoEngine } from './engine.js';
import { PkiError } from './errors.js';
import type { ExtensionSpec } from './extensions.js';
import { pkijsName } from './name.js';
import type { Signer } from './signer.js';

export interface TbsCertificateTemplate {
  /** Positive serial number, big-endian, minimal (first octet non-zero, top bit clear). */
  readonly serialNumber: Uint8Array;
  /** DER Name of the issuer. */
  readonly issuer: Uint8Array;
  /** DER Name of the subject. */
  readonly subject: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** DER SubjectPublicKeyInfo of the certified key. */
  readonly spki: Uint8Array;
  readonly extensions: readonly ExtensionSpec[];
}

/**
 * RFC 5280 4.1.2.5: UTCTime for 1950 through 2049 (its two-digit years cover no more),
 * GeneralizedTime otherwise; whole seconds.
 */
function x509Time(at: Date): pkijs.Time {
  const whole = new Date(Math.floor(at.getTime() / 1000) * 1000);
  const year = whole.getUTCFullYear();
  const type =
    year >= 1950 && year < 2050 ? pkijs.TimeType.UTCTime : pkijs.TimeType.GeneralizedTime;
  return new pkijs.Time({ type, value: whole });
}

/** A random positive serial of 16 octets (RFC 5280 4.1.2.2: at most 20, positive). */
export function randomSerial(random: (length: number) => Uint8Array): Uint8Array {
  const serial = random(16);
  // Top bit clear keeps it positive; a non-zero first octet keeps the encoding minimal.
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  return serial;
}

function checkSerial(serial: Uint8Array): void {
  const first = serial[0];
  if (
    serial.length === 0 ||
    serial.length > 20 ||
    first === undefined ||
    first === 0 ||
    first >= 0x80
  ) {
    throw new PkiError(
      'certificate-invalid',
      'serial number must be positive, minimal and at most 20 octets',
    );
  }
}

/**
 * Who signs a certificate: a Signer of a key algorithm the HSM issues, or a signing function with
 * the DER AlgorithmIdentifier it signs under (a verify-only family such as ML-DSA, whose keys the
 * HSM does not issue yet).
 */
export type CertificateIssuer =
  | Pick<Signer, 'algorithm' | 'sign'>
  | {
      readonly signatureAlgorithm: Uint8Array;
      sign(tbs: Uint8Array): Promise<Uint8Array>;
    };

/** A fresh pkijs AlgorithmIdentifier of the issuer's signatures (pkijs objects are mutable). */
function issuerAlgorithm(issuer: CertificateIssuer): pkijs.AlgorithmIdentifier {
  return 'signatureAlgorithm' in issuer
    ? pkijs.AlgorithmIdentifier.fromBER(toArrayBuffer(issuer.signatureAlgorithm))
    : signatureAlgorithmIdentifier(issuer.algorithm);
}

export async function buildCertificate(
  template: TbsCertificateTemplate,
  issuer: CertificateIssuer,
): Promise<Uint8Array> {
  ensureCryptoEngine();
  checkSerial(template.serialNumber);
  if (template.notAfter.getTime() <= template.notBefore.getTime()) {
    throw new PkiError('certificate-invalid', 'validity ends before it begins');
  }
  const oids = new Set(template.extensions.map((e) => e.oid));
  if (oids.size !== template.extensions.length) {
    throw new PkiError('certificate-invalid', 'duplicate extension'); // RFC 5280 4.2
  }
  const cert = new pkijs.Certificate();
  cert.version = 2;
  cert.serialNumber = new asn1js.Integer({ valueHex: toArrayBuffer(template.serialNumber) });
  cert.signature = issuerAlgorithm(issuer);
  cert.issuer = pkijsName(template.issuer);
  cert.subject = pkijsName(template.subject);
  cert.notBefore = x509Time(template.notBefore);
  cert.notAfter = x509Time(template.notAfter);
  cert.subjectPublicKeyInfo = pkijs.PublicKeyInfo.fromBER(toArrayBuffer(template.spki));
  cert.extensions = template.extensions.map(
    (e) =>
      new pkijs.Extension({
        extnID: e.oid,
        critical: e.critical,
        extnValue: toArrayBuffer(e.value),
      }),
  );
  cert.signatureAlgorithm = issuerAlgorithm(issuer);
  const tbs = encodeDer(cert.encodeTBS());
  cert.tbsView = tbs;
  const signature = await issuer.sign(tbs);
  cert.signatureValue = new asn1js.BitString({ valueHex: toArrayBuffer(signature) });
  const der = encodeDer(cert.toSchema());
  assertStrictDer(der);
  return der;
}

/**
 * Strict DER check, then pkijs parsing: for code inside src/pki and tests. Code outside src/pki
 * takes parseCertificateFields (src/hsm/hsm.ts still calls this one until it switches over).
 */
export function parseCertificate(der: Uint8Array): pkijs.Certificate {
  ensureCryptoEngine();
  assertStrictDer(der);
  try {
    return pkijs.Certificate.fromBER(toArrayBuffer(der));
  } catch (cause) {
    throw new PkiError('certificate-invalid', 'not an x.509 certificate', { cause });
  }
}

/** One extension of a certificate as plain data (RFC 5280 4.1: Extension). */
export interface CertificateExtension {
  readonly oid: string;
  readonly critical: boolean;
  /** The content of extnValue: the DER of the extension's value. */
  readonly value: Uint8Array;
}

/**
 * The fields of a certificate as plain data, every byte field a view of the original DER:
 * what code outside src/pki needs instead of a pkijs.Certificate.
 */
export interface CertificateFields {
  readonly der: Uint8Array;
  /** DER of the TBSCertificate, the bytes the signature covers. */
  readonly tbs: Uint8Array;
  /** 1, 2 or 3 (the encoded Version plus one). */
  readonly version: number;
  /** The serialNumber INTEGER's content octets as encoded (two's complement, minimal). */
  readonly serialNumber: Uint8Array;
  /** DER of the outer signatureAlgorithm AlgorithmIdentifier. */
  readonly signatureAlgorithm: Uint8Array;
  /** DER Name of the issuer. */
  readonly issuer: Uint8Array;
  /** DER Name of the subject. */
  readonly subject: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** DER SubjectPublicKeyInfo. */
  readonly spki: Uint8Array;
  readonly extensions: readonly CertificateExtension[];
  /** The signature BIT STRING's bits (no unused bits). */
  readonly signature: Uint8Array;
}

/** RFC 5280 4.1.2.5 Time (UTCTime or GeneralizedTime), range-checked; also used for CRLs. */
export function readTime(b: Uint8Array, t: Tlv | undefined): Date {
  if (t === undefined) throw new PkiError('certificate-invalid', 'missing time');
  if (t.tag === 0x17) {
    let text = '';
    for (let i = t.valueStart; i < t.end; i++) text += String.fromCharCode(b[i]!);
    // RFC 5280 4.1.2.5.1: YY >= 50 is 19YY.
    const m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (m === null) throw new PkiError('certificate-invalid', 'bad UTCTime');
    const yy = Number(m[1]);
    const date = utcInstant(
      yy >= 50 ? 1900 + yy : 2000 + yy,
      Number(m[2]),
      Number(m[3]),
      Number(m[4]),
      Number(m[5]),
      Number(m[6]),
    );
    if (date === undefined) throw new PkiError('certificate-invalid', 'impossible UTCTime');
    return date;
  }
  if (t.tag === 0x18) return readGeneralizedTime(b, t);
  throw new PkiError('certificate-invalid', 'time must be UTCTime or GeneralizedTime');
}

function notCertificate(message: string): never {
  throw new PkiError('certificate-invalid', message);
}

/**
 * Strict DER, then the fields of an X.509 certificate (RFC 5280 4.1) read with the DER reader:
 * exact OIDs and the original bytes of every field. Throws PkiError (certificate-invalid for a
 * structure that is no certificate).
 *
 *   Certificate ::= SEQUENCE { tbsCertificate TBSCertificate,
 *     signatureAlgorithm AlgorithmIdentifier, signatureValue BIT STRING }
 *   TBSCertificate ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1,
 *     serialNumber CertificateSerialNumber, signature AlgorithmIdentifier, issuer Name,
 *     validity Validity, subject Name, subjectPublicKeyInfo SubjectPublicKeyInfo,
 *     issuerUniqueID [1] IMPLICIT UniqueIdentifier OPTIONAL,
 *     subjectUniqueID [2] IMPLICIT UniqueIdentifier OPTIONAL,
 *     extensions [3] EXPLICIT Extensions OPTIONAL }
 */
export function parseCertificateFields(der: Uint8Array): CertificateFields {
  assertStrictDer(der);
  try {
    return readCertificateFields(der);
  } catch (cause) {
    if (cause instanceof PkiError && cause.code === 'asn1-schema') {
      throw new PkiError('certificate-invalid', 'not an x.509 certificate', { cause });
    }
    throw cause;
  }
}

function readCertificateFields(der: Uint8Array): CertificateFields {
  const top = expectTag(readTlv(der, 0), 0x30, 'Certificate');
  const [tbsT, algT, sigT, ...extra] = childrenOf(der, top);
  if (extra.length > 0) notCertificate('trailing fields in Certificate');
  const fields = childrenOf(der, expectTag(tbsT, 0x30, 'TBSCertificate'));
  let i = 0;
  let version = 1;
  if (fields[0]?.tag === 0xa0) {
    const [v, ...more] = childrenOf(der, fields[0]);
    if (more.length > 0) notCertificate('trailing fields in version');
    // RFC 5280 4.1: Version ::= INTEGER { v1(0), v2(1), v3(2) }
    const n = readUnsigned(der, v);
    if (n > 2n) notCertificate('unknown certificate version');
    version = Number(n) + 1;
    i = 1;
  }
  const serialT = expectTag(fields[i], 0x02, 'serialNumber');
  expectTag(fields[i + 1], 0x30, 'signature');
  const issuer = expectTag(fields[i + 2], 0x30, 'issuer');
  const validity = childrenOf(der, expectTag(fields[i + 3], 0x30, 'validity'));
  if (validity.length !== 2) notCertificate('validity must hold notBefore and notAfter');
  const subject = expectTag(fields[i + 4], 0x30, 'subject');
  const spki = expectTag(fields[i + 5], 0x30, 'subjectPublicKeyInfo');
  const extensions: CertificateExtension[] = [];
  let last = 0x80;
  for (const f of fields.slice(i + 6)) {
    // [1] and [2] unique identifiers, then [3] extensions, each at most once and in order.
    if (f.tag !== 0x81 && f.tag !== 0x82 && f.tag !== 0xa3) {
      notCertificate('unexpected field in TBSCertificate');
    }
    if ((f.tag & 0x1f) <= (last & 0x1f)) notCertificate('unexpected field in TBSCertificate');
    last = f.tag;
    if (f.tag !== 0xa3) continue;
    const [list, ...more] = childrenOf(der, f);
    if (more.length > 0) notCertificate('trailing fields in extensions');
    // RFC 5280 4.1 asks for SIZE (1..MAX); an empty list is read as none, as pkijs reads it and
    // writes it for a template without extensions.
    for (const e of childrenOf(der, expectTag(list, 0x30, 'extensions'))) {
      const parts = childrenOf(der, expectTag(e, 0x30, 'extension'));
      const oid = readOid(der, parts[0]);
      let critical = false;
      let k = 1;
      if (parts[k]?.tag === 0x01) critical = readBoolean(der, parts[k++]);
      const value = readOctets(der, parts[k++]);
      if (k !== parts.length) notCertificate('trailing fields in extension');
      // RFC 5280 4.2: a certificate MUST NOT include more than one instance of an extension.
      if (extensions.some((x) => x.oid === oid)) notCertificate('duplicate extension');
      extensions.push({ oid, critical, value });
    }
  }
  const signatureAlgorithm = encodingOf(der, expectTag(algT, 0x30, 'signatureAlgorithm'));
  const bits = contentOf(der, expectTag(sigT, 0x03, 'signatureValue'));
  if (bits[0] !== 0) notCertificate('signature bit string has unused bits');
  return {
    der,
    tbs: encodingOf(der, tbsT!),
    version,
    serialNumber: contentOf(der, serialT),
    signatureAlgorithm,
    issuer: encodingOf(der, issuer),
    subject: encodingOf(der, subject),
    notBefore: readTime(der, validity[0]),
    notAfter: readTime(der, validity[1]),
    spki: encodingOf(der, spki),
    extensions,
    signature: bits.subarray(1),
  };
}

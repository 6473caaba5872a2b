// Building X.509 v3 certificates (RFC 5280 4.1) whose TBS is signed through a Signer, and strict
// parsing of certificates.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { toArrayBuffer } from '../shared/index.js';
import { signatureAlgorithmIdentifier } from './algorithms.js';
import { encodeDer } from './asn1js-bridge.js';
import { assertStrictDer } from './der.js';
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

export async function buildCertificate(
  template: TbsCertificateTemplate,
  issuer: Pick<Signer, 'algorithm' | 'sign'>,
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
  cert.signature = signatureAlgorithmIdentifier(issuer.algorithm);
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
  cert.signatureAlgorithm = signatureAlgorithmIdentifier(issuer.algorithm);
  const tbs = encodeDer(cert.encodeTBS());
  cert.tbsView = tbs;
  const signature = await issuer.sign(tbs);
  cert.signatureValue = new asn1js.BitString({ valueHex: toArrayBuffer(signature) });
  const der = encodeDer(cert.toSchema());
  assertStrictDer(der);
  return der;
}

/** Strict DER check, then pkijs parsing. */
export function parseCertificate(der: Uint8Array): pkijs.Certificate {
  ensureCryptoEngine();
  assertStrictDer(der);
  try {
    return pkijs.Certificate.fromBER(toArrayBuffer(der));
  } catch (cause) {
    throw new PkiError('certificate-invalid', 'not an x.509 certificate', { cause });
  }
}

/** DER SubjectPublicKeyInfo of a parsed certificate. */
export function certificateSpki(cert: pkijs.Certificate): Uint8Array {
  return encodeDer(cert.subjectPublicKeyInfo.toSchema());
}

/** The raw extnValue of the extension with this OID, or undefined. */
export function findExtension(cert: pkijs.Certificate, oid: string): pkijs.Extension | undefined {
  // asn1js, and so pkijs, spells an arc above 2^53 as `{hex}` instead of in decimal, so a parsed
  // extnID with such an arc (a 2.25 UUID arc, say) never equals the dotted OID: accept asn1js's
  // spelling too.
  const spelled = new asn1js.ObjectIdentifier({ value: oid }).getValue();
  return cert.extensions?.find((e) => e.extnID === oid || e.extnID === spelled);
}

export function extensionValue(ext: pkijs.Extension): Uint8Array {
  return new Uint8Array(ext.extnValue.valueBlock.valueHexView);
}

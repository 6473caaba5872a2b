// RFC 3161 2.4.2 TimeStampResp and the time-stamp token (RFC 5652 SignedData, RFC 5816
// signingCertificateV2, RFC 6211 CMSAlgorithmProtection), written from a template whose constant
// parts are encoded once per time-stamping unit. A test checks it byte for byte against pkijs.
import { createHash, hash as oneShotHash } from 'node:crypto';
import {
  der,
  encodeSignatureAlgorithm,
  id_aa_CMSAlgorithmProtection,
  id_aa_signingCertificateV2,
  id_contentType,
  id_ct_TSTInfo,
  id_etsi_tsts_EuQCompliance,
  id_messageDigest,
  id_pe_qcStatements,
  id_sha256,
  id_sha384,
  id_sha512,
  keyAlgorithmInfo,
  parseCertificateFields,
  type Signer,
} from '../pki/index.js';
import { concatBytes } from '../shared/index.js';
import { FAIL_INFO_BITS, type FailInfo } from './errors.js';

const { seq, tlv, oid, octetString, integer, contextConstructed, algorithmIdentifier } = der;

/** Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL, millis [0] 1..999 OPTIONAL, micros [1] 1..999 OPTIONAL } */
export interface Accuracy {
  readonly seconds: number;
  readonly millis: number;
  readonly micros: number;
}

export interface TokenTemplateOptions {
  readonly signer: Signer;
  /** Issuer certificates to add after the signer's when certReq is TRUE (leaf first). */
  readonly includeIssuers: boolean;
  readonly accuracy: Accuracy;
  /** ETSI EN 319 422 qualified mode: a non-critical qcStatements extension in TSTInfo. */
  readonly qualified: boolean;
  /** Put the TSA name (the certificate subject) in TSTInfo.tsa. */
  readonly includeTsaName: boolean;
}

export interface TokenFields {
  /** DER of the policy OBJECT IDENTIFIER (tag included). */
  readonly policy: Uint8Array;
  /** DER of the request's MessageImprint, copied verbatim. */
  readonly messageImprint: Uint8Array;
  /** DER of the serial number INTEGER (tag included). */
  readonly serialNumber: Uint8Array;
  /** GeneralizedTime text in DER form, e.g. 20261127071801.25Z. */
  readonly genTime: string;
  /** Content octets of the request's nonce INTEGER, echoed verbatim. */
  readonly nonce: Uint8Array | undefined;
  readonly certReq: boolean;
  /** DER Accuracy replacing the unit's declared one (a wider measured bound). */
  readonly accuracy?: Uint8Array;
}

export interface BuiltToken {
  /** DER of the whole TimeStampResp (status granted). */
  readonly response: Uint8Array;
  /** DER of TSTInfo (for archiving and self-checks). */
  readonly tstInfo: Uint8Array;
  /** DER of the signed attributes SET as signed. */
  readonly signedAttributes: Uint8Array;
  readonly signature: Uint8Array;
}

/** Microseconds as an RFC 3161 Accuracy (seconds, millis, micros). */
export function accuracyFromMicros(micros: number): Accuracy {
  if (!Number.isInteger(micros) || micros < 1) {
    throw new RangeError('accuracy must be a positive whole number of microseconds');
  }
  return {
    seconds: Math.floor(micros / 1_000_000),
    millis: Math.floor((micros % 1_000_000) / 1000),
    micros: micros % 1000,
  };
}

export function encodeAccuracy(a: Accuracy): Uint8Array | undefined {
  // TST-06: never encode a zero part; omit the whole field only if everything is zero.
  const parts: Uint8Array[] = [];
  if (a.seconds > 0) parts.push(integer(a.seconds));
  if (a.millis > 0) parts.push(der.contextPrimitive(0, integer(a.millis).subarray(2)));
  if (a.micros > 0) parts.push(der.contextPrimitive(1, integer(a.micros).subarray(2)));
  return parts.length === 0 ? undefined : seq(...parts);
}

/** The SignerInfo digest algorithm of the signer's family (RFC 8419 3.1: SHA-512 for Ed25519). */
function hashNameFor(signer: Signer): 'sha256' | 'sha384' | 'sha512' {
  return keyAlgorithmInfo(signer.algorithm).cmsDigest;
}

const DIGEST_OIDS = { sha256: id_sha256, sha384: id_sha384, sha512: id_sha512 } as const;

/** A time-stamping unit's token writer: constant parts encoded once. */
export class TokenTemplate {
  private readonly digestName: 'sha256' | 'sha384' | 'sha512';
  private readonly digestAlgorithms: Uint8Array;
  private readonly tstTail: Uint8Array;
  /** DER SET of the signed attributes with a zeroed messageDigest at digestOffset. */
  private readonly attrsTemplate: Uint8Array;
  private readonly digestOffset: number;
  private readonly attrsHeaderLength: number;
  private readonly signerInfoHead: Uint8Array;
  private readonly signatureAlgorithm: Uint8Array;
  private readonly certsSignerOnly: Uint8Array;
  private readonly certsWithIssuers: Uint8Array;
  private readonly accuracy: Uint8Array | undefined;
  readonly certificate: Uint8Array;
  readonly signer: Signer;

  constructor(options: TokenTemplateOptions) {
    const signer = options.signer;
    const certificate = signer.certificateChain[0];
    if (certificate === undefined) throw new RangeError('the signer has no certificate');
    this.signer = signer;
    this.certificate = certificate;
    const cert = parseCertificateFields(certificate);
    const issuerName = cert.issuer;
    const subjectName = cert.subject;
    const serial = tlv(0x02, cert.serialNumber);

    this.digestName = hashNameFor(signer);
    const digestAlgorithm = algorithmIdentifier(DIGEST_OIDS[this.digestName]);
    this.digestAlgorithms = tlv(0x31, digestAlgorithm);
    this.signatureAlgorithm = encodeSignatureAlgorithm(signer.algorithm);
    this.accuracy = encodeAccuracy(options.accuracy);

    // TSTInfo after the nonce: tsa [0] GeneralName (directoryName [4]), extensions [1].
    const tail: Uint8Array[] = [];
    if (options.includeTsaName)
      tail.push(contextConstructed(0, contextConstructed(4, subjectName)));
    if (options.qualified) {
      const qcStatements = seq(seq(oid(id_etsi_tsts_EuQCompliance)));
      tail.push(contextConstructed(1, seq(oid(id_pe_qcStatements), octetString(qcStatements))));
    }
    this.tstTail = concatBytes(...tail);

    // Signed attributes (RFC 5652 5.3), sorted once: only messageDigest varies, at fixed length.
    const contentTypeAttr = seq(oid(id_contentType), tlv(0x31, oid(id_ct_TSTInfo)));
    const certHash = createHash('sha256').update(certificate).digest();
    // ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT sha256 (omitted), certHash, issuerSerial }
    const essCertIdV2 = seq(
      octetString(certHash),
      seq(seq(contextConstructed(4, issuerName)), serial),
    );
    const signingCertificateV2Attr = seq(
      oid(id_aa_signingCertificateV2),
      tlv(0x31, seq(seq(essCertIdV2))),
    );
    const sigAlgImplicit = Uint8Array.from(this.signatureAlgorithm);
    sigAlgImplicit[0] = 0xa1; // [1] IMPLICIT SignatureAlgorithmIdentifier
    const algorithmProtectionAttr = seq(
      oid(id_aa_CMSAlgorithmProtection),
      tlv(0x31, seq(digestAlgorithm, sigAlgImplicit)),
    );
    const digestLength = this.digestName === 'sha256' ? 32 : this.digestName === 'sha384' ? 48 : 64;
    const digestPlaceholder = seq(
      oid(id_messageDigest),
      tlv(0x31, octetString(new Uint8Array(digestLength))),
    );
    const ordered = [
      contentTypeAttr,
      signingCertificateV2Attr,
      algorithmProtectionAttr,
      digestPlaceholder,
    ].sort(der.compareBytes);
    this.attrsTemplate = tlv(0x31, ...ordered);
    // The digest is the last bytes of its attribute; its offset in the SET is fixed.
    this.attrsHeaderLength = this.attrsTemplate.length - concatBytes(...ordered).length;
    let offset = this.attrsHeaderLength;
    for (const a of ordered) {
      if (a === digestPlaceholder) break;
      offset += a.length;
    }
    this.digestOffset = offset + digestPlaceholder.length - digestLength;

    // SignerInfo up to signedAttrs: version 1, IssuerAndSerialNumber, digestAlgorithm.
    this.signerInfoHead = concatBytes(integer(1), seq(issuerName, serial), digestAlgorithm);

    this.certsSignerOnly = contextConstructed(0, certificate);
    this.certsWithIssuers = options.includeIssuers
      ? contextConstructed(0, ...signer.certificateChain)
      : this.certsSignerOnly;
  }

  digest(data: Uint8Array): Uint8Array {
    return oneShotHash(this.digestName, data, 'buffer');
  }

  encodeTstInfo(f: TokenFields): Uint8Array {
    const parts: Uint8Array[] = [
      TST_INFO_VERSION,
      f.policy,
      f.messageImprint,
      f.serialNumber,
      generalizedTimeAscii(f.genTime),
    ];
    const accuracy = f.accuracy ?? this.accuracy;
    if (accuracy !== undefined) parts.push(accuracy);
    // ordering DEFAULT FALSE is omitted (TST-07).
    if (f.nonce !== undefined) parts.push(tlv(0x02, f.nonce));
    parts.push(this.tstTail);
    return tlv(0x30, ...parts);
  }

  async build(f: TokenFields): Promise<BuiltToken> {
    const tstInfo = this.encodeTstInfo(f);
    const signedAttributes = Uint8Array.from(this.attrsTemplate);
    signedAttributes.set(this.digest(tstInfo), this.digestOffset);
    const signature = await this.signer.sign(signedAttributes);
    // RFC 5652 5.4: signed as a SET (0x31), carried as [0] IMPLICIT.
    const signerInfo = node(
      0x30,
      this.signerInfoHead,
      node(0xa0, signedAttributes.subarray(this.attrsHeaderLength)),
      this.signatureAlgorithm,
      node(0x04, signature),
    );
    const signedData = node(
      0x30,
      SIGNED_DATA_VERSION, // version 3: eContentType is not id-data
      this.digestAlgorithms,
      node(0x30, OID_TST_INFO, node(0xa0, node(0x04, tstInfo))),
      ...(f.certReq ? [this.certsWithIssuers] : []),
      node(0x31, signerInfo),
    );
    const response = encodeNode(
      node(0x30, STATUS_GRANTED, node(0x30, OID_SIGNED_DATA, node(0xa0, signedData))),
    );
    return { response, tstInfo, signedAttributes, signature };
  }
}

const { node, encodeNode } = der;
const SIGNED_DATA_VERSION = Uint8Array.of(0x02, 0x01, 0x03);
const TST_INFO_VERSION = Uint8Array.of(0x02, 0x01, 0x01);
const OID_TST_INFO = oid(id_ct_TSTInfo);
const OID_SIGNED_DATA = oid('1.2.840.113549.1.7.2');

/** GeneralizedTime TLV from ASCII text (the caller's text is already in DER form). */
function generalizedTimeAscii(text: string): Uint8Array {
  const out = new Uint8Array(2 + text.length);
  out[0] = 0x18;
  out[1] = text.length;
  for (let i = 0; i < text.length; i++) out[2 + i] = text.charCodeAt(i);
  return out;
}
/** PKIStatusInfo { status granted(0) } */
const STATUS_GRANTED = seq(Uint8Array.of(0x02, 0x01, 0x00));

/** DER named BIT STRING with one bit set (X.690 11.2.2: no trailing zero bits). */
export function encodeFailInfo(failInfo: FailInfo): Uint8Array {
  const bit = FAIL_INFO_BITS[failInfo];
  const octets = new Uint8Array((bit >> 3) + 1);
  octets[bit >> 3] = 0x80 >> (bit & 7);
  return tlv(0x03, Uint8Array.of(7 - (bit & 7)), octets);
}

/**
 * TimeStampResp { status PKIStatusInfo { status rejection(2), statusString, failInfo } }
 * PKIFreeText ::= SEQUENCE SIZE (1..MAX) OF UTF8String
 */
export function buildRejection(failInfo: FailInfo, text: string): Uint8Array {
  return seq(
    seq(Uint8Array.of(0x02, 0x01, 0x02), seq(der.utf8String(text)), encodeFailInfo(failInfo)),
  );
}

// The token writer src/tsa/response.ts had before its one-buffer builder (a DER node tree per
// token, encoded in one pass), kept as the reference the new builder is compared with byte for byte.
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
  CMS_DIGESTS,
  keyAlgorithmInfo,
  parseCertificateFields,
  type Signer,
} from '../../src/pki/index.js';
import { concatBytes } from '../../src/shared/index.js';
import {
  encodeAccuracy,
  type BuiltToken,
  type TokenFields,
  type TokenTemplateOptions,
} from '../../src/tsa/index.js';

const { seq, tlv, oid, octetString, integer, contextConstructed, algorithmIdentifier } = der;

/** A SignerInfo digest: its OID, its output length and a one-shot hash giving latin1 text. */
interface CmsDigest {
  readonly oid: string;
  readonly length: number;
  readonly binary: (data: Uint8Array) => string;
}

/**
 * The SignerInfo digest algorithm of the signer's family (RFC 8419 3.1: SHA-512 for Ed25519;
 * RFC 9882 3.3, RFC 9814 4 for ML-DSA and SLH-DSA).
 */
function cmsDigestFor(signer: Signer): CmsDigest {
  const name = keyAlgorithmInfo(signer.algorithm).cmsDigest;
  const { oid, length, extendable } = CMS_DIGESTS[name];
  return {
    oid,
    length,
    // SHAKE128 and SHAKE256 are read out to 256 and 512 bits in the CMS (RFC 8702 3.1).
    binary: extendable
      ? (data) => createHash(name, { outputLength: length }).update(data).digest('binary')
      : (data) => oneShotHash(name, data, 'binary'),
  };
}

/** The token writer as it was before the one-buffer builder (a tree of DER nodes). */
export class ReferenceTokenTemplate {
  private readonly cmsDigest: CmsDigest;
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

    this.cmsDigest = cmsDigestFor(signer);
    const digestAlgorithm = algorithmIdentifier(this.cmsDigest.oid);
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
    const digestLength = this.cmsDigest.length;
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
    return Buffer.from(this.cmsDigest.binary(data), 'latin1');
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

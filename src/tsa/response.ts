// RFC 3161 2.4.2 TimeStampResp and the time-stamp token (RFC 5652 SignedData, RFC 5816
// signingCertificateV2, RFC 6211 CMSAlgorithmProtection), written into one buffer from a template
// whose constant parts are encoded once per time-stamping unit. Tests check it byte for byte
// against pkijs and against the node-tree builder it replaced.
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
} from '../pki/index.js';
import { concatBytes } from '../shared/index.js';
import { FAIL_INFO_BITS, type FailInfo } from './errors.js';

const { seq, tlv, oid, octetString, integer, contextConstructed, algorithmIdentifier } = der;
/** PKIStatusInfo { status granted(0) } */
const STATUS_GRANTED = seq(Uint8Array.of(0x02, 0x01, 0x00));

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

/**
 * A time-stamping unit's token writer. The constant parts (algorithm identifiers, the signed
 * attributes but their message digest, the SignerInfo up to them, the certificate sets) are
 * encoded once; each token is then written into one buffer: SignedData from its version through
 * the signed attributes, whose digest is filled in and which are signed where they lie; the
 * signature and the headers whose lengths depend on it (TimeStampResp, ContentInfo, SignedData,
 * SignerInfos, SignerInfo) are written once it is known. The signature is the last element of the
 * response, so nothing after it moves.
 */
export class TokenTemplate {
  private readonly cmsDigest: CmsDigest;
  private readonly digestAlgorithms: Uint8Array;
  private readonly tstTail: Uint8Array;
  /** DER SET of the signed attributes with a zeroed messageDigest at digestOffset. */
  private readonly attrsTemplate: Uint8Array;
  private readonly digestOffset: number;
  private readonly signerInfoHead: Uint8Array;
  private readonly signatureAlgorithm: Uint8Array;
  /** SignerInfo content but the signature OCTET STRING. */
  private readonly signerInfoFixed: number;
  private readonly certsSignerOnly: Uint8Array;
  private readonly certsWithIssuers: Uint8Array;
  private readonly accuracy: Uint8Array | undefined;
  /**
   * The longest signature seen: room for it is reserved before signing, so that a signature of
   * at most this length is written in place (ECDSA's vary by a few octets). A longer one makes
   * the token be copied into a larger buffer once, and raises it.
   */
  private signatureRoom = 0;
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
    let offset = this.attrsTemplate.length - concatBytes(...ordered).length;
    for (const a of ordered) {
      if (a === digestPlaceholder) break;
      offset += a.length;
    }
    this.digestOffset = offset + digestPlaceholder.length - digestLength;

    // SignerInfo up to signedAttrs: version 1, IssuerAndSerialNumber, digestAlgorithm.
    this.signerInfoHead = concatBytes(integer(1), seq(issuerName, serial), digestAlgorithm);
    this.signerInfoFixed =
      this.signerInfoHead.length + this.attrsTemplate.length + this.signatureAlgorithm.length;

    this.certsSignerOnly = contextConstructed(0, certificate);
    this.certsWithIssuers = options.includeIssuers
      ? contextConstructed(0, ...signer.certificateChain)
      : this.certsSignerOnly;
  }

  digest(data: Uint8Array): Uint8Array {
    return Buffer.from(this.cmsDigest.binary(data), 'latin1');
  }

  /** The DER TSTInfo of the fields alone (the token carries the same octets). */
  encodeTstInfo(f: TokenFields): Uint8Array {
    const content = this.tstInfoContentLength(f);
    const out = new Uint8Array(tlvSize(content));
    this.writeTstInfo(f, out, writeHeader(out, 0, 0x30, content));
    return out;
  }

  /** Writes and signs a token; every failure rejects. */
  build(f: TokenFields): Promise<BuiltToken> {
    let layout: Layout;
    let signing: Promise<Uint8Array>;
    try {
      layout = this.write(f);
      signing = this.signer.sign(layout.toSign);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error('token writing failed'));
    }
    return signing.then((signature) => this.finish(layout, signature));
  }

  /** The token up to its signed attributes, digest included, laid out for `signatureRoom`. */
  private write(f: TokenFields): Layout {
    // Lengths that do not depend on the signature.
    const tstContent = this.tstInfoContentLength(f);
    const tstSize = tlvSize(tstContent);
    const octetSize = tlvSize(tstSize);
    const encapContent = OID_TST_INFO.length + tlvSize(octetSize);
    const certs = f.certReq ? this.certsWithIssuers : undefined;
    /** SignedData content before SignerInfos. */
    const signedDataHead =
      SIGNED_DATA_VERSION.length +
      this.digestAlgorithms.length +
      tlvSize(encapContent) +
      (certs === undefined ? 0 : certs.length);

    // Laid out for the longest signature seen so far.
    const room = this.signatureRoom;
    const roomSignerInfos = signerInfosSize(this.signerInfoFixed, room);
    const roomPrefix = prefixSize(signedDataHead + roomSignerInfos);
    const buf = allocate(roomPrefix + signedDataHead + roomSignerInfos);

    let o = put(buf, roomPrefix, SIGNED_DATA_VERSION);
    o = put(buf, o, this.digestAlgorithms);
    o = writeHeader(buf, o, 0x30, encapContent);
    o = put(buf, o, OID_TST_INFO);
    o = writeHeader(buf, o, 0xa0, octetSize);
    o = writeHeader(buf, o, 0x04, tstSize);
    const tstStart = o;
    o = this.writeTstInfo(f, buf, writeHeader(buf, o, 0x30, tstContent));
    const tstEnd = o;
    if (certs !== undefined) o = put(buf, o, certs);
    const signerInfosAt = o;
    const headStart = signerInfosAt + signerInfosHeaderSize(this.signerInfoFixed, room);
    const attrsStart = put(buf, headStart, this.signerInfoHead);
    const attrsEnd = put(buf, attrsStart, this.attrsTemplate);
    // The message digest, as a latin1 string: node:crypto makes a string faster than a Buffer.
    const digest = this.cmsDigest.binary(buf.subarray(tstStart, tstEnd));
    const digestAt = attrsStart + this.digestOffset;
    for (let i = 0; i < digest.length; i++) buf[digestAt + i] = digest.charCodeAt(i);
    return {
      buf,
      room,
      roomPrefix,
      signedDataHead,
      tstStart,
      tstEnd,
      signerInfosAt,
      headStart,
      attrsStart,
      attrsEnd,
      // RFC 5652 5.4: signed as a SET (0x31), carried as [0] IMPLICIT (set once signed).
      toSign: buf.subarray(attrsStart, attrsEnd),
    };
  }

  /** Writes the signature and the lengths that depend on it; moves the token if need be. */
  private finish(layout: Layout, signature: Uint8Array): BuiltToken {
    const { buf, room, roomPrefix, signedDataHead, signerInfosAt, headStart, attrsStart } = layout;
    let out = buf;
    let base = roomPrefix; // where the SignedData content starts in `out`
    if (signature.length > room) {
      this.signatureRoom = signature.length;
      const size = signedDataHead + signerInfosSize(this.signerInfoFixed, signature.length);
      base = prefixSize(size);
      out = allocate(base + size);
      out.set(buf.subarray(roomPrefix, signerInfosAt), base);
    }
    // SignerInfos SET OF one SignerInfo; the head and signed attributes move only if the
    // headers' length octets differ from those laid out.
    const signerInfoContent = this.signerInfoFixed + tlvSize(signature.length);
    let w = base + (signerInfosAt - roomPrefix);
    w = writeHeader(out, w, 0x31, tlvSize(signerInfoContent));
    w = writeHeader(out, w, 0x30, signerInfoContent);
    if (out !== buf) out.set(buf.subarray(headStart, layout.attrsEnd), w);
    else if (w !== headStart) out.copyWithin(w, headStart, layout.attrsEnd);
    const attrsAt = w + (attrsStart - headStart);
    out[attrsAt] = 0xa0;
    w = put(out, attrsAt + this.attrsTemplate.length, this.signatureAlgorithm);
    w = writeHeader(out, w, 0x04, signature.length);
    out.set(signature, w);
    const end = w + signature.length;

    // The outer headers, backwards from the SignedData content: each one's content runs to the end.
    let p = writeHeaderBefore(out, base, 0x30, end - base);
    p = writeHeaderBefore(out, p, 0xa0, end - p);
    p -= OID_SIGNED_DATA.length;
    put(out, p, OID_SIGNED_DATA);
    p = writeHeaderBefore(out, p, 0x30, end - p);
    p -= STATUS_GRANTED.length;
    put(out, p, STATUS_GRANTED);
    p = writeHeaderBefore(out, p, 0x30, end - p);
    const shift = base - roomPrefix;
    return new Token(
      out.subarray(p, end),
      out,
      layout.tstStart + shift,
      layout.tstEnd + shift,
      attrsAt,
      attrsAt + this.attrsTemplate.length,
      signature,
    );
  }

  private tstInfoContentLength(f: TokenFields): number {
    const accuracy = f.accuracy ?? this.accuracy;
    return (
      TST_INFO_VERSION.length +
      f.policy.length +
      f.messageImprint.length +
      f.serialNumber.length +
      tlvSize(f.genTime.length) +
      (accuracy === undefined ? 0 : accuracy.length) +
      (f.nonce === undefined ? 0 : tlvSize(f.nonce.length)) +
      this.tstTail.length
    );
  }

  /** Writes the TSTInfo content at `o`; returns its end. */
  private writeTstInfo(f: TokenFields, out: Uint8Array, o: number): number {
    o = put(out, o, TST_INFO_VERSION);
    o = put(out, o, f.policy);
    o = put(out, o, f.messageImprint);
    o = put(out, o, f.serialNumber);
    // GeneralizedTime from ASCII text (the caller's text is already in DER form).
    const genTime = f.genTime;
    o = writeHeader(out, o, 0x18, genTime.length);
    for (let i = 0; i < genTime.length; i++) out[o++] = genTime.charCodeAt(i);
    const accuracy = f.accuracy ?? this.accuracy;
    if (accuracy !== undefined) o = put(out, o, accuracy);
    // ordering DEFAULT FALSE is omitted (TST-07).
    if (f.nonce !== undefined) o = put(out, writeHeader(out, o, 0x02, f.nonce.length), f.nonce);
    return put(out, o, this.tstTail);
  }
}

/** Where build() wrote the parts of a token that the signature does not change. */
interface Layout {
  readonly buf: Uint8Array;
  /** The signature length laid out for. */
  readonly room: number;
  /** Where the SignedData content starts: room for the headers before it. */
  readonly roomPrefix: number;
  /** SignedData content before SignerInfos. */
  readonly signedDataHead: number;
  readonly tstStart: number;
  readonly tstEnd: number;
  readonly signerInfosAt: number;
  /** Where the SignerInfo content starts (version, sid, digestAlgorithm). */
  readonly headStart: number;
  readonly attrsStart: number;
  readonly attrsEnd: number;
  readonly toSign: Uint8Array;
}

/** A built token: its response, and its other parts as views into it made when asked for. */
class Token implements BuiltToken {
  constructor(
    readonly response: Uint8Array,
    /** The buffer the response is a view of, and where its parts lie in it. */
    private readonly buf: Uint8Array,
    private readonly tstStart: number,
    private readonly tstEnd: number,
    /** The signed attributes as carried: [0] IMPLICIT. */
    private readonly attrsStart: number,
    private readonly attrsEnd: number,
    readonly signature: Uint8Array,
  ) {}

  get tstInfo(): Uint8Array {
    return this.buf.subarray(this.tstStart, this.tstEnd);
  }

  /** The SET OF form that was signed (RFC 5652 5.4), a copy. */
  get signedAttributes(): Uint8Array {
    const out = this.buf.slice(this.attrsStart, this.attrsEnd);
    out[0] = 0x31;
    return out;
  }
}

const { tlvSize, writeHeader, writeHeaderBefore } = der;
const SIGNED_DATA_VERSION = Uint8Array.of(0x02, 0x01, 0x03); // version 3: eContentType is not id-data
const TST_INFO_VERSION = Uint8Array.of(0x02, 0x01, 0x01);
const OID_TST_INFO = oid(id_ct_TSTInfo);
const OID_SIGNED_DATA = oid('1.2.840.113549.1.7.2');

/**
 * Token buffers are views into shared 64 KiB slabs: a view costs far less than a buffer of its
 * own, whose memory node:crypto and V8 allocate outside the heap. A slab is zeroed when it is
 * made and no region is handed out twice, so a view's ArrayBuffer holds other tokens only.
 */
const SLAB_SIZE = 65536;
let slab = new ArrayBuffer(SLAB_SIZE);
let slabUsed = 0;

function allocate(size: number): Uint8Array {
  if (size > SLAB_SIZE >> 2) return new Uint8Array(size);
  if (slabUsed + size > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE);
    slabUsed = 0;
  }
  const view = new Uint8Array(slab, slabUsed, size);
  slabUsed += (size + 7) & ~7;
  return view;
}

/** Copies `bytes` into `out` at `offset` (a loop for the short ones); returns the end. */
function put(out: Uint8Array, offset: number, bytes: Uint8Array): number {
  const n = bytes.length;
  if (n < 16) for (let i = 0; i < n; i++) out[offset + i] = bytes[i]!;
  else out.set(bytes, offset);
  return offset + n;
}

/** The SignerInfos SET and SignerInfo SEQUENCE headers for a signature of `signatureLength`. */
function signerInfosHeaderSize(signerInfoFixed: number, signatureLength: number): number {
  const content = signerInfoFixed + tlvSize(signatureLength);
  return tlvSize(tlvSize(content)) - content;
}

/** SignerInfos (SET OF one SignerInfo) whole, for a signature of `signatureLength`. */
function signerInfosSize(signerInfoFixed: number, signatureLength: number): number {
  return tlvSize(tlvSize(signerInfoFixed + tlvSize(signatureLength)));
}

/** TimeStampResp up to the SignedData content: headers, status, ContentInfo's type and [0]. */
function prefixSize(signedDataContent: number): number {
  const signedData = tlvSize(signedDataContent);
  const contentInfo = tlvSize(OID_SIGNED_DATA.length + tlvSize(signedData));
  return tlvSize(STATUS_GRANTED.length + contentInfo) - signedDataContent;
}

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

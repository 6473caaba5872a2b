// The one SignedData profile of the backup bundle and the migration receipt (RFC 5652 5):
// ContentInfo { id-signedData, [0] SignedData { version 3, digestAlgorithms, encapContentInfo
// { eContentType, [0] OCTET STRING }, certificates [0] (the signer's chain), signerInfos {
// SignerInfo v1 (IssuerAndSerialNumber), signedAttrs contentType and messageDigest } } }
// (5.1: version 3 because the eContentType is not id-data). Encoding, strict parsing and the
// signature check; the caller names its eContentType and signs.
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { shake128, shake256 } from '@noble/hashes/sha3.js';
import {
  CMS_DIGESTS,
  encodeSignatureAlgorithm,
  keyAlgorithmInfo,
  verifySignature,
} from './algorithms.js';
import { parseCertificateFields, type CertificateFields } from './certificate.js';
import {
  algorithmIdentifier,
  compareBytes,
  contextConstructed,
  integer,
  octetString,
  oid,
  seq,
  setOf,
  tlv,
} from './der-writer.js';
import {
  assertStrictDer,
  childrenOf,
  contentOf,
  encodingOf,
  expectTag,
  readOctets,
  readOid,
  readTlv,
  readUnsigned,
  type Tlv,
} from './der.js';
import { PkiError } from './errors.js';
import { id_contentType, id_messageDigest, id_signedData } from './oids.js';
import type { Signer } from './signer.js';

/** The SignerInfo digests the profile accepts, with their functions. */
const DIGESTS: Readonly<Record<string, (d: Uint8Array) => Uint8Array>> = {
  [CMS_DIGESTS.sha256.oid]: (d) => sha256(d),
  [CMS_DIGESTS.sha384.oid]: (d) => sha384(d),
  [CMS_DIGESTS.sha512.oid]: (d) => sha512(d),
  [CMS_DIGESTS.shake128.oid]: (d) => shake128(d, { dkLen: 32 }),
  [CMS_DIGESTS.shake256.oid]: (d) => shake256(d, { dkLen: 64 }),
};

/** A parsed SignedData: the certificates, the SignerInfo fields and the eContent octets. */
export interface ParsedSignedData {
  readonly certificates: readonly Uint8Array[];
  readonly signer: {
    readonly issuer: Uint8Array;
    readonly serial: Uint8Array;
    readonly digestAlgorithm: string;
    /** The signed attributes with the SET OF tag (RFC 5652 5.4: what the signature covers). */
    readonly signedAttrs: Uint8Array;
    readonly contentType: string | undefined;
    readonly messageDigest: Uint8Array | undefined;
    readonly signatureAlgorithm: Uint8Array;
    readonly signature: Uint8Array;
  };
  /** The eContent. */
  readonly content: Uint8Array;
}

/** A structural fault of the structure named by `what` ('backup bundle', ...). */
export type Fault = (message: string) => never;

export const faultOf =
  (what: string): Fault =>
  (message) => {
    throw new PkiError('asn1-schema', `${what}: ${message}`);
  };

/** A SET OF Attribute by type; a type that appears twice is a fault (RFC 5652 5.3). */
export function attributesOf(b: Uint8Array, set: Tlv, bad: Fault): Map<string, Tlv[]> {
  const out = new Map<string, Tlv[]>();
  for (const a of childrenOf(b, set)) {
    const [type, values] = childrenOf(b, expectTag(a, 0x30, 'attribute'));
    const id = readOid(b, type);
    if (out.has(id)) bad(`duplicate attribute ${id}`);
    out.set(id, childrenOf(b, expectTag(values, 0x31, 'attribute values')));
  }
  return out;
}

/** The SignedData of `content` as `contentType`, signed by `signer` with its chain. */
export async function buildSignedData(
  contentType: string,
  content: Uint8Array,
  signer: Signer,
): Promise<Uint8Array> {
  const leaf = signer.certificateChain[0];
  if (leaf === undefined)
    throw new PkiError('certificate-invalid', 'the signer has no certificate');
  const cert = parseCertificateFields(leaf);
  const dOid = CMS_DIGESTS[keyAlgorithmInfo(signer.algorithm).cmsDigest].oid;
  const fn = DIGESTS[dOid];
  if (fn === undefined) throw new PkiError('algorithm-unsupported', 'no digest for the signer');
  const digestAlgorithm = algorithmIdentifier(dOid);
  const signedAttrs = setOf(
    seq(oid(id_contentType), setOf(oid(contentType))),
    seq(oid(id_messageDigest), setOf(octetString(fn(content)))),
  );
  const signature = await signer.sign(signedAttrs);
  const attrsImplicit = Uint8Array.from(signedAttrs);
  attrsImplicit[0] = 0xa0;
  const signerInfo = seq(
    integer(1),
    seq(cert.issuer, tlv(0x02, cert.serialNumber)),
    digestAlgorithm,
    attrsImplicit,
    encodeSignatureAlgorithm(signer.algorithm),
    octetString(signature),
  );
  // CertificateSet is a SET OF: sorted by encoding (X.690 11.6).
  const certs = [...signer.certificateChain].sort(compareBytes);
  const signedData = seq(
    integer(3),
    setOf(digestAlgorithm),
    seq(oid(contentType), contextConstructed(0, octetString(content))),
    tlv(0xa0, ...certs),
    setOf(signerInfo),
  );
  return seq(oid(id_signedData), contextConstructed(0, signedData));
}

/**
 * Parses the profile (strict DER throughout, nothing after it), its eContentType
 * `contentType` (named `typeName` in a fault); a structural fault goes to `bad`.
 */
export function parseSignedData(
  bytes: Uint8Array,
  contentType: string,
  typeName: string,
  bad: Fault,
): ParsedSignedData {
  assertStrictDer(bytes);
  const b = bytes;
  const top = readTlv(b, 0);
  if (top.end !== b.length) bad('trailing bytes');
  const ci = childrenOf(b, expectTag(top, 0x30, 'ContentInfo'));
  if (ci.length !== 2 || readOid(b, ci[0]) !== id_signedData) bad('not a SignedData');
  const sdT = childrenOf(b, expectTag(ci[1], 0xa0, 'content'))[0];
  const sd = childrenOf(b, expectTag(sdT, 0x30, 'SignedData'));
  // version, digestAlgorithms, encapContentInfo, certificates [0], signerInfos; no CRLs.
  if (sd.length !== 5 || readUnsigned(b, sd[0]) !== 3n) bad('SignedData shape or version');
  const eci = childrenOf(b, expectTag(sd[2], 0x30, 'encapContentInfo'));
  if (eci.length !== 2 || readOid(b, eci[0]) !== contentType) {
    bad(`eContentType is not ${typeName}`);
  }
  const content = readOctets(b, childrenOf(b, expectTag(eci[1], 0xa0, 'eContent'))[0]);
  const certificates = childrenOf(b, expectTag(sd[3], 0xa0, 'certificates')).map((t) => {
    expectTag(t, 0x30, 'certificate');
    return encodingOf(b, t);
  });
  const sis = childrenOf(b, expectTag(sd[4], 0x31, 'signerInfos'));
  if (sis.length !== 1) bad('exactly one SignerInfo');
  const si = childrenOf(b, expectTag(sis[0], 0x30, 'SignerInfo'));
  if (si.length !== 6 || readUnsigned(b, si[0]) !== 1n) bad('SignerInfo shape or version');
  const sid = childrenOf(b, expectTag(si[1], 0x30, 'IssuerAndSerialNumber'));
  const digestAlgorithm = readOid(b, childrenOf(b, expectTag(si[2], 0x30, 'digestAlgorithm'))[0]);
  const attrsT = expectTag(si[3], 0xa0, 'signedAttrs');
  const signedAttrs = Uint8Array.from(encodingOf(b, attrsT));
  signedAttrs[0] = 0x31; // RFC 5652 5.4: the signature covers the SET OF encoding
  const attrs = attributesOf(b, attrsT, bad);
  const ct = attrs.get(id_contentType);
  const md = attrs.get(id_messageDigest);
  return {
    certificates,
    signer: {
      issuer: encodingOf(b, expectTag(sid[0], 0x30, 'issuer')),
      serial: contentOf(b, expectTag(sid[1], 0x02, 'serialNumber')),
      digestAlgorithm,
      signedAttrs,
      contentType: ct?.length === 1 ? readOid(b, ct[0]) : undefined,
      messageDigest: md?.length === 1 ? readOctets(b, md[0]) : undefined,
      signatureAlgorithm: encodingOf(b, expectTag(si[4], 0x30, 'signatureAlgorithm')),
      signature: readOctets(b, si[5]),
    },
    content,
  };
}

/** The certificate the SignerInfo names (issuer and serial), among the structure's own. */
export function signerCertificate(
  p: Pick<ParsedSignedData, 'certificates' | 'signer'>,
): CertificateFields | undefined {
  for (const der of p.certificates) {
    const c = parseCertificateFields(der);
    if (
      compareBytes(c.issuer, p.signer.issuer) === 0 &&
      compareBytes(c.serialNumber, p.signer.serial) === 0
    ) {
      return c;
    }
  }
  return undefined;
}

/**
 * The signature checks (RFC 5652 5.4, 5.6, 11.1, 11.2): a signer certificate in the structure,
 * the contentType attribute `contentType`, messageDigest the digest of the eContent, the
 * signature valid under the certificate's key. Undefined when all pass; else the failure, in the
 * words of `names` (what the structure and its content are called).
 */
export async function signedDataProblem(
  p: ParsedSignedData,
  contentType: string,
  names: { readonly structure: string; readonly type: string; readonly content: string },
): Promise<string | undefined> {
  const cert = signerCertificate(p);
  if (cert === undefined) return `no certificate in the ${names.structure} matches the SignerInfo`;
  if (p.signer.contentType !== contentType) {
    return `the contentType attribute is not ${names.type}`;
  }
  const fn = DIGESTS[p.signer.digestAlgorithm];
  if (fn === undefined) return 'the digest algorithm is not supported';
  const md = p.signer.messageDigest;
  if (md === undefined || compareBytes(md, fn(p.content)) !== 0) {
    return `the messageDigest attribute does not match the ${names.content}`;
  }
  const ok = await verifySignature(
    cert.spki,
    p.signer.signatureAlgorithm,
    p.signer.signedAttrs,
    p.signer.signature,
  );
  return ok ? undefined : 'the signature does not verify under the signer certificate';
}

// The migration receipt's CMS (README "Backup and migration"): a SignedData (RFC 5652 5) by the
// target partition's attestation key, its certificates root -> device -> partition included,
// whose eContent (id-ct-attestampMigrationReceipt) is the receipt statement as RFC 8785 JSON.
// Encoding, strict parsing and the signature check; the chain is checked as a bundle's
// (verifyBundleChain). No private keys here: the caller signs.
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { shake128, shake256 } from '@noble/hashes/sha3.js';
import {
  CMS_DIGESTS,
  encodeSignatureAlgorithm,
  keyAlgorithmInfo,
  verifySignature,
} from './algorithms.js';
import { bundleSignerCertificate, type ParsedBundle } from './backup-bundle.js';
import { parseCertificateFields } from './certificate.js';
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
import {
  id_contentType,
  id_ct_attestampMigrationReceipt,
  id_messageDigest,
  id_signedData,
} from './oids.js';
import type { Signer } from './signer.js';

/** Largest receipt accepted: a statement of thousands of keys is well under this. */
export const MAX_RECEIPT_BYTES = 16 * 1024 * 1024;

const DIGESTS: Readonly<Record<string, (d: Uint8Array) => Uint8Array>> = {
  [CMS_DIGESTS.sha256.oid]: (d) => sha256(d),
  [CMS_DIGESTS.sha384.oid]: (d) => sha384(d),
  [CMS_DIGESTS.sha512.oid]: (d) => sha512(d),
  [CMS_DIGESTS.shake128.oid]: (d) => shake128(d, { dkLen: 32 }),
  [CMS_DIGESTS.shake256.oid]: (d) => shake256(d, { dkLen: 64 }),
};

const bad = (message: string): never => {
  throw new PkiError('asn1-schema', `migration receipt: ${message}`);
};

/**
 * ContentInfo { id-signedData, [0] SignedData { version 3, digestAlgorithms,
 * encapContentInfo { id-ct-attestampMigrationReceipt, [0] OCTET STRING (the JSON) },
 * certificates [0] (the signer's chain), signerInfos { SignerInfo v1 (IssuerAndSerialNumber),
 * signedAttrs contentType and messageDigest } } } (RFC 5652 5.1: version 3, eContentType not
 * id-data).
 */
export async function buildMigrationReceipt(
  statement: Uint8Array,
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
    seq(oid(id_contentType), setOf(oid(id_ct_attestampMigrationReceipt))),
    seq(oid(id_messageDigest), setOf(octetString(fn(statement)))),
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
    seq(oid(id_ct_attestampMigrationReceipt), contextConstructed(0, octetString(statement))),
    tlv(0xa0, ...certs),
    setOf(signerInfo),
  );
  return seq(oid(id_signedData), contextConstructed(0, signedData));
}

/** A parsed receipt: the certificates, the SignerInfo fields and the statement's octets. */
export interface ParsedMigrationReceipt extends Pick<ParsedBundle, 'certificates' | 'signer'> {
  /** The eContent: the statement (RFC 8785 JSON text). */
  readonly statement: Uint8Array;
}

function attributes(b: Uint8Array, set: Tlv): Map<string, Tlv[]> {
  const out = new Map<string, Tlv[]>();
  for (const a of childrenOf(b, set)) {
    const [type, values] = childrenOf(b, expectTag(a, 0x30, 'attribute'));
    const id = readOid(b, type);
    // RFC 5652 5.3: an attribute type appears once.
    if (out.has(id)) bad(`duplicate attribute ${id}`);
    out.set(id, childrenOf(b, expectTag(values, 0x31, 'attribute values')));
  }
  return out;
}

/** Parses a receipt (strict DER throughout); a structural fault is a PkiError. */
export function parseMigrationReceipt(bytes: Uint8Array): ParsedMigrationReceipt {
  if (bytes.length > MAX_RECEIPT_BYTES) bad('too large');
  assertStrictDer(bytes);
  const b = bytes;
  const top = readTlv(b, 0);
  if (top.end !== b.length) bad('trailing bytes');
  const ci = childrenOf(b, expectTag(top, 0x30, 'ContentInfo'));
  if (ci.length !== 2 || readOid(b, ci[0]) !== id_signedData) bad('not a SignedData');
  const sdT = childrenOf(b, expectTag(ci[1], 0xa0, 'content'))[0];
  const sd = childrenOf(b, expectTag(sdT, 0x30, 'SignedData'));
  if (sd.length !== 5 || readUnsigned(b, sd[0]) !== 3n) bad('SignedData shape or version');
  const eci = childrenOf(b, expectTag(sd[2], 0x30, 'encapContentInfo'));
  if (eci.length !== 2 || readOid(b, eci[0]) !== id_ct_attestampMigrationReceipt) {
    bad('eContentType is not id-ct-attestampMigrationReceipt');
  }
  const statement = readOctets(b, childrenOf(b, expectTag(eci[1], 0xa0, 'eContent'))[0]);
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
  const attrs = attributes(b, attrsT);
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
    statement,
  };
}

/**
 * The signature checks (RFC 5652 5.4, 5.6, 11.1, 11.2): a signer certificate in the receipt,
 * contentType id-ct-attestampMigrationReceipt, messageDigest the digest of the statement, the
 * signature valid under the certificate's key. Undefined when all pass; else the failure.
 */
export async function receiptSignatureProblem(
  p: ParsedMigrationReceipt,
): Promise<string | undefined> {
  const cert = bundleSignerCertificate(p);
  if (cert === undefined) return 'no certificate in the receipt matches the SignerInfo';
  if (p.signer.contentType !== id_ct_attestampMigrationReceipt) {
    return 'the contentType attribute is not id-ct-attestampMigrationReceipt';
  }
  const fn = DIGESTS[p.signer.digestAlgorithm];
  if (fn === undefined) return 'the digest algorithm is not supported';
  const md = p.signer.messageDigest;
  if (md === undefined || compareBytes(md, fn(p.statement)) !== 0) {
    return 'the messageDigest attribute does not match the statement';
  }
  const ok = await verifySignature(
    cert.spki,
    p.signer.signatureAlgorithm,
    p.signer.signedAttrs,
    p.signer.signature,
  );
  return ok ? undefined : 'the signature does not verify under the signer certificate';
}

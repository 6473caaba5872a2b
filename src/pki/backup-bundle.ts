// The partition backup bundle's ASN.1 (README "Backup and migration"): a CMS SignedData
// (RFC 5652 5) by the source partition's attestation key, its certificates root -> device ->
// partition included, whose eContent is a CMS AuthEnvelopedData (RFC 5083) under AES-256-GCM
// (RFC 5084); the manifest travels as an authenticated attribute (readable without decrypting,
// covered by the GCM tag and by the signature), the sealed key records as the encrypted content.
// Encoding, strict parsing and the checks that need no secret: the signature and the fixed
// root -> device -> partition chain. No private keys here: the caller signs and encrypts.
import { sha256 } from '@noble/hashes/sha2.js';
import { verifySignature } from './algorithms.js';
import { parseCertificateFields, type CertificateFields } from './certificate.js';
import {
  algorithmIdentifier,
  compareBytes,
  contextPrimitive,
  integer,
  octetString,
  oid,
  seq,
  setOf,
} from './der-writer.js';
import {
  childrenOf,
  contentOf,
  encodingOf,
  expectTag,
  readOctets,
  readOid,
  readTlv,
  readUnsigned,
} from './der.js';
import {
  encodeRecipientInfo,
  parseRecipientInfo,
  type CmsRecipient,
  type KekRecipient,
} from './cms-recipients.js';
import {
  attributesOf,
  buildSignedData,
  faultOf,
  parseSignedData,
  signedDataProblem,
  signerCertificate,
  type ParsedSignedData,
} from './cms-signed-data.js';
import { PkiError } from './errors.js';
import { parseHsmRole, type HsmRole } from './hsm-role.js';
import {
  id_aa_attestampBackupManifest,
  id_aes256_GCM,
  id_ce_hsmRole,
  id_contentType,
  id_ct_attestampBackupRecords,
  id_ct_authEnvelopedData,
} from './oids.js';
import type { Signer } from './signer.js';
import { toHex } from '../shared/index.js';

/** Largest bundle accepted: a partition of thousands of keys is a few MiB; more is hostile. */
export const MAX_BUNDLE_BYTES = 64 * 1024 * 1024;

/** GCM nonce (RFC 5084 3.2: 12 octets recommended) and tag length (16: the full tag). */
export const BUNDLE_NONCE_LENGTH = 12;
export const BUNDLE_TAG_LENGTH = 16;

/**
 * A recipient of the content-encryption key (src/pki/cms-recipients.ts): `kek`, a
 * KEKRecipientInfo under a backup-domain key named by its id (the UTF-8 of the id in
 * KEKIdentifier.keyIdentifier); `kem`, a KEMRecipientInfo (RFC 9629) for an ML-KEM-768 transport
 * key; `kari`, a KeyAgreeRecipientInfo (RFC 5753) for an ECDH P-256 transport key. The two
 * transport recipients name the transport certificate by its subjectKeyIdentifier.
 */
export type BundleKekRecipient = KekRecipient;
export type BundleRecipient = CmsRecipient;

const bad = faultOf('backup bundle');

/**
 * The authenticated attributes (RFC 5083 2.1: contentType MUST be present when the content is
 * not id-data) as the SET OF encoding that is the GCM additional data:
 *   AuthAttributes ::= SET SIZE (1..MAX) OF Attribute
 *   Attribute { id-aa-attestampBackupManifest, SET { OCTET STRING (RFC 8785 JSON) } }
 */
export function encodeBundleAuthAttributes(manifest: Uint8Array): Uint8Array {
  return setOf(
    seq(oid(id_contentType), setOf(oid(id_ct_attestampBackupRecords))),
    seq(oid(id_aa_attestampBackupManifest), setOf(octetString(manifest))),
  );
}

/**
 * AuthEnvelopedData ::= SEQUENCE {
 *   version CMSVersion (0),
 *   recipientInfos RecipientInfos,
 *   authEncryptedContentInfo EncryptedContentInfo,
 *   authAttrs [1] IMPLICIT AuthAttributes,
 *   mac MessageAuthenticationCode }
 * EncryptedContentInfo ::= SEQUENCE { contentType id-ct-attestampBackupRecords,
 *   contentEncryptionAlgorithm { id-aes256-GCM, GCMParameters { aes-nonce, aes-ICVlen 16 } },
 *   encryptedContent [0] IMPLICIT OCTET STRING }
 * RecipientInfos: a KEKRecipientInfo, a KEMRecipientInfo (in an OtherRecipientInfo) or a
 * KeyAgreeRecipientInfo (src/pki/cms-recipients.ts). RFC 5083 2.1: the version stays 0 whatever
 * the recipients.
 */
export function encodeAuthEnvelopedData(parts: {
  readonly recipients: readonly BundleRecipient[];
  readonly nonce: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly tag: Uint8Array;
  readonly authAttributes: Uint8Array;
}): Uint8Array {
  const recipients = parts.recipients.map(encodeRecipientInfo);
  const attrs = Uint8Array.from(parts.authAttributes);
  attrs[0] = 0xa1; // [1] IMPLICIT SET OF
  return seq(
    integer(0),
    setOf(...recipients),
    seq(
      oid(id_ct_attestampBackupRecords),
      algorithmIdentifier(id_aes256_GCM, seq(octetString(parts.nonce), integer(BUNDLE_TAG_LENGTH))),
      contextPrimitive(0, parts.ciphertext),
    ),
    attrs,
    octetString(parts.tag),
  );
}

/**
 * ContentInfo { id-signedData, [0] SignedData { version 3, digestAlgorithms, encapContentInfo
 * { id-ct-authEnvelopedData, [0] OCTET STRING }, certificates [0] (the signer's chain),
 * signerInfos { SignerInfo v1 (IssuerAndSerialNumber), signedAttrs contentType and
 * messageDigest } } } (RFC 5652 5.1: version 3 because the eContentType is not id-data).
 */
export function buildBackupSignedData(content: Uint8Array, signer: Signer): Promise<Uint8Array> {
  return buildSignedData(id_ct_authEnvelopedData, content, signer);
}

/** A parsed bundle: every field the checks and the restore read, as bytes of the input. */
export interface ParsedBundle extends ParsedSignedData {
  /** The eContent: the DER AuthEnvelopedData. */
  readonly content: Uint8Array;
  readonly recipients: readonly BundleRecipient[];
  readonly nonce: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly tag: Uint8Array;
  /** The authenticated attributes as the GCM additional data (SET OF tag). */
  readonly authAttributes: Uint8Array;
  /** The manifest attribute's octets (RFC 8785 JSON text). */
  readonly manifest: Uint8Array;
}

function parseAuthEnveloped(
  b: Uint8Array,
): Omit<ParsedBundle, 'certificates' | 'signer' | 'content'> {
  const top = readTlv(b, 0);
  if (top.end !== b.length) bad('trailing bytes after the AuthEnvelopedData');
  const f = childrenOf(b, expectTag(top, 0x30, 'AuthEnvelopedData'));
  // RFC 5083 2.1: version 0; no originatorInfo, no unauthAttrs in this profile.
  if (f.length !== 5 || readUnsigned(b, f[0]) !== 0n) bad('AuthEnvelopedData shape or version');
  const recipients: BundleRecipient[] = [];
  for (const ri of childrenOf(b, expectTag(f[1], 0x31, 'recipientInfos'))) {
    recipients.push(parseRecipientInfo(b, ri));
  }
  if (recipients.length === 0) bad('no recipient');
  const eci = childrenOf(b, expectTag(f[2], 0x30, 'EncryptedContentInfo'));
  if (eci.length !== 3 || readOid(b, eci[0]) !== id_ct_attestampBackupRecords) {
    bad('encrypted content type');
  }
  const cea = childrenOf(b, expectTag(eci[1], 0x30, 'contentEncryptionAlgorithm'));
  if (cea.length !== 2 || readOid(b, cea[0]) !== id_aes256_GCM) bad('content encryption algorithm');
  const gcm = childrenOf(b, expectTag(cea[1], 0x30, 'GCMParameters'));
  const nonce = readOctets(b, gcm[0]);
  if (gcm.length !== 2 || nonce.length !== BUNDLE_NONCE_LENGTH) bad('GCM nonce');
  if (readUnsigned(b, gcm[1]) !== BigInt(BUNDLE_TAG_LENGTH)) bad('GCM tag length');
  const ct = expectTag(eci[2], 0x80, 'encryptedContent');
  const attrsT = expectTag(f[3], 0xa1, 'authAttrs');
  const authAttributes = Uint8Array.from(encodingOf(b, attrsT));
  authAttributes[0] = 0x31; // RFC 5083 2.1: the AAD is the DER of the SET OF
  const attrs = attributesOf(b, attrsT, bad);
  const type = attrs.get(id_contentType);
  if (type?.length !== 1 || readOid(b, type[0]) !== id_ct_attestampBackupRecords) {
    bad('authAttrs content type');
  }
  const manifest = attrs.get(id_aa_attestampBackupManifest);
  if (manifest?.length !== 1) bad('no manifest');
  if (attrs.size !== 2) bad('unknown authenticated attribute');
  const tag = readOctets(b, f[4]);
  if (tag.length !== BUNDLE_TAG_LENGTH) bad('mac length');
  return {
    recipients,
    nonce,
    ciphertext: contentOf(b, ct),
    tag,
    authAttributes,
    manifest: readOctets(b, manifest![0]),
  };
}

/** Parses a bundle (strict DER throughout); a structural fault is a PkiError. */
export function parseBackupBundle(bytes: Uint8Array): ParsedBundle {
  if (bytes.length > MAX_BUNDLE_BYTES) bad('too large');
  const signed = parseSignedData(bytes, id_ct_authEnvelopedData, 'id-ct-authEnvelopedData', bad);
  return { ...signed, ...parseAuthEnveloped(signed.content) };
}

/** The certificate of the bundle the SignerInfo names (issuer and serial), if any. */
export function bundleSignerCertificate(
  p: Pick<ParsedSignedData, 'certificates' | 'signer'>,
): CertificateFields | undefined {
  return signerCertificate(p);
}

/**
 * The signature checks (RFC 5652 5.4, 5.6, 11.1, 11.2): a signer certificate in the bundle,
 * contentType id-ct-authEnvelopedData, messageDigest the digest of the eContent, the
 * signature valid under the certificate's key. Undefined when all pass; else the failure.
 */
export function bundleSignatureProblem(p: ParsedBundle): Promise<string | undefined> {
  return signedDataProblem(p, id_ct_authEnvelopedData, {
    structure: 'bundle',
    type: 'id-ct-authEnvelopedData',
    content: 'content',
  });
}

function roleOf(c: CertificateFields): HsmRole | undefined {
  const ext = c.extensions.find((e) => e.oid === id_ce_hsmRole);
  if (ext === undefined) return undefined;
  try {
    return parseHsmRole(ext.value);
  } catch {
    return undefined;
  }
}

/** The link child -> issuer: names chain, the issuer's signature verifies, both valid at `at`. */
async function checkLink(
  child: CertificateFields,
  issuer: CertificateFields,
  at: Date,
  fail: (reason: string) => never,
): Promise<void> {
  if (compareBytes(child.issuer, issuer.subject) !== 0) fail('issuer name mismatch');
  if (!(await verifySignature(issuer.spki, child.signatureAlgorithm, child.tbs, child.signature))) {
    fail('a certificate signature does not verify');
  }
  for (const c of [child, issuer]) {
    if (at < c.notBefore || at > c.notAfter) fail('a certificate is not valid now');
  }
}

const chainFailure = (reason: string): never => {
  throw new PkiError('certificate-invalid', `backup chain: ${reason}`);
};

/**
 * A device certificate issued by the pinned root (byte for byte the caller's), valid at `at`,
 * naming the device role (ARC.7.1): returns the device id. PkiError certificate-invalid else.
 */
export async function verifyDeviceCertificate(
  device: Uint8Array,
  root: Uint8Array,
  at: Date,
): Promise<string> {
  const d = parseCertificateFields(device);
  await checkLink(d, parseCertificateFields(root), at, chainFailure);
  const role = roleOf(d);
  if (role?.role !== 'device' || role.deviceId === undefined) chainFailure('no device role');
  return role!.deviceId!;
}

/**
 * The fixed chain an HSM checks before it opens a bundle: exactly three certificates, the
 * pinned root (byte for byte), a device certificate signed by it, and the SignerInfo's
 * partition attestation certificate signed by that device, each valid at `at` and naming its
 * HSM role (ARC.7.1). Returns the device and partition ids the certificates name; throws
 * PkiError certificate-invalid with the reason. The verifier runs full RFC 5280 validation.
 */
export async function verifyBundleChain(
  p: Pick<ParsedBundle, 'certificates' | 'signer'>,
  root: Uint8Array,
  at: Date,
): Promise<{ deviceId: string; partitionId: string }> {
  const fail = chainFailure;
  if (p.certificates.length !== 3) fail('not exactly root, device and partition certificates');
  const leaf = bundleSignerCertificate(p) ?? fail('no signer certificate');
  if (!p.certificates.some((c) => compareBytes(c, root) === 0))
    fail('the root is not the pinned root');
  const device = p.certificates.find(
    (c) => compareBytes(c, root) !== 0 && compareBytes(c, leaf.der) !== 0,
  );
  if (device === undefined) fail('no device certificate');
  const deviceId = await verifyDeviceCertificate(device!, root, at);
  await checkLink(leaf, parseCertificateFields(device!), at, fail);
  const pRole = roleOf(leaf);
  if (
    pRole?.role !== 'partition-attestation' ||
    pRole.deviceId !== deviceId ||
    pRole.partitionId === undefined
  ) {
    fail('the signer is not a partition attestation key of that device');
  }
  return { deviceId, partitionId: pRole!.partitionId! };
}

/** The digest of a bundle's bytes that statements and audit entries name (SHA-256, hex). */
export function bundleDigest(bytes: Uint8Array): string {
  return toHex(sha256(bytes));
}

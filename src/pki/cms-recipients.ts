// CMS RecipientInfo structures (RFC 5652 6.2) a backup bundle's AuthEnvelopedData carries:
// KEKRecipientInfo (RFC 5652 6.2.3) for a backup domain, KEMRecipientInfo (RFC 9629 3) inside
// OtherRecipientInfo for an ML-KEM transport key, and KeyAgreeRecipientInfo (RFC 5652 6.2.2,
// RFC 5753 3.1) for an ephemeral-static ECDH P-256 transport key; the KDF inputs each one
// defines (CMSORIforKEMOtherInfo, RFC 9629 5; ECC-CMS-SharedInfo, RFC 5753 7.2), and the
// project's custodian share (a KeyAgreeRecipientInfo carrying one Shamir share of the
// content-encryption key inside OtherRecipientInfo, oriType ARC.8.3). Encoding and
// strict parsing only: the key agreement, the KEM and the key derivation run in the HSM.
import {
  algorithmIdentifier,
  contextConstructed,
  contextPrimitive,
  integer,
  octetString,
  oid,
  seq,
  tlv,
} from './der-writer.js';
import {
  childrenOf,
  contentOf,
  expectTag,
  readOctets,
  readOid,
  readTlv,
  readUnsigned,
  type Tlv,
} from './der.js';
import { PkiError } from './errors.js';
import {
  id_aes256_wrap,
  id_aes256_wrap_pad,
  id_alg_hkdf_with_sha256,
  id_alg_ml_kem_768,
  id_dhSinglePass_stdDH_sha256kdf_scheme,
  id_ecPublicKey,
  id_ori_attestampCustodianShare,
  id_ori_kem,
} from './oids.js';

/** RFC 3394 AES-256 key wrap: 32-octet KEK, 40-octet wrapped 32-octet CEK. */
export const KEK_LENGTH = 32;
/** An EC P-256 uncompressed point (SEC 1 2.3.3): 0x04 || X || Y. */
export const P256_POINT_LENGTH = 65;
/** Largest UserKeyingMaterial accepted: RFC 5753 uses 64 octets; more serves no purpose here. */
export const MAX_UKM_LENGTH = 1024;

/**
 * KEKRecipientInfo ::= SEQUENCE { version CMSVersion (4), kekid KEKIdentifier,
 *   keyEncryptionAlgorithm KeyEncryptionAlgorithmIdentifier (id-aes256-wrap),
 *   encryptedKey EncryptedKey }
 * KEKIdentifier ::= SEQUENCE { keyIdentifier OCTET STRING } -- no date, no other
 */
export interface KekRecipient {
  readonly kind: 'kek';
  /** KEKIdentifier.keyIdentifier. */
  readonly keyIdentifier: Uint8Array;
  readonly encryptedKey: Uint8Array;
}

/**
 * OtherRecipientInfo ::= [4] IMPLICIT SEQUENCE { oriType id-ori-kem, oriValue KEMRecipientInfo }
 * KEMRecipientInfo ::= SEQUENCE {
 *   version CMSVersion,  -- always set to 0
 *   rid RecipientIdentifier,  -- here subjectKeyIdentifier [0] IMPLICIT OCTET STRING
 *   kem KEMAlgorithmIdentifier,  -- id-alg-ml-kem-768, parameters absent (RFC 9936 3)
 *   kemct OCTET STRING,
 *   kdf KeyDerivationAlgorithmIdentifier,  -- id-alg-hkdf-with-sha256, parameters absent
 *   kekLength INTEGER (1..65535),
 *   ukm [0] EXPLICIT UserKeyingMaterial OPTIONAL,
 *   wrap KeyEncryptionAlgorithmIdentifier,  -- id-aes256-wrap, parameters absent
 *   encryptedKey EncryptedKey }
 */
export interface KemRecipient {
  readonly kind: 'kem';
  /** The recipient certificate's subjectKeyIdentifier. */
  readonly subjectKeyIdentifier: Uint8Array;
  readonly kem: string;
  readonly kemct: Uint8Array;
  readonly kdf: string;
  readonly kekLength: number;
  readonly ukm?: Uint8Array;
  readonly wrap: string;
  readonly encryptedKey: Uint8Array;
}

/**
 * KeyAgreeRecipientInfo ::= [1] IMPLICIT SEQUENCE {
 *   version CMSVersion,  -- always set to 3
 *   originator [0] EXPLICIT OriginatorIdentifierOrKey,  -- originatorKey [1] OriginatorPublicKey
 *   ukm [1] EXPLICIT UserKeyingMaterial OPTIONAL,
 *   keyEncryptionAlgorithm KeyEncryptionAlgorithmIdentifier,
 *     -- dhSinglePass-stdDH-sha256kdf-scheme, parameters KeyWrapAlgorithm id-aes256-wrap
 *   recipientEncryptedKeys RecipientEncryptedKeys }
 * OriginatorPublicKey ::= SEQUENCE { algorithm AlgorithmIdentifier (id-ecPublicKey, absent
 *   parameters: the recipient's curve, RFC 5753 3.1.1), publicKey BIT STRING }
 * RecipientEncryptedKeys ::= SEQUENCE OF RecipientEncryptedKey -- exactly one here
 * RecipientEncryptedKey ::= SEQUENCE { rid KeyAgreeRecipientIdentifier, encryptedKey }
 * KeyAgreeRecipientIdentifier ::= CHOICE { issuerAndSerialNumber,
 *   rKeyId [0] IMPLICIT RecipientKeyIdentifier }
 * RecipientKeyIdentifier ::= SEQUENCE { subjectKeyIdentifier SubjectKeyIdentifier, ... }
 */
export interface KeyAgreeRecipient {
  readonly kind: 'kari';
  /** The originator's ephemeral public key: an uncompressed P-256 point. */
  readonly originatorKey: Uint8Array;
  readonly ukm?: Uint8Array;
  readonly keyEncryptionAlgorithm: string;
  readonly wrap: string;
  /** rKeyId.subjectKeyIdentifier of the one RecipientEncryptedKey. */
  readonly subjectKeyIdentifier: Uint8Array;
  readonly encryptedKey: Uint8Array;
}

/**
 * OtherRecipientInfo ::= [4] IMPLICIT SEQUENCE { oriType id-ori-attestampCustodianShare (ARC.8.3),
 *   oriValue CustodianShareRecipientInfo }
 * CustodianShareRecipientInfo ::= SEQUENCE {
 *   version INTEGER (0),
 *   threshold INTEGER (2..16),  -- shares needed to rebuild the content-encryption key
 *   index INTEGER (1..16),  -- this custodian's place in the manifest's custodian list
 *   kari KeyAgreeRecipientInfo }  -- ECDH P-256 to the custodian's certificate, wrapping the
 *     -- share (33 octets) with id-aes256-wrap-pad (RFC 5649): not the CEK itself
 * A standard CMS parser sees an OtherRecipientInfo of an unknown type and skips it.
 */
export interface CustodianShareRecipient {
  readonly kind: 'custodian-share';
  readonly threshold: number;
  readonly index: number;
  readonly kari: KeyAgreeRecipient;
}

/** Most custodians of one bundle (a t-of-n split with n at most this). */
export const MAX_CUSTODIANS = 16;

export type CmsRecipient =
  KekRecipient | KemRecipient | KeyAgreeRecipient | CustodianShareRecipient;

const bad = (message: string): never => {
  throw new PkiError('asn1-schema', `recipient info: ${message}`);
};

const checkUkm = (ukm: Uint8Array | undefined): void => {
  if (ukm !== undefined && (ukm.length === 0 || ukm.length > MAX_UKM_LENGTH)) bad('ukm length');
};

/** The DER RecipientInfo of one recipient (a RecipientInfos SET OF element). */
export function encodeRecipientInfo(r: CmsRecipient): Uint8Array {
  switch (r.kind) {
    case 'kek':
      return contextConstructed(
        2,
        integer(4),
        seq(octetString(r.keyIdentifier)),
        algorithmIdentifier(id_aes256_wrap),
        octetString(r.encryptedKey),
      );
    case 'kem': {
      checkUkm(r.ukm);
      if (!Number.isSafeInteger(r.kekLength) || r.kekLength < 1 || r.kekLength > 65535) {
        bad('kekLength');
      }
      const kemri = seq(
        integer(0),
        contextPrimitive(0, r.subjectKeyIdentifier),
        algorithmIdentifier(r.kem),
        octetString(r.kemct),
        algorithmIdentifier(r.kdf),
        integer(r.kekLength),
        ...(r.ukm === undefined ? [] : [contextConstructed(0, octetString(r.ukm))]),
        algorithmIdentifier(r.wrap),
        octetString(r.encryptedKey),
      );
      return contextConstructed(4, oid(id_ori_kem), kemri);
    }
    case 'custodian-share': {
      checkShareNumbers(r.threshold, r.index);
      const kari = encodeRecipientInfo(r.kari);
      // KeyAgreeRecipientInfo as a SEQUENCE (its [1] tag is the RecipientInfo CHOICE's).
      kari[0] = 0x30;
      const value = seq(integer(0), integer(r.threshold), integer(r.index), kari);
      return contextConstructed(4, oid(id_ori_attestampCustodianShare), value);
    }
    case 'kari': {
      checkUkm(r.ukm);
      const originatorKey = contextConstructed(
        1,
        algorithmIdentifier(id_ecPublicKey),
        tlv(0x03, Uint8Array.of(0), r.originatorKey),
      );
      return contextConstructed(
        1,
        integer(3),
        contextConstructed(0, originatorKey),
        ...(r.ukm === undefined ? [] : [contextConstructed(1, octetString(r.ukm))]),
        algorithmIdentifier(r.keyEncryptionAlgorithm, algorithmIdentifier(r.wrap)),
        seq(
          seq(
            contextConstructed(0, octetString(r.subjectKeyIdentifier)),
            octetString(r.encryptedKey),
          ),
        ),
      );
    }
  }
}

/** threshold 2..MAX_CUSTODIANS, index 1..MAX_CUSTODIANS: the limits of a custodian split. */
function checkShareNumbers(threshold: number, index: number): void {
  if (!Number.isSafeInteger(threshold) || threshold < 2 || threshold > MAX_CUSTODIANS) {
    bad('custodian share threshold');
  }
  if (!Number.isSafeInteger(index) || index < 1 || index > MAX_CUSTODIANS) {
    bad('custodian share index');
  }
}

/** An AlgorithmIdentifier with absent parameters (the only form these recipients use). */
function bareAlgorithm(b: Uint8Array, t: Tlv | undefined, what: string): string {
  const f = childrenOf(b, expectTag(t, 0x30, what));
  if (f.length !== 1) bad(`${what} with parameters`);
  return readOid(b, f[0]);
}

function parseKemRecipientInfo(b: Uint8Array, t: Tlv): KemRecipient {
  const f = childrenOf(b, expectTag(t, 0x30, 'KEMRecipientInfo'));
  // RFC 9629 3: version is always 0.
  if (readUnsigned(b, f[0]) !== 0n) bad('KEMRecipientInfo version');
  if (f[1]?.tag !== 0x80) bad('KEMRecipientInfo rid is not a subjectKeyIdentifier');
  const subjectKeyIdentifier = contentOf(b, f[1]!);
  const kem = bareAlgorithm(b, f[2], 'kem');
  const kemct = readOctets(b, f[3]);
  const kdf = bareAlgorithm(b, f[4], 'kdf');
  const kekLength = readUnsigned(b, f[5]);
  // RFC 9629 3: kekLength INTEGER (1..65535).
  if (kekLength < 1n || kekLength > 65535n) bad('kekLength');
  let i = 6;
  let ukm: Uint8Array | undefined;
  if (f[i]?.tag === 0xa0) {
    const inner = childrenOf(b, f[i]!);
    if (inner.length !== 1) bad('ukm');
    ukm = readOctets(b, inner[0]);
    checkUkm(ukm);
    i++;
  }
  const wrap = bareAlgorithm(b, f[i], 'wrap');
  const encryptedKey = readOctets(b, f[i + 1]);
  if (f.length !== i + 2) bad('KEMRecipientInfo shape');
  return {
    kind: 'kem',
    subjectKeyIdentifier,
    kem,
    kemct,
    kdf,
    kekLength: Number(kekLength),
    ...(ukm === undefined ? {} : { ukm }),
    wrap,
    encryptedKey,
  };
}

function parseKeyAgreeRecipientInfo(b: Uint8Array, t: Tlv): KeyAgreeRecipient {
  const f = childrenOf(b, t);
  // RFC 5652 6.2.2: version is always 3.
  if (readUnsigned(b, f[0]) !== 3n) bad('KeyAgreeRecipientInfo version');
  const orig = childrenOf(b, expectTag(f[1], 0xa0, 'originator'));
  if (orig.length !== 1) bad('originator');
  // RFC 5753 3.1.1: the originator MUST be originatorKey (ephemeral-static).
  const opk = childrenOf(b, expectTag(orig[0], 0xa1, 'originatorKey'));
  if (opk.length !== 2) bad('OriginatorPublicKey shape');
  const alg = childrenOf(b, expectTag(opk[0], 0x30, 'originatorKey algorithm'));
  // RFC 5753 3.1.1: id-ecPublicKey, parameters absent or NULL (the recipient's curve).
  if (readOid(b, alg[0]) !== id_ecPublicKey) bad('originatorKey algorithm');
  if (alg.length === 2 && (alg[1]!.tag !== 0x05 || alg[1]!.end - alg[1]!.valueStart !== 0)) {
    bad('originatorKey parameters');
  }
  if (alg.length > 2) bad('originatorKey algorithm shape');
  const bits = contentOf(b, expectTag(opk[1], 0x03, 'originatorKey publicKey'));
  if (bits[0] !== 0) bad('originatorKey publicKey has unused bits');
  const originatorKey = bits.subarray(1);
  let i = 2;
  let ukm: Uint8Array | undefined;
  if (f[i]?.tag === 0xa1) {
    const inner = childrenOf(b, f[i]!);
    if (inner.length !== 1) bad('ukm');
    ukm = readOctets(b, inner[0]);
    checkUkm(ukm);
    i++;
  }
  const kea = childrenOf(b, expectTag(f[i], 0x30, 'keyEncryptionAlgorithm'));
  if (kea.length !== 2) bad('keyEncryptionAlgorithm without its KeyWrapAlgorithm');
  const keyEncryptionAlgorithm = readOid(b, kea[0]);
  const wrap = bareAlgorithm(b, kea[1], 'KeyWrapAlgorithm');
  const reks = childrenOf(b, expectTag(f[i + 1], 0x30, 'recipientEncryptedKeys'));
  if (f.length !== i + 2) bad('KeyAgreeRecipientInfo shape');
  if (reks.length !== 1) bad('not exactly one RecipientEncryptedKey');
  const rek = childrenOf(b, expectTag(reks[0], 0x30, 'RecipientEncryptedKey'));
  if (rek.length !== 2) bad('RecipientEncryptedKey shape');
  const rkeyId = childrenOf(b, expectTag(rek[0], 0xa0, 'rKeyId'));
  // Only the subjectKeyIdentifier: a date or other attribute names no key of ours.
  if (rkeyId.length !== 1) bad('rKeyId with date or other');
  return {
    kind: 'kari',
    originatorKey,
    ...(ukm === undefined ? {} : { ukm }),
    keyEncryptionAlgorithm,
    wrap,
    subjectKeyIdentifier: readOctets(b, rkeyId[0]),
    encryptedKey: readOctets(b, rek[1]),
  };
}

function parseCustodianShareRecipientInfo(b: Uint8Array, t: Tlv): CustodianShareRecipient {
  const f = childrenOf(b, expectTag(t, 0x30, 'CustodianShareRecipientInfo'));
  if (f.length !== 4) bad('CustodianShareRecipientInfo shape');
  if (readUnsigned(b, f[0]) !== 0n) bad('CustodianShareRecipientInfo version');
  const threshold = readUnsigned(b, f[1]);
  const index = readUnsigned(b, f[2]);
  if (threshold > BigInt(MAX_CUSTODIANS) || index > BigInt(MAX_CUSTODIANS)) {
    bad('custodian share numbers');
  }
  checkShareNumbers(Number(threshold), Number(index));
  const kari = parseKeyAgreeRecipientInfo(b, expectTag(f[3], 0x30, 'KeyAgreeRecipientInfo'));
  return { kind: 'custodian-share', threshold: Number(threshold), index: Number(index), kari };
}

function parseKekRecipientInfo(b: Uint8Array, t: Tlv): KekRecipient {
  const r = childrenOf(b, t);
  if (r.length !== 4 || readUnsigned(b, r[0]) !== 4n) bad('KEKRecipientInfo version');
  const kekid = childrenOf(b, expectTag(r[1], 0x30, 'KEKIdentifier'));
  if (kekid.length !== 1) bad('KEKIdentifier with date or other attribute');
  if (bareAlgorithm(b, r[2], 'keyEncryptionAlgorithm') !== id_aes256_wrap) bad('key wrap');
  return { kind: 'kek', keyIdentifier: readOctets(b, kekid[0]), encryptedKey: readOctets(b, r[3]) };
}

/**
 * One RecipientInfo (RFC 5652 6.2) of the kinds above; any other (ktri, pwri, another
 * oriType) is a PkiError asn1-schema. Algorithm identifiers are returned, not checked: the
 * caller decides which it supports.
 */
export function parseRecipientInfo(b: Uint8Array, t: Tlv): CmsRecipient {
  switch (t.tag) {
    case 0xa2:
      return parseKekRecipientInfo(b, t);
    case 0xa1:
      return parseKeyAgreeRecipientInfo(b, t);
    case 0xa4: {
      const f = childrenOf(b, t);
      if (f.length !== 2) bad('OtherRecipientInfo shape');
      const type = readOid(b, f[0]);
      if (type === id_ori_attestampCustodianShare) {
        return parseCustodianShareRecipientInfo(b, f[1]!);
      }
      if (type !== id_ori_kem) bad('OtherRecipientInfo type is not id-ori-kem');
      return parseKemRecipientInfo(b, f[1]!);
    }
    default:
      return bad('unsupported RecipientInfo choice');
  }
}

/** Parses one DER RecipientInfo (no trailing bytes). */
export function parseRecipientInfoDer(der: Uint8Array): CmsRecipient {
  const t = readTlv(der, 0);
  if (t.end !== der.length) bad('trailing bytes');
  return parseRecipientInfo(der, t);
}

/**
 * RFC 9629 5: the HKDF info.
 * CMSORIforKEMOtherInfo ::= SEQUENCE {
 *   wrap KeyEncryptionAlgorithmIdentifier,
 *   kekLength INTEGER (1..65535),
 *   ukm [0] EXPLICIT UserKeyingMaterial OPTIONAL }
 */
export function encodeCmsOriForKemOtherInfo(
  wrap: string,
  kekLength: number,
  ukm?: Uint8Array,
): Uint8Array {
  return seq(
    algorithmIdentifier(wrap),
    integer(kekLength),
    ...(ukm === undefined ? [] : [contextConstructed(0, octetString(ukm))]),
  );
}

/**
 * RFC 5753 7.2: the X9.63 KDF's SharedInfo.
 * ECC-CMS-SharedInfo ::= SEQUENCE {
 *   keyInfo AlgorithmIdentifier,  -- the KeyWrapAlgorithm as the KARI carries it
 *   entityUInfo [0] EXPLICIT OCTET STRING OPTIONAL,  -- the ukm
 *   suppPubInfo [2] EXPLICIT OCTET STRING }  -- the KEK length in bits, 32-bit big-endian
 */
export function encodeEccCmsSharedInfo(
  wrap: string,
  kekLength: number,
  ukm?: Uint8Array,
): Uint8Array {
  const bits = new Uint8Array(4);
  new DataView(bits.buffer).setUint32(0, kekLength * 8);
  return seq(
    algorithmIdentifier(wrap),
    ...(ukm === undefined ? [] : [contextConstructed(0, octetString(ukm))]),
    contextConstructed(2, octetString(bits)),
  );
}

/** The one profile of each transport recipient this project writes and accepts. */
export const TRANSPORT_RECIPIENT_PROFILE = {
  kem: { kem: id_alg_ml_kem_768, kdf: id_alg_hkdf_with_sha256, wrap: id_aes256_wrap },
  kari: { keyEncryptionAlgorithm: id_dhSinglePass_stdDH_sha256kdf_scheme, wrap: id_aes256_wrap },
} as const;

/**
 * The one profile of a custodian share's KeyAgreeRecipientInfo: ephemeral-static ECDH P-256,
 * the X9.63 SHA-256 KDF (RFC 5753 7.2), and AES-256 key wrap with padding (RFC 5649: a share
 * is 33 octets, not a multiple of 8).
 */
export const CUSTODIAN_RECIPIENT_PROFILE = {
  keyEncryptionAlgorithm: id_dhSinglePass_stdDH_sha256kdf_scheme,
  wrap: id_aes256_wrap_pad,
} as const;

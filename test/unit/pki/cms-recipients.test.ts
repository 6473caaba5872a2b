// CMS recipients (src/pki/cms-recipients.ts): KEKRecipientInfo, KEMRecipientInfo (RFC 9629) in
// an OtherRecipientInfo and KeyAgreeRecipientInfo (RFC 5753) encode and parse back to the same
// fields, each pinned against its ASN.1 by an independent reader (asn1js); the KDF inputs match
// the RFCs' encodings; shapes outside the profile are refused with asn1-schema. The project's
// custodian-share OtherRecipientInfo (ARC.8.3) and the custodian share file likewise.
import * as asn1js from 'asn1js';
import { describe, expect, it } from 'vitest';
import {
  der,
  encodeCmsOriForKemOtherInfo,
  encodeEccCmsSharedInfo,
  encodeCustodianShare,
  encodeRecipientInfo,
  id_aes256_wrap,
  id_aes256_wrap_pad,
  id_alg_hkdf_with_sha256,
  id_alg_ml_kem_768,
  id_dhSinglePass_stdDH_sha256kdf_scheme,
  id_ecPublicKey,
  id_ori_attestampCustodianShare,
  id_ori_kem,
  parseCustodianShare,
  parseRecipientInfoDer,
  PkiError,
  type CustodianShareRecipient,
  type KemRecipient,
  type KeyAgreeRecipient,
} from '../../../src/pki/index.js';

const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const kem: KemRecipient = {
  kind: 'kem',
  subjectKeyIdentifier: bytes(20, 0x11),
  kem: id_alg_ml_kem_768,
  kemct: bytes(1088, 0x22),
  kdf: id_alg_hkdf_with_sha256,
  kekLength: 32,
  wrap: id_aes256_wrap,
  encryptedKey: bytes(40, 0x33),
};

const kari: KeyAgreeRecipient = {
  kind: 'kari',
  originatorKey: Uint8Array.of(4, ...bytes(64, 0x44)),
  keyEncryptionAlgorithm: id_dhSinglePass_stdDH_sha256kdf_scheme,
  wrap: id_aes256_wrap,
  subjectKeyIdentifier: bytes(20, 0x55),
  encryptedKey: bytes(40, 0x66),
};

function refused(enc: Uint8Array): PkiError {
  try {
    parseRecipientInfoDer(enc);
  } catch (e) {
    expect(e).toBeInstanceOf(PkiError);
    return e as PkiError;
  }
  throw new Error('parsed');
}

/** The children of a constructed asn1js value. */
function kids(t: asn1js.AsnType | undefined): asn1js.AsnType[] {
  if (!(t instanceof asn1js.Constructed)) throw new Error('not constructed');
  return t.valueBlock.value;
}

function oidText(t: asn1js.AsnType | undefined): string {
  if (!(t instanceof asn1js.ObjectIdentifier)) throw new Error('not an OID');
  return t.valueBlock.toString();
}

function intValue(t: asn1js.AsnType | undefined): number {
  if (!(t instanceof asn1js.Integer)) throw new Error('not an INTEGER');
  return t.valueBlock.valueDec;
}

function octets(t: asn1js.AsnType | undefined): Uint8Array {
  if (!(t instanceof asn1js.OctetString)) throw new Error('not an OCTET STRING');
  return t.valueBlock.valueHexView;
}

/** The asn1js view of a DER value (an independent reader). */
function view(enc: Uint8Array): asn1js.AsnType {
  const r = asn1js.fromBER(Uint8Array.from(enc));
  expect(r.offset).toBe(enc.length);
  return r.result;
}

describe('KEMRecipientInfo (RFC 9629 3)', () => {
  it('round-trips, with and without ukm', () => {
    expect(parseRecipientInfoDer(encodeRecipientInfo(kem))).toEqual(kem);
    const withUkm = { ...kem, ukm: bytes(16, 0x77) };
    expect(parseRecipientInfoDer(encodeRecipientInfo(withUkm))).toEqual(withUkm);
  });

  it('is an OtherRecipientInfo [4] of id-ori-kem whose fields are in RFC order', () => {
    const enc = encodeRecipientInfo(kem);
    expect(enc[0]).toBe(0xa4);
    const [type, value] = kids(view(enc));
    expect(oidText(type)).toBe(id_ori_kem);
    const f = kids(value);
    expect(f).toHaveLength(8);
    expect(intValue(f[0])).toBe(0);
    // rid: subjectKeyIdentifier [0] IMPLICIT OCTET STRING
    expect(f[1]!.idBlock.tagClass).toBe(3);
    expect(f[1]!.idBlock.tagNumber).toBe(0);
    expect(f[1]!.idBlock.isConstructed).toBe(false);
    expect(kids(f[2]).map(oidText)).toEqual([id_alg_ml_kem_768]);
    expect(octets(f[3])).toHaveLength(1088);
    expect(kids(f[4]).map(oidText)).toEqual([id_alg_hkdf_with_sha256]);
    expect(intValue(f[5])).toBe(32);
    expect(kids(f[6]).map(oidText)).toEqual([id_aes256_wrap]);
    expect(octets(f[7])).toHaveLength(40);
  });

  it('refuses another oriType, another version, a kekLength out of range, trailing fields', () => {
    const enc = encodeRecipientInfo(kem);
    const otherType = Uint8Array.from(enc);
    // The last arc of id-ori-kem (.3) made .4.
    otherType[2 + 2 + 10]! ^= 0x07;
    expect(refused(otherType).code).toBe('asn1-schema');
    const v1 = Uint8Array.from(enc);
    const at = Buffer.from(enc).indexOf(Buffer.from([0x02, 0x01, 0x00]));
    v1[at + 2] = 1;
    expect(refused(v1).message).toMatch(/version/);
    expect(() => encodeRecipientInfo({ ...kem, kekLength: 0 })).toThrow(/kekLength/);
    expect(() => encodeRecipientInfo({ ...kem, kekLength: 65536 })).toThrow(/kekLength/);
    expect(() => encodeRecipientInfo({ ...kem, ukm: new Uint8Array(0) })).toThrow(/ukm/);
  });
});

describe('KeyAgreeRecipientInfo (RFC 5652 6.2.2, RFC 5753 3.1)', () => {
  it('round-trips, with and without ukm', () => {
    expect(parseRecipientInfoDer(encodeRecipientInfo(kari))).toEqual(kari);
    const withUkm = { ...kari, ukm: bytes(64, 0x12) };
    expect(parseRecipientInfoDer(encodeRecipientInfo(withUkm))).toEqual(withUkm);
  });

  it('is [1] version 3 with originatorKey, the scheme with its KeyWrapAlgorithm, one rKeyId', () => {
    const enc = encodeRecipientInfo(kari);
    expect(enc[0]).toBe(0xa1);
    const f = kids(view(enc));
    expect(f).toHaveLength(4);
    expect(intValue(f[0])).toBe(3);
    const originator = kids(f[1])[0]!;
    expect(originator.idBlock.tagNumber).toBe(1);
    const [alg, point] = kids(originator);
    expect(kids(alg)).toHaveLength(1);
    expect(point).toBeInstanceOf(asn1js.BitString);
    if (!(point instanceof asn1js.BitString)) return;
    expect(hex(point.valueBlock.valueHexView)).toBe(hex(kari.originatorKey));
    const [scheme, wrap] = kids(f[2]);
    expect(oidText(scheme)).toBe(id_dhSinglePass_stdDH_sha256kdf_scheme);
    expect(kids(wrap).map(oidText)).toEqual([id_aes256_wrap]);
    const reks = kids(f[3]);
    expect(reks).toHaveLength(1);
    const rid = kids(reks[0])[0]!;
    expect(rid.idBlock.tagClass).toBe(3);
    expect(rid.idBlock.isConstructed).toBe(true);
  });

  it('refuses a keyEncryptionAlgorithm without KeyWrapAlgorithm, two keys, a static originator', () => {
    const {
      algorithmIdentifier,
      contextConstructed,
      contextPrimitive,
      integer,
      octetString,
      seq,
      tlv,
    } = der;
    const originator = contextConstructed(
      0,
      contextConstructed(
        1,
        algorithmIdentifier(id_ecPublicKey),
        tlv(0x03, Uint8Array.of(0), kari.originatorKey),
      ),
    );
    const rek = seq(
      contextConstructed(0, octetString(kari.subjectKeyIdentifier)),
      octetString(kari.encryptedKey),
    );
    const scheme = algorithmIdentifier(
      id_dhSinglePass_stdDH_sha256kdf_scheme,
      algorithmIdentifier(id_aes256_wrap),
    );
    const build = (...f: Uint8Array[]): Uint8Array => contextConstructed(1, integer(3), ...f);
    expect(parseRecipientInfoDer(build(originator, scheme, seq(rek))).kind).toBe('kari');
    expect(
      refused(
        build(originator, algorithmIdentifier(id_dhSinglePass_stdDH_sha256kdf_scheme), seq(rek)),
      ).message,
    ).toMatch(/KeyWrapAlgorithm/);
    expect(refused(build(originator, scheme, seq(rek, rek))).message).toMatch(/exactly one/);
    // RFC 5753 3.1.1: originator subjectKeyIdentifier [0] (static-static) is not this scheme.
    const ski = contextConstructed(0, contextPrimitive(0, bytes(20, 1)));
    expect(refused(build(ski, scheme, seq(rek))).code).toBe('asn1-schema');
  });
});

describe('CustodianShareRecipientInfo (OtherRecipientInfo ARC.8.3)', () => {
  const share: CustodianShareRecipient = {
    kind: 'custodian-share',
    threshold: 2,
    index: 3,
    kari: { ...kari, wrap: id_aes256_wrap_pad, encryptedKey: bytes(48, 0x66) },
  };

  it('round-trips, and is [4] { ARC.8.3, SEQUENCE { 0, threshold, index, KARI as a SEQUENCE } }', () => {
    const enc = encodeRecipientInfo(share);
    expect(parseRecipientInfoDer(enc)).toEqual(share);
    expect(enc[0]).toBe(0xa4);
    const [type, value] = kids(view(enc));
    expect(oidText(type)).toBe(id_ori_attestampCustodianShare);
    const f = kids(value);
    expect(f.map((x) => (x instanceof asn1js.Integer ? intValue(x) : 'kari'))).toEqual([
      0,
      2,
      3,
      'kari',
    ]);
    expect(f[3]!.idBlock.tagClass).toBe(1);
    expect(f[3]!.idBlock.tagNumber).toBe(16);
    expect(intValue(kids(f[3])[0])).toBe(3);
  });

  it('refuses another version, a threshold or index out of range, a tagged KARI', () => {
    const enc = encodeRecipientInfo(share);
    const at = Buffer.from(enc).indexOf(Buffer.from([0x02, 0x01, 0x00, 0x02, 0x01, 0x02]));
    const v1 = Uint8Array.from(enc);
    v1[at + 2] = 1;
    expect(refused(v1).message).toMatch(/version/);
    const t1 = Uint8Array.from(enc);
    t1[at + 5] = 1;
    expect(refused(t1).message).toMatch(/threshold/);
    const i0 = Uint8Array.from(enc);
    i0[at + 8] = 0;
    expect(refused(i0).message).toMatch(/index/);
    const tagged = Uint8Array.from(enc);
    tagged[at + 9] = 0xa1;
    expect(refused(tagged).code).toBe('asn1-schema');
    expect(() => encodeRecipientInfo({ ...share, threshold: 17 })).toThrow(/threshold/);
    expect(() => encodeRecipientInfo({ ...share, index: 0 })).toThrow(/index/);
  });

  it('the share file round-trips and refuses a wrong length, version or trailing bytes', () => {
    const file = { bundle: bytes(32, 1), threshold: 2, index: 1, share: bytes(33, 2) };
    const enc = encodeCustodianShare(file);
    expect(parseCustodianShare(enc)).toEqual(file);
    const parse = (b: Uint8Array) => () => parseCustodianShare(b);
    expect(parse(Uint8Array.of(...enc, 0))).toThrow(PkiError);
    expect(parse(encodeCustodianShare({ ...file, share: bytes(32, 2) }))).toThrow(/share length/);
    expect(parse(encodeCustodianShare({ ...file, bundle: bytes(31, 1) }))).toThrow(/digest/);
    expect(parse(encodeCustodianShare({ ...file, index: 17 }))).toThrow(/index/);
    const v1 = Uint8Array.from(enc);
    v1[4] = 1;
    expect(parse(v1)).toThrow(/version/);
  });
});

describe('KEKRecipientInfo (RFC 5652 6.2.3)', () => {
  it('round-trips', () => {
    const kek = {
      kind: 'kek' as const,
      keyIdentifier: new TextEncoder().encode('id'),
      encryptedKey: bytes(40, 1),
    };
    expect(parseRecipientInfoDer(encodeRecipientInfo(kek))).toEqual(kek);
  });

  it('refuses a KeyTransRecipientInfo or a PasswordRecipientInfo choice', () => {
    expect(refused(Uint8Array.of(0x30, 0x00)).message).toMatch(/unsupported/);
    expect(refused(Uint8Array.of(0xa3, 0x00)).message).toMatch(/unsupported/);
  });
});

describe('KDF inputs', () => {
  it('CMSORIforKEMOtherInfo (RFC 9629 5) is SEQUENCE { wrap, kekLength, [0] ukm }', () => {
    expect(hex(encodeCmsOriForKemOtherInfo(id_aes256_wrap, 32))).toBe(
      '3010' + '300b060960864801650304012d' + '020120',
    );
    expect(hex(encodeCmsOriForKemOtherInfo(id_aes256_wrap, 32, Uint8Array.of(1, 2)))).toBe(
      '3016' + '300b060960864801650304012d' + '020120' + 'a0040402' + '0102',
    );
  });

  it('ECC-CMS-SharedInfo (RFC 5753 7.2) ends with suppPubInfo [2] the key length in bits', () => {
    expect(hex(encodeEccCmsSharedInfo(id_aes256_wrap, 32))).toBe(
      '3015' + '300b060960864801650304012d' + 'a2060404' + '00000100',
    );
    expect(hex(encodeEccCmsSharedInfo(id_aes256_wrap, 32, Uint8Array.of(9)))).toBe(
      '301a' + '300b060960864801650304012d' + 'a0030401' + '09' + 'a2060404' + '00000100',
    );
  });
});

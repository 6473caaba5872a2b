// Verifying RFC 3161 time-stamp tokens (RFC 3161 2.4.2, RFC 5652 5, RFC 5816), from attestamp or
// any other TSA, and, with evidence for the TSA key, proving that the key that signed the token
// was generated inside an HSM partition and never left it. Every check is its own finding.
import { sha1 } from '@noble/hashes/legacy.js';
import { shake128, shake256 } from '@noble/hashes/sha3.js';
import {
  HASHES as PKI_HASHES,
  der,
  derReader,
  id_aa_CMSAlgorithmProtection,
  id_aa_signingCertificate,
  id_aa_signingCertificateV2,
  id_ce_subjectAltName,
  id_contentType,
  id_ct_TSTInfo,
  id_kp_timeStamping,
  id_messageDigest,
  id_rsaEncryption,
  id_sha1,
  id_sha256,
  id_shake128,
  id_shake256,
  id_signedData,
  PkiError,
  rsaPkcs1SignatureOid,
  assertStrictDer,
  type derReader as DerReaderTypes,
} from '../pki/index.js';
import { bytesEqual, toHex } from '../shared/index.js';
import { extendedKeyUsages, extension, subjectKeyId, type ParsedCert } from './certificate.js';
import {
  checkRevocation,
  checkRoles,
  parseAll,
  roleOf,
  validatePath,
  type ChainOptions,
} from './chain.js';
import {
  cmsDigestProblem,
  describeSignatureAlgorithm,
  publicKeyLabel,
  signatureAlgorithmLabel,
  verifySignature,
} from './crypto.js';
import { inspectEvidence, type EvidenceOptions } from './evidence.js';
import { isoFromGeneralizedTime, serialFields, unsignedHex } from './json-values.js';
import { Findings, type Report } from './report.js';

type Tlv = DerReaderTypes.Tlv;
const { readTlv, childrenOf, contentOf, encodingOf, expectTag, readOid, readUnsigned, readOctets } =
  derReader;

/** Hashes by OID: the project's SHA-2/SHA-3 table, plus SHA-1 for ESSCertID v1 only. */
const HASHES: Readonly<
  Record<string, { name: string; fn: (d: Uint8Array) => Uint8Array; length: number }>
> = {
  [id_sha1]: { name: 'sha1', fn: (d) => sha1(d), length: 20 },
  ...Object.fromEntries(
    Object.values(PKI_HASHES).map((h) => [h.oid, { name: h.name, fn: h.digest, length: h.length }]),
  ),
};

/**
 * Digests a SignerInfo may name for its messageDigest (RFC 5652 11.2): the table above without
 * SHA-1, and SHAKE128 and SHAKE256 with 256 and 512 bits of output (RFC 8702 3.1), which the
 * post-quantum signatures' RFCs name (RFC 9882 3.3, RFC 9814 4).
 */
const CMS_DIGESTS: Readonly<Record<string, { name: string; fn: (d: Uint8Array) => Uint8Array }>> = {
  ...Object.fromEntries(Object.entries(HASHES).filter(([oid]) => oid !== id_sha1)),
  [id_shake128]: { name: 'shake128', fn: (d) => shake128(d, { dkLen: 32 }) },
  [id_shake256]: { name: 'shake256', fn: (d) => shake256(d, { dkLen: 64 }) },
};

/** Hash names accepted for --hash, with their OIDs. */
export const TOKEN_HASHES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(HASHES).map(([oid, h]) => [h.name, oid]),
);

/**
 * Options of inspectToken. A token is checked at its own genTime, so that it stays verifiable
 * after its TSA certificate expires: `at` is not needed and not used (it is accepted so that one
 * options object serves inspectToken and the other inspect functions); `atOverride` checks the
 * chain, revocation and evidence at another time.
 */
export interface TokenOptions extends Omit<ChainOptions, 'at'> {
  /** Not used for tokens: see atOverride. */
  readonly at?: Date;
  /** The time-stamped data, or its digest with the hash name (sha256, sha3-256, ...). */
  readonly data?: Uint8Array;
  readonly digest?: { readonly hash: string; readonly value: Uint8Array };
  /** DER TimeStampReq the token answers: nonce, policy, imprint and certReq must match. */
  readonly request?: Uint8Array;
  /**
   * Extra untrusted certificates, for tokens that do not carry their chain: the signer may be
   * among them; unused ones are a warning, as are extra certificates in the token.
   */
  readonly certificates?: readonly Uint8Array[];
  /** Evidence for the TSA key (PEM-decoded DER); proves where the key lives. */
  readonly evidence?: Uint8Array;
  readonly allowSoftware?: boolean;
  /** Validate the chain at this time instead of genTime (default: genTime). */
  readonly atOverride?: Date;
}

interface TstInfo {
  readonly version: bigint;
  readonly policy: string;
  readonly messageImprint: Uint8Array;
  readonly hashOid: string;
  readonly hashedMessage: Uint8Array;
  readonly serial: Uint8Array;
  readonly genTimeText: string;
  readonly genTime: Date;
  readonly accuracy: Accuracy | undefined;
  /** undefined when absent (DEFAULT FALSE); false only when FALSE is encoded, which DER forbids. */
  readonly ordering: boolean | undefined;
  readonly nonce: Uint8Array | undefined;
  /** DER of the GeneralName inside `tsa [0]`, when present. */
  readonly tsaName: Uint8Array | undefined;
  readonly extensions: readonly { oid: string; critical: boolean }[];
}

type AccuracyPart = 'seconds' | 'millis' | 'micros';

/** Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL, millis [0] INTEGER (1..999) OPTIONAL,
 *  micros [1] INTEGER (1..999) OPTIONAL }; absent parts count as zero (RFC 3161 2.4.2). */
interface Accuracy {
  readonly seconds: bigint;
  readonly millis: bigint;
  readonly micros: bigint;
  readonly present: readonly AccuracyPart[];
}

/** Accuracy fields by tag, with their place in the SEQUENCE. */
const ACCURACY_FIELDS: Readonly<Record<number, { part: AccuracyPart; rank: number }>> = {
  0x02: { part: 'seconds', rank: 0 },
  0x80: { part: 'millis', rank: 1 },
  0x81: { part: 'micros', rank: 2 },
};

/** TSTInfo fields after genTime, by tag, in the order RFC 3161 2.4.2 defines them. */
const OPTIONAL_TST_FIELDS: Readonly<Record<number, number>> = {
  0x30: 0, // accuracy
  0x01: 1, // ordering
  0x02: 2, // nonce
  0xa0: 3, // tsa [0] GeneralName
  0xa1: 4, // extensions [1] IMPLICIT Extensions
};

function parseAccuracy(b: Uint8Array, t: Tlv): Accuracy {
  const values: Record<AccuracyPart, bigint> = { seconds: 0n, millis: 0n, micros: 0n };
  const present: AccuracyPart[] = [];
  let lastRank = -1;
  for (const a of childrenOf(b, t)) {
    const field = ACCURACY_FIELDS[a.tag];
    if (field === undefined) fail('unexpected accuracy field');
    // A SEQUENCE: seconds, millis, micros in this order, each at most once.
    if (field.rank <= lastRank) fail('accuracy fields out of order or repeated');
    lastRank = field.rank;
    values[field.part] = readUnsigned(b, a, a.tag);
    present.push(field.part);
  }
  return { ...values, present };
}

function fail(message: string): never {
  throw new PkiError('asn1-schema', message);
}

function parseTstInfo(b: Uint8Array): TstInfo {
  const fields = childrenOf(b, expectTag(readTlv(b, 0), 0x30, 'TSTInfo'));
  let i = 0;
  const version = readUnsigned(b, fields[i++]);
  const policy = readOid(b, fields[i++]);
  const mi = expectTag(fields[i++], 0x30, 'messageImprint');
  const [alg, hm] = childrenOf(b, mi);
  const hashOid = readOid(b, childrenOf(b, expectTag(alg, 0x30, 'hashAlgorithm'))[0]);
  const hashedMessage = readOctets(b, hm);
  const serialT = expectTag(fields[i++], 0x02, 'serialNumber');
  const gt = expectTag(fields[i++], 0x18, 'genTime');
  let genTimeText = '';
  for (let k = gt.valueStart; k < gt.end; k++) genTimeText += String.fromCharCode(b[k]!);
  const genTime = derReader.readGeneralizedTime(b, gt);
  let accuracy: TstInfo['accuracy'];
  let ordering: boolean | undefined;
  let nonce: Uint8Array | undefined;
  let tsaName: Uint8Array | undefined;
  const extensions: { oid: string; critical: boolean }[] = [];
  let lastField = -1;
  for (const f of fields.slice(i)) {
    // RFC 3161 2.4.2: TSTInfo is a SEQUENCE, so its optional fields come in order, once each.
    const rank = OPTIONAL_TST_FIELDS[f.tag];
    if (rank === undefined) fail('unexpected TSTInfo field');
    if (rank <= lastField) fail('TSTInfo fields out of order or repeated');
    lastField = rank;
    if (f.tag === 0x30) accuracy = parseAccuracy(b, f);
    else if (f.tag === 0x01) ordering = derReader.readBoolean(b, f);
    else if (f.tag === 0x02) nonce = contentOf(b, f);
    else if (f.tag === 0xa0) {
      // tsa [0] GeneralName: a CHOICE, so the tag is explicit around exactly one GeneralName.
      const names = childrenOf(b, f);
      if (names.length !== 1) fail('tsa must hold exactly one GeneralName');
      tsaName = encodingOf(b, names[0]!);
    } else {
      for (const e of childrenOf(b, f)) {
        const [o, c] = childrenOf(b, e);
        extensions.push({
          oid: readOid(b, o),
          critical: c?.tag === 0x01 && b[c.valueStart] === 0xff,
        });
      }
    }
  }
  return {
    version,
    policy,
    messageImprint: encodingOf(b, mi),
    hashOid,
    hashedMessage,
    serial: contentOf(b, serialT),
    genTimeText,
    genTime,
    accuracy,
    ordering,
    nonce,
    tsaName,
    extensions,
  };
}

interface SignedToken {
  readonly status: bigint | undefined;
  readonly statusText: string | undefined;
  readonly signedDataVersion: bigint;
  readonly eContentType: string;
  readonly eContent: Uint8Array;
  readonly certificates: readonly Uint8Array[];
  readonly signerInfos: number;
  readonly signerInfoVersion: bigint;
  readonly sid: { issuer: Uint8Array; serial: Uint8Array } | { ski: Uint8Array };
  readonly digestAlgorithm: string;
  /** DER of the SignerInfo digestAlgorithm AlgorithmIdentifier. */
  readonly digestAlgorithmId: Uint8Array;
  /** DER of the signed attributes as a SET (what the signature covers). */
  readonly signedAttrs: Uint8Array;
  /** Attribute values as TLVs over `raw`, the whole input. */
  readonly attributes: ReadonlyMap<string, Tlv[]>;
  readonly raw: Uint8Array;
  readonly signatureAlgorithm: Uint8Array;
  readonly signature: Uint8Array;
}

/** Accepts a TimeStampResp or a bare token (ContentInfo). */
function parseToken(bytes: Uint8Array): SignedToken {
  assertStrictDer(bytes);
  const top = readTlv(bytes, 0);
  const first = childrenOf(bytes, expectTag(top, 0x30, 'TimeStampResp or ContentInfo'))[0];
  let contentInfo = top;
  let status: bigint | undefined;
  let statusText: string | undefined;
  if (first?.tag === 0x30) {
    // TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken ContentInfo OPTIONAL }
    const [statusInfo, token] = childrenOf(bytes, top);
    const si = childrenOf(bytes, statusInfo!);
    status = readUnsigned(bytes, si[0]);
    const freeText = si.find((t) => t.tag === 0x30);
    if (freeText !== undefined) {
      statusText = childrenOf(bytes, freeText)
        .map((t) => derReader.readUtf8(bytes, t))
        .join(' ');
    }
    if (token === undefined) {
      return {
        status,
        statusText,
        signedDataVersion: 0n,
        eContentType: '',
        eContent: new Uint8Array(),
        certificates: [],
        signerInfos: 0,
        signerInfoVersion: 0n,
        sid: { ski: new Uint8Array() },
        digestAlgorithm: '',
        digestAlgorithmId: new Uint8Array(),
        signedAttrs: new Uint8Array(),
        attributes: new Map(),
        raw: bytes,
        signatureAlgorithm: new Uint8Array(),
        signature: new Uint8Array(),
      };
    }
    contentInfo = token;
  }
  const [ctype, content] = childrenOf(bytes, expectTag(contentInfo, 0x30, 'ContentInfo'));
  if (readOid(bytes, ctype) !== id_signedData) fail('the token is not SignedData');
  const [sd] = childrenOf(bytes, expectTag(content, 0xa0, 'content'));
  const sdFields = childrenOf(bytes, expectTag(sd, 0x30, 'SignedData'));
  const version = readUnsigned(bytes, sdFields[0]);
  const [eType, eWrap] = childrenOf(bytes, expectTag(sdFields[2], 0x30, 'encapContentInfo'));
  const [eOctets] = childrenOf(bytes, expectTag(eWrap, 0xa0, 'eContent'));
  const certificates: Uint8Array[] = [];
  let k = 3;
  if (sdFields[k]?.tag === 0xa0) {
    for (const c of childrenOf(bytes, sdFields[k]!))
      if (c.tag === 0x30) certificates.push(encodingOf(bytes, c));
    k++;
  }
  if (sdFields[k]?.tag === 0xa1) k++;
  const signerInfos = childrenOf(bytes, expectTag(sdFields[k], 0x31, 'signerInfos'));
  const si = signerInfos[0];
  if (si === undefined) fail('no SignerInfo');
  const sf = childrenOf(bytes, expectTag(si, 0x30, 'SignerInfo'));
  const sidT = sf[1]!;
  let sid: SignedToken['sid'];
  if (sidT.tag === 0x30) {
    const [issuer, serial] = childrenOf(bytes, sidT);
    sid = {
      issuer: encodingOf(bytes, issuer!),
      serial: contentOf(bytes, expectTag(serial, 0x02, 'serial')),
    };
  } else if (sidT.tag === 0x80) sid = { ski: contentOf(bytes, sidT) };
  else fail('unknown SignerIdentifier');
  const digestAlgorithm = readOid(
    bytes,
    childrenOf(bytes, expectTag(sf[2], 0x30, 'digestAlgorithm'))[0],
  );
  const attrsT = expectTag(sf[3], 0xa0, 'signedAttrs');
  const signedAttrs = Uint8Array.from(encodingOf(bytes, attrsT));
  signedAttrs[0] = 0x31; // RFC 5652 5.4: the signature covers the SET OF encoding
  const attributes = new Map<string, Tlv[]>();
  for (const a of childrenOf(bytes, attrsT)) {
    const [oid, values] = childrenOf(bytes, a);
    const name = readOid(bytes, oid);
    if (attributes.has(name)) fail(`signed attribute ${name} repeated`);
    attributes.set(name, childrenOf(bytes, expectTag(values, 0x31, 'attribute values')));
  }
  return {
    status,
    statusText,
    signedDataVersion: version,
    eContentType: readOid(bytes, eType),
    eContent: readOctets(bytes, eOctets),
    certificates,
    signerInfos: signerInfos.length,
    signerInfoVersion: readUnsigned(bytes, sf[0]),
    sid,
    digestAlgorithm,
    digestAlgorithmId: encodingOf(bytes, sf[2]!),
    signedAttrs,
    attributes,
    raw: bytes,
    signatureAlgorithm: encodingOf(bytes, expectTag(sf[4], 0x30, 'signatureAlgorithm')),
    signature: readOctets(bytes, sf[5]),
  };
}

/** RSA SignerInfos often name rsaEncryption; the digest algorithm then fixes the hash. */
function effectiveSignatureAlgorithm(token: SignedToken): Uint8Array {
  const [o] = childrenOf(token.signatureAlgorithm, readTlv(token.signatureAlgorithm, 0));
  if (readOid(token.signatureAlgorithm, o) !== id_rsaEncryption) return token.signatureAlgorithm;
  const oid = rsaPkcs1SignatureOid(token.digestAlgorithm);
  return oid === undefined
    ? token.signatureAlgorithm
    : der.algorithmIdentifier(oid, der.nullValue());
}

/** Request fields needed to check the answer (RFC 3161 2.4.2). */
function parseRequest(b: Uint8Array): {
  nonce?: Uint8Array;
  policy?: string;
  certReq: boolean;
  imprint: Uint8Array;
} {
  assertStrictDer(b);
  const fields = childrenOf(b, expectTag(readTlv(b, 0), 0x30, 'TimeStampReq'));
  const out: { nonce?: Uint8Array; policy?: string; certReq: boolean; imprint: Uint8Array } = {
    certReq: false,
    imprint: encodingOf(b, expectTag(fields[1], 0x30, 'messageImprint')),
  };
  for (const f of fields.slice(2)) {
    if (f.tag === 0x06) out.policy = readOid(b, f);
    else if (f.tag === 0x02) out.nonce = contentOf(b, f);
    else if (f.tag === 0x01) out.certReq = b[f.valueStart] === 0xff;
  }
  return out;
}

/** One ESSCertID (RFC 2634 5.4.1) or ESSCertIDv2 (RFC 5035). */
interface EssCertId {
  readonly hashOid: string;
  readonly certHash: Uint8Array;
  /** IssuerSerial, when present: the issuer's GeneralNames (DER each) and the serial. */
  readonly issuerSerial:
    { readonly issuer: readonly Uint8Array[]; readonly serial: Uint8Array } | undefined;
}

interface SigningCertificateAttr {
  /** v1: signingCertificate (SHA-1 only); v2: signingCertificateV2 (any hash, RFC 5816). */
  readonly version: 'v1' | 'v2';
  readonly ids: readonly EssCertId[];
}

/**
 * SigningCertificate ::= SEQUENCE { certs SEQUENCE OF ESSCertID, policies ... OPTIONAL }
 * ESSCertID ::= SEQUENCE { certHash Hash, issuerSerial IssuerSerial OPTIONAL }
 * SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies ... OPTIONAL }
 * ESSCertIDv2 ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier DEFAULT { id-sha256 },
 *   certHash Hash, issuerSerial IssuerSerial OPTIONAL }
 * IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber }
 */
function parseSigningCertificates(token: SignedToken): SigningCertificateAttr[] {
  const b = token.raw;
  const out: SigningCertificateAttr[] = [];
  for (const [oid, version] of [
    [id_aa_signingCertificateV2, 'v2'],
    [id_aa_signingCertificate, 'v1'],
  ] as const) {
    const values = token.attributes.get(oid);
    if (values === undefined) continue;
    // Several SigningCertificate values would leave the signer ambiguous: refuse them.
    if (values.length !== 1) fail(`signing certificate attribute ${oid} must have one value`);
    const [certs] = childrenOf(b, expectTag(values[0], 0x30, 'SigningCertificate'));
    const ids = childrenOf(b, expectTag(certs, 0x30, 'certs')).map((id): EssCertId => {
      const parts = childrenOf(b, expectTag(id, 0x30, 'ESSCertID'));
      let k = 0;
      let hashOid: string = id_sha1;
      if (version === 'v2') {
        hashOid = id_sha256;
        if (parts[0]?.tag === 0x30) {
          hashOid = readOid(b, childrenOf(b, parts[0])[0]);
          k = 1;
        }
      }
      const certHash = readOctets(b, parts[k++]);
      let issuerSerial: EssCertId['issuerSerial'];
      const is = parts[k++];
      if (is !== undefined) {
        const [names, serial] = childrenOf(b, expectTag(is, 0x30, 'IssuerSerial'));
        issuerSerial = {
          issuer: childrenOf(b, expectTag(names, 0x30, 'GeneralNames')).map((n) =>
            encodingOf(b, n),
          ),
          serial: contentOf(b, expectTag(serial, 0x02, 'serialNumber')),
        };
      }
      if (parts[k] !== undefined) fail('unexpected ESSCertID field');
      return { hashOid, certHash, issuerSerial };
    });
    if (ids.length === 0) fail('signing certificate attribute without certificate ids');
    out.push({ version, ids });
  }
  return out;
}

/** Why the first ESSCertID of `attr` does not identify `signer`, or undefined when it does. */
function essMismatch(attr: SigningCertificateAttr, signer: ParsedCert): string | undefined {
  const name = attr.version === 'v2' ? 'signingCertificateV2' : 'signingCertificate';
  // RFC 2634 5.4, kept by RFC 5035: the first certificate identified MUST be the signer's.
  const first = attr.ids[0]!;
  const h = HASHES[first.hashOid];
  if (h === undefined) return `${name}: unknown certificate hash ${first.hashOid}`;
  if (!bytesEqual(h.fn(signer.der), first.certHash))
    return `the certificate hash in ${name} does not name the signer`;
  // RFC 2634 5.4.1 (and RFC 5035): issuerSerial, when present, names the signer's issuer and serial.
  if (first.issuerSerial !== undefined) {
    const directoryName = der.contextConstructed(4, signer.issuer);
    const issuerOk = first.issuerSerial.issuer.some((n) => bytesEqual(n, directoryName));
    if (!issuerOk || !bytesEqual(first.issuerSerial.serial, signer.serial))
      return `the issuerSerial in ${name} does not name the signer`;
  }
  return undefined;
}

const NAME_ATTRIBUTES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.97': 'organizationIdentifier',
};

/** A Name as text for the report, RDNs in encoding order (string types read as UTF-8). */
function nameText(b: Uint8Array, name: Tlv): string {
  const rdns: string[] = [];
  for (const rdn of childrenOf(b, expectTag(name, 0x30, 'Name'))) {
    const avas = childrenOf(b, rdn).map((ava) => {
      const [type, value] = childrenOf(b, ava);
      const oid = readOid(b, type);
      const text = new TextDecoder().decode(contentOf(b, value!));
      return `${NAME_ATTRIBUTES[oid] ?? oid}=${text}`;
    });
    rdns.push(avas.join('+'));
  }
  return rdns.join(', ');
}

/** The tsa GeneralName for the report. */
function generalNameText(gn: Uint8Array): string {
  const t = readTlv(gn, 0);
  const kinds: Record<number, string> = {
    0xa0: 'otherName',
    0x81: 'rfc822Name',
    0x82: 'dNSName',
    0xa3: 'x400Address',
    0xa4: 'directoryName',
    0xa5: 'ediPartyName',
    0x86: 'uniformResourceIdentifier',
    0x87: 'iPAddress',
    0x88: 'registeredID',
  };
  const kind = kinds[t.tag] ?? `tag 0x${t.tag.toString(16)}`;
  if (t.tag === 0xa4) return `${kind} ${nameText(gn, childrenOf(gn, t)[0]!)}`;
  if (t.tag === 0x81 || t.tag === 0x82 || t.tag === 0x86)
    return `${kind} ${new TextDecoder().decode(contentOf(gn, t))}`;
  return kind;
}

/** A directory string as text: UTF8String, PrintableString, IA5String, TeletexString (read as
 *  Latin-1), BMPString, UniversalString; undefined for any other type. */
function directoryString(b: Uint8Array, t: Tlv): string | undefined {
  const v = contentOf(b, t);
  switch (t.tag) {
    case 0x0c:
      return new TextDecoder('utf-8', { fatal: true }).decode(v);
    case 0x13:
    case 0x16:
    case 0x14:
      return String.fromCharCode(...v);
    case 0x1e:
      return new TextDecoder('utf-16be', { fatal: true }).decode(v);
    case 0x1c: {
      let text = '';
      for (let i = 0; i + 3 < v.length; i += 4)
        text += String.fromCodePoint(
          ((v[i]! << 24) | (v[i + 1]! << 16) | (v[i + 2]! << 8) | v[i + 3]!) >>> 0,
        );
      return text;
    }
    default:
      return undefined;
  }
}

/**
 * One RDN as comparable text (RFC 5280 7.1: caseIgnoreMatch after RFC 4518 preparation, here
 * simplified to NFKC, case folding, and insignificant space removal; other values bytewise).
 */
function rdnKey(b: Uint8Array, rdn: Tlv): string {
  return childrenOf(b, rdn)
    .map((ava) => {
      const [type, value] = childrenOf(b, ava);
      const text = directoryString(b, value!);
      const canonical =
        text === undefined
          ? `#${toHex(encodingOf(b, value!))}`
          : `"${text.normalize('NFKC').toLowerCase().trim().replace(/\s+/g, ' ')}`;
      return `${readOid(b, type)}=${canonical}`;
    })
    .sort()
    .join('+');
}

/** Whether two DER Names are the same name (RFC 5280 7.1), whatever their string types. */
function sameName(a: Uint8Array, b: Uint8Array): boolean {
  if (bytesEqual(a, b)) return true;
  try {
    const ra = childrenOf(a, readTlv(a, 0));
    const rb = childrenOf(b, readTlv(b, 0));
    return ra.length === rb.length && ra.every((r, i) => rdnKey(a, r) === rdnKey(b, rb[i]!));
  } catch {
    return false;
  }
}

/**
 * RFC 3161 2.4.2: the tsa name, if present, MUST correspond to one of the subject names in the
 * certificate that verifies the token: its subject (as a directoryName, compared as names, so a
 * TSA that writes its name with other string types or case still matches) or a
 * subjectAltName entry.
 */
function tsaNameMatches(gn: Uint8Array, signer: ParsedCert): boolean {
  const t = readTlv(gn, 0);
  if (t.tag === 0xa4) {
    const [name] = childrenOf(gn, t);
    if (name !== undefined && sameName(encodingOf(gn, name), signer.subject)) return true;
  }
  const san = extension(signer, id_ce_subjectAltName);
  if (san === undefined) return false;
  return childrenOf(san.value, readTlv(san.value, 0)).some((n) => {
    const entry = encodingOf(san.value, n);
    if (bytesEqual(entry, gn)) return true;
    if (n.tag !== t.tag) return false;
    if (t.tag === 0xa4) {
      const [a] = childrenOf(san.value, n);
      const [b] = childrenOf(gn, t);
      return (
        a !== undefined && b !== undefined && sameName(encodingOf(san.value, a), encodingOf(gn, b))
      );
    }
    // RFC 5280 7.2 and 7.5: DNS names, and the host part of mail addresses, compare without
    // case; the local part of a mail address is compared exactly.
    const text = (x: Uint8Array): string => String.fromCharCode(...x);
    const [x, y] = [text(contentOf(san.value, n)), text(contentOf(gn, t))];
    if (t.tag === 0x82) return x.toLowerCase() === y.toLowerCase();
    if (t.tag !== 0x81) return false;
    const [ax, ay] = [x.lastIndexOf('@'), y.lastIndexOf('@')];
    return (
      x.slice(0, ax) === y.slice(0, ay) && x.slice(ax).toLowerCase() === y.slice(ay).toLowerCase()
    );
  });
}

/** An AlgorithmIdentifier as OID and parameters, absent and NULL parameters alike. */
function algorithmKey(b: Uint8Array, t: Tlv): string {
  const [o, params, ...rest] = childrenOf(b, t);
  const p = params === undefined || params.tag === 0x05 ? '' : toHex(encodingOf(b, params));
  return `${readOid(b, o)}/${p}/${rest.length}`;
}

/**
 * CMSAlgorithmProtection ::= SEQUENCE { digestAlgorithm DigestAlgorithmIdentifier,
 *   signatureAlgorithm [1] SignatureAlgorithmIdentifier OPTIONAL,
 *   macAlgorithm [2] MessageAuthenticationCodeAlgorithm OPTIONAL }
 * RFC 6211 2 and 3: for a signature, signatureAlgorithm is present and macAlgorithm absent, and
 * both algorithms must be those of the SignerInfo, or the signature is not valid. Returns
 * undefined when the attribute is absent, else why it fails ('' when it holds).
 */
function algorithmProtectionProblem(token: SignedToken): string | undefined {
  const values = token.attributes.get(id_aa_CMSAlgorithmProtection);
  if (values === undefined) return undefined;
  const b = token.raw;
  if (values.length !== 1) return 'CMSAlgorithmProtection must have one value';
  const fields = childrenOf(b, expectTag(values[0], 0x30, 'CMSAlgorithmProtection'));
  const [digest, signature, ...rest] = fields;
  if (digest?.tag !== 0x30 || signature?.tag !== 0xa1 || rest.length > 0)
    return 'CMSAlgorithmProtection must hold a digest and a signature algorithm only';
  const signerDigest = algorithmKey(token.digestAlgorithmId, readTlv(token.digestAlgorithmId, 0));
  const signerSignature = algorithmKey(
    token.signatureAlgorithm,
    readTlv(token.signatureAlgorithm, 0),
  );
  if (algorithmKey(b, digest) !== signerDigest)
    return 'the protected digest algorithm is not the SignerInfo digestAlgorithm';
  // [1] IMPLICIT: the same content as the SignerInfo's AlgorithmIdentifier SEQUENCE.
  if (algorithmKey(b, signature) !== signerSignature)
    return 'the protected signature algorithm is not the SignerInfo signatureAlgorithm';
  return '';
}

function hashName(oid: string): string {
  return HASHES[oid]?.name ?? CMS_DIGESTS[oid]?.name ?? oid;
}

function describeSignature(token: SignedToken): string {
  const algorithm = effectiveSignatureAlgorithm(token);
  const [o] = childrenOf(token.signatureAlgorithm, readTlv(token.signatureAlgorithm, 0));
  const named =
    readOid(token.signatureAlgorithm, o) === id_rsaEncryption
      ? ' (SignerInfo names rsaEncryption; the hash is its digestAlgorithm)'
      : '';
  const scheme = describeSignatureAlgorithm(algorithm);
  if (scheme.kind === 'unsupported') return scheme.reason;
  return signatureAlgorithmLabel(algorithm) + named;
}

/**
 * What the token states about itself, as `info` findings and as values for the JSON report:
 * properties RFC 3161 leaves to the TSA, none of which decides the outcome.
 */
function tokenProperties(
  token: SignedToken,
  tst: TstInfo,
  ess: readonly SigningCertificateAttr[],
): { findings: [string, string][]; values: Record<string, unknown> } {
  const a = tst.accuracy;
  const essText = ess.map(
    (e) =>
      `${e.version === 'v2' ? 'signingCertificateV2' : 'signingCertificate'} (ESSCertID ${e.version}): ` +
      `${e.ids.length} certificate id(s), hash ${hashName(e.ids[0]!.hashOid)}` +
      (e.ids[0]!.issuerSerial === undefined ? '' : ', with issuerSerial'),
  );
  const sid =
    'ski' in token.sid
      ? `subjectKeyIdentifier ${toHex(token.sid.ski)}`
      : `issuerAndSerialNumber, serial ${toHex(token.sid.serial)}`;
  const findings: [string, string][] = [
    [
      'token.property.ordering',
      tst.ordering === true
        ? 'ordering TRUE: tokens of this TSA may be ordered by genTime alone, even within the accuracy (RFC 3161 2.4.2)'
        : `ordering FALSE (${tst.ordering === false ? 'encoded' : 'absent'})`,
    ],
    [
      'token.property.accuracy',
      a === undefined
        ? 'no accuracy: the TSA states none (optional, RFC 3161 2.4.2)'
        : `seconds ${a.seconds}, millis ${a.millis}, micros ${a.micros} (encoded: ${a.present.length === 0 ? 'none' : a.present.join(', ')})` +
          (a.seconds === 0n && a.millis === 0n && a.micros === 0n
            ? ': a zero accuracy, the TSA claims its time is exact'
            : ''),
    ],
    [
      'token.property.tsa-name',
      tst.tsaName === undefined ? 'no tsa name' : `tsa name ${generalNameText(tst.tsaName)}`,
    ],
    [
      'token.property.ess-cert-id',
      essText.length === 0 ? 'no signing certificate attribute' : essText.join('; '),
    ],
    ['token.property.signer-id', sid],
    [
      'token.property.signature-algorithm',
      `${describeSignature(token)}; digest algorithm ${hashName(token.digestAlgorithm)}`,
    ],
  ];
  const values: Record<string, unknown> = {
    ordering: tst.ordering === true,
    accuracyParts: a?.present ?? [],
    ...(tst.tsaName === undefined ? {} : { tsaName: generalNameText(tst.tsaName) }),
    essCertIds: ess.map((e) => ({
      version: e.version,
      hash: hashName(e.ids[0]!.hashOid),
      count: e.ids.length,
      issuerSerial: e.ids[0]!.issuerSerial !== undefined,
    })),
    signerId: 'ski' in token.sid ? 'subjectKeyIdentifier' : 'issuerAndSerialNumber',
    signatureAlgorithm: describeSignature(token),
    digestAlgorithm: hashName(token.digestAlgorithm),
    certificates: token.certificates.length,
  };
  return { findings, values };
}

function findSigner(token: SignedToken, pool: readonly ParsedCert[]): ParsedCert | undefined {
  const sid = token.sid;
  return pool.find((c) =>
    'ski' in sid
      ? subjectKeyId(c) !== undefined && bytesEqual(subjectKeyId(c)!, sid.ski)
      : bytesEqual(c.issuer, sid.issuer) && bytesEqual(c.serial, sid.serial),
  );
}

/** Collect-all verification of a time-stamp token; never throws for findings. */
export async function inspectToken(bytes: Uint8Array, options: TokenOptions): Promise<Report> {
  try {
    return await inspectTokenFields(bytes, options);
  } catch (error) {
    // A structure the checks could not walk (a malformed attribute, say) is a parse failure.
    const f = new Findings();
    f.fail(
      'token.structure',
      'parse',
      `the token is malformed: ${error instanceof Error ? error.message : 'unknown'}`,
    );
    return f.report(undefined, {});
  }
}

async function inspectTokenFields(bytes: Uint8Array, options: TokenOptions): Promise<Report> {
  const f = new Findings();
  let token: SignedToken;
  let tst: TstInfo;
  try {
    token = parseToken(bytes);
    if (token.status !== undefined && token.status > 1n) {
      f.fail(
        'token.status',
        'crypto',
        `the TSA refused: status ${token.status}${token.statusText ? ` (${token.statusText})` : ''}`,
      );
      return f.report(undefined, {});
    }
    tst = parseTstInfo(token.eContent);
  } catch (error) {
    f.fail(
      'token.structure',
      'parse',
      `the token could not be parsed: ${error instanceof Error ? error.message : 'unknown'}`,
    );
    return f.report(undefined, {});
  }
  if (token.status !== undefined)
    f.pass('token.status', `status ${token.status === 0n ? 'granted' : 'grantedWithMods'}`);
  else f.skip('token.status', 'a bare token: no status to check');
  // RFC 3161 2.4.2: one SignerInfo over id-ct-TSTInfo; RFC 5652 5.1: SignedData v3 for a content
  // type other than id-data; RFC 5652 5.3: SignerInfo v1 with issuerAndSerialNumber, v3 with
  // subjectKeyIdentifier.
  const sidKind = 'ski' in token.sid ? 'subjectKeyIdentifier' : 'issuerAndSerialNumber';
  const signerInfoVersion = 'ski' in token.sid ? 3n : 1n;
  f.check(
    'token.content-type',
    'crypto',
    token.eContentType === id_ct_TSTInfo &&
      token.signerInfos === 1 &&
      token.signedDataVersion === 3n &&
      token.signerInfoVersion === signerInfoVersion,
    'SignedData v3 with one SignerInfo over id-ct-TSTInfo',
    `eContentType ${token.eContentType}, ${token.signerInfos} SignerInfo(s), SignedData version ${token.signedDataVersion}, SignerInfo version ${token.signerInfoVersion} with ${sidKind}`,
  );
  const essAttrs = parseSigningCertificates(token);
  const properties = tokenProperties(token, tst, essAttrs);
  for (const [id, detail] of properties.findings) f.info(id, detail);

  // The imprint against the data (RFC 3161 2.4.2: the TSA hashes nothing; we check the digest).
  const hash = HASHES[tst.hashOid];
  if (options.data !== undefined || options.digest !== undefined) {
    let expected: Uint8Array | undefined;
    if (options.data !== undefined && hash !== undefined) expected = hash.fn(options.data);
    if (options.digest !== undefined) {
      expected =
        TOKEN_HASHES[options.digest.hash] === tst.hashOid ? options.digest.value : undefined;
    }
    f.check(
      'token.imprint',
      'crypto',
      expected !== undefined && bytesEqual(expected, tst.hashedMessage),
      `the ${hash?.name ?? '?'} imprint matches the data`,
      hash === undefined
        ? `unknown imprint hash ${tst.hashOid}`
        : 'the imprint does not match the data (or was made with another hash)',
    );
  } else f.skip('token.imprint', 'no data or digest given');

  // Signed attributes: contentType and messageDigest (RFC 5652 5.3, 11.1, 11.2).
  const ct = token.attributes.get(id_contentType)?.[0];
  const md = token.attributes.get(id_messageDigest)?.[0];
  const digestFn = CMS_DIGESTS[token.digestAlgorithm];
  const mdOk =
    ct !== undefined &&
    md !== undefined &&
    readOid(token.raw, ct) === id_ct_TSTInfo &&
    digestFn !== undefined &&
    bytesEqual(readOctets(token.raw, md), digestFn.fn(token.eContent));
  f.check(
    'token.message-digest',
    'crypto',
    mdOk,
    'contentType and messageDigest match the TSTInfo',
    'contentType or messageDigest does not match the TSTInfo',
  );

  // Signer certificate: in the token or given with --certs.
  const pool = parseAll([...token.certificates, ...(options.certificates ?? [])], f);
  if (pool === undefined) return f.report(undefined, {});
  const unique = pool.filter((c, i) => pool.findIndex((d) => d.sha256 === c.sha256) === i);
  const signer = findSigner(token, unique);
  const carriedAt =
    signer === undefined ? -1 : token.certificates.findIndex((c) => bytesEqual(c, signer.der));
  f.info(
    'token.property.certificates',
    `${token.certificates.length} certificate(s) in the token; ` +
      (carriedAt >= 0
        ? `the signer certificate is number ${carriedAt + 1}`
        : 'the signer certificate is not among them'),
  );
  if (signer === undefined) {
    f.fail(
      'token.signer',
      'crypto',
      'the signer certificate is neither in the token nor given with --certs',
    );
    return f.report(undefined, { ...claimsOf(tst), properties: properties.values });
  }
  const signatureAlgorithm = effectiveSignatureAlgorithm(token);
  const sigOk = await verifySignature(
    signer.spki,
    signatureAlgorithm,
    token.signedAttrs,
    token.signature,
  );
  // RFC 9882 3.3, RFC 9814 4: with signed attributes, the digest must be as strong as the
  // ML-DSA or SLH-DSA parameter set (verifiers MAY reject a weaker one; this one does).
  const digestProblem = cmsDigestProblem(signatureAlgorithm, token.digestAlgorithmId);
  f.check(
    'token.signature',
    'crypto',
    sigOk && digestProblem === undefined,
    `signed by the key of ${signer.sha256}`,
    sigOk && digestProblem !== undefined
      ? digestProblem
      : 'the signature does not verify with the signer certificate',
  );

  // RFC 3161 2.4.2: the ESSCertID of the TSA certificate MUST be in a signingCertificate
  // attribute (RFC 2634); RFC 5816 2.2.1 allows signingCertificateV2 (RFC 5035) instead. When a
  // TSA sends both, both must name the signer.
  const essProblems = essAttrs.map((a) => essMismatch(a, signer)).filter((p) => p !== undefined);
  f.check(
    'token.ess-cert-id',
    'crypto',
    essAttrs.length > 0 && essProblems.length === 0,
    `${essAttrs.map((a) => (a.version === 'v2' ? 'signingCertificateV2' : 'signingCertificate')).join(' and ')} names the signer certificate`,
    essAttrs.length === 0
      ? 'no signingCertificate or signingCertificateV2 attribute'
      : essProblems.join('; '),
  );

  // RFC 3161 2.4.2: tsa, if present, MUST correspond to one of the signer certificate's names.
  if (tst.tsaName !== undefined) {
    f.check(
      'token.tsa-name',
      'crypto',
      tsaNameMatches(tst.tsaName, signer),
      'the tsa name is a subject name of the signer certificate',
      'the tsa name is not among the subject names of the signer certificate',
    );
  } else f.skip('token.tsa-name', 'the token names no TSA (tsa is optional)');

  const protection = algorithmProtectionProblem(token);
  if (protection === undefined)
    f.skip('token.algorithm-protection', 'no CMSAlgorithmProtection attribute (optional)');
  else
    f.check(
      'token.algorithm-protection',
      'crypto',
      protection === '',
      'CMSAlgorithmProtection names the SignerInfo digest and signature algorithms',
      protection,
    );

  // The signer may time-stamp and nothing else (RFC 3161 2.3).
  const eku = extendedKeyUsages(signer);
  f.check(
    'token.signer-eku',
    'crypto',
    eku !== undefined &&
      eku.critical &&
      eku.oids.length === 1 &&
      eku.oids[0] === id_kp_timeStamping,
    'the signer certificate has only the critical id-kp-timeStamping EKU',
    'the signer certificate lacks a critical id-kp-timeStamping-only EKU',
  );

  // The chain at genTime, so that tokens stay verifiable after the certificate expires.
  const at = options.atOverride ?? tst.genTime;
  const rest = unique.filter((c) => c.sha256 !== signer.sha256);
  const result = await validatePath(signer, rest, { ...options, at }, f, { leftover: 'warn' });
  let ids: { deviceId?: string; partitionId?: string } = {};
  if (result.path !== undefined) {
    if (result.path.some((c) => roleOf(c) !== undefined)) ids = checkRoles(result.path, f);
    await checkRevocation(result.path, { ...options, at }, f, rest);
  }

  // With the request: nonce, policy, imprint and certReq behaviour.
  if (options.request !== undefined) {
    try {
      const req = parseRequest(options.request);
      const problems: string[] = [];
      if (req.nonce !== undefined && (tst.nonce === undefined || !bytesEqual(req.nonce, tst.nonce)))
        problems.push('nonce differs');
      if (req.nonce === undefined && tst.nonce !== undefined)
        problems.push('a nonce was not asked for');
      if (req.policy !== undefined && req.policy !== tst.policy)
        problems.push('policy differs from the requested one');
      if (!bytesEqual(req.imprint, tst.messageImprint))
        problems.push('messageImprint differs from the request');
      // RFC 3161 2.4.1: certReq TRUE: the signer certificate MUST be in certificates;
      // FALSE or absent: the certificates field MUST NOT be present.
      const signerCarried = token.certificates.some((c) => bytesEqual(c, signer.der));
      if (req.certReq && !signerCarried)
        problems.push('the signer certificate was requested but is absent');
      if (!req.certReq && token.certificates.length > 0)
        problems.push('certificates present without certReq');
      f.check(
        'token.request',
        'crypto',
        problems.length === 0,
        'nonce, policy, imprint and certReq match the request',
        problems.join('; '),
      );
    } catch {
      f.fail('token.request', 'parse', 'the request could not be parsed');
    }
  } else f.skip('token.request', 'no request given');

  // TSTInfo encoding rules (RFC 3161 2.4.2, ETSI EN 319 422).
  const rules: string[] = [];
  if (tst.version !== 1n) rules.push('version is not 1');
  if (!/^\d{14}(\.\d*[1-9])?Z$/.test(tst.genTimeText)) rules.push('genTime not in DER form');
  if (tst.accuracy !== undefined) {
    const a = tst.accuracy;
    // RFC 3161 2.4.2: millis [0] INTEGER (1..999), micros [1] INTEGER (1..999), when present.
    const outOfRange = (part: AccuracyPart, v: bigint): boolean =>
      a.present.includes(part) && (v < 1n || v > 999n);
    if (outOfRange('millis', a.millis) || outOfRange('micros', a.micros))
      rules.push('accuracy part out of range');
    // A zero accuracy (an empty SEQUENCE, or explicit zero seconds) is valid ASN.1 and no RFC
    // forbids it; it is reported as a property, not refused.
  }
  // RFC 3161 2.4.2 allows ordering TRUE (reported as a property above); DER (X.690 11.5) omits
  // a value equal to the DEFAULT, so an encoded FALSE is an encoding error.
  if (tst.ordering === false) rules.push('ordering FALSE is encoded (DER omits the DEFAULT)');
  if (tst.extensions.some((e) => e.critical)) rules.push('critical TSTInfo extension');
  if (hash === undefined) rules.push(`unknown imprint hash ${tst.hashOid}`);
  else if (tst.hashedMessage.length !== hash.length)
    rules.push('imprint length does not match its hash');
  f.check(
    'token.encoding',
    'crypto',
    rules.length === 0,
    'TSTInfo follows the encoding rules',
    rules.join('; '),
  );

  const claims: Record<string, unknown> = {
    ...claimsOf(tst),
    signerCertificateSha256: signer.sha256,
    ...ids,
    properties: { ...properties.values, signerKey: publicKeyLabel(signer.spki) },
  };

  // With evidence: the same anchor, the same key, never extractable, local, active.
  if (options.evidence !== undefined) {
    const evidenceOptions: EvidenceOptions = {
      anchors: options.anchors,
      at: options.atOverride ?? tst.genTime,
      ...(options.crls === undefined ? {} : { crls: options.crls }),
      expectSpki: signer.spki,
      require: { 'never-extractable': true, local: true, extractable: false },
      allowSoftware: options.allowSoftware === true,
    };
    const ev = await inspectEvidence(options.evidence, evidenceOptions);
    for (const c of ev.checks) {
      const id = `evidence:${c.id}`;
      if (c.status === 'fail')
        f.fail(
          id,
          c.id.startsWith('policy') || c.id === 'key.binding' || c.id.startsWith('freshness')
            ? 'policy'
            : 'crypto',
          c.detail,
        );
      else if (c.status === 'pass') f.pass(id, c.detail);
      else if (c.status === 'warn') f.warn(id, c.detail);
      else if (c.status === 'info') f.info(id, c.detail);
      else f.skip(id, c.detail);
    }
    const key = (ev.claims as { keys?: { identifier?: string; partitionId?: string }[] }).keys?.[0];
    const device = (ev.claims as { platform?: { deviceId?: string } }).platform?.deviceId;
    if (ev.outcome === 'verified') {
      f.pass(
        'token.key-in-hsm',
        `the token was signed by key ${key?.identifier ?? '?'}, generated in partition ${key?.partitionId ?? '?'} of device ${device ?? '?'} and never extractable`,
      );
    } else
      f.fail(
        'token.key-in-hsm',
        'policy',
        'the evidence does not prove that the signing key stayed in an HSM partition',
      );
    claims.evidence = ev.claims;
  } else f.skip('token.key-in-hsm', 'no evidence given');
  return f.report(result.anchor, claims);
}

function claimsOf(tst: TstInfo): Record<string, unknown> {
  const a = tst.accuracy;
  return {
    policy: tst.policy,
    ...serialFields(tst.serial),
    genTime: isoFromGeneralizedTime(tst.genTimeText),
    hash: HASHES[tst.hashOid]?.name ?? tst.hashOid,
    imprint: toHex(tst.hashedMessage),
    ...(tst.nonce === undefined ? {} : { nonce: unsignedHex(tst.nonce) }),
    // RFC 3161 2.4.2: absent parts count as zero, but the report shows only what is encoded.
    ...(a === undefined
      ? {}
      : { accuracy: Object.fromEntries(a.present.map((part) => [part, Number(a[part])])) }),
  };
}

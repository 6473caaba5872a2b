// Shared fixtures for the verifier tests: node:crypto test keys, the HSM chain profile built with
// src/pki, hand-written certificates (der writer) for encodings the builder refuses, and report
// lookups.
import {
  constants,
  generateKeyPairSync,
  sign,
  type KeyObject,
  type SignKeyObjectInput,
} from 'node:crypto';
import { expect } from 'vitest';
import type { Finding, FindingStatus, Report } from '../../../src/attestation/index.js';
import {
  authorityKeyIdentifier,
  basicConstraints,
  buildCertificate,
  der,
  deviceTemplate,
  encodeDer,
  encodeName,
  id_ce_keyEvidence,
  keyUsage,
  partitionAttestationTemplate,
  partitionTimestampTemplate,
  PkiError,
  rootTemplate,
  signatureAlgorithmIdentifier,
  subjectKeyIdentifier,
  type DistinguishedName,
  type ExtensionSpec,
  type KeyAlgorithm,
  type PkiErrorCode,
  type TbsCertificateTemplate,
} from '../../../src/pki/index.js';

export interface TestKey {
  readonly algorithm: KeyAlgorithm;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly spki: Uint8Array;
}

function wrap(algorithm: KeyAlgorithm, pair: { publicKey: KeyObject; privateKey: KeyObject }) {
  return {
    algorithm,
    privateKey: pair.privateKey,
    publicKey: pair.publicKey,
    spki: new Uint8Array(pair.publicKey.export({ type: 'spki', format: 'der' })),
  };
}

export function ecKey(curve: 'P-256' | 'P-384' = 'P-256'): TestKey {
  return wrap(
    curve === 'P-256' ? 'ecdsa-p256' : 'ecdsa-p384',
    generateKeyPairSync('ec', { namedCurve: curve }),
  );
}

export function ed25519Key(): TestKey {
  return wrap('ed25519', generateKeyPairSync('ed25519'));
}

/** An RSA key; `pss` picks the RSASSA-PSS signature scheme of src/pki/algorithms.ts. */
export function rsaKey(bits: number, pss = false): TestKey {
  // The KeyAlgorithm names only fix the signature scheme here; the modulus is what we ask for.
  return wrap(
    pss ? 'rsa-pss-3072' : 'rsa-3072',
    generateKeyPairSync('rsa', { modulusLength: bits }),
  );
}

/** The X.509 signature of `data` under the key's scheme (signatureAlgorithmIdentifier). */
export function signWith(key: TestKey, data: Uint8Array): Uint8Array {
  const input: SignKeyObjectInput = { key: key.privateKey, dsaEncoding: 'der' };
  switch (key.algorithm) {
    case 'ecdsa-p256':
      return new Uint8Array(sign('sha256', data, input));
    case 'ecdsa-p384':
      return new Uint8Array(sign('sha384', data, input));
    case 'ed25519':
      return new Uint8Array(sign(null, data, key.privateKey));
    case 'rsa-3072':
    case 'rsa-4096':
      return new Uint8Array(sign('sha256', data, key.privateKey));
    case 'rsa-pss-3072':
    case 'rsa-pss-4096':
      return new Uint8Array(
        sign('sha256', data, {
          key: key.privateKey,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: 32,
        }),
      );
    default:
      throw new Error(`no node:crypto signer for ${key.algorithm}`);
  }
}

/** DER AlgorithmIdentifier of the key's signature scheme, as the project writes it. */
export function signatureAlgorithmDer(key: TestKey): Uint8Array {
  return encodeDer(signatureAlgorithmIdentifier(key.algorithm).toSchema());
}

export function issuerOf(key: TestKey): {
  algorithm: KeyAlgorithm;
  sign: (tbs: Uint8Array) => Promise<Uint8Array>;
} {
  return {
    algorithm: key.algorithm,
    sign: (tbs) => Promise.resolve(signWith(key, tbs)),
  };
}

let serialCounter = 0x1000;

/** A fresh positive serial number (distinct per certificate, reproducible per run). */
export function nextSerial(): Uint8Array {
  serialCounter++;
  return Uint8Array.of(0x42, serialCounter >> 8, serialCounter & 0xff);
}

/** Validity of the hand-built chains; AT lies inside it. */
export const NOT_BEFORE = new Date('2029-01-01T00:00:00Z');
export const NOT_AFTER = new Date('2032-01-01T00:00:00Z');
export const AT = new Date('2030-06-01T12:00:00Z');

export const DEVICE_ID = 'SWHSM-00112233AABBCCDD';
export const PARTITION_ID = 'p1';

export const ROOT_DN: DistinguishedName = {
  country: 'XX',
  organization: 'attestamp unit test',
  commonName: 'Unit Test Factory Root',
};
export const DEVICE_DN: DistinguishedName = {
  country: 'XX',
  organization: 'attestamp unit test',
  commonName: `attestamp device ${DEVICE_ID}`,
  serialNumber: DEVICE_ID,
};
export const ATTESTATION_DN: DistinguishedName = {
  organization: 'attestamp unit test',
  organizationalUnit: PARTITION_ID,
  commonName: 'partition attestation key',
};
export const TIMESTAMP_DN: DistinguishedName = {
  organization: 'attestamp unit test',
  organizationalUnit: PARTITION_ID,
  commonName: 'partition timestamp key',
};

export interface Issued {
  readonly der: Uint8Array;
  readonly key: TestKey;
  /** DER Name of the subject. */
  readonly name: Uint8Array;
  readonly serial: Uint8Array;
}

/** Template changes applied before signing (drop extensions by OID, add or replace others). */
export interface Tweak {
  readonly drop?: readonly string[];
  readonly set?: readonly ExtensionSpec[];
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly issuerName?: Uint8Array;
}

export function tweak(t: TbsCertificateTemplate, change: Tweak = {}): TbsCertificateTemplate {
  const replaced = new Set((change.set ?? []).map((e) => e.oid));
  const kept = t.extensions.filter(
    (e) => !(change.drop ?? []).includes(e.oid) && !replaced.has(e.oid),
  );
  return {
    ...t,
    extensions: [...kept, ...(change.set ?? [])],
    notBefore: change.notBefore ?? t.notBefore,
    notAfter: change.notAfter ?? t.notAfter,
    issuer: change.issuerName ?? t.issuer,
  };
}

/** Signs a template with buildCertificate from src/pki. */
export async function certify(
  t: TbsCertificateTemplate,
  key: TestKey,
  issuerKey: TestKey,
): Promise<Issued> {
  const certDer = await buildCertificate(t, issuerOf(issuerKey));
  return { der: certDer, key, name: t.subject, serial: t.serialNumber };
}

function subject(dn: DistinguishedName, key: TestKey, serial = nextSerial()) {
  return {
    serialNumber: serial,
    subject: dn,
    spki: key.spki,
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER,
  };
}

export interface HsmChain {
  readonly root: Issued;
  readonly device: Issued;
  readonly attestation: Issued;
  readonly timestamp: Issued;
}

export interface ChainTweaks {
  readonly root?: Tweak;
  readonly device?: Tweak;
  readonly attestation?: Tweak;
  readonly timestamp?: Tweak;
  readonly deviceId?: string;
  readonly partitionDeviceId?: string;
}

/** The profile chain root -> device -> partition attestation / timestamp keys, P-256 keys. */
export async function hsmChain(tweaks: ChainTweaks = {}): Promise<HsmChain> {
  const rootKey = ecKey();
  const deviceKey = ecKey();
  const attestationKey = ecKey();
  const timestampKey = ecKey();
  const deviceId = tweaks.deviceId ?? DEVICE_ID;
  const ids = { deviceId: tweaks.partitionDeviceId ?? deviceId, partitionId: PARTITION_ID };
  const root = await certify(
    tweak(rootTemplate(subject(ROOT_DN, rootKey)), tweaks.root),
    rootKey,
    rootKey,
  );
  const rootIssuer = { name: root.name, spki: rootKey.spki };
  const device = await certify(
    tweak(deviceTemplate(subject(DEVICE_DN, deviceKey), rootIssuer, deviceId), tweaks.device),
    deviceKey,
    rootKey,
  );
  const deviceIssuer = { name: device.name, spki: deviceKey.spki };
  const attestation = await certify(
    tweak(
      partitionAttestationTemplate(subject(ATTESTATION_DN, attestationKey), deviceIssuer, ids),
      tweaks.attestation,
    ),
    attestationKey,
    deviceKey,
  );
  const timestamp = await certify(
    tweak(
      partitionTimestampTemplate(subject(TIMESTAMP_DN, timestampKey), deviceIssuer, ids),
      tweaks.timestamp,
    ),
    timestampKey,
    deviceKey,
  );
  return { root, device, attestation, timestamp };
}

/** A minimal TbsEvidence-shaped value for the evidence extension (ARC.2.1). */
export const EVIDENCE_VALUE = der.seq(der.integer(1), der.seq());

/** A key attestation certificate (not a CA, evidence extension) issued by `issuer`. */
export async function keyAttestationCertificate(
  issuer: Issued,
  change: Tweak = {},
  key: TestKey = ecKey(),
): Promise<Issued> {
  const t: TbsCertificateTemplate = {
    serialNumber: nextSerial(),
    issuer: issuer.name,
    subject: encodeName({ organization: 'attestamp unit test', commonName: 'attested key' }),
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER,
    spki: key.spki,
    extensions: [
      subjectKeyIdentifier(key.spki),
      authorityKeyIdentifier(issuer.key.spki),
      basicConstraints(false),
      keyUsage(['digitalSignature']),
      { oid: id_ce_keyEvidence, critical: false, value: EVIDENCE_VALUE },
    ],
  };
  return certify(tweak(t, change), key, issuer.key);
}

/** UTCTime and GeneralizedTime TLVs from their text. */
export const utcTime = (text: string): Uint8Array => der.tlv(0x17, new TextEncoder().encode(text));
export const generalizedTime = (text: string): Uint8Array =>
  der.tlv(0x18, new TextEncoder().encode(text));

export interface RawCertificate {
  /** 1 omits the version field; otherwise [0] EXPLICIT INTEGER (version - 1). Defaults to 3. */
  readonly version?: number;
  readonly serial?: Uint8Array;
  readonly issuer: Uint8Array;
  readonly subject: Uint8Array;
  /** Complete Time TLVs. */
  readonly notBefore: Uint8Array;
  readonly notAfter: Uint8Array;
  readonly spki: Uint8Array;
  readonly extensions?: readonly ExtensionSpec[];
  /** TBSCertificate.signature; defaults to the issuer key's algorithm identifier. */
  readonly innerAlgorithm?: Uint8Array;
  /** Certificate.signatureAlgorithm; defaults to the issuer key's algorithm identifier. */
  readonly outerAlgorithm?: Uint8Array;
  /** Signs the TBS; defaults to signWith(issuerKey). */
  readonly sign?: (tbs: Uint8Array) => Uint8Array;
}

export function encodeExtension(e: ExtensionSpec): Uint8Array {
  return der.seq(der.oid(e.oid), ...(e.critical ? [der.bool(true)] : []), der.octetString(e.value));
}

/** DER TBSCertificate written field by field (RFC 5280 4.1). */
export function rawTbs(c: RawCertificate, issuerKey: TestKey): Uint8Array {
  const version = c.version ?? 3;
  const parts: Uint8Array[] = [];
  if (version !== 1) parts.push(der.contextConstructed(0, der.integer(version - 1)));
  parts.push(
    der.unsignedInteger(c.serial ?? nextSerial()),
    c.innerAlgorithm ?? signatureAlgorithmDer(issuerKey),
    c.issuer,
    der.seq(c.notBefore, c.notAfter),
    c.subject,
    c.spki,
  );
  if (c.extensions !== undefined && c.extensions.length > 0) {
    parts.push(der.contextConstructed(3, der.seq(...c.extensions.map(encodeExtension))));
  }
  return der.seq(...parts);
}

/** Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }. */
export function rawCertificate(c: RawCertificate, issuerKey: TestKey): Uint8Array {
  const tbs = rawTbs(c, issuerKey);
  return der.seq(
    tbs,
    c.outerAlgorithm ?? signatureAlgorithmDer(issuerKey),
    der.tlv(0x03, Uint8Array.of(0), c.sign === undefined ? signWith(issuerKey, tbs) : c.sign(tbs)),
  );
}

/** The finding with this id; fails the test when it is missing or repeated. */
export function finding(report: Report | readonly Finding[], id: string): Finding {
  const checks = 'checks' in report ? report.checks : report;
  const found = checks.filter((c) => c.id === id);
  expect(found, `finding ${id} in ${JSON.stringify(checks)}`).toHaveLength(1);
  return found[0]!;
}

export function statusOf(report: Report | readonly Finding[], id: string): FindingStatus {
  return finding(report, id).status;
}

/** Expects `fn` to throw a PkiError with `code`. */
export function expectPkiError(fn: () => unknown, code: PkiErrorCode): PkiError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `expected PkiError '${code}'`).toBeInstanceOf(PkiError);
  const error = thrown as PkiError;
  expect(error.code).toBe(code);
  return error;
}

// Certificate building (src/pki/certificate.ts) and the HSM chain profiles
// (src/pki/certificate-profiles.ts, standards/attestation.md "Certificate chain profile"), checked
// with @peculiar/x509 and with openssl.
import { execFileSync, spawnSync } from 'node:child_process';
import { constants, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import * as asn1js from 'asn1js';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  PkiError,
  assertStrictDer,
  authorityKeyIdentifier,
  basicConstraints,
  buildCertificate,
  der as derWriter,
  derReader,
  deviceTemplate,
  encodeSignatureAlgorithm,
  KEY_ALGORITHMS,
  encodeName,
  id_ce_keyEvidence,
  encodePem,
  extKeyUsage,
  id_ce_hsmRole,
  id_kp_attestationKey,
  id_kp_timeStamping,
  keyIdentifier,
  keyUsage,
  parseCertificate,
  parseCertificateFields,
  parseDer,
  parseHsmRole,
  partitionAttestationTemplate,
  partitionTimestampTemplate,
  randomSerial,
  rootTemplate,
  signatureAlgorithmIdentifier,
  subjectKeyIdentifier,
  type DistinguishedName,
  type HsmRole,
  type KeyAlgorithm,
  type Signer,
  type TbsCertificateTemplate,
} from '../../../src/pki/index.js';
import { tempDir } from '../../helpers/tmp.js';

type IssuingSigner = Pick<Signer, 'algorithm' | 'sign'>;

/** `value` narrowed to an instance of `type`; fails the test otherwise. */
function instance<T>(value: unknown, type: abstract new (...args: never[]) => T): T {
  expect(value).toBeInstanceOf(type);
  if (!(value instanceof type)) throw new Error(`expected an instance of ${type.name}`);
  return value;
}

interface TestKey {
  readonly algorithm: KeyAlgorithm;
  readonly privateKey: KeyObject;
  readonly spki: Uint8Array;
}

function ecKey(algorithm: 'ecdsa-p256' | 'ecdsa-p384'): TestKey {
  const namedCurve = algorithm === 'ecdsa-p256' ? 'P-256' : 'P-384';
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve });
  return {
    algorithm,
    privateKey,
    spki: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })),
  };
}

function signWith(key: TestKey, data: Uint8Array): Buffer {
  switch (key.algorithm) {
    case 'ecdsa-p256':
      return sign('sha256', data, { key: key.privateKey, dsaEncoding: 'der' });
    case 'ecdsa-p384':
      return sign('sha384', data, { key: key.privateKey, dsaEncoding: 'der' });
    case 'ed25519':
      return sign(null, data, key.privateKey);
    case 'rsa-3072':
    case 'rsa-4096':
      return sign('sha256', data, key.privateKey);
    case 'rsa-pss-3072':
    case 'rsa-pss-4096':
      return sign('sha256', data, {
        key: key.privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 32,
      });
    default:
      throw new Error(`no node:crypto signer for ${key.algorithm}`);
  }
}

function signerFor(key: TestKey): IssuingSigner & { calls: number } {
  const signer = {
    algorithm: key.algorithm,
    calls: 0,
    sign: (tbs: Uint8Array): Promise<Uint8Array> => {
      signer.calls++;
      return Promise.resolve(new Uint8Array(signWith(key, tbs)));
    },
  };
  return signer;
}

/** Deterministic bytes for serial numbers (xorshift32), so runs are reproducible. */
function seededRandom(seed: number): (length: number) => Uint8Array {
  let state = seed >>> 0 || 1;
  return (length) => {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      state ^= state << 13;
      state >>>= 0;
      state ^= state >>> 17;
      state ^= state << 5;
      state >>>= 0;
      out[i] = state & 0xff;
    }
    return out;
  };
}

const NOT_BEFORE = new Date('2025-01-01T00:00:00Z');
const NOT_AFTER = new Date('2045-01-01T00:00:00Z');
/** openssl verify runs at this fixed instant (2030-01-01T00:00:00Z), inside every validity. */
const VERIFY_AT = String(Date.UTC(2030, 0, 1) / 1000);
const DEVICE_ID = 'SWHSM-0011223344556677';
const PARTITION_ID = 'default';

const ROOT_DN: DistinguishedName = {
  country: 'DE',
  organization: 'Attestamp Test',
  commonName: 'Attestamp Test Factory Root',
};
const DEVICE_DN: DistinguishedName = {
  country: 'DE',
  organization: 'Attestamp Test',
  commonName: 'Attestamp Test Device',
  serialNumber: DEVICE_ID,
};
const ATTESTATION_DN: DistinguishedName = {
  organization: 'Attestamp Test',
  organizationalUnit: PARTITION_ID,
  commonName: 'Partition Attestation Key',
};
const TIMESTAMP_DN: DistinguishedName = {
  organization: 'Attestamp Test',
  organizationalUnit: PARTITION_ID,
  commonName: 'Partition Timestamp Key',
};

const random = seededRandom(0x00c0ffee);
const dir = tempDir();

function writePem(name: string, der: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, encodePem('CERTIFICATE', der));
  return path;
}

function opensslText(der: Uint8Array, name: string): string {
  return execFileSync('openssl', ['x509', '-in', writePem(name, der), '-text', '-noout'], {
    encoding: 'utf8',
  });
}

let verifyCount = 0;

interface VerifyResult {
  readonly ok: boolean;
  readonly output: string;
}

/** `openssl verify` at VERIFY_AT; `untrusted` are intermediates, `extra` further flags. */
function opensslVerify(
  root: Uint8Array,
  untrusted: readonly Uint8Array[],
  leaf: Uint8Array,
  extra: readonly string[] = [],
): VerifyResult {
  const tag = String(++verifyCount);
  const args = ['verify', '-attime', VERIFY_AT, '-CAfile', writePem(`root-${tag}.pem`, root)];
  if (untrusted.length > 0) {
    const bundle = untrusted.map((c) => encodePem('CERTIFICATE', c)).join('');
    const path = join(dir, `untrusted-${tag}.pem`);
    writeFileSync(path, bundle);
    args.push('-untrusted', path);
  }
  args.push(...extra, writePem(`leaf-${tag}.pem`, leaf));
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

/** The body of one extension in `openssl x509 -text` output (the lines under its title). */
function opensslExtension(text: string, title: string): { critical: boolean; body: string } {
  const lines = text.split('\n');
  const index = lines.findIndex((l) => l.trim().startsWith(`${title}:`));
  if (index < 0) throw new Error(`openssl output lacks ${title}`);
  const body: string[] = [];
  for (const line of lines.slice(index + 1)) {
    if (!line.startsWith('                ')) break;
    body.push(line.trim());
  }
  return { critical: lines[index]!.includes('critical'), body: body.join('\n') };
}

/** Dotted form of OBJECT IDENTIFIER content octets, with BigInt arcs (independent of asn1js). */
function decodeOid(content: Uint8Array): string {
  const arcs: bigint[] = [];
  let value = 0n;
  for (const b of content) {
    value = (value << 7n) | BigInt(b & 0x7f);
    if ((b & 0x80) === 0) {
      arcs.push(value);
      value = 0n;
    }
  }
  const first = arcs.shift() ?? 0n;
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs].join('.');
}

/** The OID of a DER value that starts with an OBJECT IDENTIFIER TLV at `offset`. */
function oidAt(der: Uint8Array, offset: number): string {
  expect(der[offset]).toBe(0x06);
  const length = der[offset + 1]!;
  return decodeOid(der.subarray(offset + 2, offset + 2 + length));
}

/** Offset of the first value inside the SEQUENCE that starts `der`. */
function firstChild(der: Uint8Array): number {
  expect(der[0]).toBe(0x30);
  return der[1]! < 0x80 ? 2 : 2 + (der[1]! & 0x7f);
}

interface RawExtension {
  readonly oid: string;
  readonly critical: boolean;
  readonly value: Uint8Array;
}

/**
 * The extensions of a certificate read from its DER, OIDs decoded by decodeOid: @peculiar/x509
 * and asn1js misspell arcs above 2^53 such as 2.25 UUID arcs (see the trap test below).
 */
function rawExtensions(cert: Uint8Array): RawExtension[] {
  const certificate = instance(parseDer(cert), asn1js.Sequence);
  const tbs = instance(certificate.valueBlock.value[0], asn1js.Sequence);
  const tagged = instance(
    tbs.valueBlock.value.find((v) => v.idBlock.tagClass === 3 && v.idBlock.tagNumber === 3),
    asn1js.Constructed,
  );
  const list = instance(tagged.valueBlock.value[0], asn1js.Sequence);
  return list.valueBlock.value.map((item) => {
    const fields = instance(item, asn1js.Sequence).valueBlock.value;
    const oidRaw = new Uint8Array(fields[0]!.valueBeforeDecodeView);
    const critical = fields.length === 3 && instance(fields[1], asn1js.Boolean).getValue();
    const value = instance(fields[fields.length - 1], asn1js.OctetString);
    return {
      oid: oidAt(oidRaw, 0),
      critical,
      value: new Uint8Array(value.valueBlock.valueHexView),
    };
  });
}

function rawExtension(level: Level, oid: string): RawExtension | undefined {
  return rawExtensions(der(level)).find((e) => e.oid === oid);
}

/** The EKU OIDs in an extKeyUsage extension value, decoded from its DER. */
function ekuOids(value: Uint8Array): string[] {
  const out: string[] = [];
  for (let pos = firstChild(value); pos < value.length; pos += 2 + value[pos + 1]!) {
    out.push(oidAt(value, pos));
  }
  return out;
}

function colonHex(bytes: Uint8Array): string {
  return Buffer.from(bytes)
    .toString('hex')
    .toUpperCase()
    .replace(/(..)(?!$)/g, '$1:');
}

function subjectOf(
  key: TestKey,
  subject: DistinguishedName,
  validity: { notBefore: Date; notAfter: Date } = { notBefore: NOT_BEFORE, notAfter: NOT_AFTER },
): {
  serialNumber: Uint8Array;
  subject: DistinguishedName;
  spki: Uint8Array;
  notBefore: Date;
  notAfter: Date;
} {
  return { serialNumber: randomSerial(random), subject, spki: key.spki, ...validity };
}

interface Chain {
  readonly rootKey: TestKey;
  readonly deviceKey: TestKey;
  readonly attestationKey: TestKey;
  readonly timestampKey: TestKey;
  readonly root: Uint8Array;
  readonly device: Uint8Array;
  readonly attestation: Uint8Array;
  readonly timestamp: Uint8Array;
  readonly templates: Readonly<Record<Level, TbsCertificateTemplate>>;
  readonly text: Readonly<Record<Level, string>>;
}

type Level = 'root' | 'device' | 'attestation' | 'timestamp';
const LEVELS: readonly Level[] = ['root', 'device', 'attestation', 'timestamp'];

let chain: Chain;

beforeAll(async () => {
  const rootKey = ecKey('ecdsa-p384');
  const deviceKey = ecKey('ecdsa-p384');
  const attestationKey = ecKey('ecdsa-p384');
  const timestampKey = ecKey('ecdsa-p256');
  const ids = { deviceId: DEVICE_ID, partitionId: PARTITION_ID };
  const rootIssuer = { name: encodeName(ROOT_DN), spki: rootKey.spki };
  const deviceIssuer = { name: encodeName(DEVICE_DN), spki: deviceKey.spki };
  const templates: Record<Level, TbsCertificateTemplate> = {
    root: rootTemplate(subjectOf(rootKey, ROOT_DN)),
    device: deviceTemplate(subjectOf(deviceKey, DEVICE_DN), rootIssuer, DEVICE_ID),
    attestation: partitionAttestationTemplate(
      subjectOf(attestationKey, ATTESTATION_DN),
      deviceIssuer,
      ids,
    ),
    timestamp: partitionTimestampTemplate(subjectOf(timestampKey, TIMESTAMP_DN), deviceIssuer, ids),
  };
  const root = await buildCertificate(templates.root, signerFor(rootKey));
  const device = await buildCertificate(templates.device, signerFor(rootKey));
  const attestation = await buildCertificate(templates.attestation, signerFor(deviceKey));
  const timestamp = await buildCertificate(templates.timestamp, signerFor(deviceKey));
  const ders: Record<Level, Uint8Array> = { root, device, attestation, timestamp };
  const text = Object.fromEntries(
    LEVELS.map((l) => [l, opensslText(ders[l], `${l}.pem`)]),
  ) as Record<Level, string>;
  chain = {
    rootKey,
    deviceKey,
    attestationKey,
    timestampKey,
    root,
    device,
    attestation,
    timestamp,
    templates,
    text,
  };
});

function der(level: Level): Uint8Array {
  return chain[level];
}

function peculiar(level: Level): x509.X509Certificate {
  return new x509.X509Certificate(der(level));
}

async function buildRejection(
  template: TbsCertificateTemplate,
  signer: IssuingSigner & { calls: number },
): Promise<PkiError> {
  try {
    await buildCertificate(template, signer);
  } catch (err) {
    if (err instanceof PkiError) return err;
    throw err;
  }
  throw new Error('buildCertificate accepted the template');
}

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack).includes(Buffer.from(needle));
}

/** The DER of a UTCTime (tag 0x17) or GeneralizedTime (tag 0x18) with this text. */
function timeDer(tag: 0x17 | 0x18, text: string): Uint8Array {
  return new Uint8Array([tag, text.length, ...Buffer.from(text, 'latin1')]);
}

const EXPECTED: Readonly<
  Record<
    Level,
    {
      readonly issuer: Level;
      readonly ca: boolean;
      readonly pathLength: number | undefined;
      readonly opensslBasicConstraints: string;
      readonly keyUsage: number;
      readonly opensslKeyUsage: string;
      readonly keyUsageDer: string;
      readonly eku: readonly string[] | undefined;
      readonly role: HsmRole;
    }
  >
> = {
  root: {
    issuer: 'root',
    ca: true,
    pathLength: 2,
    opensslBasicConstraints: 'CA:TRUE, pathlen:2',
    keyUsage: x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
    opensslKeyUsage: 'Certificate Sign, CRL Sign',
    keyUsageDer: '03020106',
    eku: undefined,
    role: { role: 'root' },
  },
  device: {
    issuer: 'root',
    ca: true,
    pathLength: 1,
    opensslBasicConstraints: 'CA:TRUE, pathlen:1',
    keyUsage:
      x509.KeyUsageFlags.digitalSignature |
      x509.KeyUsageFlags.keyCertSign |
      x509.KeyUsageFlags.cRLSign,
    opensslKeyUsage: 'Digital Signature, Certificate Sign, CRL Sign',
    keyUsageDer: '03020186',
    eku: undefined,
    role: { role: 'device', deviceId: DEVICE_ID },
  },
  attestation: {
    issuer: 'device',
    ca: true,
    pathLength: 0,
    opensslBasicConstraints: 'CA:TRUE, pathlen:0',
    keyUsage: x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign,
    opensslKeyUsage: 'Digital Signature, Certificate Sign',
    keyUsageDer: '03020284',
    eku: [id_kp_attestationKey],
    role: { role: 'partition-attestation', deviceId: DEVICE_ID, partitionId: PARTITION_ID },
  },
  timestamp: {
    issuer: 'device',
    ca: false,
    pathLength: undefined,
    opensslBasicConstraints: 'CA:FALSE',
    keyUsage: x509.KeyUsageFlags.digitalSignature,
    opensslKeyUsage: 'Digital Signature',
    keyUsageDer: '03020780',
    eku: [id_kp_timeStamping],
    role: { role: 'partition-timestamp', deviceId: DEVICE_ID, partitionId: PARTITION_ID },
  },
};

const KEY_OF: Readonly<Record<Level, keyof Chain>> = {
  root: 'rootKey',
  device: 'deviceKey',
  attestation: 'attestationKey',
  timestamp: 'timestampKey',
};

function keyOf(level: Level): TestKey {
  return chain[KEY_OF[level]] as TestKey;
}

describe('HSM chain profile, read back with @peculiar/x509', () => {
  it.each(LEVELS)('%s: is strict DER and parses back to the same bytes', (level) => {
    expect(() => {
      assertStrictDer(der(level));
    }).not.toThrow();
    expect(new Uint8Array(peculiar(level).rawData)).toEqual(der(level));
    const parsed = parseCertificate(der(level));
    expect(new Uint8Array(parsed.toSchema().toBER(false))).toEqual(der(level));
    expect(parsed.version).toBe(2);
  });

  it.each(LEVELS)('%s: carries exactly the profile extensions, each once', (level) => {
    const raw = rawExtensions(der(level));
    expect(peculiar(level).extensions).toHaveLength(raw.length);
    const eku = EXPECTED[level].eku;
    const expected: [string, boolean][] = [
      ['2.5.29.14', false],
      ['2.5.29.35', false],
      ['2.5.29.19', true],
      ['2.5.29.15', true],
      ...(eku === undefined ? [] : [['2.5.29.37', level === 'timestamp'] as [string, boolean]]),
      [id_ce_hsmRole, false],
    ];
    expect(raw.map((e) => [e.oid, e.critical])).toEqual(expected);
    if (eku !== undefined) expect(ekuOids(rawExtension(level, '2.5.29.37')!.value)).toEqual(eku);
  });

  it.each(LEVELS)('%s: basicConstraints is critical with the profile cA and pathLen', (level) => {
    const bc = peculiar(level).getExtension(x509.BasicConstraintsExtension);
    expect(bc).not.toBeNull();
    expect(bc!.critical).toBe(true);
    expect(bc!.ca).toBe(EXPECTED[level].ca);
    expect(bc!.pathLength).toBe(EXPECTED[level].pathLength);
  });

  it.each(LEVELS)('%s: keyUsage is critical with exactly the profile bits', (level) => {
    const ku = peculiar(level).getExtension(x509.KeyUsagesExtension);
    expect(ku).not.toBeNull();
    expect(ku!.critical).toBe(true);
    expect(ku!.usages).toBe(EXPECTED[level].keyUsage);
    expect(hexOf(new Uint8Array(ku!.value))).toBe(EXPECTED[level].keyUsageDer);
  });

  it('the timestamp certificate has one EKU, timeStamping, marked critical', () => {
    const eku = peculiar('timestamp').getExtension(x509.ExtendedKeyUsageExtension);
    expect(eku).not.toBeNull();
    expect(eku!.critical).toBe(true);
    expect(eku!.usages).toEqual([id_kp_timeStamping]);
  });

  it('the attestation certificate has the ARC.3.1 EKU, non-critical', () => {
    expect(id_kp_attestationKey).toBe('1.3.6.1.4.1.32473.3161.3.1');
    const eku = peculiar('attestation').getExtension(x509.ExtendedKeyUsageExtension);
    expect(eku).not.toBeNull();
    expect(eku!.critical).toBe(false);
    expect(eku!.usages).toHaveLength(1);
    expect(ekuOids(new Uint8Array(eku!.value))).toEqual([id_kp_attestationKey]);
  });

  it('pins the known trap: asn1js misspells arcs above 2^53, which the project arc avoids', () => {
    // The project arc keeps every arc below 2^28 (README "Object identifiers"), so the libraries
    // read its OIDs; a 2.25 UUID arc, as foreign certificates may carry, is still misread, which
    // is why src/pki reads OIDs with its own DER reader. If the second half starts failing, the
    // libraries decode such arcs in decimal and the DER-level workarounds can be simplified.
    const eku = peculiar('attestation').getExtension(x509.ExtendedKeyUsageExtension);
    expect(eku!.usages[0]).toBe(id_kp_attestationKey);
    expect(peculiar('root').extensions.map((e) => e.type)).toContain(id_ce_hsmRole);
    const uuidOid = '2.25.290932336010228728432622296596402693424.3.1';
    const parsed = instance(parseDer(extKeyUsage([uuidOid], false).value), asn1js.Sequence);
    const oid = instance(parsed.valueBlock.value[0], asn1js.ObjectIdentifier);
    expect(oid.getValue()).not.toBe(uuidOid);
    expect(rawExtension('attestation', '2.5.29.37')!.value).toEqual(
      extKeyUsage([id_kp_attestationKey], false).value,
    );
  });

  it.each(LEVELS)('%s: parseCertificateFields lists the role extension', (level) => {
    const { extensions } = parseCertificateFields(der(level));
    const ext = extensions.find((e) => e.oid === id_ce_hsmRole);
    expect(ext).toBeDefined();
    expect(parseHsmRole(ext!.value)).toEqual(EXPECTED[level].role);
    expect(extensions.find((e) => e.oid === id_ce_keyEvidence)).toBeUndefined();
    expect(extensions.find((e) => e.oid === '2.5.29.19')?.critical).toBe(true);
  });

  it('root and device certificates have no EKU', () => {
    expect(peculiar('root').getExtension(x509.ExtendedKeyUsageExtension)).toBeNull();
    expect(peculiar('device').getExtension(x509.ExtendedKeyUsageExtension)).toBeNull();
  });

  it.each(LEVELS)('%s: SKI is the RFC 7093 key id and AKI equals the issuer SKI', (level) => {
    const cert = peculiar(level);
    const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
    const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension);
    expect(ski).not.toBeNull();
    expect(aki).not.toBeNull();
    expect(ski!.critical).toBe(false);
    expect(aki!.critical).toBe(false);
    expect(new Uint8Array(cert.publicKey.rawData)).toEqual(keyOf(level).spki);
    expect(ski!.keyId).toBe(hexOf(keyIdentifier(keyOf(level).spki)));
    const issuerSki = peculiar(EXPECTED[level].issuer).getExtension(
      x509.SubjectKeyIdentifierExtension,
    );
    expect(aki!.keyId).toBe(issuerSki!.keyId);
    expect(aki!.certId).toBeUndefined();
  });

  it.each(LEVELS)('%s: the hsm role extension is non-critical and decodes', (level) => {
    const ext = rawExtension(level, id_ce_hsmRole);
    expect(ext).toBeDefined();
    expect(ext!.critical).toBe(false);
    expect(parseHsmRole(ext!.value)).toEqual(EXPECTED[level].role);
    // @peculiar/x509 still sees the value and criticality at the same position.
    const last = peculiar(level).extensions.at(-1)!;
    expect(last.critical).toBe(false);
    expect(parseHsmRole(new Uint8Array(last.value))).toEqual(EXPECTED[level].role);
  });

  it.each(LEVELS)('%s: serial is the template serial, positive, at most 20 octets', (level) => {
    const serial = chain.templates[level].serialNumber;
    expect(peculiar(level).serialNumber).toBe(hexOf(serial));
    expect(serial.length).toBeLessThanOrEqual(20);
    expect(serial[0]).toBeGreaterThan(0);
    expect(serial[0]).toBeLessThan(0x80);
    const parsed = parseCertificate(der(level));
    expect(new Uint8Array(parsed.serialNumber.valueBlock.valueHexView)).toEqual(serial);
  });

  it('issuer and subject names chain, and the device id is the subject serialNumber', () => {
    expect(peculiar('root').issuer).toBe(peculiar('root').subject);
    expect(peculiar('device').issuer).toBe(peculiar('root').subject);
    expect(peculiar('attestation').issuer).toBe(peculiar('device').subject);
    expect(peculiar('timestamp').issuer).toBe(peculiar('device').subject);
    expect(peculiar('device').subjectName.getField('2.5.4.5')).toEqual([DEVICE_ID]);
  });

  it('every signature verifies under its issuer key, and no other', async () => {
    for (const level of LEVELS) {
      const issuer = peculiar(EXPECTED[level].issuer);
      await expect(
        peculiar(level).verify({ publicKey: issuer.publicKey, signatureOnly: true }),
      ).resolves.toBe(true);
    }
    await expect(
      peculiar('device').verify({ publicKey: peculiar('device').publicKey, signatureOnly: true }),
    ).resolves.toBe(false);
    await expect(peculiar('root').isSelfSigned()).resolves.toBe(true);
  });

  it.each(LEVELS)('%s: validity is UTCTime for dates before 2050', (level) => {
    const cert = der(level);
    expect(contains(cert, timeDer(0x17, '250101000000Z'))).toBe(true);
    expect(contains(cert, timeDer(0x17, '450101000000Z'))).toBe(true);
    expect(peculiar(level).notBefore.toISOString()).toBe(NOT_BEFORE.toISOString());
    expect(peculiar(level).notAfter.toISOString()).toBe(NOT_AFTER.toISOString());
  });
});

describe('HSM chain profile, read back with openssl', () => {
  it.each(LEVELS)('%s: basicConstraints as openssl prints it', (level) => {
    const ext = opensslExtension(chain.text[level], 'X509v3 Basic Constraints');
    expect(ext.critical).toBe(true);
    expect(ext.body).toBe(EXPECTED[level].opensslBasicConstraints);
  });

  it.each(LEVELS)('%s: keyUsage as openssl prints it', (level) => {
    const ext = opensslExtension(chain.text[level], 'X509v3 Key Usage');
    expect(ext.critical).toBe(true);
    expect(ext.body).toBe(EXPECTED[level].opensslKeyUsage);
  });

  it('openssl sees timeStamping as the only, critical EKU of the timestamp certificate', () => {
    const ext = opensslExtension(chain.text.timestamp, 'X509v3 Extended Key Usage');
    expect(ext.critical).toBe(true);
    expect(ext.body).toBe('Time Stamping');
  });

  it('openssl sees the ARC.3.1 EKU, non-critical, on the attestation certificate', () => {
    const ext = opensslExtension(chain.text.attestation, 'X509v3 Extended Key Usage');
    expect(ext.critical).toBe(false);
    expect(ext.body).toBe(id_kp_attestationKey);
    expect(chain.text.root).not.toContain('X509v3 Extended Key Usage');
    expect(chain.text.device).not.toContain('X509v3 Extended Key Usage');
  });

  it.each(LEVELS)('%s: openssl shows SKI, and AKI equal to the issuer SKI', (level) => {
    const ski = opensslExtension(chain.text[level], 'X509v3 Subject Key Identifier');
    const aki = opensslExtension(chain.text[level], 'X509v3 Authority Key Identifier');
    const issuerSki = opensslExtension(
      chain.text[EXPECTED[level].issuer],
      'X509v3 Subject Key Identifier',
    );
    expect(ski.critical).toBe(false);
    expect(ski.body).toBe(colonHex(keyIdentifier(keyOf(level).spki)));
    expect(aki.body.replace(/^keyid:/, '')).toBe(issuerSki.body);
  });

  it.each(LEVELS)('%s: openssl lists the hsm role extension as non-critical', (level) => {
    const line = chain.text[level]
      .split('\n')
      .find((l) => l.trim().startsWith(`${id_ce_hsmRole}:`));
    expect(line).toBeDefined();
    expect(line).not.toContain('critical');
  });

  it('openssl verify accepts the partition attestation certificate through the device', () => {
    const r = opensslVerify(chain.root, [chain.device], chain.attestation);
    expect(r.output).toContain(': OK');
    expect(r.ok).toBe(true);
  });

  it('openssl verify accepts the timestamp certificate for the timestampsign purpose', () => {
    const r = opensslVerify(chain.root, [chain.device], chain.timestamp, [
      '-purpose',
      'timestampsign',
    ]);
    expect(r.output).toContain(': OK');
    expect(r.ok).toBe(true);
  });

  it('openssl verify refuses the attestation certificate for timestampsign', () => {
    const r = opensslVerify(chain.root, [chain.device], chain.attestation, [
      '-purpose',
      'timestampsign',
    ]);
    expect(r.ok).toBe(false);
    expect(r.output).toContain('unsuitable certificate purpose');
  });

  it('openssl verify refuses a partition certificate without the device intermediate', () => {
    const r = opensslVerify(chain.root, [], chain.timestamp);
    expect(r.ok).toBe(false);
    expect(r.output).toContain('unable to get local issuer certificate');
  });

  it('openssl verify refuses the chain after the certificates expire', () => {
    const r = opensslVerify(chain.root, [chain.device], chain.timestamp, [
      '-attime',
      String(Date.UTC(2046, 0, 1) / 1000),
    ]);
    expect(r.ok).toBe(false);
    expect(r.output).toContain('certificate has expired');
  });
});

describe('pathLen constraints as openssl enforces them', () => {
  function leafTemplate(
    key: TestKey,
    subject: DistinguishedName,
    issuer: { name: Uint8Array; spki: Uint8Array },
    ca: boolean,
  ): TbsCertificateTemplate {
    return {
      serialNumber: randomSerial(random),
      issuer: issuer.name,
      subject: encodeName(subject),
      notBefore: NOT_BEFORE,
      notAfter: NOT_AFTER,
      spki: key.spki,
      extensions: [
        subjectKeyIdentifier(key.spki),
        authorityKeyIdentifier(issuer.spki),
        basicConstraints(ca, ca ? 0 : undefined),
        keyUsage(ca ? ['keyCertSign'] : ['digitalSignature']),
      ],
    };
  }

  it('a key attestation leaf under the pathLen 0 attestation CA verifies', async () => {
    const leafKey = ecKey('ecdsa-p256');
    const leaf = await buildCertificate(
      leafTemplate(
        leafKey,
        { commonName: 'attested key' },
        { name: encodeName(ATTESTATION_DN), spki: chain.attestationKey.spki },
        false,
      ),
      signerFor(chain.attestationKey),
    );
    const r = opensslVerify(chain.root, [chain.device, chain.attestation], leaf);
    expect(r.output).toContain(': OK');
    expect(r.ok).toBe(true);
  });

  it('a CA below the pathLen 0 attestation CA breaks the path length constraint', async () => {
    const subCaKey = ecKey('ecdsa-p256');
    const leafKey = ecKey('ecdsa-p256');
    const subCaDn: DistinguishedName = { commonName: 'illegal sub CA' };
    const subCa = await buildCertificate(
      leafTemplate(
        subCaKey,
        subCaDn,
        { name: encodeName(ATTESTATION_DN), spki: chain.attestationKey.spki },
        true,
      ),
      signerFor(chain.attestationKey),
    );
    const leaf = await buildCertificate(
      leafTemplate(
        leafKey,
        { commonName: 'leaf below the sub CA' },
        { name: encodeName(subCaDn), spki: subCaKey.spki },
        false,
      ),
      signerFor(subCaKey),
    );
    const r = opensslVerify(chain.root, [chain.device, chain.attestation, subCa], leaf);
    expect(r.ok).toBe(false);
    expect(r.output).toContain('path length constraint exceeded');
  });
});

describe('validity time encoding (RFC 5280 4.1.2.5)', () => {
  async function selfSigned(notBefore: Date, notAfter: Date): Promise<Uint8Array> {
    const key = ecKey('ecdsa-p256');
    return buildCertificate(
      rootTemplate(subjectOf(key, { commonName: 'time test' }, { notBefore, notAfter })),
      signerFor(key),
    );
  }

  it('uses GeneralizedTime for a notAfter in 2060 and openssl reads it', async () => {
    const cert = await selfSigned(NOT_BEFORE, new Date('2060-01-01T00:00:00Z'));
    expect(() => {
      assertStrictDer(cert);
    }).not.toThrow();
    expect(contains(cert, timeDer(0x17, '250101000000Z'))).toBe(true);
    expect(contains(cert, timeDer(0x18, '20600101000000Z'))).toBe(true);
    const parsed = parseCertificate(cert);
    expect(parsed.notBefore.type).toBe(0); // pkijs TimeType.UTCTime
    expect(parsed.notAfter.type).toBe(1); // pkijs TimeType.GeneralizedTime
    expect(new x509.X509Certificate(cert).notAfter.toISOString()).toBe('2060-01-01T00:00:00.000Z');
    const text = opensslText(cert, 'time-2060.pem');
    expect(text).toContain('Not After : Jan  1 00:00:00 2060 GMT');
  });

  it('switches from UTCTime to GeneralizedTime exactly at 2050-01-01T00:00:00Z', async () => {
    const cert = await selfSigned(
      new Date('2049-12-31T23:59:59Z'),
      new Date('2050-01-01T00:00:00Z'),
    );
    expect(contains(cert, timeDer(0x17, '491231235959Z'))).toBe(true);
    expect(contains(cert, timeDer(0x18, '20500101000000Z'))).toBe(true);
  });

  it('uses GeneralizedTime before 1950, which UTCTime cannot express', async () => {
    const cert = await selfSigned(
      new Date('1949-12-31T23:59:59Z'),
      new Date('1950-01-01T00:00:00Z'),
    );
    expect(contains(cert, timeDer(0x18, '19491231235959Z'))).toBe(true);
    expect(contains(cert, timeDer(0x17, '500101000000Z'))).toBe(true);
    expect(new x509.X509Certificate(cert).notBefore.toISOString()).toBe('1949-12-31T23:59:59.000Z');
  });

  it('drops fractions of a second instead of writing them', async () => {
    const cert = await selfSigned(
      new Date('2025-06-01T12:00:00.999Z'),
      new Date('2060-06-01T12:00:00.250Z'),
    );
    expect(contains(cert, timeDer(0x17, '250601120000Z'))).toBe(true);
    expect(contains(cert, timeDer(0x18, '20600601120000Z'))).toBe(true);
    expect(() => {
      assertStrictDer(cert);
    }).not.toThrow();
  });
});

describe('buildCertificate refuses invalid templates before signing', () => {
  function base(): TbsCertificateTemplate {
    return chain.templates.timestamp;
  }

  async function expectRefused(template: TbsCertificateTemplate, reason: string): Promise<void> {
    const signer = signerFor(chain.deviceKey);
    const err = await buildRejection(template, signer);
    expect(err).toBeInstanceOf(PkiError);
    expect(err.code).toBe('certificate-invalid');
    expect(err.message).toContain(reason);
    expect(signer.calls).toBe(0);
  }

  it('the unmodified template builds (the refusals below are not incidental)', async () => {
    const signer = signerFor(chain.deviceKey);
    await expect(buildCertificate(base(), signer)).resolves.toBeInstanceOf(Uint8Array);
    expect(signer.calls).toBe(1);
  });

  it('refuses a duplicate extension', async () => {
    await expectRefused(
      { ...base(), extensions: [...base().extensions, basicConstraints(true, 5)] },
      'duplicate extension',
    );
    await expectRefused(
      {
        ...base(),
        extensions: [...base().extensions, extKeyUsage([id_kp_timeStamping], true)],
      },
      'duplicate extension',
    );
  });

  it.each([
    ['zero', [0x00]],
    ['zero with padding', [0x00, 0x01]],
    ['negative', [0xff]],
    ['negative with the top bit set', [0x80, 0x01]],
    ['empty', []],
    ['21 octets long', [0x01, ...new Array<number>(20).fill(0)]],
  ])('refuses a %s serial number', async (_name, serial) => {
    await expectRefused({ ...base(), serialNumber: Uint8Array.from(serial) }, 'serial number');
  });

  it('accepts a 20-octet serial number and writes it unchanged', async () => {
    const serial = Uint8Array.from([0x7f, ...new Array<number>(19).fill(0xa5)]);
    const cert = await buildCertificate(
      { ...base(), serialNumber: serial },
      signerFor(chain.deviceKey),
    );
    expect(new x509.X509Certificate(cert).serialNumber).toBe(hexOf(serial));
  });

  it('refuses notAfter equal to notBefore', async () => {
    await expectRefused({ ...base(), notAfter: base().notBefore }, 'validity');
  });

  it('refuses notAfter before notBefore', async () => {
    await expectRefused(
      { ...base(), notBefore: base().notAfter, notAfter: base().notBefore },
      'validity',
    );
  });
});

describe('randomSerial', () => {
  it('returns 16 octets, positive, with a non-zero first octet', () => {
    expect(hexOf(randomSerial((n) => new Uint8Array(n).fill(0xff)))).toBe(`7f${'ff'.repeat(15)}`);
    expect(hexOf(randomSerial((n) => new Uint8Array(n)))).toBe(`01${'00'.repeat(15)}`);
  });
});

describe('parseCertificate', () => {
  it('refuses DER that is not a certificate with certificate-invalid', () => {
    let err: unknown;
    try {
      parseCertificate(Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0x00]));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PkiError);
    expect((err as PkiError).code).toBe('certificate-invalid');
  });

  it('refuses a certificate with trailing bytes with der-trailing-data', () => {
    let err: unknown;
    try {
      parseCertificate(new Uint8Array([...chain.root, 0x00]));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PkiError);
    expect((err as PkiError).code).toBe('der-trailing-data');
  });
});

/** The PkiError `parse` throws for `bytes`; fails the test on success or another class. */
function fieldsRejection(bytes: Uint8Array): PkiError {
  try {
    parseCertificateFields(bytes);
  } catch (err) {
    if (err instanceof PkiError) return err;
    throw err;
  }
  throw new Error('parseCertificateFields accepted the input');
}

/** `cert` with its TBSCertificate fields replaced (the signature no longer matches). */
function withTbsFields(cert: Uint8Array, edit: (fields: Uint8Array[]) => Uint8Array[]): Uint8Array {
  const { readTlv, childrenOf, encodingOf } = derReader;
  const [tbs, alg, sig] = childrenOf(cert, readTlv(cert, 0));
  const fields = childrenOf(cert, tbs!).map((t) => encodingOf(cert, t));
  return derWriter.seq(
    derWriter.seq(...edit(fields)),
    encodingOf(cert, alg!),
    encodingOf(cert, sig!),
  );
}

describe('parseCertificateFields', () => {
  it.each(LEVELS)('%s: every field is the template and what pkijs reads', (level) => {
    const template = chain.templates[level];
    const fields = parseCertificateFields(der(level));
    const theirs = parseCertificate(der(level));
    expect(fields.der).toEqual(der(level));
    expect(fields.version).toBe(3);
    expect(fields.serialNumber).toEqual(template.serialNumber);
    expect(fields.issuer).toEqual(template.issuer);
    expect(fields.subject).toEqual(template.subject);
    expect(fields.notBefore).toEqual(template.notBefore);
    expect(fields.notAfter).toEqual(template.notAfter);
    expect(fields.notAfter).toEqual(theirs.notAfter.value);
    expect(fields.spki).toEqual(template.spki);
    expect(fields.extensions).toEqual(
      template.extensions.map((e) => ({ oid: e.oid, critical: e.critical, value: e.value })),
    );
    expect(fields.tbs).toEqual(new Uint8Array(theirs.encodeTBS().toBER(false)));
    expect(fields.signature).toEqual(new Uint8Array(theirs.signatureValue.valueBlock.valueHexView));
    const issuer = level === 'root' || level === 'device' ? chain.rootKey : chain.deviceKey;
    expect(fields.signatureAlgorithm).toEqual(encodeSignatureAlgorithm(issuer.algorithm));
  });

  it('reads a GeneralizedTime notAfter (2050 and later) and a UTCTime notBefore', async () => {
    const key = ecKey('ecdsa-p256');
    const notAfter = new Date('2060-01-01T00:00:00Z');
    const cert = await buildCertificate(
      rootTemplate(subjectOf(key, { commonName: 't' }, { notBefore: NOT_BEFORE, notAfter })),
      signerFor(key),
    );
    const fields = parseCertificateFields(cert);
    expect(fields.notBefore.toISOString()).toBe(NOT_BEFORE.toISOString());
    expect(fields.notAfter.toISOString()).toBe(notAfter.toISOString());
  });

  it('reads a 2.25 UUID extension OID exactly (asn1js would not)', () => {
    const uuidOid = '2.25.290932336010228728432622296596402693424.3.1';
    const cert = withTbsFields(der('timestamp'), (f) => {
      const ext = derWriter.seq(derWriter.oid(uuidOid), derWriter.octetString(Uint8Array.of(5, 0)));
      const last = f.at(-1)!;
      const { readTlv, childrenOf, encodingOf } = derReader;
      const list = childrenOf(last, readTlv(last, 0))[0]!;
      const entries = childrenOf(last, list).map((t) => encodingOf(last, t));
      return [...f.slice(0, -1), derWriter.contextConstructed(3, derWriter.seq(...entries, ext))];
    });
    const fields = parseCertificateFields(cert);
    expect(fields.extensions.at(-1)).toEqual({
      oid: uuidOid,
      critical: false,
      value: Uint8Array.of(5, 0),
    });
  });

  it('reads an empty extensions list, as buildCertificate writes it, as no extensions', () => {
    const cert = withTbsFields(der('device'), (f) => [
      ...f.slice(0, -1),
      derWriter.contextConstructed(3, derWriter.seq()),
    ]);
    expect(parseCertificateFields(cert).extensions).toEqual([]);
  });

  it('refuses DER that is not a certificate with certificate-invalid', () => {
    expect(fieldsRejection(Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0x00])).code).toBe(
      'certificate-invalid',
    );
    expect(fieldsRejection(derWriter.octetString(der('root'))).code).toBe('certificate-invalid');
  });

  it('refuses trailing bytes with der-trailing-data and BER with der-invalid', () => {
    expect(fieldsRejection(new Uint8Array([...chain.root, 0x00])).code).toBe('der-trailing-data');
    const root = der('root');
    const ber = Uint8Array.from(root);
    ber[1] = 0x80; // indefinite length
    expect(fieldsRejection(ber).code).toBe('der-invalid');
  });

  it.each([
    [
      'a repeated extension (RFC 5280 4.2)',
      (f: Uint8Array[]): Uint8Array[] => {
        const last = f.at(-1)!;
        const { readTlv, childrenOf, encodingOf } = derReader;
        const list = childrenOf(last, readTlv(last, 0))[0]!;
        const entries = childrenOf(last, list).map((t) => encodingOf(last, t));
        const extensions = derWriter.seq(...entries, entries[0]!);
        return [...f.slice(0, -1), derWriter.contextConstructed(3, extensions)];
      },
      'duplicate extension',
    ],
    [
      'a subjectUniqueID after the extensions',
      (f: Uint8Array[]): Uint8Array[] => [...f, derWriter.contextPrimitive(2, Uint8Array.of(0))],
      'unexpected field in TBSCertificate',
    ],
    [
      'a field after subjectPublicKeyInfo that is no [1], [2] or [3]',
      (f: Uint8Array[]): Uint8Array[] => [...f, derWriter.nullValue()],
      'unexpected field in TBSCertificate',
    ],
    [
      'version 4',
      (f: Uint8Array[]): Uint8Array[] => [
        derWriter.contextConstructed(0, derWriter.integer(3)),
        ...f.slice(1),
      ],
      'unknown certificate version',
    ],
    [
      'a validity without notAfter',
      (f: Uint8Array[]): Uint8Array[] => {
        const v = f[4]!;
        const { readTlv, childrenOf, encodingOf } = derReader;
        const [notBefore] = childrenOf(v, readTlv(v, 0));
        return [...f.slice(0, 4), derWriter.seq(encodingOf(v, notBefore!)), ...f.slice(5)];
      },
      'validity must hold notBefore and notAfter',
    ],
  ])('refuses %s with certificate-invalid', (_name, edit, reason) => {
    const err = fieldsRejection(withTbsFields(der('device'), edit));
    expect(err.code).toBe('certificate-invalid');
    expect(err.message).toBe(reason);
  });

  it('encodeSignatureAlgorithm is the DER of signatureAlgorithmIdentifier', () => {
    for (const name of KEY_ALGORITHMS) {
      expect(encodeSignatureAlgorithm(name)).toEqual(
        new Uint8Array(signatureAlgorithmIdentifier(name).toSchema().toBER(false)),
      );
    }
  });
});

describe('RSA and Ed25519 issuers', () => {
  let rsaKey: TestKey;
  let leafKey: TestKey;

  beforeAll(() => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 3072 });
    rsaKey = {
      algorithm: 'rsa-3072',
      privateKey: rsa.privateKey,
      spki: new Uint8Array(rsa.publicKey.export({ type: 'spki', format: 'der' })),
    };
    leafKey = ecKey('ecdsa-p256');
  });

  async function issueAndVerify(issuerKey: TestKey, label: string): Promise<string> {
    const rootDn: DistinguishedName = { commonName: `${label} root` };
    const root = await buildCertificate(
      rootTemplate(subjectOf(issuerKey, rootDn)),
      signerFor(issuerKey),
    );
    const leaf = await buildCertificate(
      partitionTimestampTemplate(
        subjectOf(leafKey, { commonName: `${label} timestamp` }),
        { name: encodeName(rootDn), spki: issuerKey.spki },
        { deviceId: DEVICE_ID, partitionId: PARTITION_ID },
      ),
      signerFor(issuerKey),
    );
    expect(() => {
      assertStrictDer(root);
      assertStrictDer(leaf);
    }).not.toThrow();
    const r = opensslVerify(root, [], leaf, ['-purpose', 'timestampsign']);
    expect(r.output).toContain(': OK');
    expect(r.ok).toBe(true);
    return opensslText(leaf, `${label}-leaf.pem`);
  }

  it('an rsa-3072 (PKCS#1 v1.5) issuer produces certificates openssl verifies', async () => {
    const text = await issueAndVerify(rsaKey, 'rsa');
    expect(text).toContain('Signature Algorithm: sha256WithRSAEncryption');
  });

  it('an rsa-pss-3072 issuer produces certificates openssl verifies, with RFC 4055 params', async () => {
    const text = await issueAndVerify({ ...rsaKey, algorithm: 'rsa-pss-3072' }, 'pss');
    expect(text).toContain('Signature Algorithm: rsassaPss');
    expect(text).toContain('Hash Algorithm: sha256');
    expect(text).toContain('Mask Algorithm: mgf1 with sha256');
    expect(text).toContain('Salt Length: 0x20');
  });

  it('an ed25519 issuer produces certificates openssl verifies', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const key: TestKey = {
      algorithm: 'ed25519',
      privateKey,
      spki: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })),
    };
    const text = await issueAndVerify(key, 'ed25519');
    expect(text).toContain('Signature Algorithm: ED25519');
  });

  it('a signature made with the wrong scheme fails openssl verify', async () => {
    // The certificate claims RSASSA-PSS but the signer uses PKCS#1 v1.5.
    const rootDn: DistinguishedName = { commonName: 'mismatch root' };
    const root = await buildCertificate(rootTemplate(subjectOf(rsaKey, rootDn)), signerFor(rsaKey));
    const liar: IssuingSigner = {
      algorithm: 'rsa-pss-3072',
      sign: (tbs) => Promise.resolve(new Uint8Array(signWith(rsaKey, tbs))),
    };
    const leaf = await buildCertificate(
      partitionTimestampTemplate(
        subjectOf(leafKey, { commonName: 'mismatch leaf' }),
        { name: encodeName(rootDn), spki: rsaKey.spki },
        { deviceId: DEVICE_ID, partitionId: PARTITION_ID },
      ),
      liar,
    );
    const r = opensslVerify(root, [], leaf);
    expect(r.ok).toBe(false);
    expect(r.output).toContain('signature failure');
  });
});

// The verifier's certificate parser (src/attestation/certificate.ts, RFC 5280 4.1): fields of
// certificates made by openssl and by src/pki checked against openssl's own reading, exact OIDs
// under the project's arc, both time types across 1950 and 2050, the TBS bytes signatures cover,
// and PkiError for trailing bytes, BER lengths, unused signature bits and impossible times.
import { execFileSync } from 'node:child_process';
import { createHash, verify } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  authorityKeyId,
  basicConstraintsOf,
  extendedKeyUsages,
  keyUsageBits,
  parseCert,
  subjectKeyId,
} from '../../../src/attestation/certificate.js';
import {
  ARC,
  buildCertificate,
  decodePem,
  der,
  encodeName,
  encodePem,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_hsmRole,
  id_ce_keyEvidence,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
  id_kp_timeStamping,
  keyIdentifier,
} from '../../../src/pki/index.js';
import { tempDir } from '../../helpers/tmp.js';
import {
  ecKey,
  EVIDENCE_VALUE,
  expectPkiError,
  generalizedTime,
  hsmChain,
  issuerOf,
  keyAttestationCertificate,
  rawCertificate,
  rawTbs,
  signatureAlgorithmDer,
  signWith,
  utcTime,
  type RawCertificate,
} from './support.js';

const CERTS = resolve(import.meta.dirname, '../../../certs/reference');
const dir = tempDir();
let fileCount = 0;

function pemFile(derBytes: Uint8Array): string {
  const path = join(dir, `${String(++fileCount)}.pem`);
  writeFileSync(path, encodePem('CERTIFICATE', derBytes));
  return path;
}

function openssl(args: readonly string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8' });
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Serial, dates and version as `openssl x509` prints them. */
function opensslFields(path: string): {
  serial: string;
  notBefore: Date;
  notAfter: Date;
  version: number;
} {
  const out = openssl([
    'x509',
    '-in',
    path,
    '-noout',
    '-serial',
    '-dates',
    '-dateopt',
    'iso_8601',
    '-text',
  ]);
  const field = (re: RegExp): string => {
    const m = re.exec(out);
    if (m === null) throw new Error(`openssl output lacks ${String(re)}`);
    return m[1]!;
  };
  const date = (text: string): Date => new Date(text.replace(' ', 'T'));
  return {
    serial: field(/^serial=([0-9A-F]+)$/m).toLowerCase(),
    notBefore: date(field(/^notBefore=(.+)$/m)),
    notAfter: date(field(/^notAfter=(.+)$/m)),
    version: Number(field(/Version: (\d+)/)),
  };
}

const OPENSSL_EXTENSION_NAMES: Readonly<Record<string, string>> = {
  'X509v3 Subject Key Identifier': id_ce_subjectKeyIdentifier,
  'X509v3 Authority Key Identifier': id_ce_authorityKeyIdentifier,
  'X509v3 Basic Constraints': id_ce_basicConstraints,
  'X509v3 Key Usage': id_ce_keyUsage,
  'X509v3 Extended Key Usage': id_ce_extKeyUsage,
};

/** Extensions in `openssl x509 -text` order, as [oid, critical]. */
function opensslExtensions(path: string): [string, boolean][] {
  const text = openssl(['x509', '-in', path, '-noout', '-text']);
  const out: [string, boolean][] = [];
  for (const m of text.matchAll(/^ {12}([^ :][^:]*):( critical)?\s*$/gm)) {
    out.push([OPENSSL_EXTENSION_NAMES[m[1]!] ?? m[1]!, m[2] !== undefined]);
  }
  return out;
}

/** TBSCertificate bytes located by `openssl asn1parse` (offset, header and value length). */
function opensslTbs(path: string, certDer: Uint8Array): Uint8Array {
  const out = openssl(['asn1parse', '-in', path]);
  const m = /^\s*(\d+):d=1\s+hl=(\d+)\s+l=\s*(\d+) cons: SEQUENCE/m.exec(out);
  if (m === null) throw new Error('asn1parse found no TBSCertificate');
  const start = Number(m[1]);
  return certDer.slice(start, start + Number(m[2]) + Number(m[3]));
}

/** ECDSA-with-SHA-384 over the TBS checked by node:crypto, independently of the parser. */
function nodeVerifies(tbs: Uint8Array, signature: Uint8Array, issuerSpki: Uint8Array): boolean {
  return verify(
    'sha384',
    tbs,
    { key: Buffer.from(issuerSpki), format: 'der', type: 'spki', dsaEncoding: 'der' },
    signature,
  );
}

describe('parseCert on the reference certificates in certs/', () => {
  const files = ['root', 'device', 'partition-attestation', 'partition-timestamp'] as const;

  it.each(files)('default/%s.pem: fields as openssl reads them', (name) => {
    const path = join(CERTS, 'default', `${name}.pem`);
    const certDer = decodePem(readFileSync(path, 'utf8'), 'CERTIFICATE');
    const cert = parseCert(certDer);
    const o = opensslFields(path);
    expect(cert.version).toBe(o.version);
    expect(cert.version).toBe(3);
    // The serial INTEGER's content octets: openssl prints the magnitude without a sign octet.
    expect(hex(cert.serial).replace(/^00/, '')).toBe(o.serial);
    expect(cert.notBefore).toEqual(o.notBefore);
    expect(cert.notAfter).toEqual(o.notAfter);
    expect(cert.extensions.map((e) => [e.oid, e.critical])).toEqual(opensslExtensions(path));
    expect(cert.tbs).toEqual(opensslTbs(path, certDer));
    expect(cert.sha256).toBe(createHash('sha256').update(certDer).digest('hex'));
    expect(cert.spkiSha256).toBe(createHash('sha256').update(cert.spki).digest('hex'));
    expect(cert.innerSignatureAlgorithm).toEqual(cert.signatureAlgorithm);
  });

  it('the role extension has its exact OID under the arc, and each TBS verifies with its issuer key', () => {
    const load = (name: string) =>
      parseCert(
        decodePem(readFileSync(join(CERTS, 'default', `${name}.pem`), 'utf8'), 'CERTIFICATE'),
      );
    const root = load('root');
    const device = load('device');
    const timestamp = load('partition-timestamp');
    const role = timestamp.extensions.find((e) => e.oid === id_ce_hsmRole);
    expect(id_ce_hsmRole).toBe('1.3.6.1.4.1.32473.3161.7.1');
    expect(role?.critical).toBe(false);
    // HsmRole { partitionTimestamp(3), deviceId [0], partitionId [1] "default" }
    expect(role?.value.subarray(0, 5)).toEqual(
      Uint8Array.of(0x30, role!.value.length - 2, 0x0a, 0x01, 0x03),
    );
    expect(extendedKeyUsages(timestamp)).toEqual({ oids: [id_kp_timeStamping], critical: true });
    expect(nodeVerifies(root.tbs, root.signature, root.spki)).toBe(true);
    expect(nodeVerifies(device.tbs, device.signature, root.spki)).toBe(true);
    expect(nodeVerifies(timestamp.tbs, timestamp.signature, device.spki)).toBe(true);
    expect(nodeVerifies(timestamp.tbs, timestamp.signature, root.spki)).toBe(false);
  });
});

describe('parseCert on certificates made by openssl', () => {
  it('a self-signed certificate with a custom critical extension under the arc and notAfter past 2050', () => {
    const key = ecKey('P-384');
    const keyPath = join(dir, 'openssl-key.pem');
    writeFileSync(keyPath, key.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const path = join(dir, 'openssl-cert.pem');
    const customOid = `${ARC}.99.18446744073709551617`; // an arc above 2^64
    openssl([
      'req',
      '-x509',
      '-new',
      '-key',
      keyPath,
      '-sha384',
      '-subj',
      '/C=XX/O=openssl made/CN=openssl test',
      '-days',
      '36500',
      '-set_serial',
      '0x00c0ffee0123456789',
      '-addext',
      'basicConstraints=critical,CA:TRUE,pathlen:3',
      '-addext',
      'keyUsage=critical,keyCertSign,digitalSignature',
      '-addext',
      `${customOid}=critical,DER:30:03:0a:01:00`,
      '-out',
      path,
    ]);
    const certDer = decodePem(readFileSync(path, 'utf8'), 'CERTIFICATE');
    const cert = parseCert(certDer);
    const o = opensslFields(path);
    expect(cert.version).toBe(3);
    expect(hex(cert.serial)).toBe('00c0ffee0123456789');
    expect(o.serial).toBe('c0ffee0123456789');
    expect(cert.notBefore).toEqual(o.notBefore);
    expect(cert.notAfter).toEqual(o.notAfter);
    expect(cert.notAfter.getUTCFullYear()).toBeGreaterThanOrEqual(2050);
    // openssl writes a notAfter from 2050 on as GeneralizedTime.
    expect(certDer.includes(0x18)).toBe(true);
    expect(cert.spki).toEqual(key.spki);
    expect(cert.issuer).toEqual(cert.subject);
    expect(cert.extensions.map((e) => [e.oid, e.critical])).toEqual(opensslExtensions(path));
    const custom = cert.extensions.find((e) => e.oid === customOid);
    expect(custom).toEqual({
      oid: customOid,
      critical: true,
      value: Uint8Array.of(0x30, 0x03, 0x0a, 0x01, 0x00),
    });
    expect(basicConstraintsOf(cert)).toEqual({ ca: true, pathLen: 3 });
    expect(keyUsageBits(cert)).toEqual(new Set([0, 5]));
    expect(subjectKeyId(cert)).toBeDefined();
    expect(cert.tbs).toEqual(opensslTbs(path, certDer));
    expect(nodeVerifies(cert.tbs, cert.signature, key.spki)).toBe(true);
  });
});

describe('parseCert on certificates built by src/pki', () => {
  it('the profile chain: fields, extensions in order with exact OIDs, key identifiers', async () => {
    const chain = await hsmChain();
    const root = parseCert(chain.root.der);
    const device = parseCert(chain.device.der);
    const attestation = parseCert(chain.attestation.der);
    const timestamp = parseCert(chain.timestamp.der);
    expect(root.serial).toEqual(chain.root.serial);
    expect(root.subject).toEqual(chain.root.name);
    expect(root.issuer).toEqual(chain.root.name);
    expect(device.issuer).toEqual(chain.root.name);
    expect(device.subject).toEqual(chain.device.name);
    expect(device.spki).toEqual(chain.device.key.spki);
    expect(device.notBefore).toEqual(new Date('2029-01-01T00:00:00Z'));
    expect(device.notAfter).toEqual(new Date('2032-01-01T00:00:00Z'));
    expect(root.extensions.map((e) => [e.oid, e.critical])).toEqual([
      ['2.5.29.14', false],
      ['2.5.29.35', false],
      ['2.5.29.19', true],
      ['2.5.29.15', true],
      ['1.3.6.1.4.1.32473.3161.7.1', false],
    ]);
    expect(attestation.extensions.map((e) => e.oid)).toEqual([
      '2.5.29.14',
      '2.5.29.35',
      '2.5.29.19',
      '2.5.29.15',
      '2.5.29.37',
      '1.3.6.1.4.1.32473.3161.7.1',
    ]);
    expect(extendedKeyUsages(attestation)).toEqual({
      oids: ['1.3.6.1.4.1.32473.3161.3.1'],
      critical: false,
    });
    expect(basicConstraintsOf(root)).toEqual({ ca: true, pathLen: 2 });
    expect(basicConstraintsOf(device)).toEqual({ ca: true, pathLen: 1 });
    expect(basicConstraintsOf(attestation)).toEqual({ ca: true, pathLen: 0 });
    expect(basicConstraintsOf(timestamp)).toEqual({ ca: false, pathLen: undefined });
    expect(keyUsageBits(root)).toEqual(new Set([5, 6]));
    expect(keyUsageBits(device)).toEqual(new Set([0, 5, 6]));
    expect(keyUsageBits(timestamp)).toEqual(new Set([0]));
    expect(subjectKeyId(device)).toEqual(keyIdentifier(chain.device.key.spki));
    expect(authorityKeyId(device)).toEqual(keyIdentifier(chain.root.key.spki));
    expect(authorityKeyId(timestamp)).toEqual(subjectKeyId(device));

    const leaf = parseCert((await keyAttestationCertificate(chain.attestation)).der);
    const evidence = leaf.extensions.find((e) => e.oid === id_ce_keyEvidence);
    expect(id_ce_keyEvidence).toBe('1.3.6.1.4.1.32473.3161.2.1');
    expect(evidence).toEqual({ oid: id_ce_keyEvidence, critical: false, value: EVIDENCE_VALUE });
  });

  it('tbs is exactly the signed TBSCertificate and signature the signature value', async () => {
    const chain = await hsmChain();
    const certDer = chain.device.der;
    const cert = parseCert(certDer);
    // Certificate header: 30 82 LL LL; TBSCertificate starts at offset 4.
    expect(certDer[0]).toBe(0x30);
    expect(certDer[1]).toBe(0x82);
    const tbsLength = (certDer[6]! << 8) | certDer[7]!;
    expect(certDer[4]).toBe(0x30);
    expect(cert.tbs).toEqual(certDer.subarray(4, 8 + tbsLength));
    expect(cert.tbs).toEqual(opensslTbs(pemFile(certDer), certDer));
    expect(
      verify(
        'sha256',
        cert.tbs,
        { key: chain.root.key.publicKey, dsaEncoding: 'der' },
        cert.signature,
      ),
    ).toBe(true);
  });
});

describe('validity: UTCTime for 1950-2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5)', () => {
  const issuer = ecKey();
  const name = encodeName({ commonName: 'time test' });
  const raw = (notBefore: Uint8Array, notAfter: Uint8Array, extra: Partial<RawCertificate> = {}) =>
    rawCertificate(
      { issuer: name, subject: name, notBefore, notAfter, spki: issuer.spki, ...extra },
      issuer,
    );

  it.each([
    ['491231235959Z', '2049-12-31T23:59:59.000Z'],
    ['500101000000Z', '1950-01-01T00:00:00.000Z'],
    ['991231235959Z', '1999-12-31T23:59:59.000Z'],
    ['000101000000Z', '2000-01-01T00:00:00.000Z'],
    ['260227120000Z', '2026-02-27T12:00:00.000Z'],
  ])('UTCTime %s is %s', (text, iso) => {
    const cert = parseCert(raw(utcTime(text), utcTime(text)));
    expect(cert.notBefore.toISOString()).toBe(iso);
    expect(cert.notAfter.toISOString()).toBe(iso);
  });

  it.each([
    ['19491231235959Z', '1949-12-31T23:59:59.000Z'],
    ['19000101000000Z', '1900-01-01T00:00:00.000Z'],
    ['20500101000000Z', '2050-01-01T00:00:00.000Z'],
    ['99991231235959Z', '9999-12-31T23:59:59.000Z'],
    ['00990615000000Z', '0099-06-15T00:00:00.000Z'],
  ])('GeneralizedTime %s is %s', (text, iso) => {
    const cert = parseCert(raw(generalizedTime(text), generalizedTime(text)));
    expect(cert.notBefore.toISOString()).toBe(iso);
    expect(cert.notAfter.toISOString()).toBe(iso);
  });

  it('buildCertificate picks the time type by year and parseCert reads both back', async () => {
    const key = ecKey();
    const t = {
      serialNumber: Uint8Array.of(7),
      issuer: name,
      subject: name,
      spki: key.spki,
      extensions: [],
    };
    for (const [notBefore, notAfter, tags] of [
      [new Date('1949-12-31T23:59:59Z'), new Date('2050-01-01T00:00:00Z'), [0x18, 0x18]],
      [new Date('1950-01-01T00:00:00Z'), new Date('2049-12-31T23:59:59Z'), [0x17, 0x17]],
      [new Date('1930-05-05T05:05:05Z'), new Date('2049-12-31T23:59:59Z'), [0x18, 0x17]],
    ] as const) {
      const cert = parseCert(await buildCertificate({ ...t, notBefore, notAfter }, issuerOf(key)));
      expect(cert.notBefore).toEqual(notBefore);
      expect(cert.notAfter).toEqual(notAfter);
      // The validity SEQUENCE: its two Time TLVs start with the expected tags.
      const validityAt = cert.tbs.findIndex(
        (b, i) => b === 0x30 && (cert.tbs[i + 2] === 0x17 || cert.tbs[i + 2] === 0x18),
      );
      const first = cert.tbs[validityAt + 2]!;
      const second = cert.tbs[validityAt + 2 + 2 + cert.tbs[validityAt + 3]!]!;
      expect([first, second]).toEqual(tags);
    }
  });

  it.each([
    ['month 13', '261301000000Z'],
    ['30 February', '260230000000Z'],
    ['hour 24', '260101240000Z'],
    ['minute 60', '260101006000Z'],
    ['second 60', '260101000060Z'],
  ])('rejects an impossible UTCTime: %s', (_name, text) => {
    const ok = utcTime('300101000000Z');
    expectPkiError(() => parseCert(raw(utcTime(text), ok)), 'certificate-invalid');
    expectPkiError(() => parseCert(raw(ok, utcTime(text))), 'certificate-invalid');
  });

  it.each([
    ['month 13', '20261301000000Z'],
    ['month 00', '20260001000000Z'],
    ['minute 61', '20260101006100Z'],
    ['31 April', '20260431000000Z'],
    ['29 February of 2100', '21000229000000Z'],
  ])('rejects an impossible GeneralizedTime: %s', (_name, text) => {
    const ok = utcTime('300101000000Z');
    expectPkiError(() => parseCert(raw(generalizedTime(text), ok)), 'asn1-schema');
    expectPkiError(() => parseCert(raw(ok, generalizedTime(text))), 'asn1-schema');
  });

  it('rejects times of other types and non-DER time forms', () => {
    const printable = der.tlv(0x13, new TextEncoder().encode('260101000000Z'));
    expectPkiError(
      () => parseCert(raw(printable, utcTime('300101000000Z'))),
      'certificate-invalid',
    );
    // X.690 11.7/11.8: no offsets, no missing seconds.
    expectPkiError(
      () => parseCert(raw(utcTime('2601010000+0100'), utcTime('300101000000Z'))),
      'der-invalid',
    );
    expectPkiError(
      () => parseCert(raw(generalizedTime('20260101000000.50Z'), utcTime('300101000000Z'))),
      'der-invalid',
    );
  });
});

describe('versions', () => {
  const issuer = ecKey();
  const name = encodeName({ commonName: 'version test' });
  const base = {
    issuer: name,
    subject: name,
    notBefore: utcTime('290101000000Z'),
    notAfter: utcTime('310101000000Z'),
    spki: issuer.spki,
  };

  it('an absent version field is v1, [0] INTEGER 1 is v2, [0] INTEGER 2 is v3', () => {
    expect(parseCert(rawCertificate({ ...base, version: 1 }, issuer)).version).toBe(1);
    expect(parseCert(rawCertificate({ ...base, version: 2 }, issuer)).version).toBe(2);
    const v3 = parseCert(rawCertificate({ ...base, version: 3, extensions: [] }, issuer));
    expect(v3.version).toBe(3);
    expect(v3.extensions).toEqual([]);
  });
});

describe('parseCert rejects with PkiError', () => {
  const issuer = ecKey();
  const name = encodeName({ commonName: 'hostile' });
  const spec: RawCertificate = {
    issuer: name,
    subject: name,
    notBefore: utcTime('290101000000Z'),
    notAfter: utcTime('310101000000Z'),
    spki: issuer.spki,
    extensions: [{ oid: id_ce_basicConstraints, critical: true, value: der.seq(der.bool(true)) }],
  };
  const good = rawCertificate(spec, issuer);

  it('accepts the unmodified certificate (the baseline of every case below)', () => {
    expect(parseCert(good).version).toBe(3);
  });

  it('trailing bytes after the certificate', () => {
    const withTrailer = new Uint8Array([...good, 0x00]);
    expectPkiError(() => parseCert(withTrailer), 'der-trailing-data');
    expectPkiError(() => parseCert(new Uint8Array([...good, ...good])), 'der-trailing-data');
  });

  it('a BER length: non-minimal long form, on the outside or deep inside', () => {
    // Outer length 30 82 LL LL rewritten as 30 83 00 LL LL.
    expect(good[1]).toBe(0x82);
    const outer = new Uint8Array([0x30, 0x83, 0x00, ...good.subarray(2)]);
    expectPkiError(() => parseCert(outer), 'der-invalid');
    // The version field [0] with its length as 81 03 instead of 03, signed as it stands.
    const [version, ...rest] = tbsParts(rawTbs(spec, issuer));
    expect(version).toEqual(Uint8Array.of(0xa0, 0x03, 0x02, 0x01, 0x02));
    const tbs = der.seq(Uint8Array.of(0xa0, 0x81, 0x03, 0x02, 0x01, 0x02), ...rest);
    const cert = der.seq(
      tbs,
      signatureAlgorithmDer(issuer),
      der.tlv(0x03, Uint8Array.of(0), signWith(issuer, tbs)),
    );
    expectPkiError(() => parseCert(cert), 'der-invalid');
  });

  it('an indefinite length', () => {
    const indefinite = new Uint8Array([0x30, 0x80, ...good.subarray(4), 0x00, 0x00]);
    expectPkiError(() => parseCert(indefinite), 'der-invalid');
  });

  it('unused bits in the signature BIT STRING, even when they are zero', () => {
    const tbs = rawTbs(spec, issuer);
    const signature = signWith(issuer, tbs);
    const padded = signature.slice();
    padded[padded.length - 1]! &= 0xfe; // the one unused bit is zero: strict DER allows it
    const unused = der.seq(
      tbs,
      signatureAlgorithmDer(issuer),
      der.tlv(0x03, Uint8Array.of(1), padded),
    );
    const error = expectPkiError(() => parseCert(unused), 'certificate-invalid');
    expect(error.message).toBe('signature bit string has unused bits');
    // Non-zero unused bits are already not DER.
    const dirty = padded.slice();
    dirty[dirty.length - 1]! |= 0x01;
    const notDer = der.seq(
      tbs,
      signatureAlgorithmDer(issuer),
      der.tlv(0x03, Uint8Array.of(1), dirty),
    );
    expectPkiError(() => parseCert(notDer), 'der-invalid');
  });

  it('structural faults: extra or missing fields, wrong tags, unexpected TBS fields', () => {
    const tbs = rawTbs(spec, issuer);
    const sig = der.tlv(0x03, Uint8Array.of(0), signWith(issuer, tbs));
    const extra = der.seq(tbs, signatureAlgorithmDer(issuer), sig, der.nullValue());
    expectPkiError(() => parseCert(extra), 'certificate-invalid');
    expectPkiError(() => parseCert(der.seq(tbs, signatureAlgorithmDer(issuer))), 'asn1-schema');
    expectPkiError(() => parseCert(der.tlv(0x31, tbs)), 'asn1-schema');
    expectPkiError(() => parseCert(der.octetString(good)), 'asn1-schema');
    // The signature as an OCTET STRING instead of a BIT STRING.
    const octet = der.seq(
      tbs,
      signatureAlgorithmDer(issuer),
      der.octetString(signWith(issuer, tbs)),
    );
    expectPkiError(() => parseCert(octet), 'asn1-schema');
    // A [4] field after the subjectPublicKeyInfo.
    const odd = der.seq(...[...tbsParts(tbs), der.contextConstructed(4, der.nullValue())]);
    expectPkiError(
      () =>
        parseCert(
          der.seq(
            odd,
            signatureAlgorithmDer(issuer),
            der.tlv(0x03, Uint8Array.of(0), signWith(issuer, odd)),
          ),
        ),
      'certificate-invalid',
    );
    expectPkiError(() => parseCert(new Uint8Array(0)), 'der-invalid');
  });
});

describe('parseCert rejects malformed values of the extensions path validation reads', () => {
  const issuer = ecKey();
  const name = encodeName({ commonName: 'malformed extension' });
  const withExtension = (oid: string, value: Uint8Array) =>
    rawCertificate(
      {
        issuer: name,
        subject: name,
        notBefore: utcTime('290101000000Z'),
        notAfter: utcTime('310101000000Z'),
        spki: issuer.spki,
        extensions: [{ oid, critical: true, value }],
      },
      issuer,
    );

  it.each([
    ['basicConstraints, empty', id_ce_basicConstraints, new Uint8Array(0)],
    [
      'basicConstraints, a trailing byte',
      id_ce_basicConstraints,
      Uint8Array.of(0x30, 0x03, 0x01, 0x01, 0xff, 0x00),
    ],
    [
      'basicConstraints, BER length',
      id_ce_basicConstraints,
      Uint8Array.of(0x30, 0x81, 0x03, 0x01, 0x01, 0xff),
    ],
    ['keyUsage as an INTEGER', id_ce_keyUsage, Uint8Array.of(0x02, 0x01, 0x05)],
    [
      'extKeyUsage holding an INTEGER',
      id_ce_extKeyUsage,
      Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01),
    ],
    [
      'subjectKeyIdentifier, truncated',
      id_ce_subjectKeyIdentifier,
      Uint8Array.of(0x04, 0x14, 0x01),
    ],
    [
      'authorityKeyIdentifier, truncated',
      id_ce_authorityKeyIdentifier,
      Uint8Array.of(0x30, 0x05, 0x80, 0x01),
    ],
  ])('%s', (_name, oid, value) => {
    const error = expectPkiError(() => parseCert(withExtension(oid, value)), 'certificate-invalid');
    expect(error.message).toBe('malformed extension value');
  });

  it('the same extensions well formed parse, and other extensions are not decoded', () => {
    expect(
      basicConstraintsOf(parseCert(withExtension(id_ce_basicConstraints, der.seq(der.bool(true))))),
    ).toEqual({
      ca: true,
      pathLen: undefined,
    });
    const opaque = parseCert(withExtension(`${ARC}.99.3`, Uint8Array.of(0x01, 0x02, 0x03)));
    expect(opaque.extensions[0]?.value).toEqual(Uint8Array.of(0x01, 0x02, 0x03));
  });
});

/** The top-level TLVs inside a DER SEQUENCE (long-form lengths up to two octets). */
function tbsParts(seq: Uint8Array): Uint8Array[] {
  const headerLength = seq[1]! < 0x80 ? 2 : 2 + (seq[1]! & 0x7f);
  const out: Uint8Array[] = [];
  let pos = headerLength;
  while (pos < seq.length) {
    let len = seq[pos + 1]!;
    let header = 2;
    if (len >= 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + seq[pos + 2 + i]!;
      header += n;
    }
    out.push(seq.subarray(pos, pos + header + len));
    pos += header + len;
  }
  return out;
}

// The smaller pki pieces: PEM (RFC 7468), named bit strings and extension encoders (RFC 5280 4.2.1),
// key identifiers (RFC 7093 method 1), the HSM role extension, PKCS#10 requests, hashes,
// algorithm identifiers and names.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  HASHES,
  HSM_ROLES,
  KEY_ALGORITHMS,
  PkiError,
  authorityKeyIdentifier,
  basicConstraints,
  buildCsr,
  decodePem,
  decodePemAll,
  derOrPem,
  digest,
  encodeDer,
  encodeHsmRole,
  encodeName,
  encodeNamedBits,
  encodePem,
  extKeyUsage,
  formatName,
  generalizedTimeText,
  hashByOid,
  id_kp_timeStamping,
  isKeyAlgorithm,
  keyAlgorithmInfo,
  keyIdentifier,
  keyUsage,
  parseCsr,
  parseDer,
  parseHsmRole,
  pkijsName,
  privateKeyUsagePeriod,
  sha256Fingerprint,
  signatureAlgorithmIdentifier,
  subjectKeyIdentifier,
  subjectPublicKeyBits,
  type HashName,
  type HsmRole,
  type KeyAlgorithm,
  type PkiErrorCode,
} from '../../../src/pki/index.js';
import { toArrayBuffer } from '../../../src/shared/index.js';
import { tempDir } from '../../helpers/tmp.js';

function hex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
}

/** `value` narrowed to an instance of `type`; fails the test otherwise. */
function instance<T>(value: unknown, type: abstract new (...args: never[]) => T): T {
  expect(value).toBeInstanceOf(type);
  if (!(value instanceof type)) throw new Error(`expected an instance of ${type.name}`);
  return value;
}

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** The PkiError `fn` throws; fails the test when it returns or throws something else. */
function pkiError(fn: () => unknown): PkiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PkiError) return err;
    throw err;
  }
  throw new Error('expected a PkiError, nothing was thrown');
}

function expectPkiError(fn: () => unknown, code: PkiErrorCode, reason?: string): PkiError {
  const err = pkiError(fn);
  expect(err).toBeInstanceOf(PkiError);
  expect(err.code).toBe(code);
  if (reason !== undefined) expect(err.message).toContain(reason);
  return err;
}

const dir = tempDir();
let opensslCert: Uint8Array;
let opensslPem: string;

beforeAll(() => {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ed25519',
      '-nodes',
      '-keyout',
      'key.pem',
      '-subj',
      '/CN=pem test',
      '-days',
      '1',
      '-out',
      'cert.pem',
    ],
    { cwd: dir, stdio: 'pipe' },
  );
  execFileSync('openssl', ['x509', '-in', 'cert.pem', '-outform', 'DER', '-out', 'cert.der'], {
    cwd: dir,
    stdio: 'pipe',
  });
  opensslPem = readFileSync(join(dir, 'cert.pem'), 'utf8');
  opensslCert = new Uint8Array(readFileSync(join(dir, 'cert.der')));
});

describe('PEM', () => {
  it('decodes the PEM openssl writes to the DER openssl writes', () => {
    expect(decodePem(opensslPem, 'CERTIFICATE')).toEqual(opensslCert);
  });

  it('encodes 64-character lines between matching BEGIN and END lines', () => {
    const pem = encodePem('CERTIFICATE', opensslCert);
    const lines = pem.split('\n');
    expect(lines[0]).toBe('-----BEGIN CERTIFICATE-----');
    expect(lines.at(-2)).toBe('-----END CERTIFICATE-----');
    expect(lines.at(-1)).toBe('');
    const body = lines.slice(1, -2);
    expect(body.length).toBeGreaterThan(1);
    for (const line of body.slice(0, -1)) expect(line).toHaveLength(64);
    expect(body.at(-1)!.length).toBeLessThanOrEqual(64);
    expect(body.join('')).toBe(Buffer.from(opensslCert).toString('base64'));
  });

  it('round-trips through encodePem and decodePem, and openssl reads what encodePem writes', () => {
    const pem = encodePem('CERTIFICATE', opensslCert);
    expect(decodePem(pem, 'CERTIFICATE')).toEqual(opensslCert);
    const path = join(dir, 'ours.pem');
    writeFileSync(path, pem);
    const der = execFileSync('openssl', ['x509', '-in', path, '-outform', 'DER']);
    expect(new Uint8Array(der)).toEqual(opensslCert);
  });

  it('round-trips lengths 1 to 100 (every base64 padding case)', () => {
    for (let n = 1; n <= 100; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff);
      expect(decodePem(encodePem('TEST DATA', bytes), 'TEST DATA')).toEqual(bytes);
    }
  });

  it('decodePemAll returns every block in order, ignoring text around them', () => {
    const key = new Uint8Array([1, 2, 3]);
    const text = `leading text\n${encodePem('CERTIFICATE', opensslCert)}between\n${encodePem('PUBLIC KEY', key)}trailing`;
    const blocks = decodePemAll(text);
    expect(blocks.map((b) => b.label)).toEqual(['CERTIFICATE', 'PUBLIC KEY']);
    expect(blocks[0]!.der).toEqual(opensslCert);
    expect(blocks[1]!.der).toEqual(key);
  });

  it('decodePem picks the one block with the asked-for label among others', () => {
    const text = encodePem('PUBLIC KEY', new Uint8Array([9])) + opensslPem;
    expect(decodePem(text, 'CERTIFICATE')).toEqual(opensslCert);
  });

  it('refuses mismatched BEGIN and END labels', () => {
    const pem = encodePem('CERTIFICATE', opensslCert).replace('END CERTIFICATE', 'END PUBLIC KEY');
    expectPkiError(() => decodePemAll(pem), 'pem-invalid', 'labels differ');
  });

  it.each([
    ['characters outside base64', '-----BEGIN X-----\n@@@@\n-----END X-----\n'],
    ['a length that is not a multiple of 4', '-----BEGIN X-----\nAAA\n-----END X-----\n'],
    ['padding in the middle', '-----BEGIN X-----\nAA==AAAA\n-----END X-----\n'],
    ['three padding characters', '-----BEGIN X-----\nA===\n-----END X-----\n'],
    ['an empty body', '-----BEGIN X-----\n-----END X-----\n'],
  ])('refuses a body with %s', (_name, text) => {
    expectPkiError(() => decodePemAll(text), 'pem-invalid', 'not base64');
  });

  it('refuses zero blocks with the label', () => {
    expect(expectPkiError(() => decodePem('', 'CERTIFICATE'), 'pem-invalid').details).toEqual({
      found: 0,
    });
    const other = encodePem('PUBLIC KEY', new Uint8Array([1]));
    expectPkiError(() => decodePem(other, 'CERTIFICATE'), 'pem-invalid', 'exactly one');
  });

  it('refuses two blocks with the label', () => {
    const two = opensslPem + opensslPem;
    const err = expectPkiError(() => decodePem(two, 'CERTIFICATE'), 'pem-invalid', 'exactly one');
    expect(err.details).toEqual({ found: 2 });
  });

  it('derOrPem passes DER through and decodes PEM', () => {
    expect(derOrPem(opensslCert, 'CERTIFICATE')).toBe(opensslCert);
    expect(derOrPem(new TextEncoder().encode(opensslPem), 'CERTIFICATE')).toEqual(opensslCert);
    expectPkiError(
      () => derOrPem(new TextEncoder().encode('not a certificate'), 'CERTIFICATE'),
      'pem-invalid',
    );
  });
});

describe('named bit strings and extension encoders', () => {
  it.each<[string, number[], string]>([
    ['no bits', [], '030100'],
    ['digitalSignature only', [0], '03020780'],
    ['nonRepudiation only', [1], '03020640'],
    ['keyCertSign and cRLSign', [5, 6], '03020106'],
    ['cRLSign and keyCertSign given in reverse', [6, 5], '03020106'],
    ['digitalSignature, keyCertSign and cRLSign', [0, 5, 6], '03020186'],
    ['digitalSignature and keyCertSign', [0, 5], '03020284'],
    ['encipherOnly, the last bit of the first octet', [7], '03020001'],
    ['decipherOnly, in a second octet', [8], '0303070080'],
    ['a repeated bit', [0, 0], '03020780'],
  ])('encodeNamedBits: %s', (_name, bits, expected) => {
    const der = encodeDer(encodeNamedBits(bits));
    expect(hexOf(der)).toBe(expected);
    expect(() => parseDer(der)).not.toThrow();
  });

  it('keyUsage(digitalSignature) is 03 02 07 80, critical, OID 2.5.29.15', () => {
    const ext = keyUsage(['digitalSignature']);
    expect(ext.oid).toBe('2.5.29.15');
    expect(ext.critical).toBe(true);
    expect(hexOf(ext.value)).toBe('03020780');
  });

  it('keyUsage(keyCertSign, cRLSign) is 03 02 01 06', () => {
    expect(hexOf(keyUsage(['keyCertSign', 'cRLSign']).value)).toBe('03020106');
  });

  it('basicConstraints encodes cA and pathLen, omitting the DEFAULT FALSE', () => {
    expect(hexOf(basicConstraints(true, 2).value)).toBe('30060101ff020102');
    expect(hexOf(basicConstraints(true, 0).value)).toBe('30060101ff020100');
    expect(hexOf(basicConstraints(true).value)).toBe('30030101ff');
    expect(hexOf(basicConstraints(false).value)).toBe('3000');
    expect(hexOf(basicConstraints(false, 3).value)).toBe('3000');
    expect(basicConstraints(false).critical).toBe(true);
    expect(basicConstraints(false).oid).toBe('2.5.29.19');
  });

  it('extKeyUsage encodes a SEQUENCE of OIDs with the asked criticality', () => {
    const ext = extKeyUsage([id_kp_timeStamping], true);
    expect(ext.oid).toBe('2.5.29.37');
    expect(ext.critical).toBe(true);
    expect(hexOf(ext.value)).toBe('300a06082b06010505070308');
    expect(extKeyUsage([id_kp_timeStamping], false).critical).toBe(false);
  });

  it('privateKeyUsagePeriod encodes [0] and [1] GeneralizedTime without fractions', () => {
    const ext = privateKeyUsagePeriod(
      new Date('2025-01-02T03:04:05.678Z'),
      new Date('2026-01-02T03:04:05Z'),
    );
    expect(ext.oid).toBe('2.5.29.16');
    expect(ext.critical).toBe(false);
    const t0 = Buffer.from('20250102030405Z').toString('hex');
    const t1 = Buffer.from('20260102030405Z').toString('hex');
    expect(hexOf(ext.value)).toBe(`3022800f${t0}810f${t1}`);
    expect(generalizedTimeText(new Date('2049-12-31T23:59:59.999Z'))).toBe('20491231235959Z');
  });
});

describe('key identifiers (first 20 octets of SHA-256 of the subjectPublicKey bits)', () => {
  function jwkBytes(key: KeyObject, field: 'x' | 'y'): Buffer {
    const jwk = key.export({ format: 'jwk' });
    return Buffer.from(jwk[field] ?? '', 'base64url');
  }

  function expected(bits: Uint8Array): string {
    return createHash('sha256').update(bits).digest().subarray(0, 20).toString('hex');
  }

  it('matches for an EC P-256 key (bits = the uncompressed point)', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
    const point = new Uint8Array([0x04, ...jwkBytes(publicKey, 'x'), ...jwkBytes(publicKey, 'y')]);
    expect(point).toHaveLength(65);
    expect(subjectPublicKeyBits(spki)).toEqual(point);
    expect(keyIdentifier(spki)).toHaveLength(20);
    expect(hexOf(keyIdentifier(spki))).toBe(expected(point));
    // Not the hash of the whole SPKI.
    expect(hexOf(keyIdentifier(spki))).not.toBe(expected(spki));
  });

  it('matches for an Ed25519 key (bits = the raw 32-octet key)', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
    const raw = jwkBytes(publicKey, 'x');
    expect(subjectPublicKeyBits(spki)).toEqual(new Uint8Array(raw));
    expect(hexOf(keyIdentifier(spki))).toBe(expected(raw));
  });

  it('matches for an RSA key (bits = the DER RSAPublicKey)', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
    const pkcs1 = publicKey.export({ type: 'pkcs1', format: 'der' });
    expect(hexOf(keyIdentifier(spki))).toBe(expected(pkcs1));
  });

  it('SKI and AKI wrap the same key identifier', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
    const kid = hexOf(keyIdentifier(spki));
    const ski = subjectKeyIdentifier(spki);
    const aki = authorityKeyIdentifier(spki);
    expect(ski.oid).toBe('2.5.29.14');
    expect(aki.oid).toBe('2.5.29.35');
    expect(ski.critical).toBe(false);
    expect(aki.critical).toBe(false);
    expect(hexOf(ski.value)).toBe(`0414${kid}`);
    expect(hexOf(aki.value)).toBe(`30168014${kid}`);
  });

  it('refuses an SPKI that is not DER', () => {
    expectPkiError(() => keyIdentifier(hex('30 80 00 00')), 'der-invalid');
  });
});

describe('HSM role extension', () => {
  const cases: HsmRole[] = [
    { role: 'root' },
    { role: 'device', deviceId: 'SWHSM-0011223344556677' },
    { role: 'partition-attestation', deviceId: 'SWHSM-1', partitionId: 'default' },
    { role: 'partition-timestamp', deviceId: 'SWHSM-1', partitionId: 'pq-ünï' },
    { role: 'partition-timestamp', partitionId: 'only a partition' },
  ];

  it.each(cases)('round-trips %o', (role) => {
    const der = encodeHsmRole(role);
    expect(() => parseDer(der)).not.toThrow();
    expect(parseHsmRole(der)).toEqual(role);
  });

  it('covers every role name', () => {
    expect(HSM_ROLES).toEqual(['root', 'device', 'partition-attestation', 'partition-timestamp']);
    for (const role of HSM_ROLES) expect(parseHsmRole(encodeHsmRole({ role })).role).toBe(role);
  });

  it('encodes the ASN.1 layout: ENUMERATED, then [0] and [1] IMPLICIT UTF8String', () => {
    expect(hexOf(encodeHsmRole({ role: 'root' }))).toBe('30030a0100');
    expect(hexOf(encodeHsmRole({ role: 'device', deviceId: 'D1' }))).toBe(
      '30070a0101' + '80024431',
    );
    expect(
      hexOf(encodeHsmRole({ role: 'partition-timestamp', deviceId: 'D', partitionId: 'P' })),
    ).toBe('30090a0103' + '800144' + '810150');
  });

  it.each([
    ['not a SEQUENCE', '0a 01 00', 'not a sequence'],
    ['an empty SEQUENCE', '30 00', 'lacks its enumerated role'],
    ['an INTEGER where the ENUMERATED belongs', '30 03 02 01 00', 'lacks its enumerated role'],
    ['an unknown role 4', '30 03 0a 01 04', 'unknown hsm role'],
    ['a negative role', '30 03 0a 01 ff', 'unknown hsm role'],
    [
      'a role too large for asn1js to decode (2^32)',
      '30 07 0a 05 01 00 00 00 00',
      'unknown hsm role',
    ],
    [
      'a role too large for asn1js to decode (2^64)',
      '30 0b 0a 09 01 00 00 00 00 00 00 00 00',
      'unknown hsm role',
    ],
    ['partitionId before deviceId', '30 09 0a 01 02 81 01 50 80 01 44', 'unexpected field'],
    ['deviceId twice', '30 09 0a 01 02 80 01 44 80 01 45', 'unexpected field'],
    ['an unknown tag [2]', '30 06 0a 01 02 82 01 41', 'unexpected field'],
    ['a universal UTF8String instead of [0]', '30 06 0a 01 01 0c 01 41', 'unexpected field'],
    ['a constructed [0]', '30 08 0a 01 01 a0 03 0c 01 41', 'unexpected field'],
    ['an application tag instead of [0]', '30 06 0a 01 01 40 01 41', 'unexpected field'],
    ['a deviceId that is not UTF-8', '30 07 0a 01 01 80 02 c3 28', 'not utf-8'],
  ])('refuses %s with extension-invalid', (_name, text, reason) => {
    expectPkiError(() => parseHsmRole(hex(text)), 'extension-invalid', reason);
  });

  it('refuses an encoding that is not DER with the DER error codes', () => {
    expectPkiError(() => parseHsmRole(hex('30 03 0a 01 00 00')), 'der-trailing-data');
    expectPkiError(() => parseHsmRole(hex('30 04 0a 02 00 01')), 'der-invalid');
  });
});

describe('PKCS#10 requests', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
  const subject = encodeName({ country: 'DE', organization: 'Attestamp Test', commonName: 'csr' });
  const signer = {
    algorithm: 'ecdsa-p256' as const,
    spki,
    sign: (tbs: Uint8Array): Promise<Uint8Array> =>
      Promise.resolve(new Uint8Array(sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' }))),
  };

  /** A request with the given version field and otherwise the fields of `csr`. */
  function withVersion(csr: Uint8Array, version: asn1js.BaseBlock): Uint8Array {
    const p = parseCsr(csr);
    return encodeDer(
      new asn1js.Sequence({
        value: [
          new asn1js.Sequence({
            value: [
              version,
              parseDer(p.subject),
              parseDer(p.spki),
              new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [] }),
            ],
          }),
          parseDer(p.signatureAlgorithm),
          new asn1js.BitString({ valueHex: toArrayBuffer(p.signature) }),
        ],
      }),
    );
  }

  it('builds a request that parses back to its parts and whose signature verifies', async () => {
    const csr = await buildCsr(subject, signer);
    expect(() => parseDer(csr)).not.toThrow();
    const parsed = parseCsr(csr);
    expect(parsed.subject).toEqual(subject);
    expect(parsed.spki).toEqual(spki);
    expect(parsed.signatureAlgorithm).toEqual(
      encodeDer(signatureAlgorithmIdentifier('ecdsa-p256').toSchema()),
    );
    expect(
      verify('sha256', parsed.tbs, { key: publicKey, dsaEncoding: 'der' }, parsed.signature),
    ).toBe(true);
    expect(withVersion(csr, new asn1js.Integer({ value: 0 }))).toEqual(csr);
  });

  it('openssl verifies the request self-signature', async () => {
    const csr = await buildCsr(subject, signer);
    const path = join(dir, 'req.der');
    writeFileSync(path, csr);
    const r = spawnSync('openssl', ['req', '-in', path, '-inform', 'DER', '-verify', '-noout'], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(`${r.stdout}${r.stderr}`).toContain('verify OK');
  });

  it('refuses version 1 with csr-invalid', async () => {
    const csr = await buildCsr(subject, signer);
    const bad = withVersion(csr, new asn1js.Integer({ value: 1 }));
    expect(bad.length).toBe(csr.length);
    expectPkiError(() => parseCsr(bad), 'csr-invalid', 'version must be 0');
  });

  it('refuses a version too large for asn1js to decode (2^32) with csr-invalid', async () => {
    const csr = await buildCsr(subject, signer);
    const huge = new asn1js.Integer({ valueHex: toArrayBuffer(hex('01 00 00 00 00')) });
    expectPkiError(() => parseCsr(withVersion(csr, huge)), 'csr-invalid', 'version must be 0');
  });

  it('refuses an ENUMERATED version with csr-invalid', async () => {
    const csr = await buildCsr(subject, signer);
    const enumerated = new asn1js.Enumerated({ value: 0 });
    expectPkiError(
      () => parseCsr(withVersion(csr, enumerated)),
      'csr-invalid',
      'version must be 0',
    );
  });

  it('refuses a signature BIT STRING with unused bits', async () => {
    const csr = await buildCsr(subject, signer);
    const p = parseCsr(csr);
    const bad = encodeDer(
      new asn1js.Sequence({
        value: [
          parseDer(p.tbs),
          parseDer(p.signatureAlgorithm),
          new asn1js.BitString({ valueHex: toArrayBuffer(hex('80')), unusedBits: 7 }),
        ],
      }),
    );
    expectPkiError(() => parseCsr(bad), 'csr-invalid', 'signature');
  });

  it('refuses a structure that is not a three-element SEQUENCE', () => {
    expectPkiError(() => parseCsr(hex('30 03 02 01 00')), 'csr-invalid', '3-element');
    expectPkiError(() => parseCsr(hex('31 00')), 'csr-invalid', '3-element');
    expectPkiError(() => parseCsr(hex('30 09 02 01 00 02 01 00 02 01')), 'der-invalid');
  });

  it('refuses a request followed by trailing bytes', async () => {
    const csr = await buildCsr(subject, signer);
    expectPkiError(() => parseCsr(new Uint8Array([...csr, 0])), 'der-trailing-data');
  });
});

describe('hashes', () => {
  const table: [HashName, string, number, string][] = [
    ['sha256', '2.16.840.1.101.3.4.2.1', 32, 'sha256'],
    ['sha384', '2.16.840.1.101.3.4.2.2', 48, 'sha384'],
    ['sha512', '2.16.840.1.101.3.4.2.3', 64, 'sha512'],
    ['sha3-256', '2.16.840.1.101.3.4.2.8', 32, 'sha3-256'],
    ['sha3-384', '2.16.840.1.101.3.4.2.9', 48, 'sha3-384'],
    ['sha3-512', '2.16.840.1.101.3.4.2.10', 64, 'sha3-512'],
  ];

  it.each(table)('%s has OID %s, length %d, and matches node:crypto', (name, oid, length, node) => {
    const info = HASHES[name];
    expect(info.name).toBe(name);
    expect(info.oid).toBe(oid);
    expect(info.length).toBe(length);
    const data = new TextEncoder().encode('attestamp');
    const out = digest(name, data);
    expect(out).toHaveLength(length);
    expect(hexOf(out)).toBe(createHash(node).update(data).digest('hex'));
    expect(hashByOid(oid)).toBe(info);
  });

  it('lists exactly these hashes', () => {
    expect(Object.keys(HASHES).sort()).toEqual(table.map((t) => t[0]).sort());
  });

  it('sha256 of "abc" is the FIPS 180-2 vector', () => {
    expect(hexOf(digest('sha256', new TextEncoder().encode('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('sha256Fingerprint is lowercase hex of SHA-256', () => {
    const fp = sha256Fingerprint(opensslCert);
    expect(fp).toMatch(/^[0-9a-f]{64}$/);
    expect(fp).toBe(createHash('sha256').update(opensslCert).digest('hex'));
  });

  it('hashByOid knows no SHA-1 or unknown OIDs, and digest refuses unknown names', () => {
    expect(hashByOid('1.3.14.3.2.26')).toBeUndefined();
    expect(hashByOid('2.16.840.1.101.3.4.2.4')).toBeUndefined();
    expectPkiError(
      () => digest('md5' as HashName, new Uint8Array(0)),
      'algorithm-unsupported',
      'unknown hash',
    );
  });
});

describe('signature algorithm identifiers', () => {
  const table: [KeyAlgorithm, string][] = [
    ['ecdsa-p256', '300a06082a8648ce3d040302'],
    ['ecdsa-p384', '300a06082a8648ce3d040303'],
    ['ed25519', '300506032b6570'],
    ['rsa-3072', '300d06092a864886f70d01010b0500'],
    ['rsa-4096', '300d06092a864886f70d01010b0500'],
    [
      'rsa-pss-3072',
      '304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d06096086480165030402010500a203020120',
    ],
    [
      'rsa-pss-4096',
      '304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d06096086480165030402010500a203020120',
    ],
    ['ml-dsa-44', '300b0609608648016503040311'],
    ['ml-dsa-65', '300b0609608648016503040312'],
    ['ml-dsa-87', '300b0609608648016503040313'],
    ['slh-dsa-sha2-128f', '300b0609608648016503040315'],
    ['slh-dsa-sha2-192f', '300b0609608648016503040317'],
    ['slh-dsa-sha2-256f', '300b0609608648016503040319'],
    ['slh-dsa-shake-128f', '300b060960864801650304031b'],
    ['slh-dsa-shake-192f', '300b060960864801650304031d'],
    ['slh-dsa-shake-256f', '300b060960864801650304031f'],
  ];

  it.each(table)('%s encodes as its RFC AlgorithmIdentifier', (name, expected) => {
    expect(hexOf(encodeDer(signatureAlgorithmIdentifier(name).toSchema()))).toBe(expected);
  });

  it('covers every key algorithm', () => {
    expect([...KEY_ALGORITHMS].sort()).toEqual(table.map((t) => t[0]).sort());
  });

  it('isKeyAlgorithm and keyAlgorithmInfo agree, and refuse unknown names', () => {
    for (const name of KEY_ALGORITHMS) {
      expect(isKeyAlgorithm(name)).toBe(true);
      expect(keyAlgorithmInfo(name).name).toBe(name);
    }
    expect(isKeyAlgorithm('ecdsa-p521')).toBe(false);
    expectPkiError(
      () => keyAlgorithmInfo('dsa-1024' as KeyAlgorithm),
      'algorithm-unsupported',
      'unsupported key algorithm',
    );
  });
});

describe('distinguished names', () => {
  it('encodes one attribute per RDN in C, O, OU, CN, serialNumber order with the profile string types', () => {
    const der = encodeName({
      serialNumber: 'SN1',
      commonName: 'cn',
      organizationalUnit: 'ou',
      organization: 'o',
      country: 'DE',
    });
    const name = instance(parseDer(der), asn1js.Sequence);
    const rdns = name.valueBlock.value.map((v) => instance(v, asn1js.Set));
    const types = rdns.map((rdn) => {
      expect(rdn.valueBlock.value).toHaveLength(1);
      const atv = instance(rdn.valueBlock.value[0], asn1js.Sequence);
      const [oid, value] = atv.valueBlock.value;
      return [instance(oid, asn1js.ObjectIdentifier).getValue(), value!.idBlock.tagNumber];
    });
    expect(types).toEqual([
      ['2.5.4.6', 19],
      ['2.5.4.10', 12],
      ['2.5.4.11', 12],
      ['2.5.4.3', 12],
      ['2.5.4.5', 19],
    ]);
    expect(formatName(pkijsName(der))).toBe('C=DE, O=o, OU=ou, CN=cn, serialNumber=SN1');
  });

  it('pkijsName re-encodes to exactly the given DER', () => {
    const der = encodeName({ country: 'DE', commonName: 'Ünïcode' });
    expect(encodeDer(pkijsName(der).toSchema())).toEqual(der);
  });
});

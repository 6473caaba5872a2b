// Strict DER (src/pki/der.ts): real certificates pass, and each X.690 DER violation is refused
// with a PkiError carrying the right code and reason.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_DEPTH,
  PkiError,
  assertStrictDer,
  derReader,
  parseDer,
  tlvLength,
  type DerLimits,
  type PkiErrorCode,
} from '../../../src/pki/index.js';
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

function ascii(text: string): string {
  return Buffer.from(text, 'latin1').toString('hex');
}

/** The PkiError assertStrictDer throws for `bytes`; fails the test on success or another class. */
function rejection(bytes: Uint8Array, limits?: DerLimits): PkiError {
  try {
    assertStrictDer(bytes, limits);
  } catch (err) {
    if (err instanceof PkiError) return err;
    throw err;
  }
  throw new Error('assertStrictDer accepted the input');
}

/** Both assertStrictDer and parseDer refuse `bytes` with this code and reason. */
function expectRejected(
  bytes: Uint8Array,
  code: PkiErrorCode,
  reason: string,
  limits?: DerLimits,
): void {
  const err = rejection(bytes, limits);
  expect(err).toBeInstanceOf(PkiError);
  expect(err.code).toBe(code);
  expect(err.message).toContain(reason);
  let parseErr: unknown;
  try {
    parseDer(bytes, limits);
  } catch (e) {
    parseErr = e;
  }
  expect(parseErr).toBeInstanceOf(PkiError);
  expect((parseErr as PkiError).code).toBe(code);
}

function header(tag: number, length: number): number[] {
  if (length < 0x80) return [tag, length];
  const octets: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) octets.unshift(n % 256);
  return [tag, 0x80 | octets.length, ...octets];
}

/** `depth` SEQUENCEs nested inside each other around a NULL. */
function nestedSequences(depth: number): Uint8Array {
  const headers: number[][] = [];
  let length = 2;
  for (let i = 0; i < depth; i++) {
    const h = header(0x30, length);
    headers.push(h);
    length += h.length;
  }
  const out = new Uint8Array(length);
  let pos = 0;
  for (let i = headers.length - 1; i >= 0; i--) {
    out.set(headers[i]!, pos);
    pos += headers[i]!.length;
  }
  out.set([0x05, 0x00], pos);
  return out;
}

interface OpensslCerts {
  readonly ec: Uint8Array;
  readonly ed25519: Uint8Array;
}

let certs: OpensslCerts;

beforeAll(() => {
  const dir = tempDir();
  const run = (args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  // A multi-valued RDN makes openssl emit a SET OF with two sorted members.
  run([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'ec.key',
    '-subj',
    '/C=DE/O=Attestamp Test/CN=der test+serialNumber=42',
    '-days',
    '30',
    '-addext',
    'basicConstraints=critical,CA:TRUE,pathlen:1',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    '-addext',
    'extendedKeyUsage=timeStamping',
    '-addext',
    'subjectAltName=DNS:tsa.example,IP:192.0.2.1',
    '-outform',
    'DER',
    '-out',
    'ec.der',
  ]);
  run([
    'req',
    '-x509',
    '-newkey',
    'ed25519',
    '-nodes',
    '-keyout',
    'ed.key',
    '-subj',
    '/CN=ed25519 test',
    '-days',
    '30',
    '-outform',
    'DER',
    '-out',
    'ed.der',
  ]);
  certs = {
    ec: new Uint8Array(readFileSync(join(dir, 'ec.der'))),
    ed25519: new Uint8Array(readFileSync(join(dir, 'ed.der'))),
  };
});

describe('assertStrictDer and parseDer on valid DER', () => {
  it('accepts openssl certificates (EC with extensions, Ed25519) and parses them whole', () => {
    for (const der of [certs.ec, certs.ed25519]) {
      expect(() => {
        assertStrictDer(der);
      }).not.toThrow();
      const parsed = parseDer(der);
      expect(parsed).toBeInstanceOf(asn1js.Sequence);
      expect(instance(parsed, asn1js.Sequence).valueBlock.value).toHaveLength(3);
      expect(new Uint8Array(parsed.toBER(false))).toEqual(der);
      expect(tlvLength(der)).toBe(der.length);
    }
  });

  it('accepts the sorted SET OF that openssl writes for a multi-valued RDN', () => {
    const cert = instance(parseDer(certs.ec), asn1js.Sequence);
    const tbs = instance(cert.valueBlock.value[0], asn1js.Sequence);
    // TBSCertificate: [0] version, serial, signature, issuer, ...
    const issuer = instance(tbs.valueBlock.value[3], asn1js.Sequence);
    const sets = issuer.valueBlock.value.map((v) => instance(v, asn1js.Set));
    const multi = sets.filter((s) => s.valueBlock.value.length === 2);
    expect(multi).toHaveLength(1);
    const [a, b] = multi[0]!.valueBlock.value;
    const ea = new Uint8Array(a!.toBER(false));
    const eb = new Uint8Array(b!.toBER(false));
    expect(Buffer.compare(ea, eb)).toBeLessThan(0);
  });

  it('tlvLength reports the first value only when more bytes follow', () => {
    const two = new Uint8Array([...certs.ed25519, 0x05, 0x00]);
    expect(tlvLength(two)).toBe(certs.ed25519.length);
  });

  it.each([
    ['INTEGER 128', '02 02 00 80'],
    ['INTEGER -129', '02 02 ff 7f'],
    ['INTEGER 0', '02 01 00'],
    ['INTEGER -1', '02 01 ff'],
    ['ENUMERATED 3', '0a 01 03'],
    ['BOOLEAN TRUE', '01 01 ff'],
    ['BOOLEAN FALSE', '01 01 00'],
    ['BIT STRING with zero unused bits padding', '03 02 01 06'],
    ['empty BIT STRING', '03 01 00'],
    ['NULL', '05 00'],
    ['OBJECT IDENTIFIER 1.2.840', '06 03 2a 86 48'],
    ['RELATIVE-OID 1', '0d 01 01'],
    ['sorted SET OF', '31 06 02 01 01 02 01 02'],
    ['SET OF with equal members', '31 06 02 01 01 02 01 01'],
    ['UTCTime with seconds', `17 0d ${ascii('250101000000Z')}`],
    ['GeneralizedTime without fraction', `18 0f ${ascii('20250101000000Z')}`],
    ['GeneralizedTime with fraction', `18 11 ${ascii('20250101000000.5Z')}`],
    ['BMPString of one character', '1e 02 00 41'],
    ['context tag 31 in high-tag form', '9f 1f 00'],
    ['constructed context tag 128', 'bf 81 00 00'],
    ['length 128 in long form', `04 81 80 ${'00'.repeat(128)}`],
    ['length 256 in two octets', `04 82 01 00 ${'00'.repeat(256)}`],
  ])('accepts %s', (_name, text) => {
    const bytes = hex(text);
    expect(() => {
      assertStrictDer(bytes);
    }).not.toThrow();
    expect(new Uint8Array(parseDer(bytes).toBER(false))).toEqual(bytes);
  });
});

describe('assertStrictDer refuses what DER forbids', () => {
  it('refuses empty input', () => {
    expectRejected(new Uint8Array(0), 'der-invalid', 'empty input');
  });

  it('refuses every truncation of a real certificate', () => {
    const der = certs.ec;
    for (let n = 1; n < der.length; n++) {
      const err = rejection(der.subarray(0, n));
      expect(err.code).toBe('der-invalid');
    }
  });

  it('refuses a certificate with a byte appended as trailing data', () => {
    for (const extra of [0x00, 0x05, 0x30, 0xff]) {
      const err = rejection(new Uint8Array([...certs.ec, extra]));
      expect(err.code).toBe('der-trailing-data');
      expect(err.details?.offset).toBe(certs.ec.length);
    }
  });

  it('refuses a second complete value after the first as trailing data', () => {
    expectRejected(hex('05 00 05 00'), 'der-trailing-data', 'trailing bytes');
  });

  it.each<[string, string, PkiErrorCode, string]>([
    ['a lone tag', '30', 'der-invalid', 'truncated length'],
    ['a cut long-form length', '30 82 01', 'der-invalid', 'truncated length'],
    ['a child longer than its parent', '30 03 04 05 00', 'der-invalid', 'runs past'],
    ['a declared length beyond the input', '30 05 05 00', 'der-invalid', 'runs past'],
    ['a huge declared length', '30 84 7f ff ff ff 05 00', 'der-invalid', 'runs past'],
    ['the largest four-octet length', '04 84 ff ff ff ff 00', 'der-invalid', 'runs past'],
    ['indefinite length', '30 80 05 00 00 00', 'der-invalid', 'indefinite length'],
    [
      'a long-form length below 128',
      '04 81 05 01 02 03 04 05',
      'der-invalid',
      'non-minimal length',
    ],
    [
      'a length with a leading zero octet',
      '04 82 00 05 01 02 03 04 05',
      'der-invalid',
      'non-minimal length',
    ],
    ['a length field of five octets', '04 85 00 00 00 00 01 00', 'der-invalid', 'length too large'],
    ['INTEGER 1 as 00 01', '02 02 00 01', 'der-invalid', 'non-minimal integer'],
    ['INTEGER -128 as FF 80', '02 02 ff 80', 'der-invalid', 'non-minimal integer'],
    ['ENUMERATED 1 as 00 01', '0a 02 00 01', 'der-invalid', 'non-minimal integer'],
    ['an empty INTEGER', '02 00', 'der-invalid', 'empty integer'],
    ['BOOLEAN 0x01', '01 01 01', 'der-invalid', 'boolean must be 0x00 or 0xff'],
    ['BOOLEAN 0x7F', '01 01 7f', 'der-invalid', 'boolean must be 0x00 or 0xff'],
    ['a two-octet BOOLEAN', '01 02 ff ff', 'der-invalid', 'boolean must be one octet'],
    ['an empty BOOLEAN', '01 00', 'der-invalid', 'boolean must be one octet'],
    ['BIT STRING with a set unused bit', '03 02 01 01', 'der-invalid', 'non-zero unused bits'],
    [
      'BIT STRING with 7 unused bits not zero',
      '03 02 07 c0',
      'der-invalid',
      'non-zero unused bits',
    ],
    ['BIT STRING with 8 unused bits', '03 02 08 00', 'der-invalid', 'invalid unused-bits count'],
    [
      'empty BIT STRING claiming unused bits',
      '03 01 03',
      'der-invalid',
      'invalid unused-bits count',
    ],
    ['BIT STRING without its unused-bits octet', '03 00', 'der-invalid', 'without unused-bits'],
    ['a constructed OCTET STRING', '24 03 04 01 41', 'der-invalid', 'constructed encoding'],
    ['a constructed BIT STRING', '23 03 03 01 00', 'der-invalid', 'constructed encoding'],
    ['a constructed UTF8String', '2c 03 0c 01 41', 'der-invalid', 'constructed encoding'],
    ['a constructed NumericString', '32 03 12 01 31', 'der-invalid', 'constructed encoding'],
    ['a constructed REAL', '29 00', 'der-invalid', 'constructed encoding'],
    ['a primitive SEQUENCE', '10 00', 'der-invalid', 'primitive encoding'],
    ['a primitive SET', '11 00', 'der-invalid', 'primitive encoding'],
    ['NULL with content', '05 01 00', 'der-invalid', 'null with content'],
    [
      'an OID whose first arc starts with 0x80',
      '06 02 80 01',
      'der-invalid',
      'non-minimal object identifier',
    ],
    [
      'an OID whose later arc starts with 0x80',
      '06 03 2a 80 01',
      'der-invalid',
      'non-minimal object identifier',
    ],
    ['an OID ending inside an arc', '06 02 2a 86', 'der-invalid', 'truncated object identifier'],
    ['an empty OID', '06 00', 'der-invalid', 'empty object identifier'],
    [
      'a RELATIVE-OID arc starting with 0x80',
      '0d 02 80 01',
      'der-invalid',
      'non-minimal object identifier',
    ],
    ['an unsorted SET OF', '31 06 02 01 02 02 01 01', 'der-invalid', 'ascending order'],
    [
      'a SET OF ordered by value, not by encoding',
      '31 07 02 02 01 00 02 01 05',
      'der-invalid',
      'ascending order',
    ],
    ['UTCTime without seconds', `17 0b ${ascii('2501010000Z')}`, 'der-invalid', 'utc time'],
    ['UTCTime with an offset', `17 11 ${ascii('250101000000+0000')}`, 'der-invalid', 'utc time'],
    [
      'GeneralizedTime with a trailing zero in the fraction',
      `18 12 ${ascii('20250101000000.50Z')}`,
      'der-invalid',
      'generalized time',
    ],
    [
      'GeneralizedTime with a bare dot',
      `18 10 ${ascii('20250101000000.Z')}`,
      'der-invalid',
      'generalized time',
    ],
    [
      'GeneralizedTime with a comma',
      `18 11 ${ascii('20250101000000,5Z')}`,
      'der-invalid',
      'generalized time',
    ],
    [
      'GeneralizedTime without Z',
      `18 0e ${ascii('20250101000000')}`,
      'der-invalid',
      'generalized time',
    ],
    [
      'GeneralizedTime without seconds',
      `18 0d ${ascii('202501010000Z')}`,
      'der-invalid',
      'generalized time',
    ],
    ['high-tag form for tag 30', '1f 1e 00', 'der-invalid', 'non-minimal tag number'],
    ['high-tag form for context tag 5', '9f 05 00', 'der-invalid', 'non-minimal tag number'],
    [
      'a high tag number with a leading 0x80 octet',
      '9f 80 20 00',
      'der-invalid',
      'non-minimal tag number',
    ],
    [
      'a high tag number of five octets',
      '9f 88 80 80 80 00 00',
      'der-invalid',
      'tag number too large',
    ],
    ['a high tag number cut short', '9f 81', 'der-invalid', 'truncated tag'],
    [
      'end-of-contents inside a SEQUENCE',
      '30 04 00 02 05 00',
      'der-invalid',
      'reserved universal tag',
    ],
    ['a bare end-of-contents', '00 00', 'der-invalid', 'reserved universal tag'],
    ['the reserved UNIVERSAL 15', '0f 00', 'der-invalid', 'reserved universal tag'],
    ['the reserved UNIVERSAL 37', '1f 25 00', 'der-invalid', 'reserved universal tag'],
    ['BMPString of odd length', '1e 01 41', 'der-invalid', 'bmp string'],
    ['UniversalString not a multiple of 4', '1c 03 00 00 41', 'der-invalid', 'universal string'],
    [
      'an error nested inside a certificate-like SEQUENCE',
      '30 06 30 04 02 02 00 01',
      'der-invalid',
      'non-minimal integer',
    ],
  ])('refuses %s', (_name, text, code, reason) => {
    expectRejected(hex(text), code, reason);
  });
});

describe('nesting limit', () => {
  it('accepts exactly DEFAULT_MAX_DEPTH nested SEQUENCEs and refuses one more', () => {
    expect(() => {
      assertStrictDer(nestedSequences(DEFAULT_MAX_DEPTH));
    }).not.toThrow();
    const err = rejection(nestedSequences(DEFAULT_MAX_DEPTH + 1));
    expect(err.code).toBe('der-too-deep');
    expect(err.details?.maxDepth).toBe(DEFAULT_MAX_DEPTH);
  });

  it('honours a caller-supplied maxDepth', () => {
    expect(() => {
      assertStrictDer(nestedSequences(3), { maxDepth: 3 });
    }).not.toThrow();
    expectRejected(nestedSequences(4), 'der-too-deep', 'nesting', { maxDepth: 3 });
  });

  it('refuses 1000 nested SEQUENCEs with der-too-deep', () => {
    expectRejected(nestedSequences(1000), 'der-too-deep', 'nesting');
  });

  it('refuses 100000 nested SEQUENCEs with der-too-deep, not a stack overflow', () => {
    const bytes = nestedSequences(100_000);
    const err = rejection(bytes);
    expect(err.code).toBe('der-too-deep');
  });
});

/** The PkiError `read` throws; fails the test on success or another class. */
function readerRejection(read: () => unknown): PkiError {
  try {
    read();
  } catch (err) {
    if (err instanceof PkiError) return err;
    throw err;
  }
  throw new Error('the reader accepted the input');
}

describe('the reader on bytes nobody validated', () => {
  const { readTlv, readBoolean, readUnsigned, readOid, decodeOid, childrenOf } = derReader;

  it.each([
    ['an empty remainder', '', 'truncated'],
    ['a lone tag', '30', 'truncated'],
    ['indefinite length', '30 80 05 00 00 00', 'indefinite length is not DER'],
    ['a length field of five octets', '04 85 00 00 00 00 01 00', 'length too large'],
    ['a cut long-form length', '04 82 01', 'truncated length'],
    ['a long form for a short length', '04 81 01 00', 'non-minimal length'],
    ['a leading zero length octet', '04 82 00 81 00', 'non-minimal length'],
    ['a value past its container', '04 05 00', 'value runs past its container'],
  ])('readTlv refuses %s with der-invalid', (_name, bytes, reason) => {
    const err = readerRejection(() => readTlv(hex(bytes), 0));
    expect(err.code).toBe('der-invalid');
    expect(err.message).toBe(reason);
  });

  it('readTlv reads the exact offsets of short and long forms', () => {
    const long = new Uint8Array([0x04, 0x81, 0x80, ...new Uint8Array(0x80)]);
    expect(readTlv(long, 0)).toEqual({ tag: 0x04, start: 0, valueStart: 3, end: 0x83 });
    expect(readTlv(hex('30 03 02 01 05'), 2, 5)).toEqual({
      tag: 0x02,
      start: 2,
      valueStart: 4,
      end: 5,
    });
  });

  it('readTlv honours a smaller length-octet limit before reading the length', () => {
    const four = hex('04 84 00 00 00 01 00');
    expect(readerRejection(() => readTlv(four, 0)).message).toBe('non-minimal length');
    expect(readerRejection(() => readTlv(four, 0, four.length, 3)).message).toBe(
      'length too large',
    );
  });

  it('readTlv refuses a high tag number as a schema error, which the walk accepts', () => {
    const bytes = hex('9f 1f 00');
    expect(() => {
      assertStrictDer(bytes);
    }).not.toThrow();
    const err = readerRejection(() => readTlv(bytes, 0));
    expect(err.code).toBe('asn1-schema');
    expect(err.message).toBe('unexpected high tag number');
  });

  it('childrenOf stays inside its parent', () => {
    const bytes = hex('30 03 04 05 00');
    const err = readerRejection(() => childrenOf(bytes, readTlv(bytes, 0, bytes.length)));
    expect(err.message).toBe('value runs past its container');
  });

  it.each([
    ['01 01 01', 'boolean must be 0x00 or 0xff'],
    ['01 02 ff ff', 'boolean must be one octet'],
    ['01 00', 'boolean must be one octet'],
  ])('readBoolean refuses %s as the walk does', (bytes, reason) => {
    const b = hex(bytes);
    expect(readerRejection(() => readBoolean(b, readTlv(b, 0))).message).toBe(reason);
    expect(rejection(b).message).toBe(reason);
  });

  it('readBoolean reads the two canonical values', () => {
    expect(readBoolean(hex('01 01 ff'), readTlv(hex('01 01 ff'), 0))).toBe(true);
    expect(readBoolean(hex('01 01 00'), readTlv(hex('01 01 00'), 0))).toBe(false);
  });

  it.each([
    ['02 02 00 01', 'der-invalid', 'non-minimal integer'],
    ['02 00', 'der-invalid', 'empty integer'],
    ['02 01 80', 'asn1-schema', 'negative value'],
    ['0a 01 01', 'asn1-schema', 'expected integer'],
  ])('readUnsigned refuses %s', (bytes, code, reason) => {
    const b = hex(bytes);
    const err = readerRejection(() => readUnsigned(b, readTlv(b, 0)));
    expect(err.code).toBe(code);
    expect(err.message).toBe(reason);
  });

  it('readUnsigned reads positive integers beyond 2^53 exactly', () => {
    const b = hex('02 09 00 ff ff ff ff ff ff ff ff');
    expect(readUnsigned(b, readTlv(b, 0))).toBe(2n ** 64n - 1n);
  });

  it.each([
    ['06 00', 'empty object identifier'],
    ['06 02 2a 86', 'truncated object identifier'],
    ['06 03 2a 80 01', 'non-minimal object identifier arc'],
    ['06 02 80 01', 'non-minimal object identifier arc'],
  ])('readOid refuses %s as the walk does', (bytes, reason) => {
    const b = hex(bytes);
    const err = readerRejection(() => readOid(b, readTlv(b, 0)));
    expect(err.code).toBe('der-invalid');
    expect(err.message).toBe(reason);
    expect(rejection(b).message).toBe(reason);
  });

  it.each([
    ['2a 86 48 86 f7 0d 01 01 0b', '1.2.840.113549.1.1.11'],
    ['55 1d 13', '2.5.29.19'],
    ['00', '0.0'],
    ['4f', '1.39'],
    ['81 00', '2.48'],
    // 2.25 UUID arc: above 2^53, where numbers stop being exact.
    [
      '69 83 b5 df c3 e7 e2 ee c2 95 d7 a0 e1 ae ea 91 ca 91 ca 30 03 01',
      '2.25.290932336010228728432622296596402693424.3.1',
    ],
  ])('decodeOid reads %s as %s', (content, dotted) => {
    const b = hex(content);
    expect(decodeOid(b, 0, b.length)).toBe(dotted);
    expect(derReader.oidFromContent(b)).toBe(dotted);
  });
});

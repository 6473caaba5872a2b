// RFC 5280 7.1 name comparison (src/attestation/names.ts): string preparation across string
// types, RDN sets in any order, subtree prefixes and emailAddress attributes.
import { describe, expect, it } from 'vitest';
import {
  emailAddressesIn,
  isEmptyName,
  nameKey,
  namesMatch,
  nameWithin,
  prepareString,
} from '../../../src/attestation/names.js';
import { der } from '../../../src/pki/index.js';

const text = (tag: number, s: string) => der.tlv(tag, new TextEncoder().encode(s));
/** BMPString (UCS-2 big-endian) of ASCII text. */
const bmp = (s: string) =>
  der.tlv(
    0x1e,
    Uint8Array.from(
      Array.from({ length: s.length * 2 }, (_, k) => (k % 2 === 0 ? 0 : s.charCodeAt(k >> 1))),
    ),
  );
const atv = (oid: string, value: Uint8Array) => der.seq(der.oid(oid), value);
const rdn = (...atvs: Uint8Array[]) => der.setOf(...atvs);
const name = (...rdns: Uint8Array[]) => der.seq(...rdns);
const CN = '2.5.4.3';
const O = '2.5.4.10';
const C = '2.5.4.6';

describe('RFC 5280 7.1 name matching', () => {
  it('prepares strings: NFKC, case folded, white space compressed and trimmed', () => {
    expect(prepareString('  Good \t  CA  ')).toBe('good ca');
    expect(prepareString('ＡＢＣ')).toBe('abc');
  });

  it('matches PrintableString, UTF8String and BMPString values of the same text', () => {
    const a = name(rdn(atv(C, text(0x13, 'US'))), rdn(atv(CN, text(0x13, 'Good  CA'))));
    const b = name(rdn(atv(C, text(0x13, 'us'))), rdn(atv(CN, text(0x0c, ' good ca'))));
    const c = name(rdn(atv(C, text(0x13, 'US'))), rdn(atv(CN, bmp('GOOD CA'))));
    expect(namesMatch(a, b)).toBe(true);
    expect(namesMatch(a, c)).toBe(true);
    expect(nameKey(a)).toBe(nameKey(c));
  });

  it('compares the attributes of a multi-valued RDN as a set, RDNs in order', () => {
    const one = name(rdn(atv(O, text(0x0c, 'x')), atv(CN, text(0x0c, 'y'))));
    const other = name(rdn(atv(CN, text(0x13, 'Y')), atv(O, text(0x13, 'X'))));
    expect(namesMatch(one, other)).toBe(true);
    const split = name(rdn(atv(O, text(0x0c, 'x'))), rdn(atv(CN, text(0x0c, 'y'))));
    const swapped = name(rdn(atv(CN, text(0x0c, 'y'))), rdn(atv(O, text(0x0c, 'x'))));
    expect(namesMatch(one, split)).toBe(false);
    expect(namesMatch(split, swapped)).toBe(false);
  });

  it('compares other value types by their encoding and keeps distinct texts apart', () => {
    const octets = name(rdn(atv(CN, der.octetString(Uint8Array.of(1, 2)))));
    const same = name(rdn(atv(CN, der.octetString(Uint8Array.of(1, 2)))));
    expect(namesMatch(octets, same)).toBe(true);
    expect(
      namesMatch(name(rdn(atv(CN, text(0x0c, 'a b')))), name(rdn(atv(CN, text(0x0c, 'ab'))))),
    ).toBe(false);
    // Something that is not a Name only matches its own bytes.
    expect(namesMatch(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 3))).toBe(true);
  });

  it('subtrees are RDN prefixes; the empty name has no RDN', () => {
    const base = name(rdn(atv(C, text(0x13, 'US'))), rdn(atv(O, text(0x13, 'Test'))));
    const below = name(
      rdn(atv(C, text(0x13, 'us'))),
      rdn(atv(O, text(0x0c, 'TEST'))),
      rdn(atv(CN, text(0x0c, 'leaf'))),
    );
    expect(nameWithin(below, base)).toBe(true);
    expect(nameWithin(base, below)).toBe(false);
    expect(nameWithin(below, name(rdn(atv(C, text(0x13, 'CA')))))).toBe(false);
    expect(isEmptyName(name())).toBe(true);
    expect(isEmptyName(base)).toBe(false);
  });

  it('finds emailAddress attributes of a subject', () => {
    const subject = name(
      rdn(atv(CN, text(0x0c, 'leaf'))),
      rdn(atv('1.2.840.113549.1.9.1', text(0x16, 'leaf@example.com'))),
    );
    expect(emailAddressesIn(subject)).toEqual(['leaf@example.com']);
  });
});

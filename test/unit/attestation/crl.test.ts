// RFC 5280 5 and 4.2.1.13 syntax (src/attestation/crl.ts): CRL extensions and entry extensions,
// what makes a CRL unusable, certificateIssuer inheritance, and cRLDistributionPoints.
import { describe, expect, it } from 'vitest';
import { parseCrl, parseDistributionPoints } from '../../../src/attestation/crl.js';
import { der, encodeName, PkiError } from '../../../src/pki/index.js';
import { ecKey, signatureAlgorithmDer, signWith, utcTime } from './support.js';

const key = ecKey();
const ISSUER = encodeName({ commonName: 'crl unit test CA' });
const OTHER = encodeName({ commonName: 'another CA' });

const ext = (oid: string, critical: boolean, value: Uint8Array) =>
  der.seq(der.oid(oid), ...(critical ? [der.bool(true)] : []), der.octetString(value));
const directory = (name: Uint8Array) => der.contextConstructed(4, name);
/** IssuingDistributionPoint { indirectCRL [4] TRUE } */
const indirect = ext('2.5.29.28', true, der.seq(der.contextPrimitive(4, Uint8Array.of(0xff))));

function entry(serial: number, extensions: readonly Uint8Array[] = []): Uint8Array {
  return der.seq(
    der.integer(serial),
    utcTime('300101000000Z'),
    ...(extensions.length === 0 ? [] : [der.seq(...extensions)]),
  );
}

function crl(entries: readonly Uint8Array[], extensions: readonly Uint8Array[]): Uint8Array {
  const tbs = der.seq(
    der.integer(1),
    signatureAlgorithmDer(key),
    ISSUER,
    utcTime('300101000000Z'),
    utcTime('300201000000Z'),
    ...(entries.length === 0 ? [] : [der.seq(...entries)]),
    ...(extensions.length === 0 ? [] : [der.contextConstructed(0, der.seq(...extensions))]),
  );
  return der.seq(
    tbs,
    signatureAlgorithmDer(key),
    der.tlv(0x03, Uint8Array.of(0), signWith(key, tbs)),
  );
}

describe('CRL syntax', () => {
  it('reads cRLNumber, deltaCRLIndicator, reason codes and the issuing distribution point', () => {
    const c = parseCrl(
      crl(
        [entry(5, [ext('2.5.29.21', false, der.tlv(0x0a, Uint8Array.of(1)))])],
        [ext('2.5.29.20', false, der.integer(7)), ext('2.5.29.27', true, der.integer(6)), indirect],
      ),
    );
    expect(c.crlNumber).toBe(7n);
    expect(c.baseCrlNumber).toBe(6n);
    expect(c.idp?.indirectCRL).toBe(true);
    expect(c.entries).toEqual([
      { serial: Uint8Array.of(5), reason: 1, certificateIssuer: undefined },
    ]);
    expect(c.unusable).toBeUndefined();
  });

  it('in an indirect CRL, entries inherit the previous certificateIssuer', () => {
    const issuerExt = ext('2.5.29.29', true, der.seq(directory(OTHER)));
    const c = parseCrl(crl([entry(1), entry(2, [issuerExt]), entry(3)], [indirect]));
    expect(c.entries.map((e) => e.certificateIssuer?.length ?? 0)).toEqual([0, 1, 1]);
    expect(c.unusable).toBeUndefined();
  });

  it('unknown critical extensions, critical freshestCRL or certificateIssuer outside an indirect CRL make it unusable', () => {
    const unknown = parseCrl(crl([], [ext('1.3.6.1.4.1.99999.7', true, der.nullValue())]));
    expect(unknown.unusable).toBe('unknown critical CRL extension 1.3.6.1.4.1.99999.7');
    expect(
      parseCrl(crl([], [ext('1.3.6.1.4.1.99999.7', false, der.nullValue())])).unusable,
    ).toBeUndefined();
    const entryExt = parseCrl(
      crl([entry(1, [ext('1.3.6.1.4.1.99999.8', true, der.nullValue())])], []),
    );
    expect(entryExt.unusable).toBe('unknown critical CRL entry extension 1.3.6.1.4.1.99999.8');
    const freshest = parseCrl(crl([], [ext('2.5.29.46', true, der.seq(der.seq()))]));
    expect(freshest.unusable).toBe('critical freshestCRL');
    const notIndirect = parseCrl(
      crl([entry(1, [ext('2.5.29.29', true, der.seq(directory(OTHER)))])], []),
    );
    expect(notIndirect.unusable).toBe(
      'certificateIssuer entry extension in a CRL that is not indirect',
    );
  });

  it('a repeated CRL extension is a parse error', () => {
    const n = ext('2.5.29.20', false, der.integer(1));
    expect(() => parseCrl(crl([], [n, n]))).toThrow(PkiError);
  });
});

describe('cRLDistributionPoints', () => {
  const uri = der.contextPrimitive(6, new TextEncoder().encode('http://crl.example/ca.crl'));
  it('reads full names, reasons and cRLIssuer', () => {
    const dps = parseDistributionPoints(
      der.seq(
        der.seq(
          der.contextConstructed(0, der.contextConstructed(0, uri)),
          // ReasonFlags { keyCompromise, cACompromise }: bits 1 and 2.
          der.contextPrimitive(1, Uint8Array.of(0x05, 0x60)),
          der.contextConstructed(2, directory(OTHER)),
        ),
      ),
    );
    expect(dps).toHaveLength(1);
    expect(dps[0]!.name).toEqual({
      kind: 'full',
      names: [{ kind: 'uri', value: 'http://crl.example/ca.crl' }],
    });
    expect(dps[0]!.reasons).toBe(0b110);
    expect(dps[0]!.crlIssuer).toHaveLength(1);
  });

  it('a distribution point of only reasons is refused (RFC 5280 4.2.1.13)', () => {
    expect(() =>
      parseDistributionPoints(der.seq(der.seq(der.contextPrimitive(1, Uint8Array.of(0x07, 0x80))))),
    ).toThrow(PkiError);
  });
});

// Hostile DER: random mutations of a valid certificate. The strict DER layer must either refuse
// them with a PkiError or accept only encodings that asn1js re-encodes byte for byte.
import { generateKeyPairSync, sign } from 'node:crypto';
import * as asn1js from 'asn1js';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  PkiError,
  assertStrictDer,
  buildCertificate,
  encodeName,
  parseCertificate,
  parseCsr,
  parseDer,
  parseHsmRole,
  rootTemplate,
} from '../../src/pki/index.js';
import { toArrayBuffer } from '../../src/shared/index.js';

type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly mask: number }
  | { readonly kind: 'set-header'; readonly at: number; readonly value: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'append'; readonly bytes: Uint8Array }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array };

/** Offsets of every tag and length octet in a valid DER value (where mutations bite hardest). */
function headerOffsets(der: Uint8Array): number[] {
  const out: number[] = [];
  const visit = (start: number, end: number): void => {
    let pos = start;
    while (pos < end) {
      const tagStart = pos;
      pos++; // single-octet tags are all a certificate uses
      const lenByte = der[pos++]!;
      let length = lenByte;
      if (lenByte >= 0x80) {
        length = 0;
        for (let i = 0; i < (lenByte & 0x7f); i++) length = length * 256 + der[pos++]!;
      }
      for (let i = tagStart; i < pos; i++) out.push(i);
      if ((der[tagStart]! & 0x20) !== 0) visit(pos, pos + length);
      pos += length;
    }
  };
  visit(0, der.length);
  return out;
}

function applyMutation(bytes: Uint8Array, m: Mutation): Uint8Array {
  switch (m.kind) {
    case 'flip': {
      const out = bytes.slice();
      const i = m.at % out.length;
      out[i] = out[i]! ^ m.mask;
      return out;
    }
    case 'set-header': {
      const out = bytes.slice();
      out[m.at % out.length] = m.value;
      return out;
    }
    case 'truncate':
      return bytes.slice(0, m.at % bytes.length);
    case 'append':
      return new Uint8Array([...bytes, ...m.bytes]);
    case 'insert': {
      const i = m.at % (bytes.length + 1);
      return new Uint8Array([...bytes.subarray(0, i), ...m.bytes, ...bytes.subarray(i)]);
    }
  }
}

/** Runs `fn`; anything thrown must be a PkiError. Returns whether it succeeded. */
function onlyPkiErrors(fn: () => void): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    if (err instanceof PkiError) return false;
    throw new Error(`expected a PkiError, got ${String(err)}`, { cause: err });
  }
}

let cert: Uint8Array;
let headers: number[];

beforeAll(async () => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
  cert = await buildCertificate(
    rootTemplate({
      serialNumber: Uint8Array.from([0x3a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07]),
      subject: { country: 'DE', organization: 'Attestamp Test', commonName: 'fuzz root' },
      spki,
      notBefore: new Date('2025-01-01T00:00:00Z'),
      notAfter: new Date('2060-01-01T00:00:00Z'),
    }),
    {
      algorithm: 'ecdsa-p256',
      sign: (tbs) =>
        Promise.resolve(
          new Uint8Array(sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' })),
        ),
    },
  );
  headers = headerOffsets(cert);
});

describe('mutated certificates', () => {
  it('the seed certificate is strict DER and holds the encoded subject name', () => {
    expect(() => {
      assertStrictDer(cert);
    }).not.toThrow();
    expect(headers.length).toBeGreaterThan(40);
    const subject = encodeName({
      country: 'DE',
      organization: 'Attestamp Test',
      commonName: 'fuzz root',
    });
    expect(Buffer.from(cert).includes(Buffer.from(subject))).toBe(true);
  });

  it('never throw anything but PkiError, and accepted bytes re-encode identically', () => {
    const at = fc.nat({ max: 100_000 });
    const headerAt = fc.nat({ max: 100_000 }).map((i) => headers[i % headers.length]!);
    const mutation: fc.Arbitrary<Mutation> = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at, mask: fc.integer({ min: 1, max: 255 }) }),
      fc.record({
        kind: fc.constant('flip' as const),
        at: headerAt,
        mask: fc.integer({ min: 1, max: 255 }),
      }),
      fc.record({
        kind: fc.constant('set-header' as const),
        at: headerAt,
        value: fc.constantFrom(
          0x00,
          0x01,
          0x0f,
          0x1f,
          0x20,
          0x24,
          0x31,
          0x7f,
          0x80,
          0x81,
          0x84,
          0xff,
        ),
      }),
      fc.record({ kind: fc.constant('truncate' as const), at }),
      fc.record({
        kind: fc.constant('append' as const),
        bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
      }),
      fc.record({
        kind: fc.constant('insert' as const),
        at,
        bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }),
      }),
    );
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (mutations) => {
        let bytes = cert;
        for (const m of mutations) bytes = applyMutation(bytes, m);
        const strict = onlyPkiErrors(() => {
          assertStrictDer(bytes);
        });
        const parsed = onlyPkiErrors(() => {
          parseDer(bytes);
        });
        for (const parse of [parseCertificate, parseCsr, parseHsmRole]) {
          onlyPkiErrors(() => {
            parse(bytes);
          });
        }
        // parseDer is assertStrictDer plus asn1js: it may refuse more, never less.
        expect(parsed && !strict).toBe(false);
        if (!strict) {
          refused++;
          return;
        }
        accepted++;
        const decoded = asn1js.fromBER(toArrayBuffer(bytes));
        expect(decoded.offset).toBe(bytes.length);
        expect(Buffer.from(decoded.result.toBER(false)).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 300, seed: 0x5eed },
    );
    // Both outcomes must occur, or the property says nothing.
    expect(accepted).toBeGreaterThan(10);
    expect(refused).toBeGreaterThan(10);
  });
});

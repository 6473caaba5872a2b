// Derivation paths (src/hsm/hd/path.ts): the accepted spellings and what they mean, and every
// refusal as HsmError invalid-argument naming the bad segment (syntax, hardened marker, index
// range, leading zeros, depth), and the depth limit counted from the key at hand.
import { describe, expect, it } from 'vitest';
import {
  HARDENED_OFFSET,
  MAX_DEPTH,
  checkChildIndex,
  deriveHdPath,
  formatDerivationPath,
  hdMasterKey,
  isHardened,
  parseDerivationPath,
} from '../../../../src/hsm/hd/index.js';
import { expectHsmError } from '../support.js';

const indices = (path: string): number[] => parseDerivationPath(path).segments.map((s) => s.index);

describe('parseDerivationPath', () => {
  it("reads hardened markers written as ', h and H", () => {
    const h = HARDENED_OFFSET;
    expect(indices("m/44'/0h/1H/2/3")).toEqual([44 + h, h, 1 + h, 2, 3]);
    expect(parseDerivationPath("m/44'/0").segments.map((s) => s.hardened)).toEqual([true, false]);
    expect(indices("m/2147483647'/2147483647")).toEqual([0xffffffff, 0x7fffffff]);
  });

  it('tells absolute paths (m, M) from relative ones', () => {
    expect(parseDerivationPath('m')).toEqual({ absolute: true, segments: [] });
    expect(parseDerivationPath('M/0').absolute).toBe(true);
    const relative = parseDerivationPath("0/1'");
    expect(relative.absolute).toBe(false);
    expect(relative.segments.map((s) => s.index)).toEqual([0, 1 + HARDENED_OFFSET]);
    expect(relative.segments.map((s) => s.position)).toEqual([1, 2]);
  });

  it.each([
    [
      "m/0/2147483648'",
      2,
      "2147483648'",
      'is out of range: a child index is 0 to 2147483647, hardened or not',
    ],
    [
      'm/4294967295',
      1,
      '4294967295',
      'is out of range: a child index is 0 to 2147483647, hardened or not',
    ],
    [
      'm/99999999999999999999',
      1,
      '99999999999999999999',
      'is out of range: a child index is 0 to 2147483647, hardened or not',
    ],
    ['m/0//1', 2, '', 'is empty'],
    ['m/0/', 2, '', 'is empty'],
    ["m/0''", 1, "0''", "has characters after its hardened marker (' or h)"],
    ['m/0hh', 1, '0hh', "has characters after its hardened marker (' or h)"],
    ["m/'0", 1, "'0", "is not a decimal child index with an optional hardened marker (' or h)"],
    ['m/-1', 1, '-1', "is not a decimal child index with an optional hardened marker (' or h)"],
    ['m/0x10', 1, '0x10', "is not a decimal child index with an optional hardened marker (' or h)"],
    ['m/1p', 1, '1p', "is not a decimal child index with an optional hardened marker (' or h)"],
    ['m/ 1', 1, ' 1', "is not a decimal child index with an optional hardened marker (' or h)"],
    ['m/１', 1, '１', "is not a decimal child index with an optional hardened marker (' or h)"],
    ['m/01', 1, '01', 'has a leading zero'],
    ["m/5/007'", 2, "007'", 'has a leading zero'],
    ['/0', 1, '', 'is empty'],
  ])('%s: segment %i (%s) %s', (path, position, segment, why) => {
    const error = expectHsmError(() => parseDerivationPath(path), 'invalid-argument');
    expect(error.message).toBe(
      `derivation path segment ${position} (${JSON.stringify(segment)}) ${why}`,
    );
    expect(error.details).toEqual({ field: 'path', segment, position });
  });

  it.each([
    ['', 'derivation path is empty: write m for the master key itself'],
    ['mm/0', 'derivation path must start with m/ (the master key) or with a child index'],
    ['m0', 'derivation path must start with m/ (the master key) or with a child index'],
    ["M'/0", 'derivation path must start with m/ (the master key) or with a child index'],
  ])('%j: %s', (path, message) => {
    const error = expectHsmError(() => parseDerivationPath(path), 'invalid-argument');
    expect(error.message).toBe(message);
    expect(error.details).toEqual({ field: 'path' });
  });

  it('accepts 255 segments and names the 256th', () => {
    expect(parseDerivationPath(`m${'/0'.repeat(MAX_DEPTH)}`).segments).toHaveLength(255);
    const error = expectHsmError(
      () => parseDerivationPath(`m${'/0'.repeat(MAX_DEPTH)}/7`),
      'invalid-argument',
    );
    expect(error.message).toBe(
      'derivation path segment 256 ("7") is below the deepest key (depth 255)',
    );
    expectHsmError(() => parseDerivationPath(`m/${'1'.repeat(4000)}`), 'invalid-argument');
  });
});

describe('derivation depth and index lists', () => {
  const master = hdMasterKey('secp256k1', new Uint8Array(32).fill(7));

  it('counts the depth from the key at hand', () => {
    const deep = deriveHdPath(
      master,
      Array.from({ length: 250 }, () => 1),
    );
    expect(deep.depth).toBe(250);
    expect(deriveHdPath(deep, '1/2/3/4/5').depth).toBe(255);
    const error = expectHsmError(() => deriveHdPath(deep, '1/2/3/4/5/6'), 'invalid-argument');
    expect(error.message).toBe(
      'derivation path segment 6 ("6") is below the deepest key (depth 255)',
    );
  });

  it('refuses child indices outside 0..2^32-1 in a list', () => {
    for (const bad of [-1, 2 ** 32, 1.5, Number.NaN]) {
      expectHsmError(() => deriveHdPath(master, [0, bad]), 'invalid-argument');
      expectHsmError(() => checkChildIndex(bad), 'invalid-argument');
    }
    expect(checkChildIndex(2 ** 32 - 1)).toBe(2 ** 32 - 1);
  });

  it("formats indices back with ' for hardened segments", () => {
    const path = [44 + HARDENED_OFFSET, HARDENED_OFFSET, HARDENED_OFFSET, 0, 7];
    expect(formatDerivationPath(path)).toBe("m/44'/0'/0'/0/7");
    expect(formatDerivationPath([1, 2], false)).toBe('1/2');
    expect(indices(formatDerivationPath(path))).toEqual(path);
    expect(isHardened(HARDENED_OFFSET)).toBe(true);
    expect(isHardened(HARDENED_OFFSET - 1)).toBe(false);
    expectHsmError(() => formatDerivationPath([2 ** 32]), 'invalid-argument');
  });
});

// Derivation paths of hierarchical deterministic keys (BIP 32 "The key tree", BIP 44 notation):
// "m/44'/0'/0'/0/7", hardened segments marked with ' or h, parsed strictly so that a path
// means one thing only. Every refusal is an HsmError invalid-argument naming the segment.
import { HsmError } from '../errors.js';

/** The first hardened child index, 2^31 (BIP 32 "Extended keys"). */
export const HARDENED_OFFSET = 0x8000_0000;

/**
 * The deepest key a path may reach: BIP 32 serialises the depth as one byte, so a key below
 * depth 255 could not be exported or sealed as an extended key.
 */
export const MAX_DEPTH = 255;

/** One step of a path: the child index (hardened ones at HARDENED_OFFSET and above). */
export interface PathSegment {
  readonly index: number;
  readonly hardened: boolean;
  /** The segment as written, for error messages ("2'"). */
  readonly text: string;
  /** Its position in the path, from 1. */
  readonly position: number;
}

export interface DerivationPath {
  /** Written from the master key ("m/..."), rather than relative to the key at hand ("0/1"). */
  readonly absolute: boolean;
  readonly segments: readonly PathSegment[];
}

/** The longest path text accepted: 255 segments of "2147483647'/" and an "m/". */
const MAX_PATH_LENGTH = 2 + MAX_DEPTH * 12;

function badSegment(position: number, text: string, why: string): HsmError {
  return new HsmError(
    'invalid-argument',
    `derivation path segment ${position} (${JSON.stringify(text)}) ${why}`,
    { details: { field: 'path', segment: text, position } },
  );
}

function badPath(why: string): HsmError {
  return new HsmError('invalid-argument', `derivation path ${why}`, {
    details: { field: 'path' },
  });
}

function parseSegment(text: string, position: number): PathSegment {
  const m = /^(\d+)(['hH]?)$/.exec(text);
  if (m === null) {
    if (text === '') throw badSegment(position, text, 'is empty');
    if (/^\d+['hH]./.test(text)) {
      throw badSegment(position, text, "has characters after its hardened marker (' or h)");
    }
    throw badSegment(
      position,
      text,
      "is not a decimal child index with an optional hardened marker (' or h)",
    );
  }
  const digits = m[1]!;
  // One spelling per index: "01" and "1" would otherwise name the same child.
  if (digits.length > 1 && digits.startsWith('0')) {
    throw badSegment(position, text, 'has a leading zero');
  }
  const value = digits.length > 10 ? Infinity : Number(digits);
  if (value >= HARDENED_OFFSET) {
    throw badSegment(
      position,
      text,
      `is out of range: a child index is 0 to ${HARDENED_OFFSET - 1}, hardened or not`,
    );
  }
  const hardened = m[2] !== '';
  return { index: hardened ? value + HARDENED_OFFSET : value, hardened, text, position };
}

/**
 * Parses "m", "m/0'/1h/2" (from the master key; "M/0/1" too) or "0/1'" (relative to the key at
 * hand).
 * Hardened segments are marked with ', h or H; indices are decimal without leading zeros,
 * 0 to 2^31 - 1; at most MAX_DEPTH segments. HsmError invalid-argument names the first bad
 * segment.
 */
export function parseDerivationPath(path: string): DerivationPath {
  if (path.length > MAX_PATH_LENGTH) {
    throw badPath(`is longer than ${MAX_PATH_LENGTH} characters`);
  }
  if (path === '') throw badPath('is empty: write m for the master key itself');
  // BIP 32 writes m for the master private key and M for its public key: either marks the root.
  const absolute = /^[mM](\/|$)/.test(path);
  if (!absolute && /^[mM]/.test(path)) {
    throw badPath('must start with m/ (the master key) or with a child index');
  }
  const texts = absolute ? path.split('/').slice(1) : path.split('/');
  if (texts.length > MAX_DEPTH) {
    throw badSegment(
      MAX_DEPTH + 1,
      texts[MAX_DEPTH]!,
      `is below the deepest key (depth ${MAX_DEPTH})`,
    );
  }
  return { absolute, segments: texts.map((t, i) => parseSegment(t, i + 1)) };
}

/** The path of child indices, written with ' for hardened segments: "m/44'/0'/0'". */
export function formatDerivationPath(indices: readonly number[], absolute = true): string {
  const parts = indices.map((i) => {
    checkChildIndex(i);
    return i >= HARDENED_OFFSET ? `${i - HARDENED_OFFSET}'` : `${i}`;
  });
  return absolute ? ['m', ...parts].join('/') : parts.join('/');
}

/** Whether a child index is hardened (2^31 and above). */
export function isHardened(index: number): boolean {
  return index >= HARDENED_OFFSET;
}

/** HsmError invalid-argument unless `index` is a child index, 0 to 2^32 - 1. */
export function checkChildIndex(index: number): number {
  if (!Number.isInteger(index) || index < 0 || index > 0xffff_ffff) {
    throw new HsmError('invalid-argument', 'a child index is an integer from 0 to 2^32 - 1', {
      details: { field: 'index' },
    });
  }
  return index;
}

/** The segments of a path given as a string or as child indices. */
export function pathSegments(path: string | readonly number[]): DerivationPath {
  if (typeof path === 'string') return parseDerivationPath(path);
  if (path.length > MAX_DEPTH) {
    throw badPath(`has more than ${MAX_DEPTH} segments`);
  }
  return {
    absolute: false,
    segments: path.map((index, i) => {
      checkChildIndex(index);
      const hardened = index >= HARDENED_OFFSET;
      const text = hardened ? `${index - HARDENED_OFFSET}'` : `${index}`;
      return { index, hardened, text, position: i + 1 };
    }),
  };
}

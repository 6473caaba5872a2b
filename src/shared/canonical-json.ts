// Plain JSON values for the bytes people sign (RFC 8785 canonical JSON, made in
// src/hsm/governance/canonical-json.ts): objects, arrays, strings, booleans, null and safe
// integers only, of a bounded size, so that every party, in any language, computes the same
// bytes. Browser-safe and without dependencies (the light verifier package includes it).
import { AttestampError } from './errors.js';

export type JsonValue =
  string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

export type JsonObject = { readonly [key: string]: JsonValue };

/** Bounds on a canonical value: nesting depth, members per container, total text length. */
export const CANONICAL_LIMITS = { depth: 16, members: 1024, bytes: 1 << 20 } as const;

export class CanonicalJsonError extends AttestampError<'json-invalid'> {}

/** With the u flag, a pair is one code point: this matches lone surrogates only. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const wellFormed = (s: string): boolean => !LONE_SURROGATE.test(s);

const invalid = (message: string, path: string): CanonicalJsonError =>
  new CanonicalJsonError('json-invalid', message, { details: { path } });

/** Throws unless `value` is plain JSON within the limits (no float, no undefined, no cycle). */
export function assertJson(value: unknown, path = '$', depth = 0): asserts value is JsonValue {
  if (depth > CANONICAL_LIMITS.depth) throw invalid('nested too deeply', path);
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'string') {
    if (!wellFormed(value)) throw invalid('a string holds a lone surrogate', path);
    return;
  }
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw invalid('numbers are safe integers only', path);
    return;
  }
  if (Array.isArray(value)) {
    if (value.length > CANONICAL_LIMITS.members) throw invalid('too many members', path);
    value.forEach((v: unknown, i) => {
      assertJson(v, `${path}[${i}]`, depth + 1);
    });
    return;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length > CANONICAL_LIMITS.members) throw invalid('too many members', path);
    for (const [k, v] of entries) {
      if (!wellFormed(k)) throw invalid('a name holds a lone surrogate', path);
      assertJson(v, `${path}.${k}`, depth + 1);
    }
    return;
  }
  throw invalid('not a JSON value', path);
}

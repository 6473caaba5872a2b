// Canonical JSON (RFC 8785, JCS) for the bytes people sign: the `canonicalize` library (the
// reference implementation by one of the RFC's authors) over a value checked first to be plain
// JSON of a bounded size (src/shared/canonical-json.ts).
import canonicalize from 'canonicalize';
import {
  assertJson,
  CANONICAL_LIMITS,
  CanonicalJsonError,
  type JsonValue,
} from '../../shared/index.js';

const invalid = (message: string, path: string): CanonicalJsonError =>
  new CanonicalJsonError('json-invalid', message, { details: { path } });

/** The RFC 8785 canonical text of a plain JSON value. */
export function canonicalJson(value: JsonValue): string {
  assertJson(value);
  const text = canonicalize(value);
  if (text === undefined) throw invalid('not a JSON value', '$');
  if (text.length > CANONICAL_LIMITS.bytes) throw invalid('too long', '$');
  return text;
}

/** Parses JSON text of bounded length and checks it is plain canonicalisable JSON. */
export function parseCanonicalInput(text: string): JsonValue {
  if (text.length > CANONICAL_LIMITS.bytes) throw invalid('too long', '$');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid('not JSON', '$');
  }
  assertJson(value);
  return value;
}

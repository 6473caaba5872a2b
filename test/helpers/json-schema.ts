// A small JSON Schema (draft 2020-12) checker for the keywords the repository's schemas use:
// type, enum, minimum, maximum, minLength, pattern, anyOf, items, properties, required,
// additionalProperties. An unsupported keyword fails loudly rather than passing silently.
type Schema = Readonly<Record<string, unknown>>;

const KNOWN = new Set([
  '$schema',
  '$id',
  'title',
  'description',
  'default',
  'deprecated',
  'type',
  'enum',
  'minimum',
  'maximum',
  'minLength',
  'pattern',
  'anyOf',
  'items',
  'properties',
  'required',
  'additionalProperties',
]);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** The violations of `value` against `schema`, as "path: problem" lines (empty: valid). */
export function schemaErrors(schema: Schema, value: unknown, path = '$'): string[] {
  for (const k of Object.keys(schema))
    if (!KNOWN.has(k)) throw new Error(`unsupported schema keyword ${k} at ${path}`);
  const errors: string[] = [];
  if (typeof schema.type === 'string') {
    const t = typeOf(value);
    const ok = t === schema.type || (schema.type === 'number' && t === 'integer');
    if (!ok) return [`${path}: expected ${schema.type}, got ${t}`];
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(value))
    errors.push(`${path}: not one of ${schema.enum.join(', ')}`);
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum)
      errors.push(`${path}: below ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum)
      errors.push(`${path}: above ${schema.maximum}`);
  }
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && value.length < schema.minLength)
      errors.push(`${path}: shorter than ${schema.minLength}`);
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value))
      errors.push(`${path}: does not match ${schema.pattern}`);
  }
  if (Array.isArray(schema.anyOf)) {
    const all = (schema.anyOf as Schema[]).map((s) => schemaErrors(s, value, path));
    if (!all.some((e) => e.length === 0))
      errors.push(`${path}: matches no alternative (${all.flat().join('; ')})`);
  }
  if (Array.isArray(value) && typeof schema.items === 'object' && schema.items !== null) {
    value.forEach((v, i) =>
      errors.push(...schemaErrors(schema.items as Schema, v, `${path}[${i}]`)),
    );
  }
  if (typeOf(value) === 'object') {
    const o = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const r of (schema.required ?? []) as string[])
      if (!(r in o)) errors.push(`${path}: missing ${r}`);
    for (const [k, v] of Object.entries(o)) {
      const p = props[k];
      if (p !== undefined) errors.push(...schemaErrors(p, v, `${path}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: unknown property ${k}`);
    }
  }
  return errors;
}

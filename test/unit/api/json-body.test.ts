// The defensive JSON body reader and the route lookup: nesting counted outside strings before
// JSON.parse runs, prototype keys refused at any depth, and literal paths preferred over
// templates.
import { describe, expect, it } from 'vitest';
import { ApiError, findOperation, loadDocument } from '../../../src/api/index.js';
import { checkJsonShape, parseJsonBody } from '../../../src/api/json-body.js';

const limits = { bytes: 1 << 20, depth: 4 };

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof ApiError ? error.code : 'other';
  }
  return undefined;
}

describe('parseJsonBody', () => {
  it('accepts nesting up to the limit and refuses one level more', () => {
    expect(parseJsonBody(Buffer.from('[[[[1]]]]'), limits)).toEqual([[[[1]]]]);
    expect(code(() => parseJsonBody(Buffer.from('[[[[[1]]]]]'), limits))).toBe(
      'api-malformed-json',
    );
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ a: '[[[[[[[[{{{{{', b: 'say \\"[[[[[[[\\"' });
    expect(parseJsonBody(Buffer.from(text), limits)).toEqual(JSON.parse(text));
  });

  it('refuses prototype keys at any depth and text that is not JSON', () => {
    expect(code(() => parseJsonBody(Buffer.from('{"a":[{"__proto__":1}]}'), limits))).toBe(
      'api-malformed-json',
    );
    expect(code(() => parseJsonBody(Buffer.from('{"constructor":{}}'), limits))).toBe(
      'api-malformed-json',
    );
    expect(code(() => parseJsonBody(Buffer.from('{"a":'), limits))).toBe('api-malformed-json');
    expect(
      code(() => parseJsonBody(Buffer.from('{"ok":{"x":"__proto__"}}'), limits)),
    ).toBeUndefined();
  });

  it('checks a deep parsed value without recursion', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(
      code(() => {
        checkJsonShape(deep, 32);
      }),
    ).toBe('api-malformed-json');
  });
});

describe('findOperation', () => {
  const doc = loadDocument();
  it('prefers a literal segment over a template and tells no-path from no-method', () => {
    const imp = findOperation(doc, 'POST', '/v1/partitions/default/keys/import');
    expect(typeof imp === 'object' && imp.op.operationId).toBe('importKey');
    const key = findOperation(doc, 'GET', '/v1/partitions/default/keys/import');
    expect(typeof key === 'object' && key.op.operationId).toBe('getKey');
    expect(findOperation(doc, 'GET', '/v1/partitions/a/b/c/d')).toBe('no-path');
    expect(findOperation(doc, 'DELETE', '/v1/device')).toBe('no-method');
    const enc = findOperation(doc, 'GET', '/v1/partitions/a%2Eb');
    expect(typeof enc === 'object' && enc.params.partition).toBe('a.b');
  });
});

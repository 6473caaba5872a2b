// The API tests' answer check (test/helpers/api.ts): every answer must have a status the OpenAPI
// document lists for its operation (a success by its number, a refusal by number or the default
// problem response), its content type and its body schema; a test that accepts several statuses
// may name only documented ones. Each case here is an answer the check must refuse or accept.
import { describe, expect, it } from 'vitest';
import {
  documentedStatuses,
  expectDocumented,
  expectStatusOf,
  type ApiResponse,
} from '../../helpers/api.js';

const problem = (status: number, code = 'api-not-found'): ApiResponse => {
  const json = { type: `urn:attestamp:problem:${code}`, title: 't', status, detail: 'd', code };
  return {
    status,
    headers: {},
    type: 'application/problem+json',
    text: JSON.stringify(json),
    body: Buffer.from(JSON.stringify(json)),
    json,
  };
};

const answer = (status: number, json: unknown, headers = {}): ApiResponse => ({
  status,
  headers,
  type: 'application/json',
  text: JSON.stringify(json),
  body: Buffer.from(JSON.stringify(json)),
  json,
});

const VALID = { valid: true };
const VERIFY = '/v1/partitions/default/keys/k/verify';

describe('the answer check of the API tests', () => {
  it('accepts a documented success and a problem under the default response', () => {
    expect(() => {
      expectDocumented('POST', VERIFY, answer(200, VALID));
    }).not.toThrow();
    expect(() => {
      expectDocumented('POST', VERIFY, problem(404, 'key-not-found'));
    }).not.toThrow();
  });

  it('refuses a success status the operation does not list, even with a default response', () => {
    expect(() => {
      expectDocumented('POST', VERIFY, answer(201, VALID));
    }).toThrow(/status not documented/);
    expect(() => {
      expectDocumented('POST', VERIFY, answer(204, VALID));
    }).toThrow(/status not documented/);
  });

  it("refuses a problem whose status is not the answer's, and a body off its schema", () => {
    expect(() => {
      expectDocumented('POST', VERIFY, { ...problem(404), status: 403 });
    }).toThrow(/the problem's status/);
    expect(() => {
      expectDocumented('POST', VERIFY, answer(200, { valid: 'yes' }));
    }).toThrow(/body/);
    expect(() => {
      expectDocumented('POST', VERIFY, { ...answer(200, VALID), type: 'text/plain' });
    }).toThrow(/content type text\/plain not documented/);
  });

  it('lists the statuses an operation documents by number', () => {
    expect(documentedStatuses('POST', '/v1/partitions/default/keys/k/sign')).toEqual([200, 202]);
    expect(documentedStatuses('POST', VERIFY)).toEqual([200]);
  });

  it('accepts any documented status and only those, when a test names several', () => {
    const sign = '/v1/partitions/default/keys/k/sign';
    expect(() => {
      expectStatusOf('POST', VERIFY, answer(200, VALID));
    }).not.toThrow();
    // Without a list: the numbered statuses, not a problem under the default response.
    expect(() => {
      expectStatusOf('POST', VERIFY, problem(404));
    }).toThrow();
    expect(() => {
      expectStatusOf('POST', VERIFY, problem(404), [200, 404]);
    }).not.toThrow();
    // A list with a status the operation does not have fails before the answer is looked at.
    expect(() => {
      expectStatusOf('POST', VERIFY, answer(200, VALID), [200, 202]);
    }).toThrow(/202 is not documented/);
    expect(() => {
      expectStatusOf('POST', sign, answer(200, VALID), [202]);
    }).toThrow();
    expect(() => {
      expectStatusOf('GET', '/v1/nothing', answer(200, VALID));
    }).toThrow(/not an operation/);
  });
});

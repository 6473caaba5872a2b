// Hostile requests to the REST API: deep nesting, a 10 MB body (declared and streamed), wrong
// types, unknown fields, prototype-pollution keys, bodies that are not JSON or not declared as
// JSON: each a 4xx problem, never a 5xx, and the server answering after each. Idempotency-Key
// replays and conflicts; and an unexpected failure answered 500 with a fixed text while the
// real error goes to the log only. On each device store (SQLite, PostgreSQL).
/* eslint-disable @typescript-eslint/no-unsafe-member-access -- every answer is checked against the OpenAPI document by the client before a test reads its fields as plain JSON */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogFields } from '../../../src/shared/index.js';
import {
  apiStores,
  createApiDevice,
  startApiFixture,
  type ApiDevice,
  type ApiFixture,
} from '../../helpers/api.js';

for (const { store, skip } of apiStores()) {
  describe.skipIf(skip)(`hostile requests on the ${store} store`, () => {
    let shared: ApiDevice;
    let f: ApiFixture;
    let officer: string;
    const logged: { message: string; fields: LogFields | undefined }[] = [];

    beforeAll(async () => {
      shared = await createApiDevice(store);
      f = await startApiFixture({
        device: shared.device,
        logger: {
          info() {},
          warn() {},
          error(message, fields) {
            logged.push({ message, fields });
          },
        },
      });
      officer = await f.token('app-officer', ['crypto-officer'], ['default']);
    }, 60_000);

    afterAll(async () => {
      await f.close();
      await shared.close();
    });

    it(`runs on the ${store} store`, () => {
      expect(f.hsm.storeInfo().dialect).toBe(store);
    });

    const KEYS = '/v1/partitions/default/keys';

    async function stillAnswers(): Promise<void> {
      const r = await f.request('GET', '/v1/device', { token: officer });
      expect(r.status).toBe(200);
    }

    describe('hostile JSON', () => {
      const cases: readonly [string, string | Buffer, number, string][] = [
        [
          'deep array nesting',
          '['.repeat(100_000) + ']'.repeat(100_000),
          400,
          'api-malformed-json',
        ],
        [
          'deep object nesting',
          '{"a":'.repeat(40) + '1' + '}'.repeat(40),
          400,
          'api-malformed-json',
        ],
        ['not JSON', '{"label": ', 400, 'api-malformed-json'],
        [
          'a __proto__ key',
          '{"__proto__":{"admin":true},"label":"a","algorithm":"ed25519"}',
          400,
          'api-malformed-json',
        ],
        [
          'a nested constructor key',
          '{"label":"a","algorithm":"ed25519","purposes":[{"constructor":{}}]}',
          400,
          'api-malformed-json',
        ],
        [
          'a prototype key',
          '{"prototype":1,"label":"a","algorithm":"ed25519"}',
          400,
          'api-malformed-json',
        ],
        ['a wrong type', '{"label":5,"algorithm":"ed25519"}', 400, 'api-invalid-request'],
        [
          'a wrong boolean',
          '{"label":"a","algorithm":"ed25519","extractable":"yes"}',
          400,
          'api-invalid-request',
        ],
        [
          'an unknown field',
          '{"label":"a","algorithm":"ed25519","colour":"red"}',
          400,
          'api-invalid-request',
        ],
        ['an unknown algorithm', '{"label":"a","algorithm":"rsa-512"}', 400, 'api-invalid-request'],
        ['an array body', '[]', 400, 'api-invalid-request'],
        ['a null body', 'null', 400, 'api-invalid-request'],
        ['a 10 MB body', Buffer.alloc(10 * 1024 * 1024, 0x20), 413, 'api-body-too-large'],
      ];

      it.each(cases)(
        'refuses %s with a 4xx problem, and answers after',
        async (_name, raw, status, code) => {
          const r = await f.request('POST', KEYS, { token: officer, raw });
          expect([r.status, r.json.code]).toEqual([status, code]);
          await stillAnswers();
        },
      );

      it('names the unknown field', async () => {
        const r = await f.request('POST', KEYS, {
          token: officer,
          json: { label: 'a', algorithm: 'ed25519', colour: 'red' },
        });
        expect(r.json.details.field).toBe('/colour');
      });

      it('refuses a declared 10 MB body at once with 413', async () => {
        const r = await f.request('POST', KEYS, {
          token: officer,
          raw: Buffer.alloc(10 * 1024 * 1024, 0x20),
          headers: { 'content-length': String(10 * 1024 * 1024) },
        });
        expect([r.status, r.json.code]).toEqual([413, 'api-body-too-large']);
        await stillAnswers();
      });

      it('refuses another content type (415), a missing body and a body where none is taken', async () => {
        const t = await f.request('POST', KEYS, {
          token: officer,
          raw: '{"label":"a","algorithm":"ed25519"}',
          headers: { 'content-type': 'text/plain' },
        });
        expect([t.status, t.json.code]).toEqual([415, 'api-unsupported-media-type']);
        const none = await f.request('POST', KEYS, { token: officer });
        expect([none.status, none.json.code]).toEqual([400, 'api-invalid-request']);
        const extra = await f.request('POST', '/v1/partitions/default/keys/x/restore', {
          token: officer,
          json: { please: true },
        });
        expect([extra.status, extra.json.code]).toEqual([400, 'api-invalid-request']);
      });

      it('refuses malformed paths, parameters and query strings', async () => {
        const badName = await f.request('GET', '/v1/partitions/..%2f..%2fetc/keys', {
          token: officer,
        });
        expect(badName.status).toBe(400);
        const badEscape = await f.request('GET', '/v1/partitions/%E0%A4%A/keys', {
          token: officer,
        });
        expect(badEscape.status).toBe(400);
        const unknownQuery = await f.request('GET', `${KEYS}?admin=1`, { token: officer });
        expect([unknownQuery.status, unknownQuery.json.code]).toEqual([400, 'api-invalid-request']);
        const repeated = await f.request('GET', `${KEYS}?state=active&state=active`, {
          token: officer,
        });
        expect(repeated.status).toBe(400);
        await stillAnswers();
      });
    });

    describe('Idempotency-Key', () => {
      it('answers a repeated POST with the first answer, once', async () => {
        const headers = { 'idempotency-key': 'gen-1' };
        const body = { label: 'idem', algorithm: 'ed25519' };
        const first = await f.request('POST', KEYS, { token: officer, json: body, headers });
        const second = await f.request('POST', KEYS, { token: officer, json: body, headers });
        expect(first.status).toBe(201);
        expect(second.status).toBe(201);
        expect(second.json.id).toBe(first.json.id);
        const keys = (await f.hsm.listKeys('default')).filter((k) => k.label === 'idem');
        expect(keys).toHaveLength(1);
      });

      it('refuses the key with another body (422), keeps keys apart per principal', async () => {
        const headers = { 'idempotency-key': 'gen-2' };
        await f.request('POST', KEYS, {
          token: officer,
          json: { label: 'i2', algorithm: 'ed25519' },
          headers,
        });
        const other = await f.request('POST', KEYS, {
          token: officer,
          json: { label: 'i3', algorithm: 'ed25519' },
          headers,
        });
        expect([other.status, other.json.code]).toEqual([422, 'api-idempotency-mismatch']);
        const someoneElse = await f.token('app-two', ['crypto-officer'], ['default']);
        const theirs = await f.request('POST', KEYS, {
          token: someoneElse,
          json: { label: 'i3', algorithm: 'ed25519' },
          headers,
        });
        expect(theirs.status).toBe(201);
        const bad = await f.request('POST', KEYS, {
          token: officer,
          json: { label: 'i4', algorithm: 'ed25519' },
          headers: { 'idempotency-key': 'x'.repeat(200) },
        });
        expect(bad.status).toBe(400);
      });
    });

    describe('Idempotency-Key bounds', () => {
      let g: ApiFixture;
      beforeAll(async () => {
        g = await startApiFixture({
          device: shared.device,
          limits: { idempotencyKeysPerPrincipal: 2 },
        });
      }, 60_000);
      afterAll(async () => {
        await g.close();
      });

      it("forgets a principal's oldest key past its cap: the repeat runs again", async () => {
        const token = await g.token('app-officer', ['crypto-officer'], ['default']);
        const gen = (label: string) =>
          g.request('POST', KEYS, {
            token,
            json: { label, algorithm: 'ed25519' },
            headers: { 'idempotency-key': `gen-${label}` },
          });
        const first = await gen('a');
        await gen('b');
        const third = await gen('c');
        // c is kept: the same answer, no second key.
        const c = await gen('c');
        expect([c.status, c.json.id]).toEqual([201, third.json.id]);
        // a was forgotten: the call runs again and the HSM answers it (the label is taken).
        const a = await gen('a');
        expect(first.status).toBe(201);
        expect([a.status, a.json.code]).toEqual([409, 'key-exists']);
      });
    });

    describe('Idempotency-Key retention (idempotencyTtlMs)', () => {
      let g: ApiFixture;
      let now = 0;
      beforeAll(async () => {
        g = await startApiFixture({
          device: shared.device,
          limits: { idempotencyTtlMs: 60_000 },
          monotonic: () => now,
        });
      }, 60_000);
      afterAll(async () => {
        await g.close();
      });

      it('answers a repeat with the kept answer within the retention, runs it again after', async () => {
        const token = await g.token('app-ttl', ['crypto-officer'], ['default']);
        const gen = () =>
          g.request('POST', KEYS, {
            token,
            json: { label: 'ttl-1', algorithm: 'ed25519' },
            headers: { 'idempotency-key': 'ttl-1' },
          });
        const first = await gen();
        expect(first.status).toBe(201);
        now = 59_000;
        const kept = await gen();
        expect([kept.status, kept.json.id]).toEqual([201, first.json.id]);
        now = 60_001;
        const again = await gen();
        expect([again.status, again.json.code]).toEqual([409, 'key-exists']);
      });

      it('refuses a limit that is not a positive whole number, naming the field', async () => {
        await expect(
          startApiFixture({ device: shared.device, limits: { idempotencyTtlMs: 0 } }),
        ).rejects.toThrow('the API limit idempotencyTtlMs must be a positive whole number');
        await expect(
          startApiFixture({ device: shared.device, limits: { idempotencyKeys: 1.5 } }),
        ).rejects.toThrow('idempotencyKeys');
      });
    });

    describe('an unexpected failure', () => {
      it('is a 500 with a fixed text; the real error is logged, not answered', async () => {
        // A programming error inside a call (not an HsmError): stands for any bug.
        const device = f.hsm.device.bind(f.hsm);
        Object.defineProperty(f.hsm, 'device', {
          configurable: true,
          value: () => Promise.reject(new TypeError('cannot read properties of undefined (row 7)')),
        });
        try {
          const r = await f.request('GET', '/v1/device', { token: officer });
          expect(r.status).toBe(500);
          expect(r.json).toMatchObject({
            code: 'api-internal',
            detail: 'the server could not complete the request',
          });
          expect(r.text).not.toContain('row 7');
          const line = logged.find((l) => l.message === 'api request failed');
          expect(line?.fields?.error).toContain('row 7');
          expect(JSON.stringify(logged)).not.toContain(officer);
        } finally {
          Object.defineProperty(f.hsm, 'device', { configurable: true, value: device });
        }
        await stillAnswers();
      });

      it('a store that is gone is a classified 5xx, still a problem document', async () => {
        await f.hsm.close();
        const r = await f.request('GET', '/v1/device', { token: officer });
        expect(r.status).toBeGreaterThanOrEqual(500);
        expect(r.type).toBe('application/problem+json');
      });
    });
  });
}

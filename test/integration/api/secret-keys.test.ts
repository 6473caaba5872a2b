// Secret keys through the REST API over HTTPS on each device store, every answer checked
// against the OpenAPI document: a secret key's representation (no public key, its KCV), AEAD
// encrypt and decrypt with the nonce the HSM draws (a caller's nonce refused by the document),
// a ciphertext that does not authenticate, HMAC and its check, wrap and unwrap, the key's use
// rule (an encryption executed from its approval request, a decryption carried out by posting
// the request), role refusals, and a decryption's answer never kept for an Idempotency-Key.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-assignment -- every answer is checked against the OpenAPI document before a test reads its fields as plain JSON */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiStores, startApiFixture, type ApiFixture } from '../../helpers/api.js';
import { decideAs, officerWithKey, type Approver } from '../../helpers/governance.js';
import { auditEntries, OFFICER } from '../../helpers/hsm.js';

const KEYS = '/v1/partitions/default/keys';
const b64 = (s: string | Uint8Array): string => Buffer.from(s).toString('base64');
const PLAINTEXT = 'account 4711: the balance, sealed by the HSM';

describe('secret keys through the API', () => {
  for (const { store, skip } of apiStores()) {
    describe.skipIf(skip)(`on the ${store} store`, () => {
      let f: ApiFixture;
      let officer: string;
      let user: string;
      let auditor: string;

      beforeAll(async () => {
        f = await startApiFixture({ store });
        officer = await f.token('app-officer', ['crypto-officer'], ['default']);
        user = await f.token('app-user', ['crypto-user'], ['default']);
        auditor = await f.token('app-auditor', ['auditor'], ['default']);
        await f.hsm.setPartitionPolicy(
          'default',
          { exportAllowed: true, importAllowed: true },
          OFFICER,
        );
      }, 120_000);

      afterAll(async () => {
        await f.close();
      });

      it('generates a secret key: no public key, its key check value instead', async () => {
        const r = await f.request('POST', KEYS, {
          token: officer,
          json: { label: 'dek', algorithm: 'aes-256' },
        });
        expect(r.status, r.text).toBe(201);
        expect(r.json.publicKey).toBeNull();
        expect(r.json.keyCheckValue).toMatch(/^[0-9a-f]{32}$/);
        expect(r.json.attributes.purposes).toEqual(['encrypt', 'decrypt']);
        const shown = await f.request('GET', `${KEYS}/dek`, { token: auditor });
        expect(shown.json.keyCheckValue).toBe(r.json.keyCheckValue);
      });

      it('encrypts under a nonce it draws, refuses a nonce given, and decrypts', async () => {
        const enc = await f.request('POST', `${KEYS}/dek/encrypt`, {
          token: user,
          json: { plaintext: b64(PLAINTEXT), aad: b64('row 1') },
        });
        expect(enc.status, enc.text).toBe(200);
        expect(Buffer.from(enc.json.nonce, 'base64')).toHaveLength(12);
        expect(enc.json).toMatchObject({ algorithm: 'aes-256', encryptions: 1, limit: 2 ** 32 });
        const chosen = await f.request('POST', `${KEYS}/dek/encrypt`, {
          token: user,
          json: { plaintext: b64(PLAINTEXT), nonce: b64(new Uint8Array(12)) },
        });
        expect(chosen.status).toBe(400);
        expect(chosen.json.code).toBe('api-invalid-request');
        expect(JSON.stringify(chosen.json.details)).toContain('nonce');

        const dec = await f.request('POST', `${KEYS}/dek/decrypt`, {
          token: user,
          json: { nonce: enc.json.nonce, ciphertext: enc.json.ciphertext, aad: b64('row 1') },
        });
        expect(dec.status, dec.text).toBe(200);
        expect(Buffer.from(dec.json.plaintext, 'base64').toString()).toBe(PLAINTEXT);
        const bad = await f.request('POST', `${KEYS}/dek/decrypt`, {
          token: user,
          json: { nonce: enc.json.nonce, ciphertext: enc.json.ciphertext, aad: b64('row 2') },
        });
        expect([bad.status, bad.json.code]).toEqual([422, 'decrypt-failed']);
        const half = await f.request('POST', `${KEYS}/dek/decrypt`, {
          token: user,
          json: { nonce: enc.json.nonce },
        });
        expect([half.status, half.json.details.field]).toEqual([400, '/ciphertext']);
        const refused = await f.request('POST', `${KEYS}/dek/encrypt`, {
          token: auditor,
          json: { plaintext: b64(PLAINTEXT) },
        });
        expect([refused.status, refused.json.code]).toEqual([403, 'role-required']);
      });

      it('keeps no decryption answer for an Idempotency-Key: the same call decrypts again', async () => {
        const enc = await f.request('POST', `${KEYS}/dek/encrypt`, {
          token: user,
          json: { plaintext: b64(PLAINTEXT) },
        });
        const before = (await auditEntries(f.hsm)).filter(
          (e) => e.action === 'key.decrypt' && e.outcome === 'success',
        ).length;
        for (let i = 0; i < 2; i++) {
          const r = await f.request('POST', `${KEYS}/dek/decrypt`, {
            token: user,
            headers: { 'idempotency-key': 'dec-1' },
            json: { nonce: enc.json.nonce, ciphertext: enc.json.ciphertext },
          });
          expect(r.status).toBe(200);
        }
        const after = (await auditEntries(f.hsm)).filter(
          (e) => e.action === 'key.decrypt' && e.outcome === 'success',
        ).length;
        expect(after - before).toBe(2);
      });

      it('computes and checks HMACs', async () => {
        await f.request('POST', KEYS, {
          token: officer,
          json: { label: 'mac', algorithm: 'hmac-sha512' },
        });
        const m = await f.request('POST', `${KEYS}/mac/mac`, {
          token: user,
          json: { data: b64(PLAINTEXT) },
        });
        expect(m.status, m.text).toBe(200);
        expect(Buffer.from(m.json.mac, 'base64')).toHaveLength(64);
        const ok = await f.request('POST', `${KEYS}/mac/verify-mac`, {
          token: user,
          json: { data: b64(PLAINTEXT), mac: m.json.mac },
        });
        expect(ok.json.valid).toBe(true);
        const no = await f.request('POST', `${KEYS}/mac/verify-mac`, {
          token: user,
          json: { data: b64(`${PLAINTEXT}.`), mac: m.json.mac },
        });
        expect(no.json.valid).toBe(false);
        const wrongKey = await f.request('POST', `${KEYS}/dek/mac`, {
          token: user,
          json: { data: b64(PLAINTEXT) },
        });
        expect([wrongKey.status, wrongKey.json.code]).toEqual([400, 'invalid-argument']);
      });

      it('wraps an extractable key and unwraps it into a new key (201, Location)', async () => {
        await f.request('POST', KEYS, {
          token: officer,
          json: { label: 'kek', algorithm: 'aes-256', purposes: ['wrap', 'unwrap'] },
        });
        const made = await f.request('POST', KEYS, {
          token: officer,
          json: { label: 'mobile', algorithm: 'hmac-sha256', extractable: true },
        });
        const w = await f.request('POST', `${KEYS}/kek/wrap`, {
          token: officer,
          json: { key: 'mobile', mode: 'kw' },
        });
        expect(w.status, w.text).toBe(200);
        expect(w.json).toMatchObject({ mode: 'kw', wrappedKey: made.json.id });
        const byUser = await f.request('POST', `${KEYS}/kek/wrap`, {
          token: user,
          json: { key: 'mobile' },
        });
        expect([byUser.status, byUser.json.code]).toEqual([403, 'role-required']);
        const u = await f.request('POST', `${KEYS}/kek/unwrap`, {
          token: officer,
          json: {
            wrapped: w.json.wrapped,
            mode: 'kw',
            label: 'mobile-2',
            algorithm: 'hmac-sha256',
          },
        });
        expect(u.status, u.text).toBe(201);
        expect(u.headers.location).toBe(`${KEYS}/mobile-2`);
        expect(u.json.keyCheckValue).toBe(made.json.keyCheckValue);
        expect(u.json.attributes.origin).toBe('unwrapped');
        const fixed = await f.request('POST', `${KEYS}/kek/wrap`, {
          token: officer,
          json: { key: 'dek' },
        });
        expect([fixed.status, fixed.json.code]).toEqual([403, 'key-not-extractable']);
      });

      it('under a use rule: 202, the approved encryption executed, the approved decryption posted back', async () => {
        const people: Record<string, Approver> = {};
        for (const n of ['ann', 'bob']) {
          people[n] = await officerWithKey(
            f.hsm,
            n,
            [{ role: 'crypto-officer', partition: 'default' }],
            OFFICER,
          );
        }
        const rule = {
          timeoutSeconds: 3600,
          alternatives: [{ groups: [{ name: 'two', members: ['ann', 'bob'], threshold: 2 }] }],
        };
        const k = await f.request('POST', KEYS, {
          token: officer,
          json: { label: 'guarded', algorithm: 'chacha20-poly1305', policy: { use: rule } },
        });
        expect(k.status, k.text).toBe(201);
        const pending = await f.request('POST', `${KEYS}/guarded/encrypt`, {
          token: user,
          json: { plaintext: b64(PLAINTEXT) },
        });
        expect(pending.status).toBe(202);
        expect(pending.json.statement.params.plaintextSha256).toMatch(/^[0-9a-f]{64}$/);
        expect(pending.text).not.toContain(b64(PLAINTEXT));
        for (const n of ['ann', 'bob']) await decideAs(f.hsm, pending.json.id, people[n]!);
        const done = await f.request('POST', `/v1/approvals/${pending.json.id}/execute`, {
          token: user,
        });
        expect(done.status, done.text).toBe(200);
        const { nonce, ciphertext } = done.json.result as { nonce: string; ciphertext: string };

        const dec = await f.request('POST', `${KEYS}/guarded/decrypt`, {
          token: user,
          json: {
            nonce: b64(Buffer.from(nonce, 'hex')),
            ciphertext: b64(Buffer.from(ciphertext, 'hex')),
          },
        });
        expect(dec.status).toBe(202);
        for (const n of ['ann', 'bob']) await decideAs(f.hsm, dec.json.id, people[n]!);
        const viaExecute = await f.request('POST', `/v1/approvals/${dec.json.id}/execute`, {
          token: user,
        });
        expect([viaExecute.status, viaExecute.json.code]).toEqual([400, 'invalid-argument']);
        const plain = await f.request('POST', `${KEYS}/guarded/decrypt`, {
          token: user,
          json: { request: dec.json.id },
        });
        expect(plain.status, plain.text).toBe(200);
        expect(Buffer.from(plain.json.plaintext, 'base64').toString()).toBe(PLAINTEXT);
        const closed = await f.request('GET', `/v1/approvals/${dec.json.id}`, { token: user });
        expect(closed.json.state).toBe('executed');
        expect(closed.json.result).toEqual({
          key: k.json.id,
          algorithm: 'chacha20-poly1305',
          bytes: PLAINTEXT.length,
        });
      });
    });
  }
});

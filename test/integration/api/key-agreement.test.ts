// Key agreement and key encapsulation through the REST API over HTTPS on each device store,
// every answer checked against the OpenAPI document: two partitions agree on an AES key with
// ECDH P-256 and with X25519, and with ML-KEM-768 (encapsulate in one, derive from the
// ciphertext in the other), and each decrypts what the other encrypted; refusals (a peer key of
// another curve, a small-order X25519 point, a base key without the derive purpose, an input
// of the wrong kind, a non-KEM key to encapsulate to, a role without the operation) are 400 or
// 403 problems with the HSM's codes, never 5xx; Idempotency-Key on an encapsulation; the base
// key's use rule (202, then the approved request executed).
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-call -- every answer is checked against the OpenAPI document before a test reads its fields as plain JSON */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePem } from '../../../src/pki/index.js';
import { apiStores, startApiFixture, type ApiFixture } from '../../helpers/api.js';
import { decideAs, officerWithKey, type Approver } from '../../helpers/governance.js';
import { auditEntries, OFFICER } from '../../helpers/hsm.js';

const b64 = (s: string | Uint8Array): string => Buffer.from(s).toString('base64');
const keys = (partition: string): string => `/v1/partitions/${partition}/keys`;
const KDF = { hash: 'sha384', salt: b64('salt of the run'), info: b64('attestamp api test') };
const AES = { algorithm: 'aes-256', purposes: ['encrypt', 'decrypt'] };
const PLAINTEXT = 'agreed between alice and bob';

/** An X25519 public key of order 8 (RFC 7748 test vectors, the first point of the list). */
const SMALL_ORDER_X25519 = encodePem(
  'PUBLIC KEY',
  Buffer.concat([
    Buffer.from('302a300506032b656e032100', 'hex'),
    Buffer.from('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', 'hex'),
  ]),
);

describe('key agreement and encapsulation through the API', () => {
  for (const { store, skip } of apiStores()) {
    describe.skipIf(skip)(`on the ${store} store`, () => {
      let f: ApiFixture;
      let officer: string;
      let user: string;
      let auditor: string;

      beforeAll(async () => {
        f = await startApiFixture({ store });
        await f.hsm.createPartition('bob');
        officer = await f.token('app-officer', ['crypto-officer'], ['default', 'bob']);
        user = await f.token('app-user', ['crypto-user'], ['default', 'bob']);
        auditor = await f.token('app-auditor', ['auditor'], ['default', 'bob']);
      }, 120_000);

      afterAll(async () => {
        await f.close();
      });

      const generate = async (partition: string, label: string, algorithm: string, extra = {}) => {
        const r = await f.request('POST', keys(partition), {
          token: officer,
          json: { label, algorithm, ...extra },
        });
        expect(r.status, r.text).toBe(201);
        return r.json;
      };

      /** Encrypts with `a` in the default partition, decrypts with `b` in bob's, and back. */
      const sameKey = async (a: string, b: string): Promise<void> => {
        for (const [from, to] of [
          [`${keys('default')}/${a}`, `${keys('bob')}/${b}`],
          [`${keys('bob')}/${b}`, `${keys('default')}/${a}`],
        ] as const) {
          const enc = await f.request('POST', `${from}/encrypt`, {
            token: user,
            json: { plaintext: b64(PLAINTEXT) },
          });
          expect(enc.status, enc.text).toBe(200);
          const dec = await f.request('POST', `${to}/decrypt`, {
            token: user,
            json: { nonce: enc.json.nonce, ciphertext: enc.json.ciphertext },
          });
          expect(dec.status, dec.text).toBe(200);
          expect(Buffer.from(dec.json.plaintext, 'base64').toString()).toBe(PLAINTEXT);
        }
      };

      it.each(['ecdh-p256', 'x25519'])(
        '%s: both partitions derive one AES key, 201 with its Location',
        async (algorithm) => {
          const a = await generate('default', `${algorithm}-a`, algorithm);
          const b = await generate('bob', `${algorithm}-b`, algorithm);
          const derive = (partition: string, base: string, peer: string) =>
            f.request('POST', `${keys(partition)}/${base}/derive`, {
              token: user,
              json: {
                peerPublicKey: peer,
                kdf: KDF,
                newKey: { ...AES, label: `${algorithm}-shared` },
              },
            });
          const ka = await derive('default', a.label, b.publicKey.pem);
          expect(ka.status, ka.text).toBe(201);
          expect(ka.headers.location).toBe(`${keys('default')}/${algorithm}-shared`);
          expect(ka.json.attributes).toMatchObject({ origin: 'derived', local: false });
          const kb = await derive('bob', b.label, a.publicKey.pem);
          expect(kb.status, kb.text).toBe(201);
          expect(kb.json.keyCheckValue).toBe(ka.json.keyCheckValue);
          await sameKey(ka.json.label, kb.json.label);
          // Another hash: another key.
          const other = await f.request('POST', `${keys('default')}/${a.label}/derive`, {
            token: user,
            json: {
              peerPublicKey: b.publicKey.pem,
              newKey: { ...AES, label: `${algorithm}-sha256` },
            },
          });
          expect(other.status, other.text).toBe(201);
          expect(other.json.keyCheckValue).not.toBe(ka.json.keyCheckValue);
        },
      );

      it('ML-KEM-768: encapsulated in one partition, decapsulated in the other', async () => {
        const bob = await generate('bob', 'kem-b', 'ml-kem-768');
        const sent = await f.request('POST', `${keys('default')}/encapsulate`, {
          token: user,
          json: { peerPublicKey: bob.publicKey.pem, kdf: KDF, newKey: { ...AES, label: 'kem' } },
        });
        expect(sent.status, sent.text).toBe(201);
        expect(sent.headers.location).toBe(`${keys('default')}/kem`);
        expect(sent.json.kem).toBe('ml-kem-768');
        expect(Buffer.from(sent.json.ciphertext, 'base64')).toHaveLength(1088);
        const got = await f.request('POST', `${keys('bob')}/kem-b/derive`, {
          token: user,
          json: { ciphertext: sent.json.ciphertext, kdf: KDF, newKey: { ...AES, label: 'kem' } },
        });
        expect(got.status, got.text).toBe(201);
        expect(got.json.keyCheckValue).toBe(sent.json.key.keyCheckValue);
        await sameKey('kem', 'kem');
        const entry = (await auditEntries(f.hsm)).find(
          (e) => e.action === 'key.derive' && e.keyId === got.json.id,
        );
        expect(entry?.details).toMatchObject({ source: 'decapsulation', fromLabel: 'kem-b' });
      });

      it('refuses bad input with 400 and the code that names it, never 5xx', async () => {
        const x = await generate('default', 'x-base', 'x25519');
        const p256 = await generate('bob', 'p256-peer', 'ecdh-p256');
        const p384 = await generate('bob', 'p384-peer', 'ecdh-p384');
        const pa = await generate('default', 'p256-base', 'ecdh-p256');
        const kem = await generate('bob', 'kem-peer', 'ml-kem-768');
        const signer = await generate('default', 'signer', 'ecdsa-p256');
        const post = (path: string, json: unknown, token = user) =>
          f.request('POST', path, { token, json });
        const newKey = { ...AES, label: 'never' };
        const problems: [string, unknown, number, string][] = [
          // A peer key of another curve, or of another algorithm altogether.
          [
            `${keys('default')}/x-base/derive`,
            { peerPublicKey: p256.publicKey.pem, newKey },
            400,
            'invalid-argument',
          ],
          [
            `${keys('default')}/p256-base/derive`,
            { peerPublicKey: p384.publicKey.pem, newKey },
            400,
            'invalid-argument',
          ],
          [
            `${keys('default')}/p256-base/derive`,
            { peerPublicKey: kem.publicKey.pem, newKey },
            400,
            'invalid-argument',
          ],
          // RFC 7748 6.1: a small-order point gives the all-zero secret.
          [
            `${keys('default')}/x-base/derive`,
            { peerPublicKey: SMALL_ORDER_X25519, newKey },
            400,
            'invalid-argument',
          ],
          // Not a PEM public key; both sources, or none.
          [
            `${keys('default')}/x-base/derive`,
            {
              peerPublicKey: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n',
              newKey,
            },
            400,
            'invalid-argument',
          ],
          [
            `${keys('default')}/x-base/derive`,
            { peerPublicKey: 'not pem', newKey },
            400,
            'api-invalid-request',
          ],
          [
            `${keys('default')}/x-base/derive`,
            { peerPublicKey: p256.publicKey.pem, ciphertext: b64('x'), newKey },
            400,
            'api-invalid-request',
          ],
          [`${keys('default')}/x-base/derive`, { newKey }, 400, 'api-invalid-request'],
          // A ciphertext to an agreement key; a salt that is not base64; a key pair as the target.
          [
            `${keys('default')}/x-base/derive`,
            { ciphertext: b64(new Uint8Array(1088)), newKey },
            400,
            'invalid-argument',
          ],
          [
            `${keys('default')}/x-base/derive`,
            { peerPublicKey: pa.publicKey.pem, kdf: { salt: 'zz!' }, newKey },
            400,
            'api-invalid-request',
          ],
          [
            `${keys('default')}/x-base/derive`,
            { peerPublicKey: x.publicKey.pem, newKey: { label: 'never', algorithm: 'ecdsa-p256' } },
            400,
            'invalid-argument',
          ],
          // A key without the derive purpose.
          [
            `${keys('default')}/signer/derive`,
            { peerPublicKey: p256.publicKey.pem, newKey },
            403,
            'key-purpose-denied',
          ],
          // Encapsulation to a key that is no ML-KEM key, or to garbage.
          [
            `${keys('default')}/encapsulate`,
            { peerPublicKey: x.publicKey.pem, newKey },
            400,
            'invalid-argument',
          ],
          [
            `${keys('default')}/encapsulate`,
            { peerPublicKey: signer.publicKey.pem, newKey },
            400,
            'invalid-argument',
          ],
          // A label taken.
          [
            `${keys('default')}/encapsulate`,
            { peerPublicKey: kem.publicKey.pem, newKey: { ...AES, label: 'signer' } },
            409,
            'key-exists',
          ],
        ];
        for (const [path, json, status, code] of problems) {
          const r = await post(path, json);
          expect([r.status, r.json.code], `${path} ${JSON.stringify(json).slice(0, 120)}`).toEqual([
            status,
            code,
          ]);
          expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
        }
        const byAuditor = await post(
          `${keys('default')}/x-base/derive`,
          { peerPublicKey: p256.publicKey.pem, newKey },
          auditor,
        );
        expect([byAuditor.status, byAuditor.json.code]).toEqual([403, 'role-required']);
        const encByAuditor = await post(
          `${keys('default')}/encapsulate`,
          { peerPublicKey: kem.publicKey.pem, newKey },
          auditor,
        );
        expect([encByAuditor.status, encByAuditor.json.code]).toEqual([403, 'role-required']);
        const listed = await f.request('GET', keys('default'), { token: auditor });
        expect(listed.json.keys.map((k: { label: string }) => k.label)).not.toContain('never');
      });

      it('answers a repeated encapsulation with its first answer for an Idempotency-Key', async () => {
        const kem = await generate('bob', 'kem-idem', 'ml-kem-768');
        const json = { peerPublicKey: kem.publicKey.pem, newKey: { ...AES, label: 'idem' } };
        const first = await f.request('POST', `${keys('default')}/encapsulate`, {
          token: user,
          headers: { 'idempotency-key': 'encap-1' },
          json,
        });
        expect(first.status, first.text).toBe(201);
        const again = await f.request('POST', `${keys('default')}/encapsulate`, {
          token: user,
          headers: { 'idempotency-key': 'encap-1' },
          json,
        });
        expect(again.status).toBe(201);
        expect(again.json.ciphertext).toBe(first.json.ciphertext);
        const other = await f.request('POST', `${keys('default')}/encapsulate`, {
          token: user,
          headers: { 'idempotency-key': 'encap-1' },
          json: { ...json, newKey: { ...AES, label: 'idem-2' } },
        });
        expect([other.status, other.json.code]).toEqual([422, 'api-idempotency-mismatch']);
        const made = (await auditEntries(f.hsm)).filter(
          (e) => e.action === 'key.encapsulate' && e.details['label'] === 'idem',
        );
        expect(made).toHaveLength(1);
      });

      it("under the base key's use rule: 202, and the approved request derives the key", async () => {
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
        const guarded = await generate('default', 'guarded-ecdh', 'ecdh-p256', {
          policy: { use: rule },
        });
        const peer = await generate('bob', 'guarded-peer', 'ecdh-p256');
        const json = {
          peerPublicKey: peer.publicKey.pem,
          kdf: KDF,
          newKey: { ...AES, label: 'g' },
        };
        const pending = await f.request('POST', `${keys('default')}/guarded-ecdh/derive`, {
          token: user,
          json,
        });
        expect(pending.status, pending.text).toBe(202);
        expect(pending.headers.location).toBe(`/v1/approvals/${pending.json.id}`);
        expect(pending.json.statement.params).toMatchObject({
          label: 'guarded-ecdh',
          hash: 'sha384',
          derived: { label: 'g', algorithm: 'aes-256' },
        });
        const none = await f.request('GET', `${keys('default')}/g`, { token: user });
        expect(none.status).toBe(404);
        for (const n of ['ann', 'bob']) await decideAs(f.hsm, pending.json.id, people[n]!);
        const done = await f.request('POST', `/v1/approvals/${pending.json.id}/execute`, {
          token: user,
        });
        expect(done.status, done.text).toBe(200);
        expect(done.json.result).toMatchObject({ label: 'g' });
        const mine = await f.request('GET', `${keys('default')}/g`, { token: user });
        const theirs = await f.request('POST', `${keys('bob')}/guarded-peer/derive`, {
          token: user,
          json: { ...json, peerPublicKey: guarded.publicKey.pem },
        });
        expect(theirs.status, theirs.text).toBe(201);
        expect(mine.json.keyCheckValue).toBe(theirs.json.keyCheckValue);
        await sameKey('g', 'g');
      });
    });
  }
});

// Derivable keys imported through the REST API on each device store, every answer checked
// against the OpenAPI document: BIP 32 test vector 1's seed imported (POST .../keys/import with
// seed and algorithm), its child at m/0'/1/2'/2/1000000000 derived and its xpub the vector's; an
// xprv imported as the node it names; an Idempotency-Key replayed; the body's refusals as 400
// problems naming the field; and neither the seed nor the xprv in the audit log.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument -- every answer is checked against the OpenAPI document before a test reads its fields as plain JSON */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiStores, startApiFixture, type ApiFixture } from '../../helpers/api.js';
import { BIP32_VECTORS } from '../../helpers/hd-vectors.js';
import { OFFICER } from '../../helpers/hsm.js';

const KEYS = '/v1/partitions/default/keys';
const VECTOR = BIP32_VECTORS[0]!;
const chain = (path: string): { xpub: string; xprv: string } =>
  VECTOR.chains.find((c) => c.path === path)!;
const SEED_B64 = Buffer.from(VECTOR.seed, 'hex').toString('base64');
/** An xprv of vector 1 whose last character is changed: its checksum fails. */
const badChecksum = (xprv: string): string => xprv.slice(0, -1) + (xprv.endsWith('i') ? 'j' : 'i');

describe('derivable keys imported through the API', () => {
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
        auditor = await f.token('app-auditor', ['auditor'], ['*']);
      }, 120_000);

      afterAll(async () => {
        await f.close();
      });

      it('refuses an import while the partition policy forbids it', async () => {
        const r = await f.request('POST', `${KEYS}/import`, {
          token: officer,
          json: { label: 'early', seed: SEED_B64, algorithm: 'bip32-secp256k1' },
        });
        expect(r.status).toBe(403);
        expect(r.text).not.toContain(SEED_B64);
        await f.hsm.setPartitionPolicy('default', { importAllowed: true }, OFFICER);
      });

      it("imports vector 1's seed, and its child at m/0'/1/2'/2/1000000000 has the vector's xpub", async () => {
        const r = await f.request('POST', `${KEYS}/import`, {
          token: officer,
          headers: { 'Idempotency-Key': `seed-${store}` },
          json: { label: 'v1', seed: SEED_B64, algorithm: 'bip32-secp256k1' },
        });
        expect(r.status, r.text).toBe(201);
        expect(r.json.algorithm).toBe('bip32-secp256k1');
        expect(r.json.attributes.origin).toBe('imported');
        const again = await f.request('POST', `${KEYS}/import`, {
          token: officer,
          headers: { 'Idempotency-Key': `seed-${store}` },
          json: { label: 'v1', seed: SEED_B64, algorithm: 'bip32-secp256k1' },
        });
        expect([again.status, again.json.id]).toEqual([201, r.json.id]);
        const master = await f.request('GET', `${KEYS}/v1/xpub`, { token: auditor });
        expect(master.json.xpub).toBe(chain('m').xpub);
        const child = await f.request('POST', `${KEYS}/v1/children`, {
          token: user,
          json: { path: "m/0'/1/2'/2/1000000000", label: 'v1-leaf', persistent: true },
        });
        expect(child.status, child.text).toBe(201);
        const x = await f.request('GET', `${KEYS}/v1-leaf/xpub`, { token: auditor });
        expect(x.status, x.text).toBe(200);
        expect(x.json.xpub).toBe(chain('m/0h/1/2h/2/1000000000').xpub);
      });

      it('imports an xprv as the node it names', async () => {
        const node = chain('m/0h/1/2h');
        const r = await f.request('POST', `${KEYS}/import`, {
          token: officer,
          json: { label: 'v1-acct', xprv: node.xprv, purposes: ['derive', 'sign', 'verify'] },
        });
        expect(r.status, r.text).toBe(201);
        expect(r.json.algorithm).toBe('bip32-secp256k1');
        const x = await f.request('GET', `${KEYS}/v1-acct/xpub`, { token: auditor });
        expect(x.json.xpub).toBe(node.xpub);
      });

      it('refuses a bad body with a 400 naming the field, never echoing the key', async () => {
        const pkcs8 = Buffer.from('not a key').toString('base64');
        const xprv = chain('m').xprv;
        const cases: [Record<string, unknown>, string][] = [
          [{ seed: SEED_B64, algorithm: 'bip32-secp256k1', pkcs8 }, 'seed'],
          [{ seed: SEED_B64, xprv }, 'xprv'],
          [{}, 'pkcs8'],
          [{ seed: Buffer.alloc(15, 1).toString('base64'), algorithm: 'slip10-ed25519' }, 'seed'],
          [{ seed: Buffer.alloc(65, 1).toString('base64'), algorithm: 'slip10-p256' }, 'seed'],
          [{ seed: SEED_B64 }, 'algorithm'],
          [{ seed: SEED_B64, algorithm: 'ecdsa-secp256k1' }, 'algorithm'],
          [{ xprv, algorithm: 'bip32-secp256k1' }, 'algorithm'],
          [{ xprv: badChecksum(xprv) }, 'xprv'],
          [{ xprv: chain('m').xpub }, 'xprv'],
          [{ xprv: 'not base58 0OIl' }, 'xprv'],
        ];
        for (const [body, field] of cases) {
          const r = await f.request('POST', `${KEYS}/import`, {
            token: officer,
            json: { label: 'bad', ...body },
          });
          const what = `${JSON.stringify(Object.keys(body))}: ${r.text}`;
          expect([r.status, r.json.code], what).toEqual([400, 'api-invalid-request']);
          expect(r.json.field ?? r.json.details?.field, what).toBe(field);
          expect(r.text).not.toContain(SEED_B64);
          expect(r.text).not.toContain(xprv.slice(4, 40));
        }
        const gone = await f.request('GET', `${KEYS}/bad`, { token: auditor });
        expect(gone.status).toBe(404);
      });

      it('keeps the seed and the xprv out of the audit log', async () => {
        const entries: unknown[] = [];
        let after: number | undefined;
        for (;;) {
          const page = await f.request(
            'GET',
            `/v1/audit?limit=100${after === undefined ? '' : `&after=${after}`}`,
            { token: auditor },
          );
          expect(page.status, page.text).toBe(200);
          entries.push(...page.json.entries);
          if (page.json.next === null || page.json.next === undefined) break;
          after = page.json.next;
        }
        const log = JSON.stringify(entries);
        expect(log).toContain('key.import');
        for (const secret of [SEED_B64, VECTOR.seed, chain('m').xprv, chain('m/0h/1/2h').xprv]) {
          expect(log).not.toContain(secret);
        }
      });
    });
  }
});

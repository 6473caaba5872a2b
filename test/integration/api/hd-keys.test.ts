// Blockchain keys through the REST API over HTTPS on each device store, every answer checked
// against the OpenAPI document: an ecdsa-secp256k1 key generated and signing low-S, a derivable
// key's child derived at a BIP 84 path (POST .../children) as a temporary key, its address and
// its parent's xpub (GET .../address, GET .../xpub), the parent's use rule answering 202, role
// and argument refusals, and an expired child refused with 403 key-expired.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument -- every answer is checked against the OpenAPI document before a test reads its fields as plain JSON */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLowS } from '../../../src/pki/index.js';
import { apiStores, startApiFixture, type ApiFixture } from '../../helpers/api.js';
import { officerWithKey } from '../../helpers/governance.js';
import { OFFICER } from '../../helpers/hsm.js';

const KEYS = '/v1/partitions/default/keys';
const b64 = (s: string | Uint8Array): string => Buffer.from(s).toString('base64');
/** The BIP 39 seed of "abandon abandon ... about" (BIP 84 test vectors). */
const ABANDON_SEED =
  '5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc19a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4';

describe('blockchain keys through the API', () => {
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
        await f.hsm.setPartitionPolicy('default', { importAllowed: true }, OFFICER);
        await f.hsm.importHdKey(
          'default',
          { seed: new Uint8Array(Buffer.from(ABANDON_SEED, 'hex')), algorithm: 'bip32-secp256k1' },
          { label: 'wallet' },
        );
      }, 120_000);

      afterAll(async () => {
        await f.close();
      });

      it('generates an ecdsa-secp256k1 key whose signatures are low-S', async () => {
        const r = await f.request('POST', KEYS, {
          token: officer,
          json: { label: 'k1', algorithm: 'ecdsa-secp256k1' },
        });
        expect(r.status, r.text).toBe(201);
        expect(r.json.publicKey.jwk).toMatchObject({ kty: 'EC', crv: 'secp256k1' });
        for (let i = 0; i < 4; i++) {
          const s = await f.request('POST', `${KEYS}/k1/sign`, {
            token: user,
            json: { data: b64(`payment ${i}`) },
          });
          expect(s.status, s.text).toBe(200);
          expect(isLowS('secp256k1', Buffer.from(s.json.signature, 'base64'))).toBe(true);
        }
        const eth = await f.request('GET', `${KEYS}/k1/address?type=ethereum`, { token: auditor });
        expect(eth.status, eth.text).toBe(200);
        expect(eth.json.address).toMatch(/^0x[0-9a-fA-F]{40}$/);
      });

      it('derives a temporary child at a BIP 84 path, with its address and the xpub', async () => {
        const r = await f.request('POST', `${KEYS}/wallet/children`, {
          token: user,
          json: { path: "m/84'/0'/0'/0/0", label: 'recv0', expiresInSeconds: 600 },
        });
        expect(r.status, r.text).toBe(201);
        expect(r.json.algorithm).toBe('bip32-secp256k1');
        expect(r.json.attributes.origin).toBe('derived');
        expect(r.json.attributes.derivation).toMatchObject({ path: "m/84'/0'/0'/0/0", depth: 5 });
        expect(Date.parse(r.json.attributes.expiresAt) - Date.now()).toBeGreaterThan(500_000);
        const a = await f.request('GET', `${KEYS}/recv0/address?type=p2wpkh`, { token: auditor });
        expect(a.status, a.text).toBe(200);
        expect(a.json).toMatchObject({
          type: 'p2wpkh',
          network: 'mainnet',
          address: 'bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu',
        });
        const acct = await f.request('POST', `${KEYS}/wallet/children`, {
          token: user,
          json: { path: "m/84'/0'/0'", label: 'acct', persistent: true },
        });
        expect(acct.status, acct.text).toBe(201);
        expect(acct.json.attributes).not.toHaveProperty('expiresAt');
        const x = await f.request('GET', `${KEYS}/acct/xpub?prefix=zpub`, { token: auditor });
        expect(x.status, x.text).toBe(200);
        expect(x.json.xpub).toBe(
          'zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs',
        );
        const s = await f.request('POST', `${KEYS}/recv0/sign`, {
          token: user,
          json: { data: b64('spend') },
        });
        expect(s.status, s.text).toBe(200);
        expect(isLowS('secp256k1', Buffer.from(s.json.signature, 'base64'))).toBe(true);
      });

      it('refuses an expired child with 403 key-expired, and the sweep destroys it', async () => {
        const r = await f.request('POST', `${KEYS}/wallet/children`, {
          token: user,
          json: { path: "m/84'/0'/0'/0/7", label: 'brief', expiresInSeconds: 1 },
        });
        expect(r.status, r.text).toBe(201);
        await new Promise((done) => setTimeout(done, 1100));
        const s = await f.request('POST', `${KEYS}/brief/sign`, {
          token: user,
          json: { data: b64('too late') },
        });
        expect([s.status, s.json.code]).toEqual([403, 'key-expired']);
        const gone = await f.request('GET', `${KEYS}/brief`, { token: auditor });
        expect([gone.status, gone.json.code]).toEqual([404, 'key-not-found']);
      });

      it('refuses an auditor, a bad path, an unknown address type and a SLIP-10 xpub', async () => {
        const denied = await f.request('POST', `${KEYS}/wallet/children`, {
          token: auditor,
          json: { path: "m/0'", label: 'nope' },
        });
        expect([denied.status, denied.json.code]).toEqual([403, 'role-required']);
        const bad = await f.request('POST', `${KEYS}/wallet/children`, {
          token: user,
          json: { path: "m/0'/x", label: 'nope' },
        });
        expect([bad.status, bad.json.code]).toEqual([400, 'invalid-argument']);
        const type = await f.request('GET', `${KEYS}/wallet/address?type=p2pkh`, {
          token: auditor,
        });
        expect(type.status).toBe(400);
        await f.hsm.generateKey('default', { label: 'ed', algorithm: 'slip10-ed25519' });
        const xpub = await f.request('GET', `${KEYS}/ed/xpub`, { token: auditor });
        expect([xpub.status, xpub.json.code]).toEqual([400, 'invalid-argument']);
      });

      it("answers 202 under the parent's use rule", async () => {
        await officerWithKey(
          f.hsm,
          'ann',
          [{ role: 'crypto-officer', partition: 'default' }],
          OFFICER,
        );
        const m = await f.request('POST', KEYS, {
          token: officer,
          json: {
            label: 'guarded',
            algorithm: 'bip32-secp256k1',
            policy: {
              use: {
                timeoutSeconds: 3600,
                alternatives: [{ groups: [{ name: 'g', members: ['ann'], threshold: 1 }] }],
              },
            },
          },
        });
        expect(m.status, m.text).toBe(201);
        const r = await f.request('POST', `${KEYS}/guarded/children`, {
          token: user,
          json: { path: "m/44'/0'/0'", label: 'g0' },
        });
        expect(r.status, r.text).toBe(202);
        expect(r.json.operation).toBe('key.derive-child');
      });
    });
  }
});

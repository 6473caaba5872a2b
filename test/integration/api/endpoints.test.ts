// Every endpoint of the REST API over HTTPS against a real HSM on each device store (a SQLite
// file, a PostgreSQL database), success and refusal, each answer checked against the OpenAPI
// document by the test client; and one audit entry per request naming the principal, never the
// token. One device per store for the whole file: the cases build on each other in order.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/restrict-plus-operands -- every answer is checked against the OpenAPI document by the client before a test reads its fields as plain JSON */
import {
  createPublicKey,
  createVerify,
  generateKeyPairSync,
  sign,
  X509Certificate,
} from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { auditEntries } from '../../helpers/hsm.js';
import { apiStores, startApiFixture, type ApiFixture } from '../../helpers/api.js';

for (const { store, skip } of apiStores()) {
  describe.skipIf(skip)(`the REST API on the ${store} store`, () => {
    let f: ApiFixture;
    let so: string;
    let officer: string;
    let user: string;
    let auditor: string;
    let other: string;

    beforeAll(async () => {
      f = await startApiFixture({ store });
      so = await f.token('api-so', ['device-so'], []);
      officer = await f.token('app-officer', ['crypto-officer', 'pso'], ['default']);
      user = await f.token('app-user', ['crypto-user'], ['default']);
      auditor = await f.token('app-auditor', ['auditor'], ['*']);
      other = await f.token('app-other', ['crypto-officer', 'pso'], ['elsewhere']);
    }, 120_000);

    afterAll(async () => {
      await f.close();
    });

    describe('meta and device', () => {
      it('serves the OpenAPI document without credentials', async () => {
        expect(f.hsm.storeInfo().dialect).toBe(store);
        const r = await f.request('GET', '/v1/openapi.json');
        expect(r.status).toBe(200);
        expect(r.json.openapi).toMatch(/^3\.1/);
        expect(Object.keys(r.json.paths)).toContain('/v1/partitions/{partition}/keys');
      });

      it('shows the device and its chain', async () => {
        const r = await f.request('GET', '/v1/device', { token: user });
        expect(r.status).toBe(200);
        expect(r.json.id).toBe((await f.hsm.device()).id);
        const chain = await f.request('GET', '/v1/device/chain', { token: user });
        expect(chain.json.certificates).toHaveLength(2);
        const [device, root] = chain.json.certificates.map((p: string) => new X509Certificate(p));
        expect(device.verify(root.publicKey)).toBe(true);
      });

      it('answers 401 without credentials, 404 and 405 as problems', async () => {
        const r = await f.request('GET', '/v1/device');
        expect(r.status).toBe(401);
        expect(r.json.code).toBe('api-unauthenticated');
        expect(r.headers['www-authenticate']).toContain('Bearer');
        const nf = await f.request('GET', '/v1/nothing', { token: user });
        expect([nf.status, nf.json.code]).toEqual([404, 'api-not-found']);
        const na = await f.request('PUT', '/v1/device', { token: user });
        expect([na.status, na.json.code]).toEqual([405, 'api-method-not-allowed']);
        expect(na.headers.allow).toBe('GET');
      });
    });

    describe('partitions', () => {
      it('lists only the partitions of the credential', async () => {
        const mine = await f.request('GET', '/v1/partitions', { token: user });
        expect(mine.json.partitions.map((p: { name: string }) => p.name)).toEqual(['default']);
        const none = await f.request('GET', '/v1/partitions', { token: other });
        expect(none.json.partitions).toEqual([]);
      });

      it('creates a partition as device-so, refuses it to others', async () => {
        const refused = await f.request('POST', '/v1/partitions', {
          token: officer,
          json: { name: 'p2' },
        });
        expect([refused.status, refused.json.code]).toEqual([403, 'role-required']);
        expect(refused.json.details).toMatchObject({
          operation: 'partition.create',
          principal: 'jwt:app-officer',
        });
        const r = await f.request('POST', '/v1/partitions', {
          token: so,
          json: { name: 'p2', policy: { exportAllowed: true } },
        });
        expect(r.status).toBe(201);
        expect(r.headers.location).toBe('/v1/partitions/p2');
        expect(r.json.policy.exportAllowed).toBe(true);
        const again = await f.request('POST', '/v1/partitions', {
          token: so,
          json: { name: 'p2' },
        });
        expect([again.status, again.json.code]).toEqual([409, 'partition-exists']);
      });

      it('shows a partition, its policy and chain; 404 for an unknown one; 403 outside the scope', async () => {
        const p = await f.request('GET', '/v1/partitions/default', { token: user });
        expect(p.json.name).toBe('default');
        const policy = await f.request('GET', '/v1/partitions/default/policy', { token: user });
        expect(policy.json).toEqual((await f.hsm.partition('default')).policy);
        const chain = await f.request('GET', '/v1/partitions/default/chain', { token: user });
        const att = new X509Certificate(chain.json.partitionAttestation);
        expect(att.verify(new X509Certificate(chain.json.device).publicKey)).toBe(true);
        const unknown = await f.request('GET', '/v1/partitions/nope', { token: so });
        expect([unknown.status, unknown.json.code]).toEqual([404, 'partition-not-found']);
        const outside = await f.request('GET', '/v1/partitions/default', { token: other });
        expect([outside.status, outside.json.code]).toEqual([403, 'role-required']);
      });

      it('changes the policy as pso, refuses a crypto-user', async () => {
        const refused = await f.request('PATCH', '/v1/partitions/default/policy', {
          token: user,
          json: { exportAllowed: true },
        });
        expect([refused.status, refused.json.code]).toEqual([403, 'role-required']);
        const r = await f.request('PATCH', '/v1/partitions/default/policy', {
          token: officer,
          json: { exportAllowed: true, importAllowed: true },
        });
        expect(r.status).toBe(200);
        expect(r.json).toMatchObject({ exportAllowed: true, importAllowed: true });
      });
    });

    describe('keys', () => {
      it('generates a key as crypto-officer and shows its public key as PEM and JWK', async () => {
        const refused = await f.request('POST', '/v1/partitions/default/keys', {
          token: user,
          json: { label: 'k1', algorithm: 'ecdsa-p256' },
        });
        expect([refused.status, refused.json.code]).toEqual([403, 'role-required']);
        const r = await f.request('POST', '/v1/partitions/default/keys', {
          token: officer,
          json: {
            label: 'k1',
            algorithm: 'ecdsa-p256',
            extractable: true,
            purposes: ['sign', 'verify'],
          },
        });
        expect(r.status).toBe(201);
        expect(r.headers.location).toBe('/v1/partitions/default/keys/k1');
        const shown = await f.request('GET', '/v1/partitions/default/keys/k1', { token: user });
        expect(shown.json.publicKey.jwk).toMatchObject({ kty: 'EC', crv: 'P-256' });
        // The PEM and the JWK are the same key, the key the HSM signs with.
        const fromPem = createPublicKey(shown.json.publicKey.pem);
        const fromJwk = createPublicKey({ key: shown.json.publicKey.jwk, format: 'jwk' });
        expect(fromPem.export({ format: 'der', type: 'spki' })).toEqual(
          fromJwk.export({ format: 'der', type: 'spki' }),
        );
        const signer = await f.hsm.signer('default', 'k1');
        const sig = await signer.sign(Buffer.from('hello'));
        const v = createVerify('sha256');
        v.update('hello');
        expect(v.verify(fromPem, Buffer.from(sig))).toBe(true);
        const dup = await f.request('POST', '/v1/partitions/default/keys', {
          token: officer,
          json: { label: 'k1', algorithm: 'ed25519' },
        });
        expect([dup.status, dup.json.code]).toEqual([409, 'key-exists']);
      });

      it('lists keys, filters by state, and 404s an unknown key', async () => {
        const r = await f.request('GET', '/v1/partitions/default/keys', { token: user });
        expect(r.json.keys.map((k: { label: string }) => k.label)).toContain('k1');
        const trash = await f.request('GET', '/v1/partitions/default/keys?state=invalidated', {
          token: user,
        });
        expect(trash.json.keys).toEqual([]);
        const bad = await f.request('GET', '/v1/partitions/default/keys?state=gone', {
          token: user,
        });
        expect([bad.status, bad.json.code]).toEqual([400, 'api-invalid-request']);
        const nf = await f.request('GET', '/v1/partitions/default/keys/none', { token: user });
        expect([nf.status, nf.json.code]).toEqual([404, 'key-not-found']);
      });

      it('imports a PKCS#8 key when the policy allows it', async () => {
        const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
        const r = await f.request('POST', '/v1/partitions/default/keys/import', {
          token: officer,
          json: { label: 'imp', pkcs8 },
        });
        expect(r.status).toBe(201);
        expect(r.json.attributes.origin).toBe('imported');
        const refused = await f.request('POST', '/v1/partitions/p2/keys/import', {
          token: so,
          json: { label: 'imp', pkcs8 },
        });
        expect([refused.status, refused.json.code]).toEqual([403, 'policy-import-denied']);
      });

      it('deletes to the trash, restores and purges (pso), refusing a crypto-user', async () => {
        await f.request('POST', '/v1/partitions/default/keys', {
          token: officer,
          json: { label: 'tmp', algorithm: 'ed25519' },
        });
        const userDelete = await f.request('DELETE', '/v1/partitions/default/keys/tmp', {
          token: user,
        });
        expect([userDelete.status, userDelete.json.code]).toEqual([403, 'role-required']);
        const del = await f.request('DELETE', '/v1/partitions/default/keys/tmp', {
          token: officer,
        });
        expect(del.json).toMatchObject({ destroyed: false, key: { state: 'invalidated' } });
        const restoreRefused = await f.request('POST', '/v1/partitions/default/keys/tmp/restore', {
          token: user,
        });
        expect([restoreRefused.status, restoreRefused.json.code]).toEqual([403, 'role-required']);
        const restored = await f.request('POST', '/v1/partitions/default/keys/tmp/restore', {
          token: officer,
        });
        expect(restored.json.state).toBe('active');
        const notInTrash = await f.request('POST', '/v1/partitions/default/keys/tmp/purge', {
          token: officer,
        });
        expect([notInTrash.status, notInTrash.json.code]).toEqual([409, 'key-not-invalidated']);
        await f.request('DELETE', '/v1/partitions/default/keys/tmp', { token: officer });
        const purged = await f.request('POST', '/v1/partitions/default/keys/tmp/purge', {
          token: officer,
        });
        expect(purged.json.purged).toBe(true);
        const gone = await f.request('GET', '/v1/partitions/default/keys/tmp', { token: user });
        expect(gone.status).toBe(404);
      });

      it('exports a key wrapped under an RSA key; refuses a non-extractable key and a bad PEM', async () => {
        const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 3072 });
        const wrappingKey = publicKey.export({ format: 'pem', type: 'spki' }).toString();
        const r = await f.request('POST', '/v1/partitions/default/keys/k1/export', {
          token: officer,
          json: { wrappingKey },
        });
        expect(r.status).toBe(200);
        expect(Buffer.from(r.json.wrapped, 'base64').length).toBeGreaterThan(384);
        expect(privateKey.asymmetricKeyType).toBe('rsa');
        await f.request('POST', '/v1/partitions/default/keys', {
          token: officer,
          json: { label: 'fixed', algorithm: 'ecdsa-p256' },
        });
        const fixed = await f.request('POST', '/v1/partitions/default/keys/fixed/export', {
          token: officer,
          json: { wrappingKey },
        });
        expect([fixed.status, fixed.json.code]).toEqual([403, 'key-not-extractable']);
        const badPem = await f.request('POST', '/v1/partitions/default/keys/k1/export', {
          token: officer,
          json: { wrappingKey: '-----BEGIN PUBLIC KEY-----\nnot base64 at all' },
        });
        expect([badPem.status, badPem.json.code]).toEqual([400, 'api-invalid-request']);
        const user403 = await f.request('POST', '/v1/partitions/default/keys/k1/export', {
          token: user,
          json: { wrappingKey },
        });
        expect([user403.status, user403.json.code]).toEqual([403, 'role-required']);
      });

      it('gives fresh evidence over a nonce and a key attestation certificate', async () => {
        const nonce = Buffer.from('0123456789abcdef').toString('base64');
        const ev = await f.request('POST', '/v1/partitions/default/keys/k1/evidence', {
          token: user,
          json: { nonce },
        });
        expect(ev.status).toBe(200);
        expect(Buffer.from(ev.json.der, 'base64').includes(Buffer.from('0123456789abcdef'))).toBe(
          true,
        );
        expect(ev.json.chain).toHaveLength(3);
        const tooLong = await f.request('POST', '/v1/partitions/default/keys/k1/evidence', {
          token: user,
          json: { nonce: Buffer.alloc(65).toString('base64') },
        });
        expect([tooLong.status, tooLong.json.code]).toEqual([400, 'api-invalid-request']);
        const c = await f.request('GET', '/v1/partitions/default/keys/k1/certificate', {
          token: user,
        });
        const cert = new X509Certificate(c.json.pem);
        expect(cert.verify(new X509Certificate(c.json.chain[0]).publicKey)).toBe(true);
        expect(
          cert.publicKey
            .export({ format: 'der', type: 'spki' })
            .equals(
              createPublicKey(
                (await f.request('GET', '/v1/partitions/default/keys/k1', { token: user })).json
                  .publicKey.pem,
              ).export({ format: 'der', type: 'spki' }),
            ),
        ).toBe(true);
      });
    });

    describe('governance', () => {
      const approver = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const pem = approver.publicKey.export({ format: 'pem', type: 'spki' }).toString();
      let fingerprint = '';

      beforeAll(async () => {
        await f.hsm.governance.addOfficer(
          { name: 'ann', passphrase: 'passphrase of ann' },
          [{ role: 'device-so' }],
          { name: 'so', passphrase: 'correct horse battery staple' },
        );
      });

      it('enrols an approver key with its proof (device-so), refuses a bad proof', async () => {
        const ch = await f.request('POST', '/v1/approver-keys/challenge', {
          token: user,
          json: { principal: 'ann', publicKey: pem },
        });
        const proof = sign('sha256', Buffer.from(ch.json.bytes, 'base64'), approver.privateKey);
        const refused = await f.request('POST', '/v1/approver-keys', {
          token: user,
          json: { principal: 'ann', publicKey: pem, proof: proof.toString('base64') },
        });
        expect([refused.status, refused.json.code]).toEqual([403, 'role-required']);
        const badProof = await f.request('POST', '/v1/approver-keys', {
          token: so,
          json: { principal: 'ann', publicKey: pem, proof: Buffer.alloc(64).toString('base64') },
        });
        expect([badProof.status, badProof.json.code]).toEqual([403, 'approver-proof-invalid']);
        const r = await f.request('POST', '/v1/approver-keys', {
          token: so,
          json: { principal: 'ann', publicKey: pem, proof: proof.toString('base64') },
        });
        expect(r.status).toBe(201);
        fingerprint = r.json.fingerprint;
        const list = await f.request('GET', '/v1/approver-keys', { token: auditor });
        expect(list.json.keys).toEqual([
          expect.objectContaining({ fingerprint, principal: 'ann', state: 'active' }),
        ]);
        const own = await f.request('GET', '/v1/approver-keys', { token: user });
        expect(own.json.keys).toEqual([]);
      });

      it('shows and sets quorum rules; a rule the approvers could not meet is refused', async () => {
        const none = await f.request('GET', '/v1/quorum-rules/trash.purge?partition=default', {
          token: officer,
        });
        expect(none.json).toMatchObject({ operation: 'trash.purge', rule: null });
        const lockout = await f.request('PUT', '/v1/quorum-rules/trash.purge?partition=default', {
          token: officer,
          json: {
            rule: {
              timeoutSeconds: 600,
              alternatives: [{ groups: [{ members: ['zed'], threshold: 1 }] }],
            },
          },
        });
        expect([lockout.status, lockout.json.code]).toEqual([403, 'quorum-lockout']);
        const malformed = await f.request('PUT', '/v1/quorum-rules/trash.purge?partition=default', {
          token: officer,
          json: { rule: { timeoutSeconds: 'soon' } },
        });
        expect([malformed.status, malformed.json.code]).toEqual([422, 'quorum-rule-invalid']);
        const set = await f.request('PUT', '/v1/quorum-rules/trash.purge?partition=default', {
          token: officer,
          json: {
            rule: {
              timeoutSeconds: 600,
              alternatives: [{ groups: [{ members: ['ann'], threshold: 1 }] }],
            },
          },
        });
        expect(set.status).toBe(200);
        expect(set.json).toMatchObject({ operation: 'trash.purge', version: 1 });
        // An auditor of another partition reads neither this partition's rules nor the device's.
        const elsewhere = await f.token('other-auditor', ['auditor'], ['other']);
        const list = await f.request('GET', '/v1/quorum-rules?partition=default', {
          token: elsewhere,
        });
        expect(list.status).toBe(403);
        const device = await f.request('GET', '/v1/audit?limit=1', { token: elsewhere });
        expect([device.status, device.json.code]).toEqual([403, 'role-required']);
        const listed = await f.request('GET', '/v1/quorum-rules?partition=default', {
          token: officer,
        });
        expect(listed.json.rules).toHaveLength(1);
        const unknownClass = await f.request('GET', '/v1/quorum-rules/nothing', { token: so });
        expect([unknownClass.status, unknownClass.json.code]).toEqual([400, 'api-invalid-request']);
      });

      it('turns a guarded purge into 202 + Location, then approval, then execution', async () => {
        await f.request('DELETE', '/v1/partitions/default/keys/fixed', { token: officer });
        const r = await f.request('POST', '/v1/partitions/default/keys/fixed/purge', {
          token: officer,
        });
        expect(r.status).toBe(202);
        expect(r.headers.location).toBe(`/v1/approvals/${r.json.id}`);
        expect(r.json).toMatchObject({
          state: 'pending',
          requester: 'jwt:app-officer',
          operation: 'key.purge',
        });
        const id = r.json.id as string;
        // Not readable by a principal who is neither requester nor officer of the scope.
        const hidden = await f.request('GET', `/v1/approvals/${id}`, { token: user });
        expect([hidden.status, hidden.json.code]).toEqual([403, 'role-required']);
        const early = await f.request('POST', `/v1/approvals/${id}/execute`, { token: officer });
        expect([early.status, early.json.code]).toEqual([409, 'request-not-approved']);
        const shown = await f.request(
          'GET',
          `/v1/approvals/${id}?decision=approve&approverKey=${fingerprint}`,
          { token: officer },
        );
        expect(shown.json.toSign).toMatchObject({ principal: 'ann', approverKey: fingerprint });
        const sig = sign(
          'sha256',
          Buffer.from(shown.json.toSign.bytes, 'base64'),
          approver.privateKey,
        );
        const wrongSig = await f.request('POST', `/v1/approvals/${id}/decisions`, {
          token: user,
          json: { decision: 'reject', approverKey: fingerprint, signature: sig.toString('base64') },
        });
        expect([wrongSig.status, wrongSig.json.code]).toEqual([403, 'approval-signature-invalid']);
        const decided = await f.request('POST', `/v1/approvals/${id}/decisions`, {
          token: user,
          json: {
            decision: 'approve',
            approverKey: fingerprint,
            signature: sig.toString('base64'),
          },
        });
        expect(decided.json.state).toBe('approved');
        const byOther = await f.request('POST', `/v1/approvals/${id}/execute`, { token: other });
        expect([byOther.status, byOther.json.code]).toEqual([403, 'role-required']);
        const done = await f.request('POST', `/v1/approvals/${id}/execute`, { token: officer });
        expect(done.json.state).toBe('executed');
        const twice = await f.request('POST', `/v1/approvals/${id}/execute`, { token: officer });
        expect([twice.status, twice.json.code]).toEqual([409, 'request-closed']);
        const list = await f.request('GET', '/v1/approvals', { token: officer });
        expect(list.json.approvals.map((a: { id: string }) => a.id)).toContain(id);
        const missing = await f.request(
          'GET',
          '/v1/approvals/00000000-0000-4000-8000-000000000000',
          {
            token: so,
          },
        );
        expect([missing.status, missing.json.code]).toEqual([404, 'request-not-found']);
      });

      it('cancels a request as its requester', async () => {
        await f.request('POST', '/v1/partitions/default/keys', {
          token: officer,
          json: { label: 'c1', algorithm: 'ed25519' },
        });
        await f.request('DELETE', '/v1/partitions/default/keys/c1', { token: officer });
        const r = await f.request('POST', '/v1/partitions/default/keys/c1/purge', {
          token: officer,
        });
        expect(r.status).toBe(202);
        const refused = await f.request('POST', `/v1/approvals/${r.json.id}/cancel`, {
          token: user,
        });
        expect([refused.status, refused.json.code]).toEqual([403, 'role-required']);
        const c = await f.request('POST', `/v1/approvals/${r.json.id}/cancel`, { token: officer });
        expect(c.json.state).toBe('cancelled');
      });

      it('lists the requests with one read of the partitions and of the approvals per call', async () => {
        const partitions = vi.spyOn(f.hsm, 'listPartitions');
        const views = vi.spyOn(f.hsm.governance, 'showRequest');
        try {
          const list = await f.request('GET', '/v1/approvals', { token: auditor });
          expect(list.status).toBe(200);
          expect(list.json.approvals.length).toBeGreaterThanOrEqual(2);
          expect(partitions).toHaveBeenCalledTimes(1);
          expect(views).not.toHaveBeenCalled();
          // What the list shows of a request is what showing it alone answers.
          const one = list.json.approvals[0];
          const shown = await f.request('GET', `/v1/approvals/${one.id}`, { token: auditor });
          expect(shown.json).toEqual(one);
          // A credential of another partition reads none of default's requests.
          const theirs = await f.request('GET', '/v1/approvals', { token: other });
          expect(theirs.json.approvals).toEqual([]);
        } finally {
          partitions.mockRestore();
          views.mockRestore();
        }
      });

      it('revokes an approver key only when the rules stay reachable', async () => {
        const r = await f.request('DELETE', `/v1/approver-keys/${fingerprint}`, { token: so });
        expect([r.status, r.json.code]).toEqual([403, 'quorum-lockout']);
      });
    });

    describe('refusals of the read endpoints', () => {
      it('refuses reads outside the credential scope and unknown keys', async () => {
        for (const path of [
          '/v1/partitions/default/policy',
          '/v1/partitions/default/chain',
          '/v1/partitions/default/keys/k1',
          '/v1/partitions/default/keys/k1/certificate',
        ]) {
          const r = await f.request('GET', path, { token: other });
          expect([r.status, r.json.code], path).toEqual([403, 'role-required']);
        }
        const nf = await f.request('GET', '/v1/partitions/default/keys/none/certificate', {
          token: user,
        });
        expect([nf.status, nf.json.code]).toEqual([404, 'key-not-found']);
        const ev = await f.request('POST', '/v1/partitions/default/keys/none/evidence', {
          token: user,
        });
        expect([ev.status, ev.json.code]).toEqual([404, 'key-not-found']);
        const chain = await f.request('GET', '/v1/device/chain');
        expect(chain.status).toBe(401);
      });

      it('lists only the approval requests a principal may read', async () => {
        const mine = await f.request('GET', '/v1/approvals', { token: user });
        expect(mine.json.approvals).toEqual([]);
        const theirs = await f.request('GET', '/v1/approvals', { token: officer });
        expect(theirs.json.approvals.length).toBeGreaterThan(0);
      });

      it('refuses a challenge for a key that is not a PEM public key', async () => {
        const r = await f.request('POST', '/v1/approver-keys/challenge', {
          token: user,
          json: {
            principal: 'ann',
            publicKey: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
          },
        });
        expect([r.status, r.json.code]).toEqual([400, 'api-invalid-request']);
      });

      it('revokes an approver key no rule needs (device-so), refusing others', async () => {
        await f.hsm.governance.addOfficer(
          { name: 'bob', passphrase: 'passphrase of bob' },
          [{ role: 'auditor' }],
          { name: 'so', passphrase: 'correct horse battery staple' },
        );
        const k = generateKeyPairSync('ed25519');
        const pem = k.publicKey.export({ format: 'pem', type: 'spki' }).toString();
        const ch = await f.request('POST', '/v1/approver-keys/challenge', {
          token: so,
          json: { principal: 'bob', publicKey: pem },
        });
        const proof = sign(null, Buffer.from(ch.json.bytes, 'base64'), k.privateKey);
        const enrolled = await f.request('POST', '/v1/approver-keys', {
          token: so,
          json: { principal: 'bob', publicKey: pem, proof: proof.toString('base64') },
        });
        expect(enrolled.status).toBe(201);
        const fp = enrolled.json.fingerprint as string;
        const refused = await f.request('DELETE', `/v1/approver-keys/${fp}`, { token: officer });
        expect([refused.status, refused.json.code]).toEqual([403, 'role-required']);
        const r = await f.request('DELETE', `/v1/approver-keys/${fp}`, { token: so });
        expect(r.json).toEqual({ revoked: true });
        const list = await f.request('GET', '/v1/approver-keys?principal=bob', { token: so });
        expect(list.json.keys).toEqual([
          expect.objectContaining({ fingerprint: fp, state: 'revoked' }),
        ]);
      });
    });

    describe('audit', () => {
      it('pages the log for an auditor and refuses others', async () => {
        const refused = await f.request('GET', '/v1/audit', { token: user });
        expect([refused.status, refused.json.code]).toEqual([403, 'role-required']);
        const first = await f.request('GET', '/v1/audit?limit=5', { token: auditor });
        expect(first.json.entries).toHaveLength(5);
        expect(first.json.next).toBe(first.json.entries[4].seq);
        const second = await f.request('GET', `/v1/audit?after=${first.json.next}&limit=5`, {
          token: auditor,
        });
        expect(second.json.entries[0].seq).toBe(first.json.next + 1);
        const bad = await f.request('GET', '/v1/audit?limit=0', { token: auditor });
        expect(bad.status).toBe(400);
      });

      it('pages through the whole log with the cursor: every entry once, in order', async () => {
        const before = (await auditEntries(f.hsm)).map((e) => e.seq);
        const seen: number[] = [];
        let after = 0;
        for (let pages = 0; pages < 1000; pages++) {
          const r = await f.request('GET', `/v1/audit?after=${after}&limit=50`, {
            token: auditor,
          });
          expect(r.status).toBe(200);
          seen.push(...r.json.entries.map((e: { seq: number }) => e.seq));
          if (r.json.next === null) break;
          after = r.json.next;
        }
        // Each page is an audited request: the log grows while it is paged, and a later page
        // reaches the entries the earlier pages wrote.
        expect(before.length).toBeGreaterThan(100);
        expect(seen.slice(0, before.length)).toEqual(before);
        expect(seen).toEqual([...seen].sort((a, b) => a - b));
        expect(new Set(seen).size).toBe(seen.length);
        const past = await f.request('GET', `/v1/audit?after=${seen.at(-1)! + 10}`, {
          token: auditor,
        });
        expect([past.status, past.json.entries, past.json.next]).toEqual([200, [], null]);
      });

      it('records every request with its principal and never the token', async () => {
        const entries = (await auditEntries(f.hsm)).filter((e) => e.action === 'api.request');
        expect(entries.length).toBeGreaterThan(40);
        expect(entries).toContainEqual(
          expect.objectContaining({
            actor: 'jwt:app-officer',
            details: expect.objectContaining({ operation: 'generateKey', status: 201, via: 'jwt' }),
          }),
        );
        // A request without a credential never grows the audit log (the operator's log has it).
        const before = entries.length;
        const anonymous = await f.request('GET', '/v1/partitions');
        expect(anonymous.status).toBe(401);
        const after = (await auditEntries(f.hsm)).filter((e) => e.action === 'api.request');
        expect(after.length).toBe(before);
        expect(after.some((e) => e.actor === 'anonymous')).toBe(false);
        const all = JSON.stringify(await auditEntries(f.hsm));
        for (const t of [so, officer, user, auditor]) {
          expect(all).not.toContain(t.split('.')[2]);
        }
      });
    });
  });
}

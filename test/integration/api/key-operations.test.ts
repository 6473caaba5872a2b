// The key operations through the REST API over HTTPS on each device store (a SQLite file, a
// PostgreSQL database; one device per store for the file), every answer checked against the
// OpenAPI document: signatures checked by `openssl` with the public key the API showed
// (P-256 data, RSA-PSS digest), verify true and false, a key under a 2-of-3 use rule signed
// through an approval request decided with `openssl dgst -sign`, role and scope refusals,
// bad inputs naming the field, and block / unblock.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-assignment -- every answer is checked against the OpenAPI document by the client before a test reads its fields as plain JSON */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiStores, startApiFixture, type ApiFixture } from '../../helpers/api.js';
import { OFFICER } from '../../helpers/hsm.js';
import { tempDir } from '../../helpers/tmp.js';
import { requireTool } from '../../helpers/tools.js';

function openssl(args: readonly string[], cwd: string): Buffer {
  const r = spawnSync('openssl', args, { cwd, timeout: 60_000 });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr.toString()}`);
  return r.stdout;
}

/** Whether openssl verifies (exit status 0 and its "Verified" line). */
function opensslVerifies(args: readonly string[], cwd: string): boolean {
  const r = spawnSync('openssl', args, { cwd, timeout: 60_000 });
  return r.status === 0 && /Verified|Verification Success/i.test(r.stdout.toString());
}

const KEYS = '/v1/partitions/default/keys';
const APPROVERS = ['ann', 'bob', 'cid'] as const;
const skip = requireTool('openssl');

describe.skipIf(skip)('key operations through the API', () => {
  for (const { store, skip: noStore } of apiStores()) {
    describe.skipIf(noStore)(`on the ${store} store`, () => {
      let f: ApiFixture;
      let cwd: string;
      let officer: string;
      let user: string;
      const fingerprints: Record<string, string> = {};

      beforeAll(async () => {
        cwd = tempDir('api-keyops-');
        f = await startApiFixture({ store });
        expect(f.hsm.storeInfo().dialect).toBe(store);
        const so = await f.token('api-so', ['device-so'], []);
        officer = await f.token('app-officer', ['crypto-officer'], ['default']);
        user = await f.token('app-user', ['crypto-user'], ['default']);
        for (const name of APPROVERS) {
          openssl(
            ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.pem`],
            cwd,
          );
          openssl(['pkey', '-in', `${name}.pem`, '-pubout', '-out', `${name}.pub.pem`], cwd);
          await f.hsm.governance.addOfficer(
            { name, passphrase: `passphrase of ${name}` },
            [{ role: 'pso', partition: 'default' }],
            OFFICER,
          );
          const publicKey = readFileSync(join(cwd, `${name}.pub.pem`), 'utf8');
          const ch = await f.request('POST', '/v1/approver-keys/challenge', {
            token: so,
            json: { principal: name, publicKey },
          });
          writeFileSync(join(cwd, 'enrol.bin'), Buffer.from(ch.json.bytes, 'base64'));
          openssl(
            ['dgst', '-sha256', '-sign', `${name}.pem`, '-out', 'enrol.sig', 'enrol.bin'],
            cwd,
          );
          const enrolled = await f.request('POST', '/v1/approver-keys', {
            token: so,
            json: {
              principal: name,
              publicKey,
              proof: readFileSync(join(cwd, 'enrol.sig')).toString('base64'),
            },
          });
          expect(enrolled.status).toBe(201);
          fingerprints[name] = enrolled.json.fingerprint as string;
        }
      }, 120_000);

      afterAll(async () => {
        await f.close();
      });

      const generate = async (json: Record<string, unknown>): Promise<Record<string, unknown>> => {
        const r = await f.request('POST', KEYS, { token: officer, json });
        expect(r.status, r.text).toBe(201);
        return r.json as Record<string, unknown>;
      };

      it('signs data with P-256; openssl verifies it with the PEM the API showed', async () => {
        await generate({ label: 'p256', algorithm: 'ecdsa-p256', purposes: ['sign', 'verify'] });
        const shown = await f.request('GET', `${KEYS}/p256`, { token: user });
        writeFileSync(join(cwd, 'p256.pub.pem'), shown.json.publicKey.pem);
        const data = Buffer.from('the data a crypto user signs through the API');
        writeFileSync(join(cwd, 'p256.msg'), data);

        const signed = await f.request('POST', `${KEYS}/p256/sign`, {
          token: user,
          json: { data: data.toString('base64') },
        });
        expect(signed.status).toBe(200);
        expect(signed.json).toMatchObject({ algorithm: 'ecdsa-p256', key: shown.json.id });
        writeFileSync(join(cwd, 'p256.sig'), Buffer.from(signed.json.signature, 'base64'));
        const verify = [
          'dgst',
          '-sha256',
          '-verify',
          'p256.pub.pem',
          '-signature',
          'p256.sig',
          'p256.msg',
        ];
        expect(opensslVerifies(verify, cwd)).toBe(true);
        // The same signature over other data does not verify (the check can fail).
        writeFileSync(join(cwd, 'p256.msg'), Buffer.from('other data'));
        expect(opensslVerifies(verify, cwd)).toBe(false);

        // The verify endpoint: true for the signature, false for another message.
        const ok = await f.request('POST', `${KEYS}/p256/verify`, {
          token: user,
          json: { data: data.toString('base64'), signature: signed.json.signature },
        });
        expect([ok.status, ok.json.valid]).toEqual([200, true]);
        const bad = await f.request('POST', `${KEYS}/p256/verify`, {
          token: user,
          json: {
            data: Buffer.from('other data').toString('base64'),
            signature: signed.json.signature,
          },
        });
        expect([bad.status, bad.json.valid]).toEqual([200, false]);
        // And by digest.
        const digest = createHash('sha256').update(data).digest('base64');
        const byDigest = await f.request('POST', `${KEYS}/p256/verify`, {
          token: user,
          json: { digest, signature: signed.json.signature },
        });
        expect(byDigest.json.valid).toBe(true);
      });

      it('signs an RSA-PSS digest; openssl pkeyutl verifies it (SHA-256, salt 32)', async () => {
        await generate({ label: 'pss', algorithm: 'rsa-pss-3072', purposes: ['sign', 'verify'] });
        const shown = await f.request('GET', `${KEYS}/pss`, { token: user });
        writeFileSync(join(cwd, 'pss.pub.pem'), shown.json.publicKey.pem);
        const digest = createHash('sha256')
          .update('a large document, hashed by the caller')
          .digest();
        writeFileSync(join(cwd, 'pss.dgst'), digest);
        const signed = await f.request('POST', `${KEYS}/pss/sign`, {
          token: user,
          json: { digest: digest.toString('base64') },
        });
        expect(signed.status).toBe(200);
        expect(signed.json.algorithm).toBe('rsa-pss-3072');
        writeFileSync(join(cwd, 'pss.sig'), Buffer.from(signed.json.signature, 'base64'));
        const args = (file: string): string[] => [
          'pkeyutl',
          '-verify',
          '-pubin',
          '-inkey',
          'pss.pub.pem',
          '-in',
          file,
          '-sigfile',
          'pss.sig',
          '-pkeyopt',
          'digest:sha256',
          '-pkeyopt',
          'rsa_padding_mode:pss',
          '-pkeyopt',
          'rsa_pss_saltlen:32',
        ];
        expect(opensslVerifies(args('pss.dgst'), cwd)).toBe(true);
        writeFileSync(join(cwd, 'other.dgst'), createHash('sha256').update('other').digest());
        expect(opensslVerifies(args('other.dgst'), cwd)).toBe(false);
      });

      it('refuses bad inputs with a 400 problem naming the field', async () => {
        await generate({ label: 'ed', algorithm: 'ed25519', purposes: ['sign', 'verify'] });
        const short = await f.request('POST', `${KEYS}/p256/sign`, {
          token: user,
          json: { digest: Buffer.alloc(20).toString('base64') },
        });
        expect([short.status, short.json.code]).toEqual([400, 'invalid-argument']);
        expect(short.json.details.field).toBe('digest');

        const ed = await f.request('POST', `${KEYS}/ed/sign`, {
          token: user,
          json: { digest: Buffer.alloc(64).toString('base64') },
        });
        expect([ed.status, ed.json.code]).toEqual([400, 'invalid-argument']);
        expect(ed.json.details.field).toBe('digest');

        const both = await f.request('POST', `${KEYS}/p256/sign`, {
          token: user,
          json: { data: 'AA==', digest: Buffer.alloc(32).toString('base64') },
        });
        expect([both.status, both.json.code]).toEqual([400, 'api-invalid-request']);
        expect(both.json.details.field).toBe('/digest');

        const neither = await f.request('POST', `${KEYS}/p256/verify`, {
          token: user,
          json: { signature: 'AA==' },
        });
        expect([neither.status, neither.json.code]).toEqual([400, 'api-invalid-request']);
        expect(neither.json.details.field).toBe('/data');

        // The body limit (1 MiB) bounds the data: 700 KiB signs, 800 KiB is a 413.
        const large = await f.request('POST', `${KEYS}/p256/sign`, {
          token: user,
          json: { data: Buffer.alloc(700 * 1024, 7).toString('base64') },
        });
        expect(large.status).toBe(200);
        const tooLarge = await f.request('POST', `${KEYS}/p256/sign`, {
          token: user,
          json: { data: Buffer.alloc(800 * 1024, 7).toString('base64') },
        });
        expect([tooLarge.status, tooLarge.json.code]).toEqual([413, 'api-body-too-large']);

        const unknown = await f.request('POST', `${KEYS}/p256/sign`, {
          token: user,
          json: { data: 'AA==', hash: 'sha256' },
        });
        expect([unknown.status, unknown.json.details.field]).toEqual([400, '/hash']);
      });

      it('refuses a crypto-user of another partition, and a crypto-user blocking', async () => {
        const other = await f.token('other-user', ['crypto-user'], ['elsewhere']);
        const r = await f.request('POST', `${KEYS}/p256/sign`, {
          token: other,
          json: { data: 'AA==' },
        });
        expect([r.status, r.type, r.json.code]).toEqual([
          403,
          'application/problem+json',
          'role-required',
        ]);
        expect(r.json.details).toMatchObject({
          operation: 'key.sign',
          principal: 'jwt:other-user',
        });
        const v = await f.request('POST', `${KEYS}/p256/verify`, {
          token: other,
          json: { data: 'AA==', signature: 'AA==' },
        });
        expect([v.status, v.json.code]).toEqual([403, 'role-required']);
        // Blocking needs crypto-officer or pso.
        const block = await f.request('POST', `${KEYS}/p256/block`, { token: user });
        expect([block.status, block.json.code]).toEqual([403, 'role-required']);
        expect(block.json.details.operation).toBe('key.block');
      });

      it('blocks a key (signing refused with key-blocked), then unblocks it', async () => {
        const blocked = await f.request('POST', `${KEYS}/p256/block`, { token: officer });
        expect([blocked.status, blocked.json.state]).toEqual([200, 'blocked']);
        const refused = await f.request('POST', `${KEYS}/p256/sign`, {
          token: user,
          json: { data: 'AA==' },
        });
        expect([refused.status, refused.json.code]).toEqual([403, 'key-blocked']);
        const again = await f.request('POST', `${KEYS}/p256/block`, { token: officer });
        expect(again.json.code).toBe('key-blocked');

        const unblocked = await f.request('POST', `${KEYS}/p256/unblock`, { token: officer });
        expect([unblocked.status, unblocked.json.state]).toEqual([200, 'active']);
        const signed = await f.request('POST', `${KEYS}/p256/sign`, {
          token: user,
          json: { data: 'AA==' },
        });
        expect(signed.status).toBe(200);
        const notBlocked = await f.request('POST', `${KEYS}/p256/unblock`, { token: officer });
        expect(notBlocked.json.code).toBe('key-not-blocked');
      });

      it('signs under a 2-of-3 use rule: 202, openssl-signed approvals, execute, openssl verifies', async () => {
        const useRule = {
          timeoutSeconds: 3600,
          alternatives: [{ groups: [{ members: [...APPROVERS], threshold: 2 }] }],
        };
        const key = await generate({
          label: 'ruled',
          algorithm: 'ecdsa-p256',
          purposes: ['sign', 'verify'],
          modifiable: true,
          policy: { use: useRule },
        });
        expect((key.attributes as Record<string, unknown>).policy).toMatchObject({
          version: 1,
          use: useRule,
        });
        writeFileSync(join(cwd, 'ruled.pub.pem'), (key.publicKey as { pem: string }).pem);
        const data = Buffer.from('a release manifest, approved by two of three');
        writeFileSync(join(cwd, 'ruled.msg'), data);

        const asked = await f.request('POST', `${KEYS}/ruled/sign`, {
          token: user,
          json: { data: data.toString('base64') },
        });
        expect(asked.status).toBe(202);
        const id = asked.json.id as string;
        expect(asked.headers.location).toBe(`/v1/approvals/${id}`);
        expect(asked.json.statement).toMatchObject({
          operation: 'key.sign',
          requester: 'jwt:app-user',
        });
        expect(asked.json.statement.params.data).toBe(data.toString('hex'));

        // Executing before the quorum is refused.
        const notYet = await f.request('POST', `/v1/approvals/${id}/execute`, { token: user });
        expect(notYet.status).toBe(409);

        for (const name of ['ann', 'cid'] as const) {
          const shown = await f.request(
            'GET',
            `/v1/approvals/${id}?decision=approve&approverKey=${fingerprints[name]}`,
            { token: user },
          );
          writeFileSync(join(cwd, 'request.bin'), Buffer.from(shown.json.toSign.bytes, 'base64'));
          openssl(
            ['dgst', '-sha256', '-sign', `${name}.pem`, '-out', 'request.sig', 'request.bin'],
            cwd,
          );
          const decided = await f.request('POST', `/v1/approvals/${id}/decisions`, {
            token: user,
            json: {
              decision: 'approve',
              approverKey: fingerprints[name],
              signature: readFileSync(join(cwd, 'request.sig')).toString('base64'),
            },
          });
          expect(decided.status).toBe(200);
          expect(decided.json.state).toBe(name === 'ann' ? 'pending' : 'approved');
        }

        const done = await f.request('POST', `/v1/approvals/${id}/execute`, { token: user });
        expect([done.status, done.json.state]).toEqual([200, 'executed']);
        expect(done.json.result).toMatchObject({ key: key.id, algorithm: 'ecdsa-p256' });
        const read = await f.request('GET', `/v1/approvals/${id}`, { token: user });
        expect(read.json.result.signature).toBe(done.json.result.signature);
        writeFileSync(join(cwd, 'ruled.sig'), Buffer.from(done.json.result.signature, 'hex'));
        expect(
          opensslVerifies(
            ['dgst', '-sha256', '-verify', 'ruled.pub.pem', '-signature', 'ruled.sig', 'ruled.msg'],
            cwd,
          ),
        ).toBe(true);

        // The policy can be cleared only with the approvals its use rule asks: 202.
        const cleared = await f.request('PUT', `${KEYS}/ruled/policy`, {
          token: officer,
          json: { policy: null },
        });
        expect(cleared.status).toBe(202);
        expect(cleared.json.statement).toMatchObject({ operation: 'key.policy' });
      });

      it('deletes a key with a modify rule only through an approved request (202), a plain one at once', async () => {
        await generate({
          label: 'kept',
          algorithm: 'ecdsa-p256',
          purposes: ['sign', 'verify'],
          policy: {
            modify: {
              timeoutSeconds: 3600,
              alternatives: [{ groups: [{ members: ['bob'], threshold: 1 }] }],
            },
          },
        });
        const byUser = await f.request('DELETE', `${KEYS}/kept`, { token: user });
        expect([byUser.status, byUser.json.code]).toEqual([403, 'role-required']);
        expect(byUser.json.details).toMatchObject({ operation: 'key.delete' });
        const asked = await f.request('DELETE', `${KEYS}/kept`, { token: officer });
        expect(asked.status).toBe(202);
        const id = asked.json.id as string;
        expect(asked.headers.location).toBe(`/v1/approvals/${id}`);
        expect(asked.json.statement).toMatchObject({
          operation: 'key.delete',
          requester: 'jwt:app-officer',
        });
        const rules = asked.json.rules as { ref: { operation: string } }[];
        expect(rules.map((r) => r.ref.operation)).toEqual(['key.modify']);
        expect((await f.hsm.key('default', 'kept')).state).toBe('active');
        const shown = await f.request(
          'GET',
          `/v1/approvals/${id}?decision=approve&approverKey=${fingerprints.bob}`,
          { token: officer },
        );
        writeFileSync(join(cwd, 'request.bin'), Buffer.from(shown.json.toSign.bytes, 'base64'));
        openssl(['dgst', '-sha256', '-sign', 'bob.pem', '-out', 'request.sig', 'request.bin'], cwd);
        await f.request('POST', `/v1/approvals/${id}/decisions`, {
          token: officer,
          json: {
            decision: 'approve',
            approverKey: fingerprints.bob,
            signature: readFileSync(join(cwd, 'request.sig')).toString('base64'),
          },
        });
        const done = await f.request('POST', `/v1/approvals/${id}/execute`, { token: officer });
        expect([done.status, done.json.state]).toEqual([200, 'executed']);
        expect(done.json.result).toMatchObject({ destroyed: false });
        expect((await f.hsm.key('default', 'kept')).state).toBe('invalidated');

        await generate({ label: 'loose', algorithm: 'ecdsa-p256', purposes: ['sign'] });
        const plain = await f.request('DELETE', `${KEYS}/loose`, { token: officer });
        expect(plain.status).toBe(200);
        expect(plain.json).toMatchObject({ destroyed: false, key: { state: 'invalidated' } });
      });

      it('sets and clears the policy of a key without rules (200), refuses a bad rule', async () => {
        await generate({
          label: 'plain',
          algorithm: 'ecdsa-p256',
          purposes: ['sign', 'verify'],
          modifiable: true,
        });
        const set = await f.request('PUT', `${KEYS}/plain/policy`, {
          token: officer,
          json: {
            policy: {
              block: {
                timeoutSeconds: 600,
                alternatives: [{ groups: [{ members: ['ann'], threshold: 1 }] }],
              },
            },
          },
        });
        expect(set.status, set.text).toBe(200);
        expect(set.json.attributes.policy).toMatchObject({ version: 1 });
        expect(set.json.attributes.policy.block).toBeDefined();
        // Now a block is guarded: 202.
        const block = await f.request('POST', `${KEYS}/plain/block`, { token: officer });
        expect(block.status).toBe(202);
        expect(block.json.statement).toMatchObject({ operation: 'key.block' });

        const bad = await f.request('PUT', `${KEYS}/plain/policy`, {
          token: officer,
          json: { policy: { use: { nonsense: true } } },
        });
        expect(bad.status).toBeGreaterThanOrEqual(400);
        expect(bad.status).toBeLessThan(500);
        expect(bad.json.code).toBe('quorum-rule-invalid');

        const fixed = await generate({
          label: 'fixed',
          algorithm: 'ecdsa-p256',
          purposes: ['sign'],
          modifiable: false,
        });
        expect((fixed.attributes as Record<string, unknown>).modifiable).toBe(false);
        const refused = await f.request('PUT', `${KEYS}/fixed/policy`, {
          token: officer,
          json: { policy: null },
        });
        expect(refused.json.code).toBe('key-not-modifiable');
      });
    });
  }
});

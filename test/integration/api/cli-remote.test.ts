// The operator CLI with --api URL against the real REST API over HTTPS on port 0: key generate
// (with its own approval policy), list and show, key policy, officer list, and approvals list,
// show (with --bytes), sign and submit, with the same --json
// documents (checked against schemas/cli) as the local commands; a refused token, a missing
// token file and an untrusted server as the CLI's errors with their exit codes, the token never printed.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-explicit-any -- JSON documents are checked against their schemas before a test reads their fields */
import { generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiStores, startApiFixture, type ApiFixture } from '../../helpers/api.js';
import { runCliAsync, runMain, type CliResult } from '../../helpers/cli.js';
import { schemaOf, validate } from '../../helpers/json-schema.js';
import { tempDir } from '../../helpers/tmp.js';

const SCHEMAS = resolve(import.meta.dirname, '../../../schemas/cli');

for (const { store, skip } of apiStores()) {
  describe.skipIf(skip)(`the CLI with --api on the ${store} store`, () => {
    let f: ApiFixture;
    let cwd: string;
    let officerToken: string;
    let remote: string[];

    function documentOf(r: CliResult, schema: string): any {
      const value: unknown = JSON.parse(r.stdout);
      const errors = validate(
        schemaOf(readFileSync(join(SCHEMAS, `${schema}.schema.json`), 'utf8')),
        value,
      );
      expect(errors, `${schema}: ${r.stdout.slice(0, 400)}`).toEqual([]);
      return value;
    }

    const cliEnv = (env: Record<string, string>) => ({
      ATTESTAMP_DATA: join(cwd, 'no-local-store'),
      ...env,
    });
    /**
     * The CLI's main in this process, beside the in-process server: the code the binary runs,
     * without a process start per command (the binary is a shell around it, checked below).
     */
    const cli = (args: string[], env: Record<string, string> = {}) =>
      runMain(args, { cwd, env: cliEnv(env) });
    /** The built binary as a subprocess (spawnSync would block the in-process server). */
    const binary = (args: string[], env: Record<string, string> = {}) =>
      runCliAsync(args, { cwd, env: cliEnv(env) });

    beforeAll(async () => {
      f = await startApiFixture({ store });
      cwd = tempDir('api-cli-remote-');
      officerToken = await f.token('cli-officer', ['crypto-officer', 'pso'], ['default']);
      writeFileSync(join(cwd, 'officer.jwt'), officerToken + '\n', { mode: 0o600 });
      writeFileSync(join(cwd, 'server-ca.pem'), f.serverCa.pem);
      remote = ['--api', f.api.url, '--api-token-file', 'officer.jwt', '--api-ca', 'server-ca.pem'];
    }, 120_000);

    afterAll(async () => {
      await f.close();
    });

    it(`runs on the ${store} store`, () => {
      expect(f.hsm.storeInfo().dialect).toBe(store);
    });

    describe('key commands with --api', () => {
      it('generates a key through the API: the key-show document and text', async () => {
        const r = await cli([
          'key',
          'generate',
          'default',
          '--label',
          'remote-k1',
          '--algorithm',
          'ecdsa-p256',
          ...remote,
          '--json',
        ]);
        expect([r.code, r.stderr]).toEqual([0, '']);
        const doc = documentOf(r, 'key-show');
        expect(doc).toMatchObject({ partition: 'default', label: 'remote-k1', state: 'active' });
        const local = await f.hsm.key('default', 'remote-k1');
        expect(doc.id).toBe(local.id);
        expect(doc.spkiSha256).toBe(
          (await import('node:crypto')).createHash('sha256').update(local.spki).digest('hex'),
        );
        const text = await cli(['key', 'show', 'default', 'remote-k1', ...remote]);
        expect(text.code).toBe(0);
        expect(text.stdout).toContain('key remote-k1 in partition default');
        expect(text.stdout).toContain('algorithm:          ecdsa-p256');
      });

      it('lists and shows keys with the key-list and key-show documents', async () => {
        const list = await cli(['key', 'list', 'default', ...remote, '--json']);
        expect(list.code).toBe(0);
        const keys = documentOf(list, 'key-list') as { label: string }[];
        expect(keys.map((k) => k.label)).toContain('remote-k1');
        const none = await cli([
          'key',
          'list',
          'default',
          '--state',
          'invalidated',
          ...remote,
          '--json',
        ]);
        expect(documentOf(none, 'key-list')).toEqual([]);
        const show = await cli(['key', 'show', 'default', 'remote-k1', ...remote, '--json']);
        expect(documentOf(show, 'key-show').label).toBe('remote-k1');
      });

      it("answers the HSM's refusal with its code and exit code (key-not-found, 3)", async () => {
        const r = await cli(['key', 'show', 'default', 'nothing-here', ...remote, '--json']);
        expect(r.code).toBe(3);
        const doc = documentOf(r, 'error');
        expect(doc.error.code).toBe('key-not-found');
        expect(doc.exitCode).toBe(3);
      });
    });

    // What the CLI checks before any store is reached (the token, its file, TLS, --help): once,
    // through the built binary.
    if (store === 'sqlite') {
      describe('credentials and transport with --api', () => {
        it('documents the --api options in --help', async () => {
          const commands = [
            ['key', 'generate'],
            ['key', 'list'],
            ['key', 'show'],
            ['key', 'sign'],
            ['key', 'verify'],
            ['key', 'policy'],
            ['officer', 'list'],
            ['approvals', 'list'],
            ['approvals', 'show'],
            ['approvals', 'sign'],
            ['approvals', 'submit'],
          ];
          const helps = await Promise.all(commands.map((c) => cli([...c, '--help'])));
          for (const [i, r] of helps.entries()) {
            const command = commands[i]!.join(' ');
            expect(r.code, command).toBe(0);
            for (const o of [
              '--api URL',
              '--api-token-file FILE',
              '--api-cert',
              '--api-key',
              '--api-ca',
            ]) {
              expect(r.stdout, `${command} ${o}`).toContain(o);
            }
          }
        });

        it('refuses a token the server does not accept: the error document, exit 77, no token printed', async () => {
          const other = await (await import('../../helpers/api.js')).makeIssuer();
          const foreign = await other.token({
            sub: 'x',
            attestamp_roles: ['crypto-officer'],
            attestamp_partitions: ['default'],
          });
          writeFileSync(join(cwd, 'foreign.jwt'), foreign);
          const r = await binary([
            'key',
            'list',
            'default',
            '--api',
            f.api.url,
            '--api-token-file',
            'foreign.jwt',
            '--api-ca',
            'server-ca.pem',
            '--json',
          ]);
          expect(r.code).toBe(77);
          const doc = documentOf(r, 'error');
          expect([doc.error.code, doc.exitCode]).toEqual(['api-unauthenticated', 77]);
          expect(r.stdout + r.stderr).not.toContain(foreign);
          expect(r.stdout + r.stderr).not.toContain(foreign.split('.')[2]);
        });

        it('takes the token from $ATTESTAMP_API_TOKEN and never prints it', async () => {
          const r = await binary(
            ['key', 'list', 'default', '--api', f.api.url, '--api-ca', 'server-ca.pem'],
            { ATTESTAMP_API_TOKEN: officerToken },
          );
          expect(r.code).toBe(0);
          expect(r.stdout).toContain('remote-k1\tecdsa-p256\tactive\tuser');
          expect(r.stdout + r.stderr).not.toContain(officerToken);
        });

        it('takes no token on the command line: --api-token is unknown and its value never echoed', async () => {
          const r = await binary([
            'key',
            'list',
            'default',
            '--api',
            f.api.url,
            '--api-token',
            officerToken,
          ]);
          expect(r.code).toBe(64);
          expect(r.stderr).toContain("unknown option '--api-token'");
          expect(r.stdout + r.stderr).not.toContain(officerToken);
        });

        it('a missing token file is a usage error naming the option (exit 64)', async () => {
          const r = await binary([
            'key',
            'list',
            'default',
            '--api',
            f.api.url,
            '--api-token-file',
            'no-such.jwt',
            '--api-ca',
            'server-ca.pem',
            '--json',
          ]);
          expect(r.code).toBe(64);
          expect(r.stderr).toContain('--api-token-file');
          expect(documentOf(r, 'error').error.code).toBe('usage');
        });

        it('refuses --api options without --api, and --api-cert without --api-key (exit 64)', async () => {
          const stray = await binary(['key', 'list', 'default', '--api-ca', 'server-ca.pem']);
          expect([stray.code, stray.stderr]).toEqual([
            64,
            expect.stringContaining('--api-ca goes with --api'),
          ]);
          const half = await binary([
            'key',
            'list',
            'default',
            '--api',
            f.api.url,
            '--api-cert',
            'server-ca.pem',
          ]);
          expect([half.code, half.stderr]).toEqual([64, expect.stringContaining('--api-key')]);
        });

        it("without the server's CA: a TLS error naming the problem (exit 69)", async () => {
          const r = await binary([
            'key',
            'list',
            'default',
            '--api',
            f.api.url,
            '--api-token-file',
            'officer.jwt',
            '--json',
          ]);
          expect(r.code).toBe(69);
          const doc = documentOf(r, 'error');
          expect(doc.error.code).toBe('client-tls-untrusted');
          expect(doc.error.message).toContain('--api-ca');
          expect(r.stderr).toContain('not trusted');
        });
      });
    }

    describe('approvals with --api', () => {
      const approver = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      let fingerprint: string;
      let id: string;
      let second: string;

      beforeAll(async () => {
        const so = await f.token('cli-so', ['device-so'], []);
        await f.hsm.governance.addOfficer(
          { name: 'ann', passphrase: 'passphrase of ann' },
          [{ role: 'device-so' }],
          { name: 'so', passphrase: 'correct horse battery staple' },
        );
        const pem = approver.publicKey.export({ format: 'pem', type: 'spki' }).toString();
        const ch = await f.request('POST', '/v1/approver-keys/challenge', {
          token: so,
          json: { principal: 'ann', publicKey: pem },
        });
        const proof = sign('sha256', Buffer.from(ch.json.bytes, 'base64'), approver.privateKey);
        const enrolled = await f.request('POST', '/v1/approver-keys', {
          token: so,
          json: { principal: 'ann', publicKey: pem, proof: proof.toString('base64') },
        });
        expect(enrolled.status).toBe(201);
        fingerprint = enrolled.json.fingerprint;
        const rule = await f.request('PUT', '/v1/quorum-rules/trash.purge?partition=default', {
          token: officerToken,
          json: {
            rule: {
              timeoutSeconds: 600,
              alternatives: [{ groups: [{ members: ['ann'], threshold: 1 }] }],
            },
          },
        });
        expect(rule.status).toBe(200);
        await f.request('DELETE', '/v1/partitions/default/keys/remote-k1', { token: officerToken });
        const purge = await f.request('POST', '/v1/partitions/default/keys/remote-k1/purge', {
          token: officerToken,
        });
        expect(purge.status).toBe(202);
        id = purge.json.id;
        await f.request('POST', '/v1/partitions/default/keys', {
          token: officerToken,
          json: { label: 'remote-k2', algorithm: 'ed25519' },
        });
        await f.request('DELETE', '/v1/partitions/default/keys/remote-k2', { token: officerToken });
        const again = await f.request('POST', '/v1/partitions/default/keys/remote-k2/purge', {
          token: officerToken,
        });
        expect(again.status).toBe(202);
        second = again.json.id;
        writeFileSync(
          join(cwd, 'ann.pem'),
          approver.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
        );
      }, 60_000);

      it('lists the requests with the approvals-list document', async () => {
        const r = await cli(['approvals', 'list', ...remote, '--json']);
        expect(r.code).toBe(0);
        const rows = documentOf(r, 'approvals-list') as { id: string; operation: string }[];
        expect(rows).toContainEqual(
          expect.objectContaining({ id, operation: 'key.purge', state: 'pending' }),
        );
        const text = await cli(['approvals', 'list', ...remote]);
        expect(text.stdout).toContain(`${id}\tkey.purge\tpending\tjwt:cli-officer`);
      });

      it("shows a request with the approval-request document, the HSM's signature verified", async () => {
        const r = await cli(['approvals', 'show', id, ...remote, '--json']);
        expect(r.code).toBe(0);
        const doc = documentOf(r, 'approval-request');
        expect(doc).toMatchObject({ id, state: 'pending', statementVerified: true });
        const text = await cli(['approvals', 'show', id, ...remote]);
        expect(text.code).toBe(0);
        expect(text.stdout).toContain(`approval request ${id}`);
        expect(text.stdout).toContain('signature verified');
        expect(text.stdout).toContain('1 of ann (group1)');
      });

      it('signs a decision with the approver key file and submits it through the API', async () => {
        const r = await cli([
          'approvals',
          'sign',
          id,
          '--decision',
          'approve',
          '--key',
          'ann.pem',
          ...remote,
          '--json',
        ]);
        expect([r.code, r.stderr]).toEqual([0, '']);
        const doc = documentOf(r, 'approval-request');
        expect(doc.state).toBe('approved');
        expect(doc.approvals).toEqual([
          expect.objectContaining({ principal: 'ann', key: fingerprint }),
        ]);
        const view = await f.hsm.governance.showRequest(id);
        expect(view.evaluation.state).toBe('approved');
      });

      it('writes the bytes to sign (show --bytes) and submits a signature made elsewhere', async () => {
        const bytes = await cli([
          'approvals',
          'show',
          second,
          '--bytes',
          'reject',
          '--approver-key',
          fingerprint,
          '--out',
          'req.bin',
          ...remote,
          '--json',
        ]);
        expect([bytes.code, bytes.stderr]).toEqual([0, '']);
        expect(documentOf(bytes, 'approvals-bytes')).toMatchObject({
          request: second,
          principal: 'ann',
          algorithm: 'ecdsa-p256-sha256',
        });
        const sig = sign('sha256', readFileSync(join(cwd, 'req.bin')), approver.privateKey);
        writeFileSync(join(cwd, 'req.sig'), sig);
        const r = await cli([
          'approvals',
          'submit',
          second,
          '--decision',
          'reject',
          '--approver-key',
          fingerprint,
          '--signature',
          'req.sig',
          ...remote,
          '--json',
        ]);
        expect([r.code, r.stderr]).toEqual([0, '']);
        expect(documentOf(r, 'approval-request').state).toBe('rejected');
        const forged = await cli([
          'approvals',
          'submit',
          id,
          '--decision',
          'reject',
          '--approver-key',
          fingerprint,
          '--signature',
          'req.sig',
          ...remote,
          '--json',
        ]);
        expect(forged.code).toBe(2);
        expect(documentOf(forged, 'error').error.code).toBe('approval-signature-invalid');
      });

      it('generates a key with its own approval policy (--policy FILE) through the API', async () => {
        const use = {
          timeoutSeconds: 3600,
          alternatives: [{ groups: [{ members: ['ann'], threshold: 1 }] }],
        };
        writeFileSync(join(cwd, 'policy.json'), JSON.stringify({ use }));
        const generate = (label: string, file: string) =>
          cli([
            'key',
            'generate',
            'default',
            '--label',
            label,
            '--algorithm',
            'ecdsa-p256',
            '--policy',
            file,
            '--modifiable',
            ...remote,
            '--json',
          ]);
        const r = await generate('remote-ruled', 'policy.json');
        expect([r.code, r.stderr]).toEqual([0, '']);
        const doc = documentOf(r, 'key-show');
        expect(doc.attributes).toMatchObject({ modifiable: true, policy: { version: 1, use } });
        const local = await f.hsm.key('default', 'remote-ruled');
        expect(local.attributes.policy?.use).toMatchObject(use);
        // The key signs only through a request now, as its policy says.
        writeFileSync(join(cwd, 'msg.txt'), 'hello');
        const signed = await cli([
          'key',
          'sign',
          'default',
          'remote-ruled',
          '--in',
          'msg.txt',
          '--out',
          'msg.sig',
          ...remote,
          '--json',
        ]);
        expect(signed.code).toBe(7);
        expect(documentOf(signed, 'error').error.code).toBe('approval-required');
        // A policy no principal with an approver key could meet is the HSM's refusal, as locally.
        writeFileSync(
          join(cwd, 'nobody.json'),
          JSON.stringify({
            use: { ...use, alternatives: [{ groups: [{ members: ['zed'], threshold: 1 }] }] },
          }),
        );
        const lockout = await generate('remote-locked', 'nobody.json');
        expect(lockout.code).not.toBe(0);
        expect(documentOf(lockout, 'error').error.code).toBe('quorum-lockout');
        await expect(f.hsm.key('default', 'remote-locked')).rejects.toMatchObject({
          code: 'key-not-found',
        });
      });
    });

    describe('officer list and key policy with --api', () => {
      let soRemote: string[];

      beforeAll(async () => {
        writeFileSync(join(cwd, 'so.jwt'), await f.token('cli-so', ['device-so'], []));
        soRemote = ['--api', f.api.url, '--api-token-file', 'so.jwt', '--api-ca', 'server-ca.pem'];
      });

      it('lists the principals and their roles with the officer-list document', async () => {
        const r = await cli(['officer', 'list', ...soRemote, '--json']);
        expect([r.code, r.stderr]).toEqual([0, '']);
        const rows = documentOf(r, 'officer-list') as { name: string }[];
        expect(rows.find((o) => o.name === 'ann')).toEqual(
          expect.objectContaining({
            type: 'officer',
            state: 'active',
            roles: [{ role: 'device-so', partition: null }],
            approverKeys: 1,
          }),
        );
        // The same document as the local command reads from the store.
        expect(rows).toEqual(JSON.parse(JSON.stringify(await f.hsm.governance.officers())));
        const text = await cli(['officer', 'list', ...soRemote]);
        expect(text.code).toBe(0);
        expect(text.stdout).toContain('ann\tofficer\tactive\tdevice-so\t1 approver key\n');
      });

      it('lists only the principals of a partition, and refuses a role without the right', async () => {
        await f.hsm.governance.grantRole('ann', 'auditor', 'default', {
          name: 'so',
          passphrase: 'correct horse battery staple',
        });
        const r = await cli(['officer', 'list', '--partition', 'default', ...soRemote, '--json']);
        expect(r.code).toBe(0);
        const rows = documentOf(r, 'officer-list') as { name: string; roles: unknown[] }[];
        expect(rows.map((o) => o.name)).toEqual(['ann']);
        expect(rows[0]!.roles).toEqual([{ role: 'auditor', partition: 'default' }]);
        // A crypto-officer reads no role table (403 role-required, exit 2).
        const refused = await cli(['officer', 'list', ...remote, '--json']);
        expect(refused.code).toBe(2);
        expect(documentOf(refused, 'error').error).toMatchObject({
          code: 'role-required',
          details: { operation: 'officer.list', principal: 'jwt:cli-officer' },
        });
        const unknown = await cli([
          'officer',
          'list',
          '--partition',
          'nope',
          ...soRemote,
          '--json',
        ]);
        expect(unknown.code).toBe(3);
        expect(documentOf(unknown, 'error').error.code).toBe('partition-not-found');
      });

      it('sets and clears a modifiable key policy through the API, under its rule a request', async () => {
        const made = await cli([
          'key',
          'generate',
          'default',
          '--label',
          'remote-mod',
          '--algorithm',
          'ed25519',
          '--modifiable',
          ...remote,
        ]);
        expect(made.code).toBe(0);
        const use = {
          timeoutSeconds: 3600,
          alternatives: [{ groups: [{ members: ['ann'], threshold: 1 }] }],
        };
        writeFileSync(join(cwd, 'use.json'), JSON.stringify({ use }));
        const set = await cli([
          'key',
          'policy',
          'default',
          'remote-mod',
          '--set',
          'use.json',
          ...remote,
          '--json',
        ]);
        expect([set.code, set.stderr]).toEqual([0, '']);
        expect(documentOf(set, 'key-show').attributes.policy).toMatchObject({ version: 1, use });
        expect((await f.hsm.key('default', 'remote-mod')).attributes.policy?.version).toBe(1);
        // Now the use rule guards the change: a request (exit 7), the policy unchanged.
        const clear = await cli(['key', 'policy', 'default', 'remote-mod', '--clear', ...remote]);
        expect(clear.code).toBe(7);
        expect(clear.stderr).toContain('approval request');
        const listed = await f.hsm.governance.listRequests();
        expect(listed.map((v) => v.body.statement.operation)).toContain('key.policy');
        expect((await f.hsm.key('default', 'remote-mod')).attributes.policy?.version).toBe(1);
        // A key made without --modifiable keeps its policy: the HSM's refusal, as locally.
        await f.hsm.generateKey('default', { label: 'remote-fixed', algorithm: 'ed25519' });
        const fixed = await cli([
          'key',
          'policy',
          'default',
          'remote-fixed',
          '--set',
          'use.json',
          ...remote,
          '--json',
        ]);
        expect(fixed.code).toBe(2);
        expect(documentOf(fixed, 'error').error.code).toBe('key-not-modifiable');
      });
    });
  });
}

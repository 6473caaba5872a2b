// The typed client (attestamp/client) against the real API over HTTPS on port 0: typed calls
// with a bearer token and with a client certificate, a problem document raised as an
// ApiClientError with the HsmError code, and TLS and token failures with their codes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiClientError,
  createApiClient,
  type ApiClient,
  type Key,
} from '../../../src/client/index.js';
import { makeLeaf, startApiFixture, type ApiFixture, type TestCert } from '../../helpers/api.js';
import { OFFICER } from '../../helpers/hsm.js';

let f: ApiFixture;
let officer: ApiClient;
let mtls: TestCert;

async function refusal(p: Promise<unknown>): Promise<ApiClientError> {
  const error: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiClientError);
  return error as ApiClientError;
}

beforeAll(async () => {
  f = await startApiFixture({
    auth: async ({ clientCa }) => {
      mtls = await makeLeaf(clientCa, 'CN=client-app, O=Example');
      return {
        certificates: [
          {
            subject: 'CN=client-app, O=Example',
            issuer: `CN=${clientCa.name}`,
            principal: 'client-app',
            roles: ['crypto-officer'],
            partitions: ['default'],
          },
        ],
      };
    },
  });
  officer = createApiClient({
    url: f.api.url,
    ca: f.serverCa.pem,
    token: await f.token('ops', ['crypto-officer']),
  });
}, 60_000);

afterAll(async () => {
  await officer.close();
  await f.close();
});

describe('createApiClient', () => {
  it('encrypts, decrypts, MACs, wraps and unwraps with secret keys', async () => {
    await f.hsm.setPartitionPolicy(
      'default',
      { exportAllowed: true, importAllowed: true },
      OFFICER,
    );
    const k = await officer.generateKey('default', { label: 'client-dek', algorithm: 'aes-128' });
    expect([k.publicKey, k.keyCheckValue?.length]).toEqual([null, 32]);
    const data = new TextEncoder().encode('client data');
    const aad = new TextEncoder().encode('ctx');
    const enc = await officer.encrypt('default', 'client-dek', data, aad);
    if (enc.kind !== 'ciphertext') throw new Error('no ciphertext');
    expect([enc.nonce.length, enc.ciphertext.length, enc.encryptions]).toEqual([12, 27, 1]);
    const dec = await officer.decrypt('default', 'client-dek', { ...enc, aad });
    expect(dec.kind === 'plaintext' && Buffer.from(dec.plaintext).toString()).toBe('client data');
    const failed = await refusal(officer.decrypt('default', 'client-dek', enc));
    expect([failed.status, failed.code]).toEqual([422, 'decrypt-failed']);
    await officer.generateKey('default', { label: 'client-mac', algorithm: 'hmac-sha3-256' });
    const m = await officer.mac('default', 'client-mac', data);
    if (m.kind !== 'mac') throw new Error('no mac');
    expect(await officer.verifyMac('default', 'client-mac', data, m.mac)).toBe(true);
    expect(await officer.verifyMac('default', 'client-mac', aad, m.mac)).toBe(false);
    await officer.generateKey('default', {
      label: 'client-kek',
      algorithm: 'aes-256',
      purposes: ['wrap', 'unwrap'],
    });
    await officer.generateKey('default', {
      label: 'client-out',
      algorithm: 'ed25519',
      extractable: true,
    });
    const w = await officer.wrapKey('default', 'client-kek', 'client-out');
    if (w.kind !== 'wrapped') throw new Error('not wrapped');
    const u = await officer.unwrapKey('default', 'client-kek', {
      wrapped: w.wrapped,
      label: 'client-in',
      algorithm: 'ed25519',
    });
    expect(u.kind === 'key' && u.key.attributes.origin).toBe('unwrapped');
  });

  it('generates, shows and lists a key with typed answers (bearer token)', async () => {
    const made: Key = await officer.generateKey('default', {
      label: 'client-k1',
      algorithm: 'ecdsa-p256',
    });
    expect([made.label, made.partition, made.state, made.algorithm]).toEqual([
      'client-k1',
      'default',
      'active',
      'ecdsa-p256',
    ]);
    expect(made.publicKey?.pem).toContain('BEGIN PUBLIC KEY');
    const shown = await officer.getKey('default', 'client-k1');
    expect(shown.id).toBe(made.id);
    const listed = await officer.listKeys('default', 'active');
    expect(listed.map((k) => k.label)).toContain('client-k1');
    expect(await officer.listKeys('default', 'invalidated')).toEqual([]);
  });

  it('raises a problem document as an ApiClientError with the HsmError code and details', async () => {
    const e = await refusal(officer.getKey('default', 'no-such-key'));
    expect([e.code, e.status, e.transport]).toEqual(['key-not-found', 404, false]);
    expect(e.problem?.code).toBe('key-not-found');
    const other = await refusal(officer.listKeys('no-such-partition'));
    expect([other.code, other.status]).toEqual(['role-required', 403]);
  });

  it('authenticates with a client certificate alone (mutual TLS)', async () => {
    const c = createApiClient({
      url: f.api.url,
      ca: f.serverCa.pem,
      cert: mtls.cert,
      key: mtls.key,
    });
    try {
      const k = await c.generateKey('default', { label: 'client-mtls', algorithm: 'ed25519' });
      expect(k.algorithm).toBe('ed25519');
    } finally {
      await c.close();
    }
  });

  it('refuses a token from another issuer: api-unauthenticated, 401', async () => {
    const c = createApiClient({ url: f.api.url, ca: f.serverCa.pem, token: 'e30.e30.AAAA' });
    try {
      const e = await refusal(c.listKeys('default'));
      expect([e.code, e.status]).toEqual(['api-unauthenticated', 401]);
      expect(e.message).not.toContain('e30.e30');
    } finally {
      await c.close();
    }
  });

  it("fails with client-tls-untrusted when the server's CA is not given", async () => {
    const c = createApiClient({ url: f.api.url, token: 'x' });
    try {
      const e = await refusal(c.device());
      expect([e.code, e.status, e.transport]).toEqual(['client-tls-untrusted', 0, true]);
      expect(e.message).toContain('--api-ca');
    } finally {
      await c.close();
    }
  });

  it('fails with client-connection-failed when nothing listens', async () => {
    const c = createApiClient({ url: 'https://127.0.0.1:1', ca: f.serverCa.pem });
    try {
      const e = await refusal(c.device());
      expect(e.code).toBe('client-connection-failed');
    } finally {
      await c.close();
    }
  });
});

describe('officer, role and partition calls', () => {
  let so: ApiClient;
  let pso: ApiClient;
  const SO = { name: 'so', passphrase: 'correct horse battery staple' };

  beforeAll(async () => {
    await f.hsm.createPartition('client-p2');
    await f.hsm.governance.addOfficer({ name: 'carol', passphrase: 'passphrase of carol' }, [], SO);
    const client = async (sub: string, roles: string[], partitions: string[]) =>
      createApiClient({
        url: f.api.url,
        ca: f.serverCa.pem,
        token: await f.token(sub, roles, partitions),
      });
    so = await client('client-so', ['device-so'], []);
    pso = await client('client-pso', ['pso'], ['default', 'client-p2']);
  });

  afterAll(async () => {
    await so.close();
    await pso.close();
  });

  it('lists the officers with their roles, of the device or of one partition', async () => {
    const all = await so.listOfficers();
    expect(all.find((o) => o.name === 'so')).toMatchObject({
      type: 'officer',
      roles: [{ role: 'device-so', partition: null }],
    });
    expect(all.map((o) => o.name)).toContain('carol');
    expect(await pso.listOfficers('client-p2')).toEqual([]);
    const e = await refusal(officer.listOfficers());
    expect([e.code, e.status, e.details?.operation]).toEqual([
      'role-required',
      403,
      'officer.list',
    ]);
  });

  it('grants and revokes a partition role (done at once without a rule)', async () => {
    const granted = await pso.grantRole('carol', 'crypto-user', 'default');
    expect(granted).toEqual({
      kind: 'done',
      value: { principal: 'carol', role: 'crypto-user', partition: 'default' },
    });
    expect((await pso.listOfficers('default')).map((o) => o.name)).toContain('carol');
    const revoked = await pso.revokeRole('carol', 'crypto-user', 'default');
    expect(revoked).toEqual({
      kind: 'done',
      value: { principal: 'carol', role: 'crypto-user', partition: 'default' },
    });
    expect((await pso.listOfficers('default')).map((o) => o.name)).not.toContain('carol');
    // A device role is the device SO's to grant; a pso role does not exist on the device.
    const byPso = await refusal(pso.grantRole('carol', 'auditor'));
    expect([byPso.code, byPso.status]).toEqual(['role-required', 403]);
    const noScope = await refusal(so.grantRole('carol', 'pso'));
    expect([noScope.code, noScope.status]).toEqual(['invalid-argument', 400]);
    const device = await so.grantRole('carol', 'auditor');
    expect(device).toMatchObject({ kind: 'done', value: { role: 'auditor', partition: null } });
  });

  it('excludes and includes the device SO in a partition', async () => {
    expect(await pso.excludeSo('client-p2')).toEqual({
      kind: 'done',
      value: { partition: 'client-p2', soExcluded: true },
    });
    expect(await f.hsm.governance.soExcluded('client-p2')).toBe(true);
    expect(await pso.includeSo('client-p2')).toEqual({
      kind: 'done',
      value: { partition: 'client-p2', soExcluded: false },
    });
    const e = await refusal(officer.excludeSo('client-p2'));
    expect([e.code, e.status]).toEqual(['role-required', 403]);
    const missing = await refusal(pso.excludeSo('no-such-partition'));
    expect([missing.code, missing.status]).toEqual(['partition-not-found', 404]);
  });

  it("turns a guarded change into the approval request (kind 'approval')", async () => {
    const { officerWithKey } = await import('../../helpers/governance.js');
    await officerWithKey(f.hsm, 'dan', [{ role: 'pso', partition: 'default' }], SO);
    await f.hsm.governance.setRule(
      'default',
      'so.exclusion',
      { timeoutSeconds: 600, alternatives: [{ groups: [{ members: ['dan'], threshold: 1 }] }] },
      SO,
    );
    const r = await pso.excludeSo('default');
    expect(r.kind).toBe('approval');
    if (r.kind !== 'approval') return;
    expect([r.approval.operation, r.approval.state]).toEqual(['partition.exclude-so', 'pending']);
    expect(await f.hsm.governance.soExcluded('default')).toBe(false);
  });

  it("replaces a modifiable key's policy, clears it, refuses a fixed key", async () => {
    await officer.generateKey('default', {
      label: 'client-mod',
      algorithm: 'ed25519',
      modifiable: true,
    });
    const use = {
      timeoutSeconds: 3600,
      alternatives: [{ groups: [{ members: ['dan'], threshold: 1 }] }],
    };
    const set = await officer.setKeyPolicy('default', 'client-mod', { modify: use });
    expect(set.kind).toBe('done');
    if (set.kind !== 'done') return;
    expect(set.value.attributes.policy).toMatchObject({ version: 1, modify: use });
    // The modify rule now guards the next change.
    const guarded = await officer.setKeyPolicy('default', 'client-mod', null);
    expect(guarded.kind).toBe('approval');
    const fixed = await refusal(officer.setKeyPolicy('default', 'client-k1', null));
    expect([fixed.code, fixed.status]).toEqual(['key-not-modifiable', 403]);
  });

  it('revokes a partition once: its serials, then partition-revoked', async () => {
    const e = await refusal(pso.revokePartition('client-p2'));
    expect([e.code, e.status]).toEqual(['role-required', 403]);
    const r = await so.revokePartition('client-p2', 'keyCompromise');
    expect(r.kind).toBe('done');
    if (r.kind !== 'done') return;
    expect(r.value.partition).toBe('client-p2');
    expect(r.value.reason).toBe('keyCompromise');
    expect(r.value.revokedSerials).toHaveLength(2);
    const again = await refusal(so.revokePartition('client-p2'));
    expect([again.code, again.status]).toEqual(['partition-revoked', 403]);
  });
});

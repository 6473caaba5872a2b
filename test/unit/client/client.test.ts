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

// Post-quantum keys over the REST API: an ML-DSA key's public key as PEM and as the AKP JWK of
// draft-ietf-cose-dilithium, an SLH-DSA key's with "jwk": null, signing data, a digest refused
// with the HSM's invalid-argument, and verification; each answer checked against the document.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call -- every answer is checked against the OpenAPI document by the client before a test reads its fields as plain JSON */
import { createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePqSpki } from '../../../src/hsm/pq/index.js';
import { decodePem } from '../../../src/pki/index.js';
import { startApiFixture, type ApiFixture } from '../../helpers/api.js';

describe('post-quantum keys over the REST API', () => {
  let f: ApiFixture;
  let officer: string;
  let user: string;

  beforeAll(async () => {
    f = await startApiFixture({ store: 'sqlite' });
    officer = await f.token('app-officer', ['crypto-officer'], ['default']);
    user = await f.token('app-user', ['crypto-user'], ['default']);
  }, 120_000);

  afterAll(async () => {
    await f.close();
  });

  it('an ML-DSA key: AKP JWK of its raw public key, data signed, a digest refused', async () => {
    const made = await f.request('POST', '/v1/partitions/default/keys', {
      token: officer,
      json: { label: 'ml', algorithm: 'ml-dsa-65' },
    });
    expect(made.status).toBe(201);
    expect(made.json.algorithm).toBe('ml-dsa-65');
    const spki = decodePem(made.json.publicKey.pem, 'PUBLIC KEY');
    const { publicKey } = decodePqSpki(spki);
    expect(made.json.publicKey.jwk).toEqual({
      kty: 'AKP',
      alg: 'ML-DSA-65',
      pub: Buffer.from(publicKey).toString('base64url'),
    });
    // Node 20's OpenSSL cannot read the key: no other JWK writer was tried.
    expect(() =>
      createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }),
    ).toThrow();

    const data = Buffer.from('a message').toString('base64');
    const signed = await f.request('POST', '/v1/partitions/default/keys/ml/sign', {
      token: user,
      json: { data },
    });
    expect(signed.status).toBe(200);
    expect(signed.json.algorithm).toBe('ml-dsa-65');
    expect(Buffer.from(signed.json.signature, 'base64')).toHaveLength(3309);
    const verified = await f.request('POST', '/v1/partitions/default/keys/ml/verify', {
      token: user,
      json: { data, signature: signed.json.signature },
    });
    expect(verified.json.valid).toBe(true);
    const wrong = await f.request('POST', '/v1/partitions/default/keys/ml/verify', {
      token: user,
      json: { data: Buffer.from('another').toString('base64'), signature: signed.json.signature },
    });
    expect(wrong.json.valid).toBe(false);

    const digest = await f.request('POST', '/v1/partitions/default/keys/ml/sign', {
      token: user,
      json: { digest: Buffer.alloc(64, 1).toString('base64') },
    });
    expect([digest.status, digest.json.code]).toEqual([400, 'invalid-argument']);
    expect(digest.json.detail).toBe('the key algorithm signs whole messages only, not a digest');
  }, 60_000);

  it('an SLH-DSA key has no JWK form: jwk is null, the PEM is its SPKI', async () => {
    const made = await f.request('POST', '/v1/partitions/default/keys', {
      token: officer,
      json: { label: 'slh', algorithm: 'slh-dsa-sha2-128f' },
    });
    expect(made.status).toBe(201);
    expect(made.json.publicKey.jwk).toBeNull();
    const spki = decodePem(made.json.publicKey.pem, 'PUBLIC KEY');
    expect(decodePqSpki(spki).algorithm).toBe('slh-dsa-sha2-128f');
    const listed = await f.request('GET', '/v1/partitions/default/keys', { token: user });
    const slh = listed.json.keys.find((k: { label: string }) => k.label === 'slh');
    expect(slh.publicKey.jwk).toBeNull();
  }, 60_000);
});

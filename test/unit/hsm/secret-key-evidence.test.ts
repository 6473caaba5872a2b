// A secret key's attestation: evidence names it by its algorithm (ARC.5.13) and key check
// value (ARC.5.14), never an SPKI; the verifier reads such a key element, binds it with
// expectKcv, and a key attestation certificate, which needs a public key, is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectEvidence } from '../../../src/attestation/index.js';
import type { Hsm, KeyInfo } from '../../../src/hsm/index.js';
import { KEY_CLAIMS, parseEvidence } from '../../../src/pki/index.js';
import { createTestDevice } from '../../helpers/hsm.js';
import { expectHsmRejection } from './support.js';

let hsm: Hsm;
let key: KeyInfo;
let root: Uint8Array;

beforeAll(async () => {
  const d = await createTestDevice();
  hsm = d.hsm;
  key = await hsm.generateKey('default', { label: 'dek', algorithm: 'aes-256' });
  root = (await hsm.device()).rootCertificate;
}, 60_000);

afterAll(async () => {
  await hsm.close();
});

const options = () => ({ anchors: { certificates: [root] }, at: new Date(), allowSoftware: true });

describe('evidence of a secret key', () => {
  it('carries its algorithm and key check value, and no SPKI', async () => {
    const evidence = await hsm.attestKey('default', 'dek', { nonce: Uint8Array.of(1, 2, 3) });
    const element = parseEvidence(evidence).tbs.elements.find((e) =>
      e.claims.some((c) => c.oid === KEY_CLAIMS.identifier.oid),
    );
    const oids = element?.claims.map((c) => c.oid) ?? [];
    expect(oids).toContain(KEY_CLAIMS.keyAlgorithm.oid);
    expect(oids).toContain(KEY_CLAIMS.keyCheckValue.oid);
    expect(oids).not.toContain(KEY_CLAIMS.spki.oid);
  });

  it('verifies, reports the KCV in hex, binds to the expected KCV and to no other', async () => {
    const evidence = await hsm.attestKey('default', 'dek', { nonce: Uint8Array.of(9) });
    const report = await inspectEvidence(evidence, {
      ...options(),
      nonce: Uint8Array.of(9),
      expectKcv: key.spki,
      require: { extractable: false, 'never-extractable': true, local: true },
    });
    expect(report.outcome).toBe('verified');
    const [claims] = report.claims['keys'] as Record<string, unknown>[];
    expect(claims).toMatchObject({
      identifier: key.id,
      keyAlgorithm: 'aes-256',
      keyCheckValue: Buffer.from(key.spki).toString('hex'),
      purpose: ['encrypt', 'decrypt'],
    });
    expect(claims).not.toHaveProperty('spki');
    const other = key.spki.slice();
    other[0]! ^= 1;
    const wrong = await inspectEvidence(evidence, { ...options(), expectKcv: other });
    expect(wrong.outcome).not.toBe('verified');
    expect(wrong.checks.find((c) => c.id === 'key.binding')).toMatchObject({
      status: 'fail',
      detail: 'no key element has the expected key check value',
    });
  });

  it('is never a key attestation certificate: a secret key has no public key', async () => {
    const e = await expectHsmRejection(
      hsm.attestKey('default', 'dek', { format: 'certificate' }),
      'invalid-argument',
    );
    expect(e.message).toMatch(/secret key has none; attest it with evidence/);
  });
});

// Key agreement (src/hsm/mechanisms/agreement.ts): ECDH P-256/P-384 and X25519 give both sides
// the same secret, X25519 gives RFC 7748's answer, keys round-trip through their PKCS#8, and
// a peer key of another algorithm or a small-order X25519 point is refused.
import { createPrivateKey, createPublicKey, diffieHellman, KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { importKeyMaterial } from '../../../../src/hsm/key-crypto.js';
import { exportPkcs8, mechanismFor, spkiOf } from '../../../../src/hsm/mechanisms/index.js';
import { expectHsmError } from '../support.js';

const AGREEMENT = ['ecdh-p256', 'ecdh-p384', 'x25519'] as const;
const hex = (h: string): Buffer => Buffer.from(h, 'hex');
const b64u = (h: string): string => hex(h).toString('base64url');

// RFC 7748 6.1.
const ALICE_PRIVATE = '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a';
const ALICE_PUBLIC = '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a';
const BOB_PUBLIC = 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f';
const SHARED = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';

function x25519Public(x: string): Uint8Array {
  return spkiOf(createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64u(x) }, format: 'jwk' }));
}

describe.each(AGREEMENT)('%s', (name) => {
  const mechanism = mechanismFor(name);

  it('is an agreement key that neither signs nor verifies', () => {
    expect(mechanism.keyClass).toBe('agreement');
    expect(mechanism.info).toBeUndefined();
    expect(mechanism.sign).toBeUndefined();
    expect(mechanism.verifier).toBeUndefined();
    expect(mechanism.agree).toBeTypeOf('function');
  });

  it('both sides agree on one secret, which node:crypto computes too', async () => {
    const a = await mechanism.generate();
    const b = await mechanism.generate();
    const ab = mechanism.agree!(a.privateKey, b.publicPart);
    const ba = mechanism.agree!(b.privateKey, a.publicPart);
    expect(ab).toEqual(ba);
    expect(ab.length).toBe(name === 'ecdh-p384' ? 48 : 32);
    const c = await mechanism.generate();
    expect(mechanism.agree!(a.privateKey, c.publicPart)).not.toEqual(ab);
    const nodeSecret = diffieHellman({
      privateKey: a.privateKey as KeyObject,
      publicKey: createPublicKey({ key: Buffer.from(b.publicPart), format: 'der', type: 'spki' }),
    });
    expect(new Uint8Array(nodeSecret)).toEqual(ab);
  });

  it('round-trips its PKCS#8, and its public part is the SPKI', async () => {
    const k = await mechanism.generate();
    const loaded = mechanism.load(mechanism.encode(k.privateKey));
    expect(mechanism.publicPart(loaded)).toEqual(k.publicPart);
    expect(spkiOf(k.privateKey as KeyObject)).toEqual(k.publicPart);
  });

  it("refuses a peer key of another algorithm, naming it, and a mechanism's foreign PKCS#8", async () => {
    const other = AGREEMENT.find((n) => n !== name)!;
    const peer = await mechanismFor(other).generate();
    const own = await mechanism.generate();
    const refused = expectHsmError(
      () => mechanism.agree!(own.privateKey, peer.publicPart),
      'invalid-argument',
    );
    expect(refused.message).toBe('the peer public key is not of the named algorithm');
    expect(refused.details).toMatchObject({ algorithm: name });
    expectHsmError(
      () => mechanism.load(mechanismFor(other).encode(peer.privateKey)),
      'invalid-argument',
    );
    expectHsmError(
      () => mechanism.agree!(own.privateKey, Uint8Array.of(0x30, 0)),
      'invalid-argument',
    );
  });
});

describe('X25519 (RFC 7748)', () => {
  const x25519 = mechanismFor('x25519');
  const alice = createPrivateKey({
    key: { kty: 'OKP', crv: 'X25519', d: b64u(ALICE_PRIVATE), x: b64u(ALICE_PUBLIC) },
    format: 'jwk',
  });

  it("gives section 6.1's shared secret", () => {
    const key = x25519.load(exportPkcs8(alice));
    expect(Buffer.from(x25519.agree!(key, x25519Public(BOB_PUBLIC))).toString('hex')).toBe(SHARED);
    expect(Buffer.from(x25519.publicPart(key)).subarray(-32).toString('hex')).toBe(ALICE_PUBLIC);
  });

  it('refuses a small-order peer point (an all-zero secret)', () => {
    const key = x25519.load(exportPkcs8(alice));
    for (const point of ['00'.repeat(32), '01' + '00'.repeat(31)]) {
      const error = expectHsmError(
        () => x25519.agree!(key, x25519Public(point)),
        'invalid-argument',
      );
      expect(error.details).toEqual({ algorithm: 'x25519' });
    }
  });

  it('an imported X25519 PKCS#8 is an x25519 key; an EC one stays ECDSA', async () => {
    expect(importKeyMaterial(exportPkcs8(alice), false).algorithm).toBe('x25519');
    const ec = await mechanismFor('ecdh-p256').generate();
    expect(
      importKeyMaterial(mechanismFor('ecdh-p256').encode(ec.privateKey), false).algorithm,
    ).toBe('ecdsa-p256');
  });
});

// ML-KEM keys (src/hsm/mechanisms/ml-kem.ts): encapsulation to a key's public part decapsulates
// to the same secret, the key round-trips through its seed-only PKCS#8 and is imported as
// itself, a ciphertext not made for the key gives another secret (implicit rejection), and keys
// or ciphertexts of another parameter set are refused.
import { describe, expect, it } from 'vitest';
import { importKeyMaterial } from '../../../../src/hsm/key-crypto.js';
import { MaterialKey, mechanismFor } from '../../../../src/hsm/mechanisms/index.js';
import { expectHsmError } from '../support.js';

const KEMS = [
  ['ml-kem-768', 1088],
  ['ml-kem-1024', 1568],
] as const;

describe.each(KEMS)('%s', (name, ciphertextLength) => {
  const kem = mechanismFor(name);

  it('is a KEM key: it encapsulates and decapsulates, and never signs or agrees', () => {
    expect(kem.keyClass).toBe('kem');
    expect(kem.sign).toBeUndefined();
    expect(kem.agree).toBeUndefined();
    expect(kem.encapsulate).toBeTypeOf('function');
    expect(kem.decapsulate).toBeTypeOf('function');
  });

  it('decapsulates what was encapsulated to its public part, and only that', async () => {
    const key = await kem.generate();
    expect(key.privateKey).toBeInstanceOf(MaterialKey);
    const { ciphertext, sharedSecret } = kem.encapsulate!(key.publicPart);
    expect(ciphertext.length).toBe(ciphertextLength);
    expect(sharedSecret.length).toBe(32);
    expect(kem.decapsulate!(key.privateKey, ciphertext)).toEqual(sharedSecret);
    // Another key's ciphertext: a pseudorandom secret, not an error (FIPS 203 implicit rejection).
    const other = await kem.generate();
    const foreign = kem.encapsulate!(other.publicPart);
    expect(kem.decapsulate!(key.privateKey, foreign.ciphertext)).not.toEqual(foreign.sharedSecret);
    const flipped = ciphertext.slice();
    flipped[0]! ^= 1;
    expect(kem.decapsulate!(key.privateKey, flipped)).not.toEqual(sharedSecret);
    expectHsmError(
      () => kem.decapsulate!(key.privateKey, ciphertext.subarray(1)),
      'invalid-argument',
    );
  });

  it('round-trips its seed-only PKCS#8 and imports as itself', async () => {
    const key = await kem.generate();
    const pkcs8 = kem.encode(key.privateKey);
    const loaded = kem.load(pkcs8);
    expect(kem.publicPart(loaded)).toEqual(key.publicPart);
    const imported = importKeyMaterial(pkcs8, false);
    expect(imported.algorithm).toBe(name);
    expect(imported.publicPart).toEqual(key.publicPart);
    const { ciphertext, sharedSecret } = kem.encapsulate!(key.publicPart);
    expect(kem.decapsulate!(loaded, ciphertext)).toEqual(sharedSecret);
  });

  it('refuses the keys of the other parameter set, and a classical key', async () => {
    const [otherName] = KEMS.find(([n]) => n !== name)!;
    const other = mechanismFor(otherName);
    const otherKey = await other.generate();
    const error = expectHsmError(() => kem.encapsulate!(otherKey.publicPart), 'invalid-argument');
    expect(error.details).toEqual({ algorithm: name, type: otherName });
    expectHsmError(() => kem.load(other.encode(otherKey.privateKey)), 'invalid-argument');
    const ec = await mechanismFor('ecdh-p256').generate();
    expectHsmError(() => kem.encapsulate!(ec.publicPart), 'invalid-argument');
    expect(() => kem.decapsulate!(ec.privateKey, new Uint8Array(ciphertextLength))).toThrow();
  });
});

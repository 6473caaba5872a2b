// The JWK form of a public key from the registry's facts (src/pki/jwk.ts): ML-DSA as the AKP key
// type of draft-ietf-cose-dilithium (its pub the raw key, base64url), SLH-DSA none, classical
// and unknown keys left to node:crypto; the AKP thumbprint input (RFC 7638 members alg, kty, pub).
import { generateKeyPairSync } from 'node:crypto';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { describe, expect, it } from 'vitest';
import {
  akpThumbprintInput,
  encodeRawSpki,
  id_ml_dsa_44,
  id_ml_dsa_65,
  id_alg_ml_kem_768,
  id_slh_dsa_sha2_128f,
  id_slh_dsa_sha2_128s,
  jwkFormOf,
} from '../../../src/pki/index.js';

const b64url = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

describe('jwkFormOf', () => {
  it('writes an ML-DSA key as AKP with its parameter set as alg and the raw key as pub', () => {
    const { publicKey } = ml_dsa65.keygen(new Uint8Array(32).fill(7));
    const form = jwkFormOf(encodeRawSpki(id_ml_dsa_65, publicKey));
    expect(form).toEqual({
      kind: 'akp',
      jwk: { alg: 'ML-DSA-65', kty: 'AKP', pub: b64url(publicKey) },
    });
    const key44 = new Uint8Array(1312).fill(1);
    expect(jwkFormOf(encodeRawSpki(id_ml_dsa_44, key44))).toMatchObject({
      jwk: { alg: 'ML-DSA-44', pub: b64url(key44) },
    });
  });

  it('gives SLH-DSA keys no JWK, and leaves EC, RSA, Ed25519 and unknown keys to node:crypto', () => {
    expect(jwkFormOf(encodeRawSpki(id_slh_dsa_sha2_128f, new Uint8Array(32)))).toEqual({
      kind: 'none',
      reason: 'no JWK form is specified for slh-dsa-sha2-128f keys',
    });
    // A verify-only set and ML-KEM are not key algorithms of the HSM: not the registry's call.
    expect(jwkFormOf(encodeRawSpki(id_slh_dsa_sha2_128s, new Uint8Array(32))).kind).toBe('other');
    expect(jwkFormOf(encodeRawSpki(id_alg_ml_kem_768, new Uint8Array(1184))).kind).toBe('other');
    for (const pair of [
      generateKeyPairSync('ec', { namedCurve: 'P-256' }),
      generateKeyPairSync('ed25519'),
    ]) {
      const spki = new Uint8Array(pair.publicKey.export({ type: 'spki', format: 'der' }));
      expect(jwkFormOf(spki)).toEqual({ kind: 'other' });
    }
    expect(jwkFormOf(Uint8Array.of(0x30, 0x00))).toEqual({ kind: 'other' });
  });

  it('the AKP thumbprint input is the JSON of alg, kty and pub only, in that order', () => {
    const jwk = { alg: 'ML-DSA-44', kty: 'AKP', pub: 'AbC_-d' } as const;
    expect(akpThumbprintInput(jwk)).toBe('{"alg":"ML-DSA-44","kty":"AKP","pub":"AbC_-d"}');
    expect(akpThumbprintInput({ ...jwk, kid: 'x' } as typeof jwk)).toBe(akpThumbprintInput(jwk));
  });
});

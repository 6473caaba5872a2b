// The @noble/post-quantum backend (pure JavaScript, every Node version): ML-DSA (FIPS 204),
// SLH-DSA (FIPS 205) and ML-KEM (FIPS 203) from their seeds, hedged pure signatures with the
// empty context. The expanded keys it keeps stay inside the key objects it returns.
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { ml_kem1024, ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import {
  slh_dsa_sha2_128f,
  slh_dsa_sha2_128s,
  slh_dsa_sha2_192f,
  slh_dsa_sha2_192s,
  slh_dsa_sha2_256f,
  slh_dsa_sha2_256s,
  slh_dsa_shake_128f,
  slh_dsa_shake_128s,
  slh_dsa_shake_192f,
  slh_dsa_shake_192s,
  slh_dsa_shake_256f,
  slh_dsa_shake_256s,
} from '@noble/post-quantum/slh-dsa.js';
import { HsmError } from '../errors.js';
import {
  checkLength,
  checkSlhDsaPublicKey,
  kemParameters,
  parametersOf,
  signatureParameters,
} from './params.js';
import type { PqAlgorithm, PqBackend, PqKemAlgorithm, PqSignatureAlgorithm } from './types.js';

type NobleSigner = typeof ml_dsa44 | typeof slh_dsa_sha2_128s;

const SIGNERS: Readonly<Record<PqSignatureAlgorithm, NobleSigner>> = {
  'ml-dsa-44': ml_dsa44,
  'ml-dsa-65': ml_dsa65,
  'ml-dsa-87': ml_dsa87,
  'slh-dsa-sha2-128s': slh_dsa_sha2_128s,
  'slh-dsa-sha2-128f': slh_dsa_sha2_128f,
  'slh-dsa-sha2-192s': slh_dsa_sha2_192s,
  'slh-dsa-sha2-192f': slh_dsa_sha2_192f,
  'slh-dsa-sha2-256s': slh_dsa_sha2_256s,
  'slh-dsa-sha2-256f': slh_dsa_sha2_256f,
  'slh-dsa-shake-128s': slh_dsa_shake_128s,
  'slh-dsa-shake-128f': slh_dsa_shake_128f,
  'slh-dsa-shake-192s': slh_dsa_shake_192s,
  'slh-dsa-shake-192f': slh_dsa_shake_192f,
  'slh-dsa-shake-256s': slh_dsa_shake_256s,
  'slh-dsa-shake-256f': slh_dsa_shake_256f,
};

const KEMS: Readonly<Record<PqKemAlgorithm, typeof ml_kem768>> = {
  'ml-kem-768': ml_kem768,
  'ml-kem-1024': ml_kem1024,
};

const EMPTY_CONTEXT = new Uint8Array(0);

/**
 * The key pair of a seed: ML-DSA.KeyGen_internal(ξ) (FIPS 204 Algorithm 6),
 * ML-KEM.KeyGen_internal(d, z) (FIPS 203 Algorithm 16) or slh_keygen_internal (FIPS 205
 * Algorithm 18). `secretKey` is the expanded key (SLH-DSA: its raw 4n-octet private key).
 */
export function expandSeed(
  algorithm: PqAlgorithm,
  seed: Uint8Array,
): { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array } {
  const p = parametersOf(algorithm);
  checkLength(seed, p.seedLength, 'the seed', p);
  const impl =
    p.use === 'kem'
      ? KEMS[algorithm as PqKemAlgorithm]
      : SIGNERS[algorithm as PqSignatureAlgorithm];
  return impl.keygen(seed);
}

export const nobleBackend: PqBackend = {
  name: '@noble/post-quantum',
  supports: () => true,
  signingKey(algorithm, seed, publicKey) {
    const p = signatureParameters(algorithm);
    checkLength(seed, p.seedLength, 'the seed', p);
    const impl = SIGNERS[algorithm];
    let keys: { publicKey: Uint8Array; secretKey: Uint8Array };
    if (publicKey !== undefined && p.privateKeyForm === 'raw') {
      // SLH-DSA: SK.seed || SK.prf || PK.seed || PK.root, PK.root given (RFC 9909 7).
      checkSlhDsaPublicKey(p, seed, publicKey);
      const secretKey = new Uint8Array(p.privateKeyLength);
      secretKey.set(seed);
      secretKey.set(publicKey.subarray(p.publicKeyLength / 2), seed.length);
      keys = { publicKey: Uint8Array.from(publicKey), secretKey };
    } else keys = impl.keygen(seed);
    return {
      algorithm,
      publicKey: keys.publicKey,
      sign: (message) => impl.sign(message, keys.secretKey, { context: EMPTY_CONTEXT }),
    };
  },
  verify(algorithm, publicKey, message, signature) {
    const p = signatureParameters(algorithm);
    if (publicKey.length !== p.publicKeyLength || signature.length !== p.outputLength) return false;
    try {
      return SIGNERS[algorithm].verify(signature, message, publicKey, { context: EMPTY_CONTEXT });
    } catch {
      return false;
    }
  },
  decapsulationKey(algorithm, seed) {
    const p = kemParameters(algorithm);
    checkLength(seed, p.seedLength, 'the seed', p);
    const impl = KEMS[algorithm];
    const keys = impl.keygen(seed);
    return {
      algorithm,
      publicKey: keys.publicKey,
      decapsulate(ciphertext) {
        checkLength(ciphertext, p.outputLength, 'the ciphertext', p);
        return impl.decapsulate(ciphertext, keys.secretKey);
      },
    };
  },
  encapsulate(algorithm, publicKey) {
    const p = kemParameters(algorithm);
    checkLength(publicKey, p.publicKeyLength, 'the encapsulation key', p);
    let result: { cipherText: Uint8Array; sharedSecret: Uint8Array };
    try {
      // FIPS 203 7.2: the modulus check of the encapsulation key comes first.
      result = KEMS[algorithm].encapsulate(publicKey);
    } catch (cause) {
      throw new HsmError('invalid-argument', 'not a valid encapsulation key', {
        cause,
        details: { algorithm },
      });
    }
    return { ciphertext: result.cipherText, sharedSecret: result.sharedSecret };
  },
};

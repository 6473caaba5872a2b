// The post-quantum primitives for the HSM (FIPS 203, 204, 205): one backend per algorithm,
// node:crypto where this Node's OpenSSL has it (Node 24 and later), @noble/post-quantum
// otherwise; seeds, key loading, signatures, encapsulation, and the PKCS#8 and SPKI encodings.
import { randomBytes } from 'node:crypto';
import { nobleBackend } from './noble.js';
import { nodeBackend } from './node.js';
import { parametersOf } from './params.js';
import type { PqAlgorithm, PqBackend } from './types.js';

export type {
  Encapsulation,
  PqAlgorithm,
  PqBackend,
  PqDecapsulationKey,
  PqKemAlgorithm,
  PqSignatureAlgorithm,
  PqSigningKey,
} from './types.js';
export { PQ_ALGORITHMS, parametersOf as pqParameters, type PqParameters } from './params.js';
export {
  decodePqPkcs8,
  decodePqSpki,
  encodePqPkcs8,
  encodePqSpki,
  importPqPkcs8,
  type DecodedPqPrivateKey,
  type ImportedPqKey,
  type Pkcs8Options,
} from './encoding.js';
export { nobleBackend, nodeBackend };

/** The backend that runs `algorithm` here: node:crypto when it has it, else the noble one. */
export function pqBackend(algorithm: PqAlgorithm): PqBackend {
  return nodeBackend.supports(algorithm) ? nodeBackend : nobleBackend;
}

/**
 * A fresh seed for a key of `algorithm` (FIPS 204 Algorithm 1 line 1, FIPS 203 Algorithm 19
 * lines 1-2, FIPS 205 Algorithm 21 lines 1-3), from `random` (the CSPRNG by default).
 */
export function generatePqSeed(
  algorithm: PqAlgorithm,
  random: (length: number) => Uint8Array = (n) => new Uint8Array(randomBytes(n)),
): Uint8Array {
  const length = parametersOf(algorithm).seedLength;
  const seed = random(length);
  if (seed.length !== length) throw new Error('the random source gave the wrong length');
  return seed;
}

// ML-KEM-768 and ML-KEM-1024 keys (FIPS 203) over the post-quantum adapter (src/hsm/pq:
// node:crypto where OpenSSL has ML-KEM, @noble/post-quantum otherwise). A key is kept as its
// seed d || z (RFC 9935 6) in a MaterialKey and loaded into the backend for each
// decapsulation; its PKCS#8 is the seed-only form, its SPKI that of RFC 9935 4.
import { HsmError } from '../errors.js';
import {
  decodePqSpki,
  encodePqPkcs8,
  encodePqSpki,
  generatePqSeed,
  importPqPkcs8,
  pqBackend,
  pqParameters,
  type PqKemAlgorithm,
} from '../pq/index.js';
import type { OtherAlgorithm } from './algorithms.js';
import { MaterialKey } from './material-key.js';
import type { Mechanism, OtherMechanismFamily, PrivateKeyHandle } from './types.js';

const KEMS = ['ml-kem-768', 'ml-kem-1024'] as const satisfies readonly (OtherAlgorithm &
  PqKemAlgorithm)[];
type Kem = (typeof KEMS)[number];

function isKem(name: string): name is Kem {
  return (KEMS as readonly string[]).includes(name);
}

function seedOf(name: Kem, key: PrivateKeyHandle): Uint8Array {
  if (!(key instanceof MaterialKey)) throw new Error(`a node:crypto key was given to ${name}`);
  return key.materialFor(name);
}

function kemMechanism(name: Kem): Mechanism {
  const keyOf = (seed: Uint8Array): MaterialKey => {
    const publicKey = pqBackend(name).decapsulationKey(name, seed).publicKey;
    return new MaterialKey(name, seed, encodePqSpki(name, publicKey));
  };
  return {
    name,
    keyClass: 'kem',
    // A KEM key only derives: a key made from a decapsulated secret (src/hsm/keys/derive.ts).
    purposes: { default: ['derive'], allowed: ['derive'] },
    pkcs8Oids: [pqParameters(name).oid],
    generate() {
      const seed = generatePqSeed(name);
      try {
        const key = keyOf(seed);
        return Promise.resolve({ privateKey: key, publicPart: key.publicPart });
      } finally {
        seed.fill(0);
      }
    },
    load(pkcs8) {
      const imported = importPqPkcs8(pkcs8);
      try {
        if (imported.algorithm !== name) {
          throw new HsmError('invalid-argument', 'the private key is not of the named algorithm', {
            details: { algorithm: name, type: imported.algorithm },
          });
        }
        return keyOf(imported.seed);
      } finally {
        imported.seed.fill(0);
      }
    },
    encode: (key) => encodePqPkcs8(name, seedOf(name, key)),
    publicPart(key) {
      seedOf(name, key);
      return (key as MaterialKey).publicPart;
    },
    encapsulate(spki) {
      const peer = decodePqSpki(spki);
      if (peer.algorithm !== name) {
        throw new HsmError(
          'invalid-argument',
          'the peer public key is not of the named algorithm',
          {
            details: { algorithm: name, type: peer.algorithm },
          },
        );
      }
      return pqBackend(name).encapsulate(name, peer.publicKey);
    },
    decapsulate: (key, ciphertext) =>
      pqBackend(name).decapsulationKey(name, seedOf(name, key)).decapsulate(ciphertext),
  };
}

export const mlKem: OtherMechanismFamily = {
  algorithms: KEMS,
  mechanism(name) {
    if (!isKem(name)) throw new Error(`ML-KEM family: no ${name}`);
    return kemMechanism(name);
  },
};

// The private-key side of the post-quantum signature families (ml-dsa.ts, slh-dsa.ts): a key is
// its seed in a MaterialKey (FIPS 204 ξ; FIPS 205 SK.seed || SK.prf || PK.seed), loaded once into
// the src/hsm/pq backend that runs the algorithm here (node:crypto when this Node's OpenSSL has
// it, @noble/post-quantum otherwise), sealed and exported as seed-form PKCS#8 (RFC 9881 6; SLH-DSA
// raw, RFC 9909 7). Pure signatures with the empty context only: no digest mode.
import type { KeyAlgorithmInfo } from '../../pki/index.js';
import { HsmError } from '../errors.js';
import {
  decodePqSpki,
  encodePqPkcs8,
  encodePqSpki,
  generatePqSeed,
  importPqPkcs8,
  pqBackend,
  pqParameters,
  type PqSignatureAlgorithm,
  type PqSigningKey,
} from '../pq/index.js';
import { MaterialKey } from './material-key.js';
import type { PrivateKeyHandle, SigningMechanism } from './types.js';

/** The MaterialKey of a handle this mechanism made (a KeyObject here is a bug). */
function materialKey(handle: PrivateKeyHandle, algorithm: string): MaterialKey {
  if (!(handle instanceof MaterialKey)) {
    throw new Error(`a node:crypto key was given to the ${algorithm} mechanism`);
  }
  return handle;
}

/** The mechanism of one ML-DSA or SLH-DSA key algorithm. */
export function pqSigningMechanism(info: KeyAlgorithmInfo): SigningMechanism {
  const parameters = pqParameters(info.name);
  // A key algorithm of src/pki that the adapter cannot sign with is a registry bug: fail at load.
  if (parameters.use !== 'signature') throw new Error(`mechanism ${info.name}: not a signature`);
  const algorithm = parameters.name as PqSignatureAlgorithm;
  const backend = pqBackend(algorithm);
  /**
   * The backend's key object of each key, made once (ML-DSA expands ξ into its matrix and
   * vectors, SLH-DSA is given its PK.root), dropped with the MaterialKey.
   */
  const loaded = new WeakMap<MaterialKey, PqSigningKey>();

  const rawPublicKey = (key: MaterialKey): Uint8Array => decodePqSpki(key.publicPart).publicKey;
  const signingKey = (key: MaterialKey): PqSigningKey => {
    let signer = loaded.get(key);
    if (signer === undefined) {
      signer = backend.signingKey(algorithm, key.materialFor(algorithm), rawPublicKey(key));
      loaded.set(key, signer);
    }
    return signer;
  };

  return {
    name: info.name,
    keyClass: 'signature',
    info,
    pkcs8Oids: [info.spkiOid],
    generate() {
      const seed = generatePqSeed(algorithm);
      try {
        const signer = backend.signingKey(algorithm, seed);
        const spki = encodePqSpki(algorithm, signer.publicKey);
        const key = new MaterialKey(algorithm, seed, spki);
        loaded.set(key, signer);
        return Promise.resolve({ privateKey: key, publicPart: spki });
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error('key generation failed'));
      } finally {
        seed.fill(0);
      }
    },
    load(pkcs8) {
      // Every form of RFC 9881 6 / RFC 9909 7 is read; a key without its seed is refused, and
      // whatever it carries besides the seed must be what the seed gives (RFC 9881 8.2).
      const imported = importPqPkcs8(pkcs8);
      try {
        if (imported.algorithm !== algorithm) {
          throw new HsmError('invalid-argument', 'the private key is not of the named algorithm', {
            details: { algorithm: info.name, type: imported.algorithm },
          });
        }
        return new MaterialKey(
          algorithm,
          imported.seed,
          encodePqSpki(algorithm, imported.publicKey),
        );
      } finally {
        imported.seed.fill(0);
      }
    },
    encode(handle) {
      const key = materialKey(handle, algorithm);
      // SLH-DSA's PKCS#8 carries PK.root, which the public part holds: no key generation here.
      return encodePqPkcs8(algorithm, key.materialFor(algorithm), {
        publicKey: rawPublicKey(key),
      });
    },
    publicPart: (handle) => Uint8Array.from(materialKey(handle, algorithm).publicPart),
    sign: (handle, data) => signingKey(materialKey(handle, algorithm)).sign(data),
    verifier(spki) {
      const key = decodePqSpki(spki);
      if (key.algorithm !== algorithm) {
        throw new HsmError('invalid-argument', 'the public key is not of the named algorithm', {
          details: { algorithm: info.name, type: key.algorithm },
        });
      }
      const publicKey = key.publicKey;
      return (data, signature) => backend.verify(algorithm, publicKey, data, signature);
    },
  };
}

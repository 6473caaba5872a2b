// The node:crypto backend: ML-DSA, SLH-DSA and ML-KEM in OpenSSL 3.5, which Node 24 and later
// carry. Whether this Node has each algorithm is detected once when the module loads, by
// importing a probe key in the seed-only PKCS#8 form the adapter writes (no key generation, so
// it costs microseconds); Node 20 has none of them and the noble backend stands in.
import * as crypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { HsmError } from '../errors.js';
import { decodePqSpki, encodePqPkcs8, encodePqSpki } from './encoding.js';
import { expandSeed } from './noble.js';
import {
  checkLength,
  checkSlhDsaPublicKey,
  kemParameters,
  PQ_ALGORITHMS,
  parametersOf,
  signatureParameters,
} from './params.js';
import type { PqAlgorithm, PqBackend, PqKemAlgorithm } from './types.js';

/** The KEM functions of node:crypto (Node 24.7 and later), absent from Node 20's typings. */
interface NodeKem {
  readonly encapsulate?: (key: KeyObject) => { sharedKey: Buffer; ciphertext: Buffer };
  readonly decapsulate?: (key: KeyObject, ciphertext: Uint8Array) => Buffer;
}
const kem = crypto as unknown as NodeKem;

function privateKeyOf(pkcs8: Uint8Array): KeyObject {
  return crypto.createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
}

function publicKeyOf(spki: Uint8Array): KeyObject {
  return crypto.createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
}

/** The raw public key of a node KeyObject, read back from its SPKI. */
function rawPublicKey(key: KeyObject): Uint8Array {
  const spki = new Uint8Array(crypto.createPublicKey(key).export({ type: 'spki', format: 'der' }));
  return decodePqSpki(spki).publicKey;
}

/**
 * Whether this Node's OpenSSL has the algorithm: it imports a key of it under its own name, and
 * verifies a signature (false, not an error) or encapsulates with its public key. No key
 * generation and no signing, so the probe of all seventeen takes milliseconds.
 */
function probe(algorithm: PqAlgorithm): boolean {
  const p = parametersOf(algorithm);
  if (p.use === 'kem' && (kem.encapsulate === undefined || kem.decapsulate === undefined))
    return false;
  try {
    const seed = new Uint8Array(p.seedLength).fill(0x5a);
    // SLH-DSA: a PK.root of zeros will do (OpenSSL does not check it; nothing signs with it).
    const publicKey = new Uint8Array(p.publicKeyLength);
    publicKey.set(seed.subarray(seed.length - p.publicKeyLength / 2));
    const options = p.privateKeyForm === 'raw' ? { publicKey } : {};
    const key = privateKeyOf(encodePqPkcs8(algorithm, seed, options));
    // Node 20's typings know no post-quantum key type: compare as text.
    const type: string | undefined = key.asymmetricKeyType;
    if (type !== algorithm) return false;
    const pub = crypto.createPublicKey(key);
    if (p.use === 'kem') return kem.encapsulate!(pub).ciphertext.length === p.outputLength;
    return !crypto.verify(null, seed, pub, new Uint8Array(p.outputLength));
  } catch {
    return false;
  }
}

const SUPPORTED: ReadonlySet<PqAlgorithm> = new Set(PQ_ALGORITHMS.filter(probe));

function unsupported(algorithm: PqAlgorithm): HsmError {
  return new HsmError('invalid-argument', 'this node:crypto lacks the algorithm', {
    details: { algorithm },
  });
}

function check(algorithm: PqAlgorithm): void {
  if (!SUPPORTED.has(algorithm)) throw unsupported(algorithm);
}

export const nodeBackend: PqBackend = {
  name: 'node:crypto',
  supports: (algorithm) => SUPPORTED.has(algorithm),
  signingKey(algorithm, seed, publicKey) {
    const p = signatureParameters(algorithm);
    check(algorithm);
    checkLength(seed, p.seedLength, 'the seed', p);
    // OpenSSL imports SLH-DSA keys only with PK.root, which it does not check: compute it from
    // the seed (FIPS 205 Algorithm 18) unless the caller knows it.
    let known: Uint8Array | undefined;
    if (p.privateKeyForm === 'raw') {
      if (publicKey !== undefined) checkSlhDsaPublicKey(p, seed, publicKey);
      known = publicKey ?? expandSeed(algorithm, seed).publicKey;
    }
    const key = privateKeyOf(
      encodePqPkcs8(algorithm, seed, known === undefined ? {} : { publicKey: known }),
    );
    return {
      algorithm,
      publicKey: known === undefined ? rawPublicKey(key) : Uint8Array.from(known),
      // Pure ML-DSA and SLH-DSA with the empty context: node:crypto's default, hedged.
      sign: (message) => new Uint8Array(crypto.sign(null, message, key)),
    };
  },
  verify(algorithm, publicKey, message, signature) {
    const p = signatureParameters(algorithm);
    check(algorithm);
    if (publicKey.length !== p.publicKeyLength || signature.length !== p.outputLength) return false;
    try {
      return crypto.verify(
        null,
        message,
        publicKeyOf(encodePqSpki(algorithm, publicKey)),
        signature,
      );
    } catch {
      return false;
    }
  },
  decapsulationKey(algorithm, seed) {
    const p = kemParameters(algorithm);
    check(algorithm);
    checkLength(seed, p.seedLength, 'the seed', p);
    const key = privateKeyOf(encodePqPkcs8(algorithm, seed));
    const decapsulate = kem.decapsulate!;
    return {
      algorithm,
      publicKey: rawPublicKey(key),
      decapsulate(ciphertext) {
        checkLength(ciphertext, p.outputLength, 'the ciphertext', p);
        return new Uint8Array(decapsulate(key, ciphertext));
      },
    };
  },
  encapsulate(algorithm: PqKemAlgorithm, publicKey) {
    const p = kemParameters(algorithm);
    check(algorithm);
    checkLength(publicKey, p.publicKeyLength, 'the encapsulation key', p);
    let result: { sharedKey: Buffer; ciphertext: Buffer };
    try {
      // OpenSSL runs the modulus check of FIPS 203 7.2 when the key is imported.
      result = kem.encapsulate!(publicKeyOf(encodePqSpki(algorithm, publicKey)));
    } catch (cause) {
      throw new HsmError('invalid-argument', 'not a valid encapsulation key', {
        cause,
        details: { algorithm },
      });
    }
    return {
      ciphertext: new Uint8Array(result.ciphertext),
      sharedSecret: new Uint8Array(result.sharedKey),
    };
  },
};

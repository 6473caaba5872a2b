// ML-KEM (FIPS 203) public keys in X.509: id-alg-ml-kem-512/768/1024 SPKIs with absent parameters
// and the raw encapsulation key in the BIT STRING (RFC 9935 3-4). A KEM key signs nothing: the
// family reads its SPKIs (a certificate may carry one) and has no signature identifiers.
import { id_alg_ml_kem_1024, id_alg_ml_kem_512, id_alg_ml_kem_768 } from '../oids.js';
import { readRawKey } from './raw-keys.js';
import type { AlgorithmFamily, PublicKeyReader } from './types.js';

/** One ML-KEM parameter set's public facts (FIPS 203 8, Tables 2 and 3). */
export interface MlKemParameterSet {
  /** The project's name for it: 'ml-kem-768'. */
  readonly name: 'ml-kem-512' | 'ml-kem-768' | 'ml-kem-1024';
  /** FIPS 203's name: 'ML-KEM-768'. */
  readonly label: string;
  readonly oid: string;
  /** The seed d || z a key is generated from (FIPS 203 Algorithm 16), and stored as (RFC 9935 6). */
  readonly seedLength: 64;
  /** The encapsulation key ek (FIPS 203 7.1). */
  readonly publicKeyLength: number;
  /** The decapsulation key dk (the RFC 9935 expandedKey choice). */
  readonly expandedKeyLength: number;
  readonly ciphertextLength: number;
  readonly sharedSecretLength: 32;
}

export const ML_KEM_PARAMETER_SETS = [
  {
    name: 'ml-kem-512',
    label: 'ML-KEM-512',
    oid: id_alg_ml_kem_512,
    seedLength: 64,
    publicKeyLength: 800,
    expandedKeyLength: 1632,
    ciphertextLength: 768,
    sharedSecretLength: 32,
  },
  {
    name: 'ml-kem-768',
    label: 'ML-KEM-768',
    oid: id_alg_ml_kem_768,
    seedLength: 64,
    publicKeyLength: 1184,
    expandedKeyLength: 2400,
    ciphertextLength: 1088,
    sharedSecretLength: 32,
  },
  {
    name: 'ml-kem-1024',
    label: 'ML-KEM-1024',
    oid: id_alg_ml_kem_1024,
    seedLength: 64,
    publicKeyLength: 1568,
    expandedKeyLength: 3168,
    ciphertextLength: 1568,
    sharedSecretLength: 32,
  },
] as const satisfies readonly MlKemParameterSet[];

export interface MlKemPublicKey {
  readonly kind: 'ml-kem';
  readonly set: MlKemParameterSet;
  /** The encapsulation key ek, raw in the BIT STRING (RFC 9935 4). */
  readonly key: Uint8Array;
}

const publicKeyReader = (set: MlKemParameterSet): PublicKeyReader<MlKemPublicKey> => ({
  oid: set.oid,
  read(_spki, params, keyBits) {
    // RFC 9935 3: the parameters MUST be absent; one key length per parameter set.
    const key = readRawKey(set.label, 'RFC 9935 3', params, keyBits, set.publicKeyLength);
    return key instanceof Uint8Array ? { kind: 'ml-kem', set, key } : key;
  },
  label: () => set.label,
  weakness: () => undefined,
});

export const mlKem = {
  name: 'ml-kem',
  keyAlgorithms: [],
  publicKeys: ML_KEM_PARAMETER_SETS.map(publicKeyReader),
  // A KEM key verifies no signature: no signature identifier names it.
  signatures: [],
} as const satisfies AlgorithmFamily;

// ML-DSA (FIPS 204) in X.509 and the CMS: id-ml-dsa-44/65/87 SPKIs and signature identifiers with
// absent parameters (RFC 9881 2-4), pure ML-DSA with the empty context (RFC 9881 3, RFC 9882
// 3.2), verified with @noble/post-quantum; the digests a SignerInfo may name (RFC 9882 3.3); and
// the three key algorithms the HSM issues (its mechanism: src/hsm/mechanisms/ml-dsa.ts).
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { algorithmIdentifier } from '../der-writer.js';
import { id_ml_dsa_44, id_ml_dsa_65, id_ml_dsa_87 } from '../oids.js';
import { cmsDigestProblem } from './cms-digests.js';
import { readRawKey } from './raw-keys.js';
import {
  unsupported,
  type AlgorithmFamily,
  type KeyAlgorithmDef,
  type PublicKeyReader,
  type SignatureReader,
  type Tagged,
} from './types.js';

/** One ML-DSA parameter set's public facts (FIPS 204 4, Table 2; RFC 9881 Appendix B). */
export interface MlDsaParameterSet {
  /** The project's name for it: 'ml-dsa-65'. */
  readonly name: 'ml-dsa-44' | 'ml-dsa-65' | 'ml-dsa-87';
  /** FIPS 204's name: 'ML-DSA-65'. */
  readonly label: string;
  readonly oid: string;
  /** The seed ξ a key is generated from (FIPS 204 Algorithm 6), and stored as (RFC 9881 6). */
  readonly seedLength: 32;
  readonly publicKeyLength: number;
  /** The expanded private key of FIPS 204 7.2 (the RFC 9881 expandedKey choice). */
  readonly expandedKeyLength: number;
  readonly signatureLength: number;
  /** Collision strength λ in bits (FIPS 204 Table 1), the floor of a CMS digest. */
  readonly strength: 128 | 192 | 256;
}

export const ML_DSA_PARAMETER_SETS = [
  {
    name: 'ml-dsa-44',
    label: 'ML-DSA-44',
    oid: id_ml_dsa_44,
    seedLength: 32,
    publicKeyLength: 1312,
    expandedKeyLength: 2560,
    signatureLength: 2420,
    strength: 128,
  },
  {
    name: 'ml-dsa-65',
    label: 'ML-DSA-65',
    oid: id_ml_dsa_65,
    seedLength: 32,
    publicKeyLength: 1952,
    expandedKeyLength: 4032,
    signatureLength: 3309,
    strength: 192,
  },
  {
    name: 'ml-dsa-87',
    label: 'ML-DSA-87',
    oid: id_ml_dsa_87,
    seedLength: 32,
    publicKeyLength: 2592,
    expandedKeyLength: 4896,
    signatureLength: 4627,
    strength: 256,
  },
] as const satisfies readonly MlDsaParameterSet[];

const VERIFY: Readonly<Record<MlDsaParameterSet['name'], typeof ml_dsa44>> = {
  'ml-dsa-44': ml_dsa44,
  'ml-dsa-65': ml_dsa65,
  'ml-dsa-87': ml_dsa87,
};

export interface MlDsaPublicKey {
  readonly kind: 'ml-dsa';
  readonly set: MlDsaParameterSet;
  /** pkEncode(ρ, t1) (FIPS 204 Algorithm 22), raw in the BIT STRING (RFC 9881 4). */
  readonly key: Uint8Array;
}

export interface MlDsaScheme {
  readonly kind: 'ml-dsa';
  readonly set: MlDsaParameterSet;
}

function isMlDsaKey(key: Tagged): key is MlDsaPublicKey {
  return key.kind === 'ml-dsa';
}

const publicKeyReader = (set: MlDsaParameterSet): PublicKeyReader<MlDsaPublicKey> => ({
  oid: set.oid,
  read(_spki, params, keyBits) {
    // RFC 9881 2: the parameters MUST be absent; one key length per parameter set.
    const key = readRawKey(set.label, 'RFC 9881 2', params, keyBits, set.publicKeyLength);
    return key instanceof Uint8Array ? { kind: 'ml-dsa', set, key } : key;
  },
  label: () => set.label,
  weakness: () => undefined,
});

const BY_OID = new Map<string, MlDsaParameterSet>(ML_DSA_PARAMETER_SETS.map((s) => [s.oid, s]));
const EMPTY_CONTEXT = new Uint8Array(0);

const mlDsaSignature: SignatureReader<MlDsaScheme> = {
  oids: ML_DSA_PARAMETER_SETS.map((s) => s.oid),
  read(_der, oid, params, rest) {
    const set = BY_OID.get(oid);
    if (set === undefined)
      return unsupported(`signature algorithm ${oid} is not on the allow-list`);
    // RFC 9881 3, RFC 9882 3.3: the parameters MUST be absent.
    if (params !== undefined || rest.length > 0)
      return unsupported(`${set.label} parameters must be absent (RFC 9881 3)`);
    return { kind: 'ml-dsa', set };
  },
  label: (scheme) => scheme.set.label,
  verify(scheme, key, _spki, data, signature) {
    // The key must be of the parameter set the identifier names (one OID per set).
    if (!isMlDsaKey(key) || key.set.name !== scheme.set.name) return false;
    if (signature.length !== scheme.set.signatureLength) return false;
    // Pure ML-DSA over the whole message with the empty context (RFC 9881 3, RFC 9882 3.2).
    return VERIFY[scheme.set.name].verify(signature, data, key.key, { context: EMPTY_CONTEXT });
  },
  cmsDigestProblem: (scheme, digestOid, hasParameters) =>
    cmsDigestProblem(
      scheme.set.label,
      scheme.set.strength,
      'RFC 9882 3.3',
      digestOid,
      hasParameters,
    ),
};

/**
 * An ML-DSA key algorithm of the HSM: pure ML-DSA only (no HashML-DSA, so no digest mode), its
 * AlgorithmIdentifier with absent parameters (RFC 9881 3), SHA-512 as the SignerInfo digest
 * (RFC 9882 3.3: MUST be supported for every parameter set, and strong enough for all of them).
 */
const mlDsaKey = (set: (typeof ML_DSA_PARAMETER_SETS)[number]) =>
  ({
    name: set.name,
    family: 'ml-dsa',
    mechanism: 'ml-dsa',
    spkiOid: set.oid,
    hash: undefined,
    signatureOid: set.oid,
    signatureAlgorithm: algorithmIdentifier(set.oid),
    cmsDigest: 'sha512',
    verifyAfterSign: false,
    opensslTsLimitation: 'OpenSSL has no ML-DSA before 3.5, and 3.5 and later are untested here',
    tokenVerifiers:
      'attestamp-verify verifies them (and node:crypto on Node 24 or later checks the signature over the signed attributes)',
    postQuantum: true,
    // draft-ietf-cose-dilithium: kty AKP, alg ML-DSA-44/65/87, pub the raw public key.
    jwkAlg: set.label,
  }) as const satisfies KeyAlgorithmDef;

const [ML_DSA_44, ML_DSA_65, ML_DSA_87] = ML_DSA_PARAMETER_SETS;

export const mlDsa = {
  name: 'ml-dsa',
  keyAlgorithms: [mlDsaKey(ML_DSA_44), mlDsaKey(ML_DSA_65), mlDsaKey(ML_DSA_87)],
  publicKeys: ML_DSA_PARAMETER_SETS.map(publicKeyReader),
  signatures: [mlDsaSignature],
} as const satisfies AlgorithmFamily;

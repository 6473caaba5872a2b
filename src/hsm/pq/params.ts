// The parameter sets the adapter knows, flattened from the public facts in src/pki/algorithms and
// looked up by name and by OID, and the length checks every backend makes the same way.
import {
  ML_DSA_PARAMETER_SETS,
  ML_KEM_PARAMETER_SETS,
  SLH_DSA_PARAMETER_SETS,
  unknownKeyAlgorithm,
} from '../../pki/index.js';
import { bytesEqual } from '../../shared/index.js';
import { HsmError } from '../errors.js';
import type { PqAlgorithm, PqKemAlgorithm, PqSignatureAlgorithm } from './types.js';

export interface PqParameters {
  readonly name: PqAlgorithm;
  /** The FIPS name: 'ML-DSA-65'. */
  readonly label: string;
  /** The OID of the SPKI, the PKCS#8 and (signatures) the signature AlgorithmIdentifier. */
  readonly oid: string;
  readonly use: 'signature' | 'kem';
  /**
   * How PKCS#8 carries the private key: the seed / expandedKey / both CHOICE of RFC 9881 6 and
   * RFC 9935 6, or SLH-DSA's raw SK.seed || SK.prf || PK.seed || PK.root (RFC 9909 7).
   */
  readonly privateKeyForm: 'choice' | 'raw';
  /** ξ (32), d || z (64), or SK.seed || SK.prf || PK.seed (3n). */
  readonly seedLength: number;
  readonly publicKeyLength: number;
  /** The expanded private key of the CHOICE, or SLH-DSA's raw private key (4n). */
  readonly privateKeyLength: number;
  /** Signatures: the signature length; KEMs: the ciphertext length. */
  readonly outputLength: number;
}

const ALL: readonly PqParameters[] = [
  ...ML_DSA_PARAMETER_SETS.map((s): PqParameters => ({
    name: s.name,
    label: s.label,
    oid: s.oid,
    use: 'signature',
    privateKeyForm: 'choice',
    seedLength: s.seedLength,
    publicKeyLength: s.publicKeyLength,
    privateKeyLength: s.expandedKeyLength,
    outputLength: s.signatureLength,
  })),
  ...SLH_DSA_PARAMETER_SETS.map((s): PqParameters => ({
    name: s.name,
    label: s.label,
    oid: s.oid,
    use: 'signature',
    privateKeyForm: 'raw',
    seedLength: s.seedLength,
    publicKeyLength: s.publicKeyLength,
    privateKeyLength: s.privateKeyLength,
    outputLength: s.signatureLength,
  })),
  // ML-KEM-512 (security category 1) is read in SPKIs only; the adapter offers 768 and 1024.
  ...ML_KEM_PARAMETER_SETS.filter((s) => s.publicKeyLength > 800).map((s): PqParameters => ({
    name: s.name as PqKemAlgorithm,
    label: s.label,
    oid: s.oid,
    use: 'kem',
    privateKeyForm: 'choice',
    seedLength: s.seedLength,
    publicKeyLength: s.publicKeyLength,
    privateKeyLength: s.expandedKeyLength,
    outputLength: s.ciphertextLength,
  })),
];

const BY_NAME = new Map<string, PqParameters>(ALL.map((p) => [p.name, p]));
const BY_OID = new Map<string, PqParameters>(ALL.map((p) => [p.oid, p]));

/** Every algorithm of the adapter, signatures first. */
export const PQ_ALGORITHMS: readonly PqAlgorithm[] = ALL.map((p) => p.name);

/** The parameters of an algorithm name; PkiError algorithm-unsupported for another name. */
export function parametersOf(algorithm: string): PqParameters {
  const p = BY_NAME.get(algorithm);
  if (p === undefined) throw unknownKeyAlgorithm(algorithm);
  return p;
}

/** The parameters of an SPKI or PKCS#8 algorithm OID, undefined when the adapter has none. */
export function parametersOfOid(oid: string): PqParameters | undefined {
  return BY_OID.get(oid);
}

/** The parameters of a signature algorithm (HsmError invalid-argument for a KEM). */
export function signatureParameters(algorithm: PqSignatureAlgorithm): PqParameters {
  return ofUse(algorithm, 'signature');
}

/** The parameters of a KEM (HsmError invalid-argument for a signature algorithm). */
export function kemParameters(algorithm: PqKemAlgorithm): PqParameters {
  return ofUse(algorithm, 'kem');
}

function ofUse(algorithm: string, use: PqParameters['use']): PqParameters {
  const p = parametersOf(algorithm);
  if (p.use !== use) {
    throw new HsmError(
      'invalid-argument',
      use === 'kem' ? 'the key algorithm does not encapsulate' : 'the key algorithm does not sign',
      { details: { algorithm } },
    );
  }
  return p;
}

/** Throws HsmError invalid-argument unless `bytes` has `length` octets. */
export function checkLength(
  bytes: Uint8Array,
  length: number,
  what: string,
  p: PqParameters,
): void {
  if (bytes.length !== length) {
    throw new HsmError('invalid-argument', `${what} must be ${length} octets`, {
      details: { algorithm: p.name, length: bytes.length },
    });
  }
}

/**
 * An SLH-DSA public key given beside its seed (to spare recomputing PK.root) must be PK.seed ||
 * PK.root with the seed's PK.seed, its last n octets (FIPS 205 9.1, 10.1).
 */
export function checkSlhDsaPublicKey(
  p: PqParameters,
  seed: Uint8Array,
  publicKey: Uint8Array,
): void {
  checkLength(publicKey, p.publicKeyLength, 'the public key', p);
  const n = p.publicKeyLength / 2;
  if (!bytesEqual(publicKey.subarray(0, n), seed.subarray(seed.length - n))) {
    throw new HsmError('invalid-argument', 'the public key is not that of the seed', {
      details: { algorithm: p.name },
    });
  }
}

// The mechanism registry: the private-key operations of every key algorithm of the HSM, one
// Mechanism per name, built once at load and looked up by name. The signature algorithms come
// from src/pki/algorithms (a family file here per family there); agreement, KEM and secret keys
// name their algorithms in algorithms.ts. A new family is one file beside this one and its entry
// in FAMILIES or OTHER_FAMILIES.
import {
  KEY_ALGORITHMS,
  derReader,
  isKeyAlgorithm,
  keyAlgorithmInfo,
  unknownKeyAlgorithm,
  type KeyAlgorithm,
} from '../../pki/index.js';
import { HsmError } from '../errors.js';
import { agreement } from './agreement.js';
import type { Capability } from '../../pki/index.js';
import { aes } from './aes.js';
import { OTHER_ALGORITHMS, type OtherAlgorithm } from './algorithms.js';
import { chacha20Poly1305 } from './chacha20-poly1305.js';
import { ecdsa } from './ecdsa.js';
import { hdKeys } from './hd-keys.js';
import { hmac } from './hmac.js';
import { eddsa } from './eddsa.js';
import { mlDsa } from './ml-dsa.js';
import { mlKem } from './ml-kem.js';
import { rsaPkcs1 } from './rsa-pkcs1.js';
import { rsaPss } from './rsa-pss.js';
import { secp256k1Ecdsa } from './secp256k1.js';
import { slhDsa } from './slh-dsa.js';
import type {
  HsmAlgorithm,
  Mechanism,
  MechanismFamily,
  OtherMechanismFamily,
  PrivateKeyHandle,
  SigningMechanism,
} from './types.js';

export type {
  AeadCiphertext,
  AeadFacts,
  GeneratedKey,
  KeyWrapMode,
  MechanismPurposes,
  HsmAlgorithm,
  KeyClass,
  Mechanism,
  MechanismFamily,
  OtherMechanismFamily,
  PrivateKeyHandle,
  SigningMechanism,
} from './types.js';
export { OTHER_ALGORITHMS, type OtherAlgorithm } from './algorithms.js';
export { MaterialKey } from './material-key.js';
export { exportPkcs8, loadPkcs8, loadSpki, spkiOf } from './node-keys.js';
export { KCV_LABEL, KCV_LENGTH, keyCheckValue } from './secret-keys.js';
export {
  HD_ALGORITHMS,
  hdAlgorithmOf,
  hdKeyOfNode,
  hdNodeOf,
  hdNodeSpki,
  isHdAlgorithm,
  type HdAlgorithm,
} from './hd-keys.js';

const FAMILIES: readonly MechanismFamily[] = [
  ecdsa,
  eddsa,
  rsaPkcs1,
  rsaPss,
  // Post-quantum signatures (src/hsm/pq).
  mlDsa,
  slhDsa,
];
const OTHER_FAMILIES: readonly OtherMechanismFamily[] = [
  aes,
  chacha20Poly1305,
  hmac,
  agreement,
  mlKem,
  secp256k1Ecdsa,
  hdKeys,
];

function build(): ReadonlyMap<HsmAlgorithm, Mechanism> {
  const byName = new Map<HsmAlgorithm, Mechanism>();
  for (const name of KEY_ALGORITHMS) {
    const info = keyAlgorithmInfo(name);
    const family = FAMILIES.find((f) => f.name === info.mechanism);
    // A key algorithm the HSM cannot use is a registry bug: fail at load, not at first use.
    if (family === undefined) throw new Error(`mechanism registry: no family for ${name}`);
    byName.set(name, family.mechanism(info));
  }
  for (const name of OTHER_ALGORITHMS as readonly OtherAlgorithm[]) {
    const family = OTHER_FAMILIES.find((f) => f.algorithms.includes(name));
    if (family === undefined) throw new Error(`mechanism registry: no family for ${name}`);
    if (byName.has(name)) throw new Error(`mechanism registry: ${name} registered twice`);
    byName.set(name, family.mechanism(name));
  }
  return byName;
}

const MECHANISMS = build();

/** Every key algorithm of the HSM: the signature algorithms first, then the others. */
export const HSM_ALGORITHMS: readonly HsmAlgorithm[] = [...MECHANISMS.keys()];

export function isHsmAlgorithm(value: string): value is HsmAlgorithm {
  return MECHANISMS.has(value as HsmAlgorithm);
}

/** The mechanism of a key algorithm; PkiError algorithm-unsupported for an unknown name. */
export function mechanismFor(algorithm: KeyAlgorithm): SigningMechanism;
export function mechanismFor(algorithm: HsmAlgorithm): Mechanism;
export function mechanismFor(algorithm: HsmAlgorithm): Mechanism {
  const mechanism = MECHANISMS.get(algorithm);
  if (mechanism === undefined) throw unknownKeyAlgorithm(algorithm);
  return mechanism;
}

/** Every mechanism, in the order of HSM_ALGORITHMS. */
export function allMechanisms(): readonly Mechanism[] {
  return [...MECHANISMS.values()];
}

/**
 * The algorithm OID of a DER SEQUENCE whose `index`-th element is an AlgorithmIdentifier: a
 * PKCS#8 PrivateKeyInfo (RFC 5958 2, index 1) or a SubjectPublicKeyInfo (RFC 5280 4.1, index
 * 0); undefined when the bytes are not one.
 */
function algorithmOidAt(der: Uint8Array, index: 0 | 1): string | undefined {
  const { childrenOf, expectTag, readOid, readTlv } = derReader;
  try {
    const outer = expectTag(readTlv(der, 0), 0x30, 'SEQUENCE');
    const algorithm = expectTag(childrenOf(der, outer)[index], 0x30, 'AlgorithmIdentifier');
    return readOid(der, childrenOf(der, algorithm)[0]);
  } catch {
    return undefined;
  }
}

/**
 * The KEM key algorithm a peer's SPKI names by its algorithm OID (ML-KEM-768 or -1024, RFC
 * 9935 4), or undefined for any other key or for bytes that are not an SPKI; the mechanism then
 * checks the key itself (its length, strict DER) when it encapsulates.
 */
export function kemAlgorithmOfSpki(spki: Uint8Array): HsmAlgorithm | undefined {
  const oid = algorithmOidAt(spki, 0);
  if (oid === undefined) return undefined;
  const kem = [...MECHANISMS.values()].find(
    (m) => m.keyClass === 'kem' && m.pkcs8Oids.includes(oid),
  );
  return kem?.name;
}

/**
 * The mechanism and key of an imported PKCS#8, chosen by its algorithm OID and then by the key
 * itself (curve, modulus size). An RSA key fits both RSA families; `preferPss` picks the PSS
 * one, otherwise PKCS#1 v1.5. HsmError invalid-argument for anything else.
 */
export function importPkcs8(
  pkcs8: Uint8Array,
  preferPss: boolean,
): { mechanism: Mechanism; key: PrivateKeyHandle } {
  const oid = algorithmOidAt(pkcs8, 1);
  if (oid === undefined) throw new HsmError('invalid-argument', 'not a pkcs#8 private key');
  const candidates = [...MECHANISMS.values()].filter((m) => m.pkcs8Oids.includes(oid));
  const ordered = [
    ...candidates.filter((m) => (m.info?.padding === 'pss') === preferPss),
    ...candidates.filter((m) => (m.info?.padding === 'pss') !== preferPss),
  ];
  let firstError: unknown;
  for (const mechanism of ordered) {
    try {
      return { mechanism, key: mechanism.load(pkcs8) };
    } catch (error) {
      firstError ??= error;
    }
  }
  if (firstError instanceof HsmError && candidates.length === 1) throw firstError;
  throw new HsmError('invalid-argument', 'unsupported key type or size', {
    details: { algorithm: oid },
  });
}

/** The signing operation of a key algorithm, resolved once (for a signer or a TSA unit). */
export function signOperation(
  algorithm: HsmAlgorithm,
): (key: PrivateKeyHandle, data: Uint8Array) => Uint8Array {
  const sign = mechanismFor(algorithm).sign;
  if (sign === undefined) {
    throw new HsmError('invalid-argument', 'the key algorithm does not sign', {
      details: { algorithm },
    });
  }
  return sign;
}

/** A verifier for signatures of a key algorithm, bound to one public key (SPKI DER). */
export function verifyOperation(
  algorithm: HsmAlgorithm,
  spki: Uint8Array,
): (data: Uint8Array, signature: Uint8Array) => boolean {
  const verifier = mechanismFor(algorithm).verifier;
  if (verifier === undefined) {
    throw new HsmError('invalid-argument', 'the key algorithm does not verify', {
      details: { algorithm },
    });
  }
  return verifier(spki);
}

/** True for a secret (symmetric) key's algorithm: its public part is a key check value. */
export function isSecretAlgorithm(algorithm: HsmAlgorithm): boolean {
  return rowKind(algorithm) === 'secret';
}

/** How a key row of the algorithm stores the key: a key pair, or a secret key. */
export function rowKind(algorithm: HsmAlgorithm): 'asymmetric' | 'secret' {
  const mechanism: Mechanism = mechanismFor(algorithm);
  return mechanism.keyClass === 'secret' ? 'secret' : 'asymmetric';
}

/** A signature key's purposes when none are given (and any may be given). */
const SIGNATURE_PURPOSES: readonly Capability[] = ['sign', 'verify'];

/** The purposes a new key of the algorithm takes when the caller names none. */
export function defaultPurposes(algorithm: HsmAlgorithm): readonly Capability[] {
  const mechanism: Mechanism = mechanismFor(algorithm);
  return mechanism.purposes?.default ?? SIGNATURE_PURPOSES;
}

/**
 * Refuses purposes a key of the algorithm cannot serve (an HMAC key does not encrypt); a
 * mechanism without a purpose list (the signature keys) takes any, as before.
 */
export function checkAlgorithmPurposes(
  algorithm: HsmAlgorithm,
  purposes: readonly Capability[],
): void {
  const allowed = mechanismFor(algorithm).purposes?.allowed;
  if (allowed === undefined) return;
  for (const purpose of purposes) {
    if (!allowed.includes(purpose)) {
      throw new HsmError(
        'invalid-argument',
        `a ${algorithm} key cannot have the purpose ${purpose}`,
        {
          details: { algorithm, purpose, allowed: allowed.join(' ') },
        },
      );
    }
  }
}

/** True for the name of a signature algorithm of src/pki (the keys that certify and stamp). */
export function isSignatureAlgorithm(algorithm: HsmAlgorithm): algorithm is KeyAlgorithm {
  return isKeyAlgorithm(algorithm);
}

function noDigestMode(algorithm: HsmAlgorithm): HsmError {
  return new HsmError(
    'invalid-argument',
    'the key algorithm signs whole messages only, not a digest',
    {
      details: { algorithm, field: 'digest' },
    },
  );
}

/**
 * The operation that signs a digest the caller computed with the key algorithm's hash (its
 * length checked), resolved once; HsmError invalid-argument for a scheme without a digest mode
 * (pure EdDSA signs whole messages only).
 */
export function signDigestOperation(
  algorithm: HsmAlgorithm,
): (key: PrivateKeyHandle, digest: Uint8Array) => Uint8Array {
  const signDigest = mechanismFor(algorithm).signDigest;
  if (signDigest === undefined) throw noDigestMode(algorithm);
  return signDigest;
}

/**
 * A verifier of signatures over a digest, bound to one public key of the key algorithm; HsmError
 * invalid-argument for a scheme without a digest mode or a key of another algorithm.
 */
export function digestVerifyOperation(
  algorithm: HsmAlgorithm,
  spki: Uint8Array,
): (digest: Uint8Array, signature: Uint8Array) => boolean {
  const digestVerifier = mechanismFor(algorithm).digestVerifier;
  if (digestVerifier === undefined) throw noDigestMode(algorithm);
  return digestVerifier(spki);
}

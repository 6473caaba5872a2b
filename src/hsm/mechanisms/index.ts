// The mechanism registry: the private-key operations of every algorithm family, one Mechanism per
// key algorithm of src/pki/algorithms, built once at load and looked up by name. A new family is
// one file beside this one and its entry in FAMILIES.
import type { KeyObject } from 'node:crypto';
import {
  KEY_ALGORITHMS,
  keyAlgorithmInfo,
  unknownKeyAlgorithm,
  type KeyAlgorithm,
} from '../../pki/index.js';
import { HsmError } from '../errors.js';
import { ecdsa } from './ecdsa.js';
import { eddsa } from './eddsa.js';
import { rsaPkcs1 } from './rsa-pkcs1.js';
import { rsaPss } from './rsa-pss.js';
import type { Mechanism, MechanismFamily } from './types.js';

export type { GeneratedKey, Mechanism, MechanismFamily, PrivateKeyHandle } from './types.js';
export { exportPkcs8, loadPkcs8, spkiOf } from './node-keys.js';

const FAMILIES: readonly MechanismFamily[] = [ecdsa, eddsa, rsaPkcs1, rsaPss];

function build(): ReadonlyMap<KeyAlgorithm, Mechanism> {
  const byName = new Map<KeyAlgorithm, Mechanism>();
  for (const name of KEY_ALGORITHMS) {
    const info = keyAlgorithmInfo(name);
    const family = FAMILIES.find((f) => f.name === info.mechanism);
    // A key algorithm the HSM cannot use is a registry bug: fail at load, not at first use.
    if (family === undefined) throw new Error(`mechanism registry: no family for ${name}`);
    byName.set(name, family.mechanism(info));
  }
  return byName;
}

const MECHANISMS = build();

/** The mechanism of a key algorithm; PkiError algorithm-unsupported for an unknown name. */
export function mechanismFor(algorithm: KeyAlgorithm): Mechanism {
  const mechanism = MECHANISMS.get(algorithm);
  if (mechanism === undefined) throw unknownKeyAlgorithm(algorithm);
  return mechanism;
}

/** Every mechanism, in the order of KEY_ALGORITHMS. */
export function allMechanisms(): readonly Mechanism[] {
  return [...MECHANISMS.values()];
}

/**
 * The mechanism a loaded private key fits. An RSA key fits both RSA families; `preferPss` picks
 * the PSS one, otherwise PKCS#1 v1.5 (and for keys of one family only, that family).
 */
export function detectMechanism(key: KeyObject, preferPss: boolean): Mechanism {
  const fitting = [...MECHANISMS.values()].filter((m) => m.fits(key));
  const mechanism = fitting.find((m) => (m.info.padding === 'pss') === preferPss) ?? fitting[0];
  if (mechanism === undefined) {
    throw new HsmError('invalid-argument', 'unsupported key type or size', {
      details: { type: key.asymmetricKeyType ?? 'unknown' },
    });
  }
  return mechanism;
}

/** The signing operation of a key algorithm, resolved once (for a signer or a TSA unit). */
export function signOperation(
  algorithm: KeyAlgorithm,
): (key: KeyObject, data: Uint8Array) => Uint8Array {
  const sign = mechanismFor(algorithm).sign;
  if (sign === undefined) {
    throw new HsmError('invalid-argument', 'the key algorithm does not sign', {
      details: { algorithm },
    });
  }
  return sign;
}

/** A verifier for signatures of a key algorithm, bound to one public key. */
export function verifyOperation(
  algorithm: KeyAlgorithm,
  publicKey: KeyObject,
): (data: Uint8Array, signature: Uint8Array) => boolean {
  const verifier = mechanismFor(algorithm).verifier;
  if (verifier === undefined) {
    throw new HsmError('invalid-argument', 'the key algorithm does not verify', {
      details: { algorithm },
    });
  }
  return verifier(publicKey);
}

function noDigestMode(algorithm: KeyAlgorithm): HsmError {
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
  algorithm: KeyAlgorithm,
): (key: KeyObject, digest: Uint8Array) => Uint8Array {
  const signDigest = mechanismFor(algorithm).signDigest;
  if (signDigest === undefined) throw noDigestMode(algorithm);
  return signDigest;
}

/**
 * A verifier of signatures over a digest, bound to one public key of the key algorithm; HsmError
 * invalid-argument for a scheme without a digest mode or a key of another algorithm.
 */
export function digestVerifyOperation(
  algorithm: KeyAlgorithm,
  publicKey: KeyObject,
): (digest: Uint8Array, signature: Uint8Array) => boolean {
  const digestVerifier = mechanismFor(algorithm).digestVerifier;
  if (digestVerifier === undefined) throw noDigestMode(algorithm);
  return digestVerifier(publicKey);
}

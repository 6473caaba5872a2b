// PKCS#8 (RFC 5958) and SPKI (RFC 5280 4.1.2.7) for node:crypto KeyObjects, shared by the
// node-backed mechanisms, and the part of a Mechanism that is the same for all of them.
import { createPrivateKey, createPublicKey, KeyObject } from 'node:crypto';
import type { KeyAlgorithmInfo } from '../../pki/index.js';
import { HsmError } from '../errors.js';
import type { GeneratedKey, PrivateKeyHandle, SigningMechanism } from './types.js';

export function spkiOf(key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return new Uint8Array(pub.export({ type: 'spki', format: 'der' }));
}

export function exportPkcs8(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ type: 'pkcs8', format: 'der' }));
}

export function loadPkcs8(der: Uint8Array): KeyObject {
  try {
    return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  } catch (cause) {
    throw new HsmError('invalid-argument', 'not a pkcs#8 private key', { cause });
  }
}

/** A public KeyObject from SPKI DER; HsmError invalid-argument when OpenSSL cannot read it. */
export function loadSpki(spki: Uint8Array): KeyObject {
  try {
    return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new HsmError('invalid-argument', 'not a subject public key info', { cause });
  }
}

/** The KeyObject of a handle a node-backed mechanism made (a MaterialKey here is a bug). */
export function nodeKey(handle: PrivateKeyHandle): KeyObject {
  if (!(handle instanceof KeyObject)) {
    throw new Error(`a ${handle.algorithm} key was given to a node:crypto mechanism`);
  }
  return handle;
}

export function keyPair(pair: { privateKey: KeyObject; publicKey: KeyObject }): GeneratedKey {
  return { privateKey: pair.privateKey, publicPart: spkiOf(pair.publicKey) };
}

/**
 * The operations a node-backed family implements itself, on KeyObjects; the rest of its
 * Mechanism follows (verifiers get their public key parsed once from the SPKI).
 */
export interface NodeMechanismParts {
  generate(): Promise<GeneratedKey>;
  /** True when a loaded private (or public) key is of this algorithm (type, curve, size). */
  fits(key: KeyObject): boolean;
  readonly sign?: (key: KeyObject, data: Uint8Array) => Uint8Array;
  readonly verifier?: (
    publicKey: KeyObject,
  ) => (data: Uint8Array, signature: Uint8Array) => boolean;
  readonly signDigest?: (key: KeyObject, digest: Uint8Array) => Uint8Array;
  readonly digestVerifier?: (
    publicKey: KeyObject,
  ) => (digest: Uint8Array, signature: Uint8Array) => boolean;
}

export function nodeMechanism(info: KeyAlgorithmInfo, parts: NodeMechanismParts): SigningMechanism {
  const { sign, verifier, signDigest, digestVerifier } = parts;
  return {
    name: info.name,
    keyClass: 'signature',
    info,
    pkcs8Oids: [info.spkiOid],
    generate: () => parts.generate(),
    load(pkcs8) {
      const key = loadPkcs8(pkcs8);
      if (!parts.fits(key)) {
        throw new HsmError('invalid-argument', 'the private key is not of the named algorithm', {
          details: { algorithm: info.name, type: key.asymmetricKeyType ?? 'unknown' },
        });
      }
      return key;
    },
    encode: (key) => exportPkcs8(nodeKey(key)),
    publicPart: (key) => spkiOf(nodeKey(key)),
    ...(sign === undefined ? {} : { sign: (key, data) => sign(nodeKey(key), data) }),
    ...(verifier === undefined ? {} : { verifier: (spki) => verifier(loadSpki(spki)) }),
    ...(signDigest === undefined
      ? {}
      : { signDigest: (key, digest) => signDigest(nodeKey(key), digest) }),
    ...(digestVerifier === undefined
      ? {}
      : { digestVerifier: (spki) => digestVerifier(loadSpki(spki)) }),
  };
}

/** A fact a family's mechanism needs from its pki entry; missing is a registry bug, found at load. */
export function required<T>(value: T | undefined, info: KeyAlgorithmInfo, fact: string): T {
  if (value === undefined) throw new Error(`mechanism ${info.name}: no ${fact} in its pki entry`);
  return value;
}

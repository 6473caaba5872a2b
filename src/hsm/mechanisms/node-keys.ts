// PKCS#8 (RFC 5958) and SPKI (RFC 5280 4.1.2.7) for node:crypto KeyObjects, shared by the
// node-backed mechanisms, and the part of a Mechanism that is the same for all of them.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { KeyAlgorithmInfo } from '../../pki/index.js';
import { HsmError } from '../errors.js';
import type { GeneratedKey, Mechanism } from './types.js';

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

export function keyPair(pair: { privateKey: KeyObject; publicKey: KeyObject }): GeneratedKey {
  return { privateKey: pair.privateKey, spki: spkiOf(pair.publicKey) };
}

/** The operations a family implements itself; the rest of a node-backed Mechanism follows. */
export type NodeMechanismParts = Pick<
  Mechanism,
  'generate' | 'fits' | 'sign' | 'verifier' | 'signDigest' | 'digestVerifier'
>;

export function nodeMechanism(info: KeyAlgorithmInfo, parts: NodeMechanismParts): Mechanism {
  return {
    info,
    ...parts,
    load(pkcs8) {
      const key = loadPkcs8(pkcs8);
      if (!parts.fits(key)) {
        throw new HsmError('invalid-argument', 'the private key is not of the named algorithm', {
          details: { algorithm: info.name, type: key.asymmetricKeyType ?? 'unknown' },
        });
      }
      return key;
    },
    exportPkcs8,
    spki: spkiOf,
  };
}

/** A fact a family's mechanism needs from its pki entry; missing is a registry bug, found at load. */
export function required<T>(value: T | undefined, info: KeyAlgorithmInfo, fact: string): T {
  if (value === undefined) throw new Error(`mechanism ${info.name}: no ${fact} in its pki entry`);
  return value;
}

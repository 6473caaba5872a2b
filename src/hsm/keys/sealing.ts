// Keys at rest: each key's encoding (PKCS#8 for a key pair, its mechanism's form otherwise)
// sealed under the key-encryption key with its place (device, partition, key id) as associated
// data, so that a blob moved to another row does not open.
import { bytesEqual } from '../../shared/index.js';
import { HsmError } from '../errors.js';
import { integrityError } from '../integrity.js';
import {
  encodeKey,
  isHsmAlgorithm,
  loadKey,
  publicPartOf,
  rowKind,
  type HsmAlgorithm,
  type PrivateKeyHandle,
} from '../key-crypto.js';
import type { KeyRow } from '../store/device-store.js';
import { publicKeyOf } from '../views.js';
import { open, seal } from '../wrap.js';

export function keyAad(deviceId: string, partitionId: string | null, keyId: string): string {
  return `attestamp/key/v1|${deviceId}|${partitionId ?? '-'}|${keyId}`;
}

/** Seals a key for its row; the encoded copy is wiped. */
export function sealPrivateKey(
  kek: Uint8Array,
  algorithm: HsmAlgorithm,
  privateKey: PrivateKeyHandle,
  aad: string,
): Buffer {
  const encoded = encodeKey(algorithm, privateKey);
  try {
    return Buffer.from(seal(kek, encoded, aad));
  } finally {
    encoded.fill(0);
  }
}

/** The algorithm a row names, as the registry knows it; a name it does not know is tampering. */
export function rowAlgorithm(row: KeyRow): HsmAlgorithm {
  if (!isHsmAlgorithm(row.algorithm)) {
    throw integrityError('key', 'the row names an unknown algorithm', { keyId: row.id });
  }
  // The kind follows from the algorithm (both are under the row's MAC): a row that says
  // otherwise was made by no release.
  if (row.kind !== rowKind(row.algorithm)) {
    throw integrityError('key', 'the row kind does not match its algorithm', { keyId: row.id });
  }
  return row.algorithm;
}

/**
 * Opens a key's sealed blob (AAD: device, partition, key id), loads it with the mechanism of the
 * row's algorithm and computes its public part. The caller wipes `encoded` when done.
 */
export function unsealRow(
  kek: Uint8Array,
  deviceId: string,
  row: KeyRow,
): { encoded: Uint8Array; key: PrivateKeyHandle; publicPart: Uint8Array } {
  const algorithm = rowAlgorithm(row);
  let encoded: Uint8Array;
  try {
    encoded = open(kek, row.wrapped, keyAad(deviceId, row.partition_id, row.id));
  } catch (cause) {
    throw new HsmError('integrity-failed', "the store's key row failed integrity: unseal", {
      cause,
      details: { table: 'key', keyId: row.id },
    });
  }
  try {
    const key = loadKey(algorithm, encoded);
    return { encoded, key, publicPart: publicPartOf(algorithm, key) };
  } catch (cause) {
    encoded.fill(0);
    throw new HsmError('integrity-failed', "the store's key row failed integrity: key encoding", {
      cause,
      details: { table: 'key', keyId: row.id },
    });
  }
}

/**
 * The key of an authenticated row, only when it is the key whose public part the row names (a
 * row whose SPKI was swapped for another key's is an integrity failure, never used).
 */
export function unsealKey(kek: Uint8Array, deviceId: string, row: KeyRow): PrivateKeyHandle {
  const { encoded, key, publicPart } = unsealRow(kek, deviceId, row);
  encoded.fill(0);
  if (!bytesEqual(publicPart, publicKeyOf(row))) {
    throw integrityError('key', 'the stored public key is not the sealed key', { keyId: row.id });
  }
  return key;
}

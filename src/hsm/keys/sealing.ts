// Private keys at rest: each PKCS#8 sealed under the key-encryption key with its place (device,
// partition, key id) as associated data, so that a blob moved to another row does not open.
import type { KeyObject } from 'node:crypto';
import { HsmError } from '../errors.js';
import { exportPkcs8, loadPkcs8, spkiOf } from '../key-crypto.js';
import type { KeyRow } from '../store/device-store.js';
import { open, seal } from '../wrap.js';

export function keyAad(deviceId: string, partitionId: string | null, keyId: string): string {
  return `attestamp/key/v1|${deviceId}|${partitionId ?? '-'}|${keyId}`;
}

/** Seals a private key for its row; the PKCS#8 copy is wiped. */
export function sealPrivateKey(kek: Uint8Array, privateKey: KeyObject, aad: string): Buffer {
  const pkcs8 = exportPkcs8(privateKey);
  try {
    return Buffer.from(seal(kek, pkcs8, aad));
  } finally {
    pkcs8.fill(0);
  }
}

/**
 * Opens a key's sealed blob (AAD: device, partition, key id) and derives its public key. The
 * caller wipes the PKCS#8 when done.
 */
export function unsealRow(
  kek: Uint8Array,
  deviceId: string,
  row: KeyRow,
): { pkcs8: Uint8Array; spki: Uint8Array } {
  let pkcs8: Uint8Array;
  try {
    pkcs8 = open(kek, row.wrapped, keyAad(deviceId, row.partition_id, row.id));
  } catch (cause) {
    throw new HsmError('integrity-failed', "the store's key row failed integrity: unseal", {
      cause,
      details: { table: 'key', keyId: row.id },
    });
  }
  try {
    return { pkcs8, spki: spkiOf(loadPkcs8(pkcs8)) };
  } catch (cause) {
    pkcs8.fill(0);
    throw new HsmError('integrity-failed', "the store's key row failed integrity: pkcs8", {
      cause,
      details: { table: 'key', keyId: row.id },
    });
  }
}

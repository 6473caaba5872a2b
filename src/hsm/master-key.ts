// The store's master key: given raw (32 bytes) or as a passphrase stretched with scrypt. From it
// HKDF derives the key-wrapping key, the audit MAC key and the row MAC keys; a key-check value
// detects a wrong key before anything is written.
import { randomBytes, scryptSync } from 'node:crypto';
import { HsmError } from './errors.js';
import { deriveRowMacKeys, type RowMacKeys } from './integrity.js';
import { deriveSubkey, open, seal } from './wrap.js';

export type MasterKeyInput =
  | { readonly kind: 'key'; readonly key: Uint8Array }
  | { readonly kind: 'passphrase'; readonly passphrase: string };

export interface ScryptParams {
  readonly salt: string;
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** scrypt cost: N = 2^15, r = 8 (32 MiB, tens of milliseconds); stored so it can be raised. */
export function newScryptParams(): ScryptParams {
  return { salt: randomBytes(16).toString('hex'), N: 1 << 15, r: 8, p: 1 };
}

export function scryptKey(secret: string, params: ScryptParams): Buffer {
  return scryptSync(secret.normalize('NFKC'), Buffer.from(params.salt, 'hex'), 32, {
    N: params.N,
    r: params.r,
    p: params.p,
    maxmem: 256 * params.N * params.r,
  });
}

export interface MasterKeys {
  /** Wraps private keys at rest. */
  readonly kek: Buffer;
  /** Keys the audit log's MACs. */
  readonly auditKey: Buffer;
  /** Key the MACs of the rows that carry security decisions, one per table. */
  readonly rows: RowMacKeys;
}

export function resolveMasterSecret(input: MasterKeyInput, kdf: ScryptParams | undefined): Buffer {
  if (input.kind === 'key') {
    if (input.key.length !== 32) {
      throw new HsmError('master-key-missing', 'master key must be 32 bytes');
    }
    return Buffer.from(input.key);
  }
  if (kdf === undefined) {
    throw new HsmError('master-key-wrong', 'this store uses a master key, not a passphrase');
  }
  if (input.passphrase.length === 0) {
    throw new HsmError('master-key-missing', 'master passphrase is empty');
  }
  return scryptKey(input.passphrase, kdf);
}

export function deriveMasterKeys(secret: Uint8Array, deviceId: string): MasterKeys {
  return {
    kek: deriveSubkey(secret, deviceId, 'attestamp key-wrap v1'),
    auditKey: deriveSubkey(secret, deviceId, 'attestamp audit-mac v1'),
    rows: deriveRowMacKeys(secret, deviceId),
  };
}

const KCV_PLAINTEXT = Buffer.alloc(32);

/**
 * The key-check value's AAD names its format: v1 for stores before row authentication, v2 from
 * schema version 2 on. A store whose schema version was set back to 1 still carries a v2 value
 * (the v1 value was overwritten, and secure_delete zeroed it), so it cannot pass as a v1 store.
 */
function kcvAad(deviceId: string, format: 1 | 2): string {
  return `attestamp/kcv/v${format}|${deviceId}`;
}

export function makeKeyCheckValue(
  keys: MasterKeys,
  deviceId: string,
  format: 1 | 2 = 2,
): Uint8Array {
  return seal(keys.kek, KCV_PLAINTEXT, kcvAad(deviceId, format));
}

/** Which format of key-check value the key opens; throws master-key-wrong when neither. */
export function checkKeyCheckValue(keys: MasterKeys, deviceId: string, kcv: Uint8Array): 1 | 2 {
  for (const format of [2, 1] as const) {
    try {
      open(keys.kek, kcv, kcvAad(deviceId, format));
      return format;
    } catch {
      // try the other format
    }
  }
  throw new HsmError('master-key-wrong', 'the master key does not open this store');
}

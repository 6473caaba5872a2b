// Row authentication for the device store (ARCHITECTURE "The store is hostile"): a canonical,
// length-prefixed encoding of each row that carries a security decision, and its HMAC-SHA-256
// under a key derived from the master key, one key per table.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { HsmError } from './errors.js';
import { deriveSubkey } from './wrap.js';

/** HKDF info labels, one per purpose (salt: the device id). */
export const ROW_MAC_LABELS = {
  key: 'attestamp row-mac keys v1',
  partition: 'attestamp row-mac partitions v1',
  device: 'attestamp row-mac device v1',
  officer: 'attestamp row-mac officers v1',
  governance: 'attestamp row-mac governance v1',
} as const;

export type RowTable = keyof typeof ROW_MAC_LABELS;

export type RowMacKeys = Readonly<Record<RowTable, Buffer>>;

export function deriveRowMacKeys(secret: Uint8Array, deviceId: string): RowMacKeys {
  return {
    key: deriveSubkey(secret, deviceId, ROW_MAC_LABELS.key),
    partition: deriveSubkey(secret, deviceId, ROW_MAC_LABELS.partition),
    device: deriveSubkey(secret, deviceId, ROW_MAC_LABELS.device),
    officer: deriveSubkey(secret, deviceId, ROW_MAC_LABELS.officer),
    governance: deriveSubkey(secret, deviceId, ROW_MAC_LABELS.governance),
  };
}

/** One column value: text, bytes, an integer, or SQL NULL. */
export type Field = string | Uint8Array | number | null;

const NULL_MARK = 0xffffffff;

/**
 * Canonical encoding: for each field a one-byte type (t text, b bytes, i integer, n null), a
 * 32-bit big-endian length and the bytes (UTF-8 for text, decimal digits for integers). Field
 * order is fixed per table; the first field is the table's domain tag, the second the device id.
 */
export function encodeFields(fields: readonly Field[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of fields) {
    const head = Buffer.alloc(5);
    let body: Buffer;
    if (f === null) {
      head.write('n', 0, 'latin1');
      head.writeUInt32BE(NULL_MARK, 1);
      parts.push(head);
      continue;
    }
    if (typeof f === 'string') {
      head.write('t', 0, 'latin1');
      body = Buffer.from(f, 'utf8');
    } else if (typeof f === 'number') {
      if (!Number.isSafeInteger(f)) {
        throw new HsmError('invalid-argument', 'row field is not an integer');
      }
      head.write('i', 0, 'latin1');
      body = Buffer.from(String(f), 'latin1');
    } else {
      head.write('b', 0, 'latin1');
      body = Buffer.from(f.buffer, f.byteOffset, f.byteLength);
    }
    head.writeUInt32BE(body.length, 1);
    parts.push(head, body);
  }
  return Buffer.concat(parts);
}

/** The columns of a key row, in MAC order. */
export interface KeyRowFields {
  readonly id: string;
  readonly partition_id: string | null;
  readonly label: string;
  readonly role: string;
  readonly kind: string;
  readonly algorithm: string;
  readonly spki: Uint8Array | null;
  readonly attributes_json: string;
  readonly state: string;
  readonly created_at: string;
  readonly invalidated_at: string | null;
  readonly wrapped: Uint8Array;
  readonly audit_seq: number;
}

export interface PartitionRowFields {
  readonly id: string;
  readonly name: string;
  readonly policy_json: string;
  readonly attestation_certificate: Uint8Array;
  readonly timestamp_certificate: Uint8Array;
  readonly created_at: string;
  readonly audit_seq: number;
}

export interface DeviceRowFields {
  readonly id: string;
  readonly key_id: string;
  readonly root_certificate: Uint8Array;
  readonly certificate: Uint8Array;
  readonly factory_label: string;
  readonly development: number;
  readonly organization: string;
  readonly country: string;
  readonly created_at: string;
}

export interface OfficerRowFields {
  readonly name: string;
  readonly params_json: string;
  readonly hash: Uint8Array;
  readonly created_at: string;
}

/** The key row encoding since schema 3: with the key's kind, and a public key that may be null. */
export function keyRowEncoding(deviceId: string, r: KeyRowFields): Buffer {
  return encodeFields([
    'attestamp/row/keys/v2',
    deviceId,
    r.id,
    r.partition_id,
    r.label,
    r.role,
    r.kind,
    r.algorithm,
    r.spki,
    r.attributes_json,
    r.state,
    r.created_at,
    r.invalidated_at,
    r.wrapped,
    r.audit_seq,
  ]);
}

/**
 * The encoding of schema 2, with which key rows were MACed before: read only by the migration
 * to schema 3, which checks each row under it before sealing it again under the new one.
 */
export function keyRowEncodingV1(deviceId: string, r: KeyRowFields): Buffer {
  return encodeFields([
    'attestamp/row/keys/v1',
    deviceId,
    r.id,
    r.partition_id,
    r.label,
    r.role,
    r.algorithm,
    r.spki,
    r.attributes_json,
    r.state,
    r.created_at,
    r.invalidated_at,
    r.wrapped,
    r.audit_seq,
  ]);
}

export function partitionRowEncoding(deviceId: string, r: PartitionRowFields): Buffer {
  return encodeFields([
    'attestamp/row/partitions/v1',
    deviceId,
    r.id,
    r.name,
    r.policy_json,
    r.attestation_certificate,
    r.timestamp_certificate,
    r.created_at,
    r.audit_seq,
  ]);
}

export function deviceRowEncoding(deviceId: string, r: DeviceRowFields): Buffer {
  return encodeFields([
    'attestamp/row/device/v1',
    deviceId,
    r.id,
    r.key_id,
    r.root_certificate,
    r.certificate,
    r.factory_label,
    r.development,
    r.organization,
    r.country,
    r.created_at,
  ]);
}

export function officerRowEncoding(deviceId: string, r: OfficerRowFields): Buffer {
  return encodeFields([
    'attestamp/row/officers/v1',
    deviceId,
    r.name,
    r.params_json,
    r.hash,
    r.created_at,
  ]);
}

/** The columns of a governance row, in MAC order. */
export interface GovernanceRowFields {
  readonly kind: string;
  readonly id: string;
  readonly scope: string;
  readonly body_json: string;
  readonly audit_seq: number;
}

export function governanceRowEncoding(deviceId: string, r: GovernanceRowFields): Buffer {
  return encodeFields([
    'attestamp/row/governance/v1',
    deviceId,
    r.kind,
    r.id,
    r.scope,
    r.body_json,
    r.audit_seq,
  ]);
}

export function rowMac(key: Uint8Array, encoding: Uint8Array): Buffer {
  return createHmac('sha256', key).update(encoding).digest();
}

/** Constant-time check of a stored MAC; a missing or short MAC never matches. */
export function macMatches(
  key: Uint8Array,
  encoding: Uint8Array,
  stored: Uint8Array | null,
): boolean {
  const expected = rowMac(key, encoding);
  if (stored?.length !== expected.length) return false;
  return timingSafeEqual(expected, stored);
}

/** The integrity failure: a row does not carry the MAC of its content. */
export function integrityError(
  table: RowTable,
  reason: string,
  details: Readonly<Record<string, string>> = {},
): HsmError {
  return new HsmError('integrity-failed', `the store's ${table} row failed integrity: ${reason}`, {
    details: { table, ...details },
  });
}

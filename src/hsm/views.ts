// The plain data the HSM hands out, made from authenticated rows: device, partition and key
// information (public values only), and the name rules of partitions, labels and officers.
import { parseCertificateFields } from '../pki/index.js';
import { isHsmAlgorithm } from './mechanisms/index.js';
import { HsmError } from './errors.js';
import { integrityError } from './integrity.js';
import type { DeviceRow, KeyRow, PartitionRow } from './store/device-store.js';
import {
  DEFAULT_PARTITION_POLICY,
  type DeviceInfo,
  type KeyAttributes,
  type KeyInfo,
  type KeyState,
  type PartitionInfo,
  type PartitionPolicy,
} from './types.js';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Partition names, key labels and officer names: 1-64 of letters, digits, '.', '_', '-'. */
export function checkName(kind: string, name: string): void {
  if (!NAME_RE.test(name)) {
    throw new HsmError(
      'invalid-argument',
      `${kind} must be 1-64 characters of letters, digits, '.', '_' or '-'`,
      { details: { [kind]: name.slice(0, 64) } },
    );
  }
}

/** The public part a key row stores (SPKI, or a secret key's check value); none is an integrity failure. */
export function publicKeyOf(row: KeyRow): Buffer {
  if (row.spki === null) {
    throw integrityError('key', 'the row has no public key', { keyId: row.id });
  }
  return row.spki;
}

export function parseAttributes(row: KeyRow): KeyAttributes {
  return JSON.parse(row.attributes_json) as KeyAttributes;
}

/** A key's state as callers see it: the row's, or blocked (an authenticated attribute). */
export function keyState(row: KeyRow): KeyState {
  return row.state === 'active' && parseAttributes(row).blocked === true ? 'blocked' : row.state;
}

export function toDeviceInfo(row: DeviceRow): DeviceInfo {
  return {
    id: row.id,
    rootCertificate: new Uint8Array(row.root_certificate),
    certificate: new Uint8Array(row.certificate),
    factoryLabel: row.factory_label,
    development: row.development === 1,
    createdAt: new Date(row.created_at),
    organization: row.organization,
    country: row.country,
  };
}

export function toPartitionInfo(row: PartitionRow): PartitionInfo {
  // The migration marker sits in the authenticated policy row, but is no policy switch.
  const { migratedTo, ...policy } = JSON.parse(row.policy_json) as Partial<PartitionPolicy> & {
    migratedTo?: string;
  };
  return {
    id: row.id,
    name: row.name,
    policy: { ...DEFAULT_PARTITION_POLICY, ...policy },
    createdAt: new Date(row.created_at),
    attestationCertificate: new Uint8Array(row.attestation_certificate),
    timestampCertificate: new Uint8Array(row.timestamp_certificate),
    ...(typeof migratedTo === 'string' ? { migratedTo } : {}),
  };
}

export function toKeyInfo(row: KeyRow, partitionName: string): KeyInfo {
  if (!isHsmAlgorithm(row.algorithm)) {
    throw integrityError('key', 'the row names an unknown algorithm', { keyId: row.id });
  }
  return {
    id: row.id,
    partitionId: row.partition_id ?? '',
    partitionName,
    label: row.label,
    role: row.role,
    algorithm: row.algorithm,
    spki: new Uint8Array(publicKeyOf(row)),
    attributes: parseAttributes(row),
    state: keyState(row),
    createdAt: new Date(row.created_at),
    invalidatedAt: row.invalidated_at === null ? undefined : new Date(row.invalidated_at),
  };
}

/** What the HSM needs of a certificate it issued or holds: subject DER, expiry, serial. */
export function certificateFacts(der: Uint8Array): {
  subject: Uint8Array;
  notAfter: Date;
  serialHex: string;
} {
  const c = parseCertificateFields(der);
  return {
    subject: c.subject,
    notAfter: c.notAfter,
    serialHex: Buffer.from(c.serialNumber).toString('hex'),
  };
}

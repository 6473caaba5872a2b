// The device store's decision-carrying rows, read only through their MACs: a key, partition,
// device or officer row is returned only when its MAC (src/hsm/integrity.ts) checks out and, for
// key and partition rows, when no later change of the row is in the audit log (an older copy of
// one row put back). Writes go through seal*, which computes the MAC of the new content.
import {
  deviceRowEncoding,
  integrityError,
  keyRowEncoding,
  macMatches,
  officerRowEncoding,
  partitionRowEncoding,
  rowMac,
  type RowMacKeys,
} from './integrity.js';
import type { Db } from './store/database.js';
import {
  latestKeyChange,
  latestPartitionChange,
  selectAllKeys,
  selectAllOfficers,
  selectAllPartitions,
  selectDevice,
  selectKeyById,
  selectKeyByLabel,
  selectKeysOfPartition,
  selectOfficer,
  selectPartitionById,
  selectPartitionByName,
  setDeviceMac,
  setKeyMac,
  setOfficerMac,
  setPartitionMac,
  type DeviceRow,
  type KeyRow,
  type OfficerRow,
  type PartitionRow,
} from './store/rows.js';

/**
 * Audit actions that change a key row (each re-MACs it with its own sequence number), and the
 * two that delete it: any row of a destroyed or purged key put back is older than its deletion.
 */
export const KEY_ROW_CHANGES = [
  'device.init',
  'key.generate',
  'key.import',
  'key.invalidate',
  'key.restore',
  'key.export',
  'key.destroy',
  'key.purge',
] as const;

/** Audit actions that change a partition row. */
export const PARTITION_ROW_CHANGES = ['partition.create', 'partition.policy'] as const;

export type Unsealed<T extends { mac: Buffer | null }> = Omit<T, 'mac'>;

export class AuthenticatedRows {
  constructor(
    private readonly db: Db,
    private readonly macKeys: RowMacKeys,
    private readonly deviceId: string,
  ) {}

  // ---------------------------------------------------------------- keys

  sealKey(row: Unsealed<KeyRow>): KeyRow {
    return { ...row, mac: rowMac(this.macKeys.key, keyRowEncoding(this.deviceId, row)) };
  }

  checkKey(row: KeyRow): KeyRow {
    if (!macMatches(this.macKeys.key, keyRowEncoding(this.deviceId, row), row.mac)) {
      throw integrityError('key', 'mac mismatch', { keyId: row.id });
    }
    // A row whose MAC names an audit entry older than the newest change of that key in the log
    // is an older copy put back.
    if (latestKeyChange(this.db, row.id, KEY_ROW_CHANGES) > row.audit_seq) {
      throw integrityError('key', 'older than its last change in the audit log', {
        keyId: row.id,
      });
    }
    return row;
  }

  keyById(id: string): KeyRow | undefined {
    const row = selectKeyById(this.db, id);
    return row === undefined ? undefined : this.checkKey(row);
  }

  keyByLabel(partitionId: string, label: string): KeyRow | undefined {
    const row = selectKeyByLabel(this.db, partitionId, label);
    return row === undefined ? undefined : this.checkKey(row);
  }

  keysOfPartition(partitionId: string): KeyRow[] {
    return selectKeysOfPartition(this.db, partitionId).map((r) => this.checkKey(r));
  }

  // ---------------------------------------------------------------- partitions

  sealPartition(row: Unsealed<PartitionRow>): PartitionRow {
    return {
      ...row,
      mac: rowMac(this.macKeys.partition, partitionRowEncoding(this.deviceId, row)),
    };
  }

  checkPartition(row: PartitionRow): PartitionRow {
    if (!macMatches(this.macKeys.partition, partitionRowEncoding(this.deviceId, row), row.mac)) {
      throw integrityError('partition', 'mac mismatch', { partitionId: row.id });
    }
    if (latestPartitionChange(this.db, row.id, PARTITION_ROW_CHANGES) > row.audit_seq) {
      throw integrityError('partition', 'older than its last change in the audit log', {
        partitionId: row.id,
      });
    }
    return row;
  }

  partitionByName(name: string): PartitionRow | undefined {
    const row = selectPartitionByName(this.db, name);
    return row === undefined ? undefined : this.checkPartition(row);
  }

  partitionById(id: string): PartitionRow | undefined {
    const row = selectPartitionById(this.db, id);
    return row === undefined ? undefined : this.checkPartition(row);
  }

  allPartitions(): PartitionRow[] {
    return selectAllPartitions(this.db).map((r) => this.checkPartition(r));
  }

  // ---------------------------------------------------------------- device

  sealDevice(row: Unsealed<DeviceRow>): DeviceRow {
    return { ...row, mac: rowMac(this.macKeys.device, deviceRowEncoding(this.deviceId, row)) };
  }

  /** The one device row, whose id must be the store's device id. */
  device(): DeviceRow {
    const rows = selectDevice(this.db);
    const row = rows[0];
    if (row === undefined || rows.length !== 1) {
      throw integrityError('device', 'the store must hold exactly one device row');
    }
    if (
      row.id !== this.deviceId ||
      !macMatches(this.macKeys.device, deviceRowEncoding(this.deviceId, row), row.mac)
    ) {
      throw integrityError('device', 'mac mismatch');
    }
    return row;
  }

  // ---------------------------------------------------------------- officers

  sealOfficer(row: Unsealed<OfficerRow>): OfficerRow {
    return { ...row, mac: rowMac(this.macKeys.officer, officerRowEncoding(this.deviceId, row)) };
  }

  officer(name: string): OfficerRow | undefined {
    const row = selectOfficer(this.db, name);
    if (row === undefined) return undefined;
    if (!macMatches(this.macKeys.officer, officerRowEncoding(this.deviceId, row), row.mac)) {
      throw integrityError('officer', 'mac mismatch', { officer: row.name.slice(0, 64) });
    }
    return row;
  }

  // ---------------------------------------------------------------- migration

  /**
   * Computes the MAC of every row of a store written before row authentication; each key and
   * partition row names `auditSeq` (the migration's own audit entry). Inside the caller's
   * transaction. Returns the number of rows authenticated.
   */
  authenticateAll(auditSeq: number): number {
    let n = 0;
    for (const row of selectAllKeys(this.db)) {
      const sealed = this.sealKey({ ...row, audit_seq: auditSeq });
      setKeyMac(this.db, row.id, auditSeq, sealed.mac!);
      n++;
    }
    for (const row of selectAllPartitions(this.db)) {
      const sealed = this.sealPartition({ ...row, audit_seq: auditSeq });
      setPartitionMac(this.db, row.id, auditSeq, sealed.mac!);
      n++;
    }
    for (const row of selectDevice(this.db)) {
      setDeviceMac(this.db, row.id, this.sealDevice(row).mac!);
      n++;
    }
    for (const row of selectAllOfficers(this.db)) {
      setOfficerMac(this.db, row.name, this.sealOfficer(row).mac!);
      n++;
    }
    return n;
  }
}

// The device store's decision-carrying rows, read only through their MACs: a key, partition,
// device or officer row is returned only when its MAC (src/hsm/integrity.ts) checks out and, for
// key and partition rows, when no later change of the row is in the audit log (an older copy of
// one row put back). Writes go through seal*, which computes the MAC of the new content.
import {
  deviceRowEncoding,
  integrityError,
  keyRowEncoding,
  keyRowEncodingV1,
  macMatches,
  officerRowEncoding,
  partitionRowEncoding,
  rowMac,
  type RowMacKeys,
} from './integrity.js';
import type {
  DeviceRow,
  KeyRow,
  OfficerRow,
  PartitionRow,
  StoreReader,
  StoreTx,
} from './store/device-store.js';

/**
 * Audit actions that change a key row (each re-MACs it with its own sequence number), and the
 * two that delete it: any row of a destroyed or purged key put back is older than its deletion.
 */
export const KEY_ROW_CHANGES = [
  'device.init',
  'key.generate',
  'key.import',
  'key.unwrap',
  'key.derive-child',
  // Each AEAD encryption counts against the key's limit: its row is sealed again with it.
  'key.encrypt',
  'key.invalidate',
  'key.restore',
  'key.export',
  'key.block',
  'key.unblock',
  'key.policy',
  'key.destroy',
  'key.purge',
  'key.expire',
] as const;

/** Audit actions that change a partition row. */
export const PARTITION_ROW_CHANGES = [
  'partition.create',
  'partition.policy',
  'partition.restore',
  // A migration makes the row read-only for good: an older row put back is detected.
  'partition.migrate',
] as const;

export type Unsealed<T extends { mac: Buffer | null }> = Omit<T, 'mac'>;

export class AuthenticatedRows {
  constructor(
    private readonly macKeys: RowMacKeys,
    private readonly deviceId: string,
  ) {}

  // ---------------------------------------------------------------- keys

  sealKey(row: Unsealed<KeyRow>): KeyRow {
    return { ...row, mac: rowMac(this.macKeys.key, keyRowEncoding(this.deviceId, row)) };
  }

  async checkKey(r: StoreReader, row: KeyRow): Promise<KeyRow> {
    if (!macMatches(this.macKeys.key, keyRowEncoding(this.deviceId, row), row.mac)) {
      throw integrityError('key', 'mac mismatch', { keyId: row.id });
    }
    // A row whose MAC names an audit entry older than the newest change of that key in the log
    // is an older copy put back.
    const latest = await r.audit.latestKeyChange(row.id, KEY_ROW_CHANGES);
    if (latest > row.audit_seq) {
      // Outside a transaction the change may have committed between the two reads: the row
      // read again now is at least as new as that log, and must be the change's own.
      const fresh = await r.keys.byId(row.id);
      if (
        fresh !== undefined &&
        fresh.audit_seq >= latest &&
        macMatches(this.macKeys.key, keyRowEncoding(this.deviceId, fresh), fresh.mac)
      ) {
        return fresh;
      }
      throw integrityError('key', 'older than its last change in the audit log', {
        keyId: row.id,
      });
    }
    return row;
  }

  async keyById(r: StoreReader, id: string): Promise<KeyRow | undefined> {
    const row = await r.keys.byId(id);
    return row === undefined ? undefined : this.checkKey(r, row);
  }

  async keyByLabel(
    r: StoreReader,
    partitionId: string,
    label: string,
  ): Promise<KeyRow | undefined> {
    const row = await r.keys.byLabel(partitionId, label);
    return row === undefined ? undefined : this.checkKey(r, row);
  }

  async keysOfPartition(r: StoreReader, partitionId: string): Promise<KeyRow[]> {
    const out: KeyRow[] = [];
    for (const row of await r.keys.ofPartition(partitionId)) out.push(await this.checkKey(r, row));
    return out;
  }

  // ---------------------------------------------------------------- partitions

  sealPartition(row: Unsealed<PartitionRow>): PartitionRow {
    return {
      ...row,
      mac: rowMac(this.macKeys.partition, partitionRowEncoding(this.deviceId, row)),
    };
  }

  async checkPartition(r: StoreReader, row: PartitionRow): Promise<PartitionRow> {
    if (!macMatches(this.macKeys.partition, partitionRowEncoding(this.deviceId, row), row.mac)) {
      throw integrityError('partition', 'mac mismatch', { partitionId: row.id });
    }
    const latest = await r.audit.latestPartitionChange(row.id, PARTITION_ROW_CHANGES);
    if (latest > row.audit_seq) {
      // As for keys: a change committed between the two reads leaves a newer row to read.
      const fresh = await r.partitions.byId(row.id);
      if (
        fresh !== undefined &&
        fresh.audit_seq >= latest &&
        macMatches(this.macKeys.partition, partitionRowEncoding(this.deviceId, fresh), fresh.mac)
      ) {
        return fresh;
      }
      throw integrityError('partition', 'older than its last change in the audit log', {
        partitionId: row.id,
      });
    }
    return row;
  }

  async partitionByName(r: StoreReader, name: string): Promise<PartitionRow | undefined> {
    const row = await r.partitions.byName(name);
    return row === undefined ? undefined : this.checkPartition(r, row);
  }

  async partitionById(r: StoreReader, id: string): Promise<PartitionRow | undefined> {
    const row = await r.partitions.byId(id);
    return row === undefined ? undefined : this.checkPartition(r, row);
  }

  async allPartitions(r: StoreReader): Promise<PartitionRow[]> {
    const out: PartitionRow[] = [];
    for (const row of await r.partitions.all()) out.push(await this.checkPartition(r, row));
    return out;
  }

  // ---------------------------------------------------------------- device

  sealDevice(row: Unsealed<DeviceRow>): DeviceRow {
    return { ...row, mac: rowMac(this.macKeys.device, deviceRowEncoding(this.deviceId, row)) };
  }

  /** The one device row, whose id must be the store's device id. */
  async device(r: StoreReader): Promise<DeviceRow> {
    const rows = await r.device.all();
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

  async officer(r: StoreReader, name: string): Promise<OfficerRow | undefined> {
    const row = await r.officers.byName(name);
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
  /**
   * Schema 2 to 3, before the keys table is rebuilt: every key row must verify under the row
   * encoding it was sealed with, and must not be older than its last change in the log.
   */
  async checkKeysBeforeV3(tx: StoreTx): Promise<void> {
    for (const row of await tx.keys.all()) {
      if (!macMatches(this.macKeys.key, keyRowEncodingV1(this.deviceId, row), row.mac)) {
        throw integrityError('key', 'mac mismatch', { keyId: row.id });
      }
      if ((await tx.audit.latestKeyChange(row.id, KEY_ROW_CHANGES)) > row.audit_seq) {
        throw integrityError('key', 'older than its last change in the audit log', {
          keyId: row.id,
        });
      }
    }
  }

  /** Schema 2 to 3, after the rebuild: each key row sealed under the new encoding, as it was. */
  async resealKeys(tx: StoreTx): Promise<number> {
    let n = 0;
    for (const row of await tx.keys.all()) {
      await tx.keys.setMac(row.id, row.audit_seq, this.sealKey(row).mac!);
      n++;
    }
    return n;
  }

  async authenticateAll(tx: StoreTx, auditSeq: number): Promise<number> {
    let n = 0;
    for (const row of await tx.keys.all()) {
      const sealed = this.sealKey({ ...row, audit_seq: auditSeq });
      await tx.keys.setMac(row.id, auditSeq, sealed.mac!);
      n++;
    }
    for (const row of await tx.partitions.all()) {
      const sealed = this.sealPartition({ ...row, audit_seq: auditSeq });
      await tx.partitions.setMac(row.id, auditSeq, sealed.mac!);
      n++;
    }
    for (const row of await tx.device.all()) {
      await tx.device.setMac(row.id, this.sealDevice(row).mac!);
      n++;
    }
    for (const row of await tx.officers.all()) {
      await tx.officers.setMac(row.name, this.sealOfficer(row).mac!);
      n++;
    }
    return n;
  }
}

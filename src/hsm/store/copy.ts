// Copies a whole device store into an empty one (SQLite to PostgreSQL, or back): every row as
// stored, MACs and sealed blobs included, in one transaction of the destination. Nothing is
// decrypted: the keys stay sealed under the same master key, bound to the same device id.
import { HsmError } from '../errors.js';
import type { DeviceStore } from './device-store.js';
import { SCHEMA_VERSION } from './schema-version.js';

export interface StoreCopyCounts {
  readonly partitions: number;
  readonly keys: number;
  readonly officers: number;
  readonly governance: number;
  readonly auditEntries: number;
}

/**
 * Copies `from` into the empty store `to`. `from` must be at the current schema version (open
 * it with the HSM first, which migrates it). Refuses a destination that holds anything.
 */
export async function copyStore(from: DeviceStore, to: DeviceStore): Promise<StoreCopyCounts> {
  const version = await from.meta.schemaVersion();
  if (version !== SCHEMA_VERSION) {
    throw new HsmError('store-corrupt', 'the source store is not at the current schema version', {
      details: { storeVersion: version, supported: SCHEMA_VERSION },
    });
  }
  const meta = await from.meta.all();
  const device = await from.device.all();
  const partitions = await from.partitions.all();
  const keys = await from.keys.all();
  const officers = await from.officers.all();
  const governance = await from.governance.all();
  return to.tx(async (tx) => {
    if ((await tx.meta.schemaVersion()) !== 0) {
      throw new HsmError('store-exists', 'the destination holds a device store already');
    }
    await tx.migrate();
    for (const m of meta) {
      if (m.name !== 'schema_version') await tx.meta.set(m.name, m.value);
    }
    for (const d of device) await tx.device.insert(d);
    for (const p of partitions) await tx.partitions.insert(p);
    for (const k of keys) await tx.keys.insert(k);
    for (const o of officers) await tx.officers.insert(o);
    for (const g of governance) {
      // The destination is empty and (kind, id) the source's key: a refusal is a broken store.
      if (!(await tx.governance.insert(g))) {
        throw new HsmError('store-corrupt', 'the source holds a governance object twice', {
          details: { object: `${g.kind}:${g.id}` },
        });
      }
    }
    let auditEntries = 0;
    for await (const a of from.audit.entries()) {
      await tx.audit.insert(a);
      auditEntries++;
    }
    return {
      partitions: partitions.length,
      keys: keys.length,
      officers: officers.length,
      governance: governance.length,
      auditEntries,
    };
  });
}

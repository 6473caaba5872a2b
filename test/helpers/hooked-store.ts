// A DeviceStore that hands every call to a real store, with hooks at the seam: a test's way to
// act between two reads of one operation, or to make a store call fail, without a mock store.
import type {
  AuditRow,
  DeviceStore,
  StoreReader,
  StoreTx,
} from '../../src/hsm/store/device-store.js';

export interface StoreHooks {
  /** Runs each time a reader's audit.entries() has yielded its last row (store or snapshot). */
  afterAuditPass?: () => Promise<void>;
  /** Runs before each transaction of the store begins. */
  beforeTx?: () => Promise<void>;
  /** Replaces scrubFreed; `inner` is the real store's. */
  scrubFreed?: (inner: () => Promise<boolean>) => Promise<boolean>;
}

function hookedReader(r: StoreReader, hooks: StoreHooks): StoreReader {
  const after = hooks.afterAuditPass;
  if (after === undefined) return r;
  return {
    meta: r.meta,
    device: r.device,
    partitions: r.partitions,
    keys: r.keys,
    officers: r.officers,
    governance: r.governance,
    audit: {
      ...r.audit,
      async *entries(): AsyncGenerator<AuditRow> {
        for await (const row of r.audit.entries()) yield row;
        await after();
      },
    },
  };
}

export function hookedStore(inner: DeviceStore, hooks: StoreHooks): DeviceStore {
  const outside = hookedReader(inner, hooks);
  return {
    dialect: inner.dialect,
    location: inner.location,
    ...outside,
    tx: async <T>(fn: (tx: StoreTx) => Promise<T>) => {
      await hooks.beforeTx?.();
      return inner.tx(fn);
    },
    snapshot: <T>(fn: (r: StoreReader) => Promise<T>) =>
      inner.snapshot((r) => fn(hookedReader(r, hooks))),
    assertSchema: (versions) => inner.assertSchema(versions),
    scrubFreed: () =>
      hooks.scrubFreed === undefined
        ? inner.scrubFreed()
        : hooks.scrubFreed(() => inner.scrubFreed()),
    close: () => inner.close(),
  };
}

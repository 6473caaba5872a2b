// What only the SQLite store has: one connection per store, and a write lock on the file that
// another connection (another process) may hold. Reads of the store wait for its transaction
// only while that transaction is open, never while it waits for the file's write lock.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeviceStore } from '../../../../../src/hsm/store/device-store.js';
import { createSqliteStore } from '../../../../../src/hsm/store/sqlite/sqlite-store.js';
import { expectHsmRejection } from '../../support.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How long `promise` takes to settle, in milliseconds, and its value. */
async function timed<T>(promise: Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await promise;
  return { ms: performance.now() - start, value };
}

describe('the SQLite store while another connection holds the write lock', () => {
  let dir: string;
  let store: DeviceStore;
  /** Another connection to the same file, as another process would hold it. */
  let other: Database.Database;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'attestamp-sqlite-lock-'));
    const path = join(dir, 'store.db');
    store = createSqliteStore(path);
    await store.tx((tx) => tx.migrate());
    await store.tx((tx) => tx.meta.set('before', '1'));
    other = new Database(path);
  });

  afterEach(async () => {
    if (other.inTransaction) other.exec('ROLLBACK');
    other.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a read answers at once while a transaction waits for the lock; the transaction then commits', async () => {
    other.exec('BEGIN IMMEDIATE');
    let settled = false;
    const writing = store
      .tx((tx) => tx.meta.set('waiter', '1'))
      .finally(() => {
        settled = true;
      });
    await sleep(100);
    const read = await timed(store.meta.get('before'));
    expect(read.value).toBe('1');
    expect(read.ms).toBeLessThan(500);
    // The other connection's lock still holds the transaction back.
    expect(settled).toBe(false);
    expect(await store.meta.get('waiter')).toBeUndefined();
    other.exec('COMMIT');
    await writing;
    expect(await store.meta.get('waiter')).toBe('1');
  });

  it('reads answer at once all the while; the transaction ends in store-busy, nothing written', async () => {
    other.exec('BEGIN IMMEDIATE');
    const start = performance.now();
    const writing = expectHsmRejection(
      store.tx((tx) => tx.meta.set('waiter', '1')),
      'store-busy',
    );
    for (const at of [200, 2_000, 4_000]) {
      await sleep(at === 200 ? at : 1_800);
      const read = await timed(store.keys.all());
      expect(read.value).toEqual([]);
      expect(read.ms, `a read ${at} ms into the wait`).toBeLessThan(500);
    }
    await writing;
    expect(performance.now() - start).toBeGreaterThanOrEqual(4_500);
    other.exec('ROLLBACK');
    expect(await store.meta.get('waiter')).toBeUndefined();
    // The lock released, the store writes again.
    await store.tx((tx) => tx.meta.set('after', '1'));
    expect(await store.meta.get('after')).toBe('1');
  }, 20_000);
});

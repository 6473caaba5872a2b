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
import { watch } from '../../../../helpers/wait.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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

  // "At once" is checked against the waiting transaction, not a clock: a read that queued
  // behind it (or a busy handler that blocked the thread) would answer only after the
  // transaction has settled, and the lock held here keeps it waiting.
  it('a read answers at once while a transaction waits for the lock; the transaction then commits', async () => {
    other.exec('BEGIN IMMEDIATE');
    const writing = store.tx((tx) => tx.meta.set('waiter', '1'));
    const waiting = watch(writing);
    await sleep(100);
    expect(await store.meta.get('before')).toBe('1');
    // Answered while the other connection's lock still holds the transaction back.
    expect(waiting.state).toBe('pending');
    expect(await store.meta.get('waiter')).toBeUndefined();
    other.exec('COMMIT');
    await writing;
    expect(await store.meta.get('waiter')).toBe('1');
  });

  it('reads answer at once all the while; the transaction ends in store-busy, nothing written', async () => {
    other.exec('BEGIN IMMEDIATE');
    const start = performance.now();
    const tx = store.tx((t) => t.meta.set('waiter', '1'));
    const waiting = watch(tx);
    const writing = expectHsmRejection(tx, 'store-busy');
    // Spread over the 5 s wait, ending early enough that a delayed timer on a busy machine
    // still reads before the wait is over.
    for (const at of [200, 1_800, 3_400]) {
      await sleep(Math.max(0, at - (performance.now() - start)));
      expect(await store.keys.all()).toEqual([]);
      expect(waiting.state, `a read ${at} ms into the wait answered before it ended`).toBe(
        'pending',
      );
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

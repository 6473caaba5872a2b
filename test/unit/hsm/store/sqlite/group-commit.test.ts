// The SQLite store's group commit: a transaction commits without waiting for the disk and its
// result is released only once a flush of the WAL that began after its commit has finished;
// transactions committed meanwhile share the next flush; a read of another connection's commit
// waits for a flush too; a failed flush closes the store for good. The flush is replaced here by
// one the test finishes by hand, except where the real fdatasync is named.
import { fdatasync, fstatSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { DeviceStore } from '../../../../../src/hsm/store/device-store.js';
import {
  createSqliteStore,
  openSqliteStore,
} from '../../../../../src/hsm/store/sqlite/sqlite-store.js';
import { WalFlusher } from '../../../../../src/hsm/store/sqlite/wal-flush.js';
import { heldFlush } from '../../../../helpers/held-flush.js';
import { turn, watch } from '../../../../helpers/wait.js';
import { tempDir } from '../../../../helpers/tmp.js';
import { expectHsmRejection } from '../../support.js';

/** A migrated store in a new folder whose flushes the test finishes by hand. */
async function heldStore(): Promise<{
  path: string;
  held: ReturnType<typeof heldFlush>;
  store: DeviceStore;
}> {
  const path = join(tempDir(), 'store.db');
  const held = heldFlush();
  const store = createSqliteStore(path, { walFlush: held.flush });
  const migrated = store.tx((tx) => tx.migrate());
  await turn();
  for (const call of held.calls.splice(0)) call.done(null);
  await migrated;
  return { path, held, store };
}

/** A flusher on an empty file and its WAL in a new folder, its flushes finished by hand. */
function heldFlusher(): { held: ReturnType<typeof heldFlush>; flusher: WalFlusher } {
  const path = join(tempDir(), 'file');
  writeFileSync(path, '');
  writeFileSync(`${path}-wal`, '');
  const held = heldFlush();
  return { held, flusher: new WalFlusher(path, held.flush) };
}

/** Finishes every flush waiting now, successfully. */
async function release(held: ReturnType<typeof heldFlush>): Promise<number> {
  const calls = held.calls.splice(0);
  for (const call of calls) call.done(null);
  await turn();
  return calls.length;
}

describe('the SQLite store group commit', () => {
  it("a transaction's result waits for the flush that began after its commit", async () => {
    const { path, held, store } = await heldStore();
    const other = new Database(path, { readonly: true });
    const value = (): string | undefined =>
      (
        other.prepare("SELECT value FROM meta WHERE name = 'a'").get() as
          { value: string } | undefined
      )?.value;
    try {
      const a = watch(store.tx((tx) => tx.meta.set('a', '1')));
      await turn();
      // Committed (another connection reads it), not flushed: the result is held back.
      expect(value()).toBe('1');
      expect(held.calls).toHaveLength(1);
      expect(a.state).toBe('pending');
      // A second transaction runs while the flush is in the pool; that flush does not cover it.
      const b = watch(store.tx((tx) => tx.meta.set('a', '2')));
      await turn();
      expect(value()).toBe('2');
      expect(held.calls).toHaveLength(1);
      held.calls[0]!.done(null);
      await turn();
      expect(a.state).toBe('done');
      expect(b.state).toBe('pending');
      // The next flush starts for the second one, on the same descriptor of the WAL.
      expect(held.calls).toHaveLength(2);
      expect(held.calls[1]!.fd).toBe(held.calls[0]!.fd);
      held.calls[1]!.done(null);
      await turn();
      expect(b.state).toBe('done');
    } finally {
      other.close();
      const closing = store.close();
      await release(held);
      await closing;
    }
  });

  it('transactions committed during one flush share the next one', async () => {
    const { held, store } = await heldStore();
    const first = watch(store.tx((tx) => tx.meta.set('first', '1')));
    await turn();
    expect(held.calls).toHaveLength(1);
    const rest = Array.from({ length: 20 }, (_, i) =>
      watch(store.tx((tx) => tx.meta.set(`k${i}`, String(i)))),
    );
    await turn();
    // All twenty committed in turn while the first flush was held; none is released.
    expect(rest.every((w) => w.state === 'pending')).toBe(true);
    expect(held.calls).toHaveLength(1);
    expect(await release(held)).toBe(1);
    expect(first.state).toBe('done');
    // One flush covers the twenty.
    expect(held.calls).toHaveLength(1);
    expect(await release(held)).toBe(1);
    expect(rest.map((w) => w.state)).toEqual(rest.map(() => 'done'));
    expect(await store.meta.get('k19')).toBe('19');
    expect(held.calls).toHaveLength(0);
    await store.close();
  });

  it('a read of nothing new does not flush; a read of another connection commit waits for one', async () => {
    const { path, held, store } = await heldStore();
    try {
      expect(await store.meta.get('none')).toBeUndefined();
      expect(held.calls).toHaveLength(0);
      // Another connection (another process) commits with synchronous=NORMAL.
      const other = new Database(path);
      other.pragma('synchronous = NORMAL');
      other.prepare("INSERT INTO meta (name, value) VALUES ('theirs', 'x')").run();
      other.close();
      const read = store.meta.get('theirs');
      const r = watch(read);
      await turn();
      expect(held.calls).toHaveLength(1);
      expect(r.state).toBe('pending');
      await release(held);
      expect(await read).toBe('x');
      // Seen once: the next read is at once.
      expect(await store.meta.get('theirs')).toBe('x');
      expect(held.calls).toHaveLength(0);
      // The same for a snapshot.
      const again = new Database(path);
      again.prepare("INSERT INTO meta (name, value) VALUES ('later', 'y')").run();
      again.close();
      const snap = store.snapshot((r) => r.meta.get('later'));
      const s = watch(snap);
      await turn();
      expect(held.calls).toHaveLength(1);
      expect(s.state).toBe('pending');
      await release(held);
      expect(await snap).toBe('y');
    } finally {
      const closing = store.close();
      await release(held);
      await closing;
    }
  });

  it('a failed flush rejects what it covers and closes the store for good', async () => {
    const { held, store } = await heldStore();
    const a = store.tx((tx) => tx.meta.set('a', '1'));
    await turn();
    const b = store.tx((tx) => tx.meta.set('b', '1'));
    await turn();
    const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    held.calls[0]!.done(eio);
    await expectHsmRejection(a, 'store-unavailable');
    // The queued flush is not started: the kernel reported the error once.
    await expectHsmRejection(b, 'store-unavailable');
    expect(held.calls).toHaveLength(1);
    await expectHsmRejection(
      store.tx((tx) => tx.meta.set('c', '1')),
      'store-unavailable',
    );
    await expectHsmRejection(store.meta.get('a'), 'store-unavailable');
    expect(held.calls).toHaveLength(1);
    await store.close();
  });

  it('close waits for the running flush before closing the descriptor', async () => {
    const { held, store } = await heldStore();
    const a = watch(store.tx((tx) => tx.meta.set('a', '1')));
    await turn();
    const fd = held.calls[0]!.fd;
    const closed = watch(store.close());
    await turn();
    expect(closed.state).toBe('pending');
    // The descriptor is still open while the pool may be using it.
    expect(() => fstatSync(fd)).not.toThrow();
    await release(held);
    expect(a.state).toBe('done');
    expect(closed.state).toBe('done');
  });

  it('a flush begun while close waits for another is waited for too', async () => {
    const { held, flusher } = heldFlusher();
    flusher.changed();
    const first = watch(flusher.durable());
    const closed = watch(flusher.close());
    await turn();
    // A commit noted while close waits for the running flush.
    flusher.changed();
    const second = watch(flusher.durable());
    expect(await release(held)).toBe(1);
    expect(first.state).toBe('done');
    // Its flush runs on the open descriptor; close waits for it.
    expect(held.calls).toHaveLength(1);
    expect(() => fstatSync(held.calls[0]!.fd)).not.toThrow();
    expect(closed.state).toBe('pending');
    await release(held);
    expect(second.state).toBe('done');
    expect(closed.state).toBe('done');
  });

  it('no flush starts on the descriptor once close has found nothing to wait for', async () => {
    const { held, flusher } = heldFlusher();
    const closed = flusher.close();
    // A few microtasks later, while close may still be between its checks.
    for (let i = 0; i < 3; i++) await Promise.resolve();
    flusher.changed();
    const late = watch(flusher.durable());
    await closed;
    await turn();
    expect(held.calls).toHaveLength(0);
    expect(late.state).toBe('failed');
  });

  it('with the real fdatasync, a linked store flushes the WAL SQLite writes', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'real'));
    const real = join(dir, 'real', 'store.db');
    const flushed: { dev: number; ino: number }[] = [];
    const counting = (fd: number, done: (error: Error | null) => void): void => {
      const st = fstatSync(fd);
      flushed.push({ dev: st.dev, ino: st.ino });
      fdatasync(fd, done);
    };
    const created = createSqliteStore(real);
    await created.tx((tx) => tx.migrate());
    await created.close();
    symlinkSync(real, join(dir, 'linked.db'));
    const store = openSqliteStore(join(dir, 'linked.db'), { walFlush: counting });
    try {
      await Promise.all(
        Array.from({ length: 16 }, (_, i) => store.tx((tx) => tx.meta.set(`k${i}`, 'v'))),
      );
      const wal = statSync(`${real}-wal`);
      expect(flushed.length).toBeGreaterThan(0);
      expect(flushed.length).toBeLessThan(16);
      for (const f of flushed) expect(f).toEqual({ dev: wal.dev, ino: wal.ino });
    } finally {
      await store.close();
    }
  });

  it('a store set to another journal mode opens in WAL mode again', async () => {
    const path = join(tempDir(), 'store.db');
    const created = createSqliteStore(path);
    await created.tx((tx) => tx.migrate());
    await created.tx((tx) => tx.meta.set('kept', '1'));
    await created.close();
    const edit = new Database(path);
    expect(edit.pragma('journal_mode = DELETE', { simple: true })).toBe('delete');
    edit.close();
    const store = openSqliteStore(path);
    try {
      await store.tx((tx) => tx.meta.set('after', '1'));
      expect(await store.meta.get('kept')).toBe('1');
      const look = new Database(path, { readonly: true });
      expect(look.pragma('journal_mode', { simple: true })).toBe('wal');
      look.close();
    } finally {
      await store.close();
    }
  });
});

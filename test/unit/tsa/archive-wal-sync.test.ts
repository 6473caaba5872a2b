// The wal-sync writer of the SQLite archive: rows are committed on the event loop without
// waiting for the disk, and a record resolves only once a flush of the WAL that began after its
// commit has finished. The flush is replaced here by one the test completes by hand.
import Database from 'better-sqlite3';
import { fdatasync, fstatSync, mkdirSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Archive } from '../../../src/tsa/index.js';
import { randomArchiveRecord } from '../../helpers/archive-record.js';
import { heldFlush } from '../../helpers/held-flush.js';
import { turn, watch } from '../../helpers/wait.js';
import { tempDir } from '../../helpers/tmp.js';

/** A wal-sync archive in a new folder whose flushes the test finishes by hand. */
function openHeld(): { path: string; held: ReturnType<typeof heldFlush>; archive: Archive } {
  const path = join(tempDir(), 'archive.sqlite');
  const held = heldFlush();
  return { path, held, archive: Archive.open(path, { writer: 'wal-sync', walFlush: held.flush }) };
}

describe('archive wal-sync writer', () => {
  it('a committed row resolves only after the flush that began after its commit', async () => {
    const { path, held, archive } = openHeld();
    const reader = new Database(path, { readonly: true });
    const count = (): number =>
      (reader.prepare('SELECT count(*) AS n FROM responses').get() as { n: number }).n;
    try {
      const a = watch(archive.record(randomArchiveRecord(archive.next())));
      await turn();
      // Committed (another connection reads it), not yet flushed: not resolved.
      expect(count()).toBe(1);
      expect(held.calls).toHaveLength(1);
      expect(a.state).toBe('pending');
      // A second record while the first flush runs: committed, but that flush does not cover it.
      const b = watch(archive.record(randomArchiveRecord(archive.next())));
      await turn();
      expect(count()).toBe(2);
      expect(held.calls).toHaveLength(1);
      held.calls[0]!.done(null);
      await turn();
      expect(a.state).toBe('done');
      expect(b.state).toBe('pending');
      // The next flush starts at once for the second record, on the WAL's descriptor.
      expect(held.calls).toHaveLength(2);
      expect(held.calls[1]!.fd).toBe(held.calls[0]!.fd);
      held.calls[1]!.done(null);
      await turn();
      expect(b.state).toBe('done');
      expect(archive.stats()).toEqual({ batches: 2, rows: 2 });
      await archive.drain();
      expect((await archive.verify()).ok).toBe(true);
    } finally {
      reader.close();
      await archive.close();
    }
  });

  it('a failed flush rejects what it covers and what follows (fail closed)', async () => {
    const { held, archive } = openHeld();
    try {
      const a = watch(archive.record(randomArchiveRecord(archive.next())));
      await turn();
      const b = watch(archive.record(randomArchiveRecord(archive.next())));
      await turn();
      held.calls[0]!.done(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
      await turn();
      expect(a.state).toBe('failed');
      expect(b.state).toBe('failed');
      expect((a.error as Error).message).toMatch(/EIO/);
      await expect(archive.record(randomArchiveRecord(archive.next()))).rejects.toThrow(/EIO/);
      expect(archive.stats().rows).toBe(0);
      expect(held.calls).toHaveLength(1);
    } finally {
      await archive.close();
    }
  });

  it('close flushes what is committed at once; the late flush callback settles nothing', async () => {
    const { path, held, archive } = openHeld();
    const a = watch(archive.record(randomArchiveRecord(archive.next())));
    await turn();
    const b = watch(archive.record(randomArchiveRecord(archive.next())));
    await turn();
    expect(a.state).toBe('pending');
    await archive.close();
    await turn();
    expect(a.state).toBe('done');
    expect(b.state).toBe('done');
    expect(archive.stats().rows).toBe(2);
    // The pool's flush finishing after the close changes nothing and closes the descriptor.
    held.calls[0]!.done(null);
    await turn();
    expect(archive.stats().rows).toBe(2);
    await expect(archive.record(randomArchiveRecord(1000n))).rejects.toThrow(/closed/);
    const check = Archive.openReadOnly(path);
    try {
      expect((await check.verify()).entries).toBe(2);
    } finally {
      await check.close();
    }
  });

  it('eight lanes with the real fdatasync: every resolved row is committed, batches are shared', async () => {
    const path = join(tempDir(), 'archive.sqlite');
    let flushes = 0;
    const archive = Archive.open(path, {
      writer: 'wal-sync',
      walFlush: (fd, done) => {
        flushes++;
        fdatasync(fd, done);
      },
    });
    const reader = new Database(path, { readonly: true });
    const committed = reader.prepare('SELECT count(*) AS n FROM responses WHERE serial = ?');
    const unseen: string[] = [];
    try {
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let i = 0; i < 40; i++) {
            const serial = archive.next();
            await archive.record(randomArchiveRecord(serial));
            if ((committed.get(serial.toString()) as { n: number }).n !== 1) {
              unseen.push(serial.toString());
            }
          }
        }),
      );
      expect(unseen).toEqual([]);
      expect(archive.stats().rows).toBe(320);
      expect(flushes).toBeLessThan(320);
      expect(flushes).toBeGreaterThan(0);
      expect((await archive.verify()).entries).toBe(320);
    } finally {
      reader.close();
      await archive.drain();
      await archive.close();
    }
  });

  it('flushes the WAL SQLite really writes when the archive path is a symbolic link', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'disk'));
    mkdirSync(join(dir, 'data'));
    // The database lives on another disk, the data folder holds a link to it.
    const real = join(dir, 'disk', 'archive.sqlite');
    await Archive.open(real, { writer: 'inline' }).close();
    symlinkSync(real, join(dir, 'data', 'archive.sqlite'));
    const held = heldFlush();
    const archive = Archive.open(join(dir, 'data', 'archive.sqlite'), {
      writer: 'wal-sync',
      walFlush: held.flush,
    });
    try {
      const a = watch(archive.record(randomArchiveRecord(archive.next())));
      await turn();
      expect(held.calls).toHaveLength(1);
      const flushed = fstatSync(held.calls[0]!.fd);
      const wal = statSync(`${real}-wal`);
      expect([flushed.dev, flushed.ino]).toEqual([wal.dev, wal.ino]);
      held.calls[0]!.done(null);
      await turn();
      expect(a.state).toBe('done');
    } finally {
      await archive.close();
    }
  });

  it('a failed flush of a clock event or a probe fails the archive, and a failed one is not ready', async () => {
    const path = join(tempDir(), 'archive.sqlite');
    let refuse = false;
    const archive = Archive.open(path, {
      writer: 'wal-sync',
      walFlushSync: () => {
        if (refuse) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      },
    });
    try {
      const event = {
        at: new Date().toISOString(),
        from: 'synced',
        to: 'degraded',
        reason: 'test',
        sources: [],
      } as const;
      await archive.recordClockEvent(event);
      expect(await archive.probe(new Date())).toBe(0);
      refuse = true;
      await expect(archive.recordClockEvent(event)).rejects.toThrow(/EIO/);
      // The kernel reports a write-back error once: nothing after it may be promised.
      await expect(archive.record(randomArchiveRecord(archive.next()))).rejects.toThrow(/EIO/);
      refuse = false;
      await expect(archive.probe(new Date())).rejects.toThrow(/EIO/);
    } finally {
      await archive.close();
    }
  });

  it('a probe of a failed archive says so (after a failed pool flush)', async () => {
    const { held, archive } = openHeld();
    try {
      const a = watch(archive.record(randomArchiveRecord(archive.next())));
      await turn();
      held.calls[0]!.done(new Error('EIO: i/o error, fdatasync'));
      await turn();
      expect(a.state).toBe('failed');
      await expect(archive.probe(new Date())).rejects.toThrow(/EIO/);
    } finally {
      await archive.close();
    }
  });

  it('a close whose flush fails rejects the records it covers', async () => {
    const path = join(tempDir(), 'archive.sqlite');
    const held = heldFlush();
    const archive = Archive.open(path, {
      writer: 'wal-sync',
      walFlush: held.flush,
      walFlushSync: () => {
        throw new Error('EIO: i/o error, fdatasync');
      },
    });
    const a = watch(archive.record(randomArchiveRecord(archive.next())));
    await turn();
    expect(a.state).toBe('pending');
    await archive.close();
    await turn();
    expect(a.state).toBe('failed');
    expect((a.error as Error).message).toMatch(/EIO/);
    expect(archive.stats().rows).toBe(0);
    held.calls[0]!.done(null);
    await turn();
    expect(archive.stats().rows).toBe(0);
  });
});

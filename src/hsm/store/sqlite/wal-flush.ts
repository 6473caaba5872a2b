// Group commit for a SQLite file in WAL mode with synchronous=NORMAL: a commit reaches the WAL
// file (the kernel's page cache), not yet the disk, and the connection is free for the next
// transaction at once; the WAL is then flushed with fdatasync in libuv's thread pool, and whoever
// waits on `durable()` is released once a flush that began after the call has finished. Commits
// made while a flush runs share the next one. The event loop never waits for the disk.
//
// A failed flush fails the flusher for good (closed): Linux reports a write-back error once per
// open file, so a later flush of the same file could succeed over pages that never reached the
// disk. fdatasync on this descriptor writes back every dirty page of the file, whichever
// connection or process wrote it (the page cache belongs to the file, not to a descriptor).
import { closeSync, fdatasync, openSync, realpathSync } from 'node:fs';

/** Flushes a file's data to disk and calls back (fs.fdatasync; replaceable in tests). */
export type WalFlush = (fd: number, done: (error: Error | null) => void) => void;

export class WalFlusher {
  private readonly fd: number;
  /** True when something was committed (or seen) since the last flush began. */
  private dirty = false;
  /** The flush running in the pool: everything committed before it began. */
  private running: Promise<void> | undefined;
  /** The flush queued after the running one, for what was committed since it began. */
  private queued: Promise<void> | undefined;
  private failure: Error | undefined;
  private closed = false;

  /**
   * Opens the WAL beside the file SQLite really opened (it resolves symbolic links, so must
   * this), now: no write of the connection reaches the disk's queue before the descriptor whose
   * flush reports its errors. The WAL must exist (SQLite creates it at the first read).
   */
  constructor(
    databasePath: string,
    private readonly flush: WalFlush = fdatasync,
  ) {
    this.fd = openSync(`${realpathSync(databasePath)}-wal`, 'r+');
  }

  /** Set when a flush failed: nothing written since can be promised durable. */
  get failed(): Error | undefined {
    return this.failure;
  }

  /** Notes a commit (or another connection's commit that was read): the next durable() flushes. */
  changed(): void {
    this.dirty = true;
  }

  /**
   * Resolves once everything noted by changed() before this call is on disk: at once when
   * nothing is unflushed, after the running flush when it covers all, else after the next one.
   * Rejects with the failure of a flush that covered it (and for good after one failed).
   */
  durable(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (!this.dirty) return this.running ?? Promise.resolve();
    if (this.running === undefined) return this.start();
    this.queued ??= this.running.then(
      () => {
        this.queued = undefined;
        return this.failure === undefined ? this.start() : Promise.reject(this.failure);
      },
      (error: unknown) => {
        this.queued = undefined;
        throw error;
      },
    );
    return this.queued;
  }

  private start(): Promise<void> {
    if (this.closed) {
      return Promise.reject(new Error('the WAL flusher is closed'));
    }
    this.dirty = false;
    const flush = new Promise<void>((resolve, reject) => {
      try {
        this.flush(this.fd, (error) => {
          if (error === null) {
            resolve();
          } else {
            this.failure ??= error;
            reject(this.failure);
          }
        });
      } catch (error) {
        this.failure ??= error instanceof Error ? error : new Error('the WAL flush failed');
        reject(this.failure);
      }
    });
    this.running = flush;
    const clear = (): void => {
      if (this.running === flush) this.running = undefined;
    };
    flush.then(clear, clear);
    return flush;
  }

  /**
   * Waits for what is pending (flushing it), then closes the descriptor: never while a flush
   * still uses it in the pool. Failures were reported to their waiters; close does not throw.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    // Until nothing is unflushed or running, checked in the same turn as the close itself: a
    // flush started while an earlier one was awaited is waited for too.
    for (;;) {
      const pending =
        this.failure === undefined && this.dirty ? this.durable() : (this.queued ?? this.running);
      if (pending === undefined) break;
      await pending.catch(() => undefined);
    }
    this.closed = true;
    closeSync(this.fd);
  }
}

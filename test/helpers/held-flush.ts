// A WAL flush the test finishes by hand (for the archive's wal-sync writer and the device store's
// group commit), and a watch on a promise's outcome.

export type FlushDone = (error: Error | null) => void;

/** A flush the test finishes: each call waits in `calls` until its `done` is called. */
export function heldFlush(): {
  calls: { fd: number; done: FlushDone }[];
  flush: (fd: number, done: FlushDone) => void;
} {
  const calls: { fd: number; done: FlushDone }[] = [];
  return {
    calls,
    flush: (fd, done) => {
      calls.push({ fd, done });
    },
  };
}

/** Settles pending immediates and I/O callbacks. */
export const turn = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

export interface Watched {
  state: 'pending' | 'done' | 'failed';
  error?: unknown;
}

/** Tracks whether a promise settled, and how. */
export function watch(p: Promise<unknown>): Watched {
  const w: Watched = { state: 'pending' };
  p.then(
    () => {
      w.state = 'done';
    },
    (e: unknown) => {
      w.state = 'failed';
      w.error = e;
    },
  );
  return w;
}

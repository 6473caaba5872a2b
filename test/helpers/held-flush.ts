// A WAL flush the test finishes by hand (for the archive's wal-sync writer and the device store's
// group commit).

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

// Waiting for something that happens asynchronously (a log line, a listener, a grant) instead of
// sleeping a fixed time and expecting it to have happened: on a loaded machine any fixed sleep
// can be too short, while the wait here ends as soon as the thing is there.

/**
 * How long waitFor waits by default: far longer than anything awaited takes on a busy machine,
 * and well inside the suite's 60 s test timeout, so that a thing that never happens fails with
 * its description instead of as a bare test timeout.
 */
export const WAIT_TIMEOUT_MS = 20_000;

export interface WaitOptions {
  /** Give up after this many milliseconds (default WAIT_TIMEOUT_MS). */
  readonly timeoutMs?: number;
  /** Milliseconds between tries (default 25). */
  readonly intervalMs?: number;
}

/**
 * Calls `probe` until it returns something other than undefined, null or false, and resolves
 * with that; rejects naming `what` once `timeoutMs` has passed without it. An exception from
 * `probe` fails the wait at once.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: WaitOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? WAIT_TIMEOUT_MS;
  const intervalMs = options.intervalMs ?? 25;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (performance.now() >= deadline) {
      throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Waits until `read()` (a process's output so far) matches `pattern`; resolves with the match. */
export function waitForMatch(
  what: string,
  read: () => string,
  pattern: RegExp,
  options: WaitOptions = {},
): Promise<RegExpExecArray> {
  return waitFor(what, () => pattern.exec(read()), options);
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

// Time is always passed in: library code reads it from a Clock, never from a hidden new Date().

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that always returns the same instant (tests, reproducible fixtures). */
export function fixedClock(at: Date): Clock {
  const ms = at.getTime();
  return { now: () => new Date(ms) };
}

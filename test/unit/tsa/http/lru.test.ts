// The LRU behind the rate limiter and the credential cache: eviction order, capacity, slot
// reuse, and agreement with a plain reference model over random operations.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LruMap } from '../../../../src/tsa/http/lru.js';
import { createRateLimiter } from '../../../../src/tsa/http/rate-limit.js';

describe('LruMap', () => {
  it('evicts the least recently used key first; get and set both count as use', () => {
    const m = new LruMap<number>(3);
    m.set('a', 1);
    m.set('b', 2);
    m.set('c', 3);
    expect(m.get('a')).toBe(1); // a is now the most recent: b is the oldest
    m.set('d', 4);
    expect(m.has('b')).toBe(false);
    expect(m.keysByRecency()).toEqual(['d', 'a', 'c']);
    m.set('c', 30); // an update is a use too
    m.set('e', 5);
    expect(m.has('a')).toBe(false);
    expect(m.keysByRecency()).toEqual(['e', 'c', 'd']);
    expect(m.get('c')).toBe(30);
    expect(m.size).toBe(3);
  });

  it('never holds more than its capacity, and reuses the slots of deleted keys', () => {
    const m = new LruMap<number>(100);
    for (let i = 0; i <= 10_000; i++) {
      m.set(`k${i}`, i);
      if (i % 3 === 0) m.delete(`k${i - 1}`);
      expect(m.size).toBeLessThanOrEqual(100);
    }
    // The 100 kept are the most recent ones still present.
    const kept = m.keysByRecency();
    expect(kept).toHaveLength(100);
    expect(kept[0]).toBe('k10000');
    expect(m.delete('k10000')).toBe(true);
    expect(m.delete('k10000')).toBe(false);
    m.set('new', 1);
    expect(m.keysByRecency()[0]).toBe('new');
    expect(m.size).toBe(100);
  });

  it('refuses a capacity that is not a positive whole number', () => {
    expect(() => new LruMap(0)).toThrow(RangeError);
    expect(() => new LruMap(1.5)).toThrow(RangeError);
  });

  it('agrees with a reference model (an array in recency order) on random operations', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), key: fc.integer({ min: 0, max: 12 }) }),
      fc.record({ kind: fc.constant('get' as const), key: fc.integer({ min: 0, max: 12 }) }),
      fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 12 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(op, { maxLength: 200 }), (cap, ops) => {
        const m = new LruMap<number>(cap);
        let model: string[] = []; // most recent first
        for (const [i, o] of ops.entries()) {
          const k = `k${o.key}`;
          if (o.kind === 'set') {
            m.set(k, i);
            model = [k, ...model.filter((x) => x !== k)].slice(0, cap);
          } else if (o.kind === 'get') {
            const present = model.includes(k);
            expect(m.get(k) !== undefined).toBe(present);
            if (present) model = [k, ...model.filter((x) => x !== k)];
          } else {
            expect(m.delete(k)).toBe(model.includes(k));
            model = model.filter((x) => x !== k);
          }
          expect(m.keysByRecency()).toEqual(model);
        }
      }),
      { numRuns: 200, seed: 1161 },
    );
  });
});

describe('rate limiter', () => {
  it('allows the burst, then answers with the seconds to wait, and refills with time', () => {
    let t = 0;
    const limiter = createRateLimiter({ ratePerSecond: 2, burst: 4, now: () => t });
    const answers = Array.from({ length: 6 }, () => limiter.take('a'));
    expect(answers).toEqual([0, 0, 0, 0, 1, 1]);
    expect(limiter.take('b')).toBe(0); // another client has its own bucket
    t += 500; // one token back
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(1);
    limiter.refund('a');
    expect(limiter.take('a')).toBe(0);
  });

  it('forgets the least recently seen clients beyond its capacity (they come back full)', () => {
    const t = 0;
    const limiter = createRateLimiter({ ratePerSecond: 1, burst: 1, capacity: 2, now: () => t });
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('b')).toBe(0);
    expect(limiter.take('b')).toBeGreaterThan(0); // b is the most recent now
    expect(limiter.take('c')).toBe(0); // evicts a, the least recently seen
    expect(limiter.take('b')).toBeGreaterThan(0); // b was kept: still empty
    expect(limiter.take('a')).toBe(0); // a was forgotten: a full bucket again
  });
});

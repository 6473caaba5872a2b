// The Idempotency-Key store: the first answer kept and repeated, another request under the key
// refused, and its three bounds (keys in all, keys per principal, bytes of kept answers), each
// forgetting the oldest key first, with a time to live.
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/api/errors.js';
import { IdempotencyStore, type StoredAnswer } from '../../../src/api/idempotency.js';

const answer = (body: string, status = 201): StoredAnswer => ({
  status,
  type: 'application/json',
  body,
  location: undefined,
});

/** A store on a clock the test moves, and a producer that counts its runs. */
function setup(limits: ConstructorParameters<typeof IdempotencyStore>[1] = {}) {
  let t = 0;
  const store = new IdempotencyStore(() => t, limits);
  let runs = 0;
  const run = (principal: string, key: string, body = `{"n":${key.length}}`, digest = 'd') =>
    store.run(principal, key, digest, () => {
      runs++;
      return Promise.resolve(answer(body));
    });
  return {
    store,
    run,
    runs: () => runs,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

describe('IdempotencyStore', () => {
  it('answers a repeat with the first answer and refuses the key with another request', async () => {
    const s = setup();
    const first = await s.run('jwt:a', 'k1', '{"first":true}');
    const again = await s.run('jwt:a', 'k1', '{"second":true}');
    expect(again).toEqual(first);
    expect(s.runs()).toBe(1);
    await expect(s.run('jwt:a', 'k1', '{}', 'other-digest')).rejects.toSatisfy(
      (e) => e instanceof ApiError && e.code === 'api-idempotency-mismatch',
    );
    // The same key from another principal is another key.
    await s.run('jwt:b', 'k1');
    expect(s.runs()).toBe(2);
  });

  it("forgets a principal's own oldest key past its per-principal cap, not others'", async () => {
    const s = setup({ keysPerPrincipal: 2 });
    await s.run('jwt:b', 'b1');
    for (const k of ['a1', 'a2', 'a3']) await s.run('jwt:a', k);
    expect(s.store.keptFor('jwt:a')).toBe(2);
    expect(s.store.keptFor('jwt:b')).toBe(1);
    const before = s.runs();
    await s.run('jwt:b', 'b1'); // kept
    await s.run('jwt:a', 'a3'); // kept
    expect(s.runs()).toBe(before);
    await s.run('jwt:a', 'a1'); // forgotten: runs again
    expect(s.runs()).toBe(before + 1);
    expect(s.store.keptFor('jwt:a')).toBe(2);
  });

  it('forgets the oldest key of all past the total cap', async () => {
    const s = setup({ keys: 3 });
    for (const p of ['jwt:a', 'jwt:b', 'jwt:c', 'jwt:d']) await s.run(p, 'k');
    expect(s.store.size).toBe(3);
    const before = s.runs();
    await s.run('jwt:d', 'k');
    expect(s.runs()).toBe(before);
    await s.run('jwt:a', 'k');
    expect(s.runs()).toBe(before + 1);
  });

  it('keeps the answers within the byte budget, forgetting the oldest, and never one larger than it', async () => {
    const s = setup({ bytes: 2_000 });
    const body = 'x'.repeat(700);
    for (const k of ['k1', 'k2', 'k3']) await s.run('jwt:a', k, body);
    expect(s.store.keptBytes).toBeLessThanOrEqual(2_000);
    expect(s.store.size).toBe(2);
    const before = s.runs();
    await s.run('jwt:a', 'k3', body);
    expect(s.runs()).toBe(before);
    await s.run('jwt:a', 'k1', body);
    expect(s.runs()).toBe(before + 1);
    // Larger than the whole budget: answered, not kept, the others untouched.
    const kept = s.store.size;
    const big = await s.run('jwt:a', 'big', 'y'.repeat(3_000));
    expect(big.body).toHaveLength(3_000);
    expect(s.store.size).toBe(kept);
    await s.run('jwt:a', 'big', 'y'.repeat(3_000));
    expect(s.runs()).toBe(before + 3);
  });

  it('forgets a key after its time to live, and never keeps a 5xx', async () => {
    const s = setup({ ttlMs: 1_000 });
    await s.run('jwt:a', 'k');
    s.advance(999);
    await s.run('jwt:a', 'k');
    expect(s.runs()).toBe(1);
    s.advance(2);
    await s.run('jwt:a', 'k');
    expect(s.runs()).toBe(2);
    let failures = 0;
    const fail = () =>
      s.store.run('jwt:a', 'f', 'd', () => {
        failures++;
        return Promise.resolve(answer('{}', 503));
      });
    await fail();
    await fail();
    expect(failures).toBe(2);
    expect(s.store.keptBytes).toBeGreaterThan(0);
  });

  it('refuses limits that are not positive whole numbers', () => {
    expect(() => new IdempotencyStore(() => 0, { keysPerPrincipal: 0 })).toThrow(RangeError);
    expect(() => new IdempotencyStore(() => 0, { bytes: 1.5 })).toThrow(RangeError);
  });
});

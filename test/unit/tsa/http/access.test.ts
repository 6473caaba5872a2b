// The access check in-process: concurrent checks of one Basic credential share one scrypt run
// and one failure reservation, wrong guesses spend a per-address budget, and fresh evidence
// has per-client buckets even without authentication.
import type Koa from 'koa';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAccessControl, type AccessDecision } from '../../../../src/tsa/http/access.js';
import { hashPassword, parsePasswordHash } from '../../../../src/tsa/http/password.js';
import type { BasicUser } from '../../../../src/tsa/http/password.js';

const PASSWORD = 'a long enough password';
let users: BasicUser[];

beforeAll(async () => {
  users = [
    {
      user: 'alice',
      password: parsePasswordHash(await hashPassword(PASSWORD, { n: 2 ** 14, r: 8, p: 1 })),
    },
  ];
});

function ctx(headers: Record<string, string> = {}): Koa.Context {
  const fake = {
    get: (name: string) => headers[name.toLowerCase()] ?? '',
    req: { socket: {} },
  };
  return fake as unknown as Koa.Context;
}

function basic(user: string, password: string): Koa.Context {
  return ctx({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
}

const statusOf = (d: AccessDecision): number => (d.ok ? 200 : d.status);

describe('access control', () => {
  it('concurrent checks of one credential share one scrypt run and one failure reservation', async () => {
    const check = createAccessControl({ basic: users, authFailuresPerMinute: 1 });
    const first = await Promise.all(
      Array.from({ length: 20 }, () =>
        check(basic('alice', PASSWORD), { address: '192.0.2.1', purpose: 'timestamp' }),
      ),
    );
    expect(first.map(statusOf)).toEqual(Array.from({ length: 20 }, () => 200));
    expect(first[0]).toEqual({ ok: true, client: 'basic:alice' });
    // The success gave its reservation back: the budget of one is still there for a typo.
    expect(
      statusOf(await check(basic('alice', 'typo'), { address: '192.0.2.1', purpose: 'timestamp' })),
    ).toBe(401);
    const after = await check(basic('alice', 'typo2'), {
      address: '192.0.2.1',
      purpose: 'timestamp',
    });
    expect(statusOf(after)).toBe(429);
    expect(after.ok ? 0 : after.retryAfter).toBeGreaterThan(0);
    // The proven credential is remembered and still works from that address.
    expect(
      statusOf(
        await check(basic('alice', PASSWORD), { address: '192.0.2.1', purpose: 'timestamp' }),
      ),
    ).toBe(200);
    // Another address has its own failure budget.
    expect(
      statusOf(
        await check(basic('mallory', PASSWORD), { address: '192.0.2.2', purpose: 'timestamp' }),
      ),
    ).toBe(401);
  });

  it('wrong guesses from one address: 401 until the budget is spent, then 429 without checking', async () => {
    const check = createAccessControl({ basic: users, authFailuresPerMinute: 3 });
    const answers: number[] = [];
    for (let i = 0; i < 6; i++) {
      answers.push(
        statusOf(
          await check(basic('alice', `guess ${i}`), { address: '192.0.2.9', purpose: 'timestamp' }),
        ),
      );
    }
    expect(answers).toEqual([401, 401, 401, 429, 429, 429]);
    // Without credentials: a 401 challenge, which does not spend the failure budget.
    expect(statusOf(await check(ctx(), { address: '192.0.2.10', purpose: 'timestamp' }))).toBe(401);
  });

  it('fresh evidence has per-client buckets without authentication', async () => {
    const check = createAccessControl({ evidenceRatePerSecond: 1 });
    const a: number[] = [];
    for (let i = 0; i < 4; i++)
      a.push(statusOf(await check(ctx(), { address: '192.0.2.1', purpose: 'evidence' })));
    expect(a).toEqual([200, 200, 429, 429]);
    expect(statusOf(await check(ctx(), { address: '192.0.2.2', purpose: 'evidence' }))).toBe(200);
    // Time-stamp queries are not limited without --rate-limit.
    for (let i = 0; i < 10; i++)
      expect(statusOf(await check(ctx(), { address: '192.0.2.1', purpose: 'timestamp' }))).toBe(
        200,
      );
  });
});

// Many connections from one address at once: a good token is never refused for the checks it has
// in flight (requests with the same token share one check and one reservation of the budget),
// while guesses sent in parallel still run into the failed-authentication budget.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiFixture, type ApiFixture } from '../../helpers/api.js';

const PARALLEL = 32;

describe('authentication under parallel requests from one address', () => {
  let f: ApiFixture;
  let jwksServer: Server;

  beforeAll(async () => {
    // The issuer's keys from a loopback JWKS URL that answers after 300 ms: the first requests'
    // checks are all in flight at once, as on a busy server.
    let jwks = '';
    jwksServer = createServer((_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
      }, 300);
    });
    await new Promise<void>((ok) => jwksServer.listen(0, '127.0.0.1', ok));
    const url = new URL(`http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`);
    // A budget of 10 failed authentications a minute, far below the parallel requests.
    f = await startApiFixture({
      limits: { authFailuresPerMinute: 10, ratePerSecond: 1000 },
      auth: ({ issuer }) => {
        jwks = JSON.stringify(issuer.jwks);
        return { jwt: { issuer: issuer.issuer, audience: issuer.audience, jwks: url } };
      },
    });
  }, 120_000);

  afterAll(async () => {
    await f.close();
    await new Promise((done) => jwksServer.close(done));
  });

  const statuses = async (token: () => Promise<string> | string): Promise<number[]> =>
    Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        const r = await f.request('GET', '/v1/partitions', { token: await token() });
        return r.status;
      }),
    );

  it('answers every one of 32 parallel requests with one good token', async () => {
    const token = await f.token('busy-client', ['crypto-user'], ['default']);
    for (let wave = 0; wave < 3; wave++) {
      expect(await statuses(() => token)).toEqual(Array<number>(PARALLEL).fill(200));
    }
  });

  it('refuses parallel distinct guesses beyond the budget with 429, and a good token then', async () => {
    const good = await f.token('guesser-2', ['crypto-user'], ['default']);
    let n = 0;
    const started = performance.now();
    const got = await statuses(() => `${good.slice(0, -6)}${String(n++).padStart(6, 'A')}`);
    // The budget is 10 a minute: at most 10 guesses were checked, plus one per 6 s the burst
    // took (none unless a busy machine drew it out).
    const refilled = Math.floor((performance.now() - started) / 6_000);
    const refused = got.filter((s) => s === 429).length;
    const rejected = got.filter((s) => s === 401).length;
    expect(refused + rejected).toBe(PARALLEL);
    expect(rejected).toBeLessThanOrEqual(10 + refilled);
    expect(refused).toBeGreaterThanOrEqual(PARALLEL - 10 - refilled);
    // The address has used up its budget: even a good token waits now.
    expect((await f.request('GET', '/v1/partitions', { token: good })).status).toBe(429);
  });
});

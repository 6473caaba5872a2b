// Authentication of the REST API over HTTPS: JWT bearer tokens (wrong audience, expired,
// alg none, HS256 made with the public key as the secret, unknown roles, another partition),
// client certificates (none, another CA's, expired, pinned by fingerprint, mapped by subject),
// the client address allow-list, the per-principal rate limit and the failed-authentication
// budget, each refusal a problem document; on each device store (SQLite, PostgreSQL), the
// listeners of one store sharing one device.
/* eslint-disable @typescript-eslint/no-unsafe-member-access -- every answer is checked against the OpenAPI document by the client before a test reads its fields as plain JSON */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEntries } from '../../helpers/hsm.js';
import {
  apiStores,
  createApiDevice,
  makeCa,
  makeLeaf,
  startApiFixture,
  type ApiDevice,
  type ApiFixture,
  type TestCert,
} from '../../helpers/api.js';

const b64url = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

for (const { store, skip } of apiStores()) {
  describe.skipIf(skip)(`API authentication on the ${store} store`, () => {
    let shared: ApiDevice;
    beforeAll(async () => {
      shared = await createApiDevice(store);
    }, 120_000);
    afterAll(async () => {
      await shared.close();
    });

    it(`runs on the ${store} store`, () => {
      expect(shared.device.hsm.storeInfo().dialect).toBe(store);
    });

    describe('JWT bearer tokens', () => {
      let f: ApiFixture;
      beforeAll(async () => {
        f = await startApiFixture({ device: shared.device });
      }, 60_000);
      afterAll(async () => {
        await f.close();
      });

      const claims = {
        sub: 'app',
        attestamp_roles: ['crypto-user'],
        attestamp_partitions: ['default'],
      };

      it('accepts a valid token', async () => {
        const r = await f.request('GET', '/v1/partitions/default', {
          token: await f.issuer.token(claims),
        });
        expect(r.status).toBe(200);
      });

      it('refuses a token typed as another kind of JWT; takes at+jwt, JWT or no typ', async () => {
        for (const typ of ['dpop+jwt', 'logout+jwt', 'application/secevent+jwt']) {
          const r = await f.request('GET', '/v1/partitions/default', {
            token: await f.issuer.token(claims, { typ }),
          });
          expect([r.status, r.json.code, r.json.details.reason], typ).toEqual([
            401,
            'api-unauthenticated',
            'type',
          ]);
        }
        for (const typ of ['at+jwt', 'application/at+jwt', 'JWT', undefined]) {
          const r = await f.request('GET', '/v1/partitions/default', {
            token: await f.issuer.token(claims, typ === undefined ? {} : { typ }),
          });
          expect(r.status, String(typ)).toBe(200);
        }
      });

      it('refuses a token for another audience with 403', async () => {
        const t = await f.issuer.token(claims, { audience: 'another-service' });
        const r = await f.request('GET', '/v1/device', { token: t });
        expect([r.status, r.json.code, r.json.details.reason]).toEqual([
          403,
          'api-forbidden',
          'audience',
        ]);
      });

      it('refuses an expired token (beyond the leeway) with 401', async () => {
        const t = await f.issuer.token(claims, { expiresIn: Math.floor(Date.now() / 1000) - 120 });
        const r = await f.request('GET', '/v1/device', { token: t });
        expect([r.status, r.json.code, r.json.details.reason]).toEqual([
          401,
          'api-unauthenticated',
          'expired',
        ]);
      });

      it("refuses alg 'none'", async () => {
        const now = Math.floor(Date.now() / 1000);
        const payload = {
          ...claims,
          iss: f.issuer.issuer,
          aud: f.issuer.audience,
          iat: now,
          exp: now + 300,
        };
        const t = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(payload)}.`;
        const r = await f.request('GET', '/v1/device', { token: t });
        expect([r.status, r.json.code]).toEqual([401, 'api-unauthenticated']);
      });

      it('refuses HS256 made with the public key as the HMAC secret', async () => {
        for (const secret of [JSON.stringify(f.issuer.publicJwk), f.issuer.publicJwk.x!]) {
          const t = await new SignJWT(claims)
            .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
            .setIssuer(f.issuer.issuer)
            .setAudience(f.issuer.audience)
            .setIssuedAt()
            .setExpirationTime('5m')
            .sign(new TextEncoder().encode(secret));
          const r = await f.request('GET', '/v1/device', { token: t });
          expect([r.status, r.json.code]).toEqual([401, 'api-unauthenticated']);
        }
      });

      it('refuses a token whose signature was altered, and one with an unknown role', async () => {
        const t = await f.issuer.token(claims);
        const [h, p, s] = t.split('.');
        const altered = `${h}.${p}.${s!.slice(0, -4)}AAAA`;
        expect((await f.request('GET', '/v1/device', { token: altered })).status).toBe(401);
        const bad = await f.issuer.token({ ...claims, attestamp_roles: ['root'] });
        const r = await f.request('GET', '/v1/device', { token: bad });
        expect([r.status, r.json.details.reason]).toEqual([401, 'claims']);
      });

      it('answers 403 role-required for a token scoped to another partition', async () => {
        const t = await f.issuer.token({ ...claims, attestamp_partitions: ['other'] });
        const r = await f.request('GET', '/v1/partitions/default/keys', { token: t });
        expect([r.status, r.json.code]).toEqual([403, 'role-required']);
        expect(r.json.details).toMatchObject({ scope: 'partition:default', principal: 'jwt:app' });
      });
    });

    describe('keys from a JWKS URL on loopback', () => {
      let f: ApiFixture;
      let keys: Server;
      let fetched = 0;
      beforeAll(async () => {
        f = await startApiFixture({
          device: shared.device,
          auth: async ({ issuer }) => {
            keys = createServer((_req, res) => {
              fetched++;
              res.setHeader('content-type', 'application/json');
              res.end(JSON.stringify(issuer.jwks));
            });
            await new Promise<void>((resolve) => keys.listen(0, '127.0.0.1', resolve));
            const port = (keys.address() as AddressInfo).port;
            return {
              jwt: {
                issuer: issuer.issuer,
                audience: issuer.audience,
                jwks: new URL(`http://127.0.0.1:${port}/jwks.json`),
              },
            };
          },
        });
      }, 60_000);
      afterAll(async () => {
        await f.close();
        await new Promise((resolve) => keys.close(resolve));
      });

      it('verifies tokens with the keys it fetched', async () => {
        const t = await f.token('app', ['crypto-user']);
        expect((await f.request('GET', '/v1/device', { token: t })).status).toBe(200);
        expect(fetched).toBeGreaterThanOrEqual(1);
      });

      it('still answers 401 for a token whose kid the fetched keys do not have', async () => {
        const t = await f.issuer.token(
          { sub: 'app', attestamp_roles: ['crypto-user'] },
          { kid: 'unknown-kid' },
        );
        const r = await f.request('GET', '/v1/device', { token: t });
        expect([r.status, r.json.code, r.json.details.reason]).toEqual([
          401,
          'api-unauthenticated',
          'invalid',
        ]);
      });

      it('refuses a JWKS URL off this machine, and HS or none algorithms, at start-up', async () => {
        const { checkJwtSettings } = await import('../../../src/api/index.js');
        const base = { issuer: 'i', audience: 'a', jwks: { keys: [] } };
        expect(() => {
          checkJwtSettings({ ...base, jwks: new URL('https://keys.example/jwks.json') });
        }).toThrow(/loopback/);
        expect(() => {
          checkJwtSettings({ ...base, algorithms: ['HS256'] });
        }).toThrow(/not allowed/);
        expect(() => {
          checkJwtSettings({ ...base, algorithms: ['none'] });
        }).toThrow(/not allowed/);
        expect(() => {
          checkJwtSettings({ ...base, jwks: new URL('http://[::1]:9/jwks') });
        }).not.toThrow();
      });
    });

    describe('JWT typ required (RFC 9068)', () => {
      let f: ApiFixture;
      beforeAll(async () => {
        f = await startApiFixture({
          device: shared.device,
          auth: ({ issuer }) => ({
            jwt: {
              issuer: issuer.issuer,
              audience: issuer.audience,
              jwks: issuer.jwks,
              requireAccessTokenType: true,
            },
          }),
        });
      }, 60_000);
      afterAll(async () => {
        await f.close();
      });

      it('takes only tokens typed at+jwt', async () => {
        const claims = {
          sub: 'app',
          attestamp_roles: ['crypto-user'],
          attestamp_partitions: ['*'],
        };
        for (const typ of [undefined, 'JWT', 'dpop+jwt']) {
          const r = await f.request('GET', '/v1/device', {
            token: await f.issuer.token(claims, typ === undefined ? {} : { typ }),
          });
          expect([r.status, r.json.details.reason], String(typ)).toEqual([401, 'type']);
        }
        for (const typ of ['at+jwt', 'application/at+jwt']) {
          const r = await f.request('GET', '/v1/device', {
            token: await f.issuer.token(claims, { typ }),
          });
          expect(r.status, typ).toBe(200);
        }
      });
    });

    describe('a JWKS URL that does not answer', () => {
      let f: ApiFixture;
      beforeAll(async () => {
        // A loopback port nobody listens on: bound, then closed.
        const probe = createServer();
        await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
        const port = (probe.address() as AddressInfo).port;
        await new Promise((resolve) => probe.close(resolve));
        f = await startApiFixture({
          device: shared.device,
          auth: ({ issuer }) => ({
            jwt: {
              issuer: issuer.issuer,
              audience: issuer.audience,
              jwks: new URL(`http://127.0.0.1:${port}/jwks.json`),
            },
          }),
          limits: { authFailuresPerMinute: 3 },
        });
      }, 60_000);
      afterAll(async () => {
        await f.close();
      });

      it('answers 503 api-jwks-unavailable with Retry-After, not 401, and spends no failure budget', async () => {
        const t = await f.token('app', ['crypto-user']);
        for (let i = 0; i < 5; i++) {
          const r = await f.request('GET', '/v1/device', { token: t });
          expect([r.status, r.json.code]).toEqual([503, 'api-jwks-unavailable']);
          expect(r.headers['retry-after']).toBe('5');
          expect(r.headers['www-authenticate']).toBeUndefined();
        }
      });
    });

    describe('client certificates', () => {
      let f: ApiFixture;
      let good: TestCert;
      let expired: TestCert;
      let foreign: TestCert;
      let pinned: TestCert;

      beforeAll(async () => {
        const otherCa = await makeCa('another ca');
        foreign = await makeLeaf(otherCa, 'CN=app-mtls');
        pinned = await makeLeaf(otherCa, 'CN=pinned-app');
        f = await startApiFixture({
          device: shared.device,
          auth: async ({ clientCa }) => {
            good = await makeLeaf(clientCa, 'CN=app-mtls, O=Example');
            expired = await makeLeaf(clientCa, 'CN=app-mtls, O=Example', {
              fromDays: -10,
              toDays: -1,
            });
            return {
              certificates: [
                {
                  subject: 'CN=app-mtls, O=Example',
                  issuer: `CN=${clientCa.name}`,
                  principal: 'app-mtls',
                  roles: ['crypto-user'],
                  partitions: ['default'],
                },
                {
                  fingerprint: createHash('sha256').update(pinned.der).digest('hex'),
                  principal: 'pinned',
                  roles: ['auditor'],
                  partitions: ['*'],
                },
              ],
            };
          },
        });
      }, 60_000);
      afterAll(async () => {
        await f.close();
      });

      it('maps a certificate under the client CA to its principal', async () => {
        const r = await f.request('GET', '/v1/partitions/default/keys', { cert: good });
        expect(r.status).toBe(200);
        const last = (await auditEntries(f.hsm)).filter((e) => e.action === 'api.request').at(-1);
        expect(last).toMatchObject({
          actor: 'mtls:app-mtls',
          details: { via: 'mtls', status: 200 },
        });
      });

      it('refuses no certificate (and no token)', async () => {
        const r = await f.request('GET', '/v1/device');
        expect([r.status, r.json.code]).toEqual([401, 'api-unauthenticated']);
      });

      it("refuses another CA's certificate with the mapped subject", async () => {
        const r = await f.request('GET', '/v1/device', { cert: foreign });
        expect([r.status, r.json.code, r.json.details.reason]).toEqual([
          401,
          'api-unauthenticated',
          'certificate-untrusted',
        ]);
      });

      it('refuses an expired certificate of the client CA', async () => {
        const r = await f.request('GET', '/v1/device', { cert: expired });
        expect([r.status, r.json.details.reason]).toEqual([401, 'certificate-expired']);
      });

      it('accepts a certificate pinned by its SHA-256 fingerprint, with its own roles', async () => {
        const r = await f.request('GET', '/v1/audit?limit=1', { cert: pinned });
        expect(r.status).toBe(200);
        const keys = await f.request('POST', '/v1/partitions/default/keys', {
          cert: pinned,
          json: { label: 'by-auditor', algorithm: 'ecdsa-p256' },
        });
        expect([keys.status, keys.json.code]).toEqual([403, 'role-required']);
      });
    });

    describe('allow-list and limits', () => {
      let open: ApiFixture;
      let closed: ApiFixture;
      beforeAll(async () => {
        open = await startApiFixture({
          device: shared.device,
          allow: ['127.0.0.0/8'],
          limits: { ratePerSecond: 1, authFailuresPerMinute: 3 },
        });
        closed = await startApiFixture({ device: shared.device, allow: ['192.0.2.0/24'] });
      }, 60_000);
      afterAll(async () => {
        await open.close();
        await closed.close();
      });

      it('refuses an address outside the allow-list before authentication', async () => {
        const t = await closed.token('app', ['crypto-user']);
        const r = await closed.request('GET', '/v1/device', { token: t });
        expect([r.status, r.json.code]).toEqual([403, 'api-address-refused']);
        const doc = await closed.request('GET', '/v1/openapi.json');
        expect(doc.status).toBe(403);
      });

      it('answers 429 with Retry-After past the per-principal rate', async () => {
        const t = await open.token('busy', ['crypto-user']);
        const statuses: number[] = [];
        let retryAfter: string | string[] | undefined;
        for (let i = 0; i < 4; i++) {
          const r = await open.request('GET', '/v1/device', { token: t });
          statuses.push(r.status);
          if (r.status === 429) {
            expect(r.json.code).toBe('api-rate-limited');
            retryAfter = r.headers['retry-after'];
          }
        }
        expect(statuses.slice(0, 2)).toEqual([200, 200]);
        expect(statuses).toContain(429);
        expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
        // Another principal has its own budget.
        const other = await open.request('GET', '/v1/device', {
          token: await open.token('calm', ['crypto-user']),
        });
        expect(other.status).toBe(200);
      });

      it('limits failed authentications per address', async () => {
        const statuses: number[] = [];
        for (let i = 0; i < 5; i++) {
          statuses.push((await open.request('GET', '/v1/device', { token: 'not.a.token' })).status);
        }
        expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
        expect(statuses.at(-1)).toBe(429);
      });
    });
  });
}

// Closing the API server waits for the work of requests still running, not only for their
// sockets: a client that goes away mid-request does not stop its signature and audit entries,
// and the store must not be closed under them. The device store's WAL flush is held by the test
// so that the request is still running, deterministically, when its client leaves.
import { fdatasync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { describe, expect, it } from 'vitest';
import { Hsm } from '../../../src/hsm/index.js';
import { startApiFixture } from '../../helpers/api.js';
import type { FlushDone } from '../../helpers/held-flush.js';
import { turn, watch } from '../../helpers/wait.js';
import { auditEntries, createTestDevice } from '../../helpers/hsm.js';

describe('closing the API server', () => {
  it('waits for a request whose client left, which then signs and audits in full', async () => {
    const created = await createTestDevice();
    await created.hsm.generateKey('default', {
      label: 'app',
      algorithm: 'ecdsa-p256',
      purposes: ['sign'],
    });
    await created.hsm.close();
    // Flushes run for real, except while `hold` is set: then they wait for the test.
    let hold = false;
    const held: { fd: number; done: FlushDone }[] = [];
    const walFlush = (fd: number, done: FlushDone): void => {
      if (hold) held.push({ fd, done });
      else fdatasync(fd, done);
    };
    const hsm = await Hsm.open(created.storePath, created.masterKey, {
      sqliteStore: { walFlush },
    });
    const errors: string[] = [];
    const logger = {
      info: () => undefined,
      warn: () => undefined,
      error: (message: string) => {
        errors.push(message);
      },
    };
    const f = await startApiFixture({ device: { ...created, hsm }, logger });
    try {
      const token = await f.token('app-user', ['crypto-user'], ['default']);
      hold = true;
      const body = JSON.stringify({
        data: Buffer.from('signed after the client left').toString('base64'),
      });
      const req = httpsRequest(`${f.api.url}/v1/partitions/default/keys/app/sign`, {
        method: 'POST',
        ca: f.serverCa.pem,
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${token}`,
          'content-length': String(Buffer.byteLength(body)),
        },
      });
      req.on('error', () => undefined);
      req.end(body);
      // The signature's transaction has committed and waits for its flush: the client leaves.
      for (let i = 0; i < 100 && held.length === 0; i++) await turn();
      expect(held).toHaveLength(1);
      req.destroy();
      await turn();
      const closed = watch(f.api.close());
      await turn();
      expect(closed.state).toBe('pending');
      hold = false;
      for (const call of held.splice(0)) call.done(null);
      for (let i = 0; i < 100 && closed.state === 'pending'; i++) await turn();
      expect(closed.state).toBe('done');
      expect(errors).toEqual([]);
      const tail = (await auditEntries(hsm)).slice(-2);
      expect(tail.map((e) => [e.action, e.outcome, e.actor])).toEqual([
        ['key.sign', 'success', 'jwt:app-user'],
        ['api.request', 'success', 'jwt:app-user'],
      ]);
    } finally {
      hold = false;
      for (const call of held.splice(0)) call.done(null);
      await f.close();
      await hsm.close();
    }
  });
});

// The archive's group commit under load: the server is killed (SIGKILL, no shutdown) while
// eight clients keep it busy, so that batches are pending and on their way to disk at that
// moment. Every token a client received must be in the archive, and the chain must verify.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Archive } from '../../src/tsa/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { post, startTsa } from '../helpers/tsa.js';
import { parseResponse, serialOf, timeStampQuery } from '../helpers/tsp.js';

describe('archive group commit and a crash', () => {
  it('SIGKILL under load: every token a client received is archived, the chain verifies', async () => {
    const cwd = tempDir();
    expect(runCli(['init'], { cwd }).code).toBe(0);
    const tsa = await startTsa(cwd, ['serve', '--port', '0']);
    const received: string[] = [];
    let killed = false;
    const exited = new Promise<void>((done) => {
      tsa.child.once('exit', () => {
        done();
      });
    });
    const lane = async (): Promise<void> => {
      while (!killed) {
        let r;
        try {
          r = await post(tsa.url, timeStampQuery(), undefined, AbortSignal.timeout(30_000));
        } catch {
          return; // the connection went down with the server
        }
        if (r.status !== 200) continue;
        const p = parseResponse(r.body);
        if (p.status === 0) received.push(serialOf(p.tstInfo!).toString());
        if (received.length >= 200) {
          killed = true;
          tsa.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, lane));
    await exited;
    expect(received.length).toBeGreaterThanOrEqual(200);
    const archive = Archive.openReadOnly(join(cwd, 'data/tsa-archive.sqlite'));
    try {
      const v = await archive.verify();
      expect(v.ok).toBe(true);
      const archived = new Set(
        (await archive.find({})).filter((r) => r.status === 'granted').map((r) => r.serial),
      );
      const missing = received.filter((s) => !archived.has(s));
      expect(missing).toEqual([]);
    } finally {
      await archive.close();
    }
  }, 90_000);
});

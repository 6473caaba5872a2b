// Graceful shutdown: SIGTERM during a burst finishes the requests in flight, every token a
// client received is in the archive, and the process exits 0.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { post, startTsa } from '../helpers/tsa.js';
import { parseResponse, serialOf, timeStampQuery } from '../helpers/tsp.js';
import { waitFor } from '../helpers/wait.js';

describe('graceful shutdown', () => {
  it('finishes in-flight requests, archives every token sent, and exits 0', async () => {
    const cwd = tempDir();
    expect(runCli(['init'], { cwd }).code).toBe(0);
    const tsa = await startTsa(cwd, ['serve', '--port', '0']);
    // Each request is bounded on the client side, so that a hang is reported as the server's
    // (its exit and its log below), never as a fetch that waits for ever.
    const states: string[] = Array.from({ length: 60 }, () => 'pending');
    const inFlight = Array.from({ length: 60 }, (_, i) =>
      post(tsa.url, timeStampQuery(), undefined, AbortSignal.timeout(30_000)).then(
        (r) => {
          states[i] = String(r.status);
          return r;
        },
        (e: unknown) => {
          states[i] = e instanceof Error ? e.name : 'error';
          return undefined;
        },
      ),
    );
    // SIGTERM once the server is serving them: the first answer is in, the others are on their
    // way. A fixed few milliseconds could end before a busy machine has connected any.
    await waitFor('a first answer', () => states.includes('200'), { intervalMs: 1 });
    const exit = tsa.stop();
    let watchdog: NodeJS.Timeout | undefined;
    const stuck = new Promise<'stuck'>((r) => {
      watchdog = setTimeout(() => {
        r('stuck');
      }, 40_000);
    });
    const code = await Promise.race([exit, stuck]);
    const answers = await Promise.all(inFlight);
    clearTimeout(watchdog);
    if (code === 'stuck') tsa.child.kill('SIGKILL');
    expect(
      code,
      `server exit after SIGTERM; answers ${states.join(',')}; server log:\n${tsa.stderr()}`,
    ).toBe(0);
    const serials = answers
      .filter((a) => a?.status === 200)
      .map((a) => parseResponse(a!.body))
      .filter((p) => p.status === 0)
      .map((p) => serialOf(p.tstInfo!).toString());
    expect(serials.length).toBeGreaterThan(0);
    const db = new Database(join(cwd, 'data/tsa-archive.sqlite'), { readonly: true });
    const archived = new Set(
      (
        db.prepare("SELECT serial FROM responses WHERE status = 'granted'").all() as {
          serial: string;
        }[]
      ).map((r) => r.serial),
    );
    db.close();
    for (const s of serials) expect(archived.has(s)).toBe(true);
  }, 90_000);
});

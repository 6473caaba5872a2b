// Graceful shutdown: SIGTERM during a burst finishes the requests in flight, every token a
// client received is in the archive, and the process exits 0.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { post, startTsa } from '../helpers/tsa.js';
import { parseResponse, serialOf, timeStampQuery } from '../helpers/tsp.js';

describe('graceful shutdown', () => {
  it('finishes in-flight requests, archives every token sent, and exits 0', async () => {
    const cwd = tempDir();
    expect(runCli(['init'], { cwd }).code).toBe(0);
    const tsa = await startTsa(cwd, ['serve', '--port', '0']);
    const inFlight = Array.from({ length: 60 }, () =>
      post(tsa.url, timeStampQuery()).then(
        (r) => r,
        () => undefined,
      ),
    );
    await new Promise((r) => setTimeout(r, 5));
    const exit = tsa.stop();
    const answers = await Promise.all(inFlight);
    expect(await exit).toBe(0);
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
  });
});

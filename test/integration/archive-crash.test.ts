// The archive's group commit under load: the server is killed (SIGKILL, no shutdown) while
// eight clients keep it busy, so that batches are pending and on their way to disk at that
// moment. Every token a client received must be in the archive, and the chain must verify.
// And directly: a record resolves only once another connection can read its row (committed).
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Archive } from '../../src/tsa/index.js';
import { randomArchiveRecord } from '../helpers/archive-record.js';
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

  it('the writer thread: each record resolves only when its row is committed', async () => {
    // The writer thread runs compiled code: the archive is the built one, as the server's is.
    const built = (await import(
      pathToFileURL(join(import.meta.dirname, '../../dist/src/tsa/index.js')).href
    )) as typeof import('../../src/tsa/index.js');
    const path = join(tempDir(), 'archive.sqlite');
    const archive = built.Archive.open(path, { writer: 'thread' });
    const reader = new Database(path, { readonly: true });
    const committed = reader.prepare('SELECT count(*) AS n FROM responses WHERE serial = ?');
    const unseen: string[] = [];
    try {
      // Eight lanes, so that batches fill while others are on their way to disk.
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let i = 0; i < 40; i++) {
            const serial = archive.next();
            await archive.record(randomArchiveRecord(serial));
            const row = committed.get(serial.toString()) as { n: number };
            if (row.n !== 1) unseen.push(serial.toString());
          }
        }),
      );
      expect(unseen).toEqual([]);
      expect(archive.stats().rows).toBe(320);
      expect(archive.stats().batches).toBeLessThan(320);
    } finally {
      reader.close();
      await archive.drain();
      await archive.close();
    }
  });
});

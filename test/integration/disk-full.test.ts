// The TSA while its disk is full (a small tmpfs, where mounting is allowed): `serve` on a store
// with no room exits "no space" (74), not "corrupt"; a running server whose disk fills refuses
// with systemFailure, logs the failure state once instead of a stack trace per request, and
// logs the recovery with the count once space is back.
import { execFileSync } from 'node:child_process';
import { closeSync, cpSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { post, startTsa, type RunningTsa } from '../helpers/tsa.js';
import { parseResponse, timeStampQuery } from '../helpers/tsp.js';
import { waitFor } from '../helpers/wait.js';
import { skipWithout } from '../helpers/tools.js';

const root = tempDir();
const mounts: string[] = [];
let tsa: RunningTsa | undefined;
afterAll(async () => {
  if (tsa !== undefined && tsa.child.exitCode === null) await tsa.stop();
  for (const at of mounts) execFileSync('umount', ['-l', at], { stdio: 'pipe' });
});
let device: string;

beforeAll(() => {
  device = join(root, 'device');
  mkdirSync(device);
  expect(runCli(['init'], { cwd: device }).code).toBe(0);
});

/** A tmpfs of `kib` KiB holding a copy of the data folder, or undefined if mounting fails. */
function dataOnTmpfs(name: string, kib: number): string | undefined {
  const at = join(root, name);
  mkdirSync(at);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k`, 'tmpfs', at], { stdio: 'pipe' });
  } catch {
    return undefined;
  }
  mounts.push(at);
  cpSync(join(device, 'data'), at, { recursive: true });
  return at;
}

/** Fills the file system holding `dir` until ENOSPC. */
function fill(dir: string): void {
  const fd = openSync(join(dir, 'filler'), 'w');
  const chunk = Buffer.alloc(4096);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    expect((error as { code: string }).code).toBe('ENOSPC');
  } finally {
    closeSync(fd);
  }
}

describe('a full disk', () => {
  it('serve on a store whose -shm file cannot be created exits 74 "no space"', (ctx) => {
    const size = Math.ceil(readFileSync(join(device, 'data/attestamp.sqlite')).length / 1024) + 16;
    const at = dataOnTmpfs('tiny', size);
    if (at === undefined) {
      skipWithout(ctx, 'mounting a tmpfs');
      return;
    }
    const r = runCli(['serve', '--port', '0', '--data', at], { cwd: device });
    expect(r.code, r.stderr).toBe(74);
    expect(r.stderr).toContain('[store-no-space]');
    expect(r.stderr).not.toContain('corrupt');
  });

  it('a running server logs the failure state once, counts, and logs the recovery', async (ctx) => {
    const at = dataOnTmpfs('filling', 4096);
    if (at === undefined) {
      skipWithout(ctx, 'mounting a tmpfs');
      return;
    }
    tsa = await startTsa(device, ['serve', '--port', '0', '--data', at]);
    const query = timeStampQuery();
    expect(parseResponse((await post(tsa.url, query)).body).status).toBe(0);
    fill(at);
    const refused = 40;
    for (let i = 0; i < refused; i++) {
      const r = await post(tsa.url, query);
      expect(r.status).toBe(200);
      const parsed = parseResponse(r.body);
      expect(parsed.status).toBe(2);
      expect(parsed.statusText).toBe('internal error');
    }
    rmSync(join(at, 'filler'));
    expect(parseResponse((await post(tsa.url, query)).body).status).toBe(0);
    // The server's log reaches this process through a pipe, possibly after the answer.
    await waitFor('the recovery log line', () =>
      tsa?.stderr().includes('"message":"time-stamp request recovered"'),
    );
    const all = tsa.stderr();
    const lines = all
      .slice(0, all.lastIndexOf('\n') + 1)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const errors = lines.filter((l) => l.level === 'error');
    // Once per kind of failure for the whole episode (was three lines with stacks per request).
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(errors.length).toBeLessThanOrEqual(2);
    expect(lines.filter((l) => typeof l.stack === 'string').length).toBeLessThanOrEqual(2);
    const recovered = lines.filter((l) => l.message === 'time-stamp request recovered');
    expect(recovered).toHaveLength(1);
    expect(recovered[0]!.failures).toBe(refused);
    expect(await tsa.stop()).toBe(0);
  });
});

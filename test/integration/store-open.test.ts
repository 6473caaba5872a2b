// The CLI on a store it cannot open: a full disk, a permission problem, a lock and real
// corruption each get their own message and exit code, and only corruption says corrupt.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { skipWithout } from '../helpers/tools.js';

const root = tempDir();
const mounts: string[] = [];
afterAll(() => {
  for (const at of mounts) execFileSync('umount', ['-l', at], { stdio: 'pipe' });
});
let cwd: string;
let masterKey: string;

beforeAll(() => {
  cwd = join(root, 'device');
  mkdirSync(cwd);
  expect(runCli(['init'], { cwd }).code).toBe(0);
  masterKey = readFileSync(join(cwd, 'data/master.key'), 'utf8').trim();
});

/** A copy of the data folder at `to`. */
function copyData(to: string): void {
  cpSync(join(cwd, 'data'), to, { recursive: true });
}

describe('store open failures at the CLI', () => {
  it('a full disk: exit 74 and "no space", never "corrupt"', (ctx) => {
    const at = join(root, 'full');
    mkdirSync(at);
    // The store is ~100 KiB; a tmpfs just big enough for it leaves no room for its -shm file.
    const size = Math.ceil(readFileSync(join(cwd, 'data/attestamp.sqlite')).length / 1024) + 8;
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}k`, 'tmpfs', at], { stdio: 'pipe' });
    } catch {
      skipWithout(ctx, 'mounting a tmpfs');
      return;
    }
    mounts.push(at);
    cpSync(join(cwd, 'data/attestamp.sqlite'), join(at, 'attestamp.sqlite'));
    const r = runCli(['status', '--data', at], {
      cwd,
      env: { ATTESTAMP_MASTER_KEY: masterKey },
    });
    expect(r.code, r.stderr).toBe(74);
    expect(r.stderr).toContain('[store-no-space]');
    expect(r.stderr).not.toContain('corrupt');
  });

  it('a store the user may not write: exit 73, permission', (ctx) => {
    // Only root can run the CLI as another user here (root itself bypasses file modes).
    if (process.getuid?.() !== 0) {
      skipWithout(ctx, 'root');
      return;
    }
    const at = join(root, 'perm');
    copyData(at);
    chmodSync(root, 0o755);
    chmodSync(at, 0o755);
    chmodSync(join(at, 'attestamp.sqlite'), 0o600);
    const r = execCliAs(65534, ['status', '--data', at]);
    expect(r.code, r.stderr).toBe(73);
    expect(r.stderr).toContain('[store-permission]');
    expect(r.stderr).not.toContain('corrupt');
  });

  it('a store locked by another process: exit 75, busy', () => {
    const at = join(root, 'locked');
    copyData(at);
    const holder = new Database(join(at, 'attestamp.sqlite'));
    holder.pragma('locking_mode = EXCLUSIVE');
    holder.exec('BEGIN EXCLUSIVE');
    try {
      // Waits out the store's 5 s busy timeout, then gives up.
      const r = runCli(['status', '--data', at], { cwd });
      expect(r.code, r.stderr).toBe(75);
      expect(r.stderr).toContain('[store-busy]');
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
  });

  it('serve classifies the time-stamp archive the same way: garbage in it is corrupt, exit 4', () => {
    const at = join(root, 'archive-garbage');
    copyData(at);
    writeFileSync(join(at, 'tsa-archive.sqlite'), Buffer.alloc(16_384, 0x41));
    const r = runCli(['serve', '--port', '0', '--data', at], { cwd });
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain('the time-stamp archive file is corrupt');
    expect(r.stderr).toContain('[store-corrupt]');
  });

  it('garbage in the store file: exit 4, corrupt', () => {
    const at = join(root, 'garbage');
    copyData(at);
    writeFileSync(join(at, 'attestamp.sqlite'), Buffer.alloc(16_384, 0x41));
    const r = runCli(['status', '--data', at], { cwd });
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain('[store-corrupt]');
  });
});

/** Runs the CLI as another user (root only), with the master key in the environment. */
function execCliAs(uid: number, args: string[]): { code: number; stderr: string } {
  try {
    execFileSync(
      process.execPath,
      [join(import.meta.dirname, '../../dist/src/cli/attestamp.js'), ...args],
      {
        cwd: root,
        uid,
        gid: uid,
        env: { PATH: process.env.PATH ?? '', ATTESTAMP_MASTER_KEY: masterKey },
        stdio: 'pipe',
      },
    );
    return { code: 0, stderr: '' };
  } catch (error) {
    const e = error as { status: number | null; stderr: Buffer };
    return { code: e.status ?? -1, stderr: e.stderr.toString() };
  }
}

// Opening the device store: each real SQLite or file-system failure is classified (no space,
// permission, busy, corrupt, other) with its cause kept; only SQLite's corruption codes say corrupt.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { HsmError, type HsmErrorCode } from '../../../src/hsm/index.js';
import { classifyOpenError, openDatabase } from '../../../src/hsm/store/sqlite/database.js';
import { tempDir } from '../../helpers/tmp.js';
import { skipWithout } from '../../helpers/tools.js';

const dir = tempDir();
const mounts: string[] = [];
// Registered after tempDir's clean-up, so it runs before it (hooks run as a stack).
afterAll(() => {
  for (const at of mounts) execFileSync('umount', ['-l', at], { stdio: 'pipe' });
});

/** A small WAL store like the device store (a table and some rows). */
function walStore(path: string): void {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (x TEXT)');
  for (let i = 0; i < 40; i++) db.prepare('INSERT INTO t VALUES (?)').run('x'.repeat(500));
  db.close();
}

/** Runs fn, which must throw; returns what it threw. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

function expectClass(cause: unknown, code: HsmErrorCode, sqlite: string): HsmError {
  const error = classifyOpenError(cause, join(dir, 'any.sqlite'));
  expect(error).toBeInstanceOf(HsmError);
  expect(error.code).toBe(code);
  expect(error.cause).toBe(cause);
  expect((cause as { code: string }).code).toBe(sqlite);
  return error;
}

/** Mounts a tmpfs of `kib` KiB at a new folder, or undefined where mounting is not allowed. */
function tmpfs(kib: number): string | undefined {
  const at = join(dir, `mnt-${kib}`);
  mkdirSync(at);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k`, 'tmpfs', at], { stdio: 'pipe' });
  } catch {
    return undefined;
  }
  mounts.push(at);
  return at;
}

describe('store open errors', () => {
  it('garbage in the file: store-corrupt from SQLITE_NOTADB, cause kept', () => {
    const path = join(dir, 'garbage.sqlite');
    writeFileSync(path, Buffer.alloc(8192, 0x41));
    const error = thrown(() => openDatabase(path));
    expect(error).toBeInstanceOf(HsmError);
    expect((error as HsmError).code).toBe('store-corrupt');
    expect(((error as HsmError).cause as { code: string }).code).toBe('SQLITE_NOTADB');
  });

  it('a store locked by another connection: store-busy, not corrupt', () => {
    const path = join(dir, 'locked.sqlite');
    walStore(path);
    const holder = new Database(path);
    holder.pragma('locking_mode = EXCLUSIVE');
    holder.exec('BEGIN EXCLUSIVE');
    try {
      const other = new Database(path, { fileMustExist: true, timeout: 50 });
      const cause = thrown(() => other.prepare('SELECT count(*) FROM sqlite_master').get());
      other.close();
      expectClass(cause, 'store-busy', 'SQLITE_BUSY');
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
  });

  it('a write refused by a read-only handle: store-permission', () => {
    const path = join(dir, 'readonly.sqlite');
    walStore(path);
    const db = new Database(path, { readonly: true });
    const cause = thrown(() => db.prepare('INSERT INTO t VALUES (1)').run());
    db.close();
    expectClass(cause, 'store-permission', 'SQLITE_READONLY');
  });

  it('a folder where the file should be: store-unavailable, neither corrupt nor permission', () => {
    const path = join(dir, 'folder.sqlite');
    mkdirSync(path);
    const error = thrown(() => openDatabase(path));
    expect((error as HsmError).code).toBe('store-unavailable');
    expect(((error as HsmError).cause as { code: string }).code).toBe('SQLITE_CANTOPEN');
  });

  it('node:fs errno codes are classified too', () => {
    const enospc = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    expect(classifyOpenError(enospc, 'x').code).toBe('store-no-space');
    const eacces = Object.assign(new Error('permission denied'), { code: 'EACCES' });
    expect(classifyOpenError(eacces, 'x').code).toBe('store-permission');
    expect(classifyOpenError(new Error('anything else'), 'x').code).toBe('store-unavailable');
  });

  it('a full disk (a tiny tmpfs): store-no-space from SQLITE_IOERR_SHMSIZE, and SQLITE_FULL on write', (ctx) => {
    const small = tmpfs(40);
    if (small === undefined) {
      skipWithout(ctx, 'mounting a tmpfs');
      return;
    }
    // The 36 KiB store fits; its 32 KiB -shm file does not.
    const path = join(small, 'full.sqlite');
    walStore(join(dir, 'full-src.sqlite'));
    execFileSync('cp', [join(dir, 'full-src.sqlite'), path]);
    const error = thrown(() => openDatabase(path));
    expect((error as HsmError).code).toBe('store-no-space');
    expect(((error as HsmError).cause as { code: string }).code).toBe('SQLITE_IOERR_SHMSIZE');

    // Room for the -shm file but not for the rows a write adds.
    const roomy = tmpfs(160);
    if (roomy === undefined) return;
    const path2 = join(roomy, 'full.sqlite');
    execFileSync('cp', [join(dir, 'full-src.sqlite'), path2]);
    const db = openDatabase(path2);
    const cause = thrown(() => {
      for (let i = 0; i < 1000; i++) db.prepare('INSERT INTO t VALUES (?)').run('y'.repeat(4000));
    });
    db.close();
    expectClass(cause, 'store-no-space', 'SQLITE_FULL');
  });
});

// Running the service as an operator would: `npm start` on a fresh folder stops cleanly on
// SIGTERM with nothing left listening, and the shipped systemd unit passes systemd-analyze.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';

const ROOT = resolve(import.meta.dirname, '../..');
const UNIT = join(ROOT, 'config/systemd/attestamp.service');

function portOpen(port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      done(true);
    });
    s.once('error', () => {
      done(false);
    });
  });
}

/** True while any process of the group led by `pgid` is alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm start', () => {
  it('serves, and SIGTERM to the process npm start started leaves nothing running', async () => {
    const dir = tempDir();
    const npm = spawn('npm', ['start', '--silent'], {
      cwd: ROOT,
      env: {
        ...process.env,
        ATTESTAMP_DATA: join(dir, 'data'),
        ATTESTAMP_PORT: '0',
        npm_config_update_notifier: 'false',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    let err = '';
    npm.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const port = await new Promise<number>((done, fail) => {
      const timer = setTimeout(() => {
        fail(new Error(`npm start did not listen: ${err}`));
      }, 60_000);
      npm.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /listening on http:\/\/[^\s]+:(\d+)\//.exec(out);
        if (m !== null) {
          clearTimeout(timer);
          done(Number(m[1]));
        }
      });
    });
    expect(await portOpen(port)).toBe(true);
    const exited = new Promise<string>((done) =>
      npm.once('exit', (code, signal) => {
        done(signal ?? String(code));
      }),
    );
    process.kill(npm.pid!, 'SIGTERM');
    // npm passes the signal on to the server and ends with it (or with the server's status 0);
    // what matters is that the group it led is empty afterwards.
    expect(['0', 'SIGTERM']).toContain(await exited);
    const deadline = Date.now() + 10_000;
    while (groupAlive(npm.pid!) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(groupAlive(npm.pid!)).toBe(false);
    expect(await portOpen(port)).toBe(false);
    expect(err).not.toMatch(/Error|at .*\(/);
  });
});

describe.skipIf(requireTool('systemd-analyze'))('systemd unit', () => {
  /** The unit as shipped, with its install paths pointed at this checkout. */
  function unitHere(dir: string, edit: (text: string) => string = (t) => t): string {
    const text = readFileSync(UNIT, 'utf8').replace(
      '/usr/bin/node /opt/attestamp',
      `${process.execPath} ${ROOT}`,
    );
    const path = join(dir, 'attestamp.service');
    writeFileSync(path, edit(text));
    return path;
  }

  it('passes systemd-analyze verify with no warning', () => {
    const r = spawnSync('systemd-analyze', ['verify', unitHere(tempDir())], { encoding: 'utf8' });
    expect(r.stderr.trim()).toBe('');
    expect(r.status).toBe(0);
  });

  it('the check notices a broken unit', () => {
    const r = spawnSync(
      'systemd-analyze',
      ['verify', unitHere(tempDir(), (t) => t.replace('Restart=on-failure', 'Restart=sometimes'))],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toContain('sometimes');
  });

  it('runs serve with the shipped binary and stops with SIGTERM', () => {
    const text = readFileSync(UNIT, 'utf8');
    expect(text).toMatch(/^ExecStart=\/usr\/bin\/node \S+\/dist\/src\/cli\/attestamp\.js serve /m);
    expect(text).toMatch(/^KillSignal=SIGTERM$/m);
    expect(
      execFileSync(process.execPath, [
        join(ROOT, 'dist/src/cli/attestamp.js'),
        'serve',
        '--help',
      ]).toString(),
    ).toContain('--config');
  });
});

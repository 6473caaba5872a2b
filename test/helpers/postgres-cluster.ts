// A private PostgreSQL cluster for one test run (test/global-setup.ts): its own data folder and
// socket folder under the temp dir, 127.0.0.1 only, a free port, trust authentication (nothing
// else can reach it), stopped and removed at the end. Run as the `postgres` user when the tests
// run as root (PostgreSQL refuses to run as root). initdb runs once per PostgreSQL version into
// a template folder that later runs copy, so that a run pays a copy and a start, not an initdb.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';

/** The environment variable that names the test server (set by .ci/run or the global setup). */
export const POSTGRES_URL_VARIABLE = 'ATTESTAMP_TEST_POSTGRES_URL';

export interface PostgresCluster {
  readonly url: string;
  readonly stop: () => void;
  /** Stops the server (fast shutdown: clients are disconnected), keeping its data. */
  readonly pause: () => void;
  /** Starts it again on the same port. */
  readonly resume: () => void;
}

/** The folder of Debian's PostgreSQL binaries of the newest version, or PATH's. */
export function postgresBinaries(): string | undefined {
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => /^\d+$/.test(v) && existsSync(join(debian, v, 'bin', 'pg_ctl')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0] !== undefined) return join(debian, versions[0], 'bin');
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, 'pg_ctl')) && existsSync(join(dir, 'initdb'))) {
      return dir;
    }
  }
  return undefined;
}

const asRoot = userInfo().uid === 0;

/** Runs a PostgreSQL binary, as the postgres user when we are root. */
function pgRun(bin: string, tool: string, args: readonly string[]): string {
  const command = asRoot ? 'runuser' : join(bin, tool);
  const argv = asRoot ? ['-u', 'postgres', '--', join(bin, tool), ...args] : [...args];
  return execFileSync(command, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A temp folder the cluster's user owns. */
function ownedTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (asRoot) execFileSync('chown', ['postgres:', dir]);
  return dir;
}

/** The initdb'd data folder of this PostgreSQL version, made once and reused. */
function template(bin: string): string {
  const version = /\d+(?:\.\d+)*/.exec(pgRun(bin, 'pg_ctl', ['--version']))?.[0] ?? 'unknown';
  const path = join(tmpdir(), `attestamp-pg-template-${version}-${userInfo().uid}`);
  if (existsSync(join(path, 'data', 'PG_VERSION'))) return path;
  const building = ownedTempDir('attestamp-pg-template-');
  pgRun(bin, 'initdb', [
    '-D',
    join(building, 'data'),
    '-A',
    'trust',
    '-U',
    'postgres',
    '-E',
    'UTF8',
    '--no-locale',
    '--no-sync',
  ]);
  try {
    // Another run may have finished its template first: keep theirs.
    renameSync(building, path);
  } catch {
    rmSync(building, { recursive: true, force: true });
  }
  return path;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

/** Starts a private cluster; the caller stops it. */
export async function startPostgresCluster(bin: string): Promise<PostgresCluster> {
  const source = template(bin);
  const dir = ownedTempDir('attestamp-pg-');
  const data = join(dir, 'data');
  // cp -a keeps the owner (postgres) and the 0700 mode PostgreSQL requires of its data folder.
  execFileSync('cp', ['-a', join(source, 'data'), data]);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const settings = [
      `-p ${port}`,
      `-k ${dir}`,
      '-c listen_addresses=127.0.0.1',
      '-c max_connections=200',
      // A test cluster: durability against a power cut is not what the tests check.
      '-c fsync=off',
    ].join(' ');
    try {
      pgRun(bin, 'pg_ctl', [
        '-D',
        data,
        '-o',
        settings,
        '-l',
        join(dir, 'log'),
        '-w',
        '-t',
        '60',
        'start',
      ]);
      pgRun(bin, 'pg_isready', ['-h', '127.0.0.1', '-p', String(port), '-t', '30']);
    } catch (error) {
      // Another process took the port between our probe and the start: try another one.
      lastError = error;
      try {
        pgRun(bin, 'pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // it was not running
      }
      continue;
    }
    let stopped = false;
    const pause = (): void => {
      pgRun(bin, 'pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
    };
    const resume = (): void => {
      pgRun(bin, 'pg_ctl', ['-D', data, '-o', settings, '-l', join(dir, 'log'), '-w', 'start']);
    };
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      try {
        pgRun(bin, 'pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    // If the run ends without its teardown (an interrupted run), the cluster still stops.
    process.once('exit', stop);
    return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, stop, pause, resume };
  }
  const log = existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8') : '';
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`the test PostgreSQL cluster did not start:\n${log}`, { cause: lastError });
}

// Before the suite: builds dist/ when it is missing or older than the sources (the CLI subprocess
// tests run the code under test), and gives the store tests a PostgreSQL server.
//
// PostgreSQL: ATTESTAMP_TEST_POSTGRES_URL names a server the tests may create databases on
// (.ci/run starts one and sets it). When it is unset and PostgreSQL's binaries are installed, a
// private cluster is started for this run (test/helpers/postgres-cluster.ts) and its URL set in
// process.env, which the test workers inherit (vitest forks them after the global setup, with
// its environment); it is stopped at the end. ATTESTAMP_TEST_POSTGRES_URL=off starts none and
// skips the PostgreSQL tests. With CI=true, no server is a failure, never a skip.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  POSTGRES_URL_VARIABLE,
  postgresBinaries,
  startPostgresCluster,
} from './helpers/postgres-cluster.js';

const ROOT = resolve(import.meta.dirname, '..');

function newest(dir: string): number {
  let latest = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const s = statSync(path);
    latest = Math.max(latest, s.isDirectory() ? newest(path) : s.mtimeMs);
  }
  return latest;
}

function build(): void {
  const bin = join(ROOT, 'dist/src/cli/attestamp.js');
  if (existsSync(bin) && statSync(bin).mtimeMs >= newest(join(ROOT, 'src'))) return;
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
}

/** Starts a private PostgreSQL when none is given; returns its stop function. */
async function postgres(): Promise<(() => void) | undefined> {
  if ((process.env[POSTGRES_URL_VARIABLE] ?? '') !== '') return undefined;
  const bin = postgresBinaries();
  if (bin === undefined) {
    if (process.env.CI === 'true') {
      throw new Error(
        `CI=true and no PostgreSQL for the store tests: set ${POSTGRES_URL_VARIABLE} or install postgresql (.ci/run does)`,
      );
    }
    return undefined;
  }
  const cluster = await startPostgresCluster(bin);
  process.env[POSTGRES_URL_VARIABLE] = cluster.url;
  return cluster.stop;
}

export default async function setup(): Promise<() => void> {
  build();
  const stop = await postgres();
  return () => {
    stop?.();
  };
}

// Several `attestamp serve` nodes on one PostgreSQL database: serials unique across nodes, every
// token a client received archived (also from a node killed with SIGKILL mid-load), every chain
// and checkpoint verifying; and a database that goes away mid-load: nothing granted without its
// archive row, the node not ready meanwhile, and recovering by itself.
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { schemaOf, validate } from '../helpers/json-schema.js';
import { postgresBinaries, startPostgresCluster } from '../helpers/postgres-cluster.js';
import { freshDatabase, requirePostgres, sql, type FreshDatabase } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';
import { post, startTsa, type RunningTsa } from '../helpers/tsa.js';
import { parseResponse, serialOf, timeStampQuery } from '../helpers/tsp.js';
import { waitFor } from '../helpers/wait.js';

const skip = requirePostgres();
const VERIFY_SCHEMA = join(import.meta.dirname, '../../schemas/cli/archive-verify.schema.json');

/** A node's folder: the same master key as the first node's, its own node id. */
function nodeFolder(first: string): string {
  const dir = tempDir();
  mkdirSync(join(dir, 'data'), { mode: 0o700 });
  copyFileSync(join(first, 'data/master.key'), join(dir, 'data/master.key'));
  return dir;
}

interface Load {
  /** Serials of the granted tokens clients received. */
  readonly granted: string[];
  /** Rejections received (status 2), by failInfo text. */
  readonly rejected: number;
  /** Requests that got no RFC 3161 answer (connection refused or reset). */
  readonly failed: number;
  stop(): Promise<void>;
}

/** `clients` loops POSTing to the current URLs, round robin, until stopped. */
function load(urls: () => readonly string[], clients: number): Load {
  const granted: string[] = [];
  const counts = { rejected: 0, failed: 0 };
  let running = true;
  let n = 0;
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      const list = urls();
      const url = list[n++ % list.length]!;
      try {
        const r = await post(url, timeStampQuery(), undefined, AbortSignal.timeout(15_000));
        if (r.status !== 200) {
          counts.failed++;
          continue;
        }
        const p = parseResponse(r.body);
        if (p.status === 0) granted.push(serialOf(p.tstInfo!).toString());
        else counts.rejected++;
      } catch {
        counts.failed++;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  });
  return {
    granted,
    get rejected() {
      return counts.rejected;
    },
    get failed() {
      return counts.failed;
    },
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function archivedGranted(url: string): Promise<Set<string>> {
  const rows = await sql<{ serial: string }>(
    url,
    "SELECT serial::text AS serial FROM attestamp_tsa.responses WHERE status = 'granted'",
  );
  return new Set(rows.map((r) => r.serial));
}

describe.skipIf(skip)('several nodes on one PostgreSQL', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('two nodes under load, one killed with SIGKILL and restarted: serials unique, every token archived, chains and checkpoints verify', async () => {
    const db: FreshDatabase = await freshDatabase();
    cleanup.push(() => db.drop());
    const first = tempDir();
    const init = runCli(['init', '--store', db.url], { cwd: first });
    expect(init.code, init.stderr).toBe(0);
    const second = nodeFolder(first);
    const serve = ['serve', '--port', '0', '--store', db.url];
    let nodeA: RunningTsa = await startTsa(first, serve);
    const nodeB = await startTsa(second, serve);
    cleanup.push(async () => {
      for (const n of [nodeA, nodeB]) if (n.child.exitCode === null) await n.stop();
    });
    const urls = [nodeA.url, nodeB.url];
    const traffic = load(() => urls, 6);
    // Each phase lasts until it has seen grants, not a fixed time a busy machine may fill with
    // few of them (at least the 1.5 s it had before, for the kill to land mid-load).
    await sleep(1_500);
    await waitFor('grants under load', () => traffic.granted.length >= 10);
    nodeA.child.kill('SIGKILL');
    await new Promise((r) => nodeA.child.once('exit', r));
    urls[0] = nodeB.url;
    await sleep(500);
    nodeA = await startTsa(first, serve);
    urls[0] = nodeA.url;
    const beforeRestart = traffic.granted.length;
    await sleep(1_500);
    await waitFor('grants after the restart', () => traffic.granted.length >= beforeRestart + 11);
    await traffic.stop();
    expect(await nodeA.stop()).toBe(0);
    expect(await nodeB.stop()).toBe(0);

    expect(traffic.granted.length).toBeGreaterThan(20);
    // Unique by construction (serial blocks), and the UNIQUE constraint proves it in SQL.
    const duplicates = await sql(
      db.url,
      'SELECT serial FROM attestamp_tsa.responses WHERE serial IS NOT NULL GROUP BY serial HAVING count(*) > 1',
    );
    expect(duplicates).toEqual([]);
    expect(new Set(traffic.granted).size).toBe(traffic.granted.length);
    // Every token a client received is in the archive, the killed node's included.
    const archived = await archivedGranted(db.url);
    const missing = traffic.granted.filter((s) => !archived.has(s));
    expect(missing).toEqual([]);
    // Both nodes wrote their own chain.
    const chains = await sql<{ node: string }>(db.url, 'SELECT node FROM attestamp_tsa.chains');
    expect(chains.length).toBe(2);
    const verify = runCli(['tsa', 'archive', 'verify', '--store', db.url, '--json'], {
      cwd: first,
    });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    const report = JSON.parse(verify.stdout) as {
      ok: boolean;
      chains: unknown[];
      checkpoints: { count: number; verified: number };
    };
    expect(report.ok).toBe(true);
    expect(report.chains).toHaveLength(2);
    expect(report.checkpoints.verified).toBe(report.checkpoints.count);
    expect(report.checkpoints.count).toBeGreaterThan(0);
    // The JSON contract of the command covers the PostgreSQL report too.
    expect(validate(schemaOf(readFileSync(VERIFY_SCHEMA, 'utf8')), report)).toEqual([]);
    const audit = runCli(['audit', 'verify', '--store', db.url], { cwd: second });
    expect(audit.code, audit.stderr).toBe(0);
  }, 180_000);

  it('the database stopped and started mid-load: nothing granted without its archive row, not ready meanwhile, recovered after', async () => {
    const bin = postgresBinaries();
    expect(bin, 'PostgreSQL server binaries').toBeDefined();
    const cluster = await startPostgresCluster(bin!);
    cleanup.push(() => {
      cluster.stop();
    });
    const url = new URL(cluster.url);
    url.pathname = '/postgres';
    const dir = tempDir();
    expect(runCli(['init', '--store', url.toString()], { cwd: dir }).code).toBe(0);
    const node = await startTsa(dir, ['serve', '--port', '0', '--store', url.toString()]);
    cleanup.push(async () => {
      if (node.child.exitCode === null) await node.stop();
    });
    const traffic = load(() => [node.url], 4);
    await sleep(1_000);
    await waitFor('a grant before the database stops', () => traffic.granted.length > 0);
    cluster.pause();
    await sleep(1_500);
    // Not ready while the database is away: as soon as the node has noticed.
    await waitFor(
      '/readyz to fail',
      async () => (await fetch(new URL('/readyz', node.url))).status === 503,
    );
    const grantedWhileDown = traffic.granted.length;
    // Refused or failed meanwhile, not granted.
    await waitFor('a refused request', () => traffic.rejected + traffic.failed > 0);
    await sleep(1_000);
    // Nothing was granted while the database was away (a token may have been in flight).
    expect(traffic.granted.length).toBe(grantedWhileDown);
    cluster.resume();
    const deadline = Date.now() + 30_000;
    while (traffic.granted.length === grantedWhileDown && Date.now() < deadline) await sleep(200);
    expect(traffic.granted.length, 'granting again after the database came back').toBeGreaterThan(
      grantedWhileDown,
    );
    await traffic.stop();
    expect(await node.stop()).toBe(0);
    const archived = await archivedGranted(url.toString());
    expect(traffic.granted.filter((s) => !archived.has(s))).toEqual([]);
    const verify = runCli(['tsa', 'archive', 'verify', '--store', url.toString()], { cwd: dir });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  }, 180_000);
});

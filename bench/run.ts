// npm run bench: raw node:crypto ECDSA P-256 signing, in-process tokens (parse, build, sign;
// archive off and on), two token workers against one, RSS after 10^5 and 10^6 archived tokens,
// and over HTTP with keep-alive against the real server (durable archive), the same server with
// its archive in memory (/dev/shm) and a bare Koa server returning a body of the same size; the
// REST API signing with a P-256 key over HTTPS, 32 connections, against raw signing; the sign
// rate of every signature algorithm of the HSM against P-256 (bench/algorithms.ts), node:crypto's
// ML-DSA in a Node 26 child process when there is one, and post-quantum (ML-DSA-44) tokens
// in-process against raw ML-DSA-44 signing.
// Servers run pinned to one core, the load generator on the other. Each ratio compares a case
// with its reference measured alternately in short slices of the same run, and is reported as
// the median of the per-round ratios with their interquartile range. `--quick` for a short run.
// The last line is one JSON object.
import autocannon from 'autocannon';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { node26Rates, signRates, sliceOps, summary as summaryOf } from './algorithms.js';
import { apiSignLoad, writeApiBenchFiles, type ApiLoad } from './api-load.js';
import { mechanismFor } from '../src/hsm/key-crypto.js';
import { createFactory, Hsm, type HsmAlgorithm } from '../src/hsm/index.js';
import {
  der,
  id_sha256,
  id_tsaPolicyBaseline,
  id_tsaPolicyPostQuantum,
  isKeyAlgorithm,
  keyAlgorithmInfo,
} from '../src/pki/index.js';
import { systemClock } from '../src/shared/index.js';
import { Archive, createSystemTimeSource, TimeStampService } from '../src/tsa/index.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'dist/src/cli/attestamp.js');
const BARE = join(ROOT, 'dist/bench/bare-koa.js');
const QUICK = process.argv.includes('--quick');
/**
 * Interleaved rounds per comparison, slice length (ms) and warm-up (ms) per case. --quick must
 * finish within a minute, build included, on a loaded machine: fewer and shorter rounds, and
 * neither RSS figure (10^5 archived tokens alone take some 20 s).
 */
const ROUNDS = QUICK ? 5 : 20;
const SLICE_MS = 200;
const HTTP_SLICE_MS = QUICK ? 300 : 500;
const WARMUP_MS = QUICK ? 500 : 3000;
/** RSS is read after RSS_SHORT archived tokens, then after RSS_LONG (quick: not measured). */
const RSS_SHORT = QUICK ? undefined : 100_000;
const RSS_LONG = QUICK ? undefined : 1_000_000;

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const PIN = hasTaskset();

/** Operations per second of a synchronous function over one slice. */
function sliceSync(ms: number, fn: () => void): number {
  const start = performance.now();
  const end = start + ms;
  let n = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 20; i++) fn();
    n += 20;
  }
  return n / ((performance.now() - start) / 1000);
}

/** Operations per second of an async function over one slice, `parallel` in flight. */
async function sliceAsync(ms: number, fn: () => Promise<unknown>, parallel = 1): Promise<number> {
  const start = performance.now();
  const end = start + ms;
  let n = 0;
  const lane = async (): Promise<void> => {
    while (performance.now() < end) {
      await fn();
      n++;
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return n / ((performance.now() - start) / 1000);
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (i - lo);
}

interface Summary {
  readonly median: number;
  readonly iqr: number;
}

function summarize(values: readonly number[]): Summary {
  const s = [...values].sort((x, y) => x - y);
  return { median: quantile(s, 0.5), iqr: quantile(s, 0.75) - quantile(s, 0.25) };
}

/** Per-round ratios case/reference, from slices measured alternately. */
function ratios(cases: readonly number[], refs: readonly number[]): Summary {
  return summarize(cases.map((c, i) => c / refs[i]!));
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en');
const r3 = (n: number): number => Number(n.toFixed(3));

function line(label: string, text: string): void {
  console.log(`${label.padEnd(52)} ${text}`);
}

function request(): Uint8Array {
  // An openssl-style query: SHA-256 imprint, 64-bit nonce, certReq TRUE.
  return der.seq(
    der.integer(1),
    der.seq(der.algorithmIdentifier(id_sha256), der.octetString(randomBytes(32))),
    der.tlv(0x02, Uint8Array.of(0x01, ...randomBytes(7))),
    der.bool(true),
  );
}

function spawnPinned(args: string[], env: Record<string, string>): ChildProcess {
  const cmd = PIN ? 'taskset' : process.execPath;
  const argv = PIN ? ['-c', '0', process.execPath, ...args] : args;
  return spawn(cmd, argv, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

function waitPort(child: ChildProcess, re: RegExp): Promise<number> {
  return new Promise((ok, fail) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = re.exec(out);
      if (m) ok(Number(m[1]));
    });
    child.on('exit', (code) => {
      fail(new Error(`server exited ${String(code)}`));
    });
  });
}

/** One statement on its own connection (the scratch database of the PostgreSQL figure). */
async function pgQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

interface Load {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly non2xx: number;
}

async function load(
  port: number,
  body: Uint8Array,
  connections: number,
  ms: number,
): Promise<Load> {
  const r = await autocannon({
    url: `http://127.0.0.1:${port}/`,
    method: 'POST',
    headers: { 'content-type': 'application/timestamp-query' },
    body: Buffer.from(body),
    connections,
    pipelining: 1,
    duration: ms / 1000,
    // autocannon stops at a sample tick (every second by default): a 200 ms slice would run a
    // whole second. Ticks of 50 ms end a slice near its length; the rate is over the time run.
    sampleInt: Math.min(50, ms),
  });
  return {
    rps: r.requests.total / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
  };
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null) {
      done();
      return;
    }
    child.once('exit', () => {
      done();
    });
    child.kill('SIGTERM');
  });
}

/** Token workers (worker threads, each with its own view of the HSM), archive off. */
async function startTokenWorkers(
  count: number,
  path: string,
  masterKey: Buffer,
  req: Uint8Array,
): Promise<Worker[]> {
  const url = new URL('./token-worker.js', import.meta.url);
  return Promise.all(
    Array.from(
      { length: count },
      (_, i) =>
        new Promise<Worker>((ok, fail) => {
          const w = new Worker(url, {
            workerData: {
              path,
              masterKey: masterKey.toString('hex'),
              request: req,
              firstSerial: BigInt(i + 1) << 40n,
            },
          });
          w.once('message', () => {
            ok(w);
          });
          w.once('error', fail);
        }),
    ),
  );
}

function workerSlice(w: Worker, ms: number): Promise<number> {
  return new Promise((ok) => {
    w.once('message', (m: { n: number; ms: number }) => {
      ok(m.n / (m.ms / 1000));
    });
    w.postMessage(ms);
  });
}

async function main(): Promise<void> {
  console.log(
    `attestamp bench${QUICK ? ' --quick' : ''}: node ${process.version}, ${PIN ? 'servers on core 0, load on core 1' : 'no taskset: cores not pinned'}; ${ROUNDS} interleaved rounds, median ratio [IQR]`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'attestamp-bench-'));
  const children: ChildProcess[] = [];
  let memDir: string | undefined;
  let pgDatabase: { server: string; name: string } | undefined;
  try {
    const masterKey = randomBytes(32);
    const factory = await createFactory(join(dir, 'factory'), {
      development: true,
      clock: systemClock,
    });
    mkdirSync(join(dir, 'data'));
    const hsmPath = join(dir, 'data', 'attestamp.sqlite');
    const hsm = await Hsm.init({
      path: hsmPath,
      masterKey: { kind: 'key', key: masterKey },
      factory,
      officer: { name: 'so', passphrase: 'bench officer passphrase' },
    });
    const req = request();

    // 4. Both cores: two token workers against one, before this process is pinned to one core.
    const workers = await startTokenWorkers(2, hsmPath, masterKey, req);
    const [w1, w2] = workers as [Worker, Worker];
    await Promise.all([workerSlice(w1, WARMUP_MS), workerSlice(w2, WARMUP_MS)]);
    const one: number[] = [];
    const two: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      one.push(await workerSlice(w1, SLICE_MS));
      const [a, b] = await Promise.all([workerSlice(w1, SLICE_MS), workerSlice(w2, SLICE_MS)]);
      two.push(a + b);
    }
    await Promise.all(workers.map((w) => w.terminate()));
    const twoWorker = ratios(two, one);
    line('in-process tokens, one worker thread', `${fmt(summarize(one).median)} /s`);
    line('in-process tokens, two worker threads', `${fmt(summarize(two).median)} /s`);
    line(
      '  two workers / one worker (goal >= 1.7)',
      `${twoWorker.median.toFixed(2)} [${twoWorker.iqr.toFixed(2)}]`,
    );

    if (PIN) execFileSync('taskset', ['-a', '-cp', '1', String(process.pid)], { stdio: 'ignore' });

    // 1. Raw node:crypto ECDSA P-256 signing with a KeyObject against in-process tokens.
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const tbs = randomBytes(200);
    const rawSign = (): void => {
      sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
    };
    const signer = await hsm.timestampSigner('default');
    const base = {
      units: [{ name: 'default', signer, policies: [id_tsaPolicyBaseline] }],
      hashes: ['sha256', 'sha384', 'sha512'] as const,
      legacySha1: false,
      precision: 3 as const,
      accuracy: { seconds: 1, millis: 0, micros: 0 },
      includeIssuers: false,
      qualified: false,
      includeTsaName: true,
      timeSource: createSystemTimeSource(),
    };
    let serial = 1n;
    const serials = { next: () => serial++ };
    const service = new TimeStampService({
      ...base,
      verifyTokens: 'off',
      serials,
      archive: undefined,
    });
    const first = await service.respond('default', req);
    if (first.status !== 'granted') throw new Error('bench request was rejected');
    const token = (): Promise<unknown> => service.respond('default', req);
    sliceSync(WARMUP_MS, rawSign);
    await sliceAsync(WARMUP_MS, token);
    const raw: number[] = [];
    const tokens: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      raw.push(sliceSync(SLICE_MS, rawSign));
      tokens.push(await sliceAsync(SLICE_MS, token));
    }
    const inProcess = ratios(tokens, raw);
    const rawSignPerSec = summarize(raw).median;
    const inProcessTokensPerSec = summarize(tokens).median;
    line('raw node:crypto ECDSA P-256 sign', `${fmt(rawSignPerSec)} /s`);
    line('in-process tokens (parse, build, sign)', `${fmt(inProcessTokensPerSec)} /s`);
    line(
      '  in-process / raw sign (goal >= 0.75)',
      `${inProcess.median.toFixed(2)} [${inProcess.iqr.toFixed(2)}]`,
    );

    const verified = new TimeStampService({
      ...base,
      verifyTokens: 'on',
      serials,
      archive: undefined,
    });
    const inProcessVerifiedPerSec = await sliceAsync(QUICK ? 500 : 2000, () =>
      verified.respond('default', req),
    );
    line('in-process tokens, self-check on', `${fmt(inProcessVerifiedPerSec)} /s`);

    // 1b. Every signature algorithm of the HSM through its mechanism, against P-256 in the same
    // rounds. SLH-DSA signs in seconds with @noble/post-quantum: one signature a round, and none
    // with --quick; nor RSA-4096, whose two keys alone take seconds to generate on a busy machine.
    const slowSet = (name: HsmAlgorithm): boolean =>
      (isKeyAlgorithm(name) && keyAlgorithmInfo(name).mechanism === 'slh-dsa') ||
      (QUICK && (name === 'rsa-4096' || name === 'rsa-pss-4096'));
    const rates = await signRates({
      rounds: QUICK ? 2 : 6,
      sliceMs: QUICK ? 40 : SLICE_MS,
      slow: slowSet,
      skipSlow: () => QUICK,
    });
    for (const [name, rate] of rates) {
      line(
        `  sign ${name}`,
        rate === undefined
          ? 'not measured with --quick'
          : `${fmt(rate.perSec)} /s, ${rate.toP256.toFixed(4)} of P-256 [${rate.toP256Iqr.toFixed(4)}] (${rate.backend})`,
      );
    }
    // 1c. node:crypto's ML-DSA (OpenSSL 3.5) where Node 20 has none: a Node 26 child process.
    const node26 = node26Rates(ROOT, {
      rounds: QUICK ? 2 : 6,
      sliceMs: QUICK ? 40 : SLICE_MS,
      algorithms: ['ml-dsa-44', 'ml-dsa-65', 'ml-dsa-87', ...(QUICK ? [] : ['slh-dsa-sha2-128f'])],
    });
    if (typeof node26 === 'string')
      line('  sign ML-DSA, node:crypto backend', `not measured: ${node26}`);
    else {
      for (const [name, rate] of Object.entries(node26.rates)) {
        line(
          `  sign ${name}, node:crypto in a Node 26 child`,
          `${fmt(rate.perSec)} /s, ${rate.toP256.toFixed(4)} of its P-256 [${rate.toP256Iqr.toFixed(4)}] (${node26.node}, OpenSSL ${node26.openssl})`,
        );
      }
    }

    // 1d. Post-quantum tokens (an ML-DSA-44 unit) in-process against raw ML-DSA-44 signing
    // through the same mechanism, alternately. Slices of 300 ms or more: an ML-DSA signature's
    // time varies with its rejection-sampling rounds (FIPS 204 Algorithm 7), so a short slice of
    // some 40 signatures is noisy.
    await hsm.createPartition('pq', { timestampAlgorithm: 'ml-dsa-44' });
    const pqSigner = await hsm.timestampSigner('pq');
    const pqService = new TimeStampService({
      ...base,
      units: [{ name: 'pq', signer: pqSigner, policies: [id_tsaPolicyPostQuantum] }],
      verifyTokens: 'off',
      serials,
      archive: undefined,
    });
    const pqFirst = await pqService.respond('pq', req);
    if (pqFirst.status !== 'granted') throw new Error('bench post-quantum request was rejected');
    const mlDsa = mechanismFor('ml-dsa-44');
    const pqKey = (await mlDsa.generate()).privateKey;
    const pqRawSign = (): void => {
      mlDsa.sign!(pqKey, tbs);
    };
    const pqToken = (): Promise<unknown> => pqService.respond('pq', req);
    const pqSliceMs = QUICK ? 200 : 500;
    sliceOps(pqSliceMs, pqRawSign);
    await sliceAsync(pqSliceMs, pqToken);
    const pqRaw: number[] = [];
    const pqTokens: number[] = [];
    for (let i = 0; i < (QUICK ? 3 : 10); i++) {
      pqRaw.push(sliceOps(pqSliceMs, pqRawSign));
      pqTokens.push(await sliceAsync(pqSliceMs, pqToken));
    }
    const pqToRaw = ratios(pqTokens, pqRaw);
    const pqTokensPerSec = summaryOf(pqTokens).median;
    const pqRawSignPerSec = summaryOf(pqRaw).median;
    line(
      'raw ML-DSA-44 sign (the mechanism)',
      `${fmt(pqRawSignPerSec)} /s (${rates.get('ml-dsa-44')?.backend ?? 'n/a'})`,
    );
    line('in-process post-quantum tokens (ML-DSA-44 unit)', `${fmt(pqTokensPerSec)} /s`);
    line(
      '  post-quantum unit / raw ML-DSA-44 sign (goal >= 0.9)',
      `${pqToRaw.median.toFixed(2)} [${pqToRaw.iqr.toFixed(2)}]`,
    );

    // 5. The durable archive in-process, 64 in flight; RSS after 10^5 and 10^6 tokens.
    const archive = Archive.open(join(dir, 'bench-archive.sqlite'), { writer: 'wal-sync' });
    const archived = new TimeStampService({
      ...base,
      verifyTokens: 'off',
      serials: archive,
      archive,
    });
    const archivedToken = (): Promise<unknown> => archived.respond('default', req);
    const inProcessArchivedPerSec = await sliceAsync(QUICK ? 500 : 2000, archivedToken, 64);
    line('in-process tokens, durable archive (64 in flight)', `${fmt(inProcessArchivedPerSec)} /s`);
    const until = async (count: number): Promise<void> => {
      let made = archive.stats().rows;
      const lane = async (): Promise<void> => {
        while (made < count) {
          made++;
          await archivedToken();
        }
      };
      await Promise.all(Array.from({ length: 64 }, lane));
    };
    let rssAfter1e5: number | null = null;
    if (RSS_SHORT !== undefined) {
      await until(RSS_SHORT);
      rssAfter1e5 = process.memoryUsage().rss;
      line('RSS after 10^5 archived tokens', `${(rssAfter1e5 / 2 ** 20).toFixed(1)} MB`);
    } else {
      line('RSS after 10^5 archived tokens', 'not measured with --quick');
    }
    let rssAfter1e6: number | null = null;
    if (RSS_LONG !== undefined && rssAfter1e5 !== null) {
      await until(RSS_LONG);
      rssAfter1e6 = process.memoryUsage().rss;
      line(
        'RSS after 10^6 archived tokens (goal: within 64 MB)',
        `${(rssAfter1e6 / 2 ** 20).toFixed(1)} MB (${((rssAfter1e6 - rssAfter1e5) / 2 ** 20).toFixed(1)} MB more)`,
      );
    } else {
      line('RSS after 10^6 archived tokens', 'not measured with --quick');
    }
    await archive.drain();
    const batches = archive.stats();
    line('  archive group commit', `${batches.rows} rows in ${batches.batches} commits`);
    await archive.close();
    // The application key the REST API signs with (section 6).
    await hsm.generateKey('default', {
      label: 'api-bench',
      algorithm: 'ecdsa-p256',
      purposes: ['sign'],
    });
    await hsm.close();

    // 2, 3. HTTP: the real server (durable archive), the same server with its data (and so its
    // archive) on a RAM disk, and a bare Koa handler, loaded alternately.
    const env = { ATTESTAMP_MASTER_KEY: masterKey.toString('hex') };
    const shm = '/dev/shm';
    if (existsSync(shm)) {
      memDir = mkdtempSync(join(shm, 'attestamp-bench-'));
      cpSync(join(dir, 'data'), memDir, { recursive: true });
    }
    const serve = async (data: string): Promise<number> => {
      const child = spawnPinned([BIN, 'serve', '--data', data, '--port', '0'], env);
      children.push(child);
      return waitPort(child, /listening on http:\/\/127\.0\.0\.1:(\d+)\//);
    };
    const tsaPort = await serve(join(dir, 'data'));
    const memPort = memDir === undefined ? undefined : await serve(memDir);
    const bare = spawnPinned([BARE, String(first.response.length)], {});
    children.push(bare);
    const barePort = await waitPort(bare, /listening (\d+)/);

    await load(tsaPort, req, 8, WARMUP_MS);
    if (memPort !== undefined) await load(memPort, req, 8, WARMUP_MS);
    await load(barePort, req, 8, WARMUP_MS);
    const tsa: Load[] = [];
    const mem: Load[] = [];
    const koa: Load[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      tsa.push(await load(tsaPort, req, 8, HTTP_SLICE_MS));
      koa.push(await load(barePort, req, 8, HTTP_SLICE_MS));
      if (memPort !== undefined) mem.push(await load(memPort, req, 8, HTTP_SLICE_MS));
    }
    // 2b. The archive and the device store on PostgreSQL, two nodes (each on the server core),
    // 4 connections each, interleaved with the SQLite server: ATTESTAMP_BENCH_POSTGRES_URL names
    // a server whose user may create a scratch database.
    const pgServer = process.env.ATTESTAMP_BENCH_POSTGRES_URL;
    const pgPair: number[] = [];
    const pgSqlite: number[] = [];
    let pgLatency: Load[] = [];
    if (pgServer !== undefined && pgServer !== '') {
      pgDatabase = { server: pgServer, name: `attestamp_bench_${randomBytes(6).toString('hex')}` };
      await pgQuery(pgServer, `CREATE DATABASE ${pgDatabase.name}`);
      const url = new URL(pgServer);
      url.pathname = `/${pgDatabase.name}`;
      const store = url.toString();
      execFileSync(
        process.execPath,
        [BIN, 'init', '--data', join(dir, 'pg-a'), '--store', store, '--json'],
        { env: { ...process.env, ...env }, stdio: 'ignore' },
      );
      const nodePorts: number[] = [];
      for (const data of [join(dir, 'pg-a'), join(dir, 'pg-b')]) {
        mkdirSync(data, { recursive: true });
        const child = spawnPinned(
          [BIN, 'serve', '--data', data, '--store', store, '--port', '0'],
          env,
        );
        children.push(child);
        nodePorts.push(await waitPort(child, /listening on http:\/\/127\.0\.0\.1:(\d+)\//));
      }
      const pair = async (ms: number): Promise<Load[]> =>
        Promise.all(nodePorts.map((p) => load(p, req, 4, ms)));
      await pair(WARMUP_MS);
      for (let i = 0; i < ROUNDS; i++) {
        const loads = await pair(HTTP_SLICE_MS);
        pgLatency = [...pgLatency, ...loads];
        pgPair.push(loads.reduce((n, l) => n + l.rps, 0));
        pgSqlite.push((await load(tsaPort, req, 8, HTTP_SLICE_MS)).rps);
      }
    }
    const wide: Load[] = [];
    for (let i = 0; i < (QUICK ? 3 : 6); i++)
      wide.push(await load(tsaPort, req, 64, HTTP_SLICE_MS));
    await Promise.all(children.map(stop));

    // 6. The REST API (its own process on the server core, HTTPS, a JWT checked on every
    // request, each request in the audit log) signing with a P-256 key, 32 connections, in
    // slices alternating with raw node:crypto signing of the same curve in this process.
    const files = await writeApiBenchFiles(dir);
    const apiChild = spawnPinned([BIN, 'api', '--data', join(dir, 'data'), ...files.args], env);
    children.push(apiChild);
    const apiPort = await waitPort(apiChild, /listening on https:\/\/127\.0\.0\.1:(\d+)/);
    const signPath = '/v1/partitions/default/keys/api-bench/sign';
    await apiSignLoad(apiPort, files.token, signPath, 32, WARMUP_MS);
    const apiLoads: ApiLoad[] = [];
    const apiRaw: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      apiLoads.push(await apiSignLoad(apiPort, files.token, signPath, 32, HTTP_SLICE_MS));
      apiRaw.push(sliceSync(SLICE_MS, rawSign));
    }
    await stop(apiChild);

    const rps = (l: readonly Load[]): number => summarize(l.map((x) => x.rps)).median;
    const med = (l: readonly Load[], k: 'p50' | 'p99'): number =>
      summarize(l.map((x) => x[k])).median;
    const worst = (l: readonly Load[]): number => Math.max(...l.map((x) => x.p99));
    const non2xx = (l: readonly Load[]): number => l.reduce((n, x) => n + x.non2xx, 0);
    const httpToBareKoa = ratios(
      tsa.map((x) => x.rps),
      koa.map((x) => x.rps),
    );
    const archiveCost =
      memPort === undefined
        ? undefined
        : ratios(
            tsa.map((x) => x.rps),
            mem.map((x) => x.rps),
          );
    const slices = `${ROUNDS} slices of ${HTTP_SLICE_MS} ms`;
    line(
      'HTTP tokens, 8 connections, durable archive',
      `${fmt(rps(tsa))} /s (p50 ${med(tsa, 'p50')} ms, p99 ${med(tsa, 'p99')} ms, worst slice p99 ${worst(tsa)} ms, non-2xx ${non2xx(tsa)}; ${slices})`,
    );
    if (memPort !== undefined) {
      line(
        'HTTP tokens, 8 connections, archive in memory',
        `${fmt(rps(mem))} /s (p50 ${med(mem, 'p50')} ms, p99 ${med(mem, 'p99')} ms)`,
      );
    }
    line(
      'bare Koa, same body size, 8 connections',
      `${fmt(rps(koa))} /s (p50 ${med(koa, 'p50')} ms, p99 ${med(koa, 'p99')} ms)`,
    );
    line(
      'HTTP tokens, 64 connections, durable archive',
      `${fmt(rps(wide))} /s (p99 ${med(wide, 'p99')} ms, worst slice p99 ${worst(wide)} ms, non-2xx ${non2xx(wide)})`,
    );
    line(
      '  HTTP / bare Koa (goal >= 0.30, p99 < 5 ms)',
      `${httpToBareKoa.median.toFixed(2)} [${httpToBareKoa.iqr.toFixed(2)}]`,
    );
    line(
      '  durable / in-memory archive (goal >= 0.85)',
      archiveCost === undefined
        ? 'n/a (no /dev/shm)'
        : `${archiveCost.median.toFixed(2)} [${archiveCost.iqr.toFixed(2)}]`,
    );
    const postgresToSqlite = pgPair.length === 0 ? undefined : ratios(pgPair, pgSqlite);
    line(
      'HTTP tokens, PostgreSQL store and archive, two nodes, 4+4 connections',
      pgPair.length === 0
        ? 'n/a (set ATTESTAMP_BENCH_POSTGRES_URL)'
        : `${fmt(summarize(pgPair).median)} /s (p50 ${med(pgLatency, 'p50')} ms, p99 ${med(pgLatency, 'p99')} ms, non-2xx ${non2xx(pgLatency)})`,
    );
    line(
      '  PostgreSQL two nodes / SQLite one node',
      postgresToSqlite === undefined
        ? 'n/a'
        : `${postgresToSqlite.median.toFixed(2)} [${postgresToSqlite.iqr.toFixed(2)}]`,
    );
    const apiToRaw = ratios(
      apiLoads.map((x) => x.rps),
      apiRaw,
    );
    const apiFailures = apiLoads.reduce((n, x) => n + x.failures, 0);
    const apiP99 = summarize(apiLoads.map((x) => x.p99)).median;
    const apiP99Worst = Math.max(...apiLoads.map((x) => x.p99));
    line(
      'REST API sign, P-256, 32 connections, HTTPS + JWT',
      `${fmt(summarize(apiLoads.map((x) => x.rps)).median)} /s (p50 ${summarize(apiLoads.map((x) => x.p50)).median} ms, p99 ${apiP99} ms, worst slice p99 ${apiP99Worst} ms, failures ${apiFailures}; ${slices})`,
    );
    line(
      '  API sign / raw sign of the same run',
      `${apiToRaw.median.toFixed(2)} [${apiToRaw.iqr.toFixed(2)}] (raw ${fmt(summarize(apiRaw).median)} /s)`,
    );
    console.log(
      JSON.stringify({
        rawSignPerSec: Math.round(rawSignPerSec),
        inProcessTokensPerSec: Math.round(inProcessTokensPerSec),
        inProcessVerifiedTokensPerSec: Math.round(inProcessVerifiedPerSec),
        inProcessArchivedTokensPerSec: Math.round(inProcessArchivedPerSec),
        bareKoaPerSec: Math.round(rps(koa)),
        httpTokensPerSec: Math.round(rps(tsa)),
        httpP50Ms: med(tsa, 'p50'),
        httpP99Ms: med(tsa, 'p99'),
        inProcessToRawSign: r3(inProcess.median),
        inProcessToRawSignIqr: r3(inProcess.iqr),
        httpToBareKoa: r3(httpToBareKoa.median),
        httpToBareKoaIqr: r3(httpToBareKoa.iqr),
        httpP99WorstMs: worst(tsa),
        httpInMemoryArchivePerSec: memPort === undefined ? null : Math.round(rps(mem)),
        archiveCost: archiveCost === undefined ? null : r3(archiveCost.median),
        archiveCostIqr: archiveCost === undefined ? null : r3(archiveCost.iqr),
        http64TokensPerSec: Math.round(rps(wide)),
        http64P99Ms: med(wide, 'p99'),
        http64P99WorstMs: worst(wide),
        http64Non2xx: non2xx(wide),
        twoWorkerSpeedup: r3(twoWorker.median),
        twoWorkerSpeedupIqr: r3(twoWorker.iqr),
        rssAfter1e5,
        rssAfter1e6,
        pqTokensPerSec: Math.round(pqTokensPerSec),
        pqRawSignPerSec: Math.round(pqRawSignPerSec),
        pqTokensToRawSign: r3(pqToRaw.median),
        pqTokensToRawSignIqr: r3(pqToRaw.iqr),
        signRates: Object.fromEntries(
          [...rates].map(([name, rate]) => [
            name,
            rate === undefined
              ? null
              : {
                  perSec: Math.round(rate.perSec),
                  toP256: Number(rate.toP256.toFixed(4)),
                  toP256Iqr: Number(rate.toP256Iqr.toFixed(4)),
                  backend: rate.backend,
                },
          ]),
        ),
        node26SignRates: typeof node26 === 'string' ? null : node26,
        apiSignPerSec: Math.round(summarize(apiLoads.map((x) => x.rps)).median),
        apiSignP99Ms: apiP99,
        apiSignP99WorstMs: apiP99Worst,
        apiSignFailures: apiFailures,
        apiSignToRawSign: r3(apiToRaw.median),
        apiSignToRawSignIqr: r3(apiToRaw.iqr),
        httpPostgresTwoNodesPerSec:
          pgPair.length === 0 ? null : Math.round(summarize(pgPair).median),
        httpPostgresP99Ms: pgPair.length === 0 ? null : med(pgLatency, 'p99'),
        postgresToSqlite: postgresToSqlite === undefined ? null : r3(postgresToSqlite.median),
        postgresToSqliteIqr: postgresToSqlite === undefined ? null : r3(postgresToSqlite.iqr),
      }),
    );
  } finally {
    await Promise.all(children.map(stop));
    if (pgDatabase !== undefined) {
      await pgQuery(pgDatabase.server, `DROP DATABASE IF EXISTS ${pgDatabase.name} WITH (FORCE)`);
    }
    rmSync(dir, { recursive: true, force: true });
    if (memDir !== undefined) rmSync(memDir, { recursive: true, force: true });
  }
}

await main();

// npm run bench: raw node:crypto ECDSA P-256 signing, in-process tokens (parse, build, sign;
// archive off and on), and over HTTP with keep-alive and 8 connections against the real server
// (durable archive on) and a bare Koa server returning a body of the same size. The server runs
// pinned to one core, the load generator on the other. The last line is one JSON object.
import autocannon from 'autocannon';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createFactory, Hsm } from '../src/hsm/index.js';
import { der, id_sha256, id_tsaPolicyBaseline } from '../src/pki/index.js';
import { systemClock } from '../src/shared/index.js';
import { Archive, createSystemTimeSource, TimeStampService } from '../src/tsa/index.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'dist/src/cli/attestamp.js');
const BARE = join(ROOT, 'dist/bench/bare-koa.js');
const SECONDS = Number(process.env.BENCH_SECONDS ?? '3');
const HTTP_SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? '6');

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const PIN = hasTaskset();

function rate(label: string, seconds: number, fn: () => void): number {
  for (let i = 0; i < 200; i++) fn();
  const end = performance.now() + seconds * 1000;
  let n = 0;
  const start = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 50; i++) fn();
    n += 50;
  }
  const r = n / ((performance.now() - start) / 1000);
  console.log(`${label.padEnd(48)} ${Math.round(r).toLocaleString('en')} /s`);
  return r;
}

async function rateAsync(
  label: string,
  seconds: number,
  fn: () => Promise<unknown>,
  parallel = 1,
): Promise<number> {
  for (let i = 0; i < 200; i++) await fn();
  const end = performance.now() + seconds * 1000;
  let n = 0;
  const start = performance.now();
  while (performance.now() < end) {
    const batch: Promise<unknown>[] = [];
    for (let i = 0; i < parallel; i++) batch.push(fn());
    await Promise.all(batch);
    n += parallel;
  }
  const r = n / ((performance.now() - start) / 1000);
  console.log(`${label.padEnd(48)} ${Math.round(r).toLocaleString('en')} /s`);
  return r;
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

async function load(
  port: number,
  body: Uint8Array,
): Promise<{ rps: number; p50: number; p99: number; non2xx: number }> {
  const r = await autocannon({
    url: `http://127.0.0.1:${port}/`,
    method: 'POST',
    headers: { 'content-type': 'application/timestamp-query' },
    body: Buffer.from(body),
    connections: 8,
    pipelining: 1,
    duration: HTTP_SECONDS,
  });
  return {
    rps: r.requests.total / HTTP_SECONDS,
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

async function main(): Promise<void> {
  if (PIN) execFileSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
  console.log(
    `attestamp bench: node ${process.version}, ${PIN ? 'server on core 0, load on core 1' : 'no taskset: cores not pinned'}`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'attestamp-bench-'));
  try {
    const masterKey = randomBytes(32);
    const factory = await createFactory(join(dir, 'factory'), {
      development: true,
      clock: systemClock,
    });
    mkdirSync(join(dir, 'data'));
    const hsm = await Hsm.init({
      path: join(dir, 'data', 'attestamp.sqlite'),
      masterKey: { kind: 'key', key: masterKey },
      factory,
      officer: { name: 'so', passphrase: 'bench officer passphrase' },
    });

    // 1. Raw node:crypto ECDSA P-256 signing with a KeyObject.
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const tbs = randomBytes(200);
    const rawSignPerSec = rate('raw node:crypto ECDSA P-256 sign', SECONDS, () => {
      sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
    });

    // 2. In-process tokens: parse the request, build and sign the token (archive off).
    const signer = hsm.timestampSigner('default');
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
    const req = request();
    const service = new TimeStampService({
      ...base,
      verifyTokens: 'off',
      serials,
      archive: undefined,
    });
    const first = await service.respond('default', req);
    if (first.status !== 'granted') throw new Error('bench request was rejected');
    const inProcessTokensPerSec = await rateAsync(
      'in-process tokens (parse, build, sign)',
      SECONDS,
      () => service.respond('default', req),
    );
    const verified = new TimeStampService({
      ...base,
      verifyTokens: 'on',
      serials,
      archive: undefined,
    });
    const inProcessVerifiedPerSec = await rateAsync(
      'in-process tokens, self-check on',
      SECONDS,
      () => verified.respond('default', req),
    );
    const archive = Archive.open(join(dir, 'bench-archive.sqlite'));
    const archived = new TimeStampService({
      ...base,
      verifyTokens: 'off',
      serials: archive,
      archive,
    });
    const inProcessArchivedPerSec = await rateAsync(
      'in-process tokens, durable archive (64 in flight)',
      SECONDS,
      () => archived.respond('default', req),
      64,
    );
    const batches = archive.stats();
    console.log(
      `${'  archive group commit'.padEnd(48)} ${batches.rows} rows in ${batches.batches} commits`,
    );
    archive.close();
    hsm.close();

    // 3. HTTP: the real server (durable archive) and a bare Koa handler, same load.
    const env = { ATTESTAMP_MASTER_KEY: masterKey.toString('hex') };
    const server = spawnPinned([BIN, 'serve', '--data', join(dir, 'data'), '--port', '0'], env);
    const port = await waitPort(server, /listening on http:\/\/127\.0\.0\.1:(\d+)\//);
    const tsa = await load(port, req);
    await stop(server);
    console.log(
      `${'HTTP tokens/s, 8 connections, durable archive'.padEnd(48)} ${Math.round(tsa.rps).toLocaleString('en')} /s (p50 ${tsa.p50} ms, p99 ${tsa.p99} ms, non-2xx ${tsa.non2xx})`,
    );

    const bare = spawnPinned([BARE, String(first.response.length)], {});
    const barePort = await waitPort(bare, /listening (\d+)/);
    const koa = await load(barePort, req);
    await stop(bare);
    console.log(
      `${'bare Koa, same body size'.padEnd(48)} ${Math.round(koa.rps).toLocaleString('en')} /s (p50 ${koa.p50} ms, p99 ${koa.p99} ms)`,
    );

    const ratios = {
      inProcessToRawSign: inProcessTokensPerSec / rawSignPerSec,
      httpToBareKoa: tsa.rps / koa.rps,
    };
    console.log(
      `ratios: in-process/raw sign ${ratios.inProcessToRawSign.toFixed(2)} (goal >= 0.70), HTTP/bare Koa ${ratios.httpToBareKoa.toFixed(2)} (goal >= 0.40), HTTP p99 ${tsa.p99} ms (goal < 10)`,
    );
    console.log(
      JSON.stringify({
        rawSignPerSec: Math.round(rawSignPerSec),
        inProcessTokensPerSec: Math.round(inProcessTokensPerSec),
        inProcessVerifiedTokensPerSec: Math.round(inProcessVerifiedPerSec),
        inProcessArchivedTokensPerSec: Math.round(inProcessArchivedPerSec),
        bareKoaPerSec: Math.round(koa.rps),
        httpTokensPerSec: Math.round(tsa.rps),
        httpP50Ms: tsa.p50,
        httpP99Ms: tsa.p99,
        inProcessToRawSign: Number(ratios.inProcessToRawSign.toFixed(3)),
        httpToBareKoa: Number(ratios.httpToBareKoa.toFixed(3)),
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

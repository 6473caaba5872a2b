// The node:crypto post-quantum backend's sign rates, run by a Node 26 binary (OpenSSL 3.5) as a
// child of bench/run.ts: each algorithm alternately with node:crypto ECDSA P-256 in short slices,
// the median of the per-round ratios with their interquartile range. Arguments: rounds, slice
// milliseconds, algorithm names. Prints one JSON object.
import * as crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';

const [rounds, sliceMs, ...algorithms] = process.argv.slice(2);
const ROUNDS = Number(rounds);
const SLICE_MS = Number(sliceMs);

/** Operations per second over at least `ms` (at least one operation). */
function sliceOps(ms, fn) {
  const start = performance.now();
  let n = 0;
  let now;
  do {
    fn();
    n++;
    now = performance.now();
  } while (now - start < ms);
  return n / ((now - start) / 1000);
}

function summary(values) {
  const s = [...values].sort((x, y) => x - y);
  const q = (p) => {
    const i = (s.length - 1) * p;
    const lo = Math.floor(i);
    const hi = Math.ceil(i);
    return s[lo] + (s[hi] - s[lo]) * (i - lo);
  };
  return { median: q(0.5), iqr: q(0.75) - q(0.25) };
}

const tbs = crypto.randomBytes(200);
const p256 = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const reference = () => crypto.sign('sha256', tbs, { key: p256, dsaEncoding: 'der' });
const rates = {};
for (const algorithm of algorithms) {
  const { privateKey } = crypto.generateKeyPairSync(algorithm);
  // Pure ML-DSA / SLH-DSA with the empty context, as the HSM's node:crypto backend signs.
  const op = () => crypto.sign(null, tbs, privateKey);
  op();
  sliceOps(SLICE_MS, reference);
  const refs = [];
  const cases = [];
  for (let i = 0; i < ROUNDS; i++) {
    refs.push(sliceOps(SLICE_MS, reference));
    cases.push(sliceOps(SLICE_MS, op));
  }
  const ratio = summary(cases.map((c, i) => c / refs[i]));
  rates[algorithm] = {
    perSec: Math.round(summary(cases).median),
    toP256: Number(ratio.median.toFixed(4)),
    toP256Iqr: Number(ratio.iqr.toFixed(4)),
  };
}
process.stdout.write(
  JSON.stringify({ node: process.version, openssl: process.versions.openssl, rates }),
);

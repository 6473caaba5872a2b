// Profiling helper: issues in-process tokens (parse, build, sign; archive off) through the same
// service set-up as npm run bench. `node --cpu-prof dist/bench/profile-tokens.js [count]` issues
// count tokens in a row; `ratio` measures tokens, the unit signer alone and raw node:crypto
// P-256 signing in interleaved slices and prints the median ratios, and the time of one signature
// in a loop of signatures and inside a token.
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFactory, Hsm } from '../src/hsm/index.js';
import { der, id_sha256, id_tsaPolicyBaseline, type Signer } from '../src/pki/index.js';
import { systemClock } from '../src/shared/index.js';
import { createSystemTimeSource, TimeStampService } from '../src/tsa/index.js';

const MODE = process.argv[2] === 'ratio' ? 'ratio' : 'count';
const COUNT = Number(MODE === 'count' ? (process.argv[2] ?? 50_000) : 0);

/** Operations per second of a function (awaited when it returns a promise) over one slice. */
async function slice(ms: number, fn: () => unknown): Promise<number> {
  const start = performance.now();
  const end = start + ms;
  let n = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 20; i++) {
      const r = fn();
      if (r instanceof Promise) await r;
    }
    n += 20;
  }
  return n / ((performance.now() - start) / 1000);
}

const dir = mkdtempSync(join(tmpdir(), 'attestamp-profile-'));
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
    officer: { name: 'so', passphrase: 'profile officer passphrase' },
  });
  const req = der.seq(
    der.integer(1),
    der.seq(der.algorithmIdentifier(id_sha256), der.octetString(randomBytes(32))),
    der.tlv(0x02, Uint8Array.of(0x01, ...randomBytes(7))),
    der.bool(true),
  );
  const unitSigner = await hsm.timestampSigner('default');
  // The unit's signer signs synchronously inside sign() once its key is cached: timing the call
  // gives the signature's own time inside a token.
  const signing = { ms: 0, n: 0 };
  const timedSigner: Signer = {
    ...unitSigner,
    sign(data) {
      const t0 = performance.now();
      const signature = unitSigner.sign(data);
      signing.ms += performance.now() - t0;
      signing.n++;
      return signature;
    },
  };
  let serial = 1n;
  const service = new TimeStampService({
    units: [
      {
        name: 'default',
        signer: MODE === 'ratio' ? timedSigner : unitSigner,
        policies: [id_tsaPolicyBaseline],
      },
    ],
    hashes: ['sha256', 'sha384', 'sha512'],
    legacySha1: false,
    precision: 3,
    accuracy: { seconds: 1, millis: 0, micros: 0 },
    includeIssuers: false,
    qualified: false,
    includeTsaName: true,
    timeSource: createSystemTimeSource(),
    verifyTokens: 'off',
    serials: { next: () => serial++ },
    archive: undefined,
  });
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const tbs = randomBytes(200);
  const rawSigning = { ms: 0, n: 0 };
  const rawSign = (): void => {
    const t0 = performance.now();
    sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
    rawSigning.ms += performance.now() - t0;
    rawSigning.n++;
  };
  const token = (): Promise<unknown> => service.respond('default', req);
  if (MODE === 'ratio') {
    // Interleaved slices as in the bench, plus the unit's signer alone over signed attributes.
    const attrs = randomBytes(240);
    const signerOnly = (): Promise<unknown> => unitSigner.sign(attrs);
    const raw: number[] = [];
    const tokens: number[] = [];
    const signer: number[] = [];
    const rawMicros: number[] = [];
    const inTokenMicros: number[] = [];
    await slice(1000, token);
    for (let i = 0; i < 20; i++) {
      rawSigning.ms = rawSigning.n = signing.ms = signing.n = 0;
      raw.push(await slice(200, rawSign));
      tokens.push(await slice(200, token));
      rawMicros.push((rawSigning.ms * 1000) / rawSigning.n);
      inTokenMicros.push((signing.ms * 1000) / signing.n);
      signer.push(await slice(200, signerOnly));
    }
    const median = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1]!;
    console.log(
      `raw ${Math.round(median(raw))} /s, tokens ${Math.round(median(tokens))} /s, signer ${Math.round(median(signer))} /s; tokens/raw ${median(tokens.map((t, i) => t / raw[i]!)).toFixed(3)}, signer/raw ${median(signer.map((t, i) => t / raw[i]!)).toFixed(3)}; one signature ${median(rawMicros).toFixed(1)} us in a loop, ${median(inTokenMicros).toFixed(1)} us inside a token`,
    );
  } else {
    const t0 = performance.now();
    for (let i = 0; i < COUNT; i++) await token();
    console.log(`${COUNT} tokens: ${Math.round(COUNT / ((performance.now() - t0) / 1000))} /s`);
  }
  await hsm.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

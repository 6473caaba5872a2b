// Bench helper: a worker thread making in-process tokens (parse, build, sign; archive off) with
// its own view of the HSM, for the two-worker speedup. Each message is a slice length in ms; the
// answer is the number of tokens made and the time it really took.
import { parentPort, workerData } from 'node:worker_threads';
import { Hsm } from '../src/hsm/index.js';
import { id_tsaPolicyBaseline } from '../src/pki/index.js';
import { createSystemTimeSource, TimeStampService } from '../src/tsa/index.js';

const { path, masterKey, request, firstSerial } = workerData as {
  path: string;
  masterKey: string;
  request: Uint8Array;
  firstSerial: bigint;
};
const hsm = await Hsm.open(path, { kind: 'key', key: Buffer.from(masterKey, 'hex') });
let serial = firstSerial;
const service = new TimeStampService({
  units: [
    {
      name: 'default',
      signer: await hsm.timestampSigner('default'),
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

parentPort?.on('message', (ms: number) => {
  void (async () => {
    const start = performance.now();
    const end = start + ms;
    let n = 0;
    while (performance.now() < end) {
      for (let i = 0; i < 20; i++) await service.respond('default', request);
      n += 20;
    }
    parentPort?.postMessage({ n, ms: performance.now() - start });
  })();
});
parentPort?.postMessage('ready');

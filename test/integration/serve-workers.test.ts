// TST-04 and TIS-04 with `serve --workers 2`: two server processes behind one port share the
// archive file; every serial is unique, each worker draws from its own serial block, the archive
// holds one row per response and its hash chain verifies.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Archive } from '../../src/tsa/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { parseResponse, serialOf, sha256, timeStampQuery } from '../helpers/tsp.js';
import { startTsa, type RunningTsa } from '../helpers/tsa.js';

const REQUESTS = 240;
const CONCURRENCY = 24;
/** The archive reserves serials in blocks of this size per process (src/tsa/archive/sqlite.ts). */
const SERIAL_BLOCK = 1024n;

let cwd: string;
let tsa: RunningTsa | undefined;

beforeAll(() => {
  cwd = tempDir();
  expect(runCli(['init'], { cwd }).code).toBe(0);
});

afterAll(async () => {
  if (tsa !== undefined && tsa.child.exitCode === null) await tsa.stop();
});

describe('serve --workers 2', () => {
  const serials: bigint[] = [];
  const instances = new Set<string>();

  // Two server processes start under the load of the whole suite: a longer budget than one.
  it(
    'answers concurrent requests from two processes on one port and stops cleanly',
    { timeout: 120_000 },
    async () => {
      tsa = await startTsa(cwd, ['serve', '--port', '0', '--workers', '2']);
      // The primary announces once for both workers.
      expect(tsa.stdout().match(/listening on/g)).toHaveLength(1);
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < REQUESTS) {
          const i = next++;
          const body = timeStampQuery({
            digest: sha256(`document ${i}`),
            nonce: Uint8Array.of(1, i & 0xff),
          });
          // A request that hangs fails with the servers' output, not as a bare test timeout.
          const r = await fetch(tsa!.url, {
            method: 'POST',
            body,
            headers: { 'content-type': 'application/timestamp-query', connection: 'close' },
            signal: AbortSignal.timeout(30_000),
          }).catch((e: unknown) => {
            throw new Error(`request ${i} failed (${String(e)}); server stderr: ${tsa!.stderr()}`);
          });
          expect(r.status, tsa!.stderr()).toBe(200);
          // The request id starts with the answering process's instance tag.
          instances.add((r.headers.get('x-request-id') ?? '').split('-')[0]!);
          const parsed = parseResponse(new Uint8Array(await r.arrayBuffer()));
          expect(parsed.status).toBe(0);
          serials.push(serialOf(parsed.tstInfo!));
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, lane));
      expect(await tsa.stop()).toBe(0);
      expect(serials).toHaveLength(REQUESTS);
    },
  );

  it('TST-04 serials are unique, and both workers issued tokens from their own blocks', () => {
    expect(new Set(serials).size).toBe(REQUESTS);
    expect(instances.size).toBe(2);
    const blocks = new Set(serials.map((s) => (s - 1n) / SERIAL_BLOCK));
    expect(blocks.size).toBe(2);
  });

  it('TIS-04 the shared archive has one row per token and its chain verifies', async () => {
    const archive = Archive.openReadOnly(join(cwd, 'data', 'tsa-archive.sqlite'));
    try {
      const result = await archive.verify();
      expect(result.firstBad).toBeUndefined();
      expect(result.ok).toBe(true);
      expect(result.entries).toBe(REQUESTS);
      const archived = (await archive.find({})).map((r) => BigInt(r.serial!));
      expect(archived.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(
        [...serials].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
      );
    } finally {
      await archive.close();
    }
  });
});

// TST-04 and TIS-04: serial numbers stay unique across two server processes sharing one data
// folder and across a restart, and the archive holds exactly one row per response sent.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { id_sha1 } from '../../src/pki/index.js';
import { Archive } from '../../src/tsa/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { parseResponse, serialOf, sha256, timeStampQuery } from '../helpers/tsp.js';
import { post, startTsa, type RunningTsa } from '../helpers/tsa.js';

const SERVE = ['serve', '--port', '0', '--unit', 'default:/', '--unit', 'rsa:/rsa'];
/** Requests in flight at once per burst. */
const CONCURRENCY = 32;

interface Outcome {
  readonly status: 'granted' | 'rejection';
  readonly serial: bigint | undefined;
  readonly responseSha256: string;
}

let cwd: string;
const running: RunningTsa[] = [];
const outcomes: Outcome[] = [];
let sent = 0;

/** Request i: mostly granted, every 10th an SHA-1 imprint (a rejection), every 7th to /rsa. */
function request(i: number): { path: string; body: Uint8Array } {
  const nonce = Uint8Array.of(0x01, (i >> 8) & 0xff, i & 0xff);
  if (i % 10 === 9) {
    return {
      path: '/',
      body: timeStampQuery({ hashOid: id_sha1, digest: new Uint8Array(20), nonce }),
    };
  }
  return {
    path: i % 7 === 3 ? '/rsa' : '/',
    body: timeStampQuery({ digest: sha256(`document ${i}`), nonce, certReq: i % 2 === 0 }),
  };
}

/** Sends requests first..first+count-1, spreading them over the servers in turn. */
async function burst(servers: readonly RunningTsa[], first: number, count: number): Promise<void> {
  let next = first;
  const worker = async (): Promise<void> => {
    while (next < first + count) {
      const i = next++;
      const server = servers[i % servers.length]!;
      const { path, body } = request(i);
      sent++;
      // One connection per request: a keep-alive connection the server closes as idle while
      // the client reuses it (a stall of seconds under the whole suite's load) loses the POST,
      // which is not retried, and the counts below would be off by one for a reason that is not
      // about serials.
      const r = await post(new URL(path, server.url).href, body, undefined, undefined, {
        connection: 'close',
      });
      expect(r.status).toBe(200);
      const parsed = parseResponse(r.body);
      expect([0, 2]).toContain(parsed.status);
      outcomes.push({
        status: parsed.status === 0 ? 'granted' : 'rejection',
        serial: parsed.tstInfo === undefined ? undefined : serialOf(parsed.tstInfo),
        responseSha256: createHash('sha256').update(r.body).digest('hex'),
      });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

beforeAll(() => {
  cwd = tempDir();
  expect(runCli(['init'], { cwd }).code).toBe(0);
  const rsa = runCli(['partition', 'create', 'rsa', '--timestamp-algorithm', 'rsa-3072'], { cwd });
  expect(rsa.code, rsa.stderr).toBe(0);
});

afterAll(async () => {
  for (const t of running) if (t.child.exitCode === null) await t.stop();
});

describe('TST-04 serial numbers across processes and restarts', () => {
  it('TST-04 two processes on one data folder answer ~300 concurrent requests', async () => {
    const a = await startTsa(cwd, SERVE);
    running.push(a);
    const b = await startTsa(cwd, SERVE);
    running.push(b);
    expect(a.port).not.toBe(b.port);
    await burst([a, b], 0, 300);
    expect(await a.stop()).toBe(0);
    expect(await b.stop()).toBe(0);
    expect(outcomes).toHaveLength(300);
  });

  it('TST-04 after a restart, ~100 more requests', async () => {
    const c = await startTsa(cwd, SERVE);
    running.push(c);
    await burst([c], 300, 100);
    expect(await c.stop()).toBe(0);
    expect(outcomes).toHaveLength(400);
  });

  it('TST-04 every granted token has a distinct, positive serial of at most 160 bits', () => {
    const granted = outcomes.filter((o) => o.status === 'granted');
    expect(granted).toHaveLength(400 - 40);
    const serials = granted.map((o) => o.serial!);
    expect(new Set(serials).size).toBe(serials.length);
    for (const s of serials) {
      expect(s).toBeGreaterThan(0n);
      expect(s < 1n << 160n).toBe(true);
    }
    expect(
      outcomes.filter((o) => o.status === 'rejection').every((o) => o.serial === undefined),
    ).toBe(true);
  });

  it('TIS-04 TST-04 the archive has one granted row per token with the same serials', () => {
    const db = new Database(join(cwd, 'data', 'tsa-archive.sqlite'), { readonly: true });
    try {
      const rows = db
        .prepare('SELECT serial, status, response_sha256 FROM responses ORDER BY seq')
        .all() as { serial: string | null; status: string; response_sha256: Buffer }[];
      // Nothing sent is missing: one row per response received, granted or rejected.
      expect(rows).toHaveLength(sent);
      expect(rows).toHaveLength(outcomes.length);
      const granted = rows.filter((r) => r.status === 'granted');
      const tokens = outcomes.filter((o) => o.status === 'granted');
      expect(granted).toHaveLength(tokens.length);
      expect(granted.map((r) => BigInt(r.serial!)).sort(compareBigInt)).toEqual(
        tokens.map((o) => o.serial!).sort(compareBigInt),
      );
      expect(rows.filter((r) => r.status === 'rejection').every((r) => r.serial === null)).toBe(
        true,
      );
      // Each row records the hash of the very response that was sent.
      expect(rows.map((r) => r.response_sha256.toString('hex')).sort()).toEqual(
        outcomes.map((o) => o.responseSha256).sort(),
      );
    } finally {
      db.close();
    }
  });

  it('TIS-04 the archive hash chain verifies', async () => {
    const archive = Archive.open(join(cwd, 'data', 'tsa-archive.sqlite'));
    try {
      const result = await archive.verify();
      expect(result.firstBad).toBeUndefined();
      expect(result.ok).toBe(true);
      expect(result.entries).toBe(outcomes.length);
    } finally {
      await archive.close();
    }
  });
});

function compareBigInt(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// The shared hash-chained log: linking, and verification over sync and async sequences, with
// each kind of tampering named (missing entry, broken link, changed content, bad MAC, a recorded
// head the chain no longer passes through); and that it computes exactly the HSM audit chain.
import { createHash, createHmac } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveMasterKeys } from '../../../src/hsm/master-key.js';
import {
  canonicalBody,
  chainDigest,
  ChainVerifier,
  GENESIS,
  linkHash,
  nextLink,
  toHex,
  verifyChain,
  verifyChainAsync,
  type ChainDigest,
  type ChainVerification,
  type ChainVerifyOptions,
  type StoredEntry,
} from '../../../src/shared/index.js';
import { createTestDevice, type TestDevice } from '../../helpers/hsm.js';

const MAC_KEY = new Uint8Array(32).fill(7);
const mac = (hash: Uint8Array): Uint8Array => createHmac('sha256', MAC_KEY).update(hash).digest();

interface Entry extends StoredEntry {
  readonly text: string;
}

/** A chain of n entries whose bodies are [seq, text], each with its MAC. */
function build(n: number, firstSeq = 1): Entry[] {
  const out: Entry[] = [];
  let head: { seq: number; hash: Uint8Array } | undefined;
  for (let i = 0; i < n; i++) {
    const text = `entry ${String(i)}`;
    const link = nextLink(head, (seq) => canonicalBody([seq, text]), { firstSeq });
    out.push({
      seq: link.seq,
      text,
      body: canonicalBody([link.seq, text]),
      prevHash: link.prevHash,
      hash: link.hash,
      mac: mac(link.hash),
    });
    head = link;
  }
  return out;
}

async function* slowly<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) {
    await new Promise((r) => setImmediate(r));
    yield item;
  }
}

/** Runs the same verification over an array and over an async stream: both must agree. */
async function both(
  entries: readonly Entry[],
  options: ChainVerifyOptions<Entry> = {},
): Promise<ChainVerification> {
  const sync = verifyChain(entries, options);
  const async = await verifyChainAsync(slowly(entries), options);
  expect(async).toEqual(sync);
  return sync;
}

describe('hash chain', () => {
  it('links SHA-256(prev || UTF-8 body), the first entry to 32 zero bytes', () => {
    expect(GENESIS).toEqual(new Uint8Array(32));
    const body = canonicalBody([1, 'é', null, true]);
    expect(body).toBe('[1,"é",null,true]');
    const expected = createHash('sha256').update(GENESIS).update(body, 'utf8').digest();
    expect(toHex(linkHash(GENESIS, body))).toBe(expected.toString('hex'));
    // Bytes and text hash alike, and node:crypto may stand in for the browser-safe default.
    expect(linkHash(GENESIS, new TextEncoder().encode(body))).toEqual(linkHash(GENESIS, body));
    const node: ChainDigest = (prev, b) => createHash('sha256').update(prev).update(b).digest();
    expect(toHex(node(GENESIS, body))).toBe(toHex(chainDigest(GENESIS, body)));
    const first = nextLink(undefined, (seq) => canonicalBody([seq]));
    expect(first.seq).toBe(1);
    expect(first.prevHash).toEqual(GENESIS);
    const second = nextLink(first, (seq) => canonicalBody([seq]));
    expect(second).toMatchObject({ seq: 2, prevHash: first.hash });
    expect(second.hash).toEqual(linkHash(first.hash, '[2]'));
  });

  it('verifies an intact chain over an array and over an async stream, with MACs', async () => {
    const chain = build(5);
    const v = await both(chain, { mac });
    expect(v).toEqual({ ok: true, entries: 5, head: toHex(chain[4]!.hash), headSeq: 5 });
    // An empty chain is intact; its head is the genesis.
    expect(await both([])).toEqual({ ok: true, entries: 0, head: toHex(GENESIS), headSeq: 0 });
  });

  it('names a missing entry (deleted in the middle, or at the start)', async () => {
    const chain = build(5);
    const v = await both([...chain.slice(0, 2), ...chain.slice(3)]);
    expect(v).toMatchObject({
      ok: false,
      entries: 3,
      head: toHex(chain[1]!.hash),
      headSeq: 2,
      firstBad: { seq: 4, reason: 'entry 3 is missing' },
    });
    expect((await both(chain.slice(1))).firstBad).toEqual({
      seq: 2,
      reason: 'entry 1 is missing',
    });
  });

  it('names a broken link: an entry re-chained to another predecessor', async () => {
    const chain = build(4);
    const forged = { ...chain[2]!, prevHash: chain[0]!.hash };
    const v = await both([chain[0]!, chain[1]!, forged, chain[3]!]);
    expect(v.firstBad).toEqual({ seq: 3, reason: 'previous-hash link broken' });
    expect(v.head).toBe(toHex(chain[1]!.hash));
  });

  it('names changed content, and a re-hashed entry that breaks the next link', async () => {
    const chain = build(4);
    const edited = { ...chain[1]!, body: canonicalBody([2, 'entry X']) };
    expect((await both([chain[0]!, edited, ...chain.slice(2)])).firstBad).toEqual({
      seq: 2,
      reason: 'entry content does not match its hash',
    });
    // The forger recomputes the edited entry's hash: the next entry's link gives it away.
    const body = canonicalBody([2, 'entry X']);
    const rehashed = { ...chain[1]!, body, hash: linkHash(chain[0]!.hash, body) };
    expect((await both([chain[0]!, rehashed, ...chain.slice(2)])).firstBad).toEqual({
      seq: 3,
      reason: 'previous-hash link broken',
    });
  });

  it('names a bad or missing MAC, and ignores MACs when no MAC is expected', async () => {
    const chain = build(3);
    const flipped = Uint8Array.from(chain[1]!.mac!);
    flipped[0]! ^= 1;
    const bad = [chain[0]!, { ...chain[1]!, mac: flipped }, chain[2]!];
    expect((await both(bad, { mac })).firstBad).toEqual({
      seq: 2,
      reason: 'entry mac does not verify',
    });
    const missing = [chain[0]!, { ...chain[1]!, mac: null }, chain[2]!];
    expect((await both(missing, { mac })).firstBad?.reason).toBe('entry mac does not verify');
    const short = [chain[0]!, { ...chain[1]!, mac: chain[1]!.mac!.slice(0, 31) }, chain[2]!];
    expect((await both(short, { mac })).firstBad?.reason).toBe('entry mac does not verify');
    expect((await both(bad)).ok).toBe(true);
    // The MAC callback sees the verified hash of the entry it checks.
    const seen: string[] = [];
    await both(chain, {
      mac: (hash, e) => {
        seen.push(`${String(e.seq)}:${toHex(hash)}`);
        return mac(hash);
      },
    });
    expect(seen.slice(0, 3)).toEqual(chain.map((e) => `${String(e.seq)}:${toHex(e.hash)}`));
  });

  it('says whether the chain passes through a recorded head', async () => {
    const chain = build(5);
    const head = { seq: 3, hash: toHex(chain[2]!.hash) };
    expect((await both(chain, { expect: head })).expectedHead).toEqual({ ...head, extended: true });
    expect(
      (await both(chain, { expect: { seq: 3, hash: head.hash.toUpperCase() } })).expectedHead
        ?.extended,
    ).toBe(true);
    // Another history with the same length: the recorded hash is not in it.
    const rewritten = nextLink({ seq: 2, hash: chain[1]!.hash }, (seq) =>
      canonicalBody([seq, 'other history']),
    );
    const forked = [
      ...chain.slice(0, 2),
      {
        seq: 3,
        text: 'other history',
        body: canonicalBody([3, 'other history']),
        prevHash: rewritten.prevHash,
        hash: rewritten.hash,
      },
    ];
    expect((await both(forked, { expect: head })).expectedHead).toEqual({
      ...head,
      extended: false,
    });
    // A chain cut before the recorded head (an older copy put back) does not extend it.
    expect((await both(chain.slice(0, 2), { expect: head })).expectedHead?.extended).toBe(false);
    // A chain that breaks after passing through the head is not taken as extending it.
    const broken = [...chain.slice(0, 4), { ...chain[4]!, body: '[5,"x"]' }];
    const v = await both(broken, { expect: head });
    expect(v.ok).toBe(false);
    expect(v.expectedHead?.extended).toBe(false);
  });

  it('verifies a segment that starts mid-chain, and runs a further per-entry check', async () => {
    const chain = build(6);
    const segment = chain.slice(3);
    expect(await both(segment, { firstSeq: 4, genesis: chain[2]!.hash })).toMatchObject({
      ok: true,
      entries: 3,
      headSeq: 6,
    });
    expect((await both(segment)).firstBad?.reason).toBe('entry 1 is missing');
    const v = await both(chain, {
      check: (e) => (e.text === 'entry 4' ? 'the kept response does not match' : undefined),
    });
    expect(v.firstBad).toEqual({ seq: 5, reason: 'the kept response does not match' });
    expect(v.headSeq).toBe(4);
  });

  it('stops reading at the first bad entry, and a verifier refuses entries after it', () => {
    const chain = build(4);
    let read = 0;
    function* counted(): Generator<Entry> {
      for (const e of [chain[0]!, chain[2]!, chain[3]!]) {
        read++;
        yield e;
      }
    }
    expect(verifyChain(counted()).firstBad?.seq).toBe(3);
    expect(read).toBe(2);
    const v = new ChainVerifier<Entry>();
    expect(v.push(chain[0]!)).toBe(true);
    expect(v.push(chain[2]!)).toBe(false);
    expect(v.push(chain[1]!)).toBe(false);
    expect(v.result()).toMatchObject({ entries: 2, headSeq: 1 });
  });
});

describe('hash chain: the HSM audit log expressed with it', () => {
  let d: TestDevice;
  let raw: Database.Database;
  let auditKey: Uint8Array;

  interface AuditRow {
    seq: number;
    at: string;
    actor: string;
    action: string;
    partition_id: string | null;
    key_id: string | null;
    outcome: string;
    details_json: string;
    object: string | null;
    prev_hash: Buffer;
    hash: Buffer;
    mac: Buffer;
  }

  /** The audit entry's canonical body, as src/hsm/audit.ts hashes it. */
  const auditEntries = (rows: readonly AuditRow[]): (StoredEntry & { row: AuditRow })[] =>
    rows.map((row) => ({
      seq: row.seq,
      // An entry about a governance object has the object as a ninth field.
      body: canonicalBody([
        row.seq,
        row.at,
        row.actor,
        row.action,
        row.partition_id,
        row.key_id,
        row.outcome,
        row.details_json,
        ...(row.object === null ? [] : [row.object]),
      ]),
      prevHash: row.prev_hash,
      hash: row.hash,
      mac: row.mac,
      row,
    }));
  const auditMac = (hash: Uint8Array): Uint8Array =>
    createHmac('sha256', auditKey).update(hash).digest();

  beforeAll(async () => {
    d = await createTestDevice();
    if (d.masterKey.kind !== 'key') throw new Error('the test device uses a raw master key');
    auditKey = deriveMasterKeys(d.masterKey.key, (await d.hsm.device()).id).auditKey;
    raw = new Database(d.storePath, { readonly: true, fileMustExist: true });
  });

  afterAll(async () => {
    raw.close();
    await d.hsm.close();
  });

  it('gives the same result as the audit log, with its MAC and a recorded head', async () => {
    const rows = raw.prepare('SELECT * FROM audit ORDER BY seq').all() as AuditRow[];
    expect(rows.length).toBeGreaterThanOrEqual(3);
    const head = { seq: 2, hash: rows[1]!.hash.toString('hex') };
    const ours = verifyChain(auditEntries(rows), { mac: auditMac, expect: head });
    // Awaited: the audit log may become asynchronous (a PostgreSQL store).
    const theirs = await Promise.resolve(d.hsm.verifyAudit(head));
    expect(ours.ok).toBe(true);
    expect({ ok: ours.ok, entries: ours.entries, head: ours.head }).toMatchObject({
      ok: theirs.ok,
      entries: theirs.entries,
      head: theirs.head,
    });
    expect(ours.expectedHead).toEqual(theirs.expectedHead);
    // Under another MAC key every entry fails, as the audit log's own check says.
    const wrong = verifyChain(auditEntries(rows), {
      mac: (h) => createHmac('sha256', new Uint8Array(32)).update(h).digest(),
    });
    expect(wrong.firstBad).toEqual({ seq: 1, reason: 'entry mac does not verify' });
  });
});

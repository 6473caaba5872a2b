// A lost token given back: with --archive-responses full the archive keeps each response's
// exact bytes and `tsa archive get` returns them byte for byte (openssl verifies the copy); with
// the default it says that only the hash is kept; changed bytes are an integrity failure.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';
import { post, startTsa } from '../helpers/tsa.js';

const skip = requireTool('openssl');

function openssl(args: string[], cwd: string): string {
  return execFileSync('openssl', args, { cwd, encoding: 'utf8', stdio: 'pipe' });
}

/** Serves with the given arguments, sends `docs` one request each, stops; returns the replies. */
async function serveAndStamp(cwd: string, args: string[], docs: string[]): Promise<Uint8Array[]> {
  const tsa = await startTsa(cwd, ['start', '--port', '0', ...args]);
  const replies: Uint8Array[] = [];
  try {
    for (const [i, text] of docs.entries()) {
      writeFileSync(join(cwd, `doc${String(i)}.txt`), text);
      openssl(
        [
          'ts',
          '-query',
          '-data',
          `doc${String(i)}.txt`,
          '-sha256',
          '-cert',
          '-out',
          `q${String(i)}.tsq`,
        ],
        cwd,
      );
      const r = await post(tsa.url, readFileSync(join(cwd, `q${String(i)}.tsq`)));
      expect(r.status).toBe(200);
      replies.push(r.body);
    }
  } finally {
    await tsa.stop();
  }
  return replies;
}

function serialOf(reply: Uint8Array, cwd: string): bigint {
  writeFileSync(join(cwd, 'probe.tsr'), reply);
  const m = /Serial number: (0x[0-9A-Fa-f]+|\d+)/.exec(
    openssl(['ts', '-reply', '-in', 'probe.tsr', '-text'], cwd),
  );
  return BigInt(m![1]!);
}

describe.skipIf(skip)('tsa archive get', () => {
  let full: string;
  let replies: Uint8Array[];

  beforeAll(async () => {
    full = tempDir();
    // The same document twice: two tokens for one imprint.
    replies = await serveAndStamp(
      full,
      ['--archive-responses', 'full'],
      ['one\n', 'two\n', 'two\n'],
    );
    expect(runCli(['chain', 'default', '--out', 'chain'], { cwd: full }).code).toBe(0);
  });

  it('returns the token byte for byte by serial, and openssl verifies the copy', () => {
    const serial = serialOf(replies[0]!, full);
    const r = runCli(
      ['tsa', 'archive', 'get', '--serial', serial.toString(), '--out', 'copy.tsr', '--json'],
      {
        cwd: full,
      },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as { serial: string; responseKept: boolean };
    expect(info.serial).toBe(serial.toString());
    expect(info.responseKept).toBe(true);
    const copy = readFileSync(join(full, 'copy.tsr'));
    expect(Buffer.compare(copy, Buffer.from(replies[0]!))).toBe(0);
    const out = openssl(
      [
        'ts',
        '-verify',
        '-data',
        'doc0.txt',
        '-in',
        'copy.tsr',
        '-CAfile',
        'chain/root.pem',
        '-untrusted',
        'chain/device.pem',
      ],
      full,
    );
    expect(out).toContain('Verification: OK');
  });

  it('by imprint when one token matches; several matches name their serials', () => {
    const digest = (name: string) => openssl(['dgst', '-sha256', '-r', name], full).split(' ')[0]!;
    const one = runCli(
      ['tsa', 'archive', 'get', '--imprint', digest('doc0.txt'), '--out', 'by-imprint.tsr'],
      {
        cwd: full,
      },
    );
    expect(one.code).toBe(0);
    expect(
      Buffer.compare(readFileSync(join(full, 'by-imprint.tsr')), Buffer.from(replies[0]!)),
    ).toBe(0);
    const two = runCli(
      ['tsa', 'archive', 'get', '--imprint', digest('doc1.txt'), '--out', 'x.tsr'],
      { cwd: full },
    );
    expect(two.code).toBe(64);
    for (const reply of replies.slice(1))
      expect(two.stderr).toContain(serialOf(reply, full).toString());
  });

  it('usage and not-found answers', () => {
    const cli = (args: string[]) => runCli(['tsa', 'archive', 'get', ...args], { cwd: full });
    expect(cli(['--out', 'x.tsr']).code).toBe(64);
    expect(cli(['--serial', '1', '--imprint', 'ab', '--out', 'x.tsr']).code).toBe(64);
    expect(cli(['--serial', '1']).stderr).toContain('--out');
    expect(cli(['--serial', '999999', '--out', 'x.tsr']).code).toBe(3);
  });

  it('changed bytes of a kept response are named by get (4) and by archive verify (4)', () => {
    const serial = serialOf(replies[0]!, full);
    const db = new Database(join(full, 'data/tsa-archive.sqlite'));
    const row = db
      .prepare('SELECT seq, response FROM responses WHERE serial = ?')
      .get(serial.toString()) as {
      seq: number;
      response: Buffer;
    };
    const changed = Buffer.from(row.response);
    changed[changed.length - 1]! ^= 0x01;
    db.prepare('UPDATE responses SET response = ? WHERE seq = ?').run(changed, row.seq);
    db.close();
    const get = runCli(
      ['tsa', 'archive', 'get', '--serial', serial.toString(), '--out', 'bad.tsr'],
      { cwd: full },
    );
    expect(get.code).toBe(4);
    expect(get.stderr).toContain('does not match');
    const verify = runCli(['tsa', 'archive', 'verify', '--json'], { cwd: full });
    expect(verify.code).toBe(4);
    expect(JSON.parse(verify.stdout)).toMatchObject({
      ok: false,
      firstBad: { seq: row.seq, reason: 'the kept response does not match its hash' },
    });
  });

  it('bytes replaced together with their SHA-256 still break the chain, and get refuses them', () => {
    const serial = serialOf(replies[1]!, full);
    const db = new Database(join(full, 'data/tsa-archive.sqlite'));
    const row = db.prepare('SELECT seq FROM responses WHERE serial = ?').get(serial.toString()) as {
      seq: number;
    };
    // Another token's bytes, with a matching response_sha256: only the chain can tell.
    const other = Buffer.from(replies[2]!);
    db.prepare('UPDATE responses SET response = ?, response_sha256 = ? WHERE seq = ?').run(
      other,
      createHash('sha256').update(other).digest(),
      row.seq,
    );
    db.close();
    const get = runCli(
      ['tsa', 'archive', 'get', '--serial', serial.toString(), '--out', 'swapped.tsr'],
      {
        cwd: full,
      },
    );
    expect(get.code).toBe(4);
    expect(get.stderr).toContain('does not match');
  });

  it('with the default only the hash is kept, and get says how to keep tokens', async () => {
    const cwd = tempDir();
    const [reply] = await serveAndStamp(cwd, [], ['hash only\n']);
    const r = runCli(
      ['tsa', 'archive', 'get', '--serial', serialOf(reply!, cwd).toString(), '--out', 'x.tsr'],
      { cwd },
    );
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('--archive-responses full');
    const db = new Database(join(cwd, 'data/tsa-archive.sqlite'), { readonly: true });
    const kept = db
      .prepare('SELECT count(*) AS n FROM responses WHERE response IS NOT NULL')
      .get() as { n: number };
    db.close();
    expect(kept.n).toBe(0);
  });
});

// The README's first command on a fresh folder: `attestamp start` initialises the embedded
// default and serves RFC 3161 on a real port; openssl verifies a token; SIGTERM stops it cleanly.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { post, startTsa, type RunningTsa } from '../helpers/tsa.js';

let cwd: string;
let tsa: RunningTsa;

beforeAll(async () => {
  cwd = tempDir();
  tsa = await startTsa(cwd);
});

afterAll(async () => {
  if (tsa.child.exitCode === null) await tsa.stop();
});

describe('attestamp start', () => {
  it('initialises the store and answers an openssl query with a token openssl verifies', async () => {
    writeFileSync(join(cwd, 'doc.txt'), 'the document\n');
    execFileSync(
      'openssl',
      [
        'ts',
        '-query',
        '-data',
        join(cwd, 'doc.txt'),
        '-sha256',
        '-cert',
        '-out',
        join(cwd, 'q.tsq'),
      ],
      { stdio: 'pipe' },
    );
    const r = await post(tsa.url, readFileSync(join(cwd, 'q.tsq')));
    expect(r.status).toBe(200);
    expect(r.type).toBe('application/timestamp-reply');
    writeFileSync(join(cwd, 'r.tsr'), r.body);
    const chain = runCli(['chain', 'default', '--out', join(cwd, 'chain')], { cwd });
    expect(chain.code).toBe(0);
    const out = execFileSync(
      'openssl',
      [
        'ts',
        '-verify',
        '-data',
        join(cwd, 'doc.txt'),
        '-in',
        join(cwd, 'r.tsr'),
        '-CAfile',
        join(cwd, 'chain/root.pem'),
        '-untrusted',
        join(cwd, 'chain/device.pem'),
      ],
      { encoding: 'utf8', stdio: 'pipe' },
    );
    expect(out).toContain('Verification: OK');
  });

  it('publishes the chain, root and TSA certificate', async () => {
    const chain = await (await fetch(new URL('chain.pem', tsa.url))).text();
    expect(chain.match(/BEGIN CERTIFICATE/g)).toHaveLength(3);
    const root = await (await fetch(new URL('root.pem', tsa.url))).text();
    expect(root).toBe(readFileSync(join(cwd, 'data-factory/root.pem'), 'utf8'));
    const leaf = await fetch(new URL('tsa.pem', tsa.url));
    expect(leaf.status).toBe(200);
    expect((await leaf.text()).match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
  });

  it('stops on SIGTERM with exit code 0', async () => {
    expect(await tsa.stop()).toBe(0);
  });

  it('TIS-04 tsa archive verify and find read the archive without changing it', () => {
    const file = join(cwd, 'data/tsa-archive.sqlite');
    const before = createHash('sha256').update(readFileSync(file)).digest('hex');
    const verify = runCli(['tsa', 'archive', 'verify', '--json'], { cwd });
    expect(verify.code).toBe(0);
    expect((JSON.parse(verify.stdout) as { ok: boolean; entries: number }).entries).toBeGreaterThan(
      0,
    );
    const found = runCli(['tsa', 'archive', 'find', '--serial', '1'], { cwd });
    expect(found.code).toBe(0);
    expect((JSON.parse(found.stdout.trim().split('\n')[0]!) as { serial: string }).serial).toBe(
      '1',
    );
    expect(runCli(['tsa', 'archive', 'find', '--serial', '999999'], { cwd }).code).toBe(3);
    expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(before);
  });
});

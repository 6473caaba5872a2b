// `attestamp stamp` as a pipeline would run it: against the project's own TSA and against
// OpenSSL's `ts -reply` served over HTTP on loopback, with verification to a pinned root, and
// every failure path with its exit code: refusal, a wrong answer, no TSA, bad arguments.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { buildCa, POLICY, tsaSection } from '../helpers/openssl-tsa.js';
import { requireTool } from '../helpers/tools.js';
import { startTsa, type RunningTsa } from '../helpers/tsa.js';

interface Result {
  file: string;
  outcome: string;
  token?: string;
  serial?: string;
  serialHex?: string;
  genTime?: string;
  policy?: string;
  message?: string;
}

const skip = requireTool('openssl');

/** The CLI without blocking this process, whose event loop serves the OpenSSL TSA below. */
function stampAsync(
  args: string[],
  cwd: string,
): Promise<{ code: number; results: Result[]; stderr: string }> {
  return new Promise((done, fail) => {
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('ATTESTAMP_')),
    );
    const child = spawn(process.execPath, [BIN, 'stamp', ...args, '--json'], { cwd, env });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', fail);
    child.on('close', (code) => {
      const results = out === '' ? [] : (JSON.parse(out) as { results: Result[] }).results;
      done({ code: code ?? -1, results, stderr: err });
    });
  });
}

function stampJson(
  args: string[],
  cwd: string,
): { code: number; results: Result[]; stderr: string } {
  const r = runCli(['stamp', ...args, '--json'], { cwd });
  if (r.stdout === '') return { code: r.code, results: [], stderr: r.stderr };
  return {
    code: r.code,
    results: (JSON.parse(r.stdout) as { results: Result[] }).results,
    stderr: r.stderr,
  };
}

describe.skipIf(skip)('attestamp stamp against attestamp serve', () => {
  let cwd: string;
  let tsa: RunningTsa;

  beforeAll(async () => {
    cwd = tempDir();
    tsa = await startTsa(cwd);
    expect(runCli(['chain', 'default', '--out', join(cwd, 'chain')], { cwd }).code).toBe(0);
    writeFileSync(join(cwd, 'a.txt'), 'first document\n');
    writeFileSync(join(cwd, 'b.bin'), Buffer.alloc(300_000, 7));
  });

  afterAll(async () => {
    await tsa.stop();
  });

  it('stamps several files, verifies them to the root and stores tokens openssl accepts', () => {
    const r = stampJson(
      [
        'a.txt',
        'b.bin',
        '--tsa',
        tsa.url,
        '--verify',
        '--anchor',
        'chain/root.pem',
        '--out',
        'tokens',
      ],
      cwd,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.results.map((x) => x.outcome)).toEqual(['verified', 'verified']);
    for (const [i, name] of ['a.txt', 'b.bin'].entries()) {
      const x = r.results[i]!;
      expect(x.token).toBe(join(cwd, 'tokens', `${name}.tsr`));
      expect(x.genTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
      expect(BigInt(x.serial!)).toBe(BigInt(`0x${x.serialHex!}`));
      const out = execFileSync(
        'openssl',
        [
          'ts',
          '-verify',
          '-data',
          join(cwd, name),
          '-in',
          x.token!,
          '-CAfile',
          join(cwd, 'chain/root.pem'),
          '-untrusted',
          join(cwd, 'chain/device.pem'),
        ],
        { encoding: 'utf8', stdio: 'pipe' },
      );
      expect(out).toContain('Verification: OK');
    }
    expect(r.results[0]!.serial).not.toBe(r.results[1]!.serial);
  });

  it('the SHA-256 pin of the root works as an anchor, and a wrong pin fails with 1', () => {
    const root = readFileSync(join(cwd, 'chain/root.pem'), 'utf8');
    const der = Buffer.from(root.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const pin = createHash('sha256').update(der).digest('hex');
    expect(
      stampJson(['a.txt', '--tsa', tsa.url, '--verify', '--anchor-sha256', pin], cwd).code,
    ).toBe(0);
    const wrong = stampJson(
      ['a.txt', '--tsa', tsa.url, '--verify', '--anchor-sha256', 'ab'.repeat(32)],
      cwd,
    );
    expect(wrong.code).toBe(1);
    expect(wrong.results[0]!.outcome).toBe('failed');
    expect(wrong.results[0]!.message).toContain('path.build');
  });

  it('a policy the TSA does not serve is a refusal (exit 2) and writes no token', () => {
    const r = stampJson(
      ['a.txt', '--tsa', tsa.url, '--policy', '1.2.3.4', '--out', 'refused'],
      cwd,
    );
    expect(r.code).toBe(2);
    expect(r.results[0]!.outcome).toBe('rejected');
    expect(r.results[0]!.message).toContain('status 2');
    expect(() => readFileSync(join(cwd, 'refused', 'a.txt.tsr'))).toThrow();
  });

  it('every hash of the table gives a token with that hash', () => {
    for (const hash of ['sha384', 'sha512', 'sha3-256']) {
      const r = stampJson(['a.txt', '--tsa', tsa.url, '--hash', hash, '--out', hash], cwd);
      expect(r.code, hash).toBe(0);
      const text = execFileSync('openssl', ['ts', '-reply', '-in', r.results[0]!.token!, '-text'], {
        encoding: 'utf8',
        stdio: 'pipe',
      });
      expect(text).toContain(`Hash Algorithm: ${hash}`);
    }
  });
});

describe('attestamp stamp failures that need no TSA', () => {
  const cwd = tempDir();
  writeFileSync(join(cwd, 'a.txt'), 'x');

  it('no TSA listening is 69 and names the address', () => {
    const r = stampJson(['a.txt', '--tsa', 'http://127.0.0.1:9/'], cwd);
    expect(r.code).toBe(69);
    expect(r.results[0]!.outcome).toBe('unavailable');
    expect(r.results[0]!.message).toContain('127.0.0.1:9');
  });

  it('usage errors name the argument and exit 64', () => {
    const cases: [string[], string][] = [
      [['a.txt'], '--tsa'],
      [['a.txt', '--tsa', 'ftp://x/'], '--tsa must be an http'],
      [['a.txt', '--tsa', 'http://127.0.0.1:9/', '--hash', 'md5'], '--hash must be one of'],
      [['a.txt', '--tsa', 'http://127.0.0.1:9/', '--verify'], '--verify needs --anchor'],
      [['a.txt', '--tsa', 'http://127.0.0.1:9/', '--policy', 'x'], '--policy must be a dotted OID'],
      [['--tsa', 'http://127.0.0.1:9/'], 'missing FILE'],
    ];
    for (const [args, text] of cases) {
      const r = runCli(['stamp', ...args], { cwd });
      expect(r.code, args.join(' ')).toBe(64);
      expect(r.stderr).toContain(text);
    }
  });

  it('a missing file is bad input (65)', () => {
    const r = runCli(['stamp', 'nope.txt', '--tsa', 'http://127.0.0.1:9/'], { cwd });
    expect(r.code).toBe(65);
    expect(r.stderr).toContain('nope.txt');
  });
});

/** A TSA made of `openssl ts -reply` behind a loopback HTTP server. */
describe.skipIf(skip)('attestamp stamp against OpenSSL as the TSA', () => {
  let cwd: string;
  let server: Server;
  let url: string;
  /** What the next answer is made of: OpenSSL's own, or a tampered or wrong one. */
  let mode: 'openssl' | 'other-imprint' | 'html' = 'openssl';

  const openssl = (args: string[]) =>
    execFileSync('openssl', args, { cwd, encoding: 'utf8', stdio: 'pipe' });

  beforeAll(async () => {
    cwd = tempDir();
    // root -> intermediate -> RSA TSA, the TSA carrying the intermediate in its tokens.
    buildCa(cwd, 'rsa');
    writeFileSync(
      join(cwd, 'tsa.cnf'),
      tsaSection({ name: 'stamp', carryIntermediate: true, accuracy: 'secs:1', tsaName: false }),
    );
    writeFileSync(join(cwd, 'doc.txt'), 'stamped by OpenSSL\n');
    writeFileSync(join(cwd, 'other.txt'), 'something else\n');
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (mode === 'html') {
          res.writeHead(200, { 'content-type': 'text/html' }).end('<html>proxy login</html>');
          return;
        }
        let query = Buffer.concat(chunks);
        if (mode === 'other-imprint') {
          // Answer a different question: the same request for another file's digest.
          query = readFileSync(join(cwd, 'other.tsq'));
        }
        writeFileSync(join(cwd, 'q.tsq'), query);
        openssl(['ts', '-reply', '-config', 'tsa.cnf', '-queryfile', 'q.tsq', '-out', 'r.tsr']);
        res
          .writeHead(200, { 'content-type': 'application/timestamp-reply' })
          .end(readFileSync(join(cwd, 'r.tsr')));
      });
    });
    openssl([
      'ts',
      '-query',
      '-data',
      'other.txt',
      '-sha256',
      '-cert',
      '-no_nonce',
      '-out',
      'other.tsq',
    ]);
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/`;
  });

  afterAll(async () => {
    await new Promise((done) => server.close(done));
  });

  it("verifies OpenSSL's token to its root, and the stored answer verifies with openssl", async () => {
    mode = 'openssl';
    const r = await stampAsync(['doc.txt', '--tsa', url, '--verify', '--anchor', 'root.pem'], cwd);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.results[0]).toMatchObject({ outcome: 'verified', policy: POLICY });
    expect(
      openssl([
        'ts',
        '-verify',
        '-data',
        'doc.txt',
        '-in',
        r.results[0]!.token!,
        '-CAfile',
        'root.pem',
      ]),
    ).toContain('Verification: OK');
  });

  it('an answer to another question (other imprint, no nonce) fails with 1 and is not stored', async () => {
    mode = 'other-imprint';
    const r = await stampAsync(['doc.txt', '--tsa', url, '--out', 'wrong'], cwd);
    expect(r.code).toBe(1);
    expect(r.results[0]!.outcome).toBe('failed');
    expect(r.results[0]!.message).toContain('token.imprint');
    expect(r.results[0]!.message).toContain('token.request');
    expect(() => readFileSync(join(cwd, 'wrong', 'doc.txt.tsr'))).toThrow();
  });

  it('an answer that is not a time-stamp reply is 69', async () => {
    mode = 'html';
    const r = await stampAsync(['doc.txt', '--tsa', url], cwd);
    expect(r.code).toBe(69);
    expect(r.results[0]!.message).toContain('text/html');
  });
});

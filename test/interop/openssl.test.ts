// Interop with the OpenSSL time-stamp client (`openssl ts`, checklist "Clients a TSA must
// satisfy"): queries made by openssl, tokens verified by openssl, rejections decoded by openssl.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { id_sha256, id_tsaPolicyBaseline } from '../../src/pki/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';
import { timeStampQuery } from '../helpers/tsp.js';
import { post, startTsa, type RunningTsa } from '../helpers/tsa.js';

const RSA_POLICY = `${id_tsaPolicyBaseline}.1`;

interface Run {
  readonly code: number;
  /** stdout and stderr together (openssl prints verification results on either). */
  readonly out: string;
}

function openssl(args: readonly string[], cwd: string): Run {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

const skip = requireTool('openssl');
const sha3 =
  !skip && spawnSync('openssl', ['dgst', '-sha3-256'], { input: '', stdio: 'pipe' }).status === 0;

describe.skipIf(skip)('openssl ts against the TSA', () => {
  let cwd: string;
  let tsa: RunningTsa;
  let counter = 0;

  /** A fresh file name in the work folder. */
  const file = (stem: string): string => join(cwd, `${stem}-${++counter}`);

  /** openssl ts -query, POST with fetch, write the reply; returns the file names. */
  async function stamp(
    queryArgs: readonly string[],
    path = '/',
    data = join(cwd, 'doc.txt'),
  ): Promise<{ query: string; reply: string; status: number; type: string | null }> {
    const query = file('q.tsq');
    const made = openssl(['ts', '-query', '-data', data, ...queryArgs, '-out', query], cwd);
    expect(made.code, made.out).toBe(0);
    const r = await post(new URL(path, tsa.url).href, readFileSync(query));
    const reply = file('r.tsr');
    writeFileSync(reply, r.body);
    return { query, reply, status: r.status, type: r.type };
  }

  function verify(reply: string, chainDir: string, untrusted: string, against: string[]): Run {
    return openssl(
      [
        'ts',
        '-verify',
        ...against,
        '-in',
        reply,
        '-CAfile',
        join(chainDir, 'root.pem'),
        '-untrusted',
        untrusted,
      ],
      cwd,
    );
  }

  /** Subjects of the certificates carried in the token (openssl pkcs7 -print_certs). */
  function tokenCertificates(reply: string): string[] {
    const token = file('token.der');
    const out = openssl(['ts', '-reply', '-in', reply, '-token_out', '-out', token], cwd);
    expect(out.code, out.out).toBe(0);
    const certs = openssl(['pkcs7', '-inform', 'DER', '-in', token, '-print_certs', '-noout'], cwd);
    expect(certs.code, certs.out).toBe(0);
    return certs.out
      .split('\n')
      .filter((l) => l.startsWith('subject='))
      .map((l) => l.slice('subject='.length).trim());
  }

  function replyText(reply: string): string {
    const r = openssl(['ts', '-reply', '-in', reply, '-text'], cwd);
    expect(r.code, r.out).toBe(0);
    return r.out;
  }

  beforeAll(async () => {
    cwd = tempDir();
    expect(runCli(['init'], { cwd }).code).toBe(0);
    const rsa = runCli(['partition', 'create', 'rsa', '--timestamp-algorithm', 'rsa-3072'], {
      cwd,
    });
    expect(rsa.code, rsa.stderr).toBe(0);
    for (const p of ['default', 'rsa']) {
      const chain = runCli(['chain', p, '--out', join(cwd, `chain-${p}`)], { cwd });
      expect(chain.code, chain.stderr).toBe(0);
    }
    writeFileSync(join(cwd, 'doc.txt'), 'the document to time-stamp\n');
    writeFileSync(join(cwd, 'other.txt'), 'a different document\n');
    tsa = await startTsa(cwd, [
      'serve',
      '--port',
      '0',
      '--unit',
      'default:/',
      '--unit',
      'rsa:/rsa',
    ]);
    // HTTP-04: the published bundle (TSA certificate, device, root), for tokens without any.
    for (const [path, name] of [
      ['/chain.pem', 'published-default.pem'],
      ['/rsa/chain.pem', 'published-rsa.pem'],
    ] as const) {
      const r = await fetch(new URL(path, tsa.url));
      expect(r.status).toBe(200);
      writeFileSync(join(cwd, name), await r.text());
    }
  });

  afterAll(async () => {
    if (tsa.child.exitCode === null) expect(await tsa.stop()).toBe(0);
  });

  const digests = ['sha256', 'sha384', 'sha512', ...(sha3 ? ['sha3-256'] : [])];
  const cases = digests.flatMap((digest) =>
    [true, false].flatMap((cert) => [true, false].map((nonce) => ({ digest, cert, nonce }))),
  );

  it.each(cases)(
    'HTTP-01 REQ-01 REQ-03 REQ-07 TST-03 TST-08 -$digest cert=$cert nonce=$nonce: openssl verifies the token',
    async ({ digest, cert, nonce }) => {
      const args = [`-${digest}`, ...(cert ? ['-cert'] : []), ...(nonce ? [] : ['-no_nonce'])];
      const r = await stamp(args);
      expect(r.status).toBe(200);
      expect(r.type).toBe('application/timestamp-reply');

      const text = replyText(r.reply);
      expect(text).toContain('Status: Granted.');
      expect(text).toContain(`Hash Algorithm: ${digest}`);
      expect(text).toContain(`Policy OID: ${id_tsaPolicyBaseline}\n`);
      expect(text).toContain('CN=default time-stamping unit');
      if (nonce) expect(text).toMatch(/Nonce: 0x[0-9A-F]+/);
      else expect(text).toContain('Nonce: unspecified');

      // REQ-07: with certReq the signer certificate and its issuers (the default), leaf first;
      // no certificates without it.
      const certs = tokenCertificates(r.reply);
      if (cert) {
        expect(certs).toEqual([
          expect.stringContaining('CN = default time-stamping unit'),
          expect.stringContaining('CN = attestamp device'),
          expect.stringContaining('Factory Root'),
        ]);
      } else expect(certs).toEqual([]);

      // Without certificates in the token the verifier needs the TSA certificate from elsewhere.
      const chainDir = join(cwd, 'chain-default');
      const untrusted = cert ? join(chainDir, 'device.pem') : join(cwd, 'published-default.pem');
      const byData = verify(r.reply, chainDir, untrusted, ['-data', join(cwd, 'doc.txt')]);
      expect(byData.out).toContain('Verification: OK');
      expect(byData.code).toBe(0);
      const byQuery = verify(r.reply, chainDir, untrusted, ['-queryfile', r.query]);
      expect(byQuery.out).toContain('Verification: OK');
      expect(byQuery.code).toBe(0);
    },
  );

  it('TST-03 a token verified against other data fails', async () => {
    const r = await stamp(['-sha256', '-cert']);
    expect(r.status).toBe(200);
    const chainDir = join(cwd, 'chain-default');
    const good = verify(r.reply, chainDir, join(chainDir, 'device.pem'), [
      '-data',
      join(cwd, 'doc.txt'),
    ]);
    expect(good.code, good.out).toBe(0);
    const bad = verify(r.reply, chainDir, join(chainDir, 'device.pem'), [
      '-data',
      join(cwd, 'other.txt'),
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.out).toContain('Verification: FAILED');
    expect(bad.out).toContain('message imprint mismatch');
  });

  it('TST-08 a token verified against another query (other nonce) fails', async () => {
    const first = await stamp(['-sha256', '-cert']);
    const second = await stamp(['-sha256', '-cert']);
    const chainDir = join(cwd, 'chain-default');
    const bad = verify(first.reply, chainDir, join(chainDir, 'device.pem'), [
      '-queryfile',
      second.query,
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.out).toContain('nonce mismatch');
  });

  it.each([
    { cert: true, digest: 'sha256' },
    { cert: false, digest: 'sha512' },
  ])(
    'REQ-07 TST-02 the RSA-3072 unit at /rsa: cert=$cert -$digest verifies',
    async ({ cert, digest }) => {
      const r = await stamp([`-${digest}`, ...(cert ? ['-cert'] : [])], '/rsa');
      expect(r.status).toBe(200);
      const text = replyText(r.reply);
      expect(text).toContain('Status: Granted.');
      expect(text).toContain(`Policy OID: ${RSA_POLICY}\n`);
      expect(text).toContain('CN=rsa time-stamping unit');
      const chainDir = join(cwd, 'chain-rsa');
      const untrusted = cert ? join(chainDir, 'device.pem') : join(cwd, 'published-rsa.pem');
      const byData = verify(r.reply, chainDir, untrusted, ['-data', join(cwd, 'doc.txt')]);
      expect(byData.out).toContain('Verification: OK');
      const byQuery = verify(r.reply, chainDir, untrusted, ['-queryfile', r.query]);
      expect(byQuery.out).toContain('Verification: OK');
      // The default unit's certificate does not verify an RSA unit token.
      if (!cert) {
        const wrong = verify(r.reply, chainDir, join(cwd, 'published-default.pem'), [
          '-queryfile',
          r.query,
        ]);
        expect(wrong.code).not.toBe(0);
      }
    },
  );

  it('TST-02 REQ-05 -tspolicy of the second unit sent to / is served by the RSA unit', async () => {
    const r = await stamp(['-sha256', '-cert', '-tspolicy', RSA_POLICY], '/');
    expect(r.status).toBe(200);
    const text = replyText(r.reply);
    expect(text).toContain('Status: Granted.');
    expect(text).toContain(`Policy OID: ${RSA_POLICY}\n`);
    expect(text).toContain(
      'TSA: DirName:/C=XX/O=attestamp/OU=partition rsa/CN=rsa time-stamping unit',
    );
    expect(tokenCertificates(r.reply)).toEqual([
      expect.stringContaining('CN = rsa time-stamping unit'),
      expect.stringContaining('CN = attestamp device'),
      expect.stringContaining('Factory Root'),
    ]);
    const chainDir = join(cwd, 'chain-rsa');
    const ok = verify(r.reply, chainDir, join(chainDir, 'device.pem'), ['-queryfile', r.query]);
    expect(ok.out).toContain('Verification: OK');
  });

  it('TST-02 -tspolicy of the first unit sent to /rsa is served by the default unit', async () => {
    const r = await stamp(['-sha256', '-cert', '-tspolicy', id_tsaPolicyBaseline], '/rsa');
    expect(r.status).toBe(200);
    const text = replyText(r.reply);
    expect(text).toContain(`Policy OID: ${id_tsaPolicyBaseline}\n`);
    expect(text).toContain('CN=default time-stamping unit');
  });

  it('REQ-03 RSP-02 RSP-03 RSP-04 an SHA-1 query is rejected with badAlg', async () => {
    const r = await stamp(['-sha1', '-cert']);
    expect(r.status).toBe(200);
    expect(r.type).toBe('application/timestamp-reply');
    const text = replyText(r.reply);
    expect(text).toContain('Status: Rejected.');
    expect(text).toContain('Status description: the imprint hash algorithm is too weak');
    expect(text).toContain('Failure info: unrecognized or unsupported algorithm identifier');
    expect(text).toContain('TST info:\nNot included.');
  });

  it('REQ-05 RSP-03 a policy the TSA does not serve is rejected with unacceptedPolicy', async () => {
    const r = await stamp(['-sha256', '-tspolicy', '1.2.3.4.5.6']);
    expect(r.status).toBe(200);
    const text = replyText(r.reply);
    expect(text).toContain('Status: Rejected.');
    expect(text).toContain('Status description: the requested policy is not served here');
    expect(text).toContain('Failure info: the requested TSA policy is not supported by the TSA');
    expect(text).toContain('TST info:\nNot included.');
  });

  // RSP-03: each failInfo bit the TSA sends, as OpenSSL decodes it (one bit, nothing else).
  it.each([
    {
      name: 'badRequest (version 2)',
      body: (): Uint8Array => timeStampQuery({ version: 2 }),
      text: 'transaction not permitted or supported',
    },
    {
      name: 'badDataFormat (wrong digest length)',
      body: (): Uint8Array => timeStampQuery({ hashOid: id_sha256, digest: new Uint8Array(20) }),
      text: 'the data submitted has the wrong format',
    },
    {
      name: 'unacceptedExtension',
      body: (): Uint8Array =>
        timeStampQuery({ extensions: [{ oid: '1.2.3.4.99', critical: false }] }),
      text: 'the requested extension is not supported by the TSA',
    },
  ])('RSP-03 RSP-04 openssl decodes the $name rejection', async ({ body, text }) => {
    const r = await post(tsa.url, body());
    expect(r.status).toBe(200);
    const reply = file('rej.tsr');
    writeFileSync(reply, r.body);
    const out = replyText(reply);
    expect(out).toContain('Status: Rejected.');
    const failure = /Failure info: (.*)\n/.exec(out);
    expect(failure?.[1]).toBe(text);
    expect(out).toContain('TST info:\nNot included.');
  });
});

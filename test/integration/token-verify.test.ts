// attestamp-verify token end to end: tokens from the running TSA (openssl ts -query, POST),
// its published root and evidence, then the verifier as a subprocess. Each broken token or
// mismatched input must fail with its exit code and name the check that failed. Signers a TSA
// would never use (a wrong ESSCertIDv2, a non-critical EKU, an expired certificate) are written
// in process with the TSA's TokenTemplate over a test CA.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePemAll, encodePem, sha256Fingerprint } from '../../src/pki/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import {
  createTestCa,
  detailOf,
  failedChecks,
  openssl,
  runVerifier,
  stampWith,
  statusOf,
  verifyJson,
  withAlteredGenTime,
  withAlteredSignature,
  type TestCa,
} from '../helpers/token-pki.js';
import { requireTool } from '../helpers/tools.js';
import { post, startTsa, type RunningTsa } from '../helpers/tsa.js';

const skip = requireTool('openssl');

describe.skipIf(skip)('attestamp-verify token against the running TSA', () => {
  let cwd: string;
  let tsa: RunningTsa | undefined;
  let rootSha256: string;

  const path = (name: string): string => join(cwd, name);

  function cli(args: readonly string[]): string {
    const r = runCli(args, { cwd });
    expect(r.code, `attestamp ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  }

  /** openssl ts -query for the file (nonce and certReq), POSTed; writes QUERY and REPLY. */
  async function stamp(data: string, query: string, reply: string): Promise<void> {
    const q = openssl(['ts', '-query', '-data', data, '-sha256', '-cert', '-out', query], cwd);
    expect(q.code, q.stderr).toBe(0);
    const r = await post(url(''), readFileSync(path(query)));
    expect(r.status).toBe(200);
    expect(r.type).toBe('application/timestamp-reply');
    writeFileSync(path(reply), r.body);
  }

  function url(relative: string): string {
    if (tsa === undefined) throw new Error('the TSA is not running');
    return new URL(relative, tsa.url).href;
  }

  async function get(relative: string): Promise<Response> {
    return fetch(url(relative));
  }

  const anchor = (): string[] => ['--anchor', 'root.pem'];
  const good = (): string[] => ['token', '--token', 'r.tsr', '--data', 'doc.txt', ...anchor()];

  beforeAll(async () => {
    cwd = tempDir();
    cli(['init']);
    // A user key, and an extractable one in a partition whose officer allowed export.
    cli([
      'partition',
      'policy',
      'default',
      '--export',
      'on',
      '--officer-passphrase-file',
      'data/officer.passphrase',
    ]);
    cli(['key', 'generate', 'default', '--label', 'k1', '--algorithm', 'ecdsa-p256']);
    const extractable = JSON.parse(
      cli([
        'key',
        'generate',
        'default',
        '--label',
        'x1',
        '--algorithm',
        'ecdsa-p256',
        '--extractable',
        '--json',
      ]),
    ) as { attributes: { extractable: boolean; neverExtractable: boolean } };
    expect(extractable.attributes).toMatchObject({ extractable: true, neverExtractable: false });
    cli(['key', 'attest', 'default', 'k1', '--out', 'k1-evidence.pem']);
    cli(['key', 'attest', 'default', 'x1', '--out', 'x1-evidence.pem']);

    tsa = await startTsa(cwd, ['serve', '--port', '0']);
    writeFileSync(path('doc.txt'), 'attestamp token verification\n');
    writeFileSync(path('other.txt'), 'attestamp token verification, other data\n');
    await stamp('doc.txt', 'q.tsq', 'r.tsr');
    // Same data, another random nonce.
    const q2 = openssl(
      ['ts', '-query', '-data', 'doc.txt', '-sha256', '-cert', '-out', 'q2.tsq'],
      cwd,
    );
    expect(q2.code, q2.stderr).toBe(0);

    const root = await get('root.pem');
    expect(root.status).toBe(200);
    writeFileSync(path('root.pem'), await root.text());
    const evidence = await get('evidence.pem');
    expect(evidence.status).toBe(200);
    const evidenceText = await evidence.text();
    expect(evidenceText).toMatch(/^-----BEGIN EVIDENCE-----/);
    writeFileSync(path('evidence.pem'), evidenceText);
    const [published] = decodePemAll(readFileSync(path('root.pem'), 'utf8'));
    rootSha256 = sha256Fingerprint(published!.der);
    // The published root is the factory root.
    expect(readFileSync(path('root.pem'), 'utf8')).toBe(
      readFileSync(path('data-factory/root.pem'), 'utf8'),
    );
  }, 120_000);

  afterAll(async () => {
    await tsa?.stop();
  });

  describe('a good token', () => {
    it('verifies: imprint, signature, ESSCertIDv2, critical EKU, chain at genTime, request', async () => {
      const { code, report, stderr } = await verifyJson([...good(), '--request', 'q.tsq'], cwd);
      expect(stderr).toBe('');
      expect(failedChecks(report)).toEqual([]);
      expect(code).toBe(0);
      expect(report.outcome).toBe('verified');
      expect(report.anchor).toBe(rootSha256);
      for (const id of [
        'token.status',
        'token.content-type',
        'token.imprint',
        'token.message-digest',
        'token.signature',
        'token.ess-cert-id',
        'token.signer-eku',
        'token.request',
        'token.encoding',
        'path.validity',
        'roles.chain',
      ])
        expect(statusOf(report, id), id).toBe('pass');
      expect(statusOf(report, 'token.key-in-hsm')).toBe('skip');
    });

    it('with the published evidence and --allow-software, proves the key stayed in its partition', async () => {
      const { code, report } = await verifyJson(
        [...good(), '--evidence', 'evidence.pem', '--allow-software'],
        cwd,
      );
      expect(failedChecks(report)).toEqual([]);
      expect(code).toBe(0);
      expect(statusOf(report, 'evidence:key.binding')).toBe('pass');
      expect(statusOf(report, 'evidence:policy.attributes')).toBe('pass');
      expect(statusOf(report, 'token.key-in-hsm')).toBe('pass');
      expect(detailOf(report, 'token.key-in-hsm')).toMatch(/never extractable/);
    });

    it('with the evidence but without --allow-software, fails on policy (exit 2)', async () => {
      const { code, report } = await verifyJson([...good(), '--evidence', 'evidence.pem'], cwd);
      expect(code).toBe(2);
      expect(report.outcome).toBe('policy-failed');
      expect(failedChecks(report)).toEqual([
        'evidence:policy.protection-class',
        'token.key-in-hsm',
      ]);
    });

    it('is read as DER, PEM or base64; anything else is a usage error (exit 64)', async () => {
      const der = readFileSync(path('r.tsr'));
      writeFileSync(path('r.pem'), encodePem('TIMESTAMP RESPONSE', new Uint8Array(der)));
      writeFileSync(path('r.b64'), der.toString('base64'));
      writeFileSync(path('r.txt'), 'not a token\n');
      const args = (file: string): string[] => [
        'token',
        '--token',
        file,
        '--data',
        'doc.txt',
        ...anchor(),
      ];
      const [pem, b64] = await Promise.all([
        verifyJson(args('r.pem'), cwd),
        verifyJson(args('r.b64'), cwd),
      ]);
      expect([pem.code, failedChecks(pem.report)]).toEqual([0, []]);
      expect([b64.code, failedChecks(b64.report)]).toEqual([0, []]);
      const r = runVerifier(args('r.txt'), cwd);
      expect(r.code).toBe(64);
      expect(r.stderr).toMatch(/--token: .* neither DER, PEM nor base64/);
    });
  });

  describe('a token that does not prove what it claims (exit 1)', () => {
    it('for other data fails token.imprint', async () => {
      const { code, report } = await verifyJson(
        ['token', '--token', 'r.tsr', '--data', 'other.txt', ...anchor()],
        cwd,
      );
      expect(code).toBe(1);
      expect(report.outcome).toBe('failed');
      expect(failedChecks(report)).toEqual(['token.imprint']);
    });

    it('with genTime moved one second in the TSTInfo fails token.message-digest', async () => {
      const token = withAlteredGenTime(new Uint8Array(readFileSync(path('r.tsr'))));
      writeFileSync(path('r-time.tsr'), token);
      const { code, report } = await verifyJson(
        ['token', '--token', 'r-time.tsr', '--data', 'doc.txt', ...anchor()],
        cwd,
      );
      expect(code).toBe(1);
      expect(failedChecks(report)).toEqual(['token.message-digest']);
      // The signed attributes are untouched: the signature itself still verifies.
      expect(statusOf(report, 'token.signature')).toBe('pass');
    });

    it('with the last byte of the signature flipped fails token.signature', async () => {
      const token = withAlteredSignature(new Uint8Array(readFileSync(path('r.tsr'))));
      writeFileSync(path('r-sig.tsr'), token);
      const { code, report } = await verifyJson(
        ['token', '--token', 'r-sig.tsr', '--data', 'doc.txt', ...anchor()],
        cwd,
      );
      expect(code).toBe(1);
      expect(failedChecks(report)).toEqual(['token.signature']);
    });

    it('anchored at another root fails path.build', async () => {
      const other = await createTestCa();
      writeFileSync(path('other-root.pem'), encodePem('CERTIFICATE', other.root));
      const { code, report } = await verifyJson(
        ['token', '--token', 'r.tsr', '--data', 'doc.txt', '--anchor', 'other-root.pem'],
        cwd,
      );
      expect(code).toBe(1);
      expect(failedChecks(report)).toContain('path.build');
      expect(report.anchor).toBeUndefined();
    });

    it('answering another query (another nonce) fails token.request', async () => {
      const { code, report } = await verifyJson([...good(), '--request', 'q2.tsq'], cwd);
      expect(code).toBe(1);
      expect(failedChecks(report)).toEqual(['token.request']);
      expect(detailOf(report, 'token.request')).toBe('nonce differs');
    });
  });

  describe('evidence that does not prove where the signing key lives (exit 2)', () => {
    it('evidence for another key of the partition fails evidence:key.binding', async () => {
      const { code, report } = await verifyJson(
        [...good(), '--evidence', 'k1-evidence.pem', '--allow-software'],
        cwd,
      );
      expect(code).toBe(2);
      expect(report.outcome).toBe('policy-failed');
      expect(failedChecks(report)).toContain('evidence:key.binding');
      expect(failedChecks(report)).toContain('token.key-in-hsm');
      // The token itself is fine; only the claim about its key fails.
      expect(
        failedChecks(report).every((id) => id.startsWith('evidence:') || id === 'token.key-in-hsm'),
      ).toBe(true);
    });

    it('evidence for an extractable key fails the binding and the never-extractable policy', async () => {
      const token = await verifyJson(
        [...good(), '--evidence', 'x1-evidence.pem', '--allow-software'],
        cwd,
      );
      expect(token.code).toBe(2);
      expect(failedChecks(token.report)).toEqual(
        expect.arrayContaining([
          'evidence:key.binding',
          'evidence:policy.attributes',
          'token.key-in-hsm',
        ]),
      );
      // The requirement the token check applies, on the extractable key itself.
      const evidence = await verifyJson(
        [
          'evidence',
          'x1-evidence.pem',
          ...anchor(),
          '--allow-software',
          '--require',
          'extractable=false,never-extractable=true,local=true',
        ],
        cwd,
      );
      expect(evidence.code).toBe(2);
      expect(failedChecks(evidence.report)).toEqual(['policy.attributes']);
      expect(detailOf(evidence.report, 'policy.attributes')).toMatch(
        /extractable is true, required false.*never-extractable is false, required true/,
      );
    });
  });

  describe('tokens from signers the TSA would not use', () => {
    let ca: TestCa;

    beforeAll(async () => {
      ca = await createTestCa();
      writeFileSync(path('test-root.pem'), encodePem('CERTIFICATE', ca.root));
    });

    async function verifyBuilt(name: string, token: Uint8Array, extra: string[] = []) {
      writeFileSync(path(name), token);
      return verifyJson(
        ['token', '--token', name, '--data', 'doc.txt', '--anchor', 'test-root.pem', ...extra],
        cwd,
      );
    }

    it('a token from the same template over the test CA verifies (the baseline)', async () => {
      const signer = await ca.issueTsa();
      const { code, report } = await verifyBuilt(
        'built-good.tsr',
        await stampWith(signer, { data: readFileSync(path('doc.txt')) }),
      );
      expect(failedChecks(report)).toEqual([]);
      expect(code).toBe(0);
    });

    it('a wrong ESSCertIDv2 certificate hash fails token.ess-cert-id (exit 1)', async () => {
      const signer = await ca.issueTsa();
      const { code, report } = await verifyBuilt(
        'built-ess.tsr',
        await stampWith(signer, { data: readFileSync(path('doc.txt')), wrongEssCertId: true }),
      );
      expect(code).toBe(1);
      expect(failedChecks(report)).toEqual(['token.ess-cert-id']);
      expect(statusOf(report, 'token.signature')).toBe('pass');
    });

    it('a signer certificate whose timeStamping EKU is not critical fails token.signer-eku (exit 1)', async () => {
      const signer = await ca.issueTsa({ ekuCritical: false });
      const { code, report } = await verifyBuilt(
        'built-eku.tsr',
        await stampWith(signer, { data: readFileSync(path('doc.txt')) }),
      );
      expect(code).toBe(1);
      expect(failedChecks(report)).toEqual(['token.signer-eku']);
    });

    it('a TSA certificate expired today is checked at genTime; --at after it expired fails', async () => {
      const signer = await ca.issueTsa({
        notBefore: new Date(Date.now() - 3 * 86_400_000),
        notAfter: new Date(Date.now() - 86_400_000),
      });
      // genTime two days ago, when the certificate was valid.
      const genTime = new Date(Date.now() - 2 * 86_400_000)
        .toISOString()
        .replace(/[-:T]/g, '')
        .replace(/\.\d{3}Z$/, 'Z');
      const token = await stampWith(signer, { data: readFileSync(path('doc.txt')), genTime });
      const atGenTime = await verifyBuilt('built-expired.tsr', token);
      expect(failedChecks(atGenTime.report)).toEqual([]);
      expect(atGenTime.code).toBe(0);
      expect(detailOf(atGenTime.report, 'path.validity')).toContain(
        `${genTime.slice(0, 4)}-${genTime.slice(4, 6)}-${genTime.slice(6, 8)}T`,
      );

      const now = await verifyBuilt('built-expired.tsr', token, ['--at', new Date().toISOString()]);
      expect(now.code).toBe(1);
      expect(failedChecks(now.report)).toEqual(['path.validity']);

      const beyondRoot = new Date(ca.rootNotAfter.getTime() + 86_400_000).toISOString();
      const late = await verifyBuilt('built-expired.tsr', token, ['--at', beyondRoot]);
      expect(late.code).toBe(1);
      expect(failedChecks(late.report)).toEqual(['path.validity']);
    });
  });

  describe('GET evidence.pem?nonce=', () => {
    it('answers fresh evidence carrying the nonce, which verifies with --nonce', async () => {
      const nonce = randomBytes(16).toString('hex');
      const r = await get(`evidence.pem?nonce=${nonce}`);
      expect(r.status).toBe(200);
      writeFileSync(path('fresh.pem'), await r.text());
      const base = ['evidence', 'fresh.pem', ...anchor(), '--allow-software'];
      const [fresh, stale] = await Promise.all([
        verifyJson([...base, '--nonce', nonce], cwd),
        verifyJson([...base, '--nonce', randomBytes(16).toString('hex')], cwd),
      ]);
      expect(failedChecks(fresh.report)).toEqual([]);
      expect(fresh.code).toBe(0);
      expect(statusOf(fresh.report, 'freshness.nonce')).toBe('pass');
      expect(stale.code).toBe(2);
      expect(failedChecks(stale.report)).toEqual(['freshness.nonce']);

      // Fresh evidence also serves as the token's evidence.
      const token = await verifyJson(
        [...good(), '--evidence', 'fresh.pem', '--allow-software'],
        cwd,
      );
      expect(failedChecks(token.report)).toEqual([]);
      expect(token.code).toBe(0);
    });

    it('refuses a nonce that is not hex with 400', async () => {
      for (const query of ['nonce=xyz', 'nonce=', 'nonce=abc']) {
        const r = await get(`evidence.pem?${query}`);
        expect(r.status, query).toBe(400);
        expect(await r.text()).toMatch(/hex/);
      }
    });

    it('rate-limits a burst of fresh requests with 429 and Retry-After, then answers again', async () => {
      const burst = await Promise.all(
        Array.from({ length: 30 }, () =>
          get(`evidence.pem?nonce=${randomBytes(8).toString('hex')}`).then(async (r) => ({
            status: r.status,
            retryAfter: r.headers.get('retry-after'),
            body: await r.text(),
          })),
        ),
      );
      const limited = burst.filter((r) => r.status === 429);
      expect(limited.length).toBeGreaterThan(0);
      expect(burst.filter((r) => r.status === 200).length).toBeGreaterThan(0);
      expect(burst.every((r) => r.status === 200 || r.status === 429)).toBe(true);
      const retryAfter = Number(limited[0]!.retryAfter);
      expect(Number.isInteger(retryAfter) && retryAfter > 0).toBe(true);
      // The cached evidence is not limited.
      expect((await get('evidence.pem')).status).toBe(200);

      await new Promise((done) => setTimeout(done, retryAfter * 1000 + 200));
      const again = await get(`evidence.pem?nonce=${randomBytes(8).toString('hex')}`);
      expect(again.status).toBe(200);
      expect(await again.text()).toMatch(/^-----BEGIN EVIDENCE-----/);
    });
  });
});

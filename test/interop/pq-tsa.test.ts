// A post-quantum time-stamping unit (`partition create --timestamp-algorithm ml-dsa-65`, served
// as `--unit pq:/pq` beside the classical unit): tokens per RFC 9882 (pure ML-DSA over the DER of
// the signed attributes, SHA-512 digest, parameters absent, CMSAlgorithmProtection,
// ESSCertIDv2) under the post-quantum policy ARC.6.2, checked here with @noble/post-quantum alone
// and by attestamp-verify offline, with the key's evidence; `openssl ts` (3.0, no ML-DSA) reads
// the reply and fails to verify it cleanly, while it verifies the classical unit's tokens.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodePem,
  id_aa_CMSAlgorithmProtection,
  id_aa_signingCertificateV2,
  id_ml_dsa_65,
  id_sha512,
  id_tsaPolicyBaseline,
  id_tsaPolicyPostQuantum,
  parseCertificateFields,
} from '../../src/pki/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';
import { post, startTsa, type RunningTsa } from '../helpers/tsa.js';
import { decodeResponse } from '../helpers/tsq.js';
import { runVerify } from '../helpers/verify.js';

interface Run {
  readonly code: number;
  readonly out: string;
}

function openssl(args: readonly string[], cwd: string): Run {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

const skip = requireTool('openssl');

describe.skipIf(skip)('a post-quantum time-stamping unit', () => {
  let cwd: string;
  let tsa: RunningTsa;
  let createWarning: string;
  let counter = 0;
  const file = (stem: string): string => join(cwd, `${stem}-${++counter}`);

  beforeAll(async () => {
    cwd = tempDir();
    expect(runCli(['init'], { cwd }).code).toBe(0);
    const created = runCli(['partition', 'create', 'pq', '--timestamp-algorithm', 'ml-dsa-65'], {
      cwd,
    });
    expect(created.code, created.stderr).toBe(0);
    createWarning = created.stderr;
    for (const p of ['default', 'pq']) {
      expect(runCli(['chain', p, '--out', join(cwd, p)], { cwd }).code).toBe(0);
    }
    writeFileSync(join(cwd, 'doc.txt'), 'a document to time-stamp\n');
    tsa = await startTsa(cwd, ['serve', '--port', '0', '--unit', 'default:/', '--unit', 'pq:/pq']);
  }, 120_000);

  afterAll(async () => {
    await tsa.stop();
  });

  /** openssl ts -query, POST, reply written; returns the file names and the reply. */
  async function stamp(path: string, args: readonly string[] = []) {
    const query = file('q.tsq');
    const made = openssl(
      ['ts', '-query', '-data', 'doc.txt', '-sha256', '-cert', ...args, '-out', query],
      cwd,
    );
    expect(made.code, made.out).toBe(0);
    const r = await post(new URL(path, tsa.url).href, readFileSync(query));
    expect(r.status).toBe(200);
    const reply = file('r.tsr');
    writeFileSync(reply, r.body);
    return { query, reply, body: r.body };
  }

  it('warns at creation and at start-up that openssl ts cannot verify its tokens', () => {
    expect(createWarning).toMatch(
      /^warning: ml-dsa-65 time-stamp tokens cannot be verified with 'openssl ts -verify' \(OpenSSL has no ML-DSA before 3\.5/,
    );
    expect(createWarning).toContain('policy defaults to the post-quantum ARC.6.2');
    const lines = tsa
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const ready = lines.filter((l) => l.message === 'time-stamping unit ready');
    expect(ready.map((l) => [l.unit, l.path, l.policy, l.algorithm])).toEqual([
      ['default', '/', id_tsaPolicyBaseline, 'ecdsa-p256'],
      ['pq', '/pq', id_tsaPolicyPostQuantum, 'ml-dsa-65'],
    ]);
    expect(lines.some((l) => l.level === 'warn' && l.unit === 'pq')).toBe(true);
  });

  it('issues RFC 9882 tokens that verify over the signed attributes with noble alone', async () => {
    const { body } = await stamp('/pq');
    const decoded = decodeResponse(body);
    expect(decoded.status).toBe(0);
    const token = decoded.token!;
    expect(token.tstInfo.policy).toBe(id_tsaPolicyPostQuantum);
    // RFC 9882 3.3: SHA-512, parameters absent; RFC 9881 3: id-ml-dsa-65, parameters absent.
    expect(token.signerInfo.digestAlgorithm.algorithmId).toBe(id_sha512);
    expect(token.signerInfo.digestAlgorithm.algorithmParams).toBeUndefined();
    expect(token.signerInfo.signatureAlgorithm.algorithmId).toBe(id_ml_dsa_65);
    expect(token.signerInfo.signatureAlgorithm.algorithmParams).toBeUndefined();
    expect(token.signedData.digestAlgorithms.map((a) => a.algorithmId)).toEqual([id_sha512]);
    const types = token.signerInfo.signedAttrs!.attributes.map((a) => a.type);
    expect(types).toContain(id_aa_CMSAlgorithmProtection);
    expect(types).toContain(id_aa_signingCertificateV2);
    // messageDigest is SHA-512 of the TSTInfo.
    const digest = token.signerInfo.signedAttrs!.attributes.find(
      (a) => a.type === '1.2.840.113549.1.9.4',
    )!;
    const octets = new Uint8Array(
      (digest.values[0] as { valueBlock: { valueHexView: Uint8Array } }).valueBlock.valueHexView,
    );
    expect(Buffer.from(octets)).toEqual(createHash('sha512').update(token.tstInfoDer).digest());
    // The signature: pure ML-DSA-65, empty context, over DER(signedAttrs) (RFC 9882 3.2).
    const certificate = decodePem(
      readFileSync(join(cwd, 'pq', 'partition-timestamp.pem'), 'utf8'),
      'CERTIFICATE',
    );
    const spki = parseCertificateFields(certificate).spki;
    const publicKey = spki.subarray(spki.length - 1952);
    expect(token.signature).toHaveLength(3309);
    expect(ml_dsa65.verify(token.signature, token.signedAttrsDer, publicKey)).toBe(true);
    const tampered = token.signedAttrsDer.slice();
    tampered[tampered.length - 1]! ^= 1;
    expect(ml_dsa65.verify(token.signature, tampered, publicKey)).toBe(false);
  });

  it('attestamp-verify checks the token offline, with the evidence for its key', async () => {
    const { query, reply } = await stamp('/pq');
    const evidence = await fetch(new URL('/pq/evidence.pem', tsa.url));
    expect(evidence.status).toBe(200);
    writeFileSync(join(cwd, 'pq-evidence.pem'), Buffer.from(await evidence.arrayBuffer()));
    const args = [
      'token',
      '--token',
      reply,
      '--data',
      'doc.txt',
      '--request',
      query,
      '--anchor',
      join('pq', 'root.pem'),
      '--evidence',
      'pq-evidence.pem',
      '--allow-software',
      '--json',
    ];
    const r = runVerify(args, { cwd });
    expect(r.code, r.stdout).toBe(0);
    const report = JSON.parse(r.stdout) as {
      outcome: string;
      checks: { id: string; status: string; detail: string }[];
    };
    expect(report.outcome).toBe('verified');
    const status = (id: string) => report.checks.find((c) => c.id === id)?.status;
    for (const id of [
      'token.signature',
      'token.message-digest',
      'token.ess-cert-id',
      'token.algorithm-protection',
      'token.request',
      'token.key-in-hsm',
    ]) {
      expect(status(id), id).toBe('pass');
    }
    expect(
      report.checks.find((c) => c.id === 'token.property.signature-algorithm')?.detail,
    ).toMatch(/ML-DSA-65/);
    // Other data: the imprint check fails, exit 1.
    writeFileSync(join(cwd, 'other.txt'), 'another document\n');
    const other = runVerify(
      args
        .map((a) => (a === 'doc.txt' ? 'other.txt' : a))
        .filter((a) => a !== '--request' && a !== query),
      { cwd },
    );
    expect(other.code).toBe(1);
  });

  it('a request for the post-quantum policy at / is served by the post-quantum unit', async () => {
    const { body } = await stamp('/', ['-tspolicy', id_tsaPolicyPostQuantum]);
    const token = decodeResponse(body).token!;
    expect(token.tstInfo.policy).toBe(id_tsaPolicyPostQuantum);
    expect(token.signerInfo.signatureAlgorithm.algorithmId).toBe(id_ml_dsa_65);
    const classic = decodeResponse((await stamp('/')).body).token!;
    expect(classic.tstInfo.policy).toBe(id_tsaPolicyBaseline);
  });

  it('openssl ts reads the reply but cannot verify it, and fails cleanly; the classical unit verifies', async () => {
    const { reply } = await stamp('/pq');
    const text = openssl(['ts', '-reply', '-in', reply, '-text'], cwd);
    expect(text.code, text.out).toBe(0);
    expect(text.out).toContain(`Policy OID: ${id_tsaPolicyPostQuantum}`);
    const verify = (r: string, unit: string): Run =>
      openssl(
        [
          'ts',
          '-verify',
          '-data',
          'doc.txt',
          '-in',
          r,
          '-CAfile',
          join(unit, 'root.pem'),
          '-untrusted',
          join(unit, 'bundle.pem'),
        ],
        cwd,
      );
    const pq = verify(reply, 'pq');
    // An ordinary failure (exit 1), not a crash, and never an OK.
    expect(pq.code).toBe(1);
    expect(pq.out).toContain('Verification: FAILED');
    expect(pq.out).not.toContain('Verification: OK');
    const classic = verify((await stamp('/')).reply, 'default');
    expect(classic.code, classic.out).toBe(0);
    expect(classic.out).toContain('Verification: OK');
  });
});

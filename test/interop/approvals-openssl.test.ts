// Approver signatures made by plain OpenSSL over the bytes to be approved (P-256 and RSA-PSS
// with `openssl dgst -sha256 -sign`, Ed25519 and P-256 with `openssl pkeyutl -sign -rawin`),
// checked by the HSM's verifier; and the statement's canonical bytes (RFC 8785).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  approvalBytes,
  enrollmentBytes,
  type RequestStatement,
} from '../../src/hsm/governance/statement.js';
import { approverKey, verifyApproverSignature } from '../../src/hsm/mechanisms/approver.js';
import { decodePem } from '../../src/pki/index.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';

function openssl(args: readonly string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

const statement: RequestStatement = {
  type: 'attestamp.approval-request',
  version: 1,
  id: 'req-1',
  device: 'dev-1',
  scope: 'partition:p1',
  operation: 'key.export',
  params: { key: 'k1', wrap: 'aes-kwp', note: 'caf\u00e9 \u20ac' },
  target: 'key:k1',
  requester: 'ann',
  rules: [{ scope: 'partition:p1', operation: 'key.export', version: 3, digest: 'ab'.repeat(32) }],
  createdAt: '2026-12-01T00:00:00.000Z',
  notBefore: '2026-12-01T00:00:00.000Z',
  expiresAt: '2026-12-01T01:00:00.000Z',
  nonce: '00'.repeat(16),
  auditHead: { seq: 42, hash: 'cd'.repeat(32) },
};

const skip = requireTool('openssl');

describe('approval bytes', () => {
  it('are the prefix and the RFC 8785 canonical JSON (sorted names, no spaces, UTF-8)', () => {
    const bytes = Buffer.from(approvalBytes(statement, 'approve', { principal: 'bob', key: 'ff' }));
    const text = bytes.toString('utf8');
    expect(
      text.startsWith('attestamp approval v1\0{"approver":{"key":"ff","principal":"bob"},'),
    ).toBe(true);
    expect(text).toContain('"decision":"approve","statement":{"auditHead":{"hash":');
    expect(text).toContain('"note":"café €"');
    expect(text).not.toMatch(/\s"|":\s/);
  });
});

describe.skipIf(skip)('approver signatures made with openssl', () => {
  let cwd: string;
  beforeAll(() => {
    cwd = tempDir('approvals-openssl');
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'p256.pem'], cwd);
    openssl(['genpkey', '-algorithm', 'ed25519', '-out', 'ed.pem'], cwd);
    openssl(
      ['genpkey', '-algorithm', 'rsa', '-pkeyopt', 'rsa_keygen_bits:3072', '-out', 'rsa.pem'],
      cwd,
    );
    openssl(
      ['genpkey', '-algorithm', 'rsa', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'rsa2k.pem'],
      cwd,
    );
    openssl(['ecparam', '-name', 'secp384r1', '-genkey', '-noout', '-out', 'p384.pem'], cwd);
    for (const k of ['p256', 'ed', 'rsa', 'rsa2k', 'p384']) {
      openssl(['pkey', '-in', `${k}.pem`, '-pubout', '-out', `${k}.pub.pem`], cwd);
    }
  }, 120_000);

  const spki = (name: string): Uint8Array =>
    decodePem(readFileSync(join(cwd, `${name}.pub.pem`), 'utf8'), 'PUBLIC KEY');

  const cases: readonly [string, string, readonly string[]][] = [
    ['P-256, openssl dgst -sha256 -sign', 'p256', ['dgst', '-sha256', '-sign', 'p256.pem']],
    [
      'P-256, openssl pkeyutl -sign -rawin -digest sha256',
      'p256',
      ['pkeyutl', '-sign', '-rawin', '-digest', 'sha256', '-inkey', 'p256.pem'],
    ],
    [
      'Ed25519, openssl pkeyutl -sign -rawin',
      'ed',
      ['pkeyutl', '-sign', '-rawin', '-inkey', 'ed.pem'],
    ],
    [
      'RSA-PSS 3072, salt = digest length',
      'rsa',
      [
        'dgst',
        '-sha256',
        '-sigopt',
        'rsa_padding_mode:pss',
        '-sigopt',
        'rsa_pss_saltlen:digest',
        '-sign',
        'rsa.pem',
      ],
    ],
    [
      'RSA-PSS 3072, OpenSSL default (maximum) salt',
      'rsa',
      ['dgst', '-sha256', '-sigopt', 'rsa_padding_mode:pss', '-sign', 'rsa.pem'],
    ],
  ];

  it.each(cases)('accepts %s, and refuses it for another decision or request', (_n, key, args) => {
    const info = approverKey(spki(key));
    const tbs = approvalBytes(statement, 'approve', { principal: 'bob', key: info.fingerprint });
    const tbsFile = join(cwd, `tbs-${key}-${args[0]}`);
    writeFileSync(tbsFile, tbs);
    const input = args[0] === 'dgst' ? [tbsFile] : ['-in', tbsFile];
    openssl([...args, '-out', `${tbsFile}.sig`, ...input], cwd);
    const sig = readFileSync(`${tbsFile}.sig`);
    expect(verifyApproverSignature(info.spki, tbs, sig)).toBe(true);
    const rejectBytes = approvalBytes(statement, 'reject', {
      principal: 'bob',
      key: info.fingerprint,
    });
    expect(verifyApproverSignature(info.spki, rejectBytes, sig)).toBe(false);
    const other = approvalBytes({ ...statement, id: 'req-2' }, 'approve', {
      principal: 'bob',
      key: info.fingerprint,
    });
    expect(verifyApproverSignature(info.spki, other, sig)).toBe(false);
  });

  it('names the scheme of each supported key and refuses the others', () => {
    expect(approverKey(spki('p256')).algorithm).toBe('ecdsa-p256-sha256');
    expect(approverKey(spki('ed')).algorithm).toBe('ed25519');
    expect(approverKey(spki('rsa')).algorithm).toBe('rsa-pss-sha256');
    for (const k of ['rsa2k', 'p384']) {
      expect(() => approverKey(spki(k))).toThrow(
        expect.objectContaining({ code: 'algorithm-unsupported' }),
      );
    }
  });

  it('refuses an RSA PKCS#1 v1.5 signature from an RSA approver key', () => {
    const info = approverKey(spki('rsa'));
    const tbs = enrollmentBytes('dev-1', 'bob', info.fingerprint);
    writeFileSync(join(cwd, 'enroll.bin'), tbs);
    openssl(['dgst', '-sha256', '-sign', 'rsa.pem', '-out', 'enroll.sig', 'enroll.bin'], cwd);
    expect(verifyApproverSignature(info.spki, tbs, readFileSync(join(cwd, 'enroll.sig')))).toBe(
      false,
    );
  });
});

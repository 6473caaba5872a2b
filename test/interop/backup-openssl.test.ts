// A partition backup bundle read by tools that know nothing of attestamp: OpenSSL parses the
// whole CMS structure (SignedData over AuthEnvelopedData) and verifies the SignedData with the
// root as its only trust anchor (on a P-256 partition attestation key, the classical chain);
// the offline verifier (inspectBackup) checks the same bundle and refuses a flipped byte.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { inspectBackup } from '../../src/attestation/index.js';
import { createFactory, Hsm } from '../../src/hsm/index.js';
import { parseBackupBundle, encodePem } from '../../src/pki/index.js';
import { systemClock } from '../../src/shared/index.js';
import { OFFICER } from '../helpers/hsm.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';

const skip = requireTool('openssl');

describe('partition backup bundles', () => {
  let dir: string;
  let bundle: Uint8Array;
  let root: Uint8Array;

  beforeAll(async () => {
    dir = tempDir();
    const factory = await createFactory(join(dir, 'factory'), {
      development: true,
      clock: systemClock,
    });
    const hsm = await Hsm.init({
      path: join(dir, 'a.sqlite'),
      masterKey: { kind: 'key', key: randomBytes(32) },
      factory,
      officer: OFFICER,
      defaultPartition: null,
    });
    try {
      await hsm.createPartition('p256', { attestationAlgorithm: 'ecdsa-p256' });
      await hsm.generateKey('p256', { label: 'k', algorithm: 'ecdsa-p256' });
      await hsm.createBackupDomain('vault');
      bundle = (await hsm.backupPartition('p256', { domain: 'vault' })).bundle;
      root = (await hsm.device()).rootCertificate;
    } finally {
      await hsm.close();
    }
    writeFileSync(join(dir, 'bundle.der'), bundle);
    writeFileSync(join(dir, 'root.pem'), encodePem('CERTIFICATE', root));
  }, 60_000);

  it('the offline verifier checks signature, chain and manifest without decrypting', async () => {
    const report = await inspectBackup(bundle, { anchors: { certificates: [root] } });
    expect(report.outcome).toBe('verified');
    const ids = report.checks.map((c) => `${c.id}:${c.status}`);
    expect(ids).toEqual(
      expect.arrayContaining([
        'backup.structure:pass',
        'backup.signature:pass',
        'backup.manifest:pass',
        'backup.source:pass',
      ]),
    );
    const manifest = report.claims['manifest'] as { serial: number; keys: { label: string }[] };
    expect(manifest.serial).toBe(1);
    expect(manifest.keys.map((k) => k.label)).toContain('k');
    // No key material in the report: the records stay encrypted.
    const p = parseBackupBundle(bundle);
    expect(JSON.stringify(report)).not.toContain(Buffer.from(p.ciphertext).toString('hex'));
  });

  it('the offline verifier refuses another root and a flipped byte in the manifest', async () => {
    const other = await createFactory(join(dir, 'other'), {
      development: true,
      clock: systemClock,
    });
    const wrongRoot = await inspectBackup(bundle, {
      anchors: { certificates: [other.rootCertificate] },
    });
    expect(wrongRoot.outcome).not.toBe('verified');
    const p = parseBackupBundle(bundle);
    // Inside a public key's hex: the manifest stays JSON, only the signature tells.
    const at =
      Buffer.from(bundle).indexOf(Buffer.from(p.manifest)) +
      Buffer.from(p.manifest).indexOf('"public":"') +
      40;
    const copy = Uint8Array.from(bundle);
    copy[at]! ^= 0x01;
    const flipped = await inspectBackup(copy, { anchors: { certificates: [root] } });
    expect(flipped.outcome).toBe('failed');
    expect(flipped.checks.find((c) => c.id === 'backup.signature')?.status).toBe('fail');
  });

  it.skipIf(skip)('openssl cms parses the whole structure', () => {
    const text = execFileSync(
      'openssl',
      ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', join(dir, 'bundle.der')],
      { encoding: 'utf8' },
    );
    expect(text).toMatch(/contentType: pkcs7-signedData/);
    expect(text).toMatch(/eContentType: id-smime-ct-authEnvelopedData/);
    expect(text).toMatch(/ecdsa-with-SHA256/);
  });

  it.skipIf(skip)('openssl cms verifies the SignedData against the root', () => {
    const out = join(dir, 'content.der');
    const r = spawnSync(
      'openssl',
      [
        'cms',
        '-verify',
        '-inform',
        'DER',
        '-in',
        join(dir, 'bundle.der'),
        '-CAfile',
        join(dir, 'root.pem'),
        '-purpose',
        'any',
        '-binary',
        '-out',
        out,
      ],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toMatch(/Verification successful/);
    expect(r.status).toBe(0);
    // The content it hands out is the AuthEnvelopedData, byte for byte.
    const p = parseBackupBundle(bundle);
    expect(Buffer.from(execFileSync('cat', [out]))).toEqual(Buffer.from(p.content));
    // A flipped signature byte: openssl refuses too.
    const copy = Uint8Array.from(bundle);
    copy[Buffer.from(bundle).indexOf(Buffer.from(p.signer.signature)) + 8]! ^= 0x01;
    writeFileSync(join(dir, 'bad.der'), copy);
    const bad = spawnSync(
      'openssl',
      [
        'cms',
        '-verify',
        '-inform',
        'DER',
        '-in',
        join(dir, 'bad.der'),
        '-CAfile',
        join(dir, 'root.pem'),
        '-purpose',
        'any',
        '-binary',
        '-out',
        '/dev/null',
      ],
      { encoding: 'utf8' },
    );
    expect(bad.status).not.toBe(0);
  });
});

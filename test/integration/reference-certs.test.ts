// The committed reference device in certs/: fingerprints in its README match the files, the
// chains verify with openssl, and the test-only store opens and signs with the certified keys.
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Hsm } from '../../src/hsm/index.js';
import { decodePem, parseCertificateFields } from '../../src/pki/index.js';
import { tempDir } from '../helpers/tmp.js';

const CERTS = resolve(import.meta.dirname, '../../certs');

function der(path: string): Uint8Array {
  return decodePem(readFileSync(join(CERTS, path), 'utf8'), 'CERTIFICATE');
}

describe('reference device in certs/', () => {
  it('README lists the SHA-256 of every certificate file, and they match', () => {
    const readme = readFileSync(join(CERTS, 'README.md'), 'utf8');
    const rows = [...readme.matchAll(/\| `(reference\/[^`]+\.pem)` \| `([0-9a-f]{64})` \|/g)];
    expect(rows.length).toBe(8);
    for (const [, file, fp] of rows) {
      expect(createHash('sha256').update(der(file!)).digest('hex'), file).toBe(fp);
    }
  });

  it('both partition chains verify with openssl against the root', () => {
    for (const p of ['default', 'rsa']) {
      const dir = join(CERTS, 'reference', p);
      const out = execFileSync(
        'openssl',
        [
          'verify',
          '-CAfile',
          join(dir, 'root.pem'),
          '-untrusted',
          join(dir, 'device.pem'),
          join(dir, 'partition-timestamp.pem'),
          join(dir, 'partition-attestation.pem'),
        ],
        { encoding: 'utf8' },
      );
      expect(out.match(/: OK/g)).toHaveLength(2);
    }
  });

  it('the test-only store opens and its timestamp keys match the published certificates', async () => {
    const dir = tempDir();
    const store = join(dir, 'attestamp.sqlite');
    copyFileSync(join(CERTS, 'reference/test-only/device/attestamp.sqlite'), store);
    const key = Buffer.from(
      readFileSync(join(CERTS, 'reference/test-only/device/master.key'), 'utf8').trim(),
      'hex',
    );
    const hsm = await Hsm.open(store, { kind: 'key', key });
    expect((await hsm.verifyAudit()).ok).toBe(true);
    for (const p of ['default', 'rsa']) {
      const signer = await hsm.timestampSigner(p);
      const cert = parseCertificateFields(der(`reference/${p}/partition-timestamp.pem`));
      expect(Buffer.from(cert.spki)).toEqual(Buffer.from(signer.spki));
      const data = randomBytes(32);
      const sig = await signer.sign(data);
      const pub = createPublicKey({ key: Buffer.from(signer.spki), format: 'der', type: 'spki' });
      expect(verify('sha256', data, { key: pub, dsaEncoding: 'der' }, sig)).toBe(true);
    }
    expect((await hsm.timestampSigner('rsa')).algorithm).toBe('rsa-3072');
    expect((await hsm.device()).development).toBe(true);
    await hsm.close();
  });
});

// The factory folder: root key (0600, optionally encrypted), root certificate and manifest;
// opening it; and device certificates issued by its root.
import { createHash, generateKeyPairSync, sign as nodeSign, X509Certificate } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createFactory, FACTORY_FILES, Hsm, openFactory } from '../../../src/hsm/index.js';
import type { Factory } from '../../../src/hsm/index.js';
import { buildCsr, decodePem, encodeName } from '../../../src/pki/index.js';
import { fixedClock } from '../../../src/shared/index.js';
import { OFFICER } from '../../helpers/hsm.js';
import { tempDir } from '../../helpers/tmp.js';
import { expectHsmError, expectHsmRejection, opensslVerify } from './support.js';

const NOW = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
const clock = fixedClock(NOW);
const PASSPHRASE = 'factory root passphrase';

function masterKey(): { kind: 'key'; key: Uint8Array } {
  return { kind: 'key', key: new Uint8Array(32).fill(7) };
}

describe('factory', () => {
  let dir: string;
  let plainDir: string;
  let encDir: string;
  let plain: Factory;
  let other: Factory;

  beforeAll(async () => {
    dir = tempDir();
    plainDir = join(dir, 'plain');
    encDir = join(dir, 'enc');
    [plain, other] = await Promise.all([
      createFactory(plainDir, { clock, organization: 'Example', country: 'DE' }),
      createFactory(join(dir, 'other'), { clock, development: true }),
      createFactory(encDir, { clock, passphrase: PASSPHRASE, development: true }),
    ]);
  });

  it('writes root-key.pem with mode 0600, root.pem and factory.json', () => {
    for (const d of [plainDir, encDir]) {
      const keyMode = statSync(join(d, FACTORY_FILES.key)).mode & 0o777;
      expect(keyMode).toBe(0o600);
      expect(statSync(d).mode & 0o077).toBe(0);
      expect(existsSync(join(d, FACTORY_FILES.certificate))).toBe(true);
      expect(existsSync(join(d, FACTORY_FILES.manifest))).toBe(true);
    }
    expect(FACTORY_FILES).toEqual({
      key: 'root-key.pem',
      certificate: 'root.pem',
      manifest: 'factory.json',
    });

    const der = decodePem(readFileSync(join(plainDir, 'root.pem'), 'utf8'), 'CERTIFICATE');
    expect(der).toEqual(plain.rootCertificate);
    const sha = createHash('sha256').update(der).digest('hex');
    expect(plain.rootSha256).toBe(sha);

    const manifest = JSON.parse(readFileSync(join(plainDir, 'factory.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(manifest).toEqual({
      format: 'attestamp-factory/1',
      label: 'factory',
      development: false,
      algorithm: 'ecdsa-p384',
      organization: 'Example',
      country: 'DE',
      createdAt: NOW.toISOString(),
      rootSha256: sha,
      encrypted: false,
    });
    expect(plain).toMatchObject({
      label: 'factory',
      development: false,
      organization: 'Example',
      country: 'DE',
    });
    const encManifest = JSON.parse(readFileSync(join(encDir, 'factory.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(encManifest).toMatchObject({ encrypted: true, development: true });
    expect(encManifest.label).toBe('development factory');
  });

  it('stores the root key in PKCS#8, encrypted when a passphrase is given', () => {
    const plainPem = readFileSync(join(plainDir, 'root-key.pem'), 'utf8');
    expect(plainPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const encPem = readFileSync(join(encDir, 'root-key.pem'), 'utf8');
    expect(encPem).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    expect(encPem).not.toContain(PASSPHRASE);
  });

  it('issues a self-signed root that openssl accepts, with a development name on request', () => {
    expect(opensslVerify(plain.rootCertificate, plain.rootCertificate).ok).toBe(true);
    expect(opensslVerify(other.rootCertificate, plain.rootCertificate).ok).toBe(false);
    const root = new X509Certificate(Buffer.from(plain.rootCertificate));
    expect(root.ca).toBe(true);
    expect(root.subject).toContain('CN=Example Factory Root');
    expect(root.issuer).toBe(root.subject);
    expect(new Date(root.validFrom).getTime()).toBe(NOW.getTime());
    const dev = new X509Certificate(Buffer.from(other.rootCertificate));
    expect(dev.subject).toContain('Development Factory Root (not for production)');
  });

  it('refuses to create over an existing factory', async () => {
    const before = readFileSync(join(plainDir, 'root-key.pem'));
    await expectHsmRejection(createFactory(plainDir, { clock }), 'store-exists');
    expect(readFileSync(join(plainDir, 'root-key.pem'))).toEqual(before);
  });

  it('opens a plain factory; a passphrase is not needed', () => {
    const opened = openFactory(plainDir);
    expect(opened.rootCertificate).toEqual(plain.rootCertificate);
    expect(opened.rootSha256).toBe(plain.rootSha256);
    expect(opened.label).toBe('factory');
  });

  it('opens an encrypted factory only with its passphrase', () => {
    // A missing passphrase is named as missing, not reported as a wrong one.
    expectHsmError(() => openFactory(encDir), 'factory-passphrase-missing');
    expectHsmError(() => openFactory(encDir, 'not it'), 'factory-passphrase-wrong');
    expectHsmError(() => openFactory(encDir, ''), 'factory-passphrase-wrong');
    const opened = openFactory(encDir, PASSPHRASE);
    expect(opened.development).toBe(true);
    expect(opened.label).toBe('development factory');
  });

  it('reports a missing folder or manifest', () => {
    expectHsmError(() => openFactory(join(dir, 'absent')), 'factory-not-found');
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    expectHsmError(() => openFactory(empty), 'factory-not-found');
  });

  it('refuses a broken manifest, a missing file or a root that does not match the key', () => {
    const bad = join(dir, 'bad');
    mkdirSync(bad);
    for (const f of Object.values(FACTORY_FILES)) copyFileSync(join(plainDir, f), join(bad, f));
    expect(openFactory(bad).rootSha256).toBe(plain.rootSha256);

    const manifest = readFileSync(join(bad, 'factory.json'), 'utf8');
    writeFileSync(join(bad, 'factory.json'), manifest.replace('attestamp-factory/1', 'other/9'));
    expectHsmError(() => openFactory(bad), 'factory-invalid');
    writeFileSync(join(bad, 'factory.json'), '{ not json');
    expectHsmError(() => openFactory(bad), 'factory-invalid');
    writeFileSync(join(bad, 'factory.json'), manifest);

    copyFileSync(join(dir, 'other', 'root.pem'), join(bad, 'root.pem'));
    expectHsmError(() => openFactory(bad), 'factory-invalid');
    writeFileSync(join(bad, 'root.pem'), 'not pem');
    expectHsmError(() => openFactory(bad), 'factory-invalid');
  });

  it('certifies a device whose certificate openssl verifies against the root', async () => {
    const factory = openFactory(encDir, PASSPHRASE);
    const hsm = await Hsm.init({
      path: join(dir, 'device.sqlite'),
      masterKey: masterKey(),
      factory,
      officer: OFFICER,
      clock,
    });
    try {
      const device = await hsm.device();
      expect(device.rootCertificate).toEqual(factory.rootCertificate);
      expect(device.factoryLabel).toBe('development factory');
      expect(device.development).toBe(true);
      expect(device.createdAt).toEqual(NOW);

      const ok = opensslVerify(factory.rootCertificate, device.certificate);
      expect(ok.output).toMatch(/: OK\s*$/);
      expect(ok.ok).toBe(true);
      expect(opensslVerify(plain.rootCertificate, device.certificate).ok).toBe(false);

      const cert = new X509Certificate(Buffer.from(device.certificate));
      const root = new X509Certificate(Buffer.from(factory.rootCertificate));
      expect(cert.checkIssued(root)).toBe(true);
      expect(cert.verify(root.publicKey)).toBe(true);
      expect(cert.ca).toBe(true);
      expect(cert.subject).toContain(device.id);
      expect(new Date(cert.validFrom).getTime()).toBe(NOW.getTime());
      // The device certificate names the factory's organisation and country.
      const p = await hsm.device();
      expect([p.organization, p.country]).toEqual([factory.organization, factory.country]);
    } finally {
      await hsm.close();
    }

    const prod = await Hsm.init({
      path: join(dir, 'prod.sqlite'),
      masterKey: masterKey(),
      factory: plain,
      officer: OFFICER,
      clock,
      defaultPartition: null,
    });
    try {
      expect(await prod.device()).toMatchObject({
        factoryLabel: 'factory',
        development: false,
        organization: 'Example',
        country: 'DE',
      });
      expect(await prod.listPartitions()).toEqual([]);
      expect(opensslVerify(plain.rootCertificate, (await prod.device()).certificate).ok).toBe(true);
    } finally {
      await prod.close();
    }
  });

  it('rejects a certification request not signed by the key it names', async () => {
    const claimed = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const actual = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const subject = { commonName: 'attestamp device SWHSM-0000000000000000' };
    const csr = await buildCsr(encodeName(subject), {
      algorithm: 'ecdsa-p384',
      spki: new Uint8Array(claimed.publicKey.export({ type: 'spki', format: 'der' })),
      sign: (tbs) =>
        Promise.resolve(
          new Uint8Array(nodeSign('sha384', tbs, { key: actual.privateKey, dsaEncoding: 'der' })),
        ),
    });
    await expectHsmRejection(
      plain.certifyDevice(
        {
          csr,
          deviceId: 'SWHSM-0000000000000000',
          deviceAlgorithm: 'ecdsa-p384',
          subject,
          validityYears: 1,
        },
        clock,
      ),
      'csr-rejected',
    );
  });
});

// A post-quantum attestation chain: an ML-DSA-87 factory root kept as passphrase-encrypted
// PKCS#8 (PBES2, scrypt, AES-256-CBC: src/hsm/issuing/encrypted-pkcs8.ts), an ML-DSA-65 device
// key, partition keys certified with ML-DSA-65, evidence and key attestation certificates signed
// with ML-DSA-65, all verified by the verifier against the root; the PBES2 reader against
// OpenSSL's own encrypted PKCS#8 and against hostile parameters.
import { execFileSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  inspectAttestationCertificate,
  inspectEvidence,
  verifyChain,
} from '../../../src/attestation/index.js';
import { createFactory, Hsm, openFactory, type Factory } from '../../../src/hsm/index.js';
import { decryptPkcs8, encryptPkcs8 } from '../../../src/hsm/issuing/encrypted-pkcs8.js';
import { decodePqPkcs8 } from '../../../src/hsm/pq/index.js';
import {
  decodePem,
  derReader,
  encodePem,
  parseCertificateFields,
  signatureAlgorithmLabel,
  verifySignature,
} from '../../../src/pki/index.js';
import { systemClock } from '../../../src/shared/index.js';
import { OFFICER } from '../../helpers/hsm.js';
import { tempDir } from '../../helpers/tmp.js';
import { hasTool } from '../../helpers/tools.js';
import { expectHsmError } from './support.js';

const PASSPHRASE = 'post-quantum factory passphrase';
/** A time within every certificate's validity, once they are made (a minute on). */
const soon = (): Date => new Date(Date.now() + 60_000);

describe('PBES2 encrypted PKCS#8 (RFC 8018, RFC 7914)', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pkcs8 = new Uint8Array(ec.privateKey.export({ type: 'pkcs8', format: 'der' }));

  it('round-trips under scrypt and AES-256-CBC, with a fresh salt and IV each time', () => {
    const a = encryptPkcs8(pkcs8, PASSPHRASE);
    const b = encryptPkcs8(pkcs8, PASSPHRASE);
    expect(a).not.toEqual(b);
    expect(decryptPkcs8(a, PASSPHRASE)).toEqual(pkcs8);
    expect(Buffer.from(a).includes(Buffer.from(pkcs8.subarray(-32)))).toBe(false);
  });

  it('a wrong passphrase is factory-passphrase-wrong', () => {
    const encrypted = encryptPkcs8(pkcs8, PASSPHRASE);
    expectHsmError(() => decryptPkcs8(encrypted, 'not it'), 'factory-passphrase-wrong');
  });

  it("reads OpenSSL's own encrypted PKCS#8 (PBKDF2-HMAC-SHA-256, AES-256-CBC)", () => {
    const pem = ec.privateKey.export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: PASSPHRASE,
    });
    expect(decryptPkcs8(decodePem(pem.toString(), 'ENCRYPTED PRIVATE KEY'), PASSPHRASE)).toEqual(
      pkcs8,
    );
  });

  it.skipIf(!hasTool('openssl'))('openssl pkcs8 opens what it writes', () => {
    const dir = tempDir();
    const file = join(dir, 'key.pem');
    writeFileSync(file, encodePem('ENCRYPTED PRIVATE KEY', encryptPkcs8(pkcs8, PASSPHRASE)));
    const out = execFileSync(
      'openssl',
      ['pkey', '-in', file, '-passin', `pass:${PASSPHRASE}`, '-pubout', '-outform', 'DER'],
      { maxBuffer: 1 << 20 },
    );
    expect(new Uint8Array(out)).toEqual(
      new Uint8Array(ec.publicKey.export({ type: 'spki', format: 'der' })),
    );
  });

  it('refuses other schemes and hostile parameters as factory-invalid', () => {
    const encrypted = encryptPkcs8(pkcs8, PASSPHRASE);
    const hex = Buffer.from(encrypted).toString('hex');
    const edit = (from: string, to: string): Uint8Array => {
      expect(hex).toContain(from);
      return new Uint8Array(Buffer.from(hex.replace(from, to), 'hex'));
    };
    // scrypt N = 2^14, r = 8, p = 4: N not a power of two; r = 64, p = 16 (2 GiB of memory).
    for (const bad of [
      edit('02024000020108020104', '02024001020108020104'),
      edit('02024000020108020104', '02024000020140020110'),
    ]) {
      expectHsmError(() => decryptPkcs8(bad, PASSPHRASE), 'factory-invalid');
    }
    // The PBES2 OID changed (…05 0d -> …05 0e), and bytes that are no DER at all.
    expectHsmError(
      () => decryptPkcs8(edit('2a864886f70d01050d', '2a864886f70d01050e'), PASSPHRASE),
      'factory-invalid',
    );
    expectHsmError(() => decryptPkcs8(Uint8Array.of(0x30, 0x03, 1), PASSPHRASE), 'factory-invalid');
    // AES-256-CBC's OID changed to AES-128-CBC (…04 01 2a -> …04 01 02).
    expectHsmError(
      () => decryptPkcs8(edit('060960864801650304012a', '0609608648016503040102'), PASSPHRASE),
      'factory-invalid',
    );
  });
});

describe('a post-quantum factory, device and partition', () => {
  let dir: string;
  let factory: Factory;
  let hsm: Hsm;

  beforeAll(async () => {
    dir = tempDir();
    factory = await createFactory(join(dir, 'factory'), {
      algorithm: 'ml-dsa-87',
      passphrase: PASSPHRASE,
      development: true,
      clock: systemClock,
    });
    hsm = await Hsm.init({
      path: join(dir, 'device.sqlite'),
      masterKey: { kind: 'key', key: new Uint8Array(32).fill(3) },
      factory: openFactory(join(dir, 'factory'), PASSPHRASE),
      deviceAlgorithm: 'ml-dsa-65',
      defaultPartition: null,
      officer: OFFICER,
    });
    await hsm.createPartition('pq', {
      attestationAlgorithm: 'ml-dsa-65',
      timestampAlgorithm: 'ml-dsa-44',
    });
  }, 120_000);

  afterAll(async () => {
    await hsm.close();
  });

  it('keeps the ML-DSA-87 root key as encrypted seed-form PKCS#8 and a self-signed root', async () => {
    const pem = readFileSync(join(dir, 'factory', 'root-key.pem'), 'utf8');
    expect(pem).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    const pkcs8 = decryptPkcs8(decodePem(pem, 'ENCRYPTED PRIVATE KEY'), PASSPHRASE);
    const key = decodePqPkcs8(pkcs8);
    expect([key.algorithm, key.seed?.length, key.expandedKey]).toEqual([
      'ml-dsa-87',
      32,
      undefined,
    ]);
    const manifest = JSON.parse(readFileSync(join(dir, 'factory', 'factory.json'), 'utf8')) as {
      algorithm: string;
      encrypted: boolean;
    };
    expect([manifest.algorithm, manifest.encrypted]).toEqual(['ml-dsa-87', true]);
    const root = parseCertificateFields(factory.rootCertificate);
    expect(signatureAlgorithmLabel(root.signatureAlgorithm)).toBe('ML-DSA-87');
    expect(
      await verifySignature(root.spki, root.signatureAlgorithm, root.tbs, root.signature),
    ).toBe(true);
    // Node 20's OpenSSL cannot read it: the file is ours to write and read.
    expect(() =>
      createPublicKey({ key: Buffer.from(root.spki), format: 'der', type: 'spki' }),
    ).toThrow();
  });

  it('opens only with its passphrase', () => {
    const at = join(dir, 'factory');
    expectHsmError(() => openFactory(at), 'factory-passphrase-missing');
    expectHsmError(() => openFactory(at, 'not it'), 'factory-passphrase-wrong');
    expect(openFactory(at, PASSPHRASE).rootSha256).toBe(factory.rootSha256);
  });

  it('a plain post-quantum factory opens without one; a key file of another key is refused', async () => {
    const plainDir = join(dir, 'plain');
    const plain = await createFactory(plainDir, { algorithm: 'ml-dsa-44', clock: systemClock });
    const pem = readFileSync(join(plainDir, 'root-key.pem'), 'utf8');
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(openFactory(plainDir).rootSha256).toBe(plain.rootSha256);
    // Another ML-DSA-44 key in the file: the root certificate does not name it.
    const otherDir = join(dir, 'other');
    await createFactory(otherDir, { algorithm: 'ml-dsa-44', clock: systemClock });
    writeFileSync(join(plainDir, 'root-key.pem'), readFileSync(join(otherDir, 'root-key.pem')));
    expectHsmError(() => openFactory(plainDir), 'factory-invalid');
    writeFileSync(join(plainDir, 'root-key.pem'), 'no key here\n');
    expectHsmError(() => openFactory(plainDir), 'factory-invalid');
  }, 60_000);

  it('certifies the ML-DSA-65 device and partition keys along a chain the verifier accepts', async () => {
    const device = await hsm.device();
    const signer = await hsm.timestampSigner('pq');
    const [tsa, deviceCert, root] = signer.certificateChain;
    expect(root).toEqual(factory.rootCertificate);
    expect(deviceCert).toEqual(device.certificate);
    const labels = [tsa!, deviceCert!].map((c) =>
      signatureAlgorithmLabel(parseCertificateFields(c).signatureAlgorithm),
    );
    expect(labels).toEqual(['ML-DSA-65', 'ML-DSA-87']);
    const report = await verifyChain([...signer.certificateChain], {
      anchors: { certificates: [factory.rootCertificate] },
      at: soon(),
    });
    expect(report.outcome, JSON.stringify(report.checks)).toBe('verified');
    expect(report.checks.find((c) => c.id === 'path.algorithms')?.status).toBe('pass');
  });

  it('signs evidence and key attestation certificates with ML-DSA-65', async () => {
    const info = await hsm.generateKey('pq', { label: 'app', algorithm: 'ml-dsa-44' });
    const options = {
      anchors: { certificates: [factory.rootCertificate] },
      at: soon(),
      allowSoftware: true,
      expectSpki: info.spki,
      nonce: Uint8Array.of(9, 9),
      require: { 'never-extractable': true, local: true },
    };
    const evidence = await hsm.attestKey('pq', 'app', { nonce: Uint8Array.of(9, 9) });
    const report = await inspectEvidence(evidence, options);
    expect(report.outcome, JSON.stringify(report.checks)).toBe('verified');
    expect(report.checks.find((c) => c.id === 'evidence.signature')?.status).toBe('pass');
    const certificate = await hsm.attestKey('pq', 'app', { format: 'certificate' });
    const chain = (await hsm.attestationSigner('pq')).certificateChain;
    const certReport = await inspectAttestationCertificate([certificate, ...chain], {
      ...options,
      nonce: undefined,
    });
    expect(certReport.outcome, JSON.stringify(certReport.checks)).toBe('verified');
    expect(signatureAlgorithmLabel(parseCertificateFields(certificate).signatureAlgorithm)).toBe(
      'ML-DSA-65',
    );
    // Against another root, the same evidence fails.
    const other = await createFactory(join(dir, 'another'), {
      algorithm: 'ml-dsa-87',
      clock: systemClock,
    });
    const wrongAnchor = await inspectEvidence(evidence, {
      ...options,
      anchors: { certificates: [other.rootCertificate] },
    });
    expect(wrongAnchor.outcome).toBe('failed');
  }, 60_000);

  it('issues a CRL signed with ML-DSA-87 by the factory', async () => {
    const opened = openFactory(join(dir, 'factory'), PASSPHRASE);
    const { crl } = await opened.issueCrl({ nextUpdateDays: 7 }, systemClock);
    const root = parseCertificateFields(factory.rootCertificate);
    // CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue }
    const { childrenOf, readTlv, encodingOf, contentOf } = derReader;
    const [tbs, alg, sig] = childrenOf(crl, readTlv(crl, 0));
    const ok = await verifySignature(
      root.spki,
      encodingOf(crl, alg!),
      encodingOf(crl, tbs!),
      contentOf(crl, sig!).subarray(1),
    );
    expect(ok).toBe(true);
  }, 60_000);
});

// The verifier with post-quantum signatures: certificate chains signed with ML-DSA (RFC 9881)
// and SLH-DSA (RFC 9909), and time-stamp tokens whose SignerInfo is ML-DSA (RFC 9882) or SLH-DSA
// (RFC 9814): pure signatures over the DER of the signed attributes, the digest rules of RFC 9882
// 3.3 and RFC 9814 4, CMSAlgorithmProtection, and tampered or mislabelled signatures refused.
import { beforeAll, describe, expect, it } from 'vitest';
import { inspectToken, verifyChain, type Report } from '../../../src/attestation/index.js';
import { der, keyUsage, parseCertificateFields } from '../../../src/pki/index.js';
import {
  createPqCa,
  mlKemKey,
  pqSigningKey,
  pqToken,
  tstInfoSource,
  type PqCa,
  type PqSigningKey,
} from '../../helpers/pq-pki.js';
import { detailOf, failedChecks, statusOf } from '../../helpers/token-pki.js';

const DATA = new TextEncoder().encode('a document stamped under a post-quantum TSA\n');

let ca: PqCa;
let source: Uint8Array;
const tsa: Record<string, { key: PqSigningKey; cert: Uint8Array }> = {};

beforeAll(async () => {
  ca = await createPqCa(pqSigningKey('ml-dsa-87', 0x01));
  source = await tstInfoSource(DATA);
  for (const [name, fill] of [
    ['ml-dsa-44', 0x02],
    ['ml-dsa-65', 0x03],
    ['ml-dsa-87', 0x04],
    ['slh-dsa-sha2-128f', 0x05],
  ] as const) {
    const key = pqSigningKey(name, fill);
    tsa[name] = { key, cert: await ca.issue(key.spki, `${key.label} TSA`) };
  }
});

const options = () => ({ anchors: { certificates: [ca.root] }, at: new Date() });
/** RFC 5280 as written: these test PKIs carry no HSM roles (the attestamp profile wants them). */
const x509 = () => ({ ...options(), profile: 'x509' as const });

function expectVerified(report: Report): void {
  expect(failedChecks(report)).toEqual([]);
  expect(report.outcome).toBe('verified');
}

/** The certificate with the last octet of its signature flipped. */
const withAlteredSignature = (cert: Uint8Array): Uint8Array => {
  const out = Uint8Array.from(cert);
  out[out.length - 1]! ^= 0x01;
  return out;
};

describe('certificate chains signed with ML-DSA and SLH-DSA', () => {
  it.each(['ml-dsa-44', 'ml-dsa-65', 'ml-dsa-87', 'slh-dsa-sha2-128f'])(
    'a %s TSA certificate under an ML-DSA-87 root verifies',
    async (name) => {
      const report = await verifyChain([tsa[name]!.cert], x509());
      expectVerified(report);
      expect(statusOf(report, 'path.signatures')).toBe('pass');
      expect(statusOf(report, 'path.algorithms')).toBe('pass');
    },
  );

  it('a certificate signed with SLH-DSA verifies under an SLH-DSA root', async () => {
    const slhCa = await createPqCa(pqSigningKey('slh-dsa-sha2-128f', 0x06));
    const leaf = await slhCa.issue(tsa['ml-dsa-65']!.key.spki, 'ML-DSA-65 under SLH-DSA');
    expectVerified(
      await verifyChain([leaf], { ...x509(), anchors: { certificates: [slhCa.root] } }),
    );
  });

  it('an ML-KEM key is certified for keyEncipherment by an ML-DSA root', async () => {
    const kem = mlKemKey('ml-kem-768');
    const cert = await ca.issue(kem.spki, 'ML-KEM-768 recipient', [keyUsage(['keyEncipherment'])]);
    expect(parseCertificateFields(cert).spki).toEqual(kem.spki);
    expectVerified(await verifyChain([cert], x509()));
  });

  it('a tampered signature breaks the path', async () => {
    const report = await verifyChain([withAlteredSignature(tsa['ml-dsa-44']!.cert)], x509());
    expect(failedChecks(report)).toContain('path.build');
    expect(detailOf(report, 'path.build')).toBe(
      "no candidate issuer's key verifies the signature of certificate 0",
    );
  });

  it('an ML-DSA signature identifier with NULL parameters is refused (RFC 9881 3)', async () => {
    const key = ca.rootKey;
    const nullParams = der.algorithmIdentifier(key.oid, der.nullValue());
    // The same key signs, under an identifier that carries NULL parameters.
    const nullCa = await createPqCa({ ...key, algorithm: nullParams });
    const leaf = await nullCa.issue(tsa['ml-dsa-44']!.key.spki, 'NULL parameters');
    const report = await verifyChain([leaf], {
      ...x509(),
      anchors: { certificates: [nullCa.root] },
    });
    expect(failedChecks(report)).toEqual(['path.algorithms', 'path.build']);
    expect(detailOf(report, 'path.algorithms')).toBe(
      'certificate 0: ML-DSA-87 parameters must be absent (RFC 9881 3)',
    );
  });
});

describe('time-stamp tokens signed with ML-DSA (RFC 9882)', () => {
  const inspect = (token: Uint8Array) => inspectToken(token, { ...options(), data: DATA });

  it.each(['ml-dsa-44', 'ml-dsa-65', 'ml-dsa-87'])(
    '%s over SHA-512 signed attributes verifies, the whole chain with it',
    async (name) => {
      const { key, cert } = tsa[name]!;
      const report = await inspect(pqToken(source, key, cert));
      expectVerified(report);
      expect(statusOf(report, 'token.signature')).toBe('pass');
      expect(detailOf(report, 'token.property.signature-algorithm')).toBe(
        `${key.label}; digest algorithm sha512`,
      );
      expect((report.claims as { properties: { signerKey: string } }).properties.signerKey).toBe(
        key.label,
      );
    },
  );

  it.each([
    ['ml-dsa-44', 'sha256'],
    ['ml-dsa-65', 'sha384'],
    ['ml-dsa-65', 'sha3-384'],
    ['ml-dsa-87', 'sha3-512'],
    ['ml-dsa-87', 'shake256'],
    ['ml-dsa-44', 'shake128'],
  ] as const)('%s with a %s digest (RFC 9882 Table 1) verifies', async (name, digest) => {
    const { key, cert } = tsa[name]!;
    expectVerified(await inspect(pqToken(source, key, cert, { digest })));
  });

  it.each([
    [
      'ml-dsa-65',
      'sha256',
      'SHA-256 (128-bit collision strength) is too weak for ML-DSA-65, which needs 192 bits',
    ],
    [
      'ml-dsa-87',
      'sha384',
      'SHA-384 (192-bit collision strength) is too weak for ML-DSA-87, which needs 256 bits',
    ],
    [
      'ml-dsa-87',
      'shake128',
      'SHAKE128 (128-bit collision strength) is too weak for ML-DSA-87, which needs 256 bits',
    ],
  ] as const)('%s with a %s digest fails token.signature', async (name, digest, reason) => {
    const { key, cert } = tsa[name]!;
    const report = await inspect(pqToken(source, key, cert, { digest }));
    expect(failedChecks(report)).toEqual(['token.signature']);
    expect(detailOf(report, 'token.signature')).toBe(`${reason} (RFC 9882 3.3)`);
  });

  it('a digest algorithm with NULL parameters fails (RFC 9882 3.3: parameters omitted)', async () => {
    const { key, cert } = tsa['ml-dsa-65']!;
    const report = await inspect(pqToken(source, key, cert, { digestNullParameters: true }));
    expect(failedChecks(report)).toEqual(['token.signature']);
    expect(detailOf(report, 'token.signature')).toBe(
      'the SHA-512 digest algorithm must have no parameters (RFC 9882 3.3)',
    );
  });

  it('CMSAlgorithmProtection naming the SignerInfo algorithms passes, another digest fails', async () => {
    const { key, cert } = tsa['ml-dsa-65']!;
    const good = await inspect(pqToken(source, key, cert, { algorithmProtection: 'match' }));
    expectVerified(good);
    expect(statusOf(good, 'token.algorithm-protection')).toBe('pass');
    const bad = await inspect(pqToken(source, key, cert, { algorithmProtection: 'wrong-digest' }));
    expect(failedChecks(bad)).toEqual(['token.algorithm-protection']);
  });

  it('a tampered signature, or one under another parameter set, does not verify', async () => {
    const { key, cert } = tsa['ml-dsa-65']!;
    const token = pqToken(source, key, cert);
    const tampered = Uint8Array.from(token);
    tampered[tampered.length - 1]! ^= 0x01;
    const report = await inspect(tampered);
    expect(failedChecks(report)).toEqual(['token.signature']);
    expect(detailOf(report, 'token.signature')).toBe(
      'the signature does not verify with the signer certificate',
    );
    // The ML-DSA-65 key signs, the SignerInfo names ML-DSA-87.
    const relabelled = pqToken(
      source,
      { ...key, algorithm: tsa['ml-dsa-87']!.key.algorithm },
      cert,
    );
    expect(failedChecks(await inspect(relabelled))).toEqual(['token.signature']);
  });

  it('a messageDigest made with another digest than the one named fails', async () => {
    const { key, cert } = tsa['ml-dsa-87']!;
    const report = await inspect(
      pqToken(source, key, cert, { digest: 'sha3-512', namedDigest: 'sha512' }),
    );
    expect(failedChecks(report)).toEqual(['token.message-digest']);
  });
});

describe('time-stamp tokens signed with SLH-DSA (RFC 9814)', () => {
  const inspect = (token: Uint8Array) => inspectToken(token, { ...options(), data: DATA });

  it('SLH-DSA-SHA2-128f over SHA-256 signed attributes verifies (RFC 9814 4)', async () => {
    const { key, cert } = tsa['slh-dsa-sha2-128f']!;
    const report = await inspect(pqToken(source, key, cert, { digest: 'sha256' }));
    expectVerified(report);
    expect(detailOf(report, 'token.property.signature-algorithm')).toBe(
      'SLH-DSA-SHA2-128f; digest algorithm sha256',
    );
  });

  it('a tampered SLH-DSA signature does not verify', async () => {
    const { key, cert } = tsa['slh-dsa-sha2-128f']!;
    const token = pqToken(source, key, cert, { digest: 'sha256' });
    const tampered = Uint8Array.from(token);
    tampered[tampered.length - 100]! ^= 0x01;
    expect(failedChecks(await inspect(tampered))).toEqual(['token.signature']);
  });
});

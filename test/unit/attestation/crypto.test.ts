// The verifier's signature checks (src/attestation/crypto.ts over the src/pki/algorithms
// registry): signatures made by node:crypto, `openssl dgst`, `openssl pkeyutl` and
// `openssl req -x509` verify for every allowed scheme,
// high-S ECDSA included; flipped bits, wrong keys, mismatched keys and everything off the
// allow-list (SHA-1, PSS without or with inconsistent parameters, unknown curves) do not;
// secp256k1 signatures verify.
import { execFileSync } from 'node:child_process';
import { constants, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  describePublicKey,
  describeSignatureAlgorithm,
  parseCert,
  verifySignature,
} from '../../../src/attestation/index.js';
import {
  decodePem,
  der,
  derReader,
  id_ecdsa_with_SHA256,
  id_ecdsa_with_SHA384,
  id_ecdsa_with_SHA512,
  id_Ed25519,
  id_mgf1,
  id_RSASSA_PSS,
  id_sha1WithRSAEncryption,
  id_sha256,
  id_sha256WithRSAEncryption,
  id_sha384,
  id_sha384WithRSAEncryption,
  id_sha512,
  id_sha512WithRSAEncryption,
} from '../../../src/pki/index.js';
import { tempDir } from '../../helpers/tmp.js';
import { ecKey, ed25519Key, rsaKey, signatureAlgorithmDer, type TestKey } from './support.js';

// Every ECDSA verification goes through @noble/curves; record the options the adapter passes.
const nobleCalls = vi.hoisted(() => [] as unknown[]);
vi.mock('@noble/curves/nist.js', async (importOriginal) => {
  const nist = await importOriginal<typeof import('@noble/curves/nist.js')>();
  type Curve = typeof nist.p256;
  const recording = (curve: Curve): Curve => ({
    ...curve,
    verify: (...args: Parameters<Curve['verify']>) => {
      nobleCalls.push(args[3]);
      return curve.verify(...args);
    },
  });
  return { ...nist, p256: recording(nist.p256), p384: recording(nist.p384) };
});

const SRC = resolve(import.meta.dirname, '../../../src');
const DATA = new TextEncoder().encode('attestamp signature adapter test message');

/** 1.2.840.10045.4.1: ecdsa-with-SHA1 (RFC 3279), refused. */
const id_ecdsa_with_SHA1 = '1.2.840.10045.4.1';

const alg = (oid: string, params?: Uint8Array): Uint8Array => der.algorithmIdentifier(oid, params);
const rsaAlg = (oid: string): Uint8Array => alg(oid, der.nullValue());

type Hash = 'sha256' | 'sha384' | 'sha512';
const HASH_OID: Readonly<Record<Hash, string>> = {
  sha256: id_sha256,
  sha384: id_sha384,
  sha512: id_sha512,
};
const ECDSA_OID: Readonly<Record<Hash, string>> = {
  sha256: id_ecdsa_with_SHA256,
  sha384: id_ecdsa_with_SHA384,
  sha512: id_ecdsa_with_SHA512,
};
const RSA_OID: Readonly<Record<Hash, string>> = {
  sha256: id_sha256WithRSAEncryption,
  sha384: id_sha384WithRSAEncryption,
  sha512: id_sha512WithRSAEncryption,
};

/** RSASSA-PSS-params (RFC 4055 3.1), each field written explicitly. */
function pssAlg(hash: Hash, mgfHash: Hash, salt: number): Uint8Array {
  const hashAlg = (h: Hash): Uint8Array => alg(HASH_OID[h], der.nullValue());
  return alg(
    id_RSASSA_PSS,
    der.seq(
      der.contextConstructed(0, hashAlg(hash)),
      der.contextConstructed(1, alg(id_mgf1, hashAlg(mgfHash))),
      der.contextConstructed(2, der.integer(salt)),
    ),
  );
}

/** Group orders (SEC 2 / FIPS 186-4 D.1.2). */
const ORDER = {
  'P-256': BigInt('0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551'),
  'P-384': BigInt(
    '0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973',
  ),
} as const;

function bytesOf(n: bigint): Uint8Array {
  const hex = n.toString(16);
  return Uint8Array.from(Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, 'hex'));
}

/** r and s of a DER ECDSA-Sig-Value. */
function rs(signature: Uint8Array): { r: bigint; s: bigint } {
  const [r, s] = derReader.childrenOf(signature, derReader.readTlv(signature, 0));
  return { r: derReader.readUnsigned(signature, r), s: derReader.readUnsigned(signature, s) };
}

/** The same signature with s replaced by n - s (the other valid S), re-encoded as DER. */
function negateS(signature: Uint8Array, curve: 'P-256' | 'P-384'): Uint8Array {
  const { r, s } = rs(signature);
  return der.seq(der.unsignedInteger(bytesOf(r)), der.unsignedInteger(bytesOf(ORDER[curve] - s)));
}

function isHighS(signature: Uint8Array, curve: 'P-256' | 'P-384'): boolean {
  return rs(signature).s > ORDER[curve] / 2n;
}

function flipBit(bytes: Uint8Array, index = bytes.length >> 1): Uint8Array {
  const out = bytes.slice();
  out[index]! ^= 0x01;
  return out;
}

const dir = tempDir();
let fileCount = 0;

function writeFile(name: string, data: Uint8Array | string): string {
  const path = join(dir, `${String(++fileCount)}-${name}`);
  writeFileSync(path, data);
  return path;
}

function keyFile(key: KeyObject): string {
  return writeFile('key.pem', key.export({ type: 'pkcs8', format: 'pem' }).toString());
}

function openssl(args: readonly string[]): Uint8Array {
  return new Uint8Array(execFileSync('openssl', args));
}

/** `openssl dgst -<hash> -sign` over DATA, with extra -sigopt flags. */
function opensslDgst(key: TestKey, hash: Hash, sigopts: readonly string[] = []): Uint8Array {
  const out = join(dir, `${String(++fileCount)}-sig.bin`);
  openssl([
    'dgst',
    `-${hash}`,
    '-sign',
    keyFile(key.privateKey),
    ...sigopts.flatMap((o) => ['-sigopt', o]),
    '-out',
    out,
    writeFile('data.bin', DATA),
  ]);
  return new Uint8Array(readFileSync(out));
}

let p256: TestKey;
let p384: TestKey;
let ed: TestKey;
let rsa: TestKey;
let rsaOther: TestKey;

beforeAll(() => {
  p256 = ecKey('P-256');
  p384 = ecKey('P-384');
  ed = ed25519Key();
  rsa = rsaKey(2048);
  rsaOther = rsaKey(2048);
});

const ecCases = [
  ['P-256', 'sha256'],
  ['P-256', 'sha384'],
  ['P-256', 'sha512'],
  ['P-384', 'sha256'],
  ['P-384', 'sha384'],
  ['P-384', 'sha512'],
] as const;

describe('verifySignature: ECDSA (DER, any S)', () => {
  const keyFor = (curve: 'P-256' | 'P-384'): TestKey => (curve === 'P-256' ? p256 : p384);

  it.each(ecCases)(
    '%s with %s: node:crypto signature, its negated S, tampering',
    async (curve, hash) => {
      const key = keyFor(curve);
      const algorithm = alg(ECDSA_OID[hash]);
      const signature = new Uint8Array(
        sign(hash, DATA, { key: key.privateKey, dsaEncoding: 'der' }),
      );
      const negated = negateS(signature, curve);
      // Exactly one of s and n - s is high; both are valid ECDSA signatures (OpenSSL agrees).
      expect(isHighS(signature, curve)).not.toBe(isHighS(negated, curve));
      expect(verify(hash, DATA, { key: key.publicKey, dsaEncoding: 'der' }, negated)).toBe(true);
      expect(await verifySignature(key.spki, algorithm, DATA, signature)).toBe(true);
      expect(await verifySignature(key.spki, algorithm, DATA, negated)).toBe(true);
      expect(await verifySignature(key.spki, algorithm, flipBit(DATA), signature)).toBe(false);
      expect(
        await verifySignature(key.spki, algorithm, DATA, flipBit(signature, signature.length - 1)),
      ).toBe(false);
      const other = ecKey(curve);
      expect(await verifySignature(other.spki, algorithm, DATA, signature)).toBe(false);
    },
  );

  it.each(ecCases)('%s with %s: `openssl dgst -sign` signature', async (curve, hash) => {
    const key = keyFor(curve);
    const signature = opensslDgst(key, hash);
    expect(signature[0]).toBe(0x30); // DER ECDSA-Sig-Value, not the compact r || s form
    expect(await verifySignature(key.spki, alg(ECDSA_OID[hash]), DATA, signature)).toBe(true);
    expect(
      await verifySignature(key.spki, alg(ECDSA_OID[hash]), DATA, negateS(signature, curve)),
    ).toBe(true);
  });

  it('a high-S signature straight from node:crypto verifies', async () => {
    let highS: Uint8Array | undefined;
    for (let i = 0; i < 64 && highS === undefined; i++) {
      const s = new Uint8Array(sign('sha384', DATA, { key: p384.privateKey, dsaEncoding: 'der' }));
      if (isHighS(s, 'P-384')) highS = s;
    }
    expect(highS).toBeDefined();
    expect(await verifySignature(p384.spki, alg(id_ecdsa_with_SHA384), DATA, highS!)).toBe(true);
  });

  it('refuses the compact r || s encoding, parameters on ecdsa-with-SHA256 and ecdsa-with-SHA1', async () => {
    const signature = new Uint8Array(
      sign('sha256', DATA, { key: p256.privateKey, dsaEncoding: 'ieee-p1363' }),
    );
    expect(signature).toHaveLength(64);
    expect(await verifySignature(p256.spki, alg(id_ecdsa_with_SHA256), DATA, signature)).toBe(
      false,
    );

    const derSig = new Uint8Array(
      sign('sha256', DATA, { key: p256.privateKey, dsaEncoding: 'der' }),
    );
    expect(await verifySignature(p256.spki, alg(id_ecdsa_with_SHA256), DATA, derSig)).toBe(true);
    expect(
      await verifySignature(p256.spki, alg(id_ecdsa_with_SHA256, der.nullValue()), DATA, derSig),
    ).toBe(false);

    const sha1Sig = new Uint8Array(
      sign('sha1', DATA, { key: p256.privateKey, dsaEncoding: 'der' }),
    );
    expect(verify('sha1', DATA, { key: p256.publicKey, dsaEncoding: 'der' }, sha1Sig)).toBe(true);
    expect(await verifySignature(p256.spki, alg(id_ecdsa_with_SHA1), DATA, sha1Sig)).toBe(false);
    expect(describeSignatureAlgorithm(alg(id_ecdsa_with_SHA1))).toEqual({
      kind: 'unsupported',
      reason: `signature algorithm ${id_ecdsa_with_SHA1} is not on the allow-list`,
    });
  });

  it('refuses keys on curves off the allow-list (P-521)', async () => {
    const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });
    const spki = new Uint8Array(p521.publicKey.export({ type: 'spki', format: 'der' }));
    const signature = new Uint8Array(
      sign('sha256', DATA, { key: p521.privateKey, dsaEncoding: 'der' }),
    );
    expect(verify('sha256', DATA, { key: p521.publicKey, dsaEncoding: 'der' }, signature)).toBe(
      true,
    );
    expect(describePublicKey(spki)).toEqual({
      kind: 'unsupported',
      reason: 'elliptic curve not on the allow-list',
    });
    expect(await verifySignature(spki, alg(id_ecdsa_with_SHA256), DATA, signature)).toBe(false);
  });

  it('verifies secp256k1 signatures; tampered data does not', async () => {
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    const spki = new Uint8Array(k1.publicKey.export({ type: 'spki', format: 'der' }));
    const signature = new Uint8Array(
      sign('sha256', DATA, { key: k1.privateKey, dsaEncoding: 'der' }),
    );
    expect(describePublicKey(spki)).toMatchObject({ kind: 'ec', curve: 'secp256k1' });
    expect(await verifySignature(spki, alg(id_ecdsa_with_SHA256), DATA, signature)).toBe(true);
    const tampered = DATA.slice();
    tampered[0]! ^= 1;
    expect(await verifySignature(spki, alg(id_ecdsa_with_SHA256), tampered, signature)).toBe(false);
  });
});

describe('verifySignature: Ed25519', () => {
  it('node:crypto and `openssl pkeyutl -rawin` signatures verify; tampering does not', async () => {
    const algorithm = alg(id_Ed25519);
    const ours = new Uint8Array(sign(null, DATA, ed.privateKey));
    const out = join(dir, 'ed25519.sig');
    openssl([
      'pkeyutl',
      '-sign',
      '-rawin',
      '-inkey',
      keyFile(ed.privateKey),
      '-in',
      writeFile('data.bin', DATA),
      '-out',
      out,
    ]);
    const theirs = new Uint8Array(readFileSync(out));
    for (const signature of [ours, theirs]) {
      expect(signature).toHaveLength(64);
      expect(await verifySignature(ed.spki, algorithm, DATA, signature)).toBe(true);
      expect(await verifySignature(ed.spki, algorithm, flipBit(DATA), signature)).toBe(false);
      expect(await verifySignature(ed.spki, algorithm, DATA, flipBit(signature, 3))).toBe(false);
      expect(await verifySignature(ed25519Key().spki, algorithm, DATA, signature)).toBe(false);
    }
    // RFC 8410 3: parameters absent.
    expect(await verifySignature(ed.spki, alg(id_Ed25519, der.nullValue()), DATA, ours)).toBe(
      false,
    );
  });
});

describe('verifySignature: RSA', () => {
  it.each(['sha256', 'sha384', 'sha512'] as const)(
    'PKCS#1 v1.5 with %s from node:crypto and `openssl dgst`',
    async (hash) => {
      const algorithm = rsaAlg(RSA_OID[hash]);
      for (const signature of [
        new Uint8Array(sign(hash, DATA, rsa.privateKey)),
        opensslDgst(rsa, hash),
      ]) {
        expect(await verifySignature(rsa.spki, algorithm, DATA, signature)).toBe(true);
        // RFC 8017 A.2.4 also allows absent parameters.
        expect(await verifySignature(rsa.spki, alg(RSA_OID[hash]), DATA, signature)).toBe(true);
        expect(await verifySignature(rsa.spki, algorithm, flipBit(DATA), signature)).toBe(false);
        expect(await verifySignature(rsa.spki, algorithm, DATA, flipBit(signature))).toBe(false);
        expect(await verifySignature(rsaOther.spki, algorithm, DATA, signature)).toBe(false);
      }
      // A different hash in the algorithm identifier than the one signed.
      const wrongHash = hash === 'sha256' ? 'sha512' : 'sha256';
      expect(
        await verifySignature(
          rsa.spki,
          rsaAlg(RSA_OID[wrongHash]),
          DATA,
          new Uint8Array(sign(hash, DATA, rsa.privateKey)),
        ),
      ).toBe(false);
    },
  );

  it('RSASSA-PSS with SHA-256, MGF1-SHA-256, salt 32 as src/pki writes it, from node:crypto and openssl', async () => {
    const pssKey: TestKey = { ...rsa, algorithm: 'rsa-pss-3072' };
    const algorithm = signatureAlgorithmDer(pssKey);
    // The project's encoding and one written field by field are the same DER.
    expect(Buffer.from(algorithm).toString('hex')).toBe(
      Buffer.from(pssAlg('sha256', 'sha256', 32)).toString('hex'),
    );
    expect(describeSignatureAlgorithm(algorithm)).toEqual({
      kind: 'rsa-pss',
      hash: 'SHA-256',
      salt: 32,
    });
    const ours = new Uint8Array(
      sign('sha256', DATA, {
        key: rsa.privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 32,
      }),
    );
    const theirs = opensslDgst(rsa, 'sha256', ['rsa_padding_mode:pss', 'rsa_pss_saltlen:32']);
    for (const signature of [ours, theirs]) {
      expect(await verifySignature(rsa.spki, algorithm, DATA, signature)).toBe(true);
      expect(await verifySignature(rsa.spki, algorithm, flipBit(DATA), signature)).toBe(false);
      expect(await verifySignature(rsa.spki, algorithm, DATA, flipBit(signature))).toBe(false);
      expect(await verifySignature(rsaOther.spki, algorithm, DATA, signature)).toBe(false);
      // The same bytes are no PKCS#1 v1.5 signature.
      expect(
        await verifySignature(rsa.spki, rsaAlg(id_sha256WithRSAEncryption), DATA, signature),
      ).toBe(false);
    }
    // The salt length in the parameters is the one used for verification.
    const salt20 = new Uint8Array(
      sign('sha256', DATA, {
        key: rsa.privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 20,
      }),
    );
    expect(await verifySignature(rsa.spki, algorithm, DATA, salt20)).toBe(false);
    expect(await verifySignature(rsa.spki, pssAlg('sha256', 'sha256', 20), DATA, salt20)).toBe(
      true,
    );
  });

  it('RSASSA-PSS with SHA-384 parameters verifies', async () => {
    const signature = new Uint8Array(
      sign('sha384', DATA, {
        key: rsa.privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 48,
      }),
    );
    const algorithm = pssAlg('sha384', 'sha384', 48);
    expect(describeSignatureAlgorithm(algorithm)).toEqual({
      kind: 'rsa-pss',
      hash: 'SHA-384',
      salt: 48,
    });
    expect(await verifySignature(rsa.spki, algorithm, DATA, signature)).toBe(true);
  });

  it('refuses RSASSA-PSS without parameters (the SHA-1 defaults) and with an MGF1 hash unlike the hash', async () => {
    // RFC 4055 3.1: absent parameters mean SHA-1, MGF1-SHA-1, salt 20.
    const sha1Pss = new Uint8Array(
      sign('sha1', DATA, {
        key: rsa.privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 20,
      }),
    );
    expect(
      verify(
        'sha1',
        DATA,
        { key: rsa.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 20 },
        sha1Pss,
      ),
    ).toBe(true);
    expect(await verifySignature(rsa.spki, alg(id_RSASSA_PSS), DATA, sha1Pss)).toBe(false);
    expect(describeSignatureAlgorithm(alg(id_RSASSA_PSS))).toEqual({
      kind: 'unsupported',
      reason: 'RSASSA-PSS without parameters means SHA-1',
    });

    // A genuine SHA-256 / MGF1-SHA-256 signature, announced with MGF1-SHA-384 (or SHA-384 hash).
    const signature = new Uint8Array(
      sign('sha256', DATA, {
        key: rsa.privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 32,
      }),
    );
    for (const mismatched of [pssAlg('sha256', 'sha384', 32), pssAlg('sha384', 'sha256', 32)]) {
      expect(describeSignatureAlgorithm(mismatched)).toEqual({
        kind: 'unsupported',
        reason: 'PSS must use SHA-2 for hash and MGF1 alike',
      });
      expect(await verifySignature(rsa.spki, mismatched, DATA, signature)).toBe(false);
    }
    // Parameters that leave the MGF out default it to MGF1-SHA-1, which is refused too.
    const noMgf = alg(
      id_RSASSA_PSS,
      der.seq(
        der.contextConstructed(0, alg(id_sha256, der.nullValue())),
        der.contextConstructed(2, der.integer(32)),
      ),
    );
    expect(describeSignatureAlgorithm(noMgf).kind).toBe('unsupported');
    expect(await verifySignature(rsa.spki, noMgf, DATA, signature)).toBe(false);
  });

  it('refuses sha1WithRSAEncryption even for a correct signature', async () => {
    const signature = new Uint8Array(sign('sha1', DATA, rsa.privateKey));
    expect(verify('sha1', DATA, rsa.publicKey, signature)).toBe(true);
    expect(await verifySignature(rsa.spki, rsaAlg(id_sha1WithRSAEncryption), DATA, signature)).toBe(
      false,
    );
    expect(describeSignatureAlgorithm(rsaAlg(id_sha1WithRSAEncryption))).toEqual({
      kind: 'unsupported',
      reason: `signature algorithm ${id_sha1WithRSAEncryption} is not on the allow-list`,
    });
  });
});

describe('verifySignature: key and algorithm must belong together', () => {
  it('an ECDSA signature with an RSA key, and the other mismatches, are false (not thrown)', async () => {
    const ecdsaSig = new Uint8Array(
      sign('sha256', DATA, { key: p256.privateKey, dsaEncoding: 'der' }),
    );
    const rsaSig = new Uint8Array(sign('sha256', DATA, rsa.privateKey));
    const edSig = new Uint8Array(sign(null, DATA, ed.privateKey));
    expect(await verifySignature(rsa.spki, alg(id_ecdsa_with_SHA256), DATA, ecdsaSig)).toBe(false);
    expect(await verifySignature(p256.spki, rsaAlg(id_sha256WithRSAEncryption), DATA, rsaSig)).toBe(
      false,
    );
    expect(await verifySignature(p256.spki, alg(id_Ed25519), DATA, edSig)).toBe(false);
    expect(await verifySignature(ed.spki, alg(id_ecdsa_with_SHA256), DATA, ecdsaSig)).toBe(false);
    expect(await verifySignature(rsa.spki, alg(id_Ed25519), DATA, edSig)).toBe(false);
    // P-384 key with a P-256 signature.
    expect(await verifySignature(p384.spki, alg(id_ecdsa_with_SHA256), DATA, ecdsaSig)).toBe(false);
    // Garbage in every position is false as well.
    expect(
      await verifySignature(Uint8Array.of(0x30, 0x00), alg(id_ecdsa_with_SHA256), DATA, ecdsaSig),
    ).toBe(false);
    expect(await verifySignature(p256.spki, Uint8Array.of(0x05, 0x00), DATA, ecdsaSig)).toBe(false);
    expect(
      await verifySignature(p256.spki, alg(id_ecdsa_with_SHA256), DATA, new Uint8Array(0)),
    ).toBe(false);
  });
});

describe('certificates made by `openssl req -x509` verify over their TBS bytes', () => {
  const cases: readonly (readonly [string, () => TestKey, readonly string[]])[] = [
    ['ECDSA P-256 / SHA-256', () => p256, ['-sha256']],
    ['ECDSA P-256 / SHA-512', () => p256, ['-sha512']],
    ['ECDSA P-384 / SHA-384', () => p384, ['-sha384']],
    ['ECDSA P-384 / SHA-256', () => p384, ['-sha256']],
    ['Ed25519', () => ed, []],
    ['RSA PKCS#1 v1.5 / SHA-384', () => rsa, ['-sha384']],
    [
      'RSASSA-PSS / SHA-256, salt 32',
      () => rsa,
      ['-sha256', '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32'],
    ],
  ];

  it.each(cases)('%s', async (_name, keyOf, flags) => {
    const key = keyOf();
    const out = join(dir, `${String(++fileCount)}-cert.pem`);
    openssl([
      'req',
      '-x509',
      '-new',
      '-key',
      keyFile(key.privateKey),
      '-subj',
      '/CN=openssl made',
      '-days',
      '30',
      ...flags,
      '-out',
      out,
    ]);
    const cert = parseCert(decodePem(readFileSync(out, 'utf8'), 'CERTIFICATE'));
    expect(cert.spki).toEqual(key.spki);
    expect(describeSignatureAlgorithm(cert.signatureAlgorithm).kind).not.toBe('unsupported');
    expect(
      await verifySignature(cert.spki, cert.signatureAlgorithm, cert.tbs, cert.signature),
    ).toBe(true);
    expect(
      await verifySignature(cert.spki, cert.signatureAlgorithm, flipBit(cert.tbs), cert.signature),
    ).toBe(false);
  });

  it('openssl encodes PSS parameters the way the adapter reads them', () => {
    const out = join(dir, 'pss-cert.pem');
    openssl([
      'req',
      '-x509',
      '-new',
      '-key',
      keyFile(rsa.privateKey),
      '-subj',
      '/CN=pss',
      '-days',
      '1',
      '-sha256',
      '-sigopt',
      'rsa_padding_mode:pss',
      '-sigopt',
      'rsa_pss_saltlen:32',
      '-out',
      out,
    ]);
    const cert = parseCert(decodePem(readFileSync(out, 'utf8'), 'CERTIFICATE'));
    expect(describeSignatureAlgorithm(cert.signatureAlgorithm)).toEqual({
      kind: 'rsa-pss',
      hash: 'SHA-256',
      salt: 32,
    });
  });
});

describe('describePublicKey and describeSignatureAlgorithm', () => {
  it('names the curves and the Ed25519 key', () => {
    const k256 = describePublicKey(p256.spki);
    const k384 = describePublicKey(p384.spki);
    expect(k256.kind === 'ec' && k256.curve).toBe('P-256');
    expect(k384.kind === 'ec' && k384.curve).toBe('P-384');
    // Uncompressed point: 0x04 || x || y.
    expect(k256.kind === 'ec' && k256.point.length).toBe(65);
    expect(k384.kind === 'ec' && k384.point.length).toBe(97);
    const e = describePublicKey(ed.spki);
    expect(e.kind === 'ed25519' && e.key.length).toBe(32);
  });

  it('counts RSA modulus bits: RSA-1024 is reported as 1024 bits', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const spki = new Uint8Array(small.publicKey.export({ type: 'spki', format: 'der' }));
    expect(describePublicKey(spki)).toEqual({ kind: 'rsa', bits: 1024 });
    expect(describePublicKey(rsa.spki)).toEqual({ kind: 'rsa', bits: 2048 });
    // A modulus whose top octet is not full: 1031 bits.
    const odd = generateKeyPairSync('rsa', { modulusLength: 1031 });
    expect(
      describePublicKey(new Uint8Array(odd.publicKey.export({ type: 'spki', format: 'der' }))),
    ).toEqual({
      kind: 'rsa',
      bits: 1031,
    });
  });

  it('refuses what it does not know, and malformed input', () => {
    // An RSASSA-PSS-only key (id-RSASSA-PSS in the SPKI) is not on the list.
    const pssOnly = generateKeyPairSync('rsa-pss', { modulusLength: 2048 });
    expect(
      describePublicKey(new Uint8Array(pssOnly.publicKey.export({ type: 'spki', format: 'der' })))
        .kind,
    ).toBe('unsupported');
    expect(describePublicKey(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00))).toEqual({
      kind: 'unsupported',
      reason: 'malformed public key',
    });
    expect(describeSignatureAlgorithm(Uint8Array.of(0x04, 0x00))).toEqual({
      kind: 'unsupported',
      reason: 'malformed signature algorithm',
    });
  });

  it('maps every allowed identifier', () => {
    expect(describeSignatureAlgorithm(alg(id_ecdsa_with_SHA256))).toEqual({
      kind: 'ecdsa',
      hash: 'sha256',
    });
    expect(describeSignatureAlgorithm(alg(id_ecdsa_with_SHA384))).toEqual({
      kind: 'ecdsa',
      hash: 'sha384',
    });
    expect(describeSignatureAlgorithm(alg(id_ecdsa_with_SHA512))).toEqual({
      kind: 'ecdsa',
      hash: 'sha512',
    });
    expect(describeSignatureAlgorithm(alg(id_Ed25519))).toEqual({ kind: 'ed25519' });
    expect(describeSignatureAlgorithm(rsaAlg(id_sha256WithRSAEncryption))).toEqual({
      kind: 'rsa-pkcs1',
      hash: 'SHA-256',
    });
    expect(describeSignatureAlgorithm(rsaAlg(id_sha384WithRSAEncryption))).toEqual({
      kind: 'rsa-pkcs1',
      hash: 'SHA-384',
    });
    expect(describeSignatureAlgorithm(rsaAlg(id_sha512WithRSAEncryption))).toEqual({
      kind: 'rsa-pkcs1',
      hash: 'SHA-512',
    });
    // RSA parameters other than NULL are refused.
    expect(describeSignatureAlgorithm(alg(id_sha256WithRSAEncryption, der.integer(0))).kind).toBe(
      'unsupported',
    );
  });
});

describe('one adapter holds the @noble/curves options', () => {
  it('only the ECDSA and EdDSA families of src/pki/algorithms and the HSM digest adapter import @noble/curves, each naming its options once', () => {
    const walk = (d: string): string[] =>
      readdirSync(d).flatMap((n) => {
        const p = join(d, n);
        return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
      });
    const importers = walk(SRC)
      .filter((f) => readFileSync(f, 'utf8').includes('@noble/curves'))
      .map((f) => relative(SRC, f));
    // The verifier's two families, the HSM's one adapter for signing a digest (private
    // scalars stay in src/hsm), and point and scalar arithmetic that neither signs nor
    // verifies: key derivation (BIP 32, SLIP-10), the point encodings of derivable keys' SPKIs,
    // and blockchain addresses.
    expect(importers.sort()).toEqual([
      join('hsm', 'hd', 'bip32.ts'),
      join('hsm', 'hd', 'slip10.ts'),
      join('hsm', 'mechanisms', 'hd-keys.ts'),
      join('hsm', 'mechanisms', 'noble-ecdsa.ts'),
      join('pki', 'algorithms', 'ecdsa.ts'),
      join('pki', 'algorithms', 'eddsa.ts'),
      join('pki', 'blockchain-addresses.ts'),
    ]);
    for (const f of [
      'hsm/hd/bip32.ts',
      'hsm/hd/slip10.ts',
      'hsm/mechanisms/hd-keys.ts',
      'pki/blockchain-addresses.ts',
    ]) {
      expect(readFileSync(join(SRC, f), 'utf8'), f).not.toMatch(/\.(sign|verify)\(/);
    }
    const hsmSide = readFileSync(join(SRC, 'hsm', 'mechanisms', 'noble-ecdsa.ts'), 'utf8');
    expect(hsmSide.match(/CURVES\[curve\]\.verify\(/g)).toHaveLength(1);
    expect(hsmSide.match(/CURVES\[curve\]\.sign\(/g)).toHaveLength(1);
    expect(hsmSide).toMatch(/prehash: false,\s*lowS: false,\s*format: 'der'/);
    const source = readFileSync(join(SRC, 'pki', 'algorithms', 'ecdsa.ts'), 'utf8');
    // One ECDSA verify call, and it carries the three options together.
    expect(source.match(/\.verify\(/g)).toHaveLength(1);
    expect(source.match(/prehash: false,\s*lowS: false,\s*format: 'der'/g)).toHaveLength(1);
  });

  it('every ECDSA verification passed prehash false, lowS false and format der', async () => {
    nobleCalls.length = 0;
    const signature = new Uint8Array(
      sign('sha512', DATA, { key: p384.privateKey, dsaEncoding: 'der' }),
    );
    expect(await verifySignature(p384.spki, alg(id_ecdsa_with_SHA512), DATA, signature)).toBe(true);
    expect(await verifySignature(p256.spki, alg(id_ecdsa_with_SHA256), DATA, signature)).toBe(
      false,
    );
    expect(nobleCalls).toEqual([
      { prehash: false, lowS: false, format: 'der' },
      { prehash: false, lowS: false, format: 'der' },
    ]);
  });
});

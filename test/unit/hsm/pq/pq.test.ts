// The post-quantum primitive adapter (src/hsm/pq): each backend this Node has (always
// @noble/post-quantum; node:crypto on Node 24+ with OpenSSL 3.5) passes the same tests: keys from
// fixed seeds give pinned public keys (the same in both backends: a known answer, which
// test/interop/pq-oracle.test.ts also checks against OpenSSL), pure signatures verify and
// tampered ones do not, ML-KEM round trips with implicit rejection, and the PKCS#8 and SPKI
// encodings (seed-only written, every form read with its consistency checks). This file also
// runs under a Node 26 binary from that interop test, with ATTESTAMP_PQ_EXPECT_NODE=1.
// It imports src/hsm/pq only (no store, no native module), so that it runs under any Node.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HsmError, type HsmErrorCode } from '../../../../src/hsm/errors.js';
import {
  PQ_ALGORITHMS,
  decodePqPkcs8,
  decodePqSpki,
  encodePqPkcs8,
  encodePqSpki,
  generatePqSeed,
  importPqPkcs8,
  nobleBackend,
  nodeBackend,
  pqBackend,
  pqParameters,
  type PqBackend,
  type PqKemAlgorithm,
  type PqSignatureAlgorithm,
} from '../../../../src/hsm/pq/index.js';
import { der, PkiError, verifySignature } from '../../../../src/pki/index.js';

const EXPECT_NODE = process.env.ATTESTAMP_PQ_EXPECT_NODE === '1';
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const BACKENDS: readonly PqBackend[] = [
  nobleBackend,
  ...(PQ_ALGORITHMS.some((a) => nodeBackend.supports(a)) ? [nodeBackend] : []),
];

const ML_DSA: readonly PqSignatureAlgorithm[] = ['ml-dsa-44', 'ml-dsa-65', 'ml-dsa-87'];
/**
 * The SLH-DSA sets signed here: @noble/post-quantum signs the 's' sets in seconds and derives
 * a SHAKE 's' public key in 4-6 s; test/interop/pq-oracle.test.ts covers all twelve.
 */
const SLH_DSA: readonly PqSignatureAlgorithm[] = ['slh-dsa-sha2-128f', 'slh-dsa-shake-128f'];
const ML_KEM: readonly PqKemAlgorithm[] = ['ml-kem-768', 'ml-kem-1024'];
const MESSAGE = new TextEncoder().encode('the DER to be signed\n');

/** SHA-256 of the public key of the seed 00 01 02 ... (FIPS 204 Algorithm 6, FIPS 203 16, FIPS 205 18). */
const PUBLIC_KEY_SHA256: Readonly<Record<string, string>> = {
  'ml-dsa-44': '9f107644c1084526af3bc8098680b05499a2325a644e388fb4f970e058d19d46',
  'ml-dsa-65': 'd666806e11cee19a7c989f7445f90dd419cf4d2d51db8c0fdb4c0f0a542238c9',
  'ml-dsa-87': '91dc389cfaa01470b7f66eee45a4ae9026d154817c754dfe22298b3fa241ffcd',
  'ml-kem-768': '0b7934c83125c788995e2ba6bd761e33046b3e40571be53e023309a29f398cc9',
  'ml-kem-1024': 'c7b8fa0aa471d5ae18922d6ccad5b31e1d84f92ae723abfd13747018740a8530',
  'slh-dsa-sha2-128f': 'f577b74987c6313ffa546b8885ca8450c7f427c20f0d9b52d166264016b8beba',
  'slh-dsa-shake-128f': '99197c0060fec43eaefd42ebb68848f66cf3b2db814670dee2ac5c37d4aade64',
};

const counting = (length: number): Uint8Array => Uint8Array.from({ length }, (_, i) => i);
const seedOf = (algorithm: string): Uint8Array => counting(pqParameters(algorithm).seedLength);
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const flip = (b: Uint8Array, at = b.length - 1): Uint8Array => {
  const out = Uint8Array.from(b);
  out[at]! ^= 0x01;
  return out;
};

function expectHsmError(fn: () => unknown, code: HsmErrorCode, message?: string): HsmError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `expected HsmError '${code}'`).toBeInstanceOf(HsmError);
  const error = thrown as HsmError;
  expect(error.code).toBe(code);
  if (message !== undefined) expect(error.message).toBe(message);
  return error;
}

describe('backend selection', () => {
  it('takes node:crypto where this Node has the algorithm, else @noble/post-quantum', () => {
    for (const a of PQ_ALGORITHMS)
      expect(pqBackend(a)).toBe(nodeBackend.supports(a) ? nodeBackend : nobleBackend);
    expect(PQ_ALGORITHMS.every((a) => nobleBackend.supports(a))).toBe(true);
    // Node 20 (the project's floor) has no OpenSSL with them; a Node 26 oracle has them all.
    if (NODE_MAJOR < 24) expect(PQ_ALGORITHMS.filter((a) => nodeBackend.supports(a))).toEqual([]);
    if (EXPECT_NODE) expect(PQ_ALGORITHMS.filter((a) => !nodeBackend.supports(a))).toEqual([]);
  });

  it('knows ML-DSA-44/65/87, the twelve SLH-DSA sets and ML-KEM-768/1024', () => {
    expect(PQ_ALGORITHMS).toHaveLength(3 + 12 + 2);
    expect(PQ_ALGORITHMS).not.toContain('ml-kem-512');
    expect(() => pqParameters('ml-kem-512')).toThrow(PkiError);
  });

  it('gives fresh seeds of the algorithm length, from the source given', () => {
    expect(generatePqSeed('ml-dsa-65')).toHaveLength(32);
    expect(generatePqSeed('ml-kem-768')).toHaveLength(64);
    expect(generatePqSeed('slh-dsa-sha2-192s')).toHaveLength(72);
    expect(generatePqSeed('ml-dsa-44', (n) => new Uint8Array(n).fill(7))).toEqual(
      new Uint8Array(32).fill(7),
    );
    expect(() => generatePqSeed('ml-dsa-44', () => new Uint8Array(31))).toThrow(
      'the random source gave the wrong length',
    );
  });
});

describe.each(BACKENDS.map((b) => [b.name, b] as const))('%s backend', (_name, backend) => {
  describe.each([...ML_DSA, ...SLH_DSA].map((a) => [a] as const))('%s', (algorithm) => {
    const p = pqParameters(algorithm);
    const key = backend.signingKey(algorithm, seedOf(algorithm));
    // One signature for the checks below (an SLH-DSA signature takes up to seconds in JS).
    let signed: Uint8Array | undefined;
    const signature = (): Uint8Array => (signed ??= key.sign(MESSAGE));

    it('derives the pinned public key from the seed', () => {
      expect(key.publicKey).toHaveLength(p.publicKeyLength);
      expect(sha256(key.publicKey)).toBe(PUBLIC_KEY_SHA256[algorithm]);
    });

    it('signs in pure mode: its signature verifies here, in the registry and nowhere else', async () => {
      const sig = signature();
      expect(sig).toHaveLength(p.outputLength);
      expect(backend.verify(algorithm, key.publicKey, MESSAGE, sig)).toBe(true);
      // The verifier's pki registry reads the same bytes (RFC 9881, RFC 9909).
      const spki = encodePqSpki(algorithm, key.publicKey);
      expect(await verifySignature(spki, der.algorithmIdentifier(p.oid), MESSAGE, sig)).toBe(true);
      expect(backend.verify(algorithm, key.publicKey, flip(MESSAGE), sig)).toBe(false);
      expect(backend.verify(algorithm, key.publicKey, MESSAGE, flip(sig))).toBe(false);
      expect(backend.verify(algorithm, flip(key.publicKey, 0), MESSAGE, sig)).toBe(false);
    });

    it('returns false for a signature or public key of the wrong length', () => {
      const sig = signature();
      for (const bad of [new Uint8Array(0), sig.subarray(1), Uint8Array.from([...sig, 0])])
        expect(backend.verify(algorithm, key.publicKey, MESSAGE, bad)).toBe(false);
      expect(backend.verify(algorithm, key.publicKey.subarray(1), MESSAGE, sig)).toBe(false);
    });

    it('refuses a seed of the wrong length', () => {
      expectHsmError(
        () => backend.signingKey(algorithm, new Uint8Array(p.seedLength + 1)),
        'invalid-argument',
        `the seed must be ${p.seedLength} octets`,
      );
    });
  });

  it('ML-DSA signatures are hedged: two signatures of one message differ', () => {
    const key = backend.signingKey('ml-dsa-44', seedOf('ml-dsa-44'));
    expect(hex(key.sign(MESSAGE))).not.toBe(hex(key.sign(MESSAGE)));
  });

  it('SLH-DSA takes the public key given with the seed, if its PK.seed is the seed’s', () => {
    const algorithm = 'slh-dsa-sha2-128f';
    const { publicKey } = backend.signingKey(algorithm, seedOf(algorithm));
    const given = backend.signingKey(algorithm, seedOf(algorithm), publicKey);
    expect(given.publicKey).toEqual(publicKey);
    expect(backend.verify(algorithm, publicKey, MESSAGE, given.sign(MESSAGE))).toBe(true);
    expectHsmError(
      () => backend.signingKey(algorithm, seedOf(algorithm), flip(publicKey, 0)),
      'invalid-argument',
      'the public key is not that of the seed',
    );
  });

  describe.each(ML_KEM.map((a) => [a] as const))('%s', (algorithm) => {
    const p = pqParameters(algorithm);
    const key = backend.decapsulationKey(algorithm, seedOf(algorithm));

    it('derives the pinned encapsulation key from d || z', () => {
      expect(sha256(key.publicKey)).toBe(PUBLIC_KEY_SHA256[algorithm]);
    });

    it('decapsulates what it encapsulates; a tampered ciphertext gives another secret', () => {
      const { ciphertext, sharedSecret } = backend.encapsulate(algorithm, key.publicKey);
      expect(ciphertext).toHaveLength(p.outputLength);
      expect(sharedSecret).toHaveLength(32);
      expect(key.decapsulate(ciphertext)).toEqual(sharedSecret);
      // FIPS 203 7.3 implicit rejection: no error, a secret unrelated to the real one.
      const rejected = key.decapsulate(flip(ciphertext));
      expect(rejected).toHaveLength(32);
      expect(hex(rejected)).not.toBe(hex(sharedSecret));
      // Fresh randomness each time.
      expect(hex(backend.encapsulate(algorithm, key.publicKey).sharedSecret)).not.toBe(
        hex(sharedSecret),
      );
    });

    it('refuses a ciphertext or encapsulation key of the wrong length, or an invalid key', () => {
      expectHsmError(
        () => key.decapsulate(new Uint8Array(p.outputLength - 1)),
        'invalid-argument',
        `the ciphertext must be ${p.outputLength} octets`,
      );
      expectHsmError(
        () => backend.encapsulate(algorithm, key.publicKey.subarray(1)),
        'invalid-argument',
      );
      // FIPS 203 7.2 modulus check: coefficients of 0xfff exceed q = 3329.
      expectHsmError(
        () => backend.encapsulate(algorithm, new Uint8Array(p.publicKeyLength).fill(0xff)),
        'invalid-argument',
        'not a valid encapsulation key',
      );
    });
  });

  it('refuses a KEM for signing and a signature algorithm for encapsulation', () => {
    expectHsmError(
      () => backend.signingKey('ml-kem-768' as PqSignatureAlgorithm, seedOf('ml-kem-768')),
      'invalid-argument',
      'the key algorithm does not sign',
    );
    expectHsmError(
      () => backend.decapsulationKey('ml-dsa-44' as PqKemAlgorithm, seedOf('ml-dsa-44')),
      'invalid-argument',
      'the key algorithm does not encapsulate',
    );
    expect(() => backend.signingKey('ed25519' as PqSignatureAlgorithm, new Uint8Array(32))).toThrow(
      PkiError,
    );
  });
});

describe.skipIf(BACKENDS.length < 2)('node:crypto and @noble/post-quantum together', () => {
  it.each([...ML_DSA, ...SLH_DSA])('%s: same keys, and each verifies the other', (algorithm) => {
    const seed = seedOf(algorithm);
    const node = nodeBackend.signingKey(algorithm, seed);
    const noble = nobleBackend.signingKey(algorithm, seed);
    expect(node.publicKey).toEqual(noble.publicKey);
    expect(nobleBackend.verify(algorithm, node.publicKey, MESSAGE, node.sign(MESSAGE))).toBe(true);
    expect(nodeBackend.verify(algorithm, noble.publicKey, MESSAGE, noble.sign(MESSAGE))).toBe(true);
  });

  it.each(ML_KEM)('%s: same keys, and each decapsulates the other’s ciphertext', (algorithm) => {
    const node = nodeBackend.decapsulationKey(algorithm, seedOf(algorithm));
    const noble = nobleBackend.decapsulationKey(algorithm, seedOf(algorithm));
    expect(node.publicKey).toEqual(noble.publicKey);
    const a = nodeBackend.encapsulate(algorithm, node.publicKey);
    expect(noble.decapsulate(a.ciphertext)).toEqual(a.sharedSecret);
    const b = nobleBackend.encapsulate(algorithm, noble.publicKey);
    expect(node.decapsulate(b.ciphertext)).toEqual(b.sharedSecret);
  });
});

describe('PKCS#8 (RFC 5958) and SPKI encodings', () => {
  it('writes the seed-only form of RFC 9881 6 and RFC 9935 6', () => {
    const seed = seedOf('ml-dsa-44');
    // SEQUENCE { 0, { id-ml-dsa-44 }, OCTET STRING { [0] seed } }: 54 octets, RFC 9881 C.1.
    expect(hex(encodePqPkcs8('ml-dsa-44', seed))).toBe(
      `3034020100300b06096086480165030403110422` + `8020${hex(seed)}`,
    );
    const kemSeed = seedOf('ml-kem-768');
    expect(hex(encodePqPkcs8('ml-kem-768', kemSeed))).toBe(
      `3054020100300b06096086480165030404020442` + `8040${hex(kemSeed)}`,
    );
  });

  it.each(['ml-dsa-65', 'ml-kem-1024'] as const)(
    '%s: reads back the seed, both and v2 forms, and checks them against the seed',
    (algorithm) => {
      const p = pqParameters(algorithm);
      const seed = seedOf(algorithm);
      const expected = sha256(importPqPkcs8(encodePqPkcs8(algorithm, seed)).publicKey);
      expect(expected).toBe(PUBLIC_KEY_SHA256[algorithm]);
      const both = encodePqPkcs8(algorithm, seed, { form: 'both', includePublicKey: true });
      const decoded = decodePqPkcs8(both);
      expect(decoded.version).toBe(1);
      expect(decoded.seed).toEqual(seed);
      expect(decoded.expandedKey).toHaveLength(p.privateKeyLength);
      expect(sha256(decoded.publicKey!)).toBe(expected);
      expect(importPqPkcs8(both).seed).toEqual(seed);

      // RFC 9881 8.2, RFC 9935 8: an expanded key that is not the seed's is refused.
      const inner = der.seq(der.octetString(seed), der.octetString(flip(decoded.expandedKey!)));
      const inconsistent = der.seq(
        der.integer(0),
        der.algorithmIdentifier(p.oid),
        der.octetString(inner),
      );
      expectHsmError(
        () => importPqPkcs8(inconsistent),
        'invalid-argument',
        'the expanded key is not that of the seed',
      );
      // The expandedKey choice alone: readable, but the seed cannot be recovered from it.
      const expandedOnly = der.seq(
        der.integer(0),
        der.algorithmIdentifier(p.oid),
        der.octetString(der.octetString(decoded.expandedKey!)),
      );
      expect(decodePqPkcs8(expandedOnly).seed).toBeUndefined();
      expectHsmError(
        () => importPqPkcs8(expandedOnly),
        'invalid-argument',
        'a private key without its seed cannot be imported (keys are kept as seeds)',
      );
      // A publicKey field that is not the seed's.
      const wrongPublic = der.seq(
        der.integer(1),
        der.algorithmIdentifier(p.oid),
        der.octetString(der.contextPrimitive(0, seed)),
        der.contextPrimitive(1, Uint8Array.of(0, ...flip(decoded.publicKey!))),
      );
      expectHsmError(
        () => importPqPkcs8(wrongPublic),
        'invalid-argument',
        'the public key is not that of the private key',
      );
    },
  );

  it('refuses malformed private keys with invalid-argument', () => {
    const p = pqParameters('ml-dsa-44');
    const seed = seedOf('ml-dsa-44');
    const wrap = (privateKey: Uint8Array, ...rest: Uint8Array[]): Uint8Array =>
      der.seq(der.integer(0), der.algorithmIdentifier(p.oid), der.octetString(privateKey), ...rest);
    const cases: readonly (readonly [Uint8Array, string])[] = [
      [Uint8Array.of(0x30, 0x00), 'not a pkcs#8 private key'],
      [Uint8Array.of(1, 2, 3), 'not a pkcs#8 private key'],
      [wrap(der.contextPrimitive(0, seed.subarray(1))), 'the seed must be 32 octets'],
      [wrap(der.contextPrimitive(2, seed)), 'unknown private key format'],
      [wrap(Uint8Array.of(0x80, 0x20, ...seed, 0x00)), 'trailing bytes in the private key'],
      [
        wrap(
          der.seq(der.octetString(seed), der.octetString(new Uint8Array(2560)), der.nullValue()),
        ),
        'unexpected field in the private key',
      ],
      // RFC 5958 2: a publicKey field needs version 2.
      [
        wrap(der.contextPrimitive(0, seed), der.contextPrimitive(1, new Uint8Array(1313))),
        'a public key needs pkcs#8 version 2',
      ],
      [
        der.seq(
          der.integer(0),
          der.algorithmIdentifier(p.oid, der.nullValue()),
          der.octetString(der.contextPrimitive(0, seed)),
        ),
        'ML-DSA-44 parameters must be absent',
      ],
      [
        der.seq(der.integer(2), der.algorithmIdentifier(p.oid), der.octetString(seed)),
        'unknown pkcs#8 version',
      ],
    ];
    for (const [input, message] of cases)
      expectHsmError(() => importPqPkcs8(input), 'invalid-argument', message);
    const ed25519 = new Uint8Array(
      generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'der' }),
    );
    expectHsmError(
      () => decodePqPkcs8(ed25519),
      'invalid-argument',
      'not a post-quantum private key',
    );
  });

  it('SLH-DSA: writes the raw 4n-octet private key (RFC 9909 7) and checks PK.root on import', () => {
    const algorithm = 'slh-dsa-sha2-128f';
    const p = pqParameters(algorithm);
    const seed = seedOf(algorithm);
    const pkcs8 = encodePqPkcs8(algorithm, seed);
    // SEQUENCE { 0, { id-slh-dsa-sha2-128f }, OCTET STRING (64) }: 84 octets, no inner wrapping.
    expect(pkcs8).toHaveLength(84);
    expect(hex(pkcs8.subarray(0, 20))).toBe('3052020100300b060960864801650304031504' + '40');
    expect(pkcs8.subarray(20, 20 + p.seedLength)).toEqual(seed);
    const imported = importPqPkcs8(pkcs8);
    expect(imported.seed).toEqual(seed);
    expect(sha256(imported.publicKey)).toBe(PUBLIC_KEY_SHA256[algorithm]);
    const badRoot = Uint8Array.from(pkcs8);
    badRoot[badRoot.length - 1]! ^= 0x01;
    expectHsmError(
      () => importPqPkcs8(badRoot),
      'invalid-argument',
      'PK.root of the private key is not that of its seed',
    );
    expectHsmError(
      () => encodePqPkcs8(algorithm, seed, { form: 'both' }),
      'invalid-argument',
      'SLH-DSA private keys have one form only',
    );
    const short = der.seq(
      der.integer(0),
      der.algorithmIdentifier(p.oid),
      der.octetString(new Uint8Array(p.privateKeyLength - 1)),
    );
    expectHsmError(
      () => importPqPkcs8(short),
      'invalid-argument',
      'the private key must be 64 octets',
    );
    // The public key known: the same PKCS#8 without recomputing PK.root.
    expect(encodePqPkcs8(algorithm, seed, { publicKey: imported.publicKey })).toEqual(pkcs8);
  });

  it('SPKI: round trip, and refuses parameters, unused bits, lengths and other keys', () => {
    const publicKey = nobleBackend.signingKey('ml-dsa-44', seedOf('ml-dsa-44')).publicKey;
    const spki = encodePqSpki('ml-dsa-44', publicKey);
    expect(decodePqSpki(spki)).toEqual({ algorithm: 'ml-dsa-44', publicKey });
    const oid = pqParameters('ml-dsa-44').oid;
    const cases: readonly (readonly [Uint8Array, string])[] = [
      [
        der.seq(
          der.algorithmIdentifier(oid, der.nullValue()),
          der.tlv(0x03, Uint8Array.of(0), publicKey),
        ),
        'ML-DSA-44 parameters must be absent',
      ],
      [
        der.seq(
          der.algorithmIdentifier(oid),
          der.tlv(0x03, Uint8Array.of(0), publicKey.subarray(1)),
        ),
        'the public key must be 1312 octets',
      ],
      [Uint8Array.of(0x30, 0x00), 'not a subject public key info'],
    ];
    for (const [input, message] of cases)
      expectHsmError(() => decodePqSpki(input), 'invalid-argument', message);
    const ec = new Uint8Array(
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
        type: 'spki',
        format: 'der',
      }),
    );
    expectHsmError(() => decodePqSpki(ec), 'invalid-argument', 'not a post-quantum public key');
    expectHsmError(
      () => encodePqSpki('ml-dsa-44', publicKey.subarray(2)),
      'invalid-argument',
      'the public key must be 1312 octets',
    );
  });
});

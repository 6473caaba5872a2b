// The post-quantum families of the algorithm registry (src/pki/algorithms/ml-dsa.ts, slh-dsa.ts,
// ml-kem.ts): SPKIs and signature identifiers with absent parameters only (RFC 9881 2, RFC 9909
// 3, RFC 9935 3), one key length per parameter set, pure signatures with the empty context, every
// malformed input refused or false (never a throw), and the CMS digest rules (RFC 9882 3.3 Table
// 1, RFC 9814 4). Signatures are made with @noble/post-quantum from fixed seeds.
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { ml_kem1024, ml_kem512, ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import * as slh from '@noble/post-quantum/slh-dsa.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import {
  ALGORITHM_FAMILIES,
  CMS_DIGESTS,
  KEY_ALGORITHMS,
  ML_DSA_PARAMETER_SETS,
  ML_KEM_PARAMETER_SETS,
  SLH_DSA_PARAMETER_SETS,
  cmsDigestProblem,
  der,
  describePublicKey,
  describeSignatureAlgorithm,
  encodeRawSpki,
  familyOfPublicKeyOid,
  familyOfSignatureOid,
  id_ecdsa_with_SHA256,
  id_sha1,
  id_sha256,
  id_sha384,
  id_sha3_256,
  id_sha3_384,
  id_sha3_512,
  id_sha512,
  id_shake128,
  id_shake256,
  keyAlgorithmInfo,
  publicKeyLabel,
  publicKeyProblem,
  signatureAlgorithmLabel,
  verifySignature,
  type KeyAlgorithm,
  type MlDsaParameterSet,
  type SlhDsaParameterSet,
} from '../../../src/pki/index.js';

const MESSAGE = new TextEncoder().encode('the DER to be signed, in pure mode\n');
const ML_DSA = { 'ml-dsa-44': ml_dsa44, 'ml-dsa-65': ml_dsa65, 'ml-dsa-87': ml_dsa87 } as const;
const ML_KEM = { 'ml-kem-512': ml_kem512, 'ml-kem-768': ml_kem768, 'ml-kem-1024': ml_kem1024 };
/** @noble/post-quantum's export of each SLH-DSA parameter set: slh-dsa-sha2-128s -> slh_dsa_sha2_128s. */
const slhOf = (set: SlhDsaParameterSet): typeof slh.slh_dsa_sha2_128f =>
  (slh as unknown as Record<string, typeof slh.slh_dsa_sha2_128f>)[set.name.replace(/-/g, '_')]!;

const seed = (length: number, fill: number): Uint8Array => new Uint8Array(length).fill(fill);
const algorithmId = (oid: string): Uint8Array => der.algorithmIdentifier(oid);
const withNullParams = (oid: string): Uint8Array => der.algorithmIdentifier(oid, der.nullValue());
/** An SPKI whose AlgorithmIdentifier carries NULL parameters (RFC 9881 2 forbids any). */
const spkiWithNull = (oid: string, key: Uint8Array): Uint8Array =>
  der.seq(withNullParams(oid), der.tlv(0x03, Uint8Array.of(0), key));
const flip = (b: Uint8Array, at = b.length - 1): Uint8Array => {
  const out = Uint8Array.from(b);
  out[at]! ^= 0x01;
  return out;
};
const setOfName = (name: string): SlhDsaParameterSet =>
  SLH_DSA_PARAMETER_SETS.find((s) => s.name === name)!;

describe('the post-quantum families in the registry', () => {
  it('issue ML-DSA and the fast SLH-DSA sets as key algorithms; ML-KEM and the small sets are verify-only', () => {
    const names = ALGORITHM_FAMILIES.map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(['ml-dsa', 'slh-dsa', 'ml-kem']));
    const issued = (family: string): string[] =>
      ALGORITHM_FAMILIES.find((f) => f.name === family)!.keyAlgorithms.map((k) => k.name);
    expect(issued('ml-dsa')).toEqual(ML_DSA_PARAMETER_SETS.map((s) => s.name));
    expect(issued('slh-dsa')).toEqual(
      SLH_DSA_PARAMETER_SETS.filter((s) => s.name.endsWith('f')).map((s) => s.name),
    );
    expect(issued('ml-kem')).toEqual([]);
    expect(KEY_ALGORITHMS.filter((k) => /^(ml|slh)-/.test(k))).toEqual([
      ...issued('ml-dsa'),
      ...issued('slh-dsa'),
    ]);
    for (const name of [...issued('ml-dsa'), ...issued('slh-dsa')]) {
      const info = keyAlgorithmInfo(name as KeyAlgorithm);
      // Pure signatures only: no hash, so no digest mode; parameters absent.
      expect(info.hash).toBeUndefined();
      expect(info.postQuantum).toBe(true);
      expect(info.signatureAlgorithm).toEqual(der.algorithmIdentifier(info.signatureOid));
      expect(info.spkiOid).toBe(info.signatureOid);
      // The registry's digest is one the verifier accepts beside the scheme (RFC 9882, 9814).
      expect(
        cmsDigestProblem(
          info.signatureAlgorithm,
          der.algorithmIdentifier(CMS_DIGESTS[info.cmsDigest].oid),
        ),
      ).toBeUndefined();
    }
    for (const s of ML_DSA_PARAMETER_SETS) {
      expect(familyOfPublicKeyOid(s.oid).name).toBe('ml-dsa');
      expect(familyOfSignatureOid(s.oid).name).toBe('ml-dsa');
    }
    for (const s of SLH_DSA_PARAMETER_SETS)
      expect(familyOfSignatureOid(s.oid).name).toBe('slh-dsa');
    for (const s of ML_KEM_PARAMETER_SETS) expect(familyOfPublicKeyOid(s.oid).name).toBe('ml-kem');
  });

  it('pins the OIDs of RFC 9881, RFC 9909 and RFC 9935 (NIST CSOR sigAlgs 17-31, kems 1-3)', () => {
    expect(ML_DSA_PARAMETER_SETS.map((s) => s.oid)).toEqual(
      [17, 18, 19].map((n) => `2.16.840.1.101.3.4.3.${n}`),
    );
    expect(SLH_DSA_PARAMETER_SETS.map((s) => s.oid)).toEqual(
      Array.from({ length: 12 }, (_, i) => `2.16.840.1.101.3.4.3.${20 + i}`),
    );
    expect(ML_KEM_PARAMETER_SETS.map((s) => s.oid)).toEqual(
      [1, 2, 3].map((n) => `2.16.840.1.101.3.4.4.${n}`),
    );
    // The DER of id-ml-dsa-65 with absent parameters, as RFC 9881 Appendix C shows it.
    expect(Buffer.from(algorithmId(ML_DSA_PARAMETER_SETS[1].oid)).toString('hex')).toBe(
      '300b0609608648016503040312',
    );
  });
});

describe.each(ML_DSA_PARAMETER_SETS.map((s, i) => [s.label, s, i] as const))(
  '%s',
  (label, set: MlDsaParameterSet, i) => {
    const impl = ML_DSA[set.name];
    const keys = impl.keygen(seed(32, 0x40 + i));
    const spki = encodeRawSpki(set.oid, keys.publicKey);
    const alg = algorithmId(set.oid);
    const signature = impl.sign(MESSAGE, keys.secretKey);

    it('has the sizes of FIPS 204 Table 2', () => {
      expect(impl.lengths.publicKey).toBe(set.publicKeyLength);
      expect(impl.lengths.secretKey).toBe(set.expandedKeyLength);
      expect(impl.lengths.signature).toBe(set.signatureLength);
      expect(impl.lengths.seed).toBe(set.seedLength);
    });

    it('reads its SPKI and signature identifier, labelled and allowed', () => {
      expect(describePublicKey(spki)).toEqual({ kind: 'ml-dsa', set, key: keys.publicKey });
      expect(publicKeyLabel(spki)).toBe(label);
      expect(publicKeyProblem(spki)).toBeUndefined();
      expect(describeSignatureAlgorithm(alg)).toEqual({ kind: 'ml-dsa', set });
      expect(signatureAlgorithmLabel(alg)).toBe(label);
    });

    it('verifies a pure signature with the empty context, and nothing else', async () => {
      expect(await verifySignature(spki, alg, MESSAGE, signature)).toBe(true);
      expect(await verifySignature(spki, alg, flip(MESSAGE), signature)).toBe(false);
      expect(await verifySignature(spki, alg, MESSAGE, flip(signature))).toBe(false);
      expect(await verifySignature(spki, alg, MESSAGE, flip(signature, 0))).toBe(false);
      // A context string (FIPS 204 5.2) other than the empty one RFC 9881 3 prescribes.
      const withContext = impl.sign(MESSAGE, keys.secretKey, {
        context: new TextEncoder().encode('attestamp'),
      });
      expect(await verifySignature(spki, alg, MESSAGE, withContext)).toBe(false);
      // HashML-DSA (FIPS 204 5.4) is not what the pure identifier names.
      const prehashed = impl.prehash(sha512).sign(MESSAGE, keys.secretKey);
      expect(await verifySignature(spki, alg, MESSAGE, prehashed)).toBe(false);
    });

    it('returns false for signatures of the wrong length, never throwing', async () => {
      for (const bad of [
        new Uint8Array(0),
        signature.subarray(0, signature.length - 1),
        Uint8Array.from([...signature, 0]),
        new Uint8Array(set.signatureLength + 1000),
      ])
        expect(await verifySignature(spki, alg, MESSAGE, bad)).toBe(false);
    });

    it('refuses parameters in the SPKI and in the signature identifier (RFC 9881 2)', async () => {
      const nullSpki = spkiWithNull(set.oid, keys.publicKey);
      expect(describePublicKey(nullSpki)).toEqual({
        kind: 'unsupported',
        reason: `${label} parameters must be absent (RFC 9881 2)`,
      });
      expect(publicKeyProblem(nullSpki)).toBe(`${label} parameters must be absent (RFC 9881 2)`);
      expect(await verifySignature(nullSpki, alg, MESSAGE, signature)).toBe(false);
      const nullAlg = withNullParams(set.oid);
      expect(describeSignatureAlgorithm(nullAlg)).toEqual({
        kind: 'unsupported',
        reason: `${label} parameters must be absent (RFC 9881 3)`,
      });
      expect(await verifySignature(spki, nullAlg, MESSAGE, signature)).toBe(false);
    });

    it('refuses a public key of another length', async () => {
      for (const key of [keys.publicKey.subarray(1), Uint8Array.from([...keys.publicKey, 0])]) {
        const bad = encodeRawSpki(set.oid, key);
        expect(publicKeyProblem(bad)).toBe(
          `${label} public key of ${key.length} octets, not ${set.publicKeyLength}`,
        );
        expect(await verifySignature(bad, alg, MESSAGE, signature)).toBe(false);
      }
    });

    it('does not verify under the identifier of another parameter set or family', async () => {
      for (const other of ML_DSA_PARAMETER_SETS.filter((s) => s.name !== set.name))
        expect(await verifySignature(spki, algorithmId(other.oid), MESSAGE, signature)).toBe(false);
      expect(
        await verifySignature(spki, algorithmId(id_ecdsa_with_SHA256), MESSAGE, signature),
      ).toBe(false);
    });
  },
);

describe('SLH-DSA', () => {
  it.each(SLH_DSA_PARAMETER_SETS.map((s) => [s.label, s] as const))(
    '%s: sizes of FIPS 205 Table 2, SPKI and identifier, malformed input refused',
    async (label, set) => {
      const impl = slhOf(set);
      expect(impl.lengths.publicKey).toBe(set.publicKeyLength);
      expect(impl.lengths.secretKey).toBe(set.privateKeyLength);
      expect(impl.lengths.signature).toBe(set.signatureLength);
      expect(impl.lengths.seed).toBe(set.seedLength);
      // A public key is any 2n octets (PK.seed || PK.root); no key generation is needed here.
      const key = seed(set.publicKeyLength, 0x5a);
      const spki = encodeRawSpki(set.oid, key);
      const alg = algorithmId(set.oid);
      expect(describePublicKey(spki)).toEqual({ kind: 'slh-dsa', set, key });
      expect(publicKeyLabel(spki)).toBe(label);
      expect(signatureAlgorithmLabel(alg)).toBe(label);
      expect(publicKeyProblem(spkiWithNull(set.oid, key))).toBe(
        `${label} parameters must be absent (RFC 9909 3)`,
      );
      expect(publicKeyProblem(encodeRawSpki(set.oid, key.subarray(1)))).toBe(
        `${label} public key of ${set.publicKeyLength - 1} octets, not ${set.publicKeyLength}`,
      );
      expect(describeSignatureAlgorithm(withNullParams(set.oid))).toEqual({
        kind: 'unsupported',
        reason: `${label} parameters must be absent (RFC 9909 3)`,
      });
      for (const length of [0, set.signatureLength - 1, set.signatureLength + 1])
        expect(await verifySignature(spki, alg, MESSAGE, new Uint8Array(length))).toBe(false);
      // The right length with nothing behind it.
      expect(await verifySignature(spki, alg, MESSAGE, new Uint8Array(set.signatureLength))).toBe(
        false,
      );
    },
  );

  // Signing with @noble/post-quantum takes 0.3-6 s a signature; the fast SHA2 sets are signed
  // here, every set by OpenSSL in test/interop/pq-oracle.test.ts.
  it.each(['slh-dsa-sha2-128f', 'slh-dsa-sha2-192f'])(
    '%s: verifies a pure signature, not a tampered one nor under another set',
    async (name) => {
      const set = setOfName(name);
      const impl = slhOf(set);
      const keys = impl.keygen(seed(set.seedLength, 0x21));
      const spki = encodeRawSpki(set.oid, keys.publicKey);
      const alg = algorithmId(set.oid);
      const signature = impl.sign(MESSAGE, keys.secretKey);
      expect(await verifySignature(spki, alg, MESSAGE, signature)).toBe(true);
      expect(await verifySignature(spki, alg, flip(MESSAGE), signature)).toBe(false);
      expect(await verifySignature(spki, alg, MESSAGE, flip(signature))).toBe(false);
      // SHAKE with the same sizes: the key is read under the SHA2 OID, so it is not its key.
      const twin = setOfName(name.replace('sha2', 'shake'));
      expect(await verifySignature(spki, algorithmId(twin.oid), MESSAGE, signature)).toBe(false);
      expect(
        await verifySignature(encodeRawSpki(twin.oid, keys.publicKey), alg, MESSAGE, signature),
      ).toBe(false);
    },
  );
});

describe('ML-KEM public keys (RFC 9935)', () => {
  it.each(ML_KEM_PARAMETER_SETS.map((s, i) => [s.label, s, i] as const))(
    '%s: its SPKI is read and labelled, verifies no signature, malformed ones refused',
    async (label, set, i) => {
      const impl = ML_KEM[set.name];
      expect(impl.lengths.publicKey).toBe(set.publicKeyLength);
      expect(impl.lengths.secretKey).toBe(set.expandedKeyLength);
      expect(impl.lengths.cipherText).toBe(set.ciphertextLength);
      const { publicKey } = impl.keygen(seed(64, i + 1));
      const spki = encodeRawSpki(set.oid, publicKey);
      expect(describePublicKey(spki)).toEqual({ kind: 'ml-kem', set, key: publicKey });
      expect(publicKeyLabel(spki)).toBe(label);
      expect(publicKeyProblem(spki)).toBeUndefined();
      expect(publicKeyProblem(spkiWithNull(set.oid, publicKey))).toBe(
        `${label} parameters must be absent (RFC 9935 3)`,
      );
      expect(publicKeyProblem(encodeRawSpki(set.oid, publicKey.subarray(2)))).toBe(
        `${label} public key of ${set.publicKeyLength - 2} octets, not ${set.publicKeyLength}`,
      );
      // A KEM key has no signature identifier of its own, and no other scheme takes it.
      expect(describeSignatureAlgorithm(algorithmId(set.oid)).kind).toBe('unsupported');
      for (const s of ML_DSA_PARAMETER_SETS)
        expect(
          await verifySignature(
            spki,
            algorithmId(s.oid),
            MESSAGE,
            new Uint8Array(s.signatureLength),
          ),
        ).toBe(false);
    },
  );
});

describe('cmsDigestProblem: the digests beside a post-quantum SignerInfo', () => {
  const DIGESTS = {
    'SHA-256': id_sha256,
    'SHA-384': id_sha384,
    'SHA-512': id_sha512,
    'SHA3-256': id_sha3_256,
    'SHA3-384': id_sha3_384,
    'SHA3-512': id_sha3_512,
    SHAKE128: id_shake128,
    SHAKE256: id_shake256,
  } as const;
  const allowed = (signature: string): string[] =>
    Object.entries(DIGESTS)
      .filter(([, oid]) => cmsDigestProblem(algorithmId(signature), algorithmId(oid)) === undefined)
      .map(([name]) => name);

  it('is RFC 9882 Table 1 for ML-DSA', () => {
    const [d44, d65, d87] = ML_DSA_PARAMETER_SETS.map((s) => allowed(s.oid));
    expect(d44).toEqual(Object.keys(DIGESTS));
    expect(d65).toEqual(['SHA-384', 'SHA-512', 'SHA3-384', 'SHA3-512', 'SHAKE256']);
    expect(d87).toEqual(['SHA-512', 'SHA3-512', 'SHAKE256']);
    expect(
      cmsDigestProblem(algorithmId(ML_DSA_PARAMETER_SETS[1].oid), algorithmId(id_sha256)),
    ).toBe(
      'SHA-256 (128-bit collision strength) is too weak for ML-DSA-65, which needs 192 bits (RFC 9882 3.3)',
    );
  });

  it('holds the digests RFC 9814 4 requires for each SLH-DSA set, and refuses weaker ones', () => {
    const required: Readonly<Record<string, string>> = {
      'sha2-128': 'SHA-256',
      'sha2-192': 'SHA-512',
      'sha2-256': 'SHA-512',
      'shake-128': 'SHAKE128',
      'shake-192': 'SHAKE256',
      'shake-256': 'SHAKE256',
    };
    for (const set of SLH_DSA_PARAMETER_SETS) {
      const list = allowed(set.oid);
      expect(list, set.label).toContain(required[set.name.slice(8, -1)]);
      expect(list.includes('SHA-256'), set.label).toBe(set.n === 16);
      expect(list.includes('SHA-384'), set.label).toBe(set.n <= 24);
      expect(list, set.label).toContain('SHA-512');
    }
  });

  it('refuses parameters on the digest, SHA-1 and malformed input; other families have no rule', () => {
    const mlDsa87 = algorithmId(ML_DSA_PARAMETER_SETS[2].oid);
    expect(cmsDigestProblem(mlDsa87, withNullParams(id_sha512))).toBe(
      'the SHA-512 digest algorithm must have no parameters (RFC 9882 3.3)',
    );
    expect(cmsDigestProblem(mlDsa87, algorithmId(id_sha1))).toBe(
      `digest algorithm ${id_sha1} is not allowed with ML-DSA-87`,
    );
    expect(cmsDigestProblem(mlDsa87, Uint8Array.of(0x30, 0x00))).toBe('malformed digest algorithm');
    // ECDSA and the others keep RFC 5652's rules: the registry adds none.
    expect(
      cmsDigestProblem(algorithmId(id_ecdsa_with_SHA256), algorithmId(id_sha1)),
    ).toBeUndefined();
    // An identifier off the allow-list is verifySignature's to refuse.
    expect(
      cmsDigestProblem(withNullParams(ML_DSA_PARAMETER_SETS[0].oid), algorithmId(id_sha1)),
    ).toBe(undefined);
  });
});

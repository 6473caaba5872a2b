// Interop with an independent implementation of FIPS 203, 204 and 205: a Node 26 binary whose
// node:crypto runs OpenSSL 3.5 (test/helpers/oracle-node.ts), driven by test/interop/
// pq-oracle.mjs. It parses our ML-DSA, SLH-DSA and ML-KEM SPKIs and PKCS#8 keys (and exports
// them byte for byte again, the public key derived from our seeds: a known-answer check of our
// key generation), verifies our signatures and an ML-DSA- and an SLH-DSA-signed certificate,
// signs with our keys for us to verify, decapsulates our ML-KEM ciphertexts, and makes keys,
// signatures and ciphertexts of its own that our verifier and adapter must accept. Then the
// adapter's unit tests run under that binary, where the node:crypto backend is the one chosen.
// A second block checks the HSM's own post-quantum keys (their sealed PKCS#8), the RFC 9882 /
// RFC 9814 tokens of its post-quantum units, the AKP JWK and the encrypted PKCS#8 of a
// post-quantum factory root.
// Skipped without the oracle; with CI=true a missing oracle fails the run.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { ml_kem512 } from '@noble/post-quantum/ml-kem.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFactory, type Factory } from '../../src/hsm/index.js';
import { createVerifier, mechanismFor } from '../../src/hsm/key-crypto.js';
import {
  decodePqPkcs8,
  decodePqSpki,
  encodePqPkcs8,
  encodePqSpki,
  importPqPkcs8,
  nobleBackend,
  pqBackend,
  pqParameters,
  type Encapsulation,
  type PqDecapsulationKey,
  type PqKemAlgorithm,
  type PqSignatureAlgorithm,
  type PqSigningKey,
} from '../../src/hsm/pq/index.js';
import {
  ML_KEM_PARAMETER_SETS,
  SLH_DSA_PARAMETER_SETS,
  der,
  encodeRawSpki,
  id_sha256,
  id_sha512,
  id_shake128,
  id_tsaPolicyPostQuantum,
  jwkFormOf,
  keyUsage,
  parseCertificateFields,
  verifySignature,
  type KeyAlgorithm,
} from '../../src/pki/index.js';
import { systemClock } from '../../src/shared/index.js';
import { TokenTemplate } from '../../src/tsa/index.js';
import { contentInfoOf } from '../helpers/cms-token.js';
import { createTestDevice, type TestDevice } from '../helpers/hsm.js';
import { oracleNode } from '../helpers/oracle-node.js';
import { createPqCa, pqSigningKey } from '../helpers/pq-pki.js';
import { tempDir } from '../helpers/tmp.js';
import { requireAvailable } from '../helpers/tools.js';
import { sha256 } from '../helpers/tsp.js';
import { encodeMessageImprint } from '../helpers/tsq.js';

const ROOT = resolve(import.meta.dirname, '../..');
const SCRIPT = resolve(import.meta.dirname, 'pq-oracle.mjs');
const oracle = oracleNode();
const MESSAGE = new TextEncoder().encode('signed here, checked there\n');

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
const flip = (b: Uint8Array): Uint8Array => {
  const out = Uint8Array.from(b);
  out[out.length - 1]! ^= 0x01;
  return out;
};
const seedOf = (algorithm: string, fill: number): Uint8Array =>
  Uint8Array.from({ length: pqParameters(algorithm).seedLength }, (_, i) => (i * 7 + fill) & 0xff);

const ML_DSA: readonly PqSignatureAlgorithm[] = ['ml-dsa-44', 'ml-dsa-65', 'ml-dsa-87'];
const SLH_DSA_ALL = SLH_DSA_PARAMETER_SETS.map((s) => s.name);
/**
 * Our SLH-DSA keys: deriving PK.root of a SHAKE 's' set takes 4-6 s in JavaScript, so the six
 * 'f' sets and SHA2-128s; OpenSSL's keys of all twelve sets come back to us below.
 */
const SLH_DSA_OURS: readonly PqSignatureAlgorithm[] = [
  ...SLH_DSA_ALL.filter((n) => n.endsWith('f')),
  'slh-dsa-sha2-128s',
];
/** The SLH-DSA sets we sign in JavaScript (0.3-1.5 s each). */
const SLH_DSA_SIGNED: readonly PqSignatureAlgorithm[] = [
  'slh-dsa-sha2-128f',
  'slh-dsa-sha2-192f',
  'slh-dsa-sha2-256f',
  'slh-dsa-shake-128f',
];
const ML_KEM: readonly PqKemAlgorithm[] = ['ml-kem-768', 'ml-kem-1024'];

interface OurKey {
  readonly algorithm: PqSignatureAlgorithm;
  readonly key: PqSigningKey;
  readonly spki: Uint8Array;
  readonly pkcs8: Uint8Array;
}
interface OurKem {
  readonly algorithm: PqKemAlgorithm;
  readonly key: PqDecapsulationKey;
  readonly spki: Uint8Array;
  readonly pkcs8: Uint8Array;
  /** The both form (seed and expanded key) of RFC 9935 6, with the public key (v2). */
  readonly both: Uint8Array;
  readonly encapsulation: Encapsulation;
}

interface Failure {
  readonly error?: string;
}
interface OracleResponse {
  readonly node: string;
  readonly openssl: string;
  readonly keys: (Failure & {
    type: string;
    spki: string;
    privateType?: string;
    pkcs8?: string;
    derivedSpki?: string;
  })[];
  readonly signatures: (Failure & { valid: boolean; tampered: boolean })[];
  readonly signWithOurs: (Failure & { signature: string })[];
  readonly certificates: (Failure & { verified: boolean; tampered: boolean })[];
  readonly kem: (Failure & { decapsulated: string; ciphertext: string; sharedSecret: string })[];
  readonly generate: (Failure & {
    spki: string;
    pkcs8: string;
    signature?: string;
    ciphertext?: string;
    sharedSecret?: string;
  })[];
}

function ask(request: Record<string, unknown>): OracleResponse {
  const run = spawnSync(oracle.path!, [SCRIPT], {
    input: JSON.stringify(request),
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`the oracle failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as OracleResponse;
}

/** An item's answer, failing the test with the oracle's error when it has one. */
function answer<T extends Failure>(items: readonly T[], i: number, what: string): T {
  const item = items[i];
  expect(item, what).toBeDefined();
  expect(item!.error, what).toBeUndefined();
  return item!;
}

describe.skipIf(requireAvailable('Node 26 post-quantum oracle', oracle.missing))(
  'the Node 26 node:crypto oracle (OpenSSL 3.5)',
  () => {
    // Our material, made in beforeAll (nothing runs when the oracle is missing): keys from fixed
    // seeds through the adapter (noble on Node 20).
    let ourKeys: OurKey[];
    let ourKems: OurKem[];
    let kem512: Uint8Array;
    let signed: OurKey[];
    let signatures: Uint8Array[];
    let response: OracleResponse;
    let certificates: { certificate: Uint8Array; issuerSpki: Uint8Array }[];
    beforeAll(async () => {
      ourKeys = [...ML_DSA, ...SLH_DSA_OURS].map((algorithm, i) => {
        const seed = seedOf(algorithm, i);
        const key = pqBackend(algorithm).signingKey(algorithm, seed);
        return {
          algorithm,
          key,
          spki: encodePqSpki(algorithm, key.publicKey),
          pkcs8: encodePqPkcs8(algorithm, seed, { publicKey: key.publicKey }),
        };
      });
      ourKems = ML_KEM.map((algorithm, i) => {
        const seed = seedOf(algorithm, 0x40 + i);
        const key = pqBackend(algorithm).decapsulationKey(algorithm, seed);
        return {
          algorithm,
          key,
          spki: encodePqSpki(algorithm, key.publicKey),
          pkcs8: encodePqPkcs8(algorithm, seed),
          both: encodePqPkcs8(algorithm, seed, { form: 'both', includePublicKey: true }),
          encapsulation: pqBackend(algorithm).encapsulate(algorithm, key.publicKey),
        };
      });
      // ML-KEM-512: its SPKI only (src/pki reads it; the adapter has no 512 keys).
      kem512 = encodeRawSpki(
        ML_KEM_PARAMETER_SETS[0].oid,
        ml_kem512.keygen(new Uint8Array(64).fill(9)).publicKey,
      );
      signed = ourKeys.filter(
        (k) => ML_DSA.includes(k.algorithm) || SLH_DSA_SIGNED.includes(k.algorithm),
      );
      signatures = signed.map((k) => k.key.sign(MESSAGE));

      const mlDsaCa = await createPqCa(pqSigningKey('ml-dsa-87', 0x61));
      const slhCa = await createPqCa(pqSigningKey('slh-dsa-sha2-128f', 0x62));
      const leafKey = ourKeys[0]!.spki;
      certificates = [
        { certificate: mlDsaCa.root, issuerSpki: mlDsaCa.rootKey.spki },
        {
          certificate: await mlDsaCa.issue(leafKey, 'ML-DSA-44 leaf'),
          issuerSpki: mlDsaCa.rootKey.spki,
        },
        {
          certificate: await mlDsaCa.issue(ourKems[0]!.spki, 'ML-KEM-768 leaf', [
            keyUsage(['keyEncipherment']),
          ]),
          issuerSpki: mlDsaCa.rootKey.spki,
        },
        {
          certificate: await slhCa.issue(leafKey, 'under SLH-DSA'),
          issuerSpki: slhCa.rootKey.spki,
        },
      ];
      response = ask({
        keys: [
          ...ourKeys.map((k) => ({ spki: b64(k.spki), pkcs8: b64(k.pkcs8) })),
          ...ourKems.flatMap((k) => [
            { spki: b64(k.spki), pkcs8: b64(k.pkcs8) },
            { spki: b64(k.spki), pkcs8: b64(k.both) },
          ]),
          { spki: b64(kem512) },
        ],
        signatures: signed.map((k, i) => ({
          spki: b64(k.spki),
          message: b64(MESSAGE),
          signature: b64(signatures[i]!),
        })),
        signWithOurs: ourKeys.map((k) => ({ pkcs8: b64(k.pkcs8), message: b64(MESSAGE) })),
        certificates: certificates.map((c) => ({
          certificate: b64(c.certificate),
          issuerSpki: b64(c.issuerSpki),
        })),
        kem: ourKems.map((k) => ({
          spki: b64(k.spki),
          pkcs8: b64(k.pkcs8),
          ciphertext: b64(k.encapsulation.ciphertext),
        })),
        generate: [
          ...[...ML_DSA, ...SLH_DSA_ALL].map((algorithm) => ({ algorithm, message: b64(MESSAGE) })),
          ...ML_KEM.map((algorithm) => ({ algorithm })),
        ],
      });
    }, 240_000);

    it('is Node 26 with OpenSSL 3.5', () => {
      expect(response.node).toMatch(/^v26\./);
      expect(response.openssl).toMatch(/^3\.[5-9]/);
    });

    it('parses our SPKIs and PKCS#8 keys and writes them back byte for byte', () => {
      ourKeys.forEach((k, i) => {
        const a = answer(response.keys, i, k.algorithm);
        expect(a.type, k.algorithm).toBe(k.algorithm);
        expect(a.privateType, k.algorithm).toBe(k.algorithm);
        expect(a.spki, k.algorithm).toBe(b64(k.spki));
        // Seed-only for ML-DSA (RFC 9881 6), the raw 4n octets for SLH-DSA (RFC 9909 7).
        expect(a.pkcs8, k.algorithm).toBe(b64(k.pkcs8));
      });
      ourKems.forEach((k, i) => {
        for (const [j, form] of [
          [0, 'seed'],
          [1, 'both, with the public key'],
        ] as const) {
          const a = answer(response.keys, ourKeys.length + 2 * i + j, `${k.algorithm} ${form}`);
          expect(a.type).toBe(k.algorithm);
          // OpenSSL checks the expanded key against the seed and writes the seed-only form.
          expect(a.pkcs8, `${k.algorithm} ${form}`).toBe(b64(k.pkcs8));
        }
      });
      const k512 = answer(response.keys, ourKeys.length + 2 * ourKems.length, 'ml-kem-512');
      expect(k512.type).toBe('ml-kem-512');
      expect(k512.spki).toBe(b64(kem512));
    });

    it('derives from our ML-DSA and ML-KEM seeds the public keys we derive (known answer)', () => {
      const mlDsa = ourKeys.filter((k) => ML_DSA.includes(k.algorithm));
      mlDsa.forEach((k, i) => {
        expect(answer(response.keys, i, k.algorithm).derivedSpki, k.algorithm).toBe(b64(k.spki));
      });
      ourKems.forEach((k, i) => {
        const a = answer(response.keys, ourKeys.length + 2 * i, k.algorithm);
        expect(a.derivedSpki, k.algorithm).toBe(b64(k.spki));
      });
    });

    it('verifies our ML-DSA and SLH-DSA signatures, and not once tampered', () => {
      signed.forEach((k, i) => {
        const a = answer(response.signatures, i, k.algorithm);
        expect(a.valid, k.algorithm).toBe(true);
        expect(a.tampered, k.algorithm).toBe(false);
      });
    });

    it('signs with our keys what our public keys verify (SLH-DSA: our PK.root is right)', async () => {
      for (const [i, k] of ourKeys.entries()) {
        const signature = bytes(answer(response.signWithOurs, i, k.algorithm).signature);
        const alg = der.algorithmIdentifier(pqParameters(k.algorithm).oid);
        expect(await verifySignature(k.spki, alg, MESSAGE, signature), k.algorithm).toBe(true);
        expect(nobleBackend.verify(k.algorithm, k.key.publicKey, MESSAGE, signature)).toBe(true);
      }
    });

    it('verifies certificates signed with ML-DSA and SLH-DSA with X509Certificate.verify', () => {
      const names = ['ML-DSA-87 root', 'ML-DSA-44 leaf', 'ML-KEM-768 leaf', 'leaf under SLH-DSA'];
      names.forEach((name, i) => {
        const a = answer(response.certificates, i, name);
        expect(a.verified, name).toBe(true);
        expect(a.tampered, name).toBe(false);
      });
    });

    it('decapsulates our ML-KEM ciphertexts, and we decapsulate its', () => {
      ourKems.forEach((k, i) => {
        const a = answer(response.kem, i, k.algorithm);
        expect(a.decapsulated).toBe(b64(k.encapsulation.sharedSecret));
        expect(b64(k.key.decapsulate(bytes(a.ciphertext)))).toBe(a.sharedSecret);
      });
    });

    it('makes ML-DSA and SLH-DSA keys and signatures that our verifier accepts, all twelve SLH-DSA sets', async () => {
      const algorithms = [...ML_DSA, ...SLH_DSA_ALL];
      for (const [i, algorithm] of algorithms.entries()) {
        const a = answer(response.generate, i, algorithm);
        const spki = bytes(a.spki);
        const signature = bytes(a.signature!);
        const alg = der.algorithmIdentifier(pqParameters(algorithm).oid);
        expect(await verifySignature(spki, alg, MESSAGE, signature), algorithm).toBe(true);
        expect(await verifySignature(spki, alg, MESSAGE, flip(signature)), algorithm).toBe(false);
        expect(decodePqSpki(spki).algorithm).toBe(algorithm);
        const decoded = decodePqPkcs8(bytes(a.pkcs8));
        expect(decoded.algorithm).toBe(algorithm);
        if (ML_DSA.includes(algorithm)) {
          // Its seed-only PKCS#8: we derive from its seed the public key it made.
          const imported = importPqPkcs8(bytes(a.pkcs8));
          expect(b64(encodePqSpki(algorithm, imported.publicKey)), algorithm).toBe(a.spki);
        } else {
          // Its raw private key ends with its public key (RFC 9909 7).
          const n = pqParameters(algorithm).publicKeyLength;
          expect(b64(decoded.expandedKey!.subarray(-n))).toBe(b64(decodePqSpki(spki).publicKey));
        }
      }
    });

    it('makes ML-KEM keys whose seed we import and whose ciphertext we decapsulate', () => {
      ML_KEM.forEach((algorithm, j) => {
        const a = answer(response.generate, ML_DSA.length + SLH_DSA_ALL.length + j, algorithm);
        const imported = importPqPkcs8(bytes(a.pkcs8));
        expect(b64(encodePqSpki(algorithm, imported.publicKey))).toBe(a.spki);
        const key = pqBackend(algorithm).decapsulationKey(algorithm, imported.seed);
        expect(b64(key.decapsulate(bytes(a.ciphertext!)))).toBe(a.sharedSecret);
      });
    });

    it('runs the adapter unit tests under its node, the node:crypto backend chosen', () => {
      const run = spawnSync(
        oracle.path!,
        [resolve(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', 'test/unit/hsm/pq/pq.test.ts'],
        {
          cwd: ROOT,
          encoding: 'utf8',
          timeout: 240_000,
          env: {
            ...process.env,
            ATTESTAMP_PQ_EXPECT_NODE: '1',
            // The unit file needs no database: no PostgreSQL cluster for the nested run.
            ATTESTAMP_TEST_POSTGRES_URL: 'off',
            NO_COLOR: '1',
          },
        },
      );
      const output = stripVTControlCharacters(run.stdout);
      expect(run.status, `${output}\n${run.stderr}`).toBe(0);
      // Every test ran (none skipped): node:crypto has every algorithm there.
      expect(output).toMatch(/Tests\s+(\d+) passed \(\1\)/);
      expect(output).not.toMatch(/skipped/);
    }, 300_000);
  },
);

/**
 * The HSM's own post-quantum keys and time-stamp tokens, checked by the same oracle: the sealed
 * form of each mechanism's keys is the PKCS#8 OpenSSL reads and writes back; tokens of ML-DSA-44,
 * ML-DSA-65 and SLH-DSA-SHAKE-128f units verify over their signed attributes with node:crypto's
 * verify and the key from the signer certificate, their messageDigest is the digest of eContent,
 * and each certificate of the chain verifies with X509Certificate.verify; the AKP JWK of an
 * ML-DSA key is the one node:crypto writes.
 */
const FACTORY_PASSPHRASE = 'an oracle test passphrase';
const rootSpki = (factory: Factory): Uint8Array =>
  parseCertificateFields(factory.rootCertificate).spki;

describe.skipIf(requireAvailable('Node 26 post-quantum oracle', oracle.missing))(
  'the HSM post-quantum keys and tokens against the Node 26 oracle',
  () => {
    const UNITS = [
      ['pq44', 'ml-dsa-44', id_sha512],
      ['pq65', 'ml-dsa-65', id_sha512],
      ['shake', 'slh-dsa-shake-128f', id_shake128],
    ] as const;
    const HSM_KEYS = ['ml-dsa-44', 'ml-dsa-65', 'ml-dsa-87', 'slh-dsa-sha2-128f'] as const;
    let device: TestDevice;
    let tokens: { token: Uint8Array; chain: readonly Uint8Array[] }[];
    let hsmKeys: { algorithm: KeyAlgorithm; pkcs8: Uint8Array; spki: Uint8Array }[];
    /** An ML-DSA-87 factory's encrypted root key file and its root certificate. */
    let factoryRoot: { pem: string; certificate: Uint8Array };
    let response: OracleResponse & {
      tokens: (Failure & {
        signatureAlgorithm: string;
        digestAlgorithm: string;
        keyType: string;
        digestMatches: boolean;
        signatureValid: boolean;
        tamperedValid: boolean;
        chainVerified: boolean[];
      })[];
      jwks: (Failure & Record<string, unknown>)[];
      encrypted: (Failure & { type: string; spki: string; wrongPassphrase: string })[];
    };

    beforeAll(async () => {
      device = await createTestDevice();
      tokens = [];
      for (const [name, algorithm] of UNITS) {
        await device.hsm.createPartition(name, { timestampAlgorithm: algorithm });
        const signer = await device.hsm.timestampSigner(name);
        const template = new TokenTemplate({
          signer,
          includeIssuers: true,
          accuracy: { seconds: 1, millis: 0, micros: 0 },
          qualified: false,
          includeTsaName: true,
        });
        const built = await template.build({
          policy: der.oid(id_tsaPolicyPostQuantum),
          messageImprint: encodeMessageImprint({ hashOid: id_sha256, digest: sha256(MESSAGE) }),
          serialNumber: der.integer(7n),
          genTime: '20261201064352.142Z',
          nonce: Uint8Array.of(1, 2, 3),
          certReq: true,
        });
        tokens.push({ token: contentInfoOf(built.response), chain: signer.certificateChain });
      }
      hsmKeys = [];
      for (const algorithm of HSM_KEYS) {
        const mechanism = mechanismFor(algorithm);
        const { privateKey, publicPart } = await mechanism.generate();
        hsmKeys.push({ algorithm, pkcs8: mechanism.encode(privateKey), spki: publicPart });
      }
      const factoryDir = join(tempDir(), 'factory');
      const factory = await createFactory(factoryDir, {
        algorithm: 'ml-dsa-87',
        passphrase: FACTORY_PASSPHRASE,
        clock: systemClock,
      });
      factoryRoot = {
        pem: readFileSync(join(factoryDir, 'root-key.pem'), 'utf8'),
        certificate: factory.rootCertificate,
      };
      response = ask({
        encrypted: [{ pem: factoryRoot.pem, passphrase: FACTORY_PASSPHRASE }],
        certificates: [
          { certificate: b64(factoryRoot.certificate), issuerSpki: b64(rootSpki(factory)) },
        ],
        tokens: tokens.map((t) => ({ token: b64(t.token), chain: t.chain.map(b64) })),
        keys: hsmKeys.map((k) => ({ spki: b64(k.spki), pkcs8: b64(k.pkcs8) })),
        signWithOurs: hsmKeys.map((k) => ({ pkcs8: b64(k.pkcs8), message: b64(MESSAGE) })),
        jwks: hsmKeys
          .filter((k) => k.algorithm.startsWith('ml-'))
          .map((k) => ({ spki: b64(k.spki) })),
      }) as typeof response;
    }, 240_000);

    afterAll(async () => {
      await device.hsm.close();
    });

    it.each(UNITS.map((u, i) => [...u, i] as const))(
      '%s (%s): the token verifies over its signed attributes, digest and chain',
      (_name, algorithm, digestOid, i) => {
        const a = answer(response.tokens, i, algorithm);
        expect(a.signatureAlgorithm).toBe(pqParameters(algorithm).oid);
        expect(a.digestAlgorithm).toBe(digestOid);
        expect(a.keyType).toBe(algorithm);
        expect(a.digestMatches).toBe(true);
        expect(a.signatureValid).toBe(true);
        expect(a.tamperedValid).toBe(false);
        // TSA certificate under the device key, device under the root, root self-signed.
        expect(a.chainVerified).toEqual([true, true, true]);
      },
    );

    it("reads the mechanisms' sealed PKCS#8 and writes it back byte for byte; signs with it", () => {
      hsmKeys.forEach((k, i) => {
        const a = answer(response.keys, i, k.algorithm);
        expect(a.privateType).toBe(k.algorithm);
        expect(a.pkcs8).toBe(b64(k.pkcs8));
        expect(a.derivedSpki).toBe(b64(k.spki));
        const signature = bytes(answer(response.signWithOurs, i, k.algorithm).signature);
        expect(createVerifier(k.spki, k.algorithm)(MESSAGE, signature), k.algorithm).toBe(true);
      });
    });

    it('runs the mechanism unit tests under its node: generate, seal, load, sign with node:crypto', () => {
      const run = spawnSync(
        oracle.path!,
        [
          resolve(ROOT, 'node_modules/vitest/vitest.mjs'),
          'run',
          'test/unit/hsm/mechanisms/pq.test.ts',
        ],
        {
          cwd: ROOT,
          encoding: 'utf8',
          timeout: 240_000,
          env: {
            ...process.env,
            ATTESTAMP_PQ_EXPECT_NODE: '1',
            ATTESTAMP_TEST_POSTGRES_URL: 'off',
            NO_COLOR: '1',
          },
        },
      );
      const output = stripVTControlCharacters(run.stdout);
      expect(run.status, `${output}\n${run.stderr}`).toBe(0);
      expect(output).toMatch(/Tests\s+(\d+) passed \(\1\)/);
      expect(output).not.toMatch(/skipped/);
    }, 300_000);

    it("opens a post-quantum factory's encrypted root key (PBES2, scrypt) and verifies its root", () => {
      const a = answer(response.encrypted, 0, 'ml-dsa-87 factory root key');
      expect(factoryRoot.pem).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
      expect(a.type).toBe('ml-dsa-87');
      expect(bytes(a.spki)).toEqual(parseCertificateFields(factoryRoot.certificate).spki);
      expect(a.wrongPassphrase).toBe('refused');
      const root = answer(response.certificates, 0, 'ml-dsa-87 factory root');
      expect([root.verified, root.tampered]).toEqual([true, false]);
    });

    it('writes the AKP JWK of an ML-DSA key as we do (draft-ietf-cose-dilithium)', () => {
      hsmKeys
        .filter((k) => k.algorithm.startsWith('ml-'))
        .forEach((k, i) => {
          const theirs = answer(response.jwks, i, k.algorithm);
          const form = jwkFormOf(k.spki);
          expect(form.kind).toBe('akp');
          expect(form.kind === 'akp' ? form.jwk : undefined).toEqual({
            kty: theirs.kty,
            alg: theirs.alg,
            pub: theirs.pub,
          });
          expect(Object.keys(theirs).sort()).toEqual(['alg', 'kty', 'pub']);
        });
    });
  },
);

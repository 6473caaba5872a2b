// The post-quantum signature mechanisms (src/hsm/mechanisms/ml-dsa.ts, slh-dsa.ts over
// src/hsm/pq): keys are seeds in a MaterialKey, sealed as seed-form PKCS#8 (RFC 9881 6; SLH-DSA
// raw, RFC 9909 7), imported by their OID with the consistency checks, their public part is the
// SPKI; pure signatures verify with the verifier, with @noble/post-quantum alone and with the
// mechanism's own verifier; no digest mode; keys and public keys of other algorithms refused.
// It loads no store and no native module: test/interop/pq-oracle.test.ts also runs it under
// Node 26, where the node:crypto backend is the one the mechanisms use.
import { generateKeyPairSync, KeyObject } from 'node:crypto';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { slh_dsa_sha2_128f } from '@noble/post-quantum/slh-dsa.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { describePublicKey, verifySignature } from '../../../../src/attestation/index.js';
import { createVerifier, importKeyMaterial } from '../../../../src/hsm/key-crypto.js';
import {
  digestVerifyOperation,
  MaterialKey,
  mechanismFor,
  signDigestOperation,
  signOperation,
  type GeneratedKey,
} from '../../../../src/hsm/mechanisms/index.js';
import {
  decodePqPkcs8,
  encodePqPkcs8,
  encodePqSpki,
  pqBackend,
  pqParameters,
} from '../../../../src/hsm/pq/index.js';
import {
  KEY_ALGORITHMS,
  keyAlgorithmInfo,
  publicKeyLabel,
  signatureAlgorithmDer,
  type KeyAlgorithm,
} from '../../../../src/pki/index.js';
import { HsmError, type HsmErrorCode } from '../../../../src/hsm/errors.js';
import { NOBLE_PQ, noblePqVerify } from '../../../helpers/noble-pq.js';

/** Set by test/interop/pq-oracle.test.ts, which runs this file under Node 26 as well. */
const EXPECT_NODE = process.env.ATTESTAMP_PQ_EXPECT_NODE === '1';
const MESSAGE = new TextEncoder().encode('attestamp hsm test message');

/** Runs `fn`, expects an HsmError with `code` (this file loads no store: no ../support.js). */
function expectHsmError(fn: () => unknown, code: HsmErrorCode): HsmError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `expected HsmError '${code}'`).toBeInstanceOf(HsmError);
  expect((thrown as HsmError).code).toBe(code);
  return thrown as HsmError;
}

const PQ = KEY_ALGORITHMS.filter((n) => keyAlgorithmInfo(n).postQuantum === true);
const ML_DSA = PQ.filter((n) => keyAlgorithmInfo(n).mechanism === 'ml-dsa');
const SLH_DSA = PQ.filter((n) => keyAlgorithmInfo(n).mechanism === 'slh-dsa');
/**
 * The algorithms signed here: every ML-DSA set and two SLH-DSA sets, one per hash family (an
 * SLH-DSA 'f' signature takes 0.5 to 4 s in @noble/post-quantum; the others generate, seal and
 * load below, and sign in the oracle test).
 */
const SIGNED: readonly KeyAlgorithm[] = [...ML_DSA, 'slh-dsa-sha2-128f', 'slh-dsa-shake-128f'];

const keys = new Map<KeyAlgorithm, GeneratedKey>();

beforeAll(async () => {
  for (const name of PQ) keys.set(name, await mechanismFor(name).generate());
}, 120_000);

function keyOf(name: KeyAlgorithm): GeneratedKey {
  const key = keys.get(name);
  if (key === undefined) throw new Error(`no key for ${name}`);
  return key;
}

const flip = (bytes: Uint8Array, index = bytes.length >> 1): Uint8Array => {
  const out = bytes.slice();
  out[index]! ^= 0x01;
  return out;
};

const counting = (length: number): Uint8Array => Uint8Array.from({ length }, (_, i) => i);

describe('the post-quantum key algorithms of the HSM', () => {
  it(`run on ${EXPECT_NODE ? "node:crypto (this Node's OpenSSL)" : '@noble/post-quantum on Node 20'}`, () => {
    const backends = new Set(PQ.map((n) => pqBackend(pqParameters(n).name).name));
    const nodeMajor = Number(process.versions.node.split('.')[0]);
    if (EXPECT_NODE) expect([...backends]).toEqual(['node:crypto']);
    else if (nodeMajor < 24) expect([...backends]).toEqual(['@noble/post-quantum']);
  });

  it('are the three ML-DSA sets and the six fast SLH-DSA sets, with a mechanism each', () => {
    expect(ML_DSA).toEqual(['ml-dsa-44', 'ml-dsa-65', 'ml-dsa-87']);
    expect(SLH_DSA).toEqual([
      'slh-dsa-sha2-128f',
      'slh-dsa-sha2-192f',
      'slh-dsa-sha2-256f',
      'slh-dsa-shake-128f',
      'slh-dsa-shake-192f',
      'slh-dsa-shake-256f',
    ]);
    for (const name of PQ) {
      const mechanism = mechanismFor(name);
      expect(mechanism.info).toBe(keyAlgorithmInfo(name));
      expect(mechanism.keyClass).toBe('signature');
      expect(mechanism.pkcs8Oids).toEqual([keyAlgorithmInfo(name).spkiOid]);
      expect(signOperation(name)).toBe(signOperation(name));
    }
  });
});

describe.each(PQ)('%s', (name) => {
  const p = pqParameters(name);

  it('generates a MaterialKey whose public part is its SPKI, parameters absent', () => {
    const { privateKey, publicPart } = keyOf(name);
    expect(privateKey).toBeInstanceOf(MaterialKey);
    expect(privateKey).not.toBeInstanceOf(KeyObject);
    expect(describePublicKey(publicPart).kind).toBe(keyAlgorithmInfo(name).family);
    expect(publicKeyLabel(publicPart)).toBe(p.label);
    expect(mechanismFor(name).publicPart(privateKey)).toEqual(publicPart);
    // The seed never shows in what logs or serialises the key.
    expect(JSON.stringify(privateKey)).toBe(JSON.stringify({ algorithm: name }));
  });

  it('encodes the seed-only PKCS#8 and loads it back to the same key', () => {
    const mechanism = mechanismFor(name);
    const { privateKey, publicPart } = keyOf(name);
    const pkcs8 = mechanism.encode(privateKey);
    const decoded = decodePqPkcs8(pkcs8);
    expect(decoded.algorithm).toBe(name);
    expect(decoded.version).toBe(0);
    expect(decoded.publicKey).toBeUndefined();
    expect(decoded.seed?.length).toBe(p.seedLength);
    // ML-DSA: the seed [0] choice alone (RFC 9881 6); SLH-DSA: its 4n-octet raw key (RFC 9909 7).
    expect(decoded.expandedKey === undefined).toBe(p.privateKeyForm === 'choice');
    if (p.privateKeyForm === 'choice') {
      // SEQUENCE { 0, AlgorithmIdentifier, OCTET STRING { [0] ξ } }: 54 octets, ξ the last 32.
      expect(pkcs8.length).toBe(54);
      expect(Buffer.from(pkcs8.subarray(18, 22)).toString('hex')).toBe('04228020');
    } else expect(decoded.expandedKey?.length).toBe(p.privateKeyLength);
    const loaded = mechanism.load(pkcs8);
    expect(mechanism.publicPart(loaded)).toEqual(publicPart);
    expect(mechanism.encode(loaded)).toEqual(pkcs8);
    const imported = importKeyMaterial(pkcs8, false);
    expect(imported.algorithm).toBe(name);
    expect(imported.publicPart).toEqual(publicPart);
  });

  it('a fixed seed gives the public key @noble/post-quantum derives from it', () => {
    const seed = counting(p.seedLength);
    const key = mechanismFor(name).load(encodePqPkcs8(p.name, seed));
    const noble = NOBLE_PQ[name]!.keygen(seed);
    expect(mechanismFor(name).publicPart(key)).toEqual(encodePqSpki(p.name, noble.publicKey));
  });

  it('has no digest mode: signing or verifying a digest is invalid-argument', () => {
    for (const fn of [
      () => signDigestOperation(name),
      () => digestVerifyOperation(name, keyOf(name).publicPart),
    ]) {
      const error = expectHsmError(fn, 'invalid-argument');
      expect(error.message).toBe('the key algorithm signs whole messages only, not a digest');
      expect(error.details).toEqual({ algorithm: name, field: 'digest' });
    }
  });

  it("refuses another algorithm's PKCS#8 and SPKI", () => {
    const mechanism = mechanismFor(name);
    const other = PQ.find((n) => n !== name)!;
    const foreign = mechanismFor(other).encode(keyOf(other).privateKey);
    const error = expectHsmError(() => mechanism.load(foreign), 'invalid-argument');
    expect(error.message).toBe('the private key is not of the named algorithm');
    expect(error.details).toEqual({ algorithm: name, type: other });
    const bound = expectHsmError(
      () => createVerifier(keyOf(other).publicPart, name),
      'invalid-argument',
    );
    expect(bound.details).toEqual({ algorithm: name, type: other });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ecPkcs8 = new Uint8Array(ec.privateKey.export({ type: 'pkcs8', format: 'der' }));
    const ecSpki = new Uint8Array(ec.publicKey.export({ type: 'spki', format: 'der' }));
    expect(expectHsmError(() => mechanism.load(ecPkcs8), 'invalid-argument').message).toBe(
      'not a post-quantum private key',
    );
    expect(expectHsmError(() => createVerifier(ecSpki, name), 'invalid-argument').message).toBe(
      'not a post-quantum public key',
    );
  });
});

describe.each(SIGNED)('%s signatures', (name) => {
  it('verify with the verifier, @noble/post-quantum alone and the mechanism; tampering fails', async () => {
    const mechanism = mechanismFor(name);
    const { privateKey, publicPart } = keyOf(name);
    const algorithm = signatureAlgorithmDer(name);
    const signature = mechanism.sign!(privateKey, MESSAGE);
    expect(signature.length).toBe(pqParameters(name).outputLength);
    expect(await verifySignature(publicPart, algorithm, MESSAGE, signature)).toBe(true);
    expect(await verifySignature(publicPart, algorithm, flip(MESSAGE), signature)).toBe(false);
    expect(await verifySignature(publicPart, algorithm, MESSAGE, flip(signature))).toBe(false);
    expect(noblePqVerify(name, publicPart, MESSAGE, signature)).toBe(true);
    const verify = createVerifier(publicPart, name);
    expect(verify(MESSAGE, signature)).toBe(true);
    expect(verify(flip(MESSAGE), signature)).toBe(false);
    expect(verify(MESSAGE, signature.subarray(1))).toBe(false);
    // Under the identifier of another parameter set, or of a classical algorithm: refused.
    for (const other of ['ecdsa-p256', ...PQ.filter((n) => n !== name)] as KeyAlgorithm[]) {
      expect(
        await verifySignature(publicPart, signatureAlgorithmDer(other), MESSAGE, signature),
      ).toBe(false);
    }
    // A key loaded from the sealed form signs as the generated one.
    const loaded = mechanism.load(mechanism.encode(privateKey));
    expect(verify(MESSAGE, mechanism.sign!(loaded, MESSAGE))).toBe(true);
  }, 60_000);
});

describe('hedged signatures and known keys', () => {
  it('ML-DSA signatures are hedged: two over one message differ, both verify', () => {
    for (const name of ML_DSA) {
      const { privateKey, publicPart } = keyOf(name);
      const a = mechanismFor(name).sign!(privateKey, MESSAGE);
      const b = mechanismFor(name).sign!(privateKey, MESSAGE);
      expect(a).not.toEqual(b);
      expect(createVerifier(publicPart, name)(MESSAGE, b)).toBe(true);
    }
  });

  it('a key imported from @noble/post-quantum signs what noble verifies, and the reverse', () => {
    const impls = { 'ml-dsa-44': ml_dsa44, 'ml-dsa-65': ml_dsa65, 'ml-dsa-87': ml_dsa87 };
    for (const [name, impl] of Object.entries(impls) as [KeyAlgorithm, typeof ml_dsa44][]) {
      const seed = counting(32).reverse();
      const pair = impl.keygen(seed);
      const key = mechanismFor(name).load(encodePqPkcs8(pqParameters(name).name, seed));
      const ours = mechanismFor(name).sign!(key, MESSAGE);
      expect(impl.verify(ours, MESSAGE, pair.publicKey)).toBe(true);
      const theirs = impl.sign(MESSAGE, pair.secretKey);
      expect(createVerifier(mechanismFor(name).publicPart(key), name)(MESSAGE, theirs)).toBe(true);
    }
    const seed = counting(48);
    const pair = slh_dsa_sha2_128f.keygen(seed);
    const key = mechanismFor('slh-dsa-sha2-128f').load(encodePqPkcs8('slh-dsa-sha2-128f', seed));
    expect(mechanismFor('slh-dsa-sha2-128f').publicPart(key)).toEqual(
      encodePqSpki('slh-dsa-sha2-128f', pair.publicKey),
    );
  }, 60_000);

  it('a key of another mechanism is a programming error, not a client fault', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    expect(() => mechanismFor('ml-dsa-44').sign!(ec, MESSAGE)).toThrow(
      'a node:crypto key was given to the ml-dsa-44 mechanism',
    );
    expect(() => mechanismFor('ecdsa-p256').sign!(keyOf('ml-dsa-44').privateKey, MESSAGE)).toThrow(
      'a ml-dsa-44 key was given to a node:crypto mechanism',
    );
    expect(() => mechanismFor('ml-dsa-65').sign!(keyOf('ml-dsa-44').privateKey, MESSAGE)).toThrow(
      'a ml-dsa-44 key was given to the ml-dsa-65 mechanism',
    );
  });
});

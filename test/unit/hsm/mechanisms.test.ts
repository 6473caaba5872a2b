// The mechanism registry (src/hsm/mechanisms): every key algorithm generates, signs and exports
// through its family's mechanism, and the verifier (src/attestation, WebCrypto and noble) accepts
// what it signs under the registry's AlgorithmIdentifier; detection, loading and unknown names.
import { generateKeyPairSync, KeyObject } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { describePublicKey, verifySignature } from '../../../src/attestation/index.js';
import {
  createVerifier,
  generateKey,
  importKeyMaterial,
  mechanismFor,
  signOperation,
  signWith,
} from '../../../src/hsm/key-crypto.js';
import {
  OTHER_ALGORITHMS,
  allMechanisms,
  exportPkcs8,
  loadPkcs8,
  spkiOf,
} from '../../../src/hsm/mechanisms/index.js';
import {
  KEY_ALGORITHMS,
  PkiError,
  keyAlgorithmInfo,
  signatureAlgorithmDer,
  type KeyAlgorithm,
} from '../../../src/pki/index.js';
import { expectHsmError, MESSAGE, verifySignature as nodeVerify } from './support.js';

/** A generated key of a node:crypto-backed mechanism, with its SPKI. */
interface NodeTestKey {
  readonly privateKey: KeyObject;
  readonly spki: Uint8Array;
}

const keys = new Map<KeyAlgorithm, NodeTestKey>();

/** The node:crypto-backed algorithms; the post-quantum ones are tested in mechanisms/pq.test.ts. */
const NODE_ALGORITHMS = KEY_ALGORITHMS.filter((n) => keyAlgorithmInfo(n).postQuantum !== true);

beforeAll(async () => {
  const generated = await Promise.all(NODE_ALGORITHMS.map((n) => mechanismFor(n).generate()));
  NODE_ALGORITHMS.forEach((n, i) => {
    const { privateKey, publicPart } = generated[i]!;
    if (!(privateKey instanceof KeyObject)) throw new Error(`${n}: not a node:crypto key`);
    keys.set(n, { privateKey, spki: publicPart });
  });
}, 120_000);

/** The algorithm an imported PKCS#8 is detected as. */
function detectAlgorithm(key: KeyObject, pss: boolean): string {
  return importKeyMaterial(exportPkcs8(key), pss).algorithm;
}

function keyOf(name: KeyAlgorithm): NodeTestKey {
  const k = keys.get(name);
  if (k === undefined) throw new Error(`no key for ${name}`);
  return k;
}

function flip(bytes: Uint8Array, index = bytes.length >> 1): Uint8Array {
  const out = bytes.slice();
  out[index]! ^= 0x01;
  return out;
}

async function expectPkiRejection(promise: Promise<unknown>, code: string): Promise<void> {
  let thrown: unknown;
  try {
    await promise;
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(PkiError);
  expect((thrown as PkiError).code).toBe(code);
}

describe('every mechanism round-trips generate, sign and verify', () => {
  it('has one mechanism per key algorithm, bound to its registry entry', () => {
    // The signature algorithms first, then the others (secret keys: mechanisms/secret.test.ts).
    const signing = allMechanisms().filter((m) => m.keyClass === 'signature');
    expect(signing.filter((m) => m.info !== undefined).map((m) => m.info?.name)).toEqual([
      ...KEY_ALGORITHMS,
    ]);
    // The one signature key that src/pki does not sign certificates or tokens with.
    expect(signing.filter((m) => m.info === undefined).map((m) => m.name)).toEqual([
      'ecdsa-secp256k1',
    ]);
    expect(allMechanisms().map((m) => m.name)).toEqual([...KEY_ALGORITHMS, ...OTHER_ALGORITHMS]);
    for (const name of KEY_ALGORITHMS) {
      expect(mechanismFor(name).info).toBe(keyAlgorithmInfo(name));
      // Resolved once: the same operation object every time (nothing built per signature).
      expect(signOperation(name)).toBe(signOperation(name));
    }
  });

  it('the node:crypto and the post-quantum algorithms together are every key algorithm', () => {
    const pq = KEY_ALGORITHMS.filter((n) => keyAlgorithmInfo(n).postQuantum === true);
    expect(pq).toEqual([
      'ml-dsa-44',
      'ml-dsa-65',
      'ml-dsa-87',
      'slh-dsa-sha2-128f',
      'slh-dsa-sha2-192f',
      'slh-dsa-sha2-256f',
      'slh-dsa-shake-128f',
      'slh-dsa-shake-192f',
      'slh-dsa-shake-256f',
    ]);
    expect([...NODE_ALGORITHMS, ...pq]).toEqual([...KEY_ALGORITHMS]);
  });

  it.each(NODE_ALGORITHMS)(
    '%s: the verifier accepts its signature under the registry identifier',
    async (name) => {
      const mechanism = mechanismFor(name);
      const { privateKey, spki } = keyOf(name);
      const algorithm = signatureAlgorithmDer(name);
      expect(describePublicKey(spki).kind).toBe(keyAlgorithmInfo(name).family);

      const signature = mechanism.sign!(privateKey, MESSAGE);
      expect(await verifySignature(spki, algorithm, MESSAGE, signature)).toBe(true);
      expect(await verifySignature(spki, algorithm, flip(MESSAGE), signature)).toBe(false);
      expect(await verifySignature(spki, algorithm, MESSAGE, flip(signature))).toBe(false);
      // The same check with node:crypto alone, and with the HSM's own verifier.
      expect(nodeVerify(name, spki, MESSAGE, signature)).toBe(true);
      expect(createVerifier(spki, name)(MESSAGE, signature)).toBe(true);
      expect(createVerifier(spki, name)(flip(MESSAGE), signature)).toBe(false);
      // key-crypto's signWith goes through the same mechanism.
      const again = signWith(privateKey, name, MESSAGE);
      expect(await verifySignature(spki, algorithm, MESSAGE, again)).toBe(true);

      // A key of another algorithm of the same family does not verify it.
      const sibling = NODE_ALGORITHMS.find(
        (n) => n !== name && keyAlgorithmInfo(n).mechanism === keyAlgorithmInfo(name).mechanism,
      );
      if (sibling !== undefined) {
        expect(await verifySignature(keyOf(sibling).spki, algorithm, MESSAGE, signature)).toBe(
          false,
        );
      }
      // Under another family's identifier, the signature is refused.
      for (const foreign of NODE_ALGORITHMS) {
        if (keyAlgorithmInfo(foreign).mechanism === keyAlgorithmInfo(name).mechanism) continue;
        const foreignAlgorithm = signatureAlgorithmDer(foreign);
        expect(await verifySignature(spki, foreignAlgorithm, MESSAGE, signature), foreign).toBe(
          false,
        );
      }
    },
  );

  it.each(NODE_ALGORITHMS)('%s: PKCS#8 export, load, SPKI and detection agree', (name) => {
    const mechanism = mechanismFor(name);
    const { privateKey, spki } = keyOf(name);
    const pkcs8 = mechanism.encode(privateKey);
    expect(pkcs8).toEqual(exportPkcs8(privateKey));
    const loaded = mechanism.load(pkcs8);
    expect(mechanism.publicPart(loaded)).toEqual(spki);
    expect(spkiOf(loadPkcs8(pkcs8))).toEqual(spki);
    expect(mechanism.pkcs8Oids).toEqual([keyAlgorithmInfo(name).spkiOid]);
    const pss = keyAlgorithmInfo(name).padding === 'pss';
    const imported = importKeyMaterial(pkcs8, pss);
    expect(imported.algorithm).toBe(name);
    expect(imported.publicPart).toEqual(spki);
    expect(loaded instanceof KeyObject && detectAlgorithm(loaded, pss)).toBe(name);
    // A loaded key signs as the generated one did.
    const signature = mechanism.sign!(loaded, MESSAGE);
    expect(createVerifier(spki, name)(MESSAGE, signature)).toBe(true);
  });
});

describe('detection and refusals', () => {
  it('an RSA key is PKCS#1 v1.5 unless PSS is asked for; other keys ignore the flag', () => {
    const rsa = keyOf('rsa-3072').privateKey;
    expect(detectAlgorithm(rsa, false)).toBe('rsa-3072');
    expect(detectAlgorithm(rsa, true)).toBe('rsa-pss-3072');
    expect(detectAlgorithm(keyOf('rsa-pss-4096').privateKey, false)).toBe('rsa-4096');
    expect(detectAlgorithm(keyOf('ecdsa-p384').privateKey, true)).toBe('ecdsa-p384');
    expect(detectAlgorithm(keyOf('ed25519').privateKey, true)).toBe('ed25519');
  });

  it('refuses keys no mechanism fits with invalid-argument', () => {
    const unfit: KeyObject[] = [
      generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey,
      generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
      generateKeyPairSync('x448').privateKey,
      generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).privateKey,
    ];
    const oids = [
      '1.2.840.10045.2.1',
      '1.2.840.113549.1.1.1',
      '1.3.101.111',
      '1.2.840.113549.1.1.10',
    ];
    unfit.forEach((key, i) => {
      const error = expectHsmError(() => detectAlgorithm(key, false), 'invalid-argument');
      expect(error.message).toBe('unsupported key type or size');
      expect(error.details).toEqual({ algorithm: oids[i] });
    });
    expect(
      expectHsmError(() => importKeyMaterial(Uint8Array.of(0x30, 0x00), false), 'invalid-argument')
        .message,
    ).toBe('not a pkcs#8 private key');
  });

  it("a mechanism refuses another algorithm's PKCS#8 and bytes that are none", () => {
    const p384 = mechanismFor('ecdsa-p384').encode(keyOf('ecdsa-p384').privateKey);
    const error = expectHsmError(() => mechanismFor('ecdsa-p256').load(p384), 'invalid-argument');
    expect(error.details).toEqual({ algorithm: 'ecdsa-p256', type: 'ec' });
    const rsa = exportPkcs8(keyOf('rsa-3072').privateKey);
    expectHsmError(() => mechanismFor('rsa-4096').load(rsa), 'invalid-argument');
    expectHsmError(() => mechanismFor('ed25519').load(rsa), 'invalid-argument');
    expect(
      expectHsmError(() => loadPkcs8(Uint8Array.of(0x30, 0x00)), 'invalid-argument').message,
    ).toBe('not a pkcs#8 private key');
  });

  it('an unknown algorithm name fails with algorithm-unsupported, as before the registry', async () => {
    const bogus = 'dsa-1024' as KeyAlgorithm;
    for (const fn of [
      () => mechanismFor(bogus),
      () => signOperation(bogus),
      () => signWith(keyOf('ed25519').privateKey, bogus, MESSAGE),
      () => createVerifier(keyOf('ed25519').spki, bogus),
    ]) {
      let thrown: unknown;
      try {
        fn();
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(PkiError);
      expect((thrown as PkiError).code).toBe('algorithm-unsupported');
      expect((thrown as PkiError).message).toBe('unsupported key algorithm');
    }
    await expectPkiRejection(generateKey(bogus), 'algorithm-unsupported');
  });
});

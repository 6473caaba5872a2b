// Signing and verification over a digest the caller computed (src/hsm/mechanisms: signDigest,
// digestVerifier, signDigestOperation, digestVerifyOperation): every key algorithm with a digest
// mode agrees with node:crypto's whole-message signatures; wrong lengths, bad signatures,
// foreign keys and pure EdDSA are refused; EMSA-PSS at moduli of every top-bit alignment.
import {
  constants,
  createHash,
  createPublicKey,
  createPrivateKey,
  generatePrimeSync,
  privateEncrypt,
  publicDecrypt,
  sign,
  verify,
  KeyObject,
} from 'node:crypto';
import { p256, p384 } from '@noble/curves/nist.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { emsaPssEncode, emsaPssVerify } from '../../../../src/hsm/mechanisms/emsa-pss.js';
import {
  digestVerifyOperation,
  mechanismFor,
  signDigestOperation,
  type GeneratedKey,
} from '../../../../src/hsm/mechanisms/index.js';
import {
  KEY_ALGORITHMS,
  PkiError,
  keyAlgorithmInfo,
  type KeyAlgorithm,
} from '../../../../src/pki/index.js';
import { expectHsmError, MESSAGE, verifySignature as nodeVerify } from '../support.js';

/**
 * The node:crypto-backed algorithms (the post-quantum ones have no digest mode: pure ML-DSA and
 * SLH-DSA, tested in pq.test.ts).
 */
const NODE_ALGORITHMS = KEY_ALGORITHMS.filter((n) => keyAlgorithmInfo(n).postQuantum !== true);
const DIGEST_ALGORITHMS = NODE_ALGORITHMS.filter((n) => n !== 'ed25519');

const keys = new Map<KeyAlgorithm, GeneratedKey>();
/** A second key per algorithm, for "a signature of another key". */
const others = new Map<KeyAlgorithm, GeneratedKey>();

beforeAll(async () => {
  const generated = await Promise.all(NODE_ALGORITHMS.map((n) => mechanismFor(n).generate()));
  NODE_ALGORITHMS.forEach((n, i) => keys.set(n, generated[i]!));
  // RSA keys of the PKCS#1 and PSS algorithms of one size are interchangeable keys: each is
  // the other's second key. The curves get a second key of their own.
  for (const n of NODE_ALGORITHMS) {
    const rsaSibling = n.startsWith('rsa-pss-') ? n.replace('pss-', '') : `rsa-pss-${n.slice(4)}`;
    if (n.startsWith('rsa-')) others.set(n, keys.get(rsaSibling as KeyAlgorithm)!);
    else others.set(n, await mechanismFor(n).generate());
  }
}, 120_000);

function keyOf(name: KeyAlgorithm, map = keys): { privateKey: KeyObject; publicKey: KeyObject } {
  const k = map.get(name);
  if (k === undefined) throw new Error(`no key for ${name}`);
  if (!(k.privateKey instanceof KeyObject)) throw new Error(`${name}: not a node:crypto key`);
  const publicKey = createPublicKey({
    key: Buffer.from(k.publicPart),
    format: 'der',
    type: 'spki',
  });
  return { privateKey: k.privateKey, publicKey };
}

/** The SPKI DER a verifier is bound to. */
function der(publicKey: KeyObject): Uint8Array {
  return new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
}

function spkiOf(name: KeyAlgorithm): Uint8Array {
  return keys.get(name)!.publicPart;
}

function hashOf(name: KeyAlgorithm, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(keyAlgorithmInfo(name).hash!).update(data).digest());
}

function flip(bytes: Uint8Array, index = bytes.length >> 1): Uint8Array {
  const out = bytes.slice();
  out[index]! ^= 0x01;
  return out;
}

describe('which key algorithms have a digest mode', () => {
  it('all but pure EdDSA and the post-quantum ones; the operations are resolved once', () => {
    for (const name of KEY_ALGORITHMS) {
      const mechanism = mechanismFor(name);
      const hasHash = keyAlgorithmInfo(name).hash !== undefined;
      expect(mechanism.signDigest !== undefined, name).toBe(hasHash);
      expect(mechanism.digestVerifier !== undefined, name).toBe(hasHash);
    }
    expect(DIGEST_ALGORITHMS).toEqual(
      KEY_ALGORITHMS.filter((n) => keyAlgorithmInfo(n).hash !== undefined),
    );
    expect(DIGEST_ALGORITHMS.length).toBe(NODE_ALGORITHMS.length - 1);
    for (const name of DIGEST_ALGORITHMS) {
      expect(signDigestOperation(name)).toBe(signDigestOperation(name));
      expect(signDigestOperation(name)).toBe(mechanismFor(name).signDigest);
    }
  });

  it('Ed25519 signs whole messages only: invalid-argument naming the algorithm and the field', () => {
    const { publicKey } = keyOf('ed25519');
    for (const fn of [
      () => signDigestOperation('ed25519'),
      () => digestVerifyOperation('ed25519', der(publicKey)),
    ]) {
      const error = expectHsmError(fn, 'invalid-argument');
      expect(error.message).toBe('the key algorithm signs whole messages only, not a digest');
      expect(error.details).toEqual({ algorithm: 'ed25519', field: 'digest' });
    }
  });

  it('an unknown algorithm name is algorithm-unsupported', () => {
    const bogus = 'dsa-1024' as KeyAlgorithm;
    const { publicKey } = keyOf('ecdsa-p256');
    for (const fn of [
      () => signDigestOperation(bogus),
      () => digestVerifyOperation(bogus, der(publicKey)),
    ]) {
      expect(fn).toThrow(PkiError);
      expect(fn).toThrow(expect.objectContaining({ code: 'algorithm-unsupported' }));
    }
  });
});

describe.each(DIGEST_ALGORITHMS)('%s over a digest', (name) => {
  it('signDigest(hash(data)) verifies as a signature over data with node:crypto', () => {
    const { privateKey } = keyOf(name);
    const signature = signDigestOperation(name)(privateKey, hashOf(name, MESSAGE));
    expect(nodeVerify(name, spkiOf(name), MESSAGE, signature)).toBe(true);
    expect(nodeVerify(name, spkiOf(name), flip(MESSAGE), signature)).toBe(false);
    expect(nodeVerify(name, others.get(name)!.publicPart, MESSAGE, signature)).toBe(false);
  });

  it('digestVerifier accepts sign(data) and signDigest signatures, and nothing else', () => {
    const { privateKey, publicKey } = keyOf(name);
    const check = digestVerifyOperation(name, der(publicKey));
    const digest = hashOf(name, MESSAGE);
    const whole = mechanismFor(name).sign!(privateKey, MESSAGE);
    const overDigest = signDigestOperation(name)(privateKey, digest);
    for (const signature of [whole, overDigest]) {
      expect(check(digest, signature)).toBe(true);
      expect(check(hashOf(name, flip(MESSAGE)), signature)).toBe(false);
      expect(check(flip(digest, 0), signature)).toBe(false);
      expect(check(digest, flip(signature))).toBe(false);
      expect(check(digest, flip(signature, signature.length - 1))).toBe(false);
      expect(check(digest, signature.subarray(0, signature.length - 1))).toBe(false);
      expect(check(digest, Uint8Array.of(...signature, 0))).toBe(false);
      expect(check(digest, new Uint8Array(0))).toBe(false);
      expect(check(digest, new Uint8Array(signature.length).fill(0xff))).toBe(false);
      expect(check(digest, new Uint8Array(signature.length))).toBe(false);
    }
    // The signature of another key of the algorithm, over the same digest.
    const foreign = signDigestOperation(name)(keyOf(name, others).privateKey, digest);
    expect(check(digest, foreign)).toBe(false);
    expect(digestVerifyOperation(name, der(keyOf(name, others).publicKey))(digest, foreign)).toBe(
      true,
    );
  });

  it('a digest of another length is invalid-argument naming the expected length', () => {
    const { privateKey, publicKey } = keyOf(name);
    const length = keyAlgorithmInfo(name).hash === 'sha384' ? 48 : 32;
    const check = digestVerifyOperation(name, der(publicKey));
    const signature = signDigestOperation(name)(privateKey, hashOf(name, MESSAGE));
    for (const size of [0, 20, length - 1, length + 1, 64]) {
      const digest = new Uint8Array(size).fill(0xab);
      for (const fn of [
        () => signDigestOperation(name)(privateKey, digest),
        () => check(digest, signature),
      ]) {
        const error = expectHsmError(fn, 'invalid-argument');
        expect(error.details).toEqual({ field: 'digest', expected: `${length} bytes` });
        expect(JSON.stringify([error.message, error.details])).not.toMatch(/abab|171/);
      }
    }
  });

  it('a verifier is not bound to a public key of another type, curve or size', () => {
    // RSA keys of one size serve both RSA algorithms of that size.
    const shape = (n: KeyAlgorithm): string => n.replace('pss-', '');
    const wrong = NODE_ALGORITHMS.filter((n) => shape(n) !== shape(name));
    expect(wrong.length).toBe(NODE_ALGORITHMS.length - (name.startsWith('rsa-') ? 2 : 1));
    for (const other of wrong) {
      const { publicKey } = keyOf(other);
      const error = expectHsmError(
        () => digestVerifyOperation(name, der(publicKey)),
        'invalid-argument',
      );
      expect(error.details).toEqual({ algorithm: name, type: publicKey.asymmetricKeyType });
    }
  });
});

describe('scheme-specific facts', () => {
  it('RSA PKCS#1 v1.5 is deterministic: the digest signature is the message signature', () => {
    for (const name of ['rsa-3072', 'rsa-4096'] as const) {
      const { privateKey } = keyOf(name);
      const whole = mechanismFor(name).sign!(privateKey, MESSAGE);
      expect(signDigestOperation(name)(privateKey, hashOf(name, MESSAGE))).toEqual(whole);
    }
  });

  it('one RSA key: a PKCS#1 v1.5 signature is no PSS signature and the reverse', () => {
    const { privateKey, publicKey } = keyOf('rsa-3072');
    const digest = hashOf('rsa-3072', MESSAGE);
    const pkcs1 = signDigestOperation('rsa-3072')(privateKey, digest);
    const pss = signDigestOperation('rsa-pss-3072')(privateKey, digest);
    expect(digestVerifyOperation('rsa-3072', der(publicKey))(digest, pkcs1)).toBe(true);
    expect(digestVerifyOperation('rsa-pss-3072', der(publicKey))(digest, pss)).toBe(true);
    expect(digestVerifyOperation('rsa-3072', der(publicKey))(digest, pss)).toBe(false);
    expect(digestVerifyOperation('rsa-pss-3072', der(publicKey))(digest, pkcs1)).toBe(false);
  });

  it.each(['rsa-3072', 'rsa-pss-3072'] as const)(
    '%s: a valid signature without its leading zero octet is refused (RFC 8017 8.1.2, 8.2.2 step 1)',
    (name) => {
      const { privateKey, publicKey } = keyOf(name);
      const check = digestVerifyOperation(name, der(publicKey));
      // About one signature in 200 starts with a zero octet (PKCS#1 v1.5 is deterministic: vary the digest).
      for (let i = 0; i < 20_000; i++) {
        const digest = hashOf(name, Uint8Array.of(...MESSAGE, i & 0xff, i >> 8));
        const signature = signDigestOperation(name)(privateKey, digest);
        if (signature[0] !== 0) continue;
        expect(check(digest, signature)).toBe(true);
        expect(check(digest, signature.subarray(1))).toBe(false);
        return;
      }
      expect.fail('no signature with a leading zero octet');
    },
    60_000,
  );

  it('RSA-PSS: the salt is fresh, and a salt of another length is refused', () => {
    const name = 'rsa-pss-3072';
    const { privateKey, publicKey } = keyOf(name);
    const digest = hashOf(name, MESSAGE);
    const a = signDigestOperation(name)(privateKey, digest);
    const b = signDigestOperation(name)(privateKey, digest);
    expect(a).not.toEqual(b);
    const salt20 = sign('sha256', MESSAGE, {
      key: privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 20,
    });
    expect(
      verify(
        'sha256',
        MESSAGE,
        { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 20 },
        salt20,
      ),
    ).toBe(true);
    expect(digestVerifyOperation(name, der(publicKey))(digest, salt20)).toBe(false);
  });

  it.each([
    ['P-256', 'ecdsa-p256', p256],
    ['P-384', 'ecdsa-p384', p384],
  ] as const)(
    'ECDSA %s: signatures are low-S, high-S ones (as OpenSSL makes) verify',
    (_c, name, curve) => {
      const { privateKey, publicKey } = keyOf(name);
      const check = digestVerifyOperation(name, der(publicKey));
      const digest = hashOf(name, MESSAGE);
      const n = curve.Point.Fn.ORDER;
      for (let i = 0; i < 8; i++) {
        const signature = signDigestOperation(name)(privateKey, digest);
        const parsed = curve.Signature.fromBytes(signature, 'der');
        expect(parsed.hasHighS()).toBe(false);
        const high = new curve.Signature(parsed.r, n - parsed.s).toBytes('der');
        expect(check(digest, high)).toBe(true);
        expect(
          verify(
            keyAlgorithmInfo(name).hash,
            MESSAGE,
            { key: publicKey, dsaEncoding: 'der' },
            high,
          ),
        ).toBe(true);
        // The 64/96-byte r || s form is not the DER the scheme carries.
        expect(check(digest, parsed.toBytes('compact'))).toBe(false);
      }
    },
  );
});

const b64u = (v: bigint): string => {
  const hex = v.toString(16);
  return Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, 'hex').toString('base64url');
};

function inverse(a: bigint, m: bigint): bigint {
  let [r0, r1, t0, t1] = [a % m, m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1, t0, t1] = [r1, r0 - q * r1, t1, t0 - q * t1];
  }
  if (r0 !== 1n) throw new Error('not invertible');
  return ((t0 % m) + m) % m;
}

/**
 * An RSA key pair of exactly `bits` bits. OpenSSL's generator gives odd sizes one bit less than
 * asked, so the key is made here from two primes whose two top bits are set (their product has
 * exactly the sum of their sizes in bits).
 */
function rsaKeyOfBits(bits: number): { privateKey: KeyObject; publicKey: KeyObject } {
  const e = 65537n;
  for (;;) {
    const p = generatePrimeSync(Math.ceil(bits / 2), { bigint: true });
    const q = generatePrimeSync(Math.floor(bits / 2), { bigint: true });
    const n = p * q;
    if (p === q || n.toString(2).length !== bits || (p - 1n) % e === 0n || (q - 1n) % e === 0n) {
      continue;
    }
    const d = inverse(e, (p - 1n) * (q - 1n));
    const privateKey = createPrivateKey({
      format: 'jwk',
      key: {
        kty: 'RSA',
        n: b64u(n),
        e: b64u(e),
        d: b64u(d),
        p: b64u(p),
        q: b64u(q),
        dp: b64u(d % (p - 1n)),
        dq: b64u(d % (q - 1n)),
        qi: b64u(inverse(q, p)),
      },
    });
    return { privateKey, publicKey: createPublicKey(privateKey) };
  }
}

describe('EMSA-PSS at every alignment of the modulus', () => {
  // modBits - 1 a multiple of 8 (emLen = k - 1, no top bits masked), one above it, and seven.
  it.each([2049, 2050, 2055, 2056])('%i-bit modulus', (bits) => {
    const { privateKey, publicKey } = rsaKeyOfBits(bits);
    expect(publicKey.asymmetricKeyDetails?.modulusLength).toBe(bits);
    const k = Math.ceil(bits / 8);
    const digest = new Uint8Array(createHash('sha256').update(MESSAGE).digest());
    // Through the mechanism (it takes the size from the key) and checked by node:crypto.
    const ours = mechanismFor('rsa-pss-3072').signDigest!(privateKey, digest);
    expect(ours.length).toBe(k);
    const pss = { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
    expect(verify('sha256', MESSAGE, pss, ours)).toBe(true);
    // node:crypto's signature, opened with raw RSA and checked by EMSA-PSS-VERIFY.
    const theirs = sign('sha256', MESSAGE, { ...pss, key: privateKey });
    const em = publicDecrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, theirs);
    const emLen = Math.ceil((bits - 1) / 8);
    expect(em.subarray(0, k - emLen).every((b) => b === 0)).toBe(true);
    expect(emsaPssVerify('sha256', digest, em.subarray(k - emLen), bits - 1, 32)).toBe(true);
    expect(emsaPssVerify('sha256', flip(digest), em.subarray(k - emLen), bits - 1, 32)).toBe(false);
    // Our encoding keeps the masked top bits zero, and its raw signature verifies with node.
    const encoded = emsaPssEncode('sha256', digest, bits - 1, 32);
    expect(encoded.length).toBe(emLen);
    expect(encoded[0]! >>> (8 - (8 * emLen - (bits - 1)))).toBe(0);
    const block = Buffer.alloc(k);
    block.set(encoded, k - emLen);
    const raw = privateEncrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, block);
    expect(verify('sha256', MESSAGE, pss, raw)).toBe(true);
    // A set top bit is refused even where the rest is consistent.
    if (8 * emLen - (bits - 1) > 0) {
      const top = encoded.slice();
      top[0]! |= 0x80;
      expect(emsaPssVerify('sha256', digest, top, bits - 1, 32)).toBe(false);
    }
  });
});

// The secret-key mechanisms (aes.ts, chacha20-poly1305.ts, hmac.ts, secret-keys.ts): known
// answers from the RFCs (RFC 8439 2.8.2, RFC 3394 4.1 and 4.6, RFC 5649 6, RFC 4231 4.2, the
// GCM specification's test cases 3 and 15), the key check value's definition, random nonces,
// tag checks that fail on every flipped bit, constant-length MAC checks, and key lengths.
import { createCipheriv, createHash, createSecretKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { aeadSeal, RANDOM_NONCE_INVOCATION_LIMIT } from '../../../../src/hsm/mechanisms/aead.js';
import {
  HSM_ALGORITHMS,
  isSecretAlgorithm,
  mechanismFor,
  OTHER_ALGORITHMS,
  type Mechanism,
  type PrivateKeyHandle,
} from '../../../../src/hsm/mechanisms/index.js';
import { keyCheckValue, KCV_LABEL } from '../../../../src/hsm/mechanisms/secret-keys.js';
import { aesKeyUnwrap, aesKeyWrap } from '../../../../src/hsm/wrap.js';
import { expectHsmError } from '../support.js';

const h = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function mech(name: string): Mechanism {
  return mechanismFor(name as (typeof OTHER_ALGORITHMS)[number]);
}

function load(name: string, key: Uint8Array): PrivateKeyHandle {
  return mech(name).load(key);
}

/** Each operation a mechanism must have; the test fails rather than skipping a missing one. */
function op<K extends keyof Mechanism>(m: Mechanism, k: K): NonNullable<Mechanism[K]> {
  const f = m[k];
  if (f === undefined) throw new Error(`${m.name} has no ${k}`);
  return f;
}

const RFC8439_KEY = h('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
const RFC8439_NONCE = h('070000004041424344454647');
const RFC8439_AAD = h('50515253c0c1c2c3c4c5c6c7');
const RFC8439_PLAINTEXT = new TextEncoder().encode(
  "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
);
const RFC8439_CIPHERTEXT = h(`
  d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6
  3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36
  92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
  3ff4def08e4b7a9de576d26586cec64b6116`);
const RFC8439_TAG = h('1ae10b594f09e26a7e902ecbd0600691');

// The GCM specification (McGrew and Viega), test cases 3 (AES-128) and 15 (AES-256).
const GCM_PLAINTEXT = h(`
  d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
  1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255`);
const GCM_IV = h('cafebabefacedbaddecaf888');
const GCM_CASES = [
  {
    name: 'aes-128',
    cipher: 'aes-128-gcm',
    key: h('feffe9928665731c6d6a8f9467308308'),
    ciphertext: h(`
      42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e
      21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985`),
    tag: h('4d5c2af327cd64a62cf35abd2ba6fab4'),
  },
  {
    name: 'aes-256',
    cipher: 'aes-256-gcm',
    key: h('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308'),
    ciphertext: h(`
      522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa
      8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad`),
    tag: h('b094dac5d93471bdec1a502270e3cc6c'),
  },
] as const;

describe('the registry of secret keys', () => {
  it('names each secret algorithm once, after the signature ones, as a secret key', () => {
    const secret = OTHER_ALGORITHMS.filter((n) => mech(n).keyClass === 'secret');
    expect(secret).toEqual([
      'aes-128',
      'aes-256',
      'chacha20-poly1305',
      'hmac-sha256',
      'hmac-sha384',
      'hmac-sha512',
      'hmac-sha3-256',
      'hmac-sha3-384',
      'hmac-sha3-512',
    ]);
    expect(HSM_ALGORITHMS.slice(-OTHER_ALGORITHMS.length)).toEqual([...OTHER_ALGORITHMS]);
    for (const name of secret) {
      const m = mech(name);
      expect(m.keyClass).toBe('secret');
      expect(m.info).toBeUndefined();
      expect(m.pkcs8Oids).toEqual([]);
      expect(m.sign).toBeUndefined();
      expect(isSecretAlgorithm(name)).toBe(true);
    }
    expect(isSecretAlgorithm('ecdsa-p256')).toBe(false);
  });

  it('offers each family its operations only', () => {
    for (const name of ['aes-128', 'aes-256']) {
      const m = mech(name);
      expect([!!m.encrypt, !!m.decrypt, !!m.wrapKey, !!m.unwrapKey, !!m.mac]).toEqual([
        true,
        true,
        true,
        true,
        false,
      ]);
      expect(m.purposes?.default).toEqual(['encrypt', 'decrypt']);
    }
    const c = mech('chacha20-poly1305');
    expect([!!c.encrypt, !!c.wrapKey, !!c.mac]).toEqual([true, false, false]);
    const m = mech('hmac-sha256');
    expect([!!m.encrypt, !!m.wrapKey, !!m.mac, !!m.verifyMac]).toEqual([false, false, true, true]);
    expect(m.purposes).toEqual({ default: ['sign', 'verify'], allowed: ['sign', 'verify'] });
  });
});

describe('the key check value', () => {
  it('is the first 16 bytes of SHA-256 over the label, the algorithm and the key', async () => {
    const raw = h('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
    const expected = createHash('sha256')
      .update(`${KCV_LABEL}\0aes-256\0`)
      .update(raw)
      .digest()
      .subarray(0, 16);
    expect(hex(keyCheckValue('aes-256', raw))).toBe(expected.toString('hex'));
    expect(KCV_LABEL).toBe('attestamp key check value v1');
    expect(hex(mech('aes-256').publicPart(load('aes-256', raw)))).toBe(expected.toString('hex'));
    // The same bytes under another algorithm are another key: another KCV.
    expect(hex(keyCheckValue('chacha20-poly1305', raw))).not.toBe(expected.toString('hex'));
    expect(hex(keyCheckValue('hmac-sha256', raw))).not.toBe(expected.toString('hex'));
    // A generated key's public part is the KCV of its own bytes.
    const g = await mech('hmac-sha512').generate();
    expect(g.publicPart).toEqual(
      keyCheckValue('hmac-sha512', mech('hmac-sha512').encode(g.privateKey)),
    );
    expect(g.publicPart).toHaveLength(16);
  });

  it('is none of the values an AES or HMAC key computes (GCM hash key, MAC of a label)', () => {
    const raw = GCM_CASES[1].key;
    // E_K(0^128) is GCM's hash subkey H (and the usual AES KCV): not what the row shows.
    const ecb = createCipheriv('aes-256-ecb', raw, null).setAutoPadding(false);
    const hashKey = Buffer.concat([ecb.update(new Uint8Array(16)), ecb.final()]);
    expect(hex(keyCheckValue('aes-256', raw))).not.toBe(hashKey.toString('hex'));
    // An HMAC key's KCV is not its MAC of the label (a tag anyone could then replay).
    const tag = op(mech('hmac-sha256'), 'mac')(
      load('hmac-sha256', raw),
      new TextEncoder().encode(KCV_LABEL),
    );
    expect(hex(tag.subarray(0, 16))).not.toBe(hex(keyCheckValue('hmac-sha256', raw)));
  });
});

describe('ChaCha20-Poly1305 (RFC 8439)', () => {
  const m = mech('chacha20-poly1305');
  const key = load('chacha20-poly1305', RFC8439_KEY);

  it('matches the AEAD test vector of section 2.8.2', () => {
    const sealed = aeadSeal(
      'chacha20-poly1305',
      createSecretKey(RFC8439_KEY),
      RFC8439_NONCE,
      RFC8439_PLAINTEXT,
      RFC8439_AAD,
    );
    expect(hex(sealed)).toBe(hex(RFC8439_CIPHERTEXT) + hex(RFC8439_TAG));
    const ct = new Uint8Array([...RFC8439_CIPHERTEXT, ...RFC8439_TAG]);
    expect(op(m, 'decrypt')(key, RFC8439_NONCE, ct, RFC8439_AAD)).toEqual(RFC8439_PLAINTEXT);
  });

  it('refuses a ciphertext with any byte of its nonce, body, tag or additional data changed', () => {
    const decrypt = op(m, 'decrypt');
    const ct = new Uint8Array([...RFC8439_CIPHERTEXT, ...RFC8439_TAG]);
    const flip = (b: Uint8Array, i: number): Uint8Array => {
      const c = b.slice();
      c[i]! ^= 0x80;
      return c;
    };
    for (const i of [0, 57, ct.length - 16, ct.length - 1]) {
      expectHsmError(() => decrypt(key, RFC8439_NONCE, flip(ct, i), RFC8439_AAD), 'decrypt-failed');
    }
    expectHsmError(() => decrypt(key, flip(RFC8439_NONCE, 11), ct, RFC8439_AAD), 'decrypt-failed');
    expectHsmError(() => decrypt(key, RFC8439_NONCE, ct, flip(RFC8439_AAD, 0)), 'decrypt-failed');
    expectHsmError(() => decrypt(key, RFC8439_NONCE, ct, new Uint8Array(0)), 'decrypt-failed');
    expectHsmError(
      () => decrypt(key, RFC8439_NONCE.subarray(0, 8), ct, RFC8439_AAD),
      'invalid-argument',
    );
    expectHsmError(
      () => decrypt(key, RFC8439_NONCE, ct.subarray(0, 15), RFC8439_AAD),
      'invalid-argument',
    );
  });
});

describe('AES-GCM', () => {
  it.each(GCM_CASES)('$name matches the GCM test case, and round-trips', (c) => {
    const m = mech(c.name);
    const key = load(c.name, c.key);
    const sealed = aeadSeal(
      c.cipher,
      createSecretKey(c.key),
      GCM_IV,
      GCM_PLAINTEXT,
      new Uint8Array(0),
    );
    expect(hex(sealed)).toBe(hex(c.ciphertext) + hex(c.tag));
    expect(op(m, 'decrypt')(key, GCM_IV, sealed, new Uint8Array(0))).toEqual(GCM_PLAINTEXT);
    const aad = new TextEncoder().encode('header');
    const out = op(m, 'encrypt')(key, GCM_PLAINTEXT, aad);
    expect(out.nonce).toHaveLength(12);
    expect(out.ciphertext).toHaveLength(GCM_PLAINTEXT.length + 16);
    expect(op(m, 'decrypt')(key, out.nonce, out.ciphertext, aad)).toEqual(GCM_PLAINTEXT);
    expect(m.aead).toEqual({ nonceLength: 12, tagLength: 16, invocationLimit: 2 ** 32 });
  });

  it('draws a new random nonce for every encryption', () => {
    const m = mech('aes-256');
    const key = load('aes-256', GCM_CASES[1].key);
    const nonces = new Set<string>();
    for (let i = 0; i < 200; i++)
      nonces.add(hex(op(m, 'encrypt')(key, new Uint8Array(1), new Uint8Array(0)).nonce));
    expect(nonces.size).toBe(200);
    expect(RANDOM_NONCE_INVOCATION_LIMIT).toBe(4294967296);
  });
});

describe('AES key wrap', () => {
  it('matches RFC 3394 4.1 and 4.6, and RFC 5649 6 (both examples)', () => {
    expect(
      hex(
        aesKeyWrap(
          h('000102030405060708090A0B0C0D0E0F'),
          h('00112233445566778899AABBCCDDEEFF'),
          'kw',
        ),
      ),
    ).toBe('1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5');
    const kek256 = h('000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F');
    const data256 = h('00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F');
    const wrapped = aesKeyWrap(kek256, data256, 'kw');
    expect(hex(wrapped)).toBe(
      '28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21',
    );
    expect(aesKeyUnwrap(kek256, wrapped, 'kw')).toEqual(data256);
    const kek192 = h('5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8');
    expect(hex(aesKeyWrap(kek192, h('c37b7e6492584340bed12207808941155068f738'), 'kwp'))).toBe(
      '138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a',
    );
    expect(hex(aesKeyWrap(kek192, h('466f7250617369'), 'kwp'))).toBe(
      'afbeb0f07dfbf5419200f2ccb50bb24f',
    );
    expect(aesKeyUnwrap(kek192, h('afbeb0f07dfbf5419200f2ccb50bb24f'), 'kwp')).toEqual(
      h('466f7250617369'),
    );
  });

  it('goes through the AES mechanisms, refuses kw for odd lengths, and fails on any change', () => {
    const m = mech('aes-128');
    const key = load('aes-128', h('000102030405060708090A0B0C0D0E0F'));
    expect(hex(op(m, 'wrapKey')(key, h('00112233445566778899AABBCCDDEEFF'), 'kw'))).toBe(
      '1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5',
    );
    expectHsmError(() => op(m, 'wrapKey')(key, new Uint8Array(20), 'kw'), 'invalid-argument');
    const w = op(m, 'wrapKey')(key, new Uint8Array(20).fill(7), 'kwp');
    expect(op(m, 'unwrapKey')(key, w, 'kwp')).toEqual(new Uint8Array(20).fill(7));
    const bad = w.slice();
    bad[3]! ^= 1;
    expectHsmError(() => op(m, 'unwrapKey')(key, bad, 'kwp'), 'unwrap-failed');
    expectHsmError(() => op(m, 'unwrapKey')(key, w, 'kw'), 'unwrap-failed');
    expectHsmError(() => op(m, 'unwrapKey')(key, w.subarray(0, 12), 'kwp'), 'unwrap-failed');
  });
});

describe('HMAC', () => {
  // RFC 4231 4.2 (test case 1): key 0x0b * 20, "Hi There".
  const KEY = new Uint8Array(20).fill(0x0b);
  const DATA = new TextEncoder().encode('Hi There');
  const RFC4231: Record<string, string> = {
    'hmac-sha256': 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    'hmac-sha384':
      'afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6',
    'hmac-sha512':
      '87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854',
  };

  it.each(Object.entries(RFC4231))('%s matches RFC 4231 test case 1', (name, expected) => {
    const m = mech(name);
    const key = load(name, KEY);
    expect(hex(op(m, 'mac')(key, DATA))).toBe(expected);
    expect(op(m, 'verifyMac')(key, DATA, h(expected))).toBe(true);
  });

  it.each(['hmac-sha3-256', 'hmac-sha3-384', 'hmac-sha3-512'])(
    '%s: a full-length tag that verifies only unchanged and at full length',
    async (name) => {
      const m = mech(name);
      const { privateKey } = await m.generate();
      const tag = op(m, 'mac')(privateKey, DATA);
      expect(tag).toHaveLength(Number(name.slice(-3)) / 8);
      expect(op(m, 'verifyMac')(privateKey, DATA, tag)).toBe(true);
      const flipped = tag.slice();
      flipped[tag.length - 1]! ^= 1;
      expect(op(m, 'verifyMac')(privateKey, DATA, flipped)).toBe(false);
      expect(op(m, 'verifyMac')(privateKey, DATA, tag.subarray(0, 16))).toBe(false);
      expect(op(m, 'verifyMac')(privateKey, DATA, new Uint8Array(0))).toBe(false);
      expect(op(m, 'verifyMac')(privateKey, new Uint8Array(0), tag)).toBe(false);
    },
  );
});

describe('key lengths', () => {
  it('generates full-length keys and loads only the lengths each algorithm takes', async () => {
    const lengths: Record<string, number> = {
      'aes-128': 16,
      'aes-256': 32,
      'chacha20-poly1305': 32,
      'hmac-sha256': 32,
      'hmac-sha384': 48,
      'hmac-sha512': 64,
      'hmac-sha3-256': 32,
      'hmac-sha3-384': 48,
      'hmac-sha3-512': 64,
    };
    for (const [name, n] of Object.entries(lengths)) {
      const g = await mech(name).generate();
      const raw = mech(name).encode(g.privateKey);
      expect(raw, name).toHaveLength(n);
      expect(mech(name).publicPart(mech(name).load(raw))).toEqual(g.publicPart);
    }
    expectHsmError(() => load('aes-256', new Uint8Array(16)), 'invalid-argument');
    expectHsmError(() => load('aes-128', new Uint8Array(32)), 'invalid-argument');
    expectHsmError(() => load('chacha20-poly1305', new Uint8Array(31)), 'invalid-argument');
    expectHsmError(() => load('hmac-sha256', new Uint8Array(15)), 'invalid-argument');
    expectHsmError(() => load('hmac-sha256', new Uint8Array(65)), 'invalid-argument');
    expect(() => load('hmac-sha256', new Uint8Array(64))).not.toThrow();
  });
});

// Secret keys checked by independent implementations: each key leaves the HSM only wrapped
// (RFC 5649 under the operator's transport key) and `openssl enc -id-aes256-wrap-pad` unwraps
// it; then python-cryptography decrypts the HSM's AES-GCM and ChaCha20-Poly1305 ciphertexts
// and encrypts what the HSM decrypts (openssl enc does no AEAD), `openssl mac` and
// `openssl dgst -mac HMAC` compute the HSM's HMACs, and openssl unwraps the HSM's RFC 5649 and
// RFC 3394 key wraps. Known answers through the HSM itself: the RFC 8439 2.8.2 AEAD vector
// decrypted by an imported key, and the RFC 3394 4.6 wrap made by imported keys.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hsm } from '../../src/hsm/index.js';
import { keyCheckValue } from '../../src/hsm/mechanisms/secret-keys.js';
import { aesKeyWrapPad } from '../../src/hsm/wrap.js';
import { createTestDevice, OFFICER } from '../helpers/hsm.js';
import { requirePythonModules, requireTool, SYSTEM_PYTHON } from '../helpers/tools.js';

const skip = requireTool('openssl') || requirePythonModules('cryptography');
const AEAD_PY = join(import.meta.dirname, 'python', 'aead.py');
const TRANSPORT = Buffer.alloc(32, 0x5a);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const h = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

function run(cmd: string, args: readonly string[], input?: Uint8Array): Buffer {
  const r = spawnSync(cmd, args, { input, timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.toString()}`);
  return r.stdout;
}

/** RFC 5649 unwrap by openssl of what the HSM wrapped under `kek`. */
function opensslUnwrapPad(kek: Uint8Array, wrapped: Uint8Array): Buffer {
  return run(
    'openssl',
    ['enc', '-d', `-id-aes${kek.length * 8}-wrap-pad`, '-K', hex(kek), '-iv', 'A65959A6'],
    wrapped,
  );
}

describe.skipIf(skip)('secret keys against openssl and python-cryptography', () => {
  let hsm: Hsm;

  /** The raw key of an extractable HSM key, exported wrapped and unwrapped by openssl. */
  async function rawKey(label: string): Promise<Buffer> {
    const wrapped = await hsm.exportKey('default', label, { kind: 'aes-kwp', key: TRANSPORT });
    return opensslUnwrapPad(TRANSPORT, wrapped);
  }

  /** Imports a secret key of known bytes (wrapped under the transport key). */
  function importKnown(
    label: string,
    algorithm: 'aes-256' | 'chacha20-poly1305',
    raw: Uint8Array,
    purposes?: ('wrap' | 'unwrap' | 'encrypt' | 'decrypt')[],
  ) {
    return hsm.importWrappedKey('default', {
      label,
      algorithm,
      wrapped: aesKeyWrapPad(TRANSPORT, raw),
      unwrapKey: TRANSPORT,
      extractable: true,
      ...(purposes === undefined ? {} : { purposes }),
    });
  }

  beforeAll(async () => {
    hsm = (await createTestDevice()).hsm;
    await hsm.setPartitionPolicy('default', { exportAllowed: true, importAllowed: true }, OFFICER);
  }, 60_000);

  afterAll(async () => {
    await hsm.close();
  });

  it.each([
    ['aes-128', 'aes-gcm'],
    ['aes-256', 'aes-gcm'],
    ['chacha20-poly1305', 'chacha20-poly1305'],
  ] as const)(
    "%s: python decrypts the HSM ciphertext and the HSM decrypts python's",
    async (algorithm, py) => {
      const label = `${algorithm}-x`;
      const k = await hsm.generateKey('default', { label, algorithm, extractable: true });
      const raw = await rawKey(label);
      expect(raw).toHaveLength(algorithm === 'aes-128' ? 16 : 32);
      const plaintext = Buffer.from(`sealed by the HSM under ${algorithm}`);
      const aad = Buffer.from('header v1');
      const e = await hsm.encrypt('default', label, { plaintext, aad });
      const opened = run(
        SYSTEM_PYTHON,
        [AEAD_PY, 'open', py, hex(raw), hex(e.nonce), hex(aad)],
        e.ciphertext,
      );
      expect(opened).toEqual(plaintext);
      // The tag is checked by python too: the wrong additional data fails there.
      expect(() =>
        run(
          SYSTEM_PYTHON,
          [AEAD_PY, 'open', py, hex(raw), hex(e.nonce), hex(Buffer.from('other'))],
          e.ciphertext,
        ),
      ).toThrow();
      const sealed = run(SYSTEM_PYTHON, [AEAD_PY, 'seal', py, hex(raw), hex(aad)], plaintext);
      const back = await hsm.decrypt('default', label, {
        nonce: sealed.subarray(0, 12),
        ciphertext: sealed.subarray(12),
        aad,
      });
      expect(Buffer.from(back.plaintext)).toEqual(plaintext);
      // The KCV the row shows is the one of the raw bytes openssl unwrapped.
      expect(keyCheckValue(algorithm, raw)).toEqual(k.spki);
    },
  );

  it('decrypts the RFC 8439 2.8.2 AEAD test vector with the imported key', async () => {
    await importKnown(
      'rfc8439',
      'chacha20-poly1305',
      h('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f'),
    );
    const out = await hsm.decrypt('default', 'rfc8439', {
      nonce: h('070000004041424344454647'),
      aad: h('50515253c0c1c2c3c4c5c6c7'),
      ciphertext: h(`
        d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6
        3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36
        92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
        3ff4def08e4b7a9de576d26586cec64b6116 1ae10b594f09e26a7e902ecbd0600691`),
    });
    expect(Buffer.from(out.plaintext).toString()).toBe(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
    );
  });

  it.each([
    ['hmac-sha256', 'SHA256', 32],
    ['hmac-sha384', 'SHA384', 48],
    ['hmac-sha512', 'SHA512', 64],
    ['hmac-sha3-256', 'SHA3-256', 32],
    ['hmac-sha3-384', 'SHA3-384', 48],
    ['hmac-sha3-512', 'SHA3-512', 64],
  ] as const)(
    '%s: openssl mac and openssl dgst -mac HMAC compute the same tag',
    async (algorithm, digest, n) => {
      const label = `${algorithm}-x`;
      await hsm.generateKey('default', { label, algorithm, extractable: true });
      const raw = await rawKey(label);
      expect(raw).toHaveLength(n);
      const data = Buffer.from(`message for ${algorithm}`);
      const { mac } = await hsm.mac('default', label, data);
      const viaMac = run(
        'openssl',
        ['mac', '-digest', digest, '-macopt', `hexkey:${hex(raw)}`, 'HMAC'],
        data,
      )
        .toString()
        .trim()
        .toLowerCase();
      expect(viaMac).toBe(hex(mac));
      const viaDgst = run(
        'openssl',
        ['dgst', `-${digest.toLowerCase()}`, '-mac', 'HMAC', '-macopt', `hexkey:${hex(raw)}`, '-r'],
        data,
      )
        .toString()
        .split(' ')[0];
      expect(viaDgst).toBe(hex(mac));
      expect(
        await hsm.verifyMac('default', label, data, new Uint8Array(Buffer.from(viaMac, 'hex'))),
      ).toBe(true);
    },
  );

  it('wraps with RFC 5649 and RFC 3394 as openssl unwraps, and makes the RFC 3394 4.6 answer', async () => {
    await hsm.generateKey('default', {
      label: 'kek',
      algorithm: 'aes-256',
      purposes: ['wrap', 'unwrap'],
      extractable: true,
    });
    await hsm.generateKey('default', {
      label: 'payload',
      algorithm: 'hmac-sha384',
      extractable: true,
    });
    await hsm.generateKey('default', { label: 'pair', algorithm: 'ecdsa-p256', extractable: true });
    const kek = await rawKey('kek');
    const payload = await rawKey('payload');
    const kwp = await hsm.wrapKey('default', 'kek', { key: 'payload' });
    expect(opensslUnwrapPad(kek, kwp.wrapped)).toEqual(payload);
    const kw = await hsm.wrapKey('default', 'kek', { key: 'payload', mode: 'kw' });
    const unwrapped = run(
      'openssl',
      ['enc', '-d', '-id-aes256-wrap', '-K', hex(kek), '-iv', 'A6A6A6A6A6A6A6A6'],
      kw.wrapped,
    );
    expect(unwrapped).toEqual(payload);
    // A key pair leaves as PKCS#8: openssl reads the unwrapped bytes as the key whose public
    // key the HSM shows.
    const pair = await hsm.wrapKey('default', 'kek', { key: 'pair' });
    const pkcs8 = opensslUnwrapPad(kek, pair.wrapped);
    const pub = run('openssl', ['pkey', '-inform', 'DER', '-pubout', '-outform', 'DER'], pkcs8);
    expect(new Uint8Array(pub)).toEqual((await hsm.key('default', 'pair')).spki);

    await importKnown(
      'rfc-kek',
      'aes-256',
      h('000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F'),
      ['wrap', 'unwrap'],
    );
    await importKnown(
      'rfc-data',
      'aes-256',
      h('00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F'),
    );
    const rfc = await hsm.wrapKey('default', 'rfc-kek', { key: 'rfc-data', mode: 'kw' });
    expect(hex(rfc.wrapped)).toBe(
      '28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21',
    );
  });
});

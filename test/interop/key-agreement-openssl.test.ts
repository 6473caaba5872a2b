// Key agreement checked by independent implementations: openssl holds the peer's private key
// (P-256, P-384, X25519), `openssl pkeyutl -derive` computes the shared secret with the HSM's
// public key, and `openssl kdf HKDF` turns it into the key the HSM derived from the peer's
// public key (the same key check value); python-cryptography then decrypts the HSM's AES-GCM
// ciphertext with openssl's key and seals what the HSM decrypts. ML-KEM is checked against the
// Node 26 oracle elsewhere: OpenSSL 3.0 has none.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hsm } from '../../src/hsm/index.js';
import { keyCheckValue } from '../../src/hsm/mechanisms/secret-keys.js';
import { decodePem, encodePem } from '../../src/pki/index.js';
import { createTestDevice } from '../helpers/hsm.js';
import { tempDir } from '../helpers/tmp.js';
import { requirePythonModules, requireTool, SYSTEM_PYTHON } from '../helpers/tools.js';

const skip = requireTool('openssl') || requirePythonModules('cryptography');
const AEAD_PY = join(import.meta.dirname, 'python', 'aead.py');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const SALT = Buffer.from('a salt both parties know');
const INFO = Buffer.from('attestamp interop 2026');

function run(cmd: string, args: readonly string[], input?: Uint8Array): Buffer {
  const r = spawnSync(cmd, args, { input, timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.toString()}`);
  return r.stdout;
}

describe.skipIf(skip)('key agreement against openssl and python-cryptography', () => {
  let hsm: Hsm;
  let dir: string;

  beforeAll(async () => {
    hsm = (await createTestDevice()).hsm;
    dir = tempDir('agree-openssl-');
  }, 60_000);

  afterAll(async () => {
    await hsm.close();
  });

  it.each([
    ['ecdh-p256', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], 'sha256'],
    ['ecdh-p384', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'], 'sha384'],
    ['x25519', ['-algorithm', 'X25519'], 'sha512'],
  ] as const)(
    '%s: openssl pkeyutl -derive and openssl kdf HKDF give the key the HSM derived',
    async (algorithm, genpkey, hash) => {
      const peerKey = join(dir, `${algorithm}-peer.key`);
      const ours = join(dir, `${algorithm}-hsm.pub`);
      run('openssl', ['genpkey', ...genpkey, '-out', peerKey]);
      const peerSpki = decodePem(
        run('openssl', ['pkey', '-in', peerKey, '-pubout']).toString(),
        'PUBLIC KEY',
      );
      const base = await hsm.generateKey('default', { label: `${algorithm}-base`, algorithm });
      writeFileSync(ours, encodePem('PUBLIC KEY', base.spki));
      const z = run('openssl', ['pkeyutl', '-derive', '-inkey', peerKey, '-peerkey', ours]);
      expect(z).toHaveLength(algorithm === 'ecdh-p384' ? 48 : 32);
      const k = run('openssl', [
        'kdf',
        '-keylen',
        '32',
        '-binary',
        '-kdfopt',
        `digest:${hash.toUpperCase()}`,
        '-kdfopt',
        `hexkey:${hex(z)}`,
        '-kdfopt',
        `hexsalt:${hex(SALT)}`,
        '-kdfopt',
        `hexinfo:${hex(INFO)}`,
        'HKDF',
      ]);
      expect(k).toHaveLength(32);
      const derived = await hsm.deriveKey(
        'default',
        base.label,
        { peerPublicKey: peerSpki },
        {
          kdf: { hash, salt: SALT, info: INFO },
          key: { label: `${algorithm}-aes`, algorithm: 'aes-256' },
        },
      );
      // The key check value of openssl's key is the derived key's.
      expect(keyCheckValue('aes-256', k)).toEqual(derived.spki);
      const plaintext = Buffer.from(`agreed with openssl over ${algorithm}`);
      const aad = Buffer.from('header');
      const e = await hsm.encrypt('default', derived.label, { plaintext, aad });
      const opened = run(
        SYSTEM_PYTHON,
        [AEAD_PY, 'open', 'aes-gcm', hex(k), hex(e.nonce), hex(aad)],
        e.ciphertext,
      );
      expect(opened).toEqual(plaintext);
      const sealed = run(SYSTEM_PYTHON, [AEAD_PY, 'seal', 'aes-gcm', hex(k), hex(aad)], plaintext);
      const back = await hsm.decrypt('default', derived.label, {
        nonce: sealed.subarray(0, 12),
        ciphertext: sealed.subarray(12),
        aad,
      });
      expect(Buffer.from(back.plaintext)).toEqual(plaintext);
    },
  );
});

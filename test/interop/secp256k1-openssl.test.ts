// secp256k1 ECDSA against OpenSSL: signatures made with node:crypto verify with `openssl dgst
// -verify` and with the verifier (src/pki verifySignature); OpenSSL's own signatures, high-S
// and low-S alike, verify with the verifier; tampered data fails both; and a key derived with
// BIP 32 (src/hsm/hd) loads into node:crypto and OpenSSL and signs what the verifier accepts.
// Through the HSM: an ecdsa-secp256k1 key's and a derived bip32-secp256k1 child's signatures
// (always low-S), over data and over a digest, verify with `openssl dgst -verify` and with
// `openssl pkeyutl -verify` on the digest, against the public key the HSM exports.
import { spawnSync } from 'node:child_process';
import {
  ECDH,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  type KeyObject,
} from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '@noble/hashes/sha2.js';
import type { Hsm } from '../../src/hsm/index.js';
import { deriveHdPath, hdMasterKey } from '../../src/hsm/hd/index.js';
import {
  der,
  describePublicKey,
  encodePem,
  id_ecdsa_with_SHA256,
  isLowS,
  toLowS,
  verifySignature,
} from '../../src/pki/index.js';
import { createTestDevice } from '../helpers/hsm.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';

const DATA = new TextEncoder().encode('secp256k1 against openssl dgst');
const ALG = der.algorithmIdentifier(id_ecdsa_with_SHA256);

function openssl(args: readonly string[], cwd: string): { status: number | null; out: string } {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const spkiOf = (key: KeyObject): Uint8Array =>
  new Uint8Array(key.export({ type: 'spki', format: 'der' }));

const skip = requireTool('openssl');

describe.skipIf(skip)('secp256k1 signatures and openssl dgst', () => {
  let cwd: string;
  const pair = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
  const spki = spkiOf(pair.publicKey);

  /** `openssl dgst -sha256 -verify` of `signature` over `data` with the test key. */
  const opensslVerifies = (data: Uint8Array, signature: Uint8Array, name: string): boolean => {
    writeFileSync(join(cwd, `${name}.bin`), data);
    writeFileSync(join(cwd, `${name}.sig`), signature);
    const r = openssl(
      ['dgst', '-sha256', '-verify', 'pub.pem', '-signature', `${name}.sig`, `${name}.bin`],
      cwd,
    );
    if (r.status === 0) expect(r.out).toContain('Verified OK');
    else expect(r.out).toContain('Verification failure');
    return r.status === 0;
  };

  beforeAll(() => {
    cwd = tempDir('secp256k1-openssl');
    writeFileSync(join(cwd, 'pub.pem'), pair.publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(cwd, 'key.pem'), pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  });

  it('a node:crypto signature, and its low-S form, verify with openssl and the verifier', async () => {
    const signature = new Uint8Array(
      sign('sha256', DATA, { key: pair.privateKey, dsaEncoding: 'der' }),
    );
    for (const [name, form] of [
      ['node', signature],
      ['low', toLowS('secp256k1', signature)],
    ] as const) {
      expect(opensslVerifies(DATA, form, name)).toBe(true);
      expect(await verifySignature(spki, ALG, DATA, form)).toBe(true);
    }
    const tampered = DATA.slice();
    tampered[0]! ^= 0x20;
    expect(opensslVerifies(tampered, signature, 'tampered')).toBe(false);
    expect(await verifySignature(spki, ALG, tampered, signature)).toBe(false);
  });

  it("openssl's signatures verify with the verifier, high-S and low-S", async () => {
    writeFileSync(join(cwd, 'data.bin'), DATA);
    const seen = { high: 0, low: 0 };
    // OpenSSL draws k at random: about half its signatures are high-S; 24 tries miss one kind
    // with probability 2^-23.
    for (let i = 0; i < 24 && (seen.high === 0 || seen.low === 0); i++) {
      const r = openssl(
        ['dgst', '-sha256', '-sign', 'key.pem', '-out', `openssl-${i}.sig`, 'data.bin'],
        cwd,
      );
      expect(r.status, r.out).toBe(0);
      const signature = new Uint8Array(readFileSync(join(cwd, `openssl-${i}.sig`)));
      expect(await verifySignature(spki, ALG, DATA, signature)).toBe(true);
      seen[isLowS('secp256k1', signature) ? 'low' : 'high']++;
    }
    expect(seen.high).toBeGreaterThan(0);
    expect(seen.low).toBeGreaterThan(0);
  });

  it('a BIP 32 key (m/84h/0h/0h/0/0 of vector 1) signs in openssl and verifies here', async () => {
    const seed = new Uint8Array(Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'));
    const node = deriveHdPath(hdMasterKey('secp256k1', seed), "m/84'/0'/0'/0/0");
    const point = new Uint8Array(
      ECDH.convertKey(node.publicKey, 'secp256k1', undefined, undefined, 'uncompressed') as Buffer,
    );
    const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
    const key = createPrivateKey({
      key: {
        kty: 'EC',
        crv: 'secp256k1',
        d: b64(node.privateKey),
        x: b64(point.subarray(1, 33)),
        y: b64(point.subarray(33)),
      },
      format: 'jwk',
    });
    const hdSpki = spkiOf(createPublicKey(key));
    expect((describePublicKey(hdSpki) as { point: Uint8Array }).point).toEqual(point);
    writeFileSync(join(cwd, 'hd.pem'), key.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(join(cwd, 'data.bin'), DATA);
    const r = openssl(['dgst', '-sha256', '-sign', 'hd.pem', '-out', 'hd.sig', 'data.bin'], cwd);
    expect(r.status, r.out).toBe(0);
    const signature = new Uint8Array(readFileSync(join(cwd, 'hd.sig')));
    expect(await verifySignature(hdSpki, ALG, DATA, signature)).toBe(true);
    expect(await verifySignature(spki, ALG, DATA, signature)).toBe(false);
  });
});

describe.skipIf(skip)('secp256k1 signatures of the HSM and openssl', () => {
  let cwd: string;
  let hsm: Hsm;

  beforeAll(async () => {
    cwd = tempDir('secp256k1-hsm-openssl');
    hsm = (await createTestDevice()).hsm;
    await hsm.generateKey('default', { label: 'k1', algorithm: 'ecdsa-secp256k1' });
    await hsm.generateKey('default', { label: 'm', algorithm: 'bip32-secp256k1' });
    await hsm.deriveChildKey('default', 'm', "m/84'/0'/0'/0/0", { label: 'child' });
  }, 60_000);

  afterAll(async () => {
    await hsm.close();
  });

  it.each(['k1', 'child'])(
    '%s: every signature is low-S and openssl verifies it',
    async (label) => {
      const { spki } = await hsm.publicKey('default', label);
      writeFileSync(join(cwd, `${label}.pub.pem`), encodePem('PUBLIC KEY', spki));
      for (let i = 0; i < 6; i++) {
        const data = new TextEncoder().encode(`${label} transaction ${i}`);
        writeFileSync(join(cwd, `${label}-${i}.bin`), data);
        writeFileSync(join(cwd, `${label}-${i}.sha256`), sha256(data));
        const overData = (await hsm.sign('default', label, { data })).signature;
        const overDigest = (await hsm.sign('default', label, { digest: sha256(data) })).signature;
        for (const [kind, signature] of [
          ['data', overData],
          ['digest', overDigest],
        ] as const) {
          expect(isLowS('secp256k1', signature)).toBe(true);
          const sig = `${label}-${i}-${kind}.sig`;
          writeFileSync(join(cwd, sig), signature);
          const dgst = openssl(
            [
              'dgst',
              '-sha256',
              '-verify',
              `${label}.pub.pem`,
              '-signature',
              sig,
              `${label}-${i}.bin`,
            ],
            cwd,
          );
          expect([dgst.status, dgst.out]).toEqual([0, expect.stringContaining('Verified OK')]);
          const pkeyutl = openssl(
            [
              'pkeyutl',
              '-verify',
              '-pubin',
              '-inkey',
              `${label}.pub.pem`,
              '-in',
              `${label}-${i}.sha256`,
              '-sigfile',
              sig,
            ],
            cwd,
          );
          expect([pkeyutl.status, pkeyutl.out]).toEqual([
            0,
            expect.stringContaining('Signature Verified Successfully'),
          ]);
        }
      }
      // A signature over other data fails openssl's check.
      const wrong = (await hsm.sign('default', label, { data: DATA })).signature;
      writeFileSync(join(cwd, `${label}-wrong.sig`), wrong);
      const r = openssl(
        [
          'dgst',
          '-sha256',
          '-verify',
          `${label}.pub.pem`,
          '-signature',
          `${label}-wrong.sig`,
          `${label}-0.bin`,
        ],
        cwd,
      );
      expect(r.out).toContain('Verification failure');
    },
  );
});

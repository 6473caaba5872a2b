// secp256k1 ECDSA against OpenSSL: signatures made with node:crypto verify with `openssl dgst
// -verify` and with the verifier (src/pki verifySignature); OpenSSL's own signatures, high-S
// and low-S alike, verify with the verifier; tampered data fails both; and a key derived with
// BIP 32 (src/hsm/hd) loads into node:crypto and OpenSSL and signs what the verifier accepts.
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
import { beforeAll, describe, expect, it } from 'vitest';
import { deriveHdPath, hdMasterKey } from '../../src/hsm/hd/index.js';
import {
  der,
  describePublicKey,
  id_ecdsa_with_SHA256,
  isLowS,
  toLowS,
  verifySignature,
} from '../../src/pki/index.js';
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

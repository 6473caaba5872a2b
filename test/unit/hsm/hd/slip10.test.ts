// SLIP-10 (src/hsm/hd/slip10.ts, and bip32.ts for secp256k1): the specification's test vectors
// for Ed25519 (1 and 2), NIST P-256 (1, 2, and the derivation and seed retry vectors) and
// secp256k1 (1 and 2, equal to BIP 32's): parent fingerprint, chain code, private and public
// key of every chain; public P-256 derivation agrees with private; Ed25519 gives the Solana
// wallets' well-known first account and refuses non-hardened segments and public derivation
// with errors that say so.
import { ed25519 } from '@noble/curves/ed25519.js';
import { base58 } from '@scure/base';
import { describe, expect, it } from 'vitest';
import {
  deriveHdPath,
  derivePublicHdPath,
  hdFingerprint,
  hdMasterKey,
  hdPublicNode,
  type HdPrivateNode,
} from '../../../../src/hsm/hd/index.js';
import {
  SLIP10_SEED_1 as SEED_1,
  SLIP10_SEED_2 as SEED_2,
  SLIP10_VECTORS as VECTORS,
} from '../../../helpers/hd-vectors.js';
import { expectHsmError } from '../support.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

/** The public key as SLIP-10's vectors write it: 0x00 || A for Ed25519. */
const vectorPublic = (node: HdPrivateNode): string =>
  (node.curve === 'ed25519' ? '00' : '') + hex(node.publicKey);

describe.each(VECTORS)('SLIP-10 $name', ({ curve, seed, chains }) => {
  const master = hdMasterKey(curve, bytes(seed));

  it.each(chains.map((c) => [c[0], c] as const))('%s', (path, chain) => {
    const node = deriveHdPath(master, path);
    const [, fingerprint, chainCode, privateKey, publicKey] = chain;
    expect(node.parentFingerprint.toString(16).padStart(8, '0')).toBe(fingerprint);
    expect(hex(node.chainCode)).toBe(chainCode);
    expect(hex(node.privateKey)).toBe(privateKey);
    expect(vectorPublic(node)).toBe(publicKey);
    expect(node.depth).toBe(path === 'm' ? 0 : path.split('/').length - 1);
  });

  it('each chain’s parent fingerprint is the fingerprint of the chain before it', () => {
    for (let i = 1; i < chains.length; i++) {
      const parent = deriveHdPath(master, chains[i - 1]![0]);
      expect(deriveHdPath(master, chains[i]![0]).parentFingerprint).toBe(hdFingerprint(parent));
    }
  });
});

describe('SLIP-10 NIST P-256 public derivation', () => {
  it('N(CKDpriv) equals CKDpub for non-hardened steps, the retry vector included', () => {
    for (const [seed, account, rest] of [
      [SEED_1, "m/28578'", '33941'],
      [SEED_2, "m/0/2147483647'", '1'],
      [SEED_1, "m/0'", '1/2/3/1000000000'],
    ] as const) {
      const master = hdMasterKey('nist256p1', bytes(seed));
      const parent = deriveHdPath(master, account);
      const viaPrivate = hdPublicNode(deriveHdPath(parent, rest));
      expect(derivePublicHdPath(hdPublicNode(parent), rest)).toEqual(viaPrivate);
      expect(derivePublicHdPath(parent, rest)).toEqual(viaPrivate);
    }
  });
});

describe('SLIP-10 Ed25519 refusals', () => {
  const master = hdMasterKey('ed25519', bytes(SEED_1));

  it('a non-hardened segment is refused, naming it', () => {
    const error = expectHsmError(() => deriveHdPath(master, "m/0'/1/2'"), 'invalid-argument');
    expect(error.message).toBe(
      'derivation path segment 2 ("1") is not hardened: ed25519 keys derive hardened children only (SLIP-10)',
    );
    expect(error.details).toEqual({ field: 'path', segment: '1', position: 2 });
    expectHsmError(() => deriveHdPath(master, [0]), 'invalid-argument');
  });

  it('public derivation is refused', () => {
    const error = expectHsmError(
      () => derivePublicHdPath(hdPublicNode(master), 'M/0'),
      'invalid-argument',
    );
    expect(error.message).toBe(
      'ed25519 keys have no public derivation (SLIP-10): derive from the private key',
    );
  });

  it("m/44'/501'/0'/0' of the 'abandon ... about' seed is the Solana wallets' first account", () => {
    // BIP 39 seed of the mnemonic (see test/unit/pki/blockchain-addresses.test.ts).
    const seed = bytes(
      '5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc19a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4',
    );
    const node = deriveHdPath(hdMasterKey('ed25519', seed), "m/44'/501'/0'/0'");
    expect(base58.encode(node.publicKey)).toBe('HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk');
  });

  it('the derived private key is an RFC 8032 key: it signs and its public key verifies', () => {
    const node = deriveHdPath(master, "m/44'/501'/0'/0'");
    const message = new TextEncoder().encode('slip-10 ed25519');
    const signature = ed25519.sign(message, node.privateKey);
    expect(ed25519.verify(signature, message, node.publicKey)).toBe(true);
  });
});

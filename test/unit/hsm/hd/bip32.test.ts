// BIP 32 on secp256k1 (src/hsm/hd with @scure/bip32): the specification's test vectors 1, 2 and
// 3, every chain's xprv and xpub, derived from the seed, one step at a time, publicly from the
// parent's xpub where the step is not hardened, and read back from the strings; fingerprints
// chain parent to child; extended keys that BIP 32 calls invalid are refused.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { createBase58check } from '@scure/base';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import {
  decodeExtendedKey,
  deriveHdPath,
  derivePublicHdPath,
  encodeExtendedKey,
  hdFingerprint,
  hdMasterKey,
  hdPublicNode,
  wipeHdNode,
  type HdPrivateNode,
} from '../../../../src/hsm/hd/index.js';
import { BIP32_VECTORS as VECTORS, type Bip32Chain as Chain } from '../../../helpers/hd-vectors.js';
import { expectHsmError } from '../support.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

/** The node at each chain of a vector, derived from its master key by the absolute path. */
function derived(seed: string, chains: readonly Chain[]): HdPrivateNode[] {
  const master = hdMasterKey('secp256k1', hex(seed));
  return chains.map((c) => deriveHdPath(master, c.path));
}

describe.each(VECTORS)('BIP 32 $name', ({ seed, chains, publicSteps }) => {
  const nodes = derived(seed, chains);

  it.each(chains.map((c, i) => [c.path, i] as const))('%s: xprv and xpub', (_path, i) => {
    const chain = chains[i]!;
    const node = nodes[i]!;
    expect(encodeExtendedKey(node, 'xprv')).toBe(chain.xprv);
    expect(encodeExtendedKey(node, 'xpub')).toBe(chain.xpub);
    expect(encodeExtendedKey(hdPublicNode(node), 'xpub')).toBe(chain.xpub);
    expect(node.depth).toBe(i);
  });

  it('each chain is one step from the previous, and its parent fingerprint is the parent’s', () => {
    for (let i = 1; i < chains.length; i++) {
      const last = chains[i]!.path.split('/').pop()!;
      const step = deriveHdPath(nodes[i - 1]!, last);
      expect(encodeExtendedKey(step, 'xprv')).toBe(chains[i]!.xprv);
      expect(nodes[i]!.parentFingerprint).toBe(hdFingerprint(nodes[i - 1]!));
    }
    expect(nodes[0]!.parentFingerprint).toBe(0);
  });

  it('a non-hardened step is derived from the parent’s xpub alone (CKDpub)', () => {
    let checked = 0;
    for (let i = 1; i < chains.length; i++) {
      const last = chains[i]!.path.split('/').pop()!;
      if (/['hH]$/.test(last)) continue;
      const parent = decodeExtendedKey(chains[i - 1]!.xpub).node;
      expect(parent.privateKey).toBeUndefined();
      expect(encodeExtendedKey(derivePublicHdPath(parent, last), 'xpub')).toBe(chains[i]!.xpub);
      checked++;
    }
    expect(checked).toBe(publicSteps);
  });

  it('reads each xprv and xpub back to the same node', () => {
    for (const [i, chain] of chains.entries()) {
      const prv = decodeExtendedKey(chain.xprv);
      expect(prv.prefix).toBe('xprv');
      expect(prv.node).toEqual(nodes[i]);
      const pub = decodeExtendedKey(chain.xpub);
      expect(pub.prefix).toBe('xpub');
      expect(pub.node).toEqual(hdPublicNode(nodes[i]!));
    }
  });
});

describe('BIP 32 derivation, apart from the vectors', () => {
  const master = hdMasterKey('secp256k1', hex(VECTORS[0]!.seed));

  it('a path of child indices equals the written one; m gives a copy of the node', () => {
    const written = deriveHdPath(master, "m/44'/0'/0'/0/7");
    const indices = deriveHdPath(master, [0x8000002c, 0x80000000, 0x80000000, 0, 7]);
    expect(indices).toEqual(written);
    const same = deriveHdPath(master, 'm');
    expect(same).toEqual(master);
    expect(same.privateKey).not.toBe(master.privateKey);
  });

  it('leaves the parent as it was and wipes nothing it hands back', () => {
    const before = encodeExtendedKey(master, 'xprv');
    const child = deriveHdPath(master, "m/1'/2");
    expect(encodeExtendedKey(master, 'xprv')).toBe(before);
    expect(child.privateKey.some((b) => b !== 0)).toBe(true);
    wipeHdNode(child);
    expect(child.privateKey.every((b) => b === 0)).toBe(true);
    expect(child.chainCode.every((b) => b === 0)).toBe(true);
  });

  it('the public key is the compressed point of the private key', () => {
    const child = deriveHdPath(master, "m/0'/1");
    expect(child.publicKey).toEqual(secp256k1.getPublicKey(child.privateKey, true));
  });

  it('public derivation refuses a hardened segment, naming it', () => {
    const error = expectHsmError(
      () => derivePublicHdPath(hdPublicNode(master), "M/0/1'"),
      'invalid-argument',
    );
    expect(error.message).toBe(
      'derivation path segment 2 ("1\'") is hardened: a public key derives non-hardened children only (BIP 32 CKDpub)',
    );
    expect(error.details).toEqual({ field: 'path', segment: "1'", position: 2 });
  });

  it('an absolute path from a key below the master is refused', () => {
    const account = deriveHdPath(master, "m/84'/0'/0'");
    const error = expectHsmError(() => deriveHdPath(account, 'm/0/0'), 'invalid-argument');
    expect(error.details).toEqual({ field: 'path', depth: 3 });
    expect(deriveHdPath(account, '0/0')).toEqual(deriveHdPath(master, "m/84'/0'/0'/0/0"));
  });

  it('refuses seeds outside 16..64 bytes', () => {
    expectHsmError(() => hdMasterKey('secp256k1', new Uint8Array(15)), 'invalid-argument');
    expectHsmError(() => hdMasterKey('secp256k1', new Uint8Array(65)), 'invalid-argument');
    expect(hdMasterKey('secp256k1', new Uint8Array(64)).depth).toBe(0);
    expectHsmError(
      () => hdMasterKey('curve25519' as 'ed25519', new Uint8Array(32)),
      'invalid-argument',
    );
  });

  it('refuses a private prefix for a public node', () => {
    expectHsmError(() => encodeExtendedKey(hdPublicNode(master), 'xprv'), 'invalid-argument');
  });
});

describe('extended keys BIP 32 calls invalid', () => {
  const base58check = createBase58check(sha256);
  const prv = base58check.decode(VECTORS[0]!.chains[1]!.xprv);
  const pub = base58check.decode(VECTORS[0]!.chains[1]!.xpub);
  const N = secp256k1.Point.Fn.ORDER;
  /** The 78 bytes with some ranges overwritten, in Base58Check. */
  const edited = (raw: Uint8Array, ...edits: (readonly [number, Uint8Array])[]): string => {
    const copy = raw.slice();
    for (const [at, bytes] of edits) copy.set(bytes, at);
    return base58check.encode(copy);
  };
  const scalar = (n: bigint): Uint8Array => hex(n.toString(16).padStart(64, '0'));
  const depth0 = [4, Uint8Array.of(0)] as const;
  const noParent = [5, Uint8Array.of(0, 0, 0, 0)] as const;
  const noIndex = [9, Uint8Array.of(0, 0, 0, 0)] as const;

  it.each([
    ['a bad checksum', VECTORS[0]!.chains[1]!.xprv.slice(0, -1) + 'a', 'not base58check'],
    ['77 bytes', base58check.encode(prv.slice(0, 77)), '77 bytes instead of 78'],
    ['unknown version bytes', edited(prv, [0, Uint8Array.of(1, 2, 3, 4)]), 'unknown version bytes'],
    [
      'a master with a parent fingerprint',
      edited(prv, depth0, noIndex),
      'a master key (depth 0) with a parent fingerprint or child number',
    ],
    [
      'a master with a child number',
      edited(prv, depth0, noParent, [9, Uint8Array.of(0, 0, 0, 1)]),
      'a master key (depth 0) with a parent fingerprint or child number',
    ],
    ['private key 0', edited(prv, [46, scalar(0n)]), 'the private key is not in 1..n-1'],
    ['private key n', edited(prv, [46, scalar(N)]), 'the private key is not in 1..n-1'],
    [
      'an xprv with 0x02 key data',
      edited(prv, [45, Uint8Array.of(2)]),
      'xprv key data does not start with 0x00',
    ],
    [
      'an xpub with 0x04 key data',
      edited(pub, [45, Uint8Array.of(4)]),
      'the public key is not a point on the curve',
    ],
    [
      'an xpub whose x is not on the curve',
      edited(pub, [46, hex('00'.repeat(31) + '05')]),
      'the public key is not a point on the curve',
    ],
  ])('%s', (_what, text, why) => {
    const error = expectHsmError(() => decodeExtendedKey(text), 'invalid-argument');
    expect(error.message).toBe(`invalid extended key: ${why}`);
  });

  it('the unedited keys read, and a master key with both fields zero reads', () => {
    expect(decodeExtendedKey(edited(prv)).node.depth).toBe(1);
    expect(decodeExtendedKey(edited(prv, depth0, noParent, noIndex)).node.depth).toBe(0);
  });
});

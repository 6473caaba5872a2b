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
import { expectHsmError } from '../support.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

interface Chain {
  readonly path: string;
  readonly xpub: string;
  readonly xprv: string;
}

/** BIP 32 "Test Vectors" 1 to 3 (hardened segments written with h here, H in the BIP). */
const VECTORS: readonly {
  name: string;
  seed: string;
  /** How many chains are one non-hardened step below the previous one. */
  publicSteps: number;
  chains: readonly Chain[];
}[] = [
  {
    name: 'test vector 1',
    seed: '000102030405060708090a0b0c0d0e0f',
    publicSteps: 3,
    chains: [
      {
        path: 'm',
        xpub: 'xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8',
        xprv: 'xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi',
      },
      {
        path: 'm/0h',
        xpub: 'xpub68Gmy5EdvgibQVfPdqkBBCHxA5htiqg55crXYuXoQRKfDBFA1WEjWgP6LHhwBZeNK1VTsfTFUHCdrfp1bgwQ9xv5ski8PX9rL2dZXvgGDnw',
        xprv: 'xprv9uHRZZhk6KAJC1avXpDAp4MDc3sQKNxDiPvvkX8Br5ngLNv1TxvUxt4cV1rGL5hj6KCesnDYUhd7oWgT11eZG7XnxHrnYeSvkzY7d2bhkJ7',
      },
      {
        path: 'm/0h/1',
        xpub: 'xpub6ASuArnXKPbfEwhqN6e3mwBcDTgzisQN1wXN9BJcM47sSikHjJf3UFHKkNAWbWMiGj7Wf5uMash7SyYq527Hqck2AxYysAA7xmALppuCkwQ',
        xprv: 'xprv9wTYmMFdV23N2TdNG573QoEsfRrWKQgWeibmLntzniatZvR9BmLnvSxqu53Kw1UmYPxLgboyZQaXwTCg8MSY3H2EU4pWcQDnRnrVA1xe8fs',
      },
      {
        path: 'm/0h/1/2h',
        xpub: 'xpub6D4BDPcP2GT577Vvch3R8wDkScZWzQzMMUm3PWbmWvVJrZwQY4VUNgqFJPMM3No2dFDFGTsxxpG5uJh7n7epu4trkrX7x7DogT5Uv6fcLW5',
        xprv: 'xprv9z4pot5VBttmtdRTWfWQmoH1taj2axGVzFqSb8C9xaxKymcFzXBDptWmT7FwuEzG3ryjH4ktypQSAewRiNMjANTtpgP4mLTj34bhnZX7UiM',
      },
      {
        path: 'm/0h/1/2h/2',
        xpub: 'xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV',
        xprv: 'xprvA2JDeKCSNNZky6uBCviVfJSKyQ1mDYahRjijr5idH2WwLsEd4Hsb2Tyh8RfQMuPh7f7RtyzTtdrbdqqsunu5Mm3wDvUAKRHSC34sJ7in334',
      },
      {
        path: 'm/0h/1/2h/2/1000000000',
        xpub: 'xpub6H1LXWLaKsWFhvm6RVpEL9P4KfRZSW7abD2ttkWP3SSQvnyA8FSVqNTEcYFgJS2UaFcxupHiYkro49S8yGasTvXEYBVPamhGW6cFJodrTHy',
        xprv: 'xprvA41z7zogVVwxVSgdKUHDy1SKmdb533PjDz7J6N6mV6uS3ze1ai8FHa8kmHScGpWmj4WggLyQjgPie1rFSruoUihUZREPSL39UNdE3BBDu76',
      },
    ],
  },
  {
    name: 'test vector 2',
    publicSteps: 3,
    seed: 'fffcf9f6f3f0edeae7e4e1dedbd8d5d2cfccc9c6c3c0bdbab7b4b1aeaba8a5a29f9c999693908d8a8784817e7b7875726f6c696663605d5a5754514e4b484542',
    chains: [
      {
        path: 'm',
        xpub: 'xpub661MyMwAqRbcFW31YEwpkMuc5THy2PSt5bDMsktWQcFF8syAmRUapSCGu8ED9W6oDMSgv6Zz8idoc4a6mr8BDzTJY47LJhkJ8UB7WEGuduB',
        xprv: 'xprv9s21ZrQH143K31xYSDQpPDxsXRTUcvj2iNHm5NUtrGiGG5e2DtALGdso3pGz6ssrdK4PFmM8NSpSBHNqPqm55Qn3LqFtT2emdEXVYsCzC2U',
      },
      {
        path: 'm/0',
        xpub: 'xpub69H7F5d8KSRgmmdJg2KhpAK8SR3DjMwAdkxj3ZuxV27CprR9LgpeyGmXUbC6wb7ERfvrnKZjXoUmmDznezpbZb7ap6r1D3tgFxHmwMkQTPH',
        xprv: 'xprv9vHkqa6EV4sPZHYqZznhT2NPtPCjKuDKGY38FBWLvgaDx45zo9WQRUT3dKYnjwih2yJD9mkrocEZXo1ex8G81dwSM1fwqWpWkeS3v86pgKt',
      },
      {
        path: "m/0/2147483647'",
        xpub: 'xpub6ASAVgeehLbnwdqV6UKMHVzgqAG8Gr6riv3Fxxpj8ksbH9ebxaEyBLZ85ySDhKiLDBrQSARLq1uNRts8RuJiHjaDMBU4Zn9h8LZNnBC5y4a',
        xprv: 'xprv9wSp6B7kry3Vj9m1zSnLvN3xH8RdsPP1Mh7fAaR7aRLcQMKTR2vidYEeEg2mUCTAwCd6vnxVrcjfy2kRgVsFawNzmjuHc2YmYRmagcEPdU9',
      },
      {
        path: "m/0/2147483647'/1",
        xpub: 'xpub6DF8uhdarytz3FWdA8TvFSvvAh8dP3283MY7p2V4SeE2wyWmG5mg5EwVvmdMVCQcoNJxGoWaU9DCWh89LojfZ537wTfunKau47EL2dhHKon',
        xprv: 'xprv9zFnWC6h2cLgpmSA46vutJzBcfJ8yaJGg8cX1e5StJh45BBciYTRXSd25UEPVuesF9yog62tGAQtHjXajPPdbRCHuWS6T8XA2ECKADdw4Ef',
      },
      {
        path: "m/0/2147483647'/1/2147483646'",
        xpub: 'xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4koxb5JaHWkY4ALHY2grBGRjaDMzQLcgJvLJuZZvRcEL',
        xprv: 'xprvA1RpRA33e1JQ7ifknakTFpgNXPmW2YvmhqLQYMmrj4xJXXWYpDPS3xz7iAxn8L39njGVyuoseXzU6rcxFLJ8HFsTjSyQbLYnMpCqE2VbFWc',
      },
      {
        path: "m/0/2147483647'/1/2147483646'/2",
        xpub: 'xpub6FnCn6nSzZAw5Tw7cgR9bi15UV96gLZhjDstkXXxvCLsUXBGXPdSnLFbdpq8p9HmGsApME5hQTZ3emM2rnY5agb9rXpVGyy3bdW6EEgAtqt',
        xprv: 'xprvA2nrNbFZABcdryreWet9Ea4LvTJcGsqrMzxHx98MMrotbir7yrKCEXw7nadnHM8Dq38EGfSh6dqA9QWTyefMLEcBYJUuekgW4BYPJcr9E7j',
      },
    ],
  },
  {
    // Retention of leading zeros (BIP 32: bitpay/bitcore-lib#47, iancoleman/bip39#58).
    name: 'test vector 3',
    publicSteps: 0,
    seed: '4b381541583be4423346c643850da4b320e46a87ae3d2a4e6da11eba819cd4acba45d239319ac14f863b8d5ab5a0d0c64d2e8a1e7d1457df2e5a3c51c73235be',
    chains: [
      {
        path: 'm',
        xpub: 'xpub661MyMwAqRbcEZVB4dScxMAdx6d4nFc9nvyvH3v4gJL378CSRZiYmhRoP7mBy6gSPSCYk6SzXPTf3ND1cZAceL7SfJ1Z3GC8vBgp2epUt13',
        xprv: 'xprv9s21ZrQH143K25QhxbucbDDuQ4naNntJRi4KUfWT7xo4EKsHt2QJDu7KXp1A3u7Bi1j8ph3EGsZ9Xvz9dGuVrtHHs7pXeTzjuxBrCmmhgC6',
      },
      {
        path: 'm/0H',
        xpub: 'xpub68NZiKmJWnxxS6aaHmn81bvJeTESw724CRDs6HbuccFQN9Ku14VQrADWgqbhhTHBaohPX4CjNLf9fq9MYo6oDaPPLPxSb7gwQN3ih19Zm4Y',
        xprv: 'xprv9uPDJpEQgRQfDcW7BkF7eTya6RPxXeJCqCJGHuCJ4GiRVLzkTXBAJMu2qaMWPrS7AANYqdq6vcBcBUdJCVVFceUvJFjaPdGZ2y9WACViL4L',
      },
    ],
  },
];

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

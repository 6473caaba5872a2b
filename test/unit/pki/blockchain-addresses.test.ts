// Blockchain addresses (src/pki/blockchain-addresses.ts) against published answers: BIP 84
// (P2WPKH) and BIP 86 (P2TR) test vectors derived with src/hsm/hd from the seed of their
// 'abandon ... about' mnemonic, BIP 173's P2WPKH example on mainnet and testnet, EIP-55's
// checksum examples, Ethereum addresses of private keys 1 and 2 and of m/44'/60'/0'/0/0; and
// refusals of what is not a secp256k1 point.
import { pbkdf2Sync } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bech32, bech32m, createBase58check } from '@scure/base';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import {
  deriveHdPath,
  encodeExtendedKey,
  hdMasterKey,
  type HdPrivateNode,
} from '../../../src/hsm/hd/index.js';
import {
  PkiError,
  bitcoinP2trAddress,
  bitcoinP2wpkhAddress,
  eip55Checksum,
  ethereumAddress,
  isEip55Address,
  taprootOutputKey,
  type BitcoinNetwork,
} from '../../../src/pki/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

const MNEMONIC =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
/** BIP 39: PBKDF2-HMAC-SHA512(mnemonic, "mnemonic" || passphrase, 2048 rounds), no passphrase. */
const SEED_HEX =
  '5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc19a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4';
const seed = bytes(SEED_HEX);
const master = hdMasterKey('secp256k1', seed);
const at = (path: string): HdPrivateNode => deriveHdPath(master, path);

function expectPkiError(fn: () => unknown, code: string): PkiError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(PkiError);
  expect((thrown as PkiError).code).toBe(code);
  return thrown as PkiError;
}

describe('the seed of the BIP 84 and BIP 86 vectors', () => {
  it('is the BIP 39 seed of the mnemonic, and gives BIP 86’s root keys', () => {
    const derived = pbkdf2Sync(MNEMONIC.normalize('NFKD'), 'mnemonic', 2048, 64, 'sha512');
    expect(hex(derived)).toBe(SEED_HEX);
    expect(encodeExtendedKey(master, 'xprv')).toBe(
      'xprv9s21ZrQH143K3GJpoapnV8SFfukcVBSfeCficPSGfubmSFDxo1kuHnLisriDvSnRRuL2Qrg5ggqHKNVpxR86QEC8w35uxmGoggxtQTPvfUu',
    );
    expect(encodeExtendedKey(master, 'xpub')).toBe(
      'xpub661MyMwAqRbcFkPHucMnrGNzDwb6teAX1RbKQmqtEF8kK3Z7LZ59qafCjB9eCRLiTVG3uxBxgKvRgbubRhqSKXnGGb1aoaqLrpMBDrVxga8',
    );
  });
});

describe('BIP 84 P2WPKH test vectors', () => {
  const wif = createBase58check(sha256);

  it('root and account keys in SLIP-132 zprv form', () => {
    expect(encodeExtendedKey(master, 'zprv')).toBe(
      'zprvAWgYBBk7JR8Gjrh4UJQ2uJdG1r3WNRRfURiABBE3RvMXYSrRJL62XuezvGdPvG6GFBZduosCc1YP5wixPox7zhZLfiUm8aunE96BBa4Kei5',
    );
    expect(encodeExtendedKey(at("m/84'/0'/0'"), 'zprv')).toBe(
      'zprvAdG4iTXWBoARxkkzNpNh8r6Qag3irQB8PzEMkAFeTRXxHpbF9z4QgEvBRmfvqWvGp42t42nvgGpNgYSJA9iefm1yYNZKEm7z6qUWCroSQnE',
    );
  });

  it.each([
    [
      "m/84'/0'/0'/0/0",
      'KyZpNDKnfs94vbrwhJneDi77V6jF64PWPF8x5cdJb8ifgg2DUc9d',
      '0330d54fd0dd420a6e5f8d3624f5f3482cae350f79d5f0753bf5beef9c2d91af3c',
      'bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu',
    ],
    [
      "m/84'/0'/0'/0/1",
      'Kxpf5b8p3qX56DKEe5NqWbNUP9MnqoRFzZwHRtsFqhzuvUJsYZCy',
      '03e775fd51f0dfb8cd865d9ff1cca2a158cf651fe997fdc9fee9c1d3b5e995ea77',
      'bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g',
    ],
    [
      "m/84'/0'/0'/1/0",
      'KxuoxufJL5csa1Wieb2kp29VNdn92Us8CoaUG3aGtPtcF3AzeXvF',
      '03025324888e429ab8e3dbaf1f7802648b9cd01e9b418485c5fa4c1b9b5700e1a6',
      'bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el',
    ],
  ])('%s', (path, privkey, pubkey, address) => {
    const node = at(path);
    // WIF: 0x80 || k || 0x01 (compressed) in Base58Check.
    expect(hex(wif.decode(privkey))).toBe(`80${hex(node.privateKey)}01`);
    expect(hex(node.publicKey)).toBe(pubkey);
    expect(bitcoinP2wpkhAddress(node.publicKey)).toBe(address);
    // The uncompressed form of the same key gives the same (segwit: compressed) address.
    const uncompressed = secp256k1.Point.fromBytes(node.publicKey).toBytes(false);
    expect(bitcoinP2wpkhAddress(uncompressed)).toBe(address);
  });
});

describe('BIP 86 P2TR test vectors', () => {
  it.each([
    [
      "m/86'/0'/0'/0/0",
      'xprvA449goEeU9okwCzzZaxiy475EQGQzBkc65su82nXEvcwzfSskb2hAt2WymrjyRL6kpbVTGL3cKtp9herYXSjjQ1j4stsXXiRF7kXkCacK3T',
      'xpub6H3W6JmYJXN49h5TfcVjLC3onS6uPeUTTJoVvRC8oG9vsTn2J8LwigLzq5tHbrwAzH9DGo6ThGUdWsqce8dGfwHVBxSbixjDADGGdzF7t2B',
      'cc8a4bc64d897bddc5fbc2f670f7a8ba0b386779106cf1223c6fc5d7cd6fc115',
      'a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c',
      'bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr',
    ],
    [
      "m/86'/0'/0'/0/1",
      'xprvA449goEeU9okyiF1LmKiDaTgeXvmh87DVyRd35VPbsSop8n8uALpbtrUhUXByPFKK7C2yuqrB1FrhiDkEMC4RGmA5KTwsE1aB5jRu9zHsuQ',
      'xpub6H3W6JmYJXN4CCKUSnriaiQRCZmG6aq4sCMDqTu1ACyngw7HShf59hAxYjXgKDuuHThVEUzdHrc3aXCr9kfvQvZPit5dnD3K9xVRBzjK3rX',
      '83dfe85a3151d2517290da461fe2815591ef69f2b18a2ce63f01697a8b313145',
      'a82f29944d65b86ae6b5e5cc75e294ead6c59391a1edc5e016e3498c67fc7bbb',
      'bc1p4qhjn9zdvkux4e44uhx8tc55attvtyu358kutcqkudyccelu0was9fqzwh',
    ],
    [
      "m/86'/0'/0'/1/0",
      'xprvA3Ln3Gt3aphvUgzgEDT8vE2cYqb4PjFfpmbiFKphxLg1FjXQpkAk5M1ZKDY15bmCAHA35jTiawbFuwGtbDZogKF1WfjwxML4gK7WfYW5JRP',
      'xpub6GL8SnQwRCGDhB59LEz9HMyM6sRYoByXBzXK3iEKWgCz8XrZNHUzd9L3AUBELW5NzA7dEFvMas1F84TuPH3xqdUA5tumaGWFgihJzWytXe3',
      '399f1b2f4393f29a18c937859c5dd8a77350103157eb880f02e8c08214277cef',
      '882d74e5d0572d5a816cef0041a96b6c1de832f6f9676d9605c44d5e9a97d3dc',
      'bc1p3qkhfews2uk44qtvauqyr2ttdsw7svhkl9nkm9s9c3x4ax5h60wqwruhk7',
    ],
  ])('%s', (path, xprv, xpub, internalKey, outputKey, address) => {
    const node = at(path);
    expect(encodeExtendedKey(node, 'xprv')).toBe(xprv);
    expect(encodeExtendedKey(node, 'xpub')).toBe(xpub);
    expect(hex(node.publicKey.subarray(1))).toBe(internalKey);
    expect(hex(taprootOutputKey(node.publicKey))).toBe(outputKey);
    expect(bitcoinP2trAddress(node.publicKey)).toBe(address);
    // The x-only internal key gives the same output.
    expect(bitcoinP2trAddress(bytes(internalKey))).toBe(address);
    // The witness program is the output key (BIP 350: version 1, bech32m).
    const decoded = bech32m.decode(address as `${string}1${string}`);
    expect(decoded.prefix).toBe('bc');
    expect(decoded.words[0]).toBe(1);
    expect(hex(bech32m.fromWords(decoded.words.slice(1)))).toBe(outputKey);
  });
});

describe('testnet addresses', () => {
  it('BIP 173: the P2WPKH example key on mainnet and testnet', () => {
    const key = bytes('0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798');
    expect(bitcoinP2wpkhAddress(key, 'mainnet')).toBe('bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4');
    expect(bitcoinP2wpkhAddress(key, 'testnet')).toBe('tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx');
  });

  it('a P2TR address on testnet carries the mainnet witness program under tb', () => {
    const node = at("m/86'/1'/0'/0/0");
    const main = bech32m.decode(bitcoinP2trAddress(node.publicKey) as `${string}1${string}`);
    const test = bech32m.decode(
      bitcoinP2trAddress(node.publicKey, 'testnet') as `${string}1${string}`,
    );
    expect(test.prefix).toBe('tb');
    expect(test.words).toEqual(main.words);
    const wpkh = bech32.decode(
      bitcoinP2wpkhAddress(node.publicKey, 'testnet') as `${string}1${string}`,
    );
    expect(wpkh.prefix).toBe('tb');
    expect(wpkh.words[0]).toBe(0);
  });
});

describe('Ethereum addresses and EIP-55', () => {
  it.each([
    '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
    '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359',
    '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB',
    '0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb',
    '0x52908400098527886E0F7030069857D2E4169EE7',
    '0x8617E340B3D01FA5F11F306F4090FD50E238070D',
    '0xde709f2102306220921060314715629080e2fb77',
    '0x27b1fdb04752bbc536007a920d24acb045561c26',
  ])('EIP-55 example %s', (address) => {
    expect(eip55Checksum(address.toLowerCase())).toBe(address);
    expect(eip55Checksum(address.slice(2).toUpperCase())).toBe(address);
  });

  it('tells a valid checksum from a broken one and from none', () => {
    expect(isEip55Address('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed')).toBe(true);
    expect(isEip55Address('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD')).toBe(false);
    expect(isEip55Address('0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed')).toBe(false);
    expect(isEip55Address('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA')).toBe(false);
    expectPkiError(
      () => eip55Checksum('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeZ'),
      'public-key-invalid',
    );
  });

  it.each([
    [1n, '0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf'],
    [2n, '0x2B5AD5c4795c026514f8317c7a215E218DcCD6cF'],
  ])('private key %s', (k, address) => {
    const secret = bytes(k.toString(16).padStart(64, '0'));
    expect(ethereumAddress(secp256k1.getPublicKey(secret, false))).toBe(address);
    expect(ethereumAddress(secp256k1.getPublicKey(secret, true))).toBe(address);
  });

  it("m/44'/60'/0'/0/0 of the 'abandon ... about' seed", () => {
    expect(ethereumAddress(at("m/44'/60'/0'/0/0").publicKey)).toBe(
      '0x9858EfFD232B4033E47d90003D41EC34EcaEda94',
    );
  });
});

describe('refusals', () => {
  const good = at("m/84'/0'/0'/0/0").publicKey;

  it.each([
    ['a 32-byte SEC 1 point', good.subarray(1)],
    ['an empty key', new Uint8Array(0)],
    ['a point off the curve', Uint8Array.of(0x02, ...new Uint8Array(31), 5)],
    ['a bad prefix', Uint8Array.of(0x05, ...good.subarray(1))],
    [
      'an uncompressed point with y changed',
      (() => {
        const u = secp256k1.Point.fromBytes(good).toBytes(false);
        u[64]! ^= 1;
        return u;
      })(),
    ],
  ])('%s is not a secp256k1 public key', (what, key) => {
    if (what !== 'a 32-byte SEC 1 point') {
      expectPkiError(() => bitcoinP2trAddress(key), 'public-key-invalid');
    }
    expectPkiError(() => bitcoinP2wpkhAddress(key), 'public-key-invalid');
    expectPkiError(() => ethereumAddress(key), 'public-key-invalid');
  });

  it('an x-only key whose x is not on the curve, and an unknown network', () => {
    expectPkiError(() => bitcoinP2trAddress(new Uint8Array(32).fill(0xff)), 'public-key-invalid');
    expectPkiError(
      () => bitcoinP2wpkhAddress(good, 'regtest' as BitcoinNetwork),
      'public-key-invalid',
    );
  });
});

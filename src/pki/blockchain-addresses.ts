// Blockchain addresses of a secp256k1 public key: Bitcoin P2WPKH (BIP 141, bech32 of BIP 173)
// and single-key P2TR (BIP 341 key path with no script tree, as BIP 86 derives it; bech32m of
// BIP 350) with @scure/btc-signer, and Ethereum (Yellow Paper: the last 20 bytes of keccak-256
// of the uncompressed point) with the EIP-55 mixed-case checksum. Public facts, browser-safe.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { p2tr, p2wpkh } from '@scure/btc-signer/payment.js';
import { NETWORK, TEST_NETWORK } from '@scure/btc-signer/utils.js';
import { toHex, utf8 } from '../shared/index.js';
import { PkiError } from './errors.js';

/** Bitcoin mainnet (bc1...) or testnet and signet (tb1...). */
export type BitcoinNetwork = 'mainnet' | 'testnet';

const NETWORKS = { mainnet: NETWORK, testnet: TEST_NETWORK } as const;

function invalidKey(why: string, cause?: unknown): PkiError {
  return new PkiError('public-key-invalid', `not a secp256k1 public key: ${why}`, {
    ...(cause === undefined ? {} : { cause }),
  });
}

/** The point of a SEC 1 encoded public key (33 bytes compressed or 65 uncompressed). */
function pointOf(publicKey: Uint8Array) {
  if (publicKey.length !== 33 && publicKey.length !== 65) {
    throw invalidKey(`${publicKey.length} bytes, not a 33- or 65-byte SEC 1 point`);
  }
  try {
    return secp256k1.Point.fromBytes(publicKey);
  } catch (cause) {
    throw invalidKey('not a point on the curve', cause);
  }
}

function networkOf(network: BitcoinNetwork) {
  const params = Object.hasOwn(NETWORKS, network) ? NETWORKS[network] : undefined;
  if (params === undefined) {
    throw new PkiError('public-key-invalid', 'unknown bitcoin network', { details: { network } });
  }
  return params;
}

/**
 * The P2WPKH address (witness v0, scriptPubKey 0 <HASH160(K)>) of a public key, in bech32:
 * bc1q... on mainnet, tb1q... on testnet. BIP 143 allows compressed keys only in segwit, so an
 * uncompressed key is compressed first: the address is the one a wallet shows for the key.
 */
export function bitcoinP2wpkhAddress(
  publicKey: Uint8Array,
  network: BitcoinNetwork = 'mainnet',
): string {
  const compressed = pointOf(publicKey).toBytes(true);
  return p2wpkh(compressed, networkOf(network)).address;
}

/** The x-only internal key P of BIP 340 (32 bytes) of a SEC 1 or x-only public key. */
function internalKey(publicKey: Uint8Array): Uint8Array {
  if (publicKey.length === 32) {
    // BIP 340 lift_x: the x coordinate must be that of a point on the curve.
    return pointOf(Uint8Array.of(0x02, ...publicKey))
      .toBytes(true)
      .subarray(1);
  }
  return pointOf(publicKey).toBytes(true).subarray(1);
}

/**
 * The taproot output key Q = P + int(hash_TapTweak(bytes(P)))G of a single-key P2TR output with
 * no script path (BIP 341, BIP 86), as its 32-byte x coordinate.
 */
export function taprootOutputKey(publicKey: Uint8Array): Uint8Array {
  return p2tr(internalKey(publicKey), undefined, NETWORK).tweakedPubkey;
}

/**
 * The P2TR address (witness v1, scriptPubKey 1 <Q>) of a public key used as the BIP 86 internal
 * key, in bech32m: bc1p... on mainnet, tb1p... on testnet. Takes a SEC 1 point or the 32-byte
 * x-only key; an odd-y point is used as its even-y twin, as BIP 340 x-only keys are.
 */
export function bitcoinP2trAddress(
  publicKey: Uint8Array,
  network: BitcoinNetwork = 'mainnet',
): string {
  return p2tr(internalKey(publicKey), undefined, networkOf(network)).address;
}

/**
 * The EIP-55 form of a 20-byte address given as 40 hex digits (with or without 0x, any case):
 * each letter upper case where the matching nibble of keccak-256 of the lower-case hex is 8 or
 * more. PkiError public-key-invalid for anything but 40 hex digits.
 */
export function eip55Checksum(address: string): string {
  const digits = address.startsWith('0x') ? address.slice(2) : address;
  if (!/^[0-9a-fA-F]{40}$/.test(digits)) {
    throw new PkiError('public-key-invalid', 'an ethereum address is 40 hex digits');
  }
  const lower = digits.toLowerCase();
  const hash = toHex(keccak_256(utf8(lower)));
  let out = '0x';
  for (let i = 0; i < 40; i++) {
    const c = lower[i]!;
    out += parseInt(hash[i]!, 16) >= 8 ? c.toUpperCase() : c;
  }
  return out;
}

/**
 * Whether a 0x address carries a valid EIP-55 checksum. An all-lower-case or all-upper-case
 * address carries none (EIP-55 keeps them valid but unchecked): false here, since it proves
 * nothing.
 */
export function isEip55Address(address: string): boolean {
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) return false;
  return eip55Checksum(address) === address;
}

/**
 * The Ethereum address of a public key: the last 20 bytes of keccak-256 over the 64-byte
 * uncompressed point x || y (no 0x04 prefix), in its EIP-55 checksummed form.
 */
export function ethereumAddress(publicKey: Uint8Array): string {
  const xy = pointOf(publicKey).toBytes(false).subarray(1);
  return eip55Checksum(toHex(keccak_256(xy).subarray(12)));
}

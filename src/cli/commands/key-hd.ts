// Derivable keys (BIP 32, SLIP-10) and blockchain addresses: key derive-child (a child at a path
// into a new key of the partition, temporary by default) and key address (Bitcoin P2WPKH or P2TR,
// Ethereum), locally or through the REST API (--api).
import { ADDRESS_TYPES, KEY_PURPOSES, type AddressType, type KeyPurpose } from '../../hsm/index.js';
import { flag, requiredOption, stringOption, type Command, type Invocation } from '../command.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { jsonText } from '../output.js';
import {
  approvalRequired,
  keyViewOf,
  REMOTE_OPTIONS,
  withTarget,
  type KeyView,
} from '../remote.js';
import { keyJson, parsePurposes, printKey } from './key.js';
import { MASTER_OPTIONS } from './partition.js';

/** The longest lifetime a temporary key takes: a year and a day (366 days), in seconds. */
const MAX_LIFETIME_S = 366 * 24 * 3600;

function lifetime(inv: Invocation): { expiresInSeconds?: number; persistent?: boolean } {
  const text = stringOption(inv, 'expires-in');
  const persistent = flag(inv, 'persistent');
  if (text !== undefined && persistent) {
    throw new UsageError('give --expires-in S or --persistent, not both');
  }
  if (persistent) return { persistent: true };
  if (text === undefined) return {};
  if (!/^[1-9][0-9]{0,8}$/.test(text) || Number(text) > MAX_LIFETIME_S) {
    throw new UsageError(`--expires-in is a number of seconds, 1 to ${MAX_LIFETIME_S}`);
  }
  return { expiresInSeconds: Number(text) };
}

export const keyDeriveChild: Command = {
  path: ['key', 'derive-child'],
  summary:
    'Derive the child of a derivable key (BIP 32, SLIP-10) at a path into a new key (temporary).',
  positionals: ['PARTITION', 'LABEL'],
  details: `LABEL is a derivable key (bip32-secp256k1, slip10-ed25519, slip10-p256) with the purpose
derive. --path is "m/84'/0'/0'/0/0" from a master key, or child indices relative to the key
("0/5"); a hardened segment ends in ', h or H; ed25519 keys derive hardened children only. The
child becomes the key --new-label of the same algorithm: it signs (key sign) with its curve's
scheme (low-S ECDSA-SHA-256 on secp256k1, ECDSA P-256, Ed25519) and, given the purpose derive,
derives further. It is temporary: it expires after --expires-in seconds (default 3600) and is
then refused (exit 2, key-expired) and destroyed by the sweep at the next open or close of the
HSM; --persistent keeps it until deleted. Under the parent's use rule an approval request is
made (exit 7); once approved, run attestamp approvals execute ID. With --json: the new key, as
key show --json prints it.`,
  options: {
    path: { type: 'string', value: 'PATH', description: 'the derivation path (required)' },
    'new-label': {
      type: 'string',
      value: 'LABEL',
      description: 'the label of the derived key (required)',
    },
    'expires-in': {
      type: 'string',
      value: 'S',
      description: 'seconds until the derived key expires (default 3600)',
    },
    persistent: { type: 'boolean', description: 'keep the derived key (no expiry)' },
    purposes: {
      type: 'string',
      value: 'LIST',
      description: `comma-separated (default: sign,verify; add derive to derive further; known: ${KEY_PURPOSES.join(', ')})`,
    },
    extractable: {
      type: 'boolean',
      description: 'allow wrapped export where the partition policy allows it',
    },
    ...MASTER_OPTIONS,
    ...REMOTE_OPTIONS,
  },
  async run(inv) {
    const [partition, label] = inv.positionals as [string, string];
    const path = requiredOption(inv, 'path');
    const newLabel = requiredOption(inv, 'new-label');
    const life = lifetime(inv);
    const p: KeyPurpose[] | undefined = parsePurposes(inv);
    const options = {
      label: newLabel,
      ...life,
      ...(p === undefined ? {} : { purposes: p }),
      extractable: flag(inv, 'extractable'),
    };
    const key = await withTarget<KeyView>(
      inv,
      (hsm) => hsm.deriveChildKey(partition, label, path, options),
      async (api) => {
        const r = await api.deriveChildKey(partition, label, { path, ...options });
        if (r.kind === 'approval') throw approvalRequired(r.approval);
        return keyViewOf(r.value);
      },
    );
    if (flag(inv, 'json')) inv.io.stdout(jsonText(keyJson(key)));
    else printKey(inv, key);
    return EXIT.ok;
  },
};

export const keyAddress: Command = {
  path: ['key', 'address'],
  summary: 'Print the Bitcoin (P2WPKH, P2TR) or Ethereum address of a secp256k1 key.',
  positionals: ['PARTITION', 'LABEL'],
  details: `For an ecdsa-secp256k1 key or a bip32-secp256k1 key (a derived child, typically):
--type p2wpkh (native segwit v0, bech32, as BIP 84 wallets show it), p2tr (single-key taproot with
no script path, bech32m, as BIP 86 derives it) or ethereum (the EIP-55 checksummed address).
--network mainnet (bc1..., the default) or testnet (tb1..., also signet) for the Bitcoin types.
With --json: {partition, label, key, type, network, address}.`,
  options: {
    type: {
      type: 'string',
      value: 'TYPE',
      description: `${ADDRESS_TYPES.join(', ')} (required)`,
    },
    network: {
      type: 'string',
      value: 'NET',
      description: 'mainnet (default) or testnet, for p2wpkh and p2tr',
    },
    ...MASTER_OPTIONS,
    ...REMOTE_OPTIONS,
  },
  async run(inv) {
    const [partition, label] = inv.positionals as [string, string];
    const type = requiredOption(inv, 'type');
    if (!(ADDRESS_TYPES as readonly string[]).includes(type)) {
      throw new UsageError(`--type must be one of ${ADDRESS_TYPES.join(', ')}`);
    }
    const network = stringOption(inv, 'network');
    if (network !== undefined && network !== 'mainnet' && network !== 'testnet') {
      throw new UsageError('--network must be mainnet or testnet');
    }
    if (network !== undefined && type === 'ethereum') {
      throw new UsageError('--network is for the bitcoin types (p2wpkh, p2tr)');
    }
    const addressType = type as AddressType;
    const found = await withTarget<{ key: string; address: string }>(
      inv,
      async (hsm) => {
        const r = await hsm.keyAddress(partition, label, addressType, network);
        return { key: r.key.id, address: r.address };
      },
      async (api) => {
        const r = await api.keyAddress(partition, label, addressType, network);
        return { key: r.key, address: r.address };
      },
    );
    if (flag(inv, 'json')) {
      inv.io.stdout(
        jsonText({
          partition,
          label,
          key: found.key,
          type,
          ...(type === 'ethereum' ? {} : { network: network ?? 'mainnet' }),
          address: found.address,
        }),
      );
    } else inv.io.stdout(`${found.address}\n`);
    return EXIT.ok;
  },
};

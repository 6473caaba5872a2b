// Key agreement and key encapsulation commands: a new secret key derived inside the HSM from a
// shared secret (ECDH or X25519 with a peer's public key, ML-KEM decapsulation of a ciphertext),
// or encapsulated to a peer's ML-KEM public key; both through HKDF (RFC 5869). On a local store
// or, with --api, through the REST API; a derivation under the base key's use rule is an
// approval request (exit 7), carried out with --request ID once approved.
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DeriveKeyOptions } from '../../client/index.js';
import type { Hsm, HsmAlgorithm, KeyPurpose } from '../../hsm/index.js';
import {
  HSM_ALGORITHMS,
  isHsmAlgorithm,
  isSecretAlgorithm,
  kemAlgorithmOfSpki,
  KEY_PURPOSES,
} from '../../hsm/index.js';
import { decodePemAll, encodePem } from '../../pki/index.js';
import { flag, requiredOption, stringOption, type Command, type Invocation } from '../command.js';
import { readInputFile } from '../context.js';
import { EXIT, InputError, UsageError } from '../exit-codes.js';
import { jsonText } from '../output.js';
import {
  approvalRequired,
  keyViewOf,
  REMOTE_OPTIONS,
  withTarget,
  type KeyView,
} from '../remote.js';
import { keyJson, printKey } from './key.js';
import { MASTER_OPTIONS } from './partition.js';

type DeriveOptions = Parameters<Hsm['deriveKey']>[3];
type Kdf = DeriveOptions['kdf'];

/** The HSM's bound on a public key, ciphertext, salt or info (src/hsm/keys/derive.ts). */
const INPUT_LIMIT = 8 * 1024;
const HASHES = ['sha256', 'sha384', 'sha512'] as const;

/** The options both commands share: the HKDF and the new key. */
const NEW_KEY_OPTIONS = {
  label: { type: 'string', value: 'LABEL', description: 'the new secret key (required)' },
  algorithm: {
    type: 'string',
    value: 'ALG',
    description: `the new key's algorithm (required; a secret key: ${HSM_ALGORITHMS.filter(isSecretAlgorithm).join(', ')})`,
  },
  'kdf-hash': {
    type: 'string',
    value: 'HASH',
    description: `the HKDF hash (${HASHES.join(', ')}; default sha256)`,
  },
  salt: { type: 'string', value: 'HEX', description: 'the HKDF salt, hexadecimal (default none)' },
  'salt-file': { type: 'string', value: 'FILE', description: 'the HKDF salt, from a file' },
  info: {
    type: 'string',
    value: 'TEXT',
    description: 'the HKDF info, the context both parties bind the key to (UTF-8; default empty)',
  },
  'info-file': { type: 'string', value: 'FILE', description: 'the HKDF info, from a file' },
  purposes: {
    type: 'string',
    value: 'LIST',
    description: `comma-separated (default: the algorithm's; known: ${KEY_PURPOSES.join(', ')})`,
  },
  extractable: { type: 'boolean', description: 'allow the new key wrapped export later' },
} as const;

/** A file of at most INPUT_LIMIT bytes (refused before reading a larger one). */
function readSmall(inv: Invocation, option: string): Uint8Array {
  const path = resolve(inv.io.cwd, requiredOption(inv, option));
  if (existsSync(path) && statSync(path).size > INPUT_LIMIT) {
    throw new InputError(`the --${option} file is larger than ${INPUT_LIMIT} bytes`);
  }
  return new Uint8Array(readInputFile(path, `the --${option}`));
}

/** A public key file: PEM "PUBLIC KEY" or DER SubjectPublicKeyInfo (the HSM checks the key). */
function readPeerPublicKey(inv: Invocation): Uint8Array {
  const bytes = readSmall(inv, 'peer-public-key');
  const text = Buffer.from(bytes).toString('latin1');
  if (!text.includes('-----BEGIN')) return bytes;
  const block = decodePemAll(text).find((b) => b.label === 'PUBLIC KEY');
  if (block === undefined) {
    throw new InputError(
      'the --peer-public-key file has no PEM "PUBLIC KEY" block (openssl pkey -pubout writes one)',
    );
  }
  return block.der;
}

/** --X HEX or --X-file FILE: at most one. */
function bytesOption(inv: Invocation, name: string, text: 'hex' | 'utf8'): Uint8Array | undefined {
  const value = stringOption(inv, name);
  const file = stringOption(inv, `${name}-file`);
  if (value !== undefined && file !== undefined) {
    throw new UsageError(`give --${name} or --${name}-file, not both`);
  }
  if (file !== undefined) return readSmall(inv, `${name}-file`);
  if (value === undefined) return undefined;
  if (text === 'hex' && !/^([0-9a-fA-F]{2})+$/.test(value)) {
    throw new UsageError(`--${name} must be hexadecimal (an even number of digits)`);
  }
  const bytes = new Uint8Array(Buffer.from(value, text));
  if (bytes.length > INPUT_LIMIT)
    throw new UsageError(`--${name} is longer than ${INPUT_LIMIT} bytes`);
  return bytes;
}

function kdfOf(inv: Invocation): Kdf {
  const hash = stringOption(inv, 'kdf-hash') ?? 'sha256';
  if (!(HASHES as readonly string[]).includes(hash)) {
    throw new UsageError(`--kdf-hash must be one of ${HASHES.join(', ')}`);
  }
  const salt = bytesOption(inv, 'salt', 'hex');
  const info = bytesOption(inv, 'info', 'utf8');
  return {
    hash: hash as Kdf['hash'],
    ...(salt === undefined ? {} : { salt }),
    ...(info === undefined ? {} : { info }),
  };
}

function purposesOf(inv: Invocation): KeyPurpose[] | undefined {
  const v = stringOption(inv, 'purposes');
  if (v === undefined) return undefined;
  const list = v.split(',').map((s) => s.trim());
  for (const p of list) {
    if (!(KEY_PURPOSES as readonly string[]).includes(p)) {
      throw new UsageError(
        `--purposes: unknown purpose '${p}' (known: ${KEY_PURPOSES.join(', ')})`,
      );
    }
  }
  return list as KeyPurpose[];
}

/** The new key of the command line: label, algorithm (a secret key), purposes, extractable. */
function newKeyOf(inv: Invocation): DeriveOptions['key'] {
  const label = requiredOption(inv, 'label');
  const algorithm = requiredOption(inv, 'algorithm');
  if (!isHsmAlgorithm(algorithm) || !isSecretAlgorithm(algorithm)) {
    throw new UsageError(
      `--algorithm must be a secret key algorithm: ${HSM_ALGORITHMS.filter(isSecretAlgorithm).join(', ')}`,
    );
  }
  const purposes = purposesOf(inv);
  return {
    label,
    algorithm,
    extractable: flag(inv, 'extractable'),
    ...(purposes === undefined ? {} : { purposes }),
  };
}

/** The same options as the client's (bytes; the client sends them as base64). */
function clientOptions(options: DeriveOptions): DeriveKeyOptions {
  return {
    kdf: options.kdf,
    newKey: {
      label: options.key.label,
      algorithm: options.key.algorithm,
      ...(options.key.purposes === undefined ? {} : { purposes: [...options.key.purposes] }),
      ...(options.key.extractable === undefined ? {} : { extractable: options.key.extractable }),
    },
  };
}

const SOURCE_OPTIONS = ['peer-public-key', 'ciphertext'] as const;

export const keyDerive: Command = {
  path: ['key', 'derive'],
  summary:
    'Derive a new secret key from a shared secret: ECDH or X25519 with a peer key, or ML-KEM decapsulation.',
  positionals: ['PARTITION', 'LABEL'],
  details: `LABEL is the base key (purpose derive): an ECDH (P-256, P-384) or X25519 key given the peer's
public key with --peer-public-key (PEM or DER SubjectPublicKeyInfo, of the same curve), or an
ML-KEM key given with --ciphertext the ciphertext the peer's attestamp key encapsulate wrote.
The shared secret goes through HKDF (RFC 5869; --kdf-hash, --salt or --salt-file, --info or
--info-file, the same on both sides) into the new secret key --label of --algorithm (origin
derived); it never leaves the HSM. A peer key of another curve or a small-order X25519 point is
refused (exit 64, invalid-argument). Under the base key's use rule an approval request is made
(exit 7); once approved, run the same command with --request ID alone.`,
  options: {
    'peer-public-key': {
      type: 'string',
      value: 'FILE',
      description: "the peer's ECDH or X25519 public key (PEM or DER)",
    },
    ciphertext: {
      type: 'string',
      value: 'FILE',
      description: 'the ML-KEM ciphertext encapsulated to LABEL',
    },
    ...NEW_KEY_OPTIONS,
    request: {
      type: 'string',
      value: 'ID',
      description: 'carry out this approved derivation instead (its inputs are the ones it holds)',
    },
    ...MASTER_OPTIONS,
    ...REMOTE_OPTIONS,
  },
  async run(inv) {
    const [partition, label] = inv.positionals as [string, string];
    const request = stringOption(inv, 'request');
    let input: { source: { peerPublicKey: Uint8Array } | { ciphertext: Uint8Array } } | undefined;
    let options: DeriveOptions | undefined;
    if (request !== undefined) {
      for (const o of [...SOURCE_OPTIONS, ...Object.keys(NEW_KEY_OPTIONS)]) {
        if (inv.options[o] !== undefined) {
          throw new UsageError(`--request carries out what the request holds: no --${o}`);
        }
      }
    } else {
      const given = SOURCE_OPTIONS.filter((o) => inv.options[o] !== undefined);
      if (given.length !== 1) {
        throw new UsageError(
          given.length === 0
            ? 'missing --peer-public-key FILE (ECDH, X25519) or --ciphertext FILE (ML-KEM)'
            : 'give --peer-public-key or --ciphertext, not both',
        );
      }
      options = { key: newKeyOf(inv), kdf: kdfOf(inv) };
      input = {
        source:
          given[0] === 'peer-public-key'
            ? { peerPublicKey: readPeerPublicKey(inv) }
            : { ciphertext: readSmall(inv, 'ciphertext') },
      };
    }
    const key = await withTarget<KeyView>(
      inv,
      async (hsm) => {
        if (input !== undefined) return hsm.deriveKey(partition, label, input.source, options!);
        const statement = (await hsm.governance.showRequest(request!)).body.statement;
        const derived = checkRequest(statement, (await hsm.partition(partition)).id, label);
        await hsm.executeRequest(request!);
        return hsm.key(partition, derived);
      },
      async (api) => {
        if (input !== undefined) {
          const source =
            'peerPublicKey' in input.source
              ? { peerPublicKey: encodePem('PUBLIC KEY', input.source.peerPublicKey) }
              : { ciphertext: input.source.ciphertext };
          const d = await api.deriveKey(partition, label, source, clientOptions(options!));
          if (d.kind === 'approval') throw approvalRequired(d.approval);
          return keyViewOf(d.key);
        }
        const view = await api.getApproval(request!);
        const pid = (await api.partitions()).find((p) => p.name === partition)?.id;
        const derived = checkRequest(
          { operation: view.operation, params: (view.statement as { params?: object }).params },
          pid,
          label,
        );
        await api.executeApproval(request!);
        return keyViewOf(await api.getKey(partition, derived));
      },
    );
    if (flag(inv, 'json')) inv.io.stdout(jsonText(keyJson(key)));
    else printKey(inv, key);
    return EXIT.ok;
  },
};

/** The label of the key an approval request derives, checked to be a derivation with `label`. */
function checkRequest(
  statement: { operation: string; params?: object },
  partitionId: string | undefined,
  label: string,
): string {
  const p = (statement.params ?? {}) as Record<string, unknown>;
  const derived = (p['derived'] ?? {}) as Record<string, unknown>;
  if (
    statement.operation !== 'key.derive' ||
    p['label'] !== label ||
    p['partition'] !== partitionId ||
    typeof derived['label'] !== 'string'
  ) {
    throw new UsageError(`--request: it is not a request to derive with ${label}`);
  }
  return derived['label'];
}

export const keyEncapsulate: Command = {
  path: ['key', 'encapsulate'],
  summary:
    "Encapsulate a fresh secret to a peer's ML-KEM public key into a new secret key; write the ciphertext.",
  positionals: ['PARTITION'],
  details: `--peer-public-key is the peer's ML-KEM-768 or ML-KEM-1024 public key (PEM or DER
SubjectPublicKeyInfo, as attestamp key public writes it). The HSM encapsulates a fresh shared
secret to it, derives the new secret key --label of --algorithm with HKDF (RFC 5869; --kdf-hash,
--salt or --salt-file, --info or --info-file), and writes the ciphertext to --out. The peer
derives the same key with attestamp key derive PARTITION LABEL --ciphertext FILE and the same
HKDF options. The partition must be writable.`,
  options: {
    'peer-public-key': {
      type: 'string',
      value: 'FILE',
      description: "the peer's ML-KEM public key (PEM or DER; required)",
    },
    ...NEW_KEY_OPTIONS,
    out: { type: 'string', value: 'FILE', description: 'the ciphertext for the peer (required)' },
    ...MASTER_OPTIONS,
    ...REMOTE_OPTIONS,
  },
  async run(inv) {
    const [partition] = inv.positionals as [string];
    const out = resolve(inv.io.cwd, requiredOption(inv, 'out'));
    if (inv.options['peer-public-key'] === undefined) {
      throw new UsageError('missing --peer-public-key FILE (an ML-KEM public key)');
    }
    const options: DeriveOptions = { key: newKeyOf(inv), kdf: kdfOf(inv) };
    const spki = readPeerPublicKey(inv);
    const kem = kemAlgorithmOfSpki(spki);
    if (kem === undefined) {
      throw new InputError(
        'the --peer-public-key is not an ML-KEM public key (ML-KEM-768 or ML-KEM-1024)',
      );
    }
    const r = await withTarget(
      inv,
      async (hsm) => {
        const e = await hsm.encapsulateKey(partition, kem, spki, options);
        return { key: e.key, ciphertext: e.ciphertext, kem: e.kem };
      },
      async (api) => {
        const e = await api.encapsulateKey(
          partition,
          encodePem('PUBLIC KEY', spki),
          clientOptions(options),
        );
        return { key: keyViewOf(e.key), ciphertext: e.ciphertext, kem: e.kem as HsmAlgorithm };
      },
    );
    writeFileSync(out, r.ciphertext);
    if (flag(inv, 'json')) {
      inv.io.stdout(jsonText({ key: keyJson(r.key), kem: r.kem, out, bytes: r.ciphertext.length }));
    } else {
      printKey(inv, r.key);
      inv.io.stdout(`ciphertext (${r.kem}) for the peer: ${out}\n`);
    }
    return EXIT.ok;
  },
};

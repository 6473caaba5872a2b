// Secret-key commands: AEAD encrypt and decrypt (the HSM draws the nonce, written in front of
// the ciphertext), HMAC and its check, and AES key wrap and unwrap of the partition's keys;
// each on a local store or, with --api, through the REST API; under a key's use rule an
// approval request (exit 7), carried out with --request ID once approved.
import { existsSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Hsm, KeyPurpose, KeyWrapMode } from '../../hsm/index.js';
import {
  AAD_LIMIT,
  HSM_ALGORITHMS,
  isHsmAlgorithm,
  KEY_PURPOSES,
  SECRET_DATA_LIMIT,
} from '../../hsm/index.js';
import type { Approval } from '../../client/index.js';
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
import { readPolicyFile } from './key-use.js';
import { MASTER_OPTIONS } from './partition.js';

const PARTITION_LABEL = ['PARTITION', 'LABEL'] as const;

/** Bytes of the nonce in front of an encrypted file, and of the tag at its end. */
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** A file of at most `limit` bytes (refused before reading a larger one). */
function readBounded(inv: Invocation, option: string, limit: number): Uint8Array {
  const path = resolve(inv.io.cwd, requiredOption(inv, option));
  if (existsSync(path) && statSync(path).size > limit) {
    throw new InputError(`the --${option} file is larger than ${limit} bytes`);
  }
  return new Uint8Array(readInputFile(path, `the --${option}`));
}

function aadOf(inv: Invocation): Uint8Array | undefined {
  return inv.options['aad-file'] === undefined
    ? undefined
    : readBounded(inv, 'aad-file', AAD_LIMIT);
}

/** Writes the output file, readable by its owner only (it may hold plaintext or a key). */
function writePrivate(path: string, bytes: Uint8Array): void {
  writeFileSync(path, bytes, { mode: 0o600 });
  chmodSync(path, 0o600);
}

function modeOf(inv: Invocation): KeyWrapMode | undefined {
  const mode = stringOption(inv, 'mode');
  if (mode === undefined || mode === 'kwp' || mode === 'kw') return mode;
  throw new UsageError('--mode must be kwp (RFC 5649, the default) or kw (RFC 3394)');
}

/** The request a --request ID names, checked to be `operation` with this key. */
async function checkRequest(
  target: { hsm: Hsm } | { api: import('../../client/index.js').ApiClient },
  request: string,
  operation: string,
  partition: string,
  label: string,
): Promise<void> {
  let params: Record<string, unknown>;
  let op: string;
  let pid: string | undefined;
  if ('hsm' in target) {
    const s = (await target.hsm.governance.showRequest(request)).body.statement;
    params = s.params;
    op = s.operation;
    pid = (await target.hsm.partition(partition)).id;
  } else {
    const view: Approval = await target.api.getApproval(request);
    params = (view.statement as { params?: Record<string, unknown> }).params ?? {};
    op = view.operation;
    pid = (await target.api.partitions()).find((p) => p.name === partition)?.id;
  }
  if (op !== operation || params['label'] !== label || params['partition'] !== pid) {
    throw new UsageError(
      `--request: ${request} is not a request to ${operation.slice(4)} with ${label}`,
    );
  }
}

const REQUEST_OPTION = {
  request: {
    type: 'string',
    value: 'ID',
    description: 'carry out this approved request instead (its data is the one it holds)',
  },
} as const;

function noInputWith(inv: Invocation, options: readonly string[]): void {
  for (const o of options) {
    if (inv.options[o] !== undefined) {
      throw new UsageError(`--request carries out what the request holds: no --${o}`);
    }
  }
}

const hexOf = (v: unknown): Uint8Array =>
  new Uint8Array(Buffer.from(typeof v === 'string' ? v : '', 'hex'));

interface Encrypted {
  readonly nonce: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly algorithm: string;
  readonly key: string;
  readonly encryptions: number;
}

export const keyEncrypt: Command = {
  path: ['key', 'encrypt'],
  summary:
    'Encrypt a file with an AEAD secret key (AES-GCM, ChaCha20-Poly1305); the HSM draws the nonce.',
  positionals: [...PARTITION_LABEL],
  details: `--out receives the 12-byte nonce the HSM drew, the ciphertext and the 16-byte tag, in that
order (what attestamp key decrypt --in reads; Python's AESGCM and ChaCha20Poly1305 decrypt the
part after the nonce with it). No nonce can be given: one used twice under a key breaks both
ciphers. --aad-file names additional data that is authenticated, not encrypted (give the same
to decrypt). Each encryption is counted; a key that made 2^32 refuses more (exit 2,
key-usage-exhausted). Under the key's use rule an approval request is made (exit 7); once
approved, run the same command with --request ID and --out.`,
  options: {
    in: { type: 'string', value: 'FILE', description: 'the plaintext (at most 1 MiB)' },
    'aad-file': {
      type: 'string',
      value: 'FILE',
      description: 'additional authenticated data (at most 64 KiB)',
    },
    out: { type: 'string', value: 'FILE', description: 'nonce || ciphertext || tag (required)' },
    ...REQUEST_OPTION,
    ...MASTER_OPTIONS,
    ...REMOTE_OPTIONS,
  },
  async run(inv) {
    const [partition, label] = inv.positionals as [string, string];
    const out = resolve(inv.io.cwd, requiredOption(inv, 'out'));
    const request = stringOption(inv, 'request');
    if (request !== undefined) noInputWith(inv, ['in', 'aad-file']);
    const plaintext = request === undefined ? readBounded(inv, 'in', SECRET_DATA_LIMIT) : undefined;
    const aad = aadOf(inv);
    const r = await withTarget<Encrypted>(
      inv,
      async (hsm) => {
        if (plaintext !== undefined) {
          const e = await hsm.encrypt(partition, label, {
            plaintext,
            ...(aad === undefined ? {} : { aad }),
          });
          return {
            nonce: e.nonce,
            ciphertext: e.ciphertext,
            algorithm: e.algorithm,
            key: e.keyId,
            encryptions: e.encryptions,
          };
        }
        await checkRequest({ hsm }, request!, 'key.encrypt', partition, label);
        const result = (await hsm.executeRequest(request!)).body.result as Record<string, unknown>;
        const key = await hsm.key(partition, label);
        return {
          nonce: hexOf(result['nonce']),
          ciphertext: hexOf(result['ciphertext']),
          algorithm: key.algorithm,
          key: key.id,
          encryptions: key.attributes.encryptions ?? 0,
        };
      },
      async (api) => {
        if (plaintext !== undefined) {
          const e = await api.encrypt(partition, label, plaintext, aad);
          if (e.kind === 'approval') throw approvalRequired(e.approval);
          return {
            nonce: e.nonce,
            ciphertext: e.ciphertext,
            algorithm: e.algorithm,
            key: e.key,
            encryptions: e.encryptions,
          };
        }
        await checkRequest({ api }, request!, 'key.encrypt', partition, label);
        const result = (await api.executeApproval(request!)).result as Record<string, unknown>;
        const key = await api.getKey(partition, label);
        return {
          nonce: hexOf(result['nonce']),
          ciphertext: hexOf(result['ciphertext']),
          algorithm: key.algorithm,
          key: key.id,
          encryptions: key.attributes.encryptions ?? 0,
        };
      },
    );
    writeFileSync(out, Buffer.concat([r.nonce, r.ciphertext]));
    if (flag(inv, 'json')) {
      inv.io.stdout(
        jsonText({
          partition,
          label,
          key: r.key,
          algorithm: r.algorithm,
          out,
          nonce: Buffer.from(r.nonce).toString('hex'),
          bytes: r.nonce.length + r.ciphertext.length,
          encryptions: r.encryptions,
          ...(request === undefined ? {} : { request }),
        }),
      );
    } else {
      inv.io.stdout(`encrypted with ${label} (${r.algorithm}): ${out}\n`);
    }
    return EXIT.ok;
  },
};

export const keyDecrypt: Command = {
  path: ['key', 'decrypt'],
  summary: 'Decrypt and authenticate a file that attestamp key encrypt wrote.',
  positionals: [...PARTITION_LABEL],
  details: `--in is the 12-byte nonce, the ciphertext and its 16-byte tag, as key encrypt writes them;
give the same --aad-file. A file that does not authenticate under the key exits 65
(decrypt-failed) and writes nothing. Under the key's use rule an approval request is made
(exit 7); once approved, run the same command with --request ID and --out: the plaintext is
written here and kept nowhere else. --out is created mode 0600.`,
  options: {
    in: { type: 'string', value: 'FILE', description: 'nonce || ciphertext || tag' },
    'aad-file': {
      type: 'string',
      value: 'FILE',
      description: 'the additional authenticated data given to encrypt',
    },
    out: { type: 'string', value: 'FILE', description: 'the plaintext (required)' },
    ...REQUEST_OPTION,
    ...MASTER_OPTIONS,
    ...REMOTE_OPTIONS,
  },
  async run(inv) {
    const [partition, label] = inv.positionals as [string, string];
    const out = resolve(inv.io.cwd, requiredOption(inv, 'out'));
    const request = stringOption(inv, 'request');
    if (request !== undefined) noInputWith(inv, ['in', 'aad-file']);
    let input: { nonce: Uint8Array; ciphertext: Uint8Array; aad?: Uint8Array } | undefined;
    if (request === undefined) {
      const blob = readBounded(inv, 'in', SECRET_DATA_LIMIT + NONCE_BYTES + TAG_BYTES);
      if (blob.length < NONCE_BYTES + TAG_BYTES) {
        throw new InputError(
          `the --in file is shorter than a nonce (${NONCE_BYTES} bytes) and a tag (${TAG_BYTES} bytes)`,
        );
      }
      const aad = aadOf(inv);
      input = {
        nonce: blob.subarray(0, NONCE_BYTES),
        ciphertext: blob.subarray(NONCE_BYTES),
        ...(aad === undefined ? {} : { aad }),
      };
    }
    const r = await withTarget(
      inv,
      (hsm) =>
        input !== undefined
          ? hsm.decrypt(partition, label, input)
          : hsm.decryptRequest(partition, label, request!),
      async (api) => {
        const d = await api.decrypt(partition, label, input ?? { request: request! });
        if (d.kind === 'approval') throw approvalRequired(d.approval);
        return { plaintext: d.plaintext, algorithm: d.algorithm, keyId: d.key };
      },
    );
    try {
      writePrivate(out, r.plaintext);
    } finally {
      r.plaintext.fill(0);
    }
    if (flag(inv, 'json')) {
      inv.io.stdout(
        jsonText({
          partition,
          label,
          key: r.keyId,
          algorithm: r.algorithm,
          out,
          bytes: r.plaintext.length,
          ...(request === undefined ? {} : { request }),
        }),
      );
    } else {
      inv.io.stdout(`decrypted with ${label} (${r.algorithm}): ${out}\n`);
    }
    return EXIT.ok;
  },
};

export const keyMac: Command = {
  path: ['key', 'mac'],
  summary: 'Compute an HMAC of a file with an HMAC secret key (its purpose sign).',
  positionals: [...PARTITION_LABEL],
  details: `--out receives the full-length tag (openssl mac -digest SHA256 -macopt hexkey:... gives the
same for whoever holds the key). Under the key's use rule an approval request is made (exit
7); once approved, run the same command with --request ID and --out.`,
  options: {
    in: { type: 'string', value: 'FILE', description: 'the data (at most 1 MiB)' },
    out: { type: 'string', value: 'FILE', description: 'the MAC (required)' },
    ...REQUEST_OPTION,
    ...MASTER_OPTIONS,
    ...REMOTE_OPTIONS,
  },
  async run(inv) {
    const [partition, label] = inv.positionals as [string, string];
    const out = resolve(inv.io.cwd, requiredOption(inv, 'out'));
    const request = stringOption(inv, 'request');
    if (request !== undefined) noInputWith(inv, ['in']);
    const data = request === undefined ? readBounded(inv, 'in', SECRET_DATA_LIMIT) : undefined;
    const r = await withTarget(
      inv,
      async (hsm) => {
        if (data !== undefined) {
          const m = await hsm.mac(partition, label, data);
          return { mac: m.mac, algorithm: m.algorithm, key: m.keyId };
        }
        await checkRequest({ hsm }, request!, 'key.mac', partition, label);
        const result = (await hsm.executeRequest(request!)).body.result as Record<string, unknown>;
        return {
          mac: hexOf(result['mac']),
          algorithm: String(result['algorithm']),
          key: String(result['key']),
        };
      },
      async (api) => {
        if (data !== undefined) {
          const m = await api.mac(partition, label, data);
          if (m.kind === 'approval') throw approvalRequired(m.approval);
          return m;
        }
        await checkRequest({ api }, request!, 'key.mac', partition, label);
        const result = (await api.executeApproval(request!)).result as Record<string, unknown>;
        return {
          mac: hexOf(result['mac']),
          algorithm: String(result['algorithm']),
          key: String(result['key']),
        };
      },
    );
    writeFileSync(out, r.mac);
    if (flag(inv, 'json')) {
      inv.io.stdout(
        jsonText({
          partition,
          label,
          key: r.key,
          algorithm: r.algorithm,
          out,
          bytes: r.mac.length,
          ...(request === undefined ? {} : { request }),
        }),
      );
    } else {
      inv.io.stdout(`mac with ${label} (${r.algorithm}): ${out}\n`);
    }
    return EXIT.ok;
  },
};

export const keyVerifyMac: Command = {
  path: ['key', 'verify-mac'],
  summary:
    'Check an HMAC with an HMAC secret key, in constant time (exit 8 when it does not verify).',
  positionals: [...PARTITION_LABEL],
  options: {
    in: { type: 'string', value: 'FILE', description: 'the data (at most 1 MiB)' },
    mac: { type: 'string', value: 'FILE', description: 'the MAC to check (required)' },
    ...MASTER_OPTIONS,
    ...REMOTE_OPTIONS,
  },
  async run(inv) {
    const [partition, label] = inv.positionals as [string, string];
    const data = readBounded(inv, 'in', SECRET_DATA_LIMIT);
    const mac = readBounded(inv, 'mac', 1024);
    const valid = await withTarget(
      inv,
      (hsm) => hsm.verifyMac(partition, label, data, mac),
      (api) => api.verifyMac(partition, label, data, mac),
    );
    if (flag(inv, 'json')) inv.io.stdout(jsonText({ partition, label, valid }));
    else inv.io.stdout(valid ? 'mac verified\n' : 'mac does NOT verify\n');
    return valid ? EXIT.ok : EXIT.badSignature;
  },
};

export const keyWrap: Command = {
  path: ['key', 'wrap'],
  summary: 'Wrap another key of the partition under an AES key (only if extractable and allowed).',
  positionals: [...PARTITION_LABEL],
  details: `LABEL is the AES key (purpose wrap); --key names the key to wrap, whose encoding (PKCS#8
for a key pair, the raw bytes of a secret key) is written wrapped with RFC 5649 (--mode kwp,
the default; openssl enc -d -id-aes256-wrap-pad -iv A65959A6 unwraps it with the AES key) or
RFC 3394 (--mode kw, a multiple of 8 bytes). The wrapped key must be extractable and the
partition's policy must allow export; it counts as exported (never-extractable false). The
key.export quorum rule and both keys' use rules apply (exit 7; then --request ID).`,
  options: {
    key: { type: 'string', value: 'LABEL', description: 'the key to wrap (required)' },
    mode: {
      type: 'string',
      value: 'MODE',
      description: 'kwp (RFC 5649, default) or kw (RFC 3394)',
    },
    out: { type: 'string', value: 'FILE', description: 'the wrapped key (required)' },
    ...REQUEST_OPTION,
    ...MASTER_OPTIONS,
    ...REMOTE_OPTIONS,
  },
  async run(inv) {
    const [partition, label] = inv.positionals as [string, string];
    const out = resolve(inv.io.cwd, requiredOption(inv, 'out'));
    const request = stringOption(inv, 'request');
    if (request !== undefined) noInputWith(inv, ['key', 'mode']);
    const target = request === undefined ? requiredOption(inv, 'key') : undefined;
    const mode = modeOf(inv);
    const r = await withTarget(
      inv,
      async (hsm) => {
        if (target !== undefined) {
          const w = await hsm.wrapKey(partition, label, {
            key: target,
            ...(mode === undefined ? {} : { mode }),
          });
          return { wrapped: w.wrapped, mode: w.mode, key: w.keyId, wrappedKey: w.wrappedKeyId };
        }
        await checkRequest({ hsm }, request!, 'key.wrap', partition, label);
        const result = (await hsm.executeRequest(request!)).body.result as Record<string, unknown>;
        return {
          wrapped: hexOf(result['wrapped']),
          mode: String(result['mode']),
          key: String(result['key']),
          wrappedKey: String(result['wrappedKey']),
        };
      },
      async (api) => {
        if (target !== undefined) {
          const w = await api.wrapKey(partition, label, target, mode);
          if (w.kind === 'approval') throw approvalRequired(w.approval);
          return w;
        }
        await checkRequest({ api }, request!, 'key.wrap', partition, label);
        const result = (await api.executeApproval(request!)).result as Record<string, unknown>;
        return {
          wrapped: hexOf(result['wrapped']),
          mode: String(result['mode']),
          key: String(result['key']),
          wrappedKey: String(result['wrappedKey']),
        };
      },
    );
    writePrivate(out, r.wrapped);
    if (flag(inv, 'json')) {
      inv.io.stdout(
        jsonText({
          partition,
          label,
          key: r.key,
          wrappedKey: r.wrappedKey,
          mode: r.mode,
          out,
          bytes: r.wrapped.length,
          ...(request === undefined ? {} : { request }),
        }),
      );
    } else {
      inv.io.stdout(`key wrapped under ${label} (aes-${r.mode}): ${out}\n`);
    }
    return EXIT.ok;
  },
};

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

export const keyUnwrap: Command = {
  path: ['key', 'unwrap'],
  summary:
    'Unwrap a key under an AES key into a new key of the partition (where import is allowed).',
  positionals: [...PARTITION_LABEL],
  details: `LABEL is the AES key (purpose unwrap); --in is the wrapped key (RFC 5649 with --mode kwp, the
default, or RFC 3394 with --mode kw), and the new key gets --label, --algorithm (whose encoding
the unwrapped bytes are: PKCS#8 for a key pair, the raw key for a secret key), --purposes,
--extractable and --policy. It is recorded as origin unwrapped (local false); the plaintext
key never leaves the HSM. Under the AES key's use rule an approval request is made (exit 7);
once approved, run attestamp approvals execute ID.`,
  options: {
    in: { type: 'string', value: 'FILE', description: 'the wrapped key (required)' },
    mode: {
      type: 'string',
      value: 'MODE',
      description: 'kwp (RFC 5649, default) or kw (RFC 3394)',
    },
    label: { type: 'string', value: 'LABEL', description: 'the new key (required)' },
    algorithm: {
      type: 'string',
      value: 'ALG',
      description: `the new key's algorithm (required; ${HSM_ALGORITHMS.join(', ')})`,
    },
    purposes: {
      type: 'string',
      value: 'LIST',
      description: `comma-separated (default: the algorithm's; known: ${KEY_PURPOSES.join(', ')})`,
    },
    extractable: { type: 'boolean', description: 'allow the new key wrapped export later' },
    policy: {
      type: 'string',
      value: 'FILE',
      description: "the new key's own approval policy (JSON: use/block/unblock/modify rules)",
    },
    ...MASTER_OPTIONS,
    ...REMOTE_OPTIONS,
  },
  async run(inv) {
    const [partition, label] = inv.positionals as [string, string];
    const wrapped = readBounded(inv, 'in', 64 * 1024);
    const newLabel = requiredOption(inv, 'label');
    const algorithm = requiredOption(inv, 'algorithm');
    if (!isHsmAlgorithm(algorithm)) {
      throw new UsageError(`--algorithm must be one of ${HSM_ALGORITHMS.join(', ')}`);
    }
    const mode = modeOf(inv);
    const purposes = purposesOf(inv);
    const policy = inv.options['policy'] === undefined ? undefined : readPolicyFile(inv, 'policy');
    const common = {
      label: newLabel,
      algorithm,
      extractable: flag(inv, 'extractable'),
      ...(mode === undefined ? {} : { mode }),
      ...(purposes === undefined ? {} : { purposes }),
    };
    const key = await withTarget<KeyView>(
      inv,
      (hsm) =>
        hsm.unwrapKey(partition, label, {
          ...common,
          wrapped,
          ...(policy === undefined ? {} : { policy }),
        }),
      async (api) => {
        const u = await api.unwrapKey(partition, label, {
          ...common,
          wrapped,
          ...(policy === undefined ? {} : { policy: policy as never }),
        });
        if (u.kind === 'approval') throw approvalRequired(u.approval);
        return keyViewOf(u.key);
      },
    );
    if (flag(inv, 'json')) inv.io.stdout(jsonText(keyJson(key)));
    else printKey(inv, key);
    return EXIT.ok;
  },
};

// Key commands: generate, list, show, public, delete, restore, purge, export, import, attest.
import { createHash, createPublicKey, type JsonWebKey } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  HSM_ALGORITHMS,
  isHsmAlgorithm,
  isSecretAlgorithm,
  HD_ALGORITHMS,
  isHdAlgorithm,
  type HdAlgorithm,
  type Hsm,
  type KeyInfo,
  KEY_PURPOSES,
  XPUB_PREFIXES,
  type KeyPurpose,
  type WrappingKey,
  type XpubPrefix,
} from '../../hsm/index.js';
import {
  akpThumbprintInput,
  decodePemAll,
  encodePem,
  jwkFormOf,
  sha256Fingerprint,
} from '../../pki/index.js';
import { fromHex } from '../../shared/index.js';
import { flag, requiredOption, stringOption, type Command, type Invocation } from '../command.js';
import { officerCredential, readInputFile, withHsm, withOfficerHint } from '../context.js';
import { EXIT, InputError, UsageError } from '../exit-codes.js';
import { jsonText } from '../output.js';
import type { GenerateKeyBody } from '../../client/index.js';
import { keyViewOf, REMOTE_OPTIONS, withTarget, type KeyView } from '../remote.js';
import { readPolicyFile } from './key-use.js';
import { MASTER_OPTIONS, OFFICER_OPTIONS } from './partition.js';

/** A secret key is named by its key check value; a key pair by its SPKI's SHA-256. */
function keyName(k: KeyView): Record<string, string> {
  return isSecretAlgorithm(k.algorithm)
    ? { keyCheckValue: Buffer.from(k.spki).toString('hex') }
    : { spkiSha256: sha256Fingerprint(k.spki) };
}

export function keyJson(k: KeyView): Record<string, unknown> {
  return {
    partition: k.partitionName,
    label: k.label,
    id: k.id,
    role: k.role,
    algorithm: k.algorithm,
    state: k.state,
    createdAt: k.createdAt.toISOString(),
    invalidatedAt: k.invalidatedAt?.toISOString(),
    ...keyName(k),
    attributes: k.attributes,
  };
}

export function printKey(inv: Invocation, k: KeyView): void {
  const o = inv.io.stdout;
  const a = k.attributes;
  o(`key ${k.label} in partition ${k.partitionName} (${k.id})\n`);
  o(`  algorithm:          ${k.algorithm}\n`);
  o(`  role:               ${k.role}\n`);
  o(
    `  state:              ${k.state}${k.invalidatedAt ? ` since ${k.invalidatedAt.toISOString()}` : ''}\n`,
  );
  o(`  created:            ${k.createdAt.toISOString()}\n`);
  o(`  origin:             ${a.origin}${a.local ? ' (generated inside the partition)' : ''}\n`);
  o(`  extractable:        ${a.extractable}\n`);
  o(`  never-extractable:  ${a.neverExtractable}\n`);
  o(`  sensitive:          ${a.sensitive} (always: ${a.alwaysSensitive})\n`);
  o(`  destroyable:        ${a.destroyable}\n`);
  o(`  purposes:           ${a.purposes.join(', ')}\n`);
  o(`  modifiable:         ${a.modifiable}\n`);
  const rules = (['use', 'block', 'unblock', 'modify'] as const).flatMap((r) => {
    const rule = a.policy?.[r];
    if (rule === undefined) return [];
    const alts = rule.alternatives
      .map((alt) => alt.groups.map((g) => `${g.threshold} of ${g.members.join(',')}`).join(' and '))
      .join(' or ');
    return [`${r}: ${alts} within ${rule.timeoutSeconds}s`];
  });
  o(
    `  approval policy:    ${rules.length === 0 ? 'none' : `version ${a.policy?.version ?? 0}; ${rules.join('; ')}`}\n`,
  );
  if (a.derivation !== undefined) {
    o(
      `  derivation path:    ${a.derivation.path} (parent fingerprint ${a.derivation.parentFingerprint})\n`,
    );
  }
  if (a.expiresAt !== undefined) o(`  expires:            ${a.expiresAt}\n`);
  if (isSecretAlgorithm(k.algorithm)) {
    o(`  encryptions:        ${a.encryptions ?? 0}\n`);
    o(`  key check value:    ${Buffer.from(k.spki).toString('hex')}\n`);
  } else {
    o(`  public key SHA-256: ${sha256Fingerprint(k.spki)}\n`);
  }
}

/** The --purposes list, checked against the known purposes. */
export function parsePurposes(inv: Invocation): KeyPurpose[] | undefined {
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

const PARTITION_LABEL = ['PARTITION', 'LABEL'] as const;

export const keyGenerate: Command = {
  path: ['key', 'generate'],
  summary: 'Generate a key inside a partition (never exported unless flagged and allowed).',
  positionals: ['PARTITION'],
  options: {
    label: {
      type: 'string',
      value: 'LABEL',
      description: 'name of the key in the partition (required)',
    },
    algorithm: {
      type: 'string',
      value: 'ALG',
      description: `one of ${HSM_ALGORITHMS.join(', ')} (required)`,
    },
    extractable: {
      type: 'boolean',
      description: 'allow wrapped export where the partition policy allows it',
    },
    purposes: {
      type: 'string',
      value: 'LIST',
      description: `comma-separated (default: sign,verify; encrypt,decrypt for AES and ChaCha20-Poly1305; known: ${KEY_PURPOSES.join(', ')})`,
    },
    policy: {
      type: 'string',
      value: 'FILE',
      description: "the key's own approval policy: JSON with use/block/unblock/modify rules",
    },
    modifiable: {
      type: 'boolean',
      description: 'let the key policy change later (under its modify rule); default: fixed',
    },
    ...MASTER_OPTIONS,
    ...REMOTE_OPTIONS,
  },
  async run(inv) {
    const label = requiredOption(inv, 'label');
    const alg = requiredOption(inv, 'algorithm');
    if (!isHsmAlgorithm(alg)) {
      throw new UsageError(`--algorithm must be one of ${HSM_ALGORITHMS.join(', ')}`);
    }
    const p = parsePurposes(inv);
    const policy = inv.options['policy'] === undefined ? undefined : readPolicyFile(inv, 'policy');
    const common = {
      label,
      algorithm: alg,
      extractable: flag(inv, 'extractable'),
      modifiable: flag(inv, 'modifiable'),
      ...(p === undefined ? {} : { purposes: p }),
    };
    const key = await withTarget<KeyView>(
      inv,
      (hsm) =>
        hsm.generateKey(inv.positionals[0]!, {
          ...common,
          ...(policy === undefined ? {} : { policy }),
        }),
      async (api) =>
        keyViewOf(
          await api.generateKey(inv.positionals[0]!, {
            ...common,
            // The file's JSON as the API takes it; the server checks it against the document
            // and the HSM's rule parser, as the local store does.
            ...(policy === undefined ? {} : { policy: policy as GenerateKeyBody['policy'] }),
          }),
        ),
    );
    if (flag(inv, 'json')) inv.io.stdout(jsonText(keyJson(key)));
    else printKey(inv, key);
    return EXIT.ok;
  },
};

export const keyList: Command = {
  path: ['key', 'list'],
  summary: 'List the keys of a partition, including those in the trash.',
  positionals: ['PARTITION'],
  options: {
    state: {
      type: 'string',
      value: 'STATE',
      description: 'only keys in this state: active, blocked or invalidated',
    },
    ...MASTER_OPTIONS,
    ...REMOTE_OPTIONS,
  },
  async run(inv) {
    const state = stringOption(inv, 'state');
    if (
      state !== undefined &&
      state !== 'active' &&
      state !== 'invalidated' &&
      state !== 'blocked'
    ) {
      throw new UsageError('--state must be active, blocked or invalidated');
    }
    const keys = await withTarget<KeyView[]>(
      inv,
      (hsm) => hsm.listKeys(inv.positionals[0]!, state === undefined ? {} : { state }),
      async (api) => (await api.listKeys(inv.positionals[0]!, state)).map(keyViewOf),
    );
    if (flag(inv, 'json')) inv.io.stdout(jsonText(keys.map(keyJson)));
    else for (const k of keys) inv.io.stdout(`${k.label}\t${k.algorithm}\t${k.state}\t${k.role}\n`);
    return EXIT.ok;
  },
};

export const keyShow: Command = {
  path: ['key', 'show'],
  summary: "Show a key's attributes and public key fingerprint.",
  positionals: [...PARTITION_LABEL],
  options: { ...MASTER_OPTIONS, ...REMOTE_OPTIONS },
  async run(inv) {
    const [partition, label] = inv.positionals as [string, string];
    const key = await withTarget<KeyView>(
      inv,
      (hsm) => hsm.key(partition, label),
      async (api) => keyViewOf(await api.getKey(partition, label)),
    );
    if (flag(inv, 'json')) inv.io.stdout(jsonText(keyJson(key)));
    else printKey(inv, key);
    return EXIT.ok;
  },
};

export const keyDelete: Command = {
  path: ['key', 'delete'],
  summary: 'Delete a key: to the trash when invalidation is on (the default), else destroyed.',
  positionals: [...PARTITION_LABEL],
  options: { ...MASTER_OPTIONS },
  async run(inv) {
    const [partition, label] = inv.positionals as [string, string];
    const { before, after } = await withHsm(inv, async (hsm) => {
      const known = await hsm.key(partition, label);
      return { before: known, after: await hsm.deleteKey(partition, label) };
    });
    // The same representation as 'key show --json'; a destroyed key is described as it was,
    // with the state "destroyed".
    if (flag(inv, 'json')) {
      inv.io.stdout(
        jsonText(after === undefined ? { ...keyJson(before), state: 'destroyed' } : keyJson(after)),
      );
    } else
      inv.io.stdout(
        `key ${label} ${after === undefined ? 'destroyed' : 'moved to the trash (invalidated)'}\n`,
      );
    return EXIT.ok;
  },
};

export const keyRestore: Command = {
  path: ['key', 'restore'],
  summary: 'Restore an invalidated key from the trash (needs the security officer).',
  positionals: [...PARTITION_LABEL],
  options: { ...OFFICER_OPTIONS, ...MASTER_OPTIONS },
  async run(inv) {
    const [partition, label] = inv.positionals as [string, string];
    const officer = officerCredential(inv);
    const key = await withOfficerHint(inv, () =>
      withHsm(inv, (hsm) => hsm.restoreKey(partition, label, officer)),
    );
    if (flag(inv, 'json')) inv.io.stdout(jsonText(keyJson(key)));
    else inv.io.stdout(`key ${label} restored\n`);
    return EXIT.ok;
  },
};

export const keyPurge: Command = {
  path: ['key', 'purge'],
  summary: 'Destroy an invalidated key for good (needs the security officer).',
  positionals: [...PARTITION_LABEL],
  options: { ...OFFICER_OPTIONS, ...MASTER_OPTIONS },
  async run(inv) {
    const [partition, label] = inv.positionals as [string, string];
    const officer = officerCredential(inv);
    const before = await withOfficerHint(inv, () =>
      withHsm(inv, async (hsm) => {
        const known = await hsm.key(partition, label);
        await hsm.purgeKey(partition, label, officer);
        return known;
      }),
    );
    if (flag(inv, 'json')) inv.io.stdout(jsonText({ ...keyJson(before), state: 'destroyed' }));
    else inv.io.stdout(`key ${label} purged\n`);
    return EXIT.ok;
  },
};

/** Looks like key material typed on the command line rather than a file name. */
const KEY_LIKE = /^(?:[0-9A-Fa-f]{2}){8,}$/;

/**
 * The file named by `--NAME-file` or its deprecated alias `--NAME`. The value given is never
 * echoed: a user who passes the key itself instead of a file name must not find it on stderr.
 */
function keyFileOption(inv: Invocation, name: 'wrap-key' | 'unwrap-key'): string | undefined {
  const file = stringOption(inv, `${name}-file`);
  const alias = stringOption(inv, name);
  if (file !== undefined && alias !== undefined) {
    throw new UsageError(`give --${name}-file only (--${name} is its deprecated alias)`);
  }
  const path = file ?? alias;
  if (path === undefined) return undefined;
  if (KEY_LIKE.test(path) && !existsSync(resolve(inv.io.cwd, path))) {
    throw new UsageError(
      `--${file === undefined ? name : `${name}-file`} takes the name of a file holding the key, not the key itself (the value is not shown): write the key to a file (mode 0600) and give --${name}-file FILE`,
    );
  }
  return resolve(inv.io.cwd, path);
}

function readKeyFile(path: string, option: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    // The path is not repeated: it may be a mistyped secret.
    throw new InputError(`cannot read the key file given with --${option}-file`);
  }
}

/** A wrapping key file: 64 hex digits (AES-256) or a PEM RSA public key (>= 3072 bits). */
function wrappingKey(path: string): WrappingKey {
  const bytes = readKeyFile(path, 'wrap-key');
  const text = bytes.toString('utf8');
  const hex = fromHex(text.trim());
  if (hex?.length === 32) return { kind: 'aes-kwp', key: hex };
  if (bytes.length === 32) return { kind: 'aes-kwp', key: new Uint8Array(bytes) };
  const pub = decodePemAll(text).find((b) => b.label === 'PUBLIC KEY');
  if (pub !== undefined) return { kind: 'rsa-aes-kwp', spki: pub.der };
  throw new InputError(
    'the --wrap-key-file file is neither a 32-byte AES key (64 hex digits or raw) nor a PEM public key',
  );
}

function aesKeyFile(path: string): Uint8Array {
  const bytes = readKeyFile(path, 'unwrap-key');
  const hex = fromHex(bytes.toString('utf8').trim());
  if (hex?.length === 32) return hex;
  if (bytes.length === 32) return new Uint8Array(bytes);
  throw new InputError(
    'the --unwrap-key-file file is not a 32-byte AES key (64 hex digits or raw)',
  );
}

export const keyExport: Command = {
  path: ['key', 'export'],
  summary: 'Export a key wrapped under a key you supply (only if extractable and allowed).',
  positionals: [...PARTITION_LABEL],
  details: `--wrap-key-file names a file holding either 64 hex digits of an AES-256 key (output: RFC
5649 AES key wrap with padding of the PKCS#8 key) or a PEM RSA public key of at least 3072 bits (output: RSA-OAEP-SHA256
of a fresh AES-256 key followed by the AES-KWP of the PKCS#8 key, as PKCS#11 CKM_RSA_AES_KEY_WRAP).
A plaintext export does not exist. --wrap-key FILE is a deprecated alias of --wrap-key-file; a key
given on the command line instead of a file name is refused and never echoed.`,
  options: {
    'wrap-key-file': {
      type: 'string',
      value: 'FILE',
      description: 'file holding the key to wrap under (required)',
    },
    'wrap-key': {
      type: 'string',
      value: 'FILE',
      description: 'deprecated alias of --wrap-key-file',
    },
    out: {
      type: 'string',
      value: 'FILE',
      description: 'file to write the wrapped key to (required)',
    },
    ...MASTER_OPTIONS,
  },
  async run(inv) {
    const [partition, label] = inv.positionals as [string, string];
    const wrapPath = keyFileOption(inv, 'wrap-key');
    if (wrapPath === undefined) throw new UsageError('missing --wrap-key-file FILE');
    const wrapping = wrappingKey(wrapPath);
    const out = resolve(inv.io.cwd, requiredOption(inv, 'out'));
    const wrapped = await withHsm(inv, (hsm) => hsm.exportKey(partition, label, wrapping));
    writeFileSync(out, wrapped, { mode: 0o600 });
    // The mode given applies only to a new file: an existing one is restricted too.
    chmodSync(out, 0o600);
    if (flag(inv, 'json'))
      inv.io.stdout(jsonText({ partition, label, out, wrapping: wrapping.kind }));
    else inv.io.stdout(`key ${label} exported (${wrapping.kind}) to ${out}\n`);
    return EXIT.ok;
  },
};

/** The seed of --seed-file: hex digits (a line) or the raw bytes; the caller wipes it. */
function seedOf(path: string): Uint8Array {
  const bytes = readKeyFile(path, 'seed');
  try {
    const text = bytes.toString('utf8').trim();
    const hex = /^[0-9a-fA-F]+$/.test(text) ? fromHex(text) : undefined;
    return hex ?? new Uint8Array(bytes);
  } finally {
    bytes.fill(0);
  }
}

/** key import --seed-file / --xprv-file: a derivable key. */
async function importHd(inv: Invocation, partition: string, label: string): Promise<number> {
  const seedPath = stringOption(inv, 'seed-file');
  const xprvPath = stringOption(inv, 'xprv-file');
  if (seedPath !== undefined && xprvPath !== undefined) {
    throw new UsageError('give --seed-file or --xprv-file, not both');
  }
  for (const other of ['in', 'unwrap-key-file', 'unwrap-key', 'pss']) {
    if (inv.options[other] !== undefined) {
      throw new UsageError(`--${other} does not go with --seed-file or --xprv-file`);
    }
  }
  const algorithm = stringOption(inv, 'algorithm');
  const hdNames = Object.keys(HD_ALGORITHMS).join(', ');
  if (seedPath !== undefined && (algorithm === undefined || !isHdAlgorithm(algorithm))) {
    throw new UsageError(`--seed-file needs --algorithm, one of ${hdNames}`);
  }
  if (xprvPath !== undefined && algorithm !== undefined && algorithm !== 'bip32-secp256k1') {
    throw new UsageError('an extended private key is a bip32-secp256k1 key');
  }
  const p = parsePurposes(inv);
  const options = {
    label,
    extractable: flag(inv, 'extractable'),
    ...(p === undefined ? {} : { purposes: p }),
  };
  const seedFile = seedPath === undefined ? undefined : resolve(inv.io.cwd, seedPath);
  const xprvFile = xprvPath === undefined ? undefined : resolve(inv.io.cwd, xprvPath);
  /** Runs `use` on the file's key material, then wipes it. */
  const withSource = async <T>(
    use: (source: { seed: Uint8Array; algorithm: HdAlgorithm } | { xprv: string }) => Promise<T>,
  ): Promise<T> => {
    if (seedFile !== undefined && algorithm !== undefined && isHdAlgorithm(algorithm)) {
      const seed = seedOf(seedFile);
      try {
        return await use({ seed, algorithm });
      } finally {
        seed.fill(0);
      }
    }
    const xprv = readKeyFile(xprvFile!, 'xprv');
    try {
      return await use({ xprv: xprv.toString('utf8').trim() });
    } finally {
      xprv.fill(0);
    }
  };
  const key = await withTarget<KeyView>(
    inv,
    (hsm) => withSource((source) => hsm.importHdKey(partition, source, options)),
    (api) =>
      withSource(async (source) =>
        keyViewOf(
          await api.importKey(partition, {
            ...options,
            ...('seed' in source
              ? { seed: Buffer.from(source.seed).toString('base64'), algorithm: source.algorithm }
              : { xprv: source.xprv }),
          }),
        ),
      ),
  );
  if (flag(inv, 'json')) inv.io.stdout(jsonText(keyJson(key)));
  else printKey(inv, key);
  return EXIT.ok;
}

export const keyImport: Command = {
  path: ['key', 'import'],
  summary: 'Import a key into a partition whose policy allows import.',
  positionals: ['PARTITION'],
  details: `--in is a PKCS#8 private key (PEM or DER), or with --unwrap-key-file an RFC 5649 AES-KWP blob
as written by 'key export'. A secret key is imported wrapped only: --algorithm (aes-256,
hmac-sha256...) with --unwrap-key-file, the unwrapped bytes being the raw key. A derivable key
(BIP 32, SLIP-10) comes from --seed-file (the seed, 16 to 64 bytes, as hex or raw; with
--algorithm bip32-secp256k1, slip10-ed25519 or slip10-p256) or --xprv-file (an extended private
key, xprv or tprv, as BIP 32 serialises it): its master key, or the node the xprv names. Imported
keys are recorded as origin imported, local false and never-extractable false. With --api the key
goes to the REST API (POST .../keys/import); a wrapped key (--unwrap-key-file) is imported locally only.`,
  options: {
    label: {
      type: 'string',
      value: 'LABEL',
      description: 'name of the key in the partition (required)',
    },
    in: {
      type: 'string',
      value: 'FILE',
      description: 'the key to import (required unless --seed-file or --xprv-file)',
    },
    'seed-file': {
      type: 'string',
      value: 'FILE',
      description: 'a derivable key from this seed (hex or raw; needs --algorithm)',
    },
    'xprv-file': {
      type: 'string',
      value: 'FILE',
      description: 'a bip32-secp256k1 key from this extended private key (xprv, tprv...)',
    },
    'unwrap-key-file': {
      type: 'string',
      value: 'FILE',
      description: 'file holding the AES-256 key (64 hex digits) that --in is wrapped under',
    },
    'unwrap-key': {
      type: 'string',
      value: 'FILE',
      description: 'deprecated alias of --unwrap-key-file',
    },
    pss: { type: 'boolean', description: 'sign with RSA-PSS instead of PKCS#1 v1.5 (RSA keys)' },
    algorithm: {
      type: 'string',
      value: 'ALG',
      description:
        'a secret key of this algorithm (raw bytes, wrapped: needs --unwrap-key-file), or the derivable key algorithm of --seed-file',
    },
    extractable: { type: 'boolean', description: 'mark the imported key extractable' },
    purposes: keyGenerate.options.purposes!,
    ...MASTER_OPTIONS,
    ...REMOTE_OPTIONS,
  },
  async run(inv) {
    const partition = inv.positionals[0]!;
    const label = requiredOption(inv, 'label');
    if (
      stringOption(inv, 'seed-file') !== undefined ||
      stringOption(inv, 'xprv-file') !== undefined
    ) {
      return importHd(inv, partition, label);
    }
    const unwrapPath = keyFileOption(inv, 'unwrap-key');
    const input = readInputFile(requiredOption(inv, 'in'), 'key');
    const p = parsePurposes(inv);
    const algorithm = stringOption(inv, 'algorithm');
    if (algorithm !== undefined && !(isHsmAlgorithm(algorithm) && isSecretAlgorithm(algorithm))) {
      throw new UsageError(
        `--algorithm names a secret key's algorithm (${HSM_ALGORITHMS.filter(isSecretAlgorithm).join(', ')})`,
      );
    }
    if (algorithm !== undefined && unwrapPath === undefined) {
      throw new UsageError('a secret key is imported wrapped: give --unwrap-key-file FILE');
    }
    const common = {
      label,
      ...(algorithm === undefined ? {} : { algorithm }),
      pss: flag(inv, 'pss'),
      extractable: flag(inv, 'extractable'),
      ...(p === undefined ? {} : { purposes: p }),
    };
    if (unwrapPath !== undefined && stringOption(inv, 'api') !== undefined) {
      throw new UsageError(
        '--unwrap-key-file does not go with --api: import a wrapped key locally',
      );
    }
    const localImport = (hsm: Hsm): Promise<KeyInfo> => {
      if (unwrapPath !== undefined) {
        return hsm.importWrappedKey(partition, {
          ...common,
          wrapped: new Uint8Array(input),
          unwrapKey: aesKeyFile(unwrapPath),
        });
      }
      const pem = decodePemAll(input.toString('utf8')).find((b) => b.label === 'PRIVATE KEY');
      const pkcs8 = pem?.der ?? new Uint8Array(input);
      return hsm.importKey(partition, { ...common, pkcs8 });
    };
    const key = await withTarget<KeyView>(inv, localImport, async (api) => {
      const pem = decodePemAll(input.toString('utf8')).find((b) => b.label === 'PRIVATE KEY');
      const pkcs8 = pem?.der ?? new Uint8Array(input);
      return keyViewOf(
        await api.importKey(partition, {
          label,
          pkcs8: Buffer.from(pkcs8).toString('base64'),
          ...(common.pss ? { pss: true } : {}),
          extractable: common.extractable,
          ...(p === undefined ? {} : { purposes: p }),
        }),
      );
    });
    if (flag(inv, 'json')) inv.io.stdout(jsonText(keyJson(key)));
    else printKey(inv, key);
    return EXIT.ok;
  },
};

export const keyAttest: Command = {
  path: ['key', 'attest'],
  summary:
    'Attest a key: evidence or an X.509 certificate signed by the partition attestation key.',
  positionals: [...PARTITION_LABEL],
  details: `The claims come from the key's real attributes (extractable, never-extractable, local,
origin, purposes, creation time, state, partition and device ids) and say
protection-class = software. Evidence (PEM label EVIDENCE) carries the chain: partition
attestation certificate, device, root. A certificate is written alone unless --chain is given:
then the certificate is followed by the partition attestation certificate, the device
certificate and the root (leaf first, root last), as 'attestamp-verify certificate' reads it.
With --json, one JSON document: {format, pem, der (hex), sha256, chain: [{pem, sha256}]}.`,
  options: {
    nonce: {
      type: 'string',
      value: 'HEX',
      description: 'freshness nonce from the relying party (1 to 64 bytes)',
    },
    format: { type: 'string', value: 'FORMAT', description: 'evidence (default) or certificate' },
    chain: {
      type: 'boolean',
      description: 'with --format certificate: append the chain (attestation, device, root)',
    },
    out: {
      type: 'string',
      value: 'FILE',
      description: 'write PEM here instead of standard output',
    },
    ...MASTER_OPTIONS,
  },
  async run(inv) {
    const [partition, label] = inv.positionals as [string, string];
    const nonceText = stringOption(inv, 'nonce');
    const nonce = nonceText === undefined ? undefined : fromHex(nonceText);
    if (
      nonceText !== undefined &&
      (nonce === undefined || nonce.length === 0 || nonce.length > 64)
    ) {
      throw new UsageError('--nonce must be 2 to 128 hex digits');
    }
    const format = stringOption(inv, 'format') ?? 'evidence';
    if (format !== 'evidence' && format !== 'certificate') {
      throw new UsageError('--format must be evidence or certificate');
    }
    const withChain = flag(inv, 'chain');
    if (withChain && format !== 'certificate') {
      throw new UsageError('--chain needs --format certificate (evidence carries its chain)');
    }
    const { der, chain } = await withHsm(inv, async (hsm) => {
      const attested = await hsm.attestKey(partition, label, {
        format,
        ...(nonce === undefined ? {} : { nonce }),
      });
      if (!withChain) return { der: attested, chain: [] as Uint8Array[] };
      const c = await hsm.chain(partition);
      return { der: attested, chain: [c.partitionAttestation, c.device, c.root] };
    });
    const pemLabel = format === 'evidence' ? 'EVIDENCE' : 'CERTIFICATE';
    const pem = encodePem(pemLabel, der) + chain.map((c) => encodePem('CERTIFICATE', c)).join('');
    const outOption = stringOption(inv, 'out');
    const out = outOption === undefined ? undefined : resolve(inv.io.cwd, outOption);
    if (out !== undefined) writeFileSync(out, pem);
    if (flag(inv, 'json')) {
      inv.io.stdout(
        jsonText({
          format,
          partition,
          label,
          pem,
          der: Buffer.from(der).toString('hex'),
          sha256: sha256Fingerprint(der),
          ...(withChain
            ? {
                chain: chain.map((c) => ({
                  pem: encodePem('CERTIFICATE', c),
                  sha256: sha256Fingerprint(c),
                })),
              }
            : {}),
          ...(out === undefined ? {} : { out }),
        }),
      );
    } else if (out === undefined) inv.io.stdout(pem);
    else inv.io.stderr(`${format} written to ${out}\n`);
    return EXIT.ok;
  },
};

/** RFC 7638: the members that make up the JWK thumbprint of each key type, in lexical order. */
const THUMBPRINT_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
};

/**
 * The public key as a JWK (RFC 7517; EC P-256/P-384 and RSA per RFC 7518 6.2 and 6.3, Ed25519 as
 * OKP per RFC 8037, ML-DSA as AKP per draft-ietf-cose-dilithium), with its RFC 7638 SHA-256
 * thumbprint as `kid`; `{ none: reason }` for a key that has no JWK form (SLH-DSA).
 */
export function publicJwk(
  spki: Uint8Array,
): JsonWebKey | { readonly kty?: undefined; readonly none: string } {
  const form = jwkFormOf(spki);
  if (form.kind === 'none') return { none: form.reason };
  if (form.kind === 'akp') {
    const kid = createHash('sha256').update(akpThumbprintInput(form.jwk)).digest('base64url');
    return { ...form.jwk, kid };
  }
  let jwk: JsonWebKey;
  try {
    jwk = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).export({
      format: 'jwk',
    });
  } catch {
    // A key this Node's OpenSSL cannot read (ML-KEM before OpenSSL 3.5): no JWK, as the API's.
    return { none: 'no JWK form for this key on this Node' };
  }
  const members = THUMBPRINT_MEMBERS[String(jwk.kty)];
  if (members === undefined) throw new InputError(`no JWK form for key type ${String(jwk.kty)}`);
  const canonical = `{${members.map((m) => `${JSON.stringify(m)}:${JSON.stringify(jwk[m])}`).join(',')}}`;
  const kid = createHash('sha256').update(canonical).digest('base64url');
  return { ...jwk, kid };
}

export const keyPublic: Command = {
  path: ['key', 'public'],
  summary: "Write a key's public key (SubjectPublicKeyInfo) as PEM, DER or JWK.",
  positionals: [...PARTITION_LABEL],
  details: `The public key comes from the key's authenticated row and is written only when it is the
public key of the sealed private key. PEM is a "PUBLIC KEY" block (openssl pkey -pubin reads it);
DER is the bare SubjectPublicKeyInfo; JWK follows RFC 7517/7518/8037 (EC P-256/P-384, OKP
Ed25519, RSA) and draft-ietf-cose-dilithium (AKP ML-DSA) with the RFC 7638 thumbprint as kid;
SLH-DSA keys have no JWK form (--format jwk is refused, and --json gives "jwk": null). With --json: a JSON document with the key, the
SPKI in hex, its SHA-256 and the JWK. --format xpub writes the extended public key of a
bip32-secp256k1 key (BIP 32 serialisation; --prefix tpub for testnet, zpub or vpub for BIP 84
accounts as SLIP-132 writes them); with --json it is in "xpub". With --api only --format xpub.`,
  options: {
    format: { type: 'string', value: 'FORMAT', description: 'pem (default), der, jwk or xpub' },
    prefix: {
      type: 'string',
      value: 'PREFIX',
      description: 'with --format xpub: xpub (default), tpub, zpub or vpub',
    },
    out: { type: 'string', value: 'FILE', description: 'write here instead of standard output' },
    ...MASTER_OPTIONS,
    ...REMOTE_OPTIONS,
  },
  async run(inv) {
    const [partition, label] = inv.positionals as [string, string];
    const format = stringOption(inv, 'format') ?? 'pem';
    if (format !== 'pem' && format !== 'der' && format !== 'jwk' && format !== 'xpub') {
      throw new UsageError(`--format must be pem, der, jwk or xpub (got '${format.slice(0, 16)}')`);
    }
    const prefix = stringOption(inv, 'prefix');
    if (prefix !== undefined && format !== 'xpub') {
      throw new UsageError('--prefix goes with --format xpub');
    }
    if (prefix !== undefined && !(XPUB_PREFIXES as readonly string[]).includes(prefix)) {
      throw new UsageError(`--prefix must be one of ${XPUB_PREFIXES.join(', ')}`);
    }
    const outOption = stringOption(inv, 'out');
    if (format === 'xpub') {
      const { key, xpub } = await withTarget<{ key: KeyView; xpub: string }>(
        inv,
        (hsm) => hsm.extendedPublicKey(partition, label, prefix as XpubPrefix | undefined),
        async (api) => {
          const xpub = await api.keyXpub(partition, label, prefix as XpubPrefix | undefined);
          return { key: keyViewOf(await api.getKey(partition, label)), xpub };
        },
      );
      const out = outOption === undefined ? undefined : resolve(inv.io.cwd, outOption);
      if (out !== undefined) writeFileSync(out, `${xpub}\n`);
      if (flag(inv, 'json')) {
        inv.io.stdout(
          jsonText({
            key: keyJson(key),
            format,
            spki: Buffer.from(key.spki).toString('hex'),
            sha256: sha256Fingerprint(key.spki),
            xpub,
            ...(out === undefined ? {} : { out }),
          }),
        );
      } else if (out !== undefined) inv.io.stderr(`extended public key written to ${out}\n`);
      else inv.io.stdout(`${xpub}\n`);
      return EXIT.ok;
    }
    if (stringOption(inv, 'api') !== undefined) {
      throw new UsageError('with --api, key public writes --format xpub only');
    }
    if (format === 'der' && outOption === undefined && !flag(inv, 'json')) {
      throw new UsageError('--format der writes binary: give --out FILE');
    }
    const { key, spki } = await withHsm(inv, (hsm) => hsm.publicKey(partition, label));
    const jwkOrNone = publicJwk(spki);
    const jwk = jwkOrNone.kty === undefined ? undefined : jwkOrNone;
    if (format === 'jwk' && jwk === undefined) {
      throw new UsageError(`--format jwk: ${String(jwkOrNone.none)}; use --format pem or der`);
    }
    const body: Uint8Array | string =
      format === 'der'
        ? spki
        : format === 'pem'
          ? encodePem('PUBLIC KEY', spki)
          : JSON.stringify(jwk, null, 2) + '\n';
    const out = outOption === undefined ? undefined : resolve(inv.io.cwd, outOption);
    if (out !== undefined) writeFileSync(out, body);
    if (flag(inv, 'json')) {
      inv.io.stdout(
        jsonText({
          key: keyJson(key),
          format,
          spki: Buffer.from(spki).toString('hex'),
          sha256: sha256Fingerprint(spki),
          jwk: jwk ?? null,
          ...(out === undefined ? {} : { out }),
        }),
      );
    } else if (out !== undefined) {
      inv.io.stderr(`public key (${format}) written to ${out}\n`);
    } else if (typeof body === 'string') {
      inv.io.stdout(body);
    }
    return EXIT.ok;
  },
};

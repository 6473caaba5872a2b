// Derivable keys (BIP 32, SLIP-10) as keys of a partition: imported from a seed or an extended
// private key, children derived along a path into new keys of the partition (temporary by
// default: an expiry in the authenticated attributes, refused with key-expired once passed and
// destroyed by the sweep), the extended public key of a secp256k1 node, and the Bitcoin and
// Ethereum addresses of a secp256k1 key. The nodes' private keys and chain codes never leave.
import { randomUUID } from 'node:crypto';
import {
  bitcoinP2trAddress,
  bitcoinP2wpkhAddress,
  ethereumAddress,
  type BitcoinNetwork,
} from '../../pki/index.js';
import type { JsonObject } from '../../shared/index.js';
import type { Core, Operation } from '../core.js';
import { HsmError } from '../errors.js';
import type { Authority } from '../governance/authorize.js';
import { KEY_RULE_CLASSES } from '../governance/quorum.js';
import {
  decodeExtendedKey,
  deriveHdPath,
  encodeExtendedKey,
  formatDerivationPath,
  hdMasterKey,
  hdPublicNode,
  parseDerivationPath,
  wipeHdNode,
  type HdPrivateNode,
} from '../hd/index.js';
import { checkAlgorithmPurposes, mechanismFor, type HsmAlgorithm } from '../key-crypto.js';
import {
  HD_ALGORITHMS,
  hdAlgorithmOf,
  hdKeyOfNode,
  hdNodeOf,
  isHdAlgorithm,
  loadSpki,
  type HdAlgorithm,
} from '../mechanisms/index.js';
import { scrubAfterDelete } from '../scrub.js';
import type { KeyRow } from '../store/device-store.js';
import type {
  KeyAttributes,
  KeyDerivation,
  KeyInfo,
  KeyPolicyInput,
  KeyPurpose,
} from '../types.js';
import { checkName, parseAttributes, publicKeyOf, toKeyInfo, toPartitionInfo } from '../views.js';
import { checkPurposes } from './attributes.js';
import { importPreparedKey, insertKey, requireFreeLabel, requireWritable } from './lifecycle.js';
import { keyParams, keyRules } from './policy.js';
import { rowAlgorithm, unsealKey } from './sealing.js';
import { privateKeyOf, requireUsable } from './use.js';

/** How long a derived key lives unless the caller says otherwise: one hour. */
export const DEFAULT_CHILD_LIFETIME_S = 3600;
/** The longest lifetime a temporary key can be given: a year (longer: make it persistent). */
export const MAX_CHILD_LIFETIME_S = 366 * 24 * 3600;

/** A derivable key to import: a seed (BIP 32 "Master key generation") or an extended key. */
export type HdImportSource =
  { readonly seed: Uint8Array; readonly algorithm: HdAlgorithm } | { readonly xprv: string };

export interface ImportHdKeyOptions {
  readonly label: string;
  readonly extractable?: boolean;
  readonly purposes?: readonly KeyPurpose[];
  readonly policy?: KeyPolicyInput;
}

function requireHd(row: KeyRow): HdAlgorithm {
  const algorithm = rowAlgorithm(row);
  if (!isHdAlgorithm(algorithm)) {
    throw new HsmError(
      'invalid-argument',
      `the key is not derivable (${Object.keys(HD_ALGORITHMS).join(', ')} keys are)`,
      { details: { label: row.label, algorithm } },
    );
  }
  return algorithm;
}

/** The node of an import source; the caller wipes it. */
function nodeOfSource(source: HdImportSource): { algorithm: HdAlgorithm; node: HdPrivateNode } {
  if ('seed' in source) {
    if (!isHdAlgorithm(source.algorithm)) {
      throw new HsmError('invalid-argument', 'a seed is imported as a derivable key algorithm', {
        details: { field: 'algorithm', algorithm: String(source.algorithm) },
      });
    }
    if (!(source.seed instanceof Uint8Array)) {
      throw new HsmError('invalid-argument', 'the seed is bytes', { details: { field: 'seed' } });
    }
    return {
      algorithm: source.algorithm,
      node: hdMasterKey(HD_ALGORITHMS[source.algorithm], source.seed),
    };
  }
  if (typeof source.xprv !== 'string' || source.xprv.length > 200) {
    throw new HsmError('invalid-argument', 'the extended key is a base58 string', {
      details: { field: 'extendedKey' },
    });
  }
  const { prefix, node } = decodeExtendedKey(source.xprv.trim());
  if (node.privateKey === undefined) {
    throw new HsmError(
      'invalid-argument',
      `a ${prefix} is a public key: an extended private key (xprv, tprv...) is imported`,
      { details: { field: 'extendedKey', prefix } },
    );
  }
  return { algorithm: hdAlgorithmOf(node.curve), node };
}

/**
 * Imports a derivable key: the master key of a seed, or the node of an extended private key
 * (depth, parent fingerprint and child number as it says). Under the partition's import policy,
 * as a PKCS#8 import; the seed and the node are wiped.
 */
export function importHdKey(
  core: Core,
  partitionName: string,
  source: HdImportSource,
  options: ImportHdKeyOptions,
): Promise<KeyInfo> {
  checkName('label', options.label);
  checkPurposes(options.purposes ?? []);
  const op: Operation = {
    action: 'key.import',
    details: { partition: partitionName, label: options.label },
  };
  return core.guard(op, async () => {
    const { algorithm, node } = nodeOfSource(source);
    try {
      const key = hdKeyOfNode(algorithm, node);
      const purposes = options.purposes ?? mechanismFor(algorithm).purposes?.default ?? [];
      checkAlgorithmPurposes(algorithm, purposes);
      return await importPreparedKey(
        core,
        partitionName,
        { ...options, purposes },
        { algorithm, key, publicPart: key.publicPart },
        op,
      );
    } finally {
      wipeHdNode(node);
    }
  });
}

/** What a derived key is: its label, lifetime, purposes and whether it may be exported. */
export interface DeriveChildOptions {
  readonly label: string;
  /** Seconds until it expires (default DEFAULT_CHILD_LIFETIME_S); not with `persistent`. */
  readonly expiresInSeconds?: number;
  /** Keep the key until it is deleted (no expiry). */
  readonly persistent?: boolean;
  /** Default: sign and verify (add derive to derive further from it). */
  readonly purposes?: readonly KeyPurpose[];
  readonly extractable?: boolean;
}

const CHILD_PURPOSES: readonly KeyPurpose[] = ['sign', 'verify'];

function lifetimeOf(options: DeriveChildOptions): number | undefined {
  if (options.persistent === true) {
    if (options.expiresInSeconds !== undefined) {
      throw new HsmError('invalid-argument', 'a persistent key has no expiry', {
        details: { field: 'expiresInSeconds' },
      });
    }
    return undefined;
  }
  const s = options.expiresInSeconds ?? DEFAULT_CHILD_LIFETIME_S;
  if (!Number.isSafeInteger(s) || s < 1 || s > MAX_CHILD_LIFETIME_S) {
    throw new HsmError(
      'invalid-argument',
      `a derived key lives 1 to ${MAX_CHILD_LIFETIME_S} seconds (or is persistent)`,
      { details: { field: 'expiresInSeconds' } },
    );
  }
  return s;
}

/** The absolute path of a child: known when the parent is a master key or knows its own. */
function childPath(parent: KeyAttributes, depth: number, relative: readonly number[]): string {
  if (depth === 0) return formatDerivationPath(relative, true);
  const base = parent.derivation?.path;
  if (base === undefined || !base.startsWith('m')) {
    // The parent's place is known only by its depth: the path is relative to it.
    return formatDerivationPath(relative, false);
  }
  return relative.length === 0 ? base : `${base}/${formatDerivationPath(relative, false)}`;
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** What a request to derive a child names exactly (for an approval statement). */
function deriveChildParams(
  base: JsonObject,
  path: string,
  options: DeriveChildOptions,
  lifetime: number | undefined,
): JsonObject {
  return {
    ...base,
    path,
    derived: {
      label: options.label,
      ...(options.purposes === undefined ? {} : { purposes: [...options.purposes] }),
      extractable: options.extractable ?? false,
      ...(lifetime === undefined ? { persistent: true } : { expiresInSeconds: lifetime }),
    },
  };
}

/**
 * Derives the child at `path` of the derivable key `label` (CKDpriv along the path: "m/84'/0'/0'"
 * from a master key, or relative indices "0/5") into a new key of the partition, of the same
 * algorithm: it derives further when given the purpose derive, and signs with its curve's
 * scheme. Temporary unless `persistent`: it expires after `expiresInSeconds` (an hour by
 * default). The parent needs the derive purpose; under its use rule the call becomes an
 * approval request naming the path and the new key.
 */
export function deriveChildKey(
  core: Core,
  partitionName: string,
  label: string,
  path: string,
  options: DeriveChildOptions,
  authority?: Authority,
): Promise<KeyInfo> {
  const op: Operation = {
    action: 'key.derive-child',
    details: { partition: partitionName, label },
  };
  return core.guard(op, async () => {
    checkName('label', options.label);
    if (typeof path !== 'string') {
      throw new HsmError('invalid-argument', 'the path is a string', {
        details: { field: 'path' },
      });
    }
    const parsed = parseDerivationPath(path);
    const indices = parsed.segments.map((segment) => segment.index);
    const normalized = formatDerivationPath(indices, parsed.absolute);
    const lifetime = lifetimeOf(options);
    checkPurposes(options.purposes ?? []);
    const before = await core
      .locate(core.store, partitionName, label, op)
      .catch(async (e: unknown) => {
        await core.governance.requireOpenRequest(authority);
        throw e;
      });
    const algorithm = requireHd(before.row);
    const purposes = options.purposes ?? CHILD_PURPOSES;
    checkAlgorithmPurposes(algorithm, purposes);
    const soft = parsed.segments.find((segment) => !segment.hardened);
    if (algorithm === 'slip10-ed25519' && soft !== undefined) {
      throw new HsmError(
        'invalid-argument',
        `derivation path segment ${soft.position} (${JSON.stringify(soft.text)}) is not hardened: ed25519 keys derive hardened children only (SLIP-10)`,
        { details: { field: 'path', segment: soft.text, position: soft.position } },
      );
    }
    requireUsable(before.row, 'derive');
    const call = {
      action: 'key.derive-child',
      partitionId: before.partition.id,
      params: deriveChildParams(keyParams(before), normalized, options, lifetime),
      keyRules: keyRules(before.row, [KEY_RULE_CLASSES.use]),
    };
    const grant = await core.governance.authorizeOperator(authority, op, call);
    const now = core.clock.now();
    const id = randomUUID();
    const info = await core.store.tx(async (tx) => {
      await grant.check(tx, now);
      const found = await core.locate(tx, partitionName, label, op);
      if (found.row.id !== before.row.id) {
        throw new HsmError('store-busy', 'the key changed meanwhile; try again', {
          details: { label },
        });
      }
      requireUsable(found.row, 'derive');
      requireWritable(toPartitionInfo(found.partition).policy);
      await requireFreeLabel(tx, found.partition.id, options.label);
      const parentAttributes = parseAttributes(found.row);
      const parent = hdNodeOf(algorithm, privateKeyOf(core, found.row));
      let child: HdPrivateNode | undefined;
      try {
        child = deriveHdPath(parent, path);
        const key = hdKeyOfNode(algorithm, child);
        const expiresAt =
          lifetime === undefined ? undefined : new Date(now.getTime() + lifetime * 1000);
        const derivation: KeyDerivation = {
          parent: found.row.id,
          parentFingerprint: hex8(child.parentFingerprint),
          path: childPath(parentAttributes, parent.depth, indices),
          depth: child.depth,
        };
        const extractable = options.extractable ?? false;
        const attributes: KeyAttributes = {
          extractable,
          sensitive: true,
          alwaysSensitive: parentAttributes.alwaysSensitive,
          neverExtractable: !extractable && parentAttributes.neverExtractable,
          local: false,
          modifiable: false,
          copyable: false,
          destroyable: true,
          purposes,
          origin: 'derived',
          derivation,
          ...(expiresAt === undefined ? {} : { expiresAt: expiresAt.toISOString() }),
        };
        const seq = await core.audit(tx, now, {
          actor: op.actor,
          action: 'key.derive-child',
          partitionId: found.partition.id,
          keyId: id,
          outcome: 'success',
          details: {
            label: options.label,
            algorithm,
            from: found.row.id,
            fromLabel: label,
            path: derivation.path,
            parentFingerprint: derivation.parentFingerprint,
            ...(expiresAt === undefined
              ? { persistent: true }
              : { expiresAt: expiresAt.toISOString() }),
          },
        });
        const row = await insertKey(core, tx, {
          id,
          partitionId: found.partition.id,
          label: options.label,
          role: 'user',
          algorithm,
          spki: key.publicPart,
          attributes,
          privateKey: key,
          now,
          auditSeq: seq,
        });
        await grant.done(tx, now, { key: id, label: options.label });
        return toKeyInfo(row, found.partition.name);
      } finally {
        wipeHdNode(parent);
        if (child !== undefined) wipeHdNode(child);
      }
    });
    return info;
  });
}

/** The extended public key prefixes: BIP 32 and SLIP-132 (BIP 84 accounts). */
export const XPUB_PREFIXES = ['xpub', 'tpub', 'zpub', 'vpub'] as const;
export type XpubPrefix = (typeof XPUB_PREFIXES)[number];

/**
 * The extended public key (K, c) of a bip32-secp256k1 key in Base58Check (BIP 32
 * "Serialization format"), with the version of `prefix`: from the unsealed node, checked
 * against the row's SPKI. SLIP-10 defines no serialisation for the other curves.
 */
export function extendedPublicKey(
  core: Core,
  partitionName: string,
  label: string,
  prefix: XpubPrefix = 'xpub',
): Promise<{ key: KeyInfo; xpub: string }> {
  const op: Operation = { action: 'key.public', details: { partition: partitionName, label } };
  return core.guard(op, async () => {
    if (!(XPUB_PREFIXES as readonly string[]).includes(prefix)) {
      throw new HsmError('invalid-argument', `the prefix is one of ${XPUB_PREFIXES.join(', ')}`, {
        details: { field: 'prefix' },
      });
    }
    const { partition, row } = await core.locate(core.store, partitionName, label, op);
    const algorithm = requireHd(row);
    if (algorithm !== 'bip32-secp256k1') {
      throw new HsmError(
        'invalid-argument',
        `extended keys are secp256k1 keys only: SLIP-10 defines no serialisation for ${algorithm}`,
        { details: { label, algorithm, field: 'format' } },
      );
    }
    const node = hdNodeOf(algorithm, unsealKey(core.keys.kek, core.deviceId, row));
    try {
      return {
        key: toKeyInfo(row, partition.name),
        xpub: encodeExtendedKey(hdPublicNode(node), prefix),
      };
    } finally {
      wipeHdNode(node);
    }
  });
}

export const ADDRESS_TYPES = ['p2wpkh', 'p2tr', 'ethereum'] as const;
export type AddressType = (typeof ADDRESS_TYPES)[number];

/** The algorithms whose public key is a secp256k1 point: those that have addresses. */
const SECP256K1_ALGORITHMS: readonly HsmAlgorithm[] = ['ecdsa-secp256k1', 'bip32-secp256k1'];

/**
 * The address of a secp256k1 key (ecdsa-secp256k1, or a bip32-secp256k1 node): Bitcoin P2WPKH
 * (bech32, BIP 84) or single-key P2TR (bech32m, BIP 86) on mainnet or testnet, or Ethereum
 * (EIP-55). From the authenticated row's SPKI, checked against the sealed key.
 */
export function keyAddress(
  core: Core,
  partitionName: string,
  label: string,
  type: AddressType,
  network: BitcoinNetwork = 'mainnet',
): Promise<{ key: KeyInfo; address: string }> {
  const op: Operation = { action: 'key.public', details: { partition: partitionName, label } };
  return core.guard(op, async () => {
    if (!(ADDRESS_TYPES as readonly string[]).includes(type)) {
      throw new HsmError(
        'invalid-argument',
        `the address type is one of ${ADDRESS_TYPES.join(', ')}`,
        {
          details: { field: 'type' },
        },
      );
    }
    if (!(['mainnet', 'testnet'] as readonly string[]).includes(network)) {
      throw new HsmError('invalid-argument', 'the network is mainnet or testnet', {
        details: { field: 'network' },
      });
    }
    const { partition, row } = await core.locate(core.store, partitionName, label, op);
    const algorithm = rowAlgorithm(row);
    if (!SECP256K1_ALGORITHMS.includes(algorithm)) {
      throw new HsmError(
        'invalid-argument',
        `addresses are of secp256k1 keys (${SECP256K1_ALGORITHMS.join(', ')})`,
        { details: { label, algorithm } },
      );
    }
    unsealKey(core.keys.kek, core.deviceId, row);
    const jwk = loadSpki(publicKeyOf(row)).export({ format: 'jwk' });
    const point = Uint8Array.of(
      0x04,
      ...Buffer.from(jwk.x ?? '', 'base64url'),
      ...Buffer.from(jwk.y ?? '', 'base64url'),
    );
    const address =
      type === 'ethereum'
        ? ethereumAddress(point)
        : type === 'p2tr'
          ? bitcoinP2trAddress(point, network)
          : bitcoinP2wpkhAddress(point, network);
    return { key: toKeyInfo(row, partition.name), address };
  });
}

/** Whether a key's expiry (an authenticated attribute) has passed at `now`. */
export function isExpired(attributes: KeyAttributes, now: Date): boolean {
  return attributes.expiresAt !== undefined && Date.parse(attributes.expiresAt) <= now.getTime();
}

/** HsmError key-expired when the key row's expiry has passed. */
export function requireNotExpired(row: KeyRow, now: Date): void {
  const attributes = parseAttributes(row);
  if (isExpired(attributes, now)) {
    throw new HsmError('key-expired', 'the key has expired (it is destroyed by the next sweep)', {
      details: { label: row.label, expiresAt: attributes.expiresAt ?? '' },
    });
  }
}

/**
 * Destroys every key whose expiry has passed, in every partition (read-only ones too: the
 * expiry is the key's own term): each deletion in its own transaction with its key.expire
 * audit entry, re-checked there; then the store is scrubbed of the freed bytes. Returns how
 * many were destroyed.
 */
export async function sweepExpiredKeys(core: Core): Promise<number> {
  const now = core.clock.now();
  let destroyed = 0;
  // The candidates are read as stored (a JSON read, no MAC): each one is authenticated in the
  // transaction that destroys it, so a row edited to look expired is an integrity failure.
  for (const partition of await core.store.partitions.all()) {
    for (const row of await core.store.keys.ofPartition(partition.id)) {
      if (!row.attributes_json.includes('"expiresAt"')) continue;
      if (!isExpired(parseAttributes(row), now)) continue;
      const done = await core.store.tx(async (tx) => {
        const current = await core.rows.keyByLabel(tx, partition.id, row.label);
        if (current?.id !== row.id || !isExpired(parseAttributes(current), now)) return false;
        await core.audit(tx, now, {
          action: 'key.expire',
          partitionId: partition.id,
          keyId: current.id,
          outcome: 'success',
          details: { label: current.label, expiresAt: parseAttributes(current).expiresAt ?? '' },
        });
        if (!(await tx.keys.delete(current.id, current.mac!))) {
          throw new HsmError('store-busy', 'the key changed meanwhile', {
            details: { label: current.label },
          });
        }
        return true;
      });
      if (done) {
        core.keyCache.delete(row.id);
        destroyed++;
      }
    }
  }
  if (destroyed > 0) await scrubAfterDelete(core, 'key.expire');
  return destroyed;
}

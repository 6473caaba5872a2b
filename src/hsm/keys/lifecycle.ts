// A key's life: generated or imported into a partition, listed and shown, deleted to the trash
// (or destroyed), restored or purged by an officer, exported wrapped when the key and the
// partition both allow it. Every check reads its rows inside the transaction that changes them.
import { randomUUID } from 'node:crypto';
import { bytesEqual, type JsonValue } from '../../shared/index.js';
import { canonicalJson } from '../governance/canonical-json.js';
import { governedChange, officerChange } from '../auth/officers.js';
import type { Core, Operation } from '../core.js';
import type { Authority, RequestAuthority } from '../governance/authorize.js';
import type { PresentedAuthority } from '../governance/presented.js';
import { HsmError } from '../errors.js';
import { scrubAfterDelete, type ScrubOutcome } from '../scrub.js';
import { integrityError } from '../integrity.js';
import {
  checkAlgorithmPurposes,
  defaultPurposes,
  generateKey as newKeyPair,
  importKeyMaterial,
  isHsmAlgorithm,
  isSecretAlgorithm,
  loadKey,
  publicPartOf,
  rowKind,
  type HsmAlgorithm,
  type PrivateKeyHandle,
} from '../key-crypto.js';
import type { KeyRow, PartitionRow, StoreReader, StoreTx } from '../store/device-store.js';
import type {
  GenerateKeyOptions,
  KeyAttributes,
  KeyInfo,
  KeyPolicy,
  KeyPolicyInput,
  KeyPurpose,
  KeyRole,
  KeyState,
  PartitionPolicy,
  WrappingKey,
} from '../types.js';
import {
  checkName,
  keyState,
  parseAttributes,
  publicKeyOf,
  toKeyInfo,
  toPartitionInfo,
} from '../views.js';
import { aesKeyUnwrapPad, aesKeyWrapPad, rsaAesKeyWrap, rsaWrappingKey } from '../wrap.js';
import { checkPurposes, generatedAttributes, importedAttributes } from './attributes.js';
import { KEY_RULE_CLASSES } from '../governance/quorum.js';
import {
  checkKeyPolicy,
  keyParams as policyKeyParams,
  keyPolicyJson,
  keyRules,
  modifyClasses,
  parseKeyPolicy,
} from './policy.js';
import { keyAad, rowAlgorithm, sealPrivateKey, unsealKey, unsealRow } from './sealing.js';

export interface ImportKeyOptions {
  readonly label: string;
  /** PKCS#8 DER of the private key. */
  readonly pkcs8: Uint8Array;
  /**
   * A secret key's algorithm (`aes-256`...): the unwrapped bytes of a wrapped import are then
   * the raw key, not PKCS#8 (a secret key is imported wrapped only, see importWrappedKey).
   */
  readonly algorithm?: HsmAlgorithm;
  /** For RSA keys: sign with PSS instead of PKCS#1 v1.5. */
  readonly pss?: boolean;
  readonly extractable?: boolean;
  readonly purposes?: readonly KeyPurpose[];
  /** The key's own approval policy. */
  readonly policy?: KeyPolicyInput;
}

/** The attributes with the key's policy, when it has one. */
function withPolicy(attributes: KeyAttributes, policy: KeyPolicy | undefined): KeyAttributes {
  return policy === undefined ? attributes : { ...attributes, policy };
}

/** What the audit log says of a new key's policy: which rules it has. */
function policyDetails(policy: KeyPolicy | undefined): { policy?: string } {
  return policy === undefined ? {} : { policy: Object.keys(keyPolicyJson(policy)).join(' ') };
}

export interface NewKeyRow {
  readonly id: string;
  readonly partitionId: string;
  readonly label: string;
  readonly role: KeyRole;
  readonly algorithm: HsmAlgorithm;
  /** The key's public part: its SPKI, or a secret key's check value. */
  readonly spki: Uint8Array;
  readonly attributes: KeyAttributes;
  readonly privateKey: PrivateKeyHandle;
  readonly now: Date;
  readonly auditSeq: number;
}

/** Seals the private key and inserts its authenticated row, inside `tx`. */
export async function insertKey(core: Core, tx: StoreTx, k: NewKeyRow): Promise<KeyRow> {
  const row = core.rows.sealKey({
    id: k.id,
    partition_id: k.partitionId,
    label: k.label,
    role: k.role,
    kind: rowKind(k.algorithm),
    algorithm: k.algorithm,
    spki: Buffer.from(k.spki),
    attributes_json: JSON.stringify(k.attributes),
    state: 'active',
    created_at: k.now.toISOString(),
    invalidated_at: null,
    wrapped: sealPrivateKey(
      core.keys.kek,
      k.algorithm,
      k.privateKey,
      keyAad(core.deviceId, k.partitionId, k.id),
    ),
    audit_seq: k.auditSeq,
  });
  await tx.keys.insert(row);
  return row;
}

async function compareAndSetKey(tx: StoreTx, next: KeyRow, current: KeyRow): Promise<void> {
  if (!(await tx.keys.update(next, current.mac!))) {
    throw integrityError('key', 'the row changed under its transaction', { keyId: current.id });
  }
}

async function compareAndDeleteKey(tx: StoreTx, current: KeyRow): Promise<void> {
  if (!(await tx.keys.delete(current.id, current.mac!))) {
    throw integrityError('key', 'the row changed under its transaction', { keyId: current.id });
  }
}

export async function requireFreeLabel(
  r: StoreReader,
  partitionId: string,
  label: string,
): Promise<void> {
  if (await r.keys.labelTaken(partitionId, label)) {
    throw new HsmError(
      'key-exists',
      'a key with this label exists in the partition (maybe in the trash)',
      { details: { label } },
    );
  }
}

export function requireWritable(policy: PartitionPolicy): void {
  if (policy.readOnly) {
    throw new HsmError('policy-read-only', 'the partition is read-only');
  }
}

export async function generateKey(
  core: Core,
  partitionName: string,
  options: GenerateKeyOptions,
): Promise<KeyInfo> {
  checkName('label', options.label);
  if (!isHsmAlgorithm(options.algorithm)) {
    throw new HsmError('invalid-argument', 'unsupported key algorithm', {
      details: { algorithm: String(options.algorithm) },
    });
  }
  checkPurposes(options.purposes ?? []);
  const purposes = options.purposes ?? defaultPurposes(options.algorithm);
  checkAlgorithmPurposes(options.algorithm, purposes);
  const op: Operation = {
    action: 'key.generate',
    details: { partition: partitionName, label: options.label },
  };
  return core.guard(op, async () => {
    const partition = await core.partitionRow(core.store, partitionName);
    op.partitionId = partition.id;
    requireWritable(toPartitionInfo(partition).policy);
    await requireFreeLabel(core.store, partition.id, options.label);
    const policy = parseKeyPolicy(options.policy, 1);
    const key = await newKeyPair(options.algorithm);
    const id = randomUUID();
    const now = core.clock.now();
    const attributes = withPolicy(generatedAttributes({ ...options, purposes }), policy);
    return core.store.tx(async (tx) => {
      // Re-checked inside the transaction: another process may have changed the policy or
      // taken the label meanwhile.
      const current = await core.partitionRow(tx, partitionName);
      if (current.id !== partition.id) {
        throw new HsmError('partition-not-found', 'the partition was replaced meanwhile');
      }
      requireWritable(toPartitionInfo(current).policy);
      await requireFreeLabel(tx, partition.id, options.label);
      await checkKeyPolicy(core, tx, toPartitionInfo(current).policy, policy, options.label);
      const seq = await core.audit(tx, now, {
        action: 'key.generate',
        partitionId: partition.id,
        keyId: id,
        outcome: 'success',
        details: {
          label: options.label,
          algorithm: options.algorithm,
          extractable: attributes.extractable,
          ...policyDetails(policy),
        },
      });
      const row = await insertKey(core, tx, {
        id,
        partitionId: partition.id,
        label: options.label,
        role: 'user',
        algorithm: options.algorithm,
        spki: key.publicPart,
        attributes,
        privateKey: key.privateKey,
        now,
        auditSeq: seq,
      });
      return toKeyInfo(row, partition.name);
    });
  });
}

/** A key to import, loaded by its mechanism, with its public part. */
export interface ImportMaterial {
  readonly algorithm: HsmAlgorithm;
  readonly key: PrivateKeyHandle;
  readonly publicPart: Uint8Array;
}

/**
 * The key an import brings: PKCS#8 (its algorithm by its OID), or the raw bytes of a secret key
 * of the named algorithm.
 */
function importMaterial(options: ImportKeyOptions, encoded: Uint8Array): ImportMaterial {
  if (options.algorithm === undefined) return importKeyMaterial(encoded, options.pss ?? false);
  if (!isHsmAlgorithm(options.algorithm) || !isSecretAlgorithm(options.algorithm)) {
    throw new HsmError(
      'invalid-argument',
      'an algorithm is named for a secret key only (a key pair is imported as PKCS#8)',
      { details: { algorithm: options.algorithm, field: 'algorithm' } },
    );
  }
  const key = loadKey(options.algorithm, encoded);
  return { algorithm: options.algorithm, key, publicPart: publicPartOf(options.algorithm, key) };
}

async function importKeyIn(
  core: Core,
  partitionName: string,
  options: ImportKeyOptions,
  op: Operation,
): Promise<KeyInfo> {
  op.partitionId = (await core.partitionRow(core.store, partitionName)).id;
  return importPreparedKey(
    core,
    partitionName,
    options,
    importMaterial(options, options.pkcs8),
    op,
  );
}

/**
 * Imports a key already loaded by its mechanism (PKCS#8, a secret key, or a derivable key from
 * its seed or extended key), under the partition's import policy, with the key.import entry.
 */
export async function importPreparedKey(
  core: Core,
  partitionName: string,
  options: Omit<ImportKeyOptions, 'pkcs8'>,
  material: ImportMaterial,
  op: Operation,
): Promise<KeyInfo> {
  const { algorithm, key: privateKey, publicPart: spki } = material;
  const purposes = options.purposes ?? defaultPurposes(algorithm);
  checkAlgorithmPurposes(algorithm, purposes);
  const policy = parseKeyPolicy(options.policy, 1);
  const attributes = withPolicy(importedAttributes({ ...options, purposes }), policy);
  const id = randomUUID();
  const now = core.clock.now();
  return core.store.tx(async (tx) => {
    const partition = await core.partitionRow(tx, partitionName);
    op.partitionId = partition.id;
    const partitionPolicy = toPartitionInfo(partition).policy;
    requireWritable(partitionPolicy);
    if (!partitionPolicy.importAllowed) {
      throw new HsmError('policy-import-denied', 'the partition policy does not allow key import', {
        details: { partition: partitionName },
      });
    }
    await requireFreeLabel(tx, partition.id, options.label);
    await checkKeyPolicy(core, tx, partitionPolicy, policy, options.label);
    const seq = await core.audit(tx, now, {
      action: 'key.import',
      partitionId: partition.id,
      keyId: id,
      outcome: 'success',
      details: { label: options.label, algorithm, ...policyDetails(policy) },
    });
    const row = await insertKey(core, tx, {
      id,
      partitionId: partition.id,
      label: options.label,
      role: 'user',
      algorithm,
      spki,
      attributes,
      privateKey,
      now,
      auditSeq: seq,
    });
    return toKeyInfo(row, partition.name);
  });
}

export async function importKey(
  core: Core,
  partitionName: string,
  options: ImportKeyOptions,
): Promise<KeyInfo> {
  checkName('label', options.label);
  checkPurposes(options.purposes ?? []);
  const op: Operation = {
    action: 'key.import',
    details: { partition: partitionName, label: options.label },
  };
  return await core.guard(op, () => {
    // A secret key never crosses into the HSM in the clear: it comes wrapped.
    if (options.algorithm !== undefined) {
      throw new HsmError(
        'invalid-argument',
        'a secret key is imported wrapped (importWrappedKey), never as plaintext',
        { details: { field: 'algorithm' } },
      );
    }
    return importKeyIn(core, partitionName, options, op);
  });
}

/**
 * Imports a key wrapped with RFC 5649 AES-KWP under a caller-supplied AES-256 key: PKCS#8, or
 * with `algorithm` the raw bytes of a secret key of that algorithm.
 */
export async function importWrappedKey(
  core: Core,
  partitionName: string,
  options: Omit<ImportKeyOptions, 'pkcs8'> & { wrapped: Uint8Array; unwrapKey: Uint8Array },
): Promise<KeyInfo> {
  checkName('label', options.label);
  checkPurposes(options.purposes ?? []);
  const op: Operation = {
    action: 'key.import',
    details: { partition: partitionName, label: options.label },
  };
  return await core.guard(op, async () => {
    const pkcs8 = aesKeyUnwrapPad(options.unwrapKey, options.wrapped);
    try {
      return await importKeyIn(core, partitionName, { ...options, pkcs8 }, op);
    } finally {
      pkcs8.fill(0);
    }
  });
}

export function listKeys(
  core: Core,
  partitionName: string,
  filter: { state?: KeyState } = {},
): Promise<KeyInfo[]> {
  const op: Operation = { action: 'key.list', details: { partition: partitionName } };
  return core.guard(op, async () => {
    const partition = await core.partitionRow(core.store, partitionName);
    op.partitionId = partition.id;
    return (await core.rows.keysOfPartition(core.store, partition.id))
      .filter((r) => filter.state === undefined || keyState(r) === filter.state)
      .map((r) => toKeyInfo(r, partition.name));
  });
}

export function showKey(core: Core, partitionName: string, label: string): Promise<KeyInfo> {
  const op: Operation = { action: 'key.show', details: { partition: partitionName, label } };
  return core.guard(op, async () => {
    const { partition, row } = await core.locate(core.store, partitionName, label, op);
    return toKeyInfo(row, partition.name);
  });
}

/**
 * The key's DER SubjectPublicKeyInfo, as the HSM itself trusts it: from the authenticated row,
 * and only when it is the public key of the sealed private key (a row whose SPKI was swapped
 * for another key's is an integrity failure, never exported).
 */
export function publicKey(
  core: Core,
  partitionName: string,
  label: string,
): Promise<{ key: KeyInfo; spki: Uint8Array }> {
  const op: Operation = { action: 'key.public', details: { partition: partitionName, label } };
  return core.guard(op, async () => {
    const { partition, row } = await core.locate(core.store, partitionName, label, op);
    if (isSecretAlgorithm(rowAlgorithm(row))) {
      throw new HsmError(
        'invalid-argument',
        'a secret key has no public key (its key check value is in the key description)',
        { details: { label, algorithm: row.algorithm } },
      );
    }
    unsealKey(core.keys.kek, core.deviceId, row);
    return { key: toKeyInfo(row, partition.name), spki: new Uint8Array(publicKeyOf(row)) };
  });
}

/** A user key of a writable partition that may be deleted now (refused with the reason). */
function checkDeletable(partition: PartitionRow, row: KeyRow): void {
  requireWritable(toPartitionInfo(partition).policy);
  const label = row.label;
  if (row.role !== 'user') {
    throw new HsmError('system-key', "a partition's own keys cannot be deleted", {
      details: { label },
    });
  }
  if (!parseAttributes(row).destroyable) {
    throw new HsmError('key-not-destroyable', 'the key is not destroyable', {
      details: { label },
    });
  }
  if (row.state === 'invalidated') {
    throw new HsmError('key-invalidated', 'the key is already in the trash', {
      details: { label },
    });
  }
  // A blocked key restored from the trash would be active again without its unblock rule.
  if (keyState(row) === 'blocked') {
    throw new HsmError('key-blocked', 'the key is blocked: unblock it before deleting it', {
      details: { label },
    });
  }
}

/**
 * Deletes a key. With invalidation on (the default) it goes to the partition's trash: unusable,
 * listed as invalidated, restorable by an officer. Otherwise it is destroyed. A deletion lifts
 * every rule of the key's own approval policy at once, so a key with a policy is deleted only
 * under its modify rule (or, without one, every rule it has), as a change of its policy is:
 * the call becomes an approval request (approval-required names it), and the approved request
 * deletes exactly that key at that policy version. A presented principal (REST API) needs
 * crypto-officer, pso or device-so in the partition.
 */
export function deleteKey(
  core: Core,
  partitionName: string,
  label: string,
  authority?: RequestAuthority | PresentedAuthority,
): Promise<KeyInfo | undefined> {
  const op: Operation = { action: 'key.delete', details: { partition: partitionName, label } };
  return core.guard(op, async () => {
    const result = await governedChange(
      core,
      authority,
      (governed) => core.governance.authorizeOperator(authority, op, governed),
      async (r) => {
        const found = await core.locate(r, partitionName, label, op);
        checkDeletable(found.partition, found.row);
        return found;
      },
      (found) => ({
        action: 'key.delete',
        partitionId: found.partition.id,
        params: policyKeyParams(found),
        keyRules: keyRules(found.row, modifyClasses(parseAttributes(found.row).policy)),
      }),
      async (tx, { partition, row }, now): Promise<{ info: KeyInfo | undefined; id: string }> => {
        if (toPartitionInfo(partition).policy.invalidation) {
          const seq = await core.audit(tx, now, {
            actor: op.actor,
            action: 'key.invalidate',
            partitionId: partition.id,
            keyId: row.id,
            outcome: 'success',
            details: { label },
          });
          const next = core.rows.sealKey({
            ...row,
            state: 'invalidated',
            invalidated_at: now.toISOString(),
            audit_seq: seq,
          });
          await compareAndSetKey(tx, next, row);
          return { info: toKeyInfo(next, partition.name), id: row.id };
        }
        await core.audit(tx, now, {
          actor: op.actor,
          action: 'key.destroy',
          partitionId: partition.id,
          keyId: row.id,
          outcome: 'success',
          details: { label },
        });
        await compareAndDeleteKey(tx, row);
        return { info: undefined, id: row.id };
      },
      (value) => ({ key: value.id, destroyed: value.info === undefined }),
    );
    core.keyCache.delete(result.id);
    if (result.info === undefined) await scrubAfterDelete(core, 'key.destroy');
    return result.info;
  });
}

/** The exact parameters of a governed change of one key: its partition, id and label. */
const keyParams = (found: { partition: PartitionRow; row: KeyRow }) => ({
  partition: found.partition.id,
  key: found.row.id,
  label: found.row.label,
});

/**
 * Restore and purge: an officer's (or an approved request's) change of a key in the trash of a
 * writable partition, checked in the transaction that makes it.
 */
function changeTrashedKey<T>(
  core: Core,
  op: Operation,
  partitionName: string,
  label: string,
  authority: Authority | undefined,
  change: (tx: StoreTx, found: { partition: PartitionRow; row: KeyRow }, now: Date) => Promise<T>,
  result?: (value: T) => JsonValue,
): Promise<T> {
  return officerChange(
    core,
    op,
    authority,
    (r) => core.locate(r, partitionName, label, op),
    (found) => ({ action: op.action, partitionId: found.partition.id, params: keyParams(found) }),
    async (tx, found, now) => {
      requireWritable(toPartitionInfo(found.partition).policy);
      if (found.row.state !== 'invalidated') {
        throw new HsmError('key-not-invalidated', 'the key is not in the trash', {
          details: { label },
        });
      }
      return change(tx, found, now);
    },
    result,
  );
}

/** Takes a key out of the trash; needs a security officer (or an approved request). */
export function restoreKey(
  core: Core,
  partitionName: string,
  label: string,
  authority: Authority | undefined,
): Promise<KeyInfo> {
  const op: Operation = { action: 'key.restore', details: { partition: partitionName, label } };
  return core.guard(op, () =>
    changeTrashedKey(
      core,
      op,
      partitionName,
      label,
      authority,
      async (tx, { partition, row }, now) => {
        // A migrated key lives on on the target (its marker is an authenticated attribute).
        const migratedTo = parseAttributes(row).migratedTo;
        if (migratedTo !== undefined) {
          throw new HsmError('partition-migrated', 'the key was migrated to another device', {
            details: { label: row.label, migratedTo },
          });
        }
        const seq = await core.audit(tx, now, {
          actor: op.actor,
          action: 'key.restore',
          partitionId: partition.id,
          keyId: row.id,
          outcome: 'success',
          details: { label },
        });
        const next = core.rows.sealKey({
          ...row,
          state: 'active',
          invalidated_at: null,
          audit_seq: seq,
        });
        await compareAndSetKey(tx, next, row);
        return toKeyInfo(next, partition.name);
      },
      (info) => ({ key: info.id, state: info.state }),
    ),
  );
}

/**
 * Destroys a key in the trash for good; needs a security officer (or an approved request).
 * Once the deletion committed the purge has happened: a scrub of the store's files that fails
 * is reported in the outcome (and logged, audited, retried later), not as the purge's failure.
 */
export function purgeKey(
  core: Core,
  partitionName: string,
  label: string,
  authority: Authority | undefined,
): Promise<ScrubOutcome> {
  const op: Operation = { action: 'key.purge', details: { partition: partitionName, label } };
  return core.guard(op, async () => {
    const id = await changeTrashedKey(
      core,
      op,
      partitionName,
      label,
      authority,
      async (tx, { partition, row }, now) => {
        await core.audit(tx, now, {
          actor: op.actor,
          action: 'key.purge',
          partitionId: partition.id,
          keyId: row.id,
          outcome: 'success',
          details: { label },
        });
        await compareAndDeleteKey(tx, row);
        return row.id;
      },
      (key) => ({ key, purged: true }),
    );
    core.keyCache.delete(id);
    // The freed bytes that held the sealed key must not stay in the store's files.
    return scrubAfterDelete(core, 'key.purge');
  });
}

/** Export needs an extractable, active key in a partition whose policy allows export. */
function requireExportable(
  partition: PartitionRow,
  row: KeyRow,
  attributes: KeyAttributes,
  partitionName: string,
): void {
  if (!attributes.extractable) {
    throw new HsmError('key-not-extractable', 'the key is not extractable', {
      details: { label: row.label },
    });
  }
  if (!toPartitionInfo(partition).policy.exportAllowed) {
    throw new HsmError('policy-export-denied', 'the partition policy does not allow export', {
      details: { partition: partitionName },
    });
  }
  if (row.state !== 'active') {
    throw new HsmError('key-invalidated', 'the key is invalidated', {
      details: { label: row.label },
    });
  }
  if (keyState(row) === 'blocked') {
    throw new HsmError('key-blocked', 'the key is blocked', { details: { label: row.label } });
  }
}

/**
 * The governed call of an export: the key, and the public key it is wrapped under. An AES
 * wrapping key is a secret and has no place in a statement, so it is named only by its kind.
 */
function exportCall(found: { partition: PartitionRow; row: KeyRow }, wrapping: WrappingKey) {
  return {
    action: 'key.export',
    partitionId: found.partition.id,
    params: {
      ...keyParams(found),
      wrapping: wrapping.kind,
      ...(wrapping.kind === 'rsa-aes-kwp'
        ? { spki: Buffer.from(wrapping.spki).toString('hex') }
        : {}),
    },
    // A key under its own use rule leaves the device only as its use would: with approvals.
    keyRules: keyRules(found.row, [KEY_RULE_CLASSES.use]),
  };
}

/**
 * Exports a key wrapped under the caller's key, only when the key is extractable AND the
 * partition allows export. Never in plaintext. The key is marked as exported for good:
 * never-extractable can never be claimed for it again. A quorum rule on key.export applies to
 * the local operator too: the export becomes an approval request, and the approved request
 * exports under the RSA public key its statement names (the wrapped key is its result).
 */
export function exportKey(
  core: Core,
  partitionName: string,
  label: string,
  wrapping: WrappingKey,
  authority?: RequestAuthority | PresentedAuthority,
): Promise<Uint8Array> {
  const op: Operation = { action: 'key.export', details: { partition: partitionName, label } };
  return core.guard(op, async () => {
    const before = await core.locate(core.store, partitionName, label, op);
    requireExportable(before.partition, before.row, parseAttributes(before.row), partitionName);
    const call = exportCall(before, wrapping);
    // A request is made only for a key it could be wrapped under.
    if (wrapping.kind === 'rsa-aes-kwp') rsaWrappingKey(wrapping.spki);
    if (wrapping.kind === 'aes-kwp') {
      const rules = await core.governance.rulesFor(core.store, call);
      if (
        (authority !== undefined && 'request' in authority) ||
        rules.some((r) => r.rule !== null)
      ) {
        throw new HsmError(
          'invalid-argument',
          'an export under a quorum rule is wrapped under an RSA public key (rsa-aes-kwp): an AES wrapping key is a secret and cannot be named in an approval request',
          { details: { field: 'wrapping', partition: partitionName, label } },
        );
      }
    }
    const grant = await core.governance.authorizeOperator(authority, op, call);
    const now = core.clock.now();
    return core.store.tx(async (tx) => {
      await grant.check(tx, now);
      const found = await core.locate(tx, partitionName, label, op);
      const { partition, row } = found;
      if (canonicalJson(exportCall(found, wrapping).params) !== canonicalJson(call.params)) {
        throw new HsmError('store-busy', 'the key changed meanwhile; try again', {
          details: { label },
        });
      }
      const attributes = parseAttributes(row);
      requireExportable(partition, row, attributes, partitionName);
      const { encoded: pkcs8, publicPart } = unsealRow(core.keys.kek, core.deviceId, row);
      try {
        // Only the key the row names leaves, never a blob swapped in under another key's row.
        if (!bytesEqual(publicPart, publicKeyOf(row))) {
          throw integrityError('key', 'the stored public key is not the sealed key', {
            keyId: row.id,
          });
        }
        const wrapped =
          wrapping.kind === 'aes-kwp'
            ? aesKeyWrapPad(wrapping.key, pkcs8)
            : rsaAesKeyWrap(wrapping.spki, pkcs8);
        const seq = await core.audit(tx, now, {
          actor: op.actor,
          action: 'key.export',
          partitionId: partition.id,
          keyId: row.id,
          outcome: 'success',
          details: { label, wrapping: wrapping.kind },
        });
        const next = core.rows.sealKey({
          ...row,
          attributes_json: JSON.stringify({ ...attributes, neverExtractable: false }),
          audit_seq: seq,
        });
        await compareAndSetKey(tx, next, row);
        await grant.done(tx, now, { key: row.id, wrapped: Buffer.from(wrapped).toString('hex') });
        return wrapped;
      } finally {
        pkcs8.fill(0);
      }
    });
  });
}

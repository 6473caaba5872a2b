// Using a secret key: AEAD encryption and decryption (nonce drawn inside the HSM, counted
// against the key's limit), MACs and their checks, and AES key wrap of another key of the
// partition or unwrap into a new key. The governance is that of a signature (use.ts): the key's
// purposes, its own use rule (the call becomes an approval request, whose data is sealed under
// the device's key-encryption key beside it and named only by its SHA-256 in the statement),
// and an audit entry for each use with lengths only, never key bytes or data.
import { createHash, randomUUID } from 'node:crypto';
import type { JsonObject, JsonValue } from '../../shared/index.js';
import type { Core, Operation } from '../core.js';
import { HsmError } from '../errors.js';
import type { Authority, GovernedCall } from '../governance/authorize.js';
import { canonicalJson } from '../governance/canonical-json.js';
import { KEY_RULE_CLASSES } from '../governance/quorum.js';
import { escrowOf } from '../governance/requests.js';
import { integrityError } from '../integrity.js';
import {
  checkAlgorithmPurposes,
  defaultPurposes,
  isHsmAlgorithm,
  loadKey,
  mechanismFor,
  publicPartOf,
  type HsmAlgorithm,
  type KeyWrapMode,
  type Mechanism,
  type PrivateKeyHandle,
} from '../key-crypto.js';
import type { KeyRow, PartitionRow, StoreTx } from '../store/device-store.js';
import type { KeyInfo, KeyPolicyInput, KeyPurpose } from '../types.js';
import {
  checkName,
  keyState,
  parseAttributes,
  publicKeyOf,
  toKeyInfo,
  toPartitionInfo,
} from '../views.js';
import { open, seal } from '../wrap.js';
import { bytesEqual } from '../../shared/index.js';
import { checkPurposes, importedAttributes } from './attributes.js';
import { insertKey } from './lifecycle.js';
import { checkKeyPolicy, keyParams, keyRules, parseKeyPolicy } from './policy.js';
import { rowAlgorithm, unsealRow } from './sealing.js';
import { privateKeyOf, requireUsable, SIGN_DATA_LIMIT, STATEMENT_DATA_LIMIT } from './use.js';

/** Bytes of data, plaintext or ciphertext one call takes (as for signing). */
export const SECRET_DATA_LIMIT = SIGN_DATA_LIMIT;
/** Bytes of additional authenticated data (a header, a context: not bulk data). */
export const AAD_LIMIT = 64 * 1024;

export interface EncryptInput {
  readonly plaintext: Uint8Array;
  /** Additional authenticated data: authenticated, not encrypted (none: empty). */
  readonly aad?: Uint8Array;
}

export interface EncryptResult {
  /** The 96-bit nonce the HSM drew; the caller keeps it with the ciphertext. */
  readonly nonce: Uint8Array;
  /** The ciphertext with the 16-byte tag appended. */
  readonly ciphertext: Uint8Array;
  readonly algorithm: string;
  readonly keyId: string;
  /** The key's encryptions so far, this one included, and the most it may make. */
  readonly encryptions: number;
  readonly limit: number;
}

export interface DecryptInput {
  readonly nonce: Uint8Array;
  /** The ciphertext with its tag, as encrypt returned it. */
  readonly ciphertext: Uint8Array;
  readonly aad?: Uint8Array;
}

export interface DecryptResult {
  readonly plaintext: Uint8Array;
  readonly algorithm: string;
  readonly keyId: string;
}

export interface MacResult {
  readonly mac: Uint8Array;
  readonly algorithm: string;
  readonly keyId: string;
}

export interface WrapOptions {
  /** The label of the key of the same partition to wrap. */
  readonly key: string;
  /** RFC 5649 with padding (default) or RFC 3394 (a key of a multiple of 8 bytes). */
  readonly mode?: KeyWrapMode;
}

export interface WrapResult {
  readonly wrapped: Uint8Array;
  readonly mode: KeyWrapMode;
  /** The wrapping key's id. */
  readonly keyId: string;
  /** The wrapped key's id. */
  readonly wrappedKeyId: string;
}

export interface UnwrapOptions {
  readonly wrapped: Uint8Array;
  readonly mode?: KeyWrapMode;
  /** The new key: its label, algorithm (its encoding: PKCS#8 or raw), purposes and flags. */
  readonly label: string;
  readonly algorithm: HsmAlgorithm;
  readonly purposes?: readonly KeyPurpose[];
  readonly extractable?: boolean;
  readonly policy?: KeyPolicyInput;
}

type SecretAction =
  'key.encrypt' | 'key.decrypt' | 'key.mac' | 'key.verify-mac' | 'key.wrap' | 'key.unwrap';

type Located = { partition: PartitionRow; row: KeyRow };

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const EMPTY = new Uint8Array(0);

function checkBytes(value: unknown, field: string, limit: number): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length > limit) {
    throw new HsmError('invalid-argument', `the ${field} is at most ${limit} bytes`, {
      details: { field },
    });
  }
  return value;
}

/** The mechanism's operation, or invalid-argument naming what the key algorithm does not do. */
function operation<K extends keyof Mechanism>(
  row: KeyRow,
  name: K,
  verb: string,
): NonNullable<Mechanism[K]> {
  const mechanism: Mechanism = mechanismFor(rowAlgorithm(row));
  const op = mechanism[name];
  if (op === undefined) {
    throw new HsmError('invalid-argument', `the key algorithm does not ${verb}`, {
      details: { label: row.label, algorithm: row.algorithm },
    });
  }
  return op;
}

function modeOf(mode: unknown): KeyWrapMode {
  if (mode === undefined || mode === 'kwp') return 'kwp';
  if (mode === 'kw') return 'kw';
  throw new HsmError('invalid-argument', 'the wrap mode is kwp (RFC 5649) or kw (RFC 3394)', {
    details: { field: 'mode' },
  });
}

// ------------------------------------------------------------------ escrow

/** The additional data of a request's sealed escrow: the device and the key it is for. */
const escrowAad = (core: Core, keyId: string): string =>
  `attestamp/escrow/v1|${core.deviceId}|${keyId}`;

/**
 * What an approval request keeps for its execution (data, ciphertext, a wrapped key), sealed
 * under the key-encryption key: the store's readers see neither it nor its length beyond the
 * sealed blob's. Approvers see its SHA-256 in the statement.
 */
function sealEscrow(core: Core, keyId: string, escrow: JsonObject): JsonObject {
  const bytes = Buffer.from(canonicalJson(escrow), 'utf8');
  try {
    return { sealed: hex(seal(core.keys.kek, bytes, escrowAad(core, keyId))) };
  } finally {
    bytes.fill(0);
  }
}

/** The escrow of an approved request for a key, opened; request-not-approved without one. */
async function openEscrow(core: Core, requestId: string, keyId: string): Promise<JsonObject> {
  const req = await core.governance.requests.require(core.store, requestId);
  const sealed = escrowOf(req.body)?.['sealed'];
  if (typeof sealed !== 'string') {
    throw new HsmError('request-not-approved', 'the request holds none of the data it names', {
      details: { request: requestId },
    });
  }
  const bytes = open(core.keys.kek, Buffer.from(sealed, 'hex'), escrowAad(core, keyId));
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as JsonObject;
  } finally {
    bytes.fill(0);
  }
}

const escrowBytes = (e: JsonObject, field: string): Uint8Array => {
  const v = e[field];
  return typeof v === 'string' ? new Uint8Array(Buffer.from(v, 'hex')) : EMPTY;
};

// ------------------------------------------------------------------ the governed use

interface UseSpec<T> {
  readonly action: SecretAction;
  readonly purpose: KeyPurpose;
  /** Checks the located key (its mechanism's capability first), before and inside the tx. */
  readonly check: (found: Located) => void;
  /** What the statement names beyond the key: digests and lengths, never the data. */
  readonly params: JsonObject;
  /** Bytes the statement's data stands for, to bound what a request keeps. */
  readonly escrowBytes?: number;
  /** The data a request keeps for its execution (sealed), when the call is under a rule. */
  readonly escrow?: () => JsonObject;
  /** Whether the key's use rule guards the call (not for checking a MAC). */
  readonly governed: boolean;
  /** The second key of the call (the key a wrap takes out): its rules apply too. */
  readonly other?: (found: Located) => GovernedCall['otherKeyRules'];
  readonly run: (
    tx: StoreTx,
    found: Located,
    now: Date,
    audit: (details: JsonObject, keyId?: string, action?: string) => Promise<number>,
  ) => Promise<{ value: T; result: JsonValue }>;
}

/**
 * Runs one use of a key under its governance: the key located and checked; its use rule (and
 * a second key's) making an approval request instead of the use; the use, its audit entries
 * and the request's closing in one transaction, re-checked there.
 */
function governedUse<T>(
  core: Core,
  partitionName: string,
  label: string,
  authority: Authority | undefined,
  spec: UseSpec<T>,
): Promise<T> {
  const op: Operation = { action: spec.action, details: { partition: partitionName, label } };
  return core.guard(op, async () => {
    const before = await core
      .locate(core.store, partitionName, label, op)
      .catch(async (e: unknown) => {
        await core.governance.requireOpenRequest(authority);
        throw e;
      });
    spec.check(before);
    const call: GovernedCall = {
      action: spec.action,
      partitionId: before.partition.id,
      params: { ...keyParams(before), ...spec.params },
      ...(spec.governed ? { keyRules: keyRules(before.row, [KEY_RULE_CLASSES.use]) } : {}),
      ...(spec.other === undefined ? {} : { otherKeyRules: spec.other(before) }),
    };
    const rules = await core.governance.rulesFor(core.store, call);
    const guarded = rules.some((r) => r.rule !== null);
    const asRequest = authority !== undefined && 'request' in authority;
    if (guarded && !asRequest && spec.escrow !== undefined) {
      if ((spec.escrowBytes ?? 0) > STATEMENT_DATA_LIMIT) {
        throw new HsmError(
          'invalid-argument',
          `a key under a use rule takes at most ${STATEMENT_DATA_LIMIT} bytes per approval request`,
          { details: { label } },
        );
      }
      (call as { escrow?: JsonObject }).escrow = sealEscrow(core, before.row.id, spec.escrow());
    }
    const grant = await core.governance.authorizeOperator(authority, op, call);
    const now = core.clock.now();
    return core.store.tx(async (tx) => {
      await grant.check(tx, now);
      const found = await core.locate(tx, partitionName, label, op);
      if (found.row.id !== before.row.id) {
        throw new HsmError('store-busy', 'the key changed meanwhile; try again', {
          details: { label },
        });
      }
      spec.check(found);
      const out = await spec.run(tx, found, now, (details, keyId, action) =>
        core.audit(tx, now, {
          actor: op.actor,
          action: action ?? spec.action,
          partitionId: found.partition.id,
          keyId: keyId ?? found.row.id,
          outcome: 'success',
          details: { label, ...details },
        }),
      );
      await grant.done(tx, now, out.result);
      return out.value;
    });
  });
}

async function compareAndSet(tx: StoreTx, next: KeyRow, current: KeyRow): Promise<void> {
  if (!(await tx.keys.update(next, current.mac!))) {
    throw integrityError('key', 'the row changed under its transaction', { keyId: current.id });
  }
}

const aadParams = (aad: Uint8Array): JsonObject =>
  aad.length === 0 ? {} : { aadSha256: sha256(aad), aadBytes: aad.length };

// ------------------------------------------------------------------ encrypt, decrypt

/**
 * Encrypts with an AEAD key (purpose encrypt) under a nonce the HSM draws: the caller cannot
 * choose one (a nonce used twice under a key breaks GCM and ChaCha20-Poly1305). Each encryption
 * is counted in the key's authenticated row, in the transaction of its audit entry; past the
 * mechanism's invocation limit the key encrypts no more (key-usage-exhausted).
 */
export async function encryptWithKey(
  core: Core,
  partitionName: string,
  label: string,
  input: EncryptInput,
  authority?: Authority,
): Promise<EncryptResult> {
  if ('nonce' in input) {
    throw new HsmError(
      'invalid-argument',
      'the HSM draws the nonce of every encryption: a nonce chosen by the caller is refused',
      { details: { field: 'nonce' } },
    );
  }
  const plaintext: Uint8Array = checkBytes(input.plaintext, 'plaintext', SECRET_DATA_LIMIT);
  const aad: Uint8Array = checkBytes(input.aad ?? EMPTY, 'aad', AAD_LIMIT);
  return await governedUse(core, partitionName, label, authority, {
    action: 'key.encrypt',
    purpose: 'encrypt',
    governed: true,
    check: (found) => {
      operation(found.row, 'encrypt', 'encrypt');
      requireUsable(found.row, 'encrypt');
    },
    params: { plaintextSha256: sha256(plaintext), bytes: plaintext.length, ...aadParams(aad) },
    escrowBytes: plaintext.length + aad.length,
    escrow: () => ({ plaintext: hex(plaintext), aad: hex(aad) }),
    run: async (tx, found, _now, audit) => {
      const { row } = found;
      const encrypt = operation(row, 'encrypt', 'encrypt');
      const limit = mechanismFor(rowAlgorithm(row)).aead?.invocationLimit ?? 0;
      const attributes = parseAttributes(row);
      const used = attributes.encryptions ?? 0;
      if (!Number.isSafeInteger(used) || used < 0) {
        throw integrityError('key', 'the usage counter is not a count', { keyId: row.id });
      }
      if (used >= limit) {
        throw new HsmError(
          'key-usage-exhausted',
          `the key made its ${limit} encryptions under random nonces (NIST SP 800-38D 8.3): it encrypts no more; decrypt with it and use a new key`,
          { details: { label, encryptions: used, limit } },
        );
      }
      const sealed = encrypt(privateKeyOf(core, row), plaintext, aad);
      const count = used + 1;
      const seq = await audit({
        bytes: plaintext.length,
        aadBytes: aad.length,
        encryptions: count,
      });
      await compareAndSet(
        tx,
        core.rows.sealKey({
          ...row,
          attributes_json: JSON.stringify({ ...attributes, encryptions: count }),
          audit_seq: seq,
        }),
        row,
      );
      return {
        value: {
          nonce: sealed.nonce,
          ciphertext: sealed.ciphertext,
          algorithm: row.algorithm,
          keyId: row.id,
          encryptions: count,
          limit,
        },
        result: {
          key: row.id,
          algorithm: row.algorithm,
          nonce: hex(sealed.nonce),
          ciphertext: hex(sealed.ciphertext),
        },
      };
    },
  });
}

/**
 * Decrypts and authenticates with an AEAD key (purpose decrypt); decrypt-failed when the
 * ciphertext does not authenticate. Under the key's use rule the call becomes an approval
 * request, which only decryptRequest carries out: the plaintext goes to the caller that
 * executes it, never into the request.
 */
export async function decryptWithKey(
  core: Core,
  partitionName: string,
  label: string,
  input: DecryptInput,
  authority?: Authority,
): Promise<DecryptResult> {
  const nonce: Uint8Array = checkBytes(input.nonce, 'nonce', 64);
  const ciphertext: Uint8Array = checkBytes(input.ciphertext, 'ciphertext', SECRET_DATA_LIMIT + 16);
  const aad: Uint8Array = checkBytes(input.aad ?? EMPTY, 'aad', AAD_LIMIT);
  return await governedUse(core, partitionName, label, authority, {
    action: 'key.decrypt',
    purpose: 'decrypt',
    governed: true,
    check: (found) => {
      operation(found.row, 'decrypt', 'decrypt');
      requireUsable(found.row, 'decrypt');
    },
    params: {
      nonce: hex(nonce),
      ciphertextSha256: sha256(ciphertext),
      bytes: ciphertext.length,
      ...aadParams(aad),
    },
    escrowBytes: ciphertext.length + aad.length,
    escrow: () => ({ ciphertext: hex(ciphertext), aad: hex(aad) }),
    run: async (_tx, found, _now, audit) => {
      const { row } = found;
      const decrypt = operation(row, 'decrypt', 'decrypt');
      const plaintext = decrypt(privateKeyOf(core, row), nonce, ciphertext, aad);
      await audit({ bytes: ciphertext.length, aadBytes: aad.length });
      return {
        value: { plaintext, algorithm: row.algorithm, keyId: row.id },
        // Never the plaintext: the caller that executes the request gets it, the store does not.
        result: { key: row.id, algorithm: row.algorithm, bytes: plaintext.length },
      };
    },
  });
}

// ------------------------------------------------------------------ MAC

/** A MAC of the data with an HMAC key (purpose sign, as PKCS#11's CKA_SIGN for MACs). */
export async function macWithKey(
  core: Core,
  partitionName: string,
  label: string,
  data: Uint8Array,
  authority?: Authority,
): Promise<MacResult> {
  checkBytes(data, 'data', SECRET_DATA_LIMIT);
  return await governedUse(core, partitionName, label, authority, {
    action: 'key.mac',
    purpose: 'sign',
    governed: true,
    check: (found) => {
      operation(found.row, 'mac', 'compute a mac');
      requireUsable(found.row, 'sign');
    },
    params: { dataSha256: sha256(data), bytes: data.length },
    escrowBytes: data.length,
    escrow: () => ({ data: hex(data) }),
    run: async (_tx, found, _now, audit) => {
      const { row } = found;
      const mac = operation(row, 'mac', 'compute a mac')(privateKeyOf(core, row), data);
      await audit({ bytes: data.length });
      return {
        value: { mac, algorithm: row.algorithm, keyId: row.id },
        result: { key: row.id, algorithm: row.algorithm, mac: hex(mac) },
      };
    },
  });
}

/**
 * Checks a MAC with an HMAC key (purpose verify), in constant time. Not under the key's use
 * rule: it releases one bit about a tag the caller holds, nothing computed under the key.
 */
export async function verifyMacWithKey(
  core: Core,
  partitionName: string,
  label: string,
  data: Uint8Array,
  mac: Uint8Array,
  authority?: Authority,
): Promise<boolean> {
  checkBytes(data, 'data', SECRET_DATA_LIMIT);
  checkBytes(mac, 'mac', 1024);
  return await governedUse(core, partitionName, label, authority, {
    action: 'key.verify-mac',
    purpose: 'verify',
    governed: false,
    check: (found) => {
      operation(found.row, 'verifyMac', 'check a mac');
      requireUsable(found.row, 'verify');
    },
    params: { dataSha256: sha256(data), bytes: data.length, macSha256: sha256(mac) },
    run: async (_tx, found, _now, audit) => {
      const { row } = found;
      const verify = operation(row, 'verifyMac', 'check a mac');
      const valid = verify(privateKeyOf(core, row), data, mac);
      await audit({ bytes: data.length, valid });
      return { value: valid, result: { key: row.id, valid } };
    },
  });
}

// ------------------------------------------------------------------ wrap, unwrap

/** The key a wrap takes out: extractable AND exportable by the partition's policy, usable. */
function requireWrappable(partition: PartitionRow, row: KeyRow): void {
  if (row.role !== 'user') {
    throw new HsmError('system-key', "a partition's own keys cannot be wrapped", {
      details: { label: row.label },
    });
  }
  if (!parseAttributes(row).extractable) {
    throw new HsmError('key-not-extractable', 'the key to wrap is not extractable', {
      details: { label: row.label },
    });
  }
  if (!toPartitionInfo(partition).policy.exportAllowed) {
    throw new HsmError('policy-export-denied', 'the partition policy does not allow export', {
      details: { partition: partition.name },
    });
  }
  const state = keyState(row);
  if (state === 'invalidated') {
    throw new HsmError('key-invalidated', 'the key to wrap is in the trash', {
      details: { label: row.label },
    });
  }
  if (state === 'blocked') {
    throw new HsmError('key-blocked', 'the key to wrap is blocked', {
      details: { label: row.label },
    });
  }
}

/**
 * Wraps another key of the partition (its encoding: PKCS#8 for a key pair, the raw key for a
 * secret key) under an AES key (purpose wrap), RFC 5649 or RFC 3394. The wrapped key leaves the
 * device as in an export: it must be extractable and the partition's policy must allow export,
 * the key.export quorum rule and its own use rule apply, and it is marked exported for good
 * (never-extractable false). Audited as key.wrap (the AES key) and key.export (the wrapped key).
 */
export async function wrapWithKey(
  core: Core,
  partitionName: string,
  label: string,
  options: WrapOptions,
  authority?: Authority,
): Promise<WrapResult> {
  const mode = modeOf(options.mode);
  checkName('label', options.key);
  let target: KeyRow | undefined;
  const locateTarget = async (r: Parameters<Core['locate']>[0], partition: PartitionRow) => {
    const row = await core.rows.keyByLabel(r, partition.id, options.key);
    if (row === undefined) {
      throw new HsmError('key-not-found', 'no such key in the partition', {
        details: { partition: partition.name, label: options.key },
      });
    }
    return row;
  };
  const first = await core.guard(
    { action: 'key.wrap', details: { partition: partitionName, label } },
    async () => {
      const p = await core.partitionRow(core.store, partitionName);
      const row = await locateTarget(core.store, p);
      requireWrappable(p, row);
      return row;
    },
  );
  return await governedUse(core, partitionName, label, authority, {
    action: 'key.wrap',
    purpose: 'wrap',
    governed: true,
    check: (found) => {
      operation(found.row, 'wrapKey', 'wrap keys');
      requireUsable(found.row, 'wrap');
      if (found.row.label === options.key) {
        throw new HsmError('invalid-argument', 'a key does not wrap itself', {
          details: { label },
        });
      }
    },
    params: {
      targetKey: first.id,
      targetLabel: first.label,
      targetPolicyVersion: parseAttributes(first).policy?.version ?? 0,
      mode,
    },
    other: () => keyRules(first, [KEY_RULE_CLASSES.use]),
    run: async (tx, found, _now, audit) => {
      target = await locateTarget(tx, found.partition);
      if (target.id !== first.id) {
        throw new HsmError('store-busy', 'the key to wrap changed meanwhile; try again', {
          details: { label: options.key },
        });
      }
      requireWrappable(found.partition, target);
      const wrapKey = operation(found.row, 'wrapKey', 'wrap keys');
      const { encoded, publicPart } = unsealRow(core.keys.kek, core.deviceId, target);
      let wrapped: Uint8Array;
      try {
        // Only the key the row names leaves, never a blob swapped in under another key's row.
        if (!bytesEqual(publicPart, publicKeyOf(target))) {
          throw integrityError('key', 'the stored public key is not the sealed key', {
            keyId: target.id,
          });
        }
        wrapped = wrapKey(privateKeyOf(core, found.row), encoded, mode);
      } finally {
        encoded.fill(0);
      }
      await audit({ target: target.id, targetLabel: target.label, mode, bytes: wrapped.length });
      // The wrapped key's own entry: it left the device (never-extractable is false for good).
      const seq = await audit(
        { label: target.label, wrapping: `aes-${mode}`, by: found.row.id },
        target.id,
        'key.export',
      );
      const attributes = parseAttributes(target);
      await compareAndSet(
        tx,
        core.rows.sealKey({
          ...target,
          attributes_json: JSON.stringify({ ...attributes, neverExtractable: false }),
          audit_seq: seq,
        }),
        target,
      );
      return {
        value: { wrapped, mode, keyId: found.row.id, wrappedKeyId: target.id },
        result: { key: found.row.id, wrappedKey: target.id, mode, wrapped: hex(wrapped) },
      };
    },
  });
}

/**
 * Unwraps a key wrapped under an AES key (purpose unwrap) into a new key of the partition: the
 * caller names its label, algorithm (whose mechanism reads the unwrapped encoding), purposes,
 * flags and policy. The key never leaves in plaintext; it is recorded as origin unwrapped (not
 * local, never-extractable false). The partition must be writable and allow import.
 */
export async function unwrapWithKey(
  core: Core,
  partitionName: string,
  label: string,
  options: UnwrapOptions,
  authority?: Authority,
): Promise<KeyInfo> {
  const mode: KeyWrapMode = modeOf(options.mode);
  checkName('label', options.label);
  if (!isHsmAlgorithm(options.algorithm)) {
    throw new HsmError('invalid-argument', 'unsupported key algorithm', {
      details: { algorithm: String(options.algorithm), field: 'algorithm' },
    });
  }
  checkBytes(options.wrapped, 'wrapped key', 64 * 1024);
  checkPurposes(options.purposes ?? []);
  const purposes: readonly KeyPurpose[] = options.purposes ?? defaultPurposes(options.algorithm);
  checkAlgorithmPurposes(options.algorithm, purposes);
  const algorithm = options.algorithm;
  const policy = parseKeyPolicy(options.policy, 1);
  const extractable = options.extractable ?? false;
  const requirePartition = (partition: PartitionRow): void => {
    const p = toPartitionInfo(partition).policy;
    if (p.readOnly) throw new HsmError('policy-read-only', 'the partition is read-only');
    if (!p.importAllowed) {
      throw new HsmError(
        'policy-import-denied',
        'the partition policy does not allow key import (an unwrapped key comes from outside)',
        { details: { partition: partitionName } },
      );
    }
  };
  return await governedUse(core, partitionName, label, authority, {
    action: 'key.unwrap',
    purpose: 'unwrap',
    governed: true,
    check: (found) => {
      operation(found.row, 'unwrapKey', 'unwrap keys');
      requireUsable(found.row, 'unwrap');
      requirePartition(found.partition);
    },
    params: {
      wrappedSha256: sha256(options.wrapped),
      mode,
      newLabel: options.label,
      algorithm,
      purposes: [...purposes],
      extractable,
      ...(policy === undefined ? {} : { policy: canonicalJson(options.policy as JsonValue) }),
    },
    escrowBytes: options.wrapped.length,
    escrow: () => ({ wrapped: hex(options.wrapped) }),
    run: async (tx, found, now, audit) => {
      const { partition, row } = found;
      if (await tx.keys.labelTaken(partition.id, options.label)) {
        throw new HsmError(
          'key-exists',
          'a key with this label exists in the partition (maybe in the trash)',
          { details: { label: options.label } },
        );
      }
      await checkKeyPolicy(core, tx, toPartitionInfo(partition).policy, policy, options.label);
      const unwrapKey = operation(row, 'unwrapKey', 'unwrap keys');
      const encoded = unwrapKey(privateKeyOf(core, row), options.wrapped, mode);
      let key: PrivateKeyHandle;
      let publicPart: Uint8Array;
      try {
        key = loadKey(algorithm, encoded);
        publicPart = publicPartOf(algorithm, key);
      } catch (cause) {
        throw new HsmError('unwrap-failed', `the unwrapped bytes are not a ${algorithm} key`, {
          cause,
          details: { algorithm },
        });
      } finally {
        encoded.fill(0);
      }
      const id = randomUUID();
      const attributes = {
        ...importedAttributes({ extractable, purposes }, 'unwrapped'),
        ...(policy === undefined ? {} : { policy }),
      };
      // One entry, the new key's creation (the AES key's row does not change): which key
      // unwrapped it, and how.
      const seq = await audit(
        { label: options.label, algorithm, by: row.id, byLabel: row.label, mode, extractable },
        id,
      );
      const inserted = await insertKey(core, tx, {
        id,
        partitionId: partition.id,
        label: options.label,
        role: 'user',
        algorithm,
        spki: publicPart,
        attributes,
        privateKey: key,
        now,
        auditSeq: seq,
      });
      return {
        value: toKeyInfo(inserted, partition.name),
        result: { key: row.id, unwrappedKey: id, label: options.label, algorithm },
      };
    },
  });
}

// ------------------------------------------------------------------ approved requests

/**
 * Carries out an approved request of a secret key's use with the data its sealed escrow holds
 * (checked against the digests its statement names by the call itself). A decryption is carried
 * out only by decryptRequest, which hands the plaintext to its caller.
 */
export async function executeSecretUse(
  core: Core,
  requestId: string,
  operationName: string,
  partitionName: string,
  params: Record<string, unknown>,
  authority: Authority,
): Promise<boolean> {
  const text = (v: unknown): string => (typeof v === 'string' ? v : '');
  const label = text(params['label']);
  const keyId = text(params['key']);
  switch (operationName) {
    case 'key.encrypt': {
      const e = await openEscrow(core, requestId, keyId);
      await encryptWithKey(
        core,
        partitionName,
        label,
        { plaintext: escrowBytes(e, 'plaintext'), aad: escrowBytes(e, 'aad') },
        authority,
      );
      return true;
    }
    case 'key.mac': {
      const e = await openEscrow(core, requestId, keyId);
      await macWithKey(core, partitionName, label, escrowBytes(e, 'data'), authority);
      return true;
    }
    case 'key.wrap': {
      const mode = modeOf(params['mode']);
      await wrapWithKey(
        core,
        partitionName,
        label,
        { key: text(params['targetLabel']), mode },
        authority,
      );
      return true;
    }
    case 'key.unwrap': {
      const e = await openEscrow(core, requestId, keyId);
      const purposes = Array.isArray(params['purposes'])
        ? (params['purposes'] as KeyPurpose[])
        : [];
      const policyText = params['policy'];
      await unwrapWithKey(
        core,
        partitionName,
        label,
        {
          wrapped: escrowBytes(e, 'wrapped'),
          mode: modeOf(params['mode']),
          label: text(params['newLabel']),
          algorithm: text(params['algorithm']) as HsmAlgorithm,
          purposes,
          extractable: params['extractable'] === true,
          ...(typeof policyText === 'string'
            ? { policy: JSON.parse(policyText) as KeyPolicyInput }
            : {}),
        },
        authority,
      );
      return true;
    }
    case 'key.decrypt':
      throw new HsmError(
        'invalid-argument',
        'an approved decryption is carried out by decrypting with it (attestamp key decrypt --request ID), which returns the plaintext to its caller only',
        { details: { request: requestId, operation: operationName } },
      );
    default:
      return false;
  }
}

/** Carries out an approved decryption request: the plaintext goes to this caller only. */
export async function decryptRequest(
  core: Core,
  partitionName: string,
  label: string,
  requestId: string,
  authority: Authority,
): Promise<DecryptResult> {
  await core.governance.requireOpenRequest(authority);
  const req = await core.governance.requests.require(core.store, requestId);
  const s = req.body.statement;
  const params = s.params as Record<string, unknown>;
  const partition = await core.partitionRow(core.store, partitionName);
  if (
    s.operation !== 'key.decrypt' ||
    params['label'] !== label ||
    params['partition'] !== partition.id
  ) {
    throw new HsmError('invalid-argument', 'the request is not a decryption with this key', {
      details: { request: requestId, label },
    });
  }
  const e = await openEscrow(core, requestId, String(params['key']));
  return decryptWithKey(
    core,
    partitionName,
    label,
    {
      nonce: new Uint8Array(Buffer.from(String(params['nonce']), 'hex')),
      ciphertext: escrowBytes(e, 'ciphertext'),
      aad: escrowBytes(e, 'aad'),
    },
    authority,
  );
}

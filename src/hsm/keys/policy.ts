// A key's own approval policy (Smart Key Attributes): rules for its use, block, unblock and
// modify in the quorum rule language, part of its authenticated attributes (and so of its
// attestation evidence); blocking and unblocking a key, and changing its policy, under them.
import type { JsonObject, JsonValue } from '../../shared/index.js';
import { governedChange } from '../auth/officers.js';
import type { Core, Operation } from '../core.js';
import { HsmError } from '../errors.js';
import type { Authority, GovernedCall } from '../governance/authorize.js';
import { KEY_RULE_CLASSES, type KeyRuleClass } from '../governance/quorum.js';
import { parseRule, satisfiable } from '../governance/rules.js';
import type { KeyRow, PartitionRow, StoreReader, StoreTx } from '../store/device-store.js';
import {
  KEY_POLICY_OPERATIONS,
  type KeyInfo,
  type KeyPolicy,
  type KeyPolicyInput,
  type KeyPolicyOperation,
  type PartitionPolicy,
} from '../types.js';
import { keyState, parseAttributes, toKeyInfo, toPartitionInfo } from '../views.js';

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads a key policy as a caller gives it: an object with any of use, block, unblock and
 * modify, each a quorum rule (null or absent: none). No rule at all is no policy.
 */
export function parseKeyPolicy(input: unknown, version: number): KeyPolicy | undefined {
  if (input === undefined || input === null) return undefined;
  if (!isRecord(input)) {
    throw new HsmError('quorum-rule-invalid', 'a key policy is a JSON object', {
      details: { field: 'policy' },
    });
  }
  for (const k of Object.keys(input)) {
    if (!(KEY_POLICY_OPERATIONS as readonly string[]).includes(k)) {
      throw new HsmError(
        'quorum-rule-invalid',
        `unknown field in the key policy; its rules are ${KEY_POLICY_OPERATIONS.join(', ')}`,
        { details: { field: `policy.${k.slice(0, 64)}` } },
      );
    }
  }
  const rules: Partial<Record<KeyPolicyOperation, ReturnType<typeof parseRule>>> = {};
  for (const k of KEY_POLICY_OPERATIONS) {
    const v = input[k];
    if (v === undefined || v === null) continue;
    try {
      rules[k] = parseRule(v);
    } catch (error) {
      if (error instanceof HsmError) {
        const inner = error.details?.['field'];
        const field = typeof inner === 'string' ? `.${inner}` : '';
        throw new HsmError('quorum-rule-invalid', `policy.${k}: ${error.message}`, {
          details: { field: `policy.${k}${field}` },
        });
      }
      throw error;
    }
  }
  if (Object.keys(rules).length === 0) return undefined;
  return { version, ...rules };
}

/** The policy as JSON (for statements and the audit log): its rules only, not its version. */
export function keyPolicyJson(policy: KeyPolicy | undefined): JsonObject {
  const out: Record<string, JsonValue> = {};
  for (const k of KEY_POLICY_OPERATIONS) {
    const rule = policy?.[k];
    if (rule !== undefined) out[k] = rule as unknown as JsonValue;
  }
  return out;
}

/**
 * Inside the transaction that stores it: the partition may require a use rule, and every rule
 * must be one that principals with enrolled approver keys can meet (no key locked for good).
 */
export async function checkKeyPolicy(
  core: Core,
  tx: StoreReader,
  partition: PartitionPolicy,
  policy: KeyPolicy | undefined,
  label: string,
): Promise<void> {
  if (partition.keyUseRuleRequired && policy?.use === undefined) {
    throw new HsmError(
      'policy-key-rule-required',
      "the partition's policy requires every key to carry a use rule in its own policy",
      { details: { label, rule: 'use' } },
    );
  }
  if (policy === undefined) return;
  const able = await core.governance.approvers.able(tx);
  for (const k of KEY_POLICY_OPERATIONS) {
    const rule = policy[k];
    if (rule !== undefined && !satisfiable(rule, able)) {
      throw new HsmError(
        'quorum-lockout',
        `no principal with an approver key could meet the key's ${k} rule: refused`,
        { details: { label, rule: k } },
      );
    }
  }
}

/** The key's own rules that guard an operation on it, as a governed call names them. */
export function keyRules(row: KeyRow, classes: readonly KeyRuleClass[]): GovernedCall['keyRules'] {
  return { keyId: row.id, classes };
}

/** A user key of a writable partition (a partition's own keys carry no policy). */
function requireUserKey(row: KeyRow, partition: PartitionRow): void {
  if (row.role !== 'user') {
    throw new HsmError('system-key', "a partition's own keys carry no approval policy", {
      details: { label: row.label },
    });
  }
  if (toPartitionInfo(partition).policy.readOnly) {
    throw new HsmError('policy-read-only', 'the partition is read-only');
  }
}

async function compareAndSet(tx: StoreTx, next: KeyRow, current: KeyRow): Promise<void> {
  if (!(await tx.keys.update(next, current.mac!))) {
    throw new HsmError('store-busy', 'the key changed meanwhile; try again', {
      details: { label: current.label },
    });
  }
}

type Located = { partition: PartitionRow; row: KeyRow };

/**
 * One governed change of a key under its own rule: operator or approved request. `precheck`
 * runs on the key found before a request is made for the change (no approvals are spent on a
 * change that would be refused), and again inside the transaction of the change.
 */
function keyChange<T>(
  core: Core,
  op: Operation,
  partitionName: string,
  label: string,
  authority: Authority | undefined,
  precheck: (r: StoreReader, found: Located) => Promise<void> | void,
  call: (found: Located) => GovernedCall,
  change: (tx: StoreTx, found: Located, now: Date) => Promise<T>,
  result: (value: T) => JsonValue,
): Promise<T> {
  return governedChange(
    core,
    authority,
    (governed) => core.governance.authorizeOperator(authority, op, governed),
    async (r) => {
      const found = await core.locate(r, partitionName, label, op);
      await precheck(r, found);
      return found;
    },
    call,
    change,
    result,
  );
}

/**
 * The exact parameters of a change of one key: its partition, id, label, and the version of
 * its policy (a change made meanwhile makes the call, or its request, void).
 */
export const keyParams = (found: Located): JsonObject => ({
  partition: found.partition.id,
  key: found.row.id,
  label: found.row.label,
  policyVersion: parseAttributes(found.row).policy?.version ?? 0,
});

/**
 * The rules that guard a change of the policy, and the deletion of the key (which lifts every
 * rule at once): its modify rule; without one, every rule it has (use, block and unblock), so
 * that no rule is lifted with fewer approvals than it asks.
 */
export function modifyClasses(policy: KeyPolicy | undefined): KeyRuleClass[] {
  if (policy?.modify !== undefined) return [KEY_RULE_CLASSES.modify];
  return (['use', 'block', 'unblock'] as const)
    .filter((k) => policy?.[k] !== undefined)
    .map((k) => KEY_RULE_CLASSES[k]);
}

/** A user key that can be blocked (is active) or unblocked (is blocked). */
function checkBlockChange(row: KeyRow, partition: PartitionRow, blocked: boolean): void {
  requireUserKey(row, partition);
  const label = row.label;
  const state = keyState(row);
  if (state === 'invalidated') {
    throw new HsmError('key-invalidated', 'the key is in the trash', { details: { label } });
  }
  if (blocked && state === 'blocked') {
    throw new HsmError('key-blocked', 'the key is blocked already', { details: { label } });
  }
  if (!blocked && state !== 'blocked') {
    throw new HsmError('key-not-blocked', 'the key is not blocked', { details: { label } });
  }
}

/**
 * Blocks (or unblocks) a key: a blocked key is kept but does nothing until unblocked, under
 * its policy's block (unblock) rule when it has one.
 */
export function setKeyBlocked(
  core: Core,
  partitionName: string,
  label: string,
  blocked: boolean,
  authority: Authority | undefined,
): Promise<KeyInfo> {
  const action = blocked ? 'key.block' : 'key.unblock';
  const op: Operation = { action, details: { partition: partitionName, label } };
  return core.guard(op, async () => {
    const info = await keyChange(
      core,
      op,
      partitionName,
      label,
      authority,
      (_r, found) => {
        checkBlockChange(found.row, found.partition, blocked);
      },
      (found) => {
        return {
          action,
          partitionId: found.partition.id,
          params: keyParams(found),
          keyRules: keyRules(found.row, [
            blocked ? KEY_RULE_CLASSES.block : KEY_RULE_CLASSES.unblock,
          ]),
        };
      },
      async (tx, { partition, row }, now) => {
        const seq = await core.audit(tx, now, {
          actor: op.actor,
          action,
          partitionId: partition.id,
          keyId: row.id,
          outcome: 'success',
          details: { label },
        });
        const next = core.rows.sealKey({
          ...row,
          attributes_json: JSON.stringify({ ...parseAttributes(row), blocked }),
          audit_seq: seq,
        });
        await compareAndSet(tx, next, row);
        return toKeyInfo(next, partition.name);
      },
      (info) => ({ key: info.id, state: info.state }),
    );
    core.keyCache.delete(info.id);
    return info;
  });
}

/**
 * Replaces a modifiable key's policy, under its modify rule (or, when it has none, its use
 * rule: a policy is never loosened by fewer approvals than it asks for a use).
 */
export function setKeyPolicy(
  core: Core,
  partitionName: string,
  label: string,
  input: KeyPolicyInput | null,
  authority: Authority | undefined,
): Promise<KeyInfo> {
  const op: Operation = { action: 'key.policy', details: { partition: partitionName, label } };
  // Parsed once for the statement; the version is set inside the transaction.
  const requested = parseKeyPolicy(input, 0);
  let version = 0;
  let policy: KeyPolicy | undefined;
  return core.guard(op, async () => {
    const info = await keyChange(
      core,
      op,
      partitionName,
      label,
      authority,
      async (r, { partition, row }) => {
        requireUserKey(row, partition);
        const attributes = parseAttributes(row);
        if (!attributes.modifiable) {
          throw new HsmError(
            'key-not-modifiable',
            'the key was made not modifiable: its policy is fixed',
            { details: { label } },
          );
        }
        if (attributes.blocked === true) {
          throw new HsmError(
            'key-blocked',
            'the key is blocked: unblock it before changing its policy',
            {
              details: { label },
            },
          );
        }
        version = (attributes.policy?.version ?? 0) + 1;
        policy = parseKeyPolicy(input, version);
        await checkKeyPolicy(core, r, toPartitionInfo(partition).policy, policy, label);
      },
      (found) => ({
        action: 'key.policy',
        partitionId: found.partition.id,
        params: { ...keyParams(found), policy: keyPolicyJson(requested) },
        keyRules: keyRules(found.row, modifyClasses(parseAttributes(found.row).policy)),
      }),
      async (tx, { partition, row }, now) => {
        const attributes = parseAttributes(row);
        const seq = await core.audit(tx, now, {
          actor: op.actor,
          action: 'key.policy',
          partitionId: partition.id,
          keyId: row.id,
          outcome: 'success',
          details: { label, version, rules: Object.keys(keyPolicyJson(policy)).join(' ') },
        });
        const next = core.rows.sealKey({
          ...row,
          // A cleared policy still counts its version: a request made under an older one
          // can never execute.
          attributes_json: JSON.stringify({ ...attributes, policy: policy ?? { version } }),
          audit_seq: seq,
        });
        await compareAndSet(tx, next, row);
        return toKeyInfo(next, partition.name);
      },
      (info) => ({ key: info.id, policyVersion: info.attributes.policy?.version ?? 0 }),
    );
    // A signer made before must see the new policy at once in this process.
    core.keyCache.delete(info.id);
    return info;
  });
}

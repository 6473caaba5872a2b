// Quorum rules as stored: one per scope (the device, or a partition) and operation class,
// versioned (every change bumps the version, a cleared rule keeps its row with rule null), with
// the digest of its canonical JSON that request statements name.
import { createHash } from 'node:crypto';
import type { JsonObject, JsonValue } from '../../shared/index.js';
import { canonicalJson } from './canonical-json.js';
import type { StoreReader, StoreTx } from '../store/device-store.js';
import type { GovernanceObject, GovernanceObjects } from './objects.js';
import type { OperationClass } from './roles.js';
import type { QuorumRule } from './rules.js';
import type { RuleRef } from './statement.js';
import type { KeyPolicy, KeyPolicyOperation } from '../types.js';

export interface RuleBody extends JsonObject {
  readonly scope: string;
  readonly operation: OperationClass;
  readonly version: number;
  /** The rule; null when cleared (the class then needs one authorised officer only). */
  readonly rule: JsonValue;
  readonly digest: string;
  readonly setAt: string;
}

export const ruleId = (scope: string, operation: OperationClass): string => `${scope}/${operation}`;

export function ruleDigest(rule: QuorumRule | null): string {
  return rule === null
    ? 'none'
    : createHash('sha256')
        .update(canonicalJson(rule as unknown as JsonObject))
        .digest('hex');
}

/** A rule in force: its reference (for statements) and content. */
export interface RuleInForce {
  readonly ref: RuleRef;
  readonly rule: QuorumRule | null;
  readonly stored: GovernanceObject<RuleBody> | undefined;
}

/** The classes of a key's own rules, as rule references name them (scope `key:<id>`). */
export const KEY_RULE_CLASSES = {
  use: 'key.use',
  block: 'key.block',
  unblock: 'key.unblock',
  modify: 'key.modify',
} as const satisfies Record<KeyPolicyOperation, string>;
export type KeyRuleClass = (typeof KEY_RULE_CLASSES)[KeyPolicyOperation];

export const keyScope = (keyId: string): string => `key:${keyId}`;

/** Reads a key's policy from its authenticated row; undefined when the key is gone. */
export type KeyPolicyReader = (
  r: StoreReader,
  keyId: string,
) => Promise<{ policy: KeyPolicy | undefined } | undefined>;

export class QuorumRules {
  constructor(
    private readonly objects: GovernanceObjects,
    private readonly keyPolicy: KeyPolicyReader,
  ) {}

  /**
   * A key's own rule (scope `key:<id>`): from the policy in its authenticated attributes, at the
   * policy's version. A key that is gone has version -1: a request naming its rule can never
   * execute.
   */
  private async keyRule(r: StoreReader, scope: string, operation: string): Promise<RuleInForce> {
    const found = await this.keyPolicy(r, scope.slice(4));
    const which = (Object.keys(KEY_RULE_CLASSES) as KeyPolicyOperation[]).find(
      (k) => KEY_RULE_CLASSES[k] === operation,
    );
    const rule = (which === undefined ? undefined : found?.policy?.[which]) ?? null;
    return {
      ref: {
        scope,
        operation,
        version: found === undefined ? -1 : (found.policy?.version ?? 0),
        digest: ruleDigest(rule),
      },
      rule,
      stored: undefined,
    };
  }

  /** The rule for the class in the scope (version 0, no rule, when never set). */
  async get(
    r: StoreReader,
    scope: string,
    operation: OperationClass | KeyRuleClass,
  ): Promise<RuleInForce> {
    if (scope.startsWith('key:')) return this.keyRule(r, scope, operation);
    const stored = await this.objects.get<RuleBody>(
      r,
      'rule',
      ruleId(scope, operation as OperationClass),
    );
    const rule = (stored?.body.rule ?? null) as QuorumRule | null;
    return {
      ref: {
        scope,
        operation,
        version: stored?.body.version ?? 0,
        digest: stored?.body.digest ?? 'none',
      },
      rule,
      stored,
    };
  }

  /** Every rule set in the scope (or everywhere). */
  async list(r: StoreReader, scope?: string): Promise<GovernanceObject<RuleBody>[]> {
    return this.objects.list<RuleBody>(r, 'rule', scope);
  }

  /** Replaces the rule (inside `tx`), one version up. */
  async set(
    tx: StoreTx,
    at: Date,
    current: RuleInForce,
    rule: QuorumRule | null,
    actor: string | undefined,
    partitionId: string | undefined,
  ): Promise<RuleBody> {
    const body: RuleBody = {
      scope: current.ref.scope,
      operation: current.ref.operation as OperationClass,
      version: current.ref.version + 1,
      rule: rule as unknown as JsonValue,
      digest: ruleDigest(rule),
      setAt: at.toISOString(),
    };
    await this.objects.put<RuleBody>(
      tx,
      at,
      'rule',
      ruleId(current.ref.scope, current.ref.operation as OperationClass),
      current.ref.scope,
      body,
      {
        action: 'quorum.set',
        actor,
        partitionId,
        details: {
          scope: body.scope,
          operation: body.operation,
          version: body.version,
          digest: body.digest,
        },
      },
      current.stored,
    );
    return body;
  }
}

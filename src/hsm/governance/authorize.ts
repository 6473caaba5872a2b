// Authorisation of governed operations: an officer's session (passphrase) in a role, in scope,
// not excluded, where no quorum rule guards the operation; or an approval request whose rules
// are met, executed once in the transaction of the effect. Every refusal names the rule that
// failed: the role and scope needed, the exclusion, or the quorum rule and its version. A
// principal authenticated outside the HSM (presented.ts) is checked against the same table.
import type { JsonObject, JsonValue } from '../../shared/index.js';
import { requireOfficer, requireSameOfficer } from '../auth/officers.js';
import type { Core, Operation } from '../core.js';
import { HsmError } from '../errors.js';
import type { StoreReader, StoreTx } from '../store/device-store.js';
import type { OfficerCredential } from '../types.js';
import { ApproverKeys } from './approvers.js';
import { GovernanceObjects } from './objects.js';
import { keyScope, QuorumRules, type KeyRuleClass, type RuleInForce } from './quorum.js';
import { parseAttributes } from '../views.js';
import {
  checkPresented,
  presentedRole,
  type PresentedAuthority,
  type PresentedPrincipal,
} from './presented.js';
import { ApprovalRequests, type RequestBody } from './requests.js';
import { requestBytes } from './statement.js';
import {
  GOVERNED,
  partitionScope,
  Roles,
  type Governed,
  type OperationClass,
  type Role,
} from './roles.js';
import type { GovernanceObject } from './objects.js';
import type { JsonObject as Body } from '../../shared/index.js';

/**
 * An approved request; `presented` is the executing caller's verified credential when the
 * caller is the request's requester (whose roles are then re-checked from it, not the table).
 */
export interface RequestAuthority {
  readonly request: string;
  readonly presented?: PresentedPrincipal | undefined;
}

/**
 * Who asks: an officer with a session credential, an approved request, or a principal whose
 * credential the REST API verified (roles and scope from that credential).
 */
export type Authority = OfficerCredential | RequestAuthority | PresentedAuthority;

export const isRequestAuthority = (a: Authority): a is RequestAuthority => 'request' in a;

export const isPresentedAuthority = (a: Authority): a is PresentedAuthority =>
  'presented' in a && !('request' in a);

/** What an authorised operation does inside its transaction: check first, close after. */
export interface Grant {
  /** The principal acting (the officer, or the request's requester). */
  readonly principal: string;
  /** Re-checks everything the grant rests on, inside the transaction of the effect. */
  check(tx: StoreTx, at: Date): Promise<void>;
  /** After the effect, in the same transaction: closes the request as executed. */
  done(tx: StoreTx, at: Date, result: JsonValue): Promise<void>;
}

export interface PartitionGovernanceBody extends Body {
  readonly partition: string;
  readonly soExcluded: boolean;
  readonly at: string;
}

/** Where the operation acts and with what exact parameters (what a request must name). */
export interface GovernedCall {
  readonly action: string;
  readonly partitionId?: string | undefined;
  readonly params: JsonObject;
  /** Further classes whose rules must be met too (a rule change: the rule it changes). */
  readonly alsoClasses?: readonly OperationClass[];
  /**
   * Kept with a request made for the call, outside its statement (which names its SHA-256 in
   * the parameters): what the execution needs but approvers must not read.
   */
  readonly escrow?: JsonObject;
  /** A key's own rules that must be met too (its approval policy), read from its row. */
  readonly keyRules?: { readonly keyId: string; readonly classes: readonly KeyRuleClass[] };
  /** The rules of a second key the call uses (the key a wrap takes out of the device). */
  readonly otherKeyRules?: { readonly keyId: string; readonly classes: readonly KeyRuleClass[] };
}

/** How a request's statement is signed: the device key, or a partition's attestation key. */
export type StatementSigner = (scope: { partitionId?: string | undefined }) => Promise<{
  kind: RequestBody['signer'];
  sign: (bytes: Uint8Array) => Promise<Uint8Array>;
}>;

export class GovernanceCore {
  /** Set by the facade: signs the statements of new requests. */
  signer: StatementSigner | undefined;

  readonly objects: GovernanceObjects;
  readonly roles: Roles;
  readonly approvers: ApproverKeys;
  readonly quorum: QuorumRules;
  readonly requests: ApprovalRequests;

  constructor(private readonly core: Core) {
    this.objects = new GovernanceObjects(core);
    this.roles = new Roles(this.objects);
    this.approvers = new ApproverKeys(core, this.objects);
    this.quorum = new QuorumRules(this.objects, async (r, keyId) => {
      const row = await core.rows.keyById(r, keyId);
      return row === undefined ? undefined : { policy: parseAttributes(row).policy };
    });
    this.requests = new ApprovalRequests(
      core,
      this.objects,
      this.roles,
      this.approvers,
      this.quorum,
    );
  }

  governed(action: string): Governed {
    const g = GOVERNED[action];
    if (g === undefined) throw new Error(`no governance entry for ${action}`);
    return g;
  }

  scopeOf(g: Governed, partitionId: string | undefined): string {
    if (g.scope === 'device') return 'device';
    if (partitionId === undefined) throw new Error('a partition operation without a partition');
    return partitionScope(partitionId);
  }

  async partitionGovernance(
    r: StoreReader,
    partitionId: string,
  ): Promise<GovernanceObject<PartitionGovernanceBody> | undefined> {
    return this.objects.get<PartitionGovernanceBody>(r, 'partition-governance', partitionId);
  }

  async soExcluded(r: StoreReader, partitionId: string): Promise<boolean> {
    return (await this.partitionGovernance(r, partitionId))?.body.soExcluded === true;
  }

  /** The rules in force for the call: its class's rule in its scope, and any further ones. */
  async rulesFor(r: StoreReader, call: GovernedCall): Promise<RuleInForce[]> {
    const g = this.governed(call.action);
    const scope = this.scopeOf(g, call.partitionId);
    const classes = [...(g.class === undefined ? [] : [g.class]), ...(call.alsoClasses ?? [])];
    const keys = [call.keyRules, call.otherKeyRules].filter((k) => k !== undefined);
    return Promise.all([
      ...classes.map((c) => this.quorum.get(r, scope, c)),
      ...keys.flatMap((own) => own.classes.map((c) => this.quorum.get(r, keyScope(own.keyId), c))),
    ]);
  }

  /** The name of the partition a presented principal's scope is checked by (device: none). */
  private async presentedPartition(
    r: StoreReader,
    g: Governed,
    partitionId: string | undefined,
  ): Promise<string | undefined> {
    if (g.scope === 'device' || partitionId === undefined) return undefined;
    const row = await this.core.rows.partitionById(r, partitionId);
    if (row === undefined) {
      throw new HsmError('partition-not-found', 'no such partition', { details: { partitionId } });
    }
    return row.name;
  }

  /**
   * The principal's role check in the call's scope, with the exclusion rule: from the role
   * table, or from the presented credential when there is one.
   */
  async requireRole(
    r: StoreReader,
    principal: string,
    call: GovernedCall,
    presented?: PresentedPrincipal,
  ): Promise<void> {
    const g = this.governed(call.action);
    const scope = this.scopeOf(g, call.partitionId);
    const partition =
      presented === undefined ? undefined : await this.presentedPartition(r, g, call.partitionId);
    const holds = async (roles: readonly Role[]): Promise<Role | undefined> =>
      presented === undefined
        ? this.roles.holds(r, principal, roles, scope)
        : presentedRole(presented, roles, partition);
    const role = await holds(g.roles);
    if (role === undefined) {
      throw new HsmError(
        'role-required',
        `${call.action} needs the role ${g.roles.join(' or ')} in ${scope}`,
        {
          details: { operation: call.action, needs: g.roles.join('|'), scope, principal },
        },
      );
    }
    if (
      role === 'device-so' &&
      call.partitionId !== undefined &&
      g.excludedSo !== true &&
      (await this.soExcluded(r, call.partitionId)) &&
      (await holds(['pso'])) === undefined
    ) {
      throw new HsmError(
        'so-excluded',
        "the partition's security officers excluded the device security officer from it",
        { details: { operation: call.action, scope, principal } },
      );
    }
  }

  /**
   * A guarded call does not run: it becomes an approval request, made here (signed, logged),
   * and the call is refused with approval-required naming the request.
   */
  private async requireNoRule(
    r: StoreReader,
    call: GovernedCall,
    requester?: string,
  ): Promise<void> {
    const rules = await this.rulesFor(r, call);
    const inForce = rules.flatMap((x) => (x.rule === null ? [] : [{ ref: x.ref, rule: x.rule }]));
    const first = inForce[0];
    if (first === undefined) return;
    if (requester !== undefined) {
      const req = await this.createRequest(call, requester);
      throw new HsmError(
        'approval-required',
        `${call.action} is guarded by the quorum rule ${first.ref.scope}/${first.ref.operation} (version ${first.ref.version}): approval request ${req.id} was made`,
        {
          details: {
            operation: call.action,
            rule: `${first.ref.scope}/${first.ref.operation}`,
            version: first.ref.version,
            request: req.id,
          },
        },
      );
    }
    for (const rule of rules) {
      if (rule.rule !== null) {
        throw new HsmError(
          'approval-required',
          `${call.action} is guarded by the quorum rule ${rule.ref.scope}/${rule.ref.operation} (version ${rule.ref.version}): make an approval request`,
          {
            details: {
              operation: call.action,
              rule: `${rule.ref.scope}/${rule.ref.operation}`,
              version: rule.ref.version,
            },
          },
        );
      }
    }
  }

  /**
   * Authorises an officer's or a request's call: proves the credential (outside any
   * transaction: scrypt is slow), and returns the grant to re-check inside the transaction.
   */
  async authorize(
    authority: Authority | undefined,
    op: Operation,
    call: GovernedCall,
  ): Promise<Grant> {
    if (authority !== undefined && isRequestAuthority(authority)) {
      return this.requestGrant(authority, op, call);
    }
    if (authority !== undefined && isPresentedAuthority(authority)) {
      return this.presentedGrant(authority.presented, op, call);
    }
    const proven = await requireOfficer(this.core, authority, op);
    await this.requireRole(this.core.store, proven.name, call);
    await this.requireNoRule(this.core.store, call, proven.name);
    return {
      principal: proven.name,
      check: async (tx) => {
        await requireSameOfficer(this.core, tx, proven);
        await this.requireRole(tx, proven.name, call);
        await this.requireNoRule(tx, call);
      },
      done: () => Promise.resolve(),
    };
  }

  /**
   * For a request's execution: refused with request-closed when it is closed already (a
   * concurrent execution won), so that this is what the loser of a race is told.
   */
  async requireOpenRequest(authority: Authority | undefined): Promise<void> {
    if (authority === undefined || !isRequestAuthority(authority)) return;
    const req = await this.requests.require(this.core.store, authority.request);
    if (req.body.state !== 'pending') {
      throw new HsmError('request-closed', `the request is ${req.body.state}`, {
        details: { request: authority.request, state: req.body.state },
      });
    }
  }

  /**
   * A presented principal: its role from its credential, in scope, not excluded; a guarded call
   * becomes an approval request it is the requester of. Re-checked in the transaction.
   */
  private async presentedGrant(
    presented: PresentedPrincipal,
    op: Operation,
    call: GovernedCall,
  ): Promise<Grant> {
    checkPresented(presented);
    const name = presented.principal;
    op.actor = name;
    op.details = { ...op.details, via: presented.via };
    await this.requireRole(this.core.store, name, call, presented);
    await this.requireNoRule(this.core.store, call, name);
    return {
      principal: name,
      check: async (tx) => {
        await this.requireRole(tx, name, call, presented);
        await this.requireNoRule(tx, call);
      },
      done: () => Promise.resolve(),
    };
  }

  /** A principal acting on itself (its own approver keys): its session, no role or rule. */
  async authorizeSelf(credential: OfficerCredential, op: Operation): Promise<Grant> {
    const proven = await requireOfficer(this.core, credential, op);
    return {
      principal: proven.name,
      check: (tx) => requireSameOfficer(this.core, tx, proven),
      done: () => Promise.resolve(),
    };
  }

  /**
   * The local operator (who holds the master key) acts without a role, as before governance;
   * a quorum rule on the operation's class still applies to them.
   */
  async authorizeOperator(
    authority: Authority | undefined,
    op: Operation,
    call: GovernedCall,
  ): Promise<Grant> {
    if (authority !== undefined && isRequestAuthority(authority)) {
      return this.requestGrant(authority, op, call);
    }
    // A presented principal is not the local operator: it needs its role.
    if (authority !== undefined && isPresentedAuthority(authority)) {
      return this.presentedGrant(authority.presented, op, call);
    }
    await this.requireNoRule(this.core.store, call, this.core.actor);
    return {
      principal: this.core.actor,
      check: (tx) => this.requireNoRule(tx, call),
      done: () => Promise.resolve(),
    };
  }

  /** Makes the approval request of a guarded call, signed, in its own transaction. */
  async createRequest(
    call: GovernedCall,
    requester: string,
  ): Promise<GovernanceObject<RequestBody>> {
    if (this.signer === undefined) throw new Error('no statement signer');
    const g = this.governed(call.action);
    const signer = await this.signer({ partitionId: call.partitionId });
    const at = this.core.clock.now();
    const rules = await this.rulesFor(this.core.store, call);
    const inForce = rules.flatMap((r) => (r.rule === null ? [] : [{ ref: r.ref, rule: r.rule }]));
    const statement = await this.requests.prepare(
      this.core.store,
      at,
      {
        operation: call.action,
        params: call.params,
        scope: this.scopeOf(g, call.partitionId),
        target: call.partitionId === undefined ? null : `partition:${call.partitionId}`,
        rules: inForce,
      },
      requester,
    );
    const signature = await signer.sign(requestBytes(statement));
    return this.core.store.tx((tx) =>
      this.requests.store(
        tx,
        at,
        statement,
        { kind: signer.kind, signature },
        call.partitionId,
        call.escrow,
      ),
    );
  }

  private async requestGrant(
    authority: RequestAuthority,
    op: Operation,
    call: GovernedCall,
  ): Promise<Grant> {
    if (authority.presented !== undefined) checkPresented(authority.presented);
    const id = authority.request;
    const req = await this.requests.require(this.core.store, id);
    const requester = req.body.statement.requester;
    // The requester's roles come from its own credential when it executes the request itself.
    const presented =
      authority.presented?.principal === requester ? authority.presented : undefined;
    op.actor = requester;
    op.details = { ...op.details, request: id };
    let approved: GovernanceObject<RequestBody> | undefined;
    return {
      principal: requester,
      check: async (tx, at) => {
        approved = await this.requests.approved(tx, at, id, {
          operation: call.action,
          params: call.params,
        });
        if (requester !== this.core.actor || presented !== undefined) {
          await this.requireRole(tx, requester, call, presented);
        }
      },
      done: async (tx, at, result) => {
        if (approved === undefined) throw new Error('done() before check()');
        await this.requests.executed(tx, at, approved, result, requester);
      },
    };
  }
}

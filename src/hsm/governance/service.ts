// Governance operations: officers and roles, approver keys, quorum rules, partition SO
// exclusion, and approval requests (make, decide, cancel, show). Each change is authorised
// (authorize.ts), re-checked and made in one transaction with its audit entry.
import type { JsonObject, JsonValue } from '../../shared/index.js';
import type { Core, Operation } from '../core.js';
import { HsmError } from '../errors.js';
import type { ScryptParams } from '../master-key.js';
import { hashCredential, type StoredCredential } from '../roles.js';
import type { StoreReader } from '../store/device-store.js';
import type { OfficerCredential } from '../types.js';
import { enrollmentChallenge, type ApproverKeyBody } from './approvers.js';
import {
  type GovernanceCore,
  type StatementSigner,
  type Authority,
  type GovernedCall,
  type PartitionGovernanceBody,
} from './authorize.js';
import type { GovernanceObject } from './objects.js';
import { KEY_RULE_CLASSES, type KeyRuleClass, type RuleBody } from './quorum.js';
import { checkPresented, presentedRole, type PresentedAuthority } from './presented.js';
import {
  escrowDigest,
  escrowOf,
  SnapshotReads,
  withoutEscrow,
  type ApprovalBody,
  type RequestBody,
  type RequestEvaluation,
} from './requests.js';
import {
  checkPrincipalName,
  checkRole,
  OPERATION_CLASSES,
  partitionScope,
  type OperationClass,
  type PrincipalBody,
  type PrincipalType,
  type Role,
  type RoleBody,
} from './roles.js';
import { parseRule, satisfiable, type QuorumRule } from './rules.js';
import type { ApprovalDecision } from './statement.js';

export interface RequestView {
  readonly id: string;
  readonly body: RequestBody;
  readonly approvals: readonly ApprovalBody[];
  readonly evaluation: RequestEvaluation;
}

/** A principal as listed: its kind and state, its active roles, its usable approver keys. */
export interface OfficerView {
  readonly name: string;
  readonly type: PrincipalType;
  readonly state: PrincipalBody['state'];
  readonly createdAt: string;
  /** Active roles; partition is the partition's name, null for the device. */
  readonly roles: readonly { readonly role: Role; readonly partition: string | null }[];
  /** Approver keys not revoked. */
  readonly approverKeys: number;
}

export function checkOperationClass(name: string): OperationClass {
  if (!(OPERATION_CLASSES as readonly string[]).includes(name)) {
    throw new HsmError(
      'invalid-argument',
      `unknown operation class; classes are ${OPERATION_CLASSES.join(', ')}`,
      {
        details: { field: 'operation' },
      },
    );
  }
  return name as OperationClass;
}

export class Governance {
  readonly gov: GovernanceCore;

  constructor(
    private readonly core: Core,
    signer: StatementSigner,
  ) {
    this.gov = core.governance;
    this.gov.signer = signer;
  }

  private partitionIdOf = async (
    r: StoreReader,
    name: string | undefined,
  ): Promise<string | undefined> =>
    name === undefined ? undefined : (await this.core.partitionRow(r, name)).id;

  /** Runs a governed change: authorise, then check, effect and close in one transaction. */
  private async run<T extends JsonValue | undefined>(
    op: Operation,
    authority: Authority | undefined,
    call: GovernedCall,
    effect: (
      tx: Parameters<Parameters<Core['store']['tx']>[0]>[0],
      at: Date,
      principal: string,
    ) => Promise<T>,
    self?: string,
  ): Promise<T> {
    return this.core.guard(op, async () => {
      const grant =
        self !== undefined &&
        authority !== undefined &&
        'passphrase' in authority &&
        authority.name === self
          ? await this.gov.authorizeSelf(authority, op)
          : await this.gov.authorize(authority, op, call);
      const at = this.core.clock.now();
      return this.core.store.tx(async (tx) => {
        await grant.check(tx, at);
        const result = await effect(tx, at, grant.principal);
        await grant.done(tx, at, result ?? null);
        return result;
      });
    });
  }

  // ------------------------------------------------------------- officers and roles

  /**
   * Enrols an officer (a person with a session passphrase) with roles. Under an
   * officers.change rule this makes a request whose statement names the officer, the roles and
   * the SHA-256 of the credential verifier (scrypt parameters and hash), the verifier itself
   * kept with the request where approvers do not see it; approved, the request enrols exactly
   * that officer.
   */
  async addOfficer(
    officer: OfficerCredential,
    roles: readonly { role: string; partition?: string | undefined }[],
    authority: Authority | undefined,
  ): Promise<void> {
    if (officer.passphrase.length < 8) {
      throw new HsmError('invalid-argument', 'officer passphrase must have at least 8 characters', {
        details: { field: 'passphrase' },
      });
    }
    checkPrincipalName(officer.name);
    const stored = hashCredential(officer.name, officer.passphrase);
    const grants: { role: Role; partition: string | undefined }[] = [];
    for (const g of roles) {
      const pid = await this.partitionIdOf(this.core.store, g.partition);
      grants.push({
        role: checkRole(g.role, pid === undefined ? 'device' : partitionScope(pid)),
        partition: pid,
      });
    }
    await this.enrolOfficer(stored, grants, authority);
  }

  /** Carries out an approved officer.add request with the verifier kept in its escrow. */
  async addOfficerFromRequest(id: string): Promise<void> {
    const req = await this.gov.requests.require(this.core.store, id);
    const p = req.body.statement.params as Record<string, unknown>;
    const e = escrowOf(req.body);
    const bad = () =>
      new HsmError(
        'request-not-approved',
        'the request does not hold the officer credential it names',
        {
          details: { request: id },
        },
      );
    if (e === undefined || escrowDigest(e) !== p['credential']) throw bad();
    const params = e['params'] as unknown as ScryptParams;
    const name = e['name'];
    const hash = e['hash'];
    if (typeof name !== 'string' || typeof hash !== 'string' || name !== p['officer']) throw bad();
    const roles = Array.isArray(p['roles']) ? (p['roles'] as unknown[]) : [];
    const grants = roles.map((g) => {
      const r = g as { role?: unknown; partition?: unknown };
      const pid = typeof r.partition === 'string' ? r.partition : undefined;
      return {
        role: checkRole(String(r.role), pid === undefined ? 'device' : partitionScope(pid)),
        partition: pid,
      };
    });
    await this.enrolOfficer(
      { name, params, hash: new Uint8Array(Buffer.from(hash, 'hex')) },
      grants,
      { request: id },
    );
  }

  private async enrolOfficer(
    stored: StoredCredential,
    grants: readonly { role: Role; partition: string | undefined }[],
    authority: Authority | undefined,
  ): Promise<void> {
    const escrow = {
      name: stored.name,
      params: stored.params as unknown as JsonObject,
      hash: Buffer.from(stored.hash).toString('hex'),
    };
    const op: Operation = { action: 'officer.add', details: { officer: stored.name } };
    await this.run(
      op,
      authority,
      {
        action: 'officer.add',
        params: {
          officer: stored.name,
          roles: grants.map((g) => ({ role: g.role, partition: g.partition ?? null })),
          credential: escrowDigest(escrow),
        },
        escrow,
      },
      async (tx, at, principal) => {
        if ((await tx.officers.byName(stored.name)) !== undefined) {
          throw new HsmError('invalid-argument', 'an officer of that name exists', {
            details: { field: 'officer' },
          });
        }
        await this.gov.roles.addPrincipal(tx, at, stored.name, 'officer', principal);
        await this.core.audit(tx, at, {
          actor: principal,
          action: 'officer.enrol',
          outcome: 'success',
          details: { officer: stored.name },
        });
        await tx.officers.insert(
          this.core.rows.sealOfficer({
            name: stored.name,
            params_json: JSON.stringify(stored.params),
            hash: Buffer.from(stored.hash),
            created_at: at.toISOString(),
          }),
        );
        for (const g of grants) {
          await this.gov.roles.grant(
            tx,
            at,
            stored.name,
            g.role,
            g.partition === undefined ? 'device' : partitionScope(g.partition),
            principal,
          );
        }
        return undefined;
      },
    );
  }

  /**
   * The principals with their active roles and the number of their usable approver keys; with
   * a partition, only the principals holding a role there, with their roles there. Every row
   * read is authenticated (a forged role or principal is an integrity failure).
   */
  async officers(partition?: string): Promise<OfficerView[]> {
    const op: Operation = {
      action: 'officer.list',
      ...(partition === undefined ? {} : { details: { partition } }),
    };
    return this.core.guard(op, async () =>
      this.core.store.snapshot(async (r) => {
        const pid = await this.partitionIdOf(r, partition);
        const names = new Map(
          (await this.core.rows.allPartitions(r)).map((p) => [partitionScope(p.id), p.name]),
        );
        const roles = (await this.gov.objects.list<RoleBody>(r, 'role'))
          .map((o) => o.body)
          .filter((b) => b.state === 'active')
          .filter((b) => pid === undefined || b.scope === partitionScope(pid));
        const keys = (await this.gov.objects.list<ApproverKeyBody>(r, 'approver-key')).filter(
          (k) => k.body.revokedAt === null,
        );
        const out: OfficerView[] = [];
        for (const p of await this.gov.objects.list<PrincipalBody>(r, 'principal')) {
          const mine = roles.filter((b) => b.principal === p.body.name);
          if (pid !== undefined && mine.length === 0) continue;
          out.push({
            name: p.body.name,
            type: p.body.type,
            state: p.body.state,
            createdAt: p.body.createdAt,
            roles: mine.map((b) => ({
              role: b.role,
              // A role in a partition that is gone names it by id.
              partition:
                b.scope === 'device' ? null : (names.get(b.scope) ?? `#${b.scope.slice(10)}`),
            })),
            approverKeys: keys.filter((k) => k.body.principal === p.body.name).length,
          });
        }
        return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      }),
    );
  }

  /** Grants a role (device scope, or a partition's). */
  grantRole(
    principal: string,
    role: string,
    partition: string | undefined,
    authority: Authority | undefined,
  ): Promise<void> {
    return this.changeRole('grant', principal, role, partition, authority);
  }

  /** Revokes a role (approver keys, not roles, decide whether a rule can still be met). */
  revokeRole(
    principal: string,
    role: string,
    partition: string | undefined,
    authority: Authority | undefined,
  ): Promise<void> {
    return this.changeRole('revoke', principal, role, partition, authority);
  }

  private async changeRole(
    change: 'grant' | 'revoke',
    principal: string,
    role: string,
    partition: string | undefined,
    authority: Authority | undefined,
  ): Promise<void> {
    const pid = await this.partitionIdOf(this.core.store, partition);
    const scope = pid === undefined ? 'device' : partitionScope(pid);
    const r = checkRole(role, scope);
    const action = pid === undefined ? `role.${change}` : `role.${change}.partition`;
    const op: Operation = {
      action: `role.${change}`,
      partitionId: pid,
      details: { principal, role: r, scope },
    };
    await this.run(
      op,
      authority,
      { action, partitionId: pid, params: { principal, role: r, scope } },
      async (tx, at, by) => {
        await this.gov.roles[change](tx, at, principal, r, scope, by);
        return undefined;
      },
    );
  }

  // ------------------------------------------------------------- approver keys

  /** The bytes to sign (with the key to enrol) as proof of possession. */
  enrollmentChallenge(principal: string, spki: Uint8Array): Uint8Array {
    return enrollmentChallenge(this.core, principal, spki);
  }

  /** Enrols an approver key: by the principal's own session, or by a device SO. */
  async enrollApprover(
    principal: string,
    spki: Uint8Array,
    proof: Uint8Array,
    authority: Authority | undefined,
  ): Promise<string> {
    const op: Operation = { action: 'approver.enroll', details: { principal } };
    const key = await this.run(
      op,
      authority,
      {
        action: 'approver.enroll',
        params: {
          principal,
          spki: Buffer.from(spki).toString('hex'),
          proof: Buffer.from(proof).toString('hex'),
        },
      },
      async (tx, at, by) => {
        if ((await this.gov.roles.principal(tx, principal))?.body.state !== 'active') {
          throw new HsmError('invalid-argument', 'no active principal of that name', {
            details: { field: 'principal' },
          });
        }
        return (await this.gov.approvers.enroll(tx, at, principal, spki, proof, by)).id;
      },
      principal,
    );
    return key;
  }

  /** Revokes an approver key; refused when a rule would then be unreachable. */
  async revokeApprover(fingerprint: string, authority: Authority | undefined): Promise<void> {
    const existing = await this.gov.approvers.get(this.core.store, fingerprint);
    const op: Operation = { action: 'approver.revoke', details: { key: fingerprint.slice(0, 64) } };
    await this.run(
      op,
      authority,
      { action: 'approver.revoke', params: { key: fingerprint } },
      async (tx, at, by) => {
        await this.gov.approvers.revoke(tx, at, fingerprint, by);
        await this.requireNoLockout(tx);
        return undefined;
      },
      existing?.body.principal,
    );
  }

  async approverKeys(principal?: string): Promise<GovernanceObject<ApproverKeyBody>[]> {
    const all = await this.gov.objects.list<ApproverKeyBody>(this.core.store, 'approver-key');
    return principal === undefined ? all : all.filter((k) => k.body.principal === principal);
  }

  /** Every rule set must stay reachable by principals with a usable approver key. */
  private async requireNoLockout(r: StoreReader): Promise<void> {
    const able = await this.gov.approvers.able(r);
    for (const stored of await this.gov.quorum.list(r)) {
      const rule = stored.body.rule as QuorumRule | null;
      if (rule !== null && !satisfiable(rule, able)) {
        throw new HsmError(
          'quorum-lockout',
          `the rule ${stored.id} could no longer be met by anyone: refused`,
          {
            details: { rule: stored.id, version: stored.body.version },
          },
        );
      }
    }
  }

  // ------------------------------------------------------------- quorum rules

  async rule(
    partition: string | undefined,
    operation: string,
  ): Promise<{ version: number; rule: QuorumRule | null; digest: string }> {
    const pid = await this.partitionIdOf(this.core.store, partition);
    const r = await this.gov.quorum.get(
      this.core.store,
      pid === undefined ? 'device' : partitionScope(pid),
      checkOperationClass(operation),
    );
    return { version: r.ref.version, rule: r.rule, digest: r.ref.digest };
  }

  /**
   * The rule a request's reference names, as it is now: a scope (device, partition:<id> or a
   * key's key:<id>) and an operation class (a quorum class, or key.use and the other key rules).
   */
  async ruleAt(
    scope: string,
    operation: string,
  ): Promise<{ version: number; rule: QuorumRule | null; digest: string }> {
    const keyClasses = Object.values(KEY_RULE_CLASSES) as string[];
    const cls = scope.startsWith('key:')
      ? keyClasses.includes(operation)
        ? (operation as KeyRuleClass)
        : undefined
      : checkOperationClass(operation);
    if (cls === undefined) {
      throw new HsmError('invalid-argument', 'unknown key rule', {
        details: { field: 'operation' },
      });
    }
    const r = await this.gov.quorum.get(this.core.store, scope, cls);
    return { version: r.ref.version, rule: r.rule, digest: r.ref.digest };
  }

  async rules(partition?: string): Promise<RuleBody[]> {
    const pid = await this.partitionIdOf(this.core.store, partition);
    return (
      await this.gov.quorum.list(
        this.core.store,
        pid === undefined ? undefined : partitionScope(pid),
      )
    ).map((o) => o.body);
  }

  /**
   * Sets (or with null clears) the rule of a class in a scope. Guarded by the quorum.change
   * rule and by the rule it changes: a change is never easier to approve than the rule itself.
   * Refused when no principal with an approver key could meet the new rule.
   */
  async setRule(
    partition: string | undefined,
    operation: string,
    input: unknown,
    authority: Authority | undefined,
  ): Promise<RuleBody> {
    const cls = checkOperationClass(operation);
    const rule = input === null ? null : parseRule(input);
    const pid = await this.partitionIdOf(this.core.store, partition);
    const scope = pid === undefined ? 'device' : partitionScope(pid);
    const op: Operation = {
      action: 'quorum.set',
      partitionId: pid,
      details: { scope, operation: cls },
    };
    const call: GovernedCall = {
      action: pid === undefined ? 'quorum.set' : 'quorum.set.partition',
      partitionId: pid,
      params: { scope, operation: cls, rule: (rule ?? null) as unknown as JsonValue },
      alsoClasses: cls === 'quorum.change' ? [] : [cls],
    };
    const body = await this.run(op, authority, call, async (tx, at, by) => {
      if (rule !== null && !satisfiable(rule, await this.gov.approvers.able(tx))) {
        throw new HsmError(
          'quorum-lockout',
          'no principal with an approver key could meet this rule: refused',
          {
            details: { scope, operation: cls },
          },
        );
      }
      const current = await this.gov.quorum.get(tx, scope, cls);
      return await this.gov.quorum.set(tx, at, current, rule, by, pid);
    });
    return body;
  }

  // ------------------------------------------------------------- SO exclusion

  /** A PSO quorum excludes (or re-includes) the device SO from the partition. */
  async setSoExclusion(
    partition: string,
    excluded: boolean,
    authority: Authority | undefined,
  ): Promise<void> {
    const pid = (await this.core.partitionRow(this.core.store, partition)).id;
    const action = excluded ? 'partition.exclude-so' : 'partition.include-so';
    const op: Operation = { action, partitionId: pid, details: { partition } };
    await this.run(
      op,
      authority,
      { action, partitionId: pid, params: { partition: pid } },
      async (tx, at, by) => {
        const previous = await this.gov.partitionGovernance(tx, pid);
        if ((previous?.body.soExcluded ?? false) === excluded) return undefined;
        await this.gov.objects.put<PartitionGovernanceBody>(
          tx,
          at,
          'partition-governance',
          pid,
          partitionScope(pid),
          { partition: pid, soExcluded: excluded, at: at.toISOString() },
          { action, actor: by, partitionId: pid, details: { partition } },
          previous,
        );
        return undefined;
      },
    );
  }

  async soExcluded(partition: string): Promise<boolean> {
    const pid = (await this.core.partitionRow(this.core.store, partition)).id;
    return this.gov.soExcluded(this.core.store, pid);
  }

  // ------------------------------------------------------------- approval requests

  /** `approvals`: the request's approval rows when the caller read them already. */
  private async view(
    r: StoreReader,
    req: GovernanceObject<RequestBody>,
    approvals?: readonly GovernanceObject<ApprovalBody>[],
    reads?: SnapshotReads,
  ): Promise<RequestView> {
    const rows = approvals ?? (await this.gov.requests.approvals(r, req.id));
    return {
      id: req.id,
      body: withoutEscrow(req.body),
      approvals: rows.map((a) => a.body),
      evaluation: await this.gov.requests.evaluate(r, req, this.core.clock.now(), rows, reads),
    };
  }

  async showRequest(id: string): Promise<RequestView> {
    return this.view(this.core.store, await this.gov.requests.require(this.core.store, id));
  }

  /**
   * Every request with its approvals and evaluation, from one snapshot: the request rows and
   * the approval rows are each read once (not the approvals once per request, twice), and the
   * rules, approver keys and principals the requests name once each (not once per request).
   */
  async listRequests(): Promise<RequestView[]> {
    // One state of the store: an approval written between the two reads is not half-listed.
    return this.core.store.snapshot(async (r) => {
      const approvals = await this.gov.requests.approvalsByRequest(r);
      const reads = new SnapshotReads();
      const out: RequestView[] = [];
      for (const req of await this.gov.requests.list(r)) {
        out.push(await this.view(r, req, approvals.get(req.id) ?? [], reads));
      }
      return out;
    });
  }

  /** Records an approver's signed decision: the signature is the authority, no session. */
  async decide(
    id: string,
    decisionName: string,
    key: string,
    signature: Uint8Array,
  ): Promise<RequestView> {
    if (decisionName !== 'approve' && decisionName !== 'reject') {
      throw new HsmError('invalid-argument', 'the decision is approve or reject', {
        details: { field: 'decision' },
      });
    }
    const decision: ApprovalDecision = decisionName;
    const op: Operation = {
      action: `approval.${decision}`,
      details: { request: id.slice(0, 64), key: key.slice(0, 64) },
    };
    return this.core.guard(op, async () => {
      const at = this.core.clock.now();
      const req = await this.core.store.tx(async (tx) => {
        const current = await this.gov.requests.require(tx, id);
        const pid = current.scope.startsWith('partition:') ? current.scope.slice(10) : undefined;
        await this.gov.requests.decide(
          tx,
          at,
          id,
          decision,
          key,
          signature,
          async (principal) =>
            pid !== undefined &&
            (await this.gov.soExcluded(tx, pid)) &&
            (await this.gov.roles.holds(tx, principal, ['pso'], current.scope)) === undefined &&
            (await this.gov.roles.holds(tx, principal, ['device-so'], 'device')) !== undefined,
        );
        return this.gov.requests.require(tx, id);
      });
      return this.view(this.core.store, req);
    });
  }

  /**
   * Cancels a pending request: its requester, or an officer of its scope (from the role table,
   * or from a presented principal's credential).
   */
  async cancel(
    id: string,
    authority: OfficerCredential | PresentedAuthority | undefined,
  ): Promise<void> {
    const op: Operation = { action: 'approval.cancel', details: { request: id.slice(0, 64) } };
    await this.core.guard(op, async () => {
      const presented = authority !== undefined && 'presented' in authority ? authority : undefined;
      if (presented !== undefined) checkPresented(presented.presented);
      const req = await this.gov.requests.require(this.core.store, id);
      let by = this.core.actor;
      if (presented !== undefined) {
        by = presented.presented.principal;
        op.actor = by;
      } else if (authority !== undefined && 'passphrase' in authority) {
        const proven = await this.gov.authorizeSelf(authority, op);
        by = proven.principal;
      }
      if (by !== req.body.statement.requester) {
        const pid = req.scope.startsWith('partition:') ? req.scope.slice(10) : undefined;
        const partition =
          pid === undefined
            ? undefined
            : (await this.core.rows.partitionById(this.core.store, pid))?.name;
        const role =
          presented === undefined
            ? await this.gov.roles.holds(this.core.store, by, ['device-so', 'pso'], req.scope)
            : presentedRole(
                presented.presented,
                ['device-so', 'pso'],
                pid === undefined ? undefined : (partition ?? `#${pid}`),
              );
        if (role === undefined) {
          throw new HsmError(
            'role-required',
            'only the requester or an officer of its scope cancels a request',
            {
              details: {
                request: id,
                needs: 'requester|device-so|pso',
                scope: req.scope,
                principal: by,
                ...(pid === undefined ? {} : { partitionId: pid }),
              },
            },
          );
        }
      }
      await this.core.store.tx((tx) => this.gov.requests.cancel(tx, this.core.clock.now(), id, by));
    });
  }
}

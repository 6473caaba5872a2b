// Approval requests: the statement of a guarded operation, signed by the HSM; approvers'
// signed decisions; the evaluation of every rule the statement names against current state;
// and the one execution, inside the transaction of the effect.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { JsonObject, JsonValue } from '../../shared/index.js';
import { canonicalJson } from './canonical-json.js';
import type { Core } from '../core.js';
import { HsmError } from '../errors.js';
import type { StoreReader, StoreTx } from '../store/device-store.js';
import { verifyApproverSignature } from '../mechanisms/approver.js';
import type { ApproverKeys } from './approvers.js';
import type { GovernanceObject, GovernanceObjects } from './objects.js';
import type { QuorumRules } from './quorum.js';
import type { Roles } from './roles.js';
import {
  evaluate,
  ruleMembers,
  type Decision,
  type QuorumRule,
  type QuorumState,
} from './rules.js';
import {
  approvalBytes,
  type ApprovalDecision,
  type RequestStatement,
  type RuleRef,
} from './statement.js';

export interface RequestBody extends JsonObject {
  readonly statement: RequestStatement;
  /** The HSM's signature over requestBytes(statement), hex. */
  readonly signature: string;
  /** Which key signed: the device key (device scope) or the partition attestation key. */
  readonly signer: 'device' | 'partition-attestation';
  readonly state: 'pending' | 'executed' | 'cancelled';
  readonly closedAt: string | null;
  readonly closedBy: string | null;
  /** What the execution returned (a signature, a key id), or null. */
  readonly result: JsonValue;
}

/**
 * A request's escrow (the body's `escrow` field, when it has one): what the execution needs
 * that the statement only commits to by its SHA-256 (a new officer's credential verifier).
 * Authenticated with the request, never shown, dropped when the request closes.
 */
export function escrowOf(body: RequestBody): JsonObject | undefined {
  const e = (body as JsonObject)['escrow'];
  return typeof e === 'object' && e !== null && !Array.isArray(e) ? (e as JsonObject) : undefined;
}

/** The commitment a statement holds to a request's escrow: SHA-256 of its canonical JSON. */
export function escrowDigest(escrow: JsonObject): string {
  return createHash('sha256').update(canonicalJson(escrow)).digest('hex');
}

/** The body without its escrow (what a closed request keeps, and what views show). */
export function withoutEscrow(body: RequestBody): RequestBody {
  const copy: Record<string, JsonValue | undefined> = { ...body };
  delete copy['escrow'];
  return copy as RequestBody;
}

export interface ApprovalBody extends JsonObject {
  readonly request: string;
  readonly principal: string;
  readonly key: string;
  readonly decision: ApprovalDecision;
  readonly signature: string;
  readonly at: string;
}

/** The partition id of a partition scope. */
export const partitionOf = (scope: string): string | undefined =>
  scope.startsWith('partition:') ? scope.slice(10) : undefined;

export const approvalId = (request: string, principal: string): string => `${request}/${principal}`;

/** Where the request stands now, rule by rule, and as a whole. */
export interface RequestEvaluation {
  readonly state:
    | 'pending'
    | 'approved'
    | 'time-locked'
    | 'rejected'
    | 'expired'
    | 'rule-changed'
    | 'executed'
    | 'cancelled';
  readonly rules: readonly { readonly ref: RuleRef; readonly state: QuorumState }[];
  /** The earliest execution, when time-locked. */
  readonly notBefore?: string;
}

/** What a new request says: operation, parameters, target, and the rules it must meet. */
export interface RequestSpec {
  readonly operation: string;
  readonly params: JsonObject;
  readonly scope: string;
  readonly target: string | null;
  readonly rules: readonly { readonly ref: RuleRef; readonly rule: QuorumRule }[];
}

/**
 * Reads made once per snapshot: the evaluations of the requests of one listing share the
 * approver keys, principals and rules they name (each read and authenticated once). Only for
 * reads of one state of the store (a snapshot), never across a change.
 */
export class SnapshotReads {
  private readonly done = new Map<string, Promise<unknown>>();

  once<T>(key: string, read: () => Promise<T>): Promise<T> {
    let p = this.done.get(key) as Promise<T> | undefined;
    if (p === undefined) {
      p = read();
      this.done.set(key, p);
    }
    return p;
  }
}

export class ApprovalRequests {
  constructor(
    private readonly core: Core,
    private readonly objects: GovernanceObjects,
    private readonly roles: Roles,
    private readonly approvers: ApproverKeys,
    private readonly quorum: QuorumRules,
  ) {}

  get(r: StoreReader, id: string): Promise<GovernanceObject<RequestBody> | undefined> {
    return this.objects.get<RequestBody>(r, 'request', id);
  }

  async require(r: StoreReader, id: string): Promise<GovernanceObject<RequestBody>> {
    const req = await this.get(r, id);
    if (req === undefined) {
      throw new HsmError('request-not-found', 'no approval request with that id', {
        details: { request: id.slice(0, 64) },
      });
    }
    return req;
  }

  list(r: StoreReader, scope?: string): Promise<GovernanceObject<RequestBody>[]> {
    return this.objects.list<RequestBody>(r, 'request', scope);
  }

  approvals(r: StoreReader, request: string): Promise<GovernanceObject<ApprovalBody>[]> {
    return this.objects
      .list<ApprovalBody>(r, 'approval')
      .then((all) => all.filter((a) => a.body.request === request));
  }

  /** The statement of a new request (read outside the transaction: it is signed next). */
  async prepare(
    r: StoreReader,
    at: Date,
    spec: RequestSpec,
    requester: string,
  ): Promise<RequestStatement> {
    const head = await r.audit.head();
    const timeout = Math.min(...spec.rules.map((x) => x.rule.timeoutSeconds));
    const lock = Math.max(
      ...spec.rules.map((x) => Math.min(...x.rule.alternatives.map((a) => a.timeLockSeconds))),
    );
    return {
      type: 'attestamp.approval-request',
      version: 1,
      id: randomUUID(),
      device: this.core.deviceId,
      scope: spec.scope,
      operation: spec.operation,
      params: spec.params,
      target: spec.target,
      requester,
      rules: spec.rules.map((x) => x.ref),
      createdAt: at.toISOString(),
      notBefore: new Date(at.getTime() + lock * 1000).toISOString(),
      expiresAt: new Date(at.getTime() + timeout * 1000).toISOString(),
      nonce: randomBytes(16).toString('hex'),
      auditHead: {
        seq: head?.seq ?? 0,
        hash: head === undefined ? '00'.repeat(32) : Buffer.from(head.hash).toString('hex'),
      },
    };
  }

  /**
   * Stores the signed request inside `tx`: the rules it names must still be the ones in force
   * (a rule changed between the statement and the store: refused, make it again).
   */
  async store(
    tx: StoreTx,
    at: Date,
    statement: RequestStatement,
    signed: { kind: RequestBody['signer']; signature: Uint8Array },
    partitionId: string | undefined,
    escrow?: JsonObject,
  ): Promise<GovernanceObject<RequestBody>> {
    for (const ref of statement.rules) {
      const now = await this.quorum.get(tx, ref.scope, ref.operation as never);
      if (now.ref.version !== ref.version || now.ref.digest !== ref.digest) {
        throw new HsmError('request-rule-changed', 'a rule changed while the request was made', {
          details: { rule: `${ref.scope}/${ref.operation}` },
        });
      }
    }
    return this.objects.put<RequestBody>(
      tx,
      at,
      'request',
      statement.id,
      statement.scope,
      {
        statement,
        signature: Buffer.from(signed.signature).toString('hex'),
        signer: signed.kind,
        state: 'pending',
        closedAt: null,
        closedBy: null,
        result: null,
        ...(escrow === undefined ? {} : { escrow }),
      },
      {
        action: 'approval.request',
        actor: statement.requester,
        partitionId,
        details: {
          request: statement.id,
          operation: statement.operation,
          rules: statement.rules.map((x) => `${x.scope}/${x.operation}@${x.version}`).join(' '),
        },
      },
    );
  }

  /**
   * Records one approver's signed decision (inside `tx`): the key must be enrolled and not
   * revoked, the signature over exactly this statement and decision, the principal a member of
   * a rule the request names, deciding once, before the request expires.
   */
  async decide(
    tx: StoreTx,
    at: Date,
    id: string,
    decision: ApprovalDecision,
    keyFingerprint: string,
    signature: Uint8Array,
    isExcluded: (principal: string) => Promise<boolean>,
  ): Promise<GovernanceObject<ApprovalBody>> {
    const req = await this.require(tx, id);
    const s = req.body.statement;
    const key = await this.approvers.get(tx, keyFingerprint);
    if (key === undefined) {
      throw new HsmError('approver-key-unknown', 'no approver key with that fingerprint', {
        details: { key: keyFingerprint.slice(0, 64) },
      });
    }
    const principal = key.body.principal;
    if (key.body.revokedAt !== null) {
      throw new HsmError('approver-key-revoked', 'the approver key was revoked', {
        details: { key: keyFingerprint, principal, revokedAt: key.body.revokedAt },
      });
    }
    const bytes = approvalBytes(s, decision, { principal, key: keyFingerprint });
    if (!verifyApproverSignature(Buffer.from(key.body.spki, 'hex'), bytes, signature)) {
      throw new HsmError(
        'approval-signature-invalid',
        "the signature is not this key's signature over this request's approval bytes for that decision",
        { details: { request: id, key: keyFingerprint, decision } },
      );
    }
    if (req.body.state !== 'pending') {
      throw new HsmError('request-closed', `the request is ${req.body.state}`, {
        details: { request: id, state: req.body.state },
      });
    }
    if (at.getTime() > Date.parse(s.expiresAt)) {
      throw new HsmError('request-expired', 'the request expired', {
        details: { request: id, expiresAt: s.expiresAt },
      });
    }
    if ((await this.roles.principal(tx, principal))?.body.state !== 'active') {
      throw new HsmError('approval-not-member', 'the approver is not an active principal', {
        details: { request: id, principal },
      });
    }
    const rules = await Promise.all(
      s.rules.map((ref) => this.quorum.get(tx, ref.scope, ref.operation as never)),
    );
    const members = new Set(
      rules.flatMap((r) => (r.rule === null ? [] : [...ruleMembers(r.rule)])),
    );
    if (!members.has(principal)) {
      throw new HsmError('approval-not-member', "the approver is in none of the request's rules", {
        details: { request: id, principal },
      });
    }
    if (await isExcluded(principal)) {
      throw new HsmError(
        'so-excluded',
        "the partition's security officers excluded the device security officer from it",
        { details: { request: id, principal } },
      );
    }
    if (
      decision === 'approve' &&
      principal === s.requester &&
      rules.every((r) => r.rule === null || !r.rule.requesterCounts)
    ) {
      throw new HsmError(
        'approval-requester',
        'the rule does not let the requester approve their own request',
        {
          details: { request: id, principal },
        },
      );
    }
    const aid = approvalId(id, principal);
    if ((await this.objects.get(tx, 'approval', aid)) !== undefined) {
      throw new HsmError('approval-duplicate', 'this principal decided on the request already', {
        details: { request: id, principal },
      });
    }
    return this.objects.put<ApprovalBody>(
      tx,
      at,
      'approval',
      aid,
      req.scope,
      {
        request: id,
        principal,
        key: keyFingerprint,
        decision,
        signature: Buffer.from(signature).toString('hex'),
        at: at.toISOString(),
      },
      {
        action: decision === 'approve' ? 'approval.approve' : 'approval.reject',
        actor: principal,
        partitionId: partitionOf(req.scope),
        details: { request: id, principal, key: keyFingerprint },
      },
    );
  }

  /**
   * The request's state now, against current state: each rule it names must still be at the
   * version and digest it names; only decisions by keys not revoked since, of principals still
   * active, count.
   */
  /** Every request's approvals, read once: for listing many requests (request id to rows). */
  async approvalsByRequest(r: StoreReader): Promise<Map<string, GovernanceObject<ApprovalBody>[]>> {
    const out = new Map<string, GovernanceObject<ApprovalBody>[]>();
    for (const a of await this.objects.list<ApprovalBody>(r, 'approval')) {
      const list = out.get(a.body.request);
      if (list === undefined) out.set(a.body.request, [a]);
      else list.push(a);
    }
    return out;
  }

  /**
   * `approvals`: the request's approval rows when the caller read them already; `reads`: the
   * approver keys, principals and rules read for other requests of the same snapshot (a
   * listing reads each once, not once per request that names it).
   */
  async evaluate(
    r: StoreReader,
    req: GovernanceObject<RequestBody>,
    now: Date,
    approvals?: readonly GovernanceObject<ApprovalBody>[],
    reads: SnapshotReads = new SnapshotReads(),
  ): Promise<RequestEvaluation> {
    const s = req.body.statement;
    if (req.body.state !== 'pending') return { state: req.body.state, rules: [] };
    const decisions: Decision[] = [];
    for (const a of approvals ?? (await this.approvals(r, req.id))) {
      const key = await reads.once(`key\0${a.body.key}`, () => this.approvers.get(r, a.body.key));
      if (key === undefined || key.body.revokedAt !== null) continue;
      const principal = await reads.once(`principal\0${a.body.principal}`, () =>
        this.roles.principal(r, a.body.principal),
      );
      if (principal?.body.state !== 'active') continue;
      decisions.push({
        principal: a.body.principal,
        decision: a.body.decision,
        at: new Date(a.body.at),
      });
    }
    const created = new Date(s.createdAt);
    const rules: { ref: RuleRef; state: QuorumState }[] = [];
    let changed = false;
    for (const ref of s.rules) {
      const current = await reads.once(`rule\0${ref.scope}\0${ref.operation}`, () =>
        this.quorum.get(r, ref.scope, ref.operation as never),
      );
      if (
        current.ref.version !== ref.version ||
        current.ref.digest !== ref.digest ||
        current.rule === null
      ) {
        changed = true;
        continue;
      }
      rules.push({ ref, state: evaluate(current.rule, s.requester, created, decisions, now) });
    }
    if (changed) return { state: 'rule-changed', rules };
    const states = rules.map((x) => x.state);
    const rejected = states.find((x) => x.state === 'rejected');
    if (rejected !== undefined) return { state: 'rejected', rules };
    if (states.some((x) => x.state === 'expired')) return { state: 'expired', rules };
    if (states.some((x) => x.state === 'pending')) return { state: 'pending', rules };
    const locks = states.flatMap((x) => (x.state === 'time-locked' ? [x.notBefore.getTime()] : []));
    if (locks.length > 0) {
      return { state: 'time-locked', rules, notBefore: new Date(Math.max(...locks)).toISOString() };
    }
    return { state: 'approved', rules };
  }

  /**
   * Inside the transaction of the effect, before it: the request approves exactly this
   * operation with these parameters, and its rules are met now. Returns it for executed().
   */
  async approved(
    tx: StoreTx,
    at: Date,
    id: string,
    expect: { operation: string; params: JsonObject },
  ): Promise<GovernanceObject<RequestBody>> {
    const req = await this.require(tx, id);
    const s = req.body.statement;
    // Its state first: a request void because its rule changed says so, whatever it names.
    refuseUnlessApproved(id, await this.evaluate(tx, req, at));
    if (
      s.operation !== expect.operation ||
      canonicalJson(s.params) !== canonicalJson(expect.params)
    ) {
      throw new HsmError(
        'request-not-approved',
        'the request approves another operation or other parameters',
        { details: { request: id, operation: s.operation } },
      );
    }
    return req;
  }

  /**
   * In the same transaction, after the effect: closes the request as executed, with what the
   * execution returned. A second execution finds it closed: exactly once.
   */
  async executed(
    tx: StoreTx,
    at: Date,
    req: GovernanceObject<RequestBody>,
    result: JsonValue,
    actor: string | undefined,
  ): Promise<void> {
    await this.objects.put<RequestBody>(
      tx,
      at,
      'request',
      req.id,
      req.scope,
      {
        ...withoutEscrow(req.body),
        state: 'executed',
        closedAt: at.toISOString(),
        closedBy: actor ?? null,
        result,
      },
      {
        action: 'approval.execute',
        actor,
        partitionId: partitionOf(req.scope),
        details: { request: req.id, operation: req.body.statement.operation },
      },
      req,
    );
  }

  /** Closes a pending request as cancelled (inside `tx`). */
  async cancel(tx: StoreTx, at: Date, id: string, by: string): Promise<void> {
    const req = await this.require(tx, id);
    if (req.body.state !== 'pending') {
      throw new HsmError('request-closed', `the request is ${req.body.state}`, {
        details: { request: id, state: req.body.state },
      });
    }
    await this.objects.put<RequestBody>(
      tx,
      at,
      'request',
      id,
      req.scope,
      { ...withoutEscrow(req.body), state: 'cancelled', closedAt: at.toISOString(), closedBy: by },
      {
        action: 'approval.cancel',
        actor: by,
        partitionId: partitionOf(req.scope),
        details: { request: id },
      },
      req,
    );
  }
}

/** The refusal for a request that cannot execute now, naming why. */
export function refuseUnlessApproved(id: string, ev: RequestEvaluation): void {
  switch (ev.state) {
    case 'approved':
      return;
    case 'executed':
    case 'cancelled':
      throw new HsmError('request-closed', `the request is ${ev.state}`, {
        details: { request: id, state: ev.state },
      });
    case 'expired':
      throw new HsmError('request-expired', 'the request expired before its rules were met', {
        details: { request: id },
      });
    case 'rejected': {
      const by = ev.rules.map((r) => r.state).find((s) => s.state === 'rejected');
      throw new HsmError('request-rejected', 'a member rejected the request', {
        details: { request: id, ...(by?.state === 'rejected' ? { by: by.by } : {}) },
      });
    }
    case 'rule-changed':
      throw new HsmError(
        'request-rule-changed',
        'a rule the request names changed since it was made: make a new request',
        {
          details: { request: id },
        },
      );
    case 'time-locked':
      throw new HsmError(
        'request-time-locked',
        'the rules are met but the time lock has not passed',
        {
          details: { request: id, notBefore: ev.notBefore ?? '' },
        },
      );
    case 'pending': {
      const first = ev.rules.find((r) => r.state.state === 'pending');
      throw new HsmError('request-not-approved', 'the rules are not met yet', {
        details: {
          request: id,
          ...(first === undefined
            ? {}
            : { rule: `${first.ref.scope}/${first.ref.operation}`, version: first.ref.version }),
        },
      });
    }
  }
}

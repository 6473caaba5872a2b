// The quorum rule language and its evaluator: alternatives of groups, each group m of n named
// principals; a reject vetoes; a principal counts once (however many keys it has, and for one
// group only within an alternative); each alternative may carry a time lock, the rule a timeout.
import { HsmError } from '../errors.js';

/** m of the named principals. */
export interface QuorumGroup {
  readonly name: string;
  readonly members: readonly string[];
  readonly threshold: number;
}

/** Every group of an alternative must be met, by distinct principals. */
export interface QuorumAlternative {
  readonly groups: readonly QuorumGroup[];
  /** Earliest execution, in seconds after the request was created (0: none). */
  readonly timeLockSeconds: number;
}

/** Any one alternative suffices. */
export interface QuorumRule {
  readonly alternatives: readonly QuorumAlternative[];
  /** A request under the rule expires this many seconds after it was created. */
  readonly timeoutSeconds: number;
  /** Whether the requester's own approval counts toward a group. */
  readonly requesterCounts: boolean;
}

/** One approver's decision, already verified (signature, key not revoked, principal known). */
export interface Decision {
  readonly principal: string;
  readonly decision: 'approve' | 'reject';
  /** When the HSM accepted it, by its guarded clock. */
  readonly at: Date;
}

export type QuorumState =
  /** A member rejected: the request can never execute. */
  | { readonly state: 'rejected'; readonly by: string }
  /** The timeout passed before the rule was met. */
  | { readonly state: 'expired'; readonly at: Date }
  /** Met by the alternative at this index; executable now. */
  | { readonly state: 'approved'; readonly alternative: number }
  /** Met, but the earliest execution is later. */
  | { readonly state: 'time-locked'; readonly alternative: number; readonly notBefore: Date }
  /** Not met yet; for each alternative, how many more approvals each group needs at least. */
  | { readonly state: 'pending'; readonly missing: readonly (readonly number[])[] };

/** Limits on a rule's size: the evaluator's work and a statement's length stay bounded. */
export const RULE_LIMITS = {
  alternatives: 8,
  groups: 8,
  members: 64,
  nameLength: 64,
  /** Ten years. */
  seconds: 10 * 366 * 24 * 3600,
} as const;

const PRINCIPAL = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/** Whether a principal name is well formed (also the names of members in rules). */
export function isPrincipalName(name: string): boolean {
  return PRINCIPAL.test(name);
}

const bad = (message: string, details?: Record<string, string>): HsmError =>
  new HsmError('quorum-rule-invalid', message, details === undefined ? {} : { details });

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function seconds(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > RULE_LIMITS.seconds) {
    throw bad(`${field} must be a whole number of seconds from 0 to ${RULE_LIMITS.seconds}`, {
      field,
    });
  }
  return v;
}

function onlyKeys(v: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) throw bad(`unknown field in ${where}`, { field: k });
  }
}

/**
 * Reads a rule from parsed JSON, strictly: unknown fields, duplicate members, a threshold
 * above the group's size or below 1, and an empty rule are refused with the field named.
 */
export function parseRule(input: unknown): QuorumRule {
  if (!isRecord(input)) throw bad('a rule is a JSON object');
  onlyKeys(input, ['alternatives', 'timeoutSeconds', 'requesterCounts'], 'the rule');
  const alts = input['alternatives'];
  if (!Array.isArray(alts) || alts.length === 0 || alts.length > RULE_LIMITS.alternatives) {
    throw bad(`a rule has 1 to ${RULE_LIMITS.alternatives} alternatives`, {
      field: 'alternatives',
    });
  }
  const timeoutSeconds = seconds(input['timeoutSeconds'], 'timeoutSeconds');
  if (timeoutSeconds === 0)
    throw bad('timeoutSeconds must be positive', { field: 'timeoutSeconds' });
  const requesterCounts = input['requesterCounts'] ?? false;
  if (typeof requesterCounts !== 'boolean') {
    throw bad('requesterCounts is true or false', { field: 'requesterCounts' });
  }
  const alternatives = alts.map((a: unknown, i): QuorumAlternative => {
    const where = `alternatives[${i}]`;
    if (!isRecord(a)) throw bad(`${where} is an object`, { field: where });
    onlyKeys(a, ['groups', 'timeLockSeconds'], where);
    const timeLockSeconds = seconds(a['timeLockSeconds'] ?? 0, `${where}.timeLockSeconds`);
    if (timeLockSeconds >= timeoutSeconds) {
      throw bad(`${where}: the time lock must end before the timeout`, { field: where });
    }
    const groups = a['groups'];
    if (!Array.isArray(groups) || groups.length === 0 || groups.length > RULE_LIMITS.groups) {
      throw bad(`${where} has 1 to ${RULE_LIMITS.groups} groups`, { field: `${where}.groups` });
    }
    const names = new Set<string>();
    return {
      timeLockSeconds,
      groups: groups.map((g: unknown, j): QuorumGroup => {
        const gw = `${where}.groups[${j}]`;
        if (!isRecord(g)) throw bad(`${gw} is an object`, { field: gw });
        onlyKeys(g, ['name', 'members', 'threshold'], gw);
        const name = g['name'] ?? `group${j + 1}`;
        if (typeof name !== 'string' || name.length === 0 || name.length > RULE_LIMITS.nameLength) {
          throw bad(`${gw}.name is a short text`, { field: `${gw}.name` });
        }
        if (names.has(name)) throw bad(`two groups are named ${name}`, { field: `${gw}.name` });
        names.add(name);
        const members = g['members'];
        if (!Array.isArray(members) || members.length === 0) {
          throw bad(`${gw}.members lists at least one principal`, { field: `${gw}.members` });
        }
        if (members.length > RULE_LIMITS.members) {
          throw bad(`${gw} has more than ${RULE_LIMITS.members} members`, {
            field: `${gw}.members`,
          });
        }
        const seen = new Set<string>();
        for (const m of members) {
          if (typeof m !== 'string' || !isPrincipalName(m)) {
            throw bad(`${gw}.members holds a malformed principal name`, { field: `${gw}.members` });
          }
          if (seen.has(m)) throw bad(`${m} is listed twice in ${gw}`, { field: `${gw}.members` });
          seen.add(m);
        }
        const threshold = g['threshold'];
        if (
          typeof threshold !== 'number' ||
          !Number.isSafeInteger(threshold) ||
          threshold < 1 ||
          threshold > members.length
        ) {
          throw bad(`${gw}.threshold is from 1 to the number of members`, {
            field: `${gw}.threshold`,
          });
        }
        return { name, members: [...(members as string[])], threshold };
      }),
    };
  });
  return { alternatives, timeoutSeconds, requesterCounts };
}

/** Every principal named anywhere in the rule. */
export function ruleMembers(rule: QuorumRule): Set<string> {
  const all = new Set<string>();
  for (const a of rule.alternatives)
    for (const g of a.groups) for (const m of g.members) all.add(m);
  return all;
}

/**
 * Whether distinct principals from `approvers` can fill every group of the alternative (each
 * principal counts for one group only): a bipartite matching, solved by augmenting paths.
 * Returns, per group, how many more it needs in the best assignment found (all 0 when met).
 */
export function assign(alt: QuorumAlternative, approvers: ReadonlySet<string>): number[] {
  // Each group slot is a seat; a principal takes at most one seat.
  const seats: number[] = [];
  alt.groups.forEach((g, i) => {
    for (let k = 0; k < g.threshold; k++) seats.push(i);
  });
  const holder: (string | undefined)[] = seats.map(() => undefined);
  const candidates = [...approvers].sort();
  const eligible = (p: string, seat: number): boolean =>
    alt.groups[seats[seat]!]!.members.includes(p);
  const tryPlace = (p: string, visited: Set<number>): boolean => {
    for (let s = 0; s < seats.length; s++) {
      if (visited.has(s) || !eligible(p, s)) continue;
      visited.add(s);
      const h = holder[s];
      if (h === undefined || tryPlace(h, visited)) {
        holder[s] = p;
        return true;
      }
    }
    return false;
  };
  for (const p of candidates) tryPlace(p, new Set());
  const missing = alt.groups.map(() => 0);
  holder.forEach((h, s) => {
    if (h === undefined) missing[seats[s]!]!++;
  });
  return missing;
}

/**
 * The state of a request under `rule`, created at `createdAt` by `requester`, given the
 * verified decisions, at `now` (the guarded clock). Decisions after the timeout, from
 * non-members, and the requester's own when it does not count, are ignored; any member's
 * reject before the timeout vetoes.
 */
export function evaluate(
  rule: QuorumRule,
  requester: string,
  createdAt: Date,
  decisions: readonly Decision[],
  now: Date,
): QuorumState {
  const expiresAt = createdAt.getTime() + rule.timeoutSeconds * 1000;
  const members = ruleMembers(rule);
  const inTime = decisions.filter((d) => d.at.getTime() <= expiresAt && members.has(d.principal));
  const veto = inTime.find((d) => d.decision === 'reject');
  if (veto !== undefined) return { state: 'rejected', by: veto.principal };
  if (now.getTime() > expiresAt) return { state: 'expired', at: new Date(expiresAt) };
  const approvers = new Set(
    inTime
      .filter((d) => d.decision === 'approve')
      .filter((d) => rule.requesterCounts || d.principal !== requester)
      .map((d) => d.principal),
  );
  const missing = rule.alternatives.map((a) => assign(a, approvers));
  let locked: { alternative: number; notBefore: number } | undefined;
  for (let i = 0; i < rule.alternatives.length; i++) {
    if (missing[i]!.some((m) => m > 0)) continue;
    const notBefore = createdAt.getTime() + rule.alternatives[i]!.timeLockSeconds * 1000;
    if (now.getTime() >= notBefore) return { state: 'approved', alternative: i };
    if (locked === undefined || notBefore < locked.notBefore)
      locked = { alternative: i, notBefore };
  }
  if (locked !== undefined) {
    return {
      state: 'time-locked',
      alternative: locked.alternative,
      notBefore: new Date(locked.notBefore),
    };
  }
  return { state: 'pending', missing };
}

/**
 * Whether principals holding a usable approver key (`able`) can still meet some alternative:
 * a rule that no one can satisfy locks everyone out of what it guards, and is refused.
 */
export function satisfiable(
  rule: QuorumRule,
  able: ReadonlySet<string>,
  requester?: string,
): boolean {
  const counted = new Set(
    [...able].filter((p) => rule.requesterCounts || requester === undefined || p !== requester),
  );
  return rule.alternatives.some((a) => assign(a, counted).every((m) => m === 0));
}

// The quorum evaluator against a brute-force oracle over random rules, members, decisions and
// times (fast-check), and the rule parser's refusals, each with the field it names.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  evaluate,
  parseRule,
  satisfiable,
  type Decision,
  type QuorumAlternative,
  type QuorumRule,
  type QuorumState,
} from '../../../../src/hsm/governance/rules.js';

const PEOPLE = ['ann', 'bob', 'cat', 'dan', 'eve', 'fay'] as const;
const T0 = Date.parse('2026-12-01T00:00:00Z');

/** Every way to give each approver one group of the alternative or none: fills all groups? */
function oracleMet(alt: QuorumAlternative, approvers: readonly string[]): boolean {
  const choose = (i: number, counts: number[]): boolean => {
    if (i === approvers.length) return alt.groups.every((g, k) => counts[k]! >= g.threshold);
    if (choose(i + 1, counts)) return true;
    for (let k = 0; k < alt.groups.length; k++) {
      if (!alt.groups[k]!.members.includes(approvers[i]!)) continue;
      counts[k]!++;
      const ok = choose(i + 1, counts);
      counts[k]!--;
      if (ok) return true;
    }
    return false;
  };
  return choose(
    0,
    alt.groups.map(() => 0),
  );
}

/** The rule's meaning written out the slow way: each clause checked separately. */
function oracle(
  rule: QuorumRule,
  requester: string,
  decisions: readonly Decision[],
  now: number,
): QuorumState['state'] {
  const expires = T0 + rule.timeoutSeconds * 1000;
  const members = new Set(rule.alternatives.flatMap((a) => a.groups.flatMap((g) => g.members)));
  const valid = decisions.filter((d) => members.has(d.principal) && d.at.getTime() <= expires);
  if (valid.some((d) => d.decision === 'reject')) return 'rejected';
  if (now > expires) return 'expired';
  const approvers = [
    ...new Set(
      valid
        .filter((d) => d.decision === 'approve')
        .filter((d) => rule.requesterCounts || d.principal !== requester)
        .map((d) => d.principal),
    ),
  ];
  const met = rule.alternatives.filter((a) => oracleMet(a, approvers));
  if (met.some((a) => now >= T0 + a.timeLockSeconds * 1000)) return 'approved';
  return met.length > 0 ? 'time-locked' : 'pending';
}

const groupArb = fc
  .uniqueArray(fc.constantFrom(...PEOPLE), { minLength: 1, maxLength: 5 })
  .chain((members) =>
    fc.record({
      members: fc.constant(members),
      threshold: fc.integer({ min: 1, max: members.length }),
    }),
  );

const ruleArb: fc.Arbitrary<QuorumRule> = fc
  .record({
    timeoutSeconds: fc.integer({ min: 2, max: 100 }),
    requesterCounts: fc.boolean(),
    alternatives: fc.array(
      fc.record({
        groups: fc.array(groupArb, { minLength: 1, maxLength: 3 }),
        lock: fc.integer({ min: 0, max: 100 }),
      }),
      { minLength: 1, maxLength: 3 },
    ),
  })
  .map((r) =>
    parseRule({
      timeoutSeconds: r.timeoutSeconds,
      requesterCounts: r.requesterCounts,
      alternatives: r.alternatives.map((a) => ({
        timeLockSeconds: a.lock % r.timeoutSeconds,
        groups: a.groups.map((g, i) => ({ name: `g${i}`, ...g })),
      })),
    }),
  );

const decisionArb: fc.Arbitrary<Decision> = fc.record({
  principal: fc.constantFrom(...PEOPLE, 'zed'),
  decision: fc.constantFrom<'approve' | 'reject'>('approve', 'approve', 'approve', 'reject'),
  at: fc.integer({ min: 0, max: 120 }).map((s) => new Date(T0 + s * 1000)),
});

describe('quorum evaluator', () => {
  it('agrees with the brute-force oracle on random rules, decisions and times', () => {
    fc.assert(
      fc.property(
        ruleArb,
        fc.constantFrom(...PEOPLE),
        fc.array(decisionArb, { maxLength: 10 }),
        fc.integer({ min: 0, max: 120 }),
        (rule, requester, decisions, nowS) => {
          const now = T0 + nowS * 1000;
          const got = evaluate(rule, requester, new Date(T0), decisions, new Date(now));
          expect(got.state).toBe(oracle(rule, requester, decisions, now));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('counts a principal once, for one group only within an alternative', () => {
    const rule = parseRule({
      timeoutSeconds: 60,
      alternatives: [
        {
          groups: [
            { name: 'so', members: ['ann', 'bob'], threshold: 1 },
            { name: 'ops', members: ['ann', 'cat'], threshold: 1 },
          ],
        },
      ],
    });
    const at = new Date(T0 + 1000);
    const annTwice: Decision[] = [
      { principal: 'ann', decision: 'approve', at },
      { principal: 'ann', decision: 'approve', at },
    ];
    expect(evaluate(rule, 'fay', new Date(T0), annTwice, at)).toEqual({
      state: 'pending',
      missing: [[0, 1]],
    });
    const withCat = [...annTwice, { principal: 'cat', decision: 'approve' as const, at }];
    // ann must take the "so" seat for cat to fill "ops": the matching finds it.
    expect(evaluate(rule, 'fay', new Date(T0), withCat, at).state).toBe('approved');
  });

  it('ignores the requester when the rule says so, and honours the time lock and timeout', () => {
    const rule = parseRule({
      timeoutSeconds: 100,
      requesterCounts: false,
      alternatives: [
        { groups: [{ members: ['ann', 'bob', 'cat'], threshold: 2 }] },
        { groups: [{ members: ['ann', 'bob', 'cat'], threshold: 1 }], timeLockSeconds: 50 },
      ],
    });
    const d = (principal: string, s: number): Decision => ({
      principal,
      decision: 'approve',
      at: new Date(T0 + s * 1000),
    });
    const created = new Date(T0);
    expect(evaluate(rule, 'ann', created, [d('ann', 1), d('bob', 2)], new Date(T0 + 3000))).toEqual(
      { state: 'time-locked', alternative: 1, notBefore: new Date(T0 + 50_000) },
    );
    expect(
      evaluate(rule, 'ann', created, [d('ann', 1), d('bob', 2)], new Date(T0 + 50_000)).state,
    ).toBe('approved');
    expect(evaluate(rule, 'ann', created, [d('bob', 101)], new Date(T0 + 60_000)).state).toBe(
      'pending',
    );
    expect(evaluate(rule, 'ann', created, [d('bob', 2)], new Date(T0 + 100_001)).state).toBe(
      'expired',
    );
  });

  it('lets a member veto, even after the rule was met', () => {
    const rule = parseRule({
      timeoutSeconds: 100,
      alternatives: [{ groups: [{ members: ['ann', 'bob', 'cat'], threshold: 2 }] }],
    });
    const at = new Date(T0 + 5000);
    const state = evaluate(
      rule,
      'eve',
      new Date(T0),
      [
        { principal: 'ann', decision: 'approve', at },
        { principal: 'bob', decision: 'approve', at },
        { principal: 'cat', decision: 'reject', at },
      ],
      at,
    );
    expect(state).toEqual({ state: 'rejected', by: 'cat' });
  });

  it('knows a rule that no key holder can meet', () => {
    const rule = parseRule({
      timeoutSeconds: 10,
      alternatives: [{ groups: [{ members: ['ann', 'bob', 'cat'], threshold: 2 }] }],
    });
    expect(satisfiable(rule, new Set(['ann']))).toBe(false);
    expect(satisfiable(rule, new Set(['ann', 'cat']))).toBe(true);
  });
});

describe('rule parser', () => {
  const base = {
    timeoutSeconds: 60,
    alternatives: [{ groups: [{ members: ['ann', 'bob'], threshold: 2 }] }],
  };
  const refused = (input: unknown): unknown => {
    try {
      parseRule(input);
    } catch (e) {
      return {
        code: (e as { code?: string }).code,
        field: (e as { details?: { field?: string } }).details?.field,
      };
    }
    return 'accepted';
  };

  it('accepts a well-formed rule', () => {
    expect(refused(base)).toBe('accepted');
  });

  it.each([
    [
      'a threshold above the group size',
      { ...base, alternatives: [{ groups: [{ members: ['ann'], threshold: 2 }] }] },
      'alternatives[0].groups[0].threshold',
    ],
    [
      'a zero threshold',
      { ...base, alternatives: [{ groups: [{ members: ['ann'], threshold: 0 }] }] },
      'alternatives[0].groups[0].threshold',
    ],
    ['no alternatives', { ...base, alternatives: [] }, 'alternatives'],
    [
      'a member twice',
      { ...base, alternatives: [{ groups: [{ members: ['ann', 'ann'], threshold: 1 }] }] },
      'alternatives[0].groups[0].members',
    ],
    ['an unknown field', { ...base, extra: 1 }, 'extra'],
    ['a zero timeout', { ...base, timeoutSeconds: 0 }, 'timeoutSeconds'],
    ['a fractional timeout', { ...base, timeoutSeconds: 1.5 }, 'timeoutSeconds'],
    [
      'a time lock past the timeout',
      {
        ...base,
        alternatives: [{ timeLockSeconds: 60, groups: [{ members: ['ann'], threshold: 1 }] }],
      },
      'alternatives[0]',
    ],
    [
      'a malformed member name',
      { ...base, alternatives: [{ groups: [{ members: ['a b'], threshold: 1 }] }] },
      'alternatives[0].groups[0].members',
    ],
  ])('refuses %s', (_name, input, field) => {
    expect(refused(input)).toEqual({ code: 'quorum-rule-invalid', field });
  });
});

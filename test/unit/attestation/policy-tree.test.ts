// RFC 5280 6.1.2-6.1.5 policy processing (src/attestation/policy-tree.ts): the state machine on
// hand-made certificate policy inputs, and the node limit that keeps it linear in practice.
import { describe, expect, it } from 'vitest';
import { PolicyState, type CertPolicyInfo } from '../../../src/attestation/policy-tree.js';
import { PkiError } from '../../../src/pki/index.js';

const ANY = '2.5.29.32.0';
const P = (n: number) => `1.3.6.1.4.1.99999.${String(n)}`;

function cert(
  policies: readonly string[] | undefined,
  more: Partial<Omit<CertPolicyInfo, 'policies'>> = {},
): CertPolicyInfo {
  return {
    policies,
    mappings: undefined,
    constraints: undefined,
    inhibitAnyPolicy: undefined,
    selfIssued: false,
    ...more,
  };
}

/** Runs a path of certificates (top first) and returns the policies at its end. */
function run(certs: readonly CertPolicyInfo[], state: PolicyState): readonly string[] | undefined {
  for (const [k, c] of certs.entries()) {
    if (!state.processCertificate(k + 1, c)) return undefined;
    if (k + 1 < certs.length && state.prepareNext(k + 1, c) !== undefined) return undefined;
  }
  return state.wrapUp(certs[certs.length - 1]!);
}

describe('the valid policy tree', () => {
  it('keeps the policies all certificates share; anyPolicy passes policies through', () => {
    const path = [cert([ANY]), cert([P(1), P(2)]), cert([P(2)])];
    expect(run(path, new PolicyState(3, {}))).toEqual([P(2)]);
    expect(run(path, new PolicyState(3, { initialPolicySet: [P(1)] }))).toEqual([]);
    expect(
      run(path, new PolicyState(3, { initialPolicySet: [P(1)], initialExplicitPolicy: true })),
    ).toBeUndefined();
  });

  it('requires an explicit policy when asked, also through requireExplicitPolicy', () => {
    const none = [cert(undefined), cert(undefined)];
    expect(run(none, new PolicyState(2, {}))).toEqual([]);
    expect(run(none, new PolicyState(2, { initialExplicitPolicy: true }))).toBeUndefined();
    const required = [
      cert([P(1)], { constraints: { requireExplicitPolicy: 0, inhibitPolicyMapping: undefined } }),
      cert(undefined),
    ];
    expect(run(required, new PolicyState(2, {}))).toBeUndefined();
  });

  it('maps policies unless mapping is inhibited, and never maps anyPolicy', () => {
    const mapped = [
      cert([P(1)], { mappings: [{ issuerDomainPolicy: P(1), subjectDomainPolicy: P(7) }] }),
      cert([P(7)]),
    ];
    expect(run(mapped, new PolicyState(2, {}))).toEqual([P(7)]);
    expect(
      run(
        mapped,
        new PolicyState(2, { initialPolicyMappingInhibit: true, initialExplicitPolicy: true }),
      ),
    ).toBeUndefined();
    const fromAny = new PolicyState(2, {});
    const bad = cert([P(1)], {
      mappings: [{ issuerDomainPolicy: ANY, subjectDomainPolicy: P(1) }],
    });
    expect(fromAny.processCertificate(1, bad)).toBe(true);
    expect(fromAny.prepareNext(1, bad)).toBe('a policy mapping maps from or to anyPolicy');
  });

  it('inhibitAnyPolicy stops anyPolicy from matching below the certificate', () => {
    const path = [cert([ANY], { inhibitAnyPolicy: 0 }), cert([ANY])];
    expect(run(path, new PolicyState(2, { initialExplicitPolicy: true }))).toBeUndefined();
    expect(
      run([cert([ANY]), cert([ANY])], new PolicyState(2, { initialExplicitPolicy: true })),
    ).toEqual([ANY]);
  });

  it('refuses a tree that grows past its node limit instead of spending quadratic time', () => {
    const ps = Array.from({ length: 64 }, (_, k) => P(k));
    const rs = Array.from({ length: 64 }, (_, k) => P(1000 + k));
    const path = [
      cert(ps, {
        mappings: ps.map((p) => ({ issuerDomainPolicy: p, subjectDomainPolicy: P(500) })),
      }),
      cert([P(500)], {
        mappings: rs.map((r) => ({ issuerDomainPolicy: P(500), subjectDomainPolicy: r })),
      }),
      cert(rs),
    ];
    expect(() => run(path, new PolicyState(3, {}))).toThrow(PkiError);
    expect(() => run(path, new PolicyState(3, {}))).toThrow('the policy tree is too large');
  });
});

// NIST PKITS (2011 re-issue, test/vectors/pkits) through RFC 5280 6.1 and 6.3 in the x509
// profile: every test run at 2022-05-01 with revocation required, against its expected verdict.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyChain, type ChainOptions } from '../../../src/attestation/chain.js';

const DIR = join(import.meta.dirname, '../../vectors/pkits');
const AT = new Date('2022-05-01T00:00:00Z');

interface PkitsSettings {
  readonly initialPolicySet?: readonly string[];
  readonly initialExplicitPolicy?: boolean;
  readonly initialPolicyMappingInhibit?: boolean;
  readonly initialAnyPolicyInhibit?: boolean;
}

interface PkitsTest {
  readonly number: string;
  readonly section: string;
  readonly name: string;
  readonly ee: string;
  readonly intermediates: readonly string[];
  readonly crls: readonly string[];
  readonly expected: 'valid' | 'invalid';
  readonly settings: 'default' | PkitsSettings;
}

const tests = JSON.parse(readFileSync(join(DIR, 'tests.json'), 'utf8')) as PkitsTest[];
const file = (folder: string, name: string) =>
  new Uint8Array(readFileSync(join(DIR, folder, name)));
const anchor = file('certs', 'TrustAnchorRootCertificate.crt');

/**
 * Tests whose verdict differs from PKITS on purpose, with the reason. The table fails when an
 * entry starts to agree, so it never outlives its reason.
 */
const EXPECTED_EXCEPTIONS: Readonly<Record<string, { reason: string; finding: string }>> = {
  ValidDSASignaturesTest4: {
    reason: 'DSA is not on the algorithm allow-list',
    finding: 'path.algorithms',
  },
  ValidDSAParameterInheritanceTest5: {
    reason: 'DSA is not on the algorithm allow-list',
    finding: 'path.algorithms',
  },
};

/**
 * The findings an invalid path of each PKITS section may fail (or leave undecided) on, so that
 * an invalid verdict is reached for the reason the test is about, not by accident.
 */
const INVALID_BECAUSE: Readonly<Record<string, readonly string[]>> = {
  '4.1': ['path.build', 'path.der'],
  '4.2': ['path.validity'],
  '4.3': ['path.build', 'path.names'],
  '4.4': ['revocation'],
  // Self-issued certificates: revoked keys, or a CRL signing key used as a CA.
  '4.5': ['revocation', 'path.ca', 'path.key-cert-sign'],
  '4.6': ['path.ca', 'path.path-length'],
  // keyCertSign missing on a CA, or cRLSign missing on the CRL issuer (revocation undecided).
  '4.7': ['path.key-cert-sign', 'revocation'],
  '4.8': ['path.policies'],
  '4.9': ['path.policies'],
  '4.10': ['path.policies'],
  '4.11': ['path.policies'],
  '4.12': ['path.policies'],
  '4.13': ['path.name-constraints'],
  '4.14': ['revocation'],
  '4.15': ['revocation'],
  '4.16': ['path.critical-extensions'],
};

async function verdict(t: PkitsTest) {
  const s = t.settings === 'default' ? {} : t.settings;
  const options: ChainOptions = {
    anchors: { certificates: [anchor] },
    at: AT,
    crls: t.crls.map((c) => file('crls', c)),
    requireRevocation: true,
    profile: 'x509',
    policy: {
      ...(s.initialPolicySet === undefined ? {} : { initialPolicySet: s.initialPolicySet }),
      ...(s.initialExplicitPolicy === undefined
        ? {}
        : { initialExplicitPolicy: s.initialExplicitPolicy }),
      ...(s.initialPolicyMappingInhibit === undefined
        ? {}
        : { initialPolicyMappingInhibit: s.initialPolicyMappingInhibit }),
      ...(s.initialAnyPolicyInhibit === undefined
        ? {}
        : { initialAnyPolicyInhibit: s.initialAnyPolicyInhibit }),
    },
  };
  const report = await verifyChain(
    [file('certs', t.ee), ...t.intermediates.map((c) => file('certs', c))],
    options,
  );
  return { valid: report.outcome === 'verified', report };
}

describe('NIST PKITS', () => {
  it('has 224 default and 37 variant entries', () => {
    expect(tests.filter((t) => t.settings === 'default')).toHaveLength(224);
    expect(tests.filter((t) => t.settings !== 'default')).toHaveLength(37);
  });

  for (const t of tests) {
    it(`${t.number} ${t.name}`, async () => {
      const { valid, report } = await verdict(t);
      const agrees = valid === (t.expected === 'valid');
      const problems = report.checks
        .filter((c) => c.status !== 'pass' && c.status !== 'skip')
        .map((c) => `${c.id}: ${c.detail}`)
        .join('\n');
      const unhappy = report.checks.filter((c) => c.status === 'fail' || c.status === 'warn');
      const exception = EXPECTED_EXCEPTIONS[t.name];
      if (exception !== undefined) {
        expect(agrees, `exception now agrees (${exception.reason})`).toBe(false);
        expect(unhappy.map((c) => c.id)).toContain(exception.finding);
        return;
      }
      expect(agrees, `${t.expected} expected, got ${report.outcome}\n${problems}`).toBe(true);
      if (t.expected === 'invalid') {
        const because = INVALID_BECAUSE[t.section] ?? [];
        expect(
          unhappy.some((c) => because.includes(c.id)),
          `fails for another reason than ${because.join(', ')}\n${problems}`,
        ).toBe(true);
      }
    });
  }
});

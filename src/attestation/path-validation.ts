// RFC 5280 6.1.2-6.1.5: basic path processing over a built path (signatures aside).
import {
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_certificatePolicies,
  id_ce_cRLDistributionPoints,
  id_ce_extKeyUsage,
  id_ce_inhibitAnyPolicy,
  id_ce_keyUsage,
  id_ce_nameConstraints,
  id_ce_policyConstraints,
  id_ce_policyMappings,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
} from '../pki/index.js';
import { bytesEqual } from '../shared/index.js';
import { basicConstraintsOf, extension, keyUsageBits, type ParsedCert } from './certificate.js';
import { parseSubjectAltName, type GeneralName } from './general-names.js';
import { constrainedNames, NameConstraintState, parseNameConstraints } from './name-constraints.js';
import { namesMatch } from './names.js';
import {
  parseCertificatePolicies,
  parseInhibitAnyPolicy,
  parsePolicyConstraints,
  parsePolicyMappings,
  PolicyState,
  type CertPolicyInfo,
  type PolicyInputs,
} from './policy-tree.js';

/** Extensions path processing recognizes (RFC 5280 4.2); any other critical one fails the path. */
export const PROCESSED_EXTENSIONS: ReadonlySet<string> = new Set([
  id_ce_keyUsage,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_ce_authorityKeyIdentifier,
  id_ce_certificatePolicies,
  id_ce_policyMappings,
  id_ce_policyConstraints,
  id_ce_inhibitAnyPolicy,
  id_ce_nameConstraints,
  // Processed by revocation checking (RFC 5280 6.3.3).
  id_ce_cRLDistributionPoints,
]);

export type { PolicyInputs };

export interface PathProcessingOptions {
  readonly policy?: PolicyInputs;
  /**
   * The attestamp profile: names chain by their exact encoding, every certificate must be
   * version 3, and the anchor certificate's own basicConstraints, keyUsage and pathLen bind the
   * path (it is processed as the first certificate, issued by itself).
   */
  readonly strict?: boolean;
}

export interface PathCheck {
  readonly id: string;
  readonly ok: boolean;
  readonly detail: string;
  /** False for a passing check that found nothing to process (no policy or name extension). */
  readonly applies: boolean;
}

export interface PathProcessing {
  readonly checks: readonly PathCheck[];
  /** 6.1.6: the valid policies at the end of the path (anyPolicy included), when it passed. */
  readonly policies: readonly string[] | undefined;
  readonly ok: boolean;
}

/** RFC 5280 6.1: a certificate whose issuer and subject names match. */
export function isSelfIssued(cert: ParsedCert): boolean {
  return namesMatch(cert.subject, cert.issuer);
}

function policyInfo(cert: ParsedCert, selfIssued: boolean): CertPolicyInfo {
  const cp = extension(cert, id_ce_certificatePolicies);
  const pm = extension(cert, id_ce_policyMappings);
  const pc = extension(cert, id_ce_policyConstraints);
  const ia = extension(cert, id_ce_inhibitAnyPolicy);
  return {
    policies: cp === undefined ? undefined : parseCertificatePolicies(cp.value),
    mappings: pm === undefined ? undefined : parsePolicyMappings(pm.value),
    constraints: pc === undefined ? undefined : parsePolicyConstraints(pc.value),
    inhibitAnyPolicy: ia === undefined ? undefined : parseInhibitAnyPolicy(ia.value),
    selfIssued,
  };
}

const POLICY_EXTENSIONS = [
  id_ce_certificatePolicies,
  id_ce_policyMappings,
  id_ce_policyConstraints,
  id_ce_inhibitAnyPolicy,
];

/**
 * Runs 6.1.3 (a)(4), (b)-(f), 6.1.4 (a), (b), (g)-(o) and 6.1.5 over `path` (leaf first, anchor
 * last; its signatures already verified by the builder). Indices in details are leaf-first.
 */
export function processPath(
  path: readonly ParsedCert[],
  options: PathProcessingOptions = {},
): PathProcessing {
  const strict = options.strict === true;
  // The certificates processed, leaf first; the anchor is trust anchor information (6.1.1 (d))
  // except in the strict profile.
  const proc = strict ? path : path.slice(0, -1);
  const n = proc.length;
  const issuerOf = (j: number): ParsedCert => path[Math.min(j + 1, path.length - 1)]!;

  let names = '';
  let ca = '';
  let keyCertSign = '';
  let pathLength = '';
  let critical = '';
  let policyFail = '';
  let nameFail = '';

  // In the strict profile the anchor certificate (processed first) binds CA flags, pathLen and
  // keyUsage only; policies and name constraints start below it, as RFC 5280 6.1.1 (d) has it.
  const skip = strict && n > 0 ? 1 : 0;
  const below = proc.slice(0, n - skip);
  const policyInputs = options.policy ?? {};
  const policyApplies =
    !strict ||
    (policyInputs.initialPolicySet ?? []).length > 0 ||
    policyInputs.initialExplicitPolicy === true ||
    policyInputs.initialPolicyMappingInhibit === true ||
    policyInputs.initialAnyPolicyInhibit === true ||
    below.some((c) => POLICY_EXTENSIONS.some((oid) => extension(c, oid) !== undefined));
  const namesApply =
    !strict || below.some((c) => extension(c, id_ce_nameConstraints) !== undefined);

  const policy = new PolicyState(n - skip, policyInputs);
  const constraints = new NameConstraintState();
  // 6.1.2 (k): max_path_length.
  let maxPathLength = n;
  let policies: string[] | undefined;

  for (let i = 1; i <= n; i++) {
    const j = n - i;
    const cert = proc[j]!;
    const issuer = issuerOf(j);
    const selfIssued = isSelfIssued(cert);
    const last = i === n;
    const anchorCert = i <= skip;
    // The policy index of this certificate (6.1.3 (d) counts from the first below the anchor).
    const pi = i - skip;

    // 6.1.3 (a)(4): the issuer name is the working_issuer_name.
    const chained = strict
      ? bytesEqual(cert.issuer, issuer.subject)
      : namesMatch(cert.issuer, issuer.subject);
    if (!chained) names ||= `certificate ${j} names an issuer that is not certificate ${j + 1}`;

    // RFC 5280 4.2: a certificate MUST NOT include more than one instance of an extension.
    const oids = cert.extensions.map((e) => e.oid);
    if (new Set(oids).size !== oids.length) critical ||= `certificate ${j} repeats an extension`;
    const unknown = cert.extensions.find((e) => e.critical && !PROCESSED_EXTENSIONS.has(e.oid));
    // 6.1.4 (o), 6.1.5 (f): unrecognized critical extensions.
    if (unknown !== undefined)
      critical ||= `certificate ${j} has the unknown critical extension ${unknown.oid}`;
    if (strict && cert.version !== 3) critical ||= `certificate ${j} is not version 3`;

    // 6.1.3 (b), (c): the subject and alternative names against the constraints so far,
    // skipped for a self-issued intermediate.
    if (!anchorCert && !constraints.empty && (last || !selfIssued)) {
      try {
        const sanExt = extension(cert, id_ce_subjectAltName);
        const san: GeneralName[] = sanExt === undefined ? [] : parseSubjectAltName(sanExt.value);
        for (const name of constrainedNames(cert.subject, san)) {
          const why = constraints.violation(name);
          if (why !== undefined) {
            nameFail ||= `certificate ${j}: ${why}`;
            break;
          }
        }
      } catch {
        nameFail ||= `certificate ${j}: malformed subjectAltName`;
      }
    }

    // 6.1.3 (d)-(f)
    let info: CertPolicyInfo | undefined;
    try {
      if (!anchorCert) info = policyInfo(cert, selfIssued);
      if (info !== undefined && policyFail === '' && !policy.processCertificate(pi, info))
        policyFail = `no valid policy at certificate ${j} and an explicit policy is required`;
    } catch (error) {
      policyFail ||= `certificate ${j}: ${error instanceof Error ? error.message : 'bad policy extension'}`;
    }

    if (!last) {
      // 6.1.4 (a), (b), (h)-(j)
      if (info !== undefined && policyFail === '') {
        try {
          const why = policy.prepareNext(pi, info);
          if (why !== undefined) policyFail = `certificate ${j}: ${why}`;
        } catch (error) {
          policyFail ||= `certificate ${j}: ${error instanceof Error ? error.message : 'policy'}`;
        }
      }
      // 6.1.4 (g)
      const nc = anchorCert ? undefined : extension(cert, id_ce_nameConstraints);
      if (nc !== undefined) {
        try {
          constraints.add(parseNameConstraints(nc.value));
        } catch {
          nameFail ||= `certificate ${j}: malformed nameConstraints`;
        }
      }
      // 6.1.4 (k): a CA (a v1 or v2 certificate cannot say so, and is refused).
      const bc = basicConstraintsOf(cert);
      if (bc?.ca !== true) ca ||= `certificate ${j} issues certificate ${j - 1} but is not a CA`;
      // 6.1.4 (l), (m): path length, not counting self-issued certificates.
      if (!selfIssued) {
        if (maxPathLength <= 0) pathLength ||= `certificate ${j - 1} exceeds a pathLenConstraint`;
        maxPathLength--;
      }
      if (bc?.pathLen !== undefined && bc.pathLen < maxPathLength) maxPathLength = bc.pathLen;
      // 6.1.4 (n)
      const ku = keyUsageBits(cert);
      if (ku !== undefined && !ku.has(5)) keyCertSign ||= `certificate ${j} lacks keyCertSign`;
    } else if (info !== undefined && policyFail === '') {
      // 6.1.5 (a), (b), (g)
      policies = policy.wrapUp(info);
      if (policies === undefined)
        policyFail = 'the valid policy tree is empty and an explicit policy is required';
    }
  }

  const checks: PathCheck[] = [
    {
      id: 'path.ca',
      ok: ca === '',
      detail: ca === '' ? 'every issuer is a CA' : ca,
      applies: true,
    },
    {
      id: 'path.key-cert-sign',
      ok: keyCertSign === '',
      detail:
        keyCertSign === '' ? 'every issuer may sign certificates' : 'an issuer lacks keyCertSign',
      applies: true,
    },
    {
      id: 'path.path-length',
      ok: pathLength === '',
      detail:
        pathLength === '' ? 'path length constraints hold' : 'a pathLenConstraint is exceeded',
      applies: true,
    },
    {
      id: 'path.names',
      ok: names === '',
      detail: names === '' ? 'issuer and subject names chain' : 'an issuer name does not match',
      applies: true,
    },
    {
      id: 'path.critical-extensions',
      ok: critical === '',
      detail: critical === '' ? 'no unknown critical or repeated extension' : critical,
      applies: true,
    },
    {
      id: 'path.policies',
      ok: policyFail === '',
      detail:
        policyFail === ''
          ? `certificate policies hold (${policies === undefined || policies.length === 0 ? 'no valid policy, none required' : `valid: ${policies.join(', ')}`})`
          : policyFail,
      applies: policyApplies || policyFail !== '',
    },
    {
      id: 'path.name-constraints',
      ok: nameFail === '',
      detail: nameFail === '' ? 'every name is within the name constraints' : nameFail,
      applies: namesApply || nameFail !== '',
    },
  ];
  return { checks, policies, ok: checks.every((c) => c.ok) };
}

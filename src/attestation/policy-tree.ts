// RFC 5280 6.1.2-6.1.5 (the policy parts): the valid policy tree and its state variables.
import { derReader, id_anyPolicy, PkiError } from '../pki/index.js';

const { readTlv, childrenOf, readOid, readUnsigned } = derReader;

const anyPolicy = id_anyPolicy;

/**
 * The policy tree grows with policies times mappings per level; real paths hold a handful of
 * nodes. Beyond this many the path is refused rather than spending quadratic time on it.
 */
const MAX_POLICY_NODES = 1000;
/** Policies or mappings in one extension. */
const MAX_POLICY_ENTRIES = 64;

/**
 * certificatePolicies ::= SEQUENCE SIZE (1..MAX) OF PolicyInformation
 * PolicyInformation ::= SEQUENCE { policyIdentifier CertPolicyId,
 *   policyQualifiers SEQUENCE SIZE (1..MAX) OF PolicyQualifierInfo OPTIONAL }
 * Returns the policy OIDs; qualifiers are not processed (RFC 5280 4.2.1.4 leaves them to the user).
 */
export function parseCertificatePolicies(value: Uint8Array): string[] {
  const top = readTlv(value, 0);
  if (top.tag !== 0x30)
    throw new PkiError('extension-invalid', 'certificatePolicies not a SEQUENCE');
  const out: string[] = [];
  const infos = childrenOf(value, top);
  if (infos.length === 0 || infos.length > MAX_POLICY_ENTRIES)
    throw new PkiError('extension-invalid', 'bad number of policies');
  for (const info of infos) {
    if (info.tag !== 0x30) throw new PkiError('extension-invalid', 'PolicyInformation');
    const [idT, qualifiers, ...rest] = childrenOf(value, info);
    if (rest.length > 0 || (qualifiers !== undefined && qualifiers.tag !== 0x30))
      throw new PkiError('extension-invalid', 'PolicyInformation');
    const id = readOid(value, idT);
    // RFC 5280 4.2.1.4: a policy OID MUST NOT appear more than once.
    if (out.includes(id)) throw new PkiError('extension-invalid', 'repeated policy');
    out.push(id);
  }
  return out;
}

export interface PolicyMapping {
  readonly issuerDomainPolicy: string;
  readonly subjectDomainPolicy: string;
}

/** PolicyMappings ::= SEQUENCE SIZE (1..MAX) OF SEQUENCE { issuerDomainPolicy, subjectDomainPolicy } */
export function parsePolicyMappings(value: Uint8Array): PolicyMapping[] {
  const top = readTlv(value, 0);
  if (top.tag !== 0x30) throw new PkiError('extension-invalid', 'policyMappings not a SEQUENCE');
  const pairs = childrenOf(value, top);
  if (pairs.length === 0 || pairs.length > MAX_POLICY_ENTRIES)
    throw new PkiError('extension-invalid', 'bad number of policy mappings');
  return pairs.map((p) => {
    const [i, s, ...rest] = childrenOf(value, p);
    if (rest.length > 0) throw new PkiError('extension-invalid', 'policy mapping');
    return { issuerDomainPolicy: readOid(value, i), subjectDomainPolicy: readOid(value, s) };
  });
}

export interface PolicyConstraints {
  readonly requireExplicitPolicy: number | undefined;
  readonly inhibitPolicyMapping: number | undefined;
}

function skipCerts(value: Uint8Array, t: derReader.Tlv | undefined, tag: number): number {
  const n = readUnsigned(value, t, tag);
  // Anything above the path length limit means "never" for every path we accept.
  return n > 1000n ? 1000 : Number(n);
}

/** PolicyConstraints ::= SEQUENCE { requireExplicitPolicy [0] SkipCerts OPTIONAL, inhibitPolicyMapping [1] SkipCerts OPTIONAL } */
export function parsePolicyConstraints(value: Uint8Array): PolicyConstraints {
  const top = readTlv(value, 0);
  if (top.tag !== 0x30) throw new PkiError('extension-invalid', 'policyConstraints not a SEQUENCE');
  let requireExplicitPolicy: number | undefined;
  let inhibitPolicyMapping: number | undefined;
  const fields = childrenOf(value, top);
  // RFC 5280 4.2.1.11: conforming CAs MUST NOT issue an empty policyConstraints.
  if (fields.length === 0) throw new PkiError('extension-invalid', 'empty policyConstraints');
  for (const f of fields) {
    if (f.tag === 0x80 && requireExplicitPolicy === undefined)
      requireExplicitPolicy = skipCerts(value, f, 0x80);
    else if (f.tag === 0x81 && inhibitPolicyMapping === undefined)
      inhibitPolicyMapping = skipCerts(value, f, 0x81);
    else throw new PkiError('extension-invalid', 'unexpected field in policyConstraints');
  }
  return { requireExplicitPolicy, inhibitPolicyMapping };
}

/** InhibitAnyPolicy ::= SkipCerts */
export function parseInhibitAnyPolicy(value: Uint8Array): number {
  return skipCerts(value, readTlv(value, 0), 0x02);
}

/** The user inputs of RFC 5280 6.1.1 (c), (e), (f), (g). */
export interface PolicyInputs {
  /** user-initial-policy-set; absent or empty means any-policy. */
  readonly initialPolicySet?: readonly string[];
  readonly initialExplicitPolicy?: boolean;
  readonly initialPolicyMappingInhibit?: boolean;
  readonly initialAnyPolicyInhibit?: boolean;
}

interface PolicyNode {
  readonly validPolicy: string;
  expectedPolicySet: Set<string>;
  readonly parent: PolicyNode | undefined;
  readonly children: PolicyNode[];
  readonly depth: number;
}

/** What one certificate brings to policy processing. */
export interface CertPolicyInfo {
  readonly policies: readonly string[] | undefined;
  readonly mappings: readonly PolicyMapping[] | undefined;
  readonly constraints: PolicyConstraints | undefined;
  readonly inhibitAnyPolicy: number | undefined;
  readonly selfIssued: boolean;
}

/** The policy part of the state of RFC 5280 6.1.2 over a path of n certificates. */
export class PolicyState {
  /** undefined is the NULL tree. */
  private root: PolicyNode | undefined;
  /** levels[d]: the nodes at depth d. */
  private levels: PolicyNode[][];
  private nodes = 1;
  explicitPolicy: number;
  private policyMapping: number;
  private inhibitAnyPolicy: number;

  constructor(
    private readonly n: number,
    private readonly inputs: PolicyInputs,
  ) {
    // 6.1.2 (a), (d), (e), (f).
    this.root = {
      validPolicy: anyPolicy,
      expectedPolicySet: new Set([anyPolicy]),
      parent: undefined,
      children: [],
      depth: 0,
    };
    this.levels = [[this.root]];
    this.explicitPolicy = inputs.initialExplicitPolicy === true ? 0 : n + 1;
    this.inhibitAnyPolicy = inputs.initialAnyPolicyInhibit === true ? 0 : n + 1;
    this.policyMapping = inputs.initialPolicyMappingInhibit === true ? 0 : n + 1;
  }

  get isNull(): boolean {
    return this.root === undefined;
  }

  private addChild(parent: PolicyNode, validPolicy: string, expected: Set<string>): void {
    // Fail closed on a tree that would cost more than any sane path (see MAX_POLICY_NODES).
    if (++this.nodes > MAX_POLICY_NODES)
      throw new PkiError('extension-invalid', 'the policy tree is too large');
    const node: PolicyNode = {
      validPolicy,
      expectedPolicySet: expected,
      parent,
      children: [],
      depth: parent.depth + 1,
    };
    parent.children.push(node);
    (this.levels[node.depth] ??= []).push(node);
  }

  private remove(node: PolicyNode): void {
    const stack = [node];
    while (stack.length > 0) {
      const x = stack.pop()!;
      const level = this.levels[x.depth];
      if (level !== undefined) this.levels[x.depth] = level.filter((y) => y !== x);
      this.nodes--;
      stack.push(...x.children);
    }
    if (node.parent === undefined) {
      this.root = undefined;
      this.levels = [];
      return;
    }
    const siblings = node.parent.children;
    siblings.splice(siblings.indexOf(node), 1);
  }

  /** Deletes every node above `depth` without children, bottom up; NULL when the root goes. */
  private prune(depth: number): void {
    for (let d = depth - 1; d >= 0 && this.root !== undefined; d--) {
      for (const x of [...(this.levels[d] ?? [])]) if (x.children.length === 0) this.remove(x);
    }
  }

  /** 6.1.3 (d), (e), (f) for certificate i (1-based); returns false when (f) fails. */
  processCertificate(i: number, info: CertPolicyInfo): boolean {
    if (this.root !== undefined && info.policies !== undefined) {
      const parents = this.levels[i - 1] ?? [];
      // (d)(1): each policy other than anyPolicy.
      for (const p of info.policies) {
        if (p === anyPolicy) continue;
        const matching = parents.filter((x) => x.expectedPolicySet.has(p));
        if (matching.length > 0) for (const x of matching) this.addChild(x, p, new Set([p]));
        else
          for (const x of parents.filter((y) => y.validPolicy === anyPolicy))
            this.addChild(x, p, new Set([p]));
      }
      // (d)(2): anyPolicy, unless inhibited (a self-issued intermediate still passes it on).
      if (
        info.policies.includes(anyPolicy) &&
        (this.inhibitAnyPolicy > 0 || (i < this.n && info.selfIssued))
      ) {
        for (const x of parents) {
          const present = new Set(x.children.map((c) => c.validPolicy));
          for (const e of x.expectedPolicySet)
            if (!present.has(e)) this.addChild(x, e, new Set([e]));
        }
      }
      // (d)(3): prune.
      this.prune(i);
      if ((this.levels[i] ?? []).length === 0) {
        this.root = undefined;
        this.levels = [];
      }
    } else {
      // (e): no certificatePolicies extension.
      this.root = undefined;
      this.levels = [];
    }
    // (f)
    return this.explicitPolicy > 0 || this.root !== undefined;
  }

  /** 6.1.4 (a), (b), (h), (i), (j) for intermediate i; returns a reason when (a) fails. */
  prepareNext(i: number, info: CertPolicyInfo): string | undefined {
    if (info.mappings !== undefined) {
      // (a): anyPolicy is never mapped from or to.
      if (
        info.mappings.some(
          (m) => m.issuerDomainPolicy === anyPolicy || m.subjectDomainPolicy === anyPolicy,
        )
      )
        return 'a policy mapping maps from or to anyPolicy';
      // (b)
      if (this.root !== undefined) {
        const mapped = new Map<string, Set<string>>();
        for (const m of info.mappings) {
          const s = mapped.get(m.issuerDomainPolicy) ?? new Set<string>();
          s.add(m.subjectDomainPolicy);
          mapped.set(m.issuerDomainPolicy, s);
        }
        for (const [idp, subjects] of mapped) {
          const level = this.levels[i] ?? [];
          const nodes = level.filter((x) => x.validPolicy === idp);
          if (this.policyMapping > 0) {
            // (b)(1)
            if (nodes.length > 0) for (const x of nodes) x.expectedPolicySet = new Set(subjects);
            else {
              const any = level.find((x) => x.validPolicy === anyPolicy);
              if (any?.parent !== undefined) this.addChild(any.parent, idp, new Set(subjects));
            }
          } else {
            // (b)(2)
            for (const x of nodes) this.remove(x);
            this.prune(i);
            if (this.isNull || (this.levels[i] ?? []).length === 0) {
              this.root = undefined;
              this.levels = [];
              break;
            }
          }
        }
      }
    }
    // (h): counters decrease below each certificate that is not self-issued.
    if (!info.selfIssued) {
      if (this.explicitPolicy > 0) this.explicitPolicy--;
      if (this.policyMapping > 0) this.policyMapping--;
      if (this.inhibitAnyPolicy > 0) this.inhibitAnyPolicy--;
    }
    // (i)
    const r = info.constraints?.requireExplicitPolicy;
    if (r !== undefined && r < this.explicitPolicy) this.explicitPolicy = r;
    const m = info.constraints?.inhibitPolicyMapping;
    if (m !== undefined && m < this.policyMapping) this.policyMapping = m;
    // (j)
    const a = info.inhibitAnyPolicy;
    if (a !== undefined && a < this.inhibitAnyPolicy) this.inhibitAnyPolicy = a;
    return undefined;
  }

  /**
   * 6.1.5 (a), (b), (g) after the last certificate; returns the authority-and-user policies
   * (the valid policy nodes at depth n), or undefined when the path fails policy processing.
   */
  wrapUp(last: CertPolicyInfo): string[] | undefined {
    // (a), (b)
    if (this.explicitPolicy > 0) this.explicitPolicy--;
    if (last.constraints?.requireExplicitPolicy === 0) this.explicitPolicy = 0;
    // (g)
    const user = this.inputs.initialPolicySet ?? [];
    const userAny = user.length === 0 || user.includes(anyPolicy);
    if (this.root !== undefined && !userAny) {
      // (g)(iii)(1), (2): the valid policy node set.
      const nodeSet: PolicyNode[] = [];
      const stack = [this.root];
      while (stack.length > 0) {
        const x = stack.pop()!;
        if (x.parent?.validPolicy === anyPolicy || x.parent === undefined) nodeSet.push(x);
        if (x.validPolicy === anyPolicy) stack.push(...x.children);
      }
      // (g)(iii)(2): drop nodes outside the user set.
      for (const x of nodeSet) {
        if (x.parent === undefined) continue;
        if (x.validPolicy !== anyPolicy && !user.includes(x.validPolicy)) this.remove(x);
      }
      // (g)(iii)(3): an anyPolicy leaf at depth n becomes the user policies it stands for.
      const leafAny = (this.levels[this.n] ?? []).find((x) => x.validPolicy === anyPolicy);
      if (leafAny?.parent !== undefined) {
        const parent = leafAny.parent;
        const present = new Set(nodeSet.map((x) => x.validPolicy));
        this.remove(leafAny);
        for (const p of user) if (!present.has(p)) this.addChild(parent, p, new Set([p]));
      }
      // (g)(iii)(4)
      this.prune(this.n);
      if (!this.isNull && (this.levels[this.n] ?? []).length === 0) {
        this.root = undefined;
        this.levels = [];
      }
    }
    if (this.explicitPolicy > 0 || this.root !== undefined)
      return (this.levels[this.n] ?? []).map((x) => x.validPolicy);
    return undefined;
  }
}

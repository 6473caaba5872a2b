// RFC 5280 4.2.1.10 and 6.1.3 (b), (c), 6.1.4 (g): name constraints on DN, rfc822, DNS, URI, IP.
import { derReader, PkiError } from '../pki/index.js';
import { parseGeneralName, type GeneralName, type GeneralNameKind } from './general-names.js';
import { emailAddressesIn, isEmptyName, nameParses, nameWithin } from './names.js';

const { readTlv, childrenOf } = derReader;

/** One certificate's subtrees (GeneralSubtrees), as bases. */
export interface NameConstraints {
  readonly permitted: readonly GeneralName[] | undefined;
  readonly excluded: readonly GeneralName[] | undefined;
}

/** Subtrees from one certificate; more would only be a denial of service. */
const MAX_SUBTREES = 256;

/**
 * NameConstraints ::= SEQUENCE { permittedSubtrees [0] GeneralSubtrees OPTIONAL,
 *   excludedSubtrees [1] GeneralSubtrees OPTIONAL }
 * GeneralSubtree ::= SEQUENCE { base GeneralName, minimum [0] BaseDistance DEFAULT 0,
 *   maximum [1] BaseDistance OPTIONAL }
 */
export function parseNameConstraints(value: Uint8Array): NameConstraints {
  const top = readTlv(value, 0);
  if (top.tag !== 0x30) throw new PkiError('extension-invalid', 'nameConstraints not a SEQUENCE');
  let permitted: GeneralName[] | undefined;
  let excluded: GeneralName[] | undefined;
  const fields = childrenOf(value, top);
  if (fields.length === 0)
    // RFC 5280 4.2.1.10: at least one of the two MUST be present.
    throw new PkiError('extension-invalid', 'nameConstraints is empty');
  for (const f of fields) {
    const subtrees = childrenOf(value, f);
    if (subtrees.length === 0 || subtrees.length > MAX_SUBTREES)
      throw new PkiError('extension-invalid', 'bad number of subtrees');
    const bases = subtrees.map((s) => {
      const [base, ...rest] = childrenOf(value, s);
      if (base === undefined) throw new PkiError('extension-invalid', 'subtree without base');
      // RFC 5280 4.2.1.10: minimum MUST be zero and maximum MUST be absent.
      if (rest.length > 0)
        throw new PkiError('extension-invalid', 'subtree minimum or maximum is present');
      return parseGeneralName(value, base);
    });
    if (f.tag === 0xa0 && permitted === undefined) permitted = bases;
    else if (f.tag === 0xa1 && excluded === undefined) excluded = bases;
    else throw new PkiError('extension-invalid', 'unexpected field in nameConstraints');
  }
  return { permitted, excluded };
}

function lower(s: string): string {
  return s.toLowerCase();
}

/** dNSName: the base plus zero or more labels on the left; an empty base matches all. */
function dnsWithin(name: string, base: string): boolean {
  const n = lower(name).replace(/\.$/u, '');
  let b = lower(base).replace(/\.$/u, '');
  if (b === '') return true;
  if (b.startsWith('.')) {
    b = b.slice(1);
    return n.endsWith(`.${b}`);
  }
  return n === b || n.endsWith(`.${b}`);
}

/**
 * rfc822Name: a base with '@' is one mailbox; a base starting with '.' is any host below that
 * domain; any other base is all mailboxes on exactly that host.
 */
function mailWithin(name: string, base: string): boolean {
  const at = name.lastIndexOf('@');
  if (at <= 0) return false;
  const host = lower(name.slice(at + 1));
  if (base.includes('@')) {
    const bat = base.lastIndexOf('@');
    // Local parts are case-sensitive, hosts are not.
    return name.slice(0, at) === base.slice(0, bat) && host === lower(base.slice(bat + 1));
  }
  const b = lower(base);
  if (b.startsWith('.')) return host.endsWith(b);
  return host === b;
}

/** The host of a URI with an authority; undefined when it has none. */
function uriHost(uri: string): string | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)/iu.exec(uri);
  return m === null || m[1] === '' ? undefined : lower(m[1]!);
}

/** uniformResourceIdentifier: the host of the URI against a host or a '.domain' base. */
function uriWithin(name: string, base: string): boolean {
  const host = uriHost(name);
  if (host === undefined) return false;
  const b = lower(base);
  if (b.startsWith('.')) return host.endsWith(b);
  return host === b;
}

/** iPAddress: base is address then mask (8 or 32 octets), the name 4 or 16 octets. */
function ipWithin(name: Uint8Array, base: Uint8Array): boolean {
  if (base.length !== name.length * 2) return false;
  for (let i = 0; i < name.length; i++) {
    const mask = base[name.length + i]!;
    if ((name[i]! & mask) !== (base[i]! & mask)) return false;
  }
  return true;
}

/** Whether `name` lies in the subtree `base` of the same kind; undefined for kinds we do not process. */
function within(name: GeneralName, base: GeneralName): boolean | undefined {
  switch (base.kind) {
    case 'directory':
      return name.kind === 'directory' && nameWithin(name.name, base.name);
    case 'dns':
      return name.kind === 'dns' && dnsWithin(name.value, base.value);
    case 'rfc822':
      return name.kind === 'rfc822' && mailWithin(name.value, base.value);
    case 'uri':
      return name.kind === 'uri' && uriWithin(name.value, base.value);
    case 'ip':
      return name.kind === 'ip' && ipWithin(name.bytes, base.bytes);
    case 'rid':
    case 'other':
    case 'x400':
    case 'edi':
      return undefined;
  }
}

/** The names of a certificate that name constraints apply to. */
export function constrainedNames(subject: Uint8Array, san: readonly GeneralName[]): GeneralName[] {
  const out: GeneralName[] = [];
  if (!isEmptyName(subject)) out.push({ kind: 'directory', name: subject });
  // RFC 5280 4.2.1.10: rfc822Name constraints also apply to emailAddress in the subject DN.
  for (const m of emailAddressesIn(subject)) out.push({ kind: 'rfc822', value: m });
  out.push(...san);
  return out;
}

/** The state of 6.1.2 (b), (c): each certificate's permitted sets intersected, excluded joined. */
export class NameConstraintState {
  private readonly permitted: (readonly GeneralName[])[] = [];
  private readonly excluded: GeneralName[] = [];

  /** 6.1.4 (g): add one certificate's constraints. */
  add(nc: NameConstraints): void {
    if (nc.permitted !== undefined) this.permitted.push(nc.permitted);
    if (nc.excluded !== undefined) this.excluded.push(...nc.excluded);
  }

  get empty(): boolean {
    return this.permitted.length === 0 && this.excluded.length === 0;
  }

  /** 6.1.3 (b), (c): why `name` is not allowed, or undefined when it is. */
  violation(name: GeneralName): string | undefined {
    const kind: GeneralNameKind = name.kind;
    // Fail closed: a directory name that cannot be read can be neither shown within a permitted
    // subtree nor shown outside an excluded one, nor searched for emailAddress (rfc822).
    if (name.kind === 'directory' && !nameParses(name.name)) {
      const constrains = (b: GeneralName) => b.kind === 'directory' || b.kind === 'rfc822';
      if (this.permitted.some((set) => set.some(constrains)) || this.excluded.some(constrains))
        return 'a directory name that cannot be parsed is under directory or email constraints';
    }
    for (const set of this.permitted) {
      const sameKind = set.filter((b) => b.kind === kind);
      // A set without subtrees of this kind does not constrain it.
      if (sameKind.length === 0) continue;
      const results = sameKind.map((b) => within(name, b));
      // RFC 5280 4.2.1.10: a constrained name form we cannot process is rejected.
      if (results.includes(undefined))
        return `a ${kind} name form is constrained but not supported`;
      if (!results.includes(true)) return `${describe(name)} is outside the permitted subtrees`;
    }
    for (const b of this.excluded) {
      if (b.kind !== kind) continue;
      const r = within(name, b);
      if (r === undefined) return `a ${kind} name form is constrained but not supported`;
      if (r) return `${describe(name)} is within an excluded subtree`;
    }
    return undefined;
  }
}

function describe(name: GeneralName): string {
  switch (name.kind) {
    case 'rfc822':
    case 'dns':
    case 'uri':
      return `the ${name.kind} name '${name.value}'`;
    case 'directory':
      return 'the directory name';
    case 'ip':
      return 'the IP address';
    case 'rid':
    case 'other':
    case 'x400':
    case 'edi':
      return `the ${name.kind} name`;
  }
}

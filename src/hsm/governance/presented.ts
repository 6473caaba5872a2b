// Principals authenticated outside the HSM (a verified JWT bearer token, a mapped TLS client
// certificate): their roles and partition scope come from that credential, not from the role
// table, and are checked against the same GOVERNED table; quorum rules apply to them as to
// anyone (a guarded call becomes an approval request with them as requester). Their names are
// qualified by how they were verified (jwt:<sub>, mtls:<name>), so that no presented
// principal can ever be taken for a local officer or principal of the same name: local names
// cannot hold a ':' (rules.ts isPrincipalName).
import { HsmError } from '../errors.js';
import { isPrincipalName } from './rules.js';
import { ROLE_SCOPES, type Role } from './roles.js';

/** How a presented principal's credential was verified: a bearer token, a client certificate. */
export const PRESENTED_VIAS = ['jwt', 'mtls'] as const;
export type PresentedVia = (typeof PRESENTED_VIAS)[number];

/**
 * A principal whose credential the caller (the REST API) verified. `roles` hold in each
 * partition named by `partitions` where the role exists there ('*' names every partition), and
 * in the device scope for device-so, and for an auditor only with '*' (a credential limited to
 * some partitions never reads the whole device).
 */
export interface PresentedPrincipal {
  /** The qualified name, `<via>:<name>` (presentedName): never a local principal's name. */
  readonly principal: string;
  readonly roles: readonly Role[];
  readonly partitions: readonly string[];
  /** How the credential was verified (jwt, mtls), for the audit log. */
  readonly via: PresentedVia;
}

/**
 * The name a presented principal acts under: the credential's name (a token's sub, a client
 * certificate mapping's principal) qualified by how it was verified, e.g. `jwt:alice`. The
 * audit log, approval requests (requester, closedBy) and every name comparison use it.
 */
export function presentedName(via: PresentedVia, name: string): string {
  return `${via}:${name}`;
}

/**
 * Refuses a presented principal whose name is not qualified by its verification (a caller
 * that passes a bare name could act as the local officer of that name in the role table).
 */
export function checkPresented(p: PresentedPrincipal): void {
  const prefix = `${p.via}:`;
  if (
    !(PRESENTED_VIAS as readonly string[]).includes(p.via) ||
    !p.principal.startsWith(prefix) ||
    !isPrincipalName(p.principal.slice(prefix.length))
  ) {
    throw new HsmError(
      'invalid-argument',
      'a presented principal is named <via>:<name> (jwt:..., mtls:...), never as a local principal',
      { details: { field: 'principal' } },
    );
  }
}

/** The authority of a presented principal (beside an officer's session and a request). */
export interface PresentedAuthority {
  readonly presented: PresentedPrincipal;
}

/**
 * Which of `roles` the presented principal holds in the scope: the device (partition
 * undefined) or the partition of that name. device-so holds everywhere, as in the role table.
 */
export function presentedRole(
  p: PresentedPrincipal,
  roles: readonly Role[],
  partition: string | undefined,
): Role | undefined {
  for (const role of roles) {
    if (!p.roles.includes(role)) continue;
    if (role === 'device-so') return role;
    if (partition === undefined) {
      // A device-scope role other than device-so (an auditor) holds on the device only for a
      // credential not limited to some partitions: a partition's auditor reads that partition.
      if (ROLE_SCOPES[role].includes('device') && p.partitions.includes('*')) return role;
    } else if (
      ROLE_SCOPES[role].includes('partition') &&
      (p.partitions.includes('*') || p.partitions.includes(partition))
    ) {
      return role;
    }
  }
  return undefined;
}

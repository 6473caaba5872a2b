// Principals authenticated outside the HSM (a verified JWT bearer token, a mapped TLS client
// certificate): their roles and partition scope come from that credential, not from the role
// table, and are checked against the same GOVERNED table; quorum rules apply to them as to
// anyone (a guarded call becomes an approval request with them as requester).
import { ROLE_SCOPES, type Role } from './roles.js';

/**
 * A principal whose credential the caller (the REST API) verified. `roles` hold in each
 * partition named by `partitions` where the role exists there ('*' names every partition), and
 * in the device scope for device-so, and for an auditor only with '*' (a credential limited to
 * some partitions never reads the whole device).
 */
export interface PresentedPrincipal {
  readonly principal: string;
  readonly roles: readonly Role[];
  readonly partitions: readonly string[];
  /** How the credential was verified (jwt, mtls), for the audit log. */
  readonly via: string;
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

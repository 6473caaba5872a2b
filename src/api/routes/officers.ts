// Officer and partition administration routes: the principals with their roles, granting and
// revoking a role (device or partition), the exclusion of the device SO from a partition, and
// the revocation (suspension) of a partition's certificates; the same Hsm calls as
// `attestamp officer grant|revoke`, `partition exclude-so|include-so` and `partition revoke`.
import type { OfficerView, Role } from '../../hsm/index.js';
import type { CrlReason } from '../../pki/index.js';
import { ok, principalOf, requireRole, type Handler, type RouteContext } from './types.js';

/** Who reads the principals and their roles: officers and auditors of the scope. */
const OFFICER_READERS: readonly Role[] = ['device-so', 'pso', 'auditor'];

function officerView(o: OfficerView): Record<string, unknown> {
  return {
    name: o.name,
    type: o.type,
    state: o.state,
    createdAt: o.createdAt,
    roles: o.roles.map((r) => ({ role: r.role, partition: r.partition })),
    approverKeys: o.approverKeys,
  };
}

export function officerRoutes({ hsm }: RouteContext): Record<string, Handler> {
  return {
    listOfficers: async (call) => {
      const partition = call.query.partition as string | undefined;
      requireRole(principalOf(call), OFFICER_READERS, partition, 'officer.list');
      return ok({ officers: (await hsm.governance.officers(partition)).map(officerView) });
    },

    grantRole: async (call) => {
      const principal = call.params.principal!;
      const b = call.body as { role: string; partition?: string };
      await hsm.governance.grantRole(principal, b.role, b.partition, {
        presented: principalOf(call),
      });
      return ok({ principal, role: b.role, partition: b.partition ?? null });
    },

    revokeRole: async (call) => {
      const principal = call.params.principal!;
      const role = call.params.role!;
      const partition = call.query.partition as string | undefined;
      await hsm.governance.revokeRole(principal, role, partition, {
        presented: principalOf(call),
      });
      return ok({ principal, role, partition: partition ?? null });
    },

    excludeSo: async (call) => {
      const partition = call.params.partition!;
      await hsm.governance.setSoExclusion(partition, true, { presented: principalOf(call) });
      return ok({ partition, soExcluded: await hsm.governance.soExcluded(partition) });
    },

    includeSo: async (call) => {
      const partition = call.params.partition!;
      await hsm.governance.setSoExclusion(partition, false, { presented: principalOf(call) });
      return ok({ partition, soExcluded: await hsm.governance.soExcluded(partition) });
    },

    revokePartition: async (call) => {
      const partition = call.params.partition!;
      const reason = (call.body as { reason?: CrlReason } | undefined)?.reason ?? 'unspecified';
      const state = await hsm.revokePartition(partition, reason, { presented: principalOf(call) });
      const id = (await hsm.partition(partition)).id;
      return ok({
        partition,
        reason,
        revokedSerials: state.revoked.filter((r) => r.partitionId === id).map((r) => r.serial),
      });
    },
  };
}

// The audit log export, a page at a time (auditor, device-so or pso, as the HSM's audit.export
// entry says): entries after a sequence number, and where the next page starts. A page reads
// its own rows only (a cursor on the sequence number), however long the log.
import { GOVERNED } from '../../hsm/index.js';
import { ok, principalOf, requireRole, type Handler, type RouteContext } from './types.js';

export function auditRoutes({ hsm }: RouteContext): Record<string, Handler> {
  return {
    exportAudit: async (call) => {
      requireRole(principalOf(call), GOVERNED['audit.export']!.roles, undefined, 'audit.export');
      const after = (call.query.after as number | undefined) ?? 0;
      const limit = (call.query.limit as number | undefined) ?? 100;
      const page = await hsm.auditPage({ after, limit }, { presented: principalOf(call) });
      return ok({
        entries: page.entries.map((e) => ({ ...e, details: { ...e.details } })),
        next: page.next,
      });
    },
  };
}

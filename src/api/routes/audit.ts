// The audit log export, a page at a time (auditor, device-so or pso, as the HSM's audit.export
// entry says): entries after a sequence number, and where the next page starts.
import { GOVERNED, type AuditEntry } from '../../hsm/index.js';
import { ok, principalOf, requireRole, type Handler, type RouteContext } from './types.js';

export function auditRoutes({ hsm }: RouteContext): Record<string, Handler> {
  return {
    exportAudit: async (call) => {
      requireRole(principalOf(call), GOVERNED['audit.export']!.roles, undefined, 'audit.export');
      const after = (call.query.after as number | undefined) ?? 0;
      const limit = (call.query.limit as number | undefined) ?? 100;
      const entries: AuditEntry[] = [];
      let more = false;
      // The log is read in sequence order; a page stops at `limit` and says whether more follow.
      for await (const e of hsm.exportAudit({ presented: principalOf(call) })) {
        if (e.seq <= after) continue;
        if (entries.length === limit) {
          more = true;
          break;
        }
        entries.push(e);
      }
      return ok({
        entries: entries.map((e) => ({ ...e, details: { ...e.details } })),
        next: more ? (entries.at(-1)?.seq ?? null) : null,
      });
    },
  };
}

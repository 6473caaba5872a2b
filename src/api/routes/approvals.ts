// Approval request routes: list and show (with the statement, the exact bytes the HSM signed,
// and on demand the exact bytes an approver signs), submit a signed decision, cancel, and
// execute once approved; the same Governance calls as `attestamp approvals`.
import {
  approvalBytes,
  HsmError,
  opensslSignCommand,
  presentedRole,
  type ApprovalDecision,
  type Hsm,
  type PresentedPrincipal,
  type RequestView,
} from '../../hsm/index.js';
import {
  approvalView,
  b64,
  fromB64,
  ok,
  principalOf,
  type Handler,
  type RouteContext,
} from './types.js';

/** Who may read a request: its requester, or an officer or auditor of its scope. */
const READERS = ['device-so', 'pso', 'auditor'] as const;
/** Who may execute another principal's approved request: an officer of its scope. */
const EXECUTORS = ['device-so', 'pso'] as const;

/** Partition ids to names, read once per call (a list checks every request against it). */
type PartitionNames = ReadonlyMap<string, string>;

async function partitionNames(hsm: Hsm): Promise<PartitionNames> {
  return new Map((await hsm.listPartitions()).map((p) => [p.id, p.name]));
}

function partitionName(names: PartitionNames, scope: string): string | undefined {
  if (!scope.startsWith('partition:')) return undefined;
  const id = scope.slice(10);
  // A partition that is gone: a name no credential can be scoped to.
  return names.get(id) ?? `#${id}`;
}

function mayRead(names: PartitionNames, p: PresentedPrincipal, v: RequestView): boolean {
  if (v.body.statement.requester === p.principal) return true;
  return presentedRole(p, READERS, partitionName(names, v.body.statement.scope)) !== undefined;
}

function refused(v: RequestView, p: PresentedPrincipal, needs: readonly string[]): HsmError {
  return new HsmError('role-required', `only the requester or ${needs.join(', ')} of its scope`, {
    details: {
      request: v.id,
      needs: ['requester', ...needs].join('|'),
      scope: v.body.statement.scope,
      principal: p.principal,
    },
  });
}

export function approvalRoutes({ hsm }: RouteContext): Record<string, Handler> {
  const readable = async (call: Parameters<Handler>[0]): Promise<RequestView> => {
    const p = principalOf(call);
    const v = await hsm.governance.showRequest(call.params.id!);
    if (!mayRead(await partitionNames(hsm), p, v)) throw refused(v, p, READERS);
    return v;
  };

  return {
    listApprovals: async (call) => {
      const p = principalOf(call);
      const [all, names] = await Promise.all([hsm.governance.listRequests(), partitionNames(hsm)]);
      return ok({ approvals: all.filter((v) => mayRead(names, p, v)).map(approvalView) });
    },

    getApproval: async (call) => {
      const v = await readable(call);
      const view = approvalView(v);
      const decision = call.query.decision as ApprovalDecision | undefined;
      const fingerprint = call.query.approverKey as string | undefined;
      if (decision !== undefined && fingerprint !== undefined) {
        const key = (await hsm.governance.approverKeys()).find((k) => k.id === fingerprint);
        if (key === undefined) {
          throw new HsmError('approver-key-unknown', 'no approver key with that fingerprint', {
            details: { key: fingerprint },
          });
        }
        const bytes = approvalBytes(v.body.statement, decision, {
          principal: key.body.principal,
          key: fingerprint,
        });
        view.toSign = {
          decision,
          principal: key.body.principal,
          approverKey: fingerprint,
          bytes: b64(bytes),
          openssl: opensslSignCommand(key.body.algorithm, 'request.bin', 'request.sig'),
        };
      }
      return ok(view);
    },

    submitDecision: async (call) => {
      // The approver's signature is the authority; the caller only carries it.
      const b = call.body as { decision: string; approverKey: string; signature: string };
      const v = await hsm.governance.decide(
        call.params.id!,
        b.decision,
        b.approverKey,
        fromB64(b.signature),
      );
      return ok(approvalView(v));
    },

    cancelApproval: async (call) => {
      await hsm.governance.cancel(call.params.id!, { presented: principalOf(call) });
      return ok(approvalView(await hsm.governance.showRequest(call.params.id!)));
    },

    executeApproval: async (call) => {
      const p = principalOf(call);
      const v = await hsm.governance.showRequest(call.params.id!);
      const own = v.body.statement.requester === p.principal;
      if (
        !own &&
        presentedRole(
          p,
          EXECUTORS,
          partitionName(await partitionNames(hsm), v.body.statement.scope),
        ) === undefined
      ) {
        throw refused(v, p, EXECUTORS);
      }
      // The requester's roles are re-proven from its own credential when it executes; an
      // officer executing another's request leaves them to the HSM's role table.
      const done = await hsm.executeRequest(v.id, own ? p : undefined);
      return ok(approvalView(done));
    },
  };
}

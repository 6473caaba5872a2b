// Governance routes: quorum rules (list, show, set or clear) and approver keys (list, the
// enrolment challenge, enrol with proof of possession, revoke); the same Governance calls as
// `attestamp quorum` and `attestamp officer`.
import type { Role } from '../../hsm/index.js';
import { pemField } from './keys.js';
import {
  b64,
  fromB64,
  ok,
  pem,
  principalOf,
  requireRole,
  type Handler,
  type RouteContext,
} from './types.js';

/** Who reads rules and approver keys: officers and auditors of the scope. */
const GOVERNANCE_READERS: readonly Role[] = ['device-so', 'pso', 'auditor'];

export function governanceRoutes({ hsm }: RouteContext): Record<string, Handler> {
  return {
    listQuorumRules: async (call) => {
      const partition = call.query.partition as string | undefined;
      requireRole(principalOf(call), GOVERNANCE_READERS, partition, 'quorum.list');
      return ok({ rules: await hsm.governance.rules(partition) });
    },

    getQuorumRule: async (call) => {
      const partition = call.query.partition as string | undefined;
      requireRole(principalOf(call), GOVERNANCE_READERS, partition, 'quorum.show');
      const operation = call.params.operation!;
      const r = await hsm.governance.rule(partition, operation);
      return ok({ operation, version: r.version, rule: r.rule, digest: r.digest });
    },

    setQuorumRule: async (call) => {
      const partition = call.query.partition as string | undefined;
      const body = await hsm.governance.setRule(
        partition,
        call.params.operation!,
        (call.body as { rule: unknown }).rule,
        { presented: principalOf(call) },
      );
      return ok(body);
    },

    listApproverKeys: async (call) => {
      const p = principalOf(call);
      let principal = call.query.principal as string | undefined;
      // Without a reader's role, a principal sees its own keys only.
      try {
        requireRole(
          p,
          GOVERNANCE_READERS.filter((r) => r !== 'pso'),
          undefined,
          'approver.list',
        );
      } catch (error) {
        if (principal !== undefined && principal !== p.principal) throw error;
        principal = p.principal;
      }
      const keys = await hsm.governance.approverKeys(principal);
      return ok({
        keys: keys.map((k) => ({
          fingerprint: k.id,
          principal: k.body.principal,
          algorithm: k.body.algorithm,
          state: k.body.revokedAt === null ? 'active' : 'revoked',
          publicKey: pem('PUBLIC KEY', new Uint8Array(Buffer.from(k.body.spki, 'hex'))),
        })),
      });
    },

    approverKeyChallenge: (call) => {
      const b = call.body as { principal: string; publicKey: string };
      const spki = pemField(b.publicKey, 'PUBLIC KEY', 'publicKey');
      return Promise.resolve(
        ok({ bytes: b64(hsm.governance.enrollmentChallenge(b.principal, spki)) }),
      );
    },

    enrollApproverKey: async (call) => {
      const b = call.body as { principal: string; publicKey: string; proof: string };
      const spki = pemField(b.publicKey, 'PUBLIC KEY', 'publicKey');
      const fingerprint = await hsm.governance.enrollApprover(b.principal, spki, fromB64(b.proof), {
        presented: principalOf(call),
      });
      return ok({ fingerprint }, 201);
    },

    revokeApproverKey: async (call) => {
      await hsm.governance.revokeApprover(call.params.fingerprint!, {
        presented: principalOf(call),
      });
      return ok({ revoked: true });
    },
  };
}

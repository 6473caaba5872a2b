// Governance names and byte formats the operator CLI needs to show and sign approval requests:
// the roles, the operation classes, and the bytes of a request and of an approval. They repeat
// the HSM's own definitions (src/hsm/governance), which its public surface does not export; a
// test compares them with the originals so that the two cannot drift apart.
import { canonicalJson, type JsonObject } from '../shared/index.js';
import type { Hsm } from '../hsm/index.js';

export type Governance = Hsm['governance'];
export type RequestView = Awaited<ReturnType<Governance['showRequest']>>;
export type RequestStatement = RequestView['body']['statement'];
export type ApproverKey = Awaited<ReturnType<Governance['approverKeys']>>[number];
export type StoredRule = Awaited<ReturnType<Governance['rules']>>[number];

export const ROLES = ['device-so', 'pso', 'auditor', 'crypto-officer', 'crypto-user'] as const;

export const OPERATION_CLASSES = [
  'partition.create',
  'partition.suspend',
  'policy.change',
  'officers.change',
  'quorum.change',
  'trash.restore',
  'trash.purge',
  'key.export',
  'so.exclusion',
  'audit.export',
] as const;

export const REQUEST_PREFIX = 'attestamp approval request v1\0';
export const APPROVAL_PREFIX = 'attestamp approval v1\0';

export type Decision = 'approve' | 'reject';

function prefixed(prefix: string, value: JsonObject): Uint8Array {
  return new Uint8Array(
    Buffer.concat([Buffer.from(prefix, 'utf8'), Buffer.from(canonicalJson(value), 'utf8')]),
  );
}

/** The bytes the HSM signed for a request (its statement's signature covers exactly these). */
export function requestBytes(statement: RequestStatement): Uint8Array {
  return prefixed(REQUEST_PREFIX, statement);
}

/** The bytes an approver signs for a decision on a request, with one enrolled key. */
export function approvalBytes(
  statement: RequestStatement,
  decision: Decision,
  approver: { readonly principal: string; readonly key: string },
): Uint8Array {
  return prefixed(APPROVAL_PREFIX, {
    approver: { principal: approver.principal, key: approver.key },
    decision,
    statement,
  });
}

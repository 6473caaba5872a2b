// The bytes of governance: the canonical statement of an approval request (what exactly will
// happen, signed by the partition attestation key or the device key), the bytes an approver
// signs (a domain-separation prefix, then the RFC 8785 canonical JSON of decision, approver and
// statement), and the proof of possession an approver key is enrolled with.
import type { JsonObject } from '../../shared/index.js';
import { canonicalJson } from './canonical-json.js';

/** Prefixes that keep each kind of signed bytes apart from every other (and from a token). */
export const REQUEST_PREFIX = 'attestamp approval request v1\0';
export const APPROVAL_PREFIX = 'attestamp approval v1\0';
export const ENROLLMENT_PREFIX = 'attestamp approver enrollment v1\0';

export type GovernanceScope = 'device' | `partition:${string}`;

/** Which rule a request was created under, by version and content digest. */
export interface RuleRef extends JsonObject {
  readonly scope: string;
  readonly operation: string;
  readonly version: number;
  /** SHA-256 (hex) of the rule's canonical JSON; "none" when the class has no rule. */
  readonly digest: string;
}

/** What a guarded operation will do, stated before anyone approves it. */
export interface RequestStatement extends JsonObject {
  readonly type: 'attestamp.approval-request';
  readonly version: 1;
  readonly id: string;
  readonly device: string;
  readonly scope: string;
  /** The operation class (e.g. partition.create) and its exact parameters. */
  readonly operation: string;
  readonly params: JsonObject;
  /** What it acts on (partition:ID, key:ID), or null. */
  readonly target: string | null;
  readonly requester: string;
  readonly rules: readonly RuleRef[];
  readonly createdAt: string;
  readonly notBefore: string;
  readonly expiresAt: string;
  /** 128 random bits, hex: two requests for the same thing are never the same statement. */
  readonly nonce: string;
  /** The audit log's head when the request was made. */
  readonly auditHead: { readonly seq: number; readonly hash: string };
}

export type ApprovalDecision = 'approve' | 'reject';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

function prefixed(prefix: string, value: JsonObject): Uint8Array {
  const head = utf8(prefix);
  const body = utf8(canonicalJson(value));
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

/** The bytes the HSM signs for a request. */
export function requestBytes(statement: RequestStatement): Uint8Array {
  return prefixed(REQUEST_PREFIX, statement);
}

/** The bytes an approver signs: `openssl dgst -sha256 -sign KEY` over exactly these. */
export function approvalBytes(
  statement: RequestStatement,
  decision: ApprovalDecision,
  approver: { readonly principal: string; readonly key: string },
): Uint8Array {
  return prefixed(APPROVAL_PREFIX, {
    approver: { principal: approver.principal, key: approver.key },
    decision,
    statement,
  });
}

/** The proof of possession an approver key is enrolled with, bound to device and principal. */
export function enrollmentBytes(
  device: string,
  principal: string,
  fingerprint: string,
): Uint8Array {
  return prefixed(ENROLLMENT_PREFIX, {
    type: 'attestamp.approver-enrollment',
    version: 1,
    device,
    principal,
    key: fingerprint,
  });
}

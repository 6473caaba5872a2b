// Governance names and byte formats the operator CLI needs to show and sign approval requests
// (the roles, the operation classes, the bytes of a request and of an approval, from the HSM's
// public surface), and the shapes of what the governance calls return.
import type { Hsm } from '../hsm/index.js';

export type Governance = Hsm['governance'];
export type RequestView = Awaited<ReturnType<Governance['showRequest']>>;
export type RequestStatement = RequestView['body']['statement'];
export type ApproverKey = Awaited<ReturnType<Governance['approverKeys']>>[number];
export type StoredRule = Awaited<ReturnType<Governance['rules']>>[number];

export {
  approvalBytes,
  OPERATION_CLASSES,
  requestBytes,
  ROLES,
  type ApprovalDecision as Decision,
} from '../hsm/index.js';

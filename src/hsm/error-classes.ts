// The one classification of HsmError codes: each code belongs to one class, and each edge (the
// CLI's exit codes, the REST API's HTTP statuses) maps classes, never codes, so that a new code
// is classified once here and every edge follows.
import type { HsmErrorCode } from './errors.js';

export type HsmErrorClass =
  /** A partition, key, request, store or factory does not exist. */
  | 'not-found'
  /** The thing to create exists already. */
  | 'exists'
  /** Refused by a policy, a key attribute or a missing role. */
  | 'refused'
  /** Refused because of the current state of what the call is about (trash, closed request). */
  | 'conflict'
  /** The call is guarded by a quorum rule: an approval request was made. */
  | 'approval-required'
  /** An approval request is not ready to execute yet (approvals or time lock missing). */
  | 'pending'
  /** Malformed input content (a rule, a wrapped key, a factory file). */
  | 'bad-data'
  /** A bad argument (a name, an unknown option value). */
  | 'bad-argument'
  /** A caller's credential is missing or wrong (an officer passphrase). */
  | 'credential'
  /** The operator's secret (master key, factory passphrase) is missing or wrong. */
  | 'operator-secret'
  /** A store row or the audit chain does not verify. */
  | 'integrity'
  /** The audit log does not extend the recorded head (a rollback or a fork). */
  | 'rollback'
  | 'no-space'
  | 'cant-write'
  /** Locked by another writer, or changed meanwhile: try again. */
  | 'busy'
  /** The store cannot be reached. */
  | 'unavailable'
  /** A failure inside the HSM. */
  | 'internal';

export const HSM_ERROR_CLASS: Readonly<Record<HsmErrorCode, HsmErrorClass>> = {
  'store-not-found': 'not-found',
  'store-exists': 'exists',
  'store-corrupt': 'integrity',
  'store-no-space': 'no-space',
  'store-permission': 'cant-write',
  'store-busy': 'busy',
  'store-unavailable': 'unavailable',
  'schema-too-new': 'internal',
  'master-key-missing': 'operator-secret',
  'master-key-wrong': 'operator-secret',
  'factory-not-found': 'not-found',
  'factory-invalid': 'bad-data',
  'factory-passphrase-wrong': 'operator-secret',
  'factory-passphrase-missing': 'operator-secret',
  'csr-rejected': 'internal',
  'partition-not-found': 'not-found',
  'partition-exists': 'exists',
  'key-not-found': 'not-found',
  'key-exists': 'exists',
  'key-invalidated': 'conflict',
  'key-not-invalidated': 'conflict',
  'key-not-destroyable': 'refused',
  'key-not-extractable': 'refused',
  'key-blocked': 'refused',
  'key-not-blocked': 'refused',
  'key-not-modifiable': 'refused',
  'key-purpose-denied': 'refused',
  'policy-key-rule-required': 'refused',
  'system-key': 'refused',
  'policy-read-only': 'refused',
  'policy-export-denied': 'refused',
  'policy-import-denied': 'refused',
  'officer-required': 'credential',
  'officer-auth-failed': 'credential',
  'unwrap-failed': 'bad-data',
  'decrypt-failed': 'bad-data',
  'key-usage-exhausted': 'refused',
  'key-expired': 'refused',
  'partition-revoked': 'refused',
  'integrity-failed': 'integrity',
  'audit-head-mismatch': 'rollback',
  'quorum-rule-invalid': 'bad-data',
  'quorum-lockout': 'refused',
  'role-required': 'refused',
  'approval-required': 'approval-required',
  'backup-invalid': 'bad-data',
  'backup-domain-unknown': 'refused',
  'transport-key-unknown': 'refused',
  'transport-certificate-invalid': 'bad-data',
  'backup-rollback': 'rollback',
  'backup-source-mismatch': 'refused',
  'backup-keys-protected': 'refused',
  'migration-receipt-invalid': 'bad-data',
  'partition-migrated': 'refused',
  'approval-signature-invalid': 'refused',
  'approval-not-member': 'refused',
  'approval-duplicate': 'exists',
  'approval-requester': 'refused',
  'approver-key-unknown': 'not-found',
  'approver-key-revoked': 'refused',
  'approver-key-unsupported': 'bad-data',
  'approver-proof-invalid': 'refused',
  'request-not-found': 'not-found',
  'request-closed': 'conflict',
  'request-expired': 'conflict',
  'request-rejected': 'conflict',
  'request-time-locked': 'pending',
  'request-not-approved': 'pending',
  'request-rule-changed': 'conflict',
  'so-excluded': 'refused',
  'invalid-argument': 'bad-argument',
};

export function hsmErrorClass(code: HsmErrorCode): HsmErrorClass {
  return HSM_ERROR_CLASS[code];
}

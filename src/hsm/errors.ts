// Errors raised by the HSM core. Messages and details never carry key bytes or credentials.
import { AttestampError } from '../shared/index.js';

export type HsmErrorCode =
  | 'store-not-found'
  | 'store-exists'
  | 'store-corrupt'
  | 'store-no-space'
  | 'store-permission'
  | 'store-busy'
  | 'store-unavailable'
  | 'schema-too-new'
  | 'master-key-missing'
  | 'master-key-wrong'
  | 'factory-not-found'
  | 'factory-invalid'
  | 'factory-passphrase-wrong'
  | 'factory-passphrase-missing'
  | 'csr-rejected'
  | 'partition-not-found'
  | 'partition-exists'
  | 'key-not-found'
  | 'key-exists'
  | 'key-invalidated'
  | 'key-not-invalidated'
  | 'key-not-destroyable'
  | 'key-not-extractable'
  /** The key is blocked by its policy's block rule (unblock it first). */
  | 'key-blocked'
  | 'key-not-blocked'
  /** The key's attributes (and so its policy) are fixed: it was made not modifiable. */
  | 'key-not-modifiable'
  /** The key's purposes do not include the operation (sign, verify...). */
  | 'key-purpose-denied'
  /** The partition requires every new key to carry a use rule in its own policy. */
  | 'policy-key-rule-required'
  | 'system-key'
  | 'policy-read-only'
  | 'policy-export-denied'
  | 'policy-import-denied'
  | 'officer-required'
  | 'officer-auth-failed'
  | 'unwrap-failed'
  /** An AEAD ciphertext does not authenticate under the key (nonce, ciphertext, tag or data). */
  | 'decrypt-failed'
  /**
   * The key made as many encryptions as random nonces allow (NIST SP 800-38D 8.3): it encrypts
   * no more; it still decrypts.
   */
  | 'key-usage-exhausted'
  /** A temporary key (a derived child) is past its expiry: refused, and destroyed by the sweep. */
  | 'key-expired'
  /** The partition's certificates are revoked already. */
  | 'partition-revoked'
  /** A row of the store does not carry the MAC of its content, or contradicts its key. */
  | 'integrity-failed'
  /** The audit log does not extend the head the operator recorded. */
  | 'audit-head-mismatch'
  /** A quorum rule is malformed (the field is named). */
  | 'quorum-rule-invalid'
  /** A rule change would leave no one able to meet the rule. */
  | 'quorum-lockout'
  /** The principal lacks the role (or scope) the operation needs. */
  | 'role-required'
  /** The operation is guarded by a quorum rule: it runs only through an approval request. */
  | 'approval-required'
  /** A backup bundle fails a check: structure, signature, chain, manifest or a sealed record. */
  | 'backup-invalid'
  /** No recipient of the bundle is a backup domain this device is enrolled in. */
  | 'backup-domain-unknown'
  /** No transport key of this device is a recipient of the bundle (or none of that id). */
  | 'transport-key-unknown'
  /** A transport certificate fails a check: chain, validity, key usage or its evidence. */
  | 'transport-certificate-invalid'
  /** The bundle is older than what the partition holds, and the approval allows no rollback. */
  | 'backup-rollback'
  /** The partition restored over is not the bundle's partition (nor restored from it). */
  | 'backup-source-mismatch'
  /** A restore over a partition would destroy or change keys it must keep (named). */
  | 'backup-keys-protected'
  /** A migration receipt fails a check: structure, signature, chain, statement or its backup. */
  | 'migration-receipt-invalid'
  /** The partition was migrated to another device: its keys are no longer used here. */
  | 'partition-migrated'
  | 'approval-signature-invalid'
  | 'approval-not-member'
  | 'approval-duplicate'
  | 'approval-requester'
  | 'approver-key-unknown'
  | 'approver-key-revoked'
  | 'approver-key-unsupported'
  | 'approver-proof-invalid'
  | 'request-not-found'
  | 'request-closed'
  | 'request-expired'
  | 'request-rejected'
  | 'request-time-locked'
  | 'request-not-approved'
  | 'request-rule-changed'
  /** The partition's security officers excluded the device officer from it. */
  | 'so-excluded'
  | 'invalid-argument';

export class HsmError extends AttestampError<HsmErrorCode> {}

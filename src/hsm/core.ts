// What every HSM operation shares: the open store, the master-derived keys, the device id, the
// clock and principal, the authenticated row access, the key cache; and the audit discipline
// (each change appends its entry in its own transaction; each refusal or failure is logged).
import { silentLogger, type Clock, type Logger } from '../shared/index.js';
import { appendAudit, type AuditEvent, type AuditOutcome } from './audit/log.js';
import { AuthenticatedRows } from './authenticated-rows.js';
import { HsmError, type HsmErrorCode } from './errors.js';
import { GovernanceCore } from './governance/authorize.js';
import type { MasterKeys } from './master-key.js';
import type { PrivateKeyHandle } from './key-crypto.js';
import type {
  DeviceRow,
  DeviceStore,
  KeyRow,
  PartitionRow,
  StoreReader,
  StoreTx,
} from './store/device-store.js';
import { SCHEMA_VERSION } from './store/schema-version.js';

/** How each error is written to the audit log; unlisted codes (bad arguments) are not logged. */
const AUDIT_OUTCOME: Partial<Readonly<Record<HsmErrorCode, AuditOutcome>>> = {
  'policy-read-only': 'refused',
  'policy-export-denied': 'refused',
  'policy-import-denied': 'refused',
  'key-not-extractable': 'refused',
  'key-blocked': 'refused',
  'key-not-blocked': 'refused',
  'key-not-modifiable': 'refused',
  'key-purpose-denied': 'refused',
  'policy-key-rule-required': 'refused',
  'key-not-destroyable': 'refused',
  'system-key': 'refused',
  'officer-auth-failed': 'refused',
  'officer-required': 'refused',
  'key-invalidated': 'refused',
  'key-not-invalidated': 'refused',
  'key-not-found': 'refused',
  'key-exists': 'refused',
  'partition-not-found': 'refused',
  'partition-exists': 'refused',
  'integrity-failed': 'failure',
  'unwrap-failed': 'failure',
  'decrypt-failed': 'failure',
  'key-usage-exhausted': 'refused',
  'key-expired': 'refused',
  'partition-revoked': 'refused',
  'store-corrupt': 'failure',
  // Governance: a principal without the role, an excluded device SO, an approval or an
  // execution refused (the approval request a guarded call becomes is logged as made).
  'role-required': 'refused',
  'so-excluded': 'refused',
  'approval-signature-invalid': 'refused',
  'approval-not-member': 'refused',
  'approval-requester': 'refused',
  'approver-key-revoked': 'refused',
  'request-closed': 'refused',
  'request-expired': 'refused',
  'request-rejected': 'refused',
  'request-time-locked': 'refused',
  'request-not-approved': 'refused',
  'request-rule-changed': 'refused',
  'backup-invalid': 'refused',
  'backup-domain-unknown': 'refused',
  'transport-key-unknown': 'refused',
  'transport-certificate-invalid': 'refused',
  'backup-rollback': 'refused',
  'backup-source-mismatch': 'refused',
  'backup-keys-protected': 'refused',
  'migration-receipt-invalid': 'refused',
  'partition-migrated': 'refused',
};

/** The operations that may find an expired key: showing it, and deleting it. */
const EXPIRED_KEY_ACTIONS: ReadonlySet<string> = new Set(['key.show', 'key.delete', 'key.purge']);

/** What a migrated partition's keys still allow: reading their public parts, verifying. */
const MIGRATED_KEY_ACTIONS: ReadonlySet<string> = new Set(['key.show', 'key.public', 'key.verify']);

/** What the audit entry of an operation names; filled in as the operation learns it. */
export interface Operation {
  readonly action: string;
  partitionId?: string;
  keyId?: string;
  /** The principal: set to the officer's name once the officer's credential is proven. */
  actor?: string;
  details?: Record<string, string>;
}

/** A cached unsealed key and when its row was last checked. */
export interface CachedKey {
  readonly key: PrivateKeyHandle;
  readonly checkedAt: number;
}

export class Core {
  readonly keyCache = new Map<string, CachedKey>();
  readonly rows: AuthenticatedRows;
  /** Roles, rules and approval requests: what authorises a governed operation. */
  readonly governance: GovernanceCore;
  closed = false;
  /**
   * Runs after an operation refused with key-expired: the sweep that destroys expired keys (set
   * by the facade), so that a long-running server does not keep them until it closes.
   */
  onKeyExpired: (() => Promise<unknown>) | undefined;

  constructor(
    readonly store: DeviceStore,
    readonly keys: MasterKeys,
    readonly deviceId: string,
    readonly clock: Clock,
    readonly actor: string,
    /** Warnings for the operator (a scrub left pending); identifiers and codes only. */
    readonly logger: Logger = silentLogger,
  ) {
    this.rows = new AuthenticatedRows(keys.rows, deviceId);
    this.governance = new GovernanceCore(this);
  }

  /**
   * Appends the entry of a change, inside the transaction that makes it. Every write transaction
   * appends to the log: the schema is checked there, before the insert, so that a trigger
   * planted while the HSM runs never fires unnoticed.
   */
  async audit(
    tx: StoreTx,
    at: Date,
    event: Omit<AuditEvent, 'actor'> & { actor?: string | undefined },
  ): Promise<number> {
    await tx.assertSchema([await tx.meta.schemaVersion(), SCHEMA_VERSION]);
    return appendAudit(tx, this.keys.auditKey, at, { ...event, actor: event.actor ?? this.actor });
  }

  /** Whether recordFailure writes this error to the log (refusals and failures do). */
  audits(error: unknown): boolean {
    return !(error instanceof HsmError) || AUDIT_OUTCOME[error.code] !== undefined;
  }

  /** Writes the refusal or failure of an operation to the log (own transaction). */
  async recordFailure(op: Operation, error: unknown): Promise<void> {
    const code = error instanceof HsmError ? error.code : undefined;
    const outcome: AuditOutcome | undefined = code === undefined ? 'failure' : AUDIT_OUTCOME[code];
    if (outcome === undefined || this.closed) return;
    try {
      await this.store.tx(async (tx) => {
        await this.audit(tx, this.clock.now(), {
          actor: op.actor,
          action: op.action,
          partitionId: op.partitionId,
          keyId: op.keyId,
          outcome,
          details: { ...op.details, code: code ?? 'internal' },
        });
      });
    } catch {
      // The log cannot be written (disk full, read-only file, database gone): the error itself
      // still reaches the caller.
    }
  }

  /** Runs `fn`; a refusal or failure is written to the audit log (own transaction) and rethrown. */
  async guard<T>(op: Operation, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      await this.recordFailure(op, error);
      if (error instanceof HsmError && error.code === 'key-expired' && !this.closed) {
        try {
          await this.onKeyExpired?.();
        } catch {
          // Left for the next sweep (at close or open); the key stays refused meanwhile.
        }
      }
      throw error;
    }
  }

  /** The authenticated partition row of that name; fills in the operation's partition id. */
  async partitionRow(r: StoreReader, name: string, op?: Operation): Promise<PartitionRow> {
    const row = await this.rows.partitionByName(r, name);
    if (row === undefined) {
      throw new HsmError('partition-not-found', 'no such partition', {
        details: { partition: name },
      });
    }
    if (op !== undefined) op.partitionId = row.id;
    return row;
  }

  /** The authenticated partition and key rows; fills in the operation's identifiers. */
  async locate(
    r: StoreReader,
    partitionName: string,
    label: string,
    op: Operation,
  ): Promise<{ partition: PartitionRow; row: KeyRow }> {
    const partition = await this.partitionRow(r, partitionName);
    op.partitionId = partition.id;
    const row = await this.rows.keyByLabel(r, partition.id, label);
    if (row === undefined) {
      throw new HsmError('key-not-found', 'no such key in the partition', {
        details: { partition: partition.name, label },
      });
    }
    op.keyId = row.id;
    // A migrated partition's keys live on on the target device: no use, change or restore here.
    if (!MIGRATED_KEY_ACTIONS.has(op.action)) {
      const migratedTo = (JSON.parse(partition.policy_json) as { migratedTo?: string }).migratedTo;
      if (migratedTo !== undefined) {
        throw new HsmError('partition-migrated', 'the partition was migrated to another device', {
          details: { partition: partition.name, label, migratedTo },
        });
      }
    }
    // A key past its expiry (an authenticated attribute) is refused for any use; it can still
    // be shown, listed and deleted, and the sweep destroys it.
    if (!EXPIRED_KEY_ACTIONS.has(op.action)) {
      const expiresAt = (JSON.parse(row.attributes_json) as { expiresAt?: string }).expiresAt;
      if (expiresAt !== undefined && Date.parse(expiresAt) <= this.clock.now().getTime()) {
        throw new HsmError('key-expired', 'the key has expired (the next sweep destroys it)', {
          details: { partition: partition.name, label, expiresAt },
        });
      }
    }
    return { partition, row };
  }

  /** The authenticated device row. */
  device(r: StoreReader): Promise<DeviceRow> {
    return this.rows.device(r);
  }

  /** The device certificate and the root, as the tail of every partition chain. */
  async deviceChain(r: StoreReader): Promise<Uint8Array[]> {
    const d = await this.rows.device(r);
    return [new Uint8Array(d.certificate), new Uint8Array(d.root_certificate)];
  }
}

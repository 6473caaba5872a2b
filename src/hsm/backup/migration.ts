// Partition migration to another device (README "Backup and migration"): after a bundle made
// for the target's transport key is restored there, the target issues a migration receipt (a
// CMS SignedData by the new partition's attestation key, src/pki/migration-receipt.ts) whose
// RFC 8785 statement names the source, the bundle and every key it now holds; the source checks
// the receipt against its own pinned factory root and its own audit log, and only then takes the
// partition out of service for good: read-only, every key in the trash marked migratedTo, its
// certificates revoked (superseded). A dry run makes every check and writes nothing.
import { createHash } from 'node:crypto';
import {
  buildMigrationReceipt,
  bundleDigest,
  bundleSignerCertificate,
  parseMigrationReceipt,
  receiptSignatureProblem,
} from '../../pki/index.js';
import { toBase64, type JsonObject } from '../../shared/index.js';
import { verifiedAuditEntries } from '../audit/log.js';
import type { Core, Operation } from '../core.js';
import { HsmError } from '../errors.js';
import type { GovernedCall, RequestAuthority } from '../governance/authorize.js';
import { canonicalJson } from '../governance/canonical-json.js';
import type { PresentedAuthority } from '../governance/presented.js';
import { integrityError } from '../integrity.js';
import { partitionKeySigner } from '../keys/signers.js';
import { revocationState } from '../revocation-state.js';
import type { KeyRow, PartitionRow, StoreReader } from '../store/device-store.js';
import type { KeyAttributes, PartitionInfo } from '../types.js';
import { certificateFacts, parseAttributes, publicKeyOf, toPartitionInfo } from '../views.js';
import { requireNotMigrated, verifiedBundle, type BackupManifest } from './bundle.js';
import { checkTransportCertificate } from './transport.js';
import { canonicalValue, isObject, isText, KEY_ROLES, signerIds } from './signed-json.js';

export const MIGRATION_RECEIPT_FORMAT = 'attestamp-migration-receipt/v1';

/** One key the target holds after the restore: the source's key id and the new one. */
export interface ReceiptKey extends JsonObject {
  /** The key's id on the source (its restoredFrom), or null for a partition key without one. */
  readonly sourceKey: string | null;
  readonly key: string;
  readonly label: string;
  readonly role: KeyRow['role'];
  /** Hex SPKI of a key pair, or a secret key's check value (as the manifest names it). */
  readonly public: string;
}

/** The receipt's statement (the eContent, RFC 8785 JSON). */
export interface MigrationStatement extends JsonObject {
  readonly format: typeof MIGRATION_RECEIPT_FORMAT;
  readonly source: {
    readonly device: string;
    readonly partition: string;
    readonly serial: number;
    /** SHA-256 (hex) of the bundle, as the target's restore entry recorded it. */
    readonly bundle: string;
  };
  readonly target: {
    readonly device: string;
    readonly partition: string;
    readonly name: string;
    /** SHA-256 (hex) of the new partition's attestation certificate (the receipt's signer). */
    readonly attestationCertificate: string;
  };
  readonly restoredAt: string;
  readonly restoreAuditSeq: number;
  readonly issuedAt: string;
  readonly keys: readonly ReceiptKey[];
}

export interface MigrationReceiptResult {
  readonly receipt: Uint8Array;
  /** SHA-256 (hex) of the receipt, as both devices' audit entries name it. */
  readonly digest: string;
  readonly statement: MigrationStatement;
}

export interface CompleteMigrationOptions {
  readonly receipt: Uint8Array;
  /**
   * The bundle the receipt names (optional): its verified manifest then says exactly which keys
   * the backup held; without it, a key created after the backup entry counts as newer.
   */
  readonly bundle?: Uint8Array;
  /** Every check, nothing written (not even an audit entry). */
  readonly dryRun?: boolean;
}

export interface MigrationKey {
  readonly label: string;
  readonly role: KeyRow['role'];
  readonly algorithm: string;
}

export interface MigrationRefusal {
  readonly label: string;
  readonly reason: string;
}

export interface MigrationResult {
  readonly dryRun: boolean;
  readonly partition: PartitionInfo;
  readonly target: MigrationStatement['target'];
  readonly serial: number;
  /** SHA-256 (hex) of the receipt. */
  readonly receipt: string;
  /** The keys the target holds: what moves (and is taken out of service here). */
  readonly moving: readonly MigrationKey[];
  /** The keys the target does not hold (made after the backup, or absent from the receipt). */
  readonly refused: readonly MigrationRefusal[];
}

/** What a backup for a transport certificate would carry (nothing is written). */
export interface BackupMigrationPlan {
  readonly partition: string;
  readonly targetDevice: string;
  /** SHA-256 (hex) of the transport certificate. */
  readonly transportKey: string;
  readonly moving: readonly (MigrationKey & { readonly state: KeyRow['state'] })[];
  readonly refused: readonly MigrationRefusal[];
  /** The partition.backup rule is in force: the backup becomes an approval request. */
  readonly approvalRequired: boolean;
}

const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const invalid = (reason: string, cause?: unknown): HsmError =>
  new HsmError('migration-receipt-invalid', `the migration receipt does not verify: ${reason}`, {
    ...(cause === undefined ? {} : { cause }),
  });

const migrated = (row: PartitionRow): HsmError =>
  new HsmError('partition-migrated', 'the partition was migrated to another device', {
    details: { partition: row.name, migratedTo: toPartitionInfo(row).migratedTo ?? '' },
  });

/** The last restore into a partition, from its verified entry. */
interface RestoreEntry {
  readonly seq: number;
  readonly at: string;
  readonly sourceDevice: string;
  readonly sourcePartition: string;
  readonly serial: number;
  readonly bundle: string;
}

async function lastRestore(
  core: Core,
  r: StoreReader,
  partitionId: string,
): Promise<RestoreEntry | undefined> {
  let found: RestoreEntry | undefined;
  for await (const e of verifiedAuditEntries(r, core.keys.auditKey)) {
    if (e.action !== 'partition.restore' || e.outcome !== 'success') continue;
    if (e.partitionId !== partitionId) continue;
    const d = e.details;
    if (
      typeof d['serial'] !== 'number' ||
      typeof d['bundle'] !== 'string' ||
      typeof d['sourceDevice'] !== 'string' ||
      typeof d['sourcePartition'] !== 'string'
    ) {
      continue;
    }
    found = {
      seq: e.seq,
      at: e.at,
      sourceDevice: d['sourceDevice'],
      sourcePartition: d['sourcePartition'],
      serial: d['serial'],
      bundle: d['bundle'],
    };
  }
  return found;
}

/** The statement of a restored partition as it is now (inside `r`: one state of the store). */
async function receiptStatement(
  core: Core,
  r: StoreReader,
  partition: PartitionRow,
  at: Date,
): Promise<MigrationStatement> {
  const restore = await lastRestore(core, r, partition.id);
  if (
    restore === undefined ||
    (restore.sourceDevice === core.deviceId && restore.sourcePartition === partition.id)
  ) {
    throw new HsmError(
      'backup-source-mismatch',
      'the partition was not restored from another partition: there is no migration to acknowledge',
      { details: { partition: partition.name } },
    );
  }
  const keys: ReceiptKey[] = [];
  for (const row of await core.rows.keysOfPartition(r, partition.id)) {
    const from = parseAttributes(row).restoredFrom;
    const sameSource =
      from !== undefined &&
      from.device === restore.sourceDevice &&
      from.partition === restore.sourcePartition;
    // A user key of that restore (a later key made here does not come from the source); the
    // partition's own keys always (restored over, they may carry an earlier restore's serial).
    if (row.role === 'user' && !(sameSource && from.serial === restore.serial)) continue;
    keys.push({
      sourceKey: sameSource ? from.key : null,
      key: row.id,
      label: row.label,
      role: row.role,
      public: hexOf(publicKeyOf(row)),
    });
  }
  return {
    format: MIGRATION_RECEIPT_FORMAT,
    source: {
      device: restore.sourceDevice,
      partition: restore.sourcePartition,
      serial: restore.serial,
      bundle: restore.bundle,
    },
    target: {
      device: core.deviceId,
      partition: partition.id,
      name: partition.name,
      attestationCertificate: sha256Hex(new Uint8Array(partition.attestation_certificate)),
    },
    restoredAt: restore.at,
    restoreAuditSeq: restore.seq,
    issuedAt: at.toISOString(),
    keys,
  };
}

/**
 * On the target: the receipt of a partition restored from another device's bundle, signed by
 * the partition's attestation key, audited as partition.migrate.receipt. An operator's act (no
 * quorum rule: it moves nothing, and states only what the restore did).
 */
export function migrationReceipt(
  core: Core,
  partitionName: string,
  authority?: RequestAuthority | PresentedAuthority,
): Promise<MigrationReceiptResult> {
  const op: Operation = {
    action: 'partition.migrate.receipt',
    details: { partition: partitionName },
  };
  return core.guard(op, async () => {
    const partition = await core.partitionRow(core.store, partitionName, op);
    requireNotMigrated(partition);
    const call: GovernedCall = {
      action: 'partition.migrate.receipt',
      partitionId: partition.id,
      params: { partition: partition.id },
    };
    const grant = await core.governance.authorizeOperator(authority, op, call);
    const now = core.clock.now();
    const statement = await receiptStatement(core, core.store, partition, now);
    const signer = await partitionKeySigner(core, partition.name, 'partition-attestation');
    const receipt = await buildMigrationReceipt(
      new TextEncoder().encode(canonicalJson(statement)),
      signer,
    );
    const digest = sha256Hex(receipt);
    await core.store.tx(async (tx) => {
      await grant.check(tx, now);
      // What the receipt states is what the partition holds at the entry that records it.
      const current = await core.rows.partitionById(tx, partition.id);
      if (current === undefined) throw partitionGone(partition);
      // Migrated away meanwhile: its keys are no longer here to vouch for.
      requireNotMigrated(current);
      const again = await receiptStatement(core, tx, current, now);
      if (canonicalJson(again) !== canonicalJson(statement)) {
        throw new HsmError('store-busy', 'the partition changed meanwhile; try again');
      }
      await core.audit(tx, now, {
        actor: op.actor,
        action: 'partition.migrate.receipt',
        partitionId: partition.id,
        outcome: 'success',
        details: {
          partition: partition.name,
          sourceDevice: statement.source.device,
          sourcePartition: statement.source.partition,
          serial: statement.source.serial,
          bundle: statement.source.bundle,
          receipt: digest,
          keys: statement.keys.length,
        },
      });
      await grant.done(tx, now, { receipt: digest });
    });
    return { receipt, digest, statement };
  });
}

function partitionGone(row: PartitionRow): HsmError {
  return new HsmError('partition-not-found', 'the partition is gone', {
    details: { partition: row.name },
  });
}

/** The statement's shape: every field the source reads, of its type. */
function checkStatement(v: unknown): MigrationStatement {
  const s = isObject(v) ? v : {};
  const source = isObject(s['source']) ? s['source'] : {};
  const target = isObject(s['target']) ? s['target'] : {};
  const keys = Array.isArray(s['keys']) ? (s['keys'] as unknown[]) : undefined;
  if (
    s['format'] !== MIGRATION_RECEIPT_FORMAT ||
    !isText(source['device']) ||
    !isText(source['partition']) ||
    !Number.isSafeInteger(source['serial']) ||
    !isText(source['bundle']) ||
    !isText(target['device']) ||
    !isText(target['partition']) ||
    !isText(target['name']) ||
    !isText(target['attestationCertificate']) ||
    !isText(s['restoredAt']) ||
    !Number.isSafeInteger(s['restoreAuditSeq']) ||
    !isText(s['issuedAt']) ||
    keys === undefined
  ) {
    throw invalid('the statement lacks a field');
  }
  const sourceKeys = new Set<string>();
  for (const k of keys) {
    const key = isObject(k) ? k : {};
    const sourceKey = key['sourceKey'];
    if (
      !(sourceKey === null || isText(sourceKey)) ||
      !isText(key['key']) ||
      !isText(key['label']) ||
      !isText(key['role']) ||
      !KEY_ROLES.includes(key['role']) ||
      !isText(key['public']) ||
      (sourceKey === null && key['role'] === 'user') ||
      (isText(sourceKey) && sourceKeys.has(sourceKey))
    ) {
      throw invalid('a key of the statement is malformed');
    }
    if (isText(sourceKey)) sourceKeys.add(sourceKey);
  }
  return v as MigrationStatement;
}

/** A receipt whose structure, signature and chain (to this device's pinned root) check. */
export interface VerifiedReceipt {
  readonly statement: MigrationStatement;
  readonly digest: string;
  readonly bytes: Uint8Array;
}

/**
 * The checks that need nothing of the partition: strict DER, the signature, the chain exactly
 * root (this device's pinned factory root, byte for byte), the target's device, its partition
 * attestation certificate; the statement canonical, well-formed and naming its signer.
 */
export async function verifiedReceipt(core: Core, bytes: Uint8Array): Promise<VerifiedReceipt> {
  let parsed;
  try {
    parsed = parseMigrationReceipt(bytes);
  } catch (cause) {
    throw invalid('not a well-formed receipt', cause);
  }
  const problem = await receiptSignatureProblem(parsed);
  if (problem !== undefined) throw invalid(problem);
  const ids = await signerIds(core, parsed, invalid);
  const value = canonicalValue(parsed.statement, 'statement', invalid);
  const statement = checkStatement(value);
  const leaf = bundleSignerCertificate(parsed);
  // The statement speaks of the partition whose key signed it.
  if (
    statement.target.device !== ids.deviceId ||
    statement.target.partition !== ids.partitionId ||
    leaf === undefined ||
    statement.target.attestationCertificate !== sha256Hex(leaf.der)
  ) {
    throw invalid('the statement names another target than its signer');
  }
  return { statement, digest: sha256Hex(bytes), bytes };
}

/** The backup of this partition the receipt acknowledges, from its verified entry. */
interface BackupEntry {
  readonly seq: number;
  readonly at: string;
  readonly keys: number;
}

async function acknowledgedBackup(
  core: Core,
  r: StoreReader,
  partition: PartitionRow,
  statement: MigrationStatement,
): Promise<BackupEntry> {
  let found: BackupEntry | undefined;
  for await (const e of verifiedAuditEntries(r, core.keys.auditKey)) {
    if (e.partitionId !== partition.id || e.outcome !== 'success') continue;
    if (e.action === 'partition.migrate') throw migrated(partition);
    if (e.action !== 'partition.backup' || e.details['bundle'] !== statement.source.bundle) {
      continue;
    }
    // Made for the transport key of the device that signed the receipt, at that serial.
    if (
      e.details['targetDevice'] !== statement.target.device ||
      e.details['serial'] !== statement.source.serial
    ) {
      throw invalid("the backup it names was not made for the receipt's device");
    }
    const keys = e.details['keys'];
    found = { seq: e.seq, at: e.at, keys: typeof keys === 'number' ? keys : 0 };
  }
  if (found === undefined) throw invalid('it names no backup of this partition');
  return found;
}

interface Plan {
  readonly moving: readonly KeyRow[];
  readonly refused: readonly MigrationRefusal[];
}

/**
 * Every check against the partition and its log (inside `r`: one state of the store): not
 * migrated already, the receipt for this device and partition, its backup in this partition's
 * verified log made for the signer's device; then, key by key, whether the target holds it.
 */
async function planMigration(
  core: Core,
  r: StoreReader,
  partition: PartitionRow,
  receipt: VerifiedReceipt,
  manifest: BackupManifest | undefined,
): Promise<Plan> {
  if (toPartitionInfo(partition).migratedTo !== undefined) throw migrated(partition);
  const s = receipt.statement;
  if (s.source.device !== core.deviceId || s.source.partition !== partition.id) {
    throw invalid('it acknowledges another partition than this one');
  }
  const backup = await acknowledgedBackup(core, r, partition, s);
  if (s.keys.length > backup.keys) throw invalid('it names more keys than the backup held');
  const moving: KeyRow[] = [];
  const refused: MigrationRefusal[] = [];
  for (const row of await core.rows.keysOfPartition(r, partition.id)) {
    const own = row.role !== 'user';
    const held =
      s.keys.find((k) => k.sourceKey === row.id) ??
      (own ? s.keys.find((k) => k.sourceKey === null && k.role === row.role) : undefined);
    if (held !== undefined && held.role === row.role && held.public === hexOf(publicKeyOf(row))) {
      moving.push(row);
      continue;
    }
    const newer =
      manifest !== undefined
        ? !manifest.keys.some((k) => k.id === row.id)
        : Date.parse(row.created_at) > Date.parse(backup.at);
    refused.push({
      label: row.label,
      reason:
        held !== undefined
          ? 'the receipt names another key for it'
          : newer
            ? 'made after the backup: the target does not hold it'
            : 'not in the receipt: the target does not hold it',
    });
  }
  return { moving, refused };
}

const describeKey = (row: KeyRow): MigrationKey => ({
  label: row.label,
  role: row.role,
  algorithm: row.algorithm,
});

/** The manifest of the bundle the receipt names, verified (this device's own bundle). */
async function bundleManifest(
  core: Core,
  bundle: Uint8Array | undefined,
  receipt: VerifiedReceipt,
): Promise<BackupManifest | undefined> {
  if (bundle === undefined) return undefined;
  if (bundleDigest(bundle) !== receipt.statement.source.bundle) {
    throw invalid('the bundle given is not the one it names');
  }
  const { manifest } = await verifiedBundle(core, bundle);
  return manifest;
}

/**
 * On the source: checks the receipt, and only then takes the partition out of service in one
 * transaction (partition.migrate, under the partition.suspend rule): read-only for good, every
 * key in the trash marked migratedTo, its certificates revoked as superseded. Refused naming the
 * keys the target does not hold. With dryRun, every check and nothing written.
 */
export async function completeMigration(
  core: Core,
  partitionName: string,
  options: CompleteMigrationOptions,
  authority?: RequestAuthority | PresentedAuthority,
): Promise<MigrationResult> {
  if (options.dryRun === true) {
    // A read: no authorisation (a rule would make a request), no audit entry, not even of a
    // refusal.
    const partition = await core.partitionRow(core.store, partitionName);
    const receipt = await verifiedReceipt(core, options.receipt);
    const manifest = await bundleManifest(core, options.bundle, receipt);
    const plan = await planMigration(core, core.store, partition, receipt, manifest);
    return result(true, partition, receipt, plan);
  }
  const op: Operation = { action: 'partition.migrate', details: { partition: partitionName } };
  return core.guard(op, async () => {
    await core.governance.requireOpenRequest(authority);
    const partition = await core.partitionRow(core.store, partitionName, op);
    const receipt = await verifiedReceipt(core, options.receipt);
    const manifest = await bundleManifest(core, options.bundle, receipt);
    const s = receipt.statement;
    op.details = { ...op.details, targetDevice: s.target.device, receipt: receipt.digest };
    const refuse = (refused: readonly MigrationRefusal[]): void => {
      if (refused.length === 0) return;
      const labels = refused.map((k) => k.label);
      throw new HsmError(
        'backup-keys-protected',
        `the migration would lose keys the target does not hold: ${labels.join(', ')}`,
        { details: { partition: partition.name, keys: labels.join(' ') } },
      );
    };
    refuse((await planMigration(core, core.store, partition, receipt, manifest)).refused);
    const call: GovernedCall = {
      action: 'partition.migrate',
      partitionId: partition.id,
      params: {
        partition: partition.id,
        targetDevice: s.target.device,
        targetPartition: s.target.partition,
        receipt: receipt.digest,
        ...(options.bundle === undefined ? {} : { bundle: s.source.bundle }),
      },
      escrow: {
        receipt: toBase64(options.receipt),
        ...(options.bundle === undefined ? {} : { bundle: toBase64(options.bundle) }),
      },
    };
    const grant = await core.governance.authorizeOperator(authority, op, call);
    const now = core.clock.now();
    const target = `${s.target.device}/${s.target.partition}`;
    const done = await core.store.tx(async (tx) => {
      await grant.check(tx, now);
      const current = await core.rows.partitionById(tx, partition.id);
      if (current === undefined) throw partitionGone(partition);
      const plan = await planMigration(core, tx, current, receipt, manifest);
      refuse(plan.refused);
      const seq = await core.audit(tx, now, {
        actor: op.actor,
        action: 'partition.migrate',
        partitionId: current.id,
        outcome: 'success',
        details: {
          partition: current.name,
          targetDevice: s.target.device,
          targetPartition: s.target.partition,
          targetName: s.target.name,
          serial: s.source.serial,
          bundle: s.source.bundle,
          receipt: receipt.digest,
          keys: plan.moving.length,
        },
      });
      // Every key to the trash for good, each with its entry (the row names it).
      for (const row of plan.moving) {
        const keySeq = await core.audit(tx, now, {
          actor: op.actor,
          action: 'key.invalidate',
          partitionId: current.id,
          keyId: row.id,
          outcome: 'success',
          details: { label: row.label, migratedTo: target },
        });
        const attributes: KeyAttributes = { ...parseAttributes(row), migratedTo: target };
        const next = core.rows.sealKey({
          ...row,
          attributes_json: JSON.stringify(attributes),
          state: 'invalidated',
          invalidated_at: row.invalidated_at ?? now.toISOString(),
          audit_seq: keySeq,
        });
        if (!(await tx.keys.update(next, row.mac!))) {
          throw integrityError('key', 'the row changed under its transaction', { keyId: row.id });
        }
      }
      const policy = { ...toPartitionInfo(current).policy, readOnly: true, migratedTo: target };
      const next = core.rows.sealPartition({
        ...current,
        policy_json: JSON.stringify(policy),
        audit_seq: seq,
      });
      if (!(await tx.partitions.updatePolicy(next, current.mac!))) {
        throw integrityError('partition', 'the row changed under its transaction', {
          partitionId: current.id,
        });
      }
      // Its certificates are superseded by the target's: on the device's next CRL.
      const state = await revocationState(tx, core.keys.auditKey);
      if (!state.revoked.some((x) => x.partitionId === current.id)) {
        const serials = [current.attestation_certificate, current.timestamp_certificate].map(
          (c) => certificateFacts(new Uint8Array(c)).serialHex,
        );
        await core.audit(tx, now, {
          actor: op.actor,
          action: 'partition.revoke',
          partitionId: current.id,
          outcome: 'success',
          details: {
            partition: current.name,
            reason: 'superseded',
            serials: serials.join(','),
            migration: true,
          },
        });
      }
      await grant.done(tx, now, {
        partition: current.id,
        receipt: receipt.digest,
        keys: plan.moving.length,
      });
      return { result: result(false, next, receipt, plan), rows: plan.moving };
    });
    for (const row of done.rows) core.keyCache.delete(row.id);
    return done.result;
  });
}

function result(
  dryRun: boolean,
  partition: PartitionRow,
  receipt: VerifiedReceipt,
  plan: Plan,
): MigrationResult {
  return {
    dryRun,
    partition: toPartitionInfo(partition),
    target: receipt.statement.target,
    serial: receipt.statement.source.serial,
    receipt: receipt.digest,
    moving: plan.moving.map(describeKey),
    refused: plan.refused,
  };
}

/**
 * The backup side's dry run: what a bundle for this transport certificate chain would carry
 * (every key, the trash too) and which keys would arrive useless (expired: the target refuses
 * them and its sweep destroys them). Checks the certificate as the backup does; writes nothing.
 */
export async function migrationPlan(
  core: Core,
  partitionName: string,
  transportCertificate: readonly Uint8Array[],
): Promise<BackupMigrationPlan> {
  const partition = await core.partitionRow(core.store, partitionName);
  requireNotMigrated(partition);
  const transport = await checkTransportCertificate(core, transportCertificate);
  const now = core.clock.now().getTime();
  const moving: (MigrationKey & { state: KeyRow['state'] })[] = [];
  const refused: MigrationRefusal[] = [];
  for (const row of await core.rows.keysOfPartition(core.store, partition.id)) {
    const expiresAt = parseAttributes(row).expiresAt;
    if (expiresAt !== undefined && Date.parse(expiresAt) <= now) {
      refused.push({ label: row.label, reason: 'expired: unusable on the target' });
      continue;
    }
    moving.push({ ...describeKey(row), state: row.state });
  }
  const rules = await core.governance.rulesFor(core.store, {
    action: 'partition.backup',
    partitionId: partition.id,
    params: {},
  });
  return {
    partition: partition.name,
    targetDevice: transport.deviceId,
    transportKey: transport.digest,
    moving,
    refused,
    approvalRequired: rules.some((x) => x.rule !== null),
  };
}

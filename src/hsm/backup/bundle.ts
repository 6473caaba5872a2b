// Partition backup and restore (README "Backup and migration"): the bundle of one partition,
// its manifest (policy, governance in its scope, every key with its authenticated attributes,
// state and policy, serial, source and audit head) as an authenticated attribute and its key
// records encrypted under a fresh AES-256-GCM content-encryption key wrapped for a backup domain,
// signed by the partition attestation key (src/pki/backup-bundle.ts). A restore checks the
// signature and chain against this device's pinned root, the manifest against the chain, every
// record against the manifest, and refuses an older serial over the same partition.
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import {
  buildBackupSignedData,
  bundleDigest,
  bundleSignatureProblem,
  der,
  derReader,
  encodeAuthEnvelopedData,
  encodeBundleAuthAttributes,
  parseBackupBundle,
  BUNDLE_NONCE_LENGTH,
  type CmsRecipient,
  type ParsedBundle,
} from '../../pki/index.js';
import { bytesEqual, toBase64, type JsonObject } from '../../shared/index.js';
import { formatAuditHead, verifiedAuditEntries, verifiedEntry } from '../audit/log.js';
import type { Core, Operation } from '../core.js';
import { deviceSigner } from '../device.js';
import { HsmError } from '../errors.js';
import type { GovernedCall, RequestAuthority } from '../governance/authorize.js';
import { canonicalJson } from '../governance/canonical-json.js';
import type { PresentedAuthority } from '../governance/presented.js';
import {
  OPERATION_CLASSES,
  partitionScope,
  ROLES,
  type OperationClass,
  type Role,
} from '../governance/roles.js';
import { parseRule, satisfiable, type QuorumRule } from '../governance/rules.js';
import { integrityError } from '../integrity.js';
import { issuePartitionCertificates } from '../issuing/partition-certificates.js';
import {
  generateKey,
  isHsmAlgorithm,
  loadKey,
  publicPartOf,
  rowKind,
  type HsmAlgorithm,
} from '../key-crypto.js';
import { generatedAttributes } from '../keys/attributes.js';
import { insertKey } from '../keys/lifecycle.js';
import { partitionKeySigner } from '../keys/signers.js';
import { keyAad, sealPrivateKey, unsealRow } from '../keys/sealing.js';
import type { KeyRow, PartitionRow, StoreReader, StoreTx } from '../store/device-store.js';
import {
  DEFAULT_PARTITION_POLICY,
  type KeyAttributes,
  type KeyDerivation,
  type PartitionInfo,
  type PartitionPolicy,
} from '../types.js';
import {
  certificateFacts,
  checkName,
  keyState,
  parseAttributes,
  publicKeyOf,
  toDeviceInfo,
  toPartitionInfo,
} from '../views.js';
import { aesKeyUnwrap, aesKeyWrap } from '../wrap.js';
import {
  checkCustodians,
  combineCustodianShares,
  custodianRecipients,
  manifestCustodians,
  type CheckedCustodians,
  type CustodianEntry,
  type CustodianTarget,
} from './custodians.js';
import { domainKey, requireDomain } from './domain.js';
import {
  checkTransportCertificate,
  openTransportRecipient,
  transportRecipient,
} from './transport.js';
import { canonicalValue, isObject, isText, KEY_ROLES, signerIds } from './signed-json.js';

export const BACKUP_FORMAT = 'attestamp-backup/v1';

/**
 * Who can open the bundle: a backup domain, a target device's transport key (its device,
 * algorithm, the SHA-256 of its certificate and the subjectKeyIdentifier its RecipientInfo names),
 * or `threshold` of the custodians together (each by its certificate's SHA-256 and subject, in
 * the order of their shares).
 */
export type ManifestRecipient =
  | { readonly kind: 'backup-domain'; readonly domain: string; readonly name: string }
  | {
      readonly kind: 'transport-key';
      readonly device: string;
      readonly algorithm: string;
      readonly certificate: string;
      readonly keyIdentifier: string;
    }
  | {
      readonly kind: 'custodians';
      readonly threshold: number;
      readonly custodians: readonly CustodianEntry[];
    };

/** One key as the manifest describes it (the private part is in the encrypted records). */
export interface ManifestKey extends JsonObject {
  readonly id: string;
  readonly label: string;
  readonly role: KeyRow['role'];
  readonly algorithm: string;
  /** Hex SPKI of a key pair, or a secret key's check value. */
  readonly public: string;
  readonly attributes: JsonObject;
  readonly state: 'active' | 'invalidated';
  readonly createdAt: string;
  readonly invalidatedAt: string | null;
}

export interface BackupManifest extends JsonObject {
  readonly format: typeof BACKUP_FORMAT;
  /** Goes up by one with each backup of the source partition. */
  readonly serial: number;
  readonly createdAt: string;
  readonly source: {
    readonly device: string;
    readonly partition: string;
    readonly partitionName: string;
    /** The source's audit head before the backup entry: `seq:hash`. */
    readonly auditHead: string;
  };
  readonly recipients: readonly ManifestRecipient[];
  readonly partition: {
    readonly name: string;
    readonly createdAt: string;
    readonly policy: JsonObject;
    readonly soExcluded: boolean;
  };
  /** The partition's governance objects (roles, quorum rules) as their bodies. */
  readonly governance: readonly JsonObject[];
  readonly keys: readonly ManifestKey[];
}

/**
 * The provenance a restored key carries in its authenticated attributes (and its evidence
 * describes): where the bundle came from.
 */
export interface RestoredFrom extends JsonObject {
  readonly device: string;
  readonly partition: string;
  readonly key: string;
  readonly serial: number;
  readonly backupAt: string;
}

export interface BackupResult {
  readonly bundle: Uint8Array;
  readonly serial: number;
  /** SHA-256 of the bundle (hex), as the audit log and approval results name it. */
  readonly digest: string;
  readonly manifest: BackupManifest;
}

export interface RestoreOptions {
  /** The name of the partition to restore to; default: the source's name. */
  readonly name?: string;
  /** Restoring over the partition may go back to an older serial (the statement says so). */
  readonly allowRollback?: boolean;
  /**
   * Restoring over the partition may destroy the keys it holds that the bundle does not (made
   * after the backup); without it such a restore is refused naming them (the statement says so).
   */
  readonly destroyNewer?: boolean;
  /**
   * A custodian bundle: the custodians' share files (CustodianShare DER, from
   * openCustodianShare), at least the bundle's threshold of them.
   */
  readonly shares?: readonly Uint8Array[];
}

export interface RestoreResult {
  readonly partition: PartitionInfo;
  readonly serial: number;
  readonly keys: number;
  readonly replaced: boolean;
  /**
   * The partition's roles and quorum rules of the manifest that were not re-created (a new
   * partition only): each `role:PRINCIPAL/ROLE` or `rule:CLASS`, because the principal is not
   * on this device, or no principal with an approver key here could meet the rule.
   */
  readonly skippedGovernance: readonly string[];
}

/** A custodian bundle's new partition keys: the algorithms of a partition created by default. */
const DEFAULT_ATTESTATION_ALGORITHM = 'ecdsa-p384';
const DEFAULT_TIMESTAMP_ALGORITHM = 'ecdsa-p256';

const invalid = (reason: string, cause?: unknown): HsmError =>
  new HsmError('backup-invalid', `the backup bundle does not verify: ${reason}`, {
    ...(cause === undefined ? {} : { cause }),
  });

/**
 * Records ::= SEQUENCE OF Record
 * Record ::= SEQUENCE { keyId UTF8String, material OCTET STRING } -- the key's encoding
 */
function encodeRecords(records: readonly { id: string; material: Uint8Array }[]): Uint8Array {
  return der.seq(...records.map((r) => der.seq(der.utf8String(r.id), der.octetString(r.material))));
}

export function parseRecords(b: Uint8Array): Map<string, Uint8Array> {
  const { readTlv, childrenOf, expectTag, readUtf8, readOctets } = derReader;
  const out = new Map<string, Uint8Array>();
  try {
    const top = readTlv(b, 0);
    if (top.end !== b.length) throw invalid('trailing bytes after the key records');
    for (const r of childrenOf(b, expectTag(top, 0x30, 'records'))) {
      const fields = childrenOf(b, expectTag(r, 0x30, 'record'));
      const [id, material] = fields;
      if (fields.length !== 2 || id === undefined || material === undefined) {
        throw invalid('a key record is not an id and its material');
      }
      const key = readUtf8(b, id);
      if (out.has(key)) throw invalid('a key record appears twice');
      out.set(key, Uint8Array.from(readOctets(b, material)));
    }
    return out;
  } catch (cause) {
    for (const m of out.values()) m.fill(0);
    if (cause instanceof HsmError) throw cause;
    throw invalid('the key records are malformed', cause);
  }
}

/** A migrated partition's keys live on the target: it is never backed up again. */
export function requireNotMigrated(row: PartitionRow): void {
  const migratedTo = toPartitionInfo(row).migratedTo;
  if (migratedTo !== undefined) {
    throw new HsmError('partition-migrated', 'the partition was migrated to another device', {
      details: { partition: row.name, migratedTo },
    });
  }
}

/**
 * A bundle of a partition of this device that was migrated away since: its keys live on the
 * target now, and a restore here (under any name) would bring them back into use.
 */
async function refuseMigratedSource(
  core: Core,
  r: StoreReader,
  manifest: BackupManifest,
): Promise<void> {
  if (manifest.source.device !== core.deviceId) return;
  const source = await core.rows.partitionById(r, manifest.source.partition);
  if (source !== undefined) requireNotMigrated(source);
}

/** The serial of the partition's last backup, from its verified audit entry (0: none). */
async function lastSerial(core: Core, r: StoreReader, partitionId: string): Promise<number> {
  const seq = await r.audit.latestPartitionChange(partitionId, ['partition.backup']);
  if (seq === 0) return 0;
  const e = await verifiedEntry(r, core.keys.auditKey, seq);
  return typeof e?.details['serial'] === 'number' ? e.details['serial'] : 0;
}

interface BackupHistory {
  /** The partition's last backup: its entry and serial. */
  readonly backup?: { readonly seq: number; readonly serial: number };
  /** The last restore into the partition: its entry, the source and the serial. */
  readonly restore?: {
    readonly seq: number;
    readonly device: string;
    readonly partition: string;
    readonly serial: number;
  };
}

/**
 * The partition's last backup and last restore, read from the whole audit chain verified
 * entry by entry: an entry deleted, or its action, outcome or partition edited, breaks the chain
 * (an integrity failure), so no query over editable columns decides which entry counts.
 */
async function backupHistory(
  core: Core,
  r: StoreReader,
  partitionId: string,
): Promise<BackupHistory> {
  let backup: BackupHistory['backup'];
  let restore: BackupHistory['restore'];
  for await (const e of verifiedAuditEntries(r, core.keys.auditKey)) {
    if (e.partitionId !== partitionId || e.outcome !== 'success') continue;
    const serial = e.details['serial'];
    if (typeof serial !== 'number') continue;
    if (e.action === 'partition.backup') backup = { seq: e.seq, serial };
    else if (e.action === 'partition.restore') {
      restore = {
        seq: e.seq,
        device: String(e.details['sourceDevice']),
        partition: String(e.details['sourcePartition']),
        serial,
      };
    }
  }
  return { ...(backup ? { backup } : {}), ...(restore ? { restore } : {}) };
}

async function partitionGovernance(
  core: Core,
  r: StoreReader,
  partitionId: string,
): Promise<JsonObject[]> {
  const scope = partitionScope(partitionId);
  const out: JsonObject[] = [];
  for (const kind of ['role', 'rule'] as const) {
    for (const o of await core.governance.objects.list<JsonObject>(r, kind, scope)) {
      out.push({ kind, id: o.id, body: o.body });
    }
  }
  return out;
}

/**
 * Makes the backup bundle of a partition for a backup domain this device is enrolled in, under
 * the partition's partition.backup quorum rule. Every key goes in (the trash too), each with
 * its attributes as the authenticated row holds them and its material as the sealed row opens.
 */
export type BackupTarget =
  | { readonly domain: string }
  /** A target device's transport certificate chain: transport, device (a root may follow). */
  | { readonly transportCertificate: readonly Uint8Array[] }
  /**
   * Custodians: the user keys only, every one of them exportable (else backup-keys-protected
   * naming each key that is not); the partition's own keys stay behind, and a restore makes a
   * new partition with new ones.
   */
  | { readonly custodians: CustodianTarget };

/**
 * A custodian bundle leaves the devices' protection: it is an export of every user key it
 * carries, so each must be exportable as key.export would have it: extractable, under a
 * partition policy that allows export, active (not in the trash), not blocked, and without an
 * approval policy of its own (its use rule would not follow it out). Refused naming every key
 * that is not, before anything is asked, signed or written, and again in the transaction.
 */
async function refuseProtected(core: Core, r: StoreReader, partition: PartitionRow): Promise<void> {
  const exportAllowed = toPartitionInfo(partition).policy.exportAllowed;
  const held: string[] = [];
  for (const row of await core.rows.keysOfPartition(r, partition.id)) {
    if (row.role !== 'user') continue;
    const a = parseAttributes(row);
    if (
      !exportAllowed ||
      !a.extractable ||
      row.state !== 'active' ||
      keyState(row) === 'blocked' ||
      a.policy !== undefined
    ) {
      held.push(row.label);
    }
  }
  if (held.length > 0) {
    throw new HsmError(
      'backup-keys-protected',
      `a custodian bundle holds only exportable keys (extractable, active, not blocked, no approval policy of their own); not exportable${exportAllowed ? '' : ' (the partition policy forbids export)'}: ${held.join(', ')}`,
      { details: { partition: partition.name, keys: held.join(' ') } },
    );
  }
}

/**
 * A custodian bundle's keys have left the device: each is marked as exported for good (never
 * extractable can never be claimed for it again), with its key.export entry, as an export does.
 */
async function markExported(
  core: Core,
  tx: StoreTx,
  now: Date,
  actor: string | undefined,
  carried: readonly KeyRow[],
  serial: number,
): Promise<void> {
  for (const row of carried) {
    const current = await core.rows.keyById(tx, row.id);
    if (current === undefined) {
      throw new HsmError('store-busy', "the partition's keys changed meanwhile; try again");
    }
    const seq = await core.audit(tx, now, {
      ...(actor === undefined ? {} : { actor }),
      action: 'key.export',
      ...(row.partition_id === null ? {} : { partitionId: row.partition_id }),
      keyId: row.id,
      outcome: 'success',
      details: { label: row.label, wrapping: 'custodian-shares', serial },
    });
    const next = core.rows.sealKey({
      ...current,
      attributes_json: JSON.stringify({ ...parseAttributes(current), neverExtractable: false }),
      audit_seq: seq,
    });
    if (!(await tx.keys.update(next, current.mac!))) {
      throw integrityError('key', 'the row changed under its transaction', { keyId: row.id });
    }
  }
}

export function backupPartition(
  core: Core,
  partitionName: string,
  options: BackupTarget,
  authority?: RequestAuthority | PresentedAuthority,
): Promise<BackupResult> {
  const op: Operation = { action: 'partition.backup', details: { partition: partitionName } };
  return core.guard(op, async () => {
    await core.governance.requireOpenRequest(authority);
    const partition = await core.partitionRow(core.store, partitionName, op);
    requireNotMigrated(partition);
    const domain =
      'domain' in options ? await requireDomain(core, core.store, options.domain) : undefined;
    const transport =
      'transportCertificate' in options
        ? await checkTransportCertificate(core, options.transportCertificate)
        : undefined;
    const custodians: CheckedCustodians | undefined =
      'custodians' in options ? checkCustodians(options.custodians, core.clock.now()) : undefined;
    if (custodians !== undefined) await refuseProtected(core, core.store, partition);
    const custodianParams =
      custodians === undefined
        ? undefined
        : {
            custodians: custodians.custodians.map((c) => c.certificate).join(','),
            threshold: custodians.threshold,
          };
    // The statement names the domain, the target device and its transport key's hash, or the
    // custodians' certificate hashes and the threshold.
    const call: GovernedCall = {
      action: 'partition.backup',
      partitionId: partition.id,
      params:
        custodianParams !== undefined
          ? { partition: partition.id, ...custodianParams }
          : transport === undefined
            ? { partition: partition.id, domain: domain!.id }
            : {
                partition: partition.id,
                targetDevice: transport.deviceId,
                transportKey: transport.digest,
              },
      ...(custodians !== undefined
        ? {
            escrow: {
              custodianCertificates: (
                options as { custodians: CustodianTarget }
              ).custodians.certificates
                .map((c) => toBase64(c))
                .join(','),
            },
          }
        : transport === undefined
          ? {}
          : {
              escrow: {
                transportCertificate: (
                  options as { transportCertificate: readonly Uint8Array[] }
                ).transportCertificate
                  .slice(0, 2)
                  .map((c) => toBase64(c))
                  .join(','),
              },
            }),
    };
    if (custodianParams !== undefined) {
      op.details = {
        ...op.details,
        custodians: custodianParams.custodians,
        threshold: String(custodianParams.threshold),
      };
    }
    if (transport !== undefined) {
      op.details = {
        ...op.details,
        targetDevice: transport.deviceId,
        transportKey: transport.digest,
      };
    }
    // A custodian bundle is an export of its keys: whoever guards exports must agree too.
    const grant = await core.governance.authorizeOperator(
      authority,
      op,
      custodians === undefined ? call : { ...call, alsoClasses: ['key.export'] },
    );
    // A custodian bundle carries the user keys alone: the partition's own keys never leave.
    const held = await core.rows.keysOfPartition(core.store, partition.id);
    const rows = held.filter((row) => custodians === undefined || row.role === 'user');
    if (custodians !== undefined) await refuseProtected(core, core.store, partition);
    const serial = (await lastSerial(core, core.store, partition.id)) + 1;
    const head = await core.store.audit.head();
    const now = core.clock.now();
    const records: { id: string; material: Uint8Array }[] = [];
    const keys: ManifestKey[] = [];
    try {
      for (const row of rows) {
        const { encoded, publicPart } = unsealRow(core.keys.kek, core.deviceId, row);
        records.push({ id: row.id, material: encoded });
        if (!bytesEqual(publicPart, publicKeyOf(row))) {
          throw integrityError('key', 'the stored public key is not the sealed key', {
            keyId: row.id,
          });
        }
        keys.push({
          id: row.id,
          label: row.label,
          role: row.role,
          algorithm: row.algorithm,
          public: Buffer.from(publicKeyOf(row)).toString('hex'),
          attributes: parseAttributes(row) as unknown as JsonObject,
          state: row.state,
          createdAt: row.created_at,
          invalidatedAt: row.invalidated_at,
        });
      }
      const info = toPartitionInfo(partition);
      const manifest: BackupManifest = {
        format: BACKUP_FORMAT,
        serial,
        createdAt: now.toISOString(),
        source: {
          device: core.deviceId,
          partition: partition.id,
          partitionName: partition.name,
          auditHead: formatAuditHead({
            seq: head?.seq ?? 0,
            hash: Buffer.from(head?.hash ?? Buffer.alloc(32)).toString('hex'),
          }),
        },
        recipients: [
          custodians !== undefined
            ? {
                kind: 'custodians',
                threshold: custodians.threshold,
                custodians: custodians.custodians.map((c) => ({
                  certificate: c.certificate,
                  subject: c.subject,
                })),
              }
            : domain !== undefined
              ? { kind: 'backup-domain', domain: domain.id, name: domain.name }
              : {
                  kind: 'transport-key',
                  device: transport!.deviceId,
                  algorithm: transport!.algorithm,
                  certificate: transport!.digest,
                  keyIdentifier: Buffer.from(transport!.subjectKeyIdentifier).toString('hex'),
                },
        ],
        partition: {
          name: partition.name,
          createdAt: partition.created_at,
          policy: { ...info.policy },
          soExcluded: await core.governance.soExcluded(core.store, partition.id),
        },
        governance: await partitionGovernance(core, core.store, partition.id),
        keys,
      };
      const manifestBytes = new TextEncoder().encode(canonicalJson(manifest));
      const cek = randomBytes(32);
      const nonce = randomBytes(BUNDLE_NONCE_LENGTH);
      const authAttributes = encodeBundleAuthAttributes(manifestBytes);
      const plaintext = encodeRecords(records);
      const dk = domain === undefined ? undefined : await domainKey(core, core.store, domain.id);
      if (domain !== undefined && dk === undefined) {
        throw new HsmError('backup-domain-unknown', 'the domain key is gone');
      }
      let content: Uint8Array;
      try {
        const cipher = createCipheriv('aes-256-gcm', cek, nonce);
        cipher.setAAD(authAttributes);
        const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
        const recipients: CmsRecipient[] =
          custodians !== undefined
            ? await custodianRecipients(custodians, cek)
            : dk !== undefined
              ? [
                  {
                    kind: 'kek',
                    keyIdentifier: new TextEncoder().encode(domain!.id),
                    encryptedKey: aesKeyWrap(dk, cek, 'kw'),
                  },
                ]
              : [transportRecipient(transport!, cek)];
        content = encodeAuthEnvelopedData({
          recipients,
          nonce,
          ciphertext,
          tag: cipher.getAuthTag(),
          authAttributes,
        });
      } finally {
        cek.fill(0);
        dk?.fill(0);
        plaintext.fill(0);
      }
      const signer = await partitionKeySigner(core, partition.name, 'partition-attestation');
      const bundle = await buildBackupSignedData(content, signer);
      const digest = bundleDigest(bundle);
      await core.store.tx(async (tx) => {
        await grant.check(tx, now);
        // Another backup in between took this serial: the manifest would repeat it.
        if ((await lastSerial(core, tx, partition.id)) + 1 !== serial) {
          throw new HsmError('store-busy', 'another backup of the partition was made meanwhile');
        }
        await requireSameKeys(core, tx, partition.id, held);
        if (custodians !== undefined) {
          // The partition as the transaction sees it: still not migrated, still allowing export.
          const now_ = await core.partitionRow(tx, partition.name, op);
          if (now_.id !== partition.id) {
            throw new HsmError('store-busy', 'the partition changed meanwhile; try again');
          }
          requireNotMigrated(now_);
          await refuseProtected(core, tx, now_);
        }
        await core.audit(tx, now, {
          actor: op.actor,
          action: 'partition.backup',
          partitionId: partition.id,
          outcome: 'success',
          details: {
            partition: partition.name,
            serial,
            ...(custodianParams !== undefined
              ? custodianParams
              : domain !== undefined
                ? { domain: domain.id }
                : { targetDevice: transport!.deviceId, transportKey: transport!.digest }),
            bundle: digest,
            keys: keys.length,
            sourceHead: manifest.source.auditHead,
          },
        });
        if (custodians !== undefined) await markExported(core, tx, now, op.actor, rows, serial);
        await grant.done(tx, now, { serial, digest, bundle: toBase64(bundle) });
      });
      return { bundle, serial, digest, manifest };
    } finally {
      for (const r of records) r.material.fill(0);
    }
  });
}

/**
 * The partition's keys are still the rows the bundle was made of (the same ids and MACs: none
 * made, destroyed or changed since they were read), so the bundle is the partition at the
 * audit entry this transaction writes; else store-busy (try again).
 */
async function requireSameKeys(
  core: Core,
  tx: StoreTx,
  partitionId: string,
  read: readonly KeyRow[],
): Promise<void> {
  const set = (rows: readonly KeyRow[]): string =>
    rows
      .map((r) => `${r.id}:${r.mac === null ? '' : r.mac.toString('hex')}`)
      .sort()
      .join(',');
  if (set(await core.rows.keysOfPartition(tx, partitionId)) !== set(read)) {
    throw new HsmError('store-busy', "the partition's keys changed meanwhile; try again", {
      details: { partitionId },
    });
  }
}

/** The recipient kinds a manifest may list (ManifestRecipient): any other is backup-invalid. */
const RECIPIENT_KINDS: readonly string[] = ['backup-domain', 'transport-key', 'custodians'];

/**
 * The partition's own keys in a manifest: exactly one attestation key and one timestamp key
 * (a restore certifies and keeps exactly these); none in a custodian bundle, which carries the
 * user keys only (its restore makes new partition keys).
 */
function checkPartitionKeys(keys: readonly { readonly role: string }[], custodian: boolean): void {
  const expected = custodian ? 0 : 1;
  for (const role of ['partition-attestation', 'partition-timestamp']) {
    const n = keys.filter((k) => k.role === role).length;
    if (n !== expected) {
      throw invalid(`the manifest holds ${n} keys of role ${role} (${expected} expected)`);
    }
  }
}

/** Every entry of `recipients` is an object of a known kind. */
function checkRecipients(recipients: unknown): void {
  if (
    !Array.isArray(recipients) ||
    !recipients.every(
      (r) => isObject(r) && isText(r['kind']) && RECIPIENT_KINDS.includes(r['kind']),
    )
  ) {
    throw invalid('the manifest lists a recipient of no known kind');
  }
}

/**
 * The manifest's shape: every field a restore reads, of its type, key ids and labels non-empty
 * and unique (a partition never holds two keys of one label, the trash included), the
 * partition's own keys once each and known recipients; else backup-invalid, before any key is
 * opened. A manifest is signed by its source: only a faulty or hostile source can break these.
 */
export function checkManifest(v: unknown): BackupManifest {
  const m = isObject(v) ? v : {};
  const source = isObject(m['source']) ? m['source'] : {};
  const partition = isObject(m['partition']) ? m['partition'] : {};
  const keys = Array.isArray(m['keys']) ? (m['keys'] as unknown[]) : undefined;
  if (
    m['format'] !== BACKUP_FORMAT ||
    !Number.isSafeInteger(m['serial']) ||
    !isText(m['createdAt']) ||
    !isText(source['device']) ||
    !isText(source['partition']) ||
    !isText(source['auditHead']) ||
    !isText(partition['name']) ||
    !isObject(partition['policy']) ||
    keys === undefined
  ) {
    throw invalid('the manifest lacks a field');
  }
  checkRecipients(m['recipients']);
  const ids = new Set<string>();
  const labels = new Set<string>();
  for (const k of keys) {
    const key = isObject(k) ? k : {};
    if (
      !isText(key['id']) ||
      key['id'] === '' ||
      !isText(key['label']) ||
      key['label'] === '' ||
      !isText(key['role']) ||
      !KEY_ROLES.includes(key['role']) ||
      !isText(key['algorithm']) ||
      !isHsmAlgorithm(key['algorithm']) ||
      !isText(key['public']) ||
      !isObject(key['attributes']) ||
      (key['state'] !== 'active' && key['state'] !== 'invalidated') ||
      !isText(key['createdAt']) ||
      !(key['invalidatedAt'] === null || isText(key['invalidatedAt'])) ||
      ids.has(key['id'])
    ) {
      throw invalid('a key of the manifest is malformed');
    }
    if (labels.has(key['label'])) throw invalid('two keys of the manifest have one label');
    ids.add(key['id']);
    labels.add(key['label']);
  }
  const custodian = (m['recipients'] as unknown[]).some(
    (r) => isObject(r) && r['kind'] === 'custodians',
  );
  checkPartitionKeys(keys as { role: string }[], custodian);
  return v as BackupManifest;
}

/** The checks that need no secret: structure, signature, chain to the pinned root, manifest. */
export async function verifiedBundle(
  core: Core,
  bytes: Uint8Array,
): Promise<{ parsed: ParsedBundle; manifest: BackupManifest }> {
  let parsed: ParsedBundle;
  try {
    parsed = parseBackupBundle(bytes);
  } catch (cause) {
    throw invalid('not a well-formed bundle', cause);
  }
  const problem = await bundleSignatureProblem(parsed);
  if (problem !== undefined) throw invalid(problem);
  const ids = await signerIds(core, parsed, invalid);
  const value = canonicalValue(parsed.manifest, 'manifest', invalid);
  const manifest = checkManifest(value);
  // The manifest speaks of the partition whose key signed it.
  if (manifest.source.device !== ids.deviceId || manifest.source.partition !== ids.partitionId) {
    throw invalid('the manifest names another source than its signer');
  }
  if (!Number.isSafeInteger(manifest.serial) || manifest.serial < 1) throw invalid('bad serial');
  return { parsed, manifest };
}

/**
 * The content-encryption key, from a backup domain this device is enrolled in or one of its
 * transport keys the bundle is addressed to (by the recipient's rid, which the signed manifest
 * must list).
 */
async function contentKey(
  core: Core,
  parsed: ParsedBundle,
  manifest: BackupManifest,
  custodian?: { readonly bundle: Uint8Array; readonly shares: readonly Uint8Array[] },
): Promise<Uint8Array> {
  // A custodian bundle opens with its custodians' shares, never with a key of this device.
  if (manifestCustodians(manifest.recipients) !== undefined) {
    if (custodian === undefined || custodian.shares.length === 0) {
      throw new HsmError('invalid-argument', 'a custodian bundle is restored from its shares', {
        details: { field: 'shares' },
      });
    }
    return combineCustodianShares(custodian.bundle, parsed, manifest, custodian.shares);
  }
  if (parsed.recipients.some((r) => r.kind === 'custodian-share')) {
    throw invalid('custodian shares in a bundle whose manifest names no custodians');
  }
  for (const r of parsed.recipients) {
    if (r.kind !== 'kek') continue;
    const id = new TextDecoder().decode(r.keyIdentifier);
    const dk = await domainKey(core, core.store, id);
    if (dk === undefined) continue;
    try {
      return aesKeyUnwrap(dk, r.encryptedKey, 'kw');
    } catch (cause) {
      throw invalid('the content-encryption key does not unwrap', cause);
    } finally {
      dk.fill(0);
    }
  }
  const listed = new Set(
    (Array.isArray(manifest.recipients) ? manifest.recipients : []).flatMap((m: unknown) =>
      isObject(m) && m['kind'] === 'transport-key' && isText(m['keyIdentifier'])
        ? [m['keyIdentifier']]
        : [],
    ),
  );
  const addressed = parsed.recipients.filter(
    (r) =>
      r.kind !== 'kek' &&
      r.kind !== 'custodian-share' &&
      listed.has(Buffer.from(r.subjectKeyIdentifier).toString('hex')),
  );
  const opened = await openTransportRecipient(core, addressed);
  if (opened !== undefined) return opened.cek;
  if (parsed.recipients.some((r) => r.kind !== 'kek')) {
    throw new HsmError(
      'transport-key-unknown',
      'no recipient of the bundle is a transport key of this device (nor a backup domain it is enrolled in)',
    );
  }
  throw new HsmError(
    'backup-domain-unknown',
    'no recipient of the bundle is a backup domain this device is enrolled in',
  );
}

/** Opens the records with the content-encryption key; every record checked by the manifest. */
async function openRecords(
  core: Core,
  parsed: ParsedBundle,
  manifest: BackupManifest,
  custodian?: { readonly bundle: Uint8Array; readonly shares: readonly Uint8Array[] },
): Promise<Map<string, Uint8Array>> {
  const cek = await contentKey(core, parsed, manifest, custodian);
  let plaintext: Buffer;
  try {
    const d = createDecipheriv('aes-256-gcm', cek, parsed.nonce);
    d.setAAD(parsed.authAttributes);
    d.setAuthTag(parsed.tag);
    plaintext = Buffer.concat([d.update(parsed.ciphertext), d.final()]);
  } catch (cause) {
    throw invalid('the encrypted content does not authenticate', cause);
  } finally {
    cek.fill(0);
  }
  let records: Map<string, Uint8Array> | undefined;
  try {
    records = parseRecords(plaintext);
    if (records.size !== manifest.keys.length) throw invalid('records and manifest differ');
    for (const k of manifest.keys) {
      const material = records.get(k.id);
      if (material === undefined || !isHsmAlgorithm(k.algorithm)) {
        throw invalid('a key of the manifest has no record');
      }
      let publicPart: Uint8Array;
      try {
        publicPart = publicPartOf(k.algorithm, loadKey(k.algorithm, material));
      } catch (cause) {
        throw invalid('a key record does not load', cause);
      }
      if (Buffer.from(publicPart).toString('hex') !== k.public) {
        throw invalid('a key record is not the key the manifest names');
      }
    }
    const opened = records;
    records = undefined;
    return opened;
  } finally {
    plaintext.fill(0);
    // Wiped unless handed to the caller (which wipes them after the restore).
    for (const m of records?.values() ?? []) m.fill(0);
  }
}

/**
 * Re-creates the manifest's roles and quorum rules in a new partition's scope, inside `tx`:
 * a role when its principal is active here, a rule when principals with approver keys here can
 * meet it (never a rule that would lock the partition). Returns what was not re-created.
 */
const textOf = (v: unknown): string => (isText(v) ? v : '');

async function restoreGovernance(
  core: Core,
  tx: StoreTx,
  at: Date,
  manifest: BackupManifest,
  partitionId: string,
  actor: string | undefined,
): Promise<string[]> {
  const scope = partitionScope(partitionId);
  const skipped: string[] = [];
  // On another device the principals of the bundle are not this device's: the new partition
  // starts under this device's governance alone, and every role and rule is named as left out.
  if (manifest.source.device !== core.deviceId) {
    if (manifest.partition.soExcluded) skipped.push('so-exclusion');
    for (const entry of manifest.governance) {
      const body = isObject(entry['body']) ? entry['body'] : {};
      if (entry['kind'] === 'role' && body['state'] === 'active') {
        skipped.push(`role:${textOf(body['principal'])}/${textOf(body['role'])}`);
      } else if (entry['kind'] === 'rule' && body['rule'] !== null) {
        skipped.push(`rule:${textOf(body['operation'])}`);
      }
    }
    return skipped;
  }
  // The device SO stays excluded where the source's security officers had excluded it.
  if (manifest.partition.soExcluded) {
    await core.governance.objects.put(
      tx,
      at,
      'partition-governance',
      partitionId,
      scope,
      { partition: partitionId, soExcluded: true, at: at.toISOString() },
      {
        action: 'partition.exclude-so',
        actor,
        partitionId,
        details: { partition: manifest.partition.name },
      },
    );
  }
  const able = await core.governance.approvers.able(tx);
  for (const entry of manifest.governance) {
    const body = isObject(entry['body']) ? entry['body'] : {};
    if (entry['kind'] === 'role') {
      const principal = isText(body['principal']) ? body['principal'] : '';
      const role = isText(body['role']) ? body['role'] : '';
      if (body['state'] !== 'active') continue;
      const p = await core.governance.roles.principal(tx, principal);
      // A role held in a partition's scope: never the device SO's.
      if (
        p?.body.state !== 'active' ||
        !(ROLES as readonly string[]).includes(role) ||
        role === 'device-so'
      ) {
        skipped.push(`role:${principal}/${role}`);
        continue;
      }
      await core.governance.roles.grant(tx, at, principal, role as Role, scope, actor);
    } else if (entry['kind'] === 'rule') {
      const operation = isText(body['operation']) ? body['operation'] : '';
      if (body['rule'] === null) continue;
      let rule: QuorumRule;
      try {
        rule = parseRule(body['rule']);
      } catch {
        skipped.push(`rule:${operation}`);
        continue;
      }
      if (
        !(OPERATION_CLASSES as readonly string[]).includes(operation) ||
        !satisfiable(rule, able)
      ) {
        skipped.push(`rule:${operation}`);
        continue;
      }
      const cls = operation as OperationClass;
      const current = await core.governance.quorum.get(tx, scope, cls);
      await core.governance.quorum.set(tx, at, current, rule, actor, partitionId);
    }
  }
  return skipped;
}

/**
 * Restores a bundle: a new partition (device quorum, partition.restore) or over the partition of
 * that name (its own quorum, partition.restore.over), which must be the bundle's partition or
 * restored from it, at a serial not older unless the approved statement allows rollback. The
 * partition's attestation and timestamp keys are certified anew by this device; every key keeps
 * its attributes, state and policy, and names where it came from.
 */
export function restorePartition(
  core: Core,
  bytes: Uint8Array,
  options: RestoreOptions = {},
  authority?: RequestAuthority | PresentedAuthority,
): Promise<RestoreResult> {
  const op: Operation = { action: 'partition.restore' };
  return core.guard(op, async () => {
    await core.governance.requireOpenRequest(authority);
    const { parsed, manifest } = await verifiedBundle(core, bytes);
    await refuseMigratedSource(core, core.store, manifest);
    const name = options.name ?? manifest.partition.name;
    checkName('partition', name);
    op.details = { partition: name, serial: String(manifest.serial) };
    const digest = bundleDigest(bytes);
    const existing = await core.rows.partitionByName(core.store, name);
    // A custodian bundle holds no partition keys: it restores as a new partition only.
    const custodian = manifestCustodians(manifest.recipients) !== undefined;
    if (custodian && existing !== undefined) {
      throw new HsmError(
        'invalid-argument',
        'a custodian bundle restores as a new partition only: choose a name not in use',
        { details: { field: 'name', partition: name } },
      );
    }
    if (custodian && (options.shares === undefined || options.shares.length === 0)) {
      throw new HsmError('invalid-argument', 'a custodian bundle is restored from its shares', {
        details: { field: 'shares' },
      });
    }
    const allowRollback = options.allowRollback === true;
    const destroyNewer = options.destroyNewer === true;
    const call: GovernedCall =
      existing === undefined
        ? { action: 'partition.restore', params: { name, bundle: digest, allowRollback } }
        : {
            action: 'partition.restore.over',
            partitionId: existing.id,
            params: { partition: existing.id, bundle: digest, allowRollback, destroyNewer },
            // It replaces the partition's keys: whoever may change its policy must agree too.
            alsoClasses: ['policy.change'],
          };

    if (existing !== undefined) op.partitionId = existing.id;
    const escrowed = { ...call, escrow: { bundle: toBase64(bytes) } };
    const grant = await core.governance.authorizeOperator(authority, op, escrowed);
    const records = await openRecords(
      core,
      parsed,
      manifest,
      custodian ? { bundle: bytes, shares: options.shares ?? [] } : undefined,
    );
    // The new partition's own keys of a custodian bundle: generated here, like a new partition's.
    const own = custodian
      ? {
          attestation: await generateKey(DEFAULT_ATTESTATION_ALGORITHM),
          timestamp: await generateKey(DEFAULT_TIMESTAMP_ALGORITHM),
        }
      : undefined;
    try {
      const check = async (r: StoreReader, row: PartitionRow): Promise<void> => {
        const self =
          row.id === manifest.source.partition && core.deviceId === manifest.source.device;
        const history = await backupHistory(core, r, row.id);
        const from = history.restore;
        const related =
          self ||
          (from !== undefined &&
            from.device === manifest.source.device &&
            from.partition === manifest.source.partition);
        if (!related) {
          throw new HsmError(
            'backup-source-mismatch',
            "the partition is neither the bundle's partition nor restored from it",
            { details: { partition: row.name } },
          );
        }
        let current = self ? (history.backup?.serial ?? 0) : (from?.serial ?? 0);
        // A bundle of the partition itself holds its state at that backup: a restore of
        // another lineage into it since then is newer (as is one of itself at a later serial).
        if (
          self &&
          from !== undefined &&
          from.seq > (history.backup?.seq ?? 0) &&
          !(from.device === core.deviceId && from.partition === row.id)
        ) {
          current = manifest.serial + 1;
        }
        if (manifest.serial < current && !allowRollback) {
          throw new HsmError(
            'backup-rollback',
            "the bundle is older than the partition's last backup or restore",
            { details: { partition: row.name, serial: manifest.serial, current } },
          );
        }
      };
      if (existing !== undefined) {
        await check(core.store, existing);
        await checkOver(core, core.store, existing, manifest, destroyNewer);
      }
      const partitionId = existing?.id ?? randomUUID();
      const device = toDeviceInfo(await core.device(core.store));
      const deviceCert = certificateFacts(device.certificate);
      const signer = await deviceSigner(core, core.store);
      const att =
        own !== undefined
          ? { public: Buffer.from(own.attestation.publicPart).toString('hex') }
          : manifest.keys.find((k) => k.role === 'partition-attestation');
      const ts =
        own !== undefined
          ? { public: Buffer.from(own.timestamp.publicPart).toString('hex') }
          : manifest.keys.find((k) => k.role === 'partition-timestamp');
      if (att === undefined || ts === undefined) throw invalid('the partition keys are missing');
      if (own !== undefined && manifest.keys.some((k) => k.role !== 'user')) {
        throw invalid('a custodian bundle carries partition keys');
      }
      const now = core.clock.now();
      // Over a partition: its own keys are the bundle's (a partition's attestation and timestamp
      // keys never change), and its certificates stay; a new partition's are issued here.
      const certs =
        existing !== undefined
          ? {
              attestationCertificate: new Uint8Array(existing.attestation_certificate),
              timestampCertificate: new Uint8Array(existing.timestamp_certificate),
            }
          : await issuePartitionCertificates({
              partitionName: name,
              ids: { deviceId: core.deviceId, partitionId },
              subjectBase: { country: device.country, organization: device.organization },
              issuer: { name: deviceCert.subject, spki: signer.spki },
              issuerNotAfter: deviceCert.notAfter,
              signer,
              attestationSpki: Buffer.from(att.public, 'hex'),
              timestampSpki: Buffer.from(ts.public, 'hex'),
              now,
            });
      const policy: PartitionPolicy = {
        ...DEFAULT_PARTITION_POLICY,
        ...(manifest.partition.policy as Partial<PartitionPolicy>),
      };
      return await core.store.tx(async (tx) => {
        await grant.check(tx, now);
        await refuseMigratedSource(core, tx, manifest);
        const current = await core.rows.partitionByName(tx, name);
        if ((current?.id ?? undefined) !== existing?.id) {
          throw new HsmError('store-busy', 'the partition changed meanwhile');
        }
        if (current !== undefined) {
          await check(tx, current);
          await checkOver(core, tx, current, manifest, destroyNewer);
        }
        const seq = await core.audit(tx, now, {
          actor: op.actor,
          action: 'partition.restore',
          partitionId,
          outcome: 'success',
          details: {
            partition: name,
            sourceDevice: manifest.source.device,
            sourcePartition: manifest.source.partition,
            serial: manifest.serial,
            backupAt: manifest.createdAt,
            sourceHead: manifest.source.auditHead,
            bundle: digest,
            keys: manifest.keys.length,
            replaced: current !== undefined,
            ...(allowRollback ? { allowRollback: true } : {}),
          },
        });
        const row = core.rows.sealPartition({
          id: partitionId,
          name,
          // Over a partition its policy stays: a bundle never loosens it (exportAllowed, readOnly).
          policy_json: current?.policy_json ?? JSON.stringify(policy),
          attestation_certificate: Buffer.from(certs.attestationCertificate),
          timestamp_certificate: Buffer.from(certs.timestampCertificate),
          created_at: current?.created_at ?? now.toISOString(),
          audit_seq: seq,
        });
        const restored = manifest.keys.filter((k) => current === undefined || k.role === 'user');
        const held = current === undefined ? [] : await core.rows.keysOfPartition(tx, current.id);
        if (current === undefined) {
          await tx.partitions.insert(row);
          for (const [role, alg, key] of own === undefined
            ? []
            : ([
                ['partition-attestation', DEFAULT_ATTESTATION_ALGORITHM, own.attestation],
                ['partition-timestamp', DEFAULT_TIMESTAMP_ALGORITHM, own.timestamp],
              ] as const)) {
            await insertKey(core, tx, {
              id: randomUUID(),
              partitionId,
              label: role,
              role,
              algorithm: alg,
              spki: key.publicPart,
              attributes: generatedAttributes({ destroyable: false }),
              privateKey: key.privateKey,
              now,
              auditSeq: seq,
            });
          }
        } else {
          // The keys it held are destroyed, each with its entry (a row put back is detected).
          for (const old of held) {
            if (old.role !== 'user') {
              const same = manifest.keys.find((k) => k.role === old.role);
              if (same?.public !== Buffer.from(publicKeyOf(old)).toString('hex')) {
                throw new HsmError(
                  'backup-source-mismatch',
                  "the partition's own keys are not the bundle's",
                  { details: { partition: name } },
                );
              }
              continue;
            }
            await core.audit(tx, now, {
              actor: op.actor,
              action: 'key.destroy',
              partitionId,
              keyId: old.id,
              outcome: 'success',
              details: { label: old.label, restore: true },
            });
            if (!(await tx.keys.delete(old.id, old.mac!))) {
              throw integrityError('key', 'the row changed under its transaction', {
                keyId: old.id,
              });
            }
          }
          await replacePartitionRow(tx, row, current);
        }
        const newIds = new Map(restored.map((k) => [k.id, randomUUID()] as const));
        for (const k of restored) {
          const algorithm = k.algorithm as HsmAlgorithm;
          const id = newIds.get(k.id)!;
          const restoredFrom: RestoredFrom = {
            device: manifest.source.device,
            partition: manifest.source.partition,
            key: k.id,
            serial: manifest.serial,
            backupAt: manifest.createdAt,
          };
          const attributes = {
            ...(k.attributes as unknown as KeyAttributes),
            restoredFrom,
            ...aeadCount(k, held, manifest, core.deviceId),
            ...restoredDerivation(k, newIds),
          };
          await tx.keys.insert(
            core.rows.sealKey({
              id,
              partition_id: partitionId,
              label: k.label,
              role: k.role,
              kind: rowKind(algorithm),
              algorithm,
              spki: Buffer.from(k.public, 'hex'),
              attributes_json: JSON.stringify(attributes),
              state: k.state,
              created_at: k.createdAt,
              invalidated_at: k.invalidatedAt,
              wrapped: sealPrivateKey(
                core.keys.kek,
                algorithm,
                loadKey(algorithm, records.get(k.id)!),
                keyAad(core.deviceId, partitionId, id),
              ),
              audit_seq: seq,
            }),
          );
        }
        // A new partition takes the source's roles and rules where they can hold here; over a
        // partition, its own governance stays (it approved this restore).
        const skippedGovernance =
          current === undefined
            ? await restoreGovernance(core, tx, now, manifest, partitionId, op.actor)
            : [];
        await grant.done(tx, now, {
          partition: partitionId,
          serial: manifest.serial,
          skippedGovernance: skippedGovernance.join(' '),
        });
        return {
          partition: toPartitionInfo(row),
          serial: manifest.serial,
          keys: manifest.keys.length,
          replaced: current !== undefined,
          skippedGovernance,
        };
      });
    } finally {
      for (const m of records.values()) m.fill(0);
    }
  });
}

/** The bundle's key that a key the partition holds is (the same key restored, or itself). */
function bundleKeyOf(
  row: KeyRow,
  manifest: BackupManifest,
  partitionId: string,
  deviceId: string,
): ManifestKey | undefined {
  const from = parseAttributes(row).restoredFrom;
  const self = deviceId === manifest.source.device && partitionId === manifest.source.partition;
  return manifest.keys.find(
    (k) =>
      k.role === 'user' &&
      k.public === Buffer.from(publicKeyOf(row)).toString('hex') &&
      ((self && k.id === row.id) ||
        (from !== undefined &&
          from.key === k.id &&
          from.device === manifest.source.device &&
          from.partition === manifest.source.partition)),
  );
}

/**
 * The attributes that say what a key is and may do (not where it came from, nor its count, nor
 * the id its parent has on one device: a restore gives the parent a new id and maps it; the
 * derivation's path and parent fingerprint stay compared).
 */
function meaningOf(attributes: JsonObject): string {
  const rest: Record<string, unknown> = { ...attributes };
  delete rest['restoredFrom'];
  delete rest['encryptions'];
  if (isObject(rest['derivation'])) {
    const derivation: Record<string, unknown> = { ...rest['derivation'] };
    delete derivation['parent'];
    rest['derivation'] = derivation;
  }
  return canonicalJson(rest as JsonObject);
}

/**
 * A derived key's link to its parent after a restore: the parent (a key of the same partition,
 * restored with it) has a new id here, which the link names. A parent the bundle does not hold
 * (destroyed before the backup) keeps the id it had, which names no key here.
 */
function restoredDerivation(
  k: ManifestKey,
  newIds: ReadonlyMap<string, string>,
): { derivation?: KeyDerivation } {
  const derivation = (k.attributes as unknown as KeyAttributes).derivation;
  const parent = derivation === undefined ? undefined : newIds.get(derivation.parent);
  return parent === undefined ? {} : { derivation: { ...derivation!, parent } };
}

/**
 * What a restore over a partition may not do: write a read-only partition, destroy a key that
 * is not destroyable, unblock a key or drop or weaken its own rules (unless the bundle holds it
 * as it is), or destroy the keys made after the backup unless the statement says so.
 */
async function checkOver(
  core: Core,
  r: StoreReader,
  row: PartitionRow,
  manifest: BackupManifest,
  destroyNewer: boolean,
): Promise<void> {
  if (toPartitionInfo(row).policy.readOnly) {
    throw new HsmError('policy-read-only', 'the partition is read-only');
  }
  const protectedKeys: string[] = [];
  const newer: string[] = [];
  for (const old of await core.rows.keysOfPartition(r, row.id)) {
    if (old.role !== 'user') continue;
    const attributes = parseAttributes(old);
    const guarded =
      !attributes.destroyable || keyState(old) === 'blocked' || attributes.policy !== undefined;
    const k = bundleKeyOf(old, manifest, row.id, core.deviceId);
    if (k === undefined) newer.push(old.label);
    const same =
      k !== undefined &&
      k.state === old.state &&
      meaningOf(k.attributes) === meaningOf(attributes as unknown as JsonObject);
    if (guarded && !same) protectedKeys.push(old.label);
  }
  if (protectedKeys.length > 0) {
    throw new HsmError(
      'backup-keys-protected',
      `the restore would destroy or change keys that are not destroyable, blocked or under their own rules: ${protectedKeys.join(', ')}`,
      { details: { partition: row.name, keys: protectedKeys.join(' ') } },
    );
  }
  if (newer.length > 0 && !destroyNewer) {
    throw new HsmError(
      'backup-keys-protected',
      `the restore would destroy keys made after the backup (allow it with destroyNewer): ${newer.join(', ')}`,
      { details: { partition: row.name, keys: newer.join(' ') } },
    );
  }
}

/**
 * An AEAD key's count of encryptions under random nonces: over a partition, the key it replaces
 * keeps the higher of its count and the bundle's (a restore never gives nonces back).
 */
function aeadCount(
  k: ManifestKey,
  held: readonly KeyRow[],
  manifest: BackupManifest,
  deviceId: string,
): { encryptions?: number } {
  const bundled = typeof k.attributes['encryptions'] === 'number' ? k.attributes['encryptions'] : 0;
  let count = bundled;
  for (const old of held) {
    if (old.role !== 'user') continue;
    const same = bundleKeyOf(old, manifest, old.partition_id ?? '', deviceId);
    if (same?.id !== k.id) continue;
    count = Math.max(count, parseAttributes(old).encryptions ?? 0);
  }
  return count > 0 ? { encryptions: count } : {};
}

async function replacePartitionRow(
  tx: StoreTx,
  row: PartitionRow,
  current: PartitionRow,
): Promise<void> {
  // The policy changes (certificates stay): compare-and-set of the row.
  if (!(await tx.partitions.updatePolicy(row, current.mac!))) {
    throw integrityError('partition', 'the row changed under its transaction', {
      partitionId: current.id,
    });
  }
}

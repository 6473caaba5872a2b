// The software HSM: one device store holding the device identity, partitions with their
// attestation and timestamp keys, user keys, security policies, officers and the audit log.
// Private keys exist only here, wrapped at rest and unwrapped into KeyObjects on use.
import { randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import {
  buildCertificate,
  buildCrl,
  buildCsr,
  encodeName,
  parseCertificate,
  partitionAttestationTemplate,
  partitionTimestampTemplate,
  randomSerial,
  isKeyAlgorithm,
  type CrlReason,
  type DistinguishedName,
  type KeyAlgorithm,
  type Signer,
} from '../pki/index.js';
import { revocationState, type CrlIssuer, type RevocationState } from './revocation-state.js';
import { bytesEqual, constantTimeEqual, systemClock, type Clock } from '../shared/index.js';
import {
  appendAudit,
  exportAudit,
  formatAuditHead,
  verifyAudit,
  type AuditEntry,
  type AuditEvent,
  type AuditHead,
  type AuditOutcome,
  type AuditVerification,
} from './audit.js';
import { issueAttestationCertificate, issueEvidence } from './attest.js';
import { AuthenticatedRows } from './authenticated-rows.js';
import { HsmError, type HsmErrorCode } from './errors.js';
import { integrityError } from './integrity.js';
import type { Factory } from './factory.js';
import {
  detectAlgorithm,
  exportPkcs8,
  generateKey,
  loadPkcs8,
  signWith,
  spkiOf,
} from './key-crypto.js';
import {
  checkKeyCheckValue,
  deriveMasterKeys,
  makeKeyCheckValue,
  newScryptParams,
  resolveMasterSecret,
  type MasterKeyInput,
  type MasterKeys,
  type ScryptParams,
} from './master-key.js';
import { checkCredential, hashCredential, type StoredCredential } from './roles.js';
import {
  createDatabase,
  getMeta,
  migrate,
  openDatabase,
  schemaVersion,
  setMeta,
  type Db,
} from './store/database.js';
import { assertSchema } from './store/schema-check.js';
import {
  checkpointTruncate,
  creationAction,
  deleteKeyRow,
  everExported,
  insertDeviceRow,
  insertKeyRow,
  insertOfficerRow,
  insertPartitionRow,
  labelTaken,
  loggedSchemaVersions,
  partitionNameTaken,
  updateKeyRow,
  updatePartitionPolicyRow,
  type DeviceRow,
  type KeyRow,
  type PartitionRow,
} from './store/rows.js';
import { SCHEMA_VERSION } from './store/schema.js';
import {
  DEFAULT_PARTITION_POLICY,
  KEY_PURPOSES,
  type DeviceInfo,
  type GenerateKeyOptions,
  type KeyAttributes,
  type KeyInfo,
  type KeyPurpose,
  type KeyRole,
  type KeyState,
  type OfficerCredential,
  type PartitionChain,
  type PartitionInfo,
  type PartitionPolicy,
  type WrappingKey,
} from './types.js';
import { aesKeyUnwrapPad, aesKeyWrapPad, open, rsaAesKeyWrap, seal } from './wrap.js';

export interface HsmOptions {
  readonly clock?: Clock;
  /**
   * The principal of calls made without a credential, as written to the audit log (the CLI gives
   * `cli:<os user>`, the server `tsa`); an officer who proves a credential is logged by name.
   */
  readonly actor?: string;
}

export interface InitOptions extends HsmOptions {
  readonly path: string;
  readonly masterKey: MasterKeyInput;
  readonly factory: Factory;
  readonly deviceAlgorithm?: KeyAlgorithm;
  readonly officer: OfficerCredential;
  /** Name of a partition to create at init; null for none. Default "default". */
  readonly defaultPartition?: string | null;
}

export interface CreatePartitionOptions {
  readonly timestampAlgorithm?: KeyAlgorithm;
  readonly attestationAlgorithm?: KeyAlgorithm;
  readonly policy?: Partial<PartitionPolicy>;
  /** Years of the timestamp key's privateKeyUsagePeriod; absent: no such extension. */
  readonly timestampKeyUsageYears?: number;
}

export interface ImportKeyOptions {
  readonly label: string;
  /** PKCS#8 DER of the private key. */
  readonly pkcs8: Uint8Array;
  /** For RSA keys: sign with PSS instead of PKCS#1 v1.5. */
  readonly pss?: boolean;
  readonly extractable?: boolean;
  readonly purposes?: readonly KeyPurpose[];
}

/** How long a signer trusts its last reading of the key's state (milliseconds). */
const STATE_RECHECK_MS = 250;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const CERT_YEARS = { device: 20, attestation: 10, timestamp: 10 } as const;

function addYears(at: Date, years: number): Date {
  const d = new Date(at.getTime());
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return d;
}

function earlier(a: Date, b: Date): Date {
  return a.getTime() <= b.getTime() ? a : b;
}

function checkName(kind: string, name: string): void {
  if (!NAME_RE.test(name)) {
    throw new HsmError(
      'invalid-argument',
      `${kind} must be 1-64 characters of letters, digits, '.', '_' or '-'`,
      { details: { [kind]: name.slice(0, 64) } },
    );
  }
}

function keyAad(deviceId: string, partitionId: string | null, keyId: string): string {
  return `attestamp/key/v1|${deviceId}|${partitionId ?? '-'}|${keyId}`;
}

/** How each error is written to the audit log; unlisted codes (bad arguments) are not logged. */
const AUDIT_OUTCOME: Partial<Readonly<Record<HsmErrorCode, AuditOutcome>>> = {
  'policy-read-only': 'refused',
  'policy-export-denied': 'refused',
  'policy-import-denied': 'refused',
  'key-not-extractable': 'refused',
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
  'partition-revoked': 'refused',
  'store-corrupt': 'failure',
};

/** What the audit entry of an operation names; filled in as the operation learns it. */
interface AuditContext {
  readonly action: string;
  partitionId?: string;
  keyId?: string;
  /** The principal: set to the officer's name once the officer's credential is proven. */
  actor?: string;
  details?: Record<string, string>;
}

function generatedAttributes(
  options: Pick<GenerateKeyOptions, 'extractable' | 'modifiable' | 'destroyable' | 'purposes'>,
): KeyAttributes {
  const extractable = options.extractable ?? false;
  return {
    extractable,
    sensitive: true,
    alwaysSensitive: true,
    neverExtractable: !extractable,
    local: true,
    modifiable: options.modifiable ?? false,
    copyable: false,
    destroyable: options.destroyable ?? true,
    purposes: options.purposes ?? ['sign', 'verify'],
    origin: 'generated',
  };
}

function checkPurposes(purposes: readonly string[]): void {
  for (const p of purposes) {
    if (!(KEY_PURPOSES as readonly string[]).includes(p)) {
      throw new HsmError('invalid-argument', 'unknown key purpose', { details: { purpose: p } });
    }
  }
}

export class Hsm {
  private readonly keyCache = new Map<string, { key: KeyObject; checkedAt: number }>();
  private readonly rows: AuthenticatedRows;
  private closed = false;

  private constructor(
    private readonly db: Db,
    private readonly keys: MasterKeys,
    private readonly deviceId: string,
    private readonly clock: Clock,
    private readonly actor: string,
  ) {
    this.rows = new AuthenticatedRows(db, keys.rows, deviceId);
  }

  // ---------------------------------------------------------------- lifecycle

  /** Creates a device store: device key inside, certified by the factory; then a default partition. */
  static async init(options: InitOptions): Promise<Hsm> {
    const clock = options.clock ?? systemClock;
    const actor = options.actor ?? 'operator';
    checkName('officer', options.officer.name);
    if (options.officer.passphrase.length < 8) {
      throw new HsmError('invalid-argument', 'officer passphrase must have at least 8 characters');
    }
    const deviceAlgorithm = options.deviceAlgorithm ?? 'ecdsa-p384';
    const deviceId = `SWHSM-${randomBytes(8).toString('hex').toUpperCase()}`;
    const kdf: ScryptParams | undefined =
      options.masterKey.kind === 'passphrase' ? newScryptParams() : undefined;
    const secret = resolveMasterSecret(options.masterKey, kdf);
    const keys = deriveMasterKeys(secret, deviceId);
    secret.fill(0);

    // Key generation and certification happen before the store file exists, so a failure
    // leaves nothing behind.
    const deviceKey = await generateKey(deviceAlgorithm);
    const subject: DistinguishedName = {
      country: options.factory.country,
      organization: options.factory.organization,
      organizationalUnit: 'attestamp software HSM',
      commonName: `attestamp device ${deviceId}`,
      serialNumber: deviceId,
    };
    const csr = await buildCsr(encodeName(subject), {
      algorithm: deviceAlgorithm,
      spki: deviceKey.spki,
      sign: (tbs) => Promise.resolve(signWith(deviceKey.privateKey, deviceAlgorithm, tbs)),
    });
    const certificate = await options.factory.certifyDevice(
      { csr, deviceId, deviceAlgorithm, subject, validityYears: CERT_YEARS.device },
      clock,
    );
    const officer = hashCredential(options.officer.name, options.officer.passphrase);

    const db = createDatabase(options.path);
    const rows = new AuthenticatedRows(db, keys.rows, deviceId);
    const now = clock.now();
    const deviceKeyId = randomUUID();
    try {
      db.transaction(() => {
        migrate(db);
        setMeta(db, 'device_id', deviceId);
        setMeta(db, 'master_source', options.masterKey.kind);
        if (kdf !== undefined) setMeta(db, 'master_kdf', JSON.stringify(kdf));
        setMeta(db, 'kcv', Buffer.from(makeKeyCheckValue(keys, deviceId)).toString('hex'));
        const seq = appendAudit(db, keys.auditKey, now, {
          actor,
          action: 'device.init',
          keyId: deviceKeyId,
          outcome: 'success',
          details: {
            deviceId,
            algorithm: deviceAlgorithm,
            factory: options.factory.label,
            rootSha256: options.factory.rootSha256,
            schemaVersion: SCHEMA_VERSION,
          },
        });
        const pkcs8 = exportPkcs8(deviceKey.privateKey);
        insertKeyRow(
          db,
          rows.sealKey({
            id: deviceKeyId,
            partition_id: null,
            label: 'device',
            role: 'device',
            algorithm: deviceAlgorithm,
            spki: Buffer.from(deviceKey.spki),
            attributes_json: JSON.stringify(generatedAttributes({ destroyable: false })),
            state: 'active',
            created_at: now.toISOString(),
            invalidated_at: null,
            wrapped: Buffer.from(seal(keys.kek, pkcs8, keyAad(deviceId, null, deviceKeyId))),
            audit_seq: seq,
          }),
        );
        pkcs8.fill(0);
        insertDeviceRow(
          db,
          rows.sealDevice({
            id: deviceId,
            key_id: deviceKeyId,
            root_certificate: Buffer.from(options.factory.rootCertificate),
            certificate: Buffer.from(certificate),
            factory_label: options.factory.label,
            development: options.factory.development ? 1 : 0,
            organization: options.factory.organization,
            country: options.factory.country,
            created_at: now.toISOString(),
          }),
        );
        insertOfficerRow(
          db,
          rows.sealOfficer({
            name: officer.name,
            params_json: JSON.stringify(officer.params),
            hash: Buffer.from(officer.hash),
            created_at: now.toISOString(),
          }),
        );
        appendAudit(db, keys.auditKey, now, {
          actor,
          action: 'officer.enrol',
          outcome: 'success',
          details: { officer: officer.name },
        });
      }).immediate();
    } catch (cause) {
      db.close();
      throw cause;
    }
    const hsm = new Hsm(db, keys, deviceId, clock, actor);
    const partitionName =
      options.defaultPartition === undefined ? 'default' : options.defaultPartition;
    if (partitionName !== null) await hsm.createPartition(partitionName);
    return hsm;
  }

  /** Opens an existing store. A wrong master key fails before anything is written. */
  static open(path: string, masterKey: MasterKeyInput, options: HsmOptions = {}): Hsm {
    const db = openDatabase(path);
    try {
      const version = schemaVersion(db);
      if (version === 0) throw new HsmError('store-corrupt', 'the file is not a device store');
      if (version > SCHEMA_VERSION) {
        throw new HsmError('schema-too-new', 'the store was written by a newer attestamp', {
          details: { storeVersion: version, supported: SCHEMA_VERSION },
        });
      }
      assertSchema(db, [version, SCHEMA_VERSION]);
      const deviceId = getMeta(db, 'device_id');
      const kcv = getMeta(db, 'kcv');
      if (deviceId === undefined || kcv === undefined) {
        throw new HsmError('store-corrupt', 'the store lacks its device identity');
      }
      const kdfText = getMeta(db, 'master_kdf');
      const kdf = kdfText === undefined ? undefined : (JSON.parse(kdfText) as ScryptParams);
      if (kdf !== undefined && masterKey.kind === 'key') {
        throw new HsmError('master-key-wrong', 'this store uses a master passphrase, not a key');
      }
      const secret = resolveMasterSecret(masterKey, kdf);
      const keys = deriveMasterKeys(secret, deviceId);
      secret.fill(0);
      const kcvFormat = checkKeyCheckValue(keys, deviceId, Buffer.from(kcv, 'hex'));
      const clock = options.clock ?? systemClock;
      const hsm = new Hsm(db, keys, deviceId, clock, options.actor ?? 'operator');
      if (version < SCHEMA_VERSION) hsm.migrateStore(version, kcvFormat);
      // Rows are checked where they are used, not here: a store with a tampered row still
      // opens for 'audit verify' and 'audit export', and refuses every use of that row.
      return hsm;
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /**
   * Upgrades a store written by an earlier release, once, under the master key: the schema,
   * then a MAC on every row, in one transaction with its audit entry. The rows are trusted as
   * they are (the store could not be checked before); a store that was already authenticated
   * and had its version set back is refused, as its log says otherwise.
   */
  private migrateStore(from: number, kcvFormat: 1 | 2): void {
    this.guard({ action: 'store.migrate' }, () => {
      if (kcvFormat !== 1) {
        throw integrityError('device', 'the key-check value is newer than the schema version');
      }
      const log = verifyAudit(this.db, this.keys.auditKey);
      if (!log.ok) {
        throw integrityError('device', 'the audit log does not verify; refusing to migrate');
      }
      if (loggedSchemaVersions(this.db).some((v) => v > from)) {
        throw integrityError('device', 'the log records a newer schema than the store says');
      }
      this.db
        .transaction(() => {
          const applied = migrate(this.db);
          const seq = this.audit(this.clock.now(), {
            action: 'store.migrate',
            outcome: 'success',
            details: { from: applied.from, to: applied.to },
          });
          this.rows.authenticateAll(seq);
          setMeta(
            this.db,
            'kcv',
            Buffer.from(makeKeyCheckValue(this.keys, this.deviceId, 2)).toString('hex'),
          );
        })
        .immediate();
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.keyCache.clear();
    this.db.close();
  }

  // ---------------------------------------------------------------- device

  device(): DeviceInfo {
    return this.guard({ action: 'device.show' }, () => toDeviceInfo(this.rows.device()));
  }

  private deviceSigner(): Signer {
    const device = this.rows.device();
    const keyRow = this.rows.keyById(device.key_id);
    if (keyRow?.role !== 'device' || keyRow.partition_id !== null) {
      throw integrityError('device', 'the device row does not name the device key');
    }
    return this.signerFor(keyRow, [
      new Uint8Array(device.certificate),
      new Uint8Array(device.root_certificate),
    ]);
  }

  // ---------------------------------------------------------------- partitions

  async createPartition(
    name: string,
    options: CreatePartitionOptions = {},
  ): Promise<PartitionInfo> {
    checkName('partition', name);
    const policy: PartitionPolicy = { ...DEFAULT_PARTITION_POLICY, ...options.policy };
    const attAlg = options.attestationAlgorithm ?? 'ecdsa-p384';
    const tsAlg = options.timestampAlgorithm ?? 'ecdsa-p256';
    for (const alg of [attAlg, tsAlg]) {
      if (!isKeyAlgorithm(alg)) {
        throw new HsmError('invalid-argument', 'unsupported key algorithm', {
          details: { algorithm: String(alg) },
        });
      }
    }
    const ctx: AuditContext = { action: 'partition.create', details: { partition: name } };
    return this.guardAsync(ctx, async () => {
      const requireFreeName = (): void => {
        if (partitionNameTaken(this.db, name)) {
          throw new HsmError('partition-exists', 'a partition with this name exists', {
            details: { partition: name },
          });
        }
      };
      requireFreeName();
      const device = toDeviceInfo(this.rows.device());
      const deviceCert = parseCertificate(device.certificate);
      const deviceSigner = this.deviceSigner();
      const issuer = {
        name: new Uint8Array(deviceCert.subject.toSchema().toBER()),
        spki: deviceSigner.spki,
      };
      const partitionId = randomUUID();
      const now = this.clock.now();
      const deviceNotAfter = deviceCert.notAfter.value;
      const ids = { deviceId: this.deviceId, partitionId };
      const base = { country: device.country, organization: device.organization };

      const attKey = await generateKey(attAlg);
      const tsKey = await generateKey(tsAlg);
      const attCert = await buildCertificate(
        partitionAttestationTemplate(
          {
            serialNumber: randomSerial((n) => randomBytes(n)),
            subject: {
              ...base,
              organizationalUnit: `partition ${name}`,
              commonName: `${name} partition attestation key`,
            },
            spki: attKey.spki,
            notBefore: now,
            notAfter: earlier(addYears(now, CERT_YEARS.attestation), deviceNotAfter),
          },
          issuer,
          ids,
        ),
        deviceSigner,
      );
      const tsNotAfter = earlier(addYears(now, CERT_YEARS.timestamp), deviceNotAfter);
      const tsCert = await buildCertificate(
        partitionTimestampTemplate(
          {
            serialNumber: randomSerial((n) => randomBytes(n)),
            subject: {
              ...base,
              organizationalUnit: `partition ${name}`,
              commonName: `${name} time-stamping unit`,
            },
            spki: tsKey.spki,
            notBefore: now,
            notAfter: tsNotAfter,
          },
          issuer,
          ids,
          options.timestampKeyUsageYears === undefined
            ? undefined
            : {
                notBefore: now,
                notAfter: earlier(addYears(now, options.timestampKeyUsageYears), tsNotAfter),
              },
        ),
        deviceSigner,
      );

      const attKeyId = randomUUID();
      const tsKeyId = randomUUID();
      return this.db
        .transaction(() => {
          requireFreeName();
          const seq = this.audit(now, {
            action: 'partition.create',
            partitionId,
            outcome: 'success',
            details: {
              partition: name,
              attestationAlgorithm: attAlg,
              timestampAlgorithm: tsAlg,
              attestationKeyId: attKeyId,
              timestampKeyId: tsKeyId,
              ...policy,
            },
          });
          const row = this.rows.sealPartition({
            id: partitionId,
            name,
            policy_json: JSON.stringify(policy),
            attestation_certificate: Buffer.from(attCert),
            timestamp_certificate: Buffer.from(tsCert),
            created_at: now.toISOString(),
            audit_seq: seq,
          });
          insertPartitionRow(this.db, row);
          for (const [id, role, alg, key] of [
            [attKeyId, 'partition-attestation', attAlg, attKey],
            [tsKeyId, 'partition-timestamp', tsAlg, tsKey],
          ] as const) {
            this.insertKey(
              id,
              partitionId,
              role,
              role,
              alg,
              key.spki,
              generatedAttributes({ destroyable: false }),
              key.privateKey,
              now,
              seq,
            );
          }
          return toPartitionInfo(row);
        })
        .immediate();
    });
  }

  listPartitions(): PartitionInfo[] {
    return this.guard({ action: 'partition.list' }, () =>
      this.rows.allPartitions().map(toPartitionInfo),
    );
  }

  partition(name: string): PartitionInfo {
    return this.guard({ action: 'partition.show', details: { partition: name } }, () =>
      toPartitionInfo(this.partitionRow(name)),
    );
  }

  private partitionRow(name: string): PartitionRow {
    const row = this.rows.partitionByName(name);
    if (row === undefined) {
      throw new HsmError('partition-not-found', 'no such partition', {
        details: { partition: name },
      });
    }
    return row;
  }

  /** Changes a partition's security policy; needs a security officer. */
  setPartitionPolicy(
    name: string,
    changes: Partial<PartitionPolicy>,
    officer: OfficerCredential | undefined,
  ): PartitionInfo {
    const ctx: AuditContext = { action: 'partition.policy', details: { partition: name } };
    return this.guard(ctx, () => {
      ctx.partitionId = this.partitionRow(name).id;
      const proven = this.requireOfficer(officer, ctx);
      const now = this.clock.now();
      return this.db
        .transaction(() => {
          // The decision is re-read inside the transaction that makes the change.
          this.requireSameOfficer(proven);
          const row = this.partitionRow(name);
          ctx.partitionId = row.id;
          const policy: PartitionPolicy = { ...toPartitionInfo(row).policy, ...changes };
          const seq = this.audit(now, {
            actor: ctx.actor,
            action: 'partition.policy',
            partitionId: row.id,
            outcome: 'success',
            details: { partition: name, ...policy },
          });
          const next = this.rows.sealPartition({
            ...row,
            policy_json: JSON.stringify(policy),
            audit_seq: seq,
          });
          if (!updatePartitionPolicyRow(this.db, next, row.mac!)) {
            throw integrityError('partition', 'the row changed under its transaction', {
              partitionId: row.id,
            });
          }
          return toPartitionInfo(next);
        })
        .immediate();
    });
  }

  chain(name: string): PartitionChain {
    return this.guard({ action: 'partition.chain', details: { partition: name } }, () => {
      const p = toPartitionInfo(this.partitionRow(name));
      const d = toDeviceInfo(this.rows.device());
      return {
        root: d.rootCertificate,
        device: d.certificate,
        partitionAttestation: p.attestationCertificate,
        partitionTimestamp: p.timestampCertificate,
      };
    });
  }

  // ---------------------------------------------------------------- revocation

  /** The revocation decisions and CRL numbers, from the verified audit log. */
  revocationState(): RevocationState {
    return this.guard({ action: 'crl.state' }, () => revocationState(this.db, this.keys.auditKey));
  }

  /**
   * Revokes a partition's certificates (attestation and timestamp keys), for the device's next
   * CRL; needs a security officer. The decision is an audit entry (its MAC authenticates it),
   * written in the transaction that checks that the partition is not revoked already.
   */
  revokePartition(
    name: string,
    reason: CrlReason,
    officer: OfficerCredential | undefined,
  ): RevocationState {
    const ctx: AuditContext = { action: 'partition.revoke', details: { partition: name, reason } };
    return this.guard(ctx, () => {
      ctx.partitionId = this.partitionRow(name).id;
      const proven = this.requireOfficer(officer, ctx);
      const now = this.clock.now();
      this.db
        .transaction(() => {
          this.requireSameOfficer(proven);
          const row = this.partitionRow(name);
          const state = revocationState(this.db, this.keys.auditKey);
          if (state.revoked.some((r) => r.partitionId === row.id)) {
            throw new HsmError('partition-revoked', 'the partition is revoked already', {
              details: { partition: name },
            });
          }
          const serials = [row.attestation_certificate, row.timestamp_certificate].map((c) =>
            serialHex(new Uint8Array(c)),
          );
          this.audit(now, {
            actor: ctx.actor,
            action: 'partition.revoke',
            partitionId: row.id,
            outcome: 'success',
            details: { partition: name, reason, serials: serials.join(',') },
          });
        })
        .immediate();
      return revocationState(this.db, this.keys.auditKey);
    });
  }

  /**
   * Issues the device's CRL (RFC 5280 5) over the partition certificates it issued: signed by
   * the device key, the next cRLNumber, every revoked partition certificate with its reason.
   * The number and the list are read from the verified log, and checked unchanged in the
   * transaction that records the CRL.
   */
  async issueDeviceCrl(options: { nextUpdateDays: number }): Promise<Uint8Array> {
    const ctx: AuditContext = { action: 'crl.issue', details: { issuer: 'device' } };
    return this.guardAsync(ctx, async () => {
      const before = revocationState(this.db, this.keys.auditKey);
      const device = toDeviceInfo(this.rows.device());
      const signer = this.deviceSigner();
      const now = this.clock.now();
      const crlNumber = before.lastCrlNumber.device + 1;
      const crl = await buildCrl(
        {
          issuer: new Uint8Array(parseCertificate(device.certificate).subject.toSchema().toBER()),
          issuerSpki: signer.spki,
          thisUpdate: now,
          nextUpdate: new Date(now.getTime() + options.nextUpdateDays * 86_400_000),
          crlNumber: BigInt(crlNumber),
          revoked: before.revoked.map((r) => ({
            serialNumber: new Uint8Array(Buffer.from(r.serial, 'hex')),
            revocationDate: r.revokedAt,
            reason: r.reason as CrlReason,
          })),
        },
        signer,
      );
      this.db
        .transaction(() => {
          const current = revocationState(this.db, this.keys.auditKey);
          if (
            current.lastCrlNumber.device !== before.lastCrlNumber.device ||
            current.revoked.length !== before.revoked.length
          ) {
            throw new HsmError('store-busy', 'the revocation state changed meanwhile; try again');
          }
          this.audit(now, {
            action: 'crl.issue',
            outcome: 'success',
            details: {
              issuer: 'device',
              crlNumber,
              revoked: before.revoked.length,
              crl: Buffer.from(crl).toString('hex'),
            },
          });
        })
        .immediate();
      return crl;
    });
  }

  /**
   * Records a CRL issued by the factory (the root) so that the server publishes it; its
   * cRLNumber must be above the last one recorded.
   */
  recordRootCrl(crl: Uint8Array, crlNumber: number): void {
    const ctx: AuditContext = { action: 'crl.record', details: { issuer: 'root' } };
    this.guard(ctx, () => {
      this.db
        .transaction(() => {
          const state = revocationState(this.db, this.keys.auditKey);
          if (crlNumber <= state.lastCrlNumber.root) {
            throw new HsmError('invalid-argument', 'the CRL number is not above the last one', {
              details: { crlNumber, last: state.lastCrlNumber.root },
            });
          }
          this.audit(this.clock.now(), {
            action: 'crl.record',
            outcome: 'success',
            details: { issuer: 'root', crlNumber, crl: Buffer.from(crl).toString('hex') },
          });
        })
        .immediate();
    });
  }

  /** The latest CRL of an issuer, from the verified log; undefined when none was issued. */
  latestCrl(issuer: CrlIssuer): Uint8Array | undefined {
    return this.revocationState().latestCrl[issuer];
  }

  // ---------------------------------------------------------------- keys

  async generateKey(partitionName: string, options: GenerateKeyOptions): Promise<KeyInfo> {
    checkName('label', options.label);
    if (!isKeyAlgorithm(options.algorithm)) {
      throw new HsmError('invalid-argument', 'unsupported key algorithm', {
        details: { algorithm: String(options.algorithm) },
      });
    }
    checkPurposes(options.purposes ?? []);
    const ctx: AuditContext = {
      action: 'key.generate',
      details: { partition: partitionName, label: options.label },
    };
    return this.guardAsync(ctx, async () => {
      const partition = this.partitionRow(partitionName);
      ctx.partitionId = partition.id;
      this.requireWritable(toPartitionInfo(partition).policy);
      this.requireFreeLabel(partition.id, options.label);
      const key = await generateKey(options.algorithm);
      const id = randomUUID();
      const now = this.clock.now();
      const attributes = generatedAttributes(options);
      return this.db
        .transaction(() => {
          // Re-checked inside the transaction: another process may have changed the policy or
          // taken the label meanwhile.
          const current = this.partitionRow(partitionName);
          if (current.id !== partition.id) {
            throw new HsmError('partition-not-found', 'the partition was replaced meanwhile');
          }
          this.requireWritable(toPartitionInfo(current).policy);
          this.requireFreeLabel(partition.id, options.label);
          const seq = this.audit(now, {
            action: 'key.generate',
            partitionId: partition.id,
            keyId: id,
            outcome: 'success',
            details: {
              label: options.label,
              algorithm: options.algorithm,
              extractable: attributes.extractable,
            },
          });
          const row = this.insertKey(
            id,
            partition.id,
            options.label,
            'user',
            options.algorithm,
            key.spki,
            attributes,
            key.privateKey,
            now,
            seq,
          );
          return toKeyInfo(row, partition.name);
        })
        .immediate();
    });
  }

  importKey(partitionName: string, options: ImportKeyOptions): KeyInfo {
    checkName('label', options.label);
    checkPurposes(options.purposes ?? []);
    const ctx: AuditContext = {
      action: 'key.import',
      details: { partition: partitionName, label: options.label },
    };
    return this.guard(ctx, () => this.importKeyIn(partitionName, options, ctx));
  }

  private importKeyIn(
    partitionName: string,
    options: ImportKeyOptions,
    ctx: AuditContext,
  ): KeyInfo {
    ctx.partitionId = this.partitionRow(partitionName).id;
    const privateKey = loadPkcs8(options.pkcs8);
    const algorithm = detectAlgorithm(privateKey, options.pss ?? false);
    const spki = spkiOf(privateKey);
    const attributes: KeyAttributes = {
      extractable: options.extractable ?? false,
      sensitive: true,
      alwaysSensitive: false,
      neverExtractable: false,
      local: false,
      modifiable: false,
      copyable: false,
      destroyable: true,
      purposes: options.purposes ?? ['sign', 'verify'],
      origin: 'imported',
    };
    const id = randomUUID();
    const now = this.clock.now();
    return this.db
      .transaction(() => {
        const partition = this.partitionRow(partitionName);
        ctx.partitionId = partition.id;
        const policy = toPartitionInfo(partition).policy;
        this.requireWritable(policy);
        if (!policy.importAllowed) {
          throw new HsmError(
            'policy-import-denied',
            'the partition policy does not allow key import',
            { details: { partition: partitionName } },
          );
        }
        this.requireFreeLabel(partition.id, options.label);
        const seq = this.audit(now, {
          action: 'key.import',
          partitionId: partition.id,
          keyId: id,
          outcome: 'success',
          details: { label: options.label, algorithm },
        });
        const row = this.insertKey(
          id,
          partition.id,
          options.label,
          'user',
          algorithm,
          spki,
          attributes,
          privateKey,
          now,
          seq,
        );
        return toKeyInfo(row, partition.name);
      })
      .immediate();
  }

  /** Imports a key wrapped with RFC 5649 AES-KWP under a caller-supplied AES-256 key. */
  importWrappedKey(
    partitionName: string,
    options: Omit<ImportKeyOptions, 'pkcs8'> & { wrapped: Uint8Array; unwrapKey: Uint8Array },
  ): KeyInfo {
    checkName('label', options.label);
    checkPurposes(options.purposes ?? []);
    const ctx: AuditContext = {
      action: 'key.import',
      details: { partition: partitionName, label: options.label },
    };
    return this.guard(ctx, () => {
      const pkcs8 = aesKeyUnwrapPad(options.unwrapKey, options.wrapped);
      try {
        return this.importKeyIn(partitionName, { ...options, pkcs8 }, ctx);
      } finally {
        pkcs8.fill(0);
      }
    });
  }

  listKeys(partitionName: string, filter: { state?: KeyState } = {}): KeyInfo[] {
    const ctx: AuditContext = { action: 'key.list', details: { partition: partitionName } };
    return this.guard(ctx, () => {
      const partition = this.partitionRow(partitionName);
      ctx.partitionId = partition.id;
      return this.rows
        .keysOfPartition(partition.id)
        .filter((r) => filter.state === undefined || r.state === filter.state)
        .map((r) => toKeyInfo(r, partition.name));
    });
  }

  key(partitionName: string, label: string): KeyInfo {
    const ctx: AuditContext = { action: 'key.show', details: { partition: partitionName, label } };
    return this.guard(ctx, () => {
      const { partition, row } = this.locate(partitionName, label, ctx);
      return toKeyInfo(row, partition.name);
    });
  }

  /**
   * The key's DER SubjectPublicKeyInfo, as the HSM itself trusts it: from the authenticated row,
   * and only when it is the public key of the sealed private key (a row whose SPKI was swapped
   * for another key's is an integrity failure, never exported).
   */
  publicKey(partitionName: string, label: string): { key: KeyInfo; spki: Uint8Array } {
    const ctx: AuditContext = {
      action: 'key.public',
      details: { partition: partitionName, label },
    };
    return this.guard(ctx, () => {
      const { partition, row } = this.locate(partitionName, label, ctx);
      const { pkcs8, spki } = this.unsealRow(row);
      pkcs8.fill(0);
      if (!bytesEqual(spki, row.spki)) {
        throw integrityError('key', 'the stored public key is not the sealed key', {
          keyId: row.id,
        });
      }
      return { key: toKeyInfo(row, partition.name), spki: new Uint8Array(row.spki) };
    });
  }

  /** The authenticated partition and key rows; fills in the audit context's identifiers. */
  private locate(
    partitionName: string,
    label: string,
    ctx: AuditContext,
  ): { partition: PartitionRow; row: KeyRow } {
    const partition = this.partitionRow(partitionName);
    ctx.partitionId = partition.id;
    const row = this.rows.keyByLabel(partition.id, label);
    if (row === undefined) {
      throw new HsmError('key-not-found', 'no such key in the partition', {
        details: { partition: partition.name, label },
      });
    }
    ctx.keyId = row.id;
    return { partition, row };
  }

  /**
   * Deletes a key. With invalidation on (the default) it goes to the partition's trash:
   * unusable, listed as invalidated, restorable by an officer. Otherwise it is destroyed.
   */
  deleteKey(partitionName: string, label: string): KeyInfo | undefined {
    const ctx: AuditContext = {
      action: 'key.delete',
      details: { partition: partitionName, label },
    };
    return this.guard(ctx, () => {
      const now = this.clock.now();
      const result = this.db
        .transaction((): { info: KeyInfo | undefined; id: string } => {
          // Every check below reads the rows inside the transaction that changes them.
          const { partition, row } = this.locate(partitionName, label, ctx);
          const policy = toPartitionInfo(partition).policy;
          this.requireWritable(policy);
          if (row.role !== 'user') {
            throw new HsmError('system-key', "a partition's own keys cannot be deleted", {
              details: { label },
            });
          }
          if (!parseAttributes(row).destroyable) {
            throw new HsmError('key-not-destroyable', 'the key is not destroyable', {
              details: { label },
            });
          }
          if (row.state === 'invalidated') {
            throw new HsmError('key-invalidated', 'the key is already in the trash', {
              details: { label },
            });
          }
          if (policy.invalidation) {
            const seq = this.audit(now, {
              action: 'key.invalidate',
              partitionId: partition.id,
              keyId: row.id,
              outcome: 'success',
              details: { label },
            });
            const next = this.rows.sealKey({
              ...row,
              state: 'invalidated',
              invalidated_at: now.toISOString(),
              audit_seq: seq,
            });
            this.compareAndSetKey(next, row);
            return { info: toKeyInfo(next, partition.name), id: row.id };
          }
          this.audit(now, {
            action: 'key.destroy',
            partitionId: partition.id,
            keyId: row.id,
            outcome: 'success',
            details: { label },
          });
          this.compareAndDeleteKey(row);
          return { info: undefined, id: row.id };
        })
        .immediate();
      this.keyCache.delete(result.id);
      if (result.info === undefined) checkpointTruncate(this.db);
      return result.info;
    });
  }

  /** Takes a key out of the trash; needs a security officer. */
  restoreKey(
    partitionName: string,
    label: string,
    officer: OfficerCredential | undefined,
  ): KeyInfo {
    const ctx: AuditContext = {
      action: 'key.restore',
      details: { partition: partitionName, label },
    };
    return this.guard(ctx, () => {
      this.locate(partitionName, label, ctx);
      const proven = this.requireOfficer(officer, ctx);
      const now = this.clock.now();
      return this.db
        .transaction(() => {
          this.requireSameOfficer(proven);
          const { partition, row } = this.locate(partitionName, label, ctx);
          this.requireWritable(toPartitionInfo(partition).policy);
          if (row.state !== 'invalidated') {
            throw new HsmError('key-not-invalidated', 'the key is not in the trash', {
              details: { label },
            });
          }
          const seq = this.audit(now, {
            actor: ctx.actor,
            action: 'key.restore',
            partitionId: partition.id,
            keyId: row.id,
            outcome: 'success',
            details: { label },
          });
          const next = this.rows.sealKey({
            ...row,
            state: 'active',
            invalidated_at: null,
            audit_seq: seq,
          });
          this.compareAndSetKey(next, row);
          return toKeyInfo(next, partition.name);
        })
        .immediate();
    });
  }

  /** Destroys a key in the trash for good; needs a security officer. */
  purgeKey(partitionName: string, label: string, officer: OfficerCredential | undefined): void {
    const ctx: AuditContext = { action: 'key.purge', details: { partition: partitionName, label } };
    this.guard(ctx, () => {
      this.locate(partitionName, label, ctx);
      const proven = this.requireOfficer(officer, ctx);
      const now = this.clock.now();
      const id = this.db
        .transaction(() => {
          this.requireSameOfficer(proven);
          const { partition, row } = this.locate(partitionName, label, ctx);
          this.requireWritable(toPartitionInfo(partition).policy);
          if (row.state !== 'invalidated') {
            throw new HsmError('key-not-invalidated', 'only a key in the trash can be purged', {
              details: { label },
            });
          }
          this.audit(now, {
            actor: ctx.actor,
            action: 'key.purge',
            partitionId: partition.id,
            keyId: row.id,
            outcome: 'success',
            details: { label },
          });
          this.compareAndDeleteKey(row);
          return row.id;
        })
        .immediate();
      this.keyCache.delete(id);
      // secure_delete zeroed the freed cells; folding the WAL in and truncating it removes the
      // last copy of the pages that held the sealed key.
      checkpointTruncate(this.db);
    });
  }

  /**
   * Exports a key wrapped under the caller's key, only when the key is extractable AND the
   * partition allows export. Never in plaintext. The key is marked as exported for good:
   * never-extractable can never be claimed for it again.
   */
  exportKey(partitionName: string, label: string, wrapping: WrappingKey): Uint8Array {
    const ctx: AuditContext = {
      action: 'key.export',
      details: { partition: partitionName, label },
    };
    return this.guard(ctx, () =>
      this.db
        .transaction(() => {
          const { partition, row } = this.locate(partitionName, label, ctx);
          const attributes = parseAttributes(row);
          if (!attributes.extractable) {
            throw new HsmError('key-not-extractable', 'the key is not extractable', {
              details: { label },
            });
          }
          if (!toPartitionInfo(partition).policy.exportAllowed) {
            throw new HsmError(
              'policy-export-denied',
              'the partition policy does not allow export',
              { details: { partition: partitionName } },
            );
          }
          if (row.state !== 'active') {
            throw new HsmError('key-invalidated', 'the key is invalidated', {
              details: { label },
            });
          }
          const pkcs8 = this.unsealRow(row).pkcs8;
          try {
            const wrapped =
              wrapping.kind === 'aes-kwp'
                ? aesKeyWrapPad(wrapping.key, pkcs8)
                : rsaAesKeyWrap(wrapping.spki, pkcs8);
            const seq = this.audit(this.clock.now(), {
              action: 'key.export',
              partitionId: partition.id,
              keyId: row.id,
              outcome: 'success',
              details: { label, wrapping: wrapping.kind },
            });
            const next = this.rows.sealKey({
              ...row,
              attributes_json: JSON.stringify({ ...attributes, neverExtractable: false }),
              audit_seq: seq,
            });
            this.compareAndSetKey(next, row);
            return wrapped;
          } finally {
            pkcs8.fill(0);
          }
        })
        .immediate(),
    );
  }

  /**
   * Attests a key: evidence (or a key attestation certificate) about its public key and real
   * attributes, signed by the partition attestation key. Works for the partition's own keys.
   * The claims come from the key itself: it is unsealed, its public key derived from the private
   * key must be the stored one, and its authenticated attributes must be consistent (never
   * extractable only if never exported).
   */
  async attestKey(
    partitionName: string,
    label: string,
    options: { nonce?: Uint8Array; format?: 'evidence' | 'certificate' } = {},
  ): Promise<Uint8Array> {
    if (options.nonce !== undefined && (options.nonce.length === 0 || options.nonce.length > 64)) {
      throw new HsmError('invalid-argument', 'the nonce must be 1 to 64 bytes');
    }
    const format = options.format ?? 'evidence';
    const ctx: AuditContext = {
      action: 'key.attest',
      details: { partition: partitionName, label },
    };
    return this.guardAsync(ctx, async () => {
      const { partition, row } = this.locate(partitionName, label, ctx);
      const key = this.attestableKey(row, partition.name);
      const att = this.rows.keyByLabel(partition.id, 'partition-attestation');
      if (att?.role !== 'partition-attestation') {
        throw integrityError('partition', 'the partition has no attestation key', {
          partitionId: partition.id,
        });
      }
      const input = {
        key,
        deviceId: this.deviceId,
        attestationSigner: this.signerFor(att, [
          new Uint8Array(partition.attestation_certificate),
          ...this.deviceChain(),
        ]),
        at: this.clock.now(),
        nonce: options.nonce,
      };
      const out =
        format === 'certificate'
          ? await issueAttestationCertificate(input)
          : await issueEvidence(input);
      this.db
        .transaction(() => {
          this.audit(input.at, {
            action: 'key.attest',
            partitionId: key.partitionId,
            keyId: key.id,
            outcome: 'success',
            details: { label, format, nonce: options.nonce !== undefined },
          });
        })
        .immediate();
      return out;
    });
  }

  /** The key as it may be attested: checked against its own private key and its history. */
  private attestableKey(row: KeyRow, partitionName: string): KeyInfo {
    const info = toKeyInfo(row, partitionName);
    const { pkcs8, spki } = this.unsealRow(row);
    pkcs8.fill(0);
    if (!bytesEqual(spki, row.spki)) {
      throw integrityError('key', 'the stored public key is not the sealed key', { keyId: row.id });
    }
    const a = info.attributes;
    const created = creationAction(this.db, row.id);
    const consistent =
      (created === undefined || (created === 'key.import') === (a.origin === 'imported')) &&
      !(a.neverExtractable && a.extractable) &&
      !(a.neverExtractable && everExported(this.db, row.id)) &&
      a.local === (a.origin === 'generated') &&
      !(a.alwaysSensitive && !a.sensitive) &&
      (row.role === 'user' || (a.origin === 'generated' && !a.extractable));
    if (!consistent) {
      throw integrityError('key', 'the attributes contradict the key or its history', {
        keyId: row.id,
      });
    }
    return info;
  }

  /** A signer for an active key of the partition. */
  signer(partitionName: string, label: string): Signer {
    const ctx: AuditContext = { action: 'key.use', details: { partition: partitionName, label } };
    return this.guard(ctx, () => {
      const { partition, row } = this.locate(partitionName, label, ctx);
      const own =
        row.role === 'partition-timestamp'
          ? [partition.timestamp_certificate]
          : row.role === 'partition-attestation'
            ? [partition.attestation_certificate]
            : [];
      const chain = own.length === 0 ? [] : [new Uint8Array(own[0]!), ...this.deviceChain()];
      return this.signerFor(row, chain);
    });
  }

  /** The partition's timestamp key, with its chain (timestamp, device, root). */
  timestampSigner(partitionName: string): Signer {
    return this.signer(partitionName, 'partition-timestamp');
  }

  /** The partition's attestation key, with its chain (attestation, device, root). */
  attestationSigner(partitionName: string): Signer {
    return this.signer(partitionName, 'partition-attestation');
  }

  // ---------------------------------------------------------------- audit

  /**
   * Recomputes the chain and every MAC; with `expectHead`, also whether the log extends that
   * recorded head (see AuditVerification.expectedHead).
   */
  verifyAudit(expectHead?: AuditHead): AuditVerification {
    return verifyAudit(this.db, this.keys.auditKey, expectHead);
  }

  /** The head of a verified log: its last entry's sequence number and hash. */
  auditHead(): AuditHead {
    const v = verifyAudit(this.db, this.keys.auditKey);
    if (!v.ok) {
      throw new HsmError('integrity-failed', 'the audit log does not verify', {
        details: { table: 'audit', seq: v.firstBad?.seq ?? 0 },
      });
    }
    return { seq: v.entries, hash: v.head };
  }

  /** Refuses a store whose log does not verify or does not extend the recorded head. */
  requireAuditHead(expected: AuditHead): void {
    const v = verifyAudit(this.db, this.keys.auditKey, expected);
    if (!v.ok) {
      throw new HsmError('integrity-failed', 'the audit log does not verify', {
        details: { table: 'audit', seq: v.firstBad?.seq ?? 0 },
      });
    }
    if (v.expectedHead?.extended !== true) {
      throw new HsmError(
        'audit-head-mismatch',
        'the audit log does not extend the recorded head (an older or another copy of the store)',
        { details: { expected: formatAuditHead(expected), entries: v.entries } },
      );
    }
  }

  exportAudit(): Generator<AuditEntry> {
    return exportAudit(this.db);
  }

  // ---------------------------------------------------------------- internals

  private deviceChain(): Uint8Array[] {
    const d = this.rows.device();
    return [new Uint8Array(d.certificate), new Uint8Array(d.root_certificate)];
  }

  private signerFor(row: KeyRow, chain: readonly Uint8Array[]): Signer {
    if (!isKeyAlgorithm(row.algorithm)) {
      throw integrityError('key', 'the row names an unknown algorithm', { keyId: row.id });
    }
    const algorithm = row.algorithm;
    const keyId = row.id;
    let reported = false;
    /** Integrity failures reach the log once per signer, not once per signature. */
    const reportOnce = (error: unknown): void => {
      this.keyCache.delete(keyId);
      if (reported) return;
      reported = true;
      this.recordFailure(
        { action: 'key.use', partitionId: row.partition_id ?? undefined, keyId },
        error,
      );
    };
    const load = (): KeyObject => {
      const cached = this.keyCache.get(keyId);
      // The key's row is re-read (and its MAC checked) at most every STATE_RECHECK_MS: an
      // invalidation in this process drops the cache entry at once, one made by another
      // process counts within that.
      if (cached !== undefined && performance.now() - cached.checkedAt < STATE_RECHECK_MS) {
        return cached.key;
      }
      let current: KeyRow | undefined;
      let key = cached?.key;
      try {
        current = this.rows.keyById(keyId);
        if (current?.state === 'active' && key === undefined) {
          const { pkcs8, spki } = this.unsealRow(current);
          try {
            // The key signs only if it is the one whose public key the row (and certificate) names.
            if (!bytesEqual(spki, current.spki)) {
              throw integrityError('key', 'the stored public key is not the sealed key', {
                keyId,
              });
            }
            key = loadPkcs8(pkcs8);
          } finally {
            pkcs8.fill(0);
          }
        }
      } catch (error) {
        reportOnce(error);
        throw error;
      }
      if (current?.state !== 'active' || key === undefined) {
        this.keyCache.delete(keyId);
        throw new HsmError('key-invalidated', 'the key is invalidated or gone', {
          details: { label: row.label },
        });
      }
      this.keyCache.set(keyId, { key, checkedAt: performance.now() });
      return key;
    };
    if (row.state !== 'active') load();
    return {
      algorithm,
      spki: new Uint8Array(row.spki),
      certificateChain: chain,
      // Failures (invalidated key, unwrap) reject the promise instead of throwing synchronously.
      sign: (tbs) =>
        new Promise<Uint8Array>((resolve) => {
          resolve(signWith(load(), algorithm, tbs));
        }),
    };
  }

  /** Opens a key's sealed blob (AAD: device, partition, key id) and derives its public key. */
  private unsealRow(row: KeyRow): { pkcs8: Uint8Array; spki: Uint8Array } {
    let pkcs8: Uint8Array;
    try {
      pkcs8 = open(this.keys.kek, row.wrapped, keyAad(this.deviceId, row.partition_id, row.id));
    } catch (cause) {
      throw new HsmError('integrity-failed', "the store's key row failed integrity: unseal", {
        cause,
        details: { table: 'key', keyId: row.id },
      });
    }
    try {
      return { pkcs8, spki: spkiOf(loadPkcs8(pkcs8)) };
    } catch (cause) {
      pkcs8.fill(0);
      throw new HsmError('integrity-failed', "the store's key row failed integrity: pkcs8", {
        cause,
        details: { table: 'key', keyId: row.id },
      });
    }
  }

  private insertKey(
    id: string,
    partitionId: string,
    label: string,
    role: KeyRole,
    algorithm: KeyAlgorithm,
    spki: Uint8Array,
    attributes: KeyAttributes,
    privateKey: KeyObject,
    now: Date,
    auditSeq: number,
  ): KeyRow {
    const pkcs8 = exportPkcs8(privateKey);
    const wrapped = seal(this.keys.kek, pkcs8, keyAad(this.deviceId, partitionId, id));
    pkcs8.fill(0);
    const row = this.rows.sealKey({
      id,
      partition_id: partitionId,
      label,
      role,
      algorithm,
      spki: Buffer.from(spki),
      attributes_json: JSON.stringify(attributes),
      state: 'active',
      created_at: now.toISOString(),
      invalidated_at: null,
      wrapped: Buffer.from(wrapped),
      audit_seq: auditSeq,
    });
    insertKeyRow(this.db, row);
    return row;
  }

  private compareAndSetKey(next: KeyRow, current: KeyRow): void {
    if (!updateKeyRow(this.db, next, current.mac!)) {
      throw integrityError('key', 'the row changed under its transaction', { keyId: current.id });
    }
  }

  private compareAndDeleteKey(current: KeyRow): void {
    if (!deleteKeyRow(this.db, current.id, current.mac!)) {
      throw integrityError('key', 'the row changed under its transaction', { keyId: current.id });
    }
  }

  private requireFreeLabel(partitionId: string, label: string): void {
    if (labelTaken(this.db, partitionId, label)) {
      throw new HsmError(
        'key-exists',
        'a key with this label exists in the partition (maybe in the trash)',
        { details: { label } },
      );
    }
  }

  private requireWritable(policy: PartitionPolicy): void {
    if (policy.readOnly) {
      throw new HsmError('policy-read-only', 'the partition is read-only');
    }
  }

  /**
   * Checks the officer's credential (scrypt, before any transaction) against the authenticated
   * officer row; from then on the audit context names the officer.
   */
  private requireOfficer(
    officer: OfficerCredential | undefined,
    ctx: AuditContext,
  ): { name: string; mac: Buffer } {
    if (officer === undefined) {
      throw new HsmError('officer-required', 'this action needs a security officer credential');
    }
    const row = this.rows.officer(officer.name);
    const stored: StoredCredential | undefined =
      row === undefined
        ? undefined
        : { name: row.name, params: JSON.parse(row.params_json) as ScryptParams, hash: row.hash };
    // An unknown name costs the same scrypt as a wrong passphrase.
    const ok = checkCredential(stored, officer.passphrase);
    if (!ok || row?.mac == null) {
      throw new HsmError('officer-auth-failed', 'security officer authentication failed');
    }
    ctx.actor = row.name;
    return { name: row.name, mac: row.mac };
  }

  /** Inside the transaction: the officer row proven before is still the same. */
  private requireSameOfficer(proven: { name: string; mac: Buffer }): void {
    const row = this.rows.officer(proven.name);
    if (row?.mac == null || !constantTimeEqual(row.mac, proven.mac)) {
      throw new HsmError('officer-auth-failed', 'security officer authentication failed');
    }
  }

  private audit(
    at: Date,
    event: Omit<AuditEvent, 'actor'> & { actor?: string | undefined },
  ): number {
    // Every write transaction appends to the log: the schema is checked there, before the
    // insert, so that a trigger planted while the HSM runs never fires unnoticed.
    assertSchema(this.db, [schemaVersion(this.db), SCHEMA_VERSION]);
    return appendAudit(this.db, this.keys.auditKey, at, {
      ...event,
      actor: event.actor ?? this.actor,
    });
  }

  /** Writes the refusal or failure of an operation to the log (own transaction). */
  private recordFailure(ctx: AuditContext, error: unknown): void {
    const code = error instanceof HsmError ? error.code : undefined;
    const outcome: AuditOutcome | undefined = code === undefined ? 'failure' : AUDIT_OUTCOME[code];
    if (outcome === undefined || this.closed) return;
    try {
      this.db
        .transaction(() => {
          this.audit(this.clock.now(), {
            actor: ctx.actor,
            action: ctx.action,
            partitionId: ctx.partitionId,
            keyId: ctx.keyId,
            outcome,
            details: { ...ctx.details, code: code ?? 'internal' },
          });
        })
        .immediate();
    } catch {
      // The log cannot be written (disk full, read-only file): the error itself still reaches
      // the caller.
    }
  }

  /** Runs `fn`; a refusal or failure is written to the audit log (own transaction) and rethrown. */
  private guard<T>(ctx: AuditContext, fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      this.recordFailure(ctx, error);
      throw error;
    }
  }

  private async guardAsync<T>(ctx: AuditContext, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      this.recordFailure(ctx, error);
      throw error;
    }
  }
}

/** The serial number of a DER certificate, in hex (its magnitude, as a CRL entry names it). */
function serialHex(der: Uint8Array): string {
  return Buffer.from(parseCertificate(der).serialNumber.valueBlock.valueHexView).toString('hex');
}

function parseAttributes(row: KeyRow): KeyAttributes {
  return JSON.parse(row.attributes_json) as KeyAttributes;
}

function toDeviceInfo(row: DeviceRow): DeviceInfo {
  return {
    id: row.id,
    rootCertificate: new Uint8Array(row.root_certificate),
    certificate: new Uint8Array(row.certificate),
    factoryLabel: row.factory_label,
    development: row.development === 1,
    createdAt: new Date(row.created_at),
    organization: row.organization,
    country: row.country,
  };
}

function toPartitionInfo(row: PartitionRow): PartitionInfo {
  return {
    id: row.id,
    name: row.name,
    policy: {
      ...DEFAULT_PARTITION_POLICY,
      ...(JSON.parse(row.policy_json) as Partial<PartitionPolicy>),
    },
    createdAt: new Date(row.created_at),
    attestationCertificate: new Uint8Array(row.attestation_certificate),
    timestampCertificate: new Uint8Array(row.timestamp_certificate),
  };
}

function toKeyInfo(row: KeyRow, partitionName: string): KeyInfo {
  if (!isKeyAlgorithm(row.algorithm)) {
    throw integrityError('key', 'the row names an unknown algorithm', { keyId: row.id });
  }
  return {
    id: row.id,
    partitionId: row.partition_id ?? '',
    partitionName,
    label: row.label,
    role: row.role,
    algorithm: row.algorithm,
    spki: new Uint8Array(row.spki),
    attributes: parseAttributes(row),
    state: row.state,
    createdAt: new Date(row.created_at),
    invalidatedAt: row.invalidated_at === null ? undefined : new Date(row.invalidated_at),
  };
}

// The software HSM: one device store holding the device identity, partitions with their
// attestation and timestamp keys, user keys, security policies, officers and the audit log.
// Private keys exist only here, wrapped at rest and unwrapped into KeyObjects on use.
import { randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import {
  buildCertificate,
  buildCsr,
  encodeName,
  parseCertificate,
  partitionAttestationTemplate,
  partitionTimestampTemplate,
  randomSerial,
  isKeyAlgorithm,
  type DistinguishedName,
  type KeyAlgorithm,
  type Signer,
} from '../pki/index.js';
import { systemClock, type Clock } from '../shared/index.js';
import {
  appendAudit,
  exportAudit,
  verifyAudit,
  type AuditEntry,
  type AuditEvent,
  type AuditVerification,
} from './audit.js';
import { issueAttestationCertificate, issueEvidence } from './attest.js';
import { HsmError, type HsmErrorCode } from './errors.js';
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
  /** Who acts, as written to the audit log (an operator name, "tsa", ...). */
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

interface KeyRow {
  id: string;
  partition_id: string | null;
  label: string;
  role: KeyRole;
  algorithm: string;
  spki: Buffer;
  attributes_json: string;
  state: KeyState;
  created_at: string;
  invalidated_at: string | null;
  wrapped: Buffer;
}

interface PartitionRow {
  id: string;
  name: string;
  policy_json: string;
  attestation_certificate: Buffer;
  timestamp_certificate: Buffer;
  created_at: string;
}

interface DeviceRow {
  id: string;
  key_id: string;
  root_certificate: Buffer;
  certificate: Buffer;
  factory_label: string;
  development: number;
  organization: string;
  country: string;
  created_at: string;
}

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

/** Codes that mean "refused by policy or authorisation" (audited as refused). */
const REFUSALS: ReadonlySet<HsmErrorCode> = new Set<HsmErrorCode>([
  'policy-read-only',
  'policy-export-denied',
  'policy-import-denied',
  'key-not-extractable',
  'key-not-destroyable',
  'system-key',
  'officer-auth-failed',
  'officer-required',
  'key-invalidated',
  'key-not-invalidated',
]);

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
  private closed = false;

  private constructor(
    private readonly db: Db,
    private readonly keys: MasterKeys,
    private readonly deviceId: string,
    private readonly clock: Clock,
    private readonly actor: string,
  ) {}

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
    const now = clock.now();
    const deviceKeyId = randomUUID();
    try {
      db.transaction(() => {
        migrate(db);
        setMeta(db, 'device_id', deviceId);
        setMeta(db, 'master_source', options.masterKey.kind);
        if (kdf !== undefined) setMeta(db, 'master_kdf', JSON.stringify(kdf));
        setMeta(db, 'kcv', Buffer.from(makeKeyCheckValue(keys, deviceId)).toString('hex'));
        db.prepare(
          `INSERT INTO keys (id, partition_id, label, role, algorithm, spki, attributes_json, state, created_at, wrapped)
           VALUES (?, NULL, 'device', 'device', ?, ?, ?, 'active', ?, ?)`,
        ).run(
          deviceKeyId,
          deviceAlgorithm,
          deviceKey.spki,
          JSON.stringify(generatedAttributes({ destroyable: false })),
          now.toISOString(),
          seal(keys.kek, exportPkcs8(deviceKey.privateKey), keyAad(deviceId, null, deviceKeyId)),
        );
        db.prepare(
          `INSERT INTO device (id, key_id, root_certificate, certificate, factory_label, development, organization, country, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          deviceId,
          deviceKeyId,
          options.factory.rootCertificate,
          certificate,
          options.factory.label,
          options.factory.development ? 1 : 0,
          options.factory.organization,
          options.factory.country,
          now.toISOString(),
        );
        insertOfficer(db, officer, now);
        appendAudit(db, keys.auditKey, now, {
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
      checkKeyCheckValue(keys, deviceId, Buffer.from(kcv, 'hex'));
      const clock = options.clock ?? systemClock;
      const hsm = new Hsm(db, keys, deviceId, clock, options.actor ?? 'operator');
      if (version < SCHEMA_VERSION) {
        db.transaction(() => {
          const applied = migrate(db);
          appendAudit(db, keys.auditKey, clock.now(), {
            actor: hsm.actor,
            action: 'store.migrate',
            outcome: 'success',
            details: { from: applied.from, to: applied.to },
          });
        }).immediate();
      }
      return hsm;
    } catch (error) {
      db.close();
      throw error;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.keyCache.clear();
    this.db.close();
  }

  // ---------------------------------------------------------------- device

  device(): DeviceInfo {
    const row = this.db.prepare('SELECT * FROM device').get() as DeviceRow | undefined;
    if (row === undefined) throw new HsmError('store-corrupt', 'the store has no device');
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

  private deviceSigner(): Signer {
    const row = this.db.prepare('SELECT key_id FROM device').get() as { key_id: string };
    const keyRow = this.db.prepare('SELECT * FROM keys WHERE id = ?').get(row.key_id) as KeyRow;
    return this.signerFor(keyRow, [this.device().certificate, this.device().rootCertificate]);
  }

  // ---------------------------------------------------------------- partitions

  async createPartition(
    name: string,
    options: CreatePartitionOptions = {},
  ): Promise<PartitionInfo> {
    checkName('partition', name);
    const exists = this.db.prepare('SELECT 1 FROM partitions WHERE name = ?').get(name);
    if (exists !== undefined) {
      throw new HsmError('partition-exists', 'a partition with this name exists', {
        details: { partition: name },
      });
    }
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
    const device = this.device();
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
    this.db
      .transaction(() => {
        this.db
          .prepare(
            `INSERT INTO partitions (id, name, policy_json, attestation_certificate, timestamp_certificate, created_at)
           VALUES (?, ?, ?, ?, ?, ?)`,
          )
          .run(partitionId, name, JSON.stringify(policy), attCert, tsCert, now.toISOString());
        this.insertKey(
          attKeyId,
          partitionId,
          'partition-attestation',
          'partition-attestation',
          attAlg,
          attKey.spki,
          generatedAttributes({ destroyable: false }),
          attKey.privateKey,
          now,
        );
        this.insertKey(
          tsKeyId,
          partitionId,
          'partition-timestamp',
          'partition-timestamp',
          tsAlg,
          tsKey.spki,
          generatedAttributes({ destroyable: false }),
          tsKey.privateKey,
          now,
        );
        this.audit(now, {
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
      })
      .immediate();
    return this.partition(name);
  }

  listPartitions(): PartitionInfo[] {
    const rows = this.db.prepare('SELECT * FROM partitions ORDER BY name').all() as PartitionRow[];
    return rows.map(toPartitionInfo);
  }

  partition(name: string): PartitionInfo {
    return toPartitionInfo(this.partitionRow(name));
  }

  private partitionRow(name: string): PartitionRow {
    const row = this.db.prepare('SELECT * FROM partitions WHERE name = ?').get(name) as
      PartitionRow | undefined;
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
    const row = this.partitionRow(name);
    return this.guard(
      { action: 'partition.policy', partitionId: row.id, actor: officer?.name },
      () => {
        this.requireOfficer(officer);
        const policy: PartitionPolicy = { ...toPartitionInfo(row).policy, ...changes };
        const now = this.clock.now();
        this.db
          .transaction(() => {
            this.db
              .prepare('UPDATE partitions SET policy_json = ? WHERE id = ?')
              .run(JSON.stringify(policy), row.id);
            this.audit(now, {
              actor: officer?.name,
              action: 'partition.policy',
              partitionId: row.id,
              outcome: 'success',
              details: { partition: name, ...policy },
            });
          })
          .immediate();
        return this.partition(name);
      },
    );
  }

  chain(name: string): PartitionChain {
    const p = this.partition(name);
    const d = this.device();
    return {
      root: d.rootCertificate,
      device: d.certificate,
      partitionAttestation: p.attestationCertificate,
      partitionTimestamp: p.timestampCertificate,
    };
  }

  // ---------------------------------------------------------------- keys

  async generateKey(partitionName: string, options: GenerateKeyOptions): Promise<KeyInfo> {
    const partition = this.partitionRow(partitionName);
    const policy = toPartitionInfo(partition).policy;
    checkName('label', options.label);
    if (!isKeyAlgorithm(options.algorithm)) {
      throw new HsmError('invalid-argument', 'unsupported key algorithm', {
        details: { algorithm: String(options.algorithm) },
      });
    }
    checkPurposes(options.purposes ?? []);
    this.guard({ action: 'key.generate', partitionId: partition.id }, () => {
      this.requireWritable(policy);
    });
    this.requireFreeLabel(partition.id, options.label);
    const key = await generateKey(options.algorithm);
    const id = randomUUID();
    const now = this.clock.now();
    const attributes = generatedAttributes(options);
    this.db
      .transaction(() => {
        // Re-checked inside the transaction: another process may have changed the policy or
        // taken the label meanwhile.
        this.requireWritable(toPartitionInfo(this.partitionRow(partitionName)).policy);
        this.requireFreeLabel(partition.id, options.label);
        this.insertKey(
          id,
          partition.id,
          options.label,
          'user',
          options.algorithm,
          key.spki,
          attributes,
          key.privateKey,
          now,
        );
        this.audit(now, {
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
      })
      .immediate();
    return this.key(partitionName, options.label);
  }

  importKey(partitionName: string, options: ImportKeyOptions): KeyInfo {
    const partition = this.partitionRow(partitionName);
    const policy = toPartitionInfo(partition).policy;
    checkName('label', options.label);
    checkPurposes(options.purposes ?? []);
    return this.guard({ action: 'key.import', partitionId: partition.id }, () => {
      this.requireWritable(policy);
      if (!policy.importAllowed) {
        throw new HsmError(
          'policy-import-denied',
          'the partition policy does not allow key import',
          {
            details: { partition: partitionName },
          },
        );
      }
      this.requireFreeLabel(partition.id, options.label);
      const privateKey = loadPkcs8(options.pkcs8);
      const algorithm = detectAlgorithm(privateKey, options.pss ?? false);
      const spki = spkiOf(privateKey);
      const extractable = options.extractable ?? false;
      const attributes: KeyAttributes = {
        extractable,
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
      this.db
        .transaction(() => {
          this.insertKey(
            id,
            partition.id,
            options.label,
            'user',
            algorithm,
            spki,
            attributes,
            privateKey,
            now,
          );
          this.audit(now, {
            action: 'key.import',
            partitionId: partition.id,
            keyId: id,
            outcome: 'success',
            details: { label: options.label, algorithm },
          });
        })
        .immediate();
      return this.key(partitionName, options.label);
    });
  }

  /** Imports a key wrapped with RFC 5649 AES-KWP under a caller-supplied AES-256 key. */
  importWrappedKey(
    partitionName: string,
    options: Omit<ImportKeyOptions, 'pkcs8'> & { wrapped: Uint8Array; unwrapKey: Uint8Array },
  ): KeyInfo {
    const pkcs8 = aesKeyUnwrapPad(options.unwrapKey, options.wrapped);
    try {
      return this.importKey(partitionName, { ...options, pkcs8 });
    } finally {
      pkcs8.fill(0);
    }
  }

  listKeys(partitionName: string, filter: { state?: KeyState } = {}): KeyInfo[] {
    const partition = this.partitionRow(partitionName);
    const rows = this.db
      .prepare('SELECT * FROM keys WHERE partition_id = ? ORDER BY created_at, label')
      .all(partition.id) as KeyRow[];
    return rows
      .filter((r) => filter.state === undefined || r.state === filter.state)
      .map((r) => toKeyInfo(r, partition.name));
  }

  key(partitionName: string, label: string): KeyInfo {
    const partition = this.partitionRow(partitionName);
    return toKeyInfo(this.keyRow(partition, label), partition.name);
  }

  private keyRow(partition: PartitionRow, label: string): KeyRow {
    const row = this.db
      .prepare('SELECT * FROM keys WHERE partition_id = ? AND label = ?')
      .get(partition.id, label) as KeyRow | undefined;
    if (row === undefined) {
      throw new HsmError('key-not-found', 'no such key in the partition', {
        details: { partition: partition.name, label },
      });
    }
    return row;
  }

  /**
   * Deletes a key. With invalidation on (the default) it goes to the partition's trash:
   * unusable, listed as invalidated, restorable by an officer. Otherwise it is destroyed.
   */
  deleteKey(partitionName: string, label: string): KeyInfo | undefined {
    const partition = this.partitionRow(partitionName);
    const row = this.keyRow(partition, label);
    const policy = toPartitionInfo(partition).policy;
    return this.guard({ action: 'key.delete', partitionId: partition.id, keyId: row.id }, () => {
      this.requireWritable(policy);
      if (row.role !== 'user') {
        throw new HsmError('system-key', "a partition's own keys cannot be deleted", {
          details: { label },
        });
      }
      const attributes = JSON.parse(row.attributes_json) as KeyAttributes;
      if (!attributes.destroyable) {
        throw new HsmError('key-not-destroyable', 'the key is not destroyable', {
          details: { label },
        });
      }
      if (row.state === 'invalidated') {
        throw new HsmError('key-invalidated', 'the key is already in the trash', {
          details: { label },
        });
      }
      const now = this.clock.now();
      this.keyCache.delete(row.id);
      if (policy.invalidation) {
        this.db
          .transaction(() => {
            this.db
              .prepare("UPDATE keys SET state = 'invalidated', invalidated_at = ? WHERE id = ?")
              .run(now.toISOString(), row.id);
            this.audit(now, {
              action: 'key.invalidate',
              partitionId: partition.id,
              keyId: row.id,
              outcome: 'success',
              details: { label },
            });
          })
          .immediate();
        return this.key(partitionName, label);
      }
      this.db
        .transaction(() => {
          this.db.prepare('DELETE FROM keys WHERE id = ?').run(row.id);
          this.audit(now, {
            action: 'key.destroy',
            partitionId: partition.id,
            keyId: row.id,
            outcome: 'success',
            details: { label },
          });
        })
        .immediate();
      return undefined;
    });
  }

  /** Takes a key out of the trash; needs a security officer. */
  restoreKey(
    partitionName: string,
    label: string,
    officer: OfficerCredential | undefined,
  ): KeyInfo {
    const partition = this.partitionRow(partitionName);
    const row = this.keyRow(partition, label);
    return this.guard(
      { action: 'key.restore', partitionId: partition.id, keyId: row.id, actor: officer?.name },
      () => {
        this.requireOfficer(officer);
        this.requireWritable(toPartitionInfo(partition).policy);
        if (row.state !== 'invalidated') {
          throw new HsmError('key-not-invalidated', 'the key is not in the trash', {
            details: { label },
          });
        }
        const now = this.clock.now();
        this.db
          .transaction(() => {
            this.db
              .prepare("UPDATE keys SET state = 'active', invalidated_at = NULL WHERE id = ?")
              .run(row.id);
            this.audit(now, {
              actor: officer?.name,
              action: 'key.restore',
              partitionId: partition.id,
              keyId: row.id,
              outcome: 'success',
              details: { label },
            });
          })
          .immediate();
        return this.key(partitionName, label);
      },
    );
  }

  /** Destroys a key in the trash for good; needs a security officer. */
  purgeKey(partitionName: string, label: string, officer: OfficerCredential | undefined): void {
    const partition = this.partitionRow(partitionName);
    const row = this.keyRow(partition, label);
    this.guard(
      { action: 'key.purge', partitionId: partition.id, keyId: row.id, actor: officer?.name },
      () => {
        this.requireOfficer(officer);
        this.requireWritable(toPartitionInfo(partition).policy);
        if (row.state !== 'invalidated') {
          throw new HsmError('key-not-invalidated', 'only a key in the trash can be purged', {
            details: { label },
          });
        }
        const now = this.clock.now();
        this.keyCache.delete(row.id);
        this.db
          .transaction(() => {
            this.db.prepare('DELETE FROM keys WHERE id = ?').run(row.id);
            this.audit(now, {
              actor: officer?.name,
              action: 'key.purge',
              partitionId: partition.id,
              keyId: row.id,
              outcome: 'success',
              details: { label },
            });
          })
          .immediate();
      },
    );
  }

  /**
   * Exports a key wrapped under the caller's key, only when the key is extractable AND the
   * partition allows export. Never in plaintext.
   */
  exportKey(partitionName: string, label: string, wrapping: WrappingKey): Uint8Array {
    const partition = this.partitionRow(partitionName);
    const row = this.keyRow(partition, label);
    const policy = toPartitionInfo(partition).policy;
    return this.guard({ action: 'key.export', partitionId: partition.id, keyId: row.id }, () => {
      const attributes = JSON.parse(row.attributes_json) as KeyAttributes;
      if (!attributes.extractable) {
        throw new HsmError('key-not-extractable', 'the key is not extractable', {
          details: { label },
        });
      }
      if (!policy.exportAllowed) {
        throw new HsmError('policy-export-denied', 'the partition policy does not allow export', {
          details: { partition: partitionName },
        });
      }
      if (row.state !== 'active') {
        throw new HsmError('key-invalidated', 'the key is invalidated', { details: { label } });
      }
      const pkcs8 = this.unwrapRow(row);
      try {
        const wrapped =
          wrapping.kind === 'aes-kwp'
            ? aesKeyWrapPad(wrapping.key, pkcs8)
            : rsaAesKeyWrap(wrapping.spki, pkcs8);
        this.db
          .transaction(() => {
            this.audit(this.clock.now(), {
              action: 'key.export',
              partitionId: partition.id,
              keyId: row.id,
              outcome: 'success',
              details: { label, wrapping: wrapping.kind },
            });
          })
          .immediate();
        return wrapped;
      } finally {
        pkcs8.fill(0);
      }
    });
  }

  /**
   * Attests a key: evidence (or a key attestation certificate) about its public key and real
   * attributes, signed by the partition attestation key. Works for the partition's own keys.
   */
  async attestKey(
    partitionName: string,
    label: string,
    options: { nonce?: Uint8Array; format?: 'evidence' | 'certificate' } = {},
  ): Promise<Uint8Array> {
    if (options.nonce !== undefined && (options.nonce.length === 0 || options.nonce.length > 64)) {
      throw new HsmError('invalid-argument', 'the nonce must be 1 to 64 bytes');
    }
    const key = this.key(partitionName, label);
    const input = {
      key,
      deviceId: this.deviceId,
      attestationSigner: this.attestationSigner(partitionName),
      at: this.clock.now(),
      nonce: options.nonce,
    };
    const format = options.format ?? 'evidence';
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
  }

  /** A signer for an active key of the partition. */
  signer(partitionName: string, label: string): Signer {
    const partition = this.partitionRow(partitionName);
    const row = this.keyRow(partition, label);
    const d = this.device();
    const chain =
      row.role === 'partition-timestamp'
        ? [partition.timestamp_certificate, d.certificate, d.rootCertificate]
        : row.role === 'partition-attestation'
          ? [partition.attestation_certificate, d.certificate, d.rootCertificate]
          : [];
    return this.signerFor(
      row,
      chain.map((c) => new Uint8Array(c)),
    );
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

  verifyAudit(): AuditVerification {
    return verifyAudit(this.db, this.keys.auditKey);
  }

  exportAudit(): Generator<AuditEntry> {
    return exportAudit(this.db);
  }

  // ---------------------------------------------------------------- internals

  private signerFor(row: KeyRow, chain: readonly Uint8Array[]): Signer {
    if (!isKeyAlgorithm(row.algorithm)) {
      throw new HsmError('store-corrupt', 'a key row names an unknown algorithm');
    }
    const algorithm = row.algorithm;
    const keyId = row.id;
    const readState = this.db.prepare('SELECT state FROM keys WHERE id = ?');
    const load = (): KeyObject => {
      const cached = this.keyCache.get(keyId);
      // The key's state is re-read at most every STATE_RECHECK_MS: an invalidation in this
      // process drops the cache entry at once, one made by another process counts within that.
      if (cached !== undefined && performance.now() - cached.checkedAt < STATE_RECHECK_MS) {
        return cached.key;
      }
      const state = readState.get(keyId) as { state: KeyState } | undefined;
      if (state?.state !== 'active') {
        this.keyCache.delete(keyId);
        throw new HsmError('key-invalidated', 'the key is invalidated or gone', {
          details: { label: row.label },
        });
      }
      let key = cached?.key;
      if (key === undefined) {
        const pkcs8 = this.unwrapRow(row);
        key = loadPkcs8(pkcs8);
        pkcs8.fill(0);
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

  private unwrapRow(row: KeyRow): Uint8Array {
    return open(this.keys.kek, row.wrapped, keyAad(this.deviceId, row.partition_id, row.id));
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
  ): void {
    const pkcs8 = exportPkcs8(privateKey);
    const wrapped = seal(this.keys.kek, pkcs8, keyAad(this.deviceId, partitionId, id));
    pkcs8.fill(0);
    this.db
      .prepare(
        `INSERT INTO keys (id, partition_id, label, role, algorithm, spki, attributes_json, state, created_at, wrapped)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)`,
      )
      .run(
        id,
        partitionId,
        label,
        role,
        algorithm,
        spki,
        JSON.stringify(attributes),
        now.toISOString(),
        wrapped,
      );
  }

  private requireFreeLabel(partitionId: string, label: string): void {
    const row = this.db
      .prepare('SELECT 1 FROM keys WHERE partition_id = ? AND label = ?')
      .get(partitionId, label);
    if (row !== undefined) {
      throw new HsmError(
        'key-exists',
        'a key with this label exists in the partition (maybe in the trash)',
        {
          details: { label },
        },
      );
    }
  }

  private requireWritable(policy: PartitionPolicy): void {
    if (policy.readOnly) {
      throw new HsmError('policy-read-only', 'the partition is read-only');
    }
  }

  private requireOfficer(officer: OfficerCredential | undefined): void {
    if (officer === undefined) {
      throw new HsmError('officer-required', 'this action needs a security officer credential');
    }
    const row = this.db.prepare('SELECT * FROM officers WHERE name = ?').get(officer.name) as
      { name: string; params_json: string; hash: Buffer } | undefined;
    const stored: StoredCredential | undefined =
      row === undefined
        ? undefined
        : { name: row.name, params: JSON.parse(row.params_json) as ScryptParams, hash: row.hash };
    if (!checkCredential(stored, officer.passphrase)) {
      throw new HsmError('officer-auth-failed', 'security officer authentication failed');
    }
  }

  private audit(at: Date, event: Omit<AuditEvent, 'actor'> & { actor?: string | undefined }): void {
    appendAudit(this.db, this.keys.auditKey, at, { ...event, actor: event.actor ?? this.actor });
  }

  /** Runs `fn`; a refusal is written to the audit log (own transaction) and rethrown. */
  private guard<T>(
    context: { action: string; partitionId?: string; keyId?: string; actor?: string | undefined },
    fn: () => T,
  ): T {
    try {
      return fn();
    } catch (error) {
      if (error instanceof HsmError && REFUSALS.has(error.code)) {
        this.db
          .transaction(() => {
            this.audit(this.clock.now(), {
              actor: context.actor,
              action: context.action,
              partitionId: context.partitionId,
              keyId: context.keyId,
              outcome: 'refused',
              details: { code: error.code },
            });
          })
          .immediate();
      }
      throw error;
    }
  }
}

function insertOfficer(db: Db, officer: StoredCredential, now: Date): void {
  db.prepare('INSERT INTO officers (name, params_json, hash, created_at) VALUES (?, ?, ?, ?)').run(
    officer.name,
    JSON.stringify(officer.params),
    officer.hash,
    now.toISOString(),
  );
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
    throw new HsmError('store-corrupt', 'a key row names an unknown algorithm');
  }
  return {
    id: row.id,
    partitionId: row.partition_id ?? '',
    partitionName,
    label: row.label,
    role: row.role,
    algorithm: row.algorithm,
    spki: new Uint8Array(row.spki),
    attributes: JSON.parse(row.attributes_json) as KeyAttributes,
    state: row.state,
    createdAt: new Date(row.created_at),
    invalidatedAt: row.invalidated_at === null ? undefined : new Date(row.invalidated_at),
  };
}

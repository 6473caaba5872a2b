// The software HSM's facade: one device store holding the device identity, partitions with
// their attestation and timestamp keys, user keys, security policies, officers and the audit
// log. Each operation lives in the file of its concept (device, partitions, revocation, keys/,
// auth/, audit/); this class opens the store and hands each call to it.
import {
  bundleDigest,
  isKeyAlgorithm,
  type CrlReason,
  type KeyAlgorithm,
  type Signer,
} from '../pki/index.js';
import { fromBase64 } from '../shared/index.js';
import { escrowOf } from './governance/requests.js';
import {
  auditPage,
  AUDIT_PAGE_LIMIT,
  exportAudit,
  formatAuditHead,
  verifyAudit,
  type AuditEntry,
  type AuditHead,
  type AuditPage,
  type AuditVerification,
} from './audit/log.js';
import {
  createTransportKey,
  listTransportKeys,
  requireTransportKey,
  type TransportKeyInfo,
} from './backup/transport.js';
import type { TransportAlgorithm } from '../pki/index.js';
import {
  backupPartition,
  restorePartition,
  type BackupTarget,
  type BackupResult,
  type RestoreOptions,
  type RestoreResult,
} from './backup/bundle.js';
import {
  completeMigration,
  migrationPlan,
  migrationReceipt,
  type BackupMigrationPlan,
  type CompleteMigrationOptions,
  type MigrationReceiptResult,
  type MigrationResult,
} from './backup/migration.js';
import {
  createBackupDomain,
  domainJoinRequest,
  enrolDevice,
  joinBackupDomain,
  listDomains,
  type BackupDomainInfo,
} from './backup/domain.js';
import { backupDownload, type BackupDownload } from './backup/download.js';
import { Core, type Operation } from './core.js';
import { createDevice, deviceSigner, openDevice, type DeviceOptions } from './device.js';
import { HsmError } from './errors.js';
import type { Authority, RequestAuthority } from './governance/authorize.js';
import type { PresentedAuthority, PresentedPrincipal } from './governance/presented.js';
import { recordAccess, type AccessEvent } from './audit/access.js';
import { Governance, type RequestView } from './governance/service.js';
import type { Factory } from './issuing/factory.js';
import { attestKey } from './keys/attest-key.js';
import {
  deriveKey,
  encapsulateKey,
  type DeriveOptions,
  type EncapsulatedKey,
  type SharedSecretSource,
} from './keys/derive.js';
import {
  deleteKey,
  exportKey,
  generateKey,
  importKey,
  importWrappedKey,
  listKeys,
  publicKey,
  purgeKey,
  restoreKey,
  showKey,
  type ImportKeyOptions,
} from './keys/lifecycle.js';
import {
  deriveChildKey,
  extendedPublicKey,
  importHdKey,
  keyAddress,
  sweepExpiredKeys,
  type AddressType,
  type DeriveChildOptions,
  type HdImportSource,
  type ImportHdKeyOptions,
  type XpubPrefix,
} from './keys/hd.js';
import { setKeyBlocked, setKeyPolicy } from './keys/policy.js';
import { partitionKeySigner } from './keys/signers.js';
import { signWithKey, verifyWithKey, type SignInput, type SignResult } from './keys/use.js';
import {
  decryptRequest,
  decryptWithKey,
  encryptWithKey,
  executeSecretUse,
  macWithKey,
  unwrapWithKey,
  verifyMacWithKey,
  wrapWithKey,
  type DecryptInput,
  type DecryptResult,
  type EncryptInput,
  type EncryptResult,
  type MacResult,
  type UnwrapOptions,
  type WrapOptions,
  type WrapResult,
} from './keys/secret-use.js';
import type { MasterKeyInput } from './master-key.js';
import {
  createPartition,
  listPartitions,
  partitionChain,
  setPartitionPolicy,
  showPartition,
  type CreatePartitionOptions,
} from './partitions.js';
import type { CrlIssuer, RevocationState } from './revocation-state.js';
import {
  currentRevocationState,
  issueDeviceCrl,
  latestCrl,
  recordRootCrl,
  revokePartition,
} from './revocation.js';
import type { ScrubOutcome } from './scrub.js';
import { copyStore, type StoreCopyCounts } from './store/copy.js';
import { GOVERNANCE_KINDS } from './store/device-store.js';
import { createStore, openStore, type SqliteStoreOptions } from './store/open.js';
import {
  DEFAULT_PARTITION_POLICY,
  type DeviceInfo,
  type GenerateKeyOptions,
  type KeyInfo,
  type KeyPolicyInput,
  type KeyPurpose,
  type KeyState,
  type OfficerCredential,
  type PartitionChain,
  type PartitionInfo,
  type PartitionPolicy,
  type WrappingKey,
} from './types.js';
import type { HsmAlgorithm } from './key-crypto.js';
import type { BitcoinNetwork } from '../pki/index.js';
import { toDeviceInfo } from './views.js';

export interface HsmOptions extends DeviceOptions {
  /** Options of a SQLite store (its WAL flush, for tests); ignored for PostgreSQL. */
  readonly sqliteStore?: SqliteStoreOptions;
}

/** The policy changes a request's statement names: each a known field with a boolean. */
function policyChanges(value: unknown): Partial<PartitionPolicy> {
  const out: Record<string, boolean> = {};
  if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (k in DEFAULT_PARTITION_POLICY && typeof v === 'boolean') out[k] = v;
    }
  }
  return out;
}
export type { CreatePartitionOptions, ImportKeyOptions, SignInput, SignResult };
export type { AddressType, DeriveChildOptions, HdImportSource, ImportHdKeyOptions, XpubPrefix };
export type {
  DecryptInput,
  DecryptResult,
  EncryptInput,
  EncryptResult,
  MacResult,
  UnwrapOptions,
  WrapOptions,
  WrapResult,
};

/** `{ [name]: value }`, or nothing when the value is undefined (exact optional properties). */
function optional<K extends string, V>(name: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [name]: value }) as { [P in K]?: V };
}

export interface InitOptions extends HsmOptions {
  /** Where the store is made: a file path (SQLite, the default) or a postgres:// URL. */
  readonly path: string;
  readonly masterKey: MasterKeyInput;
  readonly factory: Factory;
  readonly deviceAlgorithm?: KeyAlgorithm;
  readonly officer: OfficerCredential;
  /** Name of a partition to create at init; null for none. Default "default". */
  readonly defaultPartition?: string | null;
}

export class Hsm {
  /** Officers, roles, approver keys, quorum rules, SO exclusion and approval requests. */
  readonly governance: Governance;

  private constructor(private readonly core: Core) {
    core.onKeyExpired = () => sweepExpiredKeys(core);
    this.governance = new Governance(core, async ({ partitionId }) => {
      if (partitionId === undefined) {
        const signer = await deviceSigner(core, core.store);
        return { kind: 'device', sign: (b) => signer.sign(b) };
      }
      const row = await core.rows.partitionById(core.store, partitionId);
      if (row === undefined) {
        throw new HsmError('partition-not-found', 'no such partition', {
          details: { partitionId },
        });
      }
      const signer = await this.attestationSigner(row.name);
      return { kind: 'partition-attestation', sign: (b) => signer.sign(b) };
    });
  }

  // ---------------------------------------------------------------- lifecycle

  /** Creates a device store: device key inside, certified by the factory; then a default partition. */
  static async init(options: InitOptions): Promise<Hsm> {
    const hsm = new Hsm(await createDevice({ ...options, location: options.path }));
    const partitionName =
      options.defaultPartition === undefined ? 'default' : options.defaultPartition;
    if (partitionName !== null) await hsm.createPartition(partitionName);
    return hsm;
  }

  /**
   * Opens an existing store (a file path or a postgres:// URL). A wrong master key fails before
   * anything is written.
   */
  static async open(
    location: string,
    masterKey: MasterKeyInput,
    options: HsmOptions = {},
  ): Promise<Hsm> {
    const store = await openStore(location, options.sqliteStore);
    const hsm = new Hsm(await openDevice(store, masterKey, options));
    await hsm.sweepAtOpenOrClose('open');
    return hsm;
  }

  async close(): Promise<void> {
    if (this.core.closed) return;
    await this.sweepAtOpenOrClose('close');
    this.core.closed = true;
    this.core.keyCache.clear();
    await this.core.store.close();
  }

  /**
   * The sweep of expired keys at open and close: a store that cannot be written now (read-only
   * file, locked) keeps its expired keys, which stay refused (key-expired) until a sweep runs.
   */
  private async sweepAtOpenOrClose(when: 'open' | 'close'): Promise<void> {
    try {
      await sweepExpiredKeys(this.core);
    } catch (error) {
      this.core.logger.warn('expired keys could not be swept', {
        when,
        code: error instanceof HsmError ? error.code : 'internal',
      });
    }
  }

  /** Which store implementation holds this device, and where (without credentials). */
  storeInfo(): { dialect: 'sqlite' | 'postgres'; location: string } {
    return { dialect: this.core.store.dialect, location: this.core.store.location };
  }

  // ---------------------------------------------------------------- device

  device(): Promise<DeviceInfo> {
    return this.core.guard({ action: 'device.show' }, async () =>
      toDeviceInfo(await this.core.device(this.core.store)),
    );
  }

  // ---------------------------------------------------------------- partitions

  /** Creates a partition; under a partition.create quorum rule, an approval request. */
  createPartition(
    name: string,
    options: CreatePartitionOptions = {},
    authority?: RequestAuthority | PresentedAuthority,
  ): Promise<PartitionInfo> {
    return createPartition(this.core, name, options, authority);
  }

  listPartitions(): Promise<PartitionInfo[]> {
    return listPartitions(this.core);
  }

  partition(name: string): Promise<PartitionInfo> {
    return showPartition(this.core, name);
  }

  /** Changes a partition's security policy; needs a security officer (or an approved request). */
  setPartitionPolicy(
    name: string,
    changes: Partial<PartitionPolicy>,
    officer: Authority | undefined,
  ): Promise<PartitionInfo> {
    return setPartitionPolicy(this.core, name, changes, officer);
  }

  chain(name: string): Promise<PartitionChain> {
    return partitionChain(this.core, name);
  }

  // ---------------------------------------------------------------- revocation

  /** The revocation decisions and CRL numbers, from the verified audit log. */
  revocationState(): Promise<RevocationState> {
    return currentRevocationState(this.core);
  }

  /**
   * Revokes a partition's certificates for the device's next CRL; needs a security officer (or
   * an approved request).
   */
  revokePartition(
    name: string,
    reason: CrlReason,
    officer: Authority | undefined,
  ): Promise<RevocationState> {
    return revokePartition(this.core, name, reason, officer);
  }

  /** Issues the device's CRL over the partition certificates it issued. */
  issueDeviceCrl(options: { nextUpdateDays: number }): Promise<Uint8Array> {
    return issueDeviceCrl(this.core, options);
  }

  /** Records a CRL issued by the factory (the root), so that the server publishes it. */
  recordRootCrl(crl: Uint8Array, crlNumber: number): Promise<void> {
    return recordRootCrl(this.core, crl, crlNumber);
  }

  /** The latest CRL of an issuer, from the verified log; undefined when none was issued. */
  latestCrl(issuer: CrlIssuer): Promise<Uint8Array | undefined> {
    return latestCrl(this.core, issuer);
  }

  // ---------------------------------------------------------------- keys

  generateKey(partitionName: string, options: GenerateKeyOptions): Promise<KeyInfo> {
    return generateKey(this.core, partitionName, options);
  }

  importKey(partitionName: string, options: ImportKeyOptions): Promise<KeyInfo> {
    return importKey(this.core, partitionName, options);
  }

  /**
   * Imports a key wrapped with RFC 5649 AES-KWP under a caller-supplied AES-256 key: PKCS#8, or
   * with `algorithm` a secret key's raw bytes.
   */
  importWrappedKey(
    partitionName: string,
    options: Omit<ImportKeyOptions, 'pkcs8'> & { wrapped: Uint8Array; unwrapKey: Uint8Array },
  ): Promise<KeyInfo> {
    return importWrappedKey(this.core, partitionName, options);
  }

  listKeys(partitionName: string, filter: { state?: KeyState } = {}): Promise<KeyInfo[]> {
    return listKeys(this.core, partitionName, filter);
  }

  key(partitionName: string, label: string): Promise<KeyInfo> {
    return showKey(this.core, partitionName, label);
  }

  /** The key's SubjectPublicKeyInfo, checked against the sealed private key. */
  publicKey(partitionName: string, label: string): Promise<{ key: KeyInfo; spki: Uint8Array }> {
    return publicKey(this.core, partitionName, label);
  }

  /**
   * Deletes a key: to the trash (invalidation on) or destroyed. A key with its own approval
   * policy is deleted under the policy's modify rule (or, without one, every rule it has): the
   * call then becomes an approval request, and executing it deletes the key.
   */
  deleteKey(
    partitionName: string,
    label: string,
    authority?: RequestAuthority | PresentedAuthority,
  ): Promise<KeyInfo | undefined> {
    return deleteKey(this.core, partitionName, label, authority);
  }

  /** Takes a key out of the trash; needs a security officer (or an approved request). */
  restoreKey(
    partitionName: string,
    label: string,
    officer: Authority | undefined,
  ): Promise<KeyInfo> {
    return restoreKey(this.core, partitionName, label, officer);
  }

  /**
   * Destroys a key in the trash for good; needs a security officer (or an approved request).
   * `scrubbed: false` (with a warning) when the store's files could not be scrubbed yet: the
   * key is gone all the same.
   */
  purgeKey(
    partitionName: string,
    label: string,
    officer: Authority | undefined,
  ): Promise<ScrubOutcome> {
    return purgeKey(this.core, partitionName, label, officer);
  }

  /**
   * Exports an extractable key wrapped under the caller's key, when the partition allows it.
   * Under a key.export quorum rule the export becomes an approval request (wrapped under an RSA
   * public key only), and the executed request holds the wrapped key.
   */
  exportKey(
    partitionName: string,
    label: string,
    wrapping: WrappingKey,
    authority?: RequestAuthority | PresentedAuthority,
  ): Promise<Uint8Array> {
    return exportKey(this.core, partitionName, label, wrapping, authority);
  }

  // ---------------------------------------------------------------- derivable keys

  /**
   * Imports a derivable key (BIP 32, SLIP-10): the master key of a seed, or the node of an
   * extended private key (xprv, tprv...). Under the partition's import policy.
   */
  importHdKey(
    partitionName: string,
    source: HdImportSource,
    options: ImportHdKeyOptions,
  ): Promise<KeyInfo> {
    return importHdKey(this.core, partitionName, source, options);
  }

  /**
   * Derives the child of the derivable key `label` at `path` ("m/84'/0'/0'/0/0", or relative
   * "0/5") into a new key of the partition: temporary (an hour, or `expiresInSeconds`) unless
   * `persistent`. The parent needs the purpose derive; under its use rule the call becomes an
   * approval request naming the path and the new key, and executeRequest derives it.
   */
  deriveChildKey(
    partitionName: string,
    label: string,
    path: string,
    options: DeriveChildOptions,
    authority?: RequestAuthority | PresentedAuthority,
  ): Promise<KeyInfo> {
    return deriveChildKey(this.core, partitionName, label, path, options, authority);
  }

  /** The extended public key (xpub, tpub, zpub, vpub) of a bip32-secp256k1 key. */
  extendedPublicKey(
    partitionName: string,
    label: string,
    prefix?: XpubPrefix,
  ): Promise<{ key: KeyInfo; xpub: string }> {
    return extendedPublicKey(this.core, partitionName, label, prefix);
  }

  /** The Bitcoin (P2WPKH, P2TR) or Ethereum address of a secp256k1 key. */
  keyAddress(
    partitionName: string,
    label: string,
    type: AddressType,
    network?: BitcoinNetwork,
  ): Promise<{ key: KeyInfo; address: string }> {
    return keyAddress(this.core, partitionName, label, type, network);
  }

  /** Destroys every key past its expiry now (also done at open and close); how many. */
  sweepExpiredKeys(): Promise<number> {
    return sweepExpiredKeys(this.core);
  }

  /** Evidence or a key attestation certificate, signed by the partition attestation key. */
  attestKey(
    partitionName: string,
    label: string,
    options: { nonce?: Uint8Array; format?: 'evidence' | 'certificate' } = {},
  ): Promise<Uint8Array> {
    return attestKey(this.core, partitionName, label, options);
  }

  /**
   * Signs data, or a digest under the key algorithm's hash, with a user key. Under the key's
   * use rule this makes an approval request (HsmError approval-required names it); once
   * approved, executeRequest signs exactly what its statement holds and the request's result
   * holds the signature. A presented principal (REST API) needs crypto-user or crypto-officer
   * in the partition and is the requester of the request the call becomes.
   */
  sign(
    partitionName: string,
    label: string,
    input: SignInput,
    authority?: RequestAuthority | PresentedAuthority,
  ): Promise<SignResult> {
    return signWithKey(this.core, partitionName, label, input, authority);
  }

  /** Verifies a signature with a user key's public key (data, or a digest under its hash). */
  verify(
    partitionName: string,
    label: string,
    input: SignInput,
    signature: Uint8Array,
  ): Promise<boolean> {
    return verifyWithKey(this.core, partitionName, label, input, signature);
  }

  // ---------------------------------------------------------------- secret keys

  /**
   * Encrypts with an AEAD secret key under a nonce the HSM draws (returned with the ciphertext,
   * the tag appended); counted against the key's limit. Under its use rule: an approval
   * request, and executeRequest encrypts what it holds (the result: nonce and ciphertext).
   */
  encrypt(
    partitionName: string,
    label: string,
    input: EncryptInput,
    authority?: RequestAuthority | PresentedAuthority,
  ): Promise<EncryptResult> {
    return encryptWithKey(this.core, partitionName, label, input, authority);
  }

  /**
   * Derives a new secret key of the partition from a shared secret of the key `label`: ECDH or
   * X25519 with a peer's public key, or ML-KEM decapsulation of a ciphertext, through HKDF. The
   * secret never leaves the HSM. Under the key's use rule: an approval request naming every
   * input, and executeRequest derives the key it names.
   */
  deriveKey(
    partitionName: string,
    label: string,
    source: SharedSecretSource,
    options: DeriveOptions,
    authority?: RequestAuthority | PresentedAuthority,
  ): Promise<KeyInfo> {
    return deriveKey(this.core, partitionName, label, source, options, authority);
  }

  /**
   * Encapsulates a fresh secret to a peer's ML-KEM public key (SPKI DER) and derives a new
   * secret key of the partition from it; the peer derives the same key from the ciphertext.
   */
  encapsulateKey(
    partitionName: string,
    kem: HsmAlgorithm,
    peerPublicKey: Uint8Array,
    options: DeriveOptions,
  ): Promise<EncapsulatedKey> {
    return encapsulateKey(this.core, partitionName, kem, peerPublicKey, options);
  }

  /** Decrypts with an AEAD secret key; decrypt-failed when it does not authenticate. */
  decrypt(
    partitionName: string,
    label: string,
    input: DecryptInput,
    authority?: RequestAuthority | PresentedAuthority,
  ): Promise<DecryptResult> {
    return decryptWithKey(this.core, partitionName, label, input, authority);
  }

  /**
   * Carries out an approved decryption request (`presented`: the executing API principal):
   * the plaintext is returned here, never kept in the request.
   */
  decryptRequest(
    partitionName: string,
    label: string,
    requestId: string,
    presented?: PresentedPrincipal,
  ): Promise<DecryptResult> {
    const auth: RequestAuthority =
      presented === undefined ? { request: requestId } : { request: requestId, presented };
    return decryptRequest(this.core, partitionName, label, requestId, auth);
  }

  /** A MAC of the data with an HMAC key (its purpose sign), under its use rule. */
  mac(
    partitionName: string,
    label: string,
    data: Uint8Array,
    authority?: RequestAuthority | PresentedAuthority,
  ): Promise<MacResult> {
    return macWithKey(this.core, partitionName, label, data, authority);
  }

  /** Checks a MAC with an HMAC key (its purpose verify), in constant time. */
  verifyMac(
    partitionName: string,
    label: string,
    data: Uint8Array,
    mac: Uint8Array,
    authority?: PresentedAuthority,
  ): Promise<boolean> {
    return verifyMacWithKey(this.core, partitionName, label, data, mac, authority);
  }

  /**
   * Wraps another key of the partition under an AES key (RFC 5649, or RFC 3394), only when that
   * key is extractable and the partition allows export (it is then marked exported).
   */
  wrapKey(
    partitionName: string,
    label: string,
    options: WrapOptions,
    authority?: RequestAuthority | PresentedAuthority,
  ): Promise<WrapResult> {
    return wrapWithKey(this.core, partitionName, label, options, authority);
  }

  /** Unwraps a key under an AES key into a new key of the partition (import allowed). */
  unwrapKey(
    partitionName: string,
    label: string,
    options: UnwrapOptions,
    authority?: RequestAuthority | PresentedAuthority,
  ): Promise<KeyInfo> {
    return unwrapWithKey(this.core, partitionName, label, options, authority);
  }

  /** Blocks a key (under its block rule when it has one): kept, unusable until unblocked. */
  blockKey(
    partitionName: string,
    label: string,
    authority?: RequestAuthority | PresentedAuthority,
  ): Promise<KeyInfo> {
    return setKeyBlocked(this.core, partitionName, label, true, authority);
  }

  /** Unblocks a key (under its unblock rule when it has one). */
  unblockKey(
    partitionName: string,
    label: string,
    authority?: RequestAuthority | PresentedAuthority,
  ): Promise<KeyInfo> {
    return setKeyBlocked(this.core, partitionName, label, false, authority);
  }

  /**
   * Replaces a modifiable key's approval policy (null: no rules), under its modify rule, or
   * its use rule when it has no modify rule.
   */
  setKeyPolicy(
    partitionName: string,
    label: string,
    policy: KeyPolicyInput | null,
    authority?: RequestAuthority | PresentedAuthority,
  ): Promise<KeyInfo> {
    return setKeyPolicy(this.core, partitionName, label, policy, authority);
  }

  /** A signer for an active key of the partition. */
  signer(partitionName: string, label: string): Promise<Signer> {
    return partitionKeySigner(this.core, partitionName, label);
  }

  /** The partition's timestamp key, with its chain (timestamp, device, root). */
  timestampSigner(partitionName: string): Promise<Signer> {
    return this.signer(partitionName, 'partition-timestamp');
  }

  /** The partition's attestation key, with its chain (attestation, device, root). */
  attestationSigner(partitionName: string): Promise<Signer> {
    return this.signer(partitionName, 'partition-attestation');
  }

  // ---------------------------------------------------------------- backup and migration

  /** The backup domains this device holds (or has asked to join); never their keys. */
  backupDomains(): Promise<BackupDomainInfo[]> {
    return this.core.guard({ action: 'domain.list' }, () =>
      listDomains(this.core, this.core.store),
    );
  }

  /** Creates a backup domain whose key exists only inside this device (domain.change rule). */
  createBackupDomain(
    name: string,
    authority?: RequestAuthority | PresentedAuthority,
  ): Promise<BackupDomainInfo> {
    return createBackupDomain(this.core, name, authority);
  }

  /** On a device that joins a domain: the join request, signed by the device key. */
  backupDomainJoinRequest(name: string): Promise<Uint8Array> {
    return domainJoinRequest(this.core, name);
  }

  /** On an enrolled device: the domain key for the requesting device (domain.change rule). */
  enrolDevice(
    domain: string,
    request: Uint8Array,
    authority?: RequestAuthority | PresentedAuthority,
  ): Promise<Uint8Array> {
    return enrolDevice(this.core, domain, request, authority);
  }

  /** On the joining device: takes the domain key in from the enrolment (domain.change rule). */
  joinBackupDomain(
    enrolment: Uint8Array,
    authority?: RequestAuthority | PresentedAuthority,
  ): Promise<BackupDomainInfo> {
    return joinBackupDomain(this.core, enrolment, authority);
  }

  /** This device's transport keys (their certificates; never their private parts). */
  transportKeys(): Promise<TransportKeyInfo[]> {
    return this.core.guard({ action: 'transport-key.list' }, () =>
      listTransportKeys(this.core, this.core.store),
    );
  }

  /** One transport key by id or certificate hash. */
  transportKey(idOrDigest: string): Promise<TransportKeyInfo> {
    return this.core.guard({ action: 'transport-key.list' }, () =>
      requireTransportKey(this.core, this.core.store, idOrDigest),
    );
  }

  /**
   * Generates a transport key inside the device, certified by the device key, usable only to
   * open bundles addressed to it (domain.change rule).
   */
  createTransportKey(
    algorithm: TransportAlgorithm = 'ml-kem-768',
    authority?: RequestAuthority | PresentedAuthority,
  ): Promise<TransportKeyInfo> {
    return createTransportKey(this.core, algorithm, authority);
  }

  /** The device chain a transport certificate is published with: device, then root. */
  deviceCertificateChain(): Promise<Uint8Array[]> {
    return this.core.deviceChain(this.core.store);
  }

  /**
   * The backup bundle of a partition for a backup domain, or for a target device's transport
   * certificate (partition.backup rule).
   */
  backupPartition(
    partitionName: string,
    options: BackupTarget,
    authority?: RequestAuthority | PresentedAuthority,
  ): Promise<BackupResult> {
    return backupPartition(this.core, partitionName, options, authority);
  }

  /**
   * Restores a bundle as a new partition (partition.restore rule) or over the partition of that
   * name (its partition.restore rule; an older serial refused unless allowRollback).
   */
  restorePartition(
    bundle: Uint8Array,
    options: RestoreOptions = {},
    authority?: RequestAuthority | PresentedAuthority,
  ): Promise<RestoreResult> {
    return restorePartition(this.core, bundle, options, authority);
  }

  /**
   * On the target of a migration: the receipt of a partition restored from another device's
   * bundle, signed by its attestation key (audited as partition.migrate.receipt).
   */
  migrationReceipt(
    partitionName: string,
    authority?: RequestAuthority | PresentedAuthority,
  ): Promise<MigrationReceiptResult> {
    return migrationReceipt(this.core, partitionName, authority);
  }

  /**
   * On the source of a migration: checks the target's receipt, then takes the partition out of
   * service for good (partition.suspend rule); with dryRun, the checks and the plan only.
   */
  completeMigration(
    partitionName: string,
    options: CompleteMigrationOptions,
    authority?: RequestAuthority | PresentedAuthority,
  ): Promise<MigrationResult> {
    return completeMigration(this.core, partitionName, options, authority);
  }

  /** What a backup for a target's transport certificate chain would carry (nothing written). */
  migrationPlan(
    partitionName: string,
    transportCertificate: readonly Uint8Array[],
  ): Promise<BackupMigrationPlan> {
    return migrationPlan(this.core, partitionName, transportCertificate);
  }

  /**
   * The bundle of an executed backup request (its result), audited as backup.download: for its
   * requester, or a device-so or pso of the partition (a presented principal), or the local
   * operator.
   */
  backupDownload(requestId: string, authority?: PresentedAuthority): Promise<BackupDownload> {
    return backupDownload(this.core, requestId, authority);
  }

  // ---------------------------------------------------------------- approvals

  /**
   * Executes an approved request: the operation its statement names, with exactly its
   * parameters, once, in the transaction of the effect. Refused (with the reason) when its
   * rules are not met now. `presented`: the executing caller's verified credential (REST API),
   * used for the requester's roles when the caller is the requester.
   */
  async executeRequest(id: string, presented?: PresentedPrincipal): Promise<RequestView> {
    await this.core.governance.requireOpenRequest({ request: id });
    const view = await this.governance.showRequest(id);
    const s = view.body.statement;
    const p = s.params as Record<string, unknown>;
    const auth: RequestAuthority =
      presented === undefined ? { request: id } : { request: id, presented };
    const text = (v: unknown): string => (typeof v === 'string' ? v : '');
    const partitionName = async (scope: unknown): Promise<string | undefined> => {
      const sc = text(scope);
      if (!sc.startsWith('partition:')) return undefined;
      const row = await this.core.rows.partitionById(this.core.store, sc.slice(10));
      if (row === undefined) {
        throw new HsmError('partition-not-found', 'the partition of the request is gone', {
          details: { request: id },
        });
      }
      return row.name;
    };
    /** The partition the statement's parameters name (the request's own scope). */
    const requestPartition = async (): Promise<string> =>
      (await partitionName(`partition:${text(p['partition'])}`)) ?? '';
    switch (s.operation) {
      case 'quorum.set':
      case 'quorum.set.partition':
        await this.governance.setRule(
          await partitionName(p['scope']),
          text(p['operation']),
          p['rule'] ?? null,
          auth,
        );
        break;
      case 'role.grant':
      case 'role.grant.partition':
        await this.governance.grantRole(
          text(p['principal']),
          text(p['role']),
          await partitionName(p['scope']),
          auth,
        );
        break;
      case 'role.revoke':
      case 'role.revoke.partition':
        await this.governance.revokeRole(
          text(p['principal']),
          text(p['role']),
          await partitionName(p['scope']),
          auth,
        );
        break;
      case 'officer.add':
        await this.governance.addOfficerFromRequest(id);
        break;
      case 'approver.enroll':
        await this.governance.enrollApprover(
          text(p['principal']),
          new Uint8Array(Buffer.from(text(p['spki']), 'hex')),
          new Uint8Array(Buffer.from(text(p['proof']), 'hex')),
          auth,
        );
        break;
      case 'approver.revoke':
        await this.governance.revokeApprover(text(p['key']), auth);
        break;
      case 'partition.exclude-so':
      case 'partition.include-so': {
        const name = await partitionName(`partition:${text(p['partition'])}`);
        await this.governance.setSoExclusion(
          name ?? '',
          s.operation === 'partition.exclude-so',
          auth,
        );
        break;
      }
      case 'partition.policy':
        await this.setPartitionPolicy(await requestPartition(), policyChanges(p['policy']), auth);
        break;
      case 'partition.revoke':
        await this.revokePartition(await requestPartition(), text(p['reason']) as CrlReason, auth);
        break;
      case 'key.delete':
        await this.deleteKey(await requestPartition(), text(p['label']), auth);
        break;
      case 'key.restore':
        await this.restoreKey(await requestPartition(), text(p['label']), auth);
        break;
      case 'key.purge':
        await this.purgeKey(await requestPartition(), text(p['label']), auth);
        break;
      case 'key.export':
        if (p['wrapping'] !== 'rsa-aes-kwp' || typeof p['spki'] !== 'string') {
          throw new HsmError(
            'invalid-argument',
            'an approved export names the RSA public key it is wrapped under',
            { details: { request: id, operation: s.operation } },
          );
        }
        await this.exportKey(
          await requestPartition(),
          text(p['label']),
          { kind: 'rsa-aes-kwp', spki: new Uint8Array(Buffer.from(p['spki'], 'hex')) },
          auth,
        );
        break;
      case 'partition.create': {
        const alg = (v: unknown): KeyAlgorithm | undefined =>
          typeof v === 'string' && isKeyAlgorithm(v) ? v : undefined;
        const years = p['timestampKeyUsageYears'];
        await this.createPartition(
          text(p['name']),
          {
            policy: policyChanges(p['policy']),
            ...optional('attestationAlgorithm', alg(p['attestationAlgorithm'])),
            ...optional('timestampAlgorithm', alg(p['timestampAlgorithm'])),
            ...optional('timestampKeyUsageYears', typeof years === 'number' ? years : undefined),
          },
          auth,
        );
        break;
      }
      case 'key.derive': {
        const hex = (v: unknown): Uint8Array => new Uint8Array(Buffer.from(text(v), 'hex'));
        const d = (p['derived'] ?? {}) as Record<string, unknown>;
        const purposes = Array.isArray(d['purposes'])
          ? (d['purposes'] as unknown[]).filter((x): x is KeyPurpose => typeof x === 'string')
          : undefined;
        const hash = text(p['hash']);
        await this.deriveKey(
          await requestPartition(),
          text(p['label']),
          typeof p['ciphertext'] === 'string'
            ? { ciphertext: hex(p['ciphertext']) }
            : { peerPublicKey: hex(p['peerPublicKey']) },
          {
            kdf: {
              hash: hash === 'sha384' || hash === 'sha512' ? hash : 'sha256',
              ...(typeof p['salt'] === 'string' ? { salt: hex(p['salt']) } : {}),
              ...(typeof p['info'] === 'string' ? { info: hex(p['info']) } : {}),
            },
            key: {
              label: text(d['label']),
              algorithm: text(d['algorithm']) as HsmAlgorithm,
              ...(purposes === undefined ? {} : { purposes }),
              extractable: d['extractable'] === true,
            },
          },
          auth,
        );
        break;
      }
      case 'key.derive-child': {
        const d = (p['derived'] ?? {}) as Record<string, unknown>;
        const purposes = Array.isArray(d['purposes'])
          ? (d['purposes'] as unknown[]).filter((x): x is KeyPurpose => typeof x === 'string')
          : undefined;
        const seconds = d['expiresInSeconds'];
        await this.deriveChildKey(
          await requestPartition(),
          text(p['label']),
          text(p['path']),
          {
            label: text(d['label']),
            ...(purposes === undefined ? {} : { purposes }),
            extractable: d['extractable'] === true,
            ...(d['persistent'] === true
              ? { persistent: true }
              : { expiresInSeconds: typeof seconds === 'number' ? seconds : 0 }),
          },
          auth,
        );
        break;
      }
      case 'key.sign': {
        const hex = (v: unknown): Uint8Array => new Uint8Array(Buffer.from(text(v), 'hex'));
        const input: SignInput =
          typeof p['digest'] === 'string' ? { digest: hex(p['digest']) } : { data: hex(p['data']) };
        await this.sign(await requestPartition(), text(p['label']), input, auth);
        break;
      }
      case 'key.block':
        await this.blockKey(await requestPartition(), text(p['label']), auth);
        break;
      case 'key.unblock':
        await this.unblockKey(await requestPartition(), text(p['label']), auth);
        break;
      case 'key.policy':
        await this.setKeyPolicy(
          await requestPartition(),
          text(p['label']),
          p['policy'] ?? null,
          auth,
        );
        break;
      case 'domain.create':
        await this.createBackupDomain(text(p['name']), auth);
        break;
      case 'domain.enrol':
      case 'domain.join': {
        const held = await this.core.governance.requests.require(this.core.store, id);
        const e = escrowOf(held.body);
        const message = fromBase64(typeof e?.['message'] === 'string' ? e['message'] : '');
        if (message === undefined) {
          throw new HsmError('invalid-argument', 'the request holds no signed message', {
            details: { request: id, operation: s.operation },
          });
        }
        // The statement names the message's digest: a different one is refused as unapproved.
        if (s.operation === 'domain.enrol')
          await this.enrolDevice(text(p['domain']), message, auth);
        else await this.joinBackupDomain(message, auth);
        break;
      }
      case 'partition.backup': {
        if (typeof p['custodians'] === 'string') {
          // The statement names the certificates' hashes; the request holds the certificates.
          const held = await this.core.governance.requests.require(this.core.store, id);
          const e = escrowOf(held.body);
          const certificates = (
            typeof e?.['custodianCertificates'] === 'string' ? e['custodianCertificates'] : ''
          )
            .split(',')
            .map((c) => fromBase64(c));
          if (certificates.some((c) => c === undefined)) {
            throw new HsmError('invalid-argument', 'the request holds no custodian certificates', {
              details: { request: id, operation: s.operation },
            });
          }
          await this.backupPartition(
            await requestPartition(),
            {
              custodians: {
                threshold: typeof p['threshold'] === 'number' ? p['threshold'] : 0,
                certificates: certificates as Uint8Array[],
              },
            },
            auth,
          );
          break;
        }
        if (typeof p['transportKey'] !== 'string') {
          await this.backupPartition(await requestPartition(), { domain: text(p['domain']) }, auth);
          break;
        }
        // The statement names the certificate's hash; the request holds the chain itself.
        const held = await this.core.governance.requests.require(this.core.store, id);
        const e = escrowOf(held.body);
        const chain = (
          typeof e?.['transportCertificate'] === 'string' ? e['transportCertificate'] : ''
        )
          .split(',')
          .map((c) => fromBase64(c));
        if (chain.length < 2 || chain.some((c) => c === undefined)) {
          throw new HsmError('invalid-argument', 'the request holds no transport certificate', {
            details: { request: id, operation: s.operation },
          });
        }
        await this.backupPartition(
          await requestPartition(),
          { transportCertificate: chain as Uint8Array[] },
          auth,
        );
        break;
      }
      case 'transport-key.create':
        await this.createTransportKey(
          p['algorithm'] === 'ecdh-p256' ? 'ecdh-p256' : 'ml-kem-768',
          auth,
        );
        break;
      case 'partition.restore':
      case 'partition.restore.over': {
        const held = await this.core.governance.requests.require(this.core.store, id);
        const e = escrowOf(held.body);
        const bundle = fromBase64(typeof e?.['bundle'] === 'string' ? e['bundle'] : '');
        if (bundle === undefined || bundleDigest(bundle) !== p['bundle']) {
          throw new HsmError('invalid-argument', 'the request holds no bundle of that digest', {
            details: { request: id, operation: s.operation },
          });
        }
        await this.restorePartition(
          bundle,
          {
            ...(s.operation === 'partition.restore'
              ? { name: text(p['name']) }
              : { name: await requestPartition() }),
            allowRollback: p['allowRollback'] === true,
            destroyNewer: p['destroyNewer'] === true,
          },
          auth,
        );
        break;
      }
      case 'partition.migrate': {
        // The statement names the receipt's (and the bundle's) hash; the request holds them.
        const held = await this.core.governance.requests.require(this.core.store, id);
        const e = escrowOf(held.body);
        const receipt = fromBase64(typeof e?.['receipt'] === 'string' ? e['receipt'] : '');
        const bundle = typeof e?.['bundle'] === 'string' ? fromBase64(e['bundle']) : undefined;
        if (receipt === undefined || (typeof e?.['bundle'] === 'string' && bundle === undefined)) {
          throw new HsmError('invalid-argument', 'the request holds no migration receipt', {
            details: { request: id, operation: s.operation },
          });
        }
        await this.completeMigration(
          await requestPartition(),
          { receipt, ...(bundle === undefined ? {} : { bundle }) },
          auth,
        );
        break;
      }
      case 'audit.export':
        throw new HsmError(
          'invalid-argument',
          'an approved audit export is carried out by exporting with it (attestamp audit export --request ID)',
          { details: { request: id, operation: s.operation } },
        );
      default:
        if (await executeSecretUse(this.core, id, s.operation, await requestPartition(), p, auth)) {
          break;
        }
        throw new HsmError(
          'invalid-argument',
          'this operation cannot be executed from an approval request yet',
          { details: { request: id, operation: s.operation } },
        );
    }
    return this.governance.showRequest(id);
  }

  // ---------------------------------------------------------------- audit

  /**
   * Recomputes the chain and every MAC; with `expectHead`, also whether the log extends that
   * recorded head (see AuditVerification.expectedHead).
   */
  verifyAudit(expectHead?: AuditHead): Promise<AuditVerification> {
    return verifyAudit(this.core.store, this.core.keys.auditKey, expectHead);
  }

  /** The head of a verified log: its last entry's sequence number and hash. */
  async auditHead(): Promise<AuditHead> {
    const v = await this.verifyAudit();
    if (!v.ok) {
      throw new HsmError('integrity-failed', 'the audit log does not verify', {
        details: { table: 'audit', seq: v.firstBad?.seq ?? 0 },
      });
    }
    return { seq: v.entries, hash: v.head };
  }

  /** Refuses a store whose log does not verify or does not extend the recorded head. */
  async requireAuditHead(expected: AuditHead): Promise<void> {
    const v = await this.verifyAudit(expected);
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

  async *exportAudit(
    authority?: RequestAuthority | PresentedAuthority,
  ): AsyncGenerator<AuditEntry> {
    await this.authorizeAuditExport(authority);
    yield* exportAudit(this.core.store);
  }

  /**
   * One page of the audit log: at most `limit` entries after the sequence number `after`, and
   * the `after` of the next page (null at the end). A page reads its own rows only (one query
   * on the sequence number), however long the log: paging through N entries costs O(N), not
   * O(N^2) as reading from the start for each page did. Authorised as exportAudit.
   */
  async auditPage(
    page: { readonly after: number; readonly limit: number },
    authority?: RequestAuthority | PresentedAuthority,
  ): Promise<AuditPage> {
    const { after, limit } = page;
    if (!Number.isSafeInteger(after) || after < 0) {
      throw new HsmError('invalid-argument', 'after is a sequence number (0 or more)', {
        details: { field: 'after' },
      });
    }
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > AUDIT_PAGE_LIMIT) {
      throw new HsmError('invalid-argument', `limit is 1 to ${AUDIT_PAGE_LIMIT}`, {
        details: { field: 'limit' },
      });
    }
    await this.authorizeAuditExport(authority);
    return auditPage(this.core.store, after, limit);
  }

  /** The audit.export authorisation (and, under its rule, the audit entry of the export). */
  private async authorizeAuditExport(
    authority: RequestAuthority | PresentedAuthority | undefined,
  ): Promise<void> {
    const op: Operation = { action: 'audit.export' };
    const core = this.core;
    await core.guard(op, async () => {
      await core.governance.requireOpenRequest(authority);
      const call = { action: 'audit.export', params: { log: 'device' } };
      const grant = await core.governance.authorizeOperator(authority, op, call);
      // Without a rule nothing is written: reading the log does not grow it.
      if (authority === undefined || !('request' in authority)) return;
      const now = core.clock.now();
      await core.store.tx(async (tx) => {
        await grant.check(tx, now);
        await core.audit(tx, now, {
          actor: op.actor,
          action: 'audit.export',
          outcome: 'success',
          details: { request: authority.request },
        });
        await grant.done(tx, now, { exported: true });
      });
    });
  }

  /** Appends the audit entry of a request served by the REST API (no token, no key bytes). */
  recordAccess(event: AccessEvent): Promise<void> {
    return recordAccess(this.core, event);
  }

  // ---------------------------------------------------------------- migration

  /**
   * Copies this device store into a new, empty one at `location` (a postgres:// URL or a file
   * path): every row as stored, keys still sealed under the same master key. The source's log
   * must verify; the copy must then verify as extending the source's head, and every device,
   * partition, key, officer and governance row must authenticate in it (a governance row also
   * against its last change in the copied log), every sealed key open. The copy's
   * log ends with a store.copy entry naming where it came from. The source is left unchanged.
   */
  async copyTo(location: string): Promise<{ counts: StoreCopyCounts; head: AuditHead }> {
    const head = await this.auditHead();
    const destination = await createStore(location);
    try {
      const counts = await copyStore(this.core.store, destination);
      const c = this.core;
      const copy = new Hsm(new Core(destination, c.keys, c.deviceId, c.clock, c.actor, c.logger));
      const v = await copy.verifyAudit(head);
      if (!v.ok || v.expectedHead?.extended !== true || v.entries !== head.seq) {
        throw new HsmError('integrity-failed', 'the copied audit log does not match the source');
      }
      try {
        await copy.device();
        // The device key and every partition key: row authenticated, sealed key opening to the
        // stored public key (in memory only); every officer row authenticated.
        await (await deviceSigner(copy.core, destination)).sign(Uint8Array.of(0));
        for (const p of await copy.listPartitions()) {
          for (const k of await copy.listKeys(p.name)) await copy.publicKey(p.name, k.label);
        }
        for (const o of await destination.officers.all()) {
          await copy.core.rows.officer(destination, o.name);
        }
        // Every governance row: its MAC, and its last change as the copied log records it.
        let governance = 0;
        for (const kind of GOVERNANCE_KINDS) {
          governance += (await copy.core.governance.objects.list(destination, kind)).length;
        }
        if (governance !== (await destination.governance.all()).length) {
          throw new HsmError('integrity-failed', 'a governance row of an unknown kind');
        }
      } catch (cause) {
        throw new HsmError(
          'integrity-failed',
          'the copy does not verify: the destination holds a complete but unverified copy; drop it',
          { cause },
        );
      }
      await destination.tx(async (tx) => {
        await copy.core.audit(tx, c.clock.now(), {
          action: 'store.copy',
          outcome: 'success',
          details: {
            from: c.store.dialect,
            source: c.store.location,
            entries: head.seq,
            sourceHead: formatAuditHead(head),
          },
        });
      });
      return { counts, head };
    } finally {
      await destination.close();
    }
  }
}

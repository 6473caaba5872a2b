// Public data types of the HSM core: partitions, policies, key attributes and key descriptions.
import { CAPABILITIES, type Capability } from '../pki/index.js';
import type { HsmAlgorithm } from './mechanisms/index.js';
import type { QuorumRule } from './governance/rules.js';

/** Key capabilities (standards/attestation.md ARC.4.2), as the evidence names them. */
export const KEY_PURPOSES = CAPABILITIES;
export type KeyPurpose = Capability;

export const KEY_ORIGINS = ['generated', 'imported', 'unwrapped', 'derived'] as const;
export type KeyOrigin = (typeof KEY_ORIGINS)[number];

/** In use; in the trash (restorable); blocked by its policy's block rule (until unblocked). */
export type KeyState = 'active' | 'invalidated' | 'blocked';

/** The operations a key's own approval policy can guard (Smart Key Attributes). */
export const KEY_POLICY_OPERATIONS = ['use', 'block', 'unblock', 'modify'] as const;
export type KeyPolicyOperation = (typeof KEY_POLICY_OPERATIONS)[number];

/**
 * A key's own approval rules, in the quorum rule language (governance/rules.ts): `use` guards
 * signing (and the other uses), `block` and `unblock` its state, `modify` a change of this
 * policy. A rule absent: that operation needs no approvals. `version` goes up on each change.
 */
export interface KeyPolicy {
  readonly version: number;
  readonly use?: QuorumRule;
  readonly block?: QuorumRule;
  readonly unblock?: QuorumRule;
  readonly modify?: QuorumRule;
}

/** What a key is for inside the device: a user key or one of the partition's own keys. */
export type KeyRole = 'device' | 'partition-attestation' | 'partition-timestamp' | 'user';

/** PKCS#11-style attributes (draft-ietf-rats-pkix-key-attestation key claims). */
export interface KeyAttributes {
  readonly extractable: boolean;
  readonly sensitive: boolean;
  readonly alwaysSensitive: boolean;
  readonly neverExtractable: boolean;
  readonly local: boolean;
  readonly modifiable: boolean;
  readonly copyable: boolean;
  readonly destroyable: boolean;
  readonly purposes: readonly KeyPurpose[];
  readonly origin: KeyOrigin;
  /** The key's own approval policy; absent: none (the partition's rules alone apply). */
  readonly policy?: KeyPolicy;
  /** Blocked under its policy: kept, but unusable until unblocked (reported as state blocked). */
  readonly blocked?: boolean;
  /**
   * AEAD encryptions the key has made, each under a random nonce the HSM drew (absent: none);
   * counted in the transaction of each encryption against the mechanism's invocation limit.
   */
  readonly encryptions?: number;
  /**
   * When the key stops being usable (ISO 8601): refused with key-expired from then on and
   * destroyed by the sweep (at open and close of the HSM). Absent: the key does not expire.
   */
  readonly expiresAt?: string;
  /** Where a key derived from a derivable key (BIP 32, SLIP-10) sits in its tree. */
  readonly derivation?: KeyDerivation;
  /** A key restored from a partition backup: its source and the backup (src/hsm/backup). */
  readonly restoredFrom?: {
    readonly device: string;
    readonly partition: string;
    readonly key: string;
    readonly serial: number;
    readonly backupAt: string;
  };
  /** A key of a migrated partition: moved to the trash for good (the target, DEVICE/PARTITION). */
  readonly migratedTo?: string;
}

/** The place of a derived key in its key tree (BIP 32 "Extended keys"). */
export interface KeyDerivation {
  /**
   * The id of the key it was derived from, in the same partition (a restore gives both new ids
   * and maps this one; a parent destroyed before the backup keeps the id it had).
   */
  readonly parent: string;
  /** The first 32 bits of the parent's key identifier, 8 hex digits (BIP 32 "fingerprint"). */
  readonly parentFingerprint: string;
  /** m/... from the master key when known, otherwise relative to the parent. */
  readonly path: string;
  readonly depth: number;
}

export interface KeyInfo {
  readonly id: string;
  readonly partitionId: string;
  readonly partitionName: string;
  readonly label: string;
  readonly role: KeyRole;
  readonly algorithm: HsmAlgorithm;
  /** DER SubjectPublicKeyInfo of a key pair; for a secret key its key check value (16 bytes). */
  readonly spki: Uint8Array;
  readonly attributes: KeyAttributes;
  readonly state: KeyState;
  readonly createdAt: Date;
  readonly invalidatedAt: Date | undefined;
}

export interface PartitionPolicy {
  /** Keys flagged extractable may be exported (wrapped) only when this is also true. */
  readonly exportAllowed: boolean;
  /** Keys may be imported into the partition. */
  readonly importAllowed: boolean;
  /** Delete moves a key to the trash (restorable) instead of destroying it. */
  readonly invalidation: boolean;
  /** Nothing is created, deleted or changed while set (only an officer may lift it). */
  readonly readOnly: boolean;
  /** Every new user key must carry a use rule in its own approval policy. */
  readonly keyUseRuleRequired: boolean;
}

export const DEFAULT_PARTITION_POLICY: PartitionPolicy = Object.freeze({
  exportAllowed: false,
  importAllowed: false,
  invalidation: true,
  readOnly: false,
  keyUseRuleRequired: false,
});

export interface PartitionInfo {
  readonly id: string;
  readonly name: string;
  readonly policy: PartitionPolicy;
  readonly createdAt: Date;
  /** DER certificate of the partition attestation key. */
  readonly attestationCertificate: Uint8Array;
  /** DER certificate of the partition timestamp key. */
  readonly timestampCertificate: Uint8Array;
  /**
   * Set once the partition was migrated (src/hsm/backup/migration.ts): the target, as
   * `DEVICE/PARTITION`, kept in the authenticated policy row beside readOnly. Never lifted: the
   * partition stays read-only and its keys are refused (partition-migrated).
   */
  readonly migratedTo?: string;
}

export interface DeviceInfo {
  readonly id: string;
  readonly rootCertificate: Uint8Array;
  readonly certificate: Uint8Array;
  readonly factoryLabel: string;
  readonly development: boolean;
  readonly createdAt: Date;
  readonly organization: string;
  readonly country: string;
}

/** The certificates of a partition, leaf-to-root order given by the field names. */
export interface PartitionChain {
  readonly root: Uint8Array;
  readonly device: Uint8Array;
  readonly partitionAttestation: Uint8Array;
  readonly partitionTimestamp: Uint8Array;
}

export interface GenerateKeyOptions {
  readonly label: string;
  readonly algorithm: HsmAlgorithm;
  readonly extractable?: boolean;
  readonly modifiable?: boolean;
  readonly destroyable?: boolean;
  readonly purposes?: readonly KeyPurpose[];
  /** The key's own approval policy (its version is set by the HSM). */
  readonly policy?: KeyPolicyInput;
}

/** A key policy as a caller gives it: rules as JSON, checked by the rule parser. */
export type KeyPolicyInput = Partial<Record<KeyPolicyOperation, unknown>>;

/** Caller-supplied key that an exported key is wrapped under. */
export type WrappingKey =
  | { readonly kind: 'aes-kwp'; readonly key: Uint8Array }
  | { readonly kind: 'rsa-aes-kwp'; readonly spki: Uint8Array };

export interface OfficerCredential {
  readonly name: string;
  readonly passphrase: string;
}

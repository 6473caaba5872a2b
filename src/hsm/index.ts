// Public surface of the HSM core. Outside code gets handles, public data and Signers, never keys.
export * from './errors.js';
export { HSM_ERROR_CLASS, hsmErrorClass, type HsmErrorClass } from './error-classes.js';
export * from './types.js';
export { Hsm } from './hsm.js';
export type {
  HsmOptions,
  InitOptions,
  CreatePartitionOptions,
  ImportKeyOptions,
  SignInput,
  SignResult,
  DecryptInput,
  DecryptResult,
  EncryptInput,
  EncryptResult,
  MacResult,
  UnwrapOptions,
  WrapOptions,
  WrapResult,
  AddressType,
  DeriveChildOptions,
  HdImportSource,
  ImportHdKeyOptions,
  XpubPrefix,
} from './hsm.js';
export {
  ADDRESS_TYPES,
  DEFAULT_CHILD_LIFETIME_S,
  MAX_CHILD_LIFETIME_S,
  XPUB_PREFIXES,
} from './keys/hd.js';
export { SIGN_DATA_LIMIT, STATEMENT_DATA_LIMIT } from './keys/use.js';
export { AAD_LIMIT, SECRET_DATA_LIMIT } from './keys/secret-use.js';
export type { Authority, RequestAuthority } from './governance/authorize.js';
export { presentedName, presentedRole, PRESENTED_VIAS } from './governance/presented.js';
export type {
  PresentedAuthority,
  PresentedPrincipal,
  PresentedVia,
} from './governance/presented.js';
export { GOVERNED } from './governance/roles.js';
export type {
  BackupMigrationPlan,
  CompleteMigrationOptions,
  MigrationKey,
  MigrationReceiptResult,
  MigrationRefusal,
  MigrationResult,
  MigrationStatement,
  ReceiptKey,
} from './backup/migration.js';
export { MIGRATION_RECEIPT_FORMAT } from './backup/migration.js';
export type { AccessEvent } from './audit/access.js';
export type { OfficerView, RequestView } from './governance/service.js';
export { createFactory, openFactory, FACTORY_FILES } from './issuing/factory.js';
export type { Factory, CreateFactoryOptions } from './issuing/factory.js';
export type { MasterKeyInput } from './master-key.js';
export type { ScrubOutcome } from './scrub.js';
export type { AuditEntry, AuditHead, AuditPage, AuditVerification } from './audit/log.js';
export { AUDIT_PAGE_LIMIT, formatAuditHead, parseAuditHead } from './audit/log.js';
/** Public-key signature verification (used by the TSA's optional self-check). */
export {
  createVerifier,
  HSM_ALGORITHMS,
  isHsmAlgorithm,
  isSecretAlgorithm,
  verifyWith as verifySignature,
  type HsmAlgorithm,
  type KeyClass,
  type KeyWrapMode,
} from './key-crypto.js';
export {
  HD_ALGORITHMS,
  isHdAlgorithm,
  kemAlgorithmOfSpki,
  KCV_LABEL,
  KCV_LENGTH,
  type HdAlgorithm,
} from './mechanisms/index.js';
/** Classifies a SQLite open error (no space, permission, busy, corrupt) for any store file. */
export { classifyOpenError } from './store/sqlite/database.js';
export { isPostgresUrl } from './store/open.js';
export type { CrlIssuer, RevocationState, RevokedCertificate } from './revocation-state.js';
/** The PostgreSQL catalog check, shared with the TSA archive's schema. */
export { inspectCatalog } from './store/postgres/schema-check.js';
export type {
  CatalogBuilder,
  CatalogDifference,
  Queryable as CatalogQueryable,
} from './store/postgres/schema-check.js';
/** Governance: the bytes of approval requests and approvals, roles and operation classes. */
export {
  approvalBytes,
  enrollmentBytes,
  requestBytes,
  type ApprovalDecision,
  type RequestStatement,
} from './governance/statement.js';
export { OPERATION_CLASSES, ROLES, type OperationClass, type Role } from './governance/roles.js';
export { approverKey, opensslSignCommand, signWithApproverKey } from './mechanisms/approver.js';
export type {
  BackupManifest,
  BackupResult,
  BackupTarget,
  ManifestKey,
  ManifestRecipient,
  RestoreOptions,
  RestoreResult,
  RestoredFrom,
} from './backup/bundle.js';
export type { BackupDomainInfo } from './backup/domain.js';
export { backupResultBundle, type BackupDownload } from './backup/download.js';
export { openCustodianShare, type CustodianTarget } from './backup/custodians.js';
export type { TransportKeyInfo } from './backup/transport.js';

// Public surface of the standalone verifier: chain, evidence and key attestation certificates.
// Imports pki and shared only; web-standard and pure-JS crypto, so that it runs in a browser.
export { verifyChain, validatePath, checkRoles, roleOf } from './chain.js';
export type { ChainOptions, PolicyInputs, TrustAnchors } from './chain.js';
export {
  inspectEvidence,
  inspectAttestationCertificate,
  verifyEvidence,
  AttestationError,
  REQUIRABLE,
} from './evidence.js';
export type { EvidenceOptions } from './evidence.js';
export { verifySignature, describePublicKey, describeSignatureAlgorithm } from './crypto.js';
export { parseCert } from './certificate.js';
export type { ParsedCert } from './certificate.js';
export { EXIT_CODES } from './report.js';
export type { Finding, FindingStatus, Outcome, Report } from './report.js';
export { inspectToken, TOKEN_HASHES } from './token.js';
export type { TokenOptions } from './token.js';
export { inspectBackup } from './backup.js';
export type { BackupOptions } from './backup.js';

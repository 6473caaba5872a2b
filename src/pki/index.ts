// Public surface of the pki module: OIDs, strict DER, PEM, algorithms, names, extensions,
// certificate building and parsing, CSRs. No I/O and no private keys.
export * from './errors.js';
export * from './oids.js';
export {
  assertStrictDer,
  tlvLength,
  DEFAULT_MAX_DEPTH,
  MAX_LENGTH_OCTETS,
  type DerLimits,
} from './der.js';
export * from './asn1js-bridge.js';
export * from './pem.js';
export * from './hash.js';
export * from './algorithms.js';
export type { Signer } from './signer.js';
export * from './name.js';
export * from './extensions.js';
export * from './hsm-role.js';
export * from './certificate.js';
export * from './certificate-profiles.js';
export * from './csr.js';
export { ensureCryptoEngine } from './engine.js';
export * as der from './der-writer.js';
export * as derReader from './der.js';
export * from './evidence.js';
export * from './tsp-request.js';
export * from './crl-builder.js';
export * from './blockchain-addresses.js';
export * from './jwk.js';
export * from './backup-bundle.js';
export * from './cms-recipients.js';
export * from './migration-receipt.js';
export * from './transport-certificate.js';
export * from './custodian-share.js';

// Hierarchical deterministic keys for the HSM (BIP 32, SLIP-10): seeds to master keys, derivation
// along paths, extended keys, and the sealed form of a derivable key. Inside src/hsm only: the
// nodes carry private key bytes, which never leave the HSM.
export {
  HD_CURVES,
  deriveHdPath,
  derivePublicHdPath,
  hdCurveOps,
  hdFingerprint,
  hdIdentifier,
  hdMasterKey,
  hdPublicNode,
} from './derive.js';
export {
  EXTENDED_KEY_VERSIONS,
  decodeExtendedKey,
  encodeExtendedKey,
  isPrivatePrefix,
  type DecodedExtendedKey,
  type ExtendedKeyPrefix,
} from './extended-key.js';
export {
  wipeHdNode,
  type HdCurve,
  type HdCurveOps,
  type HdNode,
  type HdPrivateNode,
  type HdPublicNode,
} from './node.js';
export {
  HARDENED_OFFSET,
  MAX_DEPTH,
  checkChildIndex,
  formatDerivationPath,
  isHardened,
  parseDerivationPath,
  type DerivationPath,
  type PathSegment,
} from './path.js';
export { decodeHdPrivateKey, encodeHdPrivateKey } from './sealed.js';

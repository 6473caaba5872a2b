// The verifier's signature checks: the pki algorithm registry (src/pki/algorithms) reads SPKIs and
// signature AlgorithmIdentifiers and verifies with web-standard and pure-JS crypto only, so that
// the verifier runs in a browser. Re-exported under the names the verifier has always offered.
export {
  cmsDigestProblem,
  describePublicKey,
  describeSignatureAlgorithm,
  publicKeyLabel,
  publicKeyProblem,
  signatureAlgorithmLabel,
  verifySignature,
  type PublicKeyKind,
  type SignatureScheme,
} from '../pki/index.js';

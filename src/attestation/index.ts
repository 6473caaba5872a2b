// Public surface of the standalone verifier (chain, evidence, tokens). Imports pki and shared
// only; see the key attestation issue for its contents.
export {};

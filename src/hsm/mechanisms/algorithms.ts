// The names of the HSM's key algorithms that are not signature algorithms of src/pki: key
// agreement, KEM, secret keys, secp256k1 ECDSA and derivable (HD) keys. Each family adds its names here and its file to
// OTHER_FAMILIES in index.ts; a name without a family fails the registry at load.
export const OTHER_ALGORITHMS = [
  // aes.ts: AES-GCM encryption, AES key wrap (RFC 3394, RFC 5649).
  'aes-128',
  'aes-256',
  // chacha20-poly1305.ts: RFC 8439 AEAD.
  'chacha20-poly1305',
  // hmac.ts: HMAC over SHA-2 and SHA-3.
  'hmac-sha256',
  'hmac-sha384',
  'hmac-sha512',
  'hmac-sha3-256',
  'hmac-sha3-384',
  'hmac-sha3-512',
  // Key agreement (agreement.ts).
  'ecdh-p256',
  'ecdh-p384',
  'x25519',
  // Key encapsulation (ml-kem.ts).
  'ml-kem-768',
  'ml-kem-1024',
  // Blockchain signature keys (secp256k1.ts): ECDSA over secp256k1, low-S.
  'ecdsa-secp256k1',
  // Derivable keys (hd-keys.ts): a node of a BIP 32 / SLIP-10 key tree.
  'bip32-secp256k1',
  'slip10-ed25519',
  'slip10-p256',
] as const;

export type OtherAlgorithm = (typeof OTHER_ALGORITHMS)[number];

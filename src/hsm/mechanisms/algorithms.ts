// The names of the HSM's key algorithms that are not signature algorithms of src/pki: key
// agreement, KEM and secret keys. Each family adds its names here and its file to
// OTHER_FAMILIES in index.ts; a name without a family fails the registry at load.
export const OTHER_ALGORITHMS = [
  // Key agreement (agreement.ts).
  'ecdh-p256',
  'ecdh-p384',
  'x25519',
  // Key encapsulation (ml-kem.ts).
  'ml-kem-768',
  'ml-kem-1024',
] as const;

export type OtherAlgorithm = (typeof OTHER_ALGORITHMS)[number];

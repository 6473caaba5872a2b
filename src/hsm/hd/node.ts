// The nodes of a hierarchical deterministic key tree (BIP 32 "Extended keys", SLIP-10): a key,
// its chain code and its place in the tree, and what each curve contributes to derivation.
// Plain data: the HSM seals a private node as one value (sealed.ts) and never hands it out.

/**
 * The curves keys are derived on, by their SLIP-10 names: secp256k1 (BIP 32 itself), NIST
 * P-256 ("nist256p1") and Ed25519 (hardened derivation only).
 */
export type HdCurve = 'secp256k1' | 'nist256p1' | 'ed25519';

interface HdNodeFields {
  readonly curve: HdCurve;
  /** 0 for the master key, one more for each derivation, at most 255 (BIP 32 serialisation). */
  readonly depth: number;
  /** The first 32 bits of the parent's key identifier (Hash160 of serP(K)); 0 for a master. */
  readonly parentFingerprint: number;
  /** The index this key was derived at (hardened ones from 2^31); 0 for a master. */
  readonly childIndex: number;
  /** 32 bytes. Secret in practice: with it, the public key and one non-hardened child's private
   * key give the parent's private key (BIP 32 "Implications"). */
  readonly chainCode: Uint8Array;
  /**
   * The public key as the curve writes it: SEC 1 compressed (33 bytes) for secp256k1 and P-256,
   * the 32-byte RFC 8032 public key for Ed25519.
   */
  readonly publicKey: Uint8Array;
}

/** An extended public key (K, c): derives non-hardened public children only. */
export interface HdPublicNode extends HdNodeFields {
  readonly privateKey?: undefined;
}

/** An extended private key (k, c) with its public key. */
export interface HdPrivateNode extends HdNodeFields {
  /** 32 bytes: the scalar (secp256k1, P-256) or the RFC 8032 private key (Ed25519). */
  readonly privateKey: Uint8Array;
}

export type HdNode = HdPrivateNode | HdPublicNode;

/** A key and chain code computed by a curve's derivation, before it is placed in the tree. */
export interface DerivedPrivate {
  readonly privateKey: Uint8Array;
  readonly chainCode: Uint8Array;
  /** The index used: BIP 32 moves to the next index when I_L is not a valid key. */
  readonly index: number;
}

export interface DerivedPublic {
  readonly publicKey: Uint8Array;
  readonly chainCode: Uint8Array;
  readonly index: number;
}

/** What one curve contributes: its arithmetic for the master key and the CKD functions. */
export interface HdCurveOps {
  readonly curve: HdCurve;
  /** The curve's OID, naming it in the sealed encoding (SEC 2, RFC 8410). */
  readonly oid: string;
  /** SLIP-10 "ed25519 seed" and friends: the HMAC key of the master key generation. */
  readonly seedKey: string;
  /** SLIP-10: Ed25519 derives hardened private children only, and no public children. */
  readonly hardenedOnly: boolean;
  publicKey(privateKey: Uint8Array): Uint8Array;
  /** serP(K), the 33 bytes hashed into the key identifier (SLIP-10 prefixes Ed25519 with 0). */
  serializePublicKey(publicKey: Uint8Array): Uint8Array;
  isValidPrivateKey(privateKey: Uint8Array): boolean;
  isValidPublicKey(publicKey: Uint8Array): boolean;
  /** The master key and chain code; HsmError invalid-argument when the seed gives none. */
  master(seed: Uint8Array): Omit<DerivedPrivate, 'index'>;
  /** CKDpriv. */
  childPrivate(parent: HdPrivateNode, index: number): DerivedPrivate;
  /** CKDpub (non-hardened `index` only); undefined for a curve without public derivation. */
  readonly childPublic: ((parent: HdNode, index: number) => DerivedPublic) | undefined;
}

/** ser32(i): a 32-bit unsigned integer, most significant byte first (BIP 32 "Conventions"). */
export function ser32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}

/** Zeroes the private key and chain code of a node the caller is done with. */
export function wipeHdNode(node: HdNode): void {
  node.privateKey?.fill(0);
  node.chainCode.fill(0);
}

// The shape of one algorithm family's public facts (src/pki/algorithms/<family>.ts): the key
// algorithm names it issues keys under, its SPKI and signature AlgorithmIdentifiers (RFC 5280
// 4.1.1.2, 4.1.2.7), and how the verifier checks its signatures with browser-safe code.
import type { Tlv } from '../der.js';
import type { HashName } from '../hash.js';

/** What a family reads out of an SPKI or an AlgorithmIdentifier: a value tagged by `kind`. */
export interface Tagged {
  readonly kind: string;
}

/** An SPKI or AlgorithmIdentifier that is malformed or off the allow-list, and why. */
export interface Unsupported {
  readonly kind: 'unsupported';
  readonly reason: string;
}

export function unsupported(reason: string): Unsupported {
  return { kind: 'unsupported', reason };
}

/**
 * One key algorithm of a family, as the HSM generates it and as certificates and tokens name it.
 * The signature facts are those of the one scheme such a key signs with.
 */
export interface KeyAlgorithmDef {
  /** The name used across the project (CLI, store rows, key evidence): 'ecdsa-p256'. */
  readonly name: string;
  /** The key type as node:crypto and the SPKI name it: 'ec', 'ed25519', 'rsa'. */
  readonly family: string;
  /** The family that owns it: its file here and in src/hsm/mechanisms ('ecdsa', 'rsa-pss'). */
  readonly mechanism: string;
  /** Named curve for EC keys (node:crypto and WebCrypto spelling). */
  readonly curve?: string;
  readonly modulusBits?: number;
  readonly padding?: 'pkcs1' | 'pss';
  /** SPKI algorithm OID of the public key (RFC 5480, RFC 8410, RFC 8017). */
  readonly spkiOid: string;
  /** Hash used by the signature scheme; undefined for pure EdDSA. */
  readonly hash: HashName | undefined;
  /** OID of the signature algorithm in X.509 and CMS. */
  readonly signatureOid: string;
  /**
   * DER of the signature AlgorithmIdentifier in X.509 and CMS, with the parameters each RFC
   * prescribes (absent, NULL or RSASSA-PSS-params). Shared: copy it before changing it.
   */
  readonly signatureAlgorithm: Uint8Array;
  /**
   * Digest algorithm of a CMS SignerInfo over signed attributes (RFC 5652 5.4, RFC 8419 3.1,
   * RFC 9882 3.3, RFC 9814 4); its OID and length are in CMS_DIGESTS.
   */
  readonly cmsDigest: CmsDigestName;
  /**
   * Whether a TSA in 'auto' mode verifies each signature before releasing it: an RSA-CRT
   * signature computed with a fault reveals the private key (Boneh, DeMillo, Lipton 1997).
   */
  readonly verifyAfterSign: boolean;
  /** Why `openssl ts -verify` cannot check tokens signed with it; absent: no known limitation. */
  readonly opensslTsLimitation?: string;
  /**
   * Who else checks time-stamp tokens signed with it, for the operator's warning when
   * `openssl ts -verify` cannot (absent: attestamp-verify, Java and Python's cryptography).
   */
  readonly tokenVerifiers?: string;
  /**
   * A post-quantum signature (FIPS 204, FIPS 205): a time-stamping unit with such a key gets the
   * post-quantum TSA policy (ARC.6.2) unless its policies are configured.
   */
  readonly postQuantum?: true;
  /**
   * The JWK of its public keys when it is not one node:crypto writes (EC, OKP, RSA): the AKP key
   * type of draft-ietf-cose-dilithium with this `alg`, the raw public key in `pub`.
   */
  readonly jwkAlg?: string;
}

/** A digest algorithm a CMS SignerInfo names beside a signature (RFC 5652 5.3). */
export type CmsDigestName = 'sha256' | 'sha384' | 'sha512' | 'shake128' | 'shake256';

/**
 * Reads the public keys of one SPKI algorithm OID. Methods (not function properties) so that a
 * reader of a narrower key type fits the registry's list of readers.
 */
export interface PublicKeyReader<K extends Tagged = Tagged> {
  /** SPKI AlgorithmIdentifier OID (RFC 5280 4.1.2.7). */
  readonly oid: string;
  /** The key in `keyBits` (the BIT STRING's content after its unused-bits octet). */
  read(spki: Uint8Array, params: Tlv | undefined, keyBits: Uint8Array): K | Unsupported;
  /** The key for a report: 'EC P-256', 'RSA 3072'. */
  label(key: K): string;
  /** Why the verifier's allow-list refuses the key although it can read it (RSA < 2048). */
  weakness(key: K): string | undefined;
}

/** Reads and verifies the signatures of some AlgorithmIdentifier OIDs. */
export interface SignatureReader<S extends Tagged = Tagged> {
  /** Signature AlgorithmIdentifier OIDs this reader owns. */
  readonly oids: readonly string[];
  /**
   * The scheme that the AlgorithmIdentifier in `der` names, its parameters checked: `params`
   * is the TLV after the OID, `rest` whatever follows it.
   */
  read(
    der: Uint8Array,
    oid: string,
    params: Tlv | undefined,
    rest: readonly Tlv[],
  ): S | Unsupported;
  /** The scheme for a report: 'ECDSA with SHA256'. */
  label(scheme: S): string;
  /**
   * Verifies `signature` over `data` (not a digest). False when `key` (as the registry read it
   * from `spki`) is not one this scheme signs with.
   */
  verify(
    scheme: S,
    key: Tagged,
    spki: Uint8Array,
    data: Uint8Array,
    signature: Uint8Array,
  ): boolean | Promise<boolean>;
  /**
   * Why a CMS SignerInfo with signed attributes may not name the digest algorithm `digestOid`
   * (with parameters or without) beside this scheme, or undefined when it may. Absent when the
   * scheme's RFC adds no rule to RFC 5652's (RFC 9882 3.3 and RFC 9814 4 do).
   */
  cmsDigestProblem?(scheme: S, digestOid: string, hasParameters: boolean): string | undefined;
}

/** One algorithm family: the content of one file in src/pki/algorithms. */
export interface AlgorithmFamily {
  /** The file's name, here and in src/hsm/mechanisms. */
  readonly name: string;
  /** The key algorithms the HSM issues under this family (none for a verify-only family). */
  readonly keyAlgorithms: readonly KeyAlgorithmDef[];
  readonly publicKeys: readonly PublicKeyReader[];
  readonly signatures: readonly SignatureReader[];
}

// RSA public keys (rsaEncryption SPKI, RFC 8017 A.1.1) and RSASSA-PKCS1-v1_5 with SHA-2
// (sha*WithRSAEncryption, parameters NULL or absent, RFC 8017 A.2.4), verified with WebCrypto.
import { childrenOf, contentOf, expectTag, readTlv, type Tlv } from '../der.js';
import { algorithmIdentifier, nullValue } from '../der-writer.js';
import {
  id_rsaEncryption,
  id_sha256,
  id_sha256WithRSAEncryption,
  id_sha384,
  id_sha384WithRSAEncryption,
  id_sha512,
  id_sha512WithRSAEncryption,
} from '../oids.js';
import { toArrayBuffer } from '../../shared/index.js';
import {
  unsupported,
  type AlgorithmFamily,
  type PublicKeyReader,
  type SignatureReader,
  type Tagged,
} from './types.js';

export interface RsaPublicKey {
  readonly kind: 'rsa';
  /** Modulus length in bits. */
  readonly bits: number;
}

export type WebCryptoHash = 'SHA-256' | 'SHA-384' | 'SHA-512';

export interface RsaPkcs1Scheme {
  readonly kind: 'rsa-pkcs1';
  readonly hash: WebCryptoHash;
}

/** The verifier's allow-list floor for RSA moduli (NIST SP 800-131A: 2048 bits and up). */
const MIN_RSA_BITS = 2048;

const BY_OID: Readonly<Record<string, { hash: WebCryptoHash; digestOid: string }>> = {
  [id_sha256WithRSAEncryption]: { hash: 'SHA-256', digestOid: id_sha256 },
  [id_sha384WithRSAEncryption]: { hash: 'SHA-384', digestOid: id_sha384 },
  [id_sha512WithRSAEncryption]: { hash: 'SHA-512', digestOid: id_sha512 },
};

export function isRsaKey(key: Tagged): key is RsaPublicKey {
  return key.kind === 'rsa';
}

/**
 * The sha*WithRSAEncryption OID for a digest algorithm OID: a CMS SignerInfo may name
 * rsaEncryption as its signature algorithm (RFC 3370 3.2), the digest algorithm then fixes the
 * hash. undefined for a digest without one.
 */
export function rsaPkcs1SignatureOid(digestOid: string): string | undefined {
  return Object.entries(BY_OID).find(([, v]) => v.digestOid === digestOid)?.[0];
}

/** WebCrypto verification of an RSA signature, the SPKI imported for this one call. */
export async function verifyRsaWithWebCrypto(
  spki: Uint8Array,
  importParams: { readonly name: string; readonly hash: WebCryptoHash },
  verifyParams: { readonly name: string; readonly saltLength?: number },
  data: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  const subtle = globalThis.crypto.subtle;
  const cryptoKey = await subtle.importKey('spki', toArrayBuffer(spki), importParams, false, [
    'verify',
  ]);
  return await subtle.verify(
    verifyParams,
    cryptoKey,
    toArrayBuffer(signature),
    toArrayBuffer(data),
  );
}

const rsaPublicKey: PublicKeyReader<RsaPublicKey> = {
  oid: id_rsaEncryption,
  read(_spki, _params, keyBits) {
    // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
    const [modulus] = childrenOf(keyBits, readTlv(keyBits, 0));
    const m = contentOf(keyBits, expectTag(modulus, 0x02, 'modulus'));
    const lead = m[0] === 0 ? 1 : 0;
    const first = m[lead] ?? 0;
    return { kind: 'rsa', bits: (m.length - lead - 1) * 8 + (32 - Math.clz32(first)) };
  },
  label: (key) => `RSA ${key.bits}`,
  weakness: (key) => (key.bits < MIN_RSA_BITS ? `RSA key of ${key.bits} bits` : undefined),
};

const rsaPkcs1Signature: SignatureReader<RsaPkcs1Scheme> = {
  oids: Object.keys(BY_OID),
  read(_der, oid, params: Tlv | undefined, rest) {
    const known = BY_OID[oid];
    if (known === undefined)
      return unsupported(`signature algorithm ${oid} is not on the allow-list`);
    // RFC 8017 A.2.4: parameters NULL; RFC 4055 5 tolerates them absent.
    const nullOrAbsent = params === undefined || (params.tag === 0x05 && rest.length === 0);
    return nullOrAbsent
      ? { kind: 'rsa-pkcs1', hash: known.hash }
      : unsupported('bad rsa parameters');
  },
  label: (scheme) => `RSA PKCS#1 v1.5 with ${scheme.hash}`,
  verify(scheme, key, spki, data, signature) {
    if (!isRsaKey(key)) return false;
    const params = { name: 'RSASSA-PKCS1-v1_5', hash: scheme.hash };
    return verifyRsaWithWebCrypto(spki, params, { name: 'RSASSA-PKCS1-v1_5' }, data, signature);
  },
};

const rsaKey = <const B extends number>(bits: B) =>
  ({
    name: `rsa-${bits}`,
    family: 'rsa',
    mechanism: 'rsa-pkcs1',
    modulusBits: bits,
    padding: 'pkcs1',
    spkiOid: id_rsaEncryption,
    hash: 'sha256',
    signatureOid: id_sha256WithRSAEncryption,
    // RFC 8017 A.2.4: parameters NULL.
    signatureAlgorithm: algorithmIdentifier(id_sha256WithRSAEncryption, nullValue()),
    cmsDigest: 'sha256',
    verifyAfterSign: true,
  }) as const;

export const rsaPkcs1 = {
  name: 'rsa-pkcs1',
  keyAlgorithms: [rsaKey(3072), rsaKey(4096)],
  publicKeys: [rsaPublicKey],
  signatures: [rsaPkcs1Signature],
} as const satisfies AlgorithmFamily;

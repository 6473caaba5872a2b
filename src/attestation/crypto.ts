// Signature verification with web-standard and pure-JS crypto only (the verifier must run in a
// browser): @noble/curves for ECDSA and Ed25519, WebCrypto crypto.subtle for RSA. One adapter
// holds the options: ECDSA signatures in X.509 are DER and may be high-S (lowS: false).
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256, p384 } from '@noble/curves/nist.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import {
  derReader,
  id_ecPublicKey,
  id_ecdsa_with_SHA256,
  id_ecdsa_with_SHA384,
  id_ecdsa_with_SHA512,
  id_Ed25519,
  id_mgf1,
  id_rsaEncryption,
  id_RSASSA_PSS,
  id_secp256r1,
  id_secp384r1,
  id_sha256,
  id_sha256WithRSAEncryption,
  id_sha384,
  id_sha384WithRSAEncryption,
  id_sha512,
  id_sha512WithRSAEncryption,
} from '../pki/index.js';
import { toArrayBuffer } from '../shared/index.js';

const { readTlv, childrenOf, readOid, contentOf, expectTag, readUnsigned } = derReader;

export type PublicKeyKind =
  | { readonly kind: 'ec'; readonly curve: 'P-256' | 'P-384'; readonly point: Uint8Array }
  | { readonly kind: 'ed25519'; readonly key: Uint8Array }
  | { readonly kind: 'rsa'; readonly bits: number }
  | { readonly kind: 'unsupported'; readonly reason: string };

/** What an SPKI holds, for the algorithm allow-list (named curves, RSA >= 2048). */
export function describePublicKey(spki: Uint8Array): PublicKeyKind {
  try {
    const [alg, bits] = childrenOf(spki, readTlv(spki, 0));
    const [oidT, params] = childrenOf(spki, expectTag(alg, 0x30, 'algorithm'));
    const oid = readOid(spki, oidT);
    const keyBits = contentOf(spki, expectTag(bits, 0x03, 'subjectPublicKey')).subarray(1);
    if (oid === id_ecPublicKey) {
      const curve = params?.tag === 0x06 ? readOid(spki, params) : '';
      if (curve === id_secp256r1) return { kind: 'ec', curve: 'P-256', point: keyBits };
      if (curve === id_secp384r1) return { kind: 'ec', curve: 'P-384', point: keyBits };
      return { kind: 'unsupported', reason: 'elliptic curve not on the allow-list' };
    }
    if (oid === id_Ed25519) return { kind: 'ed25519', key: keyBits };
    if (oid === id_rsaEncryption) {
      const [modulus] = childrenOf(keyBits, readTlv(keyBits, 0));
      const m = contentOf(keyBits, expectTag(modulus, 0x02, 'modulus'));
      const lead = m[0] === 0 ? 1 : 0;
      const first = m[lead] ?? 0;
      const bitsCount = (m.length - lead - 1) * 8 + (32 - Math.clz32(first));
      return { kind: 'rsa', bits: bitsCount };
    }
    return { kind: 'unsupported', reason: `public key algorithm ${oid} not on the allow-list` };
  } catch {
    return { kind: 'unsupported', reason: 'malformed public key' };
  }
}

type SignatureScheme =
  | { readonly kind: 'ecdsa'; readonly hash: 'sha256' | 'sha384' | 'sha512' }
  | { readonly kind: 'ed25519' }
  | { readonly kind: 'rsa-pkcs1'; readonly hash: 'SHA-256' | 'SHA-384' | 'SHA-512' }
  | {
      readonly kind: 'rsa-pss';
      readonly hash: 'SHA-256' | 'SHA-384' | 'SHA-512';
      readonly salt: number;
    }
  | { readonly kind: 'unsupported'; readonly reason: string };

const HASH_NAMES: Readonly<Record<string, 'SHA-256' | 'SHA-384' | 'SHA-512'>> = {
  [id_sha256]: 'SHA-256',
  [id_sha384]: 'SHA-384',
  [id_sha512]: 'SHA-512',
};

/** The signature scheme of a DER AlgorithmIdentifier, or why it is not allowed (SHA-1, MD5...). */
export function describeSignatureAlgorithm(algorithm: Uint8Array): SignatureScheme {
  try {
    const [oidT, params, ...rest] = childrenOf(algorithm, readTlv(algorithm, 0));
    const oid = readOid(algorithm, oidT);
    const nullOrAbsent = params === undefined || (params.tag === 0x05 && rest.length === 0);
    switch (oid) {
      case id_ecdsa_with_SHA256:
        return params === undefined
          ? { kind: 'ecdsa', hash: 'sha256' }
          : bad('ecdsa parameters must be absent');
      case id_ecdsa_with_SHA384:
        return params === undefined
          ? { kind: 'ecdsa', hash: 'sha384' }
          : bad('ecdsa parameters must be absent');
      case id_ecdsa_with_SHA512:
        return params === undefined
          ? { kind: 'ecdsa', hash: 'sha512' }
          : bad('ecdsa parameters must be absent');
      case id_Ed25519:
        return params === undefined
          ? { kind: 'ed25519' }
          : bad('ed25519 parameters must be absent');
      case id_sha256WithRSAEncryption:
        return nullOrAbsent ? { kind: 'rsa-pkcs1', hash: 'SHA-256' } : bad('bad rsa parameters');
      case id_sha384WithRSAEncryption:
        return nullOrAbsent ? { kind: 'rsa-pkcs1', hash: 'SHA-384' } : bad('bad rsa parameters');
      case id_sha512WithRSAEncryption:
        return nullOrAbsent ? { kind: 'rsa-pkcs1', hash: 'SHA-512' } : bad('bad rsa parameters');
      case id_RSASSA_PSS:
        return pssScheme(algorithm, params);
      default:
        return bad(`signature algorithm ${oid} is not on the allow-list`);
    }
  } catch {
    return bad('malformed signature algorithm');
  }
}

function bad(reason: string): SignatureScheme {
  return { kind: 'unsupported', reason };
}

function pssScheme(b: Uint8Array, params: derReader.Tlv | undefined): SignatureScheme {
  // RFC 4055 3.1: hash and MGF1 hash must agree; SHA-1 defaults are refused.
  if (params === undefined) return bad('RSASSA-PSS without parameters means SHA-1');
  let hash: string | undefined;
  let mgfHash: string | undefined;
  let salt = 20;
  for (const f of childrenOf(b, expectTag(params, 0x30, 'pss parameters'))) {
    const [inner] = childrenOf(b, f);
    if (f.tag === 0xa0) hash = readOid(b, childrenOf(b, expectTag(inner, 0x30, 'hash'))[0]);
    else if (f.tag === 0xa1) {
      const [mgf, mgfParams] = childrenOf(b, expectTag(inner, 0x30, 'mgf'));
      if (readOid(b, mgf) !== id_mgf1) return bad('PSS mask generation must be MGF1');
      mgfHash = readOid(b, childrenOf(b, expectTag(mgfParams, 0x30, 'mgf hash'))[0]);
    } else if (f.tag === 0xa2) salt = Number(readUnsigned(b, inner));
    else if (f.tag === 0xa3) {
      if (readUnsigned(b, inner) !== 1n) return bad('PSS trailer field must be 1');
    }
  }
  const name = hash === undefined ? undefined : HASH_NAMES[hash];
  if (name === undefined || mgfHash !== hash)
    return bad('PSS must use SHA-2 for hash and MGF1 alike');
  return { kind: 'rsa-pss', hash: name, salt };
}

const DIGESTS = { sha256, sha384, sha512 } as const;

/**
 * Verifies `signature` over `data` with the key in `spki` under `algorithm` (DER
 * AlgorithmIdentifier). Returns false for a bad signature, a key/algorithm mismatch or an
 * algorithm off the allow-list.
 */
export async function verifySignature(
  spki: Uint8Array,
  algorithm: Uint8Array,
  data: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  const scheme = describeSignatureAlgorithm(algorithm);
  const key = describePublicKey(spki);
  try {
    switch (scheme.kind) {
      case 'ecdsa': {
        if (key.kind !== 'ec') return false;
        const digest = DIGESTS[scheme.hash](data);
        const curve = key.curve === 'P-256' ? p256 : p384;
        // X.509/CMS signatures are DER and about half of those made by OpenSSL are high-S.
        return curve.verify(signature, digest, key.point, {
          prehash: false,
          lowS: false,
          format: 'der',
        });
      }
      case 'ed25519':
        if (key.kind !== 'ed25519') return false;
        // RFC 8032 strict decoding, not the ZIP-215 relaxation.
        return ed25519.verify(signature, data, key.key, { zip215: false });
      case 'rsa-pkcs1':
      case 'rsa-pss': {
        if (key.kind !== 'rsa') return false;
        const subtle = globalThis.crypto.subtle;
        const params =
          scheme.kind === 'rsa-pss'
            ? { name: 'RSA-PSS', hash: scheme.hash }
            : { name: 'RSASSA-PKCS1-v1_5', hash: scheme.hash };
        const cryptoKey = await subtle.importKey('spki', toArrayBuffer(spki), params, false, [
          'verify',
        ]);
        const verifyParams =
          scheme.kind === 'rsa-pss'
            ? { name: 'RSA-PSS', saltLength: scheme.salt }
            : { name: 'RSASSA-PKCS1-v1_5' };
        return await subtle.verify(
          verifyParams,
          cryptoKey,
          toArrayBuffer(signature),
          toArrayBuffer(data),
        );
      }
      case 'unsupported':
        return false;
    }
  } catch {
    return false;
  }
}

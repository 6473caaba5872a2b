// ECDSA over P-256, P-384 and secp256k1: id-ecPublicKey SPKIs with a named curve (RFC 5480
// 2.1.1, SEC 2 2.4.1), ecdsa-with-SHA* identifiers with absent parameters (RFC 5758 3.2), DER
// ECDSA-Sig-Value signatures verified with @noble/curves, and the low-S rule of Bitcoin (BIP 62,
// BIP 146). The one adapter that holds the noble ECDSA options.
import { p256, p384 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { readOid } from '../der.js';
import { algorithmIdentifier } from '../der-writer.js';
import { PkiError } from '../errors.js';
import {
  id_ecPublicKey,
  id_ecdsa_with_SHA256,
  id_ecdsa_with_SHA384,
  id_ecdsa_with_SHA512,
  id_secp256k1,
  id_secp256r1,
  id_secp384r1,
} from '../oids.js';
import {
  unsupported,
  type AlgorithmFamily,
  type PublicKeyReader,
  type SignatureReader,
  type Tagged,
} from './types.js';

/** The named curves the verifier reads (WebCrypto spelling for the NIST ones). */
export type EcCurve = 'P-256' | 'P-384' | 'secp256k1';

export interface EcPublicKey {
  readonly kind: 'ec';
  readonly curve: EcCurve;
  /** The uncompressed point 0x04 || x || y (SEC 1 2.3.3). */
  readonly point: Uint8Array;
}

export interface EcdsaScheme {
  readonly kind: 'ecdsa';
  readonly hash: 'sha256' | 'sha384' | 'sha512';
}

const CURVES: Readonly<Record<string, EcCurve>> = {
  [id_secp256r1]: 'P-256',
  [id_secp384r1]: 'P-384',
  [id_secp256k1]: 'secp256k1',
};

const NOBLE = { 'P-256': p256, 'P-384': p384, secp256k1 } as const;

/**
 * Curves whose signatures the verifier checks but whose keys it refuses in a certificate path,
 * and why. secp256k1 is read and verified for blockchain keys (their signatures, addresses and,
 * later, their attestation); no CA of this project or of the Web PKI (CA/Browser Forum BR
 * 6.1.5) certifies with it, so a chain that holds one stays off the allow-list until the key
 * attestation profile for such keys says otherwise.
 */
const NOT_IN_CERTIFICATES: Readonly<Partial<Record<EcCurve, string>>> = {
  secp256k1: 'elliptic curve secp256k1 is not on the allow-list for certificates',
};

const HASHES: Readonly<Record<string, EcdsaScheme['hash']>> = {
  [id_ecdsa_with_SHA256]: 'sha256',
  [id_ecdsa_with_SHA384]: 'sha384',
  [id_ecdsa_with_SHA512]: 'sha512',
};

const DIGESTS = { sha256, sha384, sha512 } as const;

function isEcKey(key: Tagged): key is EcPublicKey {
  return key.kind === 'ec';
}

const ecPublicKey: PublicKeyReader<EcPublicKey> = {
  oid: id_ecPublicKey,
  read(spki, params, point) {
    // RFC 5480 2.1.1: namedCurve only; implicit and specified curves are refused.
    const curve = params?.tag === 0x06 ? CURVES[readOid(spki, params)] : undefined;
    if (curve === undefined) return unsupported('elliptic curve not on the allow-list');
    return { kind: 'ec', curve, point };
  },
  label: (key) => `EC ${key.curve}`,
  weakness: (key) => NOT_IN_CERTIFICATES[key.curve],
};

const ecdsaSignature: SignatureReader<EcdsaScheme> = {
  oids: Object.keys(HASHES),
  read(_der, oid, params) {
    const hash = HASHES[oid];
    if (hash === undefined)
      return unsupported(`signature algorithm ${oid} is not on the allow-list`);
    // RFC 5758 3.2: the parameters field MUST be absent.
    return params === undefined
      ? { kind: 'ecdsa', hash }
      : unsupported('ecdsa parameters must be absent');
  },
  label: (scheme) => `ECDSA with ${scheme.hash.toUpperCase()}`,
  verify(scheme, key, _spki, data, signature) {
    if (!isEcKey(key)) return false;
    // X.509/CMS signatures are DER and about half of those made by OpenSSL are high-S: X9.62
    // and FIPS 186-5 6.4.2 accept either s, so this check does too, on every curve. The low-S
    // rule of Bitcoin is a transaction rule, checked apart with isLowS.
    return NOBLE[key.curve].verify(signature, DIGESTS[scheme.hash](data), key.point, {
      prehash: false,
      lowS: false,
      format: 'der',
    });
  },
};

function parseDerSignature(curve: EcCurve, signature: Uint8Array) {
  try {
    return NOBLE[curve].Signature.fromBytes(signature, 'der');
  } catch (cause) {
    throw new PkiError('der-invalid', 'malformed ecdsa signature', {
      cause,
      details: { curve },
    });
  }
}

/**
 * Whether the DER ECDSA-Sig-Value has s <= n/2 (BIP 62 "low S", a standardness rule of Bitcoin
 * since BIP 146 and of Ethereum since EIP-2). PkiError der-invalid for a malformed signature.
 */
export function isLowS(curve: EcCurve, signature: Uint8Array): boolean {
  return !parseDerSignature(curve, signature).hasHighS();
}

/**
 * The same signature with s replaced by n - s when s > n/2, as DER: equally valid under X9.62,
 * and the only form Bitcoin relays. A low-S signature comes back re-encoded unchanged.
 */
export function toLowS(curve: EcCurve, signature: Uint8Array): Uint8Array {
  const parsed = parseDerSignature(curve, signature);
  if (!parsed.hasHighS()) return parsed.toBytes('der');
  const noble = NOBLE[curve];
  return new noble.Signature(parsed.r, noble.Point.Fn.ORDER - parsed.s).toBytes('der');
}

export const ecdsa = {
  name: 'ecdsa',
  keyAlgorithms: [
    {
      name: 'ecdsa-p256',
      family: 'ec',
      mechanism: 'ecdsa',
      curve: 'P-256',
      spkiOid: id_ecPublicKey,
      hash: 'sha256',
      signatureOid: id_ecdsa_with_SHA256,
      signatureAlgorithm: algorithmIdentifier(id_ecdsa_with_SHA256),
      cmsDigest: 'sha256',
      verifyAfterSign: false,
    },
    {
      name: 'ecdsa-p384',
      family: 'ec',
      mechanism: 'ecdsa',
      curve: 'P-384',
      spkiOid: id_ecPublicKey,
      hash: 'sha384',
      signatureOid: id_ecdsa_with_SHA384,
      signatureAlgorithm: algorithmIdentifier(id_ecdsa_with_SHA384),
      cmsDigest: 'sha384',
      verifyAfterSign: false,
    },
  ],
  publicKeys: [ecPublicKey],
  signatures: [ecdsaSignature],
} as const satisfies AlgorithmFamily;

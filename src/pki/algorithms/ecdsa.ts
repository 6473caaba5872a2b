// ECDSA over P-256 and P-384: id-ecPublicKey SPKIs with a named curve (RFC 5480 2.1.1),
// ecdsa-with-SHA* identifiers with absent parameters (RFC 5758 3.2), DER ECDSA-Sig-Value
// signatures verified with @noble/curves. The one adapter that holds the noble ECDSA options.
import { p256, p384 } from '@noble/curves/nist.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { readOid } from '../der.js';
import { algorithmIdentifier } from '../der-writer.js';
import {
  id_ecPublicKey,
  id_ecdsa_with_SHA256,
  id_ecdsa_with_SHA384,
  id_ecdsa_with_SHA512,
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

export interface EcPublicKey {
  readonly kind: 'ec';
  readonly curve: 'P-256' | 'P-384';
  /** The uncompressed point 0x04 || x || y (SEC 1 2.3.3). */
  readonly point: Uint8Array;
}

export interface EcdsaScheme {
  readonly kind: 'ecdsa';
  readonly hash: 'sha256' | 'sha384' | 'sha512';
}

const CURVES: Readonly<Record<string, EcPublicKey['curve']>> = {
  [id_secp256r1]: 'P-256',
  [id_secp384r1]: 'P-384',
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
  weakness: () => undefined,
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
    const curve = key.curve === 'P-256' ? p256 : p384;
    // X.509/CMS signatures are DER and about half of those made by OpenSSL are high-S.
    return curve.verify(signature, DIGESTS[scheme.hash](data), key.point, {
      prehash: false,
      lowS: false,
      format: 'der',
    });
  },
};

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

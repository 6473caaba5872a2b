// RSASSA-PSS (RFC 4055 3.1, RFC 8017 8.1) over rsaEncryption keys: the SHA-256 / MGF1-SHA-256 /
// salt 32 parameters the HSM signs with, and any SHA-2 parameters (hash and MGF1 hash alike)
// for verification with WebCrypto. SHA-1 defaults and PSS-only SPKIs are off the allow-list.
import { childrenOf, expectTag, readOid, readUnsigned, type Tlv } from '../der.js';
import { algorithmIdentifier, contextConstructed, integer, nullValue, seq } from '../der-writer.js';
import {
  id_mgf1,
  id_RSASSA_PSS,
  id_rsaEncryption,
  id_sha256,
  id_sha384,
  id_sha512,
} from '../oids.js';
import { isRsaKey, verifyRsaWithWebCrypto, type WebCryptoHash } from './rsa-pkcs1.js';
import {
  unsupported,
  type AlgorithmFamily,
  type SignatureReader,
  type Unsupported,
} from './types.js';

export interface RsaPssScheme {
  readonly kind: 'rsa-pss';
  readonly hash: WebCryptoHash;
  readonly salt: number;
}

/** PSS salt length used with SHA-256 (RFC 4055: salt length equals the hash length). */
export const PSS_SALT_LENGTH = 32;

const HASH_NAMES: Readonly<Record<string, WebCryptoHash>> = {
  [id_sha256]: 'SHA-256',
  [id_sha384]: 'SHA-384',
  [id_sha512]: 'SHA-512',
};

function readPssParams(b: Uint8Array, params: Tlv | undefined): RsaPssScheme | Unsupported {
  // RFC 4055 3.1: hash and MGF1 hash must agree; SHA-1 defaults are refused.
  if (params === undefined) return unsupported('RSASSA-PSS without parameters means SHA-1');
  let hash: string | undefined;
  let mgfHash: string | undefined;
  let salt = 20;
  for (const f of childrenOf(b, expectTag(params, 0x30, 'pss parameters'))) {
    const [inner] = childrenOf(b, f);
    if (f.tag === 0xa0) hash = readOid(b, childrenOf(b, expectTag(inner, 0x30, 'hash'))[0]);
    else if (f.tag === 0xa1) {
      const [mgf, mgfParams] = childrenOf(b, expectTag(inner, 0x30, 'mgf'));
      if (readOid(b, mgf) !== id_mgf1) return unsupported('PSS mask generation must be MGF1');
      mgfHash = readOid(b, childrenOf(b, expectTag(mgfParams, 0x30, 'mgf hash'))[0]);
    } else if (f.tag === 0xa2) salt = Number(readUnsigned(b, inner));
    else if (f.tag === 0xa3) {
      if (readUnsigned(b, inner) !== 1n) return unsupported('PSS trailer field must be 1');
    }
  }
  const name = hash === undefined ? undefined : HASH_NAMES[hash];
  if (name === undefined || mgfHash !== hash)
    return unsupported('PSS must use SHA-2 for hash and MGF1 alike');
  return { kind: 'rsa-pss', hash: name, salt };
}

const rsaPssSignature: SignatureReader<RsaPssScheme> = {
  oids: [id_RSASSA_PSS],
  read: (der, _oid, params) => readPssParams(der, params),
  label: (s) => `RSASSA-PSS with ${s.hash}, MGF1 with ${s.hash}, salt length ${s.salt}`,
  verify(scheme, key, spki, data, signature) {
    if (!isRsaKey(key)) return false;
    const params = { name: 'RSA-PSS', hash: scheme.hash };
    return verifyRsaWithWebCrypto(
      spki,
      params,
      { name: 'RSA-PSS', saltLength: scheme.salt },
      data,
      signature,
    );
  },
};

const sha256Identifier = (): Uint8Array => algorithmIdentifier(id_sha256, nullValue());

/**
 * RSASSA-PSS-params (RFC 4055 3.1) as the HSM signs: SHA-256, MGF1 with SHA-256, salt 32,
 * trailer field default (omitted).
 */
const PSS_SHA256_PARAMS = seq(
  contextConstructed(0, sha256Identifier()),
  contextConstructed(1, algorithmIdentifier(id_mgf1, sha256Identifier())),
  contextConstructed(2, integer(PSS_SALT_LENGTH)),
);

const rsaPssKey = <const B extends number>(bits: B) =>
  ({
    name: `rsa-pss-${bits}`,
    family: 'rsa',
    mechanism: 'rsa-pss',
    modulusBits: bits,
    padding: 'pss',
    spkiOid: id_rsaEncryption,
    hash: 'sha256',
    signatureOid: id_RSASSA_PSS,
    signatureAlgorithm: algorithmIdentifier(id_RSASSA_PSS, PSS_SHA256_PARAMS),
    cmsDigest: 'sha256',
    verifyAfterSign: true,
    opensslTsLimitation: 'OpenSSL does not support RSA-PSS there',
  }) as const;

export const rsaPss = {
  name: 'rsa-pss',
  keyAlgorithms: [rsaPssKey(3072), rsaPssKey(4096)],
  // The keys are rsaEncryption keys (read by rsa-pkcs1); id-RSASSA-PSS SPKIs are not accepted.
  publicKeys: [],
  signatures: [rsaPssSignature],
} as const satisfies AlgorithmFamily;

// Key and signature algorithms: the names used across the project and their X.509/CMS
// AlgorithmIdentifiers (RFC 5758 ECDSA, RFC 8410 Ed25519, RFC 4055 RSASSA-PSS, RFC 8017 PKCS#1).
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { HashName } from './hash.js';
import { PkiError } from './errors.js';
import {
  id_Ed25519,
  id_RSASSA_PSS,
  id_ecdsa_with_SHA256,
  id_ecdsa_with_SHA384,
  id_mgf1,
  id_sha256,
  id_sha256WithRSAEncryption,
} from './oids.js';

export const KEY_ALGORITHMS = [
  'ecdsa-p256',
  'ecdsa-p384',
  'ed25519',
  'rsa-3072',
  'rsa-4096',
  'rsa-pss-3072',
  'rsa-pss-4096',
] as const;

export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

export function isKeyAlgorithm(value: string): value is KeyAlgorithm {
  return (KEY_ALGORITHMS as readonly string[]).includes(value);
}

export type KeyFamily = 'ec' | 'ed25519' | 'rsa';

export interface KeyAlgorithmInfo {
  readonly name: KeyAlgorithm;
  readonly family: KeyFamily;
  /** Named curve for EC keys (node:crypto and WebCrypto spelling). */
  readonly curve?: 'P-256' | 'P-384';
  readonly modulusBits?: number;
  readonly padding?: 'pkcs1' | 'pss';
  /** Hash used by the signature scheme; undefined for pure EdDSA. */
  readonly hash: HashName | undefined;
  /** OID of the signature algorithm in X.509 and CMS. */
  readonly signatureOid: string;
}

const INFO: Readonly<Record<KeyAlgorithm, KeyAlgorithmInfo>> = {
  'ecdsa-p256': {
    name: 'ecdsa-p256',
    family: 'ec',
    curve: 'P-256',
    hash: 'sha256',
    signatureOid: id_ecdsa_with_SHA256,
  },
  'ecdsa-p384': {
    name: 'ecdsa-p384',
    family: 'ec',
    curve: 'P-384',
    hash: 'sha384',
    signatureOid: id_ecdsa_with_SHA384,
  },
  ed25519: { name: 'ed25519', family: 'ed25519', hash: undefined, signatureOid: id_Ed25519 },
  'rsa-3072': {
    name: 'rsa-3072',
    family: 'rsa',
    modulusBits: 3072,
    padding: 'pkcs1',
    hash: 'sha256',
    signatureOid: id_sha256WithRSAEncryption,
  },
  'rsa-4096': {
    name: 'rsa-4096',
    family: 'rsa',
    modulusBits: 4096,
    padding: 'pkcs1',
    hash: 'sha256',
    signatureOid: id_sha256WithRSAEncryption,
  },
  'rsa-pss-3072': {
    name: 'rsa-pss-3072',
    family: 'rsa',
    modulusBits: 3072,
    padding: 'pss',
    hash: 'sha256',
    signatureOid: id_RSASSA_PSS,
  },
  'rsa-pss-4096': {
    name: 'rsa-pss-4096',
    family: 'rsa',
    modulusBits: 4096,
    padding: 'pss',
    hash: 'sha256',
    signatureOid: id_RSASSA_PSS,
  },
};

export function keyAlgorithmInfo(name: KeyAlgorithm): KeyAlgorithmInfo {
  const info = INFO[name] as KeyAlgorithmInfo | undefined;
  if (info === undefined) {
    throw new PkiError('algorithm-unsupported', 'unsupported key algorithm', {
      details: { algorithm: name },
    });
  }
  return info;
}

/** PSS salt length used with SHA-256 (RFC 4055: salt length equals the hash length). */
export const PSS_SALT_LENGTH = 32;

function sha256Identifier(): asn1js.Sequence {
  return new asn1js.Sequence({
    value: [new asn1js.ObjectIdentifier({ value: id_sha256 }), new asn1js.Null()],
  });
}

/** The AlgorithmIdentifier of the signature a key of this algorithm produces. */
export function signatureAlgorithmIdentifier(name: KeyAlgorithm): pkijs.AlgorithmIdentifier {
  const info = keyAlgorithmInfo(name);
  switch (info.family) {
    case 'ec':
    case 'ed25519':
      // RFC 5758 3.2 and RFC 8410 3: parameters absent.
      return new pkijs.AlgorithmIdentifier({ algorithmId: info.signatureOid });
    case 'rsa':
      if (info.padding === 'pss') {
        // RFC 4055 3.1: SHA-256, MGF1 with SHA-256, salt 32, trailer field default.
        const params = new asn1js.Sequence({
          value: [
            new asn1js.Constructed({
              idBlock: { tagClass: 3, tagNumber: 0 },
              value: [sha256Identifier()],
            }),
            new asn1js.Constructed({
              idBlock: { tagClass: 3, tagNumber: 1 },
              value: [
                new asn1js.Sequence({
                  value: [new asn1js.ObjectIdentifier({ value: id_mgf1 }), sha256Identifier()],
                }),
              ],
            }),
            new asn1js.Constructed({
              idBlock: { tagClass: 3, tagNumber: 2 },
              value: [new asn1js.Integer({ value: PSS_SALT_LENGTH })],
            }),
          ],
        });
        return new pkijs.AlgorithmIdentifier({
          algorithmId: id_RSASSA_PSS,
          algorithmParams: params,
        });
      }
      // RFC 8017 A.2.4: parameters NULL.
      return new pkijs.AlgorithmIdentifier({
        algorithmId: info.signatureOid,
        algorithmParams: new asn1js.Null(),
      });
  }
}

/** DER of the AlgorithmIdentifier signatureAlgorithmIdentifier gives, as plain bytes. */
export function encodeSignatureAlgorithm(name: KeyAlgorithm): Uint8Array {
  return new Uint8Array(signatureAlgorithmIdentifier(name).toSchema().toBER(false));
}

// Approver keys' cryptography: the public keys officers sign approvals with, and the check of such a signature.
// The schemes are the ones plain OpenSSL produces over a file of bytes, so that an approver
// needs no special client: `openssl dgst -sha256 -sign` (ECDSA P-256, RSA-PSS with SHA-256) and
// `openssl pkeyutl -sign -rawin` (Ed25519).
import { constants, createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { PkiError } from '../../pki/index.js';

export type ApproverAlgorithm = 'ecdsa-p256-sha256' | 'ed25519' | 'rsa-pss-sha256';

export const APPROVER_ALGORITHMS: readonly ApproverAlgorithm[] = [
  'ecdsa-p256-sha256',
  'ed25519',
  'rsa-pss-sha256',
];

/** The smallest RSA modulus accepted for an approver key. */
export const APPROVER_RSA_MIN_BITS = 3072;

export interface ApproverKeyInfo {
  readonly algorithm: ApproverAlgorithm;
  /** DER SubjectPublicKeyInfo. */
  readonly spki: Uint8Array;
  /** SHA-256 of the DER SubjectPublicKeyInfo, lowercase hex: the key's id. */
  readonly fingerprint: string;
}

const unsupported = (message: string): PkiError => new PkiError('algorithm-unsupported', message);

function publicKey(spki: Uint8Array): KeyObject {
  try {
    return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch {
    throw new PkiError('der-invalid', 'the approver key is not a DER SubjectPublicKeyInfo');
  }
}

function algorithmOf(key: KeyObject): ApproverAlgorithm {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec':
      if (details.namedCurve !== 'prime256v1') {
        throw unsupported('an EC approver key must be on P-256');
      }
      return 'ecdsa-p256-sha256';
    case 'ed25519':
      return 'ed25519';
    case 'rsa':
    case 'rsa-pss':
      if ((details.modulusLength ?? 0) < APPROVER_RSA_MIN_BITS) {
        throw unsupported(`an RSA approver key must have at least ${APPROVER_RSA_MIN_BITS} bits`);
      }
      return 'rsa-pss-sha256';
    default:
      throw unsupported(
        'approver keys are ECDSA P-256, Ed25519 or RSA (at least 3072 bits, signing with PSS)',
      );
  }
}

/** Reads an approver's public key (DER SPKI) and names its scheme; refuses any other kind. */
export function approverKey(spki: Uint8Array): ApproverKeyInfo {
  const key = publicKey(spki);
  const algorithm = algorithmOf(key);
  const der = key.export({ format: 'der', type: 'spki' });
  if (!der.equals(Buffer.from(spki))) {
    throw new PkiError('der-invalid', 'the approver key is not in its canonical DER form');
  }
  return {
    algorithm,
    spki: new Uint8Array(der),
    fingerprint: createHash('sha256').update(der).digest('hex'),
  };
}

/**
 * Whether `signature` is the approver key's signature over `data`: ECDSA P-256 with SHA-256
 * (DER, or the 64-byte r||s of WebCrypto), Ed25519 over the bytes themselves, RSA-PSS with
 * SHA-256 and MGF1-SHA-256 (any salt length OpenSSL picks). Never throws for a bad signature.
 */
export function verifyApproverSignature(
  spki: Uint8Array,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  const key = publicKey(spki);
  const algorithm = algorithmOf(key);
  try {
    switch (algorithm) {
      case 'ecdsa-p256-sha256':
        return (
          verify('sha256', data, { key, dsaEncoding: 'der' }, signature) ||
          (signature.length === 64 &&
            verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature))
        );
      case 'ed25519':
        return verify(null, data, key, signature);
      case 'rsa-pss-sha256':
        return verify(
          'sha256',
          data,
          {
            key,
            padding: constants.RSA_PKCS1_PSS_PADDING,
            saltLength: constants.RSA_PSS_SALTLEN_AUTO,
          },
          signature,
        );
    }
  } catch {
    return false;
  }
}

/** How to sign a file of approval bytes with plain openssl, for the approver key's scheme. */
export function opensslSignCommand(algorithm: string, file: string, sig: string): string {
  switch (algorithm) {
    case 'ed25519':
      return `openssl pkeyutl -sign -rawin -inkey key.pem -in ${file} -out ${sig}`;
    case 'rsa-pss-sha256':
      return `openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sign key.pem -out ${sig} ${file}`;
    default:
      return `openssl dgst -sha256 -sign key.pem -out ${sig} ${file}`;
  }
}

/**
 * Signs approval bytes with an approver's own PEM private key (an approver's machine, not the
 * HSM: the key is the approver's, never stored here), in the key's scheme.
 */
export function signWithApproverKey(pem: string, algorithm: string, data: Uint8Array): Uint8Array {
  switch (algorithm) {
    case 'ed25519':
      return new Uint8Array(sign(null, data, pem));
    case 'rsa-pss-sha256':
      return new Uint8Array(
        sign('sha256', data, {
          key: pem,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
        }),
      );
    default:
      return new Uint8Array(sign('sha256', data, { key: pem, dsaEncoding: 'der' }));
  }
}

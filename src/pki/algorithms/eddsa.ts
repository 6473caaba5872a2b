// Ed25519 (RFC 8410): id-Ed25519 SPKIs and signature identifiers with absent parameters, pure
// EdDSA over the message, verified with @noble/curves under RFC 8032's strict decoding.
import { ed25519 } from '@noble/curves/ed25519.js';
import { algorithmIdentifier } from '../der-writer.js';
import { id_Ed25519 } from '../oids.js';
import {
  unsupported,
  type AlgorithmFamily,
  type PublicKeyReader,
  type SignatureReader,
  type Tagged,
} from './types.js';

export interface Ed25519PublicKey {
  readonly kind: 'ed25519';
  /** The 32-octet encoded point (RFC 8032 5.1.5). */
  readonly key: Uint8Array;
}

export interface Ed25519Scheme {
  readonly kind: 'ed25519';
}

function isEd25519Key(key: Tagged): key is Ed25519PublicKey {
  return key.kind === 'ed25519';
}

const ed25519PublicKey: PublicKeyReader<Ed25519PublicKey> = {
  oid: id_Ed25519,
  read: (_spki, _params, key) => ({ kind: 'ed25519', key }),
  label: () => 'Ed25519',
  weakness: () => undefined,
};

const ed25519Signature: SignatureReader<Ed25519Scheme> = {
  oids: [id_Ed25519],
  // RFC 8410 3: the parameters MUST be absent.
  read: (_der, _oid, params) =>
    params === undefined ? { kind: 'ed25519' } : unsupported('ed25519 parameters must be absent'),
  label: () => 'Ed25519',
  verify(_scheme, key, _spki, data, signature) {
    if (!isEd25519Key(key)) return false;
    // RFC 8032 strict decoding, not the ZIP-215 relaxation.
    return ed25519.verify(signature, data, key.key, { zip215: false });
  },
};

export const eddsa = {
  name: 'eddsa',
  keyAlgorithms: [
    {
      name: 'ed25519',
      family: 'ed25519',
      mechanism: 'eddsa',
      spkiOid: id_Ed25519,
      hash: undefined,
      signatureOid: id_Ed25519,
      signatureAlgorithm: algorithmIdentifier(id_Ed25519),
      // RFC 8419 3.1: Ed25519 with signed attributes uses SHA-512 as the digest algorithm.
      cmsDigest: 'sha512',
      verifyAfterSign: false,
    },
  ],
  publicKeys: [ed25519PublicKey],
  signatures: [ed25519Signature],
} as const satisfies AlgorithmFamily;

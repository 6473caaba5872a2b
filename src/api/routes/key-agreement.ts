// Key agreement and key encapsulation routes: a new secret key derived from a shared secret of
// a key of the partition (ECDH or X25519 with a peer's public key, ML-KEM decapsulation of a
// ciphertext), and one encapsulated to a peer's ML-KEM public key; both through HKDF (RFC 5869).
// A derivation is governed by the HSM (its role and the base key's use rule: 202); an
// encapsulation uses no key of the partition, so the API checks the same roles itself.
import {
  HsmError,
  kemAlgorithmOfSpki,
  type Hsm,
  type HsmAlgorithm,
  type KeyPurpose,
} from '../../hsm/index.js';
import { ApiError } from '../errors.js';
import { pemField } from './keys.js';
import {
  b64,
  fromB64,
  keyView,
  ok,
  principalOf,
  requireRole,
  type Handler,
  type RouteContext,
} from './types.js';

type DeriveOptions = Parameters<Hsm['deriveKey']>[3];

interface KdfBody {
  readonly hash?: 'sha256' | 'sha384' | 'sha512';
  readonly salt?: string;
  readonly info?: string;
}

interface NewKeyBody {
  readonly label: string;
  readonly algorithm: HsmAlgorithm;
  readonly purposes?: readonly KeyPurpose[];
  readonly extractable?: boolean;
}

interface DeriveBody {
  readonly peerPublicKey?: string;
  readonly ciphertext?: string;
  readonly kdf?: KdfBody;
  readonly newKey: NewKeyBody;
}

interface EncapsulateBody {
  readonly peerPublicKey: string;
  readonly kdf?: KdfBody;
  readonly newKey: NewKeyBody;
}

/** The roles of key.derive in the HSM's table: an encapsulation makes the same kind of key. */
const DERIVE_ROLES = ['crypto-user', 'crypto-officer'] as const;

function deriveOptions(kdf: KdfBody | undefined, key: NewKeyBody): DeriveOptions {
  return {
    kdf: {
      hash: kdf?.hash ?? 'sha256',
      ...(kdf?.salt === undefined ? {} : { salt: fromB64(kdf.salt) }),
      ...(kdf?.info === undefined ? {} : { info: fromB64(kdf.info) }),
    },
    key: {
      label: key.label,
      algorithm: key.algorithm,
      ...(key.purposes === undefined ? {} : { purposes: key.purposes }),
      ...(key.extractable === undefined ? {} : { extractable: key.extractable }),
    },
  };
}

const keyLocation = (partition: string, label: string): string =>
  `/v1/partitions/${encodeURIComponent(partition)}/keys/${encodeURIComponent(label)}`;

export function keyAgreementRoutes({ hsm }: RouteContext): Record<string, Handler> {
  return {
    deriveKey: async (call) => {
      const b = call.body as DeriveBody;
      const partition = call.params.partition!;
      if ((b.peerPublicKey === undefined) === (b.ciphertext === undefined)) {
        const both = b.peerPublicKey !== undefined;
        throw new ApiError(
          'api-invalid-request',
          both ? 'give peerPublicKey or ciphertext, not both' : 'give peerPublicKey or ciphertext',
          { details: { field: both ? '/ciphertext' : '/peerPublicKey' } },
        );
      }
      const source =
        b.peerPublicKey !== undefined
          ? { peerPublicKey: pemField(b.peerPublicKey, 'PUBLIC KEY', '/peerPublicKey') }
          : { ciphertext: fromB64(b.ciphertext ?? '') };
      const key = await hsm.deriveKey(
        partition,
        call.params.label!,
        source,
        deriveOptions(b.kdf, b.newKey),
        { presented: principalOf(call) },
      );
      return ok(keyView(key), 201, keyLocation(partition, key.label));
    },

    encapsulateKey: async (call) => {
      const partition = call.params.partition!;
      requireRole(principalOf(call), DERIVE_ROLES, partition, 'key.encapsulate');
      const b = call.body as EncapsulateBody;
      const spki = pemField(b.peerPublicKey, 'PUBLIC KEY', '/peerPublicKey');
      const kem = kemAlgorithmOfSpki(spki);
      if (kem === undefined) {
        // The refusal the HSM gives a peer key of another algorithm when it derives.
        throw new HsmError('invalid-argument', 'the peer public key is not an ML-KEM public key', {
          details: { field: 'peerPublicKey' },
        });
      }
      const r = await hsm.encapsulateKey(partition, kem, spki, deriveOptions(b.kdf, b.newKey));
      return ok(
        { key: keyView(r.key), ciphertext: b64(r.ciphertext), kem: r.kem },
        201,
        keyLocation(partition, r.key.label),
      );
    },
  };
}

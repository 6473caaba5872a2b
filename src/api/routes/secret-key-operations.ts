// Secret-key operation routes: AEAD encrypt and decrypt (the HSM draws every nonce), HMAC and
// its check, and AES key wrap and unwrap of the partition's keys. The presented principal is
// the HSM's authority: its role is checked against the GOVERNED table, and a call under the
// key's use rule becomes its 202 (an approved decryption is carried out by posting its id).
import type { HsmAlgorithm, KeyPolicyInput, KeyPurpose, KeyWrapMode } from '../../hsm/index.js';
import { ApiError } from '../errors.js';
import {
  b64,
  fromB64,
  keyView,
  ok,
  principalOf,
  type Handler,
  type RouteContext,
} from './types.js';

interface DecryptBody {
  readonly nonce?: string;
  readonly ciphertext?: string;
  readonly aad?: string;
  readonly request?: string;
}

interface UnwrapBody {
  readonly wrapped: string;
  readonly mode?: KeyWrapMode;
  readonly label: string;
  readonly algorithm: HsmAlgorithm;
  readonly purposes?: readonly KeyPurpose[];
  readonly extractable?: boolean;
  readonly policy?: KeyPolicyInput;
}

const keyLocation = (partition: string, label: string): string =>
  `/v1/partitions/${encodeURIComponent(partition)}/keys/${encodeURIComponent(label)}`;

export function secretKeyRoutes({ hsm }: RouteContext): Record<string, Handler> {
  return {
    encryptKey: async (call) => {
      const b = call.body as { plaintext: string; aad?: string };
      const plaintext = fromB64(b.plaintext);
      try {
        const r = await hsm.encrypt(
          call.params.partition!,
          call.params.label!,
          { plaintext, ...(b.aad === undefined ? {} : { aad: fromB64(b.aad) }) },
          { presented: principalOf(call) },
        );
        return ok({
          nonce: b64(r.nonce),
          ciphertext: b64(r.ciphertext),
          algorithm: r.algorithm,
          key: r.keyId,
          encryptions: r.encryptions,
          limit: r.limit,
        });
      } finally {
        plaintext.fill(0);
      }
    },

    decryptKey: async (call) => {
      const b = call.body as DecryptBody;
      const partition = call.params.partition!;
      const label = call.params.label!;
      const presented = principalOf(call);
      if (b.request !== undefined && (b.nonce ?? b.ciphertext ?? b.aad) !== undefined) {
        throw new ApiError('api-invalid-request', 'give request alone, or nonce and ciphertext', {
          details: { field: '/request' },
        });
      }
      if (b.request === undefined && (b.nonce === undefined || b.ciphertext === undefined)) {
        throw new ApiError('api-invalid-request', 'give nonce and ciphertext', {
          details: { field: b.nonce === undefined ? '/nonce' : '/ciphertext' },
        });
      }
      const r =
        b.request !== undefined
          ? await hsm.decryptRequest(partition, label, b.request, presented)
          : await hsm.decrypt(
              partition,
              label,
              {
                nonce: fromB64(b.nonce ?? ''),
                ciphertext: fromB64(b.ciphertext ?? ''),
                ...(b.aad === undefined ? {} : { aad: fromB64(b.aad) }),
              },
              { presented },
            );
      try {
        return ok({ plaintext: b64(r.plaintext), algorithm: r.algorithm, key: r.keyId });
      } finally {
        r.plaintext.fill(0);
      }
    },

    macKey: async (call) => {
      const b = call.body as { data: string };
      const r = await hsm.mac(call.params.partition!, call.params.label!, fromB64(b.data), {
        presented: principalOf(call),
      });
      return ok({ mac: b64(r.mac), algorithm: r.algorithm, key: r.keyId });
    },

    verifyMacKey: async (call) => {
      const b = call.body as { data: string; mac: string };
      const valid = await hsm.verifyMac(
        call.params.partition!,
        call.params.label!,
        fromB64(b.data),
        fromB64(b.mac),
        { presented: principalOf(call) },
      );
      return ok({ valid });
    },

    wrapKey: async (call) => {
      const b = call.body as { key: string; mode?: KeyWrapMode };
      const r = await hsm.wrapKey(
        call.params.partition!,
        call.params.label!,
        { key: b.key, ...(b.mode === undefined ? {} : { mode: b.mode }) },
        { presented: principalOf(call) },
      );
      return ok({
        wrapped: b64(r.wrapped),
        mode: r.mode,
        key: r.keyId,
        wrappedKey: r.wrappedKeyId,
      });
    },

    unwrapKey: async (call) => {
      const b = call.body as UnwrapBody;
      const partition = call.params.partition!;
      const key = await hsm.unwrapKey(
        partition,
        call.params.label!,
        {
          wrapped: fromB64(b.wrapped),
          label: b.label,
          algorithm: b.algorithm,
          ...(b.mode === undefined ? {} : { mode: b.mode }),
          ...(b.purposes === undefined ? {} : { purposes: b.purposes }),
          ...(b.extractable === undefined ? {} : { extractable: b.extractable }),
          ...(b.policy === undefined ? {} : { policy: b.policy }),
        },
        { presented: principalOf(call) },
      );
      return ok(keyView(key), 201, keyLocation(partition, key.label));
    },
  };
}

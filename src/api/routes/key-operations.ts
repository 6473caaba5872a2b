// Key operation routes: sign and verify with data or a digest, block and unblock, and the key's
// own approval policy; the presented principal is the HSM's authority, so that its role is
// checked against the GOVERNED table and a call under the key's rule becomes its 202.
import type {
  AddressType,
  KeyPolicyInput,
  KeyPurpose,
  SignInput,
  XpubPrefix,
} from '../../hsm/index.js';
import { ApiError } from '../errors.js';
import {
  ANY_ROLE,
  b64,
  fromB64,
  keyView,
  ok,
  principalOf,
  requireRole,
  type Handler,
  type RouteContext,
} from './types.js';

interface InputBody {
  readonly data?: string;
  readonly digest?: string;
}

/** Exactly one of data and digest, as the HSM's input; or a 400 naming the field. */
function signInput(b: InputBody): SignInput {
  if (b.data !== undefined && b.digest !== undefined) {
    throw new ApiError('api-invalid-request', 'give data or digest, not both', {
      details: { field: '/digest' },
    });
  }
  if (b.data !== undefined) return { data: fromB64(b.data) };
  if (b.digest !== undefined) return { digest: fromB64(b.digest) };
  throw new ApiError('api-invalid-request', 'give data or digest', {
    details: { field: '/data' },
  });
}

export function keyOperationRoutes({ hsm }: RouteContext): Record<string, Handler> {
  return {
    signKey: async (call) => {
      const input = signInput(call.body as InputBody);
      const signed = await hsm.sign(call.params.partition!, call.params.label!, input, {
        presented: principalOf(call),
      });
      return ok({
        signature: b64(signed.signature),
        algorithm: signed.algorithm,
        key: signed.keyId,
      });
    },

    verifyKey: async (call) => {
      const partition = call.params.partition!;
      requireRole(principalOf(call), ANY_ROLE, partition, 'key.verify');
      const b = call.body as InputBody & { signature: string };
      const valid = await hsm.verify(
        partition,
        call.params.label!,
        signInput(b),
        fromB64(b.signature),
      );
      return ok({ valid });
    },

    deriveChildKey: async (call) => {
      const partition = call.params.partition!;
      const b = call.body as {
        path: string;
        label: string;
        expiresInSeconds?: number;
        persistent?: boolean;
        purposes?: KeyPurpose[];
        extractable?: boolean;
      };
      const key = await hsm.deriveChildKey(
        partition,
        call.params.label!,
        b.path,
        {
          label: b.label,
          ...(b.expiresInSeconds === undefined ? {} : { expiresInSeconds: b.expiresInSeconds }),
          ...(b.persistent === undefined ? {} : { persistent: b.persistent }),
          ...(b.purposes === undefined ? {} : { purposes: b.purposes }),
          ...(b.extractable === undefined ? {} : { extractable: b.extractable }),
        },
        { presented: principalOf(call) },
      );
      return ok(
        keyView(key),
        201,
        `/v1/partitions/${encodeURIComponent(partition)}/keys/${encodeURIComponent(key.label)}`,
      );
    },

    getKeyXpub: async (call) => {
      const partition = call.params.partition!;
      requireRole(principalOf(call), ANY_ROLE, partition, 'key.public');
      const prefix = call.query.prefix as XpubPrefix | undefined;
      const { key, xpub } = await hsm.extendedPublicKey(partition, call.params.label!, prefix);
      return ok({ key: key.id, xpub });
    },

    getKeyAddress: async (call) => {
      const partition = call.params.partition!;
      requireRole(principalOf(call), ANY_ROLE, partition, 'key.public');
      const type = call.query.type as AddressType;
      const network = call.query.network as 'mainnet' | 'testnet' | undefined;
      const { key, address } = await hsm.keyAddress(partition, call.params.label!, type, network);
      return ok({
        key: key.id,
        type,
        ...(type === 'ethereum' ? {} : { network: network ?? 'mainnet' }),
        address,
      });
    },

    blockKey: async (call) => {
      const key = await hsm.blockKey(call.params.partition!, call.params.label!, {
        presented: principalOf(call),
      });
      return ok(keyView(key));
    },

    unblockKey: async (call) => {
      const key = await hsm.unblockKey(call.params.partition!, call.params.label!, {
        presented: principalOf(call),
      });
      return ok(keyView(key));
    },

    setKeyPolicy: async (call) => {
      const b = call.body as { policy: KeyPolicyInput | null };
      const key = await hsm.setKeyPolicy(call.params.partition!, call.params.label!, b.policy, {
        presented: principalOf(call),
      });
      return ok(keyView(key));
    },
  };
}

// Key lifecycle routes: generate, import, list, show (public key as PEM and JWK), delete to the
// trash, restore, purge, export wrapped under an RSA public key, fresh attestation evidence
// with a nonce, and the key attestation certificate; the same Hsm calls as `attestamp key`.
import { X509Certificate } from 'node:crypto';
import {
  HD_ALGORITHMS,
  HsmError,
  isHdAlgorithm,
  type HsmAlgorithm,
  type KeyInfo,
  type KeyPolicyInput,
  type KeyPurpose,
  type KeyState,
} from '../../hsm/index.js';
import { decodePem } from '../../pki/index.js';
import { ApiError } from '../errors.js';
import {
  ANY_ROLE,
  b64,
  certPem,
  fromB64,
  KEY_ADMIN,
  keyView,
  ok,
  principalOf,
  requireRole,
  type Handler,
  type RouteContext,
} from './types.js';

interface GenerateBody {
  readonly label: string;
  readonly algorithm: HsmAlgorithm;
  readonly extractable?: boolean;
  readonly modifiable?: boolean;
  readonly destroyable?: boolean;
  readonly purposes?: readonly KeyPurpose[];
  readonly policy?: KeyPolicyInput;
}

interface ImportBody {
  readonly label: string;
  readonly pkcs8?: string;
  readonly seed?: string;
  readonly algorithm?: string;
  readonly xprv?: string;
  readonly pss?: boolean;
  readonly extractable?: boolean;
  readonly purposes?: readonly KeyPurpose[];
}

/** A PEM of the expected label from a request field, or a 400 naming the field. */
export function pemField(text: string, label: string, field: string): Uint8Array {
  try {
    return decodePem(text, label);
  } catch {
    throw new ApiError('api-invalid-request', `${field} must be a PEM ${label}`, {
      details: { field },
    });
  }
}

const invalid = (field: string, message: string): ApiError =>
  new ApiError('api-invalid-request', message, { details: { field } });

/** The one source of an import body (pkcs8, seed or xprv), or a 400 naming the field. */
function importSource(b: ImportBody): 'pkcs8' | 'seed' | 'xprv' {
  const given = (['pkcs8', 'seed', 'xprv'] as const).filter((f) => b[f] !== undefined);
  if (given.length !== 1) {
    throw invalid(
      given[1] ?? 'pkcs8',
      given.length === 0
        ? 'give one of pkcs8, seed or xprv'
        : `give one of pkcs8, seed or xprv, not ${given.join(' and ')}`,
    );
  }
  const source = given[0]!;
  if (source !== 'seed' && b.algorithm !== undefined) {
    throw invalid('algorithm', 'algorithm goes with seed');
  }
  if (source !== 'pkcs8' && b.pss !== undefined) {
    throw invalid('pss', 'pss goes with pkcs8');
  }
  return source;
}

/**
 * Imports a derivable key from a seed or an extended private key. The seed and the xprv are
 * never echoed: a refusal names the field only.
 */
async function importHd(
  hsm: RouteContext['hsm'],
  partition: string,
  b: ImportBody,
  source: 'seed' | 'xprv',
): Promise<KeyInfo> {
  const options = {
    label: b.label,
    ...(b.extractable === undefined ? {} : { extractable: b.extractable }),
    ...(b.purposes === undefined ? {} : { purposes: b.purposes }),
  };
  if (source === 'xprv') {
    try {
      return await hsm.importHdKey(partition, { xprv: b.xprv! }, options);
    } catch (error) {
      // The HSM names the extended key 'extendedKey'; the body calls it xprv.
      if (error instanceof HsmError && error.details?.field === 'extendedKey') {
        throw new ApiError('api-invalid-request', error.message, {
          details: { field: 'xprv' },
        });
      }
      throw error;
    }
  }
  const algorithm = b.algorithm;
  if (algorithm === undefined || !isHdAlgorithm(algorithm)) {
    throw invalid(
      'algorithm',
      `a seed is imported with algorithm one of ${Object.keys(HD_ALGORITHMS).join(', ')}`,
    );
  }
  const seed = fromB64(b.seed!);
  try {
    if (seed.length < 16 || seed.length > 64) {
      throw invalid('seed', 'a seed is 16 to 64 bytes (128 to 512 bits)');
    }
    return await hsm.importHdKey(partition, { seed, algorithm }, options);
  } finally {
    seed.fill(0);
  }
}

const keyLocation = (partition: string, label: string): string =>
  `/v1/partitions/${encodeURIComponent(partition)}/keys/${encodeURIComponent(label)}`;

export function keyRoutes({ hsm }: RouteContext): Record<string, Handler> {
  /** The partition's attestation chain after the attested object (PEM). */
  const attestationChain = async (partition: string): Promise<string[]> => {
    const c = await hsm.chain(partition);
    return [c.partitionAttestation, c.device, c.root].map(certPem);
  };

  return {
    listKeys: async (call) => {
      const partition = call.params.partition!;
      requireRole(principalOf(call), ANY_ROLE, partition, 'key.list');
      const state = call.query.state as KeyState | undefined;
      const keys = await hsm.listKeys(partition, state === undefined ? {} : { state });
      return ok({ keys: keys.map(keyView) });
    },

    generateKey: async (call) => {
      const partition = call.params.partition!;
      requireRole(principalOf(call), KEY_ADMIN, partition, 'key.generate');
      const b = call.body as GenerateBody;
      const key = await hsm.generateKey(partition, {
        label: b.label,
        algorithm: b.algorithm,
        ...(b.extractable === undefined ? {} : { extractable: b.extractable }),
        ...(b.modifiable === undefined ? {} : { modifiable: b.modifiable }),
        ...(b.destroyable === undefined ? {} : { destroyable: b.destroyable }),
        ...(b.purposes === undefined ? {} : { purposes: b.purposes }),
        ...(b.policy === undefined ? {} : { policy: b.policy }),
      });
      return ok(keyView(key), 201, keyLocation(partition, key.label));
    },

    importKey: async (call) => {
      const partition = call.params.partition!;
      requireRole(principalOf(call), KEY_ADMIN, partition, 'key.import');
      const b = call.body as ImportBody;
      const source = importSource(b);
      if (source !== 'pkcs8') {
        const key = await importHd(hsm, partition, b, source);
        return ok(keyView(key), 201, keyLocation(partition, key.label));
      }
      const pkcs8 = fromB64(b.pkcs8!);
      try {
        const key = await hsm.importKey(partition, {
          label: b.label,
          pkcs8,
          ...(b.pss === undefined ? {} : { pss: b.pss }),
          ...(b.extractable === undefined ? {} : { extractable: b.extractable }),
          ...(b.purposes === undefined ? {} : { purposes: b.purposes }),
        });
        return ok(keyView(key), 201, keyLocation(partition, key.label));
      } finally {
        pkcs8.fill(0);
      }
    },

    getKey: async (call) => {
      const partition = call.params.partition!;
      requireRole(principalOf(call), ANY_ROLE, partition, 'key.show');
      return ok(keyView(await hsm.key(partition, call.params.label!)));
    },

    deleteKey: async (call) => {
      // Governed by the HSM: crypto-officer, pso or device-so, and the key's own modify rule.
      const left = await hsm.deleteKey(call.params.partition!, call.params.label!, {
        presented: principalOf(call),
      });
      return ok(
        left === undefined
          ? { destroyed: true, key: null }
          : { destroyed: false, key: keyView(left) },
      );
    },

    restoreKey: async (call) => {
      const key = await hsm.restoreKey(call.params.partition!, call.params.label!, {
        presented: principalOf(call),
      });
      return ok(keyView(key));
    },

    purgeKey: async (call) => {
      const outcome = await hsm.purgeKey(call.params.partition!, call.params.label!, {
        presented: principalOf(call),
      });
      return ok({ purged: true, scrubbed: outcome.scrubbed });
    },

    exportKey: async (call) => {
      const b = call.body as { wrappingKey: string };
      const spki = pemField(b.wrappingKey, 'PUBLIC KEY', 'wrappingKey');
      const wrapped = await hsm.exportKey(
        call.params.partition!,
        call.params.label!,
        { kind: 'rsa-aes-kwp', spki },
        { presented: principalOf(call) },
      );
      return ok({ wrapping: 'rsa-aes-kwp', wrapped: b64(wrapped) });
    },

    getKeyEvidence: async (call) => {
      const partition = call.params.partition!;
      requireRole(principalOf(call), ANY_ROLE, partition, 'key.attest');
      const nonceText = (call.body as { nonce?: string } | undefined)?.nonce;
      const nonce = nonceText === undefined ? undefined : fromB64(nonceText);
      if (nonce !== undefined && (nonce.length < 1 || nonce.length > 64)) {
        throw new ApiError('api-invalid-request', 'the nonce is 1 to 64 bytes', {
          details: { field: '/nonce' },
        });
      }
      const der = await hsm.attestKey(partition, call.params.label!, {
        format: 'evidence',
        ...(nonce === undefined ? {} : { nonce }),
      });
      return ok({ format: 'evidence', der: b64(der), chain: await attestationChain(partition) });
    },

    getKeyCertificate: async (call) => {
      const partition = call.params.partition!;
      requireRole(principalOf(call), ANY_ROLE, partition, 'key.attest');
      const der = await hsm.attestKey(partition, call.params.label!, { format: 'certificate' });
      // Parsed once here so that what is answered is a certificate.
      new X509Certificate(Buffer.from(der));
      return ok({
        format: 'certificate',
        der: b64(der),
        pem: certPem(der),
        chain: await attestationChain(partition),
      });
    },
  };
}

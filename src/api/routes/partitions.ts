// Device and partition routes: the device and its chain; partitions (list, show, create,
// policy, chain), through the same Hsm calls as the CLI's device and partition commands.
import { GOVERNED, type PartitionPolicy } from '../../hsm/index.js';
import type { KeyAlgorithm } from '../../pki/index.js';
import {
  ANY_ROLE,
  certPem,
  deviceView,
  ok,
  partitionView,
  principalOf,
  requireRole,
  type Handler,
  type RouteContext,
} from './types.js';

interface CreateBody {
  readonly name: string;
  readonly policy?: Partial<PartitionPolicy>;
  readonly attestationAlgorithm?: KeyAlgorithm;
  readonly timestampAlgorithm?: KeyAlgorithm;
}

export function partitionRoutes({ hsm, document }: RouteContext): Record<string, Handler> {
  return {
    getOpenApi: () => Promise.resolve(ok(document)),

    getDevice: async () => ok(deviceView(await hsm.device())),

    getDeviceChain: async () => {
      const d = await hsm.device();
      return ok({ certificates: [certPem(d.certificate), certPem(d.rootCertificate)] });
    },

    listPartitions: async (call) => {
      const p = principalOf(call);
      const all = await hsm.listPartitions();
      const visible = all.filter((x) => {
        try {
          requireRole(p, ANY_ROLE, x.name, 'partition.list');
          return true;
        } catch {
          return false;
        }
      });
      return ok({ partitions: visible.map(partitionView) });
    },

    createPartition: async (call) => {
      const body = call.body as CreateBody;
      requireRole(
        principalOf(call),
        GOVERNED['partition.create']!.roles,
        undefined,
        'partition.create',
      );
      const created = await hsm.createPartition(
        body.name,
        {
          ...(body.policy === undefined ? {} : { policy: body.policy }),
          ...(body.attestationAlgorithm === undefined
            ? {}
            : { attestationAlgorithm: body.attestationAlgorithm }),
          ...(body.timestampAlgorithm === undefined
            ? {}
            : { timestampAlgorithm: body.timestampAlgorithm }),
        },
        { presented: principalOf(call) },
      );
      return ok(partitionView(created), 201, `/v1/partitions/${encodeURIComponent(created.name)}`);
    },

    getPartition: async (call) => {
      const name = call.params.partition!;
      requireRole(principalOf(call), ANY_ROLE, name, 'partition.show');
      return ok(partitionView(await hsm.partition(name)));
    },

    getPartitionPolicy: async (call) => {
      const name = call.params.partition!;
      requireRole(principalOf(call), ANY_ROLE, name, 'partition.show');
      return ok({ ...(await hsm.partition(name)).policy });
    },

    setPartitionPolicy: async (call) => {
      const name = call.params.partition!;
      const info = await hsm.setPartitionPolicy(name, call.body as Partial<PartitionPolicy>, {
        presented: principalOf(call),
      });
      return ok({ ...info.policy });
    },

    getPartitionChain: async (call) => {
      const name = call.params.partition!;
      requireRole(principalOf(call), ANY_ROLE, name, 'partition.chain');
      const c = await hsm.chain(name);
      return ok({
        partitionAttestation: certPem(c.partitionAttestation),
        partitionTimestamp: certPem(c.partitionTimestamp),
        device: certPem(c.device),
        root: certPem(c.root),
      });
    },
  };
}

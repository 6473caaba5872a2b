// Partitions: creation (attestation and timestamp keys generated inside, certified by the
// device key), listing, their security policy (changed by an officer), and their chains.
import { randomUUID } from 'node:crypto';
import { isKeyAlgorithm, type KeyAlgorithm } from '../pki/index.js';
import type { JsonObject } from '../shared/index.js';
import { officerChange } from './auth/officers.js';
import type { Core, Operation } from './core.js';
import { deviceSigner } from './device.js';
import { HsmError } from './errors.js';
import type { Authority, RequestAuthority } from './governance/authorize.js';
import type { PresentedAuthority } from './governance/presented.js';
import { integrityError } from './integrity.js';
import { issuePartitionCertificates } from './issuing/partition-certificates.js';
import { generateKey } from './key-crypto.js';
import { generatedAttributes } from './keys/attributes.js';
import { insertKey } from './keys/lifecycle.js';
import type { StoreReader } from './store/device-store.js';
import {
  DEFAULT_PARTITION_POLICY,
  type PartitionChain,
  type PartitionInfo,
  type PartitionPolicy,
} from './types.js';
import { certificateFacts, checkName, toDeviceInfo, toPartitionInfo } from './views.js';

export interface CreatePartitionOptions {
  readonly timestampAlgorithm?: KeyAlgorithm;
  readonly attestationAlgorithm?: KeyAlgorithm;
  readonly policy?: Partial<PartitionPolicy>;
  /** Years of the timestamp key's privateKeyUsagePeriod; absent: no such extension. */
  readonly timestampKeyUsageYears?: number;
}

async function requireFreeName(r: StoreReader, name: string): Promise<void> {
  if (await r.partitions.nameTaken(name)) {
    throw new HsmError('partition-exists', 'a partition with this name exists', {
      details: { partition: name },
    });
  }
}

/**
 * Creates a partition: its attestation and timestamp keys generated inside, certified by the
 * device key. Under a partition.create quorum rule the call becomes an approval request (for
 * the local operator too), and the approved request creates exactly the partition it names.
 */
export async function createPartition(
  core: Core,
  name: string,
  options: CreatePartitionOptions = {},
  authority?: RequestAuthority | PresentedAuthority,
): Promise<PartitionInfo> {
  checkName('partition', name);
  for (const [k, v] of Object.entries(options.policy ?? {})) {
    if (!(k in DEFAULT_PARTITION_POLICY) || typeof v !== 'boolean') {
      throw new HsmError(
        'invalid-argument',
        'a partition policy names known flags, each true or false',
        {
          details: { field: `policy.${k.slice(0, 64)}` },
        },
      );
    }
  }
  const policy: PartitionPolicy = { ...DEFAULT_PARTITION_POLICY, ...options.policy };
  const attAlg = options.attestationAlgorithm ?? 'ecdsa-p384';
  const tsAlg = options.timestampAlgorithm ?? 'ecdsa-p256';
  for (const alg of [attAlg, tsAlg]) {
    if (!isKeyAlgorithm(alg)) {
      throw new HsmError('invalid-argument', 'unsupported key algorithm', {
        details: { algorithm: String(alg) },
      });
    }
  }
  const op: Operation = { action: 'partition.create', details: { partition: name } };
  const call = {
    action: 'partition.create',
    params: {
      name,
      policy: { ...policy },
      attestationAlgorithm: attAlg,
      timestampAlgorithm: tsAlg,
      timestampKeyUsageYears: options.timestampKeyUsageYears ?? null,
    },
  };
  return core.guard(op, async () => {
    await core.governance.requireOpenRequest(authority);
    await requireFreeName(core.store, name);
    const grant = await core.governance.authorizeOperator(authority, op, call);
    const device = toDeviceInfo(await core.device(core.store));
    const deviceCert = certificateFacts(device.certificate);
    const signer = await deviceSigner(core, core.store);
    const issuer = { name: deviceCert.subject, spki: signer.spki };
    const partitionId = randomUUID();
    const now = core.clock.now();
    const ids = { deviceId: core.deviceId, partitionId };
    const base = { country: device.country, organization: device.organization };

    const attKey = await generateKey(attAlg);
    const tsKey = await generateKey(tsAlg);
    const { attestationCertificate: attCert, timestampCertificate: tsCert } =
      await issuePartitionCertificates({
        partitionName: name,
        ids,
        subjectBase: base,
        issuer,
        issuerNotAfter: deviceCert.notAfter,
        signer,
        attestationSpki: attKey.publicPart,
        timestampSpki: tsKey.publicPart,
        now,
        timestampKeyUsageYears: options.timestampKeyUsageYears,
      });

    const attKeyId = randomUUID();
    const tsKeyId = randomUUID();
    return core.store.tx(async (tx) => {
      await grant.check(tx, now);
      await requireFreeName(tx, name);
      const seq = await core.audit(tx, now, {
        actor: op.actor,
        action: 'partition.create',
        partitionId,
        outcome: 'success',
        details: {
          partition: name,
          attestationAlgorithm: attAlg,
          timestampAlgorithm: tsAlg,
          attestationKeyId: attKeyId,
          timestampKeyId: tsKeyId,
          ...policy,
        },
      });
      const row = core.rows.sealPartition({
        id: partitionId,
        name,
        policy_json: JSON.stringify(policy),
        attestation_certificate: Buffer.from(attCert),
        timestamp_certificate: Buffer.from(tsCert),
        created_at: now.toISOString(),
        audit_seq: seq,
      });
      await tx.partitions.insert(row);
      for (const [id, role, alg, key] of [
        [attKeyId, 'partition-attestation', attAlg, attKey],
        [tsKeyId, 'partition-timestamp', tsAlg, tsKey],
      ] as const) {
        await insertKey(core, tx, {
          id,
          partitionId,
          label: role,
          role,
          algorithm: alg,
          spki: key.publicPart,
          attributes: generatedAttributes({ destroyable: false }),
          privateKey: key.privateKey,
          now,
          auditSeq: seq,
        });
      }
      await grant.done(tx, now, { partition: partitionId, name });
      return toPartitionInfo(row);
    });
  });
}

export function listPartitions(core: Core): Promise<PartitionInfo[]> {
  return core.guard({ action: 'partition.list' }, async () =>
    (await core.rows.allPartitions(core.store)).map(toPartitionInfo),
  );
}

export function showPartition(core: Core, name: string): Promise<PartitionInfo> {
  return core.guard({ action: 'partition.show', details: { partition: name } }, async () =>
    toPartitionInfo(await core.partitionRow(core.store, name)),
  );
}

/**
 * Changes a partition's security policy; needs a security officer (or an approved request that
 * names the partition and exactly these changes).
 */
export function setPartitionPolicy(
  core: Core,
  name: string,
  changes: Partial<PartitionPolicy>,
  authority: Authority | undefined,
): Promise<PartitionInfo> {
  const op: Operation = { action: 'partition.policy', details: { partition: name } };
  // The changes as a request names them: an absent field (or one set to undefined) is none.
  const policy: JsonObject = Object.fromEntries(
    Object.entries(changes as Record<string, boolean | undefined>).filter(
      (e): e is [string, boolean] => e[1] !== undefined,
    ),
  );
  return core.guard(op, () =>
    officerChange(
      core,
      op,
      authority,
      (r) => core.partitionRow(r, name, op),
      (row) => ({
        action: 'partition.policy',
        partitionId: row.id,
        params: { partition: row.id, policy },
      }),
      async (tx, row, now) => {
        const info = toPartitionInfo(row);
        // A migrated partition stays read-only for good, its marker kept.
        if (info.migratedTo !== undefined) {
          throw new HsmError('partition-migrated', 'the partition was migrated to another device', {
            details: { partition: name, migratedTo: info.migratedTo },
          });
        }
        const policy: PartitionPolicy = { ...info.policy, ...changes };
        const seq = await core.audit(tx, now, {
          actor: op.actor,
          action: 'partition.policy',
          partitionId: row.id,
          outcome: 'success',
          details: { partition: name, ...policy },
        });
        const next = core.rows.sealPartition({
          ...row,
          policy_json: JSON.stringify(policy),
          audit_seq: seq,
        });
        if (!(await tx.partitions.updatePolicy(next, row.mac!))) {
          throw integrityError('partition', 'the row changed under its transaction', {
            partitionId: row.id,
          });
        }
        return toPartitionInfo(next);
      },
      (info) => ({ partition: info.id, policy: { ...info.policy } }),
    ),
  );
}

export function partitionChain(core: Core, name: string): Promise<PartitionChain> {
  return core.guard({ action: 'partition.chain', details: { partition: name } }, async () => {
    const p = toPartitionInfo(await core.partitionRow(core.store, name));
    const d = toDeviceInfo(await core.device(core.store));
    return {
      root: d.rootCertificate,
      device: d.certificate,
      partitionAttestation: p.attestationCertificate,
      partitionTimestamp: p.timestampCertificate,
    };
  });
}

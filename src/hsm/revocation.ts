// Revoking partitions and issuing CRLs (RFC 5280 5): decisions are audit entries (their MACs
// authenticate them), CRL numbers come from the verified log, and each check runs in the
// transaction that records the change.
import { buildCrl, type CrlReason } from '../pki/index.js';
import { officerChange } from './auth/officers.js';
import type { Core, Operation } from './core.js';
import { deviceSigner } from './device.js';
import { HsmError } from './errors.js';
import { revocationState, type CrlIssuer, type RevocationState } from './revocation-state.js';
import type { Authority } from './governance/authorize.js';
import { certificateFacts, toDeviceInfo } from './views.js';

/** The revocation decisions and CRL numbers, from the verified audit log (one snapshot of it). */
export function currentRevocationState(core: Core): Promise<RevocationState> {
  return core.guard({ action: 'crl.state' }, () => snapshotState(core));
}

function snapshotState(core: Core): Promise<RevocationState> {
  return core.store.snapshot((r) => revocationState(r, core.keys.auditKey));
}

/**
 * Revokes a partition's certificates (attestation and timestamp keys), for the device's next
 * CRL; needs a security officer (or an approved request). Written in the transaction that checks that the partition is
 * not revoked already.
 */
export function revokePartition(
  core: Core,
  name: string,
  reason: CrlReason,
  authority: Authority | undefined,
): Promise<RevocationState> {
  const op: Operation = { action: 'partition.revoke', details: { partition: name, reason } };
  return core.guard(op, () =>
    officerChange(
      core,
      op,
      authority,
      (r) => core.partitionRow(r, name, op),
      (row) => ({
        action: 'partition.revoke',
        partitionId: row.id,
        params: { partition: row.id, reason },
      }),
      async (tx, row, now) => {
        const state = await revocationState(tx, core.keys.auditKey);
        if (state.revoked.some((r) => r.partitionId === row.id)) {
          throw new HsmError('partition-revoked', 'the partition is revoked already', {
            details: { partition: name },
          });
        }
        const serials = [row.attestation_certificate, row.timestamp_certificate].map(
          (c) => certificateFacts(new Uint8Array(c)).serialHex,
        );
        await core.audit(tx, now, {
          actor: op.actor,
          action: 'partition.revoke',
          partitionId: row.id,
          outcome: 'success',
          details: { partition: name, reason, serials: serials.join(',') },
        });
        return revocationState(tx, core.keys.auditKey);
      },
      () => ({ partition: name, reason }),
    ),
  );
}

/**
 * Issues the device's CRL over the partition certificates it issued: signed by the device key,
 * the next cRLNumber, every revoked partition certificate with its reason. The number and the
 * list are read from the verified log, and checked unchanged in the transaction that records
 * the CRL.
 */
export function issueDeviceCrl(
  core: Core,
  options: { nextUpdateDays: number },
): Promise<Uint8Array> {
  const op: Operation = { action: 'crl.issue', details: { issuer: 'device' } };
  return core.guard(op, async () => {
    const before = await snapshotState(core);
    const device = toDeviceInfo(await core.device(core.store));
    const signer = await deviceSigner(core, core.store);
    const now = core.clock.now();
    const crlNumber = before.lastCrlNumber.device + 1;
    const crl = await buildCrl(
      {
        issuer: certificateFacts(device.certificate).subject,
        issuerSpki: signer.spki,
        thisUpdate: now,
        nextUpdate: new Date(now.getTime() + options.nextUpdateDays * 86_400_000),
        crlNumber: BigInt(crlNumber),
        revoked: before.revoked.map((r) => ({
          serialNumber: new Uint8Array(Buffer.from(r.serial, 'hex')),
          revocationDate: r.revokedAt,
          reason: r.reason as CrlReason,
        })),
      },
      signer,
    );
    await core.store.tx(async (tx) => {
      const current = await revocationState(tx, core.keys.auditKey);
      if (
        current.lastCrlNumber.device !== before.lastCrlNumber.device ||
        current.revoked.length !== before.revoked.length
      ) {
        throw new HsmError('store-busy', 'the revocation state changed meanwhile; try again');
      }
      await core.audit(tx, now, {
        action: 'crl.issue',
        outcome: 'success',
        details: {
          issuer: 'device',
          crlNumber,
          revoked: before.revoked.length,
          crl: Buffer.from(crl).toString('hex'),
        },
      });
    });
    return crl;
  });
}

/**
 * Records a CRL issued by the factory (the root) so that the server publishes it; its cRLNumber
 * must be above the last one recorded.
 */
export function recordRootCrl(core: Core, crl: Uint8Array, crlNumber: number): Promise<void> {
  const op: Operation = { action: 'crl.record', details: { issuer: 'root' } };
  return core.guard(op, () =>
    core.store.tx(async (tx) => {
      const state = await revocationState(tx, core.keys.auditKey);
      if (crlNumber <= state.lastCrlNumber.root) {
        throw new HsmError('invalid-argument', 'the CRL number is not above the last one', {
          details: { crlNumber, last: state.lastCrlNumber.root },
        });
      }
      await core.audit(tx, core.clock.now(), {
        action: 'crl.record',
        outcome: 'success',
        details: { issuer: 'root', crlNumber, crl: Buffer.from(crl).toString('hex') },
      });
    }),
  );
}

/** The latest CRL of an issuer, from the verified log; undefined when none was issued. */
export async function latestCrl(core: Core, issuer: CrlIssuer): Promise<Uint8Array | undefined> {
  return (await currentRevocationState(core)).latestCrl[issuer];
}

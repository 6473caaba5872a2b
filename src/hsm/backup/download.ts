// Downloading the bundle of a backup made through an approval request (README "Backup and
// migration"): the executed request's result holds it; handing it out is its own audited call
// (`backup.download`, naming the request, the partition, the serial and the bundle's SHA-256).
import { bundleDigest } from '../../pki/index.js';
import { fromBase64 } from '../../shared/index.js';
import type { Core, Operation } from '../core.js';
import { HsmError } from '../errors.js';
import { checkPresented, presentedRole, type PresentedAuthority } from '../governance/presented.js';
import { GOVERNED } from '../governance/roles.js';

export interface BackupDownload {
  readonly bundle: Uint8Array;
  readonly serial: number;
  /** SHA-256 of the bundle (hex), as the backup's audit entry names it. */
  readonly digest: string;
  /** The partition's name (null when it is gone). */
  readonly partition: string | null;
  readonly request: string;
}

/** The bundle of a request's result, when it is an executed backup that holds one. */
export function backupResultBundle(result: unknown): string | undefined {
  if (typeof result !== 'object' || result === null || Array.isArray(result)) return undefined;
  const b = (result as Record<string, unknown>)['bundle'];
  return typeof b === 'string' ? b : undefined;
}

/**
 * The bundle of an executed `partition.backup` request. A presented principal (REST API) must
 * be the request's requester or hold a partition.backup role in its partition; the local
 * operator may. Audited as `backup.download` (refusals too).
 */
export function backupDownload(
  core: Core,
  requestId: string,
  authority?: PresentedAuthority,
): Promise<BackupDownload> {
  const op: Operation = { action: 'backup.download', details: { request: requestId.slice(0, 64) } };
  return core.guard(op, async () => {
    if (authority !== undefined) checkPresented(authority.presented);
    op.actor = authority?.presented.principal ?? core.actor;
    const req = await core.governance.requests.require(core.store, requestId);
    const s = req.body.statement;
    const partitionId = s.scope.startsWith('partition:') ? s.scope.slice(10) : undefined;
    if (partitionId !== undefined) op.partitionId = partitionId;
    const row =
      partitionId === undefined
        ? undefined
        : await core.rows.partitionById(core.store, partitionId);
    if (authority !== undefined && s.requester !== authority.presented.principal) {
      const roles = GOVERNED['backup.download']!.roles;
      if (row === undefined || presentedRole(authority.presented, roles, row.name) === undefined) {
        throw new HsmError(
          'role-required',
          `backup.download needs the requester or the role ${roles.join(' or ')} in the partition`,
          {
            details: {
              operation: 'backup.download',
              needs: ['requester', ...roles].join('|'),
              scope: s.scope,
              principal: authority.presented.principal,
            },
          },
        );
      }
    }
    if (s.operation === 'partition.backup' && req.body.state === 'pending') {
      throw new HsmError('request-not-approved', 'the backup request has not been executed yet', {
        details: { request: requestId },
      });
    }
    const text = backupResultBundle(req.body.result);
    const bundle = text === undefined ? undefined : fromBase64(text);
    if (
      s.operation !== 'partition.backup' ||
      req.body.state !== 'executed' ||
      bundle === undefined
    ) {
      throw new HsmError(
        'invalid-argument',
        'the request is not an executed backup with a bundle',
        {
          details: { request: requestId, operation: s.operation, state: req.body.state },
        },
      );
    }
    const result = req.body.result as Record<string, unknown>;
    const digest = bundleDigest(bundle);
    // The result is part of the authenticated request row; its digest is the audited one.
    if (result['digest'] !== digest) {
      throw new HsmError('integrity-failed', 'the bundle of the request is not the one it names', {
        details: { request: requestId },
      });
    }
    const serial = typeof result['serial'] === 'number' ? result['serial'] : 0;
    const now = core.clock.now();
    await core.store.tx(async (tx) => {
      await core.audit(tx, now, {
        actor: op.actor,
        action: 'backup.download',
        partitionId,
        outcome: 'success',
        details: {
          request: requestId,
          ...(row === undefined ? {} : { partition: row.name }),
          serial,
          bundle: digest,
        },
      });
    });
    return { bundle, serial, digest, partition: row?.name ?? null, request: requestId };
  });
}

// Attesting a key: evidence (or a key attestation certificate) about its public key and real
// attributes, signed by the partition attestation key. The claims come from the key itself: it
// is unsealed, its public key derived from the private key must be the stored one, and its
// authenticated attributes must be consistent with its history in the log.
import { issueAttestationCertificate, issueEvidence } from '../issuing/evidence.js';
import type { Core, Operation } from '../core.js';
import { HsmError } from '../errors.js';
import { integrityError } from '../integrity.js';
import type { KeyRow, StoreReader } from '../store/device-store.js';
import type { KeyInfo } from '../types.js';
import { toKeyInfo } from '../views.js';
import { attributesConsistent } from './attributes.js';
import { unsealKey } from './sealing.js';
import { signerFor } from './signers.js';

/** The key as it may be attested: checked against its own private key and its history. */
async function attestableKey(
  core: Core,
  r: StoreReader,
  row: KeyRow,
  partitionName: string,
): Promise<KeyInfo> {
  const info = toKeyInfo(row, partitionName);
  unsealKey(core.keys.kek, core.deviceId, row);
  const history = {
    created: await r.audit.creationAction(row.id),
    exported: await r.audit.everExported(row.id),
  };
  if (!attributesConsistent(info.attributes, row.role, history)) {
    throw integrityError('key', 'the attributes contradict the key or its history', {
      keyId: row.id,
    });
  }
  return info;
}

export function attestKey(
  core: Core,
  partitionName: string,
  label: string,
  options: { nonce?: Uint8Array; format?: 'evidence' | 'certificate' } = {},
): Promise<Uint8Array> {
  if (options.nonce !== undefined && (options.nonce.length === 0 || options.nonce.length > 64)) {
    return Promise.reject(new HsmError('invalid-argument', 'the nonce must be 1 to 64 bytes'));
  }
  const format = options.format ?? 'evidence';
  const op: Operation = { action: 'key.attest', details: { partition: partitionName, label } };
  return core.guard(op, async () => {
    const { partition, row } = await core.locate(core.store, partitionName, label, op);
    const key = await attestableKey(core, core.store, row, partition.name);
    const att = await core.rows.keyByLabel(core.store, partition.id, 'partition-attestation');
    if (att?.role !== 'partition-attestation') {
      throw integrityError('partition', 'the partition has no attestation key', {
        partitionId: partition.id,
      });
    }
    const input = {
      key,
      deviceId: core.deviceId,
      attestationSigner: await signerFor(core, att, [
        new Uint8Array(partition.attestation_certificate),
        ...(await core.deviceChain(core.store)),
      ]),
      at: core.clock.now(),
      nonce: options.nonce,
    };
    const out =
      format === 'certificate'
        ? await issueAttestationCertificate(input)
        : await issueEvidence(input);
    await core.store.tx(async (tx) => {
      await core.audit(tx, input.at, {
        action: 'key.attest',
        partitionId: key.partitionId,
        keyId: key.id,
        outcome: 'success',
        details: { label, format, nonce: options.nonce !== undefined },
      });
    });
    return out;
  });
}

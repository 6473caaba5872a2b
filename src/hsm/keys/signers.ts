// Signers handed to the TSA and the issuing code: the public key and chain, and a sign function
// over a cached unsealed key whose row is re-read (and its MAC checked) at most every
// STATE_RECHECK_MS, so that an invalidation takes effect within that window everywhere.
import type { Signer } from '../../pki/index.js';
import type { Core, Operation } from '../core.js';
import { HsmError } from '../errors.js';
import { isSignatureAlgorithm, signOperation, type PrivateKeyHandle } from '../key-crypto.js';
import type { KeyRow } from '../store/device-store.js';
import { keyState, parseAttributes, publicKeyOf } from '../views.js';
import { rowAlgorithm, unsealKey } from './sealing.js';

/** How long a signer trusts its last reading of the key's state (milliseconds). */
const STATE_RECHECK_MS = 250;

/**
 * A signer hands out unguarded signatures: never for a user key whose own policy has a use
 * rule (it signs only through an approval request, Hsm.sign), nor for one without the sign
 * purpose.
 */
function requireFreeUse(row: KeyRow): void {
  if (row.role !== 'user') return;
  const a = parseAttributes(row);
  if (!a.purposes.includes('sign')) {
    throw new HsmError('key-purpose-denied', "the key's purposes do not include sign", {
      details: { label: row.label, purpose: 'sign' },
    });
  }
  if (a.policy?.use !== undefined) {
    throw new HsmError(
      'approval-required',
      'the key signs only through an approval request under its own use rule (sign, not signer)',
      {
        details: { label: row.label, rule: `key:${row.id}/key.use`, version: a.policy.version },
      },
    );
  }
}

/** A signer for the key of `row`, with `chain` (leaf first) as its certificates. */
export async function signerFor(
  core: Core,
  row: KeyRow,
  chain: readonly Uint8Array[],
): Promise<Signer> {
  const algorithm = rowAlgorithm(row);
  if (!isSignatureAlgorithm(algorithm)) {
    throw new HsmError('invalid-argument', 'the key algorithm does not sign', {
      details: { label: row.label, algorithm },
    });
  }
  requireFreeUse(row);
  // Resolved once per signer: the hot path is one call per token.
  const signWithKey = signOperation(algorithm);
  const keyId = row.id;
  let reported = false;
  /** Integrity failures reach the log once per signer, not once per signature. */
  const reportOnce = async (error: unknown): Promise<void> => {
    core.keyCache.delete(keyId);
    // An error the log does not take (a lost database) must not use up the one report that a
    // later tampering needs.
    if (reported || !core.audits(error)) return;
    reported = true;
    await core.recordFailure(
      { action: 'key.use', partitionId: row.partition_id ?? undefined, keyId },
      error,
    );
  };
  const recheck = async (): Promise<PrivateKeyHandle> => {
    const cached = core.keyCache.get(keyId);
    let current: KeyRow | undefined;
    let key = cached?.key;
    try {
      current = await core.rows.keyById(core.store, keyId);
      if (current?.state === 'active' && keyState(current) === 'active' && key === undefined) {
        // The key signs only if it is the one whose public key the row (and certificate) names.
        key = unsealKey(core.keys.kek, core.deviceId, current);
      }
    } catch (error) {
      await reportOnce(error);
      throw error;
    }
    if (current?.state !== 'active' || key === undefined) {
      core.keyCache.delete(keyId);
      throw new HsmError('key-invalidated', 'the key is invalidated or gone', {
        details: { label: row.label },
      });
    }
    if (keyState(current) === 'blocked') {
      core.keyCache.delete(keyId);
      throw new HsmError('key-blocked', 'the key is blocked', { details: { label: row.label } });
    }
    // A use rule may have been given to the key since the signer was made.
    requireFreeUse(current);
    core.keyCache.set(keyId, { key, checkedAt: performance.now() });
    return key;
  };
  const load = (): PrivateKeyHandle | Promise<PrivateKeyHandle> => {
    // An invalidation in this process drops the cache entry at once; one made by another
    // process (or node) counts within STATE_RECHECK_MS.
    const cached = core.keyCache.get(keyId);
    if (cached !== undefined && performance.now() - cached.checkedAt < STATE_RECHECK_MS) {
      return cached.key;
    }
    return recheck();
  };
  if (row.state !== 'active') await load();
  return {
    algorithm,
    spki: new Uint8Array(publicKeyOf(row)),
    certificateChain: chain,
    // The hot path (a cached key) signs without waiting a turn; failures reject, never throw.
    sign(tbs) {
      try {
        const key = load();
        return key instanceof Promise
          ? key.then((k) => signWithKey(k, tbs))
          : Promise.resolve(signWithKey(key, tbs));
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error('signing failed'));
      }
    },
  };
}

/** A signer for an active key of the partition, with the partition's chain for its own keys. */
export async function partitionKeySigner(
  core: Core,
  partitionName: string,
  label: string,
): Promise<Signer> {
  const op: Operation = { action: 'key.use', details: { partition: partitionName, label } };
  return core.guard(op, async () => {
    const { partition, row } = await core.locate(core.store, partitionName, label, op);
    const own =
      row.role === 'partition-timestamp'
        ? partition.timestamp_certificate
        : row.role === 'partition-attestation'
          ? partition.attestation_certificate
          : undefined;
    const chain =
      own === undefined ? [] : [new Uint8Array(own), ...(await core.deviceChain(core.store))];
    return signerFor(core, row, chain);
  });
}

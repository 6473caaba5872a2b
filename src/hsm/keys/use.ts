// Using a user key: signing data or a digest the caller computed, and verifying with its public
// key. A key whose own policy has a use rule signs only through an approval request whose
// statement holds the exact data (or digest); the signature is the executed request's result.
import type { JsonObject } from '../../shared/index.js';
import { HASHES } from '../../pki/index.js';
import type { Core, Operation } from '../core.js';
import { HsmError } from '../errors.js';
import type { Authority } from '../governance/authorize.js';
import { KEY_RULE_CLASSES } from '../governance/quorum.js';
import {
  mechanismFor,
  type HsmAlgorithm,
  type Mechanism,
  type PrivateKeyHandle,
} from '../key-crypto.js';
import type { KeyRow, PartitionRow } from '../store/device-store.js';
import type { KeyPurpose } from '../types.js';
import { keyState, parseAttributes, publicKeyOf } from '../views.js';
import { keyParams, keyRules } from './policy.js';
import { rowAlgorithm, unsealKey } from './sealing.js';

/** What is signed: the data itself, or its digest under the key algorithm's hash. */
export type SignInput = { readonly data: Uint8Array } | { readonly digest: Uint8Array };

/** Data signed in one call; larger data is hashed by the caller and signed as a digest. */
export const SIGN_DATA_LIMIT = 1024 * 1024;
/**
 * Data named in an approval request's statement (hex, for the approvers to read); a key under
 * a use rule signs larger data as a digest.
 */
export const STATEMENT_DATA_LIMIT = 16 * 1024;

export interface SignResult {
  readonly signature: Uint8Array;
  readonly algorithm: string;
  readonly keyId: string;
}

function checkInput(input: SignInput, algorithm: HsmAlgorithm): 'data' | 'digest' {
  if ('data' in input) {
    if (!(input.data instanceof Uint8Array) || input.data.length > SIGN_DATA_LIMIT) {
      throw new HsmError(
        'invalid-argument',
        `the data is at most ${SIGN_DATA_LIMIT} bytes; sign a digest of larger data`,
        { details: { field: 'data' } },
      );
    }
    return 'data';
  }
  // Any key algorithm (a secret or KEM key has no signing facts).
  const mechanism: Mechanism = mechanismFor(algorithm);
  const hash = mechanism.info?.hash ?? mechanism.digestHash;
  if (mechanism.signDigest === undefined || hash === undefined) {
    throw new HsmError(
      'invalid-argument',
      'the key algorithm signs whole messages only, not a digest',
      { details: { algorithm, field: 'digest' } },
    );
  }
  const length = HASHES[hash].length;
  if (!(input.digest instanceof Uint8Array) || input.digest.length !== length) {
    throw new HsmError('invalid-argument', `the digest is the key's ${hash}: ${length} bytes`, {
      details: { field: 'digest', expected: `${length} bytes` },
    });
  }
  return 'digest';
}

const algorithmOf = rowAlgorithm;

/** A user key with the purpose, usable now (not in the trash, not blocked). */
export function requireUsable(row: KeyRow, purpose: KeyPurpose): void {
  if (row.role !== 'user') {
    // The partition's own keys sign only tokens and evidence: never what a caller hands in.
    throw new HsmError('system-key', "a partition's own keys are not used through this call", {
      details: { label: row.label },
    });
  }
  if (!parseAttributes(row).purposes.includes(purpose)) {
    throw new HsmError('key-purpose-denied', `the key's purposes do not include ${purpose}`, {
      details: { label: row.label, purpose },
    });
  }
  const state = keyState(row);
  if (state === 'invalidated') {
    throw new HsmError('key-invalidated', 'the key is in the trash', {
      details: { label: row.label },
    });
  }
  if (state === 'blocked') {
    throw new HsmError('key-blocked', 'the key is blocked', { details: { label: row.label } });
  }
}

/** The unsealed key of an authenticated row (cached per process, as for signers). */
export function privateKeyOf(core: Core, row: KeyRow): PrivateKeyHandle {
  const cached = core.keyCache.get(row.id);
  if (cached !== undefined) return cached.key;
  const key = unsealKey(core.keys.kek, core.deviceId, row);
  core.keyCache.set(row.id, { key, checkedAt: performance.now() });
  return key;
}

/** The exact parameters a request to sign names: the key, and the data or digest in hex. */
function signParams(found: { partition: PartitionRow; row: KeyRow }, input: SignInput): JsonObject {
  const base = keyParams(found);
  return 'data' in input
    ? { ...base, data: Buffer.from(input.data).toString('hex') }
    : { ...base, digest: Buffer.from(input.digest).toString('hex') };
}

/**
 * Signs with a user key. Under its use rule the call becomes an approval request (refused with
 * approval-required naming it); the approved request signs exactly what its statement holds.
 */
export function signWithKey(
  core: Core,
  partitionName: string,
  label: string,
  input: SignInput,
  authority?: Authority,
): Promise<SignResult> {
  const op: Operation = { action: 'key.sign', details: { partition: partitionName, label } };
  return core.guard(op, async () => {
    const before = await core
      .locate(core.store, partitionName, label, op)
      .catch(async (e: unknown) => {
        await core.governance.requireOpenRequest(authority);
        throw e;
      });
    const mode = checkInput(input, algorithmOf(before.row));
    requireUsable(before.row, 'sign');
    const call = {
      action: 'key.sign',
      partitionId: before.partition.id,
      params: signParams(before, input),
      keyRules: keyRules(before.row, [KEY_RULE_CLASSES.use]),
    };
    const rules = await core.governance.rulesFor(core.store, call);
    if (
      'data' in input &&
      input.data.length > STATEMENT_DATA_LIMIT &&
      rules.some((r) => r.rule !== null)
    ) {
      throw new HsmError(
        'invalid-argument',
        `a key under a use rule signs at most ${STATEMENT_DATA_LIMIT} bytes of data (the approvers read it); sign a digest`,
        { details: { field: 'data', label } },
      );
    }
    const grant = await core.governance.authorizeOperator(authority, op, call);
    const now = core.clock.now();
    return core.store.tx(async (tx) => {
      await grant.check(tx, now);
      const found = await core.locate(tx, partitionName, label, op);
      if (found.row.id !== before.row.id) {
        throw new HsmError('store-busy', 'the key changed meanwhile; try again', {
          details: { label },
        });
      }
      requireUsable(found.row, 'sign');
      const mechanism = mechanismFor(algorithmOf(found.row));
      const key = privateKeyOf(core, found.row);
      const signature =
        'data' in input
          ? mechanism.sign?.(key, input.data)
          : mechanism.signDigest?.(key, input.digest);
      if (signature === undefined) {
        throw new HsmError('invalid-argument', 'the key algorithm does not sign', {
          details: { label },
        });
      }
      await core.audit(tx, now, {
        actor: op.actor,
        action: 'key.sign',
        partitionId: found.partition.id,
        keyId: found.row.id,
        outcome: 'success',
        details: {
          label,
          mode,
          bytes: 'data' in input ? input.data.length : input.digest.length,
        },
      });
      await grant.done(tx, now, {
        key: found.row.id,
        algorithm: found.row.algorithm,
        signature: Buffer.from(signature).toString('hex'),
      });
      return { signature, algorithm: found.row.algorithm, keyId: found.row.id };
    });
  });
}

/** Verifies a signature with a key's public key (data, or a digest under its hash). */
export function verifyWithKey(
  core: Core,
  partitionName: string,
  label: string,
  input: SignInput,
  signature: Uint8Array,
): Promise<boolean> {
  const op: Operation = { action: 'key.verify', details: { partition: partitionName, label } };
  return core.guard(op, async () => {
    const { row } = await core.locate(core.store, partitionName, label, op);
    checkInput(input, algorithmOf(row));
    if (row.role !== 'user') {
      throw new HsmError('system-key', "a partition's own keys are not used through this call", {
        details: { label },
      });
    }
    if (!parseAttributes(row).purposes.includes('verify')) {
      throw new HsmError('key-purpose-denied', "the key's purposes do not include verify", {
        details: { label, purpose: 'verify' },
      });
    }
    const mechanism = mechanismFor(algorithmOf(row));
    const spki = publicKeyOf(row);
    const verify = 'data' in input ? mechanism.verifier?.(spki) : mechanism.digestVerifier?.(spki);
    if (verify === undefined) {
      throw new HsmError('invalid-argument', 'the key algorithm does not verify', {
        details: { label },
      });
    }
    return verify('data' in input ? input.data : input.digest, signature);
  });
}

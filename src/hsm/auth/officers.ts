// Security officers: proving a credential against the authenticated officer row (scrypt, before
// any transaction), re-checking inside the transaction that the proven row is unchanged, and
// the one shape every officer's change has.
import { constantTimeEqual } from '../../shared/index.js';
import type { Core, Operation } from '../core.js';
import { HsmError } from '../errors.js';
import type { ScryptParams } from '../master-key.js';
import { checkCredential, type StoredCredential } from '../roles.js';
import type { StoreReader, StoreTx } from '../store/device-store.js';
import type { OfficerCredential } from '../types.js';

/** An officer whose credential was proven: the row's name and MAC at that moment. */
export interface ProvenOfficer {
  readonly name: string;
  readonly mac: Buffer;
}

/** Checks the credential; from then on the operation's audit entries name the officer. */
export async function requireOfficer(
  core: Core,
  officer: OfficerCredential | undefined,
  op: Operation,
): Promise<ProvenOfficer> {
  if (officer === undefined) {
    throw new HsmError('officer-required', 'this action needs a security officer credential');
  }
  const row = await core.rows.officer(core.store, officer.name);
  const stored: StoredCredential | undefined =
    row === undefined
      ? undefined
      : { name: row.name, params: JSON.parse(row.params_json) as ScryptParams, hash: row.hash };
  // An unknown name costs the same scrypt as a wrong passphrase.
  const ok = checkCredential(stored, officer.passphrase);
  if (!ok || row?.mac == null) {
    throw new HsmError('officer-auth-failed', 'security officer authentication failed');
  }
  op.actor = row.name;
  return { name: row.name, mac: row.mac };
}

/** Inside the transaction: the officer row proven before is still the same. */
export async function requireSameOfficer(
  core: Core,
  r: StoreReader,
  proven: ProvenOfficer,
): Promise<void> {
  const row = await core.rows.officer(r, proven.name);
  if (row?.mac == null || !constantTimeEqual(row.mac, proven.mac)) {
    throw new HsmError('officer-auth-failed', 'security officer authentication failed');
  }
}

/**
 * An officer's change: `locate` finds what it is about (filling in the operation's identifiers,
 * so that a refusal is logged against it) and the credential is proven, outside a transaction
 * (scrypt is slow); then in one transaction the officer's row is checked unchanged, `locate`
 * runs again and `change` checks and writes, so that every check guards the change it allows.
 */
export async function officerChange<L, T>(
  core: Core,
  op: Operation,
  officer: OfficerCredential | undefined,
  locate: (r: StoreReader) => Promise<L>,
  change: (tx: StoreTx, located: L, now: Date) => Promise<T>,
): Promise<T> {
  await locate(core.store);
  const proven = await requireOfficer(core, officer, op);
  const now = core.clock.now();
  return core.store.tx(async (tx) => {
    await requireSameOfficer(core, tx, proven);
    return change(tx, await locate(tx), now);
  });
}

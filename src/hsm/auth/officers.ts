// Security officers: proving a credential against the authenticated officer row (scrypt, before
// any transaction), re-checking inside the transaction that the proven row is unchanged, and
// the one shape every governed officer's change has (authorised by a session or a request).
import { constantTimeEqual, type JsonValue } from '../../shared/index.js';
import { canonicalJson } from '../governance/canonical-json.js';
import type { Core, Operation } from '../core.js';
import { HsmError } from '../errors.js';
import type { Authority, GovernedCall, Grant } from '../governance/authorize.js';
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
 * An officer's change, or an approved request's: `locate` finds what it is about (filling in
 * the operation's identifiers, so that a refusal is logged against it), `call` names the
 * governed operation with its exact parameters, and the authority is authorised outside a
 * transaction (scrypt is slow; a call guarded by a quorum rule becomes an approval request
 * here). Then in one transaction the grant is checked again, `locate` runs again and must name
 * the same parameters, `change` checks and writes, and the grant is closed (a request as
 * executed, with `result` of what the change returned), so that every check guards the change
 * it allows.
 */
export function officerChange<L, T>(
  core: Core,
  op: Operation,
  authority: Authority | undefined,
  locate: (r: StoreReader) => Promise<L>,
  call: (located: L) => GovernedCall,
  change: (tx: StoreTx, located: L, now: Date) => Promise<T>,
  result: (value: T) => JsonValue = () => null,
): Promise<T> {
  return governedChange(
    core,
    authority,
    (governed) => core.governance.authorize(authority, op, governed),
    locate,
    call,
    change,
    result,
  );
}

/**
 * The shape of officerChange with the authorisation given: an officer's session
 * (officerChange), or the local operator's (GovernanceCore.authorizeOperator), each also an
 * approved request.
 */
export async function governedChange<L, T>(
  core: Core,
  authority: Authority | undefined,
  authorize: (call: GovernedCall) => Promise<Grant>,
  locate: (r: StoreReader) => Promise<L>,
  call: (located: L) => GovernedCall,
  change: (tx: StoreTx, located: L, now: Date) => Promise<T>,
  result: (value: T) => JsonValue = () => null,
): Promise<T> {
  const governed = call(
    await locate(core.store).catch(async (cause: unknown) => {
      // What a request is about may be gone because it ran already: say that first.
      await core.governance.requireOpenRequest(authority);
      throw cause;
    }),
  );
  const grant = await authorize(governed);
  const now = core.clock.now();
  return core.store.tx(async (tx) => {
    await grant.check(tx, now);
    const located = await locate(tx);
    const again = call(located);
    if (
      again.action !== governed.action ||
      canonicalJson(again.params) !== canonicalJson(governed.params)
    ) {
      throw new HsmError('store-busy', 'what the change is about changed meanwhile; try again', {
        details: { operation: governed.action },
      });
    }
    const value = await change(tx, located, now);
    await grant.done(tx, now, result(value));
    return value;
  });
}

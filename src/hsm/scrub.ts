// After a key row is deleted for good (purge, or delete without a trash): scrubbing the freed
// bytes out of the store's files (DeviceStore.scrubFreed), and when that cannot be done now, a
// warning, an audit entry and a mark in the store, so that the next purge or open tries again.
// The deletion itself committed before the scrub: its operation succeeded, whatever the scrub.
import type { Core } from './core.js';
import { HsmError } from './errors.js';

/**
 * The meta row that says a scrub is owed (the time it was first missed; empty: none). Not
 * authenticated: it only decides whether an open spends a scrub; the audit log holds the record.
 */
const PENDING = 'scrub_pending';

/** What a purge reports about its scrub. */
export interface ScrubOutcome {
  /** False when the freed bytes may still be in the store's files (retried later). */
  readonly scrubbed: boolean;
  /** Set when not scrubbed: what the operator is told (codes only, never key material). */
  readonly warning?: string;
}

const WARNING =
  "the key was deleted, but the store's files could not be scrubbed of its freed bytes yet (sealed under the master key): retried at the next purge or open";

/** The code of a scrub's failure, for the log and the audit entry (never its message). */
function failureCode(error: unknown): string {
  return error instanceof HsmError ? error.code : 'internal';
}

/** Clears the mark of a scrub owed, with its audit entry; a failure here is only logged. */
async function clearPending(core: Core, after: string): Promise<void> {
  if (((await core.store.meta.get(PENDING)) ?? '') === '') return;
  await core.store.tx(async (tx) => {
    await tx.meta.set(PENDING, '');
    await core.audit(tx, core.clock.now(), {
      action: 'store.scrub',
      outcome: 'success',
      details: { after },
    });
  });
}

/** Marks a scrub owed, with a store.scrub-pending audit entry (both lost when the store is). */
async function markPending(core: Core, after: string, code: string | undefined): Promise<void> {
  const now = core.clock.now();
  await core.store.tx(async (tx) => {
    if (((await tx.meta.get(PENDING)) ?? '') === '') {
      await tx.meta.set(PENDING, now.toISOString());
    }
    await core.audit(tx, now, {
      action: 'store.scrub-pending',
      outcome: 'failure',
      details: { after, ...(code === undefined ? {} : { code }) },
    });
  });
}

/**
 * Scrubs the store after `after` (the action that deleted a key row) committed. Never throws:
 * a scrub that fails or cannot finish is logged as a warning, audited as store.scrub-pending and
 * marked for the next purge or open; one that succeeds clears an earlier mark.
 */
export async function scrubAfterDelete(core: Core, after: string): Promise<ScrubOutcome> {
  let scrubbed = false;
  let code: string | undefined;
  try {
    scrubbed = await core.store.scrubFreed();
  } catch (error) {
    code = failureCode(error);
  }
  if (scrubbed) {
    try {
      await clearPending(core, after);
    } catch (error) {
      core.logger.warn('a scrub owed was done, but its mark could not be cleared', {
        after,
        code: failureCode(error),
      });
    }
    return { scrubbed };
  }
  core.logger.warn(WARNING, { after, store: core.store.dialect, code: code ?? 'not-finished' });
  try {
    await markPending(core, after, code);
  } catch (error) {
    core.logger.warn('the pending scrub could not be recorded in the store', {
      after,
      code: failureCode(error),
    });
  }
  return { scrubbed, warning: WARNING };
}

/** At open: does a scrub an earlier purge could not finish, if the store says one is owed. */
export async function retryPendingScrub(core: Core): Promise<void> {
  let owed: string | undefined;
  try {
    owed = await core.store.meta.get(PENDING);
  } catch {
    return;
  }
  if ((owed ?? '') !== '') await scrubAfterDelete(core, 'open');
}

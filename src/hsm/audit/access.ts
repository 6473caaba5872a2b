// The audit entry of a request served by the REST API: who (the principal a verified credential
// named, never the credential), what (method, route, operation) and how it ended (status).
import type { Core } from '../core.js';
import type { AuditOutcome } from './log.js';

export interface AccessEvent {
  /** The principal, or 'anonymous' for a request refused before one was known. */
  readonly actor: string;
  readonly outcome: AuditOutcome;
  /** Identifiers and non-secret facts only: method, route template, operation, status, via. */
  readonly details: Readonly<Record<string, string | number | boolean>>;
}

/** Appends one `api.request` entry in its own transaction. */
export async function recordAccess(core: Core, event: AccessEvent): Promise<void> {
  await core.store.tx(async (tx) => {
    await core.audit(tx, core.clock.now(), {
      actor: event.actor,
      action: 'api.request',
      outcome: event.outcome,
      details: event.details,
    });
  });
}

// Governance objects (roles, approver keys, rules, requests, approvals, partition governance) as
// authenticated rows: a body of canonical JSON under the row MAC, naming the audit entry of its
// last change. A row is believed only when its MAC checks and it is the newest state the audit
// log knows of; a row the log knows of that is missing is a deletion by someone other than the
// HSM (governance objects are never deleted, they change state). Every change is one audit
// entry naming the object, in the transaction that makes it.
import type { JsonObject } from '../../shared/index.js';
import { canonicalJson } from './canonical-json.js';
import type { Core, Operation } from '../core.js';
import { HsmError } from '../errors.js';
import { governanceRowEncoding, macMatches, rowMac } from '../integrity.js';
import type { GovernanceKind, GovernanceRow, StoreReader, StoreTx } from '../store/device-store.js';

/** The reference audit entries use for an object: kind and id. */
export const objectRef = (kind: GovernanceKind, id: string): string => `${kind}:${id}`;

const failed = (kind: GovernanceKind, id: string, reason: string): HsmError =>
  new HsmError('integrity-failed', `the store's governance row failed integrity: ${reason}`, {
    details: { table: 'governance', object: objectRef(kind, id).slice(0, 200) },
  });

export interface GovernanceObject<B extends JsonObject> {
  readonly kind: GovernanceKind;
  readonly id: string;
  readonly scope: string;
  readonly body: B;
  /** The stored row, for compare-and-set. */
  readonly row: GovernanceRow;
}

/** What a change of one object writes to the audit log with it. */
export interface ObjectChange {
  readonly action: string;
  readonly actor?: string | undefined;
  readonly partitionId?: string | undefined;
  readonly details?: Readonly<Record<string, string | number | boolean>>;
}

export class GovernanceObjects {
  constructor(private readonly core: Core) {}

  private seal(row: Omit<GovernanceRow, 'mac'>): GovernanceRow {
    return {
      ...row,
      mac: rowMac(this.core.keys.rows.governance, governanceRowEncoding(this.core.deviceId, row)),
    };
  }

  private async check<B extends JsonObject>(
    r: StoreReader,
    row: GovernanceRow,
  ): Promise<GovernanceObject<B>> {
    if (
      !macMatches(
        this.core.keys.rows.governance,
        governanceRowEncoding(this.core.deviceId, row),
        row.mac,
      )
    ) {
      throw failed(row.kind, row.id, 'mac mismatch');
    }
    const latest = await r.audit.latestObjectChange(objectRef(row.kind, row.id));
    if (latest !== row.audit_seq) {
      // Outside a transaction a change may have committed between the two reads: read again.
      const fresh = await r.governance.get(row.kind, row.id);
      const again = await r.audit.latestObjectChange(objectRef(row.kind, row.id));
      if (
        fresh === undefined ||
        fresh.audit_seq !== again ||
        !macMatches(
          this.core.keys.rows.governance,
          governanceRowEncoding(this.core.deviceId, fresh),
          fresh.mac,
        )
      ) {
        throw failed(
          row.kind,
          row.id,
          latest > row.audit_seq
            ? 'older than its last change in the audit log'
            : 'newer than the audit log (the log lost entries)',
        );
      }
      row = fresh;
    }
    return {
      kind: row.kind,
      id: row.id,
      scope: row.scope,
      body: JSON.parse(row.body_json) as B,
      row,
    };
  }

  /** The authenticated object, or undefined when it never existed. */
  async get<B extends JsonObject>(
    r: StoreReader,
    kind: GovernanceKind,
    id: string,
  ): Promise<GovernanceObject<B> | undefined> {
    const row = await r.governance.get(kind, id);
    if (row === undefined) {
      if ((await r.audit.latestObjectChange(objectRef(kind, id))) > 0) {
        throw failed(kind, id, 'removed behind the audit log');
      }
      return undefined;
    }
    return this.check<B>(r, row);
  }

  /** Every authenticated object of the kind (in the scope), ordered by id. */
  async list<B extends JsonObject>(
    r: StoreReader,
    kind: GovernanceKind,
    scope?: string,
  ): Promise<GovernanceObject<B>[]> {
    const out: GovernanceObject<B>[] = [];
    for (const row of await r.governance.list(kind, scope)) out.push(await this.check<B>(r, row));
    return out;
  }

  /**
   * Creates or replaces an object inside `tx`, with its audit entry: `previous` is the object as
   * read in this transaction (undefined to create; refused when it exists).
   */
  async put<B extends JsonObject>(
    tx: StoreTx,
    at: Date,
    kind: GovernanceKind,
    id: string,
    scope: string,
    body: B,
    change: ObjectChange,
    previous?: GovernanceObject<JsonObject>,
  ): Promise<GovernanceObject<B>> {
    const seq = await this.core.audit(tx, at, {
      actor: change.actor,
      action: change.action,
      partitionId: change.partitionId,
      object: objectRef(kind, id),
      outcome: 'success',
      ...(change.details === undefined ? {} : { details: change.details }),
    });
    const row = this.seal({ kind, id, scope, body_json: canonicalJson(body), audit_seq: seq });
    const done =
      previous === undefined
        ? await tx.governance.insert(row)
        : await tx.governance.update(row, previous.row.mac);
    if (!done) {
      throw previous === undefined
        ? new HsmError('invalid-argument', 'that governance object exists already', {
            details: { object: objectRef(kind, id).slice(0, 200) },
          })
        : failed(kind, id, 'changed during the transaction');
    }
    return { kind, id, scope, body, row };
  }
}

/** An operation's audit entry names the object (for refusals written by Core.guard). */
export function aboutObject(op: Operation, kind: GovernanceKind, id: string): void {
  op.details = { ...op.details, object: objectRef(kind, id).slice(0, 200) };
}

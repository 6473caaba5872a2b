// The device's revocation decisions and CRL numbers (RFC 5280 5.2.3), read from the audit log
// only after its hash chain and every entry's MAC verify: the log is the authenticated record
// of 'partition.revoke' and 'crl.issue', so an edited, removed or reordered entry is an
// integrity failure, never a changed revocation list or a reused CRL number.
import { verifiedAuditEntries } from './audit/log.js';
import { HsmError } from './errors.js';
import type { StoreReader } from './store/device-store.js';

export type CrlIssuer = 'device' | 'root';

export interface RevokedCertificate {
  readonly partitionId: string;
  readonly serial: string;
  readonly reason: string;
  readonly revokedAt: Date;
}

export interface RevocationState {
  readonly revoked: readonly RevokedCertificate[];
  /** The last cRLNumber issued (or recorded) per issuer; 0 when none. */
  readonly lastCrlNumber: Readonly<Record<CrlIssuer, number>>;
  /** The DER of the latest CRL per issuer. */
  readonly latestCrl: Readonly<Partial<Record<CrlIssuer, Uint8Array>>>;
  /** Number of log entries read: a change of state between two reads shows here. */
  readonly entries: number;
}

/**
 * From `store`, in one pass over the log in which each entry is used only once verified. Give it
 * a snapshot's reader (DeviceStore.snapshot) or, when about to change the state, the
 * transaction's: two reads of the store outside either could see two states of the log.
 */
export async function revocationState(
  store: StoreReader,
  auditKey: Uint8Array,
): Promise<RevocationState> {
  const revoked: RevokedCertificate[] = [];
  const lastCrlNumber: Record<CrlIssuer, number> = { device: 0, root: 0 };
  const latestCrl: Partial<Record<CrlIssuer, Uint8Array>> = {};
  let entries = 0;
  for await (const e of verifiedAuditEntries(store, auditKey)) {
    entries++;
    if (e.outcome !== 'success') continue;
    const d = e.details;
    if (e.action === 'partition.revoke' && e.partitionId !== null) {
      for (const serial of String(d.serials ?? '')
        .split(',')
        .filter((s) => s !== '')) {
        revoked.push({
          partitionId: e.partitionId,
          serial,
          reason: String(d.reason),
          revokedAt: new Date(e.at),
        });
      }
    } else if (e.action === 'crl.issue' || e.action === 'crl.record') {
      const issuer = d.issuer;
      const n = d.crlNumber;
      if ((issuer === 'device' || issuer === 'root') && typeof n === 'number') {
        if (n <= lastCrlNumber[issuer]) {
          throw new HsmError('integrity-failed', 'the log records a CRL number twice', {
            details: { table: 'audit', seq: e.seq },
          });
        }
        lastCrlNumber[issuer] = n;
        latestCrl[issuer] = new Uint8Array(Buffer.from(String(d.crl), 'hex'));
      }
    }
  }
  return { revoked, lastCrlNumber, latestCrl, entries };
}

// Moves the embedded issuance archive (a SQLite file) into a PostgreSQL archive as one closed
// chain, every row as stored, and checks the copy: the archive half of `attestamp store migrate`.
import { fromHex, type Clock } from '../../shared/index.js';
import { importedChainName } from './entry.js';
import { Archive } from './sqlite.js';
import type { ChainReport } from './types.js';

/** The SQLite archive as found, and where its chain would go. */
export interface ArchiveImportPlan {
  /** Whether the source's chain verifies (an archive that does not is not imported). */
  readonly ok: boolean;
  readonly entries: number;
  /** Sequence number and hex hash of its last entry. */
  readonly headSeq: number;
  readonly head: string;
  readonly firstBad?: { readonly seq: number; readonly reason: string };
  /** The name of the chain it is imported as (imported-<first 12 hex digits of its head>). */
  readonly chain: string;
  /** Whether the destination holds that chain already (the archive was imported before). */
  readonly exists: boolean;
}

export interface ArchiveImportResult {
  readonly chain: string;
  readonly entries: number;
  readonly headSeq: number;
  readonly head: string;
  readonly clockEvents: number;
  /** The serials of its tokens, [first, next), reserved to the imported chain. */
  readonly serials?: { readonly first: string; readonly next: string };
  /** The imported chain as verify() reads it back from the destination. */
  readonly copy: ChainReport;
  /** Whether the copy verifies and ends at the source's head. */
  readonly verified: boolean;
}

/**
 * Verifies the SQLite archive at `path` and looks for its chain in the PostgreSQL archive at
 * `url` (whose schema is created or migrated when needed). Changes neither archive's content.
 */
export async function planArchiveImport(path: string, url: string): Promise<ArchiveImportPlan> {
  const source = Archive.openReadOnly(path);
  let v;
  try {
    v = await source.verify();
  } finally {
    await source.close();
  }
  const chain = importedChainName(v.head);
  // PostgreSQL's client is loaded only here, as openArchive does.
  const { PostgresArchive } = await import('./postgres.js');
  const destination = await PostgresArchive.open({ url, importer: true });
  try {
    return {
      ok: v.ok,
      entries: v.entries,
      headSeq: v.ok ? v.entries : 0,
      head: v.head,
      ...(v.firstBad === undefined ? {} : { firstBad: v.firstBad }),
      chain,
      exists: await destination.hasChain(chain),
    };
  } finally {
    await destination.close();
  }
}

/**
 * Imports the SQLite archive at `path` (as planned: it must still end at the planned head) into
 * the PostgreSQL archive at `url` in one transaction, then reads the whole archive back with
 * verify() and reports the imported chain. Throws when the import is refused or fails (nothing
 * is written then); a copy that does not verify is reported, not thrown.
 */
export async function importSqliteArchive(
  path: string,
  url: string,
  plan: ArchiveImportPlan,
  options: { readonly clock?: Clock } = {},
): Promise<ArchiveImportResult> {
  const head = fromHex(plan.head);
  if (!plan.ok || head?.length !== 32) throw new Error('the source archive does not verify');
  const { PostgresArchive } = await import('./postgres.js');
  const source = Archive.openReadOnly(path);
  let imported;
  try {
    const destination = await PostgresArchive.open({
      url,
      importer: true,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
    try {
      imported = await destination.importChain({
        head: { seq: plan.headSeq, hash: head },
        rows: source.storedRows(plan.headSeq),
        clockEvents: await source.clockEvents(),
      });
    } finally {
      await destination.close();
    }
  } finally {
    await source.close();
  }
  const reader = await PostgresArchive.open({ url, readOnly: true });
  let copy: ChainReport | undefined;
  try {
    copy = (await reader.verify()).chains?.find((c) => c.node === imported.node);
  } finally {
    await reader.close();
  }
  const report: ChainReport = copy ?? {
    node: imported.node,
    ok: false,
    entries: 0,
    headSeq: 0,
    head: '',
    firstBad: { seq: 1, reason: 'the imported chain is not in the archive' },
  };
  return {
    chain: imported.node,
    entries: imported.entries,
    headSeq: plan.headSeq,
    head: plan.head,
    clockEvents: imported.clockEvents,
    ...(imported.serials === undefined ? {} : { serials: imported.serials }),
    copy: report,
    verified: report.ok && report.headSeq === plan.headSeq && report.head === plan.head,
  };
}

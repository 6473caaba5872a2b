// Store commands: `store migrate` copies the device store (SQLite under --data, or the store of
// --store) into a new, empty PostgreSQL database or SQLite file, with the embedded issuance
// archive (into PostgreSQL), and verifies both copies.
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { formatAuditHead, isPostgresUrl } from '../../hsm/index.js';
import {
  importSqliteArchive,
  planArchiveImport,
  type ArchiveImportPlan,
  type ArchiveImportResult,
} from '../../tsa/index.js';
import { flag, stringOption, type Command } from '../command.js';
import { dataDir, storeLocation, withHsm } from '../context.js';
import { CliError, EXIT, UsageError } from '../exit-codes.js';
import { jsonText } from '../output.js';
import { MASTER_OPTIONS } from './partition.js';
import { ARCHIVE_FILE } from './serve.js';

/** Why the archive is not copied: a stable reason and a sentence for the operator. */
interface ArchiveNotCopied {
  readonly copied: false;
  readonly reason: 'not-present' | 'sqlite-destination' | 'no-sqlite-form' | 'postgres-source';
  readonly message: string;
}

interface ArchiveCopied {
  readonly copied: true;
  /** The closed chain it is in: imported-<first 12 hex digits of its head>. */
  readonly chain: string;
  readonly entries: number;
  readonly clockEvents: number;
  /** SEQ:HASH of the last entry, the same in the source and the copy. */
  readonly head: string;
  /** The serials of its tokens, reserved to it: live nodes issue above `last`. */
  readonly serials?: { readonly first: string; readonly last: string };
}

/** What happens to the archive, decided before anything is written. */
function archivePlanFor(
  source: 'sqlite' | 'postgres',
  toPostgres: boolean,
  archivePath: string,
): ArchiveNotCopied | 'import' {
  if (source === 'postgres') {
    return toPostgres
      ? {
          copied: false,
          reason: 'postgres-source',
          message:
            'the archive of a PostgreSQL store is not copied: copy its schema (attestamp_tsa) with pg_dump',
        }
      : {
          copied: false,
          reason: 'no-sqlite-form',
          message:
            'a PostgreSQL archive (one chain per node) has no SQLite form: it stays in the database',
        };
  }
  if (!existsSync(archivePath)) {
    return {
      copied: false,
      reason: 'not-present',
      message: `not present (no ${ARCHIVE_FILE} in the data folder)`,
    };
  }
  if (!toPostgres) {
    return {
      copied: false,
      reason: 'sqlite-destination',
      message: `an archive is copied only into PostgreSQL: it stays in DATA/${ARCHIVE_FILE}`,
    };
  }
  return 'import';
}

/** Refuses, before anything is written, a source that does not verify or was imported already. */
function checkPlan(plan: ArchiveImportPlan): void {
  if (!plan.ok) {
    throw new CliError(
      'archive-integrity',
      EXIT.integrity,
      `the archive does not verify (entry ${String(plan.firstBad?.seq ?? '?')}: ${plan.firstBad?.reason ?? ''}); nothing was copied`,
    );
  }
  if (plan.exists) {
    throw new CliError(
      'archive-exists',
      EXIT.exists,
      `the destination's archive holds the chain ${plan.chain} already (this archive was migrated there before); nothing was copied`,
    );
  }
}

function copiedReport(r: ArchiveImportResult): ArchiveCopied {
  return {
    copied: true,
    chain: r.chain,
    entries: r.entries,
    clockEvents: r.clockEvents,
    head: `${String(r.headSeq)}:${r.head}`,
    ...(r.serials === undefined
      ? {}
      : { serials: { first: r.serials.first, last: (BigInt(r.serials.next) - 1n).toString() } }),
  };
}

function archiveText(a: ArchiveCopied | ArchiveNotCopied): string {
  if (!a.copied)
    return `archive: ${a.reason === 'not-present' ? '' : 'not copied: '}${a.message}\n`;
  return `archive: copied ${String(a.entries)} entries and ${String(a.clockEvents)} clock events as chain ${a.chain}${a.serials === undefined ? '' : ` (serials ${a.serials.first} to ${a.serials.last})`}; the copy verifies and ends at the source's head ${a.head}\n`;
}

export const storeMigrate: Command = {
  path: ['store', 'migrate'],
  summary:
    'Copy the device store and its archive into a new PostgreSQL database (or SQLite file); verify.',
  positionals: [],
  details: `Copies every row as stored: keys stay sealed under the same master key and are
written sealed. The source's audit log must verify; the copy must verify as extending the
source's head, every device, partition, key and officer row must authenticate in it, and every
sealed key must open (in memory) to its stored public key. The copy's log ends with a store.copy
entry. When a check fails, the destination holds a complete but unverified copy: drop it. The destination must be empty (a fresh database or a new file).
Into PostgreSQL, the issuance archive under --data (DATA/${ARCHIVE_FILE}) is copied too, in one
transaction, as a closed chain named imported-HEAD12 (the first 12 hex digits of its head):
every entry as stored and hashed (no entry is re-hashed), the kept responses, the clock events.
Its serials are reserved to that chain, so that the nodes serving afterwards issue larger ones.
The archive must verify first, and the copy must verify and end at the same head; a
destination that holds that chain already (the archive was migrated there before) is refused
before anything is written. Into a SQLite file the archive is not copied (it stays under
--data), nor is a PostgreSQL archive (one chain per node has no SQLite form): the report says so.
The source is left as it was: stop the servers that use it before copying, and point them at
the copy afterwards (--store URL); two live copies of one device diverge.
Give the URL's password in $PGPASSWORD or a ~/.pgpass file rather than in the URL.`,
  options: {
    to: {
      type: 'string',
      value: 'URL|FILE',
      description: 'destination: postgres://USER@HOST:PORT/DB, or a new SQLite file',
    },
    ...MASTER_OPTIONS,
  },
  async run(inv) {
    const to = stringOption(inv, 'to');
    if (to === undefined || to === '') throw new UsageError('--to URL|FILE is required');
    const toPostgres = isPostgresUrl(to);
    const location = toPostgres || isAbsolute(to) ? to : resolve(inv.io.cwd, to);
    const archivePath = join(dataDir(inv), ARCHIVE_FILE);
    const decision = archivePlanFor(storeLocation(inv).kind, toPostgres, archivePath);
    const { result, archive } = await withHsm(inv, async (hsm) => {
      // The archive is checked before the store is copied: a refusal leaves nothing behind.
      let plan: ArchiveImportPlan | undefined;
      if (decision === 'import') {
        plan = await planArchiveImport(archivePath, location);
        checkPlan(plan);
      }
      const copied = await hsm.copyTo(location);
      if (plan === undefined) {
        return { result: copied, archive: decision as ArchiveNotCopied };
      }
      let imported: ArchiveImportResult;
      try {
        imported = await importSqliteArchive(archivePath, location, plan);
      } catch (cause) {
        throw new CliError(
          'archive-not-copied',
          EXIT.failure,
          `the device store was copied but the archive was not (${cause instanceof Error ? cause.message : 'unknown error'}): drop the copy and try again`,
        );
      }
      if (!imported.verified) {
        const bad = imported.copy.firstBad;
        throw new CliError(
          'archive-integrity',
          EXIT.integrity,
          `the copied archive does not verify as the source (${bad === undefined ? `head ${String(imported.copy.headSeq)}:${imported.copy.head}` : `entry ${String(bad.seq)}: ${bad.reason}`}): the destination holds a complete but unverified copy; drop it`,
        );
      }
      return { result: copied, archive: copiedReport(imported) };
    });
    const report = {
      to: toPostgres ? 'postgres' : 'sqlite',
      ...result.counts,
      sourceHead: formatAuditHead(result.head),
      archive,
    };
    if (flag(inv, 'json')) inv.io.stdout(jsonText(report));
    else {
      inv.io.stdout(
        `copied ${report.partitions} partitions, ${report.keys} keys, ${report.officers} officers, ${report.governance} governance objects, ${report.auditEntries} audit entries; the copy verifies and extends ${report.sourceHead}\n` +
          archiveText(archive),
      );
    }
    return EXIT.ok;
  },
};

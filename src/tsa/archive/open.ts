// Opens the issuance archive a server or an archive command names: the SQLite file at a path, or
// the PostgreSQL archive at a postgres:// URL (several nodes on one database).
import { isPostgresUrl } from '../../hsm/index.js';
import type { Signer } from '../../pki/index.js';
import type { Clock, Logger } from '../../shared/index.js';
import { Archive } from './sqlite.js';
import type { IssuanceArchive } from './types.js';

export interface OpenArchiveOptions {
  /** 'serve' records and hands out serials; 'read-only' verifies and searches, changing nothing. */
  readonly mode?: 'serve' | 'read-only';
  /**
   * SQLite: commit on the event loop ('inline', the default, synchronous=FULL), in a worker
   * thread ('thread'), or on the event loop with the WAL flushed in the thread pool ('wal-sync').
   */
  readonly writer?: 'inline' | 'thread' | 'wal-sync';
  /** PostgreSQL: this node's id, naming its own chain (required to serve). */
  readonly node?: string;
  /** PostgreSQL: signs the checkpoints of all chain heads (the TSA unit's timestamp key). */
  readonly signer?: Signer;
  /** PostgreSQL: how often a checkpoint is written while serving (default 60 s; 0: at close only). */
  readonly checkpointIntervalMs?: number;
  readonly logger?: Logger;
  readonly clock?: Clock;
}

/** Whether an archive target is a PostgreSQL connection URL: the device store's one rule. */
export { isPostgresUrl };

/**
 * Opens the archive at `target`. PostgreSQL is loaded only when asked for, so that commands on
 * the embedded store do not load its client.
 */
export async function openArchive(
  target: string,
  options: OpenArchiveOptions = {},
): Promise<IssuanceArchive> {
  const readOnly = options.mode === 'read-only';
  if (!isPostgresUrl(target)) {
    return readOnly
      ? Archive.openReadOnly(target)
      : Archive.open(target, { writer: options.writer ?? 'inline' });
  }
  const { PostgresArchive } = await import('./postgres.js');
  return PostgresArchive.open({
    url: target,
    readOnly,
    ...(options.node === undefined ? {} : { node: options.node }),
    ...(options.signer === undefined ? {} : { signer: options.signer }),
    ...(options.checkpointIntervalMs === undefined
      ? {}
      : { checkpointIntervalMs: options.checkpointIntervalMs }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
}

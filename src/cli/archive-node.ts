// The node id a server's archive chain is named by on a shared PostgreSQL archive: given by the
// operator, or generated once per data folder (host name and a random suffix) and kept there.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { InputError } from './exit-codes.js';

export const NODE_ID_FILE = 'tsa-node-id';

/** Letters, digits and . _ : -, at most 64 (the archive's own rule). */
const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

/**
 * The node id kept in DATA/tsa-node-id, created on first use; a restarted node continues its
 * chain. Processes sharing a data folder (--workers) each take a chain of their own
 * (workerNodeId): a chain has one writer, which keeps its head in memory.
 */
export function archiveNodeId(dataDir: string, given?: string): string {
  if (given !== undefined) {
    if (!NODE_ID.test(given)) {
      throw new InputError('the node id must be letters, digits and . _ : - (at most 64)');
    }
    return given;
  }
  const path = join(dataDir, NODE_ID_FILE);
  if (existsSync(path)) {
    const kept = readFileSync(path, 'utf8').trim();
    if (!NODE_ID.test(kept)) throw new InputError(`'${path}' does not hold a valid node id`);
    return kept;
  }
  const host = hostname()
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 40);
  const id = `${host || 'node'}-${randomBytes(4).toString('hex')}`;
  try {
    // 'wx': a process that loses the race reads the id the winner wrote.
    writeFileSync(path, `${id}\n`, { flag: 'wx', mode: 0o644 });
    return id;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return archiveNodeId(dataDir);
    throw error;
  }
}

/**
 * The chain of worker `worker` (1, 2, ... as node:cluster numbers them) of the node `node`:
 * `NODE.wN`. Undefined `worker`: the node's own process, its own id.
 */
export function workerNodeId(node: string, worker: number | undefined): string {
  if (worker === undefined) return node;
  const id = `${node}.w${String(worker)}`;
  if (!NODE_ID.test(id)) {
    throw new InputError(
      `the node id '${node}' is too long to name the chains of its workers (at most 64 with .wN)`,
    );
  }
  return id;
}

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
 * The node id kept in DATA/tsa-node-id, created on first use. Processes sharing a data folder
 * (--workers) share the id and so one chain, which they append to in turn under its row lock;
 * a restarted node continues its chain.
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

// The archive node id: generated once per data folder and kept, or given and checked.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { archiveNodeId, NODE_ID_FILE, workerNodeId } from '../../../src/cli/archive-node.js';
import { tempDir } from '../../helpers/tmp.js';

describe('archive node id', () => {
  it('is generated once per data folder and read back after', () => {
    const dir = tempDir();
    const first = archiveNodeId(dir);
    expect(first).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]*-[0-9a-f]{8}$/);
    expect(readFileSync(join(dir, NODE_ID_FILE), 'utf8').trim()).toBe(first);
    expect(archiveNodeId(dir)).toBe(first);
    expect(archiveNodeId(tempDir())).not.toBe(first);
  });

  it('takes a given id when valid, and refuses a bad given or kept one', () => {
    const dir = tempDir();
    expect(archiveNodeId(dir, 'tsa-1.example:a')).toBe('tsa-1.example:a');
    expect(() => archiveNodeId(dir, 'has space')).toThrow(/node id/);
    expect(() => archiveNodeId(dir, 'x'.repeat(65))).toThrow(/node id/);
    writeFileSync(join(dir, NODE_ID_FILE), 'not valid!\n');
    expect(() => archiveNodeId(dir)).toThrow(/does not hold a valid node id/);
  });

  it('gives each worker of a node a chain of its own, and the node process its own id', () => {
    expect(workerNodeId('tsa-1', undefined)).toBe('tsa-1');
    expect(workerNodeId('tsa-1', 1)).toBe('tsa-1.w1');
    expect(workerNodeId('tsa-1', 12)).toBe('tsa-1.w12');
    expect(() => workerNodeId('x'.repeat(62), 1)).toThrow(/too long/);
  });
});

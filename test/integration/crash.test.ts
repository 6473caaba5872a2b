// A process killed with SIGKILL in the middle of a burst of key generations leaves a store that
// opens, holds only whole keys, and whose audit chain verifies.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Hsm, type AuditEntry } from '../../src/hsm/index.js';
import { createTestDevice } from '../helpers/hsm.js';

const BURST = resolve(import.meta.dirname, '../fixtures/keygen-burst.js');

function burstUntilKilled(
  storePath: string,
  key: Uint8Array,
  prefix: string,
  after: number,
): Promise<number> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      [BURST, storePath, Buffer.from(key).toString('hex'), prefix],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let committed = -1;
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      for (const line of chunk.trim().split('\n')) committed = Math.max(committed, Number(line));
      // Kill at a moment that depends on the machine: mid-generation or mid-commit.
      if (committed >= after) child.kill('SIGKILL');
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') done(committed);
      else fail(new Error(`burst exited ${String(code)}: ${stderr}`));
    });
  });
}

describe('crash safety', () => {
  it('SIGKILL during a burst of key generations leaves only whole keys and a valid audit chain', async () => {
    const d = await createTestDevice();
    await d.hsm.close();
    const rounds = [7, 13, 21];
    for (const [round, after] of rounds.entries()) {
      const reported = await burstUntilKilled(
        d.storePath,
        (d.masterKey as { key: Uint8Array }).key,
        `r${round}`,
        after,
      );
      expect(reported).toBeGreaterThanOrEqual(after);
    }
    const hsm = await Hsm.open(d.storePath, d.masterKey);
    const audit = await hsm.verifyAudit();
    expect(audit.ok).toBe(true);
    const keys = (await hsm.listKeys('default')).filter((k) => k.role === 'user');
    const generated: AuditEntry[] = [];
    for await (const e of hsm.exportAudit()) {
      if (e.action === 'key.generate' && e.outcome === 'success') generated.push(e);
    }
    // Every key has its audit entry and every entry its key: the same set of ids.
    expect(new Set(generated.map((e) => e.keyId))).toEqual(new Set(keys.map((k) => k.id)));
    expect(keys.length).toBeGreaterThanOrEqual(7 + 13 + 21);
    // Each key unwraps and signs.
    for (const k of keys) {
      const sig = await (await hsm.signer('default', k.label)).sign(randomBytes(16));
      expect(sig.length).toBeGreaterThan(0);
    }
    await hsm.close();
  });
});

// Revocation state read from the audit log: one pass over one state of the log, each entry used
// only once verified, whatever another writer appends while it is read.
import { afterEach, describe, expect, it } from 'vitest';
import type { RevocationState } from '../../../src/hsm/index.js';
import { openDevice } from '../../../src/hsm/device.js';
import { currentRevocationState } from '../../../src/hsm/revocation.js';
import { openStore } from '../../../src/hsm/store/open.js';
import type { Core } from '../../../src/hsm/core.js';
import { hookedStore } from '../../helpers/hooked-store.js';
import { createTestDevice, OFFICER, type TestDevice } from '../../helpers/hsm.js';
import { expectHsmRejection, withRawDb } from './support.js';

describe('the revocation state', () => {
  const closing: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const close of closing.splice(0).reverse()) await close();
  });

  /** A device with a second partition, and a core over its store whose log reads run `hook`. */
  async function setUp(
    hook: (d: TestDevice) => Promise<void>,
  ): Promise<{ d: TestDevice; core: Core; p2: string }> {
    const d = await createTestDevice();
    closing.push(() => d.hsm.close());
    const p2 = (await d.hsm.createPartition('p2')).id;
    let armed = false;
    const store = hookedStore(await openStore(d.storePath), {
      afterAuditPass: async () => {
        if (!armed) return;
        armed = false;
        await hook(d);
      },
    });
    const core = await openDevice(store, d.masterKey);
    closing.push(() => store.close());
    armed = true;
    return { d, core, p2 };
  }

  function revokedIds(state: RevocationState): string[] {
    return [...new Set(state.revoked.map((r) => r.partitionId))];
  }

  it('a revocation committed while the log is read shows in the next answer, never half in this one', async () => {
    let entriesBefore = 0;
    const { d, core, p2 } = await setUp(async (device) => {
      entriesBefore = (await device.hsm.verifyAudit()).entries;
      await device.hsm.revokePartition('p2', 'keyCompromise', OFFICER);
    });
    const state = await currentRevocationState(core);
    // The state before the revocation, whole: its entry count and its list agree.
    expect(revokedIds(state)).toEqual([]);
    expect(state.entries).toBe(entriesBefore);
    const next = await currentRevocationState(core);
    expect(revokedIds(next)).toEqual([p2]);
    expect(next.entries).toBe((await d.hsm.verifyAudit()).entries);
  });

  it('an entry planted while the log is read is never used unverified', async () => {
    const { core } = await setUp((device) => {
      withRawDb(device.storePath, (db) => {
        const head = db.prepare('SELECT max(seq) AS seq FROM audit').get() as { seq: number };
        db.prepare(
          `INSERT INTO audit (seq, at, actor, action, partition_id, key_id, outcome, details_json, prev_hash, hash, mac)
           SELECT ?, at, actor, 'partition.revoke', partition_id, NULL, 'success',
                  '{"reason":"keyCompromise","serials":"0badc0de"}', hash, hash, mac
             FROM audit WHERE seq = ?`,
        ).run(head.seq + 1, head.seq);
      });
      return Promise.resolve();
    });
    const state = await currentRevocationState(core);
    expect(state.revoked.map((r) => r.serial)).not.toContain('0badc0de');
    // Read again, the planted entry fails the chain.
    const error = await expectHsmRejection(currentRevocationState(core), 'integrity-failed');
    expect(error.details?.table).toBe('audit');
  });
});

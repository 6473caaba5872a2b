// Before each use, a key is checked against the newest change the audit log records for it. The
// log holds an entry for every use too, so that lookup must go by the change actions, through an
// index, never through every entry that names the key or its partition.
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestDevice, type TestDevice } from '../../../helpers/hsm.js';

describe('the newest change of a key or a partition (SQLite)', () => {
  let device: TestDevice;

  beforeAll(async () => {
    device = await createTestDevice();
    await device.hsm.close();
  });

  const plan = (sql: string): string[] => {
    const db = new Database(device.storePath, { readonly: true });
    try {
      return (
        db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all('k', 'a', 'b') as { detail: string }[]
      ).map((r) => r.detail);
    } finally {
      db.close();
    }
  };

  it('searches the key index by key and action', () => {
    expect(
      plan(
        "SELECT max(seq) AS seq FROM audit WHERE key_id = ? AND outcome = 'success' AND action IN (?, ?)",
      ),
    ).toEqual(['SEARCH audit USING INDEX audit_key_action (key_id=? AND action=?)']);
  });

  it('searches the partition index by partition and action', () => {
    expect(
      plan(
        "SELECT max(seq) AS seq FROM audit WHERE partition_id = ? AND key_id IS NULL AND outcome = 'success' AND action IN (?, ?)",
      ),
    ).toEqual(['SEARCH audit USING INDEX audit_partition_action (partition_id=? AND action=?)']);
  });
});

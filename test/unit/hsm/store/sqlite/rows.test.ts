// Row access of the device store: compare-and-set updates and deletes change a row only while it
// holds the MAC the caller checked, and the log queries that rows are checked against.
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import {
  checkpointTruncate,
  deleteKeyRow,
  everExported,
  latestKeyChange,
  selectKeyByLabel,
  selectPartitionByName,
  updateKeyRow,
} from '../../../../../src/hsm/store/sqlite/rows.js';
import { createTestDevice } from '../../../../helpers/hsm.js';

describe('compare-and-set on a key row', () => {
  it('updates and deletes only a row that still holds the expected MAC', async () => {
    const d = await createTestDevice();
    const k = await d.hsm.generateKey('default', { label: 'k', algorithm: 'ed25519' });
    await d.hsm.close();
    const db = new Database(d.storePath);
    try {
      const partition = selectPartitionByName(db, 'default')!;
      const row = selectKeyByLabel(db, partition.id, 'k')!;
      expect(row.mac).not.toBeNull();
      const stale = Buffer.alloc(32, 1);
      const next = { ...row, state: 'invalidated' as const, mac: Buffer.alloc(32, 2) };
      expect(updateKeyRow(db, next, stale)).toBe(false);
      expect(deleteKeyRow(db, row.id, stale)).toBe(false);
      expect(selectKeyByLabel(db, partition.id, 'k')?.state).toBe('active');
      expect(updateKeyRow(db, next, row.mac!)).toBe(true);
      // The first writer changed the MAC: a second one holding the old MAC loses.
      expect(updateKeyRow(db, { ...next, state: 'active' }, row.mac!)).toBe(false);
      expect(deleteKeyRow(db, row.id, row.mac!)).toBe(false);
      expect(deleteKeyRow(db, row.id, next.mac)).toBe(true);
      expect(selectKeyByLabel(db, partition.id, 'k')).toBeUndefined();
      expect(checkpointTruncate(db)).toBe(true);
      expect(latestKeyChange(db, k.id, ['key.generate'])).toBeGreaterThan(0);
      expect(latestKeyChange(db, k.id, ['key.restore'])).toBe(0);
      expect(everExported(db, k.id)).toBe(false);
    } finally {
      db.close();
    }
  });
});

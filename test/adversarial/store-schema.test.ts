// Two ways around the row MACs, closed: the row of a destroyed or purged key put back (valid MAC,
// blob still opens) must stay dead, and the SQL schema itself (triggers, views, indexes) must be
// exactly what the migrations make, checked at open and before every audit append.
import { describe, expect, it } from 'vitest';
import { Hsm } from '../../src/hsm/index.js';
import { createTestDevice, OFFICER, type TestDevice } from '../helpers/hsm.js';
import { expectHsmRejection, MESSAGE, withRawDb } from '../unit/hsm/support.js';

type Row = Record<string, unknown>;

function keyRow(device: TestDevice, label: string): Row {
  return withRawDb(
    device.storePath,
    (db) => db.prepare('SELECT * FROM keys WHERE label = ?').get(label) as Row,
  );
}

function putBack(device: TestDevice, row: Row): void {
  withRawDb(device.storePath, (db) => {
    const columns = Object.keys(row);
    db.prepare(
      `INSERT INTO keys (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`,
    ).run(row);
  });
}

describe('a deleted key stays deleted', () => {
  it('a purged key whose trashed row is put back is refused, not restorable', async () => {
    const device = await createTestDevice();
    await device.hsm.generateKey('default', {
      label: 'victim',
      algorithm: 'ecdsa-p256',
      destroyable: true,
    });
    await device.hsm.deleteKey('default', 'victim');
    const saved = keyRow(device, 'victim');
    await device.hsm.purgeKey('default', 'victim', OFFICER);
    await device.hsm.close();
    putBack(device, saved);
    const hsm = await Hsm.open(device.storePath, device.masterKey);
    try {
      await expectHsmRejection(hsm.key('default', 'victim'), 'integrity-failed');
      await expectHsmRejection(hsm.restoreKey('default', 'victim', OFFICER), 'integrity-failed');
      expect((await hsm.verifyAudit()).ok).toBe(true);
    } finally {
      await hsm.close();
    }
  });

  it('a destroyed key (invalidation off) whose active row is put back cannot sign', async () => {
    const device = await createTestDevice();
    await device.hsm.setPartitionPolicy('default', { invalidation: false }, OFFICER);
    await device.hsm.generateKey('default', {
      label: 'gone',
      algorithm: 'ecdsa-p256',
      destroyable: true,
    });
    const saved = keyRow(device, 'gone');
    await device.hsm.deleteKey('default', 'gone');
    await device.hsm.close();
    putBack(device, saved);
    const hsm = await Hsm.open(device.storePath, device.masterKey);
    try {
      // Refused when the signer is made or when it signs, never a signature.
      await expect(
        (async () => (await hsm.signer('default', 'gone')).sign(MESSAGE))(),
      ).rejects.toMatchObject({
        code: 'integrity-failed',
      });
    } finally {
      await hsm.close();
    }
  });
});

describe('the SQL schema is part of the store', () => {
  const edits: [string, string][] = [
    [
      'a trigger that drops refusals from the audit log',
      "CREATE TRIGGER hide BEFORE INSERT ON audit WHEN NEW.outcome <> 'success' BEGIN SELECT RAISE(IGNORE); END",
    ],
    [
      'a trigger that copies every sealed blob',
      'CREATE TABLE loot (b BLOB); CREATE TRIGGER copy AFTER INSERT ON keys BEGIN INSERT INTO loot VALUES (NEW.wrapped); END',
    ],
    ['the unique index on partition and label dropped', 'DROP INDEX keys_partition_label'],
    ['a view added', 'CREATE VIEW v AS SELECT * FROM keys'],
  ];

  for (const [what, sql] of edits) {
    it(`${what}: the store is refused at open`, async () => {
      const device = await createTestDevice();
      await device.hsm.close();
      withRawDb(device.storePath, (db) => db.exec(sql));
      const error = await expectHsmRejection(
        Hsm.open(device.storePath, device.masterKey),
        'integrity-failed',
      );
      expect(error.details?.table).toBe('schema');
    });
  }

  it('a trigger planted while the HSM runs is found before the next write, which does not happen', async () => {
    const device = await createTestDevice();
    const before = withRawDb(
      device.storePath,
      (db) => (db.prepare('SELECT count(*) AS n FROM audit').get() as { n: number }).n,
    );
    withRawDb(device.storePath, (db) =>
      db.exec(
        "CREATE TRIGGER hide BEFORE INSERT ON audit WHEN NEW.outcome <> 'success' BEGIN SELECT RAISE(IGNORE); END",
      ),
    );
    await expect(
      device.hsm.generateKey('default', { label: 'after', algorithm: 'ecdsa-p256' }),
    ).rejects.toMatchObject({ code: 'integrity-failed' });
    await device.hsm.close();
    withRawDb(device.storePath, (db) => {
      expect(db.prepare("SELECT count(*) AS n FROM keys WHERE label = 'after'").get()).toEqual({
        n: 0,
      });
      expect((db.prepare('SELECT count(*) AS n FROM audit').get() as { n: number }).n).toBe(before);
    });
  });

  it('an untouched store opens (the check is exact, not a blanket refusal)', async () => {
    const device = await createTestDevice();
    await device.hsm.close();
    const hsm = await Hsm.open(device.storePath, device.masterKey);
    expect((await hsm.listPartitions()).map((p) => p.name)).toEqual(['default']);
    await hsm.close();
  });
});

// A value of the SQL schema that JSON cannot hold: a BLOB written over a text field of a
// sqlite_schema row (an edit of the file's bytes; SQLite still opens the store). The schema
// check must report it as the tampering it is (integrity-failed, table schema), at open and
// before a write of a running HSM, not fail with the SQL error of the JSON text it compares.
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Hsm } from '../../src/hsm/index.js';
import { createTestDevice } from '../helpers/hsm.js';
import { expectHsmRejection, withRawDb } from '../unit/hsm/support.js';

/**
 * Rewrites the record of the `meta` table in sqlite_schema so that its tbl_name ('meta', serial
 * type 21: text of 4 bytes) is a BLOB of the same 4 bytes (serial type 20). One byte of the
 * record header changes; the record keeps its length.
 */
function blobTableName(path: string): void {
  const file = readFileSync(path);
  const body = file.indexOf(Buffer.from('tablemetameta', 'latin1'));
  expect(body).toBeGreaterThan(0);
  // The header (length, then one serial type per column) ends right before the body: type
  // 'table' (23), name 'meta' (21), tbl_name 'meta' (21), rootpage, sql.
  let at = -1;
  for (let i = body - 1; i >= Math.max(0, body - 12); i--) {
    if (file[i] === 23 && file[i + 1] === 21 && file[i + 2] === 21) {
      at = i + 2;
      break;
    }
  }
  expect(at).toBeGreaterThan(0);
  file[at] = 20;
  writeFileSync(path, file);
}

describe('a BLOB planted in the SQL schema', () => {
  it('the store is refused at open as an integrity failure', async () => {
    const device = await createTestDevice();
    await device.hsm.close();
    blobTableName(device.storePath);
    // SQLite still reads the schema (the edit is not a corruption it notices).
    expect(
      withRawDb(
        device.storePath,
        (db) =>
          db
            .prepare("SELECT typeof(tbl_name) AS t FROM sqlite_schema WHERE name = 'meta'")
            .get() as {
            t: string;
          },
      ),
    ).toEqual({ t: 'blob' });
    const error = await expectHsmRejection(
      Hsm.open(device.storePath, device.masterKey),
      'integrity-failed',
    );
    expect(error.details?.table).toBe('schema');
  });
});

// The key records of a bundle, as the opened content holds them: a malformed record is
// backup-invalid, never a TypeError.
import { describe, expect, it } from 'vitest';
import { parseRecords } from '../../../../src/hsm/backup/bundle.js';
import { HsmError } from '../../../../src/hsm/index.js';

function code(bytes: number[]): string {
  try {
    parseRecords(Uint8Array.from(bytes));
    return 'parsed';
  } catch (e) {
    return e instanceof HsmError ? e.code : String(e);
  }
}

describe('bundle key records', () => {
  it('a well-formed record parses', () => {
    const records = parseRecords(
      Uint8Array.from([0x30, 0x08, 0x30, 0x06, 0x0c, 0x01, 0x61, 0x04, 0x01, 0x07]),
    );
    expect([...records.entries()]).toEqual([['a', Uint8Array.of(7)]]);
  });

  it('a record without material, with a field too many, or of the wrong type is backup-invalid', () => {
    expect(code([0x30, 0x05, 0x30, 0x03, 0x0c, 0x01, 0x61])).toBe('backup-invalid');
    expect(code([0x30, 0x02, 0x30, 0x00])).toBe('backup-invalid');
    expect(
      code([0x30, 0x0b, 0x30, 0x09, 0x0c, 0x01, 0x61, 0x04, 0x01, 0x07, 0x04, 0x01, 0x07]),
    ).toBe('backup-invalid');
    expect(code([0x30, 0x08, 0x30, 0x06, 0x04, 0x01, 0x61, 0x0c, 0x01, 0x07])).toBe(
      'backup-invalid',
    );
    expect(code([0x30, 0x03, 0x02, 0x01, 0x00])).toBe('backup-invalid');
    expect(code([0x30, 0x09, 0x30])).toBe('backup-invalid');
  });
});

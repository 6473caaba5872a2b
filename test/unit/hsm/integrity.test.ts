// The canonical row encoding and its MAC: injective over field boundaries and types, bound to the
// device, and compared so that a missing or short MAC never matches.
import { describe, expect, it } from 'vitest';
import {
  deriveRowMacKeys,
  encodeFields,
  keyRowEncoding,
  macMatches,
  ROW_MAC_LABELS,
  rowMac,
  type KeyRowFields,
} from '../../../src/hsm/integrity.js';

const KEY = new Uint8Array(32).fill(3);

const ROW: KeyRowFields = {
  id: 'k1',
  partition_id: 'p1',
  label: 'sign',
  role: 'user',
  kind: 'asymmetric',
  algorithm: 'ecdsa-p256',
  spki: new Uint8Array([1, 2, 3]),
  attributes_json: '{"extractable":false}',
  state: 'active',
  created_at: '2026-01-01T00:00:00.000Z',
  invalidated_at: null,
  wrapped: new Uint8Array([9, 9]),
  audit_seq: 7,
};

describe('encodeFields', () => {
  it('keeps field boundaries, types and null apart', () => {
    const distinct = [
      encodeFields(['ab', 'c']),
      encodeFields(['a', 'bc']),
      encodeFields(['abc']),
      encodeFields(['', 'abc']),
      encodeFields([null, 'abc']),
      encodeFields(['7']),
      encodeFields([7]),
      encodeFields([new Uint8Array([0x37])]),
    ].map((b) => b.toString('hex'));
    expect(new Set(distinct).size).toBe(distinct.length);
  });

  it('refuses a number that is not a safe integer', () => {
    expect(() => encodeFields([1.5])).toThrow();
  });
});

describe('row MACs', () => {
  it('derive one key per table, each different, and per device', () => {
    const a = deriveRowMacKeys(KEY, 'SWHSM-A');
    const b = deriveRowMacKeys(KEY, 'SWHSM-B');
    const all = [...Object.values(a), ...Object.values(b)].map((k) => k.toString('hex'));
    expect(new Set(all).size).toBe(2 * Object.keys(ROW_MAC_LABELS).length);
  });

  it('change with every column and with the device id', () => {
    const keys = deriveRowMacKeys(KEY, 'SWHSM-A');
    const base = rowMac(keys.key, keyRowEncoding('SWHSM-A', ROW)).toString('hex');
    const variants: KeyRowFields[] = [
      { ...ROW, id: 'k2' },
      { ...ROW, partition_id: null },
      { ...ROW, label: 'sign2' },
      { ...ROW, role: 'partition-timestamp' },
      { ...ROW, algorithm: 'ecdsa-p384' },
      { ...ROW, spki: new Uint8Array([1, 2, 4]) },
      { ...ROW, attributes_json: '{"extractable":true}' },
      { ...ROW, state: 'invalidated' },
      { ...ROW, created_at: '2026-01-01T00:00:00.001Z' },
      { ...ROW, invalidated_at: '2026-01-02T00:00:00.000Z' },
      { ...ROW, wrapped: new Uint8Array([9, 8]) },
      { ...ROW, audit_seq: 8 },
    ];
    for (const v of variants) {
      expect(rowMac(keys.key, keyRowEncoding('SWHSM-A', v)).toString('hex')).not.toBe(base);
    }
    expect(rowMac(keys.key, keyRowEncoding('SWHSM-B', ROW)).toString('hex')).not.toBe(base);
  });

  it('never match a missing, short or foreign MAC', () => {
    const keys = deriveRowMacKeys(KEY, 'SWHSM-A');
    const enc = keyRowEncoding('SWHSM-A', ROW);
    const mac = rowMac(keys.key, enc);
    expect(macMatches(keys.key, enc, mac)).toBe(true);
    expect(macMatches(keys.key, enc, null)).toBe(false);
    expect(macMatches(keys.key, enc, mac.subarray(0, 16))).toBe(false);
    expect(macMatches(keys.partition, enc, mac)).toBe(false);
  });
});

// The writer thread's batch message: records survive the round trip field for field, nulls
// and a kept response included, and a truncated message is refused.
import { describe, expect, it } from 'vitest';
import { decodeBatch, encodeBatch } from '../../../src/tsa/archive/batch-message.js';
import type { ArchiveRecord } from '../../../src/tsa/index.js';

const pool = Buffer.alloc(8192, 7);
const granted: ArchiveRecord = {
  at: '2026-12-02T00:00:00.000Z',
  unit: 'default',
  keySpkiSha256: 'ab'.repeat(32),
  serial: 2n ** 70n + 5n,
  genTime: '20261202000000.123Z',
  policy: '1.3.6.1.4.1.32473.3161.6.1',
  hashAlgorithm: '2.16.840.1.101.3.4.2.1',
  // Views into a larger buffer, as a request body's fields are.
  imprint: pool.subarray(100, 132),
  nonce: pool.subarray(140, 148),
  status: 'granted',
  failInfo: null,
  responseSha256: Uint8Array.from({ length: 32 }, (_, i) => i),
};
const rejection: ArchiveRecord = {
  at: '2026-12-02T00:00:01.000Z',
  unit: 'pq',
  keySpkiSha256: 'cd'.repeat(32),
  serial: null,
  genTime: null,
  policy: null,
  hashAlgorithm: null,
  imprint: null,
  nonce: null,
  status: 'rejection',
  failInfo: 'badAlg',
  responseSha256: Uint8Array.from({ length: 32 }, (_, i) => 255 - i),
  response: Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x02),
};

const plain = (r: ArchiveRecord): Record<string, unknown> => ({
  ...r,
  imprint: r.imprint === null ? null : [...r.imprint],
  nonce: r.nonce === null ? null : [...r.nonce],
  responseSha256: [...r.responseSha256],
  ...(r.response === undefined ? {} : { response: [...r.response] }),
});

describe('archive batch message', () => {
  it('round-trips granted and rejected records, nulls and a kept response', () => {
    const message = encodeBatch([granted, rejection, granted]);
    // One buffer of its own: a view into a pooled body is never sent whole.
    expect(message.bytes.byteLength).toBe(32 + 8 + 32 + 32 + 5 + 32 + 8 + 32);
    expect(message.bytes.buffer.byteLength).toBe(message.bytes.byteLength);
    const back = decodeBatch(structuredClone(message));
    expect(back.map(plain)).toEqual([granted, rejection, granted].map(plain));
    expect(back[1]).not.toHaveProperty('response', undefined);
    expect('response' in back[0]!).toBe(false);
  });

  it('an empty batch round-trips; a truncated one is refused', () => {
    expect(decodeBatch(encodeBatch([]))).toEqual([]);
    const message = encodeBatch([granted]);
    expect(() => decodeBatch({ text: message.text, bytes: message.bytes.subarray(1) })).toThrow(
      RangeError,
    );
  });
});

// An archive record of a granted token with random imprint, nonce and response hash, for the
// tests of the SQLite archive's writers.
import { randomBytes } from 'node:crypto';
import type { ArchiveRecord } from '../../src/tsa/index.js';

export function randomArchiveRecord(serial: bigint): ArchiveRecord {
  return {
    at: new Date().toISOString(),
    unit: 'default',
    keySpkiSha256: 'ab'.repeat(32),
    serial,
    genTime: '20261203000000Z',
    policy: '1.3.6.1.4.1.32473.3161.6.1',
    hashAlgorithm: '2.16.840.1.101.3.4.2.1',
    imprint: randomBytes(32),
    nonce: randomBytes(8),
    status: 'granted',
    failInfo: null,
    responseSha256: randomBytes(32),
  };
}

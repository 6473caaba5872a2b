// A batch of archive records as the message to the SQLite writer thread: the text fields as one
// JSON string and every byte field copied into one buffer. Structured cloning the records
// themselves costs an object, a BigInt and three ArrayBuffers per record on each side of the
// thread boundary (about 6 µs per record); this message is one string and one buffer a batch.
import type { FailInfo } from '../errors.js';
import type { ArchiveRecord } from './types.js';

export interface BatchMessage {
  /** Per record: at, unit, key, serial, genTime, policy, hash, status, failInfo, 4 lengths. */
  readonly text: string;
  /** The imprint, nonce, response hash and kept response of each record, in that order. */
  readonly bytes: Uint8Array;
}

const FIELDS = 13;

/** A byte field's length in the message; -1 for null (an absent kept response is -1 too). */
const size = (b: Uint8Array | null | undefined): number => (b == null ? -1 : b.length);

export function encodeBatch(records: readonly ArchiveRecord[]): BatchMessage {
  let total = 0;
  for (const r of records) {
    total += (r.imprint?.length ?? 0) + (r.nonce?.length ?? 0) + r.responseSha256.length;
    total += r.response?.length ?? 0;
  }
  // A buffer of its own (never a view into the shared pool, which would be copied whole).
  const bytes = new Uint8Array(total);
  const fields: (string | number | null)[] = [];
  let at = 0;
  const put = (b: Uint8Array | null | undefined): void => {
    if (b == null) return;
    bytes.set(b, at);
    at += b.length;
  };
  for (const r of records) {
    fields.push(
      r.at,
      r.unit,
      r.keySpkiSha256,
      r.serial === null ? null : r.serial.toString(),
      r.genTime,
      r.policy,
      r.hashAlgorithm,
      r.status,
      r.failInfo,
      size(r.imprint),
      size(r.nonce),
      r.responseSha256.length,
      size(r.response),
    );
    put(r.imprint);
    put(r.nonce);
    put(r.responseSha256);
    put(r.response);
  }
  return { text: JSON.stringify(fields), bytes };
}

/** The records of a batch message; byte fields are Buffer views into the message's buffer. */
export function decodeBatch(message: BatchMessage): ArchiveRecord[] {
  const f = JSON.parse(message.text) as (string | number | null)[];
  const src = message.bytes;
  const buf = Buffer.from(src.buffer, src.byteOffset, src.byteLength);
  if (f.length % FIELDS !== 0) throw new RangeError('malformed archive batch');
  let at = 0;
  const take = (n: number): Buffer | null => {
    if (n < 0) return null;
    if (at + n > buf.length) throw new RangeError('malformed archive batch');
    const b = buf.subarray(at, at + n);
    at += n;
    return b;
  };
  const records: ArchiveRecord[] = [];
  for (let i = 0; i < f.length; i += FIELDS) {
    const serial = f[i + 3] as string | null;
    const imprint = take(f[i + 9] as number);
    const nonce = take(f[i + 10] as number);
    const responseSha256 = take(f[i + 11] as number) ?? Buffer.alloc(0);
    const response = take(f[i + 12] as number);
    records.push({
      at: f[i] as string,
      unit: f[i + 1] as string,
      keySpkiSha256: f[i + 2] as string,
      serial: serial === null ? null : BigInt(serial),
      genTime: f[i + 4] as string | null,
      policy: f[i + 5] as string | null,
      hashAlgorithm: f[i + 6] as string | null,
      status: f[i + 7] as 'granted' | 'rejection',
      failInfo: f[i + 8] as FailInfo | null,
      imprint,
      nonce,
      responseSha256,
      ...(response === null ? {} : { response }),
    });
  }
  if (at !== buf.length) throw new RangeError('malformed archive batch');
  return records;
}

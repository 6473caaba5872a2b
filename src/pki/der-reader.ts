// A small reader over DER that assertStrictDer has already accepted: TLV navigation and value
// decoding with exact OID text (asn1js misreads arcs above 2^53, such as 2.25 UUID arcs).
import { PkiError } from './errors.js';

export interface Tlv {
  readonly tag: number;
  /** Offset of the tag octet. */
  readonly start: number;
  /** Offset of the first value octet. */
  readonly valueStart: number;
  /** Offset after the value. */
  readonly end: number;
}

function fail(message: string, offset: number): never {
  throw new PkiError('asn1-schema', message, { details: { offset } });
}

/** One TLV with a single-octet tag starting at pos (the input is strict DER already). */
export function readTlv(b: Uint8Array, pos: number, limit: number = b.length): Tlv {
  if (pos + 2 > limit) fail('truncated value', pos);
  const tag = b[pos]!;
  if ((tag & 0x1f) === 0x1f) fail('unexpected high tag number', pos);
  let len = b[pos + 1]!;
  let valueStart = pos + 2;
  if (len >= 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || valueStart + n > limit) fail('bad length', pos + 1);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[valueStart + i]!;
    valueStart += n;
  }
  const end = valueStart + len;
  if (end > limit) fail('value runs past its container', pos);
  return { tag, start: pos, valueStart, end };
}

/** The TLVs inside a constructed value. */
export function childrenOf(b: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let pos = parent.valueStart;
  while (pos < parent.end) {
    const t = readTlv(b, pos, parent.end);
    out.push(t);
    pos = t.end;
  }
  return out;
}

export function expectTag(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (t?.tag !== tag) fail(`expected ${what}`, t?.start ?? -1);
  return t;
}

export function contentOf(b: Uint8Array, t: Tlv): Uint8Array {
  return b.subarray(t.valueStart, t.end);
}

export function encodingOf(b: Uint8Array, t: Tlv): Uint8Array {
  return b.subarray(t.start, t.end);
}

/** Exact dotted text of an OBJECT IDENTIFIER's content octets (BigInt for large arcs). */
export function oidFromContent(content: Uint8Array): string {
  const arcs: bigint[] = [];
  let value = 0n;
  for (const byte of content) {
    value = (value << 7n) | BigInt(byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0n;
    }
  }
  const first = arcs[0];
  if (first === undefined) return '';
  const top = first < 80n ? first / 40n : 2n;
  return [top, first - top * 40n, ...arcs.slice(1)].map(String).join('.');
}

export function readOid(b: Uint8Array, t: Tlv | undefined): string {
  const v = expectTag(t, 0x06, 'object identifier');
  return oidFromContent(contentOf(b, v));
}

export function readBoolean(b: Uint8Array, t: Tlv | undefined): boolean {
  const v = expectTag(t, 0x01, 'boolean');
  return b[v.valueStart] === 0xff;
}

/** Non-negative INTEGER or ENUMERATED value. */
export function readUnsigned(b: Uint8Array, t: Tlv | undefined, tag = 0x02): bigint {
  const v = expectTag(t, tag, tag === 0x0a ? 'enumerated' : 'integer');
  if ((b[v.valueStart]! & 0x80) !== 0) fail('negative value', v.start);
  let n = 0n;
  for (let i = v.valueStart; i < v.end; i++) n = (n << 8n) | BigInt(b[i]!);
  return n;
}

export function readUtf8(b: Uint8Array, t: Tlv | undefined): string {
  const v = expectTag(t, 0x0c, 'utf8 string');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(contentOf(b, v));
  } catch {
    return fail('invalid utf-8', v.start);
  }
}

export function readOctets(b: Uint8Array, t: Tlv | undefined): Uint8Array {
  return contentOf(b, expectTag(t, 0x04, 'octet string'));
}

/** GeneralizedTime (DER form) as a Date; fractions kept to milliseconds. */
export function readGeneralizedTime(b: Uint8Array, t: Tlv | undefined): Date {
  const v = expectTag(t, 0x18, 'generalized time');
  let text = '';
  for (let i = v.valueStart; i < v.end; i++) text += String.fromCharCode(b[i]!);
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\.\d+)?Z$/.exec(text);
  if (m === null) fail('generalized time not in DER form', v.start);
  const [, y, mo, d, h, mi, s, frac] = m;
  const ms = frac === undefined ? 0 : Math.floor(Number(`0${frac}`) * 1000);
  const date = utcInstant(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s), ms);
  if (date === undefined) fail('impossible date', v.start);
  return date;
}

/**
 * The instant of these UTC calendar fields (month 1-12), or undefined when a field is out of
 * range: Date.UTC would roll month 13, 30 February, 24:00 or second 60 over into a later valid
 * instant, and would read years 0-99 as 1900-1999.
 */
export function utcInstant(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  ms = 0,
): Date | undefined {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  const exact =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second;
  return exact ? date : undefined;
}

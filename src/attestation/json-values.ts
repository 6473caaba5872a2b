// One JSON representation per kind of value in the verifier's reports (README "The JSON
// contract"): times ISO 8601 with the precision they were encoded with, integers such as serials
// as decimal strings with a lowercase hex field, byte strings as lowercase hex without sign bytes.
import { toHex } from '../shared/index.js';

/**
 * A DER GeneralizedTime (YYYYMMDDHHMMSS[.f...]Z, X.690 11.7) as ISO 8601 with the same
 * fraction digits: `20261201064352.142Z` is `2026-12-01T06:43:52.142Z`. Text in any other form
 * is returned unchanged (the caller reports the encoding problem).
 */
export function isoFromGeneralizedTime(text: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\.\d+)?Z$/.exec(text);
  if (m === null) return text;
  return `${m[1]!}-${m[2]!}-${m[3]!}T${m[4]!}:${m[5]!}:${m[6]!}${m[7] ?? ''}Z`;
}

/** An instant encoded to the second (RFC 5280 4.1.2.5: certificate validity has no fraction). */
export function isoSeconds(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The content octets of a DER INTEGER as hex without the sign byte X.690 8.3.2 adds before a
 * high bit (`00 80` is `80`); a negative integer keeps its two's complement octets.
 */
export function unsignedHex(content: Uint8Array): string {
  const stripped = content.length > 1 && content[0] === 0 && content[1]! >= 0x80;
  return toHex(stripped ? content.subarray(1) : content);
}

/** The value of a DER INTEGER (two's complement content octets) as a decimal string. */
export function integerDecimal(content: Uint8Array): string {
  if (content.length === 0) return '0';
  const value = BigInt(`0x${toHex(content)}`);
  const negative = (content[0]! & 0x80) !== 0;
  return (negative ? value - (1n << BigInt(content.length * 8)) : value).toString(10);
}

/** A serial number for a report: `{ serial: "1025", serialHex: "0401" }`. */
export function serialFields(content: Uint8Array): { serial: string; serialHex: string } {
  return { serial: integerDecimal(content), serialHex: unsignedHex(content) };
}

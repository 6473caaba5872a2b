// RFC 3161 2.4.1 TimeStampReq: a strict, allocation-light DER reader for the hot path. It
// checks syntax only (parseTimeStampReq); policy checks live in the service.
import { TsaError } from './errors.js';

/**
 * TimeStampReq ::= SEQUENCE {
 *   version        INTEGER { v1(1) },
 *   messageImprint MessageImprint,
 *   reqPolicy      TSAPolicyId OPTIONAL,
 *   nonce          INTEGER OPTIONAL,
 *   certReq        BOOLEAN DEFAULT FALSE,
 *   extensions     [0] IMPLICIT Extensions OPTIONAL }
 * MessageImprint ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, hashedMessage OCTET STRING }
 */
export interface TimeStampReq {
  readonly version: number;
  /** The DER of MessageImprint exactly as received (copied verbatim into TSTInfo). */
  readonly messageImprint: Uint8Array;
  /** Dotted OID of the imprint's hash algorithm. */
  readonly hashAlgorithm: string;
  /** Whether the AlgorithmIdentifier carried NULL parameters (absent otherwise). */
  readonly hashParametersNull: boolean;
  readonly hashedMessage: Uint8Array;
  readonly reqPolicy: string | undefined;
  /** The nonce INTEGER's content octets exactly as received (echoed verbatim). */
  readonly nonce: Uint8Array | undefined;
  readonly certReq: boolean;
  readonly extensions: readonly { readonly oid: string; readonly critical: boolean }[];
}

export interface RequestLimits {
  /** Longest nonce accepted, in content octets (RFC 3161 asks for at least 64 bits). */
  readonly maxNonceOctets: number;
  /** Most extensions examined before the request is refused. */
  readonly maxExtensions: number;
}

/** 128 octets hold a 1016-bit nonce: well beyond the 160 bits ETSI and clients use. */
export const DEFAULT_REQUEST_LIMITS: RequestLimits = { maxNonceOctets: 128, maxExtensions: 16 };

function malformed(message: string, offset: number): never {
  throw new TsaError('request-malformed', `malformed request: ${message}`, { details: { offset } });
}

interface Tlv {
  readonly tag: number;
  readonly start: number;
  readonly valueStart: number;
  readonly end: number;
}

/** Reads one TLV with a single-octet tag and a minimal definite length inside [pos, limit). */
function readTlv(b: Uint8Array, pos: number, limit: number): Tlv {
  if (pos + 2 > limit) malformed('truncated', pos);
  const tag = b[pos]!;
  if ((tag & 0x1f) === 0x1f) malformed('unexpected high tag number', pos);
  let len = b[pos + 1]!;
  let valueStart = pos + 2;
  if (len >= 0x80) {
    const n = len & 0x7f;
    if (n === 0) malformed('indefinite length is not DER', pos + 1);
    if (n > 3) malformed('length too large', pos + 1);
    if (valueStart + n > limit) malformed('truncated length', pos + 1);
    if (b[valueStart] === 0) malformed('non-minimal length', pos + 1);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[valueStart + i]!;
    if (len < 0x80) malformed('non-minimal length', pos + 1);
    valueStart += n;
  }
  const end = valueStart + len;
  if (end > limit) malformed('value runs past its container', pos);
  return { tag, start: pos, valueStart, end };
}

function expectTag(t: Tlv, tag: number, what: string): void {
  if (t.tag !== tag) malformed(`expected ${what}`, t.start);
}

function checkInteger(b: Uint8Array, t: Tlv): void {
  const len = t.end - t.valueStart;
  if (len === 0) malformed('empty integer', t.start);
  if (len > 1) {
    const a = b[t.valueStart]!;
    const c = b[t.valueStart + 1]!;
    if ((a === 0 && (c & 0x80) === 0) || (a === 0xff && (c & 0x80) !== 0)) {
      malformed('non-minimal integer', t.start);
    }
  }
}

/** Dotted text of an OID's content octets; validates minimal base-128 arcs. */
export function decodeOid(b: Uint8Array, start: number, end: number): string {
  if (end <= start) malformed('empty object identifier', start);
  if ((b[end - 1]! & 0x80) !== 0) malformed('truncated object identifier', start);
  const arcs: string[] = [];
  let value = 0;
  let big: bigint | undefined;
  let atStart = true;
  for (let i = start; i < end; i++) {
    const byte = b[i]!;
    if (atStart && byte === 0x80) malformed('non-minimal object identifier arc', i);
    atStart = false;
    if (big !== undefined) big = (big << 7n) | BigInt(byte & 0x7f);
    else if (value > 0x3fffffffffff) big = (BigInt(value) << 7n) | BigInt(byte & 0x7f);
    else value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      if (arcs.length === 0) {
        const first = big ?? BigInt(value);
        const top = first < 80n ? first / 40n : 2n;
        arcs.push(String(top), String(first - top * 40n));
      } else {
        arcs.push(big === undefined ? String(value) : String(big));
      }
      value = 0;
      big = undefined;
      atStart = true;
    }
  }
  return arcs.join('.');
}

function readOid(b: Uint8Array, t: Tlv): string {
  expectTag(t, 0x06, 'object identifier');
  return decodeOid(b, t.valueStart, t.end);
}

function readBoolean(b: Uint8Array, t: Tlv): boolean {
  if (t.end - t.valueStart !== 1) malformed('boolean must be one octet', t.start);
  const v = b[t.valueStart];
  if (v === 0xff) return true;
  if (v === 0x00) return false;
  return malformed('boolean must be 0x00 or 0xff', t.start);
}

export function parseTimeStampReq(
  bytes: Uint8Array,
  limits: RequestLimits = DEFAULT_REQUEST_LIMITS,
): TimeStampReq {
  const outer = readTlv(bytes, 0, bytes.length);
  expectTag(outer, 0x30, 'TimeStampReq sequence');
  if (outer.end !== bytes.length) malformed('trailing bytes after the request', outer.end);
  const end = outer.end;

  // version INTEGER { v1(1) }
  const vt = readTlv(bytes, outer.valueStart, end);
  expectTag(vt, 0x02, 'version integer');
  checkInteger(bytes, vt);
  const version = vt.end - vt.valueStart === 1 ? bytes[vt.valueStart]! : -1;

  // messageImprint
  const mi = readTlv(bytes, vt.end, end);
  expectTag(mi, 0x30, 'messageImprint sequence');
  const alg = readTlv(bytes, mi.valueStart, mi.end);
  expectTag(alg, 0x30, 'hash algorithm identifier');
  const algOid = readTlv(bytes, alg.valueStart, alg.end);
  const hashAlgorithm = readOid(bytes, algOid);
  let hashParametersNull = false;
  if (algOid.end < alg.end) {
    const params = readTlv(bytes, algOid.end, alg.end);
    // SHA-2 and SHA-3 identifiers take absent or NULL parameters (RFC 5754 2, RFC 8702).
    if (params.tag !== 0x05 || params.end !== params.valueStart) {
      malformed('hash algorithm parameters must be absent or NULL', params.start);
    }
    if (params.end !== alg.end) malformed('trailing data in hash algorithm identifier', params.end);
    hashParametersNull = true;
  }
  const hm = readTlv(bytes, alg.end, mi.end);
  expectTag(hm, 0x04, 'hashedMessage octet string');
  if (hm.end !== mi.end) malformed('trailing data in messageImprint', hm.end);

  let pos = mi.end;
  let reqPolicy: string | undefined;
  let nonce: Uint8Array | undefined;
  let certReq = false;
  const extensions: { oid: string; critical: boolean }[] = [];
  let stage = 0; // fields must come in order, each at most once
  while (pos < end) {
    const t = readTlv(bytes, pos, end);
    if (t.tag === 0x06 && stage < 1) {
      reqPolicy = readOid(bytes, t);
      stage = 1;
    } else if (t.tag === 0x02 && stage < 2) {
      checkInteger(bytes, t);
      if (t.end - t.valueStart > limits.maxNonceOctets) {
        throw new TsaError('nonce-too-long', 'the nonce is longer than this TSA accepts', {
          details: { octets: t.end - t.valueStart, limit: limits.maxNonceOctets },
        });
      }
      nonce = bytes.subarray(t.valueStart, t.end);
      stage = 2;
    } else if (t.tag === 0x01 && stage < 3) {
      // DER omits a DEFAULT value; an explicit FALSE is tolerated because some clients send it.
      certReq = readBoolean(bytes, t);
      stage = 3;
    } else if (t.tag === 0xa0 && stage < 4) {
      readExtensions(bytes, t, extensions, limits);
      stage = 4;
    } else {
      malformed('unexpected or repeated field in TimeStampReq', t.start);
    }
    pos = t.end;
  }
  return {
    version,
    messageImprint: bytes.subarray(mi.start, mi.end),
    hashAlgorithm,
    hashParametersNull,
    hashedMessage: bytes.subarray(hm.valueStart, hm.end),
    reqPolicy,
    nonce,
    certReq,
    extensions,
  };
}

/** Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension (RFC 5280 4.1) */
function readExtensions(
  b: Uint8Array,
  t: Tlv,
  out: { oid: string; critical: boolean }[],
  limits: RequestLimits,
): void {
  let pos = t.valueStart;
  if (pos === t.end) malformed('empty extensions', t.start);
  while (pos < t.end) {
    if (out.length >= limits.maxExtensions) malformed('too many extensions', pos);
    const ext = readTlv(b, pos, t.end);
    expectTag(ext, 0x30, 'extension sequence');
    const id = readTlv(b, ext.valueStart, ext.end);
    const oid = readOid(b, id);
    let next = readTlv(b, id.end, ext.end);
    let critical = false;
    if (next.tag === 0x01) {
      critical = readBoolean(b, next);
      next = readTlv(b, next.end, ext.end);
    }
    expectTag(next, 0x04, 'extension value octet string');
    if (next.end !== ext.end) malformed('trailing data in extension', next.end);
    if (out.some((e) => e.oid === oid)) malformed('duplicate extension', ext.start);
    out.push({ oid, critical });
    pos = ext.end;
  }
}

// RFC 3161 2.4.1 TimeStampReq read with the strict DER reader of src/pki, lazily and
// allocation-light for the hot path. It checks syntax only (parseTimeStampReq); policy checks
// live in the service.
import { derReader, PkiError } from '../pki/index.js';
import { TsaError } from './errors.js';

type Tlv = derReader.Tlv;

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

const { checkIntegerContent, expectTag, readBoolean, readOid } = derReader;

/**
 * A request is far below 16 MiB (the HTTP body limit is much smaller), so a length needs at most
 * three octets: a fourth is refused before it is read.
 */
const MAX_REQUEST_LENGTH_OCTETS = 3;

/**
 * The dotted text of the last OIDs read: the imprint's hash algorithm and the policy repeat from
 * request to request, and decoding one builds a string arc by arc. Only OIDs that decoded (and so
 * passed the DER checks) are kept, by their exact octets.
 */
const OID_CACHE_SIZE = 8;
const oidCache: { readonly octets: Uint8Array; readonly text: string }[] = [];
let oidCacheNext = 0;

function readOidCached(b: Uint8Array, t: Tlv): string {
  if (t.tag === 0x06) {
    const length = t.end - t.valueStart;
    for (const entry of oidCache) {
      const o = entry.octets;
      if (o.length !== length) continue;
      let i = 0;
      while (i < length && o[i] === b[t.valueStart + i]) i++;
      if (i === length) return entry.text;
    }
  }
  const text = readOid(b, t);
  // A copy: Buffer.prototype.slice would share the request body.
  oidCache[oidCacheNext] = { octets: new Uint8Array(b.subarray(t.valueStart, t.end)), text };
  oidCacheNext = (oidCacheNext + 1) % OID_CACHE_SIZE;
  return text;
}

/**
 * A plain Uint8Array view of part of the request: subarray() of a Buffer body makes a Buffer,
 * which costs several times as much.
 */
function view(b: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset + start, end - start);
}

/** One TLV with a single-octet tag and a minimal definite length inside [pos, limit). */
function readTlv(b: Uint8Array, pos: number, limit: number): Tlv {
  return derReader.readTlv(b, pos, limit, MAX_REQUEST_LENGTH_OCTETS);
}

/**
 * The TLVs of the request walk, read into these instead of new objects: reading is synchronous
 * and keeps none of them (a request used to allocate a dozen).
 */
const cursor = (): derReader.MutableTlv => ({ tag: 0, start: 0, valueStart: 0, end: 0 });
const OUTER = cursor();
const VERSION = cursor();
const IMPRINT = cursor();
const HASH_ALGORITHM = cursor();
const HASH_OID = cursor();
const HASH_PARAMS = cursor();
const DIGEST = cursor();
const FIELD = cursor();

const NO_EXTENSIONS: TimeStampReq['extensions'] = Object.freeze([]);

function readInto(out: derReader.MutableTlv, b: Uint8Array, pos: number, limit: number): Tlv {
  return derReader.readTlvInto(out, b, pos, limit, MAX_REQUEST_LENGTH_OCTETS);
}

/**
 * Reads a TimeStampReq with the strict DER reader. A DER or schema violation the reader finds
 * becomes request-malformed with the reader's reason (the statusString the client sees).
 */
export function parseTimeStampReq(
  bytes: Uint8Array,
  limits: RequestLimits = DEFAULT_REQUEST_LIMITS,
): TimeStampReq {
  try {
    return readTimeStampReq(bytes, limits);
  } catch (error) {
    if (error instanceof PkiError) {
      throw new TsaError('request-malformed', `malformed request: ${error.message}`, {
        details: error.details,
      });
    }
    throw error;
  }
}

function readTimeStampReq(bytes: Uint8Array, limits: RequestLimits): TimeStampReq {
  const outer = readInto(OUTER, bytes, 0, bytes.length);
  expectTag(outer, 0x30, 'TimeStampReq sequence');
  if (outer.end !== bytes.length) malformed('trailing bytes after the request', outer.end);
  const end = outer.end;

  // version INTEGER { v1(1) }
  const vt = readInto(VERSION, bytes, outer.valueStart, end);
  expectTag(vt, 0x02, 'version integer');
  checkIntegerContent(bytes, vt);
  const version = vt.end - vt.valueStart === 1 ? bytes[vt.valueStart]! : -1;

  // messageImprint
  const mi = readInto(IMPRINT, bytes, vt.end, end);
  expectTag(mi, 0x30, 'messageImprint sequence');
  const alg = readInto(HASH_ALGORITHM, bytes, mi.valueStart, mi.end);
  expectTag(alg, 0x30, 'hash algorithm identifier');
  const algOid = readInto(HASH_OID, bytes, alg.valueStart, alg.end);
  const hashAlgorithm = readOidCached(bytes, algOid);
  let hashParametersNull = false;
  if (algOid.end < alg.end) {
    const params = readInto(HASH_PARAMS, bytes, algOid.end, alg.end);
    // SHA-2 and SHA-3 identifiers take absent or NULL parameters (RFC 5754 2, RFC 8702).
    if (params.tag !== 0x05 || params.end !== params.valueStart) {
      malformed('hash algorithm parameters must be absent or NULL', params.start);
    }
    if (params.end !== alg.end) malformed('trailing data in hash algorithm identifier', params.end);
    hashParametersNull = true;
  }
  const hm = readInto(DIGEST, bytes, alg.end, mi.end);
  expectTag(hm, 0x04, 'hashedMessage octet string');
  if (hm.end !== mi.end) malformed('trailing data in messageImprint', hm.end);

  let pos = mi.end;
  let reqPolicy: string | undefined;
  let nonce: Uint8Array | undefined;
  let certReq = false;
  let extensions: { oid: string; critical: boolean }[] | undefined;
  let stage = 0; // fields must come in order, each at most once
  while (pos < end) {
    const t = readInto(FIELD, bytes, pos, end);
    if (t.tag === 0x06 && stage < 1) {
      reqPolicy = readOidCached(bytes, t);
      stage = 1;
    } else if (t.tag === 0x02 && stage < 2) {
      checkIntegerContent(bytes, t);
      if (t.end - t.valueStart > limits.maxNonceOctets) {
        throw new TsaError('nonce-too-long', 'the nonce is longer than this TSA accepts', {
          details: { octets: t.end - t.valueStart, limit: limits.maxNonceOctets },
        });
      }
      nonce = view(bytes, t.valueStart, t.end);
      stage = 2;
    } else if (t.tag === 0x01 && stage < 3) {
      // DER omits a DEFAULT value; an explicit FALSE is tolerated because some clients send it.
      certReq = readBoolean(bytes, t);
      stage = 3;
    } else if (t.tag === 0xa0 && stage < 4) {
      extensions = [];
      readExtensions(bytes, t, extensions, limits);
      stage = 4;
    } else {
      malformed('unexpected or repeated field in TimeStampReq', t.start);
    }
    pos = t.end;
  }
  return {
    version,
    messageImprint: view(bytes, mi.start, mi.end),
    hashAlgorithm,
    hashParametersNull,
    hashedMessage: view(bytes, hm.valueStart, hm.end),
    reqPolicy,
    nonce,
    certReq,
    extensions: extensions ?? NO_EXTENSIONS,
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

// RFC 3161 messages for tests: builds TimeStampReq DER by hand (so tests can also build wrong
// ones) and reads TimeStampResp with pkijs, decoding failInfo from the RFC bit numbers.
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { der, id_sha256 } from '../../src/pki/index.js';

/** RFC 3161 2.4.2 PKIFailureInfo bit numbers. */
export const FAIL_BIT = {
  badAlg: 0,
  badRequest: 2,
  badDataFormat: 5,
  timeNotAvailable: 14,
  unacceptedPolicy: 15,
  unacceptedExtension: 16,
  addInfoNotAvailable: 17,
  systemFailure: 25,
} as const;

export interface QueryFields {
  readonly version?: number;
  readonly hashOid?: string;
  readonly digest?: Uint8Array;
  readonly policy?: string;
  /** Content octets of the nonce INTEGER, written as given. */
  readonly nonce?: Uint8Array;
  readonly certReq?: boolean;
  readonly extensions?: readonly { oid: string; critical: boolean; value?: Uint8Array }[];
}

export function sha256(data: Uint8Array | string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

/**
 * TimeStampReq ::= SEQUENCE { version INTEGER, messageImprint MessageImprint,
 *   reqPolicy TSAPolicyId OPTIONAL, nonce INTEGER OPTIONAL, certReq BOOLEAN DEFAULT FALSE,
 *   extensions [0] IMPLICIT Extensions OPTIONAL }
 */
export function timeStampQuery(fields: QueryFields = {}): Uint8Array {
  const parts: Uint8Array[] = [
    der.integer(fields.version ?? 1),
    der.seq(
      der.algorithmIdentifier(fields.hashOid ?? id_sha256),
      der.octetString(fields.digest ?? sha256('attestamp test document')),
    ),
  ];
  if (fields.policy !== undefined) parts.push(der.oid(fields.policy));
  if (fields.nonce !== undefined) parts.push(der.tlv(0x02, fields.nonce));
  if (fields.certReq === true) parts.push(der.bool(true));
  if (fields.extensions !== undefined && fields.extensions.length > 0) {
    parts.push(
      der.contextConstructed(
        0,
        ...fields.extensions.map((e) =>
          der.seq(
            der.oid(e.oid),
            ...(e.critical ? [der.bool(true)] : []),
            der.octetString(e.value ?? der.nullValue()),
          ),
        ),
      ),
    );
  }
  return der.seq(...parts);
}

export interface ParsedResponse {
  /** PKIStatus: 0 granted, 1 grantedWithMods, 2 rejection, ... */
  readonly status: number;
  /** Set failInfo bits, by RFC 3161 bit number. */
  readonly failBits: readonly number[];
  /** Whether failInfo, if present, is a DER named bit string (trailing zero bits removed). */
  readonly failInfoMinimal: boolean;
  readonly statusText: string | undefined;
  readonly tstInfo: pkijs.TSTInfo | undefined;
  readonly signedData: pkijs.SignedData | undefined;
}

function bitsOf(bitString: asn1js.BitString): { bits: number[]; minimal: boolean } {
  const bytes = bitString.valueBlock.valueHexView;
  const unused = bitString.valueBlock.unusedBits;
  const bits: number[] = [];
  for (let i = 0; i < bytes.length * 8 - unused; i++) {
    if ((bytes[i >> 3]! & (0x80 >> (i & 7))) !== 0) bits.push(i);
  }
  // X.690 11.2.2: a named bit list drops trailing zero bits, so the last bit sent is set.
  const last = bits[bits.length - 1];
  const minimal = last === undefined ? bytes.length === 0 : last === bytes.length * 8 - unused - 1;
  return { bits, minimal };
}

export function parseResponse(bytes: Uint8Array): ParsedResponse {
  const resp = pkijs.TimeStampResp.fromBER(bytes);
  const failInfo = resp.status.failInfo;
  const decoded = failInfo === undefined ? { bits: [], minimal: true } : bitsOf(failInfo);
  const statusText = resp.status.statusStrings?.map((s) => s.valueBlock.value).join(' ');
  let tstInfo: pkijs.TSTInfo | undefined;
  let signedData: pkijs.SignedData | undefined;
  if (resp.timeStampToken !== undefined) {
    signedData = new pkijs.SignedData({ schema: resp.timeStampToken.content });
    const eContent = signedData.encapContentInfo.eContent;
    if (eContent === undefined) throw new Error('token without eContent');
    tstInfo = pkijs.TSTInfo.fromBER(eContent.getValue());
  }
  return {
    status: resp.status.status,
    failBits: decoded.bits,
    failInfoMinimal: decoded.minimal,
    statusText,
    tstInfo,
    signedData,
  };
}

/** The token's serial number as a (signed) bigint. */
export function serialOf(tstInfo: pkijs.TSTInfo): bigint {
  return tstInfo.serialNumber.toBigInt();
}

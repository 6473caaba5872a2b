// RFC 3161 test codec: writes TimeStampReq DER field by field (including encodings a client may
// send but a DER writer would not) and decodes TimeStampResp and the token with pkijs.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { expect } from 'vitest';
import { der, ensureCryptoEngine } from '../../src/pki/index.js';
import { toArrayBuffer } from '../../src/shared/index.js';

const { seq, tlv, oid, octetString, algorithmIdentifier } = der;

export interface RequestExtensionSpec {
  readonly oid: string;
  /** true writes TRUE, 'explicit-false' writes the DEFAULT FALSE, false/undefined omits it. */
  readonly critical?: boolean | 'explicit-false';
  readonly value: Uint8Array;
}

export interface RequestSpec {
  /** Defaults to 1. */
  readonly version?: number;
  readonly hashOid: string;
  /** AlgorithmIdentifier parameters: absent (default) or NULL. */
  readonly hashParams?: 'absent' | 'null';
  readonly digest: Uint8Array;
  readonly policy?: string;
  /** Content octets of the nonce INTEGER, written verbatim (the caller keeps them minimal). */
  readonly nonce?: Uint8Array;
  /** true writes TRUE, 'explicit-false' writes the DEFAULT FALSE, false/undefined omits it. */
  readonly certReq?: boolean | 'explicit-false';
  readonly extensions?: readonly RequestExtensionSpec[];
}

function booleanField(value: boolean | 'explicit-false' | undefined): Uint8Array[] {
  if (value === true) return [der.bool(true)];
  if (value === 'explicit-false') return [der.bool(false)];
  return [];
}

/** DER MessageImprint of the spec (the bytes a token must copy verbatim). */
export function encodeMessageImprint(spec: RequestSpec): Uint8Array {
  const params = spec.hashParams === 'null' ? der.nullValue() : undefined;
  return seq(algorithmIdentifier(spec.hashOid, params), octetString(spec.digest));
}

/**
 * TimeStampReq ::= SEQUENCE { version, messageImprint, reqPolicy OPTIONAL, nonce OPTIONAL,
 *   certReq BOOLEAN DEFAULT FALSE, extensions [0] IMPLICIT Extensions OPTIONAL }
 */
export function encodeTimeStampReq(spec: RequestSpec): Uint8Array {
  const parts: Uint8Array[] = [der.integer(spec.version ?? 1), encodeMessageImprint(spec)];
  if (spec.policy !== undefined) parts.push(oid(spec.policy));
  if (spec.nonce !== undefined) parts.push(tlv(0x02, spec.nonce));
  parts.push(...booleanField(spec.certReq));
  if (spec.extensions !== undefined && spec.extensions.length > 0) {
    const exts = spec.extensions.map((e) =>
      seq(oid(e.oid), ...booleanField(e.critical), octetString(e.value)),
    );
    parts.push(der.contextConstructed(0, ...exts));
  }
  return seq(...parts);
}

/** Minimal two's-complement content octets of a non-negative integer. */
export function nonceOctets(value: bigint): Uint8Array {
  return tlvList(der.integer(value))[0]!.content.slice();
}

export interface Tlv {
  readonly tag: number;
  /** The whole TLV. */
  readonly bytes: Uint8Array;
  /** The value octets. */
  readonly content: Uint8Array;
}

/** The TLVs directly inside `bytes` (a sequence of DER values; single-octet tags only). */
export function tlvList(bytes: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const tag = bytes[pos]!;
    let len = bytes[pos + 1]!;
    let header = 2;
    if (len >= 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + bytes[pos + 2 + i]!;
      header += n;
    }
    const end = pos + header + len;
    if (end > bytes.length) throw new RangeError('tlv runs past its container');
    out.push({
      tag,
      bytes: bytes.subarray(pos, end),
      content: bytes.subarray(pos + header, end),
    });
    pos = end;
  }
  return out;
}

/** The components of one constructed DER value. */
export function children(value: Uint8Array): Tlv[] {
  const [only] = tlvList(value);
  if (only === undefined) throw new RangeError('empty input');
  return tlvList(only.content);
}

/** Bit numbers set in a DER BIT STRING value (MSB of the first octet is bit 0). */
export function setBits(bitString: asn1js.BitString): number[] {
  const octets = bitString.valueBlock.valueHexView;
  const unused = bitString.valueBlock.unusedBits;
  const bits: number[] = [];
  for (let i = 0; i < octets.length * 8 - unused; i++) {
    if ((octets[i >> 3]! & (0x80 >> (i & 7))) !== 0) bits.push(i);
  }
  return bits;
}

export interface DecodedToken {
  readonly contentInfoDer: Uint8Array;
  readonly contentInfo: pkijs.ContentInfo;
  readonly signedData: pkijs.SignedData;
  readonly signerInfo: pkijs.SignerInfo;
  readonly tstInfoDer: Uint8Array;
  readonly tstInfo: pkijs.TSTInfo;
  /** DER of the signed attributes with the SET OF tag, as signed (RFC 5652 5.4). */
  readonly signedAttrsDer: Uint8Array;
  readonly signature: Uint8Array;
}

export interface DecodedResponse {
  readonly resp: pkijs.TimeStampResp;
  readonly status: number;
  readonly statusStrings: readonly asn1js.Utf8String[];
  /** Bits set in failInfo; undefined when failInfo is absent. */
  readonly failBits: readonly number[] | undefined;
  readonly token: DecodedToken | undefined;
}

/** Decodes a TimeStampResp with pkijs; fails the test on anything pkijs cannot read. */
export function decodeResponse(response: Uint8Array): DecodedResponse {
  ensureCryptoEngine();
  const resp = pkijs.TimeStampResp.fromBER(toArrayBuffer(response));
  const failInfo = resp.status.failInfo;
  const top = children(response);
  let token: DecodedToken | undefined;
  if (resp.timeStampToken !== undefined) {
    const contentInfo = resp.timeStampToken;
    expect(contentInfo.contentType).toBe('1.2.840.113549.1.7.2');
    const signedData = new pkijs.SignedData({ schema: contentInfo.content });
    const signerInfo = signedData.signerInfos[0];
    if (signerInfo === undefined) throw new Error('no SignerInfo');
    const eContent = signedData.encapContentInfo.eContent;
    if (eContent === undefined) throw new Error('no eContent');
    const tstInfoDer = new Uint8Array(eContent.valueBlock.valueHexView);
    // ContentInfo [0] -> SignedData -> signerInfos (last) -> SignerInfo -> signedAttrs [0]
    const signedDataDer = children(top[1]!.bytes)[1]!.content;
    const signerInfos = children(signedDataDer).at(-1)!;
    const signerInfoDer = tlvList(signerInfos.content)[0]!.bytes;
    const attrsTlv = children(signerInfoDer).find((t) => t.tag === 0xa0);
    if (attrsTlv === undefined) throw new Error('no signed attributes');
    const signedAttrsDer = attrsTlv.bytes.slice();
    signedAttrsDer[0] = 0x31;
    token = {
      contentInfoDer: top[1]!.bytes,
      contentInfo,
      signedData,
      signerInfo,
      tstInfoDer,
      tstInfo: pkijs.TSTInfo.fromBER(toArrayBuffer(tstInfoDer)),
      signedAttrsDer,
      signature: new Uint8Array(signerInfo.signature.valueBlock.valueHexView),
    };
  }
  return {
    resp,
    status: resp.status.status,
    statusStrings: resp.status.statusStrings ?? [],
    failBits: failInfo === undefined ? undefined : setBits(failInfo),
    token,
  };
}

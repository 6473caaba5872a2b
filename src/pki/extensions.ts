// Encoders for the X.509 v3 extensions our profiles use (RFC 5280 4.2.1) and key identifiers
// (RFC 7093 method 1: leftmost 160 bits of SHA-256 of the subjectPublicKey bits).
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { sha256 } from '@noble/hashes/sha2.js';
import { toArrayBuffer } from '../shared/index.js';
import { encodeDer } from './asn1js-bridge.js';
import { assertStrictDer } from './der.js';
import {
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_privateKeyUsagePeriod,
  id_ce_subjectKeyIdentifier,
} from './oids.js';

export interface ExtensionSpec {
  readonly oid: string;
  readonly critical: boolean;
  /** DER of the extension value (the content of extnValue). */
  readonly value: Uint8Array;
}

export const KEY_USAGE_BITS = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
  encipherOnly: 7,
  decipherOnly: 8,
} as const;
export type KeyUsageName = keyof typeof KEY_USAGE_BITS;

/** The subjectPublicKey bits of a DER SubjectPublicKeyInfo. */
export function subjectPublicKeyBits(spki: Uint8Array): Uint8Array {
  assertStrictDer(spki);
  const info = pkijs.PublicKeyInfo.fromBER(toArrayBuffer(spki));
  return new Uint8Array(info.subjectPublicKey.valueBlock.valueHexView);
}

export function keyIdentifier(spki: Uint8Array): Uint8Array {
  return sha256(subjectPublicKeyBits(spki)).subarray(0, 20);
}

/** A DER named BIT STRING: bits set MSB first, trailing zero bits removed (X.690 11.2.2). */
export function encodeNamedBits(bits: readonly number[]): asn1js.BitString {
  const highest = Math.max(-1, ...bits);
  if (highest < 0) return new asn1js.BitString({ valueHex: new ArrayBuffer(0), unusedBits: 0 });
  const octets = new Uint8Array(Math.floor(highest / 8) + 1);
  for (const bit of bits) octets[bit >> 3]! |= 0x80 >> (bit & 7);
  const unusedBits = 7 - (highest % 8);
  return new asn1js.BitString({ valueHex: toArrayBuffer(octets), unusedBits });
}

export function basicConstraints(ca: boolean, pathLen?: number): ExtensionSpec {
  const value: asn1js.BaseBlock[] = [];
  if (ca) value.push(new asn1js.Boolean({ value: true }));
  if (ca && pathLen !== undefined) value.push(new asn1js.Integer({ value: pathLen }));
  return {
    oid: id_ce_basicConstraints,
    critical: true,
    value: encodeDer(new asn1js.Sequence({ value })),
  };
}

export function keyUsage(usages: readonly KeyUsageName[]): ExtensionSpec {
  return {
    oid: id_ce_keyUsage,
    critical: true,
    value: encodeDer(encodeNamedBits(usages.map((u) => KEY_USAGE_BITS[u]))),
  };
}

export function extKeyUsage(oids: readonly string[], critical: boolean): ExtensionSpec {
  return {
    oid: id_ce_extKeyUsage,
    critical,
    value: encodeDer(
      new asn1js.Sequence({ value: oids.map((o) => new asn1js.ObjectIdentifier({ value: o })) }),
    ),
  };
}

export function subjectKeyIdentifier(spki: Uint8Array): ExtensionSpec {
  return {
    oid: id_ce_subjectKeyIdentifier,
    critical: false,
    value: encodeDer(new asn1js.OctetString({ valueHex: toArrayBuffer(keyIdentifier(spki)) })),
  };
}

export function authorityKeyIdentifier(issuerSpki: Uint8Array): ExtensionSpec {
  return {
    oid: id_ce_authorityKeyIdentifier,
    critical: false,
    value: encodeDer(
      new asn1js.Sequence({
        value: [
          new asn1js.Primitive({
            idBlock: { tagClass: 3, tagNumber: 0 },
            valueHex: toArrayBuffer(keyIdentifier(issuerSpki)),
          }),
        ],
      }),
    ),
  };
}

/** GeneralizedTime DER text for a whole-second instant: YYYYMMDDHHMMSSZ. */
export function generalizedTimeText(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** PrivateKeyUsagePeriod ::= SEQUENCE { notBefore [0] GeneralizedTime OPTIONAL, notAfter [1] ... } */
export function privateKeyUsagePeriod(notBefore: Date, notAfter: Date): ExtensionSpec {
  const field = (tag: number, at: Date): asn1js.Primitive =>
    new asn1js.Primitive({
      idBlock: { tagClass: 3, tagNumber: tag },
      valueHex: toArrayBuffer(new TextEncoder().encode(generalizedTimeText(at))),
    });
  return {
    oid: id_ce_privateKeyUsagePeriod,
    critical: false,
    value: encodeDer(new asn1js.Sequence({ value: [field(0, notBefore), field(1, notAfter)] })),
  };
}

// The HSM role certificate extension (ARC.7.1, standards/attestation.md): which role a
// certificate's key plays and the device and partition it belongs to.
import * as asn1js from 'asn1js';
import { toArrayBuffer } from '../shared/index.js';
import { encodeDer, parseDer } from './asn1js-bridge.js';
import { PkiError } from './errors.js';

/**
 * HsmRole ::= SEQUENCE {
 *   role        ENUMERATED { root(0), device(1), partitionAttestation(2), partitionTimestamp(3) },
 *   deviceId    [0] IMPLICIT UTF8String OPTIONAL,
 *   partitionId [1] IMPLICIT UTF8String OPTIONAL }
 */
export const HSM_ROLES = [
  'root',
  'device',
  'partition-attestation',
  'partition-timestamp',
] as const;
export type HsmRoleName = (typeof HSM_ROLES)[number];

export interface HsmRole {
  readonly role: HsmRoleName;
  readonly deviceId?: string;
  readonly partitionId?: string;
}

function implicitUtf8(tag: number, text: string): asn1js.Primitive {
  return new asn1js.Primitive({
    idBlock: { tagClass: 3, tagNumber: tag },
    valueHex: toArrayBuffer(new TextEncoder().encode(text)),
  });
}

export function encodeHsmRole(role: HsmRole): Uint8Array {
  const value: asn1js.BaseBlock[] = [
    new asn1js.Enumerated({ value: HSM_ROLES.indexOf(role.role) }),
  ];
  if (role.deviceId !== undefined) value.push(implicitUtf8(0, role.deviceId));
  if (role.partitionId !== undefined) value.push(implicitUtf8(1, role.partitionId));
  return encodeDer(new asn1js.Sequence({ value }));
}

function invalid(message: string): never {
  throw new PkiError('extension-invalid', message, { details: { extension: 'hsmRole' } });
}

export function parseHsmRole(der: Uint8Array): HsmRole {
  const root = parseDer(der);
  if (!(root instanceof asn1js.Sequence)) invalid('hsm role is not a sequence');
  const items = root.valueBlock.value;
  const first = items[0];
  if (!(first instanceof asn1js.Enumerated)) invalid('hsm role lacks its enumerated role');
  // asn1js reports valueDec 0 for integers too long to decode; every role fits in one octet.
  if (first.valueBlock.valueHexView.length !== 1) invalid('unknown hsm role');
  const index = first.valueBlock.valueDec;
  const role = HSM_ROLES[index];
  if (role === undefined) invalid('unknown hsm role');
  let deviceId: string | undefined;
  let partitionId: string | undefined;
  let lastTag = -1;
  for (const item of items.slice(1)) {
    const tag = item.idBlock.tagNumber;
    if (
      !(item instanceof asn1js.Primitive) ||
      item.idBlock.tagClass !== 3 ||
      tag <= lastTag ||
      tag > 1
    ) {
      invalid('unexpected field in hsm role');
    }
    lastTag = tag;
    const text = decodeUtf8Strict(item.valueBlock.valueHexView);
    if (tag === 0) deviceId = text;
    else partitionId = text;
  }
  return {
    role,
    ...(deviceId === undefined ? {} : { deviceId }),
    ...(partitionId === undefined ? {} : { partitionId }),
  };
}

function decodeUtf8Strict(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new PkiError('extension-invalid', 'hsm role text is not utf-8', { cause });
  }
}

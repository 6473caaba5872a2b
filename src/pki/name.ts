// X.501 distinguished names as used in our certificate profiles: one attribute per RDN, country
// and serialNumber as PrintableString, the rest as UTF8String (RFC 5280 4.1.2.4).
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { toArrayBuffer } from '../shared/index.js';
import { encodeDer } from './asn1js-bridge.js';
import {
  id_at_commonName,
  id_at_countryName,
  id_at_organizationName,
  id_at_organizationalUnitName,
  id_at_serialNumber,
} from './oids.js';

export interface DistinguishedName {
  readonly country?: string;
  readonly organization?: string;
  readonly organizationalUnit?: string;
  readonly commonName: string;
  readonly serialNumber?: string;
}

function atv(type: string, value: asn1js.BaseBlock): asn1js.Set {
  return new asn1js.Set({
    value: [new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: type }), value] })],
  });
}

/** DER of the Name (SEQUENCE OF single-attribute RDNs, in C, O, OU, CN, serialNumber order). */
export function encodeName(dn: DistinguishedName): Uint8Array {
  const rdns: asn1js.Set[] = [];
  if (dn.country !== undefined) {
    rdns.push(atv(id_at_countryName, new asn1js.PrintableString({ value: dn.country })));
  }
  if (dn.organization !== undefined) {
    rdns.push(atv(id_at_organizationName, new asn1js.Utf8String({ value: dn.organization })));
  }
  if (dn.organizationalUnit !== undefined) {
    rdns.push(
      atv(id_at_organizationalUnitName, new asn1js.Utf8String({ value: dn.organizationalUnit })),
    );
  }
  rdns.push(atv(id_at_commonName, new asn1js.Utf8String({ value: dn.commonName })));
  if (dn.serialNumber !== undefined) {
    rdns.push(atv(id_at_serialNumber, new asn1js.PrintableString({ value: dn.serialNumber })));
  }
  return encodeDer(new asn1js.Sequence({ value: rdns }));
}

/** A pkijs Name that re-encodes to exactly the given DER. */
export function pkijsName(der: Uint8Array): pkijs.RelativeDistinguishedNames {
  return pkijs.RelativeDistinguishedNames.fromBER(toArrayBuffer(der));
}

/** Readable one-line form (RFC 4514 order reversed for reading: C=..,O=..,CN=..). */
export function formatName(name: pkijs.RelativeDistinguishedNames): string {
  const short: Record<string, string> = {
    [id_at_countryName]: 'C',
    [id_at_organizationName]: 'O',
    [id_at_organizationalUnitName]: 'OU',
    [id_at_commonName]: 'CN',
    [id_at_serialNumber]: 'serialNumber',
  };
  return name.typesAndValues
    .map((t) => {
      const v: unknown = t.value.valueBlock;
      const text =
        typeof v === 'object' && v !== null && 'value' in v && typeof v.value === 'string'
          ? v.value
          : '?';
      return `${short[t.type] ?? t.type}=${text}`;
    })
    .join(', ');
}

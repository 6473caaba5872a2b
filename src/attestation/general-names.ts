// RFC 5280 4.2.1.6: GeneralName and GeneralNames, decoded for name constraints and CRL scopes.
import { derReader, PkiError } from '../pki/index.js';
import { bytesEqual } from '../shared/index.js';
import { namesMatch } from './names.js';

const { readTlv, childrenOf, contentOf, encodingOf, oidFromContent } = derReader;

/**
 * GeneralName ::= CHOICE { otherName [0], rfc822Name [1] IA5String, dNSName [2] IA5String,
 *   x400Address [3], directoryName [4] Name, ediPartyName [5], uniformResourceIdentifier [6]
 *   IA5String, iPAddress [7] OCTET STRING, registeredID [8] OBJECT IDENTIFIER }
 */
export type GeneralName =
  | { readonly kind: 'rfc822' | 'dns' | 'uri'; readonly value: string }
  | { readonly kind: 'directory'; readonly name: Uint8Array }
  | { readonly kind: 'ip'; readonly bytes: Uint8Array }
  | { readonly kind: 'rid'; readonly oid: string }
  | { readonly kind: 'other' | 'x400' | 'edi'; readonly der: Uint8Array };

export type GeneralNameKind = GeneralName['kind'];

function ia5(b: Uint8Array): string {
  let s = '';
  for (const c of b) {
    if (c > 0x7f) throw new PkiError('extension-invalid', 'IA5String with a non-ASCII octet');
    s += String.fromCharCode(c);
  }
  return s;
}

/** One GeneralName at `t` inside `b`. */
export function parseGeneralName(b: Uint8Array, t: derReader.Tlv): GeneralName {
  switch (t.tag) {
    case 0xa0:
      return { kind: 'other', der: encodingOf(b, t) };
    case 0x81:
      return { kind: 'rfc822', value: ia5(contentOf(b, t)) };
    case 0x82:
      return { kind: 'dns', value: ia5(contentOf(b, t)) };
    case 0xa3:
      return { kind: 'x400', der: encodingOf(b, t) };
    case 0xa4: {
      // [4] is EXPLICIT: Name is a CHOICE.
      const [inner, ...rest] = childrenOf(b, t);
      if (inner?.tag !== 0x30 || rest.length > 0)
        throw new PkiError('extension-invalid', 'directoryName must hold one Name');
      return { kind: 'directory', name: encodingOf(b, inner) };
    }
    case 0xa5:
      return { kind: 'edi', der: encodingOf(b, t) };
    case 0x86:
      return { kind: 'uri', value: ia5(contentOf(b, t)) };
    case 0x87:
      return { kind: 'ip', bytes: contentOf(b, t) };
    case 0x88:
      return { kind: 'rid', oid: oidFromContent(contentOf(b, t)) };
    default:
      throw new PkiError('extension-invalid', `unknown GeneralName tag 0x${t.tag.toString(16)}`);
  }
}

/** GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName, at `t` (any tag: often IMPLICIT). */
export function parseGeneralNames(b: Uint8Array, t: derReader.Tlv): GeneralName[] {
  const names = childrenOf(b, t).map((n) => parseGeneralName(b, n));
  if (names.length === 0) throw new PkiError('extension-invalid', 'empty GeneralNames');
  return names;
}

/** subjectAltName (2.5.29.17) extension value. */
export function parseSubjectAltName(value: Uint8Array): GeneralName[] {
  const top = readTlv(value, 0);
  if (top.tag !== 0x30) throw new PkiError('extension-invalid', 'subjectAltName is not a SEQUENCE');
  return parseGeneralNames(value, top);
}

/** Equality used for distribution point and CRL issuer matching (RFC 5280 6.3.3 (b)). */
export function generalNamesEqual(a: GeneralName, b: GeneralName): boolean {
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'directory':
      return b.kind === 'directory' && namesMatch(a.name, b.name);
    case 'rfc822':
    case 'dns':
      return 'value' in b && a.value.toLowerCase() === b.value.toLowerCase();
    case 'uri':
      return 'value' in b && a.value === b.value;
    case 'ip':
      return b.kind === 'ip' && bytesEqual(a.bytes, b.bytes);
    case 'rid':
      return b.kind === 'rid' && a.oid === b.oid;
    case 'other':
    case 'x400':
    case 'edi':
      return 'der' in b && bytesEqual(a.der, b.der);
  }
}

export function anyNameInCommon(a: readonly GeneralName[], b: readonly GeneralName[]): boolean {
  return a.some((x) => b.some((y) => generalNamesEqual(x, y)));
}

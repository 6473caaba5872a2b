// RFC 5280 7.1 (with RFC 4518 string preparation, simplified): comparing distinguished names.
import { derReader, id_emailAddress } from '../pki/index.js';
import { toHex } from '../shared/index.js';

const { readTlv, childrenOf, readOid, contentOf, encodingOf } = derReader;

export interface NameAttribute {
  readonly type: string;
  /** The comparable form: the prepared string, or the value's DER in hex for other types. */
  readonly key: string;
  /** The decoded text of a string value, before preparation. */
  readonly text: string | undefined;
}

/** One RelativeDistinguishedName: a SET OF AttributeTypeAndValue, sorted by comparable form. */
export type Rdn = readonly NameAttribute[];

function decodeString(tag: number, v: Uint8Array): string | undefined {
  switch (tag) {
    case 0x0c: // UTF8String
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(v);
      } catch {
        return undefined;
      }
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x1a: // VisibleString
    case 0x14: {
      // TeletexString: read as Latin-1, which covers the T.61 subset seen in practice.
      let s = '';
      for (const c of v) s += String.fromCharCode(c);
      return s;
    }
    case 0x1e: {
      // BMPString: UCS-2 big-endian.
      if (v.length % 2 !== 0) return undefined;
      let s = '';
      for (let i = 0; i < v.length; i += 2) s += String.fromCharCode((v[i]! << 8) | v[i + 1]!);
      return s;
    }
    case 0x1c: {
      // UniversalString: UCS-4 big-endian.
      if (v.length % 4 !== 0) return undefined;
      let s = '';
      for (let i = 0; i < v.length; i += 4) {
        const cp = ((v[i]! << 24) | (v[i + 1]! << 16) | (v[i + 2]! << 8) | v[i + 3]!) >>> 0;
        if (cp > 0x10ffff) return undefined;
        s += String.fromCodePoint(cp);
      }
      return s;
    }
    default:
      return undefined;
  }
}

/**
 * RFC 4518 string preparation, simplified as RFC 5280 7.1 allows: NFKC, case folded, leading and
 * trailing white space removed and inner runs of white space compressed to one space.
 */
export function prepareString(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/\s+/gu, ' ').trim();
}

const parsedNames = new WeakMap<Uint8Array, readonly Rdn[] | undefined>();

/** The RDN sequence of a Name (its full DER), or undefined when it is not a Name. */
export function parseName(name: Uint8Array): readonly Rdn[] | undefined {
  if (parsedNames.has(name)) return parsedNames.get(name);
  let out: Rdn[] | undefined;
  try {
    const top = readTlv(name, 0);
    if (top.tag !== 0x30 || top.end !== name.length) throw new Error('not a Name');
    out = [];
    for (const set of childrenOf(name, top)) {
      if (set.tag !== 0x31) throw new Error('not an RDN');
      const rdn: NameAttribute[] = [];
      for (const atv of childrenOf(name, set)) {
        const [typeT, valueT, ...rest] = childrenOf(name, atv);
        if (valueT === undefined || rest.length > 0) throw new Error('bad attribute');
        const type = readOid(name, typeT);
        const text = decodeString(valueT.tag, contentOf(name, valueT));
        const key =
          text === undefined ? `#${toHex(encodingOf(name, valueT))}` : `"${prepareString(text)}`;
        rdn.push({ type, key, text });
      }
      if (rdn.length === 0) throw new Error('empty RDN');
      rdn.sort((a, b) => (rdnAttrKey(a) < rdnAttrKey(b) ? -1 : 1));
      out.push(rdn);
    }
  } catch {
    out = undefined;
  }
  parsedNames.set(name, out);
  return out;
}

function rdnAttrKey(a: NameAttribute): string {
  return `${a.type}=${a.key}`;
}

/** RFC 5280 7.1: two RDNs match when they hold the same attributes, in any order. */
export function rdnKey(rdn: Rdn): string {
  return JSON.stringify(rdn.map(rdnAttrKey));
}

/** A string that is equal for two names exactly when they match under RFC 5280 7.1. */
export function nameKey(name: Uint8Array): string {
  const rdns = parseName(name);
  // A value that is not a Name only matches its own bytes.
  return rdns === undefined ? `raw:${toHex(name)}` : JSON.stringify(rdns.map(rdnKey));
}

/** RFC 5280 7.1: same number of RDNs, each matching in order. */
export function namesMatch(a: Uint8Array, b: Uint8Array): boolean {
  return nameKey(a) === nameKey(b);
}

/** Whether the bytes are a Name this module can compare (RDNs of well-formed attributes). */
export function nameParses(name: Uint8Array): boolean {
  return parseName(name) !== undefined;
}

/** The name has no RDN at all (an empty subject, RFC 5280 4.1.2.6). */
export function isEmptyName(name: Uint8Array): boolean {
  return parseName(name)?.length === 0;
}

/** RFC 5280 4.2.1.10: `name` is within the subtree `base` when base's RDNs are its first RDNs. */
export function nameWithin(name: Uint8Array, base: Uint8Array): boolean {
  const n = parseName(name);
  const b = parseName(base);
  if (n === undefined || b === undefined || b.length > n.length) return false;
  return b.every((rdn, i) => rdnKey(rdn) === rdnKey(n[i]!));
}

/** emailAddress attribute values in a subject name (RFC 5280 4.2.1.10, last paragraph of DN). */
export function emailAddressesIn(name: Uint8Array): string[] {
  const out: string[] = [];
  for (const rdn of parseName(name) ?? [])
    for (const a of rdn) if (a.type === id_emailAddress && a.text !== undefined) out.push(a.text);
  return out;
}

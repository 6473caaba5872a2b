// PKCS#8 OneAsymmetricKey (RFC 5958) and SubjectPublicKeyInfo (RFC 5280 4.1.2.7) of the
// post-quantum keys: the seed-only form written (RECOMMENDED by RFC 9881 6 and RFC 9935 6),
// every form read, and on import the consistency checks of RFC 9881 8.2 and RFC 9935 8; SLH-DSA
// private keys are raw SK.seed || SK.prf || PK.seed || PK.root (RFC 9909 7), PK.root checked.
import { assertStrictDer, der, derReader, encodeRawSpki, PkiError } from '../../pki/index.js';
import { bytesEqual } from '../../shared/index.js';
import { HsmError } from '../errors.js';
import { expandSeed } from './noble.js';
import {
  checkLength,
  checkSlhDsaPublicKey,
  parametersOf,
  parametersOfOid,
  type PqParameters,
} from './params.js';
import type { PqAlgorithm } from './types.js';

const { readTlv, childrenOf, contentOf, expectTag, readOid, readOctets, readUnsigned } = derReader;

/** A private key as a OneAsymmetricKey holds it, read for syntax only. */
export interface DecodedPqPrivateKey {
  readonly algorithm: PqAlgorithm;
  /** 0 (v1) or 1 (v2, with publicKey). */
  readonly version: 0 | 1;
  /** The seed, when the key carries it (the seed or both choice; SLH-DSA: its first 3n octets). */
  readonly seed: Uint8Array | undefined;
  /** The expandedKey (expandedKey or both choice), or SLH-DSA's raw private key. */
  readonly expandedKey: Uint8Array | undefined;
  /** The publicKey [1] field, when present. */
  readonly publicKey: Uint8Array | undefined;
}

/** The seed and public key of an imported private key, checked to belong together. */
export interface ImportedPqKey {
  readonly algorithm: PqAlgorithm;
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
}

function invalid(message: string, p?: PqParameters, cause?: unknown): HsmError {
  return new HsmError('invalid-argument', message, {
    ...(cause === undefined ? {} : { cause }),
    ...(p === undefined ? {} : { details: { algorithm: p.name } }),
  });
}

/** The SPKI of a raw public key (parameters absent: RFC 9881 4, RFC 9909 5, RFC 9935 4). */
export function encodePqSpki(algorithm: PqAlgorithm, publicKey: Uint8Array): Uint8Array {
  const p = parametersOf(algorithm);
  checkLength(publicKey, p.publicKeyLength, 'the public key', p);
  return encodeRawSpki(p.oid, publicKey);
}

/**
 * The algorithm and raw public key of an SPKI: strict DER, an OID of the adapter with absent
 * parameters, no unused bits, the parameter set's key length. HsmError invalid-argument else.
 */
export function decodePqSpki(spki: Uint8Array): {
  readonly algorithm: PqAlgorithm;
  readonly publicKey: Uint8Array;
} {
  let oid: string;
  let bits: Uint8Array;
  let hasParameters: boolean;
  try {
    assertStrictDer(spki);
    const [alg, key, ...extra] = childrenOf(spki, expectTag(readTlv(spki, 0), 0x30, 'SPKI'));
    if (extra.length > 0) throw invalid('trailing fields in the public key');
    const [oidT, ...params] = childrenOf(spki, expectTag(alg, 0x30, 'algorithm'));
    oid = readOid(spki, oidT);
    hasParameters = params.length > 0;
    bits = contentOf(spki, expectTag(key, 0x03, 'subjectPublicKey'));
  } catch (cause) {
    if (cause instanceof HsmError) throw cause;
    throw invalid('not a subject public key info', undefined, cause);
  }
  const p = parametersOfOid(oid);
  if (p === undefined) {
    throw new HsmError('invalid-argument', 'not a post-quantum public key', { details: { oid } });
  }
  if (hasParameters) throw invalid(`${p.label} parameters must be absent`, p);
  if (bits[0] !== 0) throw invalid('the public key bit string has unused bits', p);
  const publicKey = bits.slice(1);
  checkLength(publicKey, p.publicKeyLength, 'the public key', p);
  return { algorithm: p.name, publicKey };
}

export interface Pkcs8Options {
  /** 'seed' (default, RFC 9881 6 RECOMMENDED) or 'both' (seed and expanded key); not SLH-DSA. */
  readonly form?: 'seed' | 'both';
  /** Add the publicKey [1] field (OneAsymmetricKey v2), for a consistency check on import. */
  readonly includePublicKey?: boolean;
  /** SLH-DSA: PK.seed || PK.root, when known (else recomputed from the seed). */
  readonly publicKey?: Uint8Array;
}

/**
 * The PKCS#8 of a key given by its seed. ML-DSA and ML-KEM write the CHOICE of RFC 9881 6 and
 * RFC 9935 6 (seed [0] by default); SLH-DSA its raw 4n-octet private key (RFC 9909 7).
 */
export function encodePqPkcs8(
  algorithm: PqAlgorithm,
  seed: Uint8Array,
  options: Pkcs8Options = {},
): Uint8Array {
  const p = parametersOf(algorithm);
  checkLength(seed, p.seedLength, 'the seed', p);
  const needsExpansion =
    options.form === 'both' || options.includePublicKey === true || p.privateKeyForm === 'raw';
  let expanded: { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array } | undefined;
  if (needsExpansion) {
    if (p.privateKeyForm === 'raw' && options.publicKey !== undefined) {
      checkSlhDsaPublicKey(p, seed, options.publicKey);
      const raw = new Uint8Array(p.privateKeyLength);
      raw.set(seed);
      raw.set(options.publicKey.subarray(p.publicKeyLength / 2), seed.length);
      expanded = { publicKey: options.publicKey, secretKey: raw };
    } else expanded = expandSeed(algorithm, seed);
  }
  let privateKey: Uint8Array;
  if (p.privateKeyForm === 'raw') {
    if (options.form === 'both') throw invalid('SLH-DSA private keys have one form only', p);
    privateKey = expanded!.secretKey;
  } else if (options.form === 'both') {
    privateKey = der.seq(der.octetString(seed), der.octetString(expanded!.secretKey));
  } else privateKey = der.contextPrimitive(0, seed);
  const v2 = options.includePublicKey === true;
  return der.seq(
    der.integer(v2 ? 1 : 0),
    der.algorithmIdentifier(p.oid),
    // SLH-DSA: the raw key is the OCTET STRING's content; the CHOICE is DER inside it.
    der.octetString(privateKey),
    ...(v2 ? [der.contextPrimitive(1, Uint8Array.of(0, ...expanded!.publicKey))] : []),
  );
}

/** Reads a OneAsymmetricKey of an adapter algorithm, for syntax and lengths only. */
export function decodePqPkcs8(pkcs8: Uint8Array): DecodedPqPrivateKey {
  let fields: derReader.Tlv[];
  try {
    assertStrictDer(pkcs8);
    fields = childrenOf(pkcs8, expectTag(readTlv(pkcs8, 0), 0x30, 'OneAsymmetricKey'));
  } catch (cause) {
    throw invalid('not a pkcs#8 private key', undefined, cause);
  }
  const read = <T>(fn: () => T, p?: PqParameters): T => {
    try {
      return fn();
    } catch (cause) {
      if (cause instanceof HsmError) throw cause;
      if (cause instanceof PkiError) throw invalid('not a pkcs#8 private key', p, cause);
      throw cause;
    }
  };
  const [versionT, algT, keyT, ...rest] = fields;
  const version = read(() => readUnsigned(pkcs8, versionT));
  if (version > 1n) throw invalid('unknown pkcs#8 version');
  const [oid, hasParameters] = read(() => {
    const [oidT, ...params] = childrenOf(pkcs8, expectTag(algT, 0x30, 'privateKeyAlgorithm'));
    return [readOid(pkcs8, oidT), params.length > 0] as const;
  });
  const p = parametersOfOid(oid);
  if (p === undefined) {
    throw new HsmError('invalid-argument', 'not a post-quantum private key', { details: { oid } });
  }
  if (hasParameters) throw invalid(`${p.label} parameters must be absent`, p);
  const privateKey = read(() => readOctets(pkcs8, keyT), p);

  // attributes [0] IMPLICIT (0xa0) may be present and are ignored; publicKey [1] IMPLICIT BIT
  // STRING (0x81) only in v2 (RFC 5958 2); nothing else, in that order.
  let publicKey: Uint8Array | undefined;
  let last = -1;
  for (const f of rest) {
    const rank = f.tag === 0xa0 ? 0 : f.tag === 0x81 ? 1 : -1;
    if (rank <= last) throw invalid('unexpected field in the pkcs#8 private key', p);
    last = rank;
    if (f.tag === 0x81) {
      if (version !== 1n) throw invalid('a public key needs pkcs#8 version 2', p);
      const bits = contentOf(pkcs8, f);
      if (bits[0] !== 0) throw invalid('the public key bit string has unused bits', p);
      publicKey = bits.slice(1);
      checkLength(publicKey, p.publicKeyLength, 'the public key', p);
    }
  }

  let seed: Uint8Array | undefined;
  let expandedKey: Uint8Array | undefined;
  if (p.privateKeyForm === 'raw') {
    checkLength(privateKey, p.privateKeyLength, 'the private key', p);
    seed = privateKey.slice(0, p.seedLength);
    expandedKey = privateKey.slice();
  } else {
    // RFC 9881 6, RFC 9935 6: the tag tells the CHOICE apart (0x80 seed, 0x04 expandedKey,
    // 0x30 both), never the length.
    read(() => {
      const choice = readTlv(privateKey, 0);
      if (choice.end !== privateKey.length) throw invalid('trailing bytes in the private key', p);
      if (choice.tag === 0x80) seed = contentOf(privateKey, choice).slice();
      else if (choice.tag === 0x04) expandedKey = contentOf(privateKey, choice).slice();
      else if (choice.tag === 0x30) {
        const [s, e, ...extra] = childrenOf(privateKey, choice);
        if (extra.length > 0) throw invalid('unexpected field in the private key', p);
        seed = readOctets(privateKey, s).slice();
        expandedKey = readOctets(privateKey, e).slice();
      } else throw invalid('unknown private key format', p);
    }, p);
    if (seed !== undefined) checkLength(seed, p.seedLength, 'the seed', p);
    if (expandedKey !== undefined)
      checkLength(expandedKey, p.privateKeyLength, 'the expanded key', p);
  }
  return { algorithm: p.name, version: version === 1n ? 1 : 0, seed, expandedKey, publicKey };
}

/**
 * The seed and public key of a PKCS#8 private key, for keys kept as seeds. A key without its
 * seed (the expandedKey choice) is refused: the seed cannot be recovered from it (RFC 9935 7).
 * Whatever the key carries besides its seed must be what the seed gives: the expanded key
 * (RFC 9881 8.2, RFC 9935 8: MUST reject), SLH-DSA's PK.root, the publicKey field.
 */
export function importPqPkcs8(pkcs8: Uint8Array): ImportedPqKey {
  const decoded = decodePqPkcs8(pkcs8);
  const p = parametersOf(decoded.algorithm);
  if (decoded.seed === undefined) {
    throw invalid('a private key without its seed cannot be imported (keys are kept as seeds)', p);
  }
  const keys = expandSeed(decoded.algorithm, decoded.seed);
  if (decoded.expandedKey !== undefined && !bytesEqual(decoded.expandedKey, keys.secretKey)) {
    throw invalid(
      p.privateKeyForm === 'raw'
        ? 'PK.root of the private key is not that of its seed'
        : 'the expanded key is not that of the seed',
      p,
    );
  }
  if (decoded.publicKey !== undefined && !bytesEqual(decoded.publicKey, keys.publicKey)) {
    throw invalid('the public key is not that of the private key', p);
  }
  return { algorithm: decoded.algorithm, seed: decoded.seed, publicKey: keys.publicKey };
}

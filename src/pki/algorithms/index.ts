// The algorithm registry: every family's public facts, looked up by key algorithm name, by SPKI
// OID and by signature OID, and the verifier's signature check built on them. A new family is
// one file beside this one and its entry in FAMILIES; the types below follow from that list.
import { childrenOf, contentOf, expectTag, readOid, readTlv } from '../der.js';
import { PkiError } from '../errors.js';
import { ecdsa } from './ecdsa.js';
import { eddsa } from './eddsa.js';
import { mlDsa } from './ml-dsa.js';
import { mlKem } from './ml-kem.js';
import { rsaPkcs1 } from './rsa-pkcs1.js';
import { rsaPss } from './rsa-pss.js';
import { slhDsa } from './slh-dsa.js';
import {
  unsupported,
  type AlgorithmFamily,
  type KeyAlgorithmDef,
  type PublicKeyReader,
  type SignatureReader,
  type Tagged,
} from './types.js';

export type {
  AlgorithmFamily,
  CmsDigestName,
  KeyAlgorithmDef,
  PublicKeyReader,
  SignatureReader,
  Tagged,
  Unsupported,
} from './types.js';
export type { EcCurve, EcPublicKey, EcdsaScheme } from './ecdsa.js';
export { isLowS, toLowS } from './ecdsa.js';
export type { Ed25519PublicKey, Ed25519Scheme } from './eddsa.js';
export type { RsaPkcs1Scheme, RsaPublicKey } from './rsa-pkcs1.js';
export type { RsaPssScheme } from './rsa-pss.js';
export type { MlDsaParameterSet, MlDsaPublicKey, MlDsaScheme } from './ml-dsa.js';
export type { MlKemParameterSet, MlKemPublicKey } from './ml-kem.js';
export type { SlhDsaParameterSet, SlhDsaPublicKey, SlhDsaScheme } from './slh-dsa.js';
export { rsaPkcs1SignatureOid } from './rsa-pkcs1.js';
export { PSS_SALT_LENGTH } from './rsa-pss.js';
export { ML_DSA_PARAMETER_SETS } from './ml-dsa.js';
export { ML_KEM_PARAMETER_SETS } from './ml-kem.js';
export { SLH_DSA_PARAMETER_SETS } from './slh-dsa.js';
export { encodeRawSpki } from './raw-keys.js';
export { CMS_DIGESTS } from './cms-digests.js';

/**
 * Every family, in the order of KEY_ALGORITHMS (and of the CLI's lists). The post-quantum ones
 * are verify-only until the HSM has their mechanisms: they issue no key algorithm yet.
 */
const FAMILIES = [ecdsa, eddsa, rsaPkcs1, rsaPss, mlDsa, slhDsa, mlKem] as const;

type Family = (typeof FAMILIES)[number];
type Def = Family['keyAlgorithms'][number];

/** A key algorithm name: 'ecdsa-p256', 'ed25519', 'rsa-pss-3072'... */
export type KeyAlgorithm = Def['name'];
/** The key type as node:crypto and the SPKI name it. */
export type KeyFamily = Def['family'];
/** A family's name: its file here and in src/hsm/mechanisms. */
export type MechanismName = Family['name'];

export interface KeyAlgorithmInfo extends KeyAlgorithmDef {
  readonly name: KeyAlgorithm;
  readonly family: KeyFamily;
  readonly mechanism: MechanismName;
}

/** What an SPKI holds, for the algorithm allow-list (named curves, RSA >= 2048). */
export type PublicKeyKind = ReturnType<Family['publicKeys'][number]['read']>;
/** The signature scheme of an AlgorithmIdentifier, or why it is not allowed (SHA-1, MD5...). */
export type SignatureScheme = ReturnType<Family['signatures'][number]['read']>;

/** The registered families, for inspection (tests, documentation). */
export const ALGORITHM_FAMILIES: readonly AlgorithmFamily[] = FAMILIES;

const INFOS: readonly KeyAlgorithmInfo[] = FAMILIES.flatMap(
  (f): readonly KeyAlgorithmInfo[] => f.keyAlgorithms,
);

function indexBy<T>(entries: readonly (readonly [string, T])[], what: string): Map<string, T> {
  const map = new Map<string, T>();
  for (const [key, value] of entries) {
    // Two families claiming one name or OID is a programming error: fail at load.
    if (map.has(key)) throw new Error(`algorithm registry: ${what} ${key} registered twice`);
    map.set(key, value);
  }
  return map;
}

const BY_NAME = indexBy(
  INFOS.map((i) => [i.name, i] as const),
  'key algorithm',
);
const FAMILY_BY_NAME = indexBy(
  FAMILIES.map((f) => [f.name, f] as const),
  'family',
);
const PUBLIC_KEYS = indexBy(
  FAMILIES.flatMap((f) => f.publicKeys.map((r): [string, PublicKeyReader] => [r.oid, r])),
  'SPKI algorithm',
);
const SIGNATURES = indexBy(
  FAMILIES.flatMap((f) =>
    f.signatures.flatMap((r: SignatureReader) =>
      r.oids.map((o): [string, SignatureReader] => [o, r]),
    ),
  ),
  'signature algorithm',
);
const FAMILY_BY_PUBLIC_KEY = indexBy(
  FAMILIES.flatMap((f) => f.publicKeys.map((r): [string, AlgorithmFamily] => [r.oid, f])),
  'SPKI algorithm',
);
const FAMILY_BY_SIGNATURE = indexBy(
  FAMILIES.flatMap((f) =>
    f.signatures.flatMap((r: SignatureReader) =>
      r.oids.map((o): [string, AlgorithmFamily] => [o, f]),
    ),
  ),
  'signature algorithm',
);

export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = INFOS.map((i) => i.name);

export function isKeyAlgorithm(value: string): value is KeyAlgorithm {
  return BY_NAME.has(value);
}

/** The error for a key algorithm name the registry does not know (also used by src/hsm). */
export function unknownKeyAlgorithm(name: string): PkiError {
  return new PkiError('algorithm-unsupported', 'unsupported key algorithm', {
    details: { algorithm: name },
  });
}

export function keyAlgorithmInfo(name: KeyAlgorithm): KeyAlgorithmInfo {
  const info = BY_NAME.get(name);
  if (info === undefined) throw unknownKeyAlgorithm(name);
  return info;
}

/** The DER AlgorithmIdentifier of the signature a key of this algorithm produces (a copy). */
export function signatureAlgorithmDer(name: KeyAlgorithm): Uint8Array {
  return keyAlgorithmInfo(name).signatureAlgorithm.slice();
}

/** The family a key algorithm belongs to. */
export function algorithmFamily(name: KeyAlgorithm): AlgorithmFamily {
  const family = FAMILY_BY_NAME.get(keyAlgorithmInfo(name).mechanism);
  if (family === undefined) throw unknownKeyAlgorithm(name);
  return family;
}

/** The family that owns a signature AlgorithmIdentifier OID. */
export function familyOfSignatureOid(oid: string): AlgorithmFamily {
  const family = FAMILY_BY_SIGNATURE.get(oid);
  if (family === undefined) {
    throw new PkiError('algorithm-unsupported', 'unsupported signature algorithm', {
      details: { oid },
    });
  }
  return family;
}

/** The family that owns an SPKI algorithm OID. */
export function familyOfPublicKeyOid(oid: string): AlgorithmFamily {
  const family = FAMILY_BY_PUBLIC_KEY.get(oid);
  if (family === undefined) {
    throw new PkiError('algorithm-unsupported', 'unsupported public key algorithm', {
      details: { oid },
    });
  }
  return family;
}

interface ReadKey {
  readonly reader: PublicKeyReader | undefined;
  readonly key: Tagged;
}

/** SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING } */
function readPublicKey(spki: Uint8Array): ReadKey {
  try {
    const [alg, bits] = childrenOf(spki, readTlv(spki, 0));
    const [oidT, params] = childrenOf(spki, expectTag(alg, 0x30, 'algorithm'));
    const oid = readOid(spki, oidT);
    const keyBits = contentOf(spki, expectTag(bits, 0x03, 'subjectPublicKey')).subarray(1);
    const reader = PUBLIC_KEYS.get(oid);
    if (reader === undefined) {
      return { reader, key: unsupported(`public key algorithm ${oid} not on the allow-list`) };
    }
    return { reader, key: reader.read(spki, params, keyBits) };
  } catch {
    return { reader: undefined, key: unsupported('malformed public key') };
  }
}

interface ReadScheme {
  readonly reader: SignatureReader | undefined;
  readonly scheme: Tagged;
}

/** AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL } */
function readSignatureAlgorithm(algorithm: Uint8Array): ReadScheme {
  try {
    const [oidT, params, ...rest] = childrenOf(algorithm, readTlv(algorithm, 0));
    const oid = readOid(algorithm, oidT);
    const reader = SIGNATURES.get(oid);
    if (reader === undefined) {
      return { reader, scheme: unsupported(`signature algorithm ${oid} is not on the allow-list`) };
    }
    return { reader, scheme: reader.read(algorithm, oid, params, rest) };
  } catch {
    return { reader: undefined, scheme: unsupported('malformed signature algorithm') };
  }
}

function isUnsupported(value: Tagged): value is { kind: 'unsupported'; reason: string } {
  return value.kind === 'unsupported';
}

/** What an SPKI holds, or why it is off the allow-list (syntax only; never throws). */
export function describePublicKey(spki: Uint8Array): PublicKeyKind {
  return readPublicKey(spki).key as PublicKeyKind;
}

/** The signature scheme a DER AlgorithmIdentifier names, or why it is not allowed. */
export function describeSignatureAlgorithm(algorithm: Uint8Array): SignatureScheme {
  return readSignatureAlgorithm(algorithm).scheme as SignatureScheme;
}

/** An SPKI's key for a report ('EC P-256', 'RSA 3072'), or why it is off the allow-list. */
export function publicKeyLabel(spki: Uint8Array): string {
  const { reader, key } = readPublicKey(spki);
  return isUnsupported(key) || reader === undefined ? reasonOf(key) : reader.label(key);
}

/** Why the verifier's allow-list refuses an SPKI (unknown, malformed, too weak), or undefined. */
export function publicKeyProblem(spki: Uint8Array): string | undefined {
  const { reader, key } = readPublicKey(spki);
  return isUnsupported(key) || reader === undefined ? reasonOf(key) : reader.weakness(key);
}

/** A signature AlgorithmIdentifier for a report ('ECDSA with SHA256'), or why it is refused. */
export function signatureAlgorithmLabel(algorithm: Uint8Array): string {
  const { reader, scheme } = readSignatureAlgorithm(algorithm);
  return isUnsupported(scheme) || reader === undefined ? reasonOf(scheme) : reader.label(scheme);
}

function reasonOf(value: Tagged): string {
  return isUnsupported(value) ? value.reason : 'unsupported';
}

/**
 * Why a CMS SignerInfo with signed attributes may not name `digestAlgorithm` (DER
 * AlgorithmIdentifier) beside the signature `algorithm`, when the signature's RFC restricts the
 * digest (RFC 9882 3.3 for ML-DSA, RFC 9814 4 for SLH-DSA); undefined when it may, or when the
 * scheme sets no such rule or is off the allow-list (verifySignature refuses that). Never throws.
 */
export function cmsDigestProblem(
  algorithm: Uint8Array,
  digestAlgorithm: Uint8Array,
): string | undefined {
  const { reader, scheme } = readSignatureAlgorithm(algorithm);
  if (reader?.cmsDigestProblem === undefined || isUnsupported(scheme)) return undefined;
  try {
    const [oidT, params, ...rest] = childrenOf(digestAlgorithm, readTlv(digestAlgorithm, 0));
    const oid = readOid(digestAlgorithm, oidT);
    return reader.cmsDigestProblem(scheme, oid, params !== undefined || rest.length > 0);
  } catch {
    return 'malformed digest algorithm';
  }
}

/**
 * Verifies `signature` over `data` with the key in `spki` under `algorithm` (DER
 * AlgorithmIdentifier). Returns false for a bad signature, a key/algorithm mismatch or an
 * algorithm off the allow-list; never throws.
 */
export async function verifySignature(
  spki: Uint8Array,
  algorithm: Uint8Array,
  data: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  const { reader, scheme } = readSignatureAlgorithm(algorithm);
  const { key } = readPublicKey(spki);
  if (reader === undefined || isUnsupported(scheme) || isUnsupported(key)) return false;
  try {
    return await reader.verify(scheme, key, spki, data, signature);
  } catch {
    return false;
  }
}

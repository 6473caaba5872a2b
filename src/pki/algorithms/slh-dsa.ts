// SLH-DSA (FIPS 205) in X.509 and the CMS: the twelve id-slh-dsa-* SPKIs and signature
// identifiers with absent parameters (RFC 9909 3-4), pure SLH-DSA with the empty context
// (RFC 9909 3, RFC 9814 4), verified with @noble/post-quantum; the digests a SignerInfo may name
// (RFC 9814 4); and the six fast ('f') sets as key algorithms of the HSM (its mechanism:
// src/hsm/mechanisms/slh-dsa.ts).
import {
  slh_dsa_sha2_128f,
  slh_dsa_sha2_128s,
  slh_dsa_sha2_192f,
  slh_dsa_sha2_192s,
  slh_dsa_sha2_256f,
  slh_dsa_sha2_256s,
  slh_dsa_shake_128f,
  slh_dsa_shake_128s,
  slh_dsa_shake_192f,
  slh_dsa_shake_192s,
  slh_dsa_shake_256f,
  slh_dsa_shake_256s,
} from '@noble/post-quantum/slh-dsa.js';
import { algorithmIdentifier } from '../der-writer.js';
import {
  id_slh_dsa_sha2_128f,
  id_slh_dsa_sha2_128s,
  id_slh_dsa_sha2_192f,
  id_slh_dsa_sha2_192s,
  id_slh_dsa_sha2_256f,
  id_slh_dsa_sha2_256s,
  id_slh_dsa_shake_128f,
  id_slh_dsa_shake_128s,
  id_slh_dsa_shake_192f,
  id_slh_dsa_shake_192s,
  id_slh_dsa_shake_256f,
  id_slh_dsa_shake_256s,
} from '../oids.js';
import { cmsDigestProblem } from './cms-digests.js';
import { readRawKey } from './raw-keys.js';
import {
  unsupported,
  type AlgorithmFamily,
  type CmsDigestName,
  type KeyAlgorithmDef,
  type PublicKeyReader,
  type SignatureReader,
  type Tagged,
} from './types.js';

type SlhDsaName =
  | 'slh-dsa-sha2-128s'
  | 'slh-dsa-sha2-128f'
  | 'slh-dsa-sha2-192s'
  | 'slh-dsa-sha2-192f'
  | 'slh-dsa-sha2-256s'
  | 'slh-dsa-sha2-256f'
  | 'slh-dsa-shake-128s'
  | 'slh-dsa-shake-128f'
  | 'slh-dsa-shake-192s'
  | 'slh-dsa-shake-192f'
  | 'slh-dsa-shake-256s'
  | 'slh-dsa-shake-256f';

/** One SLH-DSA parameter set's public facts (FIPS 205 11, Table 2; RFC 9909 Appendix B). */
export interface SlhDsaParameterSet {
  /** The project's name for it: 'slh-dsa-sha2-128s'. */
  readonly name: SlhDsaName;
  /** FIPS 205's name: 'SLH-DSA-SHA2-128s'. */
  readonly label: string;
  readonly oid: string;
  /** n, the security parameter in octets (16, 24 or 32). */
  readonly n: 16 | 24 | 32;
  /** The public key PK.seed || PK.root: 2n octets (FIPS 205 9.1, RFC 9909 4). */
  readonly publicKeyLength: number;
  /** The private key SK.seed || SK.prf || PK.seed || PK.root: 4n octets (RFC 9909 6). */
  readonly privateKeyLength: number;
  /** The seed a key is generated from, SK.seed || SK.prf || PK.seed: 3n octets (FIPS 205 10.1). */
  readonly seedLength: number;
  readonly signatureLength: number;
  /** Security strength in bits (8n), the floor of a CMS digest. */
  readonly strength: 128 | 192 | 256;
}

const set = (
  name: SlhDsaName,
  label: string,
  oid: string,
  n: 16 | 24 | 32,
  signatureLength: number,
): SlhDsaParameterSet => ({
  name,
  label,
  oid,
  n,
  publicKeyLength: 2 * n,
  privateKeyLength: 4 * n,
  seedLength: 3 * n,
  signatureLength,
  strength: (8 * n) as 128 | 192 | 256,
});

/** The twelve parameter sets, in OID order (RFC 9909 3; signature sizes from FIPS 205 Table 2). */
export const SLH_DSA_PARAMETER_SETS: readonly SlhDsaParameterSet[] = [
  set('slh-dsa-sha2-128s', 'SLH-DSA-SHA2-128s', id_slh_dsa_sha2_128s, 16, 7856),
  set('slh-dsa-sha2-128f', 'SLH-DSA-SHA2-128f', id_slh_dsa_sha2_128f, 16, 17088),
  set('slh-dsa-sha2-192s', 'SLH-DSA-SHA2-192s', id_slh_dsa_sha2_192s, 24, 16224),
  set('slh-dsa-sha2-192f', 'SLH-DSA-SHA2-192f', id_slh_dsa_sha2_192f, 24, 35664),
  set('slh-dsa-sha2-256s', 'SLH-DSA-SHA2-256s', id_slh_dsa_sha2_256s, 32, 29792),
  set('slh-dsa-sha2-256f', 'SLH-DSA-SHA2-256f', id_slh_dsa_sha2_256f, 32, 49856),
  set('slh-dsa-shake-128s', 'SLH-DSA-SHAKE-128s', id_slh_dsa_shake_128s, 16, 7856),
  set('slh-dsa-shake-128f', 'SLH-DSA-SHAKE-128f', id_slh_dsa_shake_128f, 16, 17088),
  set('slh-dsa-shake-192s', 'SLH-DSA-SHAKE-192s', id_slh_dsa_shake_192s, 24, 16224),
  set('slh-dsa-shake-192f', 'SLH-DSA-SHAKE-192f', id_slh_dsa_shake_192f, 24, 35664),
  set('slh-dsa-shake-256s', 'SLH-DSA-SHAKE-256s', id_slh_dsa_shake_256s, 32, 29792),
  set('slh-dsa-shake-256f', 'SLH-DSA-SHAKE-256f', id_slh_dsa_shake_256f, 32, 49856),
];

const VERIFY: Readonly<Record<SlhDsaName, typeof slh_dsa_sha2_128s>> = {
  'slh-dsa-sha2-128s': slh_dsa_sha2_128s,
  'slh-dsa-sha2-128f': slh_dsa_sha2_128f,
  'slh-dsa-sha2-192s': slh_dsa_sha2_192s,
  'slh-dsa-sha2-192f': slh_dsa_sha2_192f,
  'slh-dsa-sha2-256s': slh_dsa_sha2_256s,
  'slh-dsa-sha2-256f': slh_dsa_sha2_256f,
  'slh-dsa-shake-128s': slh_dsa_shake_128s,
  'slh-dsa-shake-128f': slh_dsa_shake_128f,
  'slh-dsa-shake-192s': slh_dsa_shake_192s,
  'slh-dsa-shake-192f': slh_dsa_shake_192f,
  'slh-dsa-shake-256s': slh_dsa_shake_256s,
  'slh-dsa-shake-256f': slh_dsa_shake_256f,
};

export interface SlhDsaPublicKey {
  readonly kind: 'slh-dsa';
  readonly set: SlhDsaParameterSet;
  /** PK.seed || PK.root, raw in the BIT STRING (RFC 9909 4). */
  readonly key: Uint8Array;
}

export interface SlhDsaScheme {
  readonly kind: 'slh-dsa';
  readonly set: SlhDsaParameterSet;
}

function isSlhDsaKey(key: Tagged): key is SlhDsaPublicKey {
  return key.kind === 'slh-dsa';
}

const publicKeyReader = (s: SlhDsaParameterSet): PublicKeyReader<SlhDsaPublicKey> => ({
  oid: s.oid,
  read(_spki, params, keyBits) {
    // RFC 9909 3: the parameters are absent; the key is 2n octets.
    const key = readRawKey(s.label, 'RFC 9909 3', params, keyBits, s.publicKeyLength);
    return key instanceof Uint8Array ? { kind: 'slh-dsa', set: s, key } : key;
  },
  label: () => s.label,
  weakness: () => undefined,
});

const BY_OID = new Map<string, SlhDsaParameterSet>(SLH_DSA_PARAMETER_SETS.map((s) => [s.oid, s]));
const EMPTY_CONTEXT = new Uint8Array(0);

const slhDsaSignature: SignatureReader<SlhDsaScheme> = {
  oids: SLH_DSA_PARAMETER_SETS.map((s) => s.oid),
  read(_der, oid, params, rest) {
    const s = BY_OID.get(oid);
    if (s === undefined) return unsupported(`signature algorithm ${oid} is not on the allow-list`);
    // RFC 9909 3, RFC 9814 4: the parameters MUST be absent.
    if (params !== undefined || rest.length > 0)
      return unsupported(`${s.label} parameters must be absent (RFC 9909 3)`);
    return { kind: 'slh-dsa', set: s };
  },
  label: (scheme) => scheme.set.label,
  verify(scheme, key, _spki, data, signature) {
    if (!isSlhDsaKey(key) || key.set.name !== scheme.set.name) return false;
    // FIPS 205 Algorithm 20 step 1: a signature of the wrong length does not verify.
    if (signature.length !== scheme.set.signatureLength) return false;
    // Pure SLH-DSA with the empty context (RFC 9909 3, RFC 9814 4).
    return VERIFY[scheme.set.name].verify(signature, data, key.key, { context: EMPTY_CONTEXT });
  },
  cmsDigestProblem: (scheme, digestOid, hasParameters) =>
    cmsDigestProblem(scheme.set.label, scheme.set.strength, 'RFC 9814 4', digestOid, hasParameters),
};

/**
 * An SLH-DSA key algorithm of the HSM: pure SLH-DSA only (no HashSLH-DSA, so no digest mode),
 * parameters absent (RFC 9909 3), and as the SignerInfo digest the one RFC 9814 4 requires
 * verifiers to support for the set (SHA-256 for SHA2-128, SHA-512 for SHA2-192 and -256,
 * SHAKE128 for SHAKE-128, SHAKE256 for SHAKE-192 and -256), which BouncyCastle also insists on.
 */
function slhDsaKey<N extends SlhDsaName>(
  name: N,
  cmsDigest: CmsDigestName,
): KeyAlgorithmDef & {
  readonly name: N;
  readonly family: 'slh-dsa';
  readonly mechanism: 'slh-dsa';
} {
  const s = SLH_DSA_PARAMETER_SETS.find((p) => p.name === name);
  if (s === undefined) throw new Error(`slh-dsa: no parameter set ${name}`);
  return {
    name,
    family: 'slh-dsa',
    mechanism: 'slh-dsa',
    spkiOid: s.oid,
    hash: undefined,
    signatureOid: s.oid,
    signatureAlgorithm: algorithmIdentifier(s.oid),
    cmsDigest,
    verifyAfterSign: false,
    opensslTsLimitation: 'OpenSSL has no SLH-DSA before 3.5, and 3.5 and later are untested here',
    tokenVerifiers:
      'attestamp-verify verifies them (and node:crypto on Node 24 or later checks the signature over the signed attributes)',
    postQuantum: true,
  };
}

export const slhDsa = {
  name: 'slh-dsa',
  // The 's' sets are verify-only: their signatures take seconds to tens of seconds in
  // @noble/post-quantum (each one blocks the event loop that long), too slow for an HSM that
  // signs for a TSA and an API at once. The 'f' sets sign in about 0.5 to 4 s there.
  keyAlgorithms: [
    slhDsaKey('slh-dsa-sha2-128f', 'sha256'),
    slhDsaKey('slh-dsa-sha2-192f', 'sha512'),
    slhDsaKey('slh-dsa-sha2-256f', 'sha512'),
    slhDsaKey('slh-dsa-shake-128f', 'shake128'),
    slhDsaKey('slh-dsa-shake-192f', 'shake256'),
    slhDsaKey('slh-dsa-shake-256f', 'shake256'),
  ],
  publicKeys: SLH_DSA_PARAMETER_SETS.map(publicKeyReader),
  signatures: [slhDsaSignature],
} as const satisfies AlgorithmFamily;

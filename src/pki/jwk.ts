// Which JSON Web Key (RFC 7517) form a public key has, from the algorithm registry's facts: the
// AKP key type of draft-ietf-cose-dilithium for ML-DSA (kty, alg, pub), none for the other
// post-quantum keys (SLH-DSA's JOSE draft is not settled), and otherwise the form node:crypto
// writes (EC and RSA per RFC 7518 6, OKP per RFC 8037), which this browser-safe module leaves to
// its callers.
import { toBase64 } from '../shared/index.js';
import { KEY_ALGORITHMS, keyAlgorithmInfo } from './algorithms/index.js';
import { childrenOf, contentOf, expectTag, readOid, readTlv } from './der.js';

/** An AKP public key (draft-ietf-cose-dilithium 5): its members in lexicographic order. */
export interface AkpPublicJwk {
  readonly alg: string;
  readonly kty: 'AKP';
  /** The raw public key, base64url without padding (RFC 7515 2). */
  readonly pub: string;
}

export type JwkForm =
  | { readonly kind: 'akp'; readonly jwk: AkpPublicJwk }
  /** A key the registry knows has no JWK form (SLH-DSA). */
  | { readonly kind: 'none'; readonly reason: string }
  /** An EC, OKP or RSA key, or one the registry does not know: the caller's JWK writer decides. */
  | { readonly kind: 'other' };

const base64url = (bytes: Uint8Array): string =>
  toBase64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/** The JWK form of a DER SubjectPublicKeyInfo; never throws (malformed: 'other'). */
export function jwkFormOf(spki: Uint8Array): JwkForm {
  let oid: string;
  let keyBits: Uint8Array;
  try {
    const [alg, bits] = childrenOf(spki, readTlv(spki, 0));
    const [oidT, params] = childrenOf(spki, expectTag(alg, 0x30, 'algorithm'));
    if (params !== undefined) return { kind: 'other' };
    oid = readOid(spki, oidT);
    keyBits = contentOf(spki, expectTag(bits, 0x03, 'subjectPublicKey'));
  } catch {
    return { kind: 'other' };
  }
  const info = KEY_ALGORITHMS.map(keyAlgorithmInfo).find((i) => i.spkiOid === oid);
  if (info?.jwkAlg !== undefined && keyBits[0] === 0) {
    return {
      kind: 'akp',
      jwk: { alg: info.jwkAlg, kty: 'AKP', pub: base64url(keyBits.subarray(1)) },
    };
  }
  if (info?.postQuantum === true) {
    return { kind: 'none', reason: `no JWK form is specified for ${info.name} keys` };
  }
  return { kind: 'other' };
}

/** RFC 7638 thumbprint input of an AKP key: its required members alg, kty, pub, in that order. */
export function akpThumbprintInput(jwk: AkpPublicJwk): string {
  return JSON.stringify({ alg: jwk.alg, kty: jwk.kty, pub: jwk.pub });
}

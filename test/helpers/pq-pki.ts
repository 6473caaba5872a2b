// Post-quantum test PKIs built in process: ML-DSA and SLH-DSA signing keys and ML-KEM keys from
// fixed seeds with @noble/post-quantum (their SPKIs as RFC 9881, RFC 9909 and RFC 9935 write
// them), certificates signed through the project's buildCertificate, and time-stamp tokens
// re-signed with them (RFC 9882, RFC 9814) over the TSTInfo of a token from the test TSA.
import { randomBytes } from 'node:crypto';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { ml_kem1024, ml_kem512, ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import * as slh from '@noble/post-quantum/slh-dsa.js';
import {
  ML_DSA_PARAMETER_SETS,
  ML_KEM_PARAMETER_SETS,
  SLH_DSA_PARAMETER_SETS,
  authorityKeyIdentifier,
  basicConstraints,
  buildCertificate,
  der,
  encodeName,
  encodeRawSpki,
  extKeyUsage,
  id_kp_timeStamping,
  keyUsage,
  randomSerial,
  subjectKeyIdentifier,
  type ExtensionSpec,
  type MlDsaParameterSet,
  type MlKemParameterSet,
  type SlhDsaParameterSet,
} from '../../src/pki/index.js';
import {
  editTstInfo,
  resignTokenWith,
  tstInfoOf,
  type RawResignOptions,
  type RawSigner,
} from './cms-token.js';
import { createTestCa, stampWith } from './token-pki.js';

export type PqSignatureName = MlDsaParameterSet['name'] | SlhDsaParameterSet['name'];

/** A post-quantum signing key: its SPKI, the DER AlgorithmIdentifier it signs under, sign(). */
export interface PqSigningKey extends RawSigner {
  readonly name: PqSignatureName;
  readonly label: string;
  readonly oid: string;
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
  readonly spki: Uint8Array;
}

const ML_DSA = { 'ml-dsa-44': ml_dsa44, 'ml-dsa-65': ml_dsa65, 'ml-dsa-87': ml_dsa87 } as const;
const ML_KEM = { 'ml-kem-512': ml_kem512, 'ml-kem-768': ml_kem768, 'ml-kem-1024': ml_kem1024 };

/** @noble/post-quantum's implementation of an SLH-DSA set: slh-dsa-sha2-128s -> slh_dsa_sha2_128s. */
export function nobleSlhDsa(name: SlhDsaParameterSet['name']): typeof slh.slh_dsa_sha2_128f {
  const impl = (slh as unknown as Record<string, typeof slh.slh_dsa_sha2_128f | undefined>)[
    name.replace(/-/g, '_')
  ];
  if (impl === undefined) throw new Error(`no SLH-DSA implementation for ${name}`);
  return impl;
}

/** A fixed seed of `length` octets (every key of a test is reproducible). */
export const fixedSeed = (length: number, fill: number): Uint8Array =>
  new Uint8Array(length).fill(fill);

/** An ML-DSA or SLH-DSA key from a fixed seed (32 octets ξ, or SK.seed || SK.prf || PK.seed). */
export function pqSigningKey(name: PqSignatureName, fill = 0x11): PqSigningKey {
  const mlDsa = ML_DSA_PARAMETER_SETS.find((s) => s.name === name);
  if (mlDsa !== undefined) {
    const impl = ML_DSA[mlDsa.name];
    const keys = impl.keygen(fixedSeed(mlDsa.seedLength, fill));
    return keyOf(mlDsa, keys, (data) => impl.sign(data, keys.secretKey));
  }
  const set = SLH_DSA_PARAMETER_SETS.find((s) => s.name === name)!;
  const impl = nobleSlhDsa(set.name);
  const keys = impl.keygen(fixedSeed(set.seedLength, fill));
  return keyOf(set, keys, (data) => impl.sign(data, keys.secretKey));
}

function keyOf(
  set: MlDsaParameterSet | SlhDsaParameterSet,
  keys: { publicKey: Uint8Array; secretKey: Uint8Array },
  sign: (data: Uint8Array) => Uint8Array,
): PqSigningKey {
  return {
    name: set.name,
    label: set.label,
    oid: set.oid,
    publicKey: keys.publicKey,
    secretKey: keys.secretKey,
    spki: encodeRawSpki(set.oid, keys.publicKey),
    // RFC 9881 2, RFC 9909 3: the parameters are absent.
    algorithm: der.algorithmIdentifier(set.oid),
    sign,
  };
}

/** An ML-KEM key from a fixed seed d || z. */
export function mlKemKey(
  name: MlKemParameterSet['name'],
  fill = 0x33,
): { readonly set: MlKemParameterSet; readonly spki: Uint8Array; readonly secretKey: Uint8Array } {
  const set = ML_KEM_PARAMETER_SETS.find((s) => s.name === name)!;
  const keys = ML_KEM[set.name].keygen(fixedSeed(64, fill));
  return { set, spki: encodeRawSpki(set.oid, keys.publicKey), secretKey: keys.secretKey };
}

const DAY = 86_400_000;

/** The certificate builder's issuer for a post-quantum key (its AlgorithmIdentifier given). */
const issuerOf = (key: PqSigningKey) => ({
  signatureAlgorithm: key.algorithm,
  sign: (tbs: Uint8Array) => Promise.resolve(key.sign(tbs)),
});

export interface PqCa {
  readonly rootKey: PqSigningKey;
  /** DER of the self-signed root. */
  readonly root: Uint8Array;
  /** A certificate for `spki` under the root: a TSA by default (critical timeStamping EKU). */
  issue(
    spki: Uint8Array,
    subject: string,
    extensions?: readonly ExtensionSpec[],
  ): Promise<Uint8Array>;
}

/** A root CA whose key is `rootKey`, valid from 30 days ago for ten years. */
export async function createPqCa(rootKey: PqSigningKey): Promise<PqCa> {
  const now = Date.now();
  const rootName = encodeName({
    organization: 'attestamp tests',
    commonName: `${rootKey.label} root`,
  });
  const root = await buildCertificate(
    {
      serialNumber: randomSerial(randomBytes),
      issuer: rootName,
      subject: rootName,
      notBefore: new Date(now - 30 * DAY),
      notAfter: new Date(now + 3650 * DAY),
      spki: rootKey.spki,
      extensions: [
        basicConstraints(true),
        keyUsage(['keyCertSign', 'cRLSign']),
        subjectKeyIdentifier(rootKey.spki),
      ],
    },
    issuerOf(rootKey),
  );
  return {
    rootKey,
    root,
    issue: (spki, subject, extensions) =>
      buildCertificate(
        {
          serialNumber: randomSerial(randomBytes),
          issuer: rootName,
          subject: encodeName({ organization: 'attestamp tests', commonName: subject }),
          notBefore: new Date(now - DAY),
          notAfter: new Date(now + 365 * DAY),
          spki,
          extensions: [
            basicConstraints(false),
            ...(extensions ?? [
              keyUsage(['digitalSignature']),
              extKeyUsage([id_kp_timeStamping], true),
            ]),
            subjectKeyIdentifier(spki),
            authorityKeyIdentifier(rootKey.spki),
          ],
        },
        issuerOf(rootKey),
      ),
  };
}

/**
 * A TSTInfo over `data` written by the project's TokenTemplate (for a P-256 test TSA), without
 * its tsa name (which names that TSA, not the post-quantum one).
 */
export async function tstInfoSource(data: Uint8Array): Promise<Uint8Array> {
  const ca = await createTestCa();
  const token = await stampWith(await ca.issueTsa(), { data });
  return editTstInfo(tstInfoOf(token), (optional) => optional.filter((f) => f[0] !== 0xa0));
}

/**
 * A TimeStampResp over the TSTInfo `tstInfo`, signed by `key` (certified by `cert`, carried in
 * the token) under `options` (SHA-512 by default, RFC 9882 3.3's MUST).
 */
export function pqToken(
  tstInfo: Uint8Array,
  key: PqSigningKey,
  cert: Uint8Array,
  options: Partial<RawResignOptions> = {},
): Uint8Array {
  return resignTokenWith(tstInfo, key, {
    tstInfo,
    signerCert: cert,
    certificates: [cert],
    sid: 'issuer-serial',
    ess: 'v2',
    ...options,
  });
}

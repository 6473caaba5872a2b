// The digest algorithms a CMS SignerInfo with signed attributes may name beside a post-quantum
// signature: one whose collision strength is at least the parameter set's (RFC 9882 3.3 Table 1
// for ML-DSA; the same rule for SLH-DSA, which covers the digests RFC 9814 4 requires), with
// absent parameters.
import type { CmsDigestName } from './types.js';
import {
  id_sha256,
  id_sha384,
  id_sha3_256,
  id_sha3_384,
  id_sha3_512,
  id_sha512,
  id_shake128,
  id_shake256,
} from '../oids.js';

/**
 * The digests the HSM's signers name in a SignerInfo: OID (parameters absent, RFC 5754 2,
 * RFC 8702 2) and output length in octets (SHAKE128 and SHAKE256 give 256 and 512 bits in the
 * CMS, RFC 8702 3.1).
 */
export const CMS_DIGESTS: Readonly<
  Record<
    CmsDigestName,
    { readonly oid: string; readonly length: number; readonly extendable: boolean }
  >
> = {
  sha256: { oid: id_sha256, length: 32, extendable: false },
  sha384: { oid: id_sha384, length: 48, extendable: false },
  sha512: { oid: id_sha512, length: 64, extendable: false },
  shake128: { oid: id_shake128, length: 32, extendable: true },
  shake256: { oid: id_shake256, length: 64, extendable: true },
};

/**
 * Collision strength in bits: half the output (FIPS 180-4, FIPS 202; SHAKE128 and SHAKE256
 * give 256 and 512 bits in the CMS, RFC 8702 3.1).
 */
const STRENGTH: Readonly<Record<string, { readonly name: string; readonly bits: number }>> = {
  [id_sha256]: { name: 'SHA-256', bits: 128 },
  [id_sha384]: { name: 'SHA-384', bits: 192 },
  [id_sha512]: { name: 'SHA-512', bits: 256 },
  [id_sha3_256]: { name: 'SHA3-256', bits: 128 },
  [id_sha3_384]: { name: 'SHA3-384', bits: 192 },
  [id_sha3_512]: { name: 'SHA3-512', bits: 256 },
  [id_shake128]: { name: 'SHAKE128', bits: 128 },
  [id_shake256]: { name: 'SHAKE256', bits: 256 },
};

/**
 * Why `digestOid` may not accompany `label` (of `bits` collision strength) in a SignerInfo with
 * signed attributes, citing `rfc`; undefined when it may.
 */
export function cmsDigestProblem(
  label: string,
  bits: number,
  rfc: string,
  digestOid: string,
  hasParameters: boolean,
): string | undefined {
  const digest = STRENGTH[digestOid];
  if (digest === undefined) return `digest algorithm ${digestOid} is not allowed with ${label}`;
  if (digest.bits < bits)
    return `${digest.name} (${digest.bits}-bit collision strength) is too weak for ${label}, which needs ${bits} bits (${rfc})`;
  // RFC 9882 3.3, RFC 8702 3.1: the digest AlgorithmIdentifier's parameters MUST be omitted.
  if (hasParameters) return `the ${digest.name} digest algorithm must have no parameters (${rfc})`;
  return undefined;
}

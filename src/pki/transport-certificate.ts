// A device's transport key certificate (README "Backup and migration"): issued by the device key
// (root -> device -> transport), an end-entity certificate for an ML-KEM-768 key (keyUsage
// keyEncipherment only, draft-ietf-lamps-kyber-certificates 5) or an ECDH P-256 key (keyUsage
// keyAgreement only, RFC 5480 3), with the key evidence extension (ARC.2.1) saying the key was
// generated inside the device, never leaves it and serves only to import backup bundles. The
// template, and the checks a source device runs before it encrypts a bundle to such a key.
import { verifySignature } from './algorithms.js';
import { verifyDeviceCertificate } from './backup-bundle.js';
import { parseCertificateFields, type CertificateFields } from './certificate.js';
import { compareBytes } from './der-writer.js';
import { assertStrictDer, childrenOf, contentOf, expectTag, readOid, readTlv } from './der.js';
import { PkiError } from './errors.js';
import {
  capabilityOid,
  encodeClaimValue,
  id_element,
  KEY_CLAIMS,
  ORIGINS,
  parseTbsEvidence,
  PLATFORM_CLAIMS,
  type ClaimValue,
} from './evidence.js';
import {
  authorityKeyIdentifier,
  basicConstraints,
  keyIdentifier,
  keyUsage,
  KEY_USAGE_BITS,
  subjectKeyIdentifier,
} from './extensions.js';
import { encodeName, type DistinguishedName } from './name.js';
import {
  id_alg_ml_kem_768,
  id_ce_basicConstraints,
  id_ce_keyEvidence,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
  id_ecPublicKey,
  id_secp256r1,
} from './oids.js';
import type { TbsCertificateTemplate } from './certificate.js';

export const TRANSPORT_ALGORITHMS = ['ml-kem-768', 'ecdh-p256'] as const;
export type TransportAlgorithm = (typeof TRANSPORT_ALGORITHMS)[number];

/** The key usage a transport certificate of each algorithm carries, and only it. */
export const TRANSPORT_KEY_USAGE = {
  'ml-kem-768': 'keyEncipherment',
  'ecdh-p256': 'keyAgreement',
} as const satisfies Record<TransportAlgorithm, keyof typeof KEY_USAGE_BITS>;

export interface TransportCertificateInput {
  readonly serialNumber: Uint8Array;
  readonly subject: DistinguishedName;
  /** DER Name and SPKI of the issuing device certificate. */
  readonly issuer: { readonly name: Uint8Array; readonly spki: Uint8Array };
  readonly spki: Uint8Array;
  readonly algorithm: TransportAlgorithm;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** DER TbsEvidence about the key (the extension's value). */
  readonly evidence: Uint8Array;
}

/** The TBSCertificate of a transport key certificate. */
export function transportCertificateTemplate(i: TransportCertificateInput): TbsCertificateTemplate {
  return {
    serialNumber: i.serialNumber,
    issuer: i.issuer.name,
    subject: encodeName(i.subject),
    notBefore: i.notBefore,
    notAfter: i.notAfter,
    spki: i.spki,
    extensions: [
      subjectKeyIdentifier(i.spki),
      authorityKeyIdentifier(i.issuer.spki),
      basicConstraints(false),
      keyUsage([TRANSPORT_KEY_USAGE[i.algorithm]]),
      { oid: id_ce_keyEvidence, critical: false, value: i.evidence },
    ],
  };
}

/** What a verified transport certificate says. */
export interface TransportCertificateFacts {
  readonly deviceId: string;
  readonly algorithm: TransportAlgorithm;
  /** DER SubjectPublicKeyInfo of the transport key. */
  readonly spki: Uint8Array;
  /** The certificate's subjectKeyIdentifier: the rid a bundle names the key by. */
  readonly subjectKeyIdentifier: Uint8Array;
  /** The transport key's id on its device (evidence key identifier). */
  readonly keyId: string;
  readonly certificate: CertificateFields;
}

const refuse = (reason: string): never => {
  throw new PkiError('certificate-invalid', `transport certificate: ${reason}`);
};

/** The algorithm an SPKI is, among the transport algorithms. */
export function transportAlgorithmOfSpki(spki: Uint8Array): TransportAlgorithm | undefined {
  try {
    const top = readTlv(spki, 0);
    const [alg] = childrenOf(spki, expectTag(top, 0x30, 'SubjectPublicKeyInfo'));
    const a = childrenOf(spki, expectTag(alg, 0x30, 'algorithm'));
    const id = readOid(spki, a[0]);
    // RFC 9935 3: ML-KEM parameters absent.
    if (id === id_alg_ml_kem_768 && a.length === 1) return 'ml-kem-768';
    // RFC 5480 2.1.1: namedCurve secp256r1.
    if (id === id_ecPublicKey && a.length === 2 && readOid(spki, a[1]) === id_secp256r1) {
      return 'ecdh-p256';
    }
  } catch {
    // not an SPKI of ours
  }
  return undefined;
}

/** The bits a keyUsage extension value (a DER BIT STRING) sets, by RFC 5280 4.2.1.3 number. */
export function keyUsageBits(value: Uint8Array): Set<number> {
  const t = expectTag(readTlv(value, 0), 0x03, 'keyUsage');
  const c = contentOf(value, t);
  const out = new Set<number>();
  for (let i = 1; i < c.length; i++) {
    for (let bit = 0; bit < 8; bit++) if ((c[i]! & (0x80 >> bit)) !== 0) out.add((i - 1) * 8 + bit);
  }
  return out;
}

/**
 * A transport certificate chain checked before a bundle is encrypted to it: `chain` is the
 * transport certificate then its device certificate (a root after them is ignored: the pinned
 * `root` decides). The device certificate verifies under the pinned root with the device role;
 * the transport certificate is signed by it, valid at `at`, not a CA, carries exactly the key
 * usage of its algorithm and a subjectKeyIdentifier, and its key evidence says: this device, this
 * SPKI, generated inside (local, origin generated), never extractable, purpose unwrap only, and
 * import only. Throws PkiError certificate-invalid naming the failed check.
 */
export async function verifyTransportCertificate(
  chain: readonly Uint8Array[],
  root: Uint8Array,
  at: Date,
): Promise<TransportCertificateFacts> {
  const [leafDer, deviceDer] = chain;
  if (leafDer === undefined || deviceDer === undefined) {
    return refuse('the chain is the transport certificate and its device certificate');
  }
  let leaf: CertificateFields;
  let device: CertificateFields;
  try {
    assertStrictDer(leafDer);
    leaf = parseCertificateFields(leafDer);
    device = parseCertificateFields(deviceDer);
  } catch (cause) {
    throw new PkiError('certificate-invalid', 'transport certificate: not a certificate', {
      cause,
    });
  }
  const deviceId = await verifyDeviceCertificate(deviceDer, root, at);
  if (compareBytes(leaf.issuer, device.subject) !== 0) refuse('not issued by the device');
  if (!(await verifySignature(device.spki, leaf.signatureAlgorithm, leaf.tbs, leaf.signature))) {
    refuse('the device signature does not verify');
  }
  // RFC 5280 4.1.2.5: valid at the time of use.
  if (at < leaf.notBefore || at > leaf.notAfter) refuse('not valid now (expired or not yet valid)');
  const algorithm = transportAlgorithmOfSpki(leaf.spki) ?? refuse('not an ML-KEM-768 or P-256 key');
  const ext = (oid: string): Uint8Array | undefined =>
    leaf.extensions.find((e) => e.oid === oid)?.value;
  const bc = ext(id_ce_basicConstraints);
  // RFC 5280 4.2.1.9: an end-entity certificate (cA absent or FALSE: an empty SEQUENCE).
  if (bc !== undefined && !(bc.length === 2 && bc[0] === 0x30)) refuse('a CA certificate');
  const ku = ext(id_ce_keyUsage) ?? refuse('no keyUsage');
  const bits = keyUsageBits(ku);
  const wanted = KEY_USAGE_BITS[TRANSPORT_KEY_USAGE[algorithm]];
  if (bits.size !== 1 || !bits.has(wanted))
    refuse(`keyUsage is not ${TRANSPORT_KEY_USAGE[algorithm]} alone`);
  const skiExt = ext(id_ce_subjectKeyIdentifier) ?? refuse('no subjectKeyIdentifier');
  const ski = contentOf(skiExt, expectTag(readTlv(skiExt, 0), 0x04, 'subjectKeyIdentifier'));
  if (compareBytes(ski, keyIdentifier(leaf.spki)) !== 0)
    refuse('subjectKeyIdentifier is not the key');
  const evidenceDer = ext(id_ce_keyEvidence) ?? refuse('no key evidence');
  const keyId = checkTransportEvidence(evidenceDer, leaf.spki, deviceId);
  return {
    deviceId,
    algorithm,
    spki: leaf.spki,
    subjectKeyIdentifier: ski,
    keyId,
    certificate: leaf,
  };
}

/** The key evidence of a transport key: every claim the import-only promise rests on. */
function checkTransportEvidence(der: Uint8Array, spki: Uint8Array, deviceId: string): string {
  let tbs;
  try {
    tbs = parseTbsEvidence(der);
  } catch (cause) {
    throw new PkiError('certificate-invalid', 'transport certificate: malformed key evidence', {
      cause,
    });
  }
  const element = (type: string): Map<string, Uint8Array | undefined> => {
    const e = tbs.elements.filter((x) => x.type === type);
    if (e.length !== 1) refuse('the evidence lacks an element');
    return new Map(e[0]!.claims.map((c) => [c.oid, c.value]));
  };
  const platform = element(id_element.platform);
  const key = element(id_element.key);
  const is = (claims: Map<string, Uint8Array | undefined>, oid: string, v: ClaimValue): boolean => {
    const got = claims.get(oid);
    return got !== undefined && compareBytes(got, encodeClaimValue(v)) === 0;
  };
  if (!is(platform, PLATFORM_CLAIMS.deviceId.oid, { type: 'utf8', value: deviceId })) {
    refuse('the evidence names another device');
  }
  if (!is(key, KEY_CLAIMS.spki.oid, { type: 'spki', value: spki })) {
    refuse('the evidence names another key');
  }
  const yes: ClaimValue = { type: 'bool', value: true };
  const no: ClaimValue = { type: 'bool', value: false };
  const checks: readonly [string, ClaimValue, string][] = [
    [KEY_CLAIMS.local.oid, yes, 'generated inside the device'],
    [
      KEY_CLAIMS.origin.oid,
      { type: 'enum', value: BigInt(ORIGINS.indexOf('generated')) },
      'origin generated',
    ],
    [KEY_CLAIMS.extractable.oid, no, 'not extractable'],
    [KEY_CLAIMS.neverExtractable.oid, yes, 'never extractable'],
    [
      KEY_CLAIMS.purpose.oid,
      { type: 'oids', value: [capabilityOid('unwrap')] },
      'purpose unwrap alone',
    ],
    [KEY_CLAIMS.importOnly.oid, yes, 'import only'],
  ];
  for (const [oid, value, what] of checks) {
    if (!is(key, oid, value)) refuse(`the evidence does not say ${what}`);
  }
  const id = key.get(KEY_CLAIMS.identifier.oid) ?? refuse('the evidence names no key');
  const t = readTlv(id, 0);
  if (t.tag !== 0x0c) refuse('the key identifier is not text');
  return new TextDecoder().decode(contentOf(id, t));
}

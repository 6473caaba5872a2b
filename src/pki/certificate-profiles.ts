// Certificate profiles of the HSM chain (standards/attestation.md, "Certificate chain profile"):
// factory root -> device -> partition attestation key / partition timestamp key.
import type { TbsCertificateTemplate } from './certificate.js';
import {
  authorityKeyIdentifier,
  basicConstraints,
  extKeyUsage,
  keyUsage,
  privateKeyUsagePeriod,
  subjectKeyIdentifier,
  type ExtensionSpec,
} from './extensions.js';
import { encodeHsmRole, type HsmRole } from './hsm-role.js';
import { encodeName, type DistinguishedName } from './name.js';
import { id_ce_hsmRole, id_kp_attestationKey, id_kp_timeStamping } from './oids.js';

export interface ProfileSubject {
  readonly serialNumber: Uint8Array;
  readonly subject: DistinguishedName;
  readonly spki: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface ProfileIssuer {
  /** DER Name of the issuer certificate's subject. */
  readonly name: Uint8Array;
  /** DER SubjectPublicKeyInfo of the issuer. */
  readonly spki: Uint8Array;
}

function roleExtension(role: HsmRole): ExtensionSpec {
  // Non-critical so that generic RFC 5280 validators (openssl verify) accept the chain.
  return { oid: id_ce_hsmRole, critical: false, value: encodeHsmRole(role) };
}

function template(
  s: ProfileSubject,
  issuer: ProfileIssuer,
  extensions: ExtensionSpec[],
): TbsCertificateTemplate {
  return {
    serialNumber: s.serialNumber,
    issuer: issuer.name,
    subject: encodeName(s.subject),
    notBefore: s.notBefore,
    notAfter: s.notAfter,
    spki: s.spki,
    extensions: [subjectKeyIdentifier(s.spki), authorityKeyIdentifier(issuer.spki), ...extensions],
  };
}

/** Factory root: self-signed, cA with pathLen 2, keyCertSign and cRLSign. */
export function rootTemplate(s: ProfileSubject): TbsCertificateTemplate {
  return template(s, { name: encodeName(s.subject), spki: s.spki }, [
    basicConstraints(true, 2),
    keyUsage(['keyCertSign', 'cRLSign']),
    roleExtension({ role: 'root' }),
  ]);
}

/** Device: issued by the root, cA with pathLen 1; the device id also in subject serialNumber. */
export function deviceTemplate(
  s: ProfileSubject,
  issuer: ProfileIssuer,
  deviceId: string,
): TbsCertificateTemplate {
  return template(s, issuer, [
    basicConstraints(true, 1),
    keyUsage(['digitalSignature', 'keyCertSign', 'cRLSign']),
    roleExtension({ role: 'device', deviceId }),
  ]);
}

/** Partition attestation key: issued by the device, cA with pathLen 0, EKU ARC.3.1. */
export function partitionAttestationTemplate(
  s: ProfileSubject,
  issuer: ProfileIssuer,
  ids: { readonly deviceId: string; readonly partitionId: string },
): TbsCertificateTemplate {
  return template(s, issuer, [
    basicConstraints(true, 0),
    keyUsage(['digitalSignature', 'keyCertSign']),
    extKeyUsage([id_kp_attestationKey], false),
    roleExtension({ role: 'partition-attestation', ...ids }),
  ]);
}

/**
 * Partition timestamp key: issued by the device, not a CA, digitalSignature only, and exactly one
 * EKU, id-kp-timeStamping, critical (RFC 3161 2.3; ETSI EN 319 422).
 */
export function partitionTimestampTemplate(
  s: ProfileSubject,
  issuer: ProfileIssuer,
  ids: { readonly deviceId: string; readonly partitionId: string },
  usagePeriod?: { readonly notBefore: Date; readonly notAfter: Date },
): TbsCertificateTemplate {
  const extra: ExtensionSpec[] = [
    basicConstraints(false),
    keyUsage(['digitalSignature']),
    extKeyUsage([id_kp_timeStamping], true),
    roleExtension({ role: 'partition-timestamp', ...ids }),
  ];
  if (usagePeriod !== undefined) {
    extra.push(privateKeyUsagePeriod(usagePeriod.notBefore, usagePeriod.notAfter));
  }
  return template(s, issuer, extra);
}

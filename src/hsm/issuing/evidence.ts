// Key attestation issuing (standards/attestation.md "Evidence"): the claims about a key, taken
// from its real attributes, signed by the partition attestation key, as Evidence or as a key
// attestation certificate carrying the TbsEvidence in the ARC.2.1 extension.
import { createHash, randomBytes } from 'node:crypto';
import {
  authorityKeyIdentifier,
  basicConstraints,
  buildCertificate,
  capabilityOid,
  encodeEvidence,
  encodeName,
  encodeSignatureAlgorithm,
  encodeSignatureBlock,
  encodeTbsEvidence,
  id_ce_keyEvidence,
  id_element,
  KEY_CLAIMS,
  KEY_STATES,
  keyUsage,
  ORIGINS,
  parseCertificateFields,
  PLATFORM_CLAIMS,
  randomSerial,
  subjectKeyIdentifier,
  TRANSACTION_CLAIMS,
  type ClaimValue,
  type KeyUsageName,
  type Signer,
} from '../../pki/index.js';
import { canonicalJson } from '../governance/canonical-json.js';
import { HsmError } from '../errors.js';
import { isSecretAlgorithm, isSignatureAlgorithm } from '../key-crypto.js';
import { keyPolicyJson } from '../keys/policy.js';
import type { KeyInfo, KeyPurpose } from '../types.js';

/** What the software HSM reports about itself: never anything but protection-class software. */
export const PLATFORM = {
  vendor: 'attestamp',
  hwmodel: 'attestamp software HSM',
  swname: 'attestamp',
  swversion: '0.1.0',
} as const;

export interface AttestationInput {
  readonly key: KeyInfo;
  readonly deviceId: string;
  readonly attestationSigner: Signer;
  readonly at: Date;
  readonly nonce: Uint8Array | undefined;
}

type Claims = { oid: string; value?: ClaimValue }[];

/** The key's approval rules as RFC 8785 JSON; undefined when it has none. */
export function approvalPolicyJson(key: KeyInfo): string | undefined {
  const rules = keyPolicyJson(key.attributes.policy);
  return Object.keys(rules).length === 0 ? undefined : canonicalJson(rules);
}

/**
 * SHA-256 over the key's usage policy (algorithm, purposes, attributes and, when it has one,
 * its approval rules), canonical JSON.
 */
export function keyPolicyDigest(key: KeyInfo): Uint8Array {
  const a = key.attributes;
  const approvals = approvalPolicyJson(key);
  const canonical = JSON.stringify([
    key.algorithm,
    [...a.purposes].sort(),
    a.extractable,
    a.sensitive,
    a.modifiable,
    a.copyable,
    a.destroyable,
    ...(approvals === undefined ? [] : [approvals]),
  ]);
  return createHash('sha256').update(canonical).digest();
}

function enumValue<T extends string>(list: readonly T[], v: T): ClaimValue {
  return { type: 'enum', value: BigInt(list.indexOf(v)) };
}

export function evidenceElements(input: AttestationInput): { type: string; claims: Claims }[] {
  const { key } = input;
  const a = key.attributes;
  const transaction: Claims = [];
  if (input.nonce !== undefined) {
    transaction.push({
      oid: TRANSACTION_CLAIMS.nonce.oid,
      value: { type: 'octets', value: input.nonce },
    });
  }
  transaction.push(
    { oid: TRANSACTION_CLAIMS.timestamp.oid, value: { type: 'time', value: input.at } },
    {
      oid: TRANSACTION_CLAIMS.akSpki.oid,
      value: { type: 'spki', value: input.attestationSigner.spki },
    },
  );
  const platform: Claims = [
    { oid: PLATFORM_CLAIMS.vendor.oid, value: { type: 'utf8', value: PLATFORM.vendor } },
    { oid: PLATFORM_CLAIMS.hwmodel.oid, value: { type: 'utf8', value: PLATFORM.hwmodel } },
    { oid: PLATFORM_CLAIMS.swname.oid, value: { type: 'utf8', value: PLATFORM.swname } },
    { oid: PLATFORM_CLAIMS.swversion.oid, value: { type: 'utf8', value: PLATFORM.swversion } },
    { oid: PLATFORM_CLAIMS.deviceId.oid, value: { type: 'utf8', value: input.deviceId } },
    // A software HSM must say so (standards/attestation.md).
    { oid: PLATFORM_CLAIMS.protectionClass.oid, value: { type: 'enum', value: 0n } },
  ];
  const bool = (value: boolean): ClaimValue => ({ type: 'bool', value });
  const keyClaims: Claims = [
    { oid: KEY_CLAIMS.identifier.oid, value: { type: 'utf8', value: key.id } },
    // A key pair is named by its SPKI; a secret key, which has none, by its algorithm and its
    // key check value (the row's public part, checked against the unsealed key).
    ...(isSecretAlgorithm(key.algorithm)
      ? [
          {
            oid: KEY_CLAIMS.keyAlgorithm.oid,
            value: { type: 'utf8', value: key.algorithm },
          } as const,
          {
            oid: KEY_CLAIMS.keyCheckValue.oid,
            value: { type: 'octets', value: key.spki },
          } as const,
        ]
      : [{ oid: KEY_CLAIMS.spki.oid, value: { type: 'spki', value: key.spki } } as const]),
    { oid: KEY_CLAIMS.extractable.oid, value: bool(a.extractable) },
    { oid: KEY_CLAIMS.sensitive.oid, value: bool(a.sensitive) },
    { oid: KEY_CLAIMS.neverExtractable.oid, value: bool(a.neverExtractable) },
    { oid: KEY_CLAIMS.local.oid, value: bool(a.local) },
    {
      oid: KEY_CLAIMS.purpose.oid,
      value: { type: 'oids', value: a.purposes.map((p) => capabilityOid(p)) },
    },
    { oid: KEY_CLAIMS.partitionId.oid, value: { type: 'utf8', value: key.partitionId } },
    { oid: KEY_CLAIMS.alwaysSensitive.oid, value: bool(a.alwaysSensitive) },
    { oid: KEY_CLAIMS.modifiable.oid, value: bool(a.modifiable) },
    { oid: KEY_CLAIMS.copyable.oid, value: bool(a.copyable) },
    { oid: KEY_CLAIMS.destroyable.oid, value: bool(a.destroyable) },
    { oid: KEY_CLAIMS.creationTime.oid, value: { type: 'time', value: key.createdAt } },
    { oid: KEY_CLAIMS.keyPolicyDigest.oid, value: { type: 'octets', value: keyPolicyDigest(key) } },
    { oid: KEY_CLAIMS.origin.oid, value: enumValue(ORIGINS, a.origin) },
    { oid: KEY_CLAIMS.keyState.oid, value: enumValue(KEY_STATES, key.state) },
  ];
  const from = a.restoredFrom;
  if (from !== undefined) {
    keyClaims.push(
      { oid: KEY_CLAIMS.restoredFromDevice.oid, value: { type: 'utf8', value: from.device } },
      { oid: KEY_CLAIMS.restoredFromPartition.oid, value: { type: 'utf8', value: from.partition } },
      { oid: KEY_CLAIMS.restoredFromKey.oid, value: { type: 'utf8', value: from.key } },
      { oid: KEY_CLAIMS.backupSerial.oid, value: { type: 'int', value: BigInt(from.serial) } },
      { oid: KEY_CLAIMS.backupTime.oid, value: { type: 'time', value: new Date(from.backupAt) } },
    );
  }
  const approvals = approvalPolicyJson(key);
  if (approvals !== undefined) {
    keyClaims.push({
      oid: KEY_CLAIMS.approvalPolicy.oid,
      value: { type: 'utf8', value: approvals },
    });
  }
  // A key pair whose SPKI does not say what the key is (a derivable key, a secp256k1 ECDSA
  // key) names its algorithm as a secret key does.
  if (!isSecretAlgorithm(key.algorithm) && !isSignatureAlgorithm(key.algorithm)) {
    keyClaims.push({
      oid: KEY_CLAIMS.keyAlgorithm.oid,
      value: { type: 'utf8', value: key.algorithm },
    });
  }
  // A temporary key's expiry (ARC.4.1.2.6), and where a derived key sits in its tree.
  if (a.expiresAt !== undefined) {
    keyClaims.push({
      oid: KEY_CLAIMS.expiry.oid,
      value: { type: 'time', value: new Date(a.expiresAt) },
    });
  }
  if (a.derivation !== undefined) {
    keyClaims.push(
      {
        oid: KEY_CLAIMS.derivationPath.oid,
        value: { type: 'utf8', value: a.derivation.path },
      },
      {
        oid: KEY_CLAIMS.parentFingerprint.oid,
        value: {
          type: 'octets',
          value: new Uint8Array(Buffer.from(a.derivation.parentFingerprint, 'hex')),
        },
      },
      {
        oid: KEY_CLAIMS.parentKeyIdentifier.oid,
        value: { type: 'utf8', value: a.derivation.parent },
      },
    );
  }
  return [
    { type: id_element.transaction, claims: transaction },
    { type: id_element.platform, claims: platform },
    { type: id_element.key, claims: keyClaims },
  ];
}

/** Evidence signed by the partition attestation key, with its chain (attestation, device, root). */
export async function issueEvidence(input: AttestationInput): Promise<Uint8Array> {
  const tbs = encodeTbsEvidence(evidenceElements(input));
  const signer = input.attestationSigner;
  const signature = await signer.sign(tbs);
  const block = encodeSignatureBlock({
    certificate: signer.certificateChain[0]!,
    signatureAlgorithm: encodeSignatureAlgorithm(signer.algorithm),
    signature,
  });
  return encodeEvidence(tbs, [block], signer.certificateChain);
}

/** Validity of a key attestation certificate: a short window from the attestation time. */
export const ATTESTATION_CERTIFICATE_HOURS = 24;

function keyUsageFor(purposes: readonly KeyPurpose[]): KeyUsageName[] {
  const usage = new Set<KeyUsageName>();
  if (purposes.includes('sign') || purposes.includes('verify')) usage.add('digitalSignature');
  if (purposes.includes('encrypt') || purposes.includes('decrypt')) usage.add('dataEncipherment');
  if (purposes.includes('wrap') || purposes.includes('unwrap')) usage.add('keyEncipherment');
  if (purposes.includes('derive')) usage.add('keyAgreement');
  if (usage.size === 0) usage.add('digitalSignature');
  return [...usage];
}

/** An X.509 key attestation certificate for the key, issued by the partition attestation key. */
export async function issueAttestationCertificate(input: AttestationInput): Promise<Uint8Array> {
  const { key } = input;
  if (isSecretAlgorithm(key.algorithm)) {
    throw new HsmError(
      'invalid-argument',
      'a key attestation certificate certifies a public key: a secret key has none; attest it with evidence (its algorithm and key check value)',
      { details: { label: key.label, algorithm: key.algorithm, field: 'format' } },
    );
  }
  const signer = input.attestationSigner;
  const issuerCert = parseCertificateFields(signer.certificateChain[0]!);
  const issuerName = issuerCert.subject;
  const notAfter = new Date(input.at.getTime() + ATTESTATION_CERTIFICATE_HOURS * 3600_000);
  const capped = notAfter < issuerCert.notAfter ? notAfter : issuerCert.notAfter;
  const tbsEvidence = encodeTbsEvidence(evidenceElements(input));
  return buildCertificate(
    {
      serialNumber: randomSerial((n) => randomBytes(n)),
      issuer: issuerName,
      subject: encodeName({
        organizationalUnit: `partition ${key.partitionName}`,
        commonName: `attested key ${key.label}`,
        serialNumber: key.id,
      }),
      notBefore: input.at,
      notAfter: capped,
      spki: key.spki,
      extensions: [
        subjectKeyIdentifier(key.spki),
        authorityKeyIdentifier(signer.spki),
        basicConstraints(false),
        keyUsage(keyUsageFor(key.attributes.purposes)),
        { oid: id_ce_keyEvidence, critical: false, value: tbsEvidence },
      ],
    },
    signer,
  );
}

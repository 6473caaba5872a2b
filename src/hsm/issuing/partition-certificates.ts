// A partition's two certificates, issued by the device key: the attestation key's and the
// time-stamping unit's (RFC 3161 2.3 EKU, ETSI EN 319 422 profile), both ending no later than
// the device certificate, with the partition and device named in their HSM role extension.
import { randomBytes } from 'node:crypto';
import {
  buildCertificate,
  partitionAttestationTemplate,
  partitionTimestampTemplate,
  randomSerial,
  type Signer,
} from '../../pki/index.js';

const CERT_YEARS = { attestation: 10, timestamp: 10 } as const;

function addYears(at: Date, years: number): Date {
  const d = new Date(at.getTime());
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return d;
}

function earlier(a: Date, b: Date): Date {
  return a.getTime() <= b.getTime() ? a : b;
}

export interface PartitionCertificateInput {
  readonly partitionName: string;
  readonly ids: { readonly deviceId: string; readonly partitionId: string };
  /** Country and organization of the device, repeated in the partition's subjects. */
  readonly subjectBase: { readonly country: string; readonly organization: string };
  /** The device certificate's subject (DER) and the device key's SPKI. */
  readonly issuer: { readonly name: Uint8Array; readonly spki: Uint8Array };
  readonly issuerNotAfter: Date;
  /** The device key. */
  readonly signer: Signer;
  readonly attestationSpki: Uint8Array;
  readonly timestampSpki: Uint8Array;
  readonly now: Date;
  /** Years of the timestamp key's privateKeyUsagePeriod; absent: no such extension. */
  readonly timestampKeyUsageYears?: number | undefined;
}

export async function issuePartitionCertificates(
  input: PartitionCertificateInput,
): Promise<{ attestationCertificate: Uint8Array; timestampCertificate: Uint8Array }> {
  const { partitionName: name, now } = input;
  const attestationCertificate = await buildCertificate(
    partitionAttestationTemplate(
      {
        serialNumber: randomSerial((n) => randomBytes(n)),
        subject: {
          ...input.subjectBase,
          organizationalUnit: `partition ${name}`,
          commonName: `${name} partition attestation key`,
        },
        spki: input.attestationSpki,
        notBefore: now,
        notAfter: earlier(addYears(now, CERT_YEARS.attestation), input.issuerNotAfter),
      },
      input.issuer,
      input.ids,
    ),
    input.signer,
  );
  const tsNotAfter = earlier(addYears(now, CERT_YEARS.timestamp), input.issuerNotAfter);
  const timestampCertificate = await buildCertificate(
    partitionTimestampTemplate(
      {
        serialNumber: randomSerial((n) => randomBytes(n)),
        subject: {
          ...input.subjectBase,
          organizationalUnit: `partition ${name}`,
          commonName: `${name} time-stamping unit`,
        },
        spki: input.timestampSpki,
        notBefore: now,
        notAfter: tsNotAfter,
      },
      input.issuer,
      input.ids,
      input.timestampKeyUsageYears === undefined
        ? undefined
        : {
            notBefore: now,
            notAfter: earlier(addYears(now, input.timestampKeyUsageYears), tsNotAfter),
          },
    ),
    input.signer,
  );
  return { attestationCertificate, timestampCertificate };
}

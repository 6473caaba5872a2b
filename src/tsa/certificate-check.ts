// Start-up and issuance checks of a TSA certificate (RFC 3161 2.3, checklist REQ-09, CRT-01,
// CRT-03; ETSI EN 319 421 TIS-7.7.1-09): exactly one EKU, id-kp-timeStamping, critical; not a
// CA; digitalSignature; the HSM key's public key; inside validity and privateKeyUsagePeriod.
import * as asn1js from 'asn1js';
import {
  certificateSpki,
  extensionValue,
  findExtension,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_privateKeyUsagePeriod,
  id_kp_timeStamping,
  parseCertificate,
  parseDer,
} from '../pki/index.js';
import { bytesEqual } from '../shared/index.js';

export interface CertificateWindow {
  /** Epoch milliseconds from which tokens may be issued. */
  readonly notBefore: number;
  /** Epoch milliseconds from which tokens must not be issued. */
  readonly notAfter: number;
}

export interface CertificateCheck {
  readonly problems: readonly string[];
  readonly window: CertificateWindow;
}

function generalizedTimeMs(text: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (m === null) return NaN;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

export function tsaCertificateProblems(
  certificate: Uint8Array,
  spki: Uint8Array,
  at: Date,
): CertificateCheck {
  const problems: string[] = [];
  const cert = parseCertificate(certificate);
  let notBefore = cert.notBefore.value.getTime();
  // RFC 5280 4.1.2.5: notAfter is inclusive; issuance stops after its last second.
  let notAfter = cert.notAfter.value.getTime() + 1000;

  const eku = findExtension(cert, id_ce_extKeyUsage);
  if (eku === undefined) problems.push('the certificate has no extended key usage');
  else {
    const seq = parseDer(extensionValue(eku));
    const oids =
      seq instanceof asn1js.Sequence
        ? seq.valueBlock.value.map((v) =>
            v instanceof asn1js.ObjectIdentifier ? v.getValue() : '?',
          )
        : [];
    if (oids.length !== 1 || oids[0] !== id_kp_timeStamping) {
      problems.push('the extended key usage must be exactly id-kp-timeStamping');
    }
    if (!eku.critical) problems.push('the extended key usage must be critical');
  }
  const bc = findExtension(cert, id_ce_basicConstraints);
  if (bc !== undefined) {
    const v = parseDer(extensionValue(bc));
    const first = v instanceof asn1js.Sequence ? v.valueBlock.value[0] : undefined;
    if (first instanceof asn1js.Boolean && first.valueBlock.value) {
      problems.push('a TSA certificate must not be a CA');
    }
  }
  const ku = findExtension(cert, id_ce_keyUsage);
  // CRT-01: without keyUsage the key would be usable for any purpose the EKU allows.
  if (ku === undefined) problems.push('the certificate has no key usage');
  else {
    const bits = parseDer(extensionValue(ku));
    const first = bits instanceof asn1js.BitString ? (bits.valueBlock.valueHexView[0] ?? 0) : 0;
    // digitalSignature (0x80) or nonRepudiation (0x40), nothing else.
    if (
      (first & 0xc0) === 0 ||
      (first & 0x3f) !== 0 ||
      (bits instanceof asn1js.BitString && bits.valueBlock.valueHexView.length > 1)
    ) {
      problems.push('the key usage must be digitalSignature and/or nonRepudiation only');
    }
  }
  if (!bytesEqual(certificateSpki(cert), spki)) {
    problems.push("the certificate's public key is not the HSM key's");
  }
  const pkup = findExtension(cert, id_ce_privateKeyUsagePeriod);
  if (pkup !== undefined) {
    const v = parseDer(extensionValue(pkup));
    if (v instanceof asn1js.Sequence) {
      for (const item of v.valueBlock.value) {
        if (!(item instanceof asn1js.Primitive)) continue;
        const ms = generalizedTimeMs(new TextDecoder().decode(item.valueBlock.valueHexView));
        if (Number.isNaN(ms)) continue;
        if (item.idBlock.tagNumber === 0) notBefore = Math.max(notBefore, ms);
        if (item.idBlock.tagNumber === 1) notAfter = Math.min(notAfter, ms + 1000);
      }
    }
  }
  const now = at.getTime();
  if (now < notBefore) problems.push('the certificate or its key usage period is not valid yet');
  if (now >= notAfter) problems.push('the certificate or its key usage period has ended');
  return { problems, window: { notBefore, notAfter } };
}

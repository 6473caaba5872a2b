// Start-up and issuance checks of a TSA certificate (RFC 3161 2.3, checklist REQ-09, CRT-01,
// CRT-03; ETSI EN 319 421 TIS-7.7.1-09): exactly one EKU, id-kp-timeStamping, critical; not a
// CA; digitalSignature; the HSM key's public key; inside validity and privateKeyUsagePeriod.
import {
  assertStrictDer,
  derReader,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_privateKeyUsagePeriod,
  id_kp_timeStamping,
  parseCertificateFields,
  type CertificateExtension,
} from '../pki/index.js';
import { bytesEqual } from '../shared/index.js';

const { childrenOf, contentOf, readBoolean, readOid, readTlv } = derReader;

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
  const cert = parseCertificateFields(certificate);
  const extension = (oid: string): CertificateExtension | undefined =>
    cert.extensions.find((e) => e.oid === oid);
  let notBefore = cert.notBefore.getTime();
  // RFC 5280 4.1.2.5: notAfter is inclusive; issuance stops after its last second.
  let notAfter = cert.notAfter.getTime() + 1000;

  const eku = extension(id_ce_extKeyUsage);
  if (eku === undefined) problems.push('the certificate has no extended key usage');
  else {
    // ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId
    const v = strictValue(eku);
    const top = readTlv(v, 0);
    const oids =
      top.tag === 0x30 ? childrenOf(v, top).map((t) => (t.tag === 0x06 ? readOid(v, t) : '?')) : [];
    if (oids.length !== 1 || oids[0] !== id_kp_timeStamping) {
      problems.push('the extended key usage must be exactly id-kp-timeStamping');
    }
    if (!eku.critical) problems.push('the extended key usage must be critical');
  }
  const bc = extension(id_ce_basicConstraints);
  if (bc !== undefined) {
    // BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }
    const v = strictValue(bc);
    const top = readTlv(v, 0);
    const first = top.tag === 0x30 ? childrenOf(v, top)[0] : undefined;
    if (first?.tag === 0x01 && readBoolean(v, first)) {
      problems.push('a TSA certificate must not be a CA');
    }
  }
  const ku = extension(id_ce_keyUsage);
  // CRT-01: without keyUsage the key would be usable for any purpose the EKU allows.
  if (ku === undefined) problems.push('the certificate has no key usage');
  else {
    // KeyUsage ::= BIT STRING: the octets after the unused-bits count
    const v = strictValue(ku);
    const top = readTlv(v, 0);
    const bits = top.tag === 0x03 ? contentOf(v, top).subarray(1) : new Uint8Array(0);
    const first = bits[0] ?? 0;
    // digitalSignature (0x80) or nonRepudiation (0x40), nothing else.
    if ((first & 0xc0) === 0 || (first & 0x3f) !== 0 || bits.length > 1) {
      problems.push('the key usage must be digitalSignature and/or nonRepudiation only');
    }
  }
  if (!bytesEqual(cert.spki, spki)) {
    problems.push("the certificate's public key is not the HSM key's");
  }
  const pkup = extension(id_ce_privateKeyUsagePeriod);
  if (pkup !== undefined) {
    // PrivateKeyUsagePeriod ::= SEQUENCE { notBefore [0] GeneralizedTime OPTIONAL,
    //   notAfter [1] GeneralizedTime OPTIONAL } (RFC 3280 4.2.1.4)
    const v = strictValue(pkup);
    const top = readTlv(v, 0);
    if (top.tag === 0x30) {
      for (const item of childrenOf(v, top)) {
        // A primitive [0] or [1] of any non-universal class, as a tag-number match reads it.
        if ((item.tag & 0xc0) === 0 || (item.tag & 0x20) !== 0) continue;
        const ms = generalizedTimeMs(new TextDecoder().decode(contentOf(v, item)));
        if (Number.isNaN(ms)) continue;
        if ((item.tag & 0x1f) === 0) notBefore = Math.max(notBefore, ms);
        if ((item.tag & 0x1f) === 1) notAfter = Math.min(notAfter, ms + 1000);
      }
    }
  }
  const now = at.getTime();
  if (now < notBefore) problems.push('the certificate or its key usage period is not valid yet');
  if (now >= notAfter) problems.push('the certificate or its key usage period has ended');
  return { problems, window: { notBefore, notAfter } };
}

/** An extension's value, refused unless it is strict DER (RFC 5280 4.1: extnValue holds DER). */
function strictValue(ext: CertificateExtension): Uint8Array {
  assertStrictDer(ext.value);
  return ext.value;
}

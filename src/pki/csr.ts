// PKCS#10 certification requests (RFC 2986): built and signed through a Signer, parsed strictly.
import * as asn1js from 'asn1js';
import { toArrayBuffer } from '../shared/index.js';
import { signatureAlgorithmIdentifier } from './algorithms.js';
import { encodeDer, parseDer } from './asn1js-bridge.js';
import { assertStrictDer } from './der.js';
import { PkiError } from './errors.js';
import type { Signer } from './signer.js';

/**
 * CertificationRequest ::= SEQUENCE {
 *   certificationRequestInfo CertificationRequestInfo,
 *   signatureAlgorithm AlgorithmIdentifier,
 *   signature BIT STRING }
 * CertificationRequestInfo ::= SEQUENCE {
 *   version INTEGER { v1(0) }, subject Name, subjectPKInfo SubjectPublicKeyInfo,
 *   attributes [0] IMPLICIT SET OF Attribute }
 */
export async function buildCsr(
  subjectName: Uint8Array,
  signer: Pick<Signer, 'algorithm' | 'spki' | 'sign'>,
): Promise<Uint8Array> {
  const info = new asn1js.Sequence({
    value: [
      new asn1js.Integer({ value: 0 }),
      parseDer(subjectName),
      parseDer(signer.spki),
      new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [] }),
    ],
  });
  const tbs = encodeDer(info);
  const signature = await signer.sign(tbs);
  const csr = new asn1js.Sequence({
    value: [
      parseDer(tbs),
      signatureAlgorithmIdentifier(signer.algorithm).toSchema(),
      new asn1js.BitString({ valueHex: toArrayBuffer(signature) }),
    ],
  });
  return encodeDer(csr);
}

export interface ParsedCsr {
  readonly tbs: Uint8Array;
  readonly subject: Uint8Array;
  readonly spki: Uint8Array;
  readonly signatureAlgorithm: Uint8Array;
  readonly signature: Uint8Array;
}

function invalid(message: string): never {
  throw new PkiError('csr-invalid', message);
}

export function parseCsr(der: Uint8Array): ParsedCsr {
  assertStrictDer(der);
  const root = parseDer(der);
  if (!(root instanceof asn1js.Sequence) || root.valueBlock.value.length !== 3) {
    invalid('certification request is not a 3-element sequence');
  }
  const [info, alg, sig] = root.valueBlock.value;
  if (!(info instanceof asn1js.Sequence) || !(alg instanceof asn1js.Sequence)) {
    invalid('malformed certification request');
  }
  if (!(sig instanceof asn1js.BitString) || sig.valueBlock.unusedBits !== 0) {
    invalid('malformed request signature');
  }
  const fields = info.valueBlock.value;
  const version = fields[0];
  // asn1js reports valueDec 0 for integers too long to decode, so check the length as well;
  // its Enumerated extends Integer, so refuse that explicitly.
  if (
    !(version instanceof asn1js.Integer) ||
    version instanceof asn1js.Enumerated ||
    version.valueBlock.valueHexView.length !== 1 ||
    version.valueBlock.valueDec !== 0
  ) {
    invalid('certification request version must be 0');
  }
  const subject = fields[1];
  const spki = fields[2];
  if (!(subject instanceof asn1js.Sequence) || !(spki instanceof asn1js.Sequence)) {
    invalid('malformed certification request info');
  }
  return {
    tbs: encodeDer(info),
    subject: encodeDer(subject),
    spki: encodeDer(spki),
    signatureAlgorithm: encodeDer(alg),
    signature: new Uint8Array(sig.valueBlock.valueHexView),
  };
}

// Key attestation evidence (standards/attestation.md; draft-ietf-rats-pkix-key-attestation
// -07/-08 structure under the project's arc): encoding by the HSM and strict parsing by the
// verifier. Parsing checks syntax only; the verifier's inspection applies the rules.
import { ARC } from './oids.js';
import {
  assertStrictDer,
  childrenOf,
  contentOf,
  encodingOf,
  expectTag,
  readOid,
  readTlv,
  readUnsigned,
  type Tlv,
} from './der.js';
import * as der from './der-writer.js';
import { PkiError } from './errors.js';

/** ARC.4.0.{0,1,2}: element types. */
export const id_element = {
  transaction: `${ARC}.4.0.0`,
  platform: `${ARC}.4.0.1`,
  key: `${ARC}.4.0.2`,
} as const;

/** Claim OIDs with the ASN.1 type of their value. */
export type ClaimType = 'octets' | 'time' | 'spki' | 'utf8' | 'bool' | 'int' | 'enum' | 'oids';

export interface ClaimDef {
  readonly oid: string;
  readonly type: ClaimType;
}

function claim(oid: string, type: ClaimType): ClaimDef {
  return { oid, type };
}

/** ARC.4.1.0.x transaction claims. */
export const TRANSACTION_CLAIMS = {
  nonce: claim(`${ARC}.4.1.0.0`, 'octets'),
  timestamp: claim(`${ARC}.4.1.0.1`, 'time'),
  akSpki: claim(`${ARC}.4.1.0.2`, 'spki'),
} as const;

/** ARC.4.1.1.x platform claims, plus ARC.5.9 protection-class and ARC.5.10 device-id. */
export const PLATFORM_CLAIMS = {
  vendor: claim(`${ARC}.4.1.1.0`, 'utf8'),
  oemid: claim(`${ARC}.4.1.1.1`, 'octets'),
  hwmodel: claim(`${ARC}.4.1.1.2`, 'utf8'),
  hwversion: claim(`${ARC}.4.1.1.3`, 'utf8'),
  hwserial: claim(`${ARC}.4.1.1.4`, 'utf8'),
  swname: claim(`${ARC}.4.1.1.5`, 'utf8'),
  swversion: claim(`${ARC}.4.1.1.6`, 'utf8'),
  debugstat: claim(`${ARC}.4.1.1.7`, 'int'),
  uptime: claim(`${ARC}.4.1.1.8`, 'int'),
  bootcount: claim(`${ARC}.4.1.1.9`, 'int'),
  fipsboot: claim(`${ARC}.4.1.1.10`, 'bool'),
  fipsver: claim(`${ARC}.4.1.1.11`, 'utf8'),
  fipslevel: claim(`${ARC}.4.1.1.12`, 'int'),
  fipsmodule: claim(`${ARC}.4.1.1.13`, 'utf8'),
  protectionClass: claim(`${ARC}.5.9`, 'enum'),
  deviceId: claim(`${ARC}.5.10`, 'utf8'),
} as const;

/** ARC.4.1.2.x key claims, plus the project's ARC.5.x key claims. */
export const KEY_CLAIMS = {
  identifier: claim(`${ARC}.4.1.2.0`, 'utf8'),
  spki: claim(`${ARC}.4.1.2.1`, 'spki'),
  extractable: claim(`${ARC}.4.1.2.2`, 'bool'),
  sensitive: claim(`${ARC}.4.1.2.3`, 'bool'),
  neverExtractable: claim(`${ARC}.4.1.2.4`, 'bool'),
  local: claim(`${ARC}.4.1.2.5`, 'bool'),
  expiry: claim(`${ARC}.4.1.2.6`, 'time'),
  purpose: claim(`${ARC}.4.1.2.7`, 'oids'),
  partitionId: claim(`${ARC}.5.1`, 'utf8'),
  alwaysSensitive: claim(`${ARC}.5.2`, 'bool'),
  modifiable: claim(`${ARC}.5.3`, 'bool'),
  copyable: claim(`${ARC}.5.4`, 'bool'),
  destroyable: claim(`${ARC}.5.5`, 'bool'),
  creationTime: claim(`${ARC}.5.6`, 'time'),
  keyPolicyDigest: claim(`${ARC}.5.7`, 'octets'),
  origin: claim(`${ARC}.5.8`, 'enum'),
  keyState: claim(`${ARC}.5.11`, 'enum'),
  /** The key's own approval rules (use, block, unblock, modify) as RFC 8785 canonical JSON. */
  approvalPolicy: claim(`${ARC}.5.12`, 'utf8'),
  /**
   * A secret (symmetric) key's algorithm, as the HSM names it (`aes-256`, `hmac-sha256`...):
   * such a key has no SPKI to say what it is.
   */
  keyAlgorithm: claim(`${ARC}.5.13`, 'utf8'),
  /**
   * A secret key's key check value, in place of its SPKI: the first 16 bytes of
   * SHA-256("attestamp key check value v1" || 0x00 || algorithm || 0x00 || key).
   */
  keyCheckValue: claim(`${ARC}.5.14`, 'octets'),
  /**
   * A key derived from a derivable key (BIP 32, SLIP-10): its derivation path, "m/84'/0'/0'/0/0"
   * from the master key, or relative to its parent ("0/5") when the parent's place is unknown.
   */
  derivationPath: claim(`${ARC}.5.15`, 'utf8'),
  /** The 4-byte fingerprint of the derived key's parent (BIP 32 "Key identifiers"). */
  parentFingerprint: claim(`${ARC}.5.16`, 'octets'),
  /** The identifier (ARC.4.1.2.0) of the key of this HSM the key was derived from. */
  parentKeyIdentifier: claim(`${ARC}.5.17`, 'utf8'),
  // A key restored from a partition backup (README "Backup and migration"): where it came from.
  /** The device id of the backup's source. */
  restoredFromDevice: claim(`${ARC}.5.20`, 'utf8'),
  /** The partition id of the backup's source. */
  restoredFromPartition: claim(`${ARC}.5.21`, 'utf8'),
  /** The key's id in the source partition. */
  restoredFromKey: claim(`${ARC}.5.22`, 'utf8'),
  /** The serial of the backup it was restored from. */
  backupSerial: claim(`${ARC}.5.23`, 'int'),
  /** When that backup was made. */
  backupTime: claim(`${ARC}.5.24`, 'time'),
  /**
   * A device transport key (README "Backup and migration"): TRUE says the key serves only to
   * open backup bundles addressed to it and import their keys; no other operation reaches it.
   */
  importOnly: claim(`${ARC}.5.30`, 'bool'),
} as const;

/** ARC.4.2.x key capabilities, in the order of their last arc. */
export const CAPABILITIES = [
  'encrypt',
  'decrypt',
  'wrap',
  'unwrap',
  'sign',
  'sign-recover',
  'verify',
  'verify-recover',
  'derive',
] as const;
export type Capability = (typeof CAPABILITIES)[number];
export const capabilityOid = (c: Capability): string => `${ARC}.4.2.${CAPABILITIES.indexOf(c)}`;

export const ORIGINS = ['generated', 'imported', 'unwrapped', 'derived'] as const;
export const PROTECTION_CLASSES = ['software', 'software-sealed', 'hardware'] as const;
export const KEY_STATES = ['active', 'invalidated', 'blocked'] as const;

export type ClaimValue =
  | { readonly type: 'octets' | 'spki'; readonly value: Uint8Array }
  | { readonly type: 'time'; readonly value: Date }
  | { readonly type: 'utf8'; readonly value: string }
  | { readonly type: 'bool'; readonly value: boolean }
  | { readonly type: 'int' | 'enum'; readonly value: bigint }
  | { readonly type: 'oids'; readonly value: readonly string[] };

export interface ReportedClaim {
  readonly oid: string;
  /** DER of the value, or undefined when absent. */
  readonly value: Uint8Array | undefined;
}

export interface ReportedElement {
  readonly type: string;
  readonly claims: readonly ReportedClaim[];
}

/** TbsEvidence ::= SEQUENCE { version INTEGER (1), reportedElements SEQUENCE SIZE (1..MAX) OF ReportedElement } */
export interface TbsEvidence {
  readonly version: bigint;
  readonly elements: readonly ReportedElement[];
  /** DER of the TbsEvidence exactly as read or written (what signatures cover). */
  readonly der: Uint8Array;
}

/**
 * SignatureBlock ::= SEQUENCE { sid SignerIdentifier, signatureAlgorithm AlgorithmIdentifier,
 *   signatureValue OCTET STRING }
 * SignerIdentifier ::= SEQUENCE { keyId [0] EXPLICIT OCTET STRING OPTIONAL,
 *   subjectPublicKeyInfo [1] EXPLICIT SubjectPublicKeyInfo OPTIONAL,
 *   certificate [2] EXPLICIT Certificate OPTIONAL }
 */
export interface SignatureBlock {
  readonly keyId: Uint8Array | undefined;
  readonly spki: Uint8Array | undefined;
  readonly certificate: Uint8Array | undefined;
  /** DER AlgorithmIdentifier. */
  readonly signatureAlgorithm: Uint8Array;
  readonly signature: Uint8Array;
}

/**
 * Evidence ::= SEQUENCE { tbs TbsEvidence, signatures SEQUENCE SIZE (0..MAX) OF SignatureBlock,
 *   intermediateCertificates [0] IMPLICIT SEQUENCE OF Certificate OPTIONAL }
 */
export interface Evidence {
  readonly tbs: TbsEvidence;
  readonly signatures: readonly SignatureBlock[];
  readonly intermediateCertificates: readonly Uint8Array[];
}

// ------------------------------------------------------------------ encoding

/** Encodes a typed claim value as DER. */
export function encodeClaimValue(v: ClaimValue): Uint8Array {
  switch (v.type) {
    case 'octets':
      return der.octetString(v.value);
    case 'spki':
      return v.value;
    case 'time':
      return der.generalizedTime(generalizedTimeMillisText(v.value));
    case 'utf8':
      return der.utf8String(v.value);
    case 'bool':
      return der.bool(v.value);
    case 'int':
      return der.integer(v.value);
    case 'enum': {
      const i = der.integer(v.value);
      i[0] = 0x0a;
      return i;
    }
    case 'oids':
      return der.seq(...v.value.map((o) => der.oid(o)));
  }
}

/** GeneralizedTime text with milliseconds, trailing zeros dropped (X.690 11.7). */
export function generalizedTimeMillisText(at: Date): string {
  const iso = at.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const base = iso.slice(0, 19).replace(/[-:T]/g, '');
  const frac = iso.slice(20, 23).replace(/0+$/, '');
  return frac.length > 0 ? `${base}.${frac}Z` : `${base}Z`;
}

export function encodeTbsEvidence(
  elements: readonly { type: string; claims: readonly { oid: string; value?: ClaimValue }[] }[],
): Uint8Array {
  return der.seq(
    der.integer(1),
    der.seq(
      ...elements.map((e) =>
        der.seq(
          der.oid(e.type),
          der.seq(
            ...e.claims.map((c) =>
              c.value === undefined
                ? der.seq(der.oid(c.oid))
                : der.seq(der.oid(c.oid), encodeClaimValue(c.value)),
            ),
          ),
        ),
      ),
    ),
  );
}

export function encodeSignatureBlock(block: {
  spki?: Uint8Array;
  certificate?: Uint8Array;
  keyId?: Uint8Array;
  signatureAlgorithm: Uint8Array;
  signature: Uint8Array;
}): Uint8Array {
  const sid: Uint8Array[] = [];
  if (block.keyId !== undefined) sid.push(der.contextConstructed(0, der.octetString(block.keyId)));
  if (block.spki !== undefined) sid.push(der.contextConstructed(1, block.spki));
  if (block.certificate !== undefined) sid.push(der.contextConstructed(2, block.certificate));
  return der.seq(der.seq(...sid), block.signatureAlgorithm, der.octetString(block.signature));
}

export function encodeEvidence(
  tbs: Uint8Array,
  signatureBlocks: readonly Uint8Array[],
  intermediates: readonly Uint8Array[],
): Uint8Array {
  const parts = [tbs, der.seq(...signatureBlocks)];
  if (intermediates.length > 0) parts.push(der.contextConstructed(0, ...intermediates));
  return der.seq(...parts);
}

// ------------------------------------------------------------------ parsing

function parseTbsAt(b: Uint8Array, t: Tlv): TbsEvidence {
  const [version, reported, ...rest] = childrenOf(b, expectTag(t, 0x30, 'TbsEvidence'));
  if (rest.length > 0) throw new PkiError('asn1-schema', 'unexpected field in TbsEvidence');
  const v = readUnsigned(b, version);
  const elements = childrenOf(b, expectTag(reported, 0x30, 'reportedElements')).map((e) => {
    const [type, claims, ...more] = childrenOf(b, expectTag(e, 0x30, 'ReportedElement'));
    if (more.length > 0) throw new PkiError('asn1-schema', 'unexpected field in ReportedElement');
    return {
      type: readOid(b, type),
      claims: childrenOf(b, expectTag(claims, 0x30, 'claims')).map((c) => {
        const [oid, value, ...extra] = childrenOf(b, expectTag(c, 0x30, 'ReportedClaim'));
        if (extra.length > 0)
          throw new PkiError('asn1-schema', 'unexpected field in ReportedClaim');
        return {
          oid: readOid(b, oid),
          value: value === undefined ? undefined : encodingOf(b, value),
        };
      }),
    };
  });
  return { version: v, elements, der: encodingOf(b, t) };
}

/** Parses a DER TbsEvidence (as carried in the evidence extension of a certificate). */
export function parseTbsEvidence(bytes: Uint8Array): TbsEvidence {
  assertStrictDer(bytes);
  return parseTbsAt(bytes, readTlv(bytes, 0));
}

function explicitInner(b: Uint8Array, t: Tlv): Uint8Array {
  const [inner, ...rest] = childrenOf(b, t);
  if (inner === undefined || rest.length > 0) {
    throw new PkiError('asn1-schema', 'explicit tag must hold exactly one value');
  }
  return encodingOf(b, inner);
}

/** Parses DER Evidence strictly (syntax only). */
export function parseEvidence(bytes: Uint8Array): Evidence {
  assertStrictDer(bytes);
  const [tbs, sigs, certs, ...rest] = childrenOf(
    bytes,
    expectTag(readTlv(bytes, 0), 0x30, 'Evidence'),
  );
  if (rest.length > 0) throw new PkiError('asn1-schema', 'unexpected field in Evidence');
  if (tbs === undefined) throw new PkiError('asn1-schema', 'evidence without tbs');
  const signatures = childrenOf(bytes, expectTag(sigs, 0x30, 'signatures')).map((s) => {
    const [sid, alg, value, ...more] = childrenOf(bytes, expectTag(s, 0x30, 'SignatureBlock'));
    if (more.length > 0) throw new PkiError('asn1-schema', 'unexpected field in SignatureBlock');
    let keyId: Uint8Array | undefined;
    let spki: Uint8Array | undefined;
    let certificate: Uint8Array | undefined;
    let last = -1;
    for (const f of childrenOf(bytes, expectTag(sid, 0x30, 'SignerIdentifier'))) {
      const n = f.tag - 0xa0;
      if (n < 0 || n > 2 || n <= last)
        throw new PkiError('asn1-schema', 'bad SignerIdentifier field');
      last = n;
      const inner = explicitInner(bytes, f);
      if (n === 0) keyId = contentOf(inner, expectTag(readTlv(inner, 0), 0x04, 'keyId'));
      else if (n === 1) spki = inner;
      else certificate = inner;
    }
    return {
      keyId,
      spki,
      certificate,
      signatureAlgorithm: encodingOf(bytes, expectTag(alg, 0x30, 'signatureAlgorithm')),
      signature: contentOf(bytes, expectTag(value, 0x04, 'signatureValue')),
    };
  });
  let intermediateCertificates: Uint8Array[] = [];
  if (certs !== undefined) {
    intermediateCertificates = childrenOf(
      bytes,
      expectTag(certs, 0xa0, 'intermediateCertificates'),
    ).map((c) => encodingOf(bytes, expectTag(c, 0x30, 'certificate')));
  }
  return { tbs: parseTbsAt(bytes, tbs), signatures, intermediateCertificates };
}

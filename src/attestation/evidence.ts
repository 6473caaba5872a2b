// Verifying key attestation evidence and key attestation certificates (standards/attestation.md
// "What the verifier checks" 1-9): every check is its own finding; the default is fail-closed.
import {
  CAPABILITIES,
  derReader,
  id_ce_keyEvidence,
  id_element,
  id_kp_attestationKey,
  KEY_CLAIMS,
  KEY_STATES,
  ORIGINS,
  parseEvidence,
  parseTbsEvidence,
  PLATFORM_CLAIMS,
  PROTECTION_CLASSES,
  sha256Fingerprint,
  TRANSACTION_CLAIMS,
  type ClaimType,
  type Evidence,
  type TbsEvidence,
} from '../pki/index.js';
import { AttestampError, bytesEqual, toHex } from '../shared/index.js';
import { extendedKeyUsages, extension, parseCert, type ParsedCert } from './certificate.js';
import {
  checkRevocation,
  checkRoles,
  parseAll,
  parseLeafFirst,
  validatePath,
  type ChainOptions,
} from './chain.js';
import { verifySignature } from './crypto.js';
import { isoFromGeneralizedTime } from './json-values.js';
import { Findings, type Report } from './report.js';

export interface EvidenceOptions extends ChainOptions {
  /** DER SubjectPublicKeyInfo the attested key must have. */
  readonly expectSpki?: Uint8Array;
  /** The key check value a secret key (which has no SPKI) must have: 16 bytes. */
  readonly expectKcv?: Uint8Array;
  /** Required attribute values, e.g. { extractable: false, 'never-extractable': true }. */
  readonly require?: Readonly<Record<string, boolean | string>>;
  /** Accept protection-class software (a software HSM); off by default. */
  readonly allowSoftware?: boolean;
  /** The nonce the relying party sent: the transaction nonce must equal it exactly. */
  readonly nonce?: Uint8Array;
}

/** The attribute names --require understands, with their claim. */
export const REQUIRABLE = {
  extractable: KEY_CLAIMS.extractable,
  sensitive: KEY_CLAIMS.sensitive,
  'never-extractable': KEY_CLAIMS.neverExtractable,
  local: KEY_CLAIMS.local,
  'always-sensitive': KEY_CLAIMS.alwaysSensitive,
  modifiable: KEY_CLAIMS.modifiable,
  copyable: KEY_CLAIMS.copyable,
  destroyable: KEY_CLAIMS.destroyable,
  origin: KEY_CLAIMS.origin,
  'key-state': KEY_CLAIMS.keyState,
  /** The HSM's name of the key's algorithm (a secret, derivable or secp256k1 key names it). */
  'key-algorithm': KEY_CLAIMS.keyAlgorithm,
  /** A derived key's path in its tree (ARC.5.15), e.g. m/84'/0'/0'/0/0. */
  'derivation-path': KEY_CLAIMS.derivationPath,
  /** The identifier of the key a derived key was derived from (ARC.5.17). */
  'parent-key': KEY_CLAIMS.parentKeyIdentifier,
} as const;

export class AttestationError extends AttestampError<'not-verified'> {
  constructor(readonly report: Report) {
    super('not-verified', `attestation not verified: ${report.outcome}`, {
      details: { outcome: report.outcome },
    });
  }
}

type Decoded = string | boolean | string[] | Uint8Array;

const ENUMS: Readonly<Record<string, readonly string[]>> = {
  [KEY_CLAIMS.origin.oid]: ORIGINS,
  [KEY_CLAIMS.keyState.oid]: KEY_STATES,
  [PLATFORM_CLAIMS.protectionClass.oid]: PROTECTION_CLASSES,
};

const CLAIM_INFO = new Map<string, { name: string; type: ClaimType }>(
  [
    ...Object.entries(TRANSACTION_CLAIMS),
    ...Object.entries(PLATFORM_CLAIMS),
    ...Object.entries(KEY_CLAIMS),
  ].map(([name, def]) => [def.oid, { name, type: def.type }]),
);

function decodeClaim(oid: string, value: Uint8Array | undefined): Decoded | undefined {
  const info = CLAIM_INFO.get(oid);
  if (info === undefined || value === undefined) return undefined;
  const t = derReader.readTlv(value, 0);
  switch (info.type) {
    case 'octets':
      return derReader.readOctets(value, t);
    case 'spki':
      derReader.expectTag(t, 0x30, 'SubjectPublicKeyInfo');
      return value;
    case 'time': {
      // Read for its checks, reported with the precision it was encoded with.
      derReader.readGeneralizedTime(value, t);
      return isoFromGeneralizedTime(new TextDecoder().decode(derReader.contentOf(value, t)));
    }
    case 'utf8':
      return derReader.readUtf8(value, t);
    case 'bool':
      return derReader.readBoolean(value, t);
    case 'int':
      return derReader.readUnsigned(value, t).toString();
    case 'enum': {
      const names = ENUMS[oid] ?? [];
      const n = Number(derReader.readUnsigned(value, t, 0x0a));
      const name = names[n];
      if (name === undefined) throw new Error('enumerated value out of range');
      return name;
    }
    case 'oids': {
      const arcPrefix = KEY_CLAIMS.purpose.oid.replace(/\.4\.1\.2\.7$/, '.4.2.');
      return derReader.childrenOf(value, derReader.expectTag(t, 0x30, 'purposes')).map((o) => {
        const text = derReader.readOid(value, o);
        const idx = text.startsWith(arcPrefix) ? Number(text.slice(arcPrefix.length)) : -1;
        return CAPABILITIES[idx] ?? text;
      });
    }
  }
}

interface DecodedElement {
  readonly type: 'transaction' | 'platform' | 'key' | 'unknown';
  readonly claims: Map<string, Decoded>;
}

/** Structure rules (check 4): version 1, at most one transaction and platform element, unique keys. */
function decodeTbs(tbs: TbsEvidence, f: Findings): DecodedElement[] | undefined {
  const problems: string[] = [];
  if (tbs.version !== 1n) problems.push(`version ${tbs.version} is not 1`);
  const elements: DecodedElement[] = [];
  for (const e of tbs.elements) {
    const type =
      e.type === id_element.transaction
        ? 'transaction'
        : e.type === id_element.platform
          ? 'platform'
          : e.type === id_element.key
            ? 'key'
            : 'unknown';
    if (type === 'unknown') problems.push(`unknown element type ${e.type}`);
    const claims = new Map<string, Decoded>();
    if (e.claims.length === 0) problems.push(`a ${type} element has no claims`);
    for (const c of e.claims) {
      const info = CLAIM_INFO.get(c.oid);
      if (info === undefined) continue; // unknown claims are ignored, as the draft allows
      if (claims.has(info.name)) problems.push(`claim ${info.name} repeated in one element`);
      try {
        const v = decodeClaim(c.oid, c.value);
        if (v === undefined) problems.push(`claim ${info.name} has no value`);
        else claims.set(info.name, v);
      } catch {
        problems.push(`claim ${info.name} has a value of the wrong type`);
      }
    }
    elements.push({ type, claims });
  }
  const count = (t: string): number => elements.filter((e) => e.type === t).length;
  if (count('transaction') > 1) problems.push('more than one transaction element');
  if (count('platform') > 1) problems.push('more than one platform element');
  const keys = elements.filter((e) => e.type === 'key');
  if (keys.length === 0) problems.push('no key element');
  const ids = keys.map((k) => k.claims.get('identifier'));
  if (ids.some((i) => typeof i !== 'string')) problems.push('a key element lacks its identifier');
  if (new Set(ids).size !== ids.length) problems.push('duplicate key identifiers');
  // A key pair is named by its SPKI; a secret key by its algorithm and key check value.
  const named = (k: DecodedElement): boolean =>
    k.claims.get('spki') instanceof Uint8Array ||
    (k.claims.get('keyCheckValue') instanceof Uint8Array &&
      typeof k.claims.get('keyAlgorithm') === 'string');
  if (keys.some((k) => !named(k)))
    problems.push(
      'a key element lacks its spki (or, for a secret key, its algorithm and key check value)',
    );
  if (keys.some((k) => k.claims.has('spki') && k.claims.has('keyCheckValue')))
    problems.push('a key element has both an spki and a key check value');
  if (problems.length > 0) {
    f.fail('evidence.structure', 'crypto', problems.join('; '));
    return undefined;
  }
  f.pass(
    'evidence.structure',
    `version 1, ${keys.length} key element(s), at most one transaction and platform element`,
  );
  return elements;
}

function claimsJson(elements: readonly DecodedElement[]): Record<string, unknown> {
  const toJson = (m: Map<string, Decoded>): Record<string, unknown> =>
    Object.fromEntries(
      [...m].map(([k, v]) => [
        k,
        v instanceof Uint8Array
          ? k === 'spki' || k === 'akSpki'
            ? sha256Fingerprint(v)
            : toHex(v)
          : v,
      ]),
    );
  return {
    transaction: elements.filter((e) => e.type === 'transaction').map((e) => toJson(e.claims))[0],
    platform: elements.filter((e) => e.type === 'platform').map((e) => toJson(e.claims))[0],
    keys: elements.filter((e) => e.type === 'key').map((e) => toJson(e.claims)),
  };
}

/** Checks 3 (ids), 5, 6, 7 on decoded claims. */
function checkClaims(
  elements: readonly DecodedElement[],
  ids: { deviceId?: string; partitionId?: string },
  options: EvidenceOptions,
  f: Findings,
  boundSpki: Uint8Array | undefined,
): void {
  const transaction = elements.find((e) => e.type === 'transaction');
  const platform = elements.find((e) => e.type === 'platform');
  const keys = elements.filter((e) => e.type === 'key');

  // Ids claimed in the evidence must match the certificate chain.
  const idProblems: string[] = [];
  const claimedDevice = platform?.claims.get('deviceId');
  if (ids.deviceId !== undefined && claimedDevice !== undefined && claimedDevice !== ids.deviceId) {
    idProblems.push(`platform claims device ${String(claimedDevice)}, the chain ${ids.deviceId}`);
  }
  for (const k of keys) {
    const p = k.claims.get('partitionId');
    if (ids.partitionId !== undefined && p !== ids.partitionId) {
      idProblems.push(`key claims partition ${String(p)}, the chain ${ids.partitionId}`);
    }
  }
  f.check(
    'roles.ids',
    'crypto',
    idProblems.length === 0,
    'device and partition ids in the claims match the chain',
    idProblems.join('; '),
  );

  // 5. Key binding (a certificate binds only a key pair's SPKI).
  const subjects = keys.filter((k) => {
    const spki = k.claims.get('spki');
    if (boundSpki === undefined) return true;
    return spki instanceof Uint8Array && bytesEqual(spki, boundSpki);
  });
  if (boundSpki !== undefined) {
    f.check(
      'key.certificate-binding',
      'crypto',
      subjects.length > 0,
      'the certificate key is the attested key',
      'no key element has the certificate key',
    );
  }
  let targets = subjects;
  const has = (k: DecodedElement, claim: string, expected: Uint8Array): boolean => {
    const v = k.claims.get(claim);
    return v instanceof Uint8Array && bytesEqual(v, expected);
  };
  if (options.expectSpki !== undefined || options.expectKcv !== undefined) {
    const { expectSpki, expectKcv } = options;
    targets = subjects.filter(
      (k) =>
        (expectSpki === undefined || has(k, 'spki', expectSpki)) &&
        (expectKcv === undefined || has(k, 'keyCheckValue', expectKcv)),
    );
    f.check(
      'key.binding',
      'policy',
      targets.length > 0,
      'the attested key is the expected key',
      expectKcv === undefined
        ? 'no key element has the expected public key'
        : 'no key element has the expected key check value',
    );
  } else {
    f.skip('key.binding', 'no expected key given');
  }

  // 6. Attribute policy.
  const problems: string[] = [];
  for (const [name, wanted] of Object.entries(options.require ?? {})) {
    if (!Object.hasOwn(REQUIRABLE, name)) {
      problems.push(`unknown attribute ${name}`);
      continue;
    }
    const claimName =
      Object.entries(KEY_CLAIMS).find(
        ([, d]) => d.oid === REQUIRABLE[name as keyof typeof REQUIRABLE].oid,
      )?.[0] ?? name;
    for (const k of targets) {
      const got = k.claims.get(claimName);
      if (got !== wanted) problems.push(`${name} is ${String(got)}, required ${String(wanted)}`);
    }
  }
  if (Object.keys(options.require ?? {}).length === 0)
    f.skip('policy.attributes', 'no attribute requirements given');
  else
    f.check(
      'policy.attributes',
      'policy',
      problems.length === 0 && targets.length > 0,
      'the key meets every required attribute',
      problems.join('; ') || 'no key to check',
    );

  const protection = platform?.claims.get('protectionClass');
  if (protection === undefined)
    f.fail('policy.protection-class', 'policy', 'no protection class claimed');
  else if (protection === 'software' && options.allowSoftware !== true) {
    f.fail(
      'policy.protection-class',
      'policy',
      'protection-class is software: the key lives in a software HSM (accept with --allow-software)',
    );
  } else f.pass('policy.protection-class', `protection-class ${String(protection)}`);

  const inactive = targets.filter((k) => k.claims.get('keyState') !== 'active');
  if (targets.length === 0) f.skip('policy.key-state', 'no attested key left to check');
  else {
    f.check(
      'policy.key-state',
      'policy',
      inactive.length === 0,
      'the key is active',
      'the key is invalidated or its state unknown',
    );
  }

  // A temporary key (a derived child) claims its expiry (ARC.4.1.2.6): evidence issued at or
  // after it attests a key the HSM no longer uses. Checked only when a key claims one.
  const at = transaction?.claims.get('timestamp');
  const expiring = targets.filter((k) => typeof k.claims.get('expiry') === 'string');
  if (expiring.length > 0) {
    const late = expiring.filter(
      (k) => typeof at !== 'string' || Date.parse(String(k.claims.get('expiry'))) <= Date.parse(at),
    );
    f.check(
      'policy.key-expiry',
      'policy',
      late.length === 0,
      `the key is temporary and had not expired when attested (expiry ${String(expiring[0]!.claims.get('expiry'))})`,
      'the key had expired when the evidence was issued (or the evidence has no time)',
    );
  }

  // 7. Freshness.
  const claimedNonce = transaction?.claims.get('nonce');
  if (options.nonce !== undefined) {
    f.check(
      'freshness.nonce',
      'policy',
      claimedNonce instanceof Uint8Array && bytesEqual(claimedNonce, options.nonce),
      'the transaction nonce equals the one sent',
      claimedNonce === undefined
        ? 'the evidence carries no nonce'
        : 'the transaction nonce differs from the one sent',
    );
  } else {
    const ts = transaction?.claims.get('timestamp');
    f.skip(
      'freshness.nonce',
      `no nonce given; the HSM reports time ${String(ts ?? 'none')}, which is not freshness`,
    );
  }
}

function pemOrDerError(f: Findings, what: string, error: unknown): Report {
  f.fail(
    'evidence.structure',
    'parse',
    `${what} could not be parsed: ${error instanceof Error ? error.message : 'unknown'}`,
  );
  return f.report(undefined, {});
}

/** Collect-all verification of DER Evidence; never throws for findings. */
export async function inspectEvidence(
  bytes: Uint8Array,
  options: EvidenceOptions,
): Promise<Report> {
  const f = new Findings();
  let evidence: Evidence;
  try {
    evidence = parseEvidence(bytes);
  } catch (error) {
    return pemOrDerError(f, 'the evidence', error);
  }
  const elements = decodeTbs(evidence.tbs, f);
  const pool = parseAll(evidence.intermediateCertificates, f);
  if (pool === undefined) return f.report(undefined, {});

  // 3/4: signatures. Zero signatures means untrusted; ak-spki counts only if a signature backs it.
  if (evidence.signatures.length === 0) {
    f.fail('evidence.signature', 'crypto', 'the evidence carries no signature');
    return f.report(undefined, elements === undefined ? {} : claimsJson(elements));
  }
  let verifiedSigner: ParsedCert | undefined;
  let anchor: string | undefined;
  let ids: { deviceId?: string; partitionId?: string } = {};
  const bad: string[] = [];
  for (const [n, block] of evidence.signatures.entries()) {
    let signer: ParsedCert | undefined;
    try {
      signer =
        block.certificate !== undefined
          ? parseCert(block.certificate)
          : pool.find((c) => block.spki !== undefined && bytesEqual(c.spki, block.spki));
    } catch {
      bad.push(`signature ${n}: its certificate is malformed`);
      continue;
    }
    if (signer === undefined) {
      bad.push(`signature ${n}: no certificate for its signer`);
      continue;
    }
    if (
      !(await verifySignature(
        signer.spki,
        block.signatureAlgorithm,
        evidence.tbs.der,
        block.signature,
      ))
    ) {
      bad.push(`signature ${n} does not verify`);
      continue;
    }
    if (verifiedSigner === undefined) {
      verifiedSigner = signer;
      const rest = pool.filter((c) => c.sha256 !== signer.sha256);
      const result = await validatePath(signer, rest, options, f);
      anchor = result.anchor;
      if (result.path !== undefined) {
        ids = checkRoles(result.path, f);
        const eku = extendedKeyUsages(signer);
        f.check(
          'roles.attestation-key',
          'crypto',
          eku?.oids.includes(id_kp_attestationKey) === true,
          'the signer is a partition attestation key',
          'the signer certificate lacks the attestation key EKU',
        );
        await checkRevocation(result.path, options, f, result.extra);
      }
    }
  }
  if (verifiedSigner === undefined) f.fail('evidence.signature', 'crypto', bad.join('; '));
  else if (bad.length > 0)
    f.fail('evidence.signature', 'crypto', `one signature verifies but: ${bad.join('; ')}`);
  else f.pass('evidence.signature', `signed by the key of certificate ${verifiedSigner.sha256}`);

  if (elements !== undefined) {
    const akSpki = elements.find((e) => e.type === 'transaction')?.claims.get('akSpki');
    if (akSpki instanceof Uint8Array) {
      f.check(
        'evidence.ak-spki',
        'crypto',
        verifiedSigner !== undefined && bytesEqual(akSpki, verifiedSigner.spki),
        'ak-spki is the verified signer key',
        'ak-spki is not backed by a verified signature',
      );
    } else f.skip('evidence.ak-spki', 'no ak-spki claim');
    checkClaims(elements, ids, options, f, undefined);
  }
  return f.report(anchor, elements === undefined ? {} : { ...claimsJson(elements), ...ids });
}

/** Collect-all verification of a key attestation certificate (leaf first, then its chain). */
export async function inspectAttestationCertificate(
  certificates: readonly Uint8Array[],
  options: EvidenceOptions,
): Promise<Report> {
  const f = new Findings();
  const certs = parseLeafFirst(certificates, f);
  if (certs === undefined) return f.report(undefined, {});
  const { leaf, pool } = certs;
  const ext = extension(leaf, id_ce_keyEvidence);
  let elements: DecodedElement[] | undefined;
  if (ext === undefined)
    f.fail('evidence.structure', 'crypto', 'the certificate has no evidence extension');
  else {
    try {
      elements = decodeTbs(parseTbsEvidence(ext.value), f);
    } catch (error) {
      return pemOrDerError(f, 'the evidence extension', error);
    }
  }
  const result = await validatePath(leaf, pool, options, f);
  let ids = {};
  if (result.path !== undefined) {
    ids = checkRoles(result.path, f);
    await checkRevocation(result.path, options, f, result.extra);
  }
  f.pass('evidence.signature', 'the evidence is covered by the certificate signature');
  if (elements !== undefined) checkClaims(elements, ids, options, f, leaf.spki);
  return f.report(result.anchor, elements === undefined ? {} : { ...claimsJson(elements), ...ids });
}

/** verifyEvidence: as inspectEvidence, but throws AttestationError unless verified. */
export async function verifyEvidence(bytes: Uint8Array, options: EvidenceOptions): Promise<Report> {
  const report = await inspectEvidence(bytes, options);
  if (report.outcome !== 'verified') throw new AttestationError(report);
  return report;
}

// RFC 5280 6.1 path validation at an explicit time, with pinned anchors and no network: path
// building (path-building.ts), every signature over the original TBS bytes, validity, the basic
// path processing of path-validation.ts (CA flags, pathLen, keyCertSign, name chaining, policies,
// name constraints, unknown critical extensions), leftover and duplicate certificates, the
// algorithm allow-list, strict DER; then the HSM role profile and revocation (revocation.ts).
import {
  derReader,
  HSM_ROLES,
  id_ce_hsmRole,
  id_ce_keyEvidence,
  isBerEncoded,
} from '../pki/index.js';
import { bytesEqual, toHex } from '../shared/index.js';
import {
  authorityKeyId,
  basicConstraintsOf,
  extension,
  parseCert,
  subjectKeyId,
  type ParsedCert,
} from './certificate.js';
import { parseCrl, type ParsedCrl } from './crl.js';
import { describeSignatureAlgorithm, publicKeyProblem } from './crypto.js';
import { isoSeconds, serialFields } from './json-values.js';
import { buildPath, MAX_PATH } from './path-building.js';
import { processPath, type PolicyInputs } from './path-validation.js';
import { Findings, type Report } from './report.js';
import { certificateStatus, type RevocationContext } from './revocation.js';

const { readTlv, childrenOf, contentOf, expectTag, readUnsigned } = derReader;

export interface TrustAnchors {
  /** DER anchor certificates. */
  readonly certificates?: readonly Uint8Array[];
  /** Lowercase hex SHA-256 of an anchor certificate or of its SubjectPublicKeyInfo. */
  readonly sha256?: readonly string[];
}

export interface ChainOptions {
  readonly anchors: TrustAnchors;
  /** The time the path is validated at. */
  readonly at: Date;
  /** DER CRLs (RFC 5280 5); revocation is checked against these only. */
  readonly crls?: readonly Uint8Array[];
  /** Make missing revocation information an indeterminate result instead of a skip. */
  readonly requireRevocation?: boolean;
  /**
   * 'attestamp' (default): the project's profile, RFC 5280 processing plus exact name
   * encodings, key identifiers on every link, version 3, no leftover certificate, the anchor
   * certificate's own constraints and the HSM roles. 'x509': RFC 5280 6.1 as written (generic
   * PKIs such as NIST PKITS): names compared per 7.1, unused certificates only a warning.
   */
  readonly profile?: 'attestamp' | 'x509';
  /** The policy inputs of RFC 5280 6.1.1 (c), (e)-(g); by default any policy, nothing required. */
  readonly policy?: PolicyInputs;
  /**
   * Extra untrusted DER certificates that may complete the path or sign a CRL (as openssl's
   * -untrusted): used where needed; unlike the certificates of the input itself, the unused ones
   * are not leftovers.
   */
  readonly certificates?: readonly Uint8Array[];
}

export type { PolicyInputs };

export interface HsmRoleInfo {
  readonly role: (typeof HSM_ROLES)[number];
  readonly deviceId: string | undefined;
  readonly partitionId: string | undefined;
}

/** The ARC.7.1 role extension, decoded with exact OIDs; undefined when absent. */
export function roleOf(cert: ParsedCert): HsmRoleInfo | 'malformed' | undefined {
  const e = extension(cert, id_ce_hsmRole);
  if (e === undefined) return undefined;
  try {
    const v = e.value;
    const [roleT, ...rest] = childrenOf(v, expectTag(readTlv(v, 0), 0x30, 'HsmRole'));
    const role = HSM_ROLES[Number(readUnsigned(v, roleT, 0x0a))];
    if (role === undefined) return 'malformed';
    let deviceId: string | undefined;
    let partitionId: string | undefined;
    for (const f of rest) {
      const text = new TextDecoder('utf-8', { fatal: true }).decode(contentOf(v, f));
      if (f.tag === 0x80) deviceId = text;
      else if (f.tag === 0x81) partitionId = text;
      else return 'malformed';
    }
    return { role, deviceId, partitionId };
  } catch {
    return 'malformed';
  }
}

function isAnchor(cert: ParsedCert, anchors: TrustAnchors): boolean {
  if ((anchors.sha256 ?? []).some((p) => p === cert.sha256 || p === cert.spkiSha256)) return true;
  return (anchors.certificates ?? []).some((a) => bytesEqual(a, cert.der));
}

function utc(d: Date): string {
  return d.toISOString();
}

export interface PathResult {
  /** Leaf first, anchor last; undefined when no path to an anchor exists. */
  readonly path: ParsedCert[] | undefined;
  readonly anchor: string | undefined;
  /** RFC 5280 6.1.6: the valid policies at the end of the path, when policy processing passed. */
  readonly policies?: readonly string[];
  /** With `leftover: 'defer'`: the supplied certificates not on the path, and duplicates. */
  readonly leftover?: { readonly certificates: readonly ParsedCert[]; readonly duplicates: number };
  /** The options' extra certificates not already supplied (candidates for CRL signers too). */
  readonly extra: readonly ParsedCert[];
}

/**
 * Builds and validates the path from `leaf` through `pool` to an anchor, recording findings.
 * The pool may hold the anchor itself; every other certificate in it must be used (a warning
 * only in the x509 profile, where the rest may be CRL signers).
 */
export async function validatePath(
  leaf: ParsedCert,
  pool: readonly ParsedCert[],
  options: ChainOptions,
  f: Findings,
  /**
   * 'warn' for containers that may carry extra certificates (CMS tokens); 'defer' leaves the
   * finding to the caller, which knows the CRL signers once revocation is checked.
   */
  mode: { readonly leftover: 'fail' | 'warn' | 'defer' } = { leftover: 'fail' },
): Promise<PathResult> {
  const strict = (options.profile ?? 'attestamp') === 'attestamp';
  const anchorCerts: ParsedCert[] = [];
  for (const a of options.anchors.certificates ?? []) {
    try {
      anchorCerts.push(parseCert(a));
    } catch {
      f.fail('trust.anchor', 'parse', 'an anchor certificate is not a strict-DER certificate');
      return { path: undefined, anchor: undefined, extra: [] };
    }
  }
  if (anchorCerts.length === 0 && (options.anchors.sha256 ?? []).length === 0) {
    f.fail('trust.anchor', 'crypto', 'no trust anchor given: nothing can be trusted');
    return { path: undefined, anchor: undefined, extra: [] };
  }
  const given = parseAll(options.certificates ?? [], f, 'extra certificate');
  if (given === undefined) return { path: undefined, anchor: undefined, extra: [] };
  const supplied = new Set([leaf, ...pool].map((c) => c.sha256));
  const extra = given.filter(
    (c, i) => !supplied.has(c.sha256) && given.findIndex((d) => d.sha256 === c.sha256) === i,
  );

  // Duplicates in what was supplied are an error, not something to tolerate.
  const seen = new Set<string>([leaf.sha256]);
  let duplicates = 0;
  for (const c of pool) {
    if (seen.has(c.sha256)) duplicates++;
    seen.add(c.sha256);
  }

  const built = await buildPath(leaf, [...pool, ...extra, ...anchorCerts], {
    isAnchor: (c) => isAnchor(c, options.anchors),
    exactNames: strict,
  });
  if (!built.ok) {
    if (built.reason === 'too-long') {
      f.fail('path.build', 'crypto', `no anchor within ${MAX_PATH} certificates`);
      return { path: undefined, anchor: undefined, extra };
    }
    // verifySignature refuses algorithms off the allow-list, so a SHA-1 signature ends the
    // path here: report the algorithm as the reason, not only the broken path.
    if (built.algorithm !== undefined)
      f.fail('path.algorithms', 'crypto', `certificate ${built.index}: ${built.algorithm}`);
    f.fail(
      'path.build',
      'crypto',
      built.reason === 'no-issuer'
        ? `no certificate issued ${built.index === 0 ? 'the leaf' : `certificate ${built.index}`}; the chain does not reach a trust anchor`
        : `no candidate issuer's key verifies the signature of certificate ${built.index}`,
    );
    return { path: undefined, anchor: undefined, extra };
  }
  const path = built.path;
  const anchor = path[path.length - 1]!;
  const anchorId = (options.anchors.sha256 ?? []).includes(anchor.spkiSha256)
    ? anchor.spkiSha256
    : anchor.sha256;
  f.pass('trust.anchor', `path ends on the pinned anchor ${anchorId}`);
  f.pass('path.build', `${path.length} certificates from leaf to anchor`);
  f.pass(
    'path.signatures',
    'every certificate verifies with its issuer key over its original TBS bytes',
  );

  const used = new Set(path.map((c) => c.sha256));
  const unused = pool.filter((c) => !used.has(c.sha256));
  if (mode.leftover !== 'defer')
    reportLeftover(f, unused.length, duplicates, mode.leftover, false, rootFirst(leaf, unused));

  // RFC 5280 6.1.3 (a)(2): validity at the given time, for every certificate including the anchor.
  const expired = path.findIndex((c) => options.at < c.notBefore || options.at > c.notAfter);
  f.check(
    'path.validity',
    'crypto',
    expired === -1,
    `every certificate is valid at ${utc(options.at)}`,
    expired === -1
      ? ''
      : `certificate ${expired} is valid from ${utc(path[expired]!.notBefore)} to ${utc(path[expired]!.notAfter)}, not at ${utc(options.at)}`,
  );

  // RFC 5280 6.1.3-6.1.5: CA flags, pathLen, keyCertSign, names, critical extensions, the
  // policy tree and name constraints.
  const processed = processPath(path, {
    strict,
    ...(options.policy === undefined ? {} : { policy: options.policy }),
  });
  for (const c of processed.checks) {
    if (!c.applies) continue;
    // A policy failure is a chain failure: the path does not carry the required policy.
    f.check(c.id, 'crypto', c.ok, c.detail, c.detail);
  }

  if (strict) {
    // The attestamp profile: every link carries key identifiers (RFC 5280 4.2.1.1, 4.2.1.2).
    let idsOk = true;
    for (let j = 0; j + 1 < path.length; j++) {
      const aki = authorityKeyId(path[j]!);
      const ski = subjectKeyId(path[j + 1]!);
      if (aki === undefined || ski === undefined || !bytesEqual(aki, ski)) idsOk = false;
    }
    f.check(
      'path.key-ids',
      'crypto',
      idsOk,
      'authority and subject key identifiers chain',
      'a key identifier is missing or does not match',
    );
  } else f.skip('path.key-ids', 'key identifiers only guide path building in RFC 5280');

  let alg = '';
  for (const [j, c] of path.entries()) {
    const scheme = describeSignatureAlgorithm(c.signatureAlgorithm);
    if (scheme.kind === 'unsupported' && j < path.length - 1)
      alg = `certificate ${j}: ${scheme.reason}`;
    if (!bytesEqual(c.signatureAlgorithm, c.innerSignatureAlgorithm))
      alg = `certificate ${j}: inner and outer signature algorithms differ`;
    // Unknown or malformed keys and keys below the family's floor (RSA < 2048 bits).
    const keyProblem = publicKeyProblem(c.spki);
    if (keyProblem !== undefined) alg = `certificate ${j}: ${keyProblem}`;
  }
  f.check('path.algorithms', 'crypto', alg === '', 'all algorithms on the allow-list', alg);
  f.pass('path.der', 'every certificate is strict DER with no trailing bytes');
  return {
    path,
    anchor: anchorId,
    extra,
    ...(processed.policies === undefined ? {} : { policies: processed.policies }),
    ...(mode.leftover === 'defer' ? { leftover: { certificates: unused, duplicates } } : {}),
  };
}

/** path.leftover: certificates supplied but not used, and duplicates (fail closed by default). */
function reportLeftover(
  f: Findings,
  leftover: number,
  duplicates: number,
  mode: 'fail' | 'warn',
  signers = false,
  reversed = false,
): void {
  const detail =
    `${leftover} certificate(s) not on the path, ${duplicates} duplicate(s)` +
    (reversed ? '; certificates appear root first; give the leaf first' : '');
  if (leftover === 0 && duplicates === 0)
    f.pass(
      'path.leftover',
      signers
        ? "every supplied certificate is on the path or a CRL signer's, none twice"
        : 'every supplied certificate is on the path, none twice',
    );
  else if (mode === 'warn') f.warn('path.leftover', detail);
  else f.fail('path.leftover', 'crypto', detail);
}

/**
 * Role profile (standards/attestation.md "Roles"): root -> device -> partition attestation key
 * [-> key attestation certificate], device and partition ids consistent, the evidence extension
 * only on a leaf that is not a CA.
 */
export function checkRoles(
  path: readonly ParsedCert[],
  f: Findings,
): { deviceId?: string; partitionId?: string } {
  const roles = path.map(roleOf);
  if (roles.includes('malformed')) {
    f.fail('roles.chain', 'crypto', 'a role extension is malformed');
    return {};
  }
  const top = path.length - 1;
  const expected = ['root', 'device'];
  let ok = true;
  let detail = '';
  for (let k = 0; k < expected.length && top - k >= 0; k++) {
    const r = roles[top - k];
    if (typeof r !== 'object' || r.role !== expected[k]) {
      ok = false;
      detail = `certificate ${top - k} should have the ${expected[k]} role`;
    }
  }
  const device = roles[top - 1];
  const deviceId = typeof device === 'object' ? device.deviceId : undefined;
  let partitionId: string | undefined;
  for (let j = top - 2; j >= 0; j--) {
    const r = roles[j];
    if (r === undefined) {
      if (j !== 0) {
        ok = false;
        detail = `certificate ${j} has no role but issues another`;
      }
      continue;
    }
    if (
      typeof r !== 'object' ||
      (r.role !== 'partition-attestation' && r.role !== 'partition-timestamp')
    ) {
      ok = false;
      detail = `certificate ${j} has an unexpected role`;
      continue;
    }
    if (j > 0 && r.role !== 'partition-attestation') {
      ok = false;
      detail = `certificate ${j} issues a certificate but is not a partition attestation key`;
    }
    if (r.deviceId !== deviceId) {
      ok = false;
      detail = `certificate ${j} names device ${r.deviceId ?? '(none)'}, the device certificate ${deviceId ?? '(none)'}`;
    }
    if (partitionId !== undefined && r.partitionId !== partitionId) {
      ok = false;
      detail = 'partition ids differ along the chain';
    }
    partitionId = r.partitionId;
  }
  f.check('roles.chain', 'crypto', ok, 'root -> device -> partition roles, ids consistent', detail);
  const evidenceOnIssuer = path.slice(1).some((c) => extension(c, id_ce_keyEvidence) !== undefined);
  const leafIsCa = basicConstraintsOf(path[0]!)?.ca === true;
  const leafHasEvidence = extension(path[0]!, id_ce_keyEvidence) !== undefined;
  f.check(
    'roles.evidence-on-leaf',
    'crypto',
    !evidenceOnIssuer && !(leafHasEvidence && leafIsCa),
    'the evidence extension appears only on a non-CA leaf',
    'the evidence extension appears on an issuer (forged-leaf pattern)',
  );
  return {
    ...(deviceId === undefined ? {} : { deviceId }),
    ...(partitionId === undefined ? {} : { partitionId }),
  };
}

/** More CRLs than this in one verification is a denial of service, not a revocation source. */
const MAX_CRLS = 64;

/**
 * Revocation from the CRLs given (RFC 5280 6.3): complete CRLs and their deltas, scopes,
 * reasons, indirect CRLs and CRL signers other than the issuer, found in `pool` or on the path.
 */
export async function checkRevocation(
  path: readonly ParsedCert[],
  options: ChainOptions,
  f: Findings,
  /** Other certificates supplied with the path: CRL signers and their issuers. */
  pool: readonly ParsedCert[] = [],
): Promise<ReadonlySet<string>> {
  const usedSigners = new Set<string>();
  const given = options.crls ?? [];
  if (given.length > MAX_CRLS) {
    f.fail('revocation', 'parse', `more than ${MAX_CRLS} CRLs given`);
    return usedSigners;
  }
  const crls: ParsedCrl[] = [];
  for (const c of given) {
    try {
      crls.push(parseCrl(c));
    } catch {
      f.fail('revocation', 'parse', 'a CRL could not be parsed');
      return usedSigners;
    }
  }
  if (crls.length === 0 && options.requireRevocation !== true) {
    f.skip('revocation', 'no CRL given; revocation not checked');
    return usedSigners;
  }
  const anchor = path[path.length - 1];
  if (anchor === undefined) return usedSigners;
  const byHash = new Map<string, ParsedCert>();
  for (const c of [...path, ...pool]) byHash.set(c.sha256, c);
  const ctx: RevocationContext = {
    crls,
    at: options.at,
    candidates: [...byHash.values()],
    anchor,
    strict: (options.profile ?? 'attestamp') === 'attestamp',
    usedSigners,
    inProgress: new Set(),
    provisional: { count: 0 },
    signerCache: new Map(),
  };
  const unknown: number[] = [];
  const notes = new Set<string>();
  for (let j = 0; j + 1 < path.length; j++) {
    const cert = path[j]!;
    const status = await certificateStatus(cert, path[j + 1]!, ctx);
    switch (status.kind) {
      case 'revoked':
        f.fail(
          'revocation',
          'revocation',
          `certificate ${j} (serial ${toHex(cert.serial)}) is revoked`,
        );
        return usedSigners;
      case 'bad-signature':
        f.fail('revocation', 'crypto', `a CRL for certificate ${j} is not signed by its issuer`);
        return usedSigners;
      case 'undetermined':
        unknown.push(j);
        for (const n of status.notes) notes.add(`certificate ${j}: ${n}`);
        break;
      case 'good':
        break;
    }
  }
  if (unknown.length === 0) f.pass('revocation', 'no certificate on the path is revoked');
  else if (options.requireRevocation === true)
    f.undecided('revocation', `no current CRL for certificate(s) ${unknown.join(', ')}`);
  else
    f.warn('revocation', `no current CRL for certificate(s) ${unknown.join(', ')}; not required`);
  // RFC 5280 6.3.3: why the CRLs that named an issuer on the path could not decide its status.
  if (notes.size > 0) f.warn('revocation.crls', [...notes].join('; '));
  return usedSigners;
}

/**
 * Whether the input was given root first: the first certificate issued one of those left over
 * (a leaf issues nothing), so the path stopped at it.
 */
function rootFirst(first: ParsedCert, unused: readonly ParsedCert[]): boolean {
  return unused.some((c) => bytesEqual(c.issuer, first.subject) && c.sha256 !== first.sha256);
}

/**
 * Parses certificates, recording a failure as a finding: an ASN.1 value that breaks the DER rules
 * or the certificate profile (BER lengths, trailing bytes, a malformed extension) is a chain
 * failure; bytes that are not even BER (truncated, garbage) make the input unparseable, as a
 * corrupt token does.
 */
export function parseAll(
  ders: readonly Uint8Array[],
  f: Findings,
  what = 'certificate',
): ParsedCert[] | undefined {
  const out: ParsedCert[] = [];
  for (const [j, d] of ders.entries()) {
    try {
      out.push(parseCert(d));
    } catch (error) {
      const reason = error instanceof Error ? error.message : 'unknown';
      if (isBerEncoded(d))
        f.fail('path.der', 'crypto', `${what} ${j} is not a strict-DER certificate: ${reason}`);
      else f.fail('path.der', 'parse', `${what} ${j} cannot be parsed: ${reason}`);
      return undefined;
    }
  }
  return out;
}

/**
 * Parses a leaf-first list: the leaf and the untrusted rest, or undefined after recording why
 * (a certificate that does not parse, or none at all).
 */
export function parseLeafFirst(
  ders: readonly Uint8Array[],
  f: Findings,
): { leaf: ParsedCert; pool: ParsedCert[] } | undefined {
  const parsed = parseAll(ders, f);
  if (parsed === undefined) return undefined;
  const [leaf, ...pool] = parsed;
  if (leaf === undefined) {
    f.fail('path.build', 'parse', 'no certificate given');
    return undefined;
  }
  return { leaf, pool };
}

/** verifyChain: the first certificate is the leaf, the rest are untrusted intermediates. */
export async function verifyChain(
  certificates: readonly Uint8Array[],
  options: ChainOptions,
): Promise<Report> {
  const f = new Findings();
  const certs = parseLeafFirst(certificates, f);
  if (certs === undefined) return f.report(undefined, {});
  const strict = (options.profile ?? 'attestamp') === 'attestamp';
  // In the x509 profile, certificates off the path may be CRL signers: known after revocation.
  const { path, anchor, policies, leftover, extra } = await validatePath(
    certs.leaf,
    certs.pool,
    options,
    f,
    { leftover: strict ? 'fail' : 'defer' },
  );
  let ids = {};
  if (path !== undefined) {
    if (strict) ids = checkRoles(path, f);
    const signers = await checkRevocation(path, options, f, [...certs.pool, ...extra]);
    if (leftover !== undefined) {
      const unused = leftover.certificates.filter((c) => !signers.has(c.sha256));
      // RFC 5280 has no rule against extra certificates: a warning, duplicates still fail.
      reportLeftover(
        f,
        unused.length,
        leftover.duplicates,
        leftover.duplicates > 0 ? 'fail' : 'warn',
        true,
        rootFirst(certs.leaf, unused),
      );
    }
  }
  return f.report(anchor, {
    ...ids,
    ...(strict || policies === undefined ? {} : { policies }),
    path: (path ?? []).map((c) => ({
      sha256: c.sha256,
      ...serialFields(c.serial),
      notBefore: isoSeconds(c.notBefore),
      notAfter: isoSeconds(c.notAfter),
    })),
  });
}

// RFC 5280 6.1 path validation at an explicit time, with pinned anchors and no network: every
// signature over the original TBS bytes, validity, CA flags, pathLen, keyCertSign, name and key
// id chaining, unknown critical extensions, leftover and duplicate certificates, algorithm
// allow-list, strict DER; then the HSM role profile and revocation from given CRLs.
import {
  assertStrictDer,
  derReader,
  HSM_ROLES,
  id_ce_hsmRole,
  id_ce_keyEvidence,
} from '../pki/index.js';
import { bytesEqual, toHex } from '../shared/index.js';
import {
  authorityKeyId,
  basicConstraintsOf,
  extension,
  keyUsageBits,
  parseCert,
  readTime,
  subjectKeyId,
  type ParsedCert,
} from './certificate.js';
import { describePublicKey, describeSignatureAlgorithm, verifySignature } from './crypto.js';
import { Findings, type Report } from './report.js';

const { readTlv, childrenOf, contentOf, expectTag, readUnsigned, encodingOf } = derReader;

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
}

/** Extensions we process; any other critical extension fails the path (RFC 5280 4.2). */
const KNOWN_CRITICAL = new Set([
  '2.5.29.15',
  '2.5.29.19',
  '2.5.29.37',
  '2.5.29.17',
  '2.5.29.14',
  '2.5.29.35',
]);
const MAX_PATH = 8;

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
}

/**
 * Builds and validates the path from `leaf` through `pool` to an anchor, recording findings.
 * The pool may hold the anchor itself; every other certificate in it must be used.
 */
export async function validatePath(
  leaf: ParsedCert,
  pool: readonly ParsedCert[],
  options: ChainOptions,
  f: Findings,
  /** 'warn' for containers that may carry extra certificates (CMS tokens). */
  mode: { readonly leftover: 'fail' | 'warn' } = { leftover: 'fail' },
): Promise<PathResult> {
  const anchorCerts: ParsedCert[] = [];
  for (const a of options.anchors.certificates ?? []) {
    try {
      anchorCerts.push(parseCert(a));
    } catch {
      f.fail('trust.anchor', 'parse', 'an anchor certificate is not a strict-DER certificate');
      return { path: undefined, anchor: undefined };
    }
  }
  if (anchorCerts.length === 0 && (options.anchors.sha256 ?? []).length === 0) {
    f.fail('trust.anchor', 'crypto', 'no trust anchor given: nothing can be trusted');
    return { path: undefined, anchor: undefined };
  }

  // Duplicates in what was supplied are an error, not something to tolerate.
  const seen = new Set<string>([leaf.sha256]);
  let duplicates = 0;
  for (const c of pool) {
    if (seen.has(c.sha256)) duplicates++;
    seen.add(c.sha256);
  }

  const path: ParsedCert[] = [leaf];
  let current = leaf;
  while (!isAnchor(current, options.anchors)) {
    if (path.length > MAX_PATH) {
      f.fail('path.build', 'crypto', `no anchor within ${MAX_PATH} certificates`);
      return { path: undefined, anchor: undefined };
    }
    const aki = authorityKeyId(current);
    const candidates = [...pool, ...anchorCerts].filter(
      (c) =>
        bytesEqual(c.subject, current.issuer) &&
        !path.includes(c) &&
        (aki === undefined || subjectKeyId(c) === undefined || bytesEqual(aki, subjectKeyId(c)!)),
    );
    let issuer: ParsedCert | undefined;
    for (const c of candidates) {
      if (
        await verifySignature(c.spki, current.signatureAlgorithm, current.tbs, current.signature)
      ) {
        issuer = c;
        break;
      }
    }
    if (issuer === undefined) {
      // verifySignature refuses algorithms off the allow-list, so a SHA-1 signature ends the
      // path here: report the algorithm as the reason, not only the broken path.
      const scheme = describeSignatureAlgorithm(current.signatureAlgorithm);
      if (candidates.length > 0 && scheme.kind === 'unsupported')
        f.fail('path.algorithms', 'crypto', `certificate ${path.length - 1}: ${scheme.reason}`);
      f.fail(
        'path.build',
        'crypto',
        candidates.length === 0
          ? `no certificate issued ${path.length === 1 ? 'the leaf' : `certificate ${path.length - 1}`}; the chain does not reach a trust anchor`
          : `no candidate issuer's key verifies the signature of certificate ${path.length - 1}`,
      );
      return { path: undefined, anchor: undefined };
    }
    path.push(issuer);
    current = issuer;
  }
  const anchor = current;
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
  const leftover = pool.filter((c) => !used.has(c.sha256)).length;
  const clean = leftover === 0 && duplicates === 0;
  const leftoverDetail = `${leftover} certificate(s) not on the path, ${duplicates} duplicate(s)`;
  if (clean) f.pass('path.leftover', 'every supplied certificate is on the path, none twice');
  else if (mode.leftover === 'warn') f.warn('path.leftover', leftoverDetail);
  else f.fail('path.leftover', 'crypto', leftoverDetail);

  // Validity at the given time, for every certificate on the path including the anchor.
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

  // Issuers: CA, keyCertSign, pathLen (RFC 5280 6.1.4 (k), (l), (n)).
  let caOk = true;
  let kuOk = true;
  let plOk = true;
  let caDetail = '';
  for (let j = 1; j < path.length; j++) {
    const c = path[j]!;
    const bc = basicConstraintsOf(c);
    if (bc?.ca !== true) {
      caOk = false;
      caDetail = `certificate ${j} issues certificate ${j - 1} but is not a CA`;
    }
    const ku = keyUsageBits(c);
    if (ku !== undefined && !ku.has(5)) kuOk = false;
    // Intermediates below j, excluding the leaf.
    if (bc?.pathLen !== undefined && j - 1 > bc.pathLen) plOk = false;
  }
  f.check('path.ca', 'crypto', caOk, 'every issuer is a CA', caDetail);
  f.check(
    'path.key-cert-sign',
    'crypto',
    kuOk,
    'every issuer may sign certificates',
    'an issuer lacks keyCertSign',
  );
  f.check(
    'path.path-length',
    'crypto',
    plOk,
    'path length constraints hold',
    'a pathLenConstraint is exceeded',
  );

  let namesOk = true;
  let idsOk = true;
  for (let j = 0; j + 1 < path.length; j++) {
    if (!bytesEqual(path[j]!.issuer, path[j + 1]!.subject)) namesOk = false;
    const aki = authorityKeyId(path[j]!);
    const ski = subjectKeyId(path[j + 1]!);
    if (aki === undefined || ski === undefined || !bytesEqual(aki, ski)) idsOk = false;
  }
  f.check(
    'path.names',
    'crypto',
    namesOk,
    'issuer and subject names chain',
    'an issuer name does not match',
  );
  f.check(
    'path.key-ids',
    'crypto',
    idsOk,
    'authority and subject key identifiers chain',
    'a key identifier is missing or does not match',
  );

  let critical = '';
  for (const [j, c] of path.entries()) {
    const oids = c.extensions.map((e) => e.oid);
    if (new Set(oids).size !== oids.length) critical = `certificate ${j} repeats an extension`;
    const unknown = c.extensions.find((e) => e.critical && !KNOWN_CRITICAL.has(e.oid));
    if (unknown !== undefined)
      critical = `certificate ${j} has the unknown critical extension ${unknown.oid}`;
    if (c.version !== 3) critical = `certificate ${j} is not version 3`;
  }
  f.check(
    'path.critical-extensions',
    'crypto',
    critical === '',
    'no unknown critical or repeated extension',
    critical,
  );

  let alg = '';
  for (const [j, c] of path.entries()) {
    const scheme = describeSignatureAlgorithm(c.signatureAlgorithm);
    if (scheme.kind === 'unsupported' && j < path.length - 1)
      alg = `certificate ${j}: ${scheme.reason}`;
    if (!bytesEqual(c.signatureAlgorithm, c.innerSignatureAlgorithm))
      alg = `certificate ${j}: inner and outer signature algorithms differ`;
    const key = describePublicKey(c.spki);
    if (key.kind === 'unsupported') alg = `certificate ${j}: ${key.reason}`;
    if (key.kind === 'rsa' && key.bits < 2048)
      alg = `certificate ${j}: RSA key of ${key.bits} bits`;
  }
  f.check('path.algorithms', 'crypto', alg === '', 'all algorithms on the allow-list', alg);
  f.pass('path.der', 'every certificate is strict DER with no trailing bytes');
  return { path, anchor: anchorId };
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

interface ParsedCrl {
  readonly issuer: Uint8Array;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
  readonly revoked: readonly Uint8Array[];
  readonly tbs: Uint8Array;
  readonly signatureAlgorithm: Uint8Array;
  readonly signature: Uint8Array;
}

function parseCrl(der: Uint8Array): ParsedCrl {
  // The reader below expects strict DER (der-reader.ts); a CRL is hostile input like a certificate.
  assertStrictDer(der);
  const [tbsT, algT, sigT] = childrenOf(der, expectTag(readTlv(der, 0), 0x30, 'CertificateList'));
  const fields = childrenOf(der, expectTag(tbsT, 0x30, 'TBSCertList'));
  let i = fields[0]?.tag === 0x02 ? 1 : 0;
  const issuer = expectTag(fields[i + 1], 0x30, 'issuer');
  const time = (t: derReader.Tlv | undefined): Date => readTime(der, t);
  const thisUpdate = time(fields[i + 2]);
  i += 3;
  let nextUpdate: Date | undefined;
  if (fields[i]?.tag === 0x17 || fields[i]?.tag === 0x18) nextUpdate = time(fields[i++]);
  const revoked: Uint8Array[] = [];
  if (fields[i]?.tag === 0x30) {
    for (const r of childrenOf(der, fields[i]!)) {
      const [serial] = childrenOf(der, r);
      revoked.push(contentOf(der, expectTag(serial, 0x02, 'serial')));
    }
  }
  const sig = contentOf(der, expectTag(sigT, 0x03, 'signature'));
  return {
    issuer: encodingOf(der, issuer),
    thisUpdate,
    nextUpdate,
    revoked,
    tbs: encodingOf(der, tbsT!),
    signatureAlgorithm: encodingOf(der, expectTag(algT, 0x30, 'signatureAlgorithm')),
    signature: sig.subarray(1),
  };
}

/** Revocation from the CRLs given (RFC 5280 6.3, simplified: complete CRLs, no deltas). */
export async function checkRevocation(
  path: readonly ParsedCert[],
  options: ChainOptions,
  f: Findings,
): Promise<void> {
  const crls: ParsedCrl[] = [];
  for (const c of options.crls ?? []) {
    try {
      crls.push(parseCrl(c));
    } catch {
      f.fail('revocation', 'parse', 'a CRL could not be parsed');
      return;
    }
  }
  if (crls.length === 0 && options.requireRevocation !== true) {
    f.skip('revocation', 'no CRL given; revocation not checked');
    return;
  }
  const unknown: number[] = [];
  for (let j = 0; j + 1 < path.length; j++) {
    const cert = path[j]!;
    const issuer = path[j + 1]!;
    let decided = false;
    for (const crl of crls.filter((c) => bytesEqual(c.issuer, cert.issuer))) {
      if (!(await verifySignature(issuer.spki, crl.signatureAlgorithm, crl.tbs, crl.signature))) {
        f.fail('revocation', 'crypto', `a CRL for certificate ${j} is not signed by its issuer`);
        return;
      }
      if (
        crl.thisUpdate > options.at ||
        (crl.nextUpdate !== undefined && crl.nextUpdate < options.at)
      )
        continue;
      if (crl.revoked.some((s) => bytesEqual(s, cert.serial))) {
        f.fail(
          'revocation',
          'revocation',
          `certificate ${j} (serial ${toHex(cert.serial)}) is revoked`,
        );
        return;
      }
      decided = true;
    }
    if (!decided) unknown.push(j);
  }
  if (unknown.length === 0) f.pass('revocation', 'no certificate on the path is revoked');
  else if (options.requireRevocation === true)
    f.undecided('revocation', `no current CRL for certificate(s) ${unknown.join(', ')}`);
  else
    f.warn('revocation', `no current CRL for certificate(s) ${unknown.join(', ')}; not required`);
}

/** Parses certificates, recording a parse failure as a finding. */
export function parseAll(ders: readonly Uint8Array[], f: Findings): ParsedCert[] | undefined {
  const out: ParsedCert[] = [];
  for (const [j, d] of ders.entries()) {
    try {
      out.push(parseCert(d));
    } catch (error) {
      f.fail(
        'path.der',
        'crypto',
        `certificate ${j} is not a strict-DER certificate: ${error instanceof Error ? error.message : 'unknown'}`,
      );
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
  const { path, anchor } = await validatePath(certs.leaf, certs.pool, options, f);
  let ids = {};
  if (path !== undefined) {
    ids = checkRoles(path, f);
    await checkRevocation(path, options, f);
  }
  return f.report(anchor, {
    ...ids,
    path: (path ?? []).map((c) => ({
      sha256: c.sha256,
      notBefore: utc(c.notBefore),
      notAfter: utc(c.notAfter),
    })),
  });
}

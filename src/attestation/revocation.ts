// RFC 5280 6.3: certificate status from complete and delta CRLs, scopes and CRL signer paths.
import { der, derReader, id_ce_cRLDistributionPoints } from '../pki/index.js';
import { bytesEqual } from '../shared/index.js';
import {
  basicConstraintsOf,
  extension,
  keyUsageBits,
  subjectKeyId,
  type ParsedCert,
} from './certificate.js';
import {
  ALL_REASONS,
  parseDistributionPoints,
  REASON_REMOVE_FROM_CRL,
  type DistributionPoint,
  type DistributionPointName,
  type ParsedCrl,
} from './crl.js';
import { verifySignature } from './crypto.js';
import { anyNameInCommon, type GeneralName } from './general-names.js';
import { namesMatch } from './names.js';
import { buildPath } from './path-building.js';
import { processPath } from './path-validation.js';

/**
 * CRL signer paths nest: a separate CRL signer's certificate needs its own status, which may
 * need another signer. Two levels cover key rollover and delegated CRL signers; deeper is refused.
 */
const MAX_SIGNER_DEPTH = 2;

export interface RevocationContext {
  readonly crls: readonly ParsedCrl[];
  readonly at: Date;
  /** Certificates that may sign CRLs or be on a CRL signer's path (the pool and the anchors). */
  readonly candidates: readonly ParsedCert[];
  /** The anchor of the path being checked; CRL signer paths must end on it (6.3.3 (f)). */
  readonly anchor: ParsedCert;
  readonly strict: boolean;
  /** Certificates proven to be CRL signers, for the leftover report. */
  readonly usedSigners: Set<string>;
  /**
   * CRL signers whose own path is being validated further up: a signer's certificate may be
   * covered by the CRL it signs (an indirect CRL issuer listing itself), which is accepted
   * instead of recursing forever.
   */
  readonly inProgress: Set<string>;
  /** How often a signer still being validated was accepted (results then are not cached). */
  readonly provisional: { count: number };
  /** CRL signature and signer results, per CRL and issuer. */
  readonly signerCache: Map<ParsedCrl, Map<string, SignerResult>>;
}

export type CertStatus =
  | { readonly kind: 'good' }
  | { readonly kind: 'revoked'; readonly reason: number | undefined }
  | { readonly kind: 'undetermined'; readonly notes: readonly string[] }
  | { readonly kind: 'bad-signature' };

function isCa(cert: ParsedCert): boolean {
  return basicConstraintsOf(cert)?.ca === true;
}

function current(crl: ParsedCrl, at: Date): boolean {
  return crl.thisUpdate <= at && (crl.nextUpdate === undefined || crl.nextUpdate >= at);
}

/** Full names of a distribution point name; a relative name is appended to `base` (5.2.5, 4.2.1.13). */
function fullNames(name: DistributionPointName, base: Uint8Array | undefined): GeneralName[] {
  if (name.kind === 'full') return [...name.names];
  if (base === undefined) return [];
  // Name ::= SEQUENCE OF RDN: the base's RDNs, then the relative one.
  const rdns = derReader.childrenOf(base, derReader.readTlv(base, 0));
  const parts = rdns.map((t) => derReader.encodingOf(base, t));
  return [{ kind: 'directory', name: der.seq(...parts, name.rdn) }];
}

function directoryNames(names: readonly GeneralName[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const g of names) if (g.kind === 'directory') out.push(g.name);
  return out;
}

/** 6.3.3 (b)(1): the CRL is issued by the certificate's issuer, or is its indirect CRL issuer. */
function issuerInScope(crl: ParsedCrl, cert: ParsedCert, dp: DistributionPoint): boolean {
  if (dp.crlIssuer !== undefined)
    return (
      crl.idp?.indirectCRL === true &&
      directoryNames(dp.crlIssuer).some((n) => namesMatch(n, crl.issuer))
    );
  return namesMatch(crl.issuer, cert.issuer);
}

/** 6.3.3 (b)(2): the issuing distribution point covers this certificate; a reason when not. */
function scopeMismatch(
  crl: ParsedCrl,
  cert: ParsedCert,
  dp: DistributionPoint,
): string | undefined {
  const idp = crl.idp;
  if (idp === undefined) return undefined;
  if (idp.name !== undefined) {
    const idpNames = fullNames(idp.name, crl.issuer);
    let dpNames: GeneralName[] = [];
    if (dp.name !== undefined) {
      const base = dp.crlIssuer === undefined ? cert.issuer : directoryNames(dp.crlIssuer)[0];
      dpNames = fullNames(dp.name, base);
    } else if (dp.crlIssuer !== undefined) dpNames = [...dp.crlIssuer];
    if (!anyNameInCommon(idpNames, dpNames))
      return "its issuing distribution point is not the certificate's";
  }
  if (idp.onlyContainsUserCerts && isCa(cert)) return 'it covers only end-entity certificates';
  if (idp.onlyContainsCACerts && !isCa(cert)) return 'it covers only CA certificates';
  if (idp.onlyContainsAttributeCerts) return 'it covers only attribute certificates';
  return undefined;
}

/** The entry for `cert` in `crl`: same serial and, in an indirect CRL, the same issuer (5.3.3). */
function entryFor(crl: ParsedCrl, cert: ParsedCert): { reason: number | undefined } | undefined {
  for (const e of crl.entries) {
    if (!bytesEqual(e.serial, cert.serial)) continue;
    const issuers =
      e.certificateIssuer === undefined ? [crl.issuer] : directoryNames(e.certificateIssuer);
    if (issuers.some((n) => namesMatch(n, cert.issuer))) return { reason: e.reason };
  }
  return undefined;
}

export type SignerResult = 'ok' | 'bad-signature' | { readonly unusable: string };

/**
 * 6.3.3 (f), (g): a key that signed the CRL, from a certificate with cRLSign whose path ends on
 * the same anchor: the certificate's issuer first, then other certificates under the CRL
 * issuer's name (key rollover, separate CRL signing keys, indirect CRL issuers).
 */
async function crlSigner(
  crl: ParsedCrl,
  issuer: ParsedCert,
  ctx: RevocationContext,
  depth: number,
): Promise<SignerResult> {
  // Each CRL is checked once per issuer: a CRL serves every distribution point and delta.
  const key = `${issuer.sha256}/${String(depth)}`;
  let cached = ctx.signerCache.get(crl);
  if (cached === undefined) ctx.signerCache.set(crl, (cached = new Map<string, SignerResult>()));
  const known = cached.get(key);
  if (known !== undefined) return known;
  const before = ctx.provisional.count;
  const result = await findCrlSigner(crl, issuer, ctx, depth);
  // A result that leaned on a signer still being validated is not kept.
  if (ctx.provisional.count === before) cached.set(key, result);
  return result;
}

async function findCrlSigner(
  crl: ParsedCrl,
  issuer: ParsedCert,
  ctx: RevocationContext,
  depth: number,
): Promise<SignerResult> {
  const verifies = (c: ParsedCert) =>
    verifySignature(c.spki, crl.signatureAlgorithm, crl.tbs, crl.signature);
  if (!bytesEqual(crl.signatureAlgorithm, crl.innerSignatureAlgorithm))
    return { unusable: 'its inner and outer signature algorithms differ' };
  // RFC 5280 4.2.1.3: the CRL signer's key usage, when present, must include cRLSign.
  const mayCrlSign = (c: ParsedCert) => keyUsageBits(c)?.has(6) !== false;
  let refusal: string | undefined;
  const byIssuer = namesMatch(issuer.subject, crl.issuer);
  if (byIssuer && (await verifies(issuer))) {
    if (mayCrlSign(issuer)) return 'ok';
    refusal = 'its issuer lacks cRLSign';
  }
  if (depth >= MAX_SIGNER_DEPTH)
    return refusal === undefined ? 'bad-signature' : { unusable: refusal };
  const others = ctx.candidates.filter(
    (c) =>
      c.sha256 !== issuer.sha256 &&
      namesMatch(c.subject, crl.issuer) &&
      (crl.authorityKeyId === undefined ||
        subjectKeyId(c) === undefined ||
        bytesEqual(crl.authorityKeyId, subjectKeyId(c)!)),
  );
  // An indirect CRL whose issuer's certificate was not given cannot be checked: unusable, not
  // forged. A CRL under the certificate issuer's name that no key verifies is a bad signature.
  if (!byIssuer && others.length === 0)
    return { unusable: "no certificate of the CRL's issuer was given" };
  for (const c of others) {
    if (!(await verifies(c))) continue;
    if (!mayCrlSign(c)) {
      refusal ??= 'its signer lacks cRLSign';
      continue;
    }
    if (ctx.inProgress.has(c.sha256)) {
      ctx.provisional.count++;
      return 'ok';
    }
    ctx.inProgress.add(c.sha256);
    const why = await signerPathProblem(c, ctx, depth + 1);
    ctx.inProgress.delete(c.sha256);
    if (why === undefined) {
      ctx.usedSigners.add(c.sha256);
      return 'ok';
    }
    refusal ??= `its signer's path is not valid: ${why}`;
  }
  return refusal === undefined ? 'bad-signature' : { unusable: refusal };
}

/** Why a CRL signer's certificate is not acceptable (path, validity, status), or undefined. */
async function signerPathProblem(
  signer: ParsedCert,
  ctx: RevocationContext,
  depth: number,
): Promise<string | undefined> {
  const anchor = ctx.anchor;
  const built = await buildPath(signer, ctx.candidates, {
    isAnchor: (c) => c.sha256 === anchor.sha256,
    exactNames: ctx.strict,
  });
  if (!built.ok) return 'it does not chain to the anchor';
  const path = built.path;
  if (path.some((c) => ctx.at < c.notBefore || ctx.at > c.notAfter))
    return 'a certificate is not valid at the time';
  const processed = processPath(path, { strict: ctx.strict });
  const failed = processed.checks.find((k) => !k.ok);
  if (failed !== undefined) return failed.detail;
  for (let j = 0; j + 1 < path.length; j++) {
    const status = await certificateStatus(path[j]!, path[j + 1]!, ctx, depth);
    if (status.kind === 'revoked') return `certificate ${j} of its path is revoked`;
    if (status.kind !== 'good') return `the status of certificate ${j} of its path is undetermined`;
  }
  for (const c of path) ctx.usedSigners.add(c.sha256);
  return undefined;
}

/** The delta CRL to apply with `complete` (6.3.3 (c)), when one is given and usable. */
async function deltaFor(
  complete: ParsedCrl,
  issuer: ParsedCert,
  ctx: RevocationContext,
  depth: number,
  notes: string[],
): Promise<ParsedCrl | undefined> {
  for (const d of ctx.crls) {
    if (d.baseCrlNumber === undefined || !namesMatch(d.issuer, complete.issuer)) continue;
    // RFC 5280 5.2.4: the delta has the same scope as its complete CRL ...
    const sameScope =
      (d.idp === undefined && complete.idp === undefined) ||
      (d.idp !== undefined &&
        complete.idp !== undefined &&
        bytesEqual(d.idp.der, complete.idp.der));
    if (!sameScope) continue;
    if (d.unusable !== undefined) {
      notes.push(`a delta CRL is unusable: ${d.unusable}`);
      continue;
    }
    if (!current(d, ctx.at)) continue;
    // ... and applies to a complete CRL whose number is at least its BaseCRLNumber, being newer.
    if (
      complete.crlNumber === undefined ||
      d.crlNumber === undefined ||
      d.baseCrlNumber > complete.crlNumber ||
      d.crlNumber <= complete.crlNumber
    )
      continue;
    const signed = await crlSigner(d, issuer, ctx, depth);
    if (signed === 'ok') return d;
    notes.push(
      `a delta CRL is unusable: ${signed === 'bad-signature' ? 'bad signature' : signed.unusable}`,
    );
  }
  return undefined;
}

/** 6.3.3: the status of `cert`, issued by `issuer`, from the CRLs in `ctx`. */
export async function certificateStatus(
  cert: ParsedCert,
  issuer: ParsedCert,
  ctx: RevocationContext,
  depth = 0,
): Promise<CertStatus> {
  const notes: string[] = [];
  const dps: DistributionPoint[] = [];
  const ext = extension(cert, id_ce_cRLDistributionPoints);
  try {
    if (ext !== undefined) dps.push(...parseDistributionPoints(ext.value));
    // 6.3.3, last paragraph: then the CRLs of the certificate's issuer not named by a
    // distribution point, as if from a DP named by the issuer, for all reasons.
    dps.push({
      name: { kind: 'full', names: [{ kind: 'directory', name: cert.issuer }] },
      reasons: undefined,
      crlIssuer: undefined,
    });
  } catch {
    return { kind: 'undetermined', notes: ['its cRLDistributionPoints extension is malformed'] };
  }
  let reasonsMask = 0;
  for (const dp of dps) {
    for (const crl of ctx.crls) {
      if (reasonsMask === ALL_REASONS) break;
      // 6.3.3: the complete CRLs only; deltas are applied with their base below.
      if (crl.baseCrlNumber !== undefined) {
        if (issuerInScope(crl, cert, dp)) notes.push('a delta CRL alone is not a complete CRL');
        continue;
      }
      if (!issuerInScope(crl, cert, dp)) continue;
      if (crl.unusable !== undefined) {
        notes.push(`a CRL is unusable: ${crl.unusable}`);
        continue;
      }
      const signed = await crlSigner(crl, issuer, ctx, depth);
      if (signed === 'bad-signature') return { kind: 'bad-signature' };
      if (signed !== 'ok') {
        notes.push(`a CRL is unusable: ${signed.unusable}`);
        continue;
      }
      if (!current(crl, ctx.at)) {
        notes.push('a CRL is not current');
        continue;
      }
      const scope = scopeMismatch(crl, cert, dp);
      if (scope !== undefined) {
        notes.push(`a CRL does not cover it: ${scope}`);
        continue;
      }
      // (d), (e): the reasons this CRL adds.
      const interim =
        (crl.idp?.onlySomeReasons ?? ALL_REASONS) & (dp.reasons ?? ALL_REASONS) & ALL_REASONS;
      if ((interim & ~reasonsMask) === 0) continue;
      // (c), (h): a delta CRL decides first; removeFromCRL there lifts a hold in the base.
      const delta = await deltaFor(crl, issuer, ctx, depth, notes);
      const inDelta = delta === undefined ? undefined : entryFor(delta, cert);
      if (inDelta !== undefined && inDelta.reason !== REASON_REMOVE_FROM_CRL)
        return { kind: 'revoked', reason: inDelta.reason };
      if (inDelta === undefined) {
        // (i)
        const entry = entryFor(crl, cert);
        // (j): removeFromCRL belongs in delta CRLs; on a complete CRL it revokes nothing.
        if (entry !== undefined && entry.reason !== REASON_REMOVE_FROM_CRL)
          return { kind: 'revoked', reason: entry.reason };
      }
      // (k)
      reasonsMask |= interim;
    }
  }
  return reasonsMask === ALL_REASONS ? { kind: 'good' } : { kind: 'undetermined', notes };
}

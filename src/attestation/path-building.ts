// RFC 4158 (RFC 5280 6.1 input): depth-first path building from a leaf to an anchor.
import { bytesEqual } from '../shared/index.js';
import { authorityKeyId, subjectKeyId, type ParsedCert } from './certificate.js';
import { describeSignatureAlgorithm, verifySignature } from './crypto.js';
import { namesMatch } from './names.js';

/**
 * Certificates below the anchor a path may hold (leaf included): real PKIs are 2 to 4 deep, and
 * every extra level multiplies the search and the revocation work a browser has to do.
 */
export const MAX_PATH = 8;
/**
 * Signature verifications one build may spend. Several certificates under one name (key
 * rollover, cross-certificates) make the search branch; this bounds it for the browser. When it
 * runs out, the remaining candidates count as not verifying.
 */
const MAX_SIGNATURE_CHECKS = 64;

export interface BuildOptions {
  readonly isAnchor: (cert: ParsedCert) => boolean;
  /** Follow only issuers whose subject has the exact encoding of the issuer name. */
  readonly exactNames: boolean;
}

export type BuildResult =
  | { readonly ok: true; readonly path: ParsedCert[] }
  | {
      readonly ok: false;
      readonly reason: 'too-long' | 'no-issuer' | 'no-signature';
      /** Leaf-first index of the certificate whose issuer was not found. */
      readonly index: number;
      /** Why the signature algorithm is refused, when that ended the path. */
      readonly algorithm: string | undefined;
    };

/** Candidate issuers of `cert` among `candidates`: matching name and, when both exist, key ids. */
export function issuerCandidates(
  cert: ParsedCert,
  candidates: readonly ParsedCert[],
  exactNames: boolean,
): ParsedCert[] {
  const aki = authorityKeyId(cert);
  return candidates.filter((c) => {
    const named = exactNames
      ? bytesEqual(c.subject, cert.issuer)
      : namesMatch(c.subject, cert.issuer);
    if (!named) return false;
    const ski = subjectKeyId(c);
    return aki === undefined || ski === undefined || bytesEqual(aki, ski);
  });
}

/**
 * A path from `leaf` to an anchor through `pool`, trying every candidate issuer whose key
 * verifies (backtracking), or why none was found: the failure deepest along the first branch.
 */
export async function buildPath(
  leaf: ParsedCert,
  pool: readonly ParsedCert[],
  options: BuildOptions,
): Promise<BuildResult> {
  let budget = MAX_SIGNATURE_CHECKS;
  let firstFailure: BuildResult | undefined;
  const verified = new Map<string, boolean>();

  async function signs(issuer: ParsedCert, cert: ParsedCert): Promise<boolean> {
    const key = `${issuer.sha256}/${cert.sha256}`;
    const known = verified.get(key);
    if (known !== undefined) return known;
    if (budget-- <= 0) return false;
    const ok = await verifySignature(
      issuer.spki,
      cert.signatureAlgorithm,
      cert.tbs,
      cert.signature,
    );
    verified.set(key, ok);
    return ok;
  }

  async function extend(path: ParsedCert[]): Promise<ParsedCert[] | undefined> {
    const current = path[path.length - 1]!;
    if (options.isAnchor(current)) return path;
    if (path.length > MAX_PATH) {
      firstFailure ??= {
        ok: false,
        reason: 'too-long',
        index: path.length - 1,
        algorithm: undefined,
      };
      return undefined;
    }
    const candidates = issuerCandidates(current, pool, options.exactNames).filter(
      (c) => !path.includes(c) && !path.some((p) => p.sha256 === c.sha256),
    );
    let any = false;
    for (const c of candidates) {
      if (!(await signs(c, current))) continue;
      any = true;
      const found = await extend([...path, c]);
      if (found !== undefined) return found;
    }
    if (!any) {
      const scheme = describeSignatureAlgorithm(current.signatureAlgorithm);
      firstFailure ??= {
        ok: false,
        reason: candidates.length === 0 ? 'no-issuer' : 'no-signature',
        index: path.length - 1,
        algorithm:
          candidates.length > 0 && scheme.kind === 'unsupported' ? scheme.reason : undefined,
      };
    }
    return undefined;
  }

  const path = await extend([leaf]);
  if (path !== undefined) return { ok: true, path };
  return firstFailure ?? { ok: false, reason: 'no-issuer', index: 0, algorithm: undefined };
}

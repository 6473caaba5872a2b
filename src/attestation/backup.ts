// Inspecting a partition backup bundle offline (README "Backup and migration"): its structure
// (strict DER, RFC 5652 5 SignedData over RFC 5083 AuthEnvelopedData), the signature (RFC 5652
// 5.4, 5.6, 11.1, 11.2), RFC 5280 path validation of root -> device -> partition against the
// caller's anchors with the HSM roles, and the manifest read from the authenticated attributes,
// checked against the certificates. Nothing is decrypted: the content stays sealed.
import {
  bundleSignatureProblem,
  bundleSignerCertificate,
  parseBackupBundle,
  type BundleRecipient,
  type ParsedBundle,
} from '../pki/index.js';
import { bytesEqual, toHex } from '../shared/index.js';
import { checkRevocation, checkRoles, parseAll, validatePath, type ChainOptions } from './chain.js';
import { Findings, type Report } from './report.js';

export type BackupOptions = Omit<ChainOptions, 'at'> & {
  /** The time the chain is validated at; default: the manifest's creation time. */
  readonly at?: Date;
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The summary of a manifest the report carries (no key material is in a manifest). */
function summary(m: Record<string, unknown>): Record<string, unknown> {
  const keys = Array.isArray(m['keys']) ? (m['keys'] as unknown[]) : [];
  return {
    format: m['format'],
    serial: m['serial'],
    createdAt: m['createdAt'],
    source: m['source'],
    recipients: m['recipients'],
    partition: m['partition'],
    governance: m['governance'],
    keys: keys.filter(isObject).map((k) => ({
      id: k['id'],
      label: k['label'],
      role: k['role'],
      algorithm: k['algorithm'],
      public: k['public'],
      state: k['state'],
      attributes: k['attributes'],
    })),
  };
}

/** How a RecipientInfo names its key, and the manifest recipient that would name the same. */
function recipientName(r: BundleRecipient): { text: string; matches(m: unknown): boolean } {
  if (r.kind === 'kek') {
    let id: string | undefined;
    try {
      id = new TextDecoder('utf-8', { fatal: true }).decode(r.keyIdentifier);
    } catch {
      id = undefined;
    }
    return {
      text: `KEKRecipientInfo for backup domain ${id ?? toHex(r.keyIdentifier)}`,
      matches: (m) => isObject(m) && m['kind'] === 'backup-domain' && m['domain'] === id,
    };
  }
  if (r.kind === 'custodian-share') {
    return {
      text: `custodian share ${String(r.index)} of threshold ${String(r.threshold)}`,
      matches: (m) =>
        isObject(m) &&
        m['kind'] === 'custodian-share' &&
        m['threshold'] === r.threshold &&
        m['index'] === r.index,
    };
  }
  // The one algorithm each RecipientInfo choice serves (README "Backup and migration").
  const algorithm = r.kind === 'kem' ? 'ml-kem-768' : 'ecdh-p256';
  const ski = toHex(r.subjectKeyIdentifier);
  return {
    text: `${r.kind === 'kem' ? 'KEMRecipientInfo' : 'KeyAgreeRecipientInfo'} for transport key ${ski}`,
    matches: (m) =>
      isObject(m) &&
      m['kind'] === 'transport-key' &&
      m['algorithm'] === algorithm &&
      m['keyIdentifier'] === ski,
  };
}

/**
 * The manifest's recipients with a custodians entry counted as its custodians: one custodian
 * share RecipientInfo each, at its place in the list (index 1..n), of the entry's threshold.
 */
function expandCustodians(listed: readonly unknown[]): unknown[] {
  return listed.flatMap((m) =>
    isObject(m) && m['kind'] === 'custodians' && Array.isArray(m['custodians'])
      ? m['custodians'].map((_, i) => ({
          kind: 'custodian-share',
          threshold: m['threshold'],
          index: i + 1,
        }))
      : [m],
  );
}

/**
 * Why the bundle's RecipientInfos are not exactly the manifest's recipients, or undefined: the
 * same count, and each RecipientInfo matched to its own manifest entry (a KEKRecipientInfo's
 * keyIdentifier is the UTF-8 of the domain id; a KEMRecipientInfo's or KeyAgreeRecipientInfo's
 * rid is the subjectKeyIdentifier of the transport certificate the manifest names, of that
 * algorithm). RecipientInfos is a SET OF (RFC 5652 6.1): matched in any order.
 */
function recipientsProblem(
  recipients: readonly BundleRecipient[],
  listed: unknown,
): { problem?: string; names: string[] } {
  const names = recipients.map((r) => recipientName(r));
  const text = names.map((n) => n.text);
  if (!Array.isArray(listed)) return { problem: 'the manifest lists no recipients', names: text };
  listed = expandCustodians(listed as unknown[]);
  if (!Array.isArray(listed)) return { problem: 'the manifest lists no recipients', names: text };
  if (listed.length !== recipients.length) {
    return {
      problem: `the bundle has ${String(recipients.length)} RecipientInfos, the manifest lists ${String(listed.length)} recipients`,
      names: text,
    };
  }
  const free = [...(listed as unknown[])];
  for (const n of names) {
    const i = free.findIndex((m) => n.matches(m));
    if (i < 0) return { problem: `the manifest does not list the ${n.text}`, names: text };
    free.splice(i, 1);
  }
  return { names: text };
}

/** Verifies a backup bundle without opening it: a per-check report, never a throw. */
export async function inspectBackup(bytes: Uint8Array, options: BackupOptions): Promise<Report> {
  const f = new Findings();
  let p: ParsedBundle;
  try {
    p = parseBackupBundle(bytes);
  } catch (error) {
    f.fail(
      'backup.structure',
      'parse',
      `the bundle could not be parsed: ${error instanceof Error ? error.message : 'unknown'}`,
    );
    return f.report(undefined, {});
  }
  f.pass(
    'backup.structure',
    'SignedData v3 over AuthEnvelopedData (AES-256-GCM), one SignerInfo, strict DER',
  );
  let manifest: Record<string, unknown> = {};
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(p.manifest);
    const v: unknown = JSON.parse(text);
    if (isObject(v)) manifest = v;
  } catch {
    // reported below
  }
  f.check(
    'backup.manifest',
    'parse',
    manifest['format'] === 'attestamp-backup/v1',
    `manifest attestamp-backup/v1, serial ${String(manifest['serial'])}`,
    'the manifest is not an attestamp-backup/v1 JSON object',
  );
  // The manifest says who can open the bundle; the RecipientInfos decide it: they must agree.
  const matched = recipientsProblem(p.recipients, manifest['recipients']);
  f.check(
    'backup.recipients',
    'crypto',
    matched.problem === undefined,
    `the RecipientInfos are the manifest's recipients: ${matched.names.join(', ')}`,
    matched.problem ?? '',
  );
  const problem = await bundleSignatureProblem(p);
  f.check(
    'backup.signature',
    'crypto',
    problem === undefined,
    'contentType, messageDigest and the signature verify under the signer certificate',
    problem ?? '',
  );
  const certs = parseAll(p.certificates, f);
  const at =
    options.at ??
    (typeof manifest['createdAt'] === 'string' ? new Date(manifest['createdAt']) : new Date(NaN));
  let ids: Record<string, unknown> = {};
  let anchor: string | undefined;
  if (certs !== undefined && !Number.isNaN(at.getTime())) {
    // The leaf: the certificate the SignerInfo names (its key signed the bundle).
    const named = bundleSignerCertificate(p);
    const leaf = named === undefined ? undefined : certs.find((c) => bytesEqual(c.der, named.der));
    if (leaf === undefined) {
      f.fail('path.build', 'crypto', 'no certificate of the bundle matches the SignerInfo');
    } else {
      const pool = certs.filter((c) => c !== leaf);
      const result = await validatePath(leaf, pool, { ...options, at }, f, { leftover: 'fail' });
      anchor = result.anchor;
      if (result.path !== undefined) {
        ids = checkRoles(result.path, f);
        await checkRevocation(result.path, { ...options, at }, f, pool);
      }
    }
  } else if (certs !== undefined) {
    f.fail('path.time', 'parse', 'no time to validate the chain at');
  }
  const source = isObject(manifest['source']) ? manifest['source'] : {};
  const deviceId = ids['deviceId'];
  const partitionId = ids['partitionId'];
  f.check(
    'backup.source',
    'crypto',
    deviceId !== undefined && source['device'] === deviceId && source['partition'] === partitionId,
    'the manifest names the device and partition whose attestation key signed it',
    'the manifest names another source than the signer certificate',
  );
  return f.report(anchor, { ...ids, manifest: summary(manifest) });
}

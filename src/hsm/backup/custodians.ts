// Custodians of a backup bundle (README "Backup and migration"): the content-encryption key
// split t-of-n with Shamir's scheme (shamir-secret-sharing), each share encrypted to one
// custodian's EC P-256 certificate as an ephemeral-static ECDH KeyAgreeRecipientInfo (RFC 5753,
// the X9.63 SHA-256 KDF) wrapping the 33-octet share with AES-256 key wrap with padding
// (RFC 5649) inside the project's custodian-share OtherRecipientInfo (ARC.8.3). A custodian
// opens its share outside any device with its own private key; a restore combines t of them.
import { createHash, createPrivateKey, createPublicKey, diffieHellman } from 'node:crypto';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { combine, split } from 'shamir-secret-sharing';
import {
  bundleDigest,
  bundleSignatureProblem,
  CUSTODIAN_RECIPIENT_PROFILE,
  CUSTODIAN_SHARE_LENGTH,
  encodeEccCmsSharedInfo,
  KEK_LENGTH,
  keyIdentifier,
  MAX_CUSTODIANS,
  P256_POINT_LENGTH,
  parseBackupBundle,
  parseCustodianShare,
  verifyCustodianCertificate,
  type CustodianShare,
  type CustodianShareRecipient,
  type ParsedBundle,
} from '../../pki/index.js';
import { bytesEqual, type JsonObject } from '../../shared/index.js';
import { HsmError } from '../errors.js';
import { aesKeyUnwrap, aesKeyWrap } from '../wrap.js';
import { p256Point, x963Sha256 } from './transport.js';

/** A backup for custodians: `threshold` of the `certificates`' holders can open it together. */
export interface CustodianTarget {
  readonly threshold: number;
  /** One X.509 certificate (DER) per custodian, EC P-256 with keyUsage keyAgreement. */
  readonly certificates: readonly Uint8Array[];
}

/** One custodian as the manifest names it. */
export interface CustodianEntry extends JsonObject {
  /** SHA-256 of the certificate (hex). */
  readonly certificate: string;
  readonly subject: string;
}

export interface CheckedCustodians {
  readonly threshold: number;
  readonly custodians: readonly CheckedCustodian[];
}

export interface CheckedCustodian {
  /** SHA-256 of the certificate (hex). */
  readonly certificate: string;
  readonly subject: string;
  readonly spki: Uint8Array;
  readonly keyIdentifier: Uint8Array;
}

const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

const invalid = (reason: string, cause?: unknown): HsmError =>
  new HsmError('backup-invalid', `the backup bundle does not verify: ${reason}`, {
    ...(cause === undefined ? {} : { cause }),
  });

/**
 * The custodians of a backup, checked at `at`: 2 <= threshold <= n <= 16, each certificate
 * valid, EC P-256, keyAgreement, and no custodian (certificate or key) named twice.
 * HsmError invalid-argument naming the field and the certificate's place.
 */
export function checkCustodians(target: CustodianTarget, at: Date): CheckedCustodians {
  const n = Array.isArray(target.certificates) ? target.certificates.length : 0;
  const t = target.threshold;
  if (!Number.isSafeInteger(t) || t < 2 || n > MAX_CUSTODIANS || t > n) {
    throw new HsmError(
      'invalid-argument',
      `custodians: 2 <= threshold <= custodians <= ${MAX_CUSTODIANS}`,
      { details: { field: 'custodians', threshold: String(t), custodians: n } },
    );
  }
  const out: CheckedCustodian[] = [];
  target.certificates.forEach((der, i) => {
    let facts;
    try {
      facts = verifyCustodianCertificate(der, at);
    } catch (cause) {
      throw new HsmError(
        'invalid-argument',
        `custodian certificate ${i + 1} is refused: ${cause instanceof Error ? cause.message : 'invalid'}`,
        { cause, details: { field: 'custodians', index: i + 1 } },
      );
    }
    const digest = sha256Hex(der);
    if (out.some((c) => c.certificate === digest || bytesEqual(c.spki, facts.spki))) {
      throw new HsmError('invalid-argument', `custodian ${i + 1} is named twice`, {
        details: { field: 'custodians', index: i + 1 },
      });
    }
    out.push({
      certificate: digest,
      subject: facts.subject,
      spki: facts.spki,
      keyIdentifier: facts.keyIdentifier,
    });
  });
  return { threshold: t, custodians: out };
}

/** The custodian-share recipients of `cek`: one Shamir share each, in the custodians' order. */
export async function custodianRecipients(
  checked: CheckedCustodians,
  cek: Uint8Array,
): Promise<CustodianShareRecipient[]> {
  // The library asks for a plain Uint8Array (its check is on the constructor: no Buffer).
  const secret = new Uint8Array(cek);
  let shares: Uint8Array[];
  try {
    shares = await split(secret, checked.custodians.length, checked.threshold);
  } finally {
    secret.fill(0);
  }
  const p = CUSTODIAN_RECIPIENT_PROFILE;
  try {
    return checked.custodians.map((c, i) => {
      // RFC 5753 3.1.1: a fresh ephemeral key on the recipient's curve, ukm absent.
      const eph = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const z = diffieHellman({
        privateKey: eph.privateKey,
        publicKey: createPublicKey({ key: Buffer.from(c.spki), format: 'der', type: 'spki' }),
      });
      const kek = x963Sha256(z, encodeEccCmsSharedInfo(p.wrap, KEK_LENGTH));
      try {
        return {
          kind: 'custodian-share',
          threshold: checked.threshold,
          index: i + 1,
          kari: {
            kind: 'kari',
            originatorKey: p256Point(eph.publicKey.export({ format: 'der', type: 'spki' })),
            keyEncryptionAlgorithm: p.keyEncryptionAlgorithm,
            wrap: p.wrap,
            subjectKeyIdentifier: c.keyIdentifier,
            encryptedKey: aesKeyWrap(kek, shares[i]!, 'kwp'),
          },
        };
      } finally {
        kek.fill(0);
        z.fill(0);
      }
    });
  } finally {
    for (const s of shares) s.fill(0);
  }
}

const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

/** The custodians a manifest names, or undefined when the bundle is not for custodians. */
export function manifestCustodians(
  recipients: unknown,
): { threshold: number; custodians: CustodianEntry[] } | undefined {
  if (!Array.isArray(recipients)) return undefined;
  const entry: unknown = recipients.find(
    (r: unknown) =>
      typeof r === 'object' &&
      r !== null &&
      (r as Record<string, unknown>)['kind'] === 'custodians',
  );
  if (entry === undefined) return undefined;
  const e = entry as Record<string, unknown>;
  const list = e['custodians'];
  const threshold = e['threshold'];
  if (
    recipients.length !== 1 ||
    typeof threshold !== 'number' ||
    !Array.isArray(list) ||
    !list.every(
      (c: unknown) =>
        typeof c === 'object' &&
        c !== null &&
        typeof (c as Record<string, unknown>)['certificate'] === 'string' &&
        typeof (c as Record<string, unknown>)['subject'] === 'string',
    )
  ) {
    throw invalid("the manifest's custodians are malformed");
  }
  return { threshold, custodians: list as CustodianEntry[] };
}

/**
 * The custodian-share recipients of a parsed bundle, checked against its manifest: one per
 * custodian, in order, each with the manifest's threshold (else backup-invalid).
 */
export function bundleShares(
  parsed: ParsedBundle,
  manifest: { readonly recipients: unknown },
): { threshold: number; recipients: CustodianShareRecipient[] } {
  const m = manifestCustodians(manifest.recipients);
  if (m === undefined) throw invalid('the bundle is not for custodians');
  const shares = parsed.recipients.filter(
    (r): r is CustodianShareRecipient => r.kind === 'custodian-share',
  );
  if (
    shares.length !== parsed.recipients.length ||
    shares.length !== m.custodians.length ||
    shares.some((s, i) => s.index !== i + 1 || s.threshold !== m.threshold)
  ) {
    throw invalid('the custodian shares are not those the manifest names');
  }
  return { threshold: m.threshold, recipients: shares };
}

/** The custodian's key: DER PKCS#8, or PEM (PKCS#8 or SEC 1), unencrypted. */
function custodianKey(bytes: Uint8Array): KeyObject {
  let key: KeyObject;
  try {
    key =
      bytes[0] === 0x30
        ? createPrivateKey({ key: Buffer.from(bytes), format: 'der', type: 'pkcs8' })
        : createPrivateKey({ key: Buffer.from(bytes).toString('utf8'), format: 'pem' });
  } catch (cause) {
    throw new HsmError('invalid-argument', 'the custodian key is not an unencrypted private key', {
      cause,
      details: { field: 'key' },
    });
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new HsmError('invalid-argument', 'the custodian key is not an EC P-256 key', {
      details: { field: 'key' },
    });
  }
  return key;
}

/**
 * A custodian opens its share of a bundle with its own private key (DER PKCS#8 or PEM), outside any
 * device: the bundle's structure and signature are checked (not its chain: the restoring device
 * checks that), the share found by the key's identifier, unwrapped and returned with the
 * bundle's digest, the threshold and its place. HsmError backup-invalid for a bundle or share
 * that does not verify, invalid-argument for a key the bundle holds no share for.
 */
export async function openCustodianShare(
  bundle: Uint8Array,
  custodianPrivateKey: Uint8Array,
): Promise<CustodianShare> {
  let parsed: ParsedBundle;
  try {
    parsed = parseBackupBundle(bundle);
  } catch (cause) {
    throw invalid('not a well-formed bundle', cause);
  }
  const problem = await bundleSignatureProblem(parsed);
  if (problem !== undefined) throw invalid(problem);
  let manifest: { recipients: unknown };
  try {
    manifest = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(parsed.manifest)) as {
      recipients: unknown;
    };
  } catch (cause) {
    throw invalid('the manifest is not JSON', cause);
  }
  const { threshold, recipients } = bundleShares(parsed, manifest);
  const key = custodianKey(custodianPrivateKey);
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  const kid = keyIdentifier(spki);
  const mine = recipients.find((r) => bytesEqual(r.kari.subjectKeyIdentifier, kid));
  if (mine === undefined) {
    throw new HsmError('invalid-argument', 'the bundle holds no share for this custodian key', {
      details: { field: 'key' },
    });
  }
  const r = mine.kari;
  const p = CUSTODIAN_RECIPIENT_PROFILE;
  if (r.keyEncryptionAlgorithm !== p.keyEncryptionAlgorithm || r.wrap !== p.wrap) {
    throw invalid(
      'the share is not dhSinglePass-stdDH-sha256kdf with AES-256 key wrap with padding',
    );
  }
  if (r.originatorKey.length !== P256_POINT_LENGTH || r.originatorKey[0] !== 0x04) {
    throw invalid('the originator key is not a P-256 point');
  }
  let originator: KeyObject;
  try {
    originator = createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: b64u(r.originatorKey.subarray(1, 33)),
        y: b64u(r.originatorKey.subarray(33)),
      },
      format: 'jwk',
    });
  } catch (cause) {
    throw invalid('the originator key is not a point of P-256', cause);
  }
  const z = diffieHellman({ privateKey: key, publicKey: originator });
  const kek = x963Sha256(z, encodeEccCmsSharedInfo(r.wrap, KEK_LENGTH, r.ukm));
  z.fill(0);
  let share: Uint8Array;
  try {
    share = aesKeyUnwrap(kek, r.encryptedKey, 'kwp');
  } catch (cause) {
    throw invalid('the share does not unwrap', cause);
  } finally {
    kek.fill(0);
  }
  if (share.length !== CUSTODIAN_SHARE_LENGTH) {
    share.fill(0);
    throw invalid('the share has the wrong length');
  }
  return {
    bundle: Buffer.from(bundleDigest(bundle), 'hex'),
    threshold,
    index: mine.index,
    share,
  };
}

/**
 * The content-encryption key from custodians' share files (CustodianShare DER): each of this
 * bundle, each custodian once, at least the threshold of them. A share that is not of the
 * polynomial gives another key, which the content's GCM tag then refuses (backup-invalid).
 */
export async function combineCustodianShares(
  bundle: Uint8Array,
  parsed: ParsedBundle,
  manifest: { readonly recipients: unknown },
  files: readonly Uint8Array[],
): Promise<Uint8Array> {
  const { threshold, recipients } = bundleShares(parsed, manifest);
  const digest = Buffer.from(bundleDigest(bundle), 'hex');
  const shares: CustodianShare[] = [];
  try {
    for (const f of files) {
      let s: CustodianShare;
      try {
        s = parseCustodianShare(f);
      } catch (cause) {
        throw invalid('a custodian share is malformed', cause);
      }
      shares.push(s);
      if (!bytesEqual(s.bundle, digest)) throw invalid('a custodian share is of another bundle');
      if (s.threshold !== threshold || s.index > recipients.length) {
        throw invalid('a custodian share does not match the bundle');
      }
      if (shares.filter((o) => o.index === s.index).length > 1) {
        throw invalid(`custodian ${s.index}'s share is given twice`);
      }
    }
    if (shares.length < threshold) {
      throw new HsmError(
        'backup-invalid',
        `the bundle needs ${threshold} custodian shares, ${shares.length} given`,
        { details: { threshold, shares: shares.length } },
      );
    }
    return await combine(shares.map((s) => s.share));
  } catch (cause) {
    if (cause instanceof HsmError) throw cause;
    throw invalid('the custodian shares do not combine', cause);
  } finally {
    for (const s of shares) s.share.fill(0);
  }
}

// Device transport keys (README "Backup and migration"): a key pair generated inside the device
// (ML-KEM-768 by default, ECDH P-256 as the classical option), its private part sealed under the
// device's key-encryption key in an authenticated governance row, certified by the device key
// with evidence that it was generated inside and serves only to import. A source device encrypts
// a bundle's content-encryption key to the certificate (RFC 9629 KEMRecipientInfo, RFC 5753
// KeyAgreeRecipientInfo); the target opens it with the key the recipient's rid names. No other
// operation reaches the key: it is no key row, and only the restore path below opens it.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  randomUUID,
} from 'node:crypto';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import {
  buildCertificate,
  capabilityOid,
  der,
  encodeCmsOriForKemOtherInfo,
  encodeEccCmsSharedInfo,
  encodeTbsEvidence,
  id_alg_ml_kem_768,
  id_element,
  KEK_LENGTH,
  KEY_CLAIMS,
  ORIGINS,
  P256_POINT_LENGTH,
  PLATFORM_CLAIMS,
  randomSerial,
  TRANSACTION_CLAIMS,
  TRANSPORT_ALGORITHMS,
  TRANSPORT_RECIPIENT_PROFILE,
  transportCertificateTemplate as transportTemplate,
  verifyTransportCertificate,
  type CmsRecipient,
  type KemRecipient,
  type KeyAgreeRecipient,
  type TransportAlgorithm,
  type TransportCertificateFacts,
} from '../../pki/index.js';
import { bytesEqual, type JsonObject } from '../../shared/index.js';
import type { Core, Operation } from '../core.js';
import { deviceSigner } from '../device.js';
import { HsmError } from '../errors.js';
import type { RequestAuthority } from '../governance/authorize.js';
import type { PresentedAuthority } from '../governance/presented.js';
import { PLATFORM } from '../issuing/evidence.js';
import type { StoreReader } from '../store/device-store.js';
import { certificateFacts, toDeviceInfo } from '../views.js';
import { aesKeyUnwrap, aesKeyWrap, open, seal } from '../wrap.js';

/** Years a transport certificate is valid (capped by the device certificate). */
export const TRANSPORT_CERTIFICATE_YEARS = 2;

export interface TransportKeyBody extends JsonObject {
  readonly id: string;
  readonly algorithm: TransportAlgorithm;
  readonly createdAt: string;
  /** The ML-KEM seed d || z (FIPS 203) or the P-256 PKCS#8, sealed under the device's KEK. */
  readonly sealed: string;
  /** The SPKI (hex). */
  readonly spki: string;
  /** The certificate issued by the device key (hex DER). */
  readonly certificate: string;
  /** The certificate's subjectKeyIdentifier (hex): the rid of a bundle addressed to it. */
  readonly subjectKeyIdentifier: string;
}

/** What callers see of a transport key: never its private part. */
export interface TransportKeyInfo {
  readonly id: string;
  readonly algorithm: TransportAlgorithm;
  readonly createdAt: Date;
  readonly deviceId: string;
  readonly subjectKeyIdentifier: string;
  /** SHA-256 of the certificate (hex): what a backup's statement and manifest name. */
  readonly certificateDigest: string;
  readonly certificate: Uint8Array;
  readonly notAfter: Date;
}

const aad = (deviceId: string, id: string): string =>
  `attestamp/transport-key/v1|${deviceId}|${id}`;

export const certificateDigest = (cert: Uint8Array): string =>
  createHash('sha256').update(cert).digest('hex');

function info(deviceId: string, b: TransportKeyBody): TransportKeyInfo {
  const certificate = new Uint8Array(Buffer.from(b.certificate, 'hex'));
  return {
    id: b.id,
    algorithm: b.algorithm,
    createdAt: new Date(b.createdAt),
    deviceId,
    subjectKeyIdentifier: b.subjectKeyIdentifier,
    certificateDigest: certificateDigest(certificate),
    certificate,
    notAfter: certificateFacts(certificate).notAfter,
  };
}

/** Every transport key of the device (authenticated rows). */
export async function listTransportKeys(core: Core, r: StoreReader): Promise<TransportKeyInfo[]> {
  const all = await core.governance.objects.list<TransportKeyBody>(r, 'transport-key');
  return all.map((o) => info(core.deviceId, o.body));
}

/** One transport key of the device by id, or by the SHA-256 of its certificate. */
export async function requireTransportKey(
  core: Core,
  r: StoreReader,
  idOrDigest: string,
): Promise<TransportKeyInfo> {
  for (const k of await listTransportKeys(core, r)) {
    if (k.id === idOrDigest || k.certificateDigest === idOrDigest) return k;
  }
  throw new HsmError('transport-key-unknown', 'this device holds no transport key of that id', {
    details: { transportKey: idOrDigest.slice(0, 64) },
  });
}

/** ML-KEM-768 SPKI (RFC 9935 4): the encapsulation key in the BIT STRING, parameters absent. */
const mlKemSpki = (publicKey: Uint8Array): Uint8Array =>
  der.seq(der.algorithmIdentifier(id_alg_ml_kem_768), der.tlv(0x03, Uint8Array.of(0), publicKey));

function evidence(
  deviceId: string,
  id: string,
  algorithm: TransportAlgorithm,
  spki: Uint8Array,
  deviceSpki: Uint8Array,
  at: Date,
): Uint8Array {
  const bool = (value: boolean) => ({ type: 'bool', value }) as const;
  return encodeTbsEvidence([
    {
      type: id_element.transaction,
      claims: [
        { oid: TRANSACTION_CLAIMS.timestamp.oid, value: { type: 'time', value: at } },
        { oid: TRANSACTION_CLAIMS.akSpki.oid, value: { type: 'spki', value: deviceSpki } },
      ],
    },
    {
      type: id_element.platform,
      claims: [
        { oid: PLATFORM_CLAIMS.vendor.oid, value: { type: 'utf8', value: PLATFORM.vendor } },
        { oid: PLATFORM_CLAIMS.hwmodel.oid, value: { type: 'utf8', value: PLATFORM.hwmodel } },
        { oid: PLATFORM_CLAIMS.swname.oid, value: { type: 'utf8', value: PLATFORM.swname } },
        { oid: PLATFORM_CLAIMS.swversion.oid, value: { type: 'utf8', value: PLATFORM.swversion } },
        { oid: PLATFORM_CLAIMS.deviceId.oid, value: { type: 'utf8', value: deviceId } },
        // A software HSM must say so (standards/attestation.md).
        { oid: PLATFORM_CLAIMS.protectionClass.oid, value: { type: 'enum', value: 0n } },
      ],
    },
    {
      type: id_element.key,
      claims: [
        { oid: KEY_CLAIMS.identifier.oid, value: { type: 'utf8', value: id } },
        { oid: KEY_CLAIMS.spki.oid, value: { type: 'spki', value: spki } },
        { oid: KEY_CLAIMS.keyAlgorithm.oid, value: { type: 'utf8', value: algorithm } },
        { oid: KEY_CLAIMS.extractable.oid, value: bool(false) },
        { oid: KEY_CLAIMS.sensitive.oid, value: bool(true) },
        { oid: KEY_CLAIMS.neverExtractable.oid, value: bool(true) },
        { oid: KEY_CLAIMS.local.oid, value: bool(true) },
        { oid: KEY_CLAIMS.purpose.oid, value: { type: 'oids', value: [capabilityOid('unwrap')] } },
        { oid: KEY_CLAIMS.alwaysSensitive.oid, value: bool(true) },
        { oid: KEY_CLAIMS.modifiable.oid, value: bool(false) },
        { oid: KEY_CLAIMS.copyable.oid, value: bool(false) },
        { oid: KEY_CLAIMS.creationTime.oid, value: { type: 'time', value: at } },
        {
          oid: KEY_CLAIMS.origin.oid,
          value: { type: 'enum', value: BigInt(ORIGINS.indexOf('generated')) },
        },
        { oid: KEY_CLAIMS.importOnly.oid, value: bool(true) },
      ],
    },
  ]);
}

/**
 * Generates a transport key inside the device and certifies it with the device key, under the
 * device's domain.change quorum rule (like a backup domain: it decides who can open bundles).
 */
export function createTransportKey(
  core: Core,
  algorithm: TransportAlgorithm = 'ml-kem-768',
  authority?: RequestAuthority | PresentedAuthority,
): Promise<TransportKeyInfo> {
  const op: Operation = { action: 'transport-key.create', details: { algorithm } };
  return core.guard(op, async () => {
    // The CLI and the API pass what they were given: checked here, at the boundary of the HSM.
    if (!(TRANSPORT_ALGORITHMS as readonly string[]).includes(algorithm)) {
      throw new HsmError('invalid-argument', 'a transport key is ml-kem-768 or ecdh-p256', {
        details: { field: 'algorithm', algorithm: algorithm.slice(0, 32) },
      });
    }
    await core.governance.requireOpenRequest(authority);
    const call = { action: 'transport-key.create', params: { algorithm } };
    const grant = await core.governance.authorizeOperator(authority, op, call);
    const id = randomUUID();
    let secret: Uint8Array;
    let spki: Uint8Array;
    if (algorithm === 'ml-kem-768') {
      secret = randomBytes(64);
      spki = mlKemSpki(ml_kem768.keygen(secret).publicKey);
    } else {
      const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      secret = pair.privateKey.export({ format: 'der', type: 'pkcs8' });
      spki = pair.publicKey.export({ format: 'der', type: 'spki' });
    }
    try {
      const now = core.clock.now();
      const deviceRow = await core.device(core.store);
      const device = toDeviceInfo(deviceRow);
      const deviceCert = certificateFacts(device.certificate);
      const signer = await deviceSigner(core, core.store);
      const years = new Date(now);
      years.setUTCFullYear(years.getUTCFullYear() + TRANSPORT_CERTIFICATE_YEARS);
      const notAfter = years < deviceCert.notAfter ? years : deviceCert.notAfter;
      const certificate = await buildCertificate(
        transportTemplate({
          serialNumber: randomSerial((n) => randomBytes(n)),
          subject: {
            country: device.country,
            organization: device.organization,
            organizationalUnit: `device ${core.deviceId}`,
            commonName: 'transport key',
            serialNumber: id,
          },
          issuer: { name: deviceCert.subject, spki: signer.spki },
          spki,
          algorithm,
          notBefore: now,
          notAfter,
          evidence: evidence(core.deviceId, id, algorithm, spki, signer.spki, now),
        }),
        signer,
      );
      const facts = await verifyTransportCertificate(
        [certificate, device.certificate],
        deviceRow.root_certificate,
        now,
      );
      const body: TransportKeyBody = {
        id,
        algorithm,
        createdAt: now.toISOString(),
        sealed: Buffer.from(seal(core.keys.kek, secret, aad(core.deviceId, id))).toString('hex'),
        spki: Buffer.from(spki).toString('hex'),
        certificate: Buffer.from(certificate).toString('hex'),
        subjectKeyIdentifier: Buffer.from(facts.subjectKeyIdentifier).toString('hex'),
      };
      return await core.store.tx(async (tx) => {
        await grant.check(tx, now);
        await core.governance.objects.put(tx, now, 'transport-key', id, 'device', body, {
          action: 'transport-key.create',
          actor: op.actor,
          details: {
            transportKey: id,
            algorithm,
            certificate: certificateDigest(certificate),
          },
        });
        await grant.done(tx, now, {
          transportKey: id,
          certificate: certificateDigest(certificate),
        });
        return info(core.deviceId, body);
      });
    } finally {
      secret.fill(0);
    }
  });
}

/**
 * The transport certificate chain (transport, device[, root]) checked against this device's
 * pinned root at its clock: the facts a bundle for it needs. HsmError
 * transport-certificate-invalid naming the failed check.
 */
export async function checkTransportCertificate(
  core: Core,
  chain: readonly Uint8Array[],
): Promise<TransportCertificateFacts & { readonly digest: string }> {
  const root = (await core.device(core.store)).root_certificate;
  try {
    const facts = await verifyTransportCertificate(chain, root, core.clock.now());
    return { ...facts, digest: certificateDigest(chain[0]!) };
  } catch (cause) {
    throw new HsmError(
      'transport-certificate-invalid',
      `the transport certificate is refused: ${cause instanceof Error ? cause.message : 'invalid'}`,
      { cause },
    );
  }
}

/** The uncompressed point of a P-256 SPKI (RFC 5480 2.2: the BIT STRING's content). */
export function p256Point(spki: Uint8Array): Uint8Array {
  const point = spki.subarray(spki.length - P256_POINT_LENGTH);
  if (point[0] !== 0x04) throw new HsmError('invalid-argument', 'not an uncompressed P-256 point');
  return point;
}

/** ANSI X9.63 KDF with SHA-256 (RFC 5753 7.2, SEC 1 3.6.1), for KEK_LENGTH = one block. */
export function x963Sha256(z: Uint8Array, sharedInfo: Uint8Array): Buffer {
  return createHash('sha256')
    .update(z)
    .update(Uint8Array.of(0, 0, 0, 1))
    .update(sharedInfo)
    .digest();
}

/** RFC 9629 5: KEK = HKDF-SHA256(IKM = shared secret, salt empty, info = CMSORIforKEMOtherInfo). */
function kemKek(
  sharedSecret: Uint8Array,
  r: Pick<KemRecipient, 'wrap' | 'kekLength' | 'ukm'>,
): Buffer {
  const info = encodeCmsOriForKemOtherInfo(r.wrap, r.kekLength, r.ukm);
  return Buffer.from(hkdfSync('sha256', sharedSecret, new Uint8Array(0), info, r.kekLength));
}

/** The RecipientInfo that gives `cek` to the certified transport key. */
export function transportRecipient(
  facts: TransportCertificateFacts,
  cek: Uint8Array,
): KemRecipient | KeyAgreeRecipient {
  if (facts.algorithm === 'ml-kem-768') {
    const publicKey = facts.spki.subarray(facts.spki.length - 1184);
    const { cipherText, sharedSecret } = ml_kem768.encapsulate(publicKey);
    const p = TRANSPORT_RECIPIENT_PROFILE.kem;
    const kek = kemKek(sharedSecret, { wrap: p.wrap, kekLength: KEK_LENGTH });
    try {
      return {
        kind: 'kem',
        subjectKeyIdentifier: facts.subjectKeyIdentifier,
        kem: p.kem,
        kemct: cipherText,
        kdf: p.kdf,
        kekLength: KEK_LENGTH,
        wrap: p.wrap,
        encryptedKey: aesKeyWrap(kek, cek, 'kw'),
      };
    } finally {
      kek.fill(0);
      sharedSecret.fill(0);
    }
  }
  // RFC 5753 3.1.1: a fresh ephemeral key on the recipient's curve, ukm absent.
  const eph = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const z = diffieHellman({
    privateKey: eph.privateKey,
    publicKey: createPublicKey({ key: Buffer.from(facts.spki), format: 'der', type: 'spki' }),
  });
  const p = TRANSPORT_RECIPIENT_PROFILE.kari;
  const kek = x963Sha256(z, encodeEccCmsSharedInfo(p.wrap, KEK_LENGTH));
  try {
    return {
      kind: 'kari',
      originatorKey: p256Point(eph.publicKey.export({ format: 'der', type: 'spki' })),
      keyEncryptionAlgorithm: p.keyEncryptionAlgorithm,
      wrap: p.wrap,
      subjectKeyIdentifier: facts.subjectKeyIdentifier,
      encryptedKey: aesKeyWrap(kek, cek, 'kw'),
    };
  } finally {
    kek.fill(0);
    z.fill(0);
  }
}

const invalid = (reason: string, cause?: unknown): HsmError =>
  new HsmError('backup-invalid', `the backup bundle does not verify: ${reason}`, {
    ...(cause === undefined ? {} : { cause }),
  });

/**
 * The content-encryption key of a bundle recipient addressed to one of this device's transport
 * keys (by its rid), or undefined when none is. A recipient outside the one profile, a
 * ciphertext or wrapped key that does not open, is backup-invalid.
 */
export async function openTransportRecipient(
  core: Core,
  recipients: readonly CmsRecipient[],
): Promise<{ cek: Uint8Array; transportKey: string } | undefined> {
  const held = await core.governance.objects.list<TransportKeyBody>(core.store, 'transport-key');
  for (const r of recipients) {
    if (r.kind === 'kek' || r.kind === 'custodian-share') continue;
    const ski = Buffer.from(r.subjectKeyIdentifier).toString('hex');
    const key = held.find((o) => o.body.subjectKeyIdentifier === ski);
    if (key === undefined) continue;
    const body = key.body;
    const expected = body.algorithm === 'ml-kem-768' ? 'kem' : 'kari';
    if (r.kind !== expected) throw invalid("the recipient is not of its transport key's algorithm");
    const secret = open(
      core.keys.kek,
      Buffer.from(body.sealed, 'hex'),
      aad(core.deviceId, body.id),
    );
    let kek: Buffer | undefined;
    try {
      if (r.kind === 'kem') {
        const p = TRANSPORT_RECIPIENT_PROFILE.kem;
        if (r.kem !== p.kem || r.kdf !== p.kdf || r.wrap !== p.wrap || r.kekLength !== KEK_LENGTH) {
          throw invalid('the KEMRecipientInfo is not ML-KEM-768, HKDF-SHA256 and AES-256 key wrap');
        }
        const { secretKey, publicKey } = ml_kem768.keygen(secret);
        try {
          if (!bytesEqual(mlKemSpki(publicKey), Buffer.from(body.spki, 'hex'))) {
            throw new HsmError('integrity-failed', 'the transport key does not match its SPKI', {
              details: { table: 'governance', object: `transport-key:${body.id}` },
            });
          }
          // FIPS 203 7.3: a ciphertext of the wrong length is refused (never decapsulated).
          if (r.kemct.length !== 1088) throw invalid('the KEM ciphertext has the wrong length');
          const ss = ml_kem768.decapsulate(r.kemct, secretKey);
          kek = kemKek(ss, r);
          ss.fill(0);
        } finally {
          secretKey.fill(0);
        }
      } else {
        const p = TRANSPORT_RECIPIENT_PROFILE.kari;
        if (r.keyEncryptionAlgorithm !== p.keyEncryptionAlgorithm || r.wrap !== p.wrap) {
          throw invalid(
            'the KeyAgreeRecipientInfo is not dhSinglePass-stdDH-sha256kdf with AES-256 key wrap',
          );
        }
        if (r.originatorKey.length !== P256_POINT_LENGTH || r.originatorKey[0] !== 0x04)
          throw invalid('the originator key is not a P-256 point');
        let originator;
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
        const z = diffieHellman({
          privateKey: createPrivateKey({ key: Buffer.from(secret), format: 'der', type: 'pkcs8' }),
          publicKey: originator,
        });
        kek = x963Sha256(z, encodeEccCmsSharedInfo(r.wrap, KEK_LENGTH, r.ukm));
        z.fill(0);
      }
      try {
        return { cek: aesKeyUnwrap(kek, r.encryptedKey, 'kw'), transportKey: body.id };
      } catch (cause) {
        throw invalid('the content-encryption key does not unwrap', cause);
      }
    } finally {
      secret.fill(0);
      kek?.fill(0);
    }
  }
  return undefined;
}

const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

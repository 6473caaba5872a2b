// The factory: the root key and self-signed root certificate that certify devices. It lives in
// its own folder, apart from any device store; its private key never enters a device store. The
// key file is PKCS#8 PEM, passphrase-encrypted by OpenSSL for the keys it holds, and by
// encrypted-pkcs8.ts (PBES2, scrypt, AES-256-CBC) for the post-quantum ones.
import { createPrivateKey, KeyObject, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildCertificate,
  buildCrl,
  decodePem,
  decodePemAll,
  deviceTemplate,
  encodePem,
  parseCertificateFields,
  parseCsr,
  randomSerial,
  rootTemplate,
  sha256Fingerprint,
  isKeyAlgorithm,
  keyAlgorithmInfo,
  type CrlReason,
  type DistinguishedName,
  type KeyAlgorithm,
} from '../../pki/index.js';
import { HsmError } from '../errors.js';
import {
  encodeKey,
  generateKey,
  loadKey,
  publicPartOf,
  signWith,
  verifyWith,
  type PrivateKeyHandle,
} from '../key-crypto.js';
import { decryptPkcs8, encryptPkcs8 } from './encrypted-pkcs8.js';
import { bytesEqual, type Clock } from '../../shared/index.js';

export const FACTORY_FILES = {
  key: 'root-key.pem',
  certificate: 'root.pem',
  manifest: 'factory.json',
} as const;

/** Files the factory writes once it issues CRLs. */
export const FACTORY_CRL_FILES = {
  /** The factory's CRL state: the last cRLNumber and the revoked device certificates. */
  state: 'crl-state.json',
  /** The latest CRL the factory issued (DER). */
  crl: 'root.crl',
} as const;

interface FactoryCrlState {
  readonly format: 'attestamp-factory-crl/1';
  readonly lastCrlNumber: number;
  readonly revoked: readonly { serial: string; reason: CrlReason; revokedAt: string }[];
}

interface FactoryManifest {
  readonly format: 'attestamp-factory/1';
  readonly label: string;
  readonly development: boolean;
  readonly algorithm: KeyAlgorithm;
  readonly organization: string;
  readonly country: string;
  readonly createdAt: string;
  readonly rootSha256: string;
  readonly encrypted: boolean;
}

export interface CreateFactoryOptions {
  readonly algorithm?: KeyAlgorithm;
  readonly organization?: string;
  readonly country?: string;
  /** Marks a quick-start factory: the label and root name say "development". */
  readonly development?: boolean;
  /** Encrypts the root key file (PKCS#8 PBES2) when given. */
  readonly passphrase?: string;
  readonly validityYears?: number;
  readonly clock: Clock;
}

export interface DeviceCertificateRequest {
  readonly csr: Uint8Array;
  readonly deviceId: string;
  readonly deviceAlgorithm: KeyAlgorithm;
  readonly subject: DistinguishedName;
  readonly validityYears: number;
}

/** A loaded factory: can certify devices; exposes only public data. */
export interface Factory {
  readonly label: string;
  readonly development: boolean;
  readonly organization: string;
  readonly country: string;
  readonly rootCertificate: Uint8Array;
  readonly rootSha256: string;
  certifyDevice(request: DeviceCertificateRequest, clock: Clock): Promise<Uint8Array>;
  /**
   * Issues the root's CRL over the device certificates (RFC 5280 5), with the next cRLNumber
   * kept in the factory folder beside the root key; writes it to root.crl as well.
   */
  issueCrl(
    options: { nextUpdateDays: number },
    clock: Clock,
  ): Promise<{ crl: Uint8Array; crlNumber: number }>;
}

function addYears(at: Date, years: number): Date {
  const d = new Date(at.getTime());
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return d;
}

export async function createFactory(dir: string, options: CreateFactoryOptions): Promise<Factory> {
  if (existsSync(join(dir, FACTORY_FILES.manifest)) || existsSync(join(dir, FACTORY_FILES.key))) {
    throw new HsmError('store-exists', 'a factory already exists in this folder');
  }
  const algorithm = options.algorithm ?? 'ecdsa-p384';
  const development = options.development ?? false;
  const organization = options.organization ?? 'attestamp';
  const country = options.country ?? 'XX';
  const now = options.clock.now();
  const { privateKey, publicPart: spki } = await generateKey(algorithm);
  const subject: DistinguishedName = {
    country,
    organization,
    commonName: development
      ? `${organization} Development Factory Root (not for production)`
      : `${organization} Factory Root`,
  };
  const certificate = await buildCertificate(
    rootTemplate({
      serialNumber: randomSerial((n) => randomBytes(n)),
      subject,
      spki,
      notBefore: now,
      notAfter: addYears(now, options.validityYears ?? 25),
    }),
    { algorithm, sign: (tbs) => Promise.resolve(signWith(privateKey, algorithm, tbs)) },
  );
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyPem = rootKeyPem(algorithm, privateKey, options.passphrase);
  const keyPath = join(dir, FACTORY_FILES.key);
  writeFileSync(keyPath, keyPem, { mode: 0o600, flag: 'wx' });
  chmodSync(keyPath, 0o600);
  writeFileSync(join(dir, FACTORY_FILES.certificate), encodePem('CERTIFICATE', certificate));
  const manifest: FactoryManifest = {
    format: 'attestamp-factory/1',
    label: development ? 'development factory' : 'factory',
    development,
    algorithm,
    organization,
    country,
    createdAt: now.toISOString(),
    rootSha256: sha256Fingerprint(certificate),
    encrypted: options.passphrase !== undefined,
  };
  writeFileSync(join(dir, FACTORY_FILES.manifest), JSON.stringify(manifest, null, 2) + '\n');
  return loadedFactory(dir, manifest, certificate, privateKey, spki);
}

/**
 * The root key file: PKCS#8 PEM, encrypted under the passphrase when one is given (PBES2). A
 * KeyObject is written by OpenSSL (PBKDF2, AES-256-CBC), as factories always were; a key that
 * OpenSSL under this Node cannot hold (ML-DSA, SLH-DSA: a MaterialKey) by encrypted-pkcs8.ts.
 */
function rootKeyPem(
  algorithm: KeyAlgorithm,
  privateKey: PrivateKeyHandle,
  passphrase: string | undefined,
): string {
  if (privateKey instanceof KeyObject) {
    const pem =
      passphrase === undefined
        ? privateKey.export({ type: 'pkcs8', format: 'pem' })
        : privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase });
    return pem.toString();
  }
  const pkcs8 = encodeKey(algorithm, privateKey);
  try {
    return passphrase === undefined
      ? encodePem('PRIVATE KEY', pkcs8)
      : encodePem('ENCRYPTED PRIVATE KEY', encryptPkcs8(pkcs8, passphrase));
  } finally {
    pkcs8.fill(0);
  }
}

/** Opens a post-quantum root key file (see rootKeyPem) with its mechanism. */
function openMaterialRootKey(
  algorithm: KeyAlgorithm,
  keyPem: string,
  passphrase: string | undefined,
): PrivateKeyHandle {
  const [block, ...extra] = decodePemAll(keyPem);
  if (block === undefined || extra.length > 0) {
    throw new HsmError('factory-invalid', 'the factory root key file holds no single key');
  }
  let pkcs8: Uint8Array;
  if (block.label === 'ENCRYPTED PRIVATE KEY') {
    if (passphrase === undefined) {
      throw new HsmError(
        'factory-passphrase-missing',
        'the factory root key is encrypted: give its passphrase (--factory-passphrase-file FILE)',
      );
    }
    pkcs8 = decryptPkcs8(block.der, passphrase);
  } else if (block.label === 'PRIVATE KEY') pkcs8 = block.der.slice();
  else throw new HsmError('factory-invalid', 'the factory root key file holds no private key');
  try {
    return loadKey(algorithm, pkcs8);
  } catch (cause) {
    // Decrypted under a wrong passphrase whose padding happened to look right, or not a key.
    throw block.label === 'ENCRYPTED PRIVATE KEY'
      ? new HsmError('factory-passphrase-wrong', 'the factory root key cannot be opened', {
          cause,
        })
      : new HsmError('factory-invalid', 'the factory root key file holds no usable key', {
          cause,
        });
  } finally {
    pkcs8.fill(0);
  }
}

function parseManifest(text: string): FactoryManifest {
  const value = JSON.parse(text) as Record<string, unknown>;
  const ok =
    value.format === 'attestamp-factory/1' &&
    typeof value.label === 'string' &&
    typeof value.development === 'boolean' &&
    typeof value.algorithm === 'string' &&
    isKeyAlgorithm(value.algorithm) &&
    typeof value.organization === 'string' &&
    typeof value.country === 'string' &&
    typeof value.createdAt === 'string' &&
    typeof value.rootSha256 === 'string' &&
    typeof value.encrypted === 'boolean';
  if (!ok) throw new HsmError('factory-invalid', 'unknown factory manifest format');
  return value as unknown as FactoryManifest;
}

export function openFactory(dir: string, passphrase?: string): Factory {
  const manifestPath = join(dir, FACTORY_FILES.manifest);
  if (!existsSync(manifestPath)) {
    throw new HsmError('factory-not-found', 'no factory in this folder');
  }
  let manifest: FactoryManifest;
  let certificate: Uint8Array;
  let keyPem: string;
  try {
    manifest = parseManifest(readFileSync(manifestPath, 'utf8'));
    certificate = decodePem(
      readFileSync(join(dir, FACTORY_FILES.certificate), 'utf8'),
      'CERTIFICATE',
    );
    keyPem = readFileSync(join(dir, FACTORY_FILES.key), 'utf8');
  } catch (cause) {
    throw new HsmError('factory-invalid', 'the factory folder is incomplete or unreadable', {
      cause,
    });
  }
  if (manifest.encrypted && passphrase === undefined) {
    throw new HsmError(
      'factory-passphrase-missing',
      'the factory root key is encrypted: give its passphrase (--factory-passphrase-file FILE)',
    );
  }
  let privateKey: PrivateKeyHandle;
  if (keyAlgorithmInfo(manifest.algorithm).postQuantum === true) {
    privateKey = openMaterialRootKey(manifest.algorithm, keyPem, passphrase);
  } else {
    try {
      privateKey = createPrivateKey(
        passphrase === undefined ? { key: keyPem } : { key: keyPem, passphrase },
      );
    } catch (cause) {
      throw new HsmError('factory-passphrase-wrong', 'the factory root key cannot be opened', {
        cause,
      });
    }
  }
  const spki = publicPartOf(manifest.algorithm, privateKey);
  if (!bytesEqual(parseCertificateFields(certificate).spki, spki)) {
    throw new HsmError('factory-invalid', 'the factory root key does not match its certificate');
  }
  return loadedFactory(dir, manifest, certificate, privateKey, spki);
}

function readCrlState(dir: string): FactoryCrlState {
  const path = join(dir, FACTORY_CRL_FILES.state);
  if (!existsSync(path))
    return { format: 'attestamp-factory-crl/1', lastCrlNumber: 0, revoked: [] };
  const value = JSON.parse(readFileSync(path, 'utf8')) as Partial<FactoryCrlState>;
  if (
    value.format !== 'attestamp-factory-crl/1' ||
    typeof value.lastCrlNumber !== 'number' ||
    !Number.isSafeInteger(value.lastCrlNumber) ||
    !Array.isArray(value.revoked)
  ) {
    throw new HsmError('factory-invalid', 'unknown factory CRL state format');
  }
  return value as FactoryCrlState;
}

function loadedFactory(
  dir: string,
  manifest: FactoryManifest,
  rootCertificate: Uint8Array,
  privateKey: PrivateKeyHandle,
  rootSpki: Uint8Array,
): Factory {
  const rootCert = parseCertificateFields(rootCertificate);
  const rootSubject = rootCert.subject;
  return {
    label: manifest.label,
    development: manifest.development,
    organization: manifest.organization,
    country: manifest.country,
    rootCertificate,
    rootSha256: manifest.rootSha256,
    async issueCrl(options, clock) {
      const state = readCrlState(dir);
      const crlNumber = state.lastCrlNumber + 1;
      const now = clock.now();
      const crl = await buildCrl(
        {
          issuer: rootSubject,
          issuerSpki: rootSpki,
          thisUpdate: now,
          nextUpdate: new Date(now.getTime() + options.nextUpdateDays * 86_400_000),
          crlNumber: BigInt(crlNumber),
          revoked: state.revoked.map((r) => ({
            serialNumber: new Uint8Array(Buffer.from(r.serial, 'hex')),
            revocationDate: new Date(r.revokedAt),
            reason: r.reason,
          })),
        },
        {
          algorithm: manifest.algorithm,
          sign: (tbs) => Promise.resolve(signWith(privateKey, manifest.algorithm, tbs)),
        },
      );
      const next: FactoryCrlState = { ...state, lastCrlNumber: crlNumber };
      writeFileSync(join(dir, FACTORY_CRL_FILES.state), JSON.stringify(next, null, 2) + '\n');
      writeFileSync(join(dir, FACTORY_CRL_FILES.crl), crl);
      return { crl, crlNumber };
    },
    async certifyDevice(request, clock) {
      const csr = parseCsr(request.csr);
      // Proof of possession: the request must be signed by the key it asks to certify.
      if (!verifyWith(csr.spki, request.deviceAlgorithm, csr.tbs, csr.signature)) {
        throw new HsmError('csr-rejected', 'device certificate request signature is invalid');
      }
      const now = clock.now();
      const rootNotAfter = rootCert.notAfter;
      const wanted = addYears(now, request.validityYears);
      return buildCertificate(
        deviceTemplate(
          {
            serialNumber: randomSerial((n) => randomBytes(n)),
            subject: request.subject,
            spki: csr.spki,
            notBefore: now,
            notAfter: wanted < rootNotAfter ? wanted : rootNotAfter,
          },
          { name: rootSubject, spki: rootSpki },
          request.deviceId,
        ),
        {
          algorithm: manifest.algorithm,
          sign: (tbs) => Promise.resolve(signWith(privateKey, manifest.algorithm, tbs)),
        },
      );
    },
  };
}

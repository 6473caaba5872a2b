// The key attestation test corpus (standards/attestation.md, checks 1-9): valid and invalid
// chains, evidence and key attestation certificates, each case with its input files, the CLI
// arguments and the result attestamp-verify must give. generateCorpus writes the folders; private
// keys exist only in memory while it runs and are never written. Free of vitest, so any runner
// can call it (test/vectors/attestation/regenerate.test.ts does, with UPDATE_VECTORS=1).
import { generateKeyPairSync, KeyObject, randomBytes, sign as nodeSign } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as prettier from 'prettier';
import { parseCert } from '../../../src/attestation/index.js';
import {
  evidenceElements,
  issueAttestationCertificate,
} from '../../../src/hsm/issuing/evidence.js';
import { createFactory, Hsm } from '../../../src/hsm/index.js';
import { generateKey, signWith } from '../../../src/hsm/key-crypto.js';
import type { KeyInfo } from '../../../src/hsm/types.js';
import {
  ARC,
  authorityKeyIdentifier,
  basicConstraints,
  buildCertificate,
  der,
  derReader,
  deviceTemplate,
  encodeEvidence,
  encodeName,
  encodePem,
  encodeSignatureBlock,
  encodeTbsEvidence,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_keyEvidence,
  id_ce_keyUsage,
  id_element,
  id_sha1WithRSAEncryption,
  KEY_CLAIMS,
  keyUsage,
  parseEvidence,
  partitionAttestationTemplate,
  partitionTimestampTemplate,
  randomSerial,
  rootTemplate,
  sha256Fingerprint,
  signatureAlgorithmIdentifier,
  subjectKeyIdentifier,
  TRANSACTION_CLAIMS,
  type DistinguishedName,
  type Evidence,
  type ExtensionSpec,
  type KeyAlgorithm,
  type ProfileSubject,
  type ReportedElement,
  type Signer,
  type TbsCertificateTemplate,
} from '../../../src/pki/index.js';
import { bytesEqual, concatBytes, fixedClock } from '../../../src/shared/index.js';

export type VerifyCommand = 'chain' | 'evidence' | 'certificate';

/** The report outcomes of attestamp-verify, plus `usage` for a command line it refuses. */
export type ExpectedOutcome =
  'verified' | 'failed' | 'policy-failed' | 'indeterminate' | 'unparseable' | 'usage';

/** expect.json */
export interface Expectation {
  readonly command: VerifyCommand;
  readonly outcome: ExpectedOutcome;
  /** A check id that must be among the failed checks (a warning when indeterminate). */
  readonly failingCheck: string | null;
  readonly exitCode: number;
}

/** The files a case may hold besides args.json and expect.json. */
export type CorpusFile =
  'input.pem' | 'anchor.pem' | 'anchor-sha256.txt' | 'crl.pem' | 'expect-spki.pem';

export interface CaseSpec {
  readonly set: 'valid' | 'invalid';
  readonly name: string;
  readonly description: string;
  readonly files: readonly CorpusFile[];
  /** Extra arguments after the ones the files imply (args.json). */
  readonly args: readonly string[];
  readonly expect: Expectation;
}

/** When the HSM of the corpus "ran": its certificates and evidence carry this time. */
export const HSM_TIME = new Date('2025-06-01T00:00:00Z');
/** When the hand-built key attestation certificates were issued. */
export const ATTESTED_AT = HSM_TIME;
/** The --at of every case built on HSM_TIME or ATTESTED_AT: one hour later. */
export const AT = '2025-06-01T01:00:00Z';
export const NONCE = '00112233445566778899aabbccddeeff';
export const OTHER_NONCE = 'ffeeddccbbaa99887766554433221100';

const LONG_FROM = new Date('2019-01-01T00:00:00Z');
const VALID_FROM = new Date('2025-01-01T00:00:00Z');
const VALID_TO = new Date('2125-01-01T00:00:00Z');
const EXPIRED_FROM = new Date('2020-01-01T00:00:00Z');
const EXPIRED_TO = new Date('2021-01-01T00:00:00Z');

const DEVICE_ID = 'CORPUS-DEVICE-1';
const PARTITION_ID = 'corpus-partition-1';
const SOFTWARE = ['--allow-software', '--at', AT] as const;
const STRICT_KEY = 'extractable=false,never-extractable=true,local=true';

// ------------------------------------------------------------------ key material (memory only)

interface KeyPair {
  readonly key: KeyObject;
  readonly algorithm: KeyAlgorithm;
  readonly spki: Uint8Array;
}

interface Issued extends KeyPair {
  readonly der: Uint8Array;
  readonly dn: DistinguishedName;
}

async function newKey(algorithm: KeyAlgorithm): Promise<KeyPair> {
  const g = await generateKey(algorithm);
  if (!(g.privateKey instanceof KeyObject)) throw new Error(`${algorithm}: not a node:crypto key`);
  return { key: g.privateKey, algorithm, spki: g.publicPart };
}

function signerOf(k: KeyPair, chain: readonly Uint8Array[] = []): Signer {
  return {
    algorithm: k.algorithm,
    spki: k.spki,
    certificateChain: chain,
    sign: (tbs) => Promise.resolve(signWith(k.key, k.algorithm, tbs)),
  };
}

function serial(): Uint8Array {
  return randomSerial((n) => new Uint8Array(randomBytes(n)));
}

function subject(
  k: KeyPair,
  dn: DistinguishedName,
  notBefore = VALID_FROM,
  notAfter = VALID_TO,
): ProfileSubject {
  return { serialNumber: serial(), subject: dn, spki: k.spki, notBefore, notAfter };
}

function issuerOf(c: Issued): { name: Uint8Array; spki: Uint8Array } {
  return { name: encodeName(c.dn), spki: c.spki };
}

async function issue(
  k: KeyPair,
  dn: DistinguishedName,
  template: TbsCertificateTemplate,
  by: KeyPair,
): Promise<Issued> {
  return { ...k, dn, der: await buildCertificate(template, signerOf(by)) };
}

function withExtensions(
  t: TbsCertificateTemplate,
  change: (list: readonly ExtensionSpec[]) => ExtensionSpec[],
): TbsCertificateTemplate {
  return { ...t, extensions: change(t.extensions) };
}

const dn = (commonName: string, extra: Partial<DistinguishedName> = {}): DistinguishedName => ({
  country: 'XX',
  organization: 'attestamp corpus',
  commonName,
  ...extra,
});

const ROOT_DN = dn('attestamp corpus root');
const OTHER_ROOT_DN = dn('attestamp corpus other root');
const deviceDn = (id: string): DistinguishedName =>
  dn(`attestamp device ${id}`, { organizationalUnit: 'attestamp software HSM', serialNumber: id });
const ATTESTATION_DN = dn('corpus partition attestation key', {
  organizationalUnit: 'partition corpus',
});
const TIMESTAMP_DN = dn('corpus partition timestamp key', {
  organizationalUnit: 'partition corpus',
});

// ------------------------------------------------------------------ encodings

function pem(label: string, ...ders: readonly Uint8Array[]): string {
  return ders.map((d) => encodePem(label, d)).join('');
}

const certs = (...ders: readonly Uint8Array[]): string => pem('CERTIFICATE', ...ders);

/** The certificate re-signed under another AlgorithmIdentifier (inner and outer alike). */
function resign(
  cert: Uint8Array,
  algorithm: Uint8Array,
  sign: (tbs: Uint8Array) => Uint8Array,
): Uint8Array {
  const { readTlv, childrenOf, encodingOf } = derReader;
  const [tbsT] = childrenOf(cert, readTlv(cert, 0));
  const fields = childrenOf(cert, tbsT!).map((t) => encodingOf(cert, t));
  // version [0], serialNumber, then the signature AlgorithmIdentifier.
  const at = fields[0]?.[0] === 0xa0 ? 2 : 1;
  fields[at] = algorithm;
  const tbs = der.seq(...fields);
  return der.seq(tbs, algorithm, der.tlv(0x03, Uint8Array.of(0), sign(tbs)));
}

/** The same certificate with a non-minimal (BER) outer length: 0x82 LL LL becomes 0x83 00 LL LL. */
function longFormLength(cert: Uint8Array): Uint8Array {
  if (cert[1] !== 0x82) throw new Error('expected a two-octet length');
  return concatBytes(Uint8Array.of(0x30, 0x83, 0x00), cert.subarray(2));
}

/** The same certificate with an indefinite (BER) outer length and end-of-contents octets. */
function indefiniteLength(cert: Uint8Array): Uint8Array {
  if (cert[1] !== 0x82) throw new Error('expected a two-octet length');
  return concatBytes(Uint8Array.of(0x30, 0x80), cert.subarray(4), Uint8Array.of(0, 0));
}

function utcTime(at: Date): Uint8Array {
  const text = at.toISOString().slice(2, 19).replace(/[-:T]/g, '') + 'Z';
  return der.tlv(0x17, new TextEncoder().encode(text));
}

function generalizedTime(at: Date): Uint8Array {
  return der.generalizedTime(at.toISOString().slice(0, 19).replace(/[-:T]/g, '') + 'Z');
}

function algorithmOf(algorithm: KeyAlgorithm): Uint8Array {
  return new Uint8Array(signatureAlgorithmIdentifier(algorithm).toSchema().toBER());
}

/** A complete v2 CRL (RFC 5280 5) by `issuer`, valid 2025-2125, listing the given serials. */
function crl(issuer: Issued, revokedSerials: readonly Uint8Array[]): Uint8Array {
  const alg = algorithmOf(issuer.algorithm);
  const aki = authorityKeyIdentifier(issuer.spki);
  const extensions = der.contextConstructed(
    0,
    der.seq(
      der.seq(der.oid(aki.oid), der.octetString(aki.value)),
      der.seq(der.oid('2.5.29.20'), der.octetString(der.integer(1))),
    ),
  );
  const revoked = revokedSerials.map((s) => der.seq(der.tlv(0x02, s), utcTime(VALID_FROM)));
  const tbs = der.seq(
    der.integer(1),
    alg,
    encodeName(issuer.dn),
    utcTime(VALID_FROM),
    generalizedTime(VALID_TO),
    ...(revoked.length > 0 ? [der.seq(...revoked)] : []),
    extensions,
  );
  return der.seq(
    tbs,
    alg,
    der.tlv(0x03, Uint8Array.of(0), signWith(issuer.key, issuer.algorithm, tbs)),
  );
}

/** TbsEvidence from parsed elements, claim values kept as their original DER. */
function encodeRawTbs(elements: readonly ReportedElement[]): Uint8Array {
  return der.seq(
    der.integer(1),
    der.seq(
      ...elements.map((e) =>
        der.seq(
          der.oid(e.type),
          der.seq(
            ...e.claims.map((c) =>
              c.value === undefined ? der.seq(der.oid(c.oid)) : der.seq(der.oid(c.oid), c.value),
            ),
          ),
        ),
      ),
    ),
  );
}

function replaceClaim(
  elements: readonly ReportedElement[],
  type: string,
  oid: string,
  value: Uint8Array,
): ReportedElement[] {
  if (!elements.some((e) => e.type === type && e.claims.some((c) => c.oid === oid))) {
    throw new Error(`no claim ${oid} to replace`);
  }
  return elements.map((e) =>
    e.type !== type
      ? e
      : { type: e.type, claims: e.claims.map((c) => (c.oid === oid ? { oid, value } : c)) },
  );
}

function blockDer(e: Evidence, n: number): Uint8Array {
  const b = e.signatures[n];
  if (b === undefined) throw new Error(`no signature block ${n}`);
  return encodeSignatureBlock(b);
}

/** Evidence over new TbsEvidence, signed by `signer` (whose certificate names the block). */
async function signedEvidence(
  tbs: Uint8Array,
  signer: Signer,
  intermediates: readonly Uint8Array[],
): Promise<Uint8Array> {
  const block = encodeSignatureBlock({
    certificate: signer.certificateChain[0]!,
    signatureAlgorithm: algorithmOf(signer.algorithm),
    signature: await signer.sign(tbs),
  });
  return encodeEvidence(tbs, [block], intermediates);
}

function publicKeyPem(spki: Uint8Array): string {
  return pem('PUBLIC KEY', spki);
}

// ------------------------------------------------------------------ the two sources of material

/** Hand-built chains (fixed dates), for the chain profile cases. */
interface Built {
  readonly root: Issued;
  readonly otherRoot: Issued;
  readonly device: Issued;
  readonly attestation: Issued;
  readonly timestamp: Issued;
  readonly keyInfo: (spki: Uint8Array) => KeyInfo;
  readonly keyCertificate: (issuer: Issued, chain: readonly Uint8Array[]) => Promise<Issued>;
}

async function buildPki(): Promise<Built> {
  const rootKey = await newKey('ecdsa-p384');
  const root = await issue(
    rootKey,
    ROOT_DN,
    rootTemplate(subject(rootKey, ROOT_DN, LONG_FROM, VALID_TO)),
    rootKey,
  );
  const otherKey = await newKey('ecdsa-p384');
  const otherRoot = await issue(
    otherKey,
    OTHER_ROOT_DN,
    rootTemplate(subject(otherKey, OTHER_ROOT_DN)),
    otherKey,
  );
  const deviceKey = await newKey('ecdsa-p384');
  const device = await issue(
    deviceKey,
    deviceDn(DEVICE_ID),
    deviceTemplate(subject(deviceKey, deviceDn(DEVICE_ID)), issuerOf(root), DEVICE_ID),
    root,
  );
  const ids = { deviceId: DEVICE_ID, partitionId: PARTITION_ID };
  const attKey = await newKey('ecdsa-p256');
  const attestation = await issue(
    attKey,
    ATTESTATION_DN,
    partitionAttestationTemplate(subject(attKey, ATTESTATION_DN), issuerOf(device), ids),
    device,
  );
  const tsKey = await newKey('ecdsa-p256');
  const timestamp = await issue(
    tsKey,
    TIMESTAMP_DN,
    partitionTimestampTemplate(subject(tsKey, TIMESTAMP_DN), issuerOf(device), ids),
    device,
  );
  const keyInfo = (spki: Uint8Array): KeyInfo => ({
    id: 'corpus-key-1',
    partitionId: PARTITION_ID,
    partitionName: 'corpus',
    label: 'corpus-key',
    role: 'user',
    algorithm: 'ecdsa-p256',
    spki,
    attributes: {
      extractable: false,
      sensitive: true,
      alwaysSensitive: true,
      neverExtractable: true,
      local: true,
      modifiable: false,
      copyable: false,
      destroyable: true,
      purposes: ['sign', 'verify'],
      origin: 'generated',
    },
    state: 'active',
    createdAt: ATTESTED_AT,
    invalidatedAt: undefined,
  });
  const keyCertificate = async (issuer: Issued, chain: readonly Uint8Array[]): Promise<Issued> => {
    const k = await newKey('ecdsa-p256');
    const certificate = await issueAttestationCertificate({
      key: keyInfo(k.spki),
      deviceId: DEVICE_ID,
      attestationSigner: signerOf(issuer, chain),
      at: ATTESTED_AT,
      nonce: undefined,
    });
    return { ...k, dn: dn('attested key corpus-key'), der: certificate };
  };
  return { root, otherRoot, device, attestation, timestamp, keyInfo, keyCertificate };
}

/** Material from a real software HSM whose clock stands at HSM_TIME. */
interface FromHsm {
  readonly root: Uint8Array;
  readonly device: Uint8Array;
  readonly attestation: Uint8Array;
  readonly timestamp: Uint8Array;
  readonly signingSpki: Uint8Array;
  readonly evidence: Uint8Array;
  readonly evidenceWithNonce: Uint8Array;
  readonly evidenceExtractable: Uint8Array;
  readonly keyCertificate: Uint8Array;
  readonly timestampKeyCertificate: Uint8Array;
  readonly attestationSigner: Signer;
  readonly timestampSigner: Signer;
}

async function withHsm<T>(use: (m: FromHsm) => Promise<T>): Promise<T> {
  const work = mkdtempSync(join(tmpdir(), 'attestamp-corpus-'));
  try {
    const clock = fixedClock(HSM_TIME);
    const factory = await createFactory(join(work, 'factory'), { development: true, clock });
    const hsm = await Hsm.init({
      path: join(work, 'device.sqlite'),
      masterKey: { kind: 'key', key: randomBytes(32) },
      factory,
      officer: { name: 'so', passphrase: 'corpus officer passphrase' },
      clock,
    });
    try {
      const signing = await hsm.generateKey('default', {
        label: 'corpus-signing',
        algorithm: 'ecdsa-p256',
      });
      await hsm.generateKey('default', {
        label: 'corpus-extractable',
        algorithm: 'ecdsa-p256',
        extractable: true,
      });
      const nonce = Uint8Array.from(Buffer.from(NONCE, 'hex'));
      const chain = await hsm.chain('default');
      return await use({
        root: chain.root,
        device: chain.device,
        attestation: chain.partitionAttestation,
        timestamp: chain.partitionTimestamp,
        signingSpki: signing.spki,
        evidence: await hsm.attestKey('default', 'corpus-signing'),
        evidenceWithNonce: await hsm.attestKey('default', 'corpus-signing', { nonce }),
        evidenceExtractable: await hsm.attestKey('default', 'corpus-extractable'),
        keyCertificate: await hsm.attestKey('default', 'corpus-signing', {
          format: 'certificate',
          nonce,
        }),
        timestampKeyCertificate: await hsm.attestKey('default', 'partition-timestamp', {
          format: 'certificate',
        }),
        attestationSigner: await hsm.attestationSigner('default'),
        timestampSigner: await hsm.timestampSigner('default'),
      });
    } finally {
      await hsm.close();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ the cases

type Files = Partial<Record<CorpusFile, string>>;

interface Material {
  readonly pki: Built;
  readonly hsm: FromHsm;
}

interface CaseDefinition extends CaseSpec {
  build(m: Material): Promise<Files> | Files;
}

function valid(
  name: string,
  command: VerifyCommand,
  description: string,
  files: readonly CorpusFile[],
  args: readonly string[],
  build: CaseDefinition['build'],
): CaseDefinition {
  return {
    set: 'valid',
    name,
    description,
    files,
    args,
    expect: { command, outcome: 'verified', failingCheck: null, exitCode: 0 },
    build,
  };
}

const EXIT: Readonly<Record<ExpectedOutcome, number>> = {
  verified: 0,
  failed: 1,
  'policy-failed': 2,
  indeterminate: 3,
  unparseable: 64,
  usage: 64,
};

function invalid(
  name: string,
  command: VerifyCommand,
  outcome: Exclude<ExpectedOutcome, 'verified'>,
  failingCheck: string | null,
  description: string,
  files: readonly CorpusFile[],
  args: readonly string[],
  build: CaseDefinition['build'],
): CaseDefinition {
  return {
    set: 'invalid',
    name,
    description,
    files,
    args,
    expect: { command, outcome, failingCheck, exitCode: EXIT[outcome] },
    build,
  };
}

const CHAIN_FILES = ['input.pem', 'anchor.pem'] as const;

/** The hand-built good chain: timestamp key, device, root. */
const goodChain = ({ pki }: Material): Files => ({
  'input.pem': certs(pki.timestamp.der, pki.device.der, pki.root.der),
  'anchor.pem': certs(pki.root.der),
});

/** A chain whose device certificate expired in 2021 (the timestamp key under it did not). */
async function expiredChain({ pki }: Material): Promise<Files> {
  const k = await newKey('ecdsa-p384');
  const id = 'CORPUS-DEVICE-2020';
  const device = await issue(
    k,
    deviceDn(id),
    deviceTemplate(subject(k, deviceDn(id), EXPIRED_FROM, EXPIRED_TO), issuerOf(pki.root), id),
    pki.root,
  );
  const t = await newKey('ecdsa-p256');
  const leaf = await issue(
    t,
    TIMESTAMP_DN,
    partitionTimestampTemplate(subject(t, TIMESTAMP_DN, EXPIRED_FROM, VALID_TO), issuerOf(device), {
      deviceId: id,
      partitionId: PARTITION_ID,
    }),
    device,
  );
  return {
    'input.pem': certs(leaf.der, device.der, pki.root.der),
    'anchor.pem': certs(pki.root.der),
  };
}

/** A timestamp key certificate under the corpus device, its template changed by `change`. */
async function timestampLeaf(
  pki: Built,
  change: (t: TbsCertificateTemplate) => TbsCertificateTemplate,
  key?: KeyPair,
): Promise<Issued> {
  const k = key ?? (await newKey('ecdsa-p256'));
  const t = partitionTimestampTemplate(subject(k, TIMESTAMP_DN), issuerOf(pki.device), {
    deviceId: DEVICE_ID,
    partitionId: PARTITION_ID,
  });
  return issue(k, TIMESTAMP_DN, change(t), pki.device);
}

const hsmEvidence =
  (ev: (h: FromHsm) => Uint8Array) =>
  ({ hsm }: Material): Files => ({
    'input.pem': pem('EVIDENCE', ev(hsm)),
    'anchor.pem': certs(hsm.root),
  });

/** The good evidence with its TbsEvidence changed and signed again by `signer`. */
function resigned(
  change: (elements: readonly ReportedElement[], h: FromHsm) => ReportedElement[],
  signer: (h: FromHsm) => Signer = (h) => h.attestationSigner,
  intermediates: (h: FromHsm) => readonly Uint8Array[] = (h) => [h.attestation, h.device, h.root],
) {
  return async ({ hsm }: Material): Promise<Files> => {
    const e = parseEvidence(hsm.evidence);
    const tbs = encodeRawTbs(change(e.tbs.elements, hsm));
    return {
      'input.pem': pem('EVIDENCE', await signedEvidence(tbs, signer(hsm), intermediates(hsm))),
      'anchor.pem': certs(hsm.root),
    };
  };
}

const EVIDENCE_FILES = ['input.pem', 'anchor.pem'] as const;

const hsmCertificate =
  (pick: (h: FromHsm) => Uint8Array) =>
  ({ hsm }: Material): Files => ({
    'input.pem': certs(pick(hsm), hsm.attestation, hsm.device, hsm.root),
    'anchor.pem': certs(hsm.root),
  });

const DEFINITIONS: readonly CaseDefinition[] = [
  // ---------------------------------------------------------------- valid
  valid(
    'chain-good',
    'chain',
    'root -> device -> partition timestamp key, validated now',
    CHAIN_FILES,
    [],
    goodChain,
  ),
  valid(
    'chain-anchor-sha256-certificate',
    'chain',
    'the good chain, the root pinned by the SHA-256 of its certificate',
    ['input.pem', 'anchor-sha256.txt'],
    [],
    ({ pki }) => ({
      'input.pem': certs(pki.timestamp.der, pki.device.der, pki.root.der),
      'anchor-sha256.txt': `${sha256Fingerprint(pki.root.der)}\n`,
    }),
  ),
  valid(
    'chain-anchor-sha256-spki',
    'chain',
    'the good chain, the root pinned by the SHA-256 of its SubjectPublicKeyInfo',
    ['input.pem', 'anchor-sha256.txt'],
    [],
    ({ pki }) => ({
      'input.pem': certs(pki.timestamp.der, pki.device.der, pki.root.der),
      'anchor-sha256.txt': `${sha256Fingerprint(pki.root.spki)}\n`,
    }),
  ),
  valid(
    'chain-expired-device-at-inside',
    'chain',
    'a device certificate valid 2020-2021, validated at a time inside its validity',
    CHAIN_FILES,
    ['--at', '2020-06-01T00:00:00Z'],
    expiredChain,
  ),
  valid(
    'chain-crl-not-revoked',
    'chain',
    'current CRLs from the root and the device list nothing on the path; revocation required',
    [...CHAIN_FILES, 'crl.pem'],
    ['--require-revocation'],
    (m) => ({
      ...goodChain(m),
      'crl.pem': pem('X509 CRL', crl(m.pki.root, []), crl(m.pki.device, [])),
    }),
  ),
  valid(
    'evidence-good',
    'evidence',
    'HSM evidence about a generated key, software protection accepted',
    EVIDENCE_FILES,
    SOFTWARE,
    hsmEvidence((h) => h.evidence),
  ),
  valid(
    'evidence-full-policy',
    'evidence',
    'HSM evidence with a nonce, the expected key, and every attribute requirement met',
    [...EVIDENCE_FILES, 'expect-spki.pem'],
    [...SOFTWARE, '--nonce', NONCE, '--require', STRICT_KEY],
    (m) => ({
      ...hsmEvidence((h) => h.evidenceWithNonce)(m),
      'expect-spki.pem': publicKeyPem(m.hsm.signingSpki),
    }),
  ),
  valid(
    'evidence-anchor-sha256-spki',
    'evidence',
    'HSM evidence, the factory root pinned by the SHA-256 of its public key only',
    ['input.pem', 'anchor-sha256.txt'],
    SOFTWARE,
    ({ hsm }) => ({
      'input.pem': pem('EVIDENCE', hsm.evidence),
      'anchor-sha256.txt': `${parseCert(hsm.root).spkiSha256}\n`,
    }),
  ),
  valid(
    'certificate-good',
    'certificate',
    'HSM key attestation certificate with its issuers, nonce, expected key and attributes',
    [...CHAIN_FILES, 'expect-spki.pem'],
    [...SOFTWARE, '--nonce', NONCE, '--require', STRICT_KEY],
    (m) => ({
      ...hsmCertificate((h) => h.keyCertificate)(m),
      'expect-spki.pem': publicKeyPem(m.hsm.signingSpki),
    }),
  ),
  valid(
    'certificate-timestamp-key',
    'certificate',
    "HSM key attestation certificate for the partition's own timestamp key",
    CHAIN_FILES,
    [...SOFTWARE, '--require', 'never-extractable=true,local=true'],
    hsmCertificate((h) => h.timestampKeyCertificate),
  ),
  valid(
    'certificate-built-by-hand',
    'certificate',
    'a key attestation certificate under the hand-built chain (control for the invalid ones)',
    CHAIN_FILES,
    SOFTWARE,
    async ({ pki }) => {
      const chain = [pki.attestation.der, pki.device.der, pki.root.der];
      const leaf = await pki.keyCertificate(pki.attestation, chain);
      return { 'input.pem': certs(leaf.der, ...chain), 'anchor.pem': certs(pki.root.der) };
    },
  ),

  // ---------------------------------------------------------------- invalid: trust and path
  invalid(
    'chain-wrong-anchor',
    'chain',
    'failed',
    'path.build',
    'the good chain against another root',
    CHAIN_FILES,
    [],
    (m) => ({ ...goodChain(m), 'anchor.pem': certs(m.pki.otherRoot.der) }),
  ),
  invalid(
    'chain-no-anchor',
    'chain',
    'failed',
    'trust.anchor',
    'the good chain with no anchor at all: never a silent pass',
    ['input.pem'],
    [],
    ({ pki }) => ({ 'input.pem': certs(pki.timestamp.der, pki.device.der, pki.root.der) }),
  ),
  invalid(
    'chain-expired-device',
    'chain',
    'failed',
    'path.validity',
    'the device certificate expired in 2021, validated now',
    CHAIN_FILES,
    [],
    expiredChain,
  ),
  invalid(
    'certificate-forged-leaf',
    'certificate',
    'failed',
    'path.ca',
    'a genuine key attestation certificate (not a CA) used to issue a forged one',
    CHAIN_FILES,
    SOFTWARE,
    async ({ pki }) => {
      const chain = [pki.attestation.der, pki.device.der, pki.root.der];
      const genuine = await pki.keyCertificate(pki.attestation, chain);
      const forged = await pki.keyCertificate(genuine, [genuine.der]);
      return {
        'input.pem': certs(forged.der, genuine.der, ...chain),
        'anchor.pem': certs(pki.root.der),
      };
    },
  ),
  invalid(
    'certificate-path-length-exceeded',
    'certificate',
    'failed',
    'path.path-length',
    'the partition attestation key (pathLen 0) certifies a further CA that issues the leaf',
    CHAIN_FILES,
    SOFTWARE,
    async ({ pki }) => {
      const k = await newKey('ecdsa-p256');
      const name = dn('corpus sub-attestation key', { organizationalUnit: 'partition corpus' });
      const sub = await issue(
        k,
        name,
        withExtensions(
          partitionAttestationTemplate(subject(k, name), issuerOf(pki.attestation), {
            deviceId: DEVICE_ID,
            partitionId: PARTITION_ID,
          }),
          // cA without a pathLenConstraint.
          (list) =>
            list.map((e) => (e.oid === id_ce_basicConstraints ? basicConstraints(true) : e)),
        ),
        pki.attestation,
      );
      const chain = [sub.der, pki.attestation.der, pki.device.der, pki.root.der];
      const leaf = await pki.keyCertificate(sub, chain);
      return { 'input.pem': certs(leaf.der, ...chain), 'anchor.pem': certs(pki.root.der) };
    },
  ),
  invalid(
    'chain-issuer-without-key-cert-sign',
    'chain',
    'failed',
    'path.key-cert-sign',
    'a device certificate whose keyUsage lacks keyCertSign issues the leaf',
    CHAIN_FILES,
    [],
    async ({ pki }) => {
      const k = await newKey('ecdsa-p384');
      const device = await issue(
        k,
        deviceDn(DEVICE_ID),
        withExtensions(
          deviceTemplate(subject(k, deviceDn(DEVICE_ID)), issuerOf(pki.root), DEVICE_ID),
          (list) =>
            list.map((e) =>
              e.oid === id_ce_keyUsage ? keyUsage(['digitalSignature', 'cRLSign']) : e,
            ),
        ),
        pki.root,
      );
      const t = await newKey('ecdsa-p256');
      const leaf = await issue(
        t,
        TIMESTAMP_DN,
        partitionTimestampTemplate(subject(t, TIMESTAMP_DN), issuerOf(device), {
          deviceId: DEVICE_ID,
          partitionId: PARTITION_ID,
        }),
        device,
      );
      return {
        'input.pem': certs(leaf.der, device.der, pki.root.der),
        'anchor.pem': certs(pki.root.der),
      };
    },
  ),
  invalid(
    'chain-unknown-critical-extension',
    'chain',
    'failed',
    'path.critical-extensions',
    'the leaf carries a critical extension nobody knows',
    CHAIN_FILES,
    [],
    async ({ pki }) => {
      const leaf = await timestampLeaf(pki, (t) =>
        withExtensions(t, (list) => [
          ...list,
          { oid: `${ARC}.99.1`, critical: true, value: der.nullValue() },
        ]),
      );
      return {
        'input.pem': certs(leaf.der, pki.device.der, pki.root.der),
        'anchor.pem': certs(pki.root.der),
      };
    },
  ),
  invalid(
    'chain-missing-authority-key-id',
    'chain',
    'failed',
    'path.key-ids',
    'the leaf has no authority key identifier',
    CHAIN_FILES,
    [],
    async ({ pki }) => {
      const leaf = await timestampLeaf(pki, (t) =>
        withExtensions(t, (list) => list.filter((e) => e.oid !== id_ce_authorityKeyIdentifier)),
      );
      return {
        'input.pem': certs(leaf.der, pki.device.der, pki.root.der),
        'anchor.pem': certs(pki.root.der),
      };
    },
  ),
  invalid(
    'chain-duplicate-certificate',
    'chain',
    'failed',
    'path.leftover',
    'the device certificate appears twice in the bundle',
    CHAIN_FILES,
    [],
    ({ pki }) => ({
      'input.pem': certs(pki.timestamp.der, pki.device.der, pki.device.der, pki.root.der),
      'anchor.pem': certs(pki.root.der),
    }),
  ),
  invalid(
    'chain-leftover-certificate',
    'chain',
    'failed',
    'path.leftover',
    'the bundle holds a certificate that is not on the path',
    CHAIN_FILES,
    [],
    ({ pki }) => ({
      'input.pem': certs(pki.timestamp.der, pki.device.der, pki.root.der, pki.otherRoot.der),
      'anchor.pem': certs(pki.root.der),
    }),
  ),
  invalid(
    'chain-sha1-signature',
    'chain',
    'failed',
    'path.algorithms',
    'an RSA root signs the device certificate with sha1WithRSAEncryption',
    CHAIN_FILES,
    [],
    async () => {
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const rootKey: KeyPair = {
        key: rsa.privateKey,
        algorithm: 'rsa-3072',
        spki: new Uint8Array(rsa.publicKey.export({ type: 'spki', format: 'der' })),
      };
      const name = dn('attestamp corpus rsa root');
      const root = await issue(rootKey, name, rootTemplate(subject(rootKey, name)), rootKey);
      const k = await newKey('ecdsa-p384');
      const sha256Device = await issue(
        k,
        deviceDn(DEVICE_ID),
        deviceTemplate(subject(k, deviceDn(DEVICE_ID)), issuerOf(root), DEVICE_ID),
        root,
      );
      const sha1 = der.algorithmIdentifier(id_sha1WithRSAEncryption, der.nullValue());
      const device: Issued = {
        ...sha256Device,
        der: resign(
          sha256Device.der,
          sha1,
          (tbs) => new Uint8Array(nodeSign('sha1', tbs, rsa.privateKey)),
        ),
      };
      const t = await newKey('ecdsa-p256');
      const leaf = await issue(
        t,
        TIMESTAMP_DN,
        partitionTimestampTemplate(subject(t, TIMESTAMP_DN), issuerOf(device), {
          deviceId: DEVICE_ID,
          partitionId: PARTITION_ID,
        }),
        device,
      );
      return { 'input.pem': certs(leaf.der, device.der, root.der), 'anchor.pem': certs(root.der) };
    },
  ),
  invalid(
    'chain-rsa-1024-key',
    'chain',
    'failed',
    'path.algorithms',
    'the leaf certifies an RSA-1024 key',
    CHAIN_FILES,
    [],
    async ({ pki }) => {
      const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
      const weak: KeyPair = {
        key: rsa.privateKey,
        algorithm: 'rsa-3072',
        spki: new Uint8Array(rsa.publicKey.export({ type: 'spki', format: 'der' })),
      };
      const leaf = await timestampLeaf(pki, (t) => t, weak);
      return {
        'input.pem': certs(leaf.der, pki.device.der, pki.root.der),
        'anchor.pem': certs(pki.root.der),
      };
    },
  ),
  invalid(
    'chain-ber-long-form-length',
    'chain',
    'failed',
    'path.der',
    'the leaf re-encoded with a non-minimal length (BER); its signed bytes unchanged',
    CHAIN_FILES,
    [],
    ({ pki }) => ({
      'input.pem': certs(longFormLength(pki.timestamp.der), pki.device.der, pki.root.der),
      'anchor.pem': certs(pki.root.der),
    }),
  ),
  invalid(
    'chain-ber-indefinite-length',
    'chain',
    'failed',
    'path.der',
    'the device certificate re-encoded with an indefinite length (BER); signed bytes unchanged',
    CHAIN_FILES,
    [],
    ({ pki }) => ({
      'input.pem': certs(pki.timestamp.der, indefiniteLength(pki.device.der), pki.root.der),
      'anchor.pem': certs(pki.root.der),
    }),
  ),
  invalid(
    'chain-trailing-bytes',
    'chain',
    'failed',
    'path.der',
    'two bytes after the leaf certificate inside its PEM block',
    CHAIN_FILES,
    [],
    ({ pki }) => ({
      'input.pem': certs(
        concatBytes(pki.timestamp.der, Uint8Array.of(0, 0)),
        pki.device.der,
        pki.root.der,
      ),
      'anchor.pem': certs(pki.root.der),
    }),
  ),
  invalid(
    'chain-revoked-device',
    'chain',
    'failed',
    'revocation',
    'a current CRL signed by the root lists the device certificate',
    [...CHAIN_FILES, 'crl.pem'],
    [],
    (m) => ({
      ...goodChain(m),
      'crl.pem': pem(
        'X509 CRL',
        crl(m.pki.root, [parseCert(m.pki.device.der).serial]),
        crl(m.pki.device, []),
      ),
    }),
  ),
  invalid(
    'chain-revocation-required-missing',
    'chain',
    'indeterminate',
    'revocation',
    'revocation required but no CRL given',
    CHAIN_FILES,
    ['--require-revocation'],
    goodChain,
  ),

  // ---------------------------------------------------------------- invalid: roles
  invalid(
    'chain-device-id-mismatch',
    'chain',
    'failed',
    'roles.chain',
    "the leaf's role extension names another device than the device certificate",
    CHAIN_FILES,
    [],
    async ({ pki }) => {
      const k = await newKey('ecdsa-p256');
      const leaf = await issue(
        k,
        TIMESTAMP_DN,
        partitionTimestampTemplate(subject(k, TIMESTAMP_DN), issuerOf(pki.device), {
          deviceId: 'CORPUS-DEVICE-2',
          partitionId: PARTITION_ID,
        }),
        pki.device,
      );
      return {
        'input.pem': certs(leaf.der, pki.device.der, pki.root.der),
        'anchor.pem': certs(pki.root.der),
      };
    },
  ),
  invalid(
    'certificate-evidence-on-intermediate',
    'certificate',
    'failed',
    'roles.evidence-on-leaf',
    'the partition attestation certificate itself carries an evidence extension',
    CHAIN_FILES,
    SOFTWARE,
    async ({ pki }) => {
      const tbsEvidence = encodeTbsEvidence(
        evidenceElements({
          key: pki.keyInfo(pki.attestation.spki),
          deviceId: DEVICE_ID,
          attestationSigner: signerOf(pki.attestation),
          at: ATTESTED_AT,
          nonce: undefined,
        }),
      );
      const attestation = await issue(
        pki.attestation,
        ATTESTATION_DN,
        withExtensions(
          partitionAttestationTemplate(
            subject(pki.attestation, ATTESTATION_DN),
            issuerOf(pki.device),
            {
              deviceId: DEVICE_ID,
              partitionId: PARTITION_ID,
            },
          ),
          (list) => [...list, { oid: id_ce_keyEvidence, critical: false, value: tbsEvidence }],
        ),
        pki.device,
      );
      const chain = [attestation.der, pki.device.der, pki.root.der];
      const leaf = await pki.keyCertificate(attestation, chain);
      return { 'input.pem': certs(leaf.der, ...chain), 'anchor.pem': certs(pki.root.der) };
    },
  ),
  invalid(
    'certificate-partition-id-swapped',
    'certificate',
    'failed',
    'roles.ids',
    "the issuer's role extension names partition corpus-partition-2, the claims corpus-partition-1",
    CHAIN_FILES,
    SOFTWARE,
    async ({ pki }) => {
      const attestation = await issue(
        pki.attestation,
        ATTESTATION_DN,
        partitionAttestationTemplate(
          subject(pki.attestation, ATTESTATION_DN),
          issuerOf(pki.device),
          {
            deviceId: DEVICE_ID,
            partitionId: 'corpus-partition-2',
          },
        ),
        pki.device,
      );
      const chain = [attestation.der, pki.device.der, pki.root.der];
      const leaf = await pki.keyCertificate(attestation, chain);
      return { 'input.pem': certs(leaf.der, ...chain), 'anchor.pem': certs(pki.root.der) };
    },
  ),
  invalid(
    'certificate-key-not-attested',
    'certificate',
    'failed',
    'key.certificate-binding',
    'the certificate key is not the key its evidence extension describes',
    CHAIN_FILES,
    SOFTWARE,
    async ({ pki }) => {
      const chain = [pki.attestation.der, pki.device.der, pki.root.der];
      const described = await newKey('ecdsa-p256');
      const certified = await newKey('ecdsa-p256');
      const tbsEvidence = encodeTbsEvidence(
        evidenceElements({
          key: pki.keyInfo(described.spki),
          deviceId: DEVICE_ID,
          attestationSigner: signerOf(pki.attestation),
          at: ATTESTED_AT,
          nonce: undefined,
        }),
      );
      const leaf = await buildCertificate(
        {
          serialNumber: serial(),
          issuer: encodeName(ATTESTATION_DN),
          subject: encodeName(dn('attested key corpus-key')),
          notBefore: ATTESTED_AT,
          notAfter: new Date(ATTESTED_AT.getTime() + 24 * 3600_000),
          spki: certified.spki,
          extensions: [
            subjectKeyIdentifier(certified.spki),
            authorityKeyIdentifier(pki.attestation.spki),
            basicConstraints(false),
            keyUsage(['digitalSignature']),
            { oid: id_ce_keyEvidence, critical: false, value: tbsEvidence },
          ],
        },
        signerOf(pki.attestation),
      );
      return { 'input.pem': certs(leaf, ...chain), 'anchor.pem': certs(pki.root.der) };
    },
  ),
  invalid(
    'certificate-expired',
    'certificate',
    'failed',
    'path.validity',
    'the HSM key attestation certificate (valid 24 hours) validated a day later',
    CHAIN_FILES,
    ['--allow-software', '--at', '2025-06-02T01:00:00Z'],
    hsmCertificate((h) => h.keyCertificate),
  ),

  // ---------------------------------------------------------------- invalid: evidence
  invalid(
    'evidence-wrong-anchor',
    'evidence',
    'failed',
    'path.build',
    'good HSM evidence against a root that did not certify its device',
    EVIDENCE_FILES,
    SOFTWARE,
    ({ hsm, pki }) => ({
      'input.pem': pem('EVIDENCE', hsm.evidence),
      'anchor.pem': certs(pki.root.der),
    }),
  ),
  invalid(
    'evidence-attestation-key-expired',
    'evidence',
    'failed',
    'path.validity',
    'good HSM evidence validated in 2040, after the partition attestation certificate expired',
    EVIDENCE_FILES,
    ['--allow-software', '--at', '2040-01-01T00:00:00Z'],
    hsmEvidence((h) => h.evidence),
  ),
  invalid(
    'evidence-zero-signatures',
    'evidence',
    'failed',
    'evidence.signature',
    'the signature block removed: no signature means untrusted',
    EVIDENCE_FILES,
    SOFTWARE,
    ({ hsm }) => {
      const e = parseEvidence(hsm.evidence);
      return {
        'input.pem': pem('EVIDENCE', encodeEvidence(e.tbs.der, [], e.intermediateCertificates)),
        'anchor.pem': certs(hsm.root),
      };
    },
  ),
  invalid(
    'evidence-extra-signature',
    'evidence',
    'failed',
    'evidence.signature',
    'a second signature block, by a key that is not the certificate key, added',
    EVIDENCE_FILES,
    SOFTWARE,
    async ({ hsm }) => {
      const e = parseEvidence(hsm.evidence);
      const stranger = await newKey('ecdsa-p256');
      const bogus = encodeSignatureBlock({
        certificate: hsm.attestation,
        signatureAlgorithm: e.signatures[0]!.signatureAlgorithm,
        signature: signWith(stranger.key, stranger.algorithm, e.tbs.der),
      });
      return {
        'input.pem': pem(
          'EVIDENCE',
          encodeEvidence(e.tbs.der, [blockDer(e, 0), bogus], e.intermediateCertificates),
        ),
        'anchor.pem': certs(hsm.root),
      };
    },
  ),
  invalid(
    'evidence-signature-bit-flipped',
    'evidence',
    'failed',
    'evidence.signature',
    'one bit of the signature value flipped',
    EVIDENCE_FILES,
    SOFTWARE,
    ({ hsm }) => {
      const e = parseEvidence(hsm.evidence);
      const b = e.signatures[0]!;
      const signature = Uint8Array.from(b.signature);
      signature[signature.length - 5]! ^= 0x01;
      return {
        'input.pem': pem(
          'EVIDENCE',
          encodeEvidence(
            e.tbs.der,
            [encodeSignatureBlock({ ...b, signature })],
            e.intermediateCertificates,
          ),
        ),
        'anchor.pem': certs(hsm.root),
      };
    },
  ),
  invalid(
    'evidence-claim-altered',
    'evidence',
    'failed',
    'evidence.signature',
    'an extractable key made to claim extractable=false after signing',
    EVIDENCE_FILES,
    [...SOFTWARE, '--require', 'extractable=false'],
    ({ hsm }) => {
      const e = parseEvidence(hsm.evidenceExtractable);
      const tbs = encodeRawTbs(
        replaceClaim(e.tbs.elements, id_element.key, KEY_CLAIMS.extractable.oid, der.bool(false)),
      );
      return {
        'input.pem': pem(
          'EVIDENCE',
          encodeEvidence(tbs, [blockDer(e, 0)], e.intermediateCertificates),
        ),
        'anchor.pem': certs(hsm.root),
      };
    },
  ),
  invalid(
    'evidence-duplicate-key-elements',
    'evidence',
    'failed',
    'evidence.structure',
    'the key element repeated (same identifier), signed by the real attestation key',
    EVIDENCE_FILES,
    SOFTWARE,
    resigned((elements) => {
      const key = elements.find((e) => e.type === id_element.key)!;
      return [...elements, key];
    }),
  ),
  invalid(
    'evidence-ak-spki-mismatch',
    'evidence',
    'failed',
    'evidence.ak-spki',
    'ak-spki names the timestamp key while the attestation key signs',
    EVIDENCE_FILES,
    SOFTWARE,
    resigned((elements, h) =>
      replaceClaim(
        elements,
        id_element.transaction,
        TRANSACTION_CLAIMS.akSpki.oid,
        h.timestampSigner.spki,
      ),
    ),
  ),
  invalid(
    'evidence-signed-by-timestamp-key',
    'evidence',
    'failed',
    'roles.attestation-key',
    'evidence signed by the partition timestamp key, which is no attestation key',
    EVIDENCE_FILES,
    SOFTWARE,
    resigned(
      (elements, h) =>
        replaceClaim(
          elements,
          id_element.transaction,
          TRANSACTION_CLAIMS.akSpki.oid,
          h.timestampSigner.spki,
        ),
      (h) => h.timestampSigner,
      (h) => [h.timestamp, h.device, h.root],
    ),
  ),
  invalid(
    'evidence-trailing-bytes',
    'evidence',
    'unparseable',
    'evidence.structure',
    'one byte after the evidence inside its PEM block',
    EVIDENCE_FILES,
    SOFTWARE,
    hsmEvidence((h) => concatBytes(h.evidence, Uint8Array.of(0))),
  ),
  invalid(
    'evidence-nonce-mismatch',
    'evidence',
    'policy-failed',
    'freshness.nonce',
    'the transaction nonce differs from the one the relying party sent',
    EVIDENCE_FILES,
    [...SOFTWARE, '--nonce', OTHER_NONCE],
    hsmEvidence((h) => h.evidenceWithNonce),
  ),
  invalid(
    'evidence-nonce-missing',
    'evidence',
    'policy-failed',
    'freshness.nonce',
    'a nonce was sent but the evidence carries none',
    EVIDENCE_FILES,
    [...SOFTWARE, '--nonce', NONCE],
    hsmEvidence((h) => h.evidence),
  ),
  invalid(
    'evidence-extractable-key',
    'evidence',
    'policy-failed',
    'policy.attributes',
    'an extractable key under --require extractable=false',
    EVIDENCE_FILES,
    [...SOFTWARE, '--require', 'extractable=false'],
    hsmEvidence((h) => h.evidenceExtractable),
  ),
  invalid(
    'evidence-software-not-allowed',
    'evidence',
    'policy-failed',
    'policy.protection-class',
    'protection-class software without --allow-software',
    EVIDENCE_FILES,
    ['--at', AT],
    hsmEvidence((h) => h.evidence),
  ),
  invalid(
    'evidence-key-binding-mismatch',
    'evidence',
    'policy-failed',
    'key.binding',
    'the attested key is not the expected one',
    [...EVIDENCE_FILES, 'expect-spki.pem'],
    SOFTWARE,
    async (m) => ({
      ...hsmEvidence((h) => h.evidence)(m),
      'expect-spki.pem': publicKeyPem((await newKey('ecdsa-p256')).spki),
    }),
  ),
  invalid(
    'evidence-key-invalidated',
    'evidence',
    'policy-failed',
    'policy.key-state',
    'the key state claims invalidated, signed by the real attestation key',
    EVIDENCE_FILES,
    SOFTWARE,
    resigned((elements) =>
      replaceClaim(
        elements,
        id_element.key,
        KEY_CLAIMS.keyState.oid,
        Uint8Array.of(0x0a, 0x01, 0x01),
      ),
    ),
  ),

  // ---------------------------------------------------------------- invalid: command line
  invalid(
    'usage-no-file',
    'chain',
    'usage',
    null,
    'no FILE after the command',
    ['anchor.pem'],
    [],
    ({ pki }) => ({ 'anchor.pem': certs(pki.root.der) }),
  ),
  invalid(
    'usage-unknown-option',
    'chain',
    'usage',
    null,
    'an option the verifier does not know',
    CHAIN_FILES,
    ['--frobnicate'],
    goodChain,
  ),
  invalid(
    'usage-bad-at',
    'chain',
    'usage',
    null,
    '--at that is no ISO 8601 time',
    CHAIN_FILES,
    ['--at', 'yesterday'],
    goodChain,
  ),
  invalid(
    'usage-nonexistent-date',
    'chain',
    'usage',
    null,
    '--at on a day that does not exist (no silent roll-over to March)',
    CHAIN_FILES,
    ['--at', '2025-02-30T00:00:00Z'],
    goodChain,
  ),
];

/** Every case, without its builder: what the committed corpus must hold. */
export const CASES: readonly CaseSpec[] = DEFINITIONS.map(
  ({ set, name, description, files, args, expect }) => ({
    set,
    name,
    description,
    files,
    args,
    expect,
  }),
);

async function writeJson(path: string, value: unknown): Promise<void> {
  const options = (await prettier.resolveConfig(path)) ?? {};
  writeFileSync(path, await prettier.format(JSON.stringify(value), { ...options, filepath: path }));
}

/** Writes every case into `dir`/{valid,invalid}/NAME, replacing what was there. */
export async function generateCorpus(dir: string): Promise<void> {
  const pki = await buildPki();
  await withHsm(async (hsm) => {
    // The raw TbsEvidence encoder must reproduce the HSM's own encoding byte for byte.
    const e = parseEvidence(hsm.evidence);
    if (!bytesEqual(encodeRawTbs(e.tbs.elements), e.tbs.der)) {
      throw new Error('re-encoding the TbsEvidence does not reproduce it');
    }
    for (const set of ['valid', 'invalid'])
      rmSync(join(dir, set), { recursive: true, force: true });
    for (const c of DEFINITIONS) {
      const files = await c.build({ pki, hsm });
      const written = Object.keys(files).sort();
      if (written.join() !== [...c.files].sort().join()) {
        throw new Error(`${c.name}: built ${written.join()} but declares ${c.files.join()}`);
      }
      const folder = join(dir, c.set, c.name);
      mkdirSync(folder, { recursive: true });
      for (const [name, text] of Object.entries(files)) writeFileSync(join(folder, name), text);
      await writeJson(join(folder, 'args.json'), c.args);
      await writeJson(join(folder, 'expect.json'), c.expect);
    }
  });
}

/** The case folders present under `dir`, as set/name. */
export function casesOnDisk(dir: string): string[] {
  return ['valid', 'invalid'].flatMap((set) =>
    existsSync(join(dir, set)) ? readdirSync(join(dir, set)).map((n) => `${set}/${n}`) : [],
  );
}

// Time-stamp token fixtures: a test CA and TSA certificates built in process with node:crypto keys
// (including signers a real TSA refuses: a non-critical EKU, an expired certificate), tokens
// written by the TSA's own TokenTemplate over them, and runners for openssl and attestamp-verify.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { resolve } from 'node:path';
import type { Report } from '../../src/attestation/index.js';
import {
  authorityKeyIdentifier,
  basicConstraints,
  buildCertificate,
  der,
  encodeName,
  extKeyUsage,
  id_kp_timeStamping,
  id_sha256,
  id_tsaPolicyBaseline,
  keyUsage,
  randomSerial,
  subjectKeyIdentifier,
  type Signer,
} from '../../src/pki/index.js';
import { TokenTemplate } from '../../src/tsa/index.js';

const VERIFIER = resolve(import.meta.dirname, '../../dist/src/cli/attestamp-verify.js');

interface KeyPair {
  readonly privateKey: KeyObject;
  readonly spki: Uint8Array;
}

function p256(): KeyPair {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateKey: pair.privateKey,
    spki: new Uint8Array(pair.publicKey.export({ type: 'spki', format: 'der' })),
  };
}

/** A Signer over a node:crypto P-256 key: DER ECDSA-Sig-Value over SHA-256 of the bytes. */
function signerOf(key: KeyPair, certificateChain: readonly Uint8Array[]): Signer {
  return {
    algorithm: 'ecdsa-p256',
    spki: key.spki,
    certificateChain,
    sign: (tbs) => Promise.resolve(new Uint8Array(sign('sha256', tbs, key.privateKey))),
  };
}

const DAY = 86_400_000;

export interface TsaCertificateOptions {
  /** Whether id-kp-timeStamping is marked critical (RFC 3161 2.3 requires it); default true. */
  readonly ekuCritical?: boolean;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

/** A Signer that also hands out its private key, to sign tokens the TSA would not write. */
export type TestSigner = Signer & { readonly privateKey: KeyObject };

export interface TestCa {
  /** DER of the self-signed root. */
  readonly root: Uint8Array;
  readonly rootNotAfter: Date;
  /** Issues a P-256 TSA certificate under the root and returns a Signer for its key. */
  issueTsa(options?: TsaCertificateOptions): Promise<TestSigner>;
}

export async function createTestCa(
  options: { notBefore?: Date; notAfter?: Date } = {},
): Promise<TestCa> {
  const now = Date.now();
  const notBefore = options.notBefore ?? new Date(now - 30 * DAY);
  const notAfter = options.notAfter ?? new Date(now + 3650 * DAY);
  const rootKey = p256();
  const rootName = encodeName({ organization: 'attestamp tests', commonName: 'Token test root' });
  const issuer = signerOf(rootKey, []);
  const root = await buildCertificate(
    {
      serialNumber: randomSerial(randomBytes),
      issuer: rootName,
      subject: rootName,
      notBefore,
      notAfter,
      spki: rootKey.spki,
      extensions: [
        basicConstraints(true),
        keyUsage(['keyCertSign', 'cRLSign']),
        subjectKeyIdentifier(rootKey.spki),
      ],
    },
    issuer,
  );
  let count = 0;
  return {
    root,
    rootNotAfter: notAfter,
    async issueTsa(tsaOptions = {}) {
      const key = p256();
      const cert = await buildCertificate(
        {
          serialNumber: randomSerial(randomBytes),
          issuer: rootName,
          subject: encodeName({
            organization: 'attestamp tests',
            commonName: `Token test TSA ${++count}`,
          }),
          notBefore: tsaOptions.notBefore ?? new Date(now - DAY),
          notAfter: tsaOptions.notAfter ?? new Date(now + 365 * DAY),
          spki: key.spki,
          extensions: [
            basicConstraints(false),
            keyUsage(['digitalSignature']),
            extKeyUsage([id_kp_timeStamping], tsaOptions.ekuCritical ?? true),
            subjectKeyIdentifier(key.spki),
            authorityKeyIdentifier(rootKey.spki),
          ],
        },
        issuer,
      );
      return { ...signerOf(key, [cert]), privateKey: key.privateKey };
    },
  };
}

export function sha256(data: Uint8Array | string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

export interface StampOptions {
  readonly data: Uint8Array | string;
  /** GeneralizedTime text in DER form; default now, whole seconds. */
  readonly genTime?: string;
  readonly nonce?: Uint8Array;
  /** Carry the signer certificate in the token (default true). */
  readonly certReq?: boolean;
  /** Flip a bit of the ESSCertIDv2 certificate hash before the attributes are signed. */
  readonly wrongEssCertId?: boolean;
}

export function generalizedTimeNow(): string {
  return new Date()
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** A TimeStampResp (status granted) written by TokenTemplate and signed with the test key. */
export async function stampWith(signer: Signer, options: StampOptions): Promise<Uint8Array> {
  let effective = signer;
  if (options.wrongEssCertId === true) {
    const certHash = sha256(signer.certificateChain[0]!);
    effective = {
      ...signer,
      sign: (tbs) => {
        // The signed attributes are patched in place, so the token carries what was signed.
        const at = indexOf(tbs, certHash);
        if (at < 0) throw new Error('the ESSCertIDv2 hash is not in the signed attributes');
        tbs[at]! ^= 0x01;
        return signer.sign(tbs);
      },
    };
  }
  const template = new TokenTemplate({
    signer: effective,
    includeIssuers: false,
    accuracy: { seconds: 1, millis: 0, micros: 0 },
    qualified: false,
    includeTsaName: true,
  });
  const built = await template.build({
    policy: der.oid(id_tsaPolicyBaseline),
    messageImprint: der.seq(
      der.algorithmIdentifier(id_sha256),
      der.octetString(sha256(options.data)),
    ),
    serialNumber: der.integer(BigInt(`0x${randomBytes(8).toString('hex')}`) | 1n),
    genTime: options.genTime ?? generalizedTimeNow(),
    nonce: options.nonce,
    certReq: options.certReq ?? true,
  });
  return built.response;
}

/** Offset of the GeneralizedTime value (first digit) of the TSTInfo genTime in a token. */
export function genTimeOffset(token: Uint8Array): number {
  for (let i = 0; i + 17 < token.length; i++) {
    if (token[i] !== 0x18) continue;
    const length = token[i + 1]!;
    if (length < 15 || length > 24) continue;
    const text = new TextDecoder().decode(token.subarray(i + 2, i + 2 + length));
    if (/^\d{14}(\.\d+)?Z$/.test(text)) return i + 2;
  }
  throw new Error('no GeneralizedTime in the token');
}

/**
 * The token with genTime one second later in the TSTInfo (the signed attributes untouched).
 * Later, never earlier: an earlier time could precede a certificate issued just before.
 */
export function withAlteredGenTime(token: Uint8Array): Uint8Array {
  const out = Uint8Array.from(token);
  const at = genTimeOffset(out);
  const text = new TextDecoder().decode(out.subarray(at, at + 14));
  const iso = `${text.slice(0, 4)}-${text.slice(4, 6)}-${text.slice(6, 8)}T${text.slice(8, 10)}:${text.slice(10, 12)}:${text.slice(12, 14)}Z`;
  const later = new Date(Date.parse(iso) + 1000);
  const digits = later.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  out.set(new TextEncoder().encode(digits), at);
  return out;
}

/** The token with the last byte of the (last) SignerInfo signature flipped. */
export function withAlteredSignature(token: Uint8Array): Uint8Array {
  const out = Uint8Array.from(token);
  out[out.length - 1]! ^= 0x01;
  return out;
}

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** openssl with its stdout and stderr. */
export function openssl(args: readonly string[], cwd: string): Run {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** attestamp-verify ARGS as a subprocess, output as text. */
export function runVerifier(args: readonly string[], cwd: string): Run {
  const r = spawnSync(process.execPath, [VERIFIER, ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export interface Verified {
  readonly code: number;
  readonly report: Report;
  readonly stderr: string;
}

/** attestamp-verify ARGS --json as a subprocess (several may run at once). */
export function verifyJson(args: readonly string[], cwd: string): Promise<Verified> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [VERIFIER, ...args, '--json'], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', fail);
    child.on('close', (code) => {
      try {
        done({ code: code ?? -1, report: JSON.parse(stdout) as Report, stderr });
      } catch {
        fail(new Error(`attestamp-verify exited with ${String(code)} without a report: ${stderr}`));
      }
    });
  });
}

/** Ids of the failed checks, in report order. */
export function failedChecks(report: Report): string[] {
  return report.checks.filter((c) => c.status === 'fail').map((c) => c.id);
}

export function statusOf(report: Report, id: string): string | undefined {
  return report.checks.find((c) => c.id === id)?.status;
}

export function detailOf(report: Report, id: string): string | undefined {
  return report.checks.find((c) => c.id === id)?.detail;
}

// Every valid RFC 3161 token variant a foreign TSA may send verifies, with the variant reported
// as info findings; a tampered copy of each still fails. OpenSSL writes one token per TSA setting
// of `openssl ts -reply` (ordering, each accuracy part, tsa_name, ess_cert_id_alg, signer_digest,
// ess_cert_id_chain, RSA and ECDSA P-384 keys). What openssl ts cannot write (a
// subjectKeyIdentifier signer id, RSASSA-PSS, certificates in another order, ESSCertID with
// issuerSerial) is the same TSTInfo signed again in the test (helpers/cms-token.ts), checked by
// `openssl cms -verify` first; a wrong copy of each RFC rule must fail the check that rule names.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/attestation/index.js';
import { decodePemAll, der } from '../../src/pki/index.js';
import {
  contentInfoOf,
  editTstInfo,
  resignToken,
  tstInfoOf,
  type ResignOptions,
} from '../helpers/cms-token.js';
import { buildCa, run, stamp, type KeyKind, type TsaSettings } from '../helpers/openssl-tsa.js';
import { tempDir } from '../helpers/tmp.js';
import {
  detailOf,
  failedChecks,
  statusOf,
  verifyJson,
  withAlteredGenTime,
  withAlteredSignature,
  type Verified,
} from '../helpers/token-pki.js';
import { requireTool } from '../helpers/tools.js';

const skip = requireTool('openssl');

interface Expected {
  /** Info findings: id (after 'token.property.') to a pattern for its detail. */
  readonly info: Readonly<Record<string, RegExp>>;
  /** A subset of claims.properties. */
  readonly properties: Readonly<Record<string, unknown>>;
  /** Fields of claims.properties that must be absent (the report omits what the token lacks). */
  readonly absent?: readonly string[];
  /** Other checks and the status they must have. */
  readonly checks?: Readonly<Record<string, string>>;
}

interface OpensslVariant {
  readonly kind: KeyKind;
  readonly settings: TsaSettings;
  readonly expected: Expected;
}

const FULL_ACCURACY = 'secs:1, millisecs:500, microsecs:100';
const tsaName = (kind: KeyKind): string =>
  `directoryName O=attestamp interop, CN=OpenSSL test TSA ${kind}`;

const OPENSSL_VARIANTS: readonly OpensslVariant[] = [
  {
    kind: 'rsa',
    settings: { name: 'ordering', ordering: true, accuracy: FULL_ACCURACY },
    expected: {
      info: { ordering: /^ordering TRUE: tokens of this TSA may be ordered by genTime alone/ },
      properties: { ordering: true, accuracyParts: ['seconds', 'millis', 'micros'] },
      checks: { 'token.encoding': 'pass' },
    },
  },
  {
    kind: 'rsa',
    settings: { name: 'accuracy-secs', accuracy: 'secs:1' },
    expected: {
      info: { ordering: /^ordering FALSE \(absent\)$/, accuracy: /encoded: seconds\)$/ },
      properties: { ordering: false, accuracyParts: ['seconds'] },
    },
  },
  {
    kind: 'rsa',
    settings: { name: 'accuracy-millis', accuracy: 'millisecs:500' },
    expected: {
      info: { accuracy: /^seconds 0, millis 500, micros 0 \(encoded: millis\)$/ },
      properties: { accuracyParts: ['millis'] },
    },
  },
  {
    kind: 'rsa',
    settings: { name: 'accuracy-micros', accuracy: 'microsecs:100' },
    expected: {
      info: { accuracy: /^seconds 0, millis 0, micros 100 \(encoded: micros\)$/ },
      properties: { accuracyParts: ['micros'] },
    },
  },
  {
    kind: 'rsa',
    settings: { name: 'accuracy-none' },
    expected: { info: { accuracy: /^no accuracy/ }, properties: { accuracyParts: [] } },
  },
  {
    kind: 'rsa',
    settings: { name: 'tsa-name-yes', tsaName: true, accuracy: FULL_ACCURACY },
    expected: {
      info: { 'tsa-name': new RegExp(`^tsa name ${tsaName('rsa')}$`) },
      properties: { tsaName: tsaName('rsa') },
      checks: { 'token.tsa-name': 'pass' },
    },
  },
  {
    kind: 'rsa',
    settings: { name: 'tsa-name-no', tsaName: false, accuracy: FULL_ACCURACY },
    expected: {
      info: { 'tsa-name': /^no tsa name$/ },
      properties: {},
      absent: ['tsaName'],
      checks: { 'token.tsa-name': 'skip' },
    },
  },
  {
    kind: 'rsa',
    settings: { name: 'ess-sha1', essCertIdAlg: 'sha1' },
    expected: {
      info: {
        'ess-cert-id': /^signingCertificate \(ESSCertID v1\): 1 certificate id\(s\), hash sha1/,
      },
      properties: { essCertIds: [expect.objectContaining({ version: 'v1', hash: 'sha1' })] },
      checks: { 'token.ess-cert-id': 'pass' },
    },
  },
  {
    kind: 'rsa',
    settings: { name: 'ess-sha256', essCertIdAlg: 'sha256' },
    expected: {
      info: {
        'ess-cert-id': /^signingCertificateV2 \(ESSCertID v2\): 1 certificate id\(s\), hash sha256/,
      },
      properties: { essCertIds: [expect.objectContaining({ version: 'v2', hash: 'sha256' })] },
    },
  },
  {
    kind: 'rsa',
    settings: { name: 'ess-sha384-digest-sha384', essCertIdAlg: 'sha384', signerDigest: 'sha384' },
    expected: {
      info: {
        'ess-cert-id': /hash sha384/,
        'signature-algorithm': /^RSA PKCS#1 v1\.5 with SHA-384.*; digest algorithm sha384$/,
      },
      properties: {
        essCertIds: [expect.objectContaining({ version: 'v2', hash: 'sha384' })],
        digestAlgorithm: 'sha384',
      },
    },
  },
  {
    kind: 'rsa',
    settings: { name: 'ess-sha512-digest-sha512', essCertIdAlg: 'sha512', signerDigest: 'sha512' },
    expected: {
      info: { 'ess-cert-id': /hash sha512/, 'signature-algorithm': /SHA-512/ },
      properties: { digestAlgorithm: 'sha512' },
    },
  },
  {
    kind: 'rsa',
    settings: { name: 'ess-chain', essCertIdChain: true, carryIntermediate: true },
    expected: {
      // The TSA certificate and the intermediate, the signer's first (RFC 5035 5.4).
      info: {
        'ess-cert-id': /2 certificate id\(s\)/,
        certificates: /^2 certificate\(s\) in the token; the signer certificate is number 1$/,
      },
      properties: {
        essCertIds: [expect.objectContaining({ count: 2 })],
        certificates: 2,
      },
    },
  },
  {
    kind: 'ecdsa-p384',
    settings: { name: 'p384', signerDigest: 'sha384', accuracy: FULL_ACCURACY },
    expected: {
      info: { 'signature-algorithm': /^ECDSA with SHA384; digest algorithm sha384$/ },
      properties: { signerKey: 'EC P-384' },
    },
  },
  {
    kind: 'ecdsa-p384',
    settings: { name: 'p384-v1-ordering', essCertIdAlg: 'sha1', ordering: true },
    expected: {
      info: { ordering: /^ordering TRUE/, 'ess-cert-id': /ESSCertID v1/ },
      properties: { ordering: true, signerKey: 'EC P-384' },
    },
  },
];

interface BuiltVariant {
  readonly name: string;
  readonly kind: KeyKind;
  /** The openssl token whose TSTInfo is signed again, and so its query too. */
  readonly base: string;
  readonly options: (pki: Pki) => Omit<ResignOptions, 'key' | 'signerCert'>;
  /** Extra verifier arguments (default: --certs int.pem). */
  readonly args?: readonly string[];
  readonly expected: Expected;
}

interface Pki {
  readonly key: KeyObject;
  readonly root: Uint8Array;
  readonly int: Uint8Array;
  readonly tsa: Uint8Array;
}

const BUILT_VARIANTS: readonly BuiltVariant[] = [
  {
    name: 'ski',
    kind: 'rsa',
    base: 'tsa-name-yes',
    options: (p) => ({ certificates: [p.tsa], sid: 'ski', signature: 'pkcs1', ess: 'v2' }),
    expected: {
      info: { 'signer-id': /^subjectKeyIdentifier [0-9a-f]{40}$/ },
      properties: { signerId: 'subjectKeyIdentifier' },
      checks: { 'token.tsa-name': 'pass' },
    },
  },
  {
    name: 'pss',
    kind: 'rsa',
    base: 'tsa-name-yes',
    options: (p) => ({
      certificates: [p.tsa],
      sid: 'issuer-serial',
      signature: 'pss',
      ess: 'v2',
    }),
    expected: {
      info: {
        'signature-algorithm': /^RSASSA-PSS with SHA-256, MGF1 with SHA-256, salt length 32;/,
        'signer-id': /^issuerAndSerialNumber, serial 2b02$/,
      },
      properties: { signerId: 'issuerAndSerialNumber' },
    },
  },
  {
    name: 'pss-ski-sha384-issuer-serial',
    kind: 'rsa',
    base: 'ordering',
    options: (p) => ({
      certificates: [p.tsa],
      sid: 'ski',
      signature: 'pss',
      digest: 'sha384',
      ess: 'v2',
      essHash: 'sha384',
      issuerSerial: true,
      algorithmProtection: 'match',
    }),
    expected: {
      info: {
        'signature-algorithm': /^RSASSA-PSS with SHA-384, MGF1 with SHA-384, salt length 48;/,
        'ess-cert-id': /hash sha384, with issuerSerial$/,
        ordering: /^ordering TRUE/,
      },
      properties: { signerId: 'subjectKeyIdentifier' },
      checks: { 'token.algorithm-protection': 'pass' },
    },
  },
  {
    name: 'v1-ski-issuer-serial',
    kind: 'rsa',
    base: 'accuracy-none',
    options: (p) => ({
      certificates: [p.tsa],
      sid: 'ski',
      signature: 'pkcs1',
      ess: 'v1',
      issuerSerial: true,
    }),
    expected: {
      info: { 'ess-cert-id': /^signingCertificate \(ESSCertID v1\).*with issuerSerial$/ },
      properties: { essCertIds: [expect.objectContaining({ version: 'v1', hash: 'sha1' })] },
    },
  },
  {
    name: 'shuffled',
    kind: 'rsa',
    base: 'accuracy-secs',
    // The chain in the token, root first and the signer last: nothing from --certs.
    options: (p) => ({
      certificates: [p.root, p.int, p.tsa],
      sid: 'issuer-serial',
      signature: 'pkcs1',
      ess: 'v2',
    }),
    args: [],
    expected: {
      info: {
        certificates: /^3 certificate\(s\) in the token; the signer certificate is number 3$/,
      },
      properties: { certificates: 3 },
    },
  },
  {
    name: 'p384-ski-shuffled',
    kind: 'ecdsa-p384',
    base: 'p384',
    options: (p) => ({
      certificates: [p.int, p.tsa],
      sid: 'ski',
      signature: 'ecdsa',
      digest: 'sha384',
      ess: 'v2',
      essHash: 'sha512',
    }),
    args: [],
    expected: {
      info: {
        'signature-algorithm': /^ECDSA with SHA384;/,
        'signer-id': /^subjectKeyIdentifier /,
        certificates: /number 2$/,
      },
      properties: { signerKey: 'EC P-384', signerId: 'subjectKeyIdentifier' },
    },
  },
];

/** Tokens that break one rule each, and the one check that must fail. */
interface BrokenVariant {
  readonly name: string;
  /** What the rule says, for the test name. */
  readonly rule: string;
  readonly base: string;
  readonly options: (pki: Pki, base: Uint8Array) => Omit<ResignOptions, 'key' | 'signerCert'>;
  readonly args?: readonly string[];
  readonly failed: readonly string[];
  readonly exitCode?: number;
}

const pkcs1 = (p: Pki) =>
  ({ certificates: [p.tsa], sid: 'issuer-serial', signature: 'pkcs1', ess: 'v2' }) as const;

/** Offset of the first occurrence of `needle` in `haystack`. */
function find(haystack: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(haystack).indexOf(Buffer.from(needle));
}

const BROKEN_VARIANTS: readonly BrokenVariant[] = [
  {
    name: 'ess-v2-hash',
    rule: 'RFC 5035 5.4: the ESSCertIDv2 hash names the signer',
    base: 'tsa-name-yes',
    options: (p) => ({ ...pkcs1(p), wrongEssHash: true }),
    failed: ['token.ess-cert-id'],
  },
  {
    name: 'ess-v1-hash',
    rule: 'RFC 2634 5.4: the ESSCertID SHA-1 hash names the signer',
    base: 'tsa-name-yes',
    options: (p) => ({ ...pkcs1(p), ess: 'v1', wrongEssHash: true }),
    failed: ['token.ess-cert-id'],
  },
  {
    name: 'ess-issuer-serial',
    rule: 'RFC 5035 4: issuerSerial names the signer',
    base: 'tsa-name-yes',
    options: (p) => ({ ...pkcs1(p), issuerSerial: 'wrong' }),
    failed: ['token.ess-cert-id'],
  },
  {
    name: 'ski-unknown',
    rule: 'RFC 5652 5.3: the signer id names the signer certificate',
    base: 'tsa-name-yes',
    options: (p) => ({ ...pkcs1(p), sid: 'ski', ski: new Uint8Array(20).fill(7) }),
    failed: ['token.signer'],
  },
  {
    name: 'ski-version-1',
    rule: 'RFC 5652 5.3: a subjectKeyIdentifier signer id makes SignerInfo version 3',
    base: 'tsa-name-yes',
    options: (p) => ({ ...pkcs1(p), sid: 'ski', signerInfoVersion: 1 }),
    failed: ['token.content-type'],
  },
  {
    name: 'pss-salt',
    rule: 'RFC 4055 3.1: the PSS parameters are those the signature was made with',
    base: 'tsa-name-yes',
    options: (p) => ({ ...pkcs1(p), signature: 'pss', pssSalt: 32, declaredPssSalt: 20 }),
    failed: ['token.signature'],
  },
  {
    name: 'algorithm-protection',
    rule: 'RFC 6211 2: CMSAlgorithmProtection names the SignerInfo algorithms',
    base: 'tsa-name-yes',
    options: (p) => ({ ...pkcs1(p), algorithmProtection: 'wrong-digest' }),
    failed: ['token.algorithm-protection'],
  },
  {
    name: 'tsa-name',
    rule: "RFC 3161 2.4.2: the tsa name is one of the signer certificate's names",
    base: 'tsa-name-yes',
    options: (p, base) => {
      const tst = Uint8Array.from(tstInfoOf(base));
      const at = find(tst, new TextEncoder().encode('OpenSSL test TSA'));
      tst[at + 13]! ^= 0x01; // 'TSA' becomes 'USA', in the tsa name only
      return { ...pkcs1(p), tstInfo: tst };
    },
    failed: ['token.tsa-name'],
  },
  {
    name: 'ordering-false',
    rule: 'X.690 11.5: ordering FALSE (the DEFAULT) is not encoded',
    base: 'accuracy-secs',
    options: (p, base) => ({
      ...pkcs1(p),
      // accuracy, then ordering FALSE, then the nonce and tsa
      tstInfo: editTstInfo(tstInfoOf(base), ([accuracy, ...rest]) => [
        accuracy!,
        der.bool(false),
        ...rest,
      ]),
    }),
    failed: ['token.encoding'],
  },
  {
    name: 'accuracy-millis-zero',
    rule: 'RFC 3161 2.4.2: millis is INTEGER (1..999)',
    base: 'accuracy-secs',
    options: (p, base) => ({
      ...pkcs1(p),
      tstInfo: editTstInfo(tstInfoOf(base), ([, ...rest]) => [
        der.seq(der.integer(1), der.contextPrimitive(0, Uint8Array.of(0))),
        ...rest,
      ]),
    }),
    failed: ['token.encoding'],
  },
  {
    name: 'fields-out-of-order',
    rule: 'RFC 3161 2.4.2: TSTInfo fields in SEQUENCE order',
    base: 'ordering',
    options: (p, base) => ({
      ...pkcs1(p),
      // accuracy, nonce, ordering, tsa: the nonce moved before ordering
      tstInfo: editTstInfo(tstInfoOf(base), ([accuracy, ordering, nonce, ...rest]) => [
        accuracy!,
        nonce!,
        ordering!,
        ...rest,
      ]),
    }),
    failed: ['token.structure'],
    exitCode: 64,
  },
  {
    name: 'cert-req-without-signer',
    rule: 'RFC 3161 2.4.1: certReq TRUE puts the signer certificate in the token',
    base: 'tsa-name-yes',
    options: (p) => ({ ...pkcs1(p), certificates: [p.int] }),
    args: ['--certs', 'bundle.pem'],
    failed: ['token.request'],
  },
];

describe.skipIf(skip)('foreign tokens: every valid RFC 3161 variant verifies', () => {
  const dirs = new Map<KeyKind, string>();
  const pkis = new Map<KeyKind, Pki>();
  const dir = (kind: KeyKind): string => dirs.get(kind)!;

  beforeAll(() => {
    const top = tempDir();
    for (const kind of ['rsa', 'ecdsa-p384'] as const) {
      const cwd = join(top, kind);
      mkdirSync(cwd);
      dirs.set(kind, cwd);
      writeFileSync(join(cwd, 'doc.txt'), `attestamp foreign token variants (${kind})\n`);
      buildCa(cwd, kind);
      writeFileSync(
        join(cwd, 'cafile.pem'),
        readFileSync(join(cwd, 'root.pem'), 'utf8') + readFileSync(join(cwd, 'int.pem'), 'utf8'),
      );
      const cert = (name: string): Uint8Array =>
        decodePemAll(readFileSync(join(cwd, `${name}.pem`), 'utf8'))[0]!.der;
      pkis.set(kind, {
        key: createPrivateKey(readFileSync(join(cwd, 'tsa.key'))),
        root: cert('root'),
        int: cert('int'),
        tsa: cert('tsa'),
      });
    }
    for (const v of OPENSSL_VARIANTS) stamp(dir(v.kind), v.settings);
  }, 120_000);

  const verify = (
    cwd: string,
    stem: string,
    query: string,
    args: readonly string[] = ['--certs', 'int.pem'],
  ): Promise<Verified> =>
    verifyJson(
      [
        'token',
        '--token',
        `${stem}.tsr`,
        '--data',
        'doc.txt',
        '--anchor',
        'root.pem',
        '--request',
        `${query}.tsq`,
        ...args,
      ],
      cwd,
    );

  function expectProperties(report: Report, expected: Expected): void {
    expect(failedChecks(report)).toEqual([]);
    for (const [id, pattern] of Object.entries(expected.info)) {
      expect(statusOf(report, `token.property.${id}`), id).toBe('info');
      expect(detailOf(report, `token.property.${id}`), id).toMatch(pattern);
    }
    expect(report.claims.properties).toMatchObject(expected.properties);
    for (const name of expected.absent ?? [])
      expect(report.claims.properties, name).not.toHaveProperty(name);
    for (const [id, status] of Object.entries(expected.checks ?? {}))
      expect(statusOf(report, id), id).toBe(status);
    // Properties are information, never a verdict.
    for (const c of report.checks.filter((c) => c.id.startsWith('token.property.')))
      expect(c.status).toBe('info');
  }

  /** The token verifies (exit 0); with genTime moved or the signature changed it fails (exit 1). */
  async function verifyWithTampered(
    cwd: string,
    stem: string,
    query: string,
    expected: Expected,
    args?: readonly string[],
  ): Promise<void> {
    const token = new Uint8Array(readFileSync(join(cwd, `${stem}.tsr`)));
    writeFileSync(join(cwd, `${stem}-time.tsr`), withAlteredGenTime(token));
    writeFileSync(join(cwd, `${stem}-sig.tsr`), withAlteredSignature(token));
    const [ok, time, sig] = await Promise.all([
      verify(cwd, stem, query, args),
      verify(cwd, `${stem}-time`, query, args),
      verify(cwd, `${stem}-sig`, query, args),
    ]);
    expect(ok.stderr).toBe('');
    expectProperties(ok.report, expected);
    expect(ok.code).toBe(0);
    expect(ok.report.outcome).toBe('verified');
    expect([time.code, failedChecks(time.report)]).toEqual([1, ['token.message-digest']]);
    expect([sig.code, failedChecks(sig.report)]).toEqual([1, ['token.signature']]);
  }

  describe('made by openssl ts -reply, one TSA setting at a time', () => {
    it.each(OPENSSL_VARIANTS.map((v) => [`${v.kind} ${v.settings.name}`, v] as const))(
      '%s: verifies (exit 0) with its properties as info; tampered, fails (exit 1)',
      async (_name, v) => {
        await verifyWithTampered(dir(v.kind), v.settings.name, v.settings.name, v.expected);
      },
    );
  });

  describe('signed again in the test where openssl ts cannot', () => {
    function build(v: { name: string; base: string }, kind: KeyKind, options: ResignOptions): void {
      writeFileSync(join(dir(kind), `${v.name}.tsr`), resignToken(readBase(kind, v.base), options));
    }
    const readBase = (kind: KeyKind, base: string): Uint8Array =>
      new Uint8Array(readFileSync(join(dir(kind), `${base}.tsr`)));

    it.each(BUILT_VARIANTS.map((v) => [`${v.kind} ${v.name}`, v] as const))(
      '%s: OpenSSL CMS accepts it; verifies (exit 0) with its properties as info; tampered, fails',
      async (_name, v) => {
        const pki = pkis.get(v.kind)!;
        const cwd = dir(v.kind);
        build(v, v.kind, { key: pki.key, signerCert: pki.tsa, ...v.options(pki) });
        // OpenSSL's CMS code checks the signature, messageDigest and the chain with the
        // time-stamping purpose (openssl ts -verify reads PKCS#7, which has no SKI signer id).
        // openssl cms 3.0 has no -untrusted, so the intermediate comes with the CA file.
        writeFileSync(
          join(cwd, `${v.name}.p7`),
          contentInfoOf(new Uint8Array(readFileSync(join(cwd, `${v.name}.tsr`)))),
        );
        run(
          [
            'cms',
            '-verify',
            '-binary',
            '-inform',
            'DER',
            '-in',
            `${v.name}.p7`,
            '-CAfile',
            'cafile.pem',
            '-purpose',
            'timestampsign',
            '-out',
            `${v.name}.tst`,
          ],
          cwd,
        );
        await verifyWithTampered(cwd, v.name, v.base, v.expected, v.args);
      },
    );

    it.each(BROKEN_VARIANTS.map((v) => [v.rule, v] as const))(
      '%s, or the check fails',
      async (_rule, v) => {
        const pki = pkis.get('rsa')!;
        const base = readBase('rsa', v.base);
        build(v, 'rsa', { key: pki.key, signerCert: pki.tsa, ...v.options(pki, base) });
        const { code, report } = await verify(dir('rsa'), v.name, v.base, v.args);
        expect(failedChecks(report)).toEqual(v.failed);
        expect(code).toBe(v.exitCode ?? 1);
      },
    );
  });
});

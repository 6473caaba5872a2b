// inspectToken in process: the TimeStampResp status, bare tokens, data against digest input, and
// what the verifier's command line refuses before the library sees it (exit 64).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { inspectToken, parseCert, type Report } from '../../../src/attestation/index.js';
import { Findings } from '../../../src/attestation/report.js';
import { verifyMain } from '../../../src/cli/verify.js';
import { der, derReader } from '../../../src/pki/index.js';
import { buildRejection } from '../../../src/tsa/index.js';
import {
  editTstInfo,
  resignToken,
  tstInfoOf,
  type ResignOptions,
} from '../../helpers/cms-token.js';
import { tempDir } from '../../helpers/tmp.js';
import {
  createTestCa,
  failedChecks,
  sha256,
  stampWith,
  statusOf,
  detailOf,
  type TestCa,
  type TestSigner,
} from '../../helpers/token-pki.js';
import { children } from '../../helpers/tsq.js';

const DATA = new TextEncoder().encode('attestamp token, unit level\n');

let ca: TestCa;
let signer: TestSigner;
let response: Uint8Array;

beforeAll(async () => {
  ca = await createTestCa();
  signer = await ca.issueTsa();
  response = await stampWith(signer, { data: DATA });
});

function inspect(token: Uint8Array, input: Record<string, unknown> = { data: DATA }) {
  return inspectToken(token, {
    anchors: { certificates: [ca.root], sha256: [] },
    at: new Date(),
    ...input,
  });
}

function expectVerified(report: Report): void {
  expect(failedChecks(report)).toEqual([]);
  expect(report.outcome).toBe('verified');
  expect(report.exitCode).toBe(0);
}

describe('inspectToken: the response around the token', () => {
  it('passes token.status for a granted TimeStampResp', async () => {
    const report = await inspect(response);
    expectVerified(report);
    expect(statusOf(report, 'token.status')).toBe('pass');
    expect(detailOf(report, 'token.status')).toBe('status granted');
  });

  it('fails token.status for a rejection, with its status and text (exit 1)', async () => {
    const report = await inspect(buildRejection('badAlg', 'unsupported hash'));
    expect(failedChecks(report)).toEqual(['token.status']);
    expect(detailOf(report, 'token.status')).toBe('the TSA refused: status 2 (unsupported hash)');
    expect(report.outcome).toBe('failed');
    expect(report.exitCode).toBe(1);
    // Nothing else is claimed about a token that is not there.
    expect(statusOf(report, 'token.signature')).toBeUndefined();
  });

  it('accepts a bare token (the ContentInfo without the status) and skips token.status', async () => {
    const contentInfo = children(response)[1]!.bytes;
    expect(contentInfo[0]).toBe(0x30);
    const report = await inspect(contentInfo);
    expectVerified(report);
    expect(statusOf(report, 'token.status')).toBe('skip');
    expect(statusOf(report, 'token.signature')).toBe('pass');
  });

  it('reports a granted status without a token, or bytes that are no token, as unparseable (64)', async () => {
    const grantedEmpty = der.seq(der.seq(der.integer(0)));
    for (const bytes of [grantedEmpty, Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00, 0x00)]) {
      const report = await inspect(bytes);
      expect(failedChecks(report)).toEqual(['token.structure']);
      expect(report.outcome).toBe('unparseable');
      expect(report.exitCode).toBe(64);
    }
  });
});

describe('inspectToken: one representation per kind of value in the claims', () => {
  it('genTime as ISO 8601 with its precision, serial in decimal and hex, nonce without its sign byte', async () => {
    const token = await stampWith(signer, {
      data: DATA,
      genTime: '20261201064352.142Z',
      // 0x80 first: DER puts a 00 sign byte before it (X.690 8.3.2).
      nonce: Uint8Array.of(0x00, 0x80, 0x01),
    });
    const report = await inspect(token, { data: DATA, atOverride: new Date() });
    const claims = report.claims as Record<string, unknown>;
    expect(claims.genTime).toBe('2026-12-01T06:43:52.142Z');
    expect(claims.nonce).toBe('8001');
    expect(claims.serial).toMatch(/^[1-9]\d*$/);
    expect(BigInt(claims.serial as string)).toBe(BigInt(`0x${claims.serialHex as string}`));
    expect(claims.serialHex).toMatch(/^([0-9a-f]{2})+$/);
    // The template encodes seconds only: the absent millis and micros are absent, not 0.
    expect(claims.accuracy).toEqual({ seconds: 1 });
  });

  it('leaves out what the token does not carry: no nonce, no accuracy, no tsa name', async () => {
    const cert = signer.certificateChain[0]!;
    const bare = resignToken(response, {
      key: signer.privateKey,
      signerCert: cert,
      certificates: [cert],
      sid: 'issuer-serial',
      signature: 'ecdsa',
      ess: 'v2',
      tstInfo: editTstInfo(tstInfoOf(response), (fields) =>
        fields.filter((f) => f[0] !== 0x30 && f[0] !== 0xa0),
      ),
    });
    const report = await inspect(bare);
    expect(report.claims).not.toHaveProperty('nonce');
    expect(report.claims).not.toHaveProperty('accuracy');
    expect(report.claims.properties).not.toHaveProperty('tsaName');
  });
});

describe('inspectToken: the token properties as info findings', () => {
  it('an info finding never changes the outcome or the exit code', () => {
    const f = new Findings();
    f.info('token.property.ordering', 'ordering TRUE');
    f.pass('token.signature', 'ok');
    expect(f.report(undefined, {})).toMatchObject({ outcome: 'verified', exitCode: 0 });
    f.fail('token.imprint', 'crypto', 'differs');
    f.info('token.property.accuracy', 'no accuracy');
    expect(f.report(undefined, {})).toMatchObject({ outcome: 'failed', exitCode: 1 });
  });

  it("reports the template's token: full accuracy, no ordering, tsa name, ESSCertIDv2, ECDSA", async () => {
    const report = await inspect(response);
    expectVerified(report);
    const info = Object.fromEntries(
      report.checks.filter((c) => c.status === 'info').map((c) => [c.id, c.detail]),
    );
    expect(Object.keys(info).sort()).toEqual(
      [
        'accuracy',
        'certificates',
        'ess-cert-id',
        'ordering',
        'signature-algorithm',
        'signer-id',
        'tsa-name',
      ].map((p) => `token.property.${p}`),
    );
    expect(info['token.property.ordering']).toBe('ordering FALSE (absent)');
    expect(info['token.property.accuracy']).toBe(
      'seconds 1, millis 0, micros 0 (encoded: seconds)',
    );
    expect(info['token.property.tsa-name']).toMatch(
      /^tsa name directoryName O=attestamp tests, CN=Token test TSA/,
    );
    expect(info['token.property.signature-algorithm']).toBe(
      'ECDSA with SHA256; digest algorithm sha256',
    );
    expect(statusOf(report, 'token.tsa-name')).toBe('pass');
    expect(statusOf(report, 'token.algorithm-protection')).toBe('pass');
    expect(report.claims.properties).toMatchObject({
      ordering: false,
      accuracyParts: ['seconds'],
      signerId: 'issuerAndSerialNumber',
      essCertIds: [{ version: 'v2', hash: 'sha256', count: 1, issuerSerial: true }],
      signerKey: 'EC P-256',
    });
  });
});

// The template's token signed again in process, with the fields other TSAs write (the interop
// tests do the same with OpenSSL's tokens); these run where openssl is not installed.
describe('inspectToken: valid variants from other TSAs, and the rules they must keep', () => {
  type Edit = (optional: Uint8Array[]) => Uint8Array[];
  const tsaCert = (): Uint8Array => signer.certificateChain[0]!;

  function resign(options: Partial<ResignOptions> = {}): Uint8Array {
    return resignToken(response, {
      key: signer.privateKey,
      signerCert: tsaCert(),
      certificates: [tsaCert()],
      sid: 'issuer-serial',
      signature: 'ecdsa',
      ess: 'v2',
      ...options,
    });
  }
  /** The template's TSTInfo has accuracy and tsa after genTime (no nonce was asked for). */
  const withFields = (edit: Edit, options: Partial<ResignOptions> = {}): Uint8Array =>
    resign({ ...options, tstInfo: editTstInfo(tstInfoOf(response), edit) });
  const tsaOf = (names: Uint8Array): Uint8Array => der.contextConstructed(0, names);
  const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));
  const directoryName = (): Uint8Array => der.contextConstructed(4, parseCert(tsaCert()).subject);

  function property(report: Report, name: string): string | undefined {
    expect(statusOf(report, `token.property.${name}`), name).toBe('info');
    return detailOf(report, `token.property.${name}`);
  }

  it.each<[string, () => Uint8Array, string, string | RegExp]>([
    [
      'ordering TRUE',
      () => withFields(([accuracy, tsa]) => [accuracy!, der.bool(true), tsa!]),
      'ordering',
      /^ordering TRUE: /,
    ],
    [
      'accuracy of seconds only',
      () => withFields(([, tsa]) => [der.seq(der.integer(2)), tsa!]),
      'accuracy',
      'seconds 2, millis 0, micros 0 (encoded: seconds)',
    ],
    [
      'accuracy of millis only',
      () =>
        withFields(([, tsa]) => [
          der.seq(der.contextPrimitive(0, Uint8Array.of(0x01, 0xf4))),
          tsa!,
        ]),
      'accuracy',
      'seconds 0, millis 500, micros 0 (encoded: millis)',
    ],
    [
      'accuracy of micros only',
      () => withFields(([, tsa]) => [der.seq(der.contextPrimitive(1, Uint8Array.of(100))), tsa!]),
      'accuracy',
      'seconds 0, millis 0, micros 100 (encoded: micros)',
    ],
    ['no accuracy', () => withFields(([, tsa]) => [tsa!]), 'accuracy', /^no accuracy/],
    [
      'an empty accuracy (zero: no RFC forbids it)',
      () => withFields(([, tsa]) => [der.seq(), tsa!]),
      'accuracy',
      'seconds 0, millis 0, micros 0 (encoded: none): a zero accuracy, the TSA claims its time is exact',
    ],
    ['no tsa name', () => withFields(([accuracy]) => [accuracy!]), 'tsa-name', 'no tsa name'],
    [
      'a subjectKeyIdentifier signer id, ESSCertID v1 with issuerSerial, the signer last',
      () =>
        resign({ sid: 'ski', ess: 'v1', issuerSerial: true, certificates: [ca.root, tsaCert()] }),
      'certificates',
      '2 certificate(s) in the token; the signer certificate is number 2',
    ],
    [
      'ESSCertIDv2 over SHA-512 with issuerSerial and CMSAlgorithmProtection',
      () => resign({ essHash: 'sha512', issuerSerial: true, algorithmProtection: 'match' }),
      'ess-cert-id',
      'signingCertificateV2 (ESSCertID v2): 1 certificate id(s), hash sha512, with issuerSerial',
    ],
    [
      'ECDSA over SHA-384 on the P-256 key',
      () => resign({ digest: 'sha384' }),
      'signature-algorithm',
      'ECDSA with SHA384; digest algorithm sha384',
    ],
  ])('accepts %s and reports it as info', async (_name, token, name, detail) => {
    const report = await inspect(token());
    expectVerified(report);
    if (typeof detail === 'string') expect(property(report, name)).toBe(detail);
    else expect(property(report, name)).toMatch(detail);
  });

  it('matches a tsa name written with other string types, case and spacing as the subject (RFC 5280 7.1)', async () => {
    // The subject again, each value as an upper-case PrintableString with doubled spaces.
    const subject = parseCert(tsaCert()).subject;
    const rdns = derReader.childrenOf(subject, derReader.readTlv(subject, 0)).map((rdn) =>
      der.tlv(
        0x31,
        ...derReader.childrenOf(subject, rdn).map((ava) => {
          const [type, value] = derReader.childrenOf(subject, ava);
          const text = new TextDecoder()
            .decode(derReader.contentOf(subject, value!))
            .toUpperCase()
            .replace(/ /g, '  ');
          return der.seq(
            derReader.encodingOf(subject, type!),
            der.tlv(0x13, new TextEncoder().encode(` ${text} `)),
          );
        }),
      ),
    );
    const respelled = der.contextConstructed(4, der.seq(...rdns));
    expect(Buffer.from(respelled).equals(Buffer.from(directoryName()))).toBe(false);
    const report = await inspect(withFields(([accuracy]) => [accuracy!, tsaOf(respelled)]));
    expectVerified(report);
    expect(statusOf(report, 'token.tsa-name')).toBe('pass');
  });

  it('reports a subjectKeyIdentifier signer id and checks the tsa name against the subject', async () => {
    const report = await inspect(resign({ sid: 'ski' }));
    expectVerified(report);
    expect(property(report, 'signer-id')).toMatch(/^subjectKeyIdentifier [0-9a-f]{40}$/);
    expect(statusOf(report, 'token.tsa-name')).toBe('pass');
    expect(report.claims.properties).toMatchObject({ signerId: 'subjectKeyIdentifier' });
  });

  it.each<[string, () => Uint8Array, string, number]>([
    [
      'RFC 3161 2.4.2: a tsa name the signer certificate does not carry',
      () =>
        withFields(([accuracy]) => [
          accuracy!,
          tsaOf(der.contextPrimitive(2, new TextEncoder().encode('tsa.example'))),
        ]),
      'token.tsa-name',
      1,
    ],
    [
      'RFC 3161 2.4.2: tsa is one GeneralName',
      () =>
        withFields(([accuracy]) => [accuracy!, tsaOf(concat(directoryName(), directoryName()))]),
      'token.structure',
      64,
    ],
    [
      'RFC 3161 2.4.2: micros is at most 999',
      () =>
        withFields(([, tsa]) => [
          der.seq(der.contextPrimitive(1, Uint8Array.of(0x03, 0xe8))),
          tsa!,
        ]),
      'token.encoding',
      1,
    ],
    [
      'RFC 3161 2.4.2: accuracy parts in SEQUENCE order',
      () =>
        withFields(([, tsa]) => [
          der.seq(der.contextPrimitive(0, Uint8Array.of(1)), der.integer(1)),
          tsa!,
        ]),
      'token.structure',
      64,
    ],
    [
      'RFC 3161 2.4.2: each TSTInfo field at most once',
      () => withFields(([accuracy, tsa]) => [accuracy!, der.integer(5), der.integer(6), tsa!]),
      'token.structure',
      64,
    ],
    [
      'X.690 11.5: ordering FALSE is not encoded',
      () => withFields(([accuracy, tsa]) => [accuracy!, der.bool(false), tsa!]),
      'token.encoding',
      1,
    ],
    [
      'RFC 2634 5.4: the ESSCertID names the signer',
      () => resign({ ess: 'v1', wrongEssHash: true }),
      'token.ess-cert-id',
      1,
    ],
    [
      'RFC 6211: CMSAlgorithmProtection names the SignerInfo algorithms',
      () => resign({ algorithmProtection: 'wrong-digest' }),
      'token.algorithm-protection',
      1,
    ],
  ])('refuses a token breaking %s', async (_rule, token, failed, exitCode) => {
    const report = await inspect(token());
    expect(failedChecks(report)).toEqual([failed]);
    expect(report.exitCode).toBe(exitCode);
  });
});

describe('inspectToken: data or digest', () => {
  it('checks the imprint against the data', async () => {
    expectVerified(await inspect(response, { data: DATA }));
    const other = await inspect(response, { data: new TextEncoder().encode('other') });
    expect(failedChecks(other)).toEqual(['token.imprint']);
    expect(other.exitCode).toBe(1);
  });

  it('checks the imprint against a digest with its hash name', async () => {
    const digest = sha256(DATA);
    const ok = await inspect(response, { digest: { hash: 'sha256', value: digest } });
    expectVerified(ok);
    expect(statusOf(ok, 'token.imprint')).toBe('pass');

    const flipped = Uint8Array.from(digest);
    flipped[0]! ^= 0x80;
    const wrongValue = await inspect(response, { digest: { hash: 'sha256', value: flipped } });
    expect(failedChecks(wrongValue)).toEqual(['token.imprint']);

    // The right bytes named as another hash do not match a SHA-256 imprint.
    const wrongHash = await inspect(response, { digest: { hash: 'sha3-256', value: digest } });
    expect(failedChecks(wrongHash)).toEqual(['token.imprint']);
  });

  it('skips token.imprint without data or digest', async () => {
    const report = await inspect(response, {});
    expect(statusOf(report, 'token.imprint')).toBe('skip');
    expect(report.outcome).toBe('verified');
  });
});

describe('attestamp-verify token: input it refuses (exit 64)', () => {
  let dir: string;

  beforeAll(() => {
    dir = tempDir();
    writeFileSync(join(dir, 'r.tsr'), response);
    writeFileSync(join(dir, 'doc.txt'), DATA);
    writeFileSync(join(dir, 'root.der'), ca.root);
  });

  async function cli(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await verifyMain(
      [
        'token',
        '--token',
        join(dir, 'r.tsr'),
        '--anchor',
        join(dir, 'root.der'),
        // doc.txt is the test folder's data file.
        ...args.map((a) => (a === 'doc.txt' ? join(dir, a) : a)),
      ],
      {
        stdout: (t) => (out += t),
        stderr: (t) => (err += t),
        now: () => new Date(),
      },
    );
    return { code, out, err };
  }

  const digestHex = (): string => Buffer.from(sha256(DATA)).toString('hex');

  it('accepts --digest with a known --hash (the baseline, exit 0)', async () => {
    const r = await cli(['--digest', digestHex(), '--hash', 'sha256']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^VERIFIED: token anchored at /);
  });

  it.each(['md5', 'SHA256', 'sha-256', 'constructor', 'toString', '__proto__'])(
    'refuses --hash %s',
    async (hash) => {
      const r = await cli(['--digest', digestHex(), '--hash', hash]);
      expect(r.code).toBe(64);
      expect(r.err).toMatch(/--hash must be one of sha256, sha384, sha512, sha3-256/);
      expect(r.out).toBe('');
    },
  );

  it.each([
    ['--digest without --hash', ['--digest', 'ab'], /--hash must be one of/],
    ['a digest that is not hex', ['--digest', 'xyz', '--hash', 'sha256'], /--digest must be hex/],
    [
      'both --data and --digest',
      ['--data', 'doc.txt', '--digest', 'ab', '--hash', 'sha256'],
      /not both/,
    ],
    ['neither --data nor --digest', [], /missing --data FILE or --digest HEX --hash ALG/],
    [
      // Key requirements apply to evidence; a token's evidence is checked with its own.
      'a --require, which tokens do not take',
      ['--data', 'doc.txt', '--require', 'constructor=true'],
      /^attestamp-verify: --require does not apply to token \(it applies to evidence, certificate\)/,
    ],
    ['an unreadable --data file', ['--data', '/nonexistent/attestamp'], /--data: cannot read/],
  ] as const)('refuses %s', async (_name, args, message) => {
    const r = await cli(args);
    expect(r.code).toBe(64);
    expect(r.err).toMatch(message);
  });
});

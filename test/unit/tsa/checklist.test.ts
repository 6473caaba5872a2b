// The time-stamping checklist (standards/timestamping.md) against the service in-process: request
// handling (RFC 3161 2.4.1), response and TSTInfo (RFC 3161 2.4.2, RFC 5816, RFC 6211), the TSA
// certificate (RFC 3161 2.3, EN 319 421) and the ETSI EN 319 422 profile. Each test names its ID.
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  PkiError,
  assertStrictDer,
  basicConstraints,
  buildCertificate,
  der,
  derReader,
  encodeName,
  extKeyUsage,
  id_aa_CMSAlgorithmProtection,
  id_aa_signingCertificate,
  id_aa_signingCertificateV2,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_contentType,
  id_ct_TSTInfo,
  id_etsi_bestPracticesTsaPolicy,
  id_etsi_tsts_EuQCompliance,
  id_md5,
  id_messageDigest,
  id_pe_qcStatements,
  id_sha1,
  id_sha256,
  id_sha384,
  id_sha3_256,
  id_sha3_384,
  id_sha3_512,
  id_sha512,
  id_signedData,
  id_tsaPolicyBaseline,
  keyUsage,
  parseCertificate,
  parseCertificateFields,
  partitionTimestampTemplate,
  type ExtensionSpec,
  type KeyAlgorithm,
  type Signer,
  type TbsCertificateTemplate,
} from '../../../src/pki/index.js';
import { fixedClock, toArrayBuffer, type LogFields } from '../../../src/shared/index.js';
import {
  Archive,
  DEFAULT_REQUEST_LIMITS,
  FAIL_INFO_BITS,
  FAIL_INFO_FOR,
  TimeStampService,
  TsaError,
  encodeAccuracy,
  encodeFailInfo,
  fixedTimeSource,
  formatGenTime,
  parseTimeStampReq,
  tsaCertificateProblems,
  type Accuracy,
  type ArchiveRecord,
  type FailInfo,
  type GenTimePrecision,
  type ServiceOptions,
  type ServiceResult,
  type TsaErrorCode,
} from '../../../src/tsa/index.js';
import { createTestDevice, type TestDevice } from '../../helpers/hsm.js';
import { tempDir } from '../../helpers/tmp.js';
import {
  children,
  decodeResponse,
  encodeMessageImprint,
  encodeTimeStampReq,
  nonceOctets,
  tlvList,
  type DecodedResponse,
  type DecodedToken,
  type RequestSpec,
} from '../../helpers/tsq.js';

/** Certificates are issued at this instant (fixed clock), valid for ten years. */
const ISSUED = new Date('2026-01-01T00:00:00Z');
/** Tokens are issued at 2026-06-01T12:34:56.123456Z unless a test says otherwise. */
const NOW = Date.UTC(2026, 5, 1, 12, 34, 56) + 123.456;
const NOW_TEXT = '20260601123456';

const POLICY_A = id_tsaPolicyBaseline;
const POLICY_B = `${id_tsaPolicyBaseline}.7`;
const POLICY_RSA = `${id_tsaPolicyBaseline}.8`;
const POLICY_ED = `${id_tsaPolicyBaseline}.9`;
const POLICY_SHORT = `${id_tsaPolicyBaseline}.10`;
const POLICY_UNSERVED = '1.2.3.4.5.6';

const HASHES = [
  { name: 'SHA-256', oid: id_sha256, length: 32 },
  { name: 'SHA-384', oid: id_sha384, length: 48 },
  { name: 'SHA-512', oid: id_sha512, length: 64 },
  { name: 'SHA3-256', oid: id_sha3_256, length: 32 },
  { name: 'SHA3-384', oid: id_sha3_384, length: 48 },
  { name: 'SHA3-512', oid: id_sha3_512, length: 64 },
] as const;

const dir = tempDir();
let device: TestDevice;
let signers: Readonly<Record<'default' | 'rsa' | 'ed' | 'short', Signer>>;

beforeAll(async () => {
  device = await createTestDevice({ clock: fixedClock(ISSUED) });
  // One RSA-3072 partition per file: key generation is slow.
  await device.hsm.createPartition('rsa', { timestampAlgorithm: 'rsa-3072' });
  await device.hsm.createPartition('ed', { timestampAlgorithm: 'ed25519' });
  await device.hsm.createPartition('short', { timestampKeyUsageYears: 1 });
  signers = {
    default: await device.hsm.timestampSigner('default'),
    rsa: await device.hsm.timestampSigner('rsa'),
    ed: await device.hsm.timestampSigner('ed'),
    short: await device.hsm.timestampSigner('short'),
  };
});

type UnitName = keyof typeof signers;

function counter(start = 1n): { next(): bigint; readonly issued: bigint[] } {
  let n = start;
  const issued: bigint[] = [];
  return {
    next() {
      issued.push(n);
      return n++;
    },
    issued,
  };
}

function makeService(over: Partial<ServiceOptions> = {}): TimeStampService {
  return new TimeStampService({
    units: [
      { name: 'default', signer: signers.default, policies: [POLICY_A, POLICY_B] },
      { name: 'rsa', signer: signers.rsa, policies: [POLICY_RSA] },
      { name: 'ed', signer: signers.ed, policies: [POLICY_ED] },
      { name: 'short', signer: signers.short, policies: [POLICY_SHORT] },
    ],
    hashes: ['sha256', 'sha384', 'sha512', 'sha3-256', 'sha3-384', 'sha3-512'],
    legacySha1: false,
    precision: 6,
    accuracy: { seconds: 1, millis: 0, micros: 0 },
    includeIssuers: false,
    qualified: false,
    includeTsaName: true,
    verifyTokens: 'on',
    timeSource: fixedTimeSource(NOW),
    serials: counter(),
    archive: undefined,
    ...over,
  });
}

const DIGEST = new Uint8Array(32).fill(0x11);

function spec(over: Partial<RequestSpec> = {}): RequestSpec {
  return { hashOid: id_sha256, digest: DIGEST, ...over };
}

interface Answer {
  readonly result: ServiceResult;
  readonly decoded: DecodedResponse;
}

async function ask(
  service: TimeStampService,
  request: RequestSpec | Uint8Array,
  unit: UnitName = 'default',
): Promise<Answer> {
  const body = request instanceof Uint8Array ? request : encodeTimeStampReq(request);
  const result = await service.respond(unit, body);
  return { result, decoded: decodeResponse(result.response) };
}

/** A granted answer: status 0, no failInfo, a token; strict DER unless certificates are present. */
function granted(answer: Answer, strict = true): DecodedToken {
  expect(answer.result.status).toBe('granted');
  expect(answer.result.failInfo).toBeUndefined();
  expect(answer.decoded.status).toBe(0);
  expect(answer.decoded.failBits).toBeUndefined();
  expect(answer.decoded.statusStrings).toHaveLength(0);
  const token = answer.decoded.token;
  if (token === undefined) throw new Error('a granted response must carry a token');
  if (strict) assertStrictDer(answer.result.response);
  assertStrictDer(token.tstInfoDer);
  return token;
}

/** A rejection: status 2, exactly the failInfo bit, a UTF8String statusString, no token. */
function rejected(answer: Answer, failInfo: FailInfo): string {
  expect(answer.result.status).toBe('rejection');
  expect(answer.result.failInfo).toBe(failInfo);
  expect(answer.result.serial).toBeUndefined();
  expect(answer.decoded.status).toBe(2);
  expect(answer.decoded.failBits).toEqual([FAIL_INFO_BITS[failInfo]]);
  expect(answer.decoded.token).toBeUndefined();
  assertStrictDer(answer.result.response);
  const top = children(answer.result.response);
  expect(top).toHaveLength(1); // RSP-02: no timeStampToken
  const statusInfo = children(top[0]!.bytes);
  expect(statusInfo.map((t) => t.tag)).toEqual([0x02, 0x30, 0x03]);
  const strings = children(statusInfo[1]!.bytes);
  expect(strings).toHaveLength(1);
  expect(strings[0]!.tag).toBe(0x0c); // RSP-04: UTF8String
  expect(statusInfo[2]!.bytes).toEqual(encodeFailInfo(failInfo));
  const text = new TextDecoder().decode(strings[0]!.content);
  expect(text).toMatch(/^[a-z][A-Za-z0-9 ,.:'-]{4,}$/);
  return text;
}

function unitCertificate(unit: UnitName): Uint8Array {
  return signers[unit].certificateChain[0]!;
}

function attribute(token: DecodedToken, type: string): pkijs.Attribute {
  const attrs = token.signerInfo.signedAttrs?.attributes ?? [];
  const found = attrs.filter((a) => a.type === type);
  expect(found, `attribute ${type}`).toHaveLength(1);
  expect(found[0]!.values).toHaveLength(1);
  return found[0]!;
}

function attributeValueDer(token: DecodedToken, type: string): Uint8Array {
  const value: unknown = attribute(token, type).values[0];
  if (!(value instanceof asn1js.BaseBlock)) throw new Error('attribute value is not ASN.1');
  return new Uint8Array(value.toBER());
}

const DIGEST_NAME: Readonly<Record<string, 'sha256' | 'sha384' | 'sha512'>> = {
  [id_sha256]: 'sha256',
  [id_sha384]: 'sha384',
  [id_sha512]: 'sha512',
};

/** Checks messageDigest against eContent and the signature over DER(signedAttrs). */
function verifyTokenSignature(token: DecodedToken, unit: UnitName): void {
  const digestName = DIGEST_NAME[token.signerInfo.digestAlgorithm.algorithmId];
  if (digestName === undefined) throw new Error('unexpected digest algorithm');
  const md: unknown = attribute(token, id_messageDigest).values[0];
  if (!(md instanceof asn1js.OctetString)) throw new Error('messageDigest is not an OCTET STRING');
  expect(new Uint8Array(md.valueBlock.valueHexView)).toEqual(
    new Uint8Array(createHash(digestName).update(token.tstInfoDer).digest()),
  );
  const key = createPublicKey({
    key: Buffer.from(parseCertificateFields(unitCertificate(unit)).spki),
    format: 'der',
    type: 'spki',
  });
  const algorithm: KeyAlgorithm = signers[unit].algorithm;
  let ok: boolean;
  switch (algorithm) {
    case 'ecdsa-p256':
      ok = verify('sha256', token.signedAttrsDer, { key, dsaEncoding: 'der' }, token.signature);
      break;
    case 'rsa-3072':
      ok = verify('sha256', token.signedAttrsDer, key, token.signature);
      break;
    case 'ed25519':
      ok = verify(null, token.signedAttrsDer, key, token.signature);
      break;
    default:
      throw new Error(`no verifier for ${algorithm}`);
  }
  expect(ok).toBe(true);
  // The same check must fail for a changed attribute set.
  const tampered = token.signedAttrsDer.slice();
  tampered[tampered.length - 1]! ^= 1;
  const bad =
    algorithm === 'ed25519'
      ? verify(null, tampered, key, token.signature)
      : verify('sha256', tampered, { key, dsaEncoding: 'der' }, token.signature);
  expect(bad).toBe(false);
}

/** TSTInfo.policy in dotted form (pkijs spells arcs above 2^53 differently). */
function policyOf(token: DecodedToken): string {
  const policy = tstChildren(token)[1]!;
  expect(policy.tag).toBe(0x06);
  return derReader.oidFromContent(policy.content);
}

function tstChildren(token: DecodedToken): ReturnType<typeof children> {
  return children(token.tstInfoDer);
}

function certificatesDer(token: DecodedToken): Uint8Array[] {
  return (token.signedData.certificates ?? []).map((c) => {
    if (!(c instanceof pkijs.Certificate)) throw new Error('unexpected certificate choice');
    return new Uint8Array(c.toSchema().toBER());
  });
}

/** The components of SignedData, raw. */
function signedDataParts(token: DecodedToken): ReturnType<typeof children> {
  return children(children(token.contentInfoDer)[1]!.content);
}

describe('Request handling (RFC 3161 2.4.1)', () => {
  it('REQ-01 grants a v1 request that carries only the message imprint', async () => {
    const token = granted(await ask(makeService(), spec()));
    expect(policyOf(token)).toBe(POLICY_A);
    expect(token.tstInfo.nonce).toBeUndefined();
    expect(token.signedData.certificates).toBeUndefined();
  });

  it('REQ-01 every combination of reqPolicy, nonce and certReq round-trips into the token', async () => {
    const service = makeService();
    for (const policy of [undefined, POLICY_B]) {
      for (const nonce of [undefined, Uint8Array.of(0x01, 0x02, 0x03)]) {
        for (const certReq of [undefined, true, 'explicit-false'] as const) {
          const token = granted(await ask(service, spec({ policy, nonce, certReq })));
          expect(policyOf(token)).toBe(policy ?? POLICY_A);
          if (nonce === undefined) expect(token.tstInfo.nonce).toBeUndefined();
          else expect(new Uint8Array(token.tstInfo.nonce!.valueBlock.valueHexView)).toEqual(nonce);
          if (certReq === true)
            expect(certificatesDer(token)).toEqual([unitCertificate('default')]);
          else expect(token.signedData.certificates).toBeUndefined();
        }
      }
    }
  });

  it('REQ-01 parseTimeStampReq reads every optional field, [0] IMPLICIT extensions included', () => {
    const body = encodeTimeStampReq(
      spec({
        hashParams: 'null',
        policy: POLICY_B,
        nonce: Uint8Array.of(0x00, 0x80),
        certReq: true,
        extensions: [
          { oid: '1.2.3.4', critical: true, value: Uint8Array.of(0x05, 0x00) },
          { oid: '1.2.3.5', value: Uint8Array.of() },
        ],
      }),
    );
    const req = parseTimeStampReq(body);
    expect(req.version).toBe(1);
    expect(req.hashAlgorithm).toBe(id_sha256);
    expect(req.hashParametersNull).toBe(true);
    expect(req.hashedMessage).toEqual(DIGEST);
    expect(req.messageImprint).toEqual(
      encodeMessageImprint(spec({ hashParams: 'null', digest: DIGEST })),
    );
    expect(req.reqPolicy).toBe(POLICY_B);
    expect(req.nonce).toEqual(Uint8Array.of(0x00, 0x80));
    expect(req.certReq).toBe(true);
    expect(req.extensions).toEqual([
      { oid: '1.2.3.4', critical: true },
      { oid: '1.2.3.5', critical: false },
    ]);
  });

  it('REQ-01 grants a query written by openssl ts -query', async () => {
    const data = join(dir, 'data.txt');
    const query = join(dir, 'query.tsq');
    writeFileSync(data, 'attestamp checklist\n');
    execFileSync('openssl', ['ts', '-query', '-data', data, '-sha384', '-cert', '-out', query], {
      stdio: 'ignore',
    });
    const body = new Uint8Array(readFileSync(query));
    const token = granted(await ask(makeService(), body));
    expect(tstChildren(token)[2]!.bytes).toEqual(parseTimeStampReq(body).messageImprint);
    expect(
      new Uint8Array(token.tstInfo.messageImprint.hashedMessage.valueBlock.valueHexView),
    ).toEqual(new Uint8Array(createHash('sha384').update('attestamp checklist\n').digest()));
    expect(certificatesDer(token)).toEqual([unitCertificate('default')]);
  });

  it.each([0, 2, 3, 256])(
    'REQ-01 rejects a version %d request with badRequest',
    async (version) => {
      rejected(await ask(makeService(), spec({ version })), 'badRequest');
    },
  );

  it('REQ-02 rejects a SHA-256 imprint of 31 bytes with badDataFormat', async () => {
    rejected(await ask(makeService(), spec({ digest: new Uint8Array(31) })), 'badDataFormat');
  });

  it.each(
    HASHES.flatMap((h) => [0, h.length - 1, h.length + 1].map((n) => [h.name, n, h.oid] as const)),
  )('REQ-02 rejects a %s imprint of %d bytes with badDataFormat', async (_name, length, oid) => {
    const answer = await ask(makeService(), spec({ hashOid: oid, digest: new Uint8Array(length) }));
    expect(rejected(answer, 'badDataFormat')).toContain('length');
  });

  it.each(HASHES.map((h) => [h.name, h.oid, h.length] as const))(
    'REQ-03 grants a %s imprint (%s) of %d bytes',
    async (_name, oid, length) => {
      const s = spec({ hashOid: oid, digest: new Uint8Array(length).fill(0xa5) });
      const token = granted(await ask(makeService(), s));
      expect(token.tstInfo.messageImprint.hashAlgorithm.algorithmId).toBe(oid);
      expect(tstChildren(token)[2]!.bytes).toEqual(encodeMessageImprint(s));
    },
  );

  it.each([
    ['SHA-1', id_sha1, 20],
    ['MD5', id_md5, 16],
    ['an unknown OID', '1.2.3.4.5', 32],
    ['SHA-224', '2.16.840.1.101.3.4.2.4', 28],
  ] as const)('REQ-03 rejects %s with badAlg', async (_name, oid, length) => {
    const answer = await ask(makeService(), spec({ hashOid: oid, digest: new Uint8Array(length) }));
    rejected(answer, 'badAlg');
  });

  it('REQ-03 accepts SHA-1 only with legacySha1, and never MD5', async () => {
    const legacy = makeService({ legacySha1: true });
    const s = spec({ hashOid: id_sha1, digest: new Uint8Array(20).fill(7) });
    const token = granted(await ask(legacy, s));
    expect(tstChildren(token)[2]!.bytes).toEqual(encodeMessageImprint(s));
    rejected(
      await ask(legacy, spec({ hashOid: id_sha1, digest: new Uint8Array(32) })),
      'badDataFormat',
    );
    rejected(await ask(legacy, spec({ hashOid: id_md5, digest: new Uint8Array(16) })), 'badAlg');
    rejected(await ask(makeService(), s), 'badAlg');
  });

  it('REQ-03 a hash left out of the configured list is refused with badAlg', async () => {
    const service = makeService({ hashes: ['sha256'] });
    granted(await ask(service, spec()));
    const answer = await ask(service, spec({ hashOid: id_sha384, digest: new Uint8Array(48) }));
    rejected(answer, 'badAlg');
  });

  it('REQ-04 grants imprints of any content (zeros, ones, random) without looking inside', async () => {
    const service = makeService();
    for (const digest of [
      new Uint8Array(32),
      new Uint8Array(32).fill(0xff),
      new Uint8Array(createHash('sha256').update('x').digest()),
    ]) {
      const token = granted(await ask(service, spec({ digest })));
      expect(
        new Uint8Array(token.tstInfo.messageImprint.hashedMessage.valueBlock.valueHexView),
      ).toEqual(digest);
    }
  });

  it('REQ-04 the token holds only request, clock, policy, serial and TSA data', async () => {
    // Two independent services with the same inputs write the same TSTInfo: nothing about the
    // requester (address, user, credentials) can enter it, since respond() receives none.
    const s = spec({ nonce: Uint8Array.of(9), certReq: true });
    const a = granted(await ask(makeService(), s));
    const b = granted(await ask(makeService(), s));
    expect(a.tstInfoDer).toEqual(b.tstInfoDer);
    expect(tstChildren(a).map((t) => t.tag)).toEqual([
      0x02, 0x06, 0x30, 0x02, 0x18, 0x30, 0x02, 0xa0,
    ]);
    expect(a.signerInfo.unsignedAttrs).toBeUndefined();
  });

  it('REQ-05 rejects a reqPolicy the TSA does not serve with unacceptedPolicy', async () => {
    const service = makeService();
    const text = rejected(
      await ask(service, spec({ policy: POLICY_UNSERVED })),
      'unacceptedPolicy',
    );
    expect(text).toContain('policy');
    rejected(
      await ask(service, spec({ policy: id_etsi_bestPracticesTsaPolicy })),
      'unacceptedPolicy',
    );
  });

  it('REQ-05 a policy served by another unit is answered by that unit', async () => {
    const answer = await ask(makeService(), spec({ policy: POLICY_RSA, certReq: true }));
    const token = granted(answer);
    expect(answer.result.unit).toBe('rsa');
    expect(policyOf(token)).toBe(POLICY_RSA);
    expect(certificatesDer(token)).toEqual([unitCertificate('rsa')]);
    verifyTokenSignature(token, 'rsa');
  });

  it.each([
    ['critical', true],
    ['non-critical (absent)', undefined],
    ['non-critical (explicit FALSE)', 'explicit-false'],
  ] as const)(
    'REQ-06 rejects a %s request extension with unacceptedExtension',
    async (_n, critical) => {
      const extensions = [
        { oid: '1.3.6.1.4.1.99999.1', critical, value: Uint8Array.of(0x05, 0x00) },
      ];
      const text = rejected(await ask(makeService(), spec({ extensions })), 'unacceptedExtension');
      expect(text).toContain('extension');
    },
  );

  it('REQ-06 rejects an empty or duplicated extension list as badDataFormat', async () => {
    const base = encodeTimeStampReq(spec());
    const empty = der.seq(...children(base).map((t) => t.bytes), Uint8Array.of(0xa0, 0x00));
    rejected(await ask(makeService(), empty), 'badDataFormat');
    const ext = { oid: '1.2.3.4', value: Uint8Array.of() };
    rejected(await ask(makeService(), spec({ extensions: [ext, ext] })), 'badDataFormat');
  });

  it('REQ-07 without certReq the certificates field is absent, not empty', async () => {
    for (const certReq of [undefined, 'explicit-false'] as const) {
      const token = granted(await ask(makeService({ includeIssuers: true }), spec({ certReq })));
      expect(token.signedData.certificates).toBeUndefined();
      // version, digestAlgorithms, encapContentInfo, signerInfos: no [0] in between
      expect(signedDataParts(token).map((t) => t.tag)).toEqual([0x02, 0x31, 0x30, 0x31]);
    }
  });

  it('REQ-07 with certReq TRUE the TSA certificate alone is included', async () => {
    const token = granted(await ask(makeService(), spec({ certReq: true })));
    expect(signedDataParts(token).map((t) => t.tag)).toEqual([0x02, 0x31, 0x30, 0xa0, 0x31]);
    expect(certificatesDer(token)).toEqual([unitCertificate('default')]);
  });

  it('REQ-07 with includeIssuers the chain is included leaf first: tsa, device, root', async () => {
    const answer = await ask(makeService({ includeIssuers: true }), spec({ certReq: true }));
    const token = granted(answer, false);
    const chain = await device.hsm.chain('default');
    expect(certificatesDer(token)).toEqual([chain.partitionTimestamp, chain.device, chain.root]);
    // Leaf first is deliberate (clients pick the first certificate); DER would sort the SET, so
    // the strict DER check may only object to that order and to nothing else.
    try {
      assertStrictDer(answer.result.response);
    } catch (error) {
      expect(error).toBeInstanceOf(PkiError);
      expect((error as PkiError).code).toBe('der-invalid');
      expect((error as PkiError).message).toBe('set components not in ascending order');
    }
    const withoutCertificates = der.seq(
      ...signedDataParts(token)
        .filter((t) => t.tag !== 0xa0)
        .map((t) => t.bytes),
    );
    assertStrictDer(withoutCertificates);
  });

  const NONCES: readonly (readonly [string, bigint])[] = [
    ['1-bit', 1n],
    ['64-bit', 0xfedcba9876543210n],
    ['160-bit', (1n << 159n) | 0x1234567890abcdefn],
    ['512-bit', (1n << 511n) | 0xdeadbeefn],
    ['zero', 0n],
    ['leading 0x00 octet', 0x80n],
  ];

  it.each(NONCES)('REQ-08 echoes a %s nonce exactly', async (_name, value) => {
    const nonce = nonceOctets(value);
    const token = granted(await ask(makeService(), spec({ nonce })));
    const echoed = tstChildren(token).find((t, i) => i > 4 && t.tag === 0x02);
    expect(echoed?.content).toEqual(nonce);
    expect(token.tstInfo.nonce?.toBigInt()).toBe(value);
  });

  it('REQ-08 the nonce needing a leading 0x00 octet keeps it', async () => {
    const token = granted(await ask(makeService(), spec({ nonce: Uint8Array.of(0x00, 0xff) })));
    expect(new Uint8Array(token.tstInfo.nonce!.valueBlock.valueHexView)).toEqual(
      Uint8Array.of(0x00, 0xff),
    );
  });

  it('REQ-08 a 1 KiB nonce gets a clean badRequest rejection', async () => {
    const nonce = new Uint8Array(1024).fill(0x5a);
    const text = rejected(await ask(makeService(), spec({ nonce })), 'badRequest');
    expect(text).toContain('nonce');
  });

  it('REQ-08 nonces up to the limit are accepted, one octet more is refused', async () => {
    const max = DEFAULT_REQUEST_LIMITS.maxNonceOctets;
    const service = makeService();
    granted(await ask(service, spec({ nonce: new Uint8Array(max).fill(0x11) })));
    rejected(await ask(service, spec({ nonce: new Uint8Array(max + 1).fill(0x11) })), 'badRequest');
  });
});

/** A certificate for `spki` from a node:crypto test issuer, with the extensions changed. */
async function tsaCertificate(
  spki: Uint8Array,
  change: (extensions: readonly ExtensionSpec[]) => readonly ExtensionSpec[] = (e) => e,
  validity: { notBefore: Date; notAfter: Date } = {
    notBefore: ISSUED,
    notAfter: new Date('2031-01-01T00:00:00Z'),
  },
  usagePeriod?: { notBefore: Date; notAfter: Date },
): Promise<Uint8Array> {
  const base: TbsCertificateTemplate = partitionTimestampTemplate(
    {
      serialNumber: Uint8Array.of(0x11, 0x22),
      subject: { country: 'DE', organization: 'Attestamp Test', commonName: 'Test TSU' },
      spki,
      ...validity,
    },
    { name: encodeName({ commonName: 'Test Issuer' }), spki: issuer.spki },
    { deviceId: 'SWHSM-00', partitionId: 'p' },
    usagePeriod,
  );
  return buildCertificate({ ...base, extensions: change(base.extensions) }, issuer);
}

const issuerKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const issuer = {
  algorithm: 'ecdsa-p256' as const,
  spki: new Uint8Array(issuerKey.publicKey.export({ type: 'spki', format: 'der' })),
  sign: (tbs: Uint8Array): Promise<Uint8Array> =>
    Promise.resolve(
      new Uint8Array(sign('sha256', tbs, { key: issuerKey.privateKey, dsaEncoding: 'der' })),
    ),
};

function replace(oid: string, by: ExtensionSpec | undefined) {
  return (extensions: readonly ExtensionSpec[]): readonly ExtensionSpec[] =>
    extensions.flatMap((e) => (e.oid === oid ? (by === undefined ? [] : [by]) : [e]));
}

const AT = new Date(NOW);

describe('TSA certificate checks (RFC 3161 2.3, EN 319 421)', () => {
  it('REQ-09 the HSM partition certificates pass every start-up check', () => {
    for (const unit of ['default', 'rsa', 'ed', 'short'] as const) {
      const check = tsaCertificateProblems(unitCertificate(unit), signers[unit].spki, AT);
      expect(check.problems, unit).toEqual([]);
    }
  });

  it('REQ-09 a certificate built from the timestamp profile passes', async () => {
    const spki = signers.default.spki;
    expect(tsaCertificateProblems(await tsaCertificate(spki), spki, AT).problems).toEqual([]);
  });

  it.each([
    ['timeStamping plus codeSigning', ['1.3.6.1.5.5.7.3.8', '1.3.6.1.5.5.7.3.3'], true],
    ['only codeSigning', ['1.3.6.1.5.5.7.3.3'], true],
    ['anyExtendedKeyUsage', ['2.5.29.37.0'], true],
  ] as const)('REQ-09 flags an EKU of %s', async (_name, oids, critical) => {
    const spki = signers.default.spki;
    const cert = await tsaCertificate(
      spki,
      replace(id_ce_extKeyUsage, extKeyUsage(oids, critical)),
    );
    expect(tsaCertificateProblems(cert, spki, AT).problems).toEqual([
      'the extended key usage must be exactly id-kp-timeStamping',
    ]);
  });

  it('REQ-09 flags a non-critical timeStamping EKU', async () => {
    const spki = signers.default.spki;
    const cert = await tsaCertificate(
      spki,
      replace(id_ce_extKeyUsage, extKeyUsage(['1.3.6.1.5.5.7.3.8'], false)),
    );
    expect(tsaCertificateProblems(cert, spki, AT).problems).toEqual([
      'the extended key usage must be critical',
    ]);
  });

  it('REQ-09 flags a certificate without EKU', async () => {
    const spki = signers.default.spki;
    const cert = await tsaCertificate(spki, replace(id_ce_extKeyUsage, undefined));
    expect(tsaCertificateProblems(cert, spki, AT).problems).toEqual([
      'the certificate has no extended key usage',
    ]);
  });

  it('REQ-09 CRT-01 flags a certificate for another key (key mismatch)', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const otherSpki = new Uint8Array(other.publicKey.export({ type: 'spki', format: 'der' }));
    const spki = signers.default.spki;
    const cert = await tsaCertificate(otherSpki);
    expect(tsaCertificateProblems(cert, spki, AT).problems).toEqual([
      "the certificate's public key is not the HSM key's",
    ]);
    // The RSA unit's certificate against the P-256 key, too.
    expect(tsaCertificateProblems(unitCertificate('rsa'), spki, AT).problems).toEqual([
      "the certificate's public key is not the HSM key's",
    ]);
  });

  it('CRT-01 flags a CA certificate', async () => {
    const spki = signers.default.spki;
    const cert = await tsaCertificate(
      spki,
      replace(id_ce_basicConstraints, basicConstraints(true, 0)),
    );
    expect(tsaCertificateProblems(cert, spki, AT).problems).toEqual([
      'a TSA certificate must not be a CA',
    ]);
  });

  it('CRT-01 accepts keyUsage digitalSignature and/or nonRepudiation, nothing else', async () => {
    const spki = signers.default.spki;
    const withUsage = (u: Parameters<typeof keyUsage>[0]) =>
      tsaCertificate(spki, replace(id_ce_keyUsage, keyUsage(u)));
    for (const ok of [['nonRepudiation'], ['digitalSignature', 'nonRepudiation']] as const) {
      expect(tsaCertificateProblems(await withUsage(ok), spki, AT).problems, ok.join()).toEqual([]);
    }
    for (const bad of [
      ['digitalSignature', 'keyCertSign'],
      ['keyEncipherment'],
      ['digitalSignature', 'decipherOnly'],
    ] as const) {
      expect(tsaCertificateProblems(await withUsage(bad), spki, AT).problems, bad.join()).toEqual([
        'the key usage must be digitalSignature and/or nonRepudiation only',
      ]);
    }
    const none = await tsaCertificate(spki, replace(id_ce_keyUsage, undefined));
    expect(tsaCertificateProblems(none, spki, AT).problems).toEqual([
      'the certificate has no key usage',
    ]);
  });

  it('CRT-01 exactly one EKU, critical, and not a CA in the HSM timestamp certificates', () => {
    for (const unit of ['default', 'rsa', 'ed'] as const) {
      const cert = parseCertificate(unitCertificate(unit));
      const eku = cert.extensions?.filter((e) => e.extnID === id_ce_extKeyUsage) ?? [];
      expect(eku).toHaveLength(1);
      expect(eku[0]!.critical).toBe(true);
      expect(new Uint8Array(eku[0]!.extnValue.valueBlock.valueHexView)).toEqual(
        der.seq(der.oid('1.3.6.1.5.5.7.3.8')),
      );
      const bc = cert.extensions?.find((e) => e.extnID === id_ce_basicConstraints);
      expect(new Uint8Array(bc!.extnValue.valueBlock.valueHexView)).toEqual(der.seq());
    }
  });

  it('CRT-02 the TSA certificate subject names country, organisation and the unit', () => {
    for (const unit of ['default', 'rsa', 'ed'] as const) {
      const subject = parseCertificate(unitCertificate(unit)).subject.typesAndValues;
      const text = (type: string): string | undefined => {
        const v: unknown = subject.find((t) => t.type === type)?.value.valueBlock;
        return typeof v === 'object' && v !== null && 'value' in v && typeof v.value === 'string'
          ? v.value
          : undefined;
      };
      expect(text('2.5.4.6'), unit).toMatch(/^[A-Z]{2}$/);
      expect(text('2.5.4.10'), unit).toBe('attestamp');
      expect(text('2.5.4.3'), unit).toBe(`${unit} time-stamping unit`);
    }
  });

  it('CRT-03 flags a certificate outside its validity at either end', async () => {
    const spki = signers.default.spki;
    const cert = await tsaCertificate(spki);
    const notAfter = Date.UTC(2031, 0, 1);
    const check = (ms: number) => tsaCertificateProblems(cert, spki, new Date(ms));
    expect(check(ISSUED.getTime() - 1).problems).toEqual([
      'the certificate or its key usage period is not valid yet',
    ]);
    expect(check(ISSUED.getTime()).problems).toEqual([]);
    // RFC 5280 4.1.2.5: notAfter is inclusive, so its whole last second may issue.
    expect(check(notAfter + 999).problems).toEqual([]);
    expect(check(notAfter + 1000).problems).toEqual([
      'the certificate or its key usage period has ended',
    ]);
    expect(check(notAfter).window).toEqual({
      notBefore: ISSUED.getTime(),
      notAfter: notAfter + 1000,
    });
  });

  it('CRT-03 a privateKeyUsagePeriod narrows the issuing window', async () => {
    const spki = signers.default.spki;
    const usageEnd = new Date('2027-01-01T00:00:00Z');
    const cert = await tsaCertificate(spki, (e) => e, undefined, {
      notBefore: ISSUED,
      notAfter: usageEnd,
    });
    const check = tsaCertificateProblems(cert, spki, new Date(usageEnd.getTime() + 1000));
    expect(check.problems).toEqual(['the certificate or its key usage period has ended']);
    expect(check.window.notAfter).toBe(usageEnd.getTime() + 1000);
  });
});

describe('CRT-03 issuance stops outside validity and key usage period', () => {
  function validity(unit: UnitName): { notBefore: number; notAfter: number } {
    const cert = parseCertificate(unitCertificate(unit));
    return { notBefore: cert.notBefore.value.getTime(), notAfter: cert.notAfter.value.getTime() };
  }

  it('CRT-03 a time after the certificate notAfter gives a systemFailure rejection', async () => {
    const { notAfter } = validity('default');
    const lastSecond = makeService({ timeSource: fixedTimeSource(notAfter + 999) });
    const token = granted(await ask(lastSecond, spec()));
    expect(token.tstInfo.genTime.getTime()).toBe(notAfter + 999);
    const after = makeService({ timeSource: fixedTimeSource(notAfter + 1000) });
    const text = rejected(await ask(after, spec()), 'systemFailure');
    expect(text).toBe('the time-stamping unit is outside its validity period');
    const later = makeService({ timeSource: fixedTimeSource(Date.UTC(2099, 0, 1)) });
    rejected(await ask(later, spec()), 'systemFailure');
  });

  it('CRT-03 a time before the certificate notBefore gives a systemFailure rejection', async () => {
    const { notBefore } = validity('default');
    expect(notBefore).toBe(ISSUED.getTime());
    rejected(
      await ask(makeService({ timeSource: fixedTimeSource(notBefore - 1) }), spec()),
      'systemFailure',
    );
    granted(await ask(makeService({ timeSource: fixedTimeSource(notBefore) }), spec()));
  });

  it('CRT-03 issuance stops when the private key usage period ends, before notAfter', async () => {
    const usageEnd = Date.UTC(2027, 0, 1);
    expect(validity('short').notAfter).toBeGreaterThan(usageEnd);
    const inside = makeService({ timeSource: fixedTimeSource(usageEnd - 1) });
    granted(await ask(inside, spec(), 'short'));
    const after = makeService({ timeSource: fixedTimeSource(usageEnd + 1000) });
    rejected(await ask(after, spec(), 'short'), 'systemFailure');
    granted(await ask(after, spec(), 'default'));
  });
});

describe('Response (RFC 3161 2.4.2)', () => {
  it('RSP-01 a granted TimeStampResp is SEQUENCE { PKIStatusInfo { granted }, ContentInfo } in DER', async () => {
    const answer = await ask(makeService(), spec({ nonce: Uint8Array.of(1) }));
    granted(answer);
    const top = children(answer.result.response);
    expect(top.map((t) => t.tag)).toEqual([0x30, 0x30]);
    expect(top[0]!.bytes).toEqual(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00));
    expect(children(top[1]!.bytes)[0]!.bytes).toEqual(der.oid(id_signedData));
  });

  it('RSP-01 a rejection is strict DER with only PKIStatusInfo', async () => {
    const answer = await ask(makeService(), spec({ version: 2 }));
    rejected(answer, 'badRequest');
    expect(answer.result.response[0]).toBe(0x30);
  });

  it('RSP-02 granted carries a token, every rejection carries none, grantedWithMods is unused', async () => {
    const service = makeService();
    const ok = await ask(service, spec());
    expect(ok.decoded.status).toBe(0);
    expect(ok.decoded.token).toBeDefined();
    for (const bad of [
      spec({ version: 2 }),
      spec({ hashOid: id_md5, digest: new Uint8Array(16) }),
    ]) {
      const answer = await ask(service, bad);
      expect(answer.decoded.status).toBe(2);
      expect(answer.decoded.resp.timeStampToken).toBeUndefined();
    }
  });

  it('RSP-03 encodeFailInfo writes each RFC 3161 bit as a DER named BIT STRING', () => {
    const expected: Readonly<Record<FailInfo, string>> = {
      badAlg: '03020780',
      badRequest: '03020520',
      badDataFormat: '03020204',
      timeNotAvailable: '0303010002',
      unacceptedPolicy: '0303000001',
      unacceptedExtension: '030407000080',
      addInfoNotAvailable: '030406000040',
      systemFailure: '03050600000040',
    };
    expect(FAIL_INFO_BITS).toEqual({
      badAlg: 0,
      badRequest: 2,
      badDataFormat: 5,
      timeNotAvailable: 14,
      unacceptedPolicy: 15,
      unacceptedExtension: 16,
      addInfoNotAvailable: 17,
      systemFailure: 25,
    });
    for (const [name, hex] of Object.entries(expected) as [FailInfo, string][]) {
      const encoded = encodeFailInfo(name);
      expect(Buffer.from(encoded).toString('hex'), name).toBe(hex);
      assertStrictDer(encoded);
      const parsed = asn1js.fromBER(toArrayBuffer(encoded)).result;
      expect(parsed).toBeInstanceOf(asn1js.BitString);
    }
  });

  it('RSP-03 every TsaError code maps to one of the RFC 3161 failInfo bits', () => {
    const codes = Object.keys(FAIL_INFO_FOR) as TsaErrorCode[];
    expect(codes.length).toBe(13);
    for (const code of codes) {
      const error = new TsaError(code, 'x');
      expect(Object.keys(FAIL_INFO_BITS)).toContain(error.failInfo);
    }
  });

  it('RSP-03 each refusal of the service carries its failInfo bit and only that bit', async () => {
    const cases: readonly (readonly [FailInfo, TimeStampService, RequestSpec | Uint8Array])[] = [
      ['badAlg', makeService(), spec({ hashOid: id_md5, digest: new Uint8Array(16) })],
      ['badRequest', makeService(), spec({ version: 2 })],
      ['badDataFormat', makeService(), Uint8Array.of(0x30, 0x03, 0x02, 0x01)],
      ['timeNotAvailable', makeService({ timeSource: fixedTimeSource(NOW, false) }), spec()],
      ['unacceptedPolicy', makeService(), spec({ policy: POLICY_UNSERVED })],
      [
        'unacceptedExtension',
        makeService(),
        spec({ extensions: [{ oid: '1.2.3', value: Uint8Array.of() }] }),
      ],
      ['systemFailure', makeService({ timeSource: fixedTimeSource(Date.UTC(2040, 0, 1)) }), spec()],
    ];
    for (const [failInfo, service, request] of cases) {
      rejected(await ask(service, request), failInfo);
    }
  });

  it('RSP-03 RSP-04 an unexpected fault becomes systemFailure with a generic text', async () => {
    const base = signers.default;
    const failing: Signer = {
      algorithm: base.algorithm,
      spki: base.spki,
      certificateChain: base.certificateChain,
      sign: () => Promise.reject(new Error('device unreachable at 10.1.2.3')),
    };
    const errors: string[] = [];
    const service = makeService({
      units: [{ name: 'default', signer: failing, policies: [POLICY_A] }],
      logger: { info() {}, warn() {}, error: (m) => errors.push(m) },
    });
    const text = rejected(await ask(service, spec()), 'systemFailure');
    expect(text).toBe('internal error');
    expect(errors).toEqual(['time-stamp request failed; further failures are counted, not logged']);
  });

  it('RSP-04 while the archive disk is full, the failure is logged once, counted, and its end logged with the count', async () => {
    let full = true;
    const lines: { level: string; message: string; fields: LogFields | undefined }[] = [];
    const log =
      (level: string) =>
      (message: string, fields?: LogFields): void => {
        lines.push({ level, message, fields });
      };
    const service = makeService({
      archive: {
        record: () =>
          full
            ? Promise.reject(
                Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }),
              )
            : Promise.resolve(),
      },
      logger: { info: log('info'), warn: log('warn'), error: log('error') },
    });
    for (let i = 0; i < 30; i++) rejected(await ask(service, spec()), 'systemFailure');
    const errors = lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.fields?.error).toBe('database or disk is full');
    expect(String(errors[0]!.fields?.stack)).toContain('database or disk is full');
    full = false;
    expect((await ask(service, spec())).result.status).toBe('granted');
    expect((await ask(service, spec())).result.status).toBe('granted');
    const recovered = lines.filter((l) => l.message.includes('recovered'));
    expect(recovered).toHaveLength(1);
    expect(recovered[0]!.fields?.failures).toBe(30);
    // A new episode is logged again.
    full = true;
    rejected(await ask(service, spec()), 'systemFailure');
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(2);
  });

  it('RSP-03 a token failing its self-check is withheld as systemFailure', async () => {
    const base = signers.rsa;
    const garbage: Signer = {
      algorithm: base.algorithm,
      spki: base.spki,
      certificateChain: base.certificateChain,
      sign: () => Promise.resolve(new Uint8Array(384).fill(1)),
    };
    const service = makeService({
      units: [{ name: 'rsa', signer: garbage, policies: [POLICY_RSA] }],
      verifyTokens: 'auto',
    });
    rejected(await ask(service, spec(), 'rsa'), 'systemFailure');
  });

  it('RSP-04 each statusString is a UTF8String in plain English', async () => {
    const service = makeService();
    const texts = [
      rejected(
        await ask(service, spec({ hashOid: id_sha1, digest: new Uint8Array(20) })),
        'badAlg',
      ),
      rejected(
        await ask(service, spec({ hashOid: '1.2.3', digest: new Uint8Array(20) })),
        'badAlg',
      ),
      rejected(await ask(service, spec({ digest: new Uint8Array(5) })), 'badDataFormat'),
      rejected(await ask(service, Uint8Array.of(0x04, 0x00)), 'badDataFormat'),
      rejected(await ask(service, spec({ version: 9 })), 'badRequest'),
    ];
    expect(texts).toEqual([
      'the imprint hash algorithm is too weak',
      'the imprint hash algorithm is not accepted',
      'the imprint length does not match its hash algorithm',
      'malformed request: expected TimeStampReq sequence',
      'only version 1 requests are supported',
    ]);
  });

  it.each(['default', 'rsa', 'ed'] as const)(
    'RSP-05 the %s token is ContentInfo(SignedData v3) with eContentType id-ct-TSTInfo and one SignerInfo',
    async (unit) => {
      const token = granted(await ask(makeService(), spec(), unit));
      expect(token.contentInfo.contentType).toBe(id_signedData);
      expect(token.signedData.version).toBe(3);
      expect(signedDataParts(token)[0]!.bytes).toEqual(Uint8Array.of(0x02, 0x01, 0x03));
      expect(token.signedData.encapContentInfo.eContentType).toBe(id_ct_TSTInfo);
      expect(token.signedData.signerInfos).toHaveLength(1);
      const digestOid = unit === 'ed' ? id_sha512 : id_sha256;
      expect(token.signedData.digestAlgorithms.map((a) => a.algorithmId)).toEqual([digestOid]);
      expect(token.signerInfo.digestAlgorithm.algorithmId).toBe(digestOid);
      // eContent is DER(TSTInfo), a primitive OCTET STRING
      const encap = children(signedDataParts(token)[2]!.bytes);
      expect(encap[0]!.bytes).toEqual(der.oid(id_ct_TSTInfo));
      expect(encap[1]!.bytes).toEqual(der.contextConstructed(0, der.octetString(token.tstInfoDer)));
      // SignerInfo v1 with IssuerAndSerialNumber of the TSA certificate
      const cert = parseCertificate(unitCertificate(unit));
      expect(token.signerInfo.version).toBe(1);
      const sid = token.signerInfo.sid as pkijs.IssuerAndSerialNumber;
      expect(sid).toBeInstanceOf(pkijs.IssuerAndSerialNumber);
      expect(sid.issuer.isEqual(cert.issuer)).toBe(true);
      expect(sid.serialNumber.isEqual(cert.serialNumber)).toBe(true);
    },
  );

  it.each(['default', 'rsa', 'ed'] as const)(
    'RSP-06 the %s token signs exactly contentType, messageDigest, signingCertificateV2, CMSAlgorithmProtection',
    async (unit) => {
      const token = granted(await ask(makeService(), spec(), unit));
      const types = (token.signerInfo.signedAttrs?.attributes ?? []).map((a) => a.type);
      expect([...types].sort()).toEqual(
        [
          id_contentType,
          id_messageDigest,
          id_aa_signingCertificateV2,
          id_aa_CMSAlgorithmProtection,
        ].sort(),
      );
      expect(types).not.toContain(id_aa_signingCertificate);
      expect(attributeValueDer(token, id_contentType)).toEqual(der.oid(id_ct_TSTInfo));
      // RFC 5652 5.4: the signed attributes are a DER SET OF, sorted.
      assertStrictDer(token.signedAttrsDer);
      // RFC 6211: the algorithms in the protection attribute are the SignerInfo's.
      const protection = children(attributeValueDer(token, id_aa_CMSAlgorithmProtection));
      expect(protection).toHaveLength(2);
      expect(protection[0]!.bytes).toEqual(
        new Uint8Array(token.signerInfo.digestAlgorithm.toSchema().toBER()),
      );
      const signatureAlgorithm = new Uint8Array(
        token.signerInfo.signatureAlgorithm.toSchema().toBER(),
      );
      // signatureAlgorithm [1] IMPLICIT: the SignerInfo's AlgorithmIdentifier retagged
      expect(protection[1]!.tag).toBe(0xa1);
      expect(protection[1]!.content).toEqual(tlvList(signatureAlgorithm)[0]!.content);
    },
  );

  it.each([
    ['SHA-256', id_sha256, 32],
    ['SHA-512', id_sha512, 64],
    ['SHA3-384', id_sha3_384, 48],
  ] as const)(
    'RSP-06 E422-05 one ESSCertIDv2 for the signer, SHA-256 by DEFAULT, for a %s imprint',
    async (_name, oid, length) => {
      for (const unit of ['default', 'ed'] as const) {
        const request = spec({ hashOid: oid, digest: new Uint8Array(length).fill(3) });
        const token = granted(await ask(makeService(), request, unit));
        const scv2 = children(attributeValueDer(token, id_aa_signingCertificateV2));
        expect(scv2).toHaveLength(1); // certs only, no policies
        const certIds = tlvList(scv2[0]!.content);
        expect(certIds).toHaveLength(1);
        const essCertIdV2 = children(certIds[0]!.bytes);
        // hashAlgorithm absent (DEFAULT id-sha256), certHash, issuerSerial
        expect(essCertIdV2.map((t) => t.tag)).toEqual([0x04, 0x30]);
        const certificate = unitCertificate(unit);
        expect(essCertIdV2[0]!.content).toEqual(
          new Uint8Array(createHash('sha256').update(certificate).digest()),
        );
        const cert = parseCertificate(certificate);
        const issuerSerial = children(essCertIdV2[1]!.bytes);
        expect(issuerSerial[0]!.bytes).toEqual(
          der.seq(der.contextConstructed(4, new Uint8Array(cert.issuer.toSchema().toBER()))),
        );
        expect(issuerSerial[1]!.bytes).toEqual(new Uint8Array(cert.serialNumber.toBER()));
      }
    },
  );

  it.each(['default', 'rsa', 'ed'] as const)(
    'RSP-06 the %s token signature over DER(signedAttrs) verifies with the TSA certificate key',
    async (unit) => {
      const token = granted(await ask(makeService(), spec({ nonce: Uint8Array.of(0x42) }), unit));
      verifyTokenSignature(token, unit);
      if (unit === 'ed') {
        // RFC 8419 3.1: Ed25519 with signed attributes digests with SHA-512.
        expect(token.signerInfo.signatureAlgorithm.algorithmId).toBe('1.3.101.112');
        expect(token.signerInfo.signatureAlgorithm.algorithmParams).toBeUndefined();
      }
      if (unit === 'rsa') {
        expect(token.signerInfo.signatureAlgorithm.algorithmId).toBe('1.2.840.113549.1.1.11');
      }
      if (unit === 'default') {
        expect(token.signerInfo.signatureAlgorithm.algorithmId).toBe('1.2.840.10045.4.3.2');
      }
    },
  );

  it('RSP-07 an untrusted clock gives timeNotAvailable, no serial is spent, the refusal is archived', async () => {
    const serials = counter();
    const records: ArchiveRecord[] = [];
    const service = makeService({
      timeSource: fixedTimeSource(NOW, false),
      serials,
      archive: {
        record: (r) => {
          records.push(r);
          return Promise.resolve();
        },
      },
    });
    const text = rejected(
      await ask(service, spec({ nonce: Uint8Array.of(1) })),
      'timeNotAvailable',
    );
    expect(text).toBe('the time source is not available');
    expect(serials.issued).toEqual([]);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      status: 'rejection',
      failInfo: 'timeNotAvailable',
      serial: null,
    });
  });
});

describe('TSTInfo (RFC 3161 2.4.2)', () => {
  it('TST-01 version is 1', async () => {
    const token = granted(await ask(makeService(), spec()));
    expect(token.tstInfo.version).toBe(1);
    expect(tstChildren(token)[0]!.bytes).toEqual(Uint8Array.of(0x02, 0x01, 0x01));
  });

  it('TST-02 policy is the default without reqPolicy and the requested one otherwise', async () => {
    const service = makeService();
    const plain = granted(await ask(service, spec()));
    expect(policyOf(plain)).toBe(POLICY_A);
    expect(tstChildren(plain)[1]!.bytes).toEqual(der.oid(POLICY_A));
    for (const policy of [POLICY_A, POLICY_B]) {
      const token = granted(await ask(service, spec({ policy })));
      expect(tstChildren(token)[1]!.bytes).toEqual(der.oid(policy));
    }
  });

  it.each(
    HASHES.flatMap((h) =>
      (['absent', 'null'] as const).map((p) => [h.name, p, h.oid, h.length] as const),
    ),
  )(
    'TST-03 the %s messageImprint with %s parameters is copied byte for byte',
    async (_name, hashParams, oid, length) => {
      const s = spec({ hashOid: oid, hashParams, digest: new Uint8Array(length).fill(0x3c) });
      const token = granted(await ask(makeService(), s));
      expect(tstChildren(token)[2]!.bytes).toEqual(encodeMessageImprint(s));
      const params = token.tstInfo.messageImprint.hashAlgorithm.algorithmParams as unknown;
      if (hashParams === 'null') expect(params).toBeInstanceOf(asn1js.Null);
      else expect(params).toBeUndefined();
    },
  );

  it('TST-04 serial numbers are positive, at most 20 octets and unique over many tokens (archive)', async () => {
    const archive = Archive.open(join(dir, 'archive-many.sqlite'));
    try {
      const service = makeService({ serials: archive, archive, verifyTokens: 'off' });
      const answers = await Promise.all(
        Array.from({ length: 300 }, (_, i) =>
          service.respond('default', encodeTimeStampReq(spec({ nonce: nonceOctets(BigInt(i)) }))),
        ),
      );
      const seen = new Set<string>();
      for (const r of answers) {
        const token = granted({ result: r, decoded: decodeResponse(r.response) });
        const serial = tstChildren(token)[3]!;
        expect(serial.tag).toBe(0x02);
        expect(serial.content.length).toBeLessThanOrEqual(20);
        expect(serial.content[0]! & 0x80).toBe(0);
        const value = token.tstInfo.serialNumber.toBigInt();
        expect(value).toBeGreaterThan(0n);
        expect(value).toBe(r.serial);
        seen.add(value.toString());
      }
      expect(seen.size).toBe(300);
      expect(await archive.verify()).toMatchObject({ ok: true, entries: 300 });
      expect(await archive.find({ serial: answers[17]!.serial! })).toHaveLength(1);
    } finally {
      await archive.close();
    }
  });

  it('TST-04 serials stay unique across restarts and across several instances', async () => {
    const path = join(dir, 'archive-restart.sqlite');
    const first = Archive.open(path);
    const second = Archive.open(path);
    const seen: bigint[] = [];
    for (let i = 0; i < 50; i++) seen.push(first.next(), second.next());
    await first.close();
    await second.close();
    const reopened = Archive.open(path);
    for (let i = 0; i < 50; i++) seen.push(reopened.next());
    await reopened.close();
    expect(new Set(seen.map(String)).size).toBe(seen.length);
    expect(seen.every((s) => s > 0n)).toBe(true);
  });

  it('TST-04 a 159-bit serial still encodes positive in 20 octets', async () => {
    const big = (1n << 159n) - 1n;
    const token = granted(await ask(makeService({ serials: counter(big) }), spec()));
    const serial = tstChildren(token)[3]!;
    expect(serial.content.length).toBe(20);
    expect(token.tstInfo.serialNumber.toBigInt()).toBe(big);
  });

  it.each([
    [0, `${NOW_TEXT}Z`],
    [1, `${NOW_TEXT}.1Z`],
    [2, `${NOW_TEXT}.12Z`],
    [3, `${NOW_TEXT}.123Z`],
    [4, `${NOW_TEXT}.1234Z`],
    [5, `${NOW_TEXT}.12345Z`],
    [6, `${NOW_TEXT}.123456Z`],
  ] as const)('TST-05 genTime at precision %d is %s', async (precision, text) => {
    const token = granted(await ask(makeService({ precision }), spec()));
    const genTime = tstChildren(token)[4]!;
    expect(genTime.tag).toBe(0x18);
    const value = new TextDecoder().decode(genTime.content);
    expect(value).toBe(text);
    expect(value).toMatch(/^\d{14}(\.\d*[1-9])?Z$/);
    expect(token.tstInfo.genTime.getTime()).toBe(
      Date.UTC(2026, 5, 1, 12, 34, 56) + [0, 100, 120, 123, 123, 123, 123][precision]!,
    );
  });

  it('TST-05 formatGenTime drops trailing zeros and never leaves a bare dot', () => {
    const base = Date.UTC(2026, 5, 1, 12, 0, 0);
    const cases: readonly (readonly [number, GenTimePrecision, string])[] = [
      [base, 6, '20260601120000Z'],
      [base + 250, 6, '20260601120000.25Z'],
      [base + 250, 1, '20260601120000.2Z'],
      [base + 100, 3, '20260601120000.1Z'],
      [base + 0.5, 3, '20260601120000Z'],
      [base + 0.5, 4, '20260601120000.0005Z'],
      [base + 10.01, 6, '20260601120000.01001Z'],
      [base + 999.999, 6, '20260601120000.999999Z'],
      [base + 999.999, 2, '20260601120000.99Z'],
      [base + 0.021, 6, '20260601120000.000021Z'],
      [base + 123.4, 6, '20260601120000.1234Z'],
      [Date.UTC(999, 0, 2, 3, 4, 5), 0, '09990102030405Z'],
    ];
    for (const [ms, precision, text] of cases) {
      expect(formatGenTime(ms, precision), `${ms} @${precision}`).toBe(text);
    }
  });

  it('TST-05 formatGenTime writes every microsecond of a second exactly', () => {
    const base = Date.UTC(2026, 5, 1, 12, 0, 0);
    for (let us = 0; us < 1_000_000; us += 37) {
      const text = formatGenTime(base + us / 1000, 6);
      const fraction = String(us).padStart(6, '0').replace(/0+$/, '');
      expect(text).toBe(fraction === '' ? '20260601120000Z' : `20260601120000.${fraction}Z`);
      for (const p of [1, 3, 5] as const) {
        expect(formatGenTime(base + us / 1000, p)).toMatch(/^\d{14}(\.\d*[1-9])?Z$/);
      }
    }
  });

  it.each([
    ['1 s', { seconds: 1, millis: 0, micros: 0 }, '3003020101'],
    ['500 ms', { seconds: 0, millis: 500, micros: 0 }, '3004800201f4'],
    ['1 s 0 ms 250 us', { seconds: 1, millis: 0, micros: 250 }, '3007020101810200fa'],
    ['1 us', { seconds: 0, millis: 0, micros: 1 }, '3003810101'],
    [
      '2 s 999 ms 999 us',
      { seconds: 2, millis: 999, micros: 999 },
      '300b020102' + '800203e7' + '810203e7',
    ],
  ] as const)(
    'TST-06 E422-03 an accuracy of %s is present and encodes no zero part',
    async (_n, accuracy, hex) => {
      const token = granted(await ask(makeService({ accuracy }), spec()));
      const field = tstChildren(token)[5]!;
      expect(Buffer.from(field.bytes).toString('hex')).toBe(hex);
      const decoded = token.tstInfo.accuracy;
      expect(decoded).toBeDefined();
      expect(decoded?.seconds ?? 0).toBe(accuracy.seconds);
      expect(decoded?.millis ?? 0).toBe(accuracy.millis);
      expect(decoded?.micros ?? 0).toBe(accuracy.micros);
    },
  );

  it('TST-06 encodeAccuracy writes exactly the non-zero parts', () => {
    const samples: Accuracy[] = [];
    for (const seconds of [0, 1, 59]) {
      for (const millis of [0, 1, 999]) {
        for (const micros of [0, 1, 999]) samples.push({ seconds, millis, micros });
      }
    }
    for (const a of samples) {
      const encoded = encodeAccuracy(a);
      if (a.seconds === 0 && a.millis === 0 && a.micros === 0) {
        expect(encoded).toBeUndefined();
        continue;
      }
      if (encoded === undefined) throw new Error('accuracy missing');
      assertStrictDer(encoded);
      const parts = children(encoded);
      expect(parts.map((p) => p.tag)).toEqual(
        [a.seconds > 0 ? 0x02 : 0, a.millis > 0 ? 0x80 : 0, a.micros > 0 ? 0x81 : 0].filter(
          (t) => t !== 0,
        ),
      );
      for (const p of parts) expect(p.content.some((b) => b !== 0)).toBe(true);
    }
  });

  it('TST-07 E422-04 ordering is absent', async () => {
    const token = granted(
      await ask(makeService({ qualified: true }), spec({ nonce: Uint8Array.of(1) })),
    );
    expect(token.tstInfo.ordering).toBeUndefined();
    expect(tstChildren(token).some((t) => t.tag === 0x01)).toBe(false);
  });

  it('TST-08 the nonce is present exactly when the request had one', async () => {
    const service = makeService();
    const without = granted(await ask(service, spec()));
    expect(without.tstInfo.nonce).toBeUndefined();
    expect(tstChildren(without).map((t) => t.tag)).toEqual([
      0x02, 0x06, 0x30, 0x02, 0x18, 0x30, 0xa0,
    ]);
    const nonce = Uint8Array.of(0x7f, 0x00, 0x01);
    const withNonce = granted(await ask(service, spec({ nonce })));
    expect(tstChildren(withNonce)[6]!.bytes).toEqual(der.tlv(0x02, nonce));
  });

  it.each(['default', 'rsa', 'ed'] as const)(
    'TST-09 tsa is the %s certificate subject as directoryName',
    async (unit) => {
      const token = granted(await ask(makeService(), spec(), unit));
      const tsa = tstChildren(token).find((t) => t.tag === 0xa0);
      const subject = new Uint8Array(
        parseCertificate(unitCertificate(unit)).subject.toSchema().toBER(),
      );
      expect(tsa?.bytes).toEqual(der.contextConstructed(0, der.contextConstructed(4, subject)));
      expect(token.tstInfo.tsa?.type).toBe(4);
    },
  );

  it('TST-09 tsa is absent when includeTsaName is off', async () => {
    const token = granted(await ask(makeService({ includeTsaName: false }), spec()));
    expect(token.tstInfo.tsa).toBeUndefined();
    expect(tstChildren(token).map((t) => t.tag)).toEqual([0x02, 0x06, 0x30, 0x02, 0x18, 0x30]);
  });

  it('TST-10 no TSTInfo extensions unless qualified, and never a critical one', async () => {
    const plain = granted(await ask(makeService(), spec()));
    expect(plain.tstInfo.extensions).toBeUndefined();
    expect(tstChildren(plain).some((t) => t.tag === 0xa1)).toBe(false);
    const qualified = granted(await ask(makeService({ qualified: true }), spec()));
    const extensions = qualified.tstInfo.extensions ?? [];
    expect(extensions.map((e) => e.extnID)).toEqual([id_pe_qcStatements]);
    expect(extensions.every((e) => !e.critical)).toBe(true);
  });
});

describe('ETSI EN 319 422 profile', () => {
  it('E422-01 reqPolicy, nonce and certReq together are honoured', async () => {
    const nonce = nonceOctets(0x0123456789abcdef0123456789abcdef01234567n);
    const token = granted(
      await ask(makeService(), spec({ policy: POLICY_B, nonce, certReq: true })),
    );
    expect(policyOf(token)).toBe(POLICY_B);
    expect(new Uint8Array(token.tstInfo.nonce!.valueBlock.valueHexView)).toEqual(nonce);
    expect(certificatesDer(token)).toEqual([unitCertificate('default')]);
  });

  it('E422-02 the default policy is the TSA own OID; the EN 319 421 OID only where claimed', async () => {
    const own = granted(await ask(makeService(), spec()));
    expect(policyOf(own)).toBe(id_tsaPolicyBaseline);
    rejected(
      await ask(makeService(), spec({ policy: id_etsi_bestPracticesTsaPolicy })),
      'unacceptedPolicy',
    );
    const claiming = makeService({
      units: [
        {
          name: 'default',
          signer: signers.default,
          policies: [id_tsaPolicyBaseline, id_etsi_bestPracticesTsaPolicy],
        },
      ],
    });
    const token = granted(await ask(claiming, spec({ policy: id_etsi_bestPracticesTsaPolicy })));
    expect(policyOf(token)).toBe('0.4.0.2023.1.1');
  });

  it('E422-03 every token carries accuracy, one second by default', async () => {
    const service = makeService();
    for (const unit of ['default', 'rsa', 'ed'] as const) {
      const token = granted(await ask(service, spec(), unit));
      expect(token.tstInfo.accuracy?.seconds).toBe(1);
      expect(tstChildren(token)[5]!.bytes).toEqual(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01));
    }
  });

  it('E422-04 no ordering and no critical extension in any configuration', async () => {
    for (const qualified of [false, true]) {
      for (const includeTsaName of [false, true]) {
        const token = granted(
          await ask(makeService({ qualified, includeTsaName }), spec({ nonce: Uint8Array.of(2) })),
        );
        expect(token.tstInfo.ordering).toBeUndefined();
        expect((token.tstInfo.extensions ?? []).some((e) => e.critical)).toBe(false);
        // no BOOLEAN anywhere in the extensions field: critical DEFAULT FALSE is omitted
        const ext = tstChildren(token).find((t) => t.tag === 0xa1);
        if (ext !== undefined) {
          for (const e of ext.content.length > 0 ? children(ext.bytes) : []) {
            expect(children(e.bytes).map((t) => t.tag)).toEqual([0x06, 0x04]);
          }
        }
      }
    }
  });

  it('E422-05 the token identifies its signer with signingCertificateV2 (RFC 5816)', async () => {
    const token = granted(await ask(makeService(), spec()));
    expect(attribute(token, id_aa_signingCertificateV2).type).toBe('1.2.840.113549.1.9.16.2.47');
  });

  it('E422-06 qualified mode adds exactly one non-critical qcStatements with esi4-qtstStatement-1', async () => {
    const token = granted(await ask(makeService({ qualified: true }), spec()));
    const ext = tstChildren(token).find((t) => t.tag === 0xa1);
    if (ext === undefined) throw new Error('qualified token without extensions');
    const list = children(ext.bytes);
    expect(list).toHaveLength(1);
    expect(list[0]!.bytes).toEqual(
      der.seq(
        der.oid(id_pe_qcStatements),
        der.octetString(der.seq(der.seq(der.oid(id_etsi_tsts_EuQCompliance)))),
      ),
    );
    expect(id_etsi_tsts_EuQCompliance).toBe('0.4.0.19422.1.1');
    verifyTokenSignature(token, 'default');
  });
});

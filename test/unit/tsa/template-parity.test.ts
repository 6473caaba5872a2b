// TokenTemplate (src/tsa/response.ts) against pkijs: the same TSTInfo, signed attributes,
// SignedData, ContentInfo and TimeStampResp assembled with pkijs/asn1js from the same field
// values and the template's signature must be identical byte for byte (RFC 3161 2.4.2,
// RFC 5652 5, RFC 5816, RFC 6211). Rejections are compared the same way.
import { createHash, createPublicKey, verify } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  assertStrictDer,
  der,
  ensureCryptoEngine,
  id_aa_CMSAlgorithmProtection,
  id_aa_signingCertificateV2,
  id_contentType,
  id_ct_TSTInfo,
  id_etsi_tsts_EuQCompliance,
  id_messageDigest,
  id_pe_qcStatements,
  id_sha256,
  id_sha384,
  id_sha3_512,
  id_sha512,
  id_shake128,
  id_signedData,
  id_tsaPolicyBaseline,
  id_tsaPolicyPostQuantum,
  keyAlgorithmInfo,
  parseCertificate,
  signatureAlgorithmDer,
  verifySignature,
  type KeyAlgorithm,
  type Signer,
} from '../../../src/pki/index.js';
import { fixedClock, toArrayBuffer } from '../../../src/shared/index.js';
import {
  FAIL_INFO_BITS,
  TokenTemplate,
  buildRejection,
  encodeFailInfo,
  type Accuracy,
  type BuiltToken,
  type FailInfo,
} from '../../../src/tsa/index.js';
import { createTestDevice } from '../../helpers/hsm.js';
import { encodeMessageImprint, nonceOctets, type RequestSpec } from '../../helpers/tsq.js';

type UnitName = 'default' | 'rsa' | 'ed' | 'pq' | 'shake';

let signers: Readonly<Record<UnitName, Signer>>;

beforeAll(async () => {
  ensureCryptoEngine();
  const device = await createTestDevice({ clock: fixedClock(new Date('2026-01-01T00:00:00Z')) });
  // One RSA-3072 partition per file: key generation is slow.
  await device.hsm.createPartition('rsa', { timestampAlgorithm: 'rsa-3072' });
  await device.hsm.createPartition('ed', { timestampAlgorithm: 'ed25519' });
  await device.hsm.createPartition('pq', { timestampAlgorithm: 'ml-dsa-65' });
  await device.hsm.createPartition('shake', { timestampAlgorithm: 'slh-dsa-shake-128f' });
  signers = {
    default: await device.hsm.timestampSigner('default'),
    rsa: await device.hsm.timestampSigner('rsa'),
    ed: await device.hsm.timestampSigner('ed'),
    pq: await device.hsm.timestampSigner('pq'),
    shake: await device.hsm.timestampSigner('shake'),
  };
}, 60_000);

/** The CMS algorithms written independently of src/pki/algorithms.ts. */
const EXPECTED_ALGORITHMS: Readonly<
  Partial<
    Record<
      KeyAlgorithm,
      {
        digest: string;
        digestName: string;
        /** The output length of an extendable-output digest (RFC 8702 3.1). */
        outputLength?: number;
        signature: () => pkijs.AlgorithmIdentifier;
      }
    >
  >
> = {
  'ecdsa-p256': {
    digest: id_sha256,
    digestName: 'sha256',
    signature: () => new pkijs.AlgorithmIdentifier({ algorithmId: '1.2.840.10045.4.3.2' }),
  },
  'rsa-3072': {
    digest: id_sha256,
    digestName: 'sha256',
    signature: () =>
      new pkijs.AlgorithmIdentifier({
        algorithmId: '1.2.840.113549.1.1.11',
        algorithmParams: new asn1js.Null(),
      }),
  },
  // RFC 8419 3.1: SHA-512 with signed attributes; parameters absent.
  ed25519: {
    digest: id_sha512,
    digestName: 'sha512',
    signature: () => new pkijs.AlgorithmIdentifier({ algorithmId: '1.3.101.112' }),
  },
  // RFC 9882 3.3: SHA-512 for every ML-DSA set; RFC 9881 3: id-ml-dsa-65, parameters absent.
  'ml-dsa-65': {
    digest: id_sha512,
    digestName: 'sha512',
    signature: () => new pkijs.AlgorithmIdentifier({ algorithmId: '2.16.840.1.101.3.4.3.18' }),
  },
  // RFC 9814 4: SHAKE128 (256 bits, RFC 8702) for SLH-DSA-SHAKE-128f, id-slh-dsa-shake-128f.
  'slh-dsa-shake-128f': {
    digest: id_shake128,
    digestName: 'shake128',
    outputLength: 32,
    signature: () => new pkijs.AlgorithmIdentifier({ algorithmId: '2.16.840.1.101.3.4.3.27' }),
  },
};

interface Case {
  readonly unit: UnitName;
  readonly includeIssuers: boolean;
  readonly qualified: boolean;
  readonly includeTsaName: boolean;
  readonly accuracy: Accuracy;
  readonly certReq: boolean;
  readonly request: RequestSpec;
  readonly policy: string;
  readonly serial: bigint;
  /** Whole milliseconds after which the fraction is written at microsecond precision. */
  readonly genTime: { readonly at: Date; readonly text: string };
}

const BASE = Date.UTC(2026, 10, 27, 7, 18, 1);

function genTimeAt(ms: number, text: string): Case['genTime'] {
  return { at: new Date(ms), text };
}

function makeCase(over: Partial<Case>): Case {
  return {
    unit: 'default',
    includeIssuers: false,
    qualified: false,
    includeTsaName: true,
    accuracy: { seconds: 1, millis: 0, micros: 0 },
    certReq: false,
    request: { hashOid: id_sha256, digest: new Uint8Array(32).fill(0x5e) },
    policy: id_tsaPolicyBaseline,
    serial: 1n,
    genTime: genTimeAt(BASE + 250, '20261127071801.25Z'),
    ...over,
  };
}

const CASES: readonly (readonly [string, Case])[] = [
  ['ECDSA P-256, minimal', makeCase({})],
  [
    'ECDSA P-256, nonce, certReq, NULL hash parameters',
    makeCase({
      certReq: true,
      request: {
        hashOid: id_sha384,
        hashParams: 'null',
        digest: new Uint8Array(48).fill(1),
        nonce: nonceOctets(0x8000000000000001n),
      },
    }),
  ],
  [
    'ECDSA P-256, issuers, qualified, no TSA name, 500 ms',
    makeCase({
      certReq: true,
      includeIssuers: true,
      qualified: true,
      includeTsaName: false,
      accuracy: { seconds: 0, millis: 500, micros: 0 },
      serial: 0x80n,
    }),
  ],
  [
    'RSA-3072, nonce, 159-bit serial, 1 s 0 ms 250 us, whole seconds',
    makeCase({
      unit: 'rsa',
      accuracy: { seconds: 1, millis: 0, micros: 250 },
      serial: (1n << 159n) - 1n,
      request: {
        hashOid: id_sha512,
        digest: new Uint8Array(64).fill(2),
        nonce: nonceOctets(0n),
      },
      genTime: genTimeAt(BASE, '20261127071801Z'),
    }),
  ],
  [
    'RSA-3072, issuers, qualified, policy under the project arc',
    makeCase({
      unit: 'rsa',
      certReq: true,
      includeIssuers: true,
      qualified: true,
      policy: `${id_tsaPolicyBaseline}.42`,
    }),
  ],
  [
    'Ed25519, SHA3-512 imprint, 512-bit nonce, certReq',
    makeCase({
      unit: 'ed',
      certReq: true,
      request: {
        hashOid: id_sha3_512,
        digest: new Uint8Array(64).fill(3),
        nonce: nonceOctets((1n << 511n) | 7n),
      },
      serial: 2n ** 64n + 5n,
    }),
  ],
  [
    'Ed25519, qualified, 2 s 999 ms 999 us, millisecond time',
    makeCase({
      unit: 'ed',
      qualified: true,
      accuracy: { seconds: 2, millis: 999, micros: 999 },
      genTime: genTimeAt(BASE + 7, '20261127071801.007Z'),
    }),
  ],
  [
    'ECDSA P-256, microsecond time',
    makeCase({ genTime: genTimeAt(BASE + 123, '20261127071801.123456Z') }),
  ],
  [
    'ML-DSA-65, nonce, certReq with issuers, post-quantum policy',
    makeCase({
      unit: 'pq',
      certReq: true,
      includeIssuers: true,
      policy: id_tsaPolicyPostQuantum,
      request: {
        hashOid: id_sha512,
        digest: new Uint8Array(64).fill(4),
        nonce: nonceOctets(0x0102n),
      },
    }),
  ],
  ['ML-DSA-65, minimal', makeCase({ unit: 'pq', policy: id_tsaPolicyPostQuantum })],
  ['SLH-DSA-SHAKE-128f, SHAKE128 digest, certReq', makeCase({ unit: 'shake', certReq: true })],
];

function templateFor(c: Case): TokenTemplate {
  return new TokenTemplate({
    signer: signers[c.unit],
    includeIssuers: c.includeIssuers,
    accuracy: c.accuracy,
    qualified: c.qualified,
    includeTsaName: c.includeTsaName,
  });
}

async function buildWithTemplate(c: Case): Promise<BuiltToken> {
  return templateFor(c).build({
    policy: der.oid(c.policy),
    messageImprint: encodeMessageImprint(c.request),
    serialNumber: der.integer(c.serial),
    genTime: c.genTime.text,
    nonce: c.request.nonce,
    certReq: c.certReq,
  });
}

const bytes = (b: { toBER(sizeOnly?: boolean): ArrayBuffer }): Uint8Array =>
  new Uint8Array(b.toBER(false));

function buffer(b: Uint8Array): ArrayBuffer {
  return toArrayBuffer(b);
}

/** TSTInfo with pkijs from the case's field values. */
function pkijsTstInfo(c: Case): Uint8Array {
  const cert = parseCertificate(signers[c.unit].certificateChain[0]!);
  const accuracy: { seconds?: number; millis?: number; micros?: number } = {};
  if (c.accuracy.seconds > 0) accuracy.seconds = c.accuracy.seconds;
  if (c.accuracy.millis > 0) accuracy.millis = c.accuracy.millis;
  if (c.accuracy.micros > 0) accuracy.micros = c.accuracy.micros;
  const tst = new pkijs.TSTInfo({
    version: 1,
    policy: c.policy,
    messageImprint: new pkijs.MessageImprint({
      hashAlgorithm: new pkijs.AlgorithmIdentifier(
        c.request.hashParams === 'null'
          ? { algorithmId: c.request.hashOid, algorithmParams: new asn1js.Null() }
          : { algorithmId: c.request.hashOid },
      ),
      hashedMessage: new asn1js.OctetString({ valueHex: buffer(c.request.digest) }),
    }),
    serialNumber: asn1js.Integer.fromBigInt(c.serial),
    genTime: c.genTime.at,
    accuracy: new pkijs.Accuracy(accuracy),
    ...(c.request.nonce === undefined
      ? {}
      : { nonce: new asn1js.Integer({ valueHex: buffer(c.request.nonce) }) }),
    ...(c.includeTsaName ? { tsa: new pkijs.GeneralName({ type: 4, value: cert.subject }) } : {}),
    ...(c.qualified
      ? {
          extensions: [
            new pkijs.Extension({
              extnID: id_pe_qcStatements,
              extnValue: buffer(
                bytes(
                  new asn1js.Sequence({
                    value: [
                      new asn1js.Sequence({
                        value: [new asn1js.ObjectIdentifier({ value: id_etsi_tsts_EuQCompliance })],
                      }),
                    ],
                  }),
                ),
              ),
            }),
          ],
        }
      : {}),
  });
  const schema = tst.toSchema();
  if (c.genTime.text.length > '20261127071801.123Z'.length) {
    // A JavaScript Date holds milliseconds only: write the microsecond text as it is.
    schema.valueBlock.value[4] = new asn1js.Primitive({
      idBlock: { tagClass: 1, tagNumber: 24 },
      valueHex: buffer(new TextEncoder().encode(c.genTime.text)),
    });
  }
  return bytes(schema);
}

/** The sorted SET OF attributes (X.690 11.6; pkijs leaves the order to the caller). */
function pkijsSignedAttributes(c: Case, tstInfo: Uint8Array): pkijs.SignedAndUnsignedAttributes {
  const signer = signers[c.unit];
  const algorithms = EXPECTED_ALGORITHMS[signer.algorithm]!;
  const certificate = signer.certificateChain[0]!;
  const cert = parseCertificate(certificate);
  const essCertIdV2 = new asn1js.Sequence({
    value: [
      // hashAlgorithm DEFAULT id-sha256: omitted
      new asn1js.OctetString({
        valueHex: buffer(createHash('sha256').update(certificate).digest()),
      }),
      new asn1js.Sequence({
        value: [
          new asn1js.Sequence({
            value: [new pkijs.GeneralName({ type: 4, value: cert.issuer }).toSchema()],
          }),
          cert.serialNumber,
        ],
      }),
    ],
  });
  const signatureAlgorithm = algorithms.signature().toSchema();
  const attributes = [
    new pkijs.Attribute({
      type: id_contentType,
      values: [new asn1js.ObjectIdentifier({ value: id_ct_TSTInfo })],
    }),
    new pkijs.Attribute({
      type: id_messageDigest,
      values: [
        new asn1js.OctetString({
          valueHex: buffer(
            createHash(
              algorithms.digestName,
              algorithms.outputLength === undefined
                ? undefined
                : { outputLength: algorithms.outputLength },
            )
              .update(tstInfo)
              .digest(),
          ),
        }),
      ],
    }),
    new pkijs.Attribute({
      type: id_aa_signingCertificateV2,
      values: [new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [essCertIdV2] })] })],
    }),
    new pkijs.Attribute({
      type: id_aa_CMSAlgorithmProtection,
      values: [
        new asn1js.Sequence({
          value: [
            new pkijs.AlgorithmIdentifier({ algorithmId: algorithms.digest }).toSchema(),
            new asn1js.Constructed({
              idBlock: { tagClass: 3, tagNumber: 1 },
              value: signatureAlgorithm.valueBlock.value,
            }),
          ],
        }),
      ],
    }),
  ];
  attributes.sort((a, b) => der.compareBytes(bytes(a.toSchema()), bytes(b.toSchema())));
  return new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes });
}

function pkijsResponse(c: Case, built: BuiltToken): Uint8Array {
  const signer = signers[c.unit];
  const algorithms = EXPECTED_ALGORITHMS[signer.algorithm]!;
  const cert = parseCertificate(signer.certificateChain[0]!);
  const signerInfo = new pkijs.SignerInfo({
    version: 1,
    sid: new pkijs.IssuerAndSerialNumber({ issuer: cert.issuer, serialNumber: cert.serialNumber }),
    digestAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: algorithms.digest }),
    signedAttrs: pkijsSignedAttributes(c, built.tstInfo),
    signatureAlgorithm: algorithms.signature(),
    signature: new asn1js.OctetString({ valueHex: buffer(built.signature) }),
  });
  // The constructor would split eContent into a constructed (BER) OCTET STRING: set it after.
  const encapContentInfo = new pkijs.EncapsulatedContentInfo({ eContentType: id_ct_TSTInfo });
  encapContentInfo.eContent = new asn1js.OctetString({ valueHex: buffer(built.tstInfo) });
  const chain = c.includeIssuers ? signer.certificateChain : signer.certificateChain.slice(0, 1);
  const signedData = new pkijs.SignedData({
    version: 3,
    digestAlgorithms: [new pkijs.AlgorithmIdentifier({ algorithmId: algorithms.digest })],
    encapContentInfo,
    signerInfos: [signerInfo],
    ...(c.certReq ? { certificates: chain.map((d) => pkijs.Certificate.fromBER(buffer(d))) } : {}),
  });
  const response = new pkijs.TimeStampResp({
    status: new pkijs.PKIStatusInfo({ status: pkijs.PKIStatus.granted }),
    timeStampToken: new pkijs.ContentInfo({
      contentType: id_signedData,
      content: signedData.toSchema(true),
    }),
  });
  return bytes(response.toSchema());
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

describe('TokenTemplate against pkijs', () => {
  it.each(CASES)('TSTInfo is identical to pkijs.TSTInfo: %s', async (_name, c) => {
    const built = await buildWithTemplate(c);
    expect(hex(built.tstInfo)).toBe(hex(pkijsTstInfo(c)));
    assertStrictDer(built.tstInfo);
  });

  it.each(CASES)('signed attributes are identical to pkijs: %s', async (_name, c) => {
    const built = await buildWithTemplate(c);
    const attrs = bytes(pkijsSignedAttributes(c, built.tstInfo).toSchema());
    // pkijs writes the [0] IMPLICIT form; the signature covers the SET OF form (RFC 5652 5.4).
    expect(attrs[0]).toBe(0xa0);
    expect(built.signedAttributes[0]).toBe(0x31);
    expect(hex(built.signedAttributes.subarray(1))).toBe(hex(attrs.subarray(1)));
    assertStrictDer(built.signedAttributes);
  });

  it.each(CASES)('TimeStampResp is identical to pkijs byte for byte: %s', async (_name, c) => {
    const built = await buildWithTemplate(c);
    expect(hex(built.response)).toBe(hex(pkijsResponse(c, built)));
    if (!(c.certReq && c.includeIssuers)) assertStrictDer(built.response);
  });

  it.each(CASES)(
    'the signature verifies over the pkijs signed attributes: %s',
    async (_name, c) => {
      const built = await buildWithTemplate(c);
      const signer = signers[c.unit];
      const attrs = bytes(pkijsSignedAttributes(c, built.tstInfo).toSchema()).slice();
      attrs[0] = 0x31;
      if (keyAlgorithmInfo(signer.algorithm).postQuantum === true) {
        // Pure ML-DSA and SLH-DSA over the DER of the signed attributes (RFC 9882 3.2, 9814 4).
        const algorithm = signatureAlgorithmDer(signer.algorithm);
        expect(await verifySignature(signer.spki, algorithm, attrs, built.signature)).toBe(true);
        attrs[attrs.length - 1]! ^= 1;
        expect(await verifySignature(signer.spki, algorithm, attrs, built.signature)).toBe(false);
        return;
      }
      const key = createPublicKey({
        key: Buffer.from(signer.spki),
        format: 'der',
        type: 'spki',
      });
      const hash = signer.algorithm === 'ed25519' ? null : 'sha256';
      expect(verify(hash, attrs, { key, dsaEncoding: 'der' }, built.signature)).toBe(true);
    },
  );

  it('pkijs verifies the ECDSA and RSA tokens it reads back, imprint and signature', async () => {
    const data = new TextEncoder().encode('time-stamped document');
    const digest = new Uint8Array(createHash('sha256').update(data).digest());
    for (const unit of ['default', 'rsa'] as const) {
      const request: RequestSpec = { hashOid: id_sha256, digest, nonce: Uint8Array.of(1) };
      const built = await buildWithTemplate(makeCase({ unit, certReq: true, request }));
      const resp = pkijs.TimeStampResp.fromBER(buffer(built.response));
      const signedData = new pkijs.SignedData({ schema: resp.timeStampToken!.content });
      const result = await signedData.verify({
        signer: 0,
        data: buffer(data),
        checkChain: false,
        extendedMode: true,
      });
      expect(result.signatureVerified, unit).toBe(true);
      // The same token against other data fails its imprint check.
      await expect(
        signedData.verify({ signer: 0, data: buffer(Uint8Array.of(1)), checkChain: false }),
      ).rejects.toThrow(/TSTInfo verification is failed/);
    }
  });

  it('a different field value changes the TSTInfo (the comparison can fail)', async () => {
    const c = makeCase({});
    const built = await buildWithTemplate(c);
    expect(hex(built.tstInfo)).not.toBe(hex(pkijsTstInfo({ ...c, serial: 2n })));
    expect(hex(built.tstInfo)).not.toBe(
      hex(pkijsTstInfo({ ...c, accuracy: { seconds: 1, millis: 1, micros: 0 } })),
    );
  });
});

describe('buildRejection against pkijs', () => {
  it.each(Object.keys(FAIL_INFO_BITS) as FailInfo[])('%s is identical to pkijs', (failInfo) => {
    const text = `refused: ${failInfo}`;
    const encoded = encodeFailInfo(failInfo);
    const bit = FAIL_INFO_BITS[failInfo];
    const octets = new Uint8Array((bit >> 3) + 1);
    octets[bit >> 3] = 0x80 >> (bit & 7);
    const expected = new pkijs.TimeStampResp({
      status: new pkijs.PKIStatusInfo({
        status: pkijs.PKIStatus.rejection,
        statusStrings: [new asn1js.Utf8String({ value: text })],
        failInfo: new asn1js.BitString({ valueHex: buffer(octets), unusedBits: 7 - (bit & 7) }),
      }),
    });
    expect(hex(buildRejection(failInfo, text))).toBe(hex(bytes(expected.toSchema())));
    expect(encoded[0]).toBe(0x03);
  });
});

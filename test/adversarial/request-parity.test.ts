// Hostile and generated TimeStampReq DER (RFC 3161 2.4.1) against the hand-written reader
// (src/tsa/request.ts): it must agree with pkijs on every field of every request it accepts,
// accept only strict DER, and refuse everything else with a TsaError, quickly.
import * as asn1js from 'asn1js';
import fc from 'fast-check';
import * as pkijs from 'pkijs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  assertStrictDer,
  der,
  ensureCryptoEngine,
  id_sha256,
  id_sha384,
  id_sha3_256,
  id_sha3_384,
  id_sha3_512,
  id_sha512,
  id_tsaPolicyBaseline,
} from '../../src/pki/index.js';
import { fixedClock, toArrayBuffer } from '../../src/shared/index.js';
import {
  DEFAULT_REQUEST_LIMITS,
  TimeStampService,
  TsaError,
  fixedTimeSource,
  parseTimeStampReq,
  type TimeStampReq,
} from '../../src/tsa/index.js';
import { createTestDevice } from '../helpers/hsm.js';
import {
  decodeResponse,
  encodeMessageImprint,
  encodeTimeStampReq,
  type RequestExtensionSpec,
  type RequestSpec,
} from '../helpers/tsq.js';

const HASHES = [
  { oid: id_sha256, length: 32 },
  { oid: id_sha384, length: 48 },
  { oid: id_sha512, length: 64 },
  { oid: id_sha3_256, length: 32 },
  { oid: id_sha3_384, length: 48 },
  { oid: id_sha3_512, length: 64 },
] as const;

const SEED = 0x3161;
const RUNS = 500;

/** Minimal two's-complement content octets of arbitrary bytes (X.690 8.3.2). */
function minimalInteger(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (
    start < bytes.length - 1 &&
    ((bytes[start] === 0x00 && (bytes[start + 1]! & 0x80) === 0) ||
      (bytes[start] === 0xff && (bytes[start + 1]! & 0x80) !== 0))
  ) {
    start++;
  }
  return bytes.slice(start);
}

const arcArb = fc.oneof(
  fc.nat({ max: 127 }),
  fc.nat(),
  fc.bigInt({ min: 0n, max: 1n << 80n }).map(String),
);

const oidArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(id_tsaPolicyBaseline, `${id_tsaPolicyBaseline}.6.9`, '0.4.0.2023.1.1', '2.999.1'),
  fc
    .tuple(
      fc.integer({ min: 0, max: 1 }),
      fc.integer({ min: 0, max: 39 }),
      fc.array(arcArb, { maxLength: 6 }),
    )
    .map(([a, b, rest]) => [a, b, ...rest].join('.')),
  fc
    .tuple(fc.integer({ min: 0, max: 100_000 }), fc.array(arcArb, { maxLength: 6 }))
    .map(([b, rest]) => ['2', b, ...rest].join('.')),
);

const optionalBoolean = fc.constantFrom(undefined, true, 'explicit-false' as const);

const extensionArb: fc.Arbitrary<RequestExtensionSpec> = fc.record({
  oid: oidArb,
  critical: optionalBoolean,
  value: fc.uint8Array({ maxLength: 16 }),
});

const specArb: fc.Arbitrary<RequestSpec> = fc
  .record({
    hash: fc.constantFrom(...HASHES),
    rightLength: fc.boolean(),
    wrongLength: fc.integer({ min: 0, max: 80 }),
    digest: fc.uint8Array({ minLength: 80, maxLength: 80 }),
    hashParams: fc.constantFrom('absent' as const, 'null' as const),
    policy: fc.option(oidArb, { nil: undefined }),
    nonce: fc.option(fc.uint8Array({ minLength: 1, maxLength: 64 }), { nil: undefined }),
    certReq: optionalBoolean,
    extensions: fc.option(
      fc.uniqueArray(extensionArb, { minLength: 1, maxLength: 3, selector: (e) => e.oid }),
      { nil: undefined },
    ),
  })
  .map((r) => ({
    hashOid: r.hash.oid,
    hashParams: r.hashParams,
    digest: r.digest.slice(0, r.rightLength ? r.hash.length : r.wrongLength),
    policy: r.policy,
    nonce: r.nonce === undefined ? undefined : minimalInteger(r.nonce),
    certReq: r.certReq,
    extensions: r.extensions,
  }));

type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly mask: number }
  | { readonly kind: 'set'; readonly at: number; readonly value: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'append'; readonly bytes: Uint8Array }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    at: fc.nat(),
    mask: fc.integer({ min: 1, max: 255 }),
  }),
  fc.record({
    kind: fc.constant('set' as const),
    at: fc.nat(),
    value: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('append' as const),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
);

function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  switch (m.kind) {
    case 'flip': {
      const out = bytes.slice();
      const i = m.at % out.length;
      out[i] = out[i]! ^ m.mask;
      return out;
    }
    case 'set': {
      const out = bytes.slice();
      out[m.at % out.length] = m.value;
      return out;
    }
    case 'truncate':
      return bytes.slice(0, m.at % bytes.length);
    case 'append':
      return new Uint8Array([...bytes, ...m.bytes]);
    case 'insert': {
      const i = m.at % (bytes.length + 1);
      return new Uint8Array([...bytes.subarray(0, i), ...m.bytes, ...bytes.subarray(i)]);
    }
  }
}

/**
 * asn1js (so pkijs) spells an arc above 2^53 as `{hex}`, the hex of its base-128 octets without
 * the continuation bits, and a first subidentifier above 2^53 as `{{hex} - 80}`: back to decimal.
 */
function dottedFromAsn1js(spelled: string): string {
  const fromGroups = (hex: string): bigint => {
    let value = 0n;
    for (let i = 0; i < hex.length; i += 2)
      value = value * 128n + BigInt(parseInt(hex.slice(i, i + 2), 16));
    return value;
  };
  return spelled
    .split('.')
    .map((arc) => {
      const first = /^\{\{([0-9a-f]+)\} - 80\}$/.exec(arc);
      if (first !== null) return String(fromGroups(first[1]!) - 80n);
      const big = /^\{([0-9a-f]+)\}$/.exec(arc);
      if (big !== null) return String(fromGroups(big[1]!));
      return arc;
    })
    .join('.');
}

function expectSameOid(ours: string, theirs: string): void {
  expect(ours).toBe(dottedFromAsn1js(theirs));
}

/** Every field of our reading against pkijs.TimeStampReq.fromBER of the same bytes. */
function expectAgreesWithPkijs(bytes: Uint8Array, ours: TimeStampReq): void {
  const theirs = pkijs.TimeStampReq.fromBER(toArrayBuffer(bytes));
  // version: only v1 is meaningful; a negative or multi-octet INTEGER reads as some number != 1.
  expect(ours.version === 1).toBe(theirs.version === 1);
  if (theirs.version >= 0 && theirs.version < 128) expect(ours.version).toBe(theirs.version);
  const mi = theirs.messageImprint;
  expectSameOid(ours.hashAlgorithm, mi.hashAlgorithm.algorithmId);
  expect(ours.hashParametersNull).toBe(mi.hashAlgorithm.algorithmParams instanceof asn1js.Null);
  expect(ours.hashedMessage).toEqual(new Uint8Array(mi.hashedMessage.valueBlock.valueHexView));
  expect(ours.messageImprint).toEqual(new Uint8Array(mi.toSchema().toBER()));
  if (ours.reqPolicy === undefined || theirs.reqPolicy === undefined) {
    expect(ours.reqPolicy).toBe(theirs.reqPolicy);
  } else {
    expectSameOid(ours.reqPolicy, theirs.reqPolicy);
  }
  if (ours.nonce === undefined || theirs.nonce === undefined) {
    expect(ours.nonce).toBe(theirs.nonce);
  } else {
    expect(ours.nonce).toEqual(new Uint8Array(theirs.nonce.valueBlock.valueHexView));
  }
  expect(ours.certReq).toBe(theirs.certReq ?? false);
  const exts = theirs.extensions ?? [];
  expect(ours.extensions).toHaveLength(exts.length);
  ours.extensions.forEach((e, i) => {
    expectSameOid(e.oid, exts[i]!.extnID);
    expect(e.critical).toBe(exts[i]!.critical);
  });
}

/** Runs the reader; anything thrown must be a TsaError with one of the syntax codes. */
function readOrRefuse(bytes: Uint8Array): TimeStampReq | TsaError {
  try {
    return parseTimeStampReq(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(TsaError);
    const code = (error as TsaError).code;
    expect(['request-malformed', 'nonce-too-long']).toContain(code);
    return error as TsaError;
  }
}

function expectMalformed(bytes: Uint8Array, message?: string): TsaError {
  const result = readOrRefuse(bytes);
  expect(result).toBeInstanceOf(TsaError);
  const error = result as TsaError;
  expect(error.code).toBe('request-malformed');
  if (message !== undefined) expect(error.message).toBe(`malformed request: ${message}`);
  return error;
}

/**
 * The reader is quick on huge or deeply nested input because it never walks it: it refuses at
 * the first field that is wrong, having read only the octets before it. That is checked here by
 * counting the octets it reads (a clock would measure the machine, not the reader).
 */
const FRONT_OCTETS = 64;

function expectRefusedAtTheFront(bytes: Uint8Array, message: string): void {
  let reads = 0;
  let furthest = -1;
  const counted = new Proxy(bytes, {
    get(target, property) {
      if (typeof property === 'string' && /^\d+$/.test(property)) {
        reads++;
        furthest = Math.max(furthest, Number(property));
      }
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
  expectMalformed(counted, message);
  expect(reads).toBeGreaterThan(0);
  expect(furthest, `the furthest octet read of ${bytes.length}`).toBeLessThan(FRONT_OCTETS);
}

beforeAll(() => {
  ensureCryptoEngine();
});

describe('generated requests: the reader agrees with pkijs', () => {
  it('every valid request is read field for field as written and as pkijs reads it', () => {
    fc.assert(
      fc.property(specArb, (spec) => {
        const bytes = encodeTimeStampReq(spec);
        assertStrictDer(bytes);
        const ours = parseTimeStampReq(bytes);
        expect(ours.version).toBe(1);
        expect(ours.hashAlgorithm).toBe(spec.hashOid);
        expect(ours.hashParametersNull).toBe(spec.hashParams === 'null');
        expect(ours.hashedMessage).toEqual(spec.digest);
        expect(ours.messageImprint).toEqual(encodeMessageImprint(spec));
        expect(ours.reqPolicy).toBe(spec.policy);
        expect(ours.nonce).toEqual(spec.nonce);
        expect(ours.certReq).toBe(spec.certReq === true);
        expect(ours.extensions).toEqual(
          (spec.extensions ?? []).map((e) => ({ oid: e.oid, critical: e.critical === true })),
        );
        expectAgreesWithPkijs(bytes, ours);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('mutated requests are refused with a TsaError or read as strict DER that pkijs agrees with', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(
        specArb,
        fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
        (spec, mutations) => {
          let bytes = encodeTimeStampReq(spec);
          for (const m of mutations) {
            if (bytes.length === 0) break;
            bytes = mutate(bytes, m);
          }
          const result = readOrRefuse(bytes);
          if (result instanceof TsaError) {
            refused++;
            return;
          }
          accepted++;
          // Accepted means strict DER. certReq and critical written as an explicit DEFAULT FALSE
          // are tolerated on purpose (clients send them); assertStrictDer does not know DEFAULTs,
          // so the check below holds for them too.
          assertStrictDer(bytes);
          expectAgreesWithPkijs(bytes, result);
        },
      ),
      { seed: SEED + 1, numRuns: RUNS },
    );
    // Both branches must have been exercised for the property to mean anything.
    expect(accepted).toBeGreaterThan(25);
    expect(refused).toBeGreaterThan(25);
  });
});

/** Header of a constructed or primitive TLV with a definite DER length. */
function header(tag: number, length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(tag, length);
  const octets: number[] = [];
  for (let v = length; v > 0; v = Math.floor(v / 256)) octets.unshift(v & 0xff);
  return Uint8Array.of(tag, 0x80 | octets.length, ...octets);
}

/** `depth` SEQUENCEs around `inner`, built from the inside out in one buffer. */
function nested(depth: number, inner: Uint8Array): Uint8Array {
  const headers: Uint8Array[] = [];
  let length = inner.length;
  for (let i = 0; i < depth; i++) {
    const h = header(0x30, length);
    headers.push(h);
    length += h.length;
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (let i = headers.length - 1; i >= 0; i--) {
    out.set(headers[i]!, offset);
    offset += headers[i]!.length;
  }
  out.set(inner, offset);
  return out;
}

const VALID: RequestSpec = { hashOid: id_sha256, digest: new Uint8Array(32).fill(0x22) };

describe('hostile requests', () => {
  it('refuses an indefinite length at the top and inside', () => {
    const body = encodeTimeStampReq(VALID);
    const inner = body.subarray(2);
    expectMalformed(
      Uint8Array.of(0x30, 0x80, ...inner, 0x00, 0x00),
      'indefinite length is not DER',
    );
    const mi = encodeMessageImprint(VALID);
    const indefiniteImprint = Uint8Array.of(0x30, 0x80, ...mi.subarray(2), 0x00, 0x00);
    const wrapped = der.seq(der.integer(1), indefiniteImprint);
    expectMalformed(wrapped, 'indefinite length is not DER');
  });

  it('refuses deep nesting quickly, in any position', () => {
    const deep = nested(100_000, Uint8Array.of(0x05, 0x00));
    expectRefusedAtTheFront(deep, 'expected version integer');
    expectRefusedAtTheFront(der.seq(der.integer(1), deep), 'expected object identifier');
    const imprint = encodeMessageImprint(VALID);
    expectRefusedAtTheFront(
      der.seq(der.integer(1), imprint, deep),
      'unexpected or repeated field in TimeStampReq',
    );
  });

  it('refuses trailing bytes after the request', () => {
    const body = encodeTimeStampReq(VALID);
    expectMalformed(new Uint8Array([...body, 0x00]), 'trailing bytes after the request');
    expectMalformed(new Uint8Array([...body, ...body]), 'trailing bytes after the request');
  });

  it('refuses a 10 MB buffer of zeros, and one under a valid header, fast', () => {
    const zeros = new Uint8Array(10 * 1024 * 1024);
    expectRefusedAtTheFront(zeros, 'expected TimeStampReq sequence');
    const framed = zeros.slice();
    const head = header(0x30, zeros.length - 5);
    expect(head).toHaveLength(5);
    framed.set(head, 0);
    expectRefusedAtTheFront(framed, 'expected version integer');
  });

  it('refuses non-minimal lengths, long length fields and high tag numbers', () => {
    const body = encodeTimeStampReq(VALID);
    const inner = body.subarray(2);
    expectMalformed(Uint8Array.of(0x30, 0x81, inner.length, ...inner), 'non-minimal length');
    expectMalformed(Uint8Array.of(0x30, 0x82, 0x00, inner.length, ...inner), 'non-minimal length');
    expectMalformed(Uint8Array.of(0x30, 0x84, 0, 0, 0, inner.length, ...inner), 'length too large');
    expectMalformed(Uint8Array.of(0x3f, 0x20, 0x02, ...inner), 'unexpected high tag number');
  });

  it('refuses cut requests with the reason of the shared DER reader', () => {
    const body = encodeTimeStampReq(VALID);
    expectMalformed(Uint8Array.of(0x30), 'truncated');
    expectMalformed(body.subarray(0, body.length - 1), 'value runs past its container');
    expectMalformed(Uint8Array.of(0x30, 0x82, 0x01), 'truncated length');
    const error = expectMalformed(Uint8Array.of(0x30, 0x04, 0x02, 0x01, 0x01, 0x30), 'truncated');
    expect(error.details).toEqual({ offset: 5 });
  });

  it('refuses non-minimal integers and non-canonical booleans', () => {
    const mi = encodeMessageImprint(VALID);
    expectMalformed(der.seq(Uint8Array.of(0x02, 0x02, 0x00, 0x01), mi), 'non-minimal integer');
    expectMalformed(
      der.seq(der.integer(1), mi, Uint8Array.of(0x02, 0x02, 0xff, 0x80)),
      'non-minimal integer',
    );
    expectMalformed(
      der.seq(der.integer(1), mi, Uint8Array.of(0x01, 0x01, 0x01)),
      'boolean must be 0x00 or 0xff',
    );
  });

  it('refuses fields out of order, repeated fields and bad hash parameters', () => {
    const mi = encodeMessageImprint(VALID);
    const nonce = der.tlv(0x02, Uint8Array.of(5));
    const policy = der.oid('1.2.3');
    expectMalformed(
      der.seq(der.integer(1), mi, nonce, policy),
      'unexpected or repeated field in TimeStampReq',
    );
    expectMalformed(
      der.seq(der.integer(1), mi, nonce, nonce),
      'unexpected or repeated field in TimeStampReq',
    );
    const badParams = der.seq(
      der.seq(der.oid(id_sha256), der.octetString(Uint8Array.of(1))),
      der.octetString(new Uint8Array(32)),
    );
    expectMalformed(
      der.seq(der.integer(1), badParams),
      'hash algorithm parameters must be absent or NULL',
    );
  });

  it('refuses a nonce above the limit with nonce-too-long, and huge integers elsewhere cleanly', () => {
    const big = new Uint8Array(1024).fill(0x7f);
    const result = readOrRefuse(encodeTimeStampReq({ ...VALID, nonce: big }));
    expect(result).toBeInstanceOf(TsaError);
    expect((result as TsaError).code).toBe('nonce-too-long');
    expect((result as TsaError).details).toEqual({
      octets: 1024,
      limit: DEFAULT_REQUEST_LIMITS.maxNonceOctets,
    });
    // A 1 KiB version INTEGER is syntax the reader accepts; it is just not v1.
    const hugeVersion = der.seq(der.tlv(0x02, big), encodeMessageImprint(VALID));
    const read = readOrRefuse(hugeVersion);
    expect(read).not.toBeInstanceOf(TsaError);
    expect((read as TimeStampReq).version).not.toBe(1);
  });

  it('refuses more extensions than the limit', () => {
    const extensions = Array.from({ length: DEFAULT_REQUEST_LIMITS.maxExtensions + 1 }, (_, i) => ({
      oid: `1.2.3.${i}`,
      value: Uint8Array.of(),
    }));
    expectMalformed(encodeTimeStampReq({ ...VALID, extensions }), 'too many extensions');
    const atLimit = extensions.slice(0, DEFAULT_REQUEST_LIMITS.maxExtensions);
    expect(
      parseTimeStampReq(encodeTimeStampReq({ ...VALID, extensions: atLimit })).extensions,
    ).toHaveLength(atLimit.length);
  });

  describe('through the service', () => {
    let service: TimeStampService;

    beforeAll(async () => {
      const device = await createTestDevice({
        clock: fixedClock(new Date('2026-01-01T00:00:00Z')),
      });
      let serial = 1n;
      service = new TimeStampService({
        units: [
          {
            name: 'default',
            signer: await device.hsm.timestampSigner('default'),
            policies: [id_tsaPolicyBaseline],
          },
        ],
        hashes: ['sha256'],
        legacySha1: false,
        precision: 3,
        accuracy: { seconds: 1, millis: 0, micros: 0 },
        includeIssuers: false,
        qualified: false,
        includeTsaName: true,
        verifyTokens: 'on',
        timeSource: fixedTimeSource(Date.UTC(2026, 5, 1)),
        serials: { next: () => serial++ },
        archive: undefined,
      });
    });

    const HOSTILE: readonly (readonly [
      string,
      'badRequest' | 'badDataFormat',
      number,
      Uint8Array,
    ])[] = [
      ['version 2', 'badRequest', 2, encodeTimeStampReq({ ...VALID, version: 2 })],
      [
        'a 1 KiB version',
        'badRequest',
        2,
        der.seq(der.tlv(0x02, new Uint8Array(1024).fill(1)), encodeMessageImprint(VALID)),
      ],
      [
        'a 1 KiB nonce',
        'badRequest',
        2,
        encodeTimeStampReq({ ...VALID, nonce: new Uint8Array(1024).fill(1) }),
      ],
      ['10 MB of zeros', 'badDataFormat', 5, new Uint8Array(10 * 1024 * 1024)],
      ['deep nesting', 'badDataFormat', 5, nested(50_000, Uint8Array.of(0x05, 0x00))],
      ['an indefinite length', 'badDataFormat', 5, Uint8Array.of(0x30, 0x80, 0x00, 0x00)],
      ['trailing bytes', 'badDataFormat', 5, new Uint8Array([...encodeTimeStampReq(VALID), 0])],
      ['an empty body', 'badDataFormat', 5, new Uint8Array(0)],
    ];

    it.each(HOSTILE)('%s is answered with a %s rejection', async (_name, failInfo, bit, body) => {
      const result = await service.respond('default', body);
      expect(result.status).toBe('rejection');
      expect(result.failInfo).toBe(failInfo);
      const decoded = decodeResponse(result.response);
      expect(decoded.status).toBe(2);
      expect(decoded.failBits).toEqual([bit]);
      expect(decoded.token).toBeUndefined();
      assertStrictDer(result.response);
    });

    it('a valid request is granted by the same service (the refusals above are not blanket)', async () => {
      const result = await service.respond('default', encodeTimeStampReq(VALID));
      expect(result.status).toBe('granted');
    });
  });
});

// The one-buffer token builder (TokenTemplate in src/tsa/response.ts) against the node-tree
// builder it replaced (test/helpers/reference-token-template.ts): for generated requests and unit
// options (every imprint hash, nonce or none, certReq, policies, accuracies, serials, times,
// issuers, qualified, TSA name; ECDSA P-256 and P-384, RSA-3072, Ed25519), both must write the
// same TimeStampResp, TSTInfo and signed attributes byte for byte. Signatures of every length,
// growing and shrinking from one token to the next and signed concurrently, exercise the builder's
// in-place and moved layouts.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  assertStrictDer,
  der,
  id_sha256,
  id_sha384,
  id_sha3_256,
  id_sha3_384,
  id_sha3_512,
  id_sha512,
  id_tsaPolicyBaseline,
  type Signer,
} from '../../../src/pki/index.js';
import { fixedClock } from '../../../src/shared/index.js';
import {
  TokenTemplate,
  encodeAccuracy,
  formatGenTime,
  type Accuracy,
  type BuiltToken,
  type GenTimePrecision,
  type TokenFields,
  type TokenTemplateOptions,
} from '../../../src/tsa/index.js';
import { createTestDevice } from '../../helpers/hsm.js';
import { ReferenceTokenTemplate } from '../../helpers/reference-token-template.js';
import { encodeMessageImprint } from '../../helpers/tsq.js';

type UnitName = 'p256' | 'p384' | 'rsa' | 'ed';
const UNITS: readonly UnitName[] = ['p256', 'p384', 'rsa', 'ed'];

let signers: Readonly<Record<UnitName, Signer>>;

beforeAll(async () => {
  const device = await createTestDevice({ clock: fixedClock(new Date('2026-01-01T00:00:00Z')) });
  await device.hsm.createPartition('p384', { timestampAlgorithm: 'ecdsa-p384' });
  await device.hsm.createPartition('rsa', { timestampAlgorithm: 'rsa-3072' });
  await device.hsm.createPartition('ed', { timestampAlgorithm: 'ed25519' });
  signers = {
    p256: await device.hsm.timestampSigner('default'),
    p384: await device.hsm.timestampSigner('p384'),
    rsa: await device.hsm.timestampSigner('rsa'),
    ed: await device.hsm.timestampSigner('ed'),
  };
}, 120_000);

const SEED = 0x13;
const RUNS = 300;

const HASHES = [
  { oid: id_sha256, length: 32 },
  { oid: id_sha384, length: 48 },
  { oid: id_sha512, length: 64 },
  { oid: id_sha3_256, length: 32 },
  { oid: id_sha3_384, length: 48 },
  { oid: id_sha3_512, length: 64 },
] as const;

const POLICIES = [
  id_tsaPolicyBaseline,
  `${id_tsaPolicyBaseline}.42`,
  '0.4.0.2023.1.1',
  '1.2.3',
  `2.999.${2n ** 70n}.1`,
] as const;

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

const accuracyArb: fc.Arbitrary<Accuracy> = fc
  .record({
    seconds: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3600 })),
    millis: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 999 })),
    micros: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 999 })),
  })
  .filter((a) => a.seconds + a.millis + a.micros > 0);

const optionsArb = fc.record({
  unit: fc.constantFrom(...UNITS),
  includeIssuers: fc.boolean(),
  qualified: fc.boolean(),
  includeTsaName: fc.boolean(),
  accuracy: accuracyArb,
});

interface TokenSpec {
  readonly fields: TokenFields;
  /** Length of the made-up signature, or undefined for the unit's real signer. */
  readonly signatureLength: number | undefined;
}

const tokenArb: fc.Arbitrary<TokenSpec> = fc
  .record({
    hash: fc.constantFrom(...HASHES),
    digestSeed: fc.uint8Array({ minLength: 64, maxLength: 64 }),
    nullParams: fc.boolean(),
    policy: fc.constantFrom(...POLICIES),
    serial: fc.oneof(
      fc.bigInt({ min: 0n, max: 2n ** 64n }),
      fc.bigInt({ min: 0n, max: 2n ** 160n - 1n }),
    ),
    epochMs: fc.double({ min: 0, max: 253402300799999, noNaN: true }),
    precision: fc.integer({ min: 0, max: 6 }),
    nonce: fc.option(fc.uint8Array({ minLength: 1, maxLength: 128 }), { nil: undefined }),
    certReq: fc.boolean(),
    measuredAccuracy: fc.option(accuracyArb, { nil: undefined }),
    signatureLength: fc.option(
      fc.oneof(
        fc.integer({ min: 1, max: 140 }),
        fc.integer({ min: 240, max: 270 }),
        fc.integer({ min: 1, max: 70_000 }),
      ),
      { nil: undefined, freq: 3 },
    ),
  })
  .map((t) => {
    const accuracy =
      t.measuredAccuracy === undefined ? undefined : encodeAccuracy(t.measuredAccuracy);
    return {
      signatureLength: t.signatureLength,
      fields: {
        policy: der.oid(t.policy),
        messageImprint: encodeMessageImprint({
          hashOid: t.hash.oid,
          hashParams: t.nullParams ? 'null' : 'absent',
          digest: t.digestSeed.slice(0, t.hash.length),
        }),
        serialNumber: der.integer(t.serial),
        genTime: formatGenTime(t.epochMs, t.precision as GenTimePrecision),
        nonce: t.nonce === undefined ? undefined : minimalInteger(t.nonce),
        certReq: t.certReq,
        ...(accuracy === undefined ? {} : { accuracy }),
      },
    };
  });

/**
 * The unit's signer, answering for a token a signature of its spec's length (octets derived from
 * what is signed) or the real one, the same for both builders, after a random short wait.
 */
function sharedSigner(real: Signer, lengths: Map<string, number | undefined>): Signer {
  const made = new Map<string, Uint8Array>();
  return {
    ...real,
    async sign(tbs) {
      const key = Buffer.from(tbs).toString('hex');
      let signature = made.get(key);
      if (signature === undefined) {
        const length = lengths.get(key);
        if (length === undefined) {
          signature = await real.sign(tbs);
        } else {
          signature = new Uint8Array(length);
          const block = createHash('sha512').update(tbs).digest();
          for (let i = 0; i < length; i++) signature[i] = block[i % block.length]! ^ (i & 0xff);
        }
        made.set(key, signature);
      }
      await new Promise((ok) => setTimeout(ok, tbs[tbs.length - 1]! % 3));
      return signature;
    },
  };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function expectSame(built: BuiltToken, reference: BuiltToken, strict: boolean): void {
  expect(hex(built.tstInfo)).toBe(hex(reference.tstInfo));
  expect(hex(built.signedAttributes)).toBe(hex(reference.signedAttributes));
  expect(hex(built.signature)).toBe(hex(reference.signature));
  expect(hex(built.response)).toBe(hex(reference.response));
  if (strict) assertStrictDer(built.response);
}

type UnitOptions = Omit<TokenTemplateOptions, 'signer'> & { readonly unit: UnitName };

/** The signed attributes of a token as hex: they do not depend on the signature. */
async function attributesOf(options: UnitOptions, fields: TokenFields): Promise<string> {
  let seen = '';
  const real = signers[options.unit];
  const spy = new ReferenceTokenTemplate({
    ...options,
    signer: {
      ...real,
      sign: (tbs) => {
        seen = hex(tbs);
        return Promise.resolve(Uint8Array.of(0));
      },
    },
  });
  await spy.build(fields);
  return seen;
}

/**
 * Builds the tokens with both templates, one after another (so that the builder's reserved
 * signature room grows and shrinks) and then all at once.
 */
async function compare(options: UnitOptions, tokens: readonly TokenSpec[]): Promise<void> {
  const lengths = new Map<string, number | undefined>();
  for (const t of tokens) lengths.set(await attributesOf(options, t.fields), t.signatureLength);
  const signer = sharedSigner(signers[options.unit], lengths);
  const template = new TokenTemplate({ ...options, signer });
  const reference = new ReferenceTokenTemplate({ ...options, signer });
  for (const t of tokens) {
    const strict = !(t.fields.certReq && options.includeIssuers);
    expectSame(await template.build(t.fields), await reference.build(t.fields), strict);
  }
  const all = await Promise.all(tokens.map((t) => template.build(t.fields)));
  for (const [i, t] of tokens.entries()) {
    expectSame(all[i]!, await reference.build(t.fields), false);
  }
}

describe('the one-buffer token builder against the node-tree builder', () => {
  it('writes the same tokens for generated requests, unit options and signature lengths', async () => {
    await fc.assert(
      fc.asyncProperty(optionsArb, fc.array(tokenArb, { minLength: 1, maxLength: 5 }), compare),
      { seed: SEED, numRuns: RUNS },
    );
  }, 300_000);
});

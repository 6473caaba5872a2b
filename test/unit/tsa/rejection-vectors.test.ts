// Golden rejection vectors (test/vectors/rejections/, checklist RSP-03, RSP-04): buildRejection
// must reproduce each committed TimeStampResp byte for byte, the service must send exactly these
// bytes in the matching situation, and `openssl ts -reply -text` must decode each failInfo bit.
// UPDATE_VECTORS=1 rewrites the files and their README from the current code.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  assertStrictDer,
  id_md5,
  id_sha256,
  id_tsaPolicyBaseline,
  type Signer,
} from '../../../src/pki/index.js';
import { fixedClock } from '../../../src/shared/index.js';
import {
  FAIL_INFO_BITS,
  TimeStampService,
  buildRejection,
  fixedTimeSource,
  type FailInfo,
  type ServiceOptions,
} from '../../../src/tsa/index.js';
import { createTestDevice } from '../../helpers/hsm.js';
import { decodeResponse, encodeTimeStampReq, type RequestSpec } from '../../helpers/tsq.js';

const DIR = resolve(import.meta.dirname, '../../vectors/rejections');
const UPDATE = process.env.UPDATE_VECTORS === '1';

interface Vector {
  readonly failInfo: FailInfo;
  /** The statusString the service sends in this situation. */
  readonly text: string;
  /** What `openssl ts -reply -text` prints after "Failure info: " (OpenSSL 3.0). */
  readonly openssl: string;
  /** The situation that makes the service send it (none for addInfoNotAvailable). */
  readonly situation: string;
}

const VECTORS: readonly Vector[] = [
  {
    failInfo: 'badAlg',
    text: 'the imprint hash algorithm is not accepted',
    openssl: 'unrecognized or unsupported algorithm identifier',
    situation: 'an imprint hash the TSA does not accept (an unknown OID)',
  },
  {
    failInfo: 'badRequest',
    text: 'only version 1 requests are supported',
    openssl: 'transaction not permitted or supported',
    situation: 'a TimeStampReq of version 2',
  },
  {
    failInfo: 'badDataFormat',
    text: 'the imprint length does not match its hash algorithm',
    openssl: 'the data submitted has the wrong format',
    situation: 'a SHA-256 imprint of 31 bytes',
  },
  {
    failInfo: 'timeNotAvailable',
    text: 'the time source is not available',
    openssl: "the TSA's time source is not available",
    situation: 'an untrusted clock',
  },
  {
    failInfo: 'unacceptedPolicy',
    text: 'the requested policy is not served here',
    openssl: 'the requested TSA policy is not supported by the TSA',
    situation: 'a reqPolicy the TSA does not serve',
  },
  {
    failInfo: 'unacceptedExtension',
    text: 'request extensions are not supported',
    openssl: 'the requested extension is not supported by the TSA',
    situation: 'any request extension',
  },
  {
    failInfo: 'addInfoNotAvailable',
    text: 'the additional information requested is not available',
    openssl: 'the additional information requested could not be understood or is not available',
    situation: 'none: no request asks for additional information; pinned for completeness',
  },
  {
    failInfo: 'systemFailure',
    text: 'internal error',
    openssl: 'the request cannot be handled due to system failure',
    situation: 'an unexpected fault (the signer fails)',
  },
];

const fileOf = (v: Vector): string => join(DIR, `${v.failInfo}.tsr`);

function opensslVersion(): string {
  return execFileSync('openssl', ['version'], { encoding: 'utf8' }).trim();
}

function readme(): string {
  const rows = VECTORS.map((v) => {
    const der = buildRejection(v.failInfo, v.text);
    return `| \`${v.failInfo}.tsr\` | ${FAIL_INFO_BITS[v.failInfo]} | ${v.text} | ${v.openssl} | ${v.situation} | \`${Buffer.from(der).toString('hex')}\` |`;
  });
  return [
    '# Rejection vectors (RFC 3161 2.4.2 PKIFailureInfo)',
    '',
    'One DER `TimeStampResp` per failInfo bit: `status rejection(2)`, one UTF8String statusString,',
    'and the failInfo as a DER named BIT STRING (trailing zero bits removed). Produced by',
    '`buildRejection` (src/tsa/response.ts) with',
    '',
    '```sh',
    'UPDATE_VECTORS=1 npx vitest run test/unit/tsa/rejection-vectors.test.ts',
    '```',
    '',
    `and decoded with \`openssl ts -reply -in FILE -text\` using ${opensslVersion()},`,
    `Node.js ${process.version}. test/unit/tsa/rejection-vectors.test.ts checks that buildRejection and`,
    'the service reproduce each file byte for byte and that OpenSSL prints `Status: Rejected.` and',
    'the failure info below.',
    '',
    '| file | bit | statusString | OpenSSL "Failure info:" | sent by the service for | DER (hex) |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

beforeAll(async () => {
  if (!UPDATE) return;
  mkdirSync(DIR, { recursive: true });
  for (const v of VECTORS) writeFileSync(fileOf(v), buildRejection(v.failInfo, v.text));
  // Written as `prettier --check` expects it.
  const prettier = await import('prettier');
  const path = join(DIR, 'README.md');
  const config = await prettier.resolveConfig(path);
  writeFileSync(path, await prettier.format(readme(), { ...config, parser: 'markdown' }));
});

describe('rejection vectors', () => {
  it('RSP-03 there is one vector per RFC 3161 failInfo bit, and a README naming each', () => {
    expect(VECTORS.map((v) => v.failInfo).sort()).toEqual(Object.keys(FAIL_INFO_BITS).sort());
    const text = readFileSync(join(DIR, 'README.md'), 'utf8');
    for (const v of VECTORS) {
      expect(existsSync(fileOf(v)), v.failInfo).toBe(true);
      expect(text).toContain(`\`${v.failInfo}.tsr\``);
      expect(text).toContain(Buffer.from(readFileSync(fileOf(v))).toString('hex'));
    }
    expect(text).toMatch(/OpenSSL \d+\.\d+\.\d+/);
  });

  it.each(VECTORS)('RSP-03 buildRejection reproduces $failInfo.tsr byte for byte', (v) => {
    const committed = new Uint8Array(readFileSync(fileOf(v)));
    const built = buildRejection(v.failInfo, v.text);
    expect(Buffer.from(built).toString('hex')).toBe(Buffer.from(committed).toString('hex'));
    assertStrictDer(committed);
    const decoded = decodeResponse(committed);
    expect(decoded.status).toBe(2);
    expect(decoded.failBits).toEqual([FAIL_INFO_BITS[v.failInfo]]);
    expect(decoded.statusStrings.map((s) => s.valueBlock.value)).toEqual([v.text]);
    expect(decoded.token).toBeUndefined();
  });

  it.each(VECTORS)(
    'RSP-03 openssl ts -reply -text prints Rejected and the $failInfo failure info',
    (v) => {
      const out = execFileSync('openssl', ['ts', '-reply', '-in', fileOf(v), '-text'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const lines = out.split('\n');
      expect(lines).toContain('Status: Rejected.');
      expect(lines).toContain(`Status description: ${v.text}`);
      expect(lines.filter((l) => l.startsWith('Failure info:'))).toEqual([
        `Failure info: ${v.openssl}`,
      ]);
      expect(out).toMatch(/TST info:\s*\nNot included\./);
    },
  );
});

describe('the service sends the vectors', () => {
  let options: ServiceOptions;
  let signer: Signer;

  beforeAll(async () => {
    const device = await createTestDevice({ clock: fixedClock(new Date('2026-01-01T00:00:00Z')) });
    signer = await device.hsm.timestampSigner('default');
    let serial = 1n;
    options = {
      units: [{ name: 'default', signer, policies: [id_tsaPolicyBaseline] }],
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
    };
  });

  const ok: RequestSpec = { hashOid: id_sha256, digest: new Uint8Array(32) };

  function situation(failInfo: FailInfo): { service: TimeStampService; request: RequestSpec } {
    switch (failInfo) {
      case 'badAlg':
        return { service: new TimeStampService(options), request: { ...ok, hashOid: '1.2.3.4' } };
      case 'badRequest':
        return { service: new TimeStampService(options), request: { ...ok, version: 2 } };
      case 'badDataFormat':
        return {
          service: new TimeStampService(options),
          request: { ...ok, digest: new Uint8Array(31) },
        };
      case 'timeNotAvailable':
        return {
          service: new TimeStampService({ ...options, timeSource: fixedTimeSource(0, false) }),
          request: ok,
        };
      case 'unacceptedPolicy':
        return { service: new TimeStampService(options), request: { ...ok, policy: '1.2.3' } };
      case 'unacceptedExtension':
        return {
          service: new TimeStampService(options),
          request: { ...ok, extensions: [{ oid: '1.2.3', value: Uint8Array.of() }] },
        };
      case 'addInfoNotAvailable':
        throw new Error('no situation');
      case 'systemFailure': {
        const failing: Signer = { ...signer, sign: () => Promise.reject(new Error('gone')) };
        return {
          service: new TimeStampService({
            ...options,
            units: [{ name: 'default', signer: failing, policies: [id_tsaPolicyBaseline] }],
          }),
          request: ok,
        };
      }
    }
  }

  it.each(VECTORS.filter((v) => v.failInfo !== 'addInfoNotAvailable'))(
    'RSP-03 RSP-04 the $failInfo answer is the committed vector',
    async (v) => {
      const { service, request } = situation(v.failInfo);
      const result = await service.respond('default', encodeTimeStampReq(request));
      expect(result.failInfo).toBe(v.failInfo);
      expect(Buffer.from(result.response).toString('hex')).toBe(
        Buffer.from(readFileSync(fileOf(v))).toString('hex'),
      );
    },
  );

  it('md5 gets badAlg with its own text (not the vector text)', async () => {
    const service = new TimeStampService(options);
    const result = await service.respond(
      'default',
      encodeTimeStampReq({ hashOid: id_md5, digest: new Uint8Array(16) }),
    );
    expect(result.failInfo).toBe('badAlg');
    expect(decodeResponse(result.response).statusStrings[0]?.valueBlock.value).toBe(
      'the imprint hash algorithm is too weak',
    );
  });
});

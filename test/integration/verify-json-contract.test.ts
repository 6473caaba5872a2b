// The JSON contract of attestamp-verify --json: every invocation prints exactly one JSON document,
// valid against the schema of its subcommand (schemas/verify/*.schema.json) or, for a refusal,
// against the error schema. Real outputs: every case of the attestation corpus, and tokens from
// a test TSA (good, tampered, unparseable, answering a request with a nonce).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { der, encodePem } from '../../src/pki/index.js';
import { schemaOf, validate } from '../helpers/json-schema.js';
import { tempDir } from '../helpers/tmp.js';
import { createTestCa, stampWith, withAlteredSignature } from '../helpers/token-pki.js';
import { runVerifyAsync } from '../helpers/verify.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CORPUS = join(ROOT, 'test/vectors/attestation');
const KINDS = ['chain', 'evidence', 'certificate', 'token'] as const;
type Kind = (typeof KINDS)[number];

const schema = (name: string) =>
  schemaOf(readFileSync(join(ROOT, `schemas/verify/${name}.schema.json`), 'utf8'));
const SCHEMAS = Object.fromEntries([...KINDS, 'error'].map((k) => [k, schema(k)]));

/** Paths of null values: the contract leaves absent fields absent instead. */
function nulls(value: unknown, path = '$'): string[] {
  if (value === null) return [path];
  if (Array.isArray(value)) return value.flatMap((v, i) => nulls(v, `${path}[${String(i)}]`));
  if (typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => nulls(v, `${path}.${k}`));
  return [];
}

/** Runs the verifier with --json; checks the one document against its schema and returns it. */
async function document(kind: Kind, args: readonly string[], cwd: string) {
  const r = await runVerifyAsync([kind, ...args, '--json'], { cwd });
  // Exactly one JSON document: JSON.parse refuses a second one or trailing text.
  const doc = JSON.parse(r.stdout) as Record<string, unknown>;
  const errors = validate(SCHEMAS['error' in doc ? 'error' : kind]!, doc);
  expect(errors, r.stdout).toEqual([]);
  expect(nulls(doc)).toEqual([]);
  // A refusal exits 64; only an internal error exits 1 with an error document.
  if ('error' in doc) expect(r.code).toBe(64);
  else expect(doc.exitCode).toBe(r.code);
  return { code: r.code, doc };
}

describe('the schema validator of the tests', () => {
  const s = schemaOf(
    JSON.stringify({
      type: 'object',
      properties: {
        a: { type: 'string', pattern: '^[0-9]+$' },
        b: { enum: ['x', 'y'] },
        c: { type: 'array', items: { $ref: '#/$defs/n' } },
      },
      required: ['a'],
      additionalProperties: false,
      $defs: { n: { type: 'integer' } },
    }),
  );

  it('accepts a valid value and names each problem of an invalid one', () => {
    expect(validate(s, { a: '12', b: 'x', c: [1, 2] })).toEqual([]);
    expect(validate(s, { a: 'x1', b: 'z', c: [1.5], d: 0 })).toEqual([
      '$.a: "x1" does not match ^[0-9]+$',
      '$.b: "z" is not one of ["x","y"]',
      '$.c[0]: expected integer',
      '$.d: not allowed',
    ]);
    expect(validate(s, {})).toEqual(['$: lacks a']);
    expect(validate(s, [])).toEqual(['$: expected object']);
  });

  it('refuses a keyword outside its subset instead of ignoring it', () => {
    expect(() => validate(schemaOf('{"type":"string","maxLength":2}'), 'abc')).toThrow(/maxLength/);
    expect(validate(schemaOf('{"type":"string","minLength":2}'), 'a')).not.toEqual([]);
  });
});

const cases = (['valid', 'invalid'] as const).flatMap((set) =>
  readdirSync(join(CORPUS, set))
    .sort()
    .map((name) => ({ path: `${set}/${name}`, folder: join(CORPUS, set, name) })),
);

describe('attestamp-verify --json on every corpus case matches its schema', () => {
  it.concurrent.each(cases)('$path', async ({ folder }) => {
    const expectation = JSON.parse(readFileSync(join(folder, 'expect.json'), 'utf8')) as {
      command: Kind;
      exitCode: number;
    };
    const files = readdirSync(folder);
    const args: string[] = [];
    if (files.includes('input.pem')) args.push('input.pem');
    if (files.includes('anchor.pem')) args.push('--anchor', 'anchor.pem');
    if (files.includes('anchor-sha256.txt'))
      args.push('--anchor-sha256', readFileSync(join(folder, 'anchor-sha256.txt'), 'utf8').trim());
    if (files.includes('crl.pem')) args.push('--crl', 'crl.pem');
    if (files.includes('expect-spki.pem')) args.push('--expect-spki', 'expect-spki.pem');
    args.push(...(JSON.parse(readFileSync(join(folder, 'args.json'), 'utf8')) as string[]));
    const { code } = await document(expectation.command, args, folder);
    expect(code).toBe(expectation.exitCode);
  });
});

describe('attestamp-verify token --json matches the token schema', () => {
  let cwd: string;
  const data = 'a document for the JSON contract\n';

  beforeAll(async () => {
    cwd = tempDir();
    // Fixed validity around the fixed genTime and --at below (never relative to today).
    const notBefore = new Date('2026-01-01T00:00:00Z');
    const ca = await createTestCa({ notBefore });
    const signer = await ca.issueTsa({ notBefore });
    const token = await stampWith(signer, {
      data,
      genTime: '20261201064352.142Z',
      nonce: Uint8Array.of(0x00, 0x9a, 0x01),
    });
    writeFileSync(join(cwd, 'doc.txt'), data);
    writeFileSync(join(cwd, 'good.tsr'), token);
    writeFileSync(join(cwd, 'bad.tsr'), withAlteredSignature(token));
    writeFileSync(join(cwd, 'broken.tsr'), der.seq(der.integer(7)));
    writeFileSync(join(cwd, 'root.pem'), encodePem('CERTIFICATE', ca.root));
  });

  const base = ['--data', 'doc.txt', '--anchor', 'root.pem', '--at', '2026-12-01T07:00:00Z'];

  it('a good token, with the values in their one representation', async () => {
    const { code, doc } = await document('token', ['--token', 'good.tsr', ...base], cwd);
    expect(code).toBe(0);
    expect(doc.claims).toMatchObject({
      genTime: '2026-12-01T06:43:52.142Z',
      nonce: '9a01',
      accuracy: { seconds: 1 },
    });
  });

  it('a tampered token, an unparseable one, and refusals', async () => {
    expect((await document('token', ['--token', 'bad.tsr', ...base], cwd)).code).toBe(1);
    const broken = await document('token', ['--token', 'broken.tsr', ...base], cwd);
    expect([broken.code, broken.doc.outcome]).toEqual([64, 'unparseable']);
    const refusals = [
      ['--token', 'good.tsr', '--data', 'doc.txt', '--frobnicate'],
      ['--token', 'missing.tsr', ...base],
      ['--token', 'doc.txt', ...base],
      ['--token', 'good.tsr', '--digest', 'zz', '--hash', 'sha256', '--anchor', 'root.pem'],
    ];
    const codes: string[] = [];
    for (const args of refusals) {
      const { code, doc } = await document('token', args, cwd);
      expect(code).toBe(64);
      codes.push((doc.error as { code: string }).code);
    }
    expect(codes).toEqual(['usage', 'unreadable-input', 'unparseable-input', 'usage']);
  });
});

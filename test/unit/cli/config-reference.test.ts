// The config file's JSON Schema and the README's settings table are derived from the settings
// table: the committed copies must match (ATTESTAMP_WRITE_DOCS=1 rewrites them), and the
// complete sample validates against the schema and loads.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { describe, expect, it } from 'vitest';
import {
  configJsonSchema,
  configJsonSchemaText,
  configReferenceTable,
} from '../../../src/cli/config-reference.js';
import { configKey, FIELDS, loadServerConfig } from '../../../src/cli/config.js';
import type { Invocation } from '../../../src/cli/command.js';
import { validate } from '../../helpers/json-schema.js';

const schemaErrors = (schema: unknown, value: unknown): string[] =>
  validate(schema as Parameters<typeof validate>[0], value);

const ROOT = resolve(import.meta.dirname, '../../..');
const SCHEMA = resolve(ROOT, 'schemas/config.schema.json');
const README = resolve(ROOT, 'README.md');
const SAMPLE = resolve(ROOT, 'config/attestamp.sample.json');
const START = '<!-- server-settings:start (generated from src/cli/config.ts) -->';
const END = '<!-- server-settings:end -->';
const WRITE = process.env.ATTESTAMP_WRITE_DOCS === '1';

async function formattedTable(): Promise<string> {
  return format(configReferenceTable(), {
    ...(await resolveConfig(README)),
    parser: 'markdown',
  });
}

function inv(options: Record<string, string>, stderr: string[] = []): Invocation {
  return {
    io: { stdout: () => undefined, stderr: (t) => stderr.push(t), env: {}, cwd: ROOT },
    positionals: [],
    options,
  };
}

describe('config reference', () => {
  it('schemas/config.schema.json is the schema generated from the settings table', async () => {
    const text = await format(configJsonSchemaText(), {
      ...(await resolveConfig(SCHEMA)),
      parser: 'json',
    });
    if (WRITE) writeFileSync(SCHEMA, text);
    expect(readFileSync(SCHEMA, 'utf8')).toBe(text);
    const schema = configJsonSchema();
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
  });

  it('the README settings table is the one generated from the settings table', async () => {
    const table = await formattedTable();
    let text = readFileSync(README, 'utf8');
    const a = text.indexOf(START);
    const b = text.indexOf(END);
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(a);
    if (WRITE) {
      text = `${text.slice(0, a + START.length)}\n\n${table}\n${text.slice(b)}`;
      writeFileSync(README, text);
    }
    expect(text.slice(a + START.length, text.indexOf(END)).trim()).toBe(table.trim());
  });

  it('config keys are the camelCase of the flags, one to one', () => {
    const keys = FIELDS.map((f) => configKey(f.flag));
    expect(new Set(keys).size).toBe(keys.length);
    expect(configKey('accuracy-us')).toBe('accuracyUs');
    expect(configKey('tsa-name')).toBe('tsaName');
    expect(configKey('hash')).toBe('hash');
    expect(configKey('jwt-jwks')).toBe('jwtJwks');
    const old = FIELDS.flatMap((f) => (f.deprecatedKey === undefined ? [] : [f.deprecatedKey]));
    for (const k of old) expect(keys).not.toContain(k);
  });

  it('the sample has every field, validates against the schema and loads without warnings', () => {
    const sample = JSON.parse(readFileSync(SAMPLE, 'utf8')) as Record<string, unknown>;
    const keys = FIELDS.map((f) => configKey(f.flag));
    expect(
      Object.keys(sample)
        .filter((k) => k !== '$schema')
        .sort(),
    ).toEqual([...keys].sort());
    expect(schemaErrors(configJsonSchema(), sample)).toEqual([]);
    const warnings: string[] = [];
    const c = loadServerConfig(inv({ config: SAMPLE }, warnings));
    expect(warnings).toEqual([]);
    expect(c.metricsHost).toBe('127.0.0.1');
    expect(c.accessLog).toBe(false);
  });

  it('the schema refuses what the loader refuses', () => {
    const schema = configJsonSchema();
    expect(schemaErrors(schema, { prot: 1 })).toEqual(['$.prot: not allowed']);
    expect(schemaErrors(schema, { port: 70000 })).not.toEqual([]);
    expect(schemaErrors(schema, { precision: 7 })).not.toEqual([]);
    expect(schemaErrors(schema, { hash: ['md5'] })).not.toEqual([]);
    expect(schemaErrors(schema, { verifyTokens: 'sometimes' })).not.toEqual([]);
    expect(schemaErrors(schema, { unit: [{ path: '/' }] })).not.toEqual([]);
    expect(
      schemaErrors(schema, { unit: ['default:/', { partition: 'rsa', path: '/rsa' }] }),
    ).toEqual([]);
    expect(schemaErrors(schema, { metricsPort: null, hashes: ['sha256'] })).toEqual([]);
  });
});

// The server configuration schema: the sample config file loads, flags win over environment
// over file over defaults, and every bad value is refused with a message naming its source.
import { resolve } from 'node:path';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Invocation, OptionValues } from '../../../src/cli/command.js';
import { loadServerConfig } from '../../../src/cli/config.js';
import { UsageError } from '../../../src/cli/exit-codes.js';
import { tempDir } from '../../helpers/tmp.js';

const SAMPLE = resolve(import.meta.dirname, '../../../config/attestamp.sample.json');

function inv(options: OptionValues, env: Record<string, string> = {}): Invocation {
  return {
    io: { stdout: () => undefined, stderr: () => undefined, env, cwd: process.cwd() },
    positionals: [],
    options,
  };
}

describe('server configuration', () => {
  it('loads the sample config file shipped in config/', () => {
    const c = loadServerConfig(inv({ config: SAMPLE }));
    expect(c.port).toBe(3161);
    expect(c.units).toEqual([
      {
        partition: 'default',
        path: '/',
        policies: ['1.3.6.1.4.1.32473.3161.6.1'],
      },
    ]);
    expect(c.hashes).toHaveLength(6);
    expect(c.precision).toBe(3);
    expect(c.includeIssuers).toBe(true);
    expect(c.verifyTokens).toBe('auto');
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('flags win over environment variables, which win over the file', () => {
    expect(loadServerConfig(inv({ config: SAMPLE }, { ATTESTAMP_PORT: '4000' })).port).toBe(4000);
    expect(
      loadServerConfig(inv({ config: SAMPLE, port: '5000' }, { ATTESTAMP_PORT: '4000' })).port,
    ).toBe(5000);
    expect(loadServerConfig(inv({})).port).toBe(3161);
  });

  it.each([
    [{ port: '70000' }, {}, '--port'],
    [{ precision: '7' }, {}, '--precision'],
    [{ hash: ['md5'] }, {}, '--hash'],
    [{ 'verify-tokens': 'sometimes' }, {}, '--verify-tokens'],
    [{ 'https-port': '0' }, {}, '--https-port'],
    [{ 'jwt-jwks': 'x.json' }, {}, '--jwt-jwks'],
    [{}, { ATTESTAMP_PRECISION: 'three' }, 'ATTESTAMP_PRECISION'],
    [{ unit: ['default:nopath'] }, {}, '--unit'],
    [{ policy: ['not.an.oid'] }, {}, '--policy'],
  ])('refuses %o %o naming %s', (options, env, name) => {
    expect(() => loadServerConfig(inv(options as OptionValues, env))).toThrow(UsageError);
    expect(() => loadServerConfig(inv(options as OptionValues, env))).toThrow(name);
  });

  it('refuses unknown fields and bad values in the file, naming the field', () => {
    const dir = tempDir();
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ prot: 1 }));
    expect(() => loadServerConfig(inv({ config: file }))).toThrow('config prot: unknown field');
    writeFileSync(file, JSON.stringify({ units: [{ path: '/' }] }));
    expect(() => loadServerConfig(inv({ config: file }))).toThrow('config units[0].partition');
    writeFileSync(file, JSON.stringify({ port: 'eighty' }));
    expect(() => loadServerConfig(inv({ config: file }))).toThrow('config port');
  });

  it('gives each further unit a policy of its own', () => {
    const c = loadServerConfig(inv({ unit: ['default:/', 'rsa:/rsa'] }));
    expect(c.units.map((u) => u.policies[0])).toEqual([
      '1.3.6.1.4.1.32473.3161.6.1',
      '1.3.6.1.4.1.32473.3161.6.1.1',
    ]);
  });
});

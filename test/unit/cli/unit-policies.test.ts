// The policies of each time-stamping unit (unitPolicies in src/cli/commands/serve.ts): the
// configured ones as they are; by default ARC.6.1[.N] for classical keys and ARC.6.2[.N] for
// post-quantum ones; and the operator's warning for units that openssl ts cannot verify.
import { describe, expect, it } from 'vitest';
import { opensslTsWarning } from '../../../src/cli/commands/partition.js';
import { unitPolicies } from '../../../src/cli/commands/serve.js';
import { loadServerConfig } from '../../../src/cli/config.js';
import type { Invocation } from '../../../src/cli/command.js';
import { id_tsaPolicyBaseline, id_tsaPolicyPostQuantum } from '../../../src/pki/index.js';

function inv(options: Record<string, string | string[]>): Invocation {
  return {
    io: { stdout: () => undefined, stderr: () => undefined, env: {}, cwd: process.cwd() },
    positionals: [],
    options,
  };
}

describe('unitPolicies', () => {
  it('gives post-quantum units ARC.6.2, then ARC.6.2.N, and classical ones ARC.6.1[.N]', () => {
    const c = loadServerConfig(inv({ unit: ['default:/', 'pq:/pq', 'rsa:/rsa', 'slh:/slh'] }));
    expect(c.units.map((u) => u.defaultPolicy)).toEqual([true, true, true, true]);
    expect(
      unitPolicies(c.units, ['ecdsa-p256', 'ml-dsa-65', 'rsa-3072', 'slh-dsa-sha2-128f']),
    ).toEqual([
      [id_tsaPolicyBaseline],
      [id_tsaPolicyPostQuantum],
      [`${id_tsaPolicyBaseline}.2`],
      [`${id_tsaPolicyPostQuantum}.1`],
    ]);
  });

  it('keeps configured policies, also of a post-quantum unit', () => {
    const c = loadServerConfig(inv({ unit: ['pq:/'], policy: ['1.2.3.4'] }));
    expect(c.units[0]!.defaultPolicy).toBeUndefined();
    expect(unitPolicies(c.units, ['ml-dsa-44'])).toEqual([['1.2.3.4']]);
    // A post-quantum first unit without a configured policy gets ARC.6.2.
    const d = loadServerConfig(inv({ unit: ['pq:/'] }));
    expect(unitPolicies(d.units, ['ml-dsa-44'])).toEqual([[id_tsaPolicyPostQuantum]]);
    expect(unitPolicies(d.units, ['ecdsa-p384'])).toEqual([[id_tsaPolicyBaseline]]);
  });
});

describe('opensslTsWarning', () => {
  it('warns for RSA-PSS and the post-quantum algorithms only', () => {
    expect(opensslTsWarning('ecdsa-p256')).toBeUndefined();
    expect(opensslTsWarning('ed25519')).toBeUndefined();
    expect(opensslTsWarning('rsa-pss-3072')).toBe(
      "rsa-pss-3072 time-stamp tokens cannot be verified with 'openssl ts -verify' (OpenSSL does not support RSA-PSS there); attestamp-verify, Java and Python verify them. Use rsa-3072 or ecdsa-p256 for clients that verify with OpenSSL",
    );
    for (const alg of ['ml-dsa-44', 'ml-dsa-65', 'slh-dsa-shake-128f'] as const) {
      const w = opensslTsWarning(alg);
      expect(w).toMatch(new RegExp(`^${alg} time-stamp tokens cannot be verified`));
      expect(w).toContain('attestamp-verify verifies them');
      expect(w).toContain('post-quantum ARC.6.2');
      expect(w).not.toContain('Java and Python');
    }
  });
});

// Basic-auth password hashes: scrypt with a random salt and its parameters in the string,
// bounded parameters, and the former unsalted SHA-256 file refused with how to convert.
import { describe, expect, it } from 'vitest';
import {
  hashPassword,
  parsePasswordFile,
  parsePasswordHash,
  verifyPassword,
} from '../../../../src/tsa/http/password.js';

const FAST = { n: 2 ** 14, r: 8, p: 1 };

describe('password hashes', () => {
  it('verifies the right password only, with a fresh salt each time', async () => {
    const a = await hashPassword('correct horse battery', FAST);
    const b = await hashPassword('correct horse battery', FAST);
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('correct horse battery', parsePasswordHash(a))).toBe(true);
    expect(await verifyPassword('correct horse batterx', parsePasswordHash(a))).toBe(false);
  });

  it('refuses parameters outside the bounds and short salts', async () => {
    const good = await hashPassword('p', FAST);
    const [, , , , salt, hash] = good.split('$');
    expect(() => parsePasswordHash(`scrypt$1024$8$1$${salt}$${hash}`)).toThrow('power of two');
    expect(() => parsePasswordHash(`scrypt$16383$8$1$${salt}$${hash}`)).toThrow('power of two');
    expect(() => parsePasswordHash(`scrypt$1048576$32$16$${salt}$${hash}`)).toThrow('256 MiB');
    expect(() => parsePasswordHash(`scrypt$16384$8$1$AAAA$${hash}`)).toThrow('salt');
    expect(() => parsePasswordHash(`sha256$${hash}`)).toThrow(RangeError);
  });

  it('reads USER:HASH lines, skipping comments, and names the bad line', async () => {
    const h = await hashPassword('p', FAST);
    expect(parsePasswordFile(`# users\n\nalice:${h}\nbob:${h}\n`).map((u) => u.user)).toEqual([
      'alice',
      'bob',
    ]);
    expect(() => parsePasswordFile(`alice:${h}\nalice:${h}\n`)).toThrow('line 2');
    expect(() => parsePasswordFile(`alice ${h}\n`)).toThrow('line 1');
    expect(() => parsePasswordFile('\n# nobody\n')).toThrow('no users');
  });

  it('refuses the former JSON file of unsalted SHA-256 hashes, saying how to convert', () => {
    const old = JSON.stringify([{ user: 'acrobat', passwordSha256: 'ab'.repeat(32) }]);
    expect(() => parsePasswordFile(old)).toThrow(/unsalted SHA-256.*attestamp tsa passwd/);
  });
});

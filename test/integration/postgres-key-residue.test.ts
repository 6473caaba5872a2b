// Keys stay sealed in PostgreSQL exactly as in SQLite: a pg_dump of the whole database holds no
// private key in any form (raw scalar, PKCS#8), in bytes or as the hex text a dump writes for
// bytea, while the public keys are found there (so the search itself can find what it seeks).
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFactory, Hsm } from '../../src/hsm/index.js';
import { systemClock } from '../../src/shared/index.js';
import { OFFICER } from '../helpers/hsm.js';
import { postgresBinaries } from '../helpers/postgres-cluster.js';
import { freshDatabase, requirePostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';

const skip = requirePostgres();

/** The secret parts of a private key as its JWK names them (d; for RSA also p, q, dp, dq, qi). */
function secretParts(key: KeyObject): Buffer[] {
  const jwk = key.export({ format: 'jwk' });
  return (['d', 'p', 'q', 'dp', 'dq', 'qi'] as const)
    .map((k) => jwk[k])
    .filter((v): v is string => typeof v === 'string')
    .map((v) => Buffer.from(v, 'base64url'));
}

/** Whether `dump` holds `bytes` as bytes or as lowercase hex (how pg_dump writes bytea). */
function holds(dump: Buffer, bytes: Buffer): boolean {
  return dump.includes(bytes) || dump.includes(Buffer.from(bytes.toString('hex')));
}

describe.skipIf(skip)('private keys in a PostgreSQL device store', () => {
  it('a pg_dump of the database holds no private key, only sealed blobs and public keys', async () => {
    const db = await freshDatabase();
    try {
      const dir = tempDir();
      const factory = await createFactory(join(dir, 'factory'), {
        development: true,
        clock: systemClock,
      });
      const hsm = await Hsm.init({
        path: db.url,
        masterKey: { kind: 'key', key: randomBytes(32) },
        factory,
        officer: OFFICER,
      });
      const imported = [
        generateKeyPairSync('ec', { namedCurve: 'P-256' }),
        generateKeyPairSync('ed25519'),
        generateKeyPairSync('rsa', { modulusLength: 3072 }),
      ];
      await hsm.createPartition('imports', { policy: { importAllowed: true } });
      const spkis: Buffer[] = [];
      for (const [i, pair] of imported.entries()) {
        const key = await hsm.importKey('imports', {
          label: `imported-${i}`,
          pkcs8: pair.privateKey.export({ format: 'der', type: 'pkcs8' }),
        });
        spkis.push(Buffer.from(key.spki));
      }
      const generated = await hsm.generateKey('default', {
        label: 'made-inside',
        algorithm: 'ecdsa-p256',
      });
      spkis.push(Buffer.from(generated.spki));
      await hsm.close();

      const bin = postgresBinaries();
      expect(bin, 'PostgreSQL client binaries (pg_dump)').toBeDefined();
      const dump = execFileSync(join(bin!, 'pg_dump'), ['--no-owner', '--dbname', db.url], {
        maxBuffer: 256 * 2 ** 20,
      });
      expect(dump.length).toBeGreaterThan(10_000);
      // The search finds what is there: every public key, as hex text in the dump.
      for (const spki of spkis) expect(holds(dump, spki)).toBe(true);
      for (const pair of imported) {
        const pkcs8 = pair.privateKey.export({ format: 'der', type: 'pkcs8' });
        expect(holds(dump, pkcs8)).toBe(false);
        for (const part of secretParts(pair.privateKey)) {
          expect(part.length).toBeGreaterThanOrEqual(32);
          expect(holds(dump, part)).toBe(false);
        }
      }
    } finally {
      await db.drop();
    }
  }, 120_000);
});

// A store of schema version 2 (row MACs, no key kinds) is migrated to the current version once:
// every key row is checked under the encoding it was sealed with, then sealed again with its
// kind; a row edited before the migration is refused and the store is left as it was.
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Hsm, type MasterKeyInput } from '../../../src/hsm/index.js';
import { SCHEMA_VERSION } from '../../../src/hsm/store/schema-version.js';
import { auditEntries, createTestDevice } from '../../helpers/hsm.js';
import { tempDir } from '../../helpers/tmp.js';
import { expectHsmRejection, MESSAGE, verifySignature, withRawDb } from './support.js';

const FIXTURE = join(import.meta.dirname, '../../fixtures/store-v2/attestamp-v2.sqlite');
const MASTER: MasterKeyInput = {
  kind: 'key',
  key: Buffer.from('30c9be5cffd43ca56367e417d24ca70c62550ecf55ffd331cd8571416fea9493', 'hex'),
};
const HEAD = { seq: 6, hash: 'fe2ea2961d8582fdca67ddd40a1ce79b273d5c37196cce7c9d53e97d50965918' };

function copyOfV2Store(): string {
  const path = join(tempDir(), 'attestamp.sqlite');
  copyFileSync(FIXTURE, path);
  return path;
}

const version = (path: string): unknown =>
  withRawDb(path, (db) => db.prepare("SELECT value FROM meta WHERE name = 'schema_version'").get());

describe('migration of a schema 2 store', () => {
  it('gives every key its kind and a new MAC, logs it once, and keeps every key working', async () => {
    const path = copyOfV2Store();
    const hsm = await Hsm.open(path, MASTER);
    try {
      const v = await hsm.verifyAudit(HEAD);
      expect(v.ok).toBe(true);
      expect(v.expectedHead?.extended).toBe(true);
      const log = await auditEntries(hsm);
      // The migration's entry, then the officer made a principal holding the device SO role.
      expect(log.slice(HEAD.seq).map((e) => e.action)).toEqual([
        'store.migrate',
        'principal.add',
        'role.grant',
      ]);
      expect(log[HEAD.seq]).toMatchObject({
        action: 'store.migrate',
        outcome: 'success',
        details: { from: 2, to: SCHEMA_VERSION },
      });
      const gen = await hsm.key('default', 'gen');
      const sig = await (await hsm.signer('default', 'gen')).sign(MESSAGE);
      expect(verifySignature('ecdsa-p256', gen.spki, MESSAGE, sig)).toBe(true);
      expect((await hsm.key('default', 'trash')).state).toBe('invalidated');
      await hsm.attestKey('default', 'gen');
    } finally {
      await hsm.close();
    }
    expect(version(path)).toEqual({ value: String(SCHEMA_VERSION) });
    const kinds = withRawDb(path, (db) => db.prepare('SELECT DISTINCT kind FROM keys').all());
    expect(kinds).toEqual([{ kind: 'asymmetric' }]);
    const again = await Hsm.open(path, MASTER);
    try {
      const migrations = (await auditEntries(again)).filter((e) => e.action === 'store.migrate');
      expect(migrations).toHaveLength(1);
    } finally {
      await again.close();
    }
  });

  it('refuses a key row edited before the migration, and leaves the store at version 2', async () => {
    const path = copyOfV2Store();
    withRawDb(path, (db) => {
      // The edit a migration must not launder: the trashed key made active.
      db.prepare(
        "UPDATE keys SET state = 'active', invalidated_at = NULL WHERE label = 'trash'",
      ).run();
    });
    await expectHsmRejection(Hsm.open(path, MASTER), 'integrity-failed');
    expect(version(path)).toEqual({ value: '2' });
    const trash = withRawDb(path, (db) =>
      db.prepare("SELECT state FROM keys WHERE label = 'trash'").get(),
    );
    expect(trash).toEqual({ state: 'active' });
  });
});

describe('the key kind of schema 3', () => {
  it('is authenticated: a key pair relabelled a secret key is refused', async () => {
    const d = await createTestDevice();
    await d.hsm.generateKey('default', { label: 'pair', algorithm: 'ed25519' });
    await d.hsm.close();
    withRawDb(d.storePath, (db) => {
      db.prepare("UPDATE keys SET kind = 'secret' WHERE label = 'pair'").run();
      // Since schema 6 every key row names its public part: none is refused by the schema.
      expect(() => db.prepare("UPDATE keys SET spki = NULL WHERE label = 'pair'").run()).toThrow(
        /NOT NULL/,
      );
    });
    const hsm = await Hsm.open(d.storePath, d.masterKey);
    try {
      await expectHsmRejection(hsm.key('default', 'pair'), 'integrity-failed');
      await expectHsmRejection(hsm.signer('default', 'pair'), 'integrity-failed');
    } finally {
      await hsm.close();
    }
  });
});

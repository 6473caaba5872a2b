// The issuance archive's entry hash format is fixed: an archive written before the hash chain
// moved to src/shared still verifies with the same head, and a new entry hashes as it always did.
import { copyFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Archive } from '../../../src/tsa/index.js';
import { tempDir } from '../../helpers/tmp.js';

const FIXTURE = resolve(import.meta.dirname, '../../fixtures/tsa-archive-v2/tsa-archive.sqlite');
const FIXTURE_HEAD = 'f69a9d29043d0e6dce6e7a7d1ca6078f6d75be531d6598daefb4522ec67c21fc';

describe('archive entry format', () => {
  const dir = tempDir();

  it('an archive written by the earlier code verifies with its recorded head', async () => {
    const path = join(dir, 'old.sqlite');
    copyFileSync(FIXTURE, path);
    const archive = Archive.openReadOnly(path);
    try {
      expect(await archive.verify()).toEqual({ ok: true, entries: 3, head: FIXTURE_HEAD });
      expect(new TextDecoder().decode((await archive.response({ seq: 3 })) as Uint8Array)).toBe(
        'response three',
      );
    } finally {
      await archive.close();
    }
  });

  it('a changed field of the old archive is detected at its entry', async () => {
    const path = join(dir, 'old-edited.sqlite');
    copyFileSync(FIXTURE, path);
    const db = new Database(path);
    db.prepare("UPDATE responses SET fail_info = 'badRequest' WHERE seq = 2").run();
    db.close();
    const archive = Archive.openReadOnly(path);
    try {
      expect(await archive.verify()).toMatchObject({
        ok: false,
        firstBad: { seq: 2, reason: 'entry content does not match its hash' },
      });
    } finally {
      await archive.close();
    }
  });

  it('a new entry hashes SHA-256(prev || JSON array of its fields), as before', async () => {
    const archive = Archive.open(join(dir, 'new.sqlite'));
    try {
      const imprint = createHash('sha256').update('one').digest();
      const responseSha256 = createHash('sha256').update('response one').digest();
      await archive.record({
        at: '2026-01-02T03:04:05.000Z',
        unit: 'default',
        keySpkiSha256: 'ab'.repeat(32),
        serial: archive.next(),
        genTime: '20260102030405Z',
        policy: '1.3.6.1.4.1.99999.1',
        hashAlgorithm: '2.16.840.1.101.3.4.2.1',
        imprint,
        nonce: new Uint8Array([1, 2, 3]),
        status: 'granted',
        failInfo: null,
        responseSha256,
      });
      // The first entry of the fixture, computed independently (see its README).
      expect((await archive.verify()).head).toBe(
        'a382fb1aa27d00550de0fa7389020be4dddbb5fae283642d44e7f28903c61e27',
      );
    } finally {
      await archive.close();
    }
  });
});

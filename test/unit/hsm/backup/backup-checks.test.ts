// Partition backup and restore, the checks around the round trip: the manifest's shape (one key
// of each partition role, unique non-empty labels and ids, recipients of known kinds), a restore
// over a partition refused by that partition's own key rules (and the identical key replaced by
// itself), the joining device's check of the domain name of an enrolment answer, a second
// restore naming its immediate source in the keys and their evidence, and derived keys whose
// parent link follows the restore.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkManifest } from '../../../../src/hsm/backup/bundle.js';
import { createFactory, Hsm, type Factory } from '../../../../src/hsm/index.js';
import { parseBackupBundle } from '../../../../src/pki/index.js';
import { TestClock } from '../../../helpers/governance.js';
import { OFFICER } from '../../../helpers/hsm.js';
import { tempDir } from '../../../helpers/tmp.js';
import { expectHsmError } from '../support.js';

const clock = new TestClock();

async function device(factory: Factory, location: string): Promise<Hsm> {
  return Hsm.init({
    path: location,
    masterKey: { kind: 'key', key: randomBytes(32) },
    factory,
    officer: OFFICER,
    clock,
  });
}

/** The manifest of a bundle, as the JSON value the restore reads. */
function manifestOf(bundle: Uint8Array): Record<string, unknown> {
  const text = new TextDecoder().decode(parseBackupBundle(bundle).manifest);
  return JSON.parse(text) as Record<string, unknown>;
}

type Json = Record<string, unknown>;

describe('the manifest checks', () => {
  // The manifest is signed by the source partition's attestation key, and the restore checks
  // that signature before it reads the manifest: a manifest breaking these rules cannot be made
  // from outside, only by a faulty or hostile source device. So the checks are tested on the
  // function the restore calls (checkManifest, pure), with copies of a real device's manifest
  // changed in one place each; the real one passes, so each refusal is that one change's.
  let real: Json;

  beforeAll(async () => {
    const dir = tempDir();
    const factory = await createFactory(join(dir, 'factory'), { development: true, clock });
    const a = await device(factory, join(dir, 'a.sqlite'));
    try {
      await a.createBackupDomain('vault');
      await a.generateKey('default', { label: 'signing', algorithm: 'ecdsa-p256' });
      await a.generateKey('default', { label: 'secret', algorithm: 'aes-256' });
      real = manifestOf((await a.backupPartition('default', { domain: 'vault' })).bundle);
    } finally {
      await a.close();
    }
  }, 60_000);

  const keysOf = (m: Json): Json[] => m['keys'] as Json[];
  /** A deep copy of the real manifest, changed by `edit`. */
  const changed = (edit: (m: Json) => void): Json => {
    const m = structuredClone(real);
    edit(m);
    return m;
  };
  const refused = (m: Json, message: RegExp): void => {
    const e = expectHsmError(() => checkManifest(m), 'backup-invalid');
    expect(e.message).toMatch(message);
  };
  const byRole = (m: Json, role: string): Json => keysOf(m).find((k) => k['role'] === role)!;

  it("a real device's manifest passes", () => {
    expect(
      checkManifest(structuredClone(real))
        .keys.map((k) => k.role)
        .sort(),
    ).toEqual(['partition-attestation', 'partition-timestamp', 'user', 'user']);
  });

  it('exactly one key of each partition role', () => {
    for (const role of ['partition-attestation', 'partition-timestamp']) {
      // None of it.
      refused(
        changed((m) => {
          m['keys'] = keysOf(m).filter((k) => k['role'] !== role);
        }),
        new RegExp(`0 keys of role ${role}`),
      );
      // Two of it (another id and label, so that only the role count is wrong).
      refused(
        changed((m) => {
          keysOf(m).push({ ...byRole(m, role), id: 'another-id', label: 'another-label' });
        }),
        new RegExp(`2 keys of role ${role}`),
      );
      // A user key passed off as it.
      refused(
        changed((m) => {
          keysOf(m).find((k) => k['role'] === 'user')!['role'] = role;
        }),
        new RegExp(`2 keys of role ${role}`),
      );
    }
  });

  it('labels unique among the keys, no label or id empty', () => {
    refused(
      changed((m) => {
        const [first, second] = keysOf(m).filter((k) => k['role'] === 'user');
        second!['label'] = first!['label'];
      }),
      /one label/,
    );
    refused(
      changed((m) => {
        keysOf(m).find((k) => k['role'] === 'user')!['label'] = '';
      }),
      /malformed/,
    );
    refused(
      changed((m) => {
        keysOf(m).find((k) => k['role'] === 'user')!['id'] = '';
      }),
      /malformed/,
    );
    // Ids unique too (already checked before these rules).
    refused(
      changed((m) => {
        const [first, second] = keysOf(m).filter((k) => k['role'] === 'user');
        second!['id'] = first!['id'];
      }),
      /malformed/,
    );
  });

  it('recipients: an array of entries of a known kind', () => {
    const cases: [string, (m: Json) => void][] = [
      ['absent', (m) => delete m['recipients']],
      ['an object', (m) => (m['recipients'] = { kind: 'backup-domain' })],
      ['an entry not an object', (m) => (m['recipients'] as unknown[]).push('backup-domain')],
      ['an entry of no kind', (m) => (m['recipients'] as unknown[]).push({ domain: 'x' })],
      ['an unknown kind', (m) => (m['recipients'] as Json[]).push({ kind: 'printer' })],
      ['a kind not a string', (m) => ((m['recipients'] as Json[])[0]!['kind'] = 1)],
    ];
    for (const [what, edit] of cases) {
      const e = expectHsmError(() => checkManifest(changed(edit)), 'backup-invalid');
      expect(e.message, what).toMatch(/recipient of no known kind/);
    }
    // Empty is not refused here: whether any recipient opens the bundle is decided by its
    // RecipientInfos, later.
    expect(() => checkManifest(changed((m) => (m['recipients'] = [])))).not.toThrow();
  });
});

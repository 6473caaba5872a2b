// A transport key's row is authenticated under the master key: an offline edit of the SQLite
// file (SQL only, no master key) of what the row decides (the key the restore opens, the rid
// it answers to, the algorithm) is an integrity failure, and no partition is restored.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFactory, Hsm } from '../../../../src/hsm/index.js';
import { OFFICER } from '../../../helpers/hsm.js';
import { TestClock } from '../../../helpers/governance.js';
import { tempDir } from '../../../helpers/tmp.js';
import { expectHsmRejection, withRawDb } from '../support.js';

const clock = new TestClock();

/** Replaces `from` by `to` in the body of B's transport-key rows; how many rows it changed. */
function editBody(path: string, from: string, to: string): number {
  return withRawDb(
    path,
    (db) =>
      db
        .prepare(
          "UPDATE governance SET body_json = replace(body_json, ?, ?) WHERE kind = 'transport-key'",
        )
        .run(from, to).changes,
  );
}

describe('a tampered transport-key row', () => {
  const edits: readonly {
    readonly what: string;
    readonly edit: (body: string) => [string, string];
  }[] = [
    {
      what: 'its sealed key',
      edit: (body) => {
        const sealed = /"sealed":"([0-9a-f]{8})/.exec(body)![1]!;
        return [sealed, sealed.endsWith('0') ? `${sealed.slice(0, 7)}1` : `${sealed.slice(0, 7)}0`];
      },
    },
    {
      what: 'its subject key identifier',
      edit: (body) => {
        const ski = /"subjectKeyIdentifier":"([0-9a-f]{8})/.exec(body)![1]!;
        return [ski, ski.endsWith('0') ? `${ski.slice(0, 7)}1` : `${ski.slice(0, 7)}0`];
      },
    },
    { what: 'its algorithm', edit: () => ['"ml-kem-768"', '"ecdh-p256"'] },
  ];

  for (const { what, edit } of edits) {
    it(`refuses ${what} edited offline: no key listed, no partition restored`, async () => {
      const dir = tempDir();
      const factory = await createFactory(join(dir, 'factory'), { development: true, clock });
      const bKey = randomBytes(32);
      const bPath = join(dir, 'b.sqlite');
      const a = await Hsm.init({
        path: join(dir, 'a.sqlite'),
        masterKey: { kind: 'key', key: randomBytes(32) },
        factory,
        officer: OFFICER,
        clock,
      });
      let b = await Hsm.init({
        path: bPath,
        masterKey: { kind: 'key', key: bKey },
        factory,
        officer: OFFICER,
        clock,
      });
      try {
        await a.generateKey('default', { label: 'signing', algorithm: 'ecdsa-p256' });
        const t = await b.createTransportKey('ml-kem-768');
        const [deviceCert] = await b.deviceCertificateChain();
        const { bundle } = await a.backupPartition('default', {
          transportCertificate: [t.certificate, deviceCert!],
        });
        await b.close();
        const body = withRawDb(
          bPath,
          (db) =>
            (
              db.prepare("SELECT body_json FROM governance WHERE kind = 'transport-key'").get() as {
                body_json: string;
              }
            ).body_json,
        );
        const [from, to] = edit(body);
        expect(editBody(bPath, from, to)).toBe(1);
        b = await Hsm.open(bPath, { kind: 'key', key: bKey }, { clock });
        await expectHsmRejection(b.transportKeys(), 'integrity-failed');
        await expectHsmRejection(b.restorePartition(bundle, { name: 'copy' }), 'integrity-failed');
        expect((await b.listPartitions()).map((p) => p.name)).not.toContain('copy');
        // The unedited row opens the bundle: the refusal came from the edit.
        expect(editBody(bPath, to, from)).toBe(1);
        const restored = await b.restorePartition(bundle, { name: 'copy' });
        expect(restored.partition.name).toBe('copy');
      } finally {
        await a.close();
        await b.close();
      }
    }, 60_000);
  }
});

// Partition backup and restore, the checks around the round trip: the manifest's shape (one key
// of each partition role, unique non-empty labels and ids, recipients of known kinds), a restore
// over a partition refused by that partition's own key rules (and the identical key replaced by
// itself), the joining device's check of the domain name of an enrolment answer, a second
// restore naming its immediate source in the keys and their evidence, derived keys whose
// parent link follows the restore, and a backup refused when the keys change while it is made.
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  randomUUID,
  sign,
  verify,
} from 'node:crypto';
import { join } from 'node:path';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectEvidence } from '../../../../src/attestation/index.js';
import { backupPartition, checkManifest } from '../../../../src/hsm/backup/bundle.js';
import { openDevice } from '../../../../src/hsm/device.js';
import { domainKcv } from '../../../../src/hsm/backup/domain.js';
import { canonicalJson } from '../../../../src/hsm/governance/canonical-json.js';
import { createFactory, Hsm, type Factory, type KeyInfo } from '../../../../src/hsm/index.js';
import { openStore } from '../../../../src/hsm/store/open.js';
import { aesKeyWrap } from '../../../../src/hsm/wrap.js';
import { buildCsr, encodeName, parseBackupBundle } from '../../../../src/pki/index.js';
import type { JsonObject } from '../../../../src/shared/index.js';
import { officerWithKey, TestClock } from '../../../helpers/governance.js';
import { hookedStore } from '../../../helpers/hooked-store.js';
import { auditEntries, createTestDevice, initDevice, OFFICER } from '../../../helpers/hsm.js';
import { freshDatabase, requirePostgres, type FreshDatabase } from '../../../helpers/postgres.js';
import { tempDir } from '../../../helpers/tmp.js';
import { expectHsmError, expectHsmRejection } from '../support.js';

const clock = new TestClock();

const device = (factory: Factory, location: string): Promise<Hsm> =>
  initDevice(factory, location, clock);

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

  it("a custodian bundle's manifest holds no partition keys, any other one of each", () => {
    const custodians = { kind: 'custodians', threshold: 2, custodians: [] };
    const userOnly = (m: Json): void => {
      m['keys'] = keysOf(m).filter((k) => k['role'] === 'user');
    };
    expect(
      checkManifest(
        changed((m) => {
          m['recipients'] = [custodians];
          userOnly(m);
        }),
      ).keys.map((k) => k.role),
    ).toEqual(['user', 'user']);
    refused(
      changed((m) => (m['recipients'] = [custodians])),
      /1 keys of role partition-attestation \(0 expected\)/,
    );
    refused(changed(userOnly), /0 keys of role partition-attestation \(1 expected\)/);
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

/** Enrols `target` in the domain `name` of `source` (no rules: the local operator). */
async function enrol(source: Hsm, target: Hsm, name: string): Promise<void> {
  const request = await target.backupDomainJoinRequest(name);
  const answer = await source.enrolDevice(name, request);
  await target.joinBackupDomain(answer);
}

const byLabel = (keys: readonly KeyInfo[], label: string): KeyInfo => {
  const k = keys.find((x) => x.label === label);
  if (k === undefined) throw new Error(`no key ${label}`);
  return k;
};

/** The attributes without the provenance (which each restore sets anew). */
const meaning = (k: KeyInfo): unknown => ({ ...k.attributes, restoredFrom: undefined });

/** The key claims of a key's evidence, verified under the device's root. */
async function keyClaims(h: Hsm, partition: string, label: string): Promise<JsonObject> {
  const report = await inspectEvidence(await h.attestKey(partition, label), {
    anchors: { certificates: [(await h.device()).rootCertificate] },
    at: clock.now(),
    allowSoftware: true,
  });
  expect(report.outcome).toBe('verified');
  return (report.claims as { keys: JsonObject[] }).keys[0]!;
}

/** One approver of a partition, within an hour. */
const oneOf = (name: string) => ({
  timeoutSeconds: 3600,
  alternatives: [{ groups: [{ members: [name], threshold: 1 }] }],
});

const DATA = new TextEncoder().encode('restored and derived');
const CHILD_PATH = "m/44'/0'/0'/0/0";

const skipPg = requirePostgres();

for (const targetStore of ['sqlite', 'postgres'] as const) {
  describe.skipIf(targetStore === 'postgres' && skipPg)(
    `restores over partitions, restores of restores, derived keys (target store: ${targetStore})`,
    () => {
      let a: Hsm;
      let b: Hsm;
      let c: Hsm;
      let db: FreshDatabase | undefined;
      let bundle: Uint8Array;

      beforeAll(async () => {
        const dir = tempDir();
        const factory = await createFactory(join(dir, 'factory'), { development: true, clock });
        a = await device(factory, join(dir, 'a.sqlite'));
        if (targetStore === 'postgres') db = await freshDatabase();
        b = await device(factory, db?.url ?? join(dir, 'b.sqlite'));
        c = await device(factory, join(dir, 'c.sqlite'));
        await a.createBackupDomain('vault');
        await enrol(a, b, 'vault');
        await enrol(a, c, 'vault');
        await officerWithKey(a, 'ann', [{ role: 'crypto-officer', partition: 'default' }], OFFICER);
        await a.generateKey('default', { label: 'signing', algorithm: 'ecdsa-p256' });
        // Guarded keys: not destroyable, under a rule of its own; and one whose rules may change.
        await a.generateKey('default', {
          label: 'fixed',
          algorithm: 'ecdsa-p256',
          destroyable: false,
        });
        await a.generateKey('default', {
          label: 'ruled',
          algorithm: 'ecdsa-p256',
          policy: { block: oneOf('ann') },
        });
        await a.generateKey('default', {
          label: 'mod',
          algorithm: 'ecdsa-p256',
          modifiable: true,
        });
        // A derivable key and a persistent child of it.
        await a.generateKey('default', { label: 'master', algorithm: 'bip32-secp256k1' });
        await a.deriveChildKey('default', 'master', CHILD_PATH, {
          label: 'child',
          persistent: true,
        });
        bundle = (await a.backupPartition('default', { domain: 'vault' })).bundle;
      }, 120_000);

      afterAll(async () => {
        for (const h of [a, b, c] as (Hsm | undefined)[]) await h?.close();
        await db?.drop();
      });

      it("restoring over: the identical guarded key replaces itself; a stricter rule of the partition's key is refused, named", async () => {
        await b.restorePartition(bundle, { name: 'over' });
        const first = await b.listKeys('over');
        // The same bundle again: every key is the bundle's as it is, the guarded ones too
        // (not destroyable; under a rule of its own): each replaced by itself, with a new id.
        const again = await b.restorePartition(bundle, { name: 'over' });
        expect(again).toMatchObject({ serial: 1, replaced: true });
        const second = await b.listKeys('over');
        for (const label of ['fixed', 'ruled', 'mod', 'signing']) {
          expect(byLabel(second, label).id, label).not.toBe(byLabel(first, label).id);
          expect(meaning(byLabel(second, label)), label).toEqual(meaning(byLabel(first, label)));
        }
        expect(byLabel(second, 'fixed').attributes.destroyable).toBe(false);
        expect(byLabel(second, 'ruled').attributes.policy?.block).toBeDefined();
        // Here the modifiable key gets a rule of its own the bundle's copy does not have:
        // the restore would drop it, and is refused naming that key alone.
        await officerWithKey(b, 'bea', [{ role: 'crypto-officer', partition: 'over' }], OFFICER);
        await b.setKeyPolicy('over', 'mod', { block: oneOf('bea') });
        const refused = await expectHsmRejection(
          b.restorePartition(bundle, { name: 'over' }),
          'backup-keys-protected',
        );
        expect(refused.message).toMatch(/\bmod\b/);
        expect(refused.details).toMatchObject({ partition: 'over', keys: 'mod' });
        // Nothing changed: the same keys, the rule still there.
        const kept = await b.listKeys('over');
        expect(kept.map((k) => k.id).sort()).toEqual(second.map((k) => k.id).sort());
        expect(byLabel(kept, 'mod').attributes.policy?.block).toBeDefined();
      });

      it('a restore of a restored partition names its immediate source in every key and in the evidence', async () => {
        await b.restorePartition(bundle, { name: 'hop' });
        const onB = await b.listKeys('hop');
        const hopB = (await b.partition('hop')).id;
        const devB = (await b.device()).id;
        // Two backups of the restored partition on b: serial 2 is not the source's serial 1.
        clock.ms += 60_000;
        await b.backupPartition('hop', { domain: 'vault' });
        clock.ms += 60_000;
        const fromB = await b.backupPartition('hop', { domain: 'vault' });
        expect(fromB.serial).toBe(2);
        // On a third device, and back on the first.
        for (const [h, name] of [
          [c, 'hop'],
          [a, 'back'],
        ] as const) {
          await h.restorePartition(fromB.bundle, { name });
          for (const k of await h.listKeys(name)) {
            expect(k.attributes.restoredFrom, `${name}/${k.label}`).toEqual({
              device: devB,
              partition: hopB,
              key: byLabel(onB, k.label).id,
              serial: 2,
              backupAt: fromB.manifest.createdAt,
            });
          }
          const claims = await keyClaims(h, name, 'signing');
          expect(claims).toMatchObject({
            restoredFromDevice: devB,
            restoredFromPartition: hopB,
            restoredFromKey: byLabel(onB, 'signing').id,
            backupSerial: '2',
          });
          expect(new Date(claims['backupTime'] as string).toISOString()).toBe(
            fromB.manifest.createdAt,
          );
        }
      });

      it("a derived key's parent link names its restored parent, on each device it reaches, and the keys work", async () => {
        const source = await a.listKeys('default');
        // a -> b ('hop', 'over'), b -> c ('hop'), b -> a ('back'): made by the tests above when
        // run in order; made here otherwise.
        for (const [h, name, from] of [
          [b, 'hop', bundle],
          [b, 'over', bundle],
        ] as const) {
          if (!(await h.listPartitions()).some((p) => p.name === name)) {
            await h.restorePartition(from, { name });
          }
        }
        const fromB = (await b.backupPartition('hop', { domain: 'vault' })).bundle;
        for (const [h, name] of [
          [c, 'hop'],
          [a, 'back'],
        ] as const) {
          if (!(await h.listPartitions()).some((p) => p.name === name)) {
            await h.restorePartition(fromB, { name });
          } else {
            await h.restorePartition(fromB, { name, allowRollback: true });
          }
        }
        const childSpki = Buffer.from(byLabel(source, 'child').spki).toString('hex');
        for (const [h, name] of [
          [b, 'hop'],
          [b, 'over'],
          [c, 'hop'],
          [a, 'back'],
        ] as const) {
          const keys = await h.listKeys(name);
          const master = byLabel(keys, 'master');
          const child = byLabel(keys, 'child');
          // The link resolves to the parent restored with it, in this partition.
          expect(child.attributes.derivation?.parent, name).toBe(master.id);
          expect(child.attributes.derivation).toMatchObject({
            ...byLabel(source, 'child').attributes.derivation,
            parent: master.id,
          });
          expect((await keyClaims(h, name, 'child'))['parentKeyIdentifier']).toBe(master.id);
          // The child signs as the source's child; the parent derives the same child again.
          const { signature } = await h.sign(name, 'child', { data: DATA });
          const spki = createPublicKey({
            key: Buffer.from(byLabel(source, 'child').spki),
            format: 'der',
            type: 'spki',
          });
          expect(verify('sha256', DATA, { key: spki, dsaEncoding: 'der' }, signature)).toBe(true);
          const label = `again-${randomBytes(4).toString('hex')}`;
          const again = await h.deriveChildKey(name, 'master', CHILD_PATH, { label });
          expect(Buffer.from(again.spki).toString('hex')).toBe(childSpki);
          expect(again.attributes.derivation?.parent).toBe(master.id);
          await h.deleteKey(name, label);
        }
      });
    },
  );
}

describe('the joining device checks the enrolment answer itself', () => {
  // The enrolling device refuses a request for another domain than the one it answers for
  // (backup.test.ts, "backup domain enrolment checks"), so an honest sponsor never sends an
  // answer whose domain name differs from the request's. The joining device checks it anyway:
  // a sponsor of this factory that is faulty or compromised is emulated by a device key the
  // test holds, certified by the same factory, signing answers built as enrolDevice builds them.
  // The same answer with the requested name joins, so the refusal is the name's alone.
  it('an answer made for domain Y to a request for domain X is refused; for X it joins', async () => {
    const dir = tempDir();
    const factory = await createFactory(join(dir, 'factory'), { development: true, clock });
    const b = await device(factory, join(dir, 'b.sqlite'));
    try {
      const rogueId = `SWHSM-${randomBytes(8).toString('hex').toUpperCase()}`;
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
      const subject = {
        country: factory.country,
        organization: factory.organization,
        organizationalUnit: 'attestamp software HSM',
        commonName: `attestamp device ${rogueId}`,
        serialNumber: rogueId,
      };
      const csr = await buildCsr(encodeName(subject), {
        algorithm: 'ecdsa-p384',
        spki: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })),
        sign: (tbs) =>
          Promise.resolve(
            new Uint8Array(sign('sha384', tbs, { key: privateKey, dsaEncoding: 'der' })),
          ),
      });
      const certificate = await factory.certifyDevice(
        { csr, deviceId: rogueId, deviceAlgorithm: 'ecdsa-p384', subject, validityYears: 1 },
        clock,
      );
      const signed = (statement: JsonObject): Uint8Array => {
        const text = canonicalJson(statement);
        return new TextEncoder().encode(
          JSON.stringify({
            statement: text,
            algorithm: 'ecdsa-p384',
            chain: [
              Buffer.from(certificate).toString('base64'),
              Buffer.from(factory.rootCertificate).toString('base64'),
            ],
            signature: sign('sha384', Buffer.from(text), {
              key: privateKey,
              dsaEncoding: 'der',
            }).toString('base64'),
          }),
        );
      };
      const domainKey = randomBytes(32);
      const domainId = randomUUID();
      /** The answer to `request` for the domain named `name`, as enrolDevice makes it. */
      const answer = (request: Uint8Array, name: string): Uint8Array => {
        const msg = JSON.parse(new TextDecoder().decode(request)) as { statement: string };
        const s = JSON.parse(msg.statement) as Record<string, string>;
        const digest = createHash('sha256').update(msg.statement).digest('hex');
        const { cipherText, sharedSecret } = ml_kem768.encapsulate(
          new Uint8Array(Buffer.from(s['publicKey']!, 'base64')),
        );
        const kek = Buffer.from(
          hkdfSync(
            'sha256',
            sharedSecret,
            new Uint8Array(0),
            `attestamp domain-enrol v1|${digest}`,
            32,
          ),
        );
        return signed({
          format: 'attestamp-domain-enrolment/v1',
          domain: domainId,
          name,
          kcv: domainKcv(domainKey),
          to: s['device']!,
          request: digest,
          at: clock.now().toISOString(),
          ciphertext: Buffer.from(cipherText).toString('base64'),
          wrappedKey: Buffer.from(aesKeyWrap(kek, domainKey, 'kw')).toString('base64'),
        });
      };
      const request = await b.backupDomainJoinRequest('vault');
      const wrong = await expectHsmRejection(
        b.joinBackupDomain(answer(request, 'safe')),
        'backup-invalid',
      );
      expect(wrong.message).toMatch(/another domain than the request/);
      expect((await b.backupDomains()).filter((d) => d.state === 'active')).toEqual([]);
      // The same sponsor's answer for the requested name: joined.
      const joined = await b.joinBackupDomain(answer(request, 'vault'));
      expect(joined).toMatchObject({
        id: domainId,
        name: 'vault',
        origin: 'enrolled',
        from: rogueId,
      });
      expect(joined.kcv).toBe(domainKcv(domainKey));
    } finally {
      await b.close();
    }
  }, 60_000);
});

describe.each([
  { store: 'sqlite', skip: false },
  { store: 'postgres', skip: skipPg },
])('a backup is the partition at its audit entry ($store)', ({ store, skip }) => {
  // The backup reads the key rows, makes and signs the bundle, then writes its audit entry in
  // a transaction. Another connection to the same store changes the keys just before that
  // transaction (a store hook, no mock): the bundle would not be the partition at its entry.
  it.skipIf(skip)(
    'a key made, trashed or changed between the read and the transaction: store-busy, no bundle; then it goes through',
    async () => {
      const db = store === 'postgres' ? await freshDatabase() : undefined;
      const d = await createTestDevice({
        clock,
        ...(db === undefined ? {} : { location: db.url }),
      });
      let hook: (() => Promise<void>) | undefined;
      const hooked = hookedStore(await openStore(d.storePath), {
        beforeTx: async () => {
          const run = hook;
          hook = undefined;
          await run?.();
        },
      });
      const core = await openDevice(hooked, d.masterKey, { clock });
      try {
        await d.hsm.createBackupDomain('vault');
        await d.hsm.generateKey('default', { label: 'k1', algorithm: 'aes-256' });
        await d.hsm.generateKey('default', { label: 'k2', algorithm: 'ecdsa-p256' });
        const changes: [string, () => Promise<unknown>][] = [
          ['made', () => d.hsm.generateKey('default', { label: 'k3', algorithm: 'ed25519' })],
          ['trashed', () => d.hsm.deleteKey('default', 'k2')],
          ['changed', () => d.hsm.encrypt('default', 'k1', { plaintext: Uint8Array.of(1) })],
        ];
        for (const [what, change] of changes) {
          hook = async () => {
            await change();
          };
          const e = await expectHsmRejection(
            backupPartition(core, 'default', { domain: 'vault' }),
            'store-busy',
          );
          expect(e.message, what).toMatch(/keys changed meanwhile/);
          expect(hook, what).toBeUndefined();
          // Once more, nothing changing: the bundle holds the partition as it is now.
          const done = await backupPartition(core, 'default', { domain: 'vault' });
          const held = await d.hsm.listKeys('default');
          expect(done.manifest.keys.map((k) => `${k.id}:${k.state}`).sort(), what).toEqual(
            held.map((k) => `${k.id}:${k.state === 'blocked' ? 'active' : k.state}`).sort(),
          );
        }
        const backups = (await auditEntries(d.hsm)).filter((e) => e.action === 'partition.backup');
        expect(
          backups.filter((e) => e.outcome === 'success').map((e) => e.details['serial']),
        ).toEqual([1, 2, 3]);
        // store-busy is transient (not audited): the refused attempts left no entry at all.
        expect(backups).toHaveLength(3);
      } finally {
        await hooked.close();
        await d.hsm.close();
        await db?.drop();
      }
    },
    60_000,
  );
});

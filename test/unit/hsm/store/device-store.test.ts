// One suite for every DeviceStore implementation (SQLite file, PostgreSQL server): the same
// cases, the same expected rows and errors, so that the HSM cannot tell the stores apart.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  GOVERNANCE_KINDS,
  type AuditRow,
  type DeviceRow,
  type DeviceStore,
  type GovernanceKind,
  type GovernanceRow,
  type KeyRow,
  type OfficerRow,
  type PartitionRow,
  type StoreTx,
} from '../../../../src/hsm/store/device-store.js';
import { copyStore } from '../../../../src/hsm/store/copy.js';
import { SCHEMA_VERSION } from '../../../../src/hsm/store/schema-version.js';
import { MIGRATIONS } from '../../../../src/hsm/store/sqlite/migrations.js';
import {
  createSqliteStore,
  openSqliteStore,
} from '../../../../src/hsm/store/sqlite/sqlite-store.js';
import {
  postgresKind,
  sqliteKind,
  type HostileChange,
  type StoreKind,
  type StoreSlot,
} from '../../../helpers/device-stores.js';
import { requirePostgres } from '../../../helpers/postgres.js';
import { expectHsmRejection } from '../support.js';

const STORES: readonly StoreKind[] = [
  sqliteKind({ create: createSqliteStore, open: openSqliteStore, migrations: MIGRATIONS }),
  postgresKind,
];

/** Deterministic bytes of every value 0..255 (NUL and 0xff included), `n` long. */
function bytes(n: number, seed: number): Buffer {
  return Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff));
}

const AT = '2025-03-04T05:06:07.089Z';

function partitionRow(id: string, name: string, over: Partial<PartitionRow> = {}): PartitionRow {
  return {
    id,
    name,
    policy_json: '{"exportable":false,"note":"é ✓ 🔑"}',
    attestation_certificate: bytes(700, 1),
    timestamp_certificate: bytes(650, 2),
    created_at: AT,
    audit_seq: 2 ** 40 + 3,
    mac: bytes(32, 3),
    ...over,
  };
}

function keyRow(
  id: string,
  partitionId: string | null,
  label: string,
  over: Partial<KeyRow> = {},
): KeyRow {
  return {
    id,
    partition_id: partitionId,
    label,
    role: 'user',
    kind: 'asymmetric',
    algorithm: 'ecdsa-p256',
    spki: bytes(91, 4),
    attributes_json: '{"extractable":false}',
    state: 'active',
    created_at: AT,
    invalidated_at: null,
    wrapped: bytes(180, 5),
    audit_seq: 7,
    mac: bytes(32, 6),
    ...over,
  };
}

const DEVICE: DeviceRow = {
  id: 'device-1',
  key_id: 'key-device',
  root_certificate: bytes(800, 7),
  certificate: Buffer.alloc(0),
  factory_label: 'factory ü',
  development: 1,
  organization: 'Example Org',
  country: 'CH',
  created_at: AT,
  mac: null,
};

const OFFICER: OfficerRow = {
  name: 'officer',
  params_json: '{"N":16384}',
  hash: bytes(64, 8),
  created_at: AT,
  mac: bytes(32, 9),
};

function governanceRow(
  kind: GovernanceKind,
  id: string,
  over: Partial<GovernanceRow> = {},
): GovernanceRow {
  return {
    kind,
    id,
    scope: 'device',
    body_json: `{"id":"${id}","note":"é ✓ 🔑"}`,
    audit_seq: 2 ** 40 + 5,
    mac: bytes(32, 13),
    ...over,
  };
}

/** Byte order of text, as both stores sort it. */
const byBytes = (x: string, y: string): number => Buffer.compare(Buffer.from(x), Buffer.from(y));

function auditRow(seq: number, over: Partial<AuditRow> = {}): AuditRow {
  return {
    seq,
    at: AT,
    actor: 'operator',
    action: 'key.generate',
    partition_id: null,
    key_id: null,
    outcome: 'success',
    details_json: `{"n":${seq}}`,
    object: null,
    prev_hash: bytes(32, seq),
    hash: bytes(32, seq + 1),
    mac: bytes(32, seq + 2),
    ...over,
  };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** Reads the head, waits so that another writer could interleave, and appends after it. */
async function appendAfterHead(tx: StoreTx, actor: string): Promise<number> {
  const head = await tx.audit.head();
  await new Promise((r) => setTimeout(r, 50));
  const seq = (head?.seq ?? 0) + 1;
  await tx.audit.insert(
    auditRow(seq, { actor, prev_hash: head?.hash ?? Buffer.alloc(32), hash: bytes(32, seq * 3) }),
  );
  return seq;
}

const skipped = (kind: StoreKind): boolean =>
  kind.dialect === 'postgres' ? requirePostgres() : kind.unavailable;

for (const kind of STORES) {
  const skip = skipped(kind);

  describe.skipIf(skip)(`DeviceStore on ${kind.dialect}`, () => {
    let slot: StoreSlot;
    const opened: DeviceStore[] = [];

    /** A new store, migrated to SCHEMA_VERSION. */
    async function migrated(): Promise<DeviceStore> {
      const store = await slot.create();
      opened.push(store);
      await store.tx((tx) => tx.migrate());
      return store;
    }

    async function open(): Promise<DeviceStore> {
      const store = await slot.open();
      opened.push(store);
      return store;
    }

    beforeEach(async () => {
      slot = await kind.slot();
    });

    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
      await slot.cleanup();
    });

    it('migrates an empty store to SCHEMA_VERSION, once, and its schema checks out', async () => {
      const store = await slot.create();
      opened.push(store);
      expect(store.dialect).toBe(kind.dialect);
      expect(await store.tx((tx) => tx.meta.schemaVersion())).toBe(0);
      expect(await store.tx((tx) => tx.migrate())).toEqual({ from: 0, to: SCHEMA_VERSION });
      expect(await store.meta.schemaVersion()).toBe(SCHEMA_VERSION);
      expect(await store.meta.get('schema_version')).toBe(String(SCHEMA_VERSION));
      expect(await store.tx((tx) => tx.migrate())).toEqual({
        from: SCHEMA_VERSION,
        to: SCHEMA_VERSION,
      });
      await store.assertSchema([SCHEMA_VERSION]);
      await store.tx((tx) => tx.assertSchema([SCHEMA_VERSION]));
      // The same schema is not version 1's.
      await expectHsmRejection(store.assertSchema([1]), 'integrity-failed');
    });

    it("migrates a version 1 store to SCHEMA_VERSION, and the result is a new store's schema", async () => {
      await slot.writeVersion1();
      const store = await open();
      expect(await store.meta.schemaVersion()).toBe(1);
      await store.assertSchema([1]);
      await expectHsmRejection(store.assertSchema([SCHEMA_VERSION]), 'integrity-failed');
      expect(await store.tx((tx) => tx.migrate())).toEqual({ from: 1, to: SCHEMA_VERSION });
      await store.assertSchema([SCHEMA_VERSION]);
    });

    it('reads and writes the audit rows of a store not migrated yet (no object column): they name no object', async () => {
      await slot.writeVersion1();
      const store = await open();
      const a1 = auditRow(1, { key_id: 'k-1' });
      await store.tx((tx) => tx.audit.insert(a1));
      expect(await collect(store.audit.entries())).toStrictEqual([a1]);
      // An entry naming an object has no place before the migration.
      await expect(
        store.tx((tx) => tx.audit.insert(auditRow(2, { object: 'rule:r-1' }))),
      ).rejects.toThrow();
      expect(await store.tx((tx) => tx.migrate())).toEqual({ from: 1, to: SCHEMA_VERSION });
      const a2 = auditRow(2, { object: 'rule:r-1' });
      await store.tx((tx) => tx.audit.insert(a2));
      expect(await collect(store.audit.entries())).toStrictEqual([a1, a2]);
      expect(await store.audit.latestObjectChange('rule:r-1')).toBe(2);
    });

    it('store-exists on a second create, store-not-found on opening nothing', async () => {
      await expectHsmRejection(slot.open(), 'store-not-found');
      await migrated();
      await expectHsmRejection(slot.create(), 'store-exists');
      const again = await open();
      expect(await again.meta.schemaVersion()).toBe(SCHEMA_VERSION);
    });

    it('its location names the store (a path, or the database of a URL)', async () => {
      const store = await migrated();
      const where = kind.dialect === 'postgres' ? new URL(slot.location).pathname : slot.location;
      expect(store.location).toContain(where);
    });

    it('returns every row type as it was written, byte for byte and type for type', async () => {
      const store = await migrated();
      const pA = partitionRow('p-a', 'alpha');
      const pB = partitionRow('p-b', 'beta', { mac: null, audit_seq: 0 });
      const kDevice = keyRow('k-device', null, 'device', { role: 'device', mac: null });
      const k1 = keyRow('k-1', 'p-a', 'signing', {
        state: 'invalidated',
        invalidated_at: '2025-04-01T00:00:00.000Z',
        created_at: '2025-03-05T00:00:00.000Z',
      });
      const k2 = keyRow('k-2', 'p-a', 'attest', { role: 'partition-attestation' });
      const a1 = auditRow(1, {
        partition_id: 'p-a',
        key_id: 'k-1',
        outcome: 'refused',
        object: 'approval:req-1/ü ✓',
      });
      const a2 = auditRow(2, { outcome: 'failure', details_json: '{}' });
      await store.tx(async (tx) => {
        await tx.meta.set('device_id', 'device-1');
        await tx.meta.set('device_id', 'device-1 ✓');
        await tx.device.insert(DEVICE);
        await tx.partitions.insert(pA);
        await tx.partitions.insert(pB);
        await tx.keys.insert(kDevice);
        await tx.keys.insert(k1);
        await tx.keys.insert(k2);
        await tx.officers.insert(OFFICER);
        await tx.audit.insert(a1);
        await tx.audit.insert(a2);
      });
      for (const r of [store, await open()]) {
        expect(await r.meta.get('device_id')).toBe('device-1 ✓');
        expect(await r.meta.get('absent')).toBeUndefined();
        expect(await r.meta.all()).toStrictEqual([
          { name: 'device_id', value: 'device-1 ✓' },
          { name: 'schema_version', value: String(SCHEMA_VERSION) },
        ]);
        expect(await r.device.all()).toStrictEqual([DEVICE]);
        expect(await r.partitions.byId('p-a')).toStrictEqual(pA);
        expect(await r.partitions.byName('beta')).toStrictEqual(pB);
        expect(await r.partitions.byId('p-none')).toBeUndefined();
        expect(await r.partitions.all()).toStrictEqual([pA, pB]);
        expect(await r.partitions.nameTaken('alpha')).toBe(true);
        expect(await r.partitions.nameTaken('gamma')).toBe(false);
        expect(await r.keys.byId('k-device')).toStrictEqual(kDevice);
        expect(await r.keys.byLabel('p-a', 'signing')).toStrictEqual(k1);
        expect(await r.keys.byLabel('p-b', 'signing')).toBeUndefined();
        expect(await r.keys.ofPartition('p-a')).toStrictEqual([k2, k1]);
        expect(await r.keys.all()).toStrictEqual([k2, kDevice, k1]);
        expect(await r.keys.labelTaken('p-a', 'attest')).toBe(true);
        expect(await r.keys.labelTaken('p-b', 'attest')).toBe(false);
        expect(await r.officers.byName('officer')).toStrictEqual(OFFICER);
        expect(await r.officers.all()).toStrictEqual([OFFICER]);
        expect(await r.audit.head()).toStrictEqual({ seq: 2, hash: a2.hash });
        expect(await collect(r.audit.entries())).toStrictEqual([a1, a2]);
      }
      const [row] = await store.device.all();
      expect(Buffer.isBuffer(row?.root_certificate)).toBe(true);
      expect(typeof row?.development).toBe('number');
    });

    it('orders text by its bytes, as SQLite does, whatever the database collation', async () => {
      const store = await migrated();
      const names = ['b', 'B', 'a', '_x', 'É', 'e', 'Z', 'a b', 'ab'];
      await store.tx(async (tx) => {
        for (const [i, name] of names.entries()) {
          await tx.partitions.insert(partitionRow(`p-${i}`, name));
        }
      });
      expect((await store.partitions.all()).map((p) => p.name)).toEqual([...names].sort(byBytes));
    });

    it('keeps governance objects of every kind as written, listed by kind, scope and id bytes', async () => {
      const store = await migrated();
      const one = GOVERNANCE_KINDS.map((kind, i) =>
        governanceRow(kind, `${kind}-1`, { audit_seq: i + 1, mac: bytes(32, 30 + i) }),
      );
      const ids = ['b', 'B', 'a', '_x', 'É', 'e', 'Z', 'a b', 'ab'];
      const roles = ids.map((id, i) =>
        governanceRow('role', id, { scope: i % 2 === 0 ? 'partition:p-a' : 'partition:p-b' }),
      );
      await store.tx(async (tx) => {
        for (const row of [...one, ...roles]) expect(await tx.governance.insert(row)).toBe(true);
      });
      const all = [...one, ...roles].sort((x, y) => byBytes(x.kind, y.kind) || byBytes(x.id, y.id));
      for (const r of [store, await open()]) {
        for (const row of one) expect(await r.governance.get(row.kind, row.id)).toStrictEqual(row);
        expect(await r.governance.get('role', 'É')).toStrictEqual(roles[4]);
        expect(await r.governance.get('rule', 'role-1')).toBeUndefined();
        expect(await r.governance.get('role', 'absent')).toBeUndefined();
        expect(await r.governance.list('role')).toStrictEqual(all.filter((g) => g.kind === 'role'));
        expect(await r.governance.list('role', 'partition:p-a')).toStrictEqual(
          all.filter((g) => g.kind === 'role' && g.scope === 'partition:p-a'),
        );
        expect(await r.governance.list('approval', 'device')).toStrictEqual([one[5]]);
        expect(await r.governance.list('approval', 'partition:p-a')).toStrictEqual([]);
        expect(await r.governance.all()).toStrictEqual(all);
      }
      const row = await store.governance.get('rule', 'rule-1');
      expect(Buffer.isBuffer(row?.mac)).toBe(true);
      expect(typeof row?.audit_seq).toBe('number');
    });

    it('a governance insert of an existing kind and id answers false, changes nothing, and its transaction still commits', async () => {
      const store = await migrated();
      const first = governanceRow('rule', 'r-1');
      await store.tx(async (tx) => {
        expect(await tx.governance.insert(first)).toBe(true);
      });
      const result = await store.tx(async (tx) => {
        const again = await tx.governance.insert(
          governanceRow('rule', 'r-1', { body_json: '{"other":true}', mac: bytes(32, 40) }),
        );
        // The transaction goes on: later statements run and the whole of it commits.
        const sameIdOtherKind = await tx.governance.insert(governanceRow('role', 'r-1'));
        const other = await tx.governance.insert(governanceRow('rule', 'r-2'));
        await tx.audit.insert(auditRow(1, { object: 'rule:r-2' }));
        return { again, sameIdOtherKind, other };
      });
      expect(result).toEqual({ again: false, sameIdOtherKind: true, other: true });
      expect(await store.governance.get('rule', 'r-1')).toStrictEqual(first);
      expect((await store.governance.all()).map((g) => `${g.kind}:${g.id}`)).toEqual([
        'role:r-1',
        'rule:r-1',
        'rule:r-2',
      ]);
      expect(await store.audit.head()).toMatchObject({ seq: 1 });
    });

    it('governance compare-and-set: a stale MAC changes nothing, the current one changes the row', async () => {
      const store = await migrated();
      const g = governanceRow('request', 'q-1', { scope: 'partition:p-a', audit_seq: 3 });
      await store.tx((tx) => tx.governance.insert(g));
      const stale = bytes(32, 99);
      const changed: GovernanceRow = {
        ...g,
        scope: 'device',
        body_json: '{"state":"approved"}',
        audit_seq: 9,
        mac: bytes(32, 41),
      };
      expect(await store.tx((tx) => tx.governance.update(changed, stale))).toBe(false);
      expect(await store.governance.get('request', 'q-1')).toStrictEqual(g);
      // The same id of another kind is another row.
      expect(
        await store.tx((tx) => tx.governance.update({ ...changed, kind: 'rule' }, g.mac)),
      ).toBe(false);
      expect(await store.tx((tx) => tx.governance.update(changed, g.mac))).toBe(true);
      expect(await store.governance.get('request', 'q-1')).toStrictEqual(changed);
      expect(await store.tx((tx) => tx.governance.update(changed, g.mac))).toBe(false);

      expect(await store.tx((tx) => tx.governance.delete('request', 'q-1', g.mac))).toBe(false);
      expect(await store.tx((tx) => tx.governance.delete('rule', 'q-1', changed.mac))).toBe(false);
      expect(await store.governance.get('request', 'q-1')).toBeDefined();
      expect(await store.tx((tx) => tx.governance.delete('request', 'q-1', changed.mac))).toBe(
        true,
      );
      expect(await store.governance.get('request', 'q-1')).toBeUndefined();
      expect(await store.tx((tx) => tx.governance.delete('request', 'q-1', changed.mac))).toBe(
        false,
      );
      // Gone, its kind and id are free again.
      expect(await store.tx((tx) => tx.governance.insert(g))).toBe(true);
    });

    it('answers the log queries the HSM asks', async () => {
      const store = await migrated();
      await store.tx(async (tx) => {
        await tx.partitions.insert(partitionRow('p-a', 'alpha'));
        const rows: Partial<AuditRow>[] = [
          { action: 'device.init', details_json: '{"schemaVersion":1}' },
          { action: 'key.import', key_id: 'k-1', partition_id: 'p-a' },
          { action: 'key.generate', key_id: 'k-1', partition_id: 'p-a' },
          { action: 'key.export', key_id: 'k-1', outcome: 'refused' },
          { action: 'key.set-attributes', key_id: 'k-1' },
          { action: 'partition.set-policy', partition_id: 'p-a' },
          { action: 'store.migrate', details_json: '{"from":1,"to":2}' },
          { action: 'key.set-attributes', key_id: 'k-1', outcome: 'failure' },
          { action: 'partition.set-policy', partition_id: 'p-a', key_id: 'k-1' },
          { action: 'key.export', key_id: 'k-2' },
        ];
        for (const [i, r] of rows.entries()) await tx.audit.insert(auditRow(i + 1, r));
      });
      const audit = store.audit;
      expect(await audit.latestKeyChange('k-1', ['key.set-attributes', 'key.generate'])).toBe(5);
      expect(await audit.latestKeyChange('k-1', [])).toBe(0);
      expect(await audit.latestKeyChange('k-9', ['key.generate'])).toBe(0);
      expect(await audit.latestPartitionChange('p-a', ['partition.set-policy'])).toBe(6);
      expect(await audit.latestPartitionChange('p-b', ['partition.set-policy'])).toBe(0);
      expect(await audit.everExported('k-1')).toBe(false);
      expect(await audit.everExported('k-2')).toBe(true);
      expect(await audit.creationAction('k-1')).toBe('key.import');
      expect(await audit.creationAction('k-2')).toBeUndefined();
      expect(await audit.schemaEntries()).toStrictEqual([
        { action: 'device.init', details_json: '{"schemaVersion":1}' },
        { action: 'store.migrate', details_json: '{"from":1,"to":2}' },
      ]);
    });

    it('reads a page of the log after a sequence number (page), in order, at most limit rows', async () => {
      const store = await migrated();
      await store.tx(async (tx) => {
        for (let seq = 1; seq <= 7; seq++) await tx.audit.insert(auditRow(seq));
      });
      const seqs = async (after: number, limit: number, r = store.audit) =>
        (await r.page(after, limit)).map((row) => row.seq);
      expect(await seqs(0, 3)).toEqual([1, 2, 3]);
      expect(await seqs(3, 3)).toEqual([4, 5, 6]);
      expect(await seqs(6, 3)).toEqual([7]);
      expect(await seqs(7, 3)).toEqual([]);
      expect(await seqs(2, 100)).toEqual([3, 4, 5, 6, 7]);
      // The same rows, column for column, as the full read gives.
      expect(await store.audit.page(4, 2)).toStrictEqual(
        (await collect(store.audit.entries())).slice(4, 6),
      );
      const reopened = await open();
      expect(await seqs(5, 1, reopened.audit)).toEqual([6]);
      expect(await store.tx(async (tx) => (await tx.audit.page(1, 1)).map((r) => r.seq))).toEqual([
        2,
      ]);
      expect(await store.snapshot(async (r) => (await r.audit.page(0, 2)).length)).toBe(2);
    });

    it('names the newest successful entry of a governance object (latestObjectChange)', async () => {
      const store = await migrated();
      await store.tx(async (tx) => {
        const rows: Partial<AuditRow>[] = [
          { action: 'governance.rule.create', object: 'rule:r-1' },
          { action: 'governance.rule.create', object: 'rule:r-2' },
          { action: 'governance.rule.update', object: 'rule:r-1' },
          { action: 'governance.rule.update', object: 'rule:r-1', outcome: 'refused' },
          { action: 'governance.rule.update', object: 'rule:r-1', outcome: 'failure' },
          { action: 'governance.request.create', object: 'request:q-1', outcome: 'refused' },
          { action: 'key.generate', key_id: 'rule:r-1' },
        ];
        for (const [i, r] of rows.entries()) await tx.audit.insert(auditRow(i + 1, r));
      });
      for (const r of [store, await open()]) {
        expect(await r.audit.latestObjectChange('rule:r-1')).toBe(3);
        expect(await r.audit.latestObjectChange('rule:r-2')).toBe(2);
        // Only refused: no change.
        expect(await r.audit.latestObjectChange('request:q-1')).toBe(0);
        expect(await r.audit.latestObjectChange('role:r-1')).toBe(0);
        expect(await r.audit.latestObjectChange('rule:r')).toBe(0);
      }
      expect(await store.tx((tx) => tx.audit.latestObjectChange('rule:r-1'))).toBe(3);
    });

    it('compare-and-set: a stale MAC changes nothing, the current one changes the row', async () => {
      const store = await migrated();
      const p = partitionRow('p-a', 'alpha');
      const k = keyRow('k-1', 'p-a', 'signing');
      const unauthenticated = keyRow('k-2', 'p-a', 'other', { mac: null });
      await store.tx(async (tx) => {
        await tx.partitions.insert(p);
        await tx.keys.insert(k);
        await tx.keys.insert(unauthenticated);
      });
      const stale = bytes(32, 99);
      const changed: KeyRow = {
        ...k,
        attributes_json: '{"extractable":true}',
        state: 'invalidated',
        invalidated_at: AT,
        audit_seq: 9,
        mac: bytes(32, 10),
        // Not mutable: update must leave these as stored.
        label: 'renamed',
        wrapped: bytes(10, 11),
      };
      expect(await store.tx((tx) => tx.keys.update(changed, stale))).toBe(false);
      expect(await store.keys.byId('k-1')).toStrictEqual(k);
      expect(await store.tx((tx) => tx.keys.update(changed, unauthenticated.mac ?? stale))).toBe(
        false,
      );
      expect(await store.tx((tx) => tx.keys.update(unauthenticated, stale))).toBe(false);
      expect(await store.tx((tx) => tx.keys.update(changed, k.mac!))).toBe(true);
      expect(await store.keys.byId('k-1')).toStrictEqual({
        ...changed,
        label: k.label,
        wrapped: k.wrapped,
      });
      // The old MAC is stale now.
      expect(await store.tx((tx) => tx.keys.update(changed, k.mac!))).toBe(false);

      expect(await store.tx((tx) => tx.keys.delete('k-1', k.mac!))).toBe(false);
      expect(await store.keys.byId('k-1')).toBeDefined();
      expect(await store.tx((tx) => tx.keys.delete('k-1', changed.mac!))).toBe(true);
      expect(await store.keys.byId('k-1')).toBeUndefined();
      expect(await store.tx((tx) => tx.keys.delete('k-1', changed.mac!))).toBe(false);

      const policy: PartitionRow = {
        ...p,
        policy_json: '{"exportable":true}',
        audit_seq: 12,
        mac: bytes(32, 12),
        name: 'renamed',
      };
      expect(await store.tx((tx) => tx.partitions.updatePolicy(policy, stale))).toBe(false);
      expect(await store.partitions.byId('p-a')).toStrictEqual(p);
      expect(await store.tx((tx) => tx.partitions.updatePolicy(policy, p.mac!))).toBe(true);
      expect(await store.partitions.byId('p-a')).toStrictEqual({ ...policy, name: p.name });
    });

    it('setMac writes the MAC (and audit_seq) of rows written before row authentication', async () => {
      const store = await migrated();
      await store.tx(async (tx) => {
        await tx.device.insert(DEVICE);
        await tx.partitions.insert(partitionRow('p-a', 'alpha', { mac: null, audit_seq: 0 }));
        await tx.keys.insert(keyRow('k-1', 'p-a', 'signing', { mac: null, audit_seq: 0 }));
        await tx.officers.insert({ ...OFFICER, mac: null });
        await tx.device.setMac(DEVICE.id, bytes(32, 20));
        await tx.partitions.setMac('p-a', 5, bytes(32, 21));
        await tx.keys.setMac('k-1', 6, bytes(32, 22));
        await tx.officers.setMac(OFFICER.name, bytes(32, 23));
      });
      expect((await store.device.all())[0]?.mac).toStrictEqual(bytes(32, 20));
      expect(await store.partitions.byId('p-a')).toMatchObject({
        audit_seq: 5,
        mac: bytes(32, 21),
      });
      expect(await store.keys.byId('k-1')).toMatchObject({ audit_seq: 6, mac: bytes(32, 22) });
      expect((await store.officers.byName(OFFICER.name))?.mac).toStrictEqual(bytes(32, 23));
    });

    describe('UNIQUE refusals, each rolling its transaction back', () => {
      async function refused(
        store: DeviceStore,
        fn: (tx: StoreTx) => Promise<void>,
      ): Promise<void> {
        await expect(store.tx(fn)).rejects.toThrow();
      }

      it('one label per partition, the device partition (none) included', async () => {
        const store = await migrated();
        await store.tx(async (tx) => {
          await tx.partitions.insert(partitionRow('p-a', 'alpha'));
          await tx.partitions.insert(partitionRow('p-b', 'beta'));
          await tx.keys.insert(keyRow('k-1', 'p-a', 'signing'));
          await tx.keys.insert(keyRow('k-d', null, 'device'));
          // The same label in another partition is another key.
          await tx.keys.insert(keyRow('k-2', 'p-b', 'signing'));
        });
        await refused(store, async (tx) => {
          await tx.keys.insert(keyRow('k-3', 'p-b', 'fresh'));
          await tx.keys.insert(keyRow('k-4', 'p-a', 'signing'));
        });
        await refused(store, (tx) => tx.keys.insert(keyRow('k-5', null, 'device')));
        await refused(store, (tx) => tx.keys.insert(keyRow('k-1', 'p-b', 'new')));
        expect((await store.keys.all()).map((k) => k.id).sort()).toEqual(['k-1', 'k-2', 'k-d']);
      });

      it('one partition per name, and a key only in a partition that exists', async () => {
        const store = await migrated();
        await store.tx((tx) => tx.partitions.insert(partitionRow('p-a', 'alpha')));
        await refused(store, (tx) => tx.partitions.insert(partitionRow('p-b', 'alpha')));
        await refused(store, (tx) => tx.keys.insert(keyRow('k-1', 'p-missing', 'x')));
        expect((await store.partitions.all()).map((p) => p.id)).toEqual(['p-a']);
        expect(await store.keys.all()).toEqual([]);
      });

      it('one audit entry per sequence number', async () => {
        const store = await migrated();
        await store.tx((tx) => tx.audit.insert(auditRow(1)));
        await refused(store, async (tx) => {
          await tx.audit.insert(auditRow(2));
          await tx.audit.insert(auditRow(2, { actor: 'other' }));
        });
        expect((await collect(store.audit.entries())).map((r) => r.seq)).toEqual([1]);
      });

      it('CHECK constraints refuse a role, state or outcome the schema does not know', async () => {
        const store = await migrated();
        await refused(store, (tx) =>
          tx.keys.insert(keyRow('k-1', null, 'x', { role: 'admin' as KeyRow['role'] })),
        );
        await refused(store, (tx) =>
          tx.keys.insert(keyRow('k-1', null, 'x', { state: 'gone' as KeyRow['state'] })),
        );
        await refused(store, (tx) =>
          tx.audit.insert(auditRow(1, { outcome: 'maybe' as AuditRow['outcome'] })),
        );
        // An unknown kind is an error, not the false of an existing object.
        await refused(store, async (tx) => {
          await tx.governance.insert(governanceRow('rule', 'fine'));
          await tx.governance.insert(governanceRow('admin' as GovernanceKind, 'x'));
        });
        expect(await store.governance.all()).toEqual([]);
        expect(await store.keys.all()).toEqual([]);
        expect(await store.audit.head()).toBeUndefined();
      });
    });

    it('a transaction that throws leaves nothing, and rethrows the same error', async () => {
      const store = await migrated();
      const boom = new Error('boom');
      const thrown = await store
        .tx(async (tx) => {
          await tx.meta.set('x', '1');
          await tx.partitions.insert(partitionRow('p-a', 'alpha'));
          await tx.keys.insert(keyRow('k-1', 'p-a', 'signing'));
          await tx.audit.insert(auditRow(1));
          throw boom;
        })
        .catch((e: unknown) => e);
      expect(thrown).toBe(boom);
      expect(await store.meta.get('x')).toBeUndefined();
      expect(await store.partitions.all()).toEqual([]);
      expect(await store.keys.all()).toEqual([]);
      expect(await store.audit.head()).toBeUndefined();
      // The store goes on working.
      expect(
        await store.tx(async (tx) => {
          await tx.audit.insert(auditRow(1));
          return 'ok';
        }),
      ).toBe('ok');
    });

    it('a reader of the store inside its own transaction, or a nested transaction, is refused', async () => {
      const store = await migrated();
      // A bug in the caller, not a store condition: a plain Error, no HsmError code.
      const reader = await store.tx(() => store.keys.all()).catch((e: unknown) => e);
      expect(reader).toBeInstanceOf(Error);
      expect((reader as Error).message).toMatch(/store reader was used inside a transaction/);
      await expect(store.tx(() => store.tx(() => Promise.resolve(1)))).rejects.toThrow(
        'transactions do not nest',
      );
      expect(await store.keys.all()).toEqual([]);
    });

    it('serialises writers of two store instances: the second appends after the first', async () => {
      const first = await migrated();
      const second = await open();
      const seqs = await Promise.all([
        first.tx((tx) => appendAfterHead(tx, 'first')),
        second.tx((tx) => appendAfterHead(tx, 'second')),
      ]);
      expect([...seqs].sort()).toEqual([1, 2]);
      const rows = await collect(first.audit.entries());
      expect(rows.map((r) => r.seq)).toEqual([1, 2]);
      // The later entry links to the earlier one: it read the head after the first committed.
      expect(rows[1]?.prev_hash).toStrictEqual(rows[0]?.hash);
    });

    it('a snapshot reads one state: what another instance commits during it shows after it', async () => {
      const store = await migrated();
      const other = await open();
      await store.tx((tx) => tx.audit.insert(auditRow(1)));
      const seen = await store.snapshot(async (r) => {
        const before = await collect(r.audit.entries());
        await other.tx((tx) => tx.audit.insert(auditRow(2)));
        expect((await other.audit.head())?.seq).toBe(2);
        const after = await collect(r.audit.entries());
        return {
          before: before.map((e) => e.seq),
          after: after.map((e) => e.seq),
          head: (await r.audit.head())?.seq,
        };
      });
      expect(seen).toEqual({ before: [1], after: [1], head: 1 });
      expect((await collect(store.audit.entries())).map((e) => e.seq)).toEqual([1, 2]);
      // The store's own readers inside its snapshot are refused, as inside a transaction.
      await expect(store.snapshot(() => store.keys.all())).rejects.toThrow(
        /store reader was used inside a transaction/,
      );
      await expect(store.tx(() => store.snapshot(() => Promise.resolve(1)))).rejects.toThrow(
        'transactions do not nest',
      );
    });

    it('pages through a long log in order (entries), outside and inside a transaction', async () => {
      const store = await migrated();
      const total = 2500;
      await store.tx(async (tx) => {
        for (let seq = 1; seq <= total; seq++) await tx.audit.insert(auditRow(seq));
      });
      let expected = 1;
      for await (const row of store.audit.entries()) {
        expect(row.seq).toBe(expected);
        expected++;
      }
      expect(expected - 1).toBe(total);
      const inside = await store.tx(async (tx) => (await collect(tx.audit.entries())).length);
      expect(inside).toBe(total);
      expect(await collect(store.audit.entries())).toContainEqual(auditRow(1234));
    });

    describe('refuses a schema changed behind its back', () => {
      const changes: readonly HostileChange[] = [
        'trigger',
        'governance-trigger',
        'view',
        'table',
        'drop-index',
      ];
      for (const change of changes) {
        it(`a planted or dropped object: ${change}`, async () => {
          const store = await migrated();
          await store.assertSchema([SCHEMA_VERSION]);
          await store.tx((tx) => tx.assertSchema([SCHEMA_VERSION]));
          await slot.plant(change);
          const error = await expectHsmRejection(
            store.assertSchema([SCHEMA_VERSION]),
            'integrity-failed',
          );
          expect(error.details?.table).toBe('schema');
          expect(error.details?.[change === 'drop-index' ? 'missing' : 'unexpected']).toMatch(
            change === 'drop-index' ? /audit_key/ : /evil/,
          );
          await expectHsmRejection(
            store.tx((tx) => tx.assertSchema([1, SCHEMA_VERSION])),
            'integrity-failed',
          );
        });
      }
    });

    it("after a purge, the deleted row is in none of the store's files (scrubFreed)", async () => {
      const store = await migrated();
      const marker = Buffer.from('PURGED-KEY-MARKER-0123456789abcdef');
      const wrapped = Buffer.concat([marker, marker, marker]);
      const k = keyRow('k-1', null, 'doomed', { wrapped });
      // The kept row first: compacting a page after the doomed one is gone moves nothing over
      // its bytes, so only a real scrub takes them away.
      await store.tx((tx) => tx.keys.insert(keyRow('k-2', null, 'kept')));
      await store.tx((tx) => tx.keys.insert(k));
      expect((await slot.storedBytes()).includes(marker)).toBe(true);
      expect(await store.tx((tx) => tx.keys.delete('k-1', k.mac!))).toBe(true);
      // Deleting alone leaves the bytes (what scrubFreed is for).
      expect((await slot.storedBytes()).includes(marker)).toBe(true);
      // false means "not now" (another session's snapshot held the bytes back): try again; true
      // means they are gone.
      let scrubbed = await store.scrubFreed();
      for (let i = 0; i < 50 && !scrubbed; i++) {
        await new Promise((r) => setTimeout(r, 100));
        scrubbed = await store.scrubFreed();
      }
      expect(scrubbed).toBe(true);
      expect((await slot.storedBytes()).includes(marker)).toBe(false);
      expect(await store.keys.byId('k-2')).toBeDefined();
    });

    for (const target of STORES) {
      it.skipIf(skipped(target))(
        `copies every row as stored, governance objects included, into an empty ${target.dialect} store`,
        async () => {
          const store = await migrated();
          const governance = [
            governanceRow('role', 'admins', { scope: 'partition:p-a' }),
            governanceRow('rule', 'r-1'),
          ];
          const audit = [auditRow(1), auditRow(2, { object: 'rule:r-1' })];
          await store.tx(async (tx) => {
            await tx.meta.set('device_id', 'device-1');
            await tx.device.insert(DEVICE);
            await tx.partitions.insert(partitionRow('p-a', 'alpha'));
            await tx.keys.insert(keyRow('k-1', 'p-a', 'signing'));
            await tx.officers.insert(OFFICER);
            for (const g of governance) await tx.governance.insert(g);
            for (const a of audit) await tx.audit.insert(a);
          });
          const other = await target.slot();
          const copy = await other.create();
          try {
            expect(await copyStore(store, copy)).toEqual({
              partitions: 1,
              keys: 1,
              officers: 1,
              governance: 2,
              auditEntries: 2,
            });
            expect(await copy.governance.all()).toStrictEqual(await store.governance.all());
            expect(await collect(copy.audit.entries())).toStrictEqual(audit);
            expect(await copy.keys.all()).toStrictEqual(await store.keys.all());
            expect(await copy.meta.all()).toStrictEqual(await store.meta.all());
          } finally {
            await copy.close();
            await other.cleanup();
          }
        },
      );
    }

    it('a closed store refuses further use', async () => {
      const store = await migrated();
      await store.close();
      await expectHsmRejection(store.keys.all(), 'store-unavailable');
      await expectHsmRejection(
        store.tx(() => Promise.resolve()),
        'store-unavailable',
      );
    });
  });
}

// What only the PostgreSQL store has: URLs and their passwords, connection failures, schemas of
// its own in a shared database, several nodes at once, a lost connection, the catalog objects
// SQLite does not have, and VACUUM's limits. The cases common to every store are in
// device-store.test.ts.
import { createServer } from 'node:net';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HsmError } from '../../../../src/hsm/index.js';
import type { AuditRow, DeviceStore, StoreTx } from '../../../../src/hsm/store/device-store.js';
import {
  DEFAULT_SCHEMA,
  postgresTarget,
  redactPostgresUrl,
} from '../../../../src/hsm/store/postgres/connection.js';
import {
  createPostgresStore,
  openPostgresStore,
} from '../../../../src/hsm/store/postgres/postgres-store.js';
import { SCHEMA_VERSION } from '../../../../src/hsm/store/schema-version.js';
import {
  freshDatabase,
  requirePostgres,
  sql,
  type FreshDatabase,
} from '../../../helpers/postgres.js';
import { expectHsmError, expectHsmRejection } from '../support.js';

const SECRET = 'pw-Zq81-never-shown';
const S = DEFAULT_SCHEMA;

function withPassword(url: string, password = SECRET): string {
  const u = new URL(url);
  u.password = password;
  return u.toString();
}

/** Every text an error shows: message, details, and its causes' messages. */
function shown(error: unknown): string {
  const parts: string[] = [];
  let e: unknown = error;
  while (e instanceof Error) {
    parts.push(e.message, String(e), JSON.stringify((e as { details?: unknown }).details ?? {}));
    e = e.cause;
  }
  return parts.join('\n');
}

function auditRow(seq: number, prev: Buffer, actor: string): AuditRow {
  return {
    seq,
    at: '2025-01-01T00:00:00.000Z',
    actor,
    action: 'test.append',
    partition_id: null,
    key_id: null,
    outcome: 'success',
    details_json: '{}',
    object: null,
    prev_hash: prev,
    hash: Buffer.from(`${actor}-${seq}`.padEnd(32, '.')),
    mac: Buffer.alloc(32, 1),
  };
}

async function appendAfterHead(tx: StoreTx, actor: string): Promise<number> {
  const head = await tx.audit.head();
  await new Promise((r) => setTimeout(r, 5));
  const seq = (head?.seq ?? 0) + 1;
  await tx.audit.insert(auditRow(seq, head?.hash ?? Buffer.alloc(32), actor));
  return seq;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
  });
}

describe('postgres:// URLs', () => {
  it('redacts the password, and the password parameters, and nothing else', () => {
    expect(
      redactPostgresUrl(`postgres://alice:${SECRET}@db.example:5433/hsm?sslmode=require`),
    ).toBe('postgres://alice@db.example:5433/hsm?sslmode=require');
    const redacted = redactPostgresUrl(
      `postgresql://alice@db.example/hsm?password=${SECRET}&sslpassword=${SECRET}&application_name=x`,
    );
    expect(redacted).not.toContain(SECRET);
    expect(redacted).toBe('postgresql://alice@db.example/hsm?application_name=x');
    expect(redactPostgresUrl(`not a url ${SECRET}`)).toBe('postgres://(malformed URL)');
    expect(redactPostgresUrl(`https://u:${SECRET}@x/`)).not.toContain(SECRET);
  });

  it('refuses a malformed URL or schema without echoing the URL', () => {
    const error = expectHsmError(
      () => postgresTarget(`postgres://u:${SECRET}@[::1/db`),
      'invalid-argument',
    );
    expect(shown(error)).not.toContain(SECRET);
    expectHsmError(() => postgresTarget('https://db.example/hsm'), 'invalid-argument');
    for (const schema of ['Upper', 'pg_catalog', 'a-b', 'x;drop', '']) {
      expectHsmError(
        () => postgresTarget(`postgres://db.example/hsm?schema=${encodeURIComponent(schema)}`),
        'invalid-argument',
      );
    }
    const target = postgresTarget(
      `postgres://u:${SECRET}@db.example/hsm?schema=node_b&options=-c%20work_mem%3D8MB`,
    );
    expect(target.schema).toBe('node_b');
    expect(target.location).not.toContain(SECRET);
    // The store's session settings follow the URL's own options, which cannot replace them.
    expect(target.config.options).toBe(
      '-c work_mem=8MB -c search_path=pg_catalog,pg_temp -c idle_in_transaction_session_timeout=30000',
    );
    expect(target.config.connectionString).not.toMatch(/schema=|options=/);
  });
});

describe.skipIf(requirePostgres())('the PostgreSQL store', () => {
  let db: FreshDatabase;
  const opened: DeviceStore[] = [];

  async function track(store: Promise<DeviceStore>): Promise<DeviceStore> {
    const s = await store;
    opened.push(s);
    return s;
  }

  async function migrated(url = db.url): Promise<DeviceStore> {
    const store = await track(createPostgresStore(url));
    await store.tx((tx) => tx.migrate());
    return store;
  }

  beforeEach(async () => {
    db = await freshDatabase();
  });

  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    await db.drop();
  });

  describe('classifies a failure to open, never showing the password', () => {
    it('nothing listening: store-unavailable', async () => {
      const url = `postgres://postgres:${SECRET}@127.0.0.1:${await freePort()}/postgres`;
      const error = await expectHsmRejection(openPostgresStore(url), 'store-unavailable');
      expect(shown(error)).not.toContain(SECRET);
      await expectHsmRejection(createPostgresStore(url), 'store-unavailable');
    });

    it('a database that does not exist: store-not-found', async () => {
      const url = new URL(withPassword(db.url));
      url.pathname = '/attestamp_no_such_database';
      const error = await expectHsmRejection(openPostgresStore(url.toString()), 'store-not-found');
      expect(error.details?.postgres).toBe('3D000');
      expect(shown(error)).not.toContain(SECRET);
    });

    it('a role the server refuses: store-permission', async () => {
      const url = new URL(withPassword(db.url));
      url.username = 'attestamp_no_such_role';
      const error = await expectHsmRejection(openPostgresStore(url.toString()), 'store-permission');
      expect(error.details?.postgres).toMatch(/^28/);
      expect(shown(error)).not.toContain(SECRET);
    });

    it('a database without a store: store-not-found; its location has no password', async () => {
      const url = withPassword(db.url);
      const error = await expectHsmRejection(openPostgresStore(url), 'store-not-found');
      expect(shown(error)).not.toContain(SECRET);
      // The test server trusts loopback: the password is accepted and never needed.
      const store = await migrated(url);
      expect(store.location).toBe(redactPostgresUrl(url));
      expect(store.location).not.toContain(SECRET);
      expect(store.location).toContain(new URL(db.url).pathname);
    });
  });

  it('keeps to its own schema: other tables of the database do not disturb it', async () => {
    await sql(db.url, 'CREATE TABLE public.tsa_archive (seq bigint PRIMARY KEY)');
    const store = await migrated();
    const other = await migrated(`${db.url}?schema=node_b`);
    await store.tx((tx) => tx.audit.insert(auditRow(1, Buffer.alloc(32), 'a')));
    expect(await other.audit.head()).toBeUndefined();
    await store.assertSchema([SCHEMA_VERSION]);
    await other.assertSchema([SCHEMA_VERSION]);
    // The scratch schemas of the check leave nothing behind.
    const schemas = await sql<{ nspname: string }>(
      db.url,
      "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'attestamp%' ORDER BY nspname",
    );
    expect(schemas.map((r) => r.nspname)).toEqual(['attestamp_hsm']);
  });

  it('store-exists when the schema holds anything, or was migrated by a racing create', async () => {
    await sql(db.url, `CREATE SCHEMA ${S}; CREATE TABLE ${S}.unrelated (a int)`);
    const error = await expectHsmRejection(createPostgresStore(db.url), 'store-exists');
    expect(error.message).toMatch(/not empty/);
    await sql(db.url, `DROP SCHEMA ${S} CASCADE`);
    const first = await track(createPostgresStore(db.url));
    const second = await track(createPostgresStore(db.url));
    await first.tx((tx) => tx.migrate());
    await expectHsmRejection(
      second.tx((tx) => tx.migrate()),
      'store-exists',
    );
  });

  describe('refuses catalog changes SQLite has no word for', () => {
    const changes: Readonly<Record<string, string>> = {
      'a rule': `CREATE RULE evil AS ON INSERT TO ${S}.audit DO INSTEAD NOTHING`,
      'a row-level security policy': `ALTER TABLE ${S}.keys ENABLE ROW LEVEL SECURITY;
        CREATE POLICY evil ON ${S}.keys USING (false)`,
      "a child table elsewhere read as the store's rows": `CREATE TABLE public.evil () INHERITS (${S}.keys)`,
      'a function in the schema': `CREATE FUNCTION ${S}.evil() RETURNS int LANGUAGE sql AS 'SELECT 1'`,
      'a column of another type': `ALTER TABLE ${S}.keys ALTER COLUMN label TYPE varchar(64)`,
      'a column of another collation': `ALTER TABLE ${S}.partitions ALTER COLUMN name TYPE text COLLATE "und-x-icu"`,
      'an unlogged table': `ALTER TABLE ${S}.audit SET UNLOGGED`,
      'a unique index marked invalid': `UPDATE pg_index SET indisvalid = false
        WHERE indexrelid = '${S}.keys_partition_label'::regclass`,
      'foreign-key triggers disabled': `ALTER TABLE ${S}.keys DISABLE TRIGGER ALL`,
      'a column default changed': `ALTER TABLE ${S}.keys ALTER COLUMN audit_seq SET DEFAULT 7`,
      'a CHECK dropped': `ALTER TABLE ${S}.audit DROP CONSTRAINT audit_outcome_check`,
      'a domain type in the schema': `CREATE DOMAIN ${S}.evil AS text`,
      'a trigger on the log': `CREATE FUNCTION public.evil() RETURNS trigger LANGUAGE plpgsql
        AS $$BEGIN RETURN NULL; END$$;
        CREATE TRIGGER evil BEFORE INSERT ON ${S}.audit FOR EACH ROW EXECUTE FUNCTION public.evil()`,
      'a column added': `ALTER TABLE ${S}.keys ADD COLUMN evil text`,
      'a column dropped and added back': `ALTER TABLE ${S}.meta DROP COLUMN value;
        ALTER TABLE ${S}.meta ADD COLUMN value text NOT NULL DEFAULT ''`,
      'a NOT NULL dropped': `ALTER TABLE ${S}.keys ALTER COLUMN wrapped DROP NOT NULL`,
    };
    for (const [name, change] of Object.entries(changes)) {
      it(name, async () => {
        const store = await migrated();
        // A write that passed the check first: the next write must not trust what it saw.
        await store.tx((tx) => tx.assertSchema([SCHEMA_VERSION]));
        await sql(db.url, change);
        await expectHsmRejection(
          store.tx((tx) => tx.assertSchema([SCHEMA_VERSION])),
          'integrity-failed',
        );
        await expectHsmRejection(store.assertSchema([SCHEMA_VERSION]), 'integrity-failed');
      });
    }
  });

  it('an object no write can reach (an operator) is left to the full comparison at open', async () => {
    const store = await migrated();
    await store.tx((tx) => tx.assertSchema([SCHEMA_VERSION]));
    await sql(
      db.url,
      `CREATE FUNCTION public.evil_eq(text, text) RETURNS boolean LANGUAGE sql AS 'SELECT true';
       CREATE OPERATOR ${S}.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.evil_eq)`,
    );
    // The store's statements resolve operators in pg_catalog only: this one takes no part in a
    // write, and the fingerprint leaves it out.
    await store.tx((tx) => tx.assertSchema([SCHEMA_VERSION]));
    const error = await expectHsmRejection(
      store.assertSchema([SCHEMA_VERSION]),
      'integrity-failed',
    );
    expect(error.details?.unexpected).toMatch(/operator/);
  });

  it('before each write, compares the whole catalog only when its fingerprint changed', async () => {
    const store = await migrated();
    const queries = vi.spyOn(pg.Client.prototype, 'query');
    /** Reads of the store's whole catalog (the comparison's expensive query). */
    const fullReads = (): number =>
      queries.mock.calls.filter(
        ([text, values]) =>
          typeof text === 'string' &&
          text.includes('pg_get_indexdef') &&
          Array.isArray(values) &&
          values[0] === S,
      ).length;
    try {
      for (let i = 0; i < 5; i++) {
        await store.tx(async (tx) => {
          await tx.assertSchema([SCHEMA_VERSION]);
          await tx.audit.insert(auditRow(i + 1, Buffer.alloc(32), 'w'));
        });
      }
      expect(fullReads()).toBe(1);
      // Another node's writes, VACUUM and ANALYZE (statistics in pg_class) are no catalog change
      // the comparison would see, but the fingerprint may count them: at most one more read.
      await sql(db.url, `VACUUM ANALYZE ${S}.audit`);
      await store.tx((tx) => tx.assertSchema([SCHEMA_VERSION]));
      await store.tx((tx) => tx.assertSchema([SCHEMA_VERSION]));
      expect(fullReads()).toBeLessThanOrEqual(2);
      const before = fullReads();
      await sql(db.url, `ALTER TABLE ${S}.meta ADD COLUMN evil text`);
      await expectHsmRejection(
        store.tx((tx) => tx.assertSchema([SCHEMA_VERSION])),
        'integrity-failed',
      );
      expect(fullReads()).toBe(before + 1);
      // Refused again at the next write, not remembered as checked.
      await expectHsmRejection(
        store.tx((tx) => tx.assertSchema([SCHEMA_VERSION])),
        'integrity-failed',
      );
    } finally {
      queries.mockRestore();
    }
  });

  it('a statement that failed inside fn fails the transaction, even when fn swallowed it', async () => {
    const store = await migrated();
    await store.tx((tx) => tx.audit.insert(auditRow(1, Buffer.alloc(32), 'a')));
    let swallowed: unknown;
    const outcome = await store
      .tx(async (tx) => {
        await tx.meta.set('before', '1');
        try {
          await tx.audit.insert(auditRow(1, Buffer.alloc(32), 'dup'));
        } catch (error) {
          swallowed = error;
        }
        return 'fn finished';
      })
      .catch((e: unknown) => e);
    expect(swallowed).toBeDefined();
    // The same error the statement raised, not a silent rollback reported as success.
    expect(outcome).toBe(swallowed);
    expect((outcome as { code?: string }).code).toBe('23505');
    expect(await store.meta.get('before')).toBeUndefined();
  });

  it('several nodes append to one log at once: no gap, no duplicate, every link sound', async () => {
    const nodes = [await migrated()];
    for (let i = 1; i < 5; i++) nodes.push(await track(openPostgresStore(db.url)));
    const perNode = 8;
    await Promise.all(
      nodes.map(async (node, n) => {
        for (let i = 0; i < perNode; i++) await node.tx((tx) => appendAfterHead(tx, `node${n}`));
      }),
    );
    const rows: AuditRow[] = [];
    for await (const row of nodes[0]!.audit.entries()) rows.push(row);
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 5 * perNode }, (_, i) => i + 1));
    for (let i = 1; i < rows.length; i++)
      expect(rows[i]!.prev_hash).toStrictEqual(rows[i - 1]!.hash);
  });

  it('a writer held up past the lock timeout: store-busy, and nothing written', async () => {
    const holder = await migrated();
    const waiter = await track(openPostgresStore(db.url));
    let release = (): void => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let locked = (): void => undefined;
    const holds = new Promise<void>((r) => {
      locked = r;
    });
    const holding = holder.tx(async (tx) => {
      await tx.meta.set('holder', '1');
      locked();
      await held;
    });
    // The holder's transaction has written (and holds the lock) before the waiter starts,
    // however long that takes on a busy machine.
    await holds;
    await expectHsmRejection(
      waiter.tx((tx) => tx.meta.set('waiter', '1')),
      'store-busy',
    );
    release();
    await holding;
    expect(await waiter.meta.get('holder')).toBe('1');
    expect(await waiter.meta.get('waiter')).toBeUndefined();
  }, 30_000);

  it('a connection lost mid-transaction: store-unavailable, nothing written, and it recovers', async () => {
    const store = await migrated();
    const error = await store
      .tx(async (tx) => {
        await tx.meta.set('lost', '1');
        await sql(
          db.url,
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = 'attestamp'
              AND state = 'idle in transaction'`,
        );
        await tx.meta.set('after', '1');
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HsmError);
    expect((error as HsmError).code).toBe('store-unavailable');
    expect(await store.meta.get('lost')).toBeUndefined();
    await store.tx((tx) => tx.meta.set('recovered', '1'));
    expect(await store.meta.get('recovered')).toBe('1');
  });

  it('scrubFreed says false while an older snapshot may keep the deleted row, true after', async () => {
    const store = await migrated();
    const marker = Buffer.from('SNAPSHOT-HELD-MARKER-fedcba9876543210');
    const mac = Buffer.alloc(32, 2);
    await store.tx(async (tx) => {
      await tx.keys.insert({
        id: 'k-1',
        partition_id: null,
        label: 'doomed',
        role: 'user',
        kind: 'asymmetric',
        algorithm: 'ecdsa-p256',
        spki: Buffer.alloc(10),
        attributes_json: '{}',
        state: 'active',
        created_at: '2025-01-01T00:00:00.000Z',
        invalidated_at: null,
        wrapped: Buffer.concat([marker, marker]),
        audit_seq: 0,
        mac,
      });
    });
    const reader = new pg.Client({ connectionString: db.url });
    await reader.connect();
    try {
      await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      // A snapshot, and no lock on the keys table (VACUUM FULL does not wait for it).
      await reader.query('SELECT 1');
      expect(await store.tx((tx) => tx.keys.delete('k-1', mac))).toBe(true);
      expect(await store.scrubFreed()).toBe(false);
      // The reader may still see the row, so VACUUM FULL kept it.
      expect((await reader.query(`SELECT id FROM ${S}.keys`)).rows).toEqual([{ id: 'k-1' }]);
      await reader.query('COMMIT');
    } finally {
      await reader.end();
    }
    // Once no snapshot older than the VACUUM is left. The check covers every database of the
    // cluster (pg_stat_activity cannot say which horizon a backend holds), so another test's
    // transaction still open elsewhere on a shared server makes it say false again: try until
    // those have ended, within a bound.
    let freed = await store.scrubFreed();
    for (let i = 0; !freed && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 100));
      freed = await store.scrubFreed();
    }
    expect(freed).toBe(true);
    await sql(db.url, 'CHECKPOINT');
    const files = await sql<{ bytes: Buffer }>(
      db.url,
      `SELECT pg_read_binary_file(pg_relation_filepath('${S}.keys')) AS bytes`,
    );
    expect(files[0]!.bytes.includes(marker)).toBe(false);
  });
});

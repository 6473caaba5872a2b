// A purge whose scrub of the store's files fails has still happened: it succeeds with a warning,
// logged and audited as store.scrub-pending (codes only), and the scrub is tried again at the
// next purge or open. On SQLite through a store that fails its scrub at the seam, on PostgreSQL
// with the keys table locked by another connection past the lock timeout.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createFactory,
  Hsm,
  HsmError,
  type AuditEntry,
  type MasterKeyInput,
} from '../../../src/hsm/index.js';
import { exportAudit } from '../../../src/hsm/audit/log.js';
import type { Core } from '../../../src/hsm/core.js';
import { openDevice } from '../../../src/hsm/device.js';
import { purgeKey, showKey } from '../../../src/hsm/keys/lifecycle.js';
import { DEFAULT_SCHEMA } from '../../../src/hsm/store/postgres/connection.js';
import { openStore } from '../../../src/hsm/store/open.js';
import { systemClock, type LogFields, type Logger } from '../../../src/shared/index.js';
import { hookedStore } from '../../helpers/hooked-store.js';
import { createTestDevice, OFFICER } from '../../helpers/hsm.js';
import { freshDatabase, requirePostgres, sql } from '../../helpers/postgres.js';
import { tempDir } from '../../helpers/tmp.js';
import { expectHsmRejection } from './support.js';

/** A logger that keeps its warnings. */
function recorder(): Logger & { warnings: { message: string; fields?: LogFields }[] } {
  const warnings: { message: string; fields?: LogFields }[] = [];
  return {
    warnings,
    info: () => undefined,
    error: () => undefined,
    warn: (message, fields) => {
      warnings.push({ message, ...(fields === undefined ? {} : { fields }) });
    },
  };
}

async function entries(from: Hsm | Core): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for await (const e of from instanceof Hsm ? from.exportAudit() : exportAudit(from.store)) {
    out.push(e);
  }
  return out;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('a purge whose scrub fails', () => {
  const closing: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const close of closing.splice(0).reverse()) await close();
  });

  /** A device with keys 'doomed' and 'next' in the trash, opened over a store whose scrub fails while `fail.now`. */
  async function trashedDevice(): Promise<{
    storePath: string;
    masterKey: MasterKeyInput;
    open: (logger: Logger) => Promise<Core>;
    fail: { now: boolean };
  }> {
    const d = await createTestDevice();
    for (const label of ['doomed', 'next']) {
      await d.hsm.generateKey('default', { label, algorithm: 'ed25519' });
      await d.hsm.deleteKey('default', label);
    }
    await d.hsm.close();
    const fail = { now: true };
    const open = async (logger: Logger): Promise<Core> => {
      const store = hookedStore(await openStore(d.storePath), {
        scrubFreed: (inner) =>
          fail.now
            ? Promise.reject(
                new HsmError('store-unavailable', 'the device store cannot be reached'),
              )
            : inner(),
      });
      closing.push(() => store.close());
      return openDevice(store, d.masterKey, { logger });
    };
    return { storePath: d.storePath, masterKey: d.masterKey, open, fail };
  }

  it('succeeds with a warning, logged and audited as scrub-pending; the next purge scrubs', async () => {
    const t = await trashedDevice();
    const logger = recorder();
    const core = await t.open(logger);
    const outcome = await purgeKey(core, 'default', 'doomed', OFFICER);
    expect(outcome.scrubbed).toBe(false);
    expect(outcome.warning).toMatch(/deleted.*retried at the next purge or open/);
    const log = await entries(core);
    const tail = log.slice(-2).map((e) => [e.action, e.outcome, e.details]);
    expect(tail).toEqual([
      ['key.purge', 'success', { label: 'doomed' }],
      ['store.scrub-pending', 'failure', { after: 'key.purge', code: 'store-unavailable' }],
    ]);
    expect(log.filter((e) => e.action === 'key.purge' && e.outcome !== 'success')).toEqual([]);
    expect(await core.store.meta.get('scrub_pending')).toMatch(ISO);
    // The purge happened.
    await expectHsmRejection(showKey(core, 'default', 'doomed'), 'key-not-found');
    // Identifiers and codes only.
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]!.fields).toEqual({
      after: 'key.purge',
      store: 'sqlite',
      code: 'store-unavailable',
    });
    expect(logger.warnings[0]!.message).toBe(outcome.warning);

    t.fail.now = false;
    expect(await purgeKey(core, 'default', 'next', OFFICER)).toEqual({ scrubbed: true });
    expect((await entries(core)).slice(-1).map((e) => [e.action, e.outcome, e.details])).toEqual([
      ['store.scrub', 'success', { after: 'key.purge' }],
    ]);
    expect(await core.store.meta.get('scrub_pending')).toBe('');
    expect(logger.warnings).toHaveLength(1);
  });

  it('a scrub owed is done at the next open; one that fails again stays owed', async () => {
    const t = await trashedDevice();
    const first = await t.open(recorder());
    await purgeKey(first, 'default', 'doomed', OFFICER);
    await first.store.close();

    const logger = recorder();
    const again = await t.open(logger);
    expect(logger.warnings.map((w) => w.fields?.after)).toEqual(['open']);
    expect((await entries(again)).slice(-1)[0]?.action).toBe('store.scrub-pending');
    expect(await again.store.meta.get('scrub_pending')).toMatch(ISO);
    await again.store.close();

    t.fail.now = false;
    const healed = await t.open(recorder());
    expect((await entries(healed)).slice(-1).map((e) => [e.action, e.outcome, e.details])).toEqual([
      ['store.scrub', 'success', { after: 'open' }],
    ]);
    expect(await healed.store.meta.get('scrub_pending')).toBe('');
    // Nothing owed: the next open writes nothing.
    const count = (await entries(healed)).length;
    await healed.store.close();
    const quiet = await t.open(recorder());
    expect((await entries(quiet)).length).toBe(count);
  });
});

describe.skipIf(requirePostgres())('a purge on PostgreSQL while the keys table is locked', () => {
  it('succeeds with a warning; the open after the lock is gone scrubs the row away', async () => {
    const db = await freshDatabase();
    const holder = new pg.Client({ connectionString: db.url });
    try {
      const factory = await createFactory(join(tempDir(), 'factory'), {
        development: true,
        clock: systemClock,
      });
      const masterKey: MasterKeyInput = { kind: 'key', key: randomBytes(32) };
      const logger = recorder();
      const hsm = await Hsm.init({ path: db.url, masterKey, factory, officer: OFFICER, logger });
      const key = await hsm.generateKey('default', { label: 'doomed', algorithm: 'ecdsa-p256' });
      await hsm.deleteKey('default', 'doomed');
      const [row] = await sql<{ wrapped: Buffer }>(
        db.url,
        `SELECT wrapped FROM ${DEFAULT_SCHEMA}.keys WHERE id = $1`,
        [key.id],
      );
      const sealed = row!.wrapped;

      await holder.connect();
      await holder.query('BEGIN');
      // VACUUM FULL needs the table to itself; the purge's DELETE does not.
      await holder.query(`LOCK TABLE ${DEFAULT_SCHEMA}.keys IN ACCESS SHARE MODE`);
      const outcome = await hsm.purgeKey('default', 'doomed', OFFICER);
      await holder.query('COMMIT');
      expect(outcome.scrubbed).toBe(false);
      expect(logger.warnings.map((w) => w.fields)).toEqual([
        { after: 'key.purge', store: 'postgres', code: 'not-finished' },
      ]);
      expect((await entries(hsm)).slice(-1).map((e) => [e.action, e.outcome, e.details])).toEqual([
        ['store.scrub-pending', 'failure', { after: 'key.purge' }],
      ]);
      await expectHsmRejection(hsm.key('default', 'doomed'), 'key-not-found');
      await hsm.close();

      // The scrub is sure only when no session of the whole server holds an older snapshot,
      // and the other test files share this server: while one of theirs does, an open leaves
      // the scrub pending (warned and audited) for the next open. Open again until one is sure.
      let last: (string | undefined)[][] = [];
      for (let attempt = 0; attempt < 40; attempt++) {
        const reopened = await Hsm.open(db.url, masterKey, { logger });
        try {
          last = (await entries(reopened)).slice(-1).map((e) => [e.action, e.outcome]);
        } finally {
          await reopened.close();
        }
        if (last[0]?.[0] === 'store.scrub') break;
        expect(last).toEqual([['store.scrub-pending', 'failure']]);
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(last).toEqual([['store.scrub', 'success']]);
      // The purge's warning, and one for each open that had to leave the scrub pending.
      expect(logger.warnings.map((w) => w.fields?.code)).toEqual(
        logger.warnings.map(() => 'not-finished'),
      );
      await sql(db.url, 'CHECKPOINT');
      const files = await sql<{ bytes: Buffer }>(
        db.url,
        `SELECT pg_read_binary_file(pg_relation_filepath('${DEFAULT_SCHEMA}.keys')) AS bytes`,
      );
      expect(files[0]!.bytes.includes(sealed)).toBe(false);
    } finally {
      await holder.end().catch(() => undefined);
      await db.drop();
    }
  }, 60_000);
});

// Secret keys end to end in the HSM, on every store (SQLite file; PostgreSQL when a server is
// there): generation with the key check value as the row's public part, AEAD with the nonce drawn
// inside and the usage counter in the authenticated row (its limit reached through a counter
// set in the store under the test's master key), MACs, wrap and unwrap under the key and
// partition policies, wrapped export and import, the key's own use rule with its sealed
// escrow, audit entries with lengths only, and a hostile store: an edited counter, a swapped
// KCV, an older row put back, each an integrity failure and never obeyed.
import { createHash, createPublicKey, verify } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Hsm, type AuditEntry, type KeyInfo, type MasterKeyInput } from '../../../src/hsm/index.js';
import { AuthenticatedRows } from '../../../src/hsm/authenticated-rows.js';
import { deriveMasterKeys } from '../../../src/hsm/master-key.js';
import { keyCheckValue } from '../../../src/hsm/mechanisms/secret-keys.js';
import type { DeviceStore, KeyRow } from '../../../src/hsm/store/device-store.js';
import { isPostgresUrl, openStore } from '../../../src/hsm/store/open.js';
import { DEFAULT_SCHEMA } from '../../../src/hsm/store/postgres/connection.js';
import { aesKeyUnwrapPad } from '../../../src/hsm/wrap.js';
import { postgresKind } from '../../helpers/device-stores.js';
import {
  decideAs,
  officerWithKey,
  requestOf,
  TestClock,
  type Approver,
} from '../../helpers/governance.js';
import { auditEntries, createTestDevice, OFFICER, type TestDevice } from '../../helpers/hsm.js';
import { freshDatabase, sql, type FreshDatabase } from '../../helpers/postgres.js';
import { expectHsmRejection, withRawDb } from './support.js';

const te = new TextEncoder();
const PLAINTEXT = te.encode('the quarterly figures, not for the store file');
const AAD = te.encode('record 17');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Edits the store behind the HSM's back, with or without the master key. */
class StoreEditor {
  private constructor(
    private readonly location: string,
    private readonly store: DeviceStore,
    private readonly rows: AuthenticatedRows | undefined,
  ) {}

  /** `masterKey`: the insider who holds it (recomputes MACs); absent: a file writer only. */
  static async open(location: string, masterKey?: MasterKeyInput): Promise<StoreEditor> {
    const store = await openStore(location);
    if (masterKey === undefined || masterKey.kind !== 'key') {
      return new StoreEditor(location, store, undefined);
    }
    const deviceId = (await store.meta.get('device_id'))!;
    const keys = deriveMasterKeys(masterKey.key, deviceId);
    return new StoreEditor(location, store, new AuthenticatedRows(keys.rows, deviceId));
  }

  async key(id: string): Promise<KeyRow> {
    const row = await this.store.keys.byId(id);
    if (row === undefined) throw new Error(`no key ${id}`);
    return row;
  }

  /** Writes `next` in place of the row, resealed when the editor holds the master key. */
  async put(current: KeyRow, next: KeyRow): Promise<void> {
    const row = this.rows === undefined ? next : this.rows.sealKey(next);
    const done = await this.store.tx((tx) => tx.keys.update(row, current.mac!));
    expect(done).toBe(true);
  }

  async setAttribute(id: string, name: string, value: unknown): Promise<void> {
    const row = await this.key(id);
    const a = JSON.parse(row.attributes_json) as Record<string, unknown>;
    await this.put(row, { ...row, attributes_json: JSON.stringify({ ...a, [name]: value }) });
  }

  /** The row's public part replaced with SQL (the store's writes never change it). */
  async setSpki(id: string, spki: Uint8Array): Promise<void> {
    const row = await this.key(id);
    const next = { ...row, spki: Buffer.from(spki) };
    const mac = this.rows === undefined ? row.mac : this.rows.sealKey(next).mac;
    if (isPostgresUrl(this.location)) {
      await sql(
        this.location,
        `UPDATE ${DEFAULT_SCHEMA}.keys SET spki = $1, mac = $2 WHERE id = $3`,
        [next.spki, mac, id],
      );
    } else {
      withRawDb(this.location, (db) =>
        db.prepare('UPDATE keys SET spki = ?, mac = ? WHERE id = ?').run(next.spki, mac, id),
      );
    }
    expect((await this.key(id)).spki).toEqual(next.spki);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

const TWO_OF_THREE = {
  timeoutSeconds: 3600,
  alternatives: [{ groups: [{ name: 'sup', members: ['ann', 'bob', 'cid'], threshold: 2 }] }],
};

const STORES = [
  { name: 'SQLite', skip: false },
  { name: 'PostgreSQL', skip: postgresKind.unavailable },
] as const;

describe.each(STORES)('secret keys on the $name store', ({ name, skip }) => {
  let d: TestDevice;
  let hsm: Hsm;
  let db: FreshDatabase | undefined;

  beforeEach(async () => {
    if (skip) return;
    db = name === 'PostgreSQL' ? await freshDatabase() : undefined;
    d = await createTestDevice({
      clock: new TestClock(),
      ...(db === undefined ? {} : { location: db.url }),
    });
    hsm = d.hsm;
    await hsm.setPartitionPolicy('default', { exportAllowed: true, importAllowed: true }, OFFICER);
  }, 60_000);

  afterEach(async () => {
    if (skip) return;
    await hsm.close();
    await db?.drop();
  });

  /** Closes the HSM, edits the store, opens it again. */
  async function edit(fn: (e: StoreEditor) => Promise<void>, insider = false): Promise<void> {
    await hsm.close();
    const e = await StoreEditor.open(d.storePath, insider ? d.masterKey : undefined);
    try {
      await fn(e);
    } finally {
      await e.close();
    }
    hsm = await Hsm.open(d.storePath, d.masterKey, { clock: new TestClock() });
  }

  const log = (): Promise<AuditEntry[]> => auditEntries(hsm);

  it.skipIf(skip)(
    'generates each secret algorithm inside, its KCV as its public part, with its default purposes',
    async () => {
      const cases = [
        ['aes-128', ['encrypt', 'decrypt']],
        ['aes-256', ['encrypt', 'decrypt']],
        ['chacha20-poly1305', ['encrypt', 'decrypt']],
        ['hmac-sha256', ['sign', 'verify']],
        ['hmac-sha3-512', ['sign', 'verify']],
      ] as const;
      for (const [algorithm, purposes] of cases) {
        const k = await hsm.generateKey('default', { label: algorithm, algorithm });
        expect(k.spki).toHaveLength(16);
        expect(k.attributes).toMatchObject({
          purposes,
          origin: 'generated',
          local: true,
          neverExtractable: true,
        });
      }
      await expectHsmRejection(
        hsm.generateKey('default', { label: 'x', algorithm: 'hmac-sha256', purposes: ['encrypt'] }),
        'invalid-argument',
      );
      await expectHsmRejection(hsm.publicKey('default', 'aes-256'), 'invalid-argument');
      await expectHsmRejection(hsm.signer('default', 'aes-256'), 'invalid-argument');
      await expectHsmRejection(
        hsm.sign('default', 'hmac-sha256', { data: PLAINTEXT }),
        'invalid-argument',
      );
    },
  );

  it.skipIf(skip)(
    'encrypts under a nonce drawn inside, refuses a caller nonce, counts, decrypts, audits lengths only',
    async () => {
      for (const algorithm of ['aes-128', 'aes-256', 'chacha20-poly1305'] as const) {
        await hsm.generateKey('default', { label: algorithm, algorithm });
        const a = await hsm.encrypt('default', algorithm, { plaintext: PLAINTEXT, aad: AAD });
        const b = await hsm.encrypt('default', algorithm, { plaintext: PLAINTEXT, aad: AAD });
        expect(a.nonce).toHaveLength(12);
        expect(hex(a.nonce)).not.toBe(hex(b.nonce));
        expect(a.ciphertext).toHaveLength(PLAINTEXT.length + 16);
        expect([a.encryptions, b.encryptions, b.limit]).toEqual([1, 2, 2 ** 32]);
        expect((await hsm.key('default', algorithm)).attributes.encryptions).toBe(2);
        const out = await hsm.decrypt('default', algorithm, {
          nonce: a.nonce,
          ciphertext: a.ciphertext,
          aad: AAD,
        });
        expect(Buffer.from(out.plaintext).toString()).toBe(Buffer.from(PLAINTEXT).toString());
        await expectHsmRejection(
          hsm.decrypt('default', algorithm, { nonce: a.nonce, ciphertext: a.ciphertext }),
          'decrypt-failed',
        );
        await expectHsmRejection(
          hsm.encrypt('default', algorithm, {
            plaintext: PLAINTEXT,
            nonce: new Uint8Array(12),
          } as unknown as { plaintext: Uint8Array }),
          'invalid-argument',
        );
      }
      const entries = await log();
      const text = JSON.stringify(entries);
      expect(text).not.toContain(hex(PLAINTEXT));
      expect(text).not.toContain(Buffer.from(PLAINTEXT).toString());
      const enc = entries.filter((e) => e.action === 'key.encrypt' && e.outcome === 'success');
      expect(enc).toHaveLength(6);
      expect(enc[0]!.details).toEqual({
        label: 'aes-128',
        bytes: PLAINTEXT.length,
        aadBytes: AAD.length,
        encryptions: 1,
      });
      expect(entries.filter((e) => e.action === 'key.decrypt').map((e) => e.outcome)).toEqual(
        expect.arrayContaining(['success', 'failure']),
      );
      // The HMAC key encrypts nothing; a key without the purpose is refused and audited.
      await hsm.generateKey('default', { label: 'mac', algorithm: 'hmac-sha256' });
      await expectHsmRejection(
        hsm.encrypt('default', 'mac', { plaintext: PLAINTEXT }),
        'invalid-argument',
      );
      await hsm.generateKey('default', {
        label: 'dec-only',
        algorithm: 'aes-256',
        purposes: ['decrypt'],
      });
      await expectHsmRejection(
        hsm.encrypt('default', 'dec-only', { plaintext: PLAINTEXT }),
        'key-purpose-denied',
      );
      expect((await hsm.verifyAudit()).ok).toBe(true);
    },
  );

  it.skipIf(skip)(
    'refuses the encryption past the limit (counter set near it under the master key), still decrypts',
    async () => {
      const k = await hsm.generateKey('default', { label: 'gcm', algorithm: 'aes-256' });
      await edit((e) => e.setAttribute(k.id, 'encryptions', 2 ** 32 - 1), true);
      const last = await hsm.encrypt('default', 'gcm', { plaintext: PLAINTEXT });
      expect(last.encryptions).toBe(2 ** 32);
      const e = await expectHsmRejection(
        hsm.encrypt('default', 'gcm', { plaintext: PLAINTEXT }),
        'key-usage-exhausted',
      );
      expect(e.details).toMatchObject({ encryptions: 2 ** 32, limit: 2 ** 32 });
      expect((await hsm.key('default', 'gcm')).attributes.encryptions).toBe(2 ** 32);
      const back = await hsm.decrypt('default', 'gcm', last);
      expect(back.plaintext).toEqual(PLAINTEXT);
      const refused = (await log()).filter(
        (x) => x.action === 'key.encrypt' && x.outcome === 'refused',
      );
      expect(refused.map((x) => x.details['code'])).toEqual(['key-usage-exhausted']);
    },
  );

  it.skipIf(skip)(
    'an edited counter without the master key is an integrity failure, not obeyed',
    async () => {
      const k = await hsm.generateKey('default', { label: 'gcm', algorithm: 'aes-256' });
      await hsm.encrypt('default', 'gcm', { plaintext: PLAINTEXT });
      await edit((e) => e.setAttribute(k.id, 'encryptions', 0));
      await expectHsmRejection(
        hsm.encrypt('default', 'gcm', { plaintext: PLAINTEXT }),
        'integrity-failed',
      );
      await expectHsmRejection(hsm.key('default', 'gcm'), 'integrity-failed');
      const failures = (await log()).filter(
        (x) => x.action === 'key.encrypt' && x.outcome === 'failure',
      );
      expect(failures).toHaveLength(1);
    },
  );

  it.skipIf(skip)('an older copy of the row (its counter lower) put back is refused', async () => {
    const k = await hsm.generateKey('default', { label: 'gcm', algorithm: 'aes-256' });
    await hsm.close();
    const e = await StoreEditor.open(d.storePath);
    const before = await e.key(k.id);
    await e.close();
    hsm = await Hsm.open(d.storePath, d.masterKey, { clock: new TestClock() });
    await hsm.encrypt('default', 'gcm', { plaintext: PLAINTEXT });
    await edit(async (ed) => {
      await ed.put(await ed.key(k.id), before);
    });
    await expectHsmRejection(
      hsm.encrypt('default', 'gcm', { plaintext: PLAINTEXT }),
      'integrity-failed',
    );
  });

  it.skipIf(skip)(
    'a swapped KCV is detected against the sealed key, even with the MAC recomputed',
    async () => {
      const a = await hsm.generateKey('default', { label: 'a', algorithm: 'aes-256' });
      const b = await hsm.generateKey('default', { label: 'b', algorithm: 'aes-256' });
      // Without the master key: the MAC.
      await edit((e) => e.setSpki(a.id, b.spki));
      await expectHsmRejection(hsm.key('default', 'a'), 'integrity-failed');
      // With it: the sealed key's own KCV is not the row's.
      await edit((e) => e.setSpki(a.id, b.spki), true);
      await expectHsmRejection(
        hsm.encrypt('default', 'a', { plaintext: PLAINTEXT }),
        'integrity-failed',
      );
      await expectHsmRejection(hsm.attestKey('default', 'a'), 'integrity-failed');
    },
  );

  it.skipIf(skip)('MACs with HMAC keys and checks them in constant time', async () => {
    await hsm.generateKey('default', { label: 'h', algorithm: 'hmac-sha384' });
    const { mac, algorithm } = await hsm.mac('default', 'h', PLAINTEXT);
    expect([mac.length, algorithm]).toEqual([48, 'hmac-sha384']);
    expect(await hsm.verifyMac('default', 'h', PLAINTEXT, mac)).toBe(true);
    const bad = mac.slice();
    bad[0]! ^= 1;
    expect(await hsm.verifyMac('default', 'h', PLAINTEXT, bad)).toBe(false);
    expect(await hsm.verifyMac('default', 'h', PLAINTEXT, mac.subarray(0, 32))).toBe(false);
    await hsm.generateKey('default', {
      label: 'v',
      algorithm: 'hmac-sha256',
      purposes: ['verify'],
    });
    await expectHsmRejection(hsm.mac('default', 'v', PLAINTEXT), 'key-purpose-denied');
    const entries = (await log()).filter(
      (e) => e.action.includes('mac') && e.outcome === 'success',
    );
    expect(entries.map((e) => [e.action, e.details])).toEqual([
      ['key.mac', { label: 'h', bytes: PLAINTEXT.length }],
      ['key.verify-mac', { label: 'h', bytes: PLAINTEXT.length, valid: true }],
      ['key.verify-mac', { label: 'h', bytes: PLAINTEXT.length, valid: false }],
      ['key.verify-mac', { label: 'h', bytes: PLAINTEXT.length, valid: false }],
    ]);
  });

  it.skipIf(skip)(
    'wraps an extractable key under an AES key and unwraps it into a new key, never in plaintext',
    async () => {
      const kek = await hsm.generateKey('default', {
        label: 'kek',
        algorithm: 'aes-256',
        purposes: ['wrap', 'unwrap'],
      });
      const data = await hsm.generateKey('default', {
        label: 'data',
        algorithm: 'aes-128',
        extractable: true,
      });
      const sig = await hsm.generateKey('default', {
        label: 'sig',
        algorithm: 'ed25519',
        extractable: true,
      });
      await hsm.generateKey('default', { label: 'fixed', algorithm: 'aes-256' });
      const ct = await hsm.encrypt('default', 'data', { plaintext: PLAINTEXT, aad: AAD });

      // The wrapped key must be extractable; the wrapping key must have the purpose.
      await expectHsmRejection(
        hsm.wrapKey('default', 'kek', { key: 'fixed' }),
        'key-not-extractable',
      );
      await expectHsmRejection(
        hsm.wrapKey('default', 'data', { key: 'sig' }),
        'key-purpose-denied',
      );
      const w = await hsm.wrapKey('default', 'kek', { key: 'data' });
      expect([w.mode, w.keyId, w.wrappedKeyId, w.wrapped.length]).toEqual([
        'kwp',
        kek.id,
        data.id,
        24,
      ]);
      const kw = await hsm.wrapKey('default', 'kek', { key: 'data', mode: 'kw' });
      expect(kw.wrapped).toHaveLength(24);
      expect((await hsm.key('default', 'data')).attributes.neverExtractable).toBe(false);
      const ws = await hsm.wrapKey('default', 'kek', { key: 'sig' });

      const copy = await hsm.unwrapKey('default', 'kek', {
        wrapped: kw.wrapped,
        mode: 'kw',
        label: 'data-copy',
        algorithm: 'aes-128',
      });
      expect(copy.spki).toEqual(data.spki);
      expect(copy.attributes).toMatchObject({
        origin: 'unwrapped',
        local: false,
        extractable: false,
      });
      const back = await hsm.decrypt('default', 'data-copy', { ...ct, aad: AAD });
      expect(back.plaintext).toEqual(PLAINTEXT);
      const sigCopy = await hsm.unwrapKey('default', 'kek', {
        wrapped: ws.wrapped,
        label: 'sig-copy',
        algorithm: 'ed25519',
      });
      expect(sigCopy.spki).toEqual(sig.spki);
      const s = await hsm.sign('default', 'sig-copy', { data: PLAINTEXT });
      const pub = createPublicKey({ key: Buffer.from(sig.spki), format: 'der', type: 'spki' });
      expect(verify(null, PLAINTEXT, pub, s.signature)).toBe(true);
      // A wrapped key that is not one of the named algorithm, or altered, is refused.
      await expectHsmRejection(
        hsm.unwrapKey('default', 'kek', { wrapped: w.wrapped, label: 'bad', algorithm: 'aes-256' }),
        'unwrap-failed',
      );
      const altered = w.wrapped.slice();
      altered[5]! ^= 1;
      await expectHsmRejection(
        hsm.unwrapKey('default', 'kek', { wrapped: altered, label: 'bad', algorithm: 'aes-128' }),
        'unwrap-failed',
      );
      // The attested copies say where they came from.
      await hsm.attestKey('default', 'data-copy');

      // Export and import need the partition policy.
      await hsm.setPartitionPolicy(
        'default',
        { exportAllowed: false, importAllowed: false },
        OFFICER,
      );
      await expectHsmRejection(
        hsm.wrapKey('default', 'kek', { key: 'data' }),
        'policy-export-denied',
      );
      await expectHsmRejection(
        hsm.unwrapKey('default', 'kek', {
          wrapped: w.wrapped,
          label: 'again',
          algorithm: 'aes-128',
        }),
        'policy-import-denied',
      );
      const entries = await log();
      expect(JSON.stringify(entries)).not.toContain(hex(w.wrapped).slice(0, 32));
      expect(entries.filter((e) => e.action === 'key.export' && e.keyId === data.id)).toHaveLength(
        2,
      );
      expect(
        entries
          .filter((e) => e.action === 'key.unwrap' && e.outcome === 'success')
          .map((e) => e.keyId),
      ).toEqual([copy.id, sigCopy.id]);
      expect((await hsm.verifyAudit()).ok).toBe(true);
    },
  );

  it.skipIf(skip)(
    'exports a secret key wrapped (RFC 5649) and imports it wrapped, the same KCV on both sides',
    async () => {
      const k = await hsm.generateKey('default', {
        label: 'k',
        algorithm: 'chacha20-poly1305',
        extractable: true,
      });
      const transport = new Uint8Array(32).fill(3);
      const wrapped = await hsm.exportKey('default', 'k', { kind: 'aes-kwp', key: transport });
      const raw = aesKeyUnwrapPad(transport, wrapped);
      expect(raw).toHaveLength(32);
      expect(keyCheckValue('chacha20-poly1305', raw)).toEqual(k.spki);
      const imported = await hsm.importWrappedKey('default', {
        label: 'k2',
        algorithm: 'chacha20-poly1305',
        wrapped,
        unwrapKey: transport,
      });
      expect(imported.spki).toEqual(k.spki);
      expect(imported.attributes).toMatchObject({
        origin: 'imported',
        purposes: ['encrypt', 'decrypt'],
      });
      const ct = await hsm.encrypt('default', 'k', { plaintext: PLAINTEXT });
      expect((await hsm.decrypt('default', 'k2', ct)).plaintext).toEqual(PLAINTEXT);
      // A secret key is never imported in the clear.
      await expectHsmRejection(
        hsm.importKey('default', { label: 'k3', algorithm: 'aes-256', pkcs8: raw }),
        'invalid-argument',
      );
      raw.fill(0);
    },
  );

  it.skipIf(skip)(
    'under a use rule: encrypt and MAC become approval requests with their data sealed, decrypt returns the plaintext to its executor only',
    async () => {
      const people: Record<string, Approver> = {};
      for (const n of ['ann', 'bob', 'cid']) {
        people[n] = await officerWithKey(
          hsm,
          n,
          [{ role: 'crypto-officer', partition: 'default' }],
          OFFICER,
        );
      }
      const k: KeyInfo = await hsm.generateKey('default', {
        label: 'guarded',
        algorithm: 'aes-256',
        policy: { use: TWO_OF_THREE },
      });
      const id = await requestOf(
        hsm.encrypt('default', 'guarded', { plaintext: PLAINTEXT, aad: AAD }),
      );
      const view = await hsm.governance.showRequest(id);
      expect(view.body.statement.params).toMatchObject({
        key: k.id,
        label: 'guarded',
        plaintextSha256: createHash('sha256').update(PLAINTEXT).digest('hex'),
        bytes: PLAINTEXT.length,
        aadBytes: AAD.length,
      });
      expect(JSON.stringify(view)).not.toContain(hex(PLAINTEXT));
      await decideAs(hsm, id, people.ann!);
      await decideAs(hsm, id, people.bob!);
      const done = await hsm.executeRequest(id);
      const r = done.body.result as { nonce: string; ciphertext: string };
      expect(r.nonce).toMatch(/^[0-9a-f]{24}$/);
      expect((await hsm.key('default', 'guarded')).attributes.encryptions).toBe(1);
      await expectHsmRejection(hsm.executeRequest(id), 'request-closed');

      const input = {
        nonce: Buffer.from(r.nonce, 'hex'),
        ciphertext: Buffer.from(r.ciphertext, 'hex'),
        aad: AAD,
      };
      const dec = await requestOf(hsm.decrypt('default', 'guarded', input));
      await decideAs(hsm, dec, people.cid!);
      await decideAs(hsm, dec, people.bob!);
      await expectHsmRejection(hsm.executeRequest(dec), 'invalid-argument');
      const out = await hsm.decryptRequest('default', 'guarded', dec);
      expect(out.plaintext).toEqual(PLAINTEXT);
      const closed = await hsm.governance.showRequest(dec);
      expect(closed.body.result).toEqual({
        key: k.id,
        algorithm: 'aes-256',
        bytes: PLAINTEXT.length,
      });
      await expectHsmRejection(hsm.decryptRequest('default', 'guarded', dec), 'request-closed');
      // Nothing of the plaintext reached the log.
      expect(JSON.stringify(await log())).not.toContain(hex(PLAINTEXT));
    },
  );
});

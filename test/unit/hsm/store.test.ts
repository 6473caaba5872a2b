// The device store as a real SQLite file: no plaintext key material at rest, blobs bound to
// their rows, master key checks that write nothing, and state that survives a reopen.
import { createPrivateKey } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hsm, type KeyInfo, type MasterKeyInput } from '../../../src/hsm/index.js';
import { deriveMasterKeys } from '../../../src/hsm/master-key.js';
import { open } from '../../../src/hsm/wrap.js';
import type { KeyAlgorithm } from '../../../src/pki/index.js';
import { createTestDevice, OFFICER, type TestDevice } from '../../helpers/hsm.js';
import { tempDir } from '../../helpers/tmp.js';
import {
  expectHsmRejection,
  MESSAGE,
  rowCounts,
  sha256Hex,
  verifySignature,
  withRawDb,
} from './support.js';

const ALGORITHMS: readonly KeyAlgorithm[] = ['ecdsa-p256', 'ecdsa-p384', 'ed25519', 'rsa-3072'];

function rawKey(masterKey: MasterKeyInput): Uint8Array {
  if (masterKey.kind !== 'key') throw new Error('the test device uses a raw master key');
  return masterKey.key;
}

function keyAad(deviceId: string, partitionId: string | null, keyId: string): string {
  return `attestamp/key/v1|${deviceId}|${partitionId ?? '-'}|${keyId}`;
}

interface SecretOfKey {
  readonly label: string;
  readonly algorithm: string;
  readonly needles: readonly { readonly what: string; readonly bytes: Buffer }[];
}

/** Unwraps every key row with a KEK derived here and lists the bytes that must never be stored. */
function secretsOfStore(path: string, masterKey: Uint8Array): SecretOfKey[] {
  return withRawDb(path, (db) => {
    const { value: deviceId } = db
      .prepare("SELECT value FROM meta WHERE name = 'device_id'")
      .get() as { value: string };
    const { kek } = deriveMasterKeys(masterKey, deviceId);
    const rows = db
      .prepare('SELECT id, partition_id, label, algorithm, wrapped FROM keys')
      .all() as {
      id: string;
      partition_id: string | null;
      label: string;
      algorithm: string;
      wrapped: Buffer;
    }[];
    return rows.map((row) => {
      const pkcs8 = Buffer.from(open(kek, row.wrapped, keyAad(deviceId, row.partition_id, row.id)));
      const jwk = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({
        format: 'jwk',
      });
      expect(typeof jwk.d).toBe('string');
      const needles = [
        { what: 'pkcs8', bytes: pkcs8 },
        { what: 'd', bytes: Buffer.from(jwk.d ?? '', 'base64url') },
      ];
      if (row.algorithm.startsWith('rsa')) {
        expect(typeof jwk.p).toBe('string');
        expect(typeof jwk.q).toBe('string');
        needles.push({ what: 'p', bytes: Buffer.from(jwk.p ?? '', 'base64url') });
        needles.push({ what: 'q', bytes: Buffer.from(jwk.q ?? '', 'base64url') });
      }
      for (const n of needles) expect(n.bytes.length).toBeGreaterThanOrEqual(32);
      return { label: row.label, algorithm: row.algorithm, needles };
    });
  });
}

/** The store file and whichever of its -wal and -shm files exist. */
function storeFiles(path: string): { name: string; bytes: Buffer }[] {
  return [path, `${path}-wal`, `${path}-shm`]
    .filter((p) => existsSync(p))
    .map((p) => ({ name: p, bytes: readFileSync(p) }));
}

function leaks(files: { name: string; bytes: Buffer }[], secrets: SecretOfKey[]): string[] {
  const found: string[] = [];
  for (const file of files) {
    for (const secret of secrets) {
      for (const needle of secret.needles) {
        if (file.bytes.includes(needle.bytes)) {
          found.push(`${secret.label}.${needle.what} in ${file.name}`);
        }
      }
    }
  }
  return found;
}

describe('no plaintext key material in the SQLite files', () => {
  let d: TestDevice;
  const generated: KeyInfo[] = [];

  beforeAll(async () => {
    d = await createTestDevice();
    for (const algorithm of ALGORITHMS) {
      generated.push(await d.hsm.generateKey('default', { label: `k-${algorithm}`, algorithm }));
    }
    // Use every key once so that unwrapped keys sit in the process, not in the store.
    for (const k of generated) await (await d.hsm.signer('default', k.label)).sign(MESSAGE);
  });

  afterAll(async () => {
    await d.hsm.close();
  });

  it('keeps private keys, their scalars and RSA primes out of the file and its WAL', async () => {
    const secrets = secretsOfStore(d.storePath, rawKey(d.masterKey));
    // device key, attestation and timestamp keys of "default", and the generated keys
    expect(secrets).toHaveLength(3 + ALGORITHMS.length);
    expect(new Set(secrets.map((s) => s.algorithm))).toEqual(
      new Set([...ALGORITHMS, 'ecdsa-p384']),
    );

    // While open: the WAL holds the recent writes.
    const whileOpen = storeFiles(d.storePath);
    expect(whileOpen.map((f) => f.name)).toContain(`${d.storePath}-wal`);
    // The scan finds what is stored in plaintext (public keys), so an absence means something.
    for (const k of generated) {
      expect(whileOpen.some((f) => f.bytes.includes(Buffer.from(k.spki)))).toBe(true);
    }
    expect(leaks(whileOpen, secrets)).toEqual([]);

    await d.hsm.close();
    const afterClose = storeFiles(d.storePath);
    expect(leaks(afterClose, secrets)).toEqual([]);

    withRawDb(d.storePath, (db) => {
      db.pragma('wal_checkpoint(TRUNCATE)');
    });
    const afterCheckpoint = storeFiles(d.storePath);
    for (const k of generated) {
      expect(afterCheckpoint[0]!.bytes.includes(Buffer.from(k.spki))).toBe(true);
    }
    expect(leaks(afterCheckpoint, secrets)).toEqual([]);
  });
});

/** 32-byte windows across a sealed blob: found if any page or WAL frame still holds a part. */
function blobSlices(blob: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at + 32 <= blob.length; at += 200) out.push(blob.subarray(at, at + 32));
  out.push(blob.subarray(blob.length - 32));
  return out;
}

function residue(path: string, blob: Buffer): string[] {
  const found: string[] = [];
  for (const file of storeFiles(path)) {
    blobSlices(blob).forEach((slice, i) => {
      if (file.bytes.includes(slice)) found.push(`slice ${i} in ${file.name}`);
    });
  }
  return found;
}

function sealedBlob(path: string, label: string): Buffer {
  return withRawDb(path, (db) => {
    const row = db.prepare('SELECT wrapped FROM keys WHERE label = ?').get(label) as {
      wrapped: Buffer;
    };
    return row.wrapped;
  });
}

describe('deletion destroys', () => {
  it('after a purge no part of the sealed blob of an older key is in the file, its WAL or SHM', async () => {
    const d = await createTestDevice();
    const hsm = d.hsm;
    // The purged key is not the newest row: others are written after it.
    await hsm.generateKey('default', { label: 'old', algorithm: 'rsa-3072' });
    for (const label of ['n1', 'n2', 'n3']) {
      await hsm.generateKey('default', { label, algorithm: 'ecdsa-p256' });
    }
    await hsm.deleteKey('default', 'old');
    await hsm.generateKey('default', { label: 'n4', algorithm: 'ed25519' });
    const blob = sealedBlob(d.storePath, 'old');
    expect(blob.length).toBeGreaterThan(1000);
    // The search finds the blob while it exists, so its absence later means something.
    expect(residue(d.storePath, blob).length).toBeGreaterThan(0);
    await hsm.purgeKey('default', 'old', OFFICER);
    // While the store is still open (the WAL truncated by the purge itself) ...
    expect(residue(d.storePath, blob)).toEqual([]);
    expect(readFileSync(`${d.storePath}-wal`).length).toBe(0);
    await hsm.close();
    // ... and after close.
    expect(residue(d.storePath, blob)).toEqual([]);
  });

  it('a key destroyed without the trash (invalidation off) leaves no part of its blob', async () => {
    const d = await createTestDevice();
    try {
      await d.hsm.createPartition('p', { policy: { invalidation: false } });
      await d.hsm.generateKey('p', { label: 'gone', algorithm: 'ecdsa-p384' });
      await d.hsm.generateKey('p', { label: 'stays', algorithm: 'ecdsa-p384' });
      const blob = sealedBlob(d.storePath, 'gone');
      expect(residue(d.storePath, blob).length).toBeGreaterThan(0);
      expect(await d.hsm.deleteKey('p', 'gone')).toBeUndefined();
      expect(residue(d.storePath, blob)).toEqual([]);
    } finally {
      await d.hsm.close();
    }
  });
});

describe('wrapped blobs are bound to their key row', () => {
  it('a blob copied to another key row fails its row integrity', async () => {
    const d = await createTestDevice();
    const a = await d.hsm.generateKey('default', { label: 'a', algorithm: 'ecdsa-p256' });
    const b = await d.hsm.generateKey('default', { label: 'b', algorithm: 'ecdsa-p256' });
    await d.hsm.close();

    withRawDb(d.storePath, (db) => {
      const copy = db.prepare(
        'UPDATE keys SET wrapped = (SELECT wrapped FROM keys WHERE id = ?) WHERE id = ?',
      );
      expect(copy.run(a.id, b.id).changes).toBe(1);
      const ts = db.prepare("SELECT id FROM keys WHERE label = 'partition-timestamp'").get() as {
        id: string;
      };
      const device = db.prepare('SELECT key_id FROM device').get() as { key_id: string };
      expect(copy.run(device.key_id, ts.id).changes).toBe(1);
    });

    const hsm = await Hsm.open(d.storePath, d.masterKey);
    try {
      // The key whose blob was copied still works ...
      const sig = await (await hsm.signer('default', 'a')).sign(MESSAGE);
      expect(verifySignature('ecdsa-p256', a.spki, MESSAGE, sig)).toBe(true);
      // ... the rows that received a foreign blob do not.
      await expectHsmRejection(hsm.signer('default', 'b'), 'integrity-failed');
      await expectHsmRejection(hsm.timestampSigner('default'), 'integrity-failed');
    } finally {
      await hsm.close();
    }
  });

  it('a blob moved to another device with the same master key fails its row integrity', async () => {
    const d1 = await createTestDevice();
    const path2 = join(tempDir(), 'second.sqlite');
    const hsm2 = await Hsm.init({
      path: path2,
      masterKey: d1.masterKey,
      factory: d1.factory,
      officer: OFFICER,
    });
    await d1.hsm.generateKey('default', { label: 'k', algorithm: 'ed25519' });
    await hsm2.generateKey('default', { label: 'k', algorithm: 'ed25519' });
    expect((await hsm2.device()).id).not.toBe((await d1.hsm.device()).id);
    await d1.hsm.close();
    await hsm2.close();

    const blob = withRawDb(d1.storePath, (db1) => {
      const row = db1.prepare("SELECT wrapped FROM keys WHERE label = 'k'").get() as {
        wrapped: Buffer;
      };
      return row.wrapped;
    });
    withRawDb(path2, (db2) => {
      expect(db2.prepare("UPDATE keys SET wrapped = ? WHERE label = 'k'").run(blob).changes).toBe(
        1,
      );
    });
    const hsm = await Hsm.open(path2, d1.masterKey);
    try {
      await expectHsmRejection(hsm.signer('default', 'k'), 'integrity-failed');
    } finally {
      await hsm.close();
    }
  });
});

describe('opening a store', () => {
  let d: TestDevice;

  beforeAll(async () => {
    d = await createTestDevice();
    await d.hsm.generateKey('default', { label: 'k', algorithm: 'ecdsa-p256' });
    await d.hsm.close();
  });

  it('refuses a wrong master key and leaves the file untouched', async () => {
    const beforeHash = sha256Hex(readFileSync(d.storePath));
    const beforeCounts = withRawDb(d.storePath, rowCounts);

    const wrong = new Uint8Array(rawKey(d.masterKey));
    wrong[0] = wrong[0]! ^ 1;
    await expectHsmRejection(
      Hsm.open(d.storePath, { kind: 'key', key: wrong }),
      'master-key-wrong',
    );
    await expectHsmRejection(
      Hsm.open(d.storePath, { kind: 'key', key: new Uint8Array(32) }),
      'master-key-wrong',
    );
    await expectHsmRejection(
      Hsm.open(d.storePath, { kind: 'passphrase', passphrase: 'a passphrase' }),
      'master-key-wrong',
    );
    await expectHsmRejection(
      Hsm.open(d.storePath, { kind: 'key', key: new Uint8Array(16) }),
      'master-key-missing',
    );

    expect(sha256Hex(readFileSync(d.storePath))).toBe(beforeHash);
    expect(withRawDb(d.storePath, rowCounts)).toEqual(beforeCounts);

    const hsm = await Hsm.open(d.storePath, d.masterKey);
    try {
      const audit = await hsm.verifyAudit();
      expect(audit.ok).toBe(true);
      expect(audit.entries).toBe(beforeCounts.audit);
    } finally {
      await hsm.close();
    }
  });

  it('refuses a missing path, an existing path for init, and files that are not stores', async () => {
    const dir = tempDir();
    await expectHsmRejection(Hsm.open(join(dir, 'absent.sqlite'), d.masterKey), 'store-not-found');

    const beforeHash = sha256Hex(readFileSync(d.storePath));
    await expectHsmRejection(
      Hsm.init({
        path: d.storePath,
        masterKey: d.masterKey,
        factory: d.factory,
        officer: OFFICER,
      }),
      'store-exists',
    );
    expect(sha256Hex(readFileSync(d.storePath))).toBe(beforeHash);

    const garbage = join(dir, 'garbage.sqlite');
    writeFileSync(garbage, Buffer.alloc(4096, 0x5a));
    await expectHsmRejection(Hsm.open(garbage, d.masterKey), 'store-corrupt');

    const empty = join(dir, 'empty.sqlite');
    new Database(empty).close();
    await expectHsmRejection(Hsm.open(empty, d.masterKey), 'store-corrupt');

    const newer = join(dir, 'newer.sqlite');
    copyFileSync(d.storePath, newer);
    withRawDb(newer, (db) => {
      db.prepare("UPDATE meta SET value = '99' WHERE name = 'schema_version'").run();
    });
    await expectHsmRejection(Hsm.open(newer, d.masterKey), 'schema-too-new');
  });

  it('refuses a weak officer passphrase or a bad officer name at init', async () => {
    const dir = tempDir();
    await expectHsmRejection(
      Hsm.init({
        path: join(dir, 'a.sqlite'),
        masterKey: d.masterKey,
        factory: d.factory,
        officer: { name: 'so', passphrase: 'short' },
      }),
      'invalid-argument',
    );
    await expectHsmRejection(
      Hsm.init({
        path: join(dir, 'b.sqlite'),
        masterKey: d.masterKey,
        factory: d.factory,
        officer: { name: 'bad name', passphrase: OFFICER.passphrase },
      }),
      'invalid-argument',
    );
    expect(existsSync(join(dir, 'a.sqlite'))).toBe(false);
    expect(existsSync(join(dir, 'b.sqlite'))).toBe(false);
  });
});

describe('passphrase master key', () => {
  const passphrase = 'a long master passphrase';
  let path: string;
  let keyInfo: KeyInfo;

  beforeAll(async () => {
    const d = await createTestDevice();
    await d.hsm.close();
    path = join(tempDir(), 'pass.sqlite');
    const hsm = await Hsm.init({
      path,
      masterKey: { kind: 'passphrase', passphrase },
      factory: d.factory,
      officer: OFFICER,
    });
    keyInfo = await hsm.generateKey('default', { label: 'k', algorithm: 'ed25519' });
    await hsm.close();
  });

  it('opens with the passphrase and signs', async () => {
    const hsm = await Hsm.open(path, { kind: 'passphrase', passphrase });
    try {
      const sig = await (await hsm.signer('default', 'k')).sign(MESSAGE);
      expect(verifySignature('ed25519', keyInfo.spki, MESSAGE, sig)).toBe(true);
      expect((await hsm.verifyAudit()).ok).toBe(true);
    } finally {
      await hsm.close();
    }
  });

  it('refuses a wrong passphrase, an empty one and a raw key', async () => {
    const beforeHash = sha256Hex(readFileSync(path));
    await expectHsmRejection(
      Hsm.open(path, { kind: 'passphrase', passphrase: `${passphrase}!` }),
      'master-key-wrong',
    );
    await expectHsmRejection(
      Hsm.open(path, { kind: 'passphrase', passphrase: '' }),
      'master-key-missing',
    );
    await expectHsmRejection(
      Hsm.open(path, { kind: 'key', key: new Uint8Array(32) }),
      'master-key-wrong',
    );
    expect(sha256Hex(readFileSync(path))).toBe(beforeHash);
  });
});

describe('reopening a store', () => {
  it('keeps partitions, keys and policies, and stored SPKIs verify new signatures', async () => {
    const d = await createTestDevice();
    await d.hsm.createPartition('second', { timestampAlgorithm: 'ed25519' });
    await d.hsm.setPartitionPolicy('second', { exportAllowed: true }, OFFICER);
    for (const algorithm of ALGORITHMS) {
      await d.hsm.generateKey('second', { label: `k-${algorithm}`, algorithm });
    }
    await d.hsm.generateKey('default', { label: 'trash', algorithm: 'ecdsa-p256' });
    await d.hsm.deleteKey('default', 'trash');
    const partitions = await d.hsm.listPartitions();
    const keys: KeyInfo[] = [];
    for (const p of partitions) keys.push(...(await d.hsm.listKeys(p.name)));
    const device = await d.hsm.device();
    const head = (await d.hsm.verifyAudit()).head;
    await d.hsm.close();

    const hsm = await Hsm.open(d.storePath, d.masterKey);
    try {
      expect(await hsm.device()).toEqual(device);
      expect(await hsm.listPartitions()).toEqual(partitions);
      expect((await hsm.partition('second')).policy.exportAllowed).toBe(true);
      const reopened: KeyInfo[] = [];
      for (const p of partitions) reopened.push(...(await hsm.listKeys(p.name)));
      expect(reopened).toEqual(keys);
      expect((await hsm.key('default', 'trash')).state).toBe('invalidated');
      const audit = await hsm.verifyAudit();
      expect(audit.ok).toBe(true);
      expect(audit.head).toBe(head);

      const active = keys.filter((k) => k.state === 'active');
      expect(active).toHaveLength(4 + ALGORITHMS.length);
      for (const k of active) {
        const sig = await (await hsm.signer(k.partitionName, k.label)).sign(MESSAGE);
        const algorithm = k.algorithm as KeyAlgorithm;
        expect(verifySignature(algorithm, k.spki, MESSAGE, sig), k.label).toBe(true);
        expect(verifySignature(algorithm, k.spki, new Uint8Array(8), sig), k.label).toBe(false);
      }
    } finally {
      await hsm.close();
    }
  });
});

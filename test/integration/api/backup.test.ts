// Backup and restore over the REST API between two real devices of one factory, each with its
// own SQLite store and its own HTTPS listener: domain enrolment (bytes in and out), a bundle made
// on one and restored on the other, the offline report, a tampered bundle and an oversized body
// refused with their codes, rollback refused unless allowed, a transport key's chain and a bundle
// for it, and a backup under a quorum rule: 202, approved, executed, its bundle left out of the
// request's view and handed out by an audited download. Every answer is checked against the
// OpenAPI document.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call -- every answer is checked against the OpenAPI document before a test reads its fields as plain JSON */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient } from '../../../src/client/index.js';
import { createFactory, Hsm, type MasterKeyInput } from '../../../src/hsm/index.js';
import { systemClock } from '../../../src/shared/index.js';
import { startApiFixture, type ApiFixture } from '../../helpers/api.js';
import { decideAs, officerWithKey, type Approver } from '../../helpers/governance.js';
import { auditEntries, OFFICER, type TestDevice } from '../../helpers/hsm.js';
import { tempDir } from '../../helpers/tmp.js';

const OCTETS = { 'content-type': 'application/octet-stream' } as const;
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const BINARY_LIMIT = 2 * 1024 * 1024;

let a: ApiFixture;
let b: ApiFixture;
let soA: string;
let soB: string;
let psoA: string;
let userA: string;
let ann: Approver;
let bundle: Buffer;

/** A device of `factory` on a SQLite file of its own. */
async function deviceOf(
  dir: string,
  factory: Awaited<ReturnType<typeof createFactory>>,
  name: string,
): Promise<TestDevice> {
  const masterKey: MasterKeyInput = { kind: 'key', key: randomBytes(32) };
  const storePath = join(dir, `${name}.sqlite`);
  const hsm = await Hsm.init({
    path: storePath,
    masterKey,
    factory,
    officer: OFFICER,
    clock: systemClock,
  });
  return { dir, storePath, factoryDir: join(dir, 'factory'), factory, masterKey, hsm };
}

beforeAll(async () => {
  const dir = tempDir();
  const factory = await createFactory(join(dir, 'factory'), {
    development: true,
    clock: systemClock,
  });
  const devA = await deviceOf(dir, factory, 'a');
  const devB = await deviceOf(dir, factory, 'b');
  a = await startApiFixture({ device: devA });
  b = await startApiFixture({ device: devB, limits: { binaryBodyBytes: BINARY_LIMIT } });
  soA = await a.token('so-a', ['device-so'], []);
  soB = await b.token('so-b', ['device-so'], []);
  psoA = await a.token('pso-a', ['pso'], ['default']);
  userA = await a.token('user-a', ['crypto-user'], ['default']);
  await a.hsm.generateKey('default', { label: 'signing', algorithm: 'ecdsa-p256' });
  await a.hsm.generateKey('default', { label: 'secret', algorithm: 'aes-256' });
  ann = await officerWithKey(a.hsm, 'ann', [{ role: 'pso', partition: 'default' }], OFFICER);
}, 120_000);

afterAll(async () => {
  await a.close();
  await b.close();
  await a.hsm.close();
  await b.hsm.close();
});

describe('backup domains', () => {
  it('creates a domain and enrols the second device in three steps, bytes in and out', async () => {
    const created = await a.request('POST', '/v1/backup-domains', {
      token: soA,
      json: { name: 'vault' },
      statuses: [201],
    });
    expect(created.json).toMatchObject({ name: 'vault', state: 'active', origin: 'created' });
    const byPso = await a.request('POST', '/v1/backup-domains', {
      token: psoA,
      json: { name: 'other' },
    });
    expect([byPso.status, byPso.json.code]).toEqual([403, 'role-required']);
    // Step 1 on b: the signed request, as the bytes the CLI writes to a file.
    const req = await b.request('POST', '/v1/backup-domains/vault/join-request', {
      token: soB,
      statuses: [201],
    });
    expect(req.type).toBe('application/octet-stream');
    expect(JSON.parse(req.text)).toHaveProperty('signature');
    // Step 2 on a: the request as raw bytes, the enrolment as JSON (base64).
    const enrolment = await a.request('POST', '/v1/backup-domains/vault/enrolments', {
      token: soA,
      raw: req.body,
      headers: { ...OCTETS, accept: 'application/json' },
      statuses: [200],
    });
    expect(enrolment.type).toBe('application/json');
    // Step 3 on b: the enrolment as JSON.
    const joined = await b.request('POST', '/v1/backup-domains/join', {
      token: soB,
      json: { enrolment: enrolment.json.enrolment },
      statuses: [200],
    });
    expect(joined.json).toMatchObject({ name: 'vault', state: 'active', origin: 'enrolled' });
    expect(joined.json.kcv).toBe(created.json.kcv);
    // The typed client reads the list.
    const client = createApiClient({ url: b.api.url, ca: b.serverCa.pem, token: soB });
    try {
      const listed = await client.raw.GET('/v1/backup-domains');
      expect(listed.response.status).toBe(200);
      const active = listed.data?.domains.filter((d) => d.state === 'active');
      expect(active?.map((d) => [d.name, d.kcv])).toEqual([['vault', created.json.kcv]]);
      expect(JSON.stringify(listed.data)).not.toMatch(/sealed/);
    } finally {
      await client.close();
    }
    const refused = await b.request('GET', '/v1/backup-domains', {
      token: await b.token('u', ['crypto-user'], ['default']),
    });
    expect([refused.status, refused.json.code]).toEqual([403, 'role-required']);
  });
});

describe('backup and restore', () => {
  it('makes a bundle on a (raw DER) and restores it on b as a new partition', async () => {
    const r = await a.request('POST', '/v1/partitions/default/backups', {
      token: psoA,
      json: { domain: 'vault' },
      statuses: [201],
    });
    expect(r.type).toBe('application/octet-stream');
    bundle = r.body;
    const logged = (await auditEntries(a.hsm)).filter((e) => e.action === 'partition.backup');
    expect(logged.at(-1)).toMatchObject({ actor: 'jwt:pso-a', outcome: 'success' });
    expect(logged.at(-1)?.details.bundle).toBe(sha256(bundle));
    const restored = await b.request('POST', '/v1/restores?name=copy', {
      token: soB,
      raw: bundle,
      headers: OCTETS,
      statuses: [201],
    });
    expect(restored.headers.location).toBe('/v1/partitions/copy');
    expect(restored.json).toMatchObject({ partition: 'copy', serial: 1, keys: 4, replaced: false });
    const before = await a.hsm.listKeys('default');
    const after = await b.hsm.listKeys('copy');
    const shape = (keys: typeof before) =>
      keys.map((k) => [k.label, k.role, k.algorithm, Buffer.from(k.spki).toString('hex')]);
    expect(shape(after)).toEqual(shape(before));
  });

  it('answers JSON with serial, digest and the bundle in base64 when asked', async () => {
    const r = await a.request('POST', '/v1/partitions/default/backups', {
      token: psoA,
      json: { domain: 'vault' },
      headers: { accept: 'application/json' },
      statuses: [201],
    });
    expect(r.json).toMatchObject({ serial: 2, keys: 4 });
    expect(r.json.digest).toBe(sha256(Buffer.from(r.json.bundle, 'base64')));
    // Restoring serial 2 over the copy, then serial 1 again: a rollback, 409 unless allowed.
    const newer = await b.request('POST', '/v1/restores', {
      token: soB,
      json: { bundle: r.json.bundle, name: 'copy' },
      statuses: [201],
    });
    expect(newer.json).toMatchObject({ serial: 2, replaced: true });
    const older = await b.request('POST', '/v1/restores?name=copy', {
      token: soB,
      raw: bundle,
      headers: OCTETS,
    });
    expect([older.status, older.json.code]).toEqual([409, 'backup-rollback']);
    const allowed = await b.request('POST', '/v1/restores?name=copy&allowRollback=true', {
      token: soB,
      raw: bundle,
      headers: OCTETS,
      statuses: [201],
    });
    expect(allowed.json).toMatchObject({ serial: 1, replaced: true });
  });

  it('inspects a bundle against the device root, and reports a tampered one as failed', async () => {
    const good = await b.request('POST', '/v1/backups/inspect', {
      token: soB,
      raw: bundle,
      headers: OCTETS,
      statuses: [200],
    });
    expect(good.json.outcome).toBe('verified');
    expect(good.json.claims.manifest).toMatchObject({ serial: 1 });
    const tampered = Buffer.from(bundle);
    tampered[tampered.length - 10]! ^= 0x01;
    const bad = await b.request('POST', '/v1/backups/inspect', {
      token: soB,
      json: { bundle: tampered.toString('base64') },
      statuses: [200],
    });
    expect(bad.json.outcome).not.toBe('verified');
    expect(bad.json.checks.some((c: { status: string }) => c.status === 'fail')).toBe(true);
  });

  it('refuses a tampered bundle with a 422 backup-invalid problem, and restores nothing', async () => {
    const tampered = Buffer.from(bundle);
    tampered[Math.floor(tampered.length / 2)]! ^= 0x01;
    const r = await b.request('POST', '/v1/restores?name=tampered', {
      token: soB,
      raw: tampered,
      headers: OCTETS,
    });
    expect([r.status, r.json.code]).toEqual([422, 'backup-invalid']);
    expect((await b.hsm.listPartitions()).map((p) => p.name)).not.toContain('tampered');
    const truncated = await b.request('POST', '/v1/restores', {
      token: soB,
      raw: bundle.subarray(0, bundle.length - 1),
      headers: OCTETS,
    });
    expect([truncated.status, truncated.json.code]).toEqual([422, 'backup-invalid']);
  });

  it('refuses an unknown domain (403), a bad target (400) and a restore by a crypto-user (403)', async () => {
    const unknown = await a.request('POST', '/v1/partitions/default/backups', {
      token: psoA,
      json: { domain: 'nope' },
    });
    expect([unknown.status, unknown.json.code]).toEqual([403, 'backup-domain-unknown']);
    const both = await a.request('POST', '/v1/partitions/default/backups', {
      token: psoA,
      json: { domain: 'vault', transportCertificate: ['AAAA', 'AAAA'] },
    });
    expect([both.status, both.json.code]).toEqual([400, 'api-invalid-request']);
    const user = await a.request('POST', '/v1/partitions/default/backups', {
      token: userA,
      json: { domain: 'vault' },
    });
    expect([user.status, user.json.code]).toEqual([403, 'role-required']);
    const restore = await b.request('POST', '/v1/restores?name=x', {
      token: await b.token('u', ['crypto-user'], ['*']),
      raw: bundle,
      headers: OCTETS,
    });
    expect([restore.status, restore.json.code]).toEqual([403, 'role-required']);
  });

  it('refuses a body over the binary limit with 413, JSON over 1 MiB too, and answers after', async () => {
    const big = Buffer.alloc(BINARY_LIMIT + 1, 0x30);
    const r = await b.request('POST', '/v1/restores', {
      token: soB,
      raw: big,
      headers: { ...OCTETS, 'content-length': String(big.length) },
    });
    expect([r.status, r.json.code]).toEqual([413, 'api-body-too-large']);
    expect(r.json.details.limit).toBe(BINARY_LIMIT);
    // Streamed without a declared length: refused while reading.
    const streamed = await b.request('POST', '/v1/backups/inspect', {
      token: soB,
      raw: big,
      headers: OCTETS,
    });
    expect([streamed.status, streamed.json.code]).toEqual([413, 'api-body-too-large']);
    // Between the limits: a DER body of 1.5 MiB is read (and refused as a bundle), the same
    // bytes as JSON are over the JSON limit.
    const mid = Buffer.alloc(1.5 * 1024 * 1024, 0x30);
    const read = await b.request('POST', '/v1/restores', { token: soB, raw: mid, headers: OCTETS });
    expect([read.status, read.json.code]).toEqual([422, 'backup-invalid']);
    const json = await b.request('POST', '/v1/restores', {
      token: soB,
      json: { bundle: mid.toString('base64') },
    });
    expect([json.status, json.json.code]).toEqual([413, 'api-body-too-large']);
    // An operation that takes JSON only refuses bytes.
    const media = await b.request('POST', '/v1/backup-domains', {
      token: soB,
      raw: '{"name":"x"}',
      headers: OCTETS,
    });
    expect([media.status, media.json.code]).toEqual([415, 'api-unsupported-media-type']);
    const still = await b.request('GET', '/v1/backup-domains', { token: soB, statuses: [200] });
    expect(still.json.domains.length).toBeGreaterThan(0);
  });
});

describe('transport keys', () => {
  it("publishes a transport key's chain, and a bundle for it opens on that device only", async () => {
    const created = await b.request('POST', '/v1/transport-keys', {
      token: soB,
      json: { algorithm: 'ecdh-p256' },
      statuses: [201],
    });
    expect(created.json).toMatchObject({ algorithm: 'ecdh-p256' });
    const id = created.json.id as string;
    expect(created.headers.location).toBe(`/v1/transport-keys/${id}/certificate`);
    const listed = await b.request('GET', '/v1/transport-keys', { token: soB, statuses: [200] });
    expect(listed.json.transportKeys.map((k: { id: string }) => k.id)).toContain(id);
    const chain = await b.request('GET', `/v1/transport-keys/${id}/certificate`, {
      token: soB,
      statuses: [200],
    });
    expect(chain.json.certificates).toHaveLength(2);
    const pem = await b.request('GET', `/v1/transport-keys/${id}/certificate`, {
      token: soB,
      headers: { accept: 'application/pem-certificate-chain' },
      statuses: [200],
    });
    expect(pem.type).toBe('application/pem-certificate-chain');
    expect(pem.text.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(2);
    // The wrong order is not a transport certificate.
    const swapped = await a.request('POST', '/v1/partitions/default/backups', {
      token: psoA,
      json: { transportCertificate: [...chain.json.certificates].reverse() },
    });
    expect([swapped.status, swapped.json.code]).toEqual([422, 'transport-certificate-invalid']);
    const made = await a.request('POST', '/v1/partitions/default/backups', {
      token: psoA,
      json: { transportCertificate: chain.json.certificates },
      statuses: [201],
    });
    const elsewhere = await a.request('POST', '/v1/restores?name=moved', {
      token: soA,
      raw: made.body,
      headers: OCTETS,
    });
    expect([elsewhere.status, elsewhere.json.code]).toEqual([403, 'transport-key-unknown']);
    const moved = await b.request('POST', '/v1/restores?name=moved', {
      token: soB,
      raw: made.body,
      headers: OCTETS,
      statuses: [201],
    });
    expect(moved.json).toMatchObject({ partition: 'moved', keys: 4, replaced: false });
    const unknown = await b.request('GET', `/v1/transport-keys/${'0'.repeat(64)}/certificate`, {
      token: soB,
    });
    expect([unknown.status, unknown.json.code]).toEqual([403, 'transport-key-unknown']);
  });
});

describe('a backup under a quorum rule', () => {
  it('answers 202, and once executed hands the bundle out only through an audited download', async () => {
    await a.hsm.governance.setRule(
      'default',
      'partition.backup',
      { timeoutSeconds: 3600, alternatives: [{ groups: [{ members: ['ann'], threshold: 1 }] }] },
      OFFICER,
    );
    const r = await a.request('POST', '/v1/partitions/default/backups', {
      token: psoA,
      json: { domain: 'vault' },
      statuses: [202],
    });
    const id = r.json.id as string;
    expect(r.headers.location).toBe(`/v1/approvals/${id}`);
    expect(r.json).toMatchObject({ operation: 'partition.backup', state: 'pending' });
    const early = await a.request('GET', `/v1/approvals/${id}/bundle`, { token: psoA });
    expect([early.status, early.json.code]).toEqual([409, 'request-not-approved']);
    await decideAs(a.hsm, id, ann);
    const done = await a.request('POST', `/v1/approvals/${id}/execute`, {
      token: psoA,
      statuses: [200],
    });
    expect(done.json.state).toBe('executed');
    expect(done.json.result).toMatchObject({ download: `/v1/approvals/${id}/bundle` });
    expect(done.json.result.bundle).toBeUndefined();
    const digest = done.json.result.digest as string;
    // The request's views (one, and the list) do not carry the bundle.
    const shown = await a.request('GET', `/v1/approvals/${id}`, { token: psoA, statuses: [200] });
    expect(shown.json.result.bundle).toBeUndefined();
    const list = await a.request('GET', '/v1/approvals', { token: soA, statuses: [200] });
    expect(JSON.stringify(list.json)).not.toContain('"bundle"');
    // A crypto-user of the partition (not its requester) may not download it.
    const refused = await a.request('GET', `/v1/approvals/${id}/bundle`, { token: userA });
    expect([refused.status, refused.json.code]).toEqual([403, 'role-required']);
    const got = await a.request('GET', `/v1/approvals/${id}/bundle`, {
      token: psoA,
      statuses: [200],
    });
    expect(got.type).toBe('application/octet-stream');
    expect(sha256(got.body)).toBe(digest);
    const asJson = await a.request('GET', `/v1/approvals/${id}/bundle`, {
      token: soA,
      headers: { accept: 'application/json' },
      statuses: [200],
    });
    expect(asJson.json).toMatchObject({ request: id, partition: 'default', digest });
    // The typed client: the same download, and the guarded backup as an approval.
    const client = createApiClient({ url: a.api.url, ca: a.serverCa.pem, token: psoA });
    try {
      const downloaded = await client.downloadBackup(id);
      expect(downloaded.digest).toBe(digest);
      expect(Buffer.from(downloaded.bundle).equals(got.body)).toBe(true);
      const again = await client.backupPartition('default', { domain: 'vault' });
      expect(again.kind).toBe('approval');
      if (again.kind === 'approval') {
        await a.request('POST', `/v1/approvals/${again.approval.id}/cancel`, { token: psoA });
      }
    } finally {
      await client.close();
    }
    const entries = (await auditEntries(a.hsm)).filter((e) => e.action === 'backup.download');
    expect(entries.map((e) => [e.actor, e.outcome, e.details.bundle, e.details.request])).toEqual([
      ['jwt:pso-a', 'refused', undefined, id],
      ['jwt:user-a', 'refused', undefined, id],
      ['jwt:pso-a', 'success', digest, id],
      ['jwt:so-a', 'success', digest, id],
      ['jwt:pso-a', 'success', digest, id],
    ]);
    // The downloaded bundle restores on b, sent as raw bytes by the client.
    const onB = createApiClient({ url: b.api.url, ca: b.serverCa.pem, token: soB });
    try {
      const restored = await onB.restorePartition(got.body, { name: 'approved' });
      expect(restored).toMatchObject({
        kind: 'done',
        value: { partition: 'approved', replaced: false },
      });
      const refused = await onB
        .restorePartition(got.body.subarray(1), { name: 'x' })
        .catch((e: unknown) => e);
      expect(refused).toMatchObject({ status: 422, code: 'backup-invalid' });
    } finally {
      await onB.close();
    }
  });
});

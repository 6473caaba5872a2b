// Partition migration and custodian backups over the REST API between two real devices of one
// factory, each with its own SQLite store and its own HTTPS listener: the target's transport
// key, the source's bundle for it, the restore and the receipt on the target, a tampered receipt
// refused, the source's dry run (nothing changes) and completion (its keys refused after), the
// completion under a partition.suspend rule (202, approved, executed), and a custodian bundle
// made, or refused for a key that is not extractable. Every answer is checked
// against the OpenAPI document.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call -- every answer is checked against the OpenAPI document before a test reads its fields as plain JSON */
import 'reflect-metadata';
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient } from '../../../src/client/index.js';
import { createFactory, Hsm, type MasterKeyInput } from '../../../src/hsm/index.js';
import { parseBackupBundle } from '../../../src/pki/index.js';
import { systemClock } from '../../../src/shared/index.js';
import { startApiFixture, type ApiFixture } from '../../helpers/api.js';
import { decideAs, officerWithKey } from '../../helpers/governance.js';
import { auditEntries, OFFICER, type TestDevice } from '../../helpers/hsm.js';
import { tempDir } from '../../helpers/tmp.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const OCTETS = { 'content-type': 'application/octet-stream' } as const;
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const DAY = 86_400_000;
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

let a: ApiFixture;
let b: ApiFixture;
let soA: string;
let soB: string;
let psoA: string;
let userA: string;

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

let serial = 1;

/** A custodian's self-issued EC P-256 certificate with keyUsage keyAgreement (DER). */
async function custodianCertificate(name: string): Promise<Uint8Array> {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: (serial++).toString(16).padStart(2, '0'),
    name: `CN=${name}, O=Example Custodians`,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 365 * DAY),
    signingAlgorithm: EC,
    keys,
    extensions: [
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyAgreement | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
    ],
  });
  return new Uint8Array(cert.rawData);
}

beforeAll(async () => {
  const dir = tempDir();
  const factory = await createFactory(join(dir, 'factory'), {
    development: true,
    clock: systemClock,
  });
  a = await startApiFixture({ device: await deviceOf(dir, factory, 'a') });
  b = await startApiFixture({ device: await deviceOf(dir, factory, 'b') });
  soA = await a.token('so-a', ['device-so'], []);
  soB = await b.token('so-b', ['device-so'], []);
  psoA = await a.token('pso-a', ['pso'], ['default']);
  userA = await a.token('user-a', ['crypto-user'], ['default']);
  await a.hsm.generateKey('default', { label: 'signing', algorithm: 'ecdsa-p256' });
  await a.hsm.generateKey('default', { label: 'secret', algorithm: 'aes-256' });
}, 120_000);

afterAll(async () => {
  await a.close();
  await b.close();
  await a.hsm.close();
  await b.hsm.close();
});

const signOnA = (): ReturnType<ApiFixture['request']> =>
  a.request('POST', '/v1/partitions/default/keys/signing/sign', {
    token: userA,
    json: { data: Buffer.from('after the move').toString('base64') },
  });

describe('partition migration', () => {
  it('moves a partition: bundle, restore and receipt on b, dry run then completion on a', async () => {
    // b publishes a transport key; a backs its partition up for it; b restores it.
    const created = await b.request('POST', '/v1/transport-keys', {
      token: soB,
      json: {},
      statuses: [201],
    });
    const chain = await b.request('GET', `/v1/transport-keys/${created.json.id}/certificate`, {
      token: soB,
      statuses: [200],
    });
    const made = await a.request('POST', '/v1/partitions/default/backups', {
      token: psoA,
      json: { transportCertificate: chain.json.certificates },
      statuses: [201],
    });
    const bundle = made.body;
    await b.request('POST', '/v1/restores?name=moved', {
      token: soB,
      raw: bundle,
      headers: OCTETS,
      statuses: [201],
    });

    // The receipt on b: DER by default, JSON with its digest and statement when asked.
    const issued = await b.request('POST', '/v1/partitions/moved/migration-receipt', {
      token: soB,
      statuses: [201],
    });
    expect(issued.type).toBe('application/octet-stream');
    const receipt = issued.body;
    const asJson = await b.request('POST', '/v1/partitions/moved/migration-receipt', {
      token: soB,
      headers: { accept: 'application/json' },
      statuses: [201],
    });
    expect(asJson.json.statement.source).toMatchObject({
      device: (await a.hsm.device()).id,
      partition: (await a.hsm.partition('default')).id,
      serial: 1,
      bundle: sha256(bundle),
    });
    expect(asJson.json.digest).toBe(sha256(Buffer.from(asJson.json.receipt, 'base64')));
    const logged = (await auditEntries(b.hsm)).filter(
      (e) => e.action === 'partition.migrate.receipt',
    );
    expect(logged.at(-1)).toMatchObject({ actor: 'jwt:so-b', outcome: 'success' });
    const notRestored = await b.request('POST', '/v1/partitions/default/migration-receipt', {
      token: soB,
    });
    expect(notRestored.status).toBeGreaterThanOrEqual(400);
    expect(notRestored.status).toBeLessThan(500);

    // A flipped byte of the receipt (its signature) does not verify on a.
    const flipped = Buffer.from(receipt);
    flipped[flipped.length - 1]! ^= 0x01;
    const tampered = await a.request('POST', '/v1/partitions/default/migration', {
      token: psoA,
      json: { receipt: flipped.toString('base64'), dryRun: true },
    });
    expect([tampered.status, tampered.json.code]).toEqual([422, 'migration-receipt-invalid']);

    // A dry run needs the completion's roles.
    const byUser = await a.request('POST', '/v1/partitions/default/migration', {
      token: userA,
      json: { receipt: receipt.toString('base64'), dryRun: true },
    });
    expect([byUser.status, byUser.json.code]).toEqual([403, 'role-required']);

    // The dry run: every check, the plan, nothing written; the key still signs.
    const auditBefore = (await auditEntries(a.hsm)).length;
    const dry = await a.request('POST', '/v1/partitions/default/migration', {
      token: psoA,
      json: {
        receipt: receipt.toString('base64'),
        bundle: bundle.toString('base64'),
        dryRun: true,
      },
      statuses: [200],
    });
    expect(dry.json).toMatchObject({
      dryRun: true,
      partition: { name: 'default' },
      target: {
        device: (await b.hsm.device()).id,
        partition: (await b.hsm.partition('moved')).id,
        name: 'moved',
      },
      serial: 1,
      receipt: sha256(receipt),
      refused: [],
    });
    expect(dry.json.moving.map((k: { label: string }) => k.label)).toEqual(
      expect.arrayContaining(['signing', 'secret']),
    );
    // Only the API's own request entries: the HSM wrote nothing.
    const since = (await auditEntries(a.hsm)).slice(auditBefore);
    expect(since.map((e) => e.action)).toEqual(['api.request']);
    expect((await signOnA()).status).toBe(200);

    // The completion, the receipt as raw bytes: a's keys are refused from then on.
    const done = await a.request('POST', '/v1/partitions/default/migration', {
      token: psoA,
      raw: receipt,
      headers: OCTETS,
      statuses: [200],
    });
    expect(done.json).toMatchObject({ dryRun: false, receipt: sha256(receipt) });
    const migrated = (await auditEntries(a.hsm)).filter((e) => e.action === 'partition.migrate');
    expect(migrated.at(-1)).toMatchObject({ actor: 'jwt:pso-a', outcome: 'success' });
    const refused = await signOnA();
    expect([refused.status, refused.json.code]).toEqual([403, 'partition-migrated']);
    const again = await a.request('POST', '/v1/partitions/default/migration', {
      token: psoA,
      raw: receipt,
      headers: OCTETS,
    });
    expect(again.status).toBeGreaterThanOrEqual(400);
    expect(again.status).toBeLessThan(500);
  });
});

describe('a migration under the partition.suspend rule', () => {
  it('answers 202, and once approved and executed the partition is migrated', async () => {
    await a.hsm.createPartition('guarded');
    await a.hsm.generateKey('guarded', { label: 'signing', algorithm: 'ecdsa-p256' });
    const ann = await officerWithKey(
      a.hsm,
      'ann',
      [{ role: 'pso', partition: 'guarded' }],
      OFFICER,
    );
    await a.hsm.governance.setRule(
      'guarded',
      'partition.suspend',
      { timeoutSeconds: 3600, alternatives: [{ groups: [{ members: ['ann'], threshold: 1 }] }] },
      OFFICER,
    );
    const transport = await b.hsm.createTransportKey();
    const [device] = await b.hsm.deviceCertificateChain();
    const chain = [(await b.hsm.transportKey(transport.id)).certificate, device!];
    const { bundle } = await a.hsm.backupPartition('guarded', { transportCertificate: chain });
    await b.hsm.restorePartition(bundle, { name: 'guarded' });
    // The typed client: the receipt on b, a dry run on a.
    const onB = createApiClient({ url: b.api.url, ca: b.serverCa.pem, token: soB });
    const pso = await a.token('pso-g', ['pso'], ['guarded']);
    const onA = createApiClient({ url: a.api.url, ca: a.serverCa.pem, token: pso });
    let receipt: Uint8Array;
    try {
      const issued = await onB.migrationReceipt('guarded');
      receipt = issued.receipt;
      expect(issued.digest).toBe(sha256(receipt));
      const dry = await onA.completeMigration('guarded', receipt, { bundle, dryRun: true });
      expect(dry).toMatchObject({ kind: 'done', value: { dryRun: true, refused: [] } });
    } finally {
      await onB.close();
      await onA.close();
    }
    const r = await a.request('POST', '/v1/partitions/guarded/migration', {
      token: pso,
      json: { receipt: Buffer.from(receipt).toString('base64') },
      statuses: [202],
    });
    const id = r.json.id as string;
    expect(r.headers.location).toBe(`/v1/approvals/${id}`);
    expect(r.json).toMatchObject({ operation: 'partition.migrate', state: 'pending' });
    await decideAs(a.hsm, id, ann);
    const done = await a.request('POST', `/v1/approvals/${id}/execute`, {
      token: pso,
      statuses: [200],
    });
    expect(done.json.state).toBe('executed');
    const user = await a.token('user-g', ['crypto-user'], ['guarded']);
    const refused = await a.request('POST', '/v1/partitions/guarded/keys/signing/sign', {
      token: user,
      json: { data: Buffer.from('x').toString('base64') },
    });
    expect([refused.status, refused.json.code]).toEqual([403, 'partition-migrated']);
  });
});

describe('custodian backups', () => {
  it('makes a 2-of-3 custodian bundle, and refuses a key that is not extractable', async () => {
    await a.hsm.createPartition('vault', { policy: { exportAllowed: true } });
    await a.hsm.generateKey('vault', {
      label: 'signing',
      algorithm: 'ecdsa-p256',
      extractable: true,
    });
    const certificates = [
      await custodianCertificate('alice'),
      await custodianCertificate('bob'),
      await custodianCertificate('carol'),
    ];
    const custodians = {
      threshold: 2,
      certificates: certificates.map((c) => Buffer.from(c).toString('base64')),
    };
    const made = await a.request('POST', '/v1/partitions/vault/backups', {
      token: soA,
      json: { custodians },
      headers: { accept: 'application/json' },
      statuses: [201],
    });
    // The typed client takes the custodians as a target too.
    const client = createApiClient({ url: a.api.url, ca: a.serverCa.pem, token: soA });
    try {
      const again = await client.backupPartition('vault', {
        custodians: { threshold: 2, certificates },
      });
      expect(again).toMatchObject({ kind: 'done', value: { serial: 2 } });
    } finally {
      await client.close();
    }
    expect(made.json).toMatchObject({ serial: 1, keys: 1 });
    const parsed = parseBackupBundle(Buffer.from(made.json.bundle, 'base64'));
    expect(parsed.recipients.map((r) => r.kind)).toEqual([
      'custodian-share',
      'custodian-share',
      'custodian-share',
    ]);
    // Two targets at once are refused before anything is made.
    const both = await a.request('POST', '/v1/partitions/vault/backups', {
      token: soA,
      json: { custodians, domain: 'vault' },
    });
    expect([both.status, both.json.code]).toEqual([400, 'api-invalid-request']);

    await a.hsm.generateKey('vault', { label: 'keeper', algorithm: 'ecdsa-p256' });
    const protectedKey = await a.request('POST', '/v1/partitions/vault/backups', {
      token: soA,
      json: { custodians },
    });
    expect([protectedKey.status, protectedKey.json.code]).toEqual([403, 'backup-keys-protected']);
    expect(protectedKey.json.detail).toMatch(/keeper/);
  });
});

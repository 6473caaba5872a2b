// The officers' operations under governance, with a real store and real signatures: a purge
// under a partition's quorum rule becomes a request that runs once; a partition's security
// officers exclude the device SO (who may still revoke) and alone include them again; an
// auditor reads the log but changes nothing; a guarded export wraps under the RSA key its
// request names; two executions race on PostgreSQL too; a store copy checks governance rows.
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  X509Certificate,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { approvalBytes, requestBytes } from '../../../../src/hsm/governance/statement.js';
import { Hsm } from '../../../../src/hsm/index.js';
import { rsaAesKeyUnwrap } from '../../../../src/hsm/wrap.js';
import type { Clock } from '../../../../src/shared/index.js';
import { postgresKind } from '../../../helpers/device-stores.js';
import { auditEntries, createTestDevice, OFFICER, type TestDevice } from '../../../helpers/hsm.js';
import { freshDatabase, type FreshDatabase } from '../../../helpers/postgres.js';
import { tempDir } from '../../../helpers/tmp.js';
import { expectHsmRejection } from '../support.js';

/** A clock the test moves. */
class TestClock implements Clock {
  constructor(public ms = Date.parse('2026-12-01T10:00:00Z')) {}
  now(): Date {
    return new Date(this.ms);
  }
}

interface Approver {
  readonly name: string;
  readonly key: KeyObject;
  readonly spki: Uint8Array;
  fingerprint: string;
}

const pass = (name: string) => ({ name, passphrase: `passphrase of ${name}` });

/** ann and bob: device SOs; pat and quin: the partition's PSOs; each with an approver key. */
async function staff(hsm: Hsm): Promise<Record<string, Approver>> {
  const people: Record<string, Approver> = {};
  const roles = (n: string) =>
    n === 'pat' || n === 'quin' ? [{ role: 'pso', partition: 'default' }] : [{ role: 'device-so' }];
  for (const n of ['ann', 'bob', 'pat', 'quin']) {
    await hsm.governance.addOfficer(pass(n), roles(n), OFFICER);
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const a: Approver = {
      name: n,
      key: privateKey,
      spki: publicKey.export({ format: 'der', type: 'spki' }),
      fingerprint: '',
    };
    const proof = sign('sha256', hsm.governance.enrollmentChallenge(n, a.spki), a.key);
    a.fingerprint = await hsm.governance.enrollApprover(n, a.spki, proof, pass(n));
    people[n] = a;
  }
  return people;
}

async function decide(
  hsm: Hsm,
  id: string,
  a: Approver,
  decision: 'approve' | 'reject' = 'approve',
) {
  const view = await hsm.governance.showRequest(id);
  const bytes = approvalBytes(view.body.statement, decision, {
    principal: a.name,
    key: a.fingerprint,
  });
  return hsm.governance.decide(id, decision, a.fingerprint, sign('sha256', bytes, a.key));
}

/** Two of the partition's PSOs (or bob) approve the partition's trash purges. */
async function guardPurges(hsm: Hsm, by = OFFICER): Promise<void> {
  await hsm.governance.setRule(
    'default',
    'trash.purge',
    {
      timeoutSeconds: 3600,
      alternatives: [{ groups: [{ members: ['pat', 'quin', 'bob'], threshold: 2 }] }],
    },
    by,
  );
}

/** A user key in the trash of the default partition. */
async function trashedKey(hsm: Hsm, label = 'k'): Promise<string> {
  const info = await hsm.generateKey('default', { label, algorithm: 'ecdsa-p256' });
  await hsm.deleteKey('default', label);
  return info.id;
}

async function requestOf(p: Promise<unknown>): Promise<string> {
  const e = await expectHsmRejection(p, 'approval-required');
  expect(typeof e.details?.request).toBe('string');
  return e.details?.request as string;
}

describe('officer operations under governance', () => {
  let d: TestDevice;
  let hsm: Hsm;
  let people: Record<string, Approver>;

  beforeEach(async () => {
    d = await createTestDevice({ clock: new TestClock() });
    hsm = d.hsm;
    people = await staff(hsm);
  }, 60_000);

  afterEach(async () => {
    await hsm.close();
  });

  it('turns a purge under the partition rule into a request signed by the partition, run once', async () => {
    const keyId = await trashedKey(hsm);
    await guardPurges(hsm);
    const id = await requestOf(hsm.purgeKey('default', 'k', pass('ann')));
    // Nothing happened yet.
    expect((await hsm.key('default', 'k')).state).toBe('invalidated');
    const p = await hsm.partition('default');
    const view = await hsm.governance.showRequest(id);
    expect(view.body.statement).toMatchObject({
      operation: 'key.purge',
      requester: 'ann',
      scope: `partition:${p.id}`,
      params: { partition: p.id, key: keyId, label: 'k' },
    });
    expect(view.body.signer).toBe('partition-attestation');
    const att = new X509Certificate(Buffer.from((await hsm.chain('default')).partitionAttestation));
    expect(
      verify(
        'sha384',
        requestBytes(view.body.statement),
        { key: att.publicKey, dsaEncoding: 'der' },
        Buffer.from(view.body.signature, 'hex'),
      ),
    ).toBe(true);

    await decide(hsm, id, people.pat!);
    await expectHsmRejection(hsm.executeRequest(id), 'request-not-approved');
    await expectHsmRejection(
      hsm.purgeKey('default', 'k', { request: 'nope' }),
      'request-not-found',
    );
    await decide(hsm, id, people.quin!);
    const done = await hsm.executeRequest(id);
    expect(done.body.state).toBe('executed');
    expect(done.body.result).toEqual({ key: keyId, purged: true });
    await expectHsmRejection(hsm.key('default', 'k'), 'key-not-found');
    await expectHsmRejection(hsm.executeRequest(id), 'request-closed');
    const log = await auditEntries(hsm);
    expect(log.filter((e) => e.action === 'key.purge' && e.outcome === 'success')).toMatchObject([
      { actor: 'ann', keyId, partitionId: p.id },
    ]);
    expect(log.filter((e) => e.action === 'approval.execute')).toHaveLength(1);
    expect((await hsm.verifyAudit()).ok).toBe(true);
  });

  it('refuses a request executed as another operation or with other parameters', async () => {
    await trashedKey(hsm, 'a');
    await trashedKey(hsm, 'b');
    await guardPurges(hsm);
    const id = await requestOf(hsm.purgeKey('default', 'a', pass('ann')));
    await decide(hsm, id, people.pat!);
    await decide(hsm, id, people.quin!);
    // The approved request names key a: it purges neither b nor restores a.
    await expectHsmRejection(hsm.purgeKey('default', 'b', { request: id }), 'request-not-approved');
    await expectHsmRejection(
      hsm.restoreKey('default', 'a', { request: id }),
      'request-not-approved',
    );
    expect((await hsm.key('default', 'a')).state).toBe('invalidated');
    expect((await hsm.key('default', 'b')).state).toBe('invalidated');
    expect((await hsm.executeRequest(id)).body.state).toBe('executed');
    await expectHsmRejection(hsm.key('default', 'a'), 'key-not-found');
  });

  it("lets the partition's PSO exclude the device SO, who may still revoke; only the PSO includes them again", async () => {
    await trashedKey(hsm);
    await guardPurges(hsm);
    const pending = await requestOf(hsm.purgeKey('default', 'k', pass('quin')));
    await hsm.governance.setSoExclusion('default', true, pass('pat'));
    expect(await hsm.governance.soExcluded('default')).toBe(true);

    for (const so of [pass('ann'), OFFICER]) {
      await expectHsmRejection(
        hsm.setPartitionPolicy('default', { exportAllowed: true }, so),
        'so-excluded',
      );
      await expectHsmRejection(hsm.restoreKey('default', 'k', so), 'so-excluded');
      await expectHsmRejection(hsm.purgeKey('default', 'k', so), 'so-excluded');
    }
    // bob is a member of the rule, but as an excluded device SO his approval is refused.
    await expectHsmRejection(decide(hsm, pending, people.bob!), 'so-excluded');
    expect((await hsm.governance.showRequest(pending)).approvals).toHaveLength(0);
    // Only a PSO re-includes: a device SO lacks the role.
    const e = await expectHsmRejection(
      hsm.governance.setSoExclusion('default', false, pass('ann')),
      'role-required',
    );
    expect(e.details).toMatchObject({ needs: 'pso', principal: 'ann' });
    expect(await hsm.governance.soExcluded('default')).toBe(true);
    expect((await hsm.partition('default')).policy.exportAllowed).toBe(false);
    expect((await hsm.key('default', 'k')).state).toBe('invalidated');

    await hsm.governance.setSoExclusion('default', false, pass('pat'));
    const p = await hsm.setPartitionPolicy('default', { exportAllowed: true }, pass('ann'));
    expect(p.policy.exportAllowed).toBe(true);

    // Excluded again: revocation stays the device SO's.
    await hsm.governance.setSoExclusion('default', true, pass('pat'));
    const state = await hsm.revokePartition('default', 'keyCompromise', pass('ann'));
    expect(state.revoked.filter((r) => r.partitionId === p.id)).toHaveLength(2);
    const log = await auditEntries(hsm);
    expect(
      log.filter((x) => x.action === 'partition.revoke').map((x) => [x.outcome, x.actor]),
    ).toEqual([['success', 'ann']]);
  });

  it('lets an auditor export the log, and refuses every change by the auditor naming the role needed', async () => {
    await trashedKey(hsm);
    await hsm.governance.addOfficer(pass('aud'), [{ role: 'auditor' }], OFFICER);
    const log = await auditEntries(hsm);
    expect(
      log.find((e) => e.action === 'role.grant' && e.details['principal'] === 'aud'),
    ).toMatchObject({
      details: { role: 'auditor', scope: 'device' },
    });
    expect((await hsm.verifyAudit()).ok).toBe(true);
    const p = await hsm.partition('default');
    const aud = pass('aud');
    const inPartition = `partition:${p.id}`;
    const attempts: [() => Promise<unknown>, string, string, string][] = [
      [
        () => hsm.setPartitionPolicy('default', { readOnly: true }, aud),
        'partition.policy',
        'device-so|pso',
        inPartition,
      ],
      [() => hsm.restoreKey('default', 'k', aud), 'key.restore', 'device-so|pso', inPartition],
      [() => hsm.purgeKey('default', 'k', aud), 'key.purge', 'device-so|pso', inPartition],
      [
        () => hsm.revokePartition('default', 'superseded', aud),
        'partition.revoke',
        'device-so',
        inPartition,
      ],
      [
        () => hsm.governance.setRule(undefined, 'trash.purge', null, aud),
        'quorum.set',
        'device-so',
        'device',
      ],
      [
        () => hsm.governance.grantRole('aud', 'device-so', undefined, aud),
        'role.grant',
        'device-so',
        'device',
      ],
    ];
    for (const [attempt, operation, needs, scope] of attempts) {
      const e = await expectHsmRejection(attempt(), 'role-required');
      expect(e.details).toMatchObject({ operation, needs, scope, principal: 'aud' });
    }
    expect((await hsm.partition('default')).policy.readOnly).toBe(false);
    expect((await hsm.key('default', 'k')).state).toBe('invalidated');
    expect((await hsm.revocationState()).revoked).toHaveLength(0);
    // Each refusal is logged against the auditor, with its code.
    const refusals = (await auditEntries(hsm)).filter((e) => e.actor === 'aud');
    expect(refusals.map((e) => [e.action, e.outcome, e.details['code']])).toEqual(
      attempts.map(([, operation]) => [operation, 'refused', 'role-required']),
    );
  });

  it('makes a guarded export a request that wraps under the RSA key it names, and refuses an AES wrap', async () => {
    await hsm.setPartitionPolicy('default', { exportAllowed: true }, OFFICER);
    const key = await hsm.generateKey('default', {
      label: 'x',
      algorithm: 'ecdsa-p256',
      extractable: true,
    });
    await hsm.governance.setRule(
      'default',
      'key.export',
      {
        timeoutSeconds: 3600,
        alternatives: [{ groups: [{ members: ['pat', 'quin'], threshold: 2 }] }],
      },
      OFFICER,
    );
    const e = await expectHsmRejection(
      hsm.exportKey('default', 'x', { kind: 'aes-kwp', key: new Uint8Array(32).fill(7) }),
      'invalid-argument',
    );
    expect(e.message).toMatch(/rsa-aes-kwp/);
    expect(await hsm.governance.listRequests()).toHaveLength(0);

    // A key too small to wrap under makes no request.
    const small = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await expectHsmRejection(
      hsm.exportKey('default', 'x', {
        kind: 'rsa-aes-kwp',
        spki: small.publicKey.export({ format: 'der', type: 'spki' }),
      }),
      'invalid-argument',
    );
    expect(await hsm.governance.listRequests()).toHaveLength(0);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 3072 });
    const spki = rsa.publicKey.export({ format: 'der', type: 'spki' });
    const id = await requestOf(hsm.exportKey('default', 'x', { kind: 'rsa-aes-kwp', spki }));
    const view = await hsm.governance.showRequest(id);
    expect(view.body.statement).toMatchObject({
      operation: 'key.export',
      params: { key: key.id, label: 'x', wrapping: 'rsa-aes-kwp', spki: spki.toString('hex') },
    });
    const exports = async () =>
      (await auditEntries(hsm)).filter((x) => x.action === 'key.export' && x.outcome === 'success');
    // Not exported yet.
    expect(await exports()).toHaveLength(0);
    await decide(hsm, id, people.pat!);
    await decide(hsm, id, people.quin!);
    const done = await hsm.executeRequest(id);
    const result = done.body.result as { key: string; wrapped: string };
    expect(result.key).toBe(key.id);
    const pkcs8 = rsaAesKeyUnwrap(rsa.privateKey, Buffer.from(result.wrapped, 'hex'));
    const pub = createPublicKey(
      createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' }),
    );
    expect(new Uint8Array(pub.export({ format: 'der', type: 'spki' }))).toEqual(key.spki);
    expect(await exports()).toMatchObject([
      { keyId: key.id, details: { wrapping: 'rsa-aes-kwp' } },
    ]);
    await expectHsmRejection(hsm.executeRequest(id), 'request-closed');
    expect(await exports()).toHaveLength(1);
  });

  it('refuses a copy whose governance row was edited in the source', async () => {
    await hsm.close();
    const db = new Database(d.storePath);
    try {
      const row = db
        .prepare(
          "SELECT body_json FROM governance WHERE kind = 'role' AND id = 'pat/pso/' || scope",
        )
        .get() as { body_json: string } | undefined;
      expect(row).toBeDefined();
      db.prepare(
        "UPDATE governance SET body_json = replace(body_json, '\"pso\"', '\"crypto-officer\"') WHERE kind = 'role' AND id LIKE 'pat/%'",
      ).run();
    } finally {
      db.close();
    }
    hsm = await Hsm.open(d.storePath, d.masterKey);
    const e = await expectHsmRejection(hsm.copyTo(`${tempDir()}/copy.sqlite`), 'integrity-failed');
    expect(e.message).toMatch(/copy does not verify/);
  });
});

describe.skipIf(postgresKind.unavailable)('on the PostgreSQL store', () => {
  let db: FreshDatabase;
  let hsm: Hsm | undefined;

  afterEach(async () => {
    await hsm?.close();
    await db.drop();
  });

  it('runs an approved purge exactly once when two callers race to execute it', async () => {
    db = await freshDatabase();
    ({ hsm } = await createTestDevice({ clock: new TestClock(), location: db.url }));
    expect(hsm.storeInfo().dialect).toBe('postgres');
    const people = await staff(hsm);
    const keyId = await trashedKey(hsm);
    await guardPurges(hsm);
    const id = await requestOf(hsm.purgeKey('default', 'k', pass('ann')));
    await decide(hsm, id, people.pat!);
    await decide(hsm, id, people.bob!);
    const results = await Promise.allSettled([hsm.executeRequest(id), hsm.executeRequest(id)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const failed = results.find((r) => r.status === 'rejected');
    expect((failed as PromiseRejectedResult).reason).toMatchObject({ code: 'request-closed' });
    await expectHsmRejection(hsm.key('default', 'k'), 'key-not-found');
    const log = await auditEntries(hsm);
    expect(log.filter((e) => e.action === 'key.purge' && e.outcome === 'success')).toMatchObject([
      { keyId },
    ]);
    expect(log.filter((e) => e.action === 'approval.execute')).toHaveLength(1);
    expect((await hsm.verifyAudit()).ok).toBe(true);
  }, 60_000);
});

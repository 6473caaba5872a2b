// Quorum rules on partition.create and audit.export, with a real store and real signatures: the
// call becomes an approval request (for the local operator too), the approved request creates
// exactly the partition it names, or lets one export of the log run, once.
import { generateKeyPairSync, sign } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  decideAs,
  officerWithKey,
  pass,
  requestOf,
  type Approver,
} from '../../../helpers/governance.js';
import type { AuditEntry, Hsm } from '../../../../src/hsm/index.js';
import { createTestDevice, OFFICER, type TestDevice } from '../../../helpers/hsm.js';
import { expectHsmRejection, withRawDb } from '../support.js';

async function deviceOfficers(hsm: Hsm): Promise<Approver[]> {
  return [
    await officerWithKey(hsm, 'ann', [{ role: 'device-so' }], OFFICER, 'ed25519'),
    await officerWithKey(hsm, 'bob', [{ role: 'device-so' }], OFFICER, 'ed25519'),
  ];
}

async function approveAll(hsm: Hsm, id: string, people: readonly Approver[]): Promise<void> {
  for (const a of people) await decideAs(hsm, id, a);
}

const BOTH = {
  timeoutSeconds: 600,
  alternatives: [{ groups: [{ members: ['ann', 'bob'], threshold: 2 }] }],
};

async function drain(entries: AsyncGenerator<AuditEntry>): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for await (const e of entries) out.push(e);
  return out;
}

describe('partition.create and audit.export under quorum rules', () => {
  let d: TestDevice;
  let hsm: Hsm;
  let people: Approver[];

  beforeEach(async () => {
    d = await createTestDevice();
    hsm = d.hsm;
    people = await deviceOfficers(hsm);
  }, 60_000);

  afterEach(async () => {
    await hsm.close();
  });

  it('creates exactly the partition the approved request names, once', async () => {
    await hsm.governance.setRule(undefined, 'partition.create', BOTH, OFFICER);
    const id = await requestOf(
      hsm.createPartition('tenant', {
        policy: { exportAllowed: true },
        timestampAlgorithm: 'ed25519',
      }),
    );
    expect((await hsm.listPartitions()).map((p) => p.name)).not.toContain('tenant');
    const view = await hsm.governance.showRequest(id);
    expect(view.body.statement.params).toMatchObject({
      name: 'tenant',
      policy: { exportAllowed: true },
      timestampAlgorithm: 'ed25519',
    });
    expect(view.body.signer).toBe('device');
    await expectHsmRejection(hsm.executeRequest(id), 'request-not-approved');
    await approveAll(hsm, id, people);
    // The request creates what it names, not another partition.
    await expectHsmRejection(
      hsm.createPartition('other', {}, { request: id }),
      'request-not-approved',
    );
    const done = await hsm.executeRequest(id);
    expect(done.body.state).toBe('executed');
    const p = await hsm.partition('tenant');
    expect(p.policy.exportAllowed).toBe(true);
    expect((done.body.result as { partition: string }).partition).toBe(p.id);
    expect((await hsm.timestampSigner('tenant')).algorithm).toBe('ed25519');
    await expectHsmRejection(hsm.executeRequest(id), 'request-closed');
    expect((await hsm.verifyAudit()).ok).toBe(true);
  });

  it("enrols an officer, and someone else's approver key, through approved requests", async () => {
    await hsm.governance.setRule(undefined, 'officers.change', BOTH, OFFICER);
    const id = await requestOf(
      hsm.governance.addOfficer(pass('cid'), [{ role: 'auditor' }], OFFICER),
    );
    const view = await hsm.governance.showRequest(id);
    expect(view.body.statement.params).toMatchObject({
      officer: 'cid',
      roles: [{ role: 'auditor', partition: null }],
      credential: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown,
    });
    // The credential verifier is kept with the request, never shown.
    const stored = () =>
      withRawDb(
        d.storePath,
        (db) =>
          (
            db
              .prepare("SELECT body_json FROM governance WHERE kind = 'request' AND id = ?")
              .get(id) as { body_json: string }
          ).body_json,
      );
    expect(stored()).toContain('"escrow"');
    expect(JSON.stringify(view)).not.toContain('escrow');
    expect(JSON.stringify(view)).not.toContain('salt');
    await approveAll(hsm, id, people);
    await hsm.executeRequest(id);
    expect(stored()).not.toContain('"escrow"');
    // cid's passphrase is the one enrolled: his own session enrols his approver key.
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    const proof = sign(null, hsm.governance.enrollmentChallenge('cid', spki), privateKey);
    await expectHsmRejection(
      hsm.governance.enrollApprover('cid', spki, proof, {
        name: 'cid',
        passphrase: 'not the passphrase',
      }),
      'officer-auth-failed',
    );
    await hsm.governance.enrollApprover('cid', spki, proof, pass('cid'));
    // A device SO enrolling a key on someone else's behalf: a request that executes.
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const otherSpki = other.publicKey.export({ format: 'der', type: 'spki' });
    const otherProof = sign(
      'sha256',
      hsm.governance.enrollmentChallenge('cid', otherSpki),
      other.privateKey,
    );
    const enrol = await requestOf(
      hsm.governance.enrollApprover('cid', otherSpki, otherProof, OFFICER),
    );
    await approveAll(hsm, enrol, people);
    await hsm.executeRequest(enrol);
    expect(
      (await hsm.governance.approverKeys('cid')).filter((k) => k.body.revokedAt === null),
    ).toHaveLength(2);
  });

  it('lets one export of the log run per approved request', async () => {
    await hsm.governance.setRule(undefined, 'audit.export', BOTH, OFFICER);
    const id = await requestOf(hsm.exportAudit().next());
    await expectHsmRejection(hsm.exportAudit({ request: id }).next(), 'request-not-approved');
    await approveAll(hsm, id, people);
    await expectHsmRejection(hsm.executeRequest(id), 'invalid-argument');
    const entries = await drain(hsm.exportAudit({ request: id }));
    expect(entries.some((e) => e.action === 'approval.execute')).toBe(true);
    expect(entries.at(-1)?.action).toBe('approval.execute');
    await expectHsmRejection(hsm.exportAudit({ request: id }).next(), 'request-closed');
    // Lifting the rule needs the approvals it asks for: a rule change is guarded by itself.
    await expectHsmRejection(
      hsm.governance.setRule(undefined, 'audit.export', null, OFFICER),
      'approval-required',
    );
  });
});

// Governance rows edited in the store file behind the HSM (no master key): an edited body, an
// older copy of a row put back (an approver key un-revoked), and a deleted rule are each refused
// at use as integrity failures, never obeyed.
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createTestDevice, OFFICER } from '../../../helpers/hsm.js';
import { expectHsmRejection, withRawDb } from '../support.js';

const RULE = {
  timeoutSeconds: 600,
  alternatives: [{ groups: [{ members: ['so'], threshold: 1 }] }],
};

async function deviceWithApprover() {
  const d = await createTestDevice();
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const proof = sign('sha256', d.hsm.governance.enrollmentChallenge('so', spki), privateKey);
  const key = await d.hsm.governance.enrollApprover('so', spki, proof, OFFICER);
  return { ...d, key };
}

describe('governance rows edited in the store', () => {
  it('refuses a rule whose body was edited', async () => {
    const d = await deviceWithApprover();
    await d.hsm.governance.setRule(undefined, 'trash.purge', RULE, OFFICER);
    withRawDb(d.storePath, (db) =>
      db
        .prepare(
          "UPDATE governance SET body_json = replace(body_json, '\"threshold\":1', '\"threshold\":0') WHERE kind = 'rule'",
        )
        .run(),
    );
    await expectHsmRejection(d.hsm.governance.rule(undefined, 'trash.purge'), 'integrity-failed');
    await d.hsm.close();
  });

  it('refuses a deleted rule instead of running unguarded', async () => {
    const d = await deviceWithApprover();
    await d.hsm.governance.setRule(undefined, 'trash.purge', RULE, OFFICER);
    withRawDb(d.storePath, (db) => db.prepare("DELETE FROM governance WHERE kind = 'rule'").run());
    await expectHsmRejection(d.hsm.governance.rule(undefined, 'trash.purge'), 'integrity-failed');
    await d.hsm.close();
  });

  it('refuses a revoked approver key put back as it was before its revocation', async () => {
    const d = await deviceWithApprover();
    const before = withRawDb(d.storePath, (db) =>
      db.prepare("SELECT * FROM governance WHERE kind = 'approver-key'").get(),
    ) as Record<string, unknown>;
    await d.hsm.governance.revokeApprover(d.key, OFFICER);
    withRawDb(d.storePath, (db) =>
      db
        .prepare(
          "UPDATE governance SET body_json = ?, audit_seq = ?, mac = ? WHERE kind = 'approver-key'",
        )
        .run(before['body_json'], before['audit_seq'], before['mac']),
    );
    await expectHsmRejection(d.hsm.governance.approverKeys('so'), 'integrity-failed');
    await d.hsm.close();
  });

  it('still reads the rows it wrote itself', async () => {
    const d = await deviceWithApprover();
    await d.hsm.governance.setRule(undefined, 'trash.purge', RULE, OFFICER);
    expect((await d.hsm.governance.rule(undefined, 'trash.purge')).version).toBe(1);
    expect((await d.hsm.governance.approverKeys('so'))[0]?.body.revokedAt).toBeNull();
    await d.hsm.close();
  });
});

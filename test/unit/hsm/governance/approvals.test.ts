// The approval flow through the HSM with a real store and real signatures: officers and roles,
// approver keys enrolled with proof of possession, a guarded rule change that becomes a signed
// request, approvals, and one execution; and the adversarial cases, each with its error code.
import { generateKeyPairSync, sign, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { approvalBytes, requestBytes } from '../../../../src/hsm/governance/statement.js';
import type { Hsm } from '../../../../src/hsm/index.js';
import type { Clock } from '../../../../src/shared/index.js';
import { auditEntries, createTestDevice, OFFICER } from '../../../helpers/hsm.js';
import { expectHsmRejection } from '../support.js';

/** A clock the test moves. */
class TestClock implements Clock {
  constructor(public ms = Date.parse('2026-12-01T10:00:00Z')) {}
  now(): Date {
    return new Date(this.ms);
  }
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

interface Approver {
  readonly name: string;
  readonly key: KeyObject;
  readonly spki: Uint8Array;
  fingerprint: string;
}

function p256(name: string): Approver {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    name,
    key: privateKey,
    spki: publicKey.export({ format: 'der', type: 'spki' }),
    fingerprint: '',
  };
}

const pass = (name: string) => ({ name, passphrase: `passphrase of ${name}` });

describe('approvals', () => {
  let hsm: Hsm;
  let clock: TestClock;
  const people: Record<string, Approver> = {};

  async function enroll(a: Approver): Promise<void> {
    const proof = sign('sha256', hsm.governance.enrollmentChallenge(a.name, a.spki), a.key);
    a.fingerprint = await hsm.governance.enrollApprover(a.name, a.spki, proof, pass(a.name));
  }

  async function decide(id: string, a: Approver, decision: 'approve' | 'reject', key = a.key) {
    const view = await hsm.governance.showRequest(id);
    const bytes = approvalBytes(view.body.statement, decision, {
      principal: a.name,
      key: a.fingerprint,
    });
    return hsm.governance.decide(id, decision, a.fingerprint, sign('sha256', bytes, key));
  }

  /** Sets a rule on quorum.change (device): ann, bob, cat; 2 of 3 within an hour. */
  async function guardRuleChanges(extra: Record<string, unknown> = {}): Promise<void> {
    await hsm.governance.setRule(
      undefined,
      'quorum.change',
      {
        timeoutSeconds: 3600,
        alternatives: [{ groups: [{ name: 'so', members: ['ann', 'bob', 'cat'], threshold: 2 }] }],
        ...extra,
      },
      OFFICER,
    );
  }

  /** Tries a rule change as ann; returns the request it becomes. */
  async function requestChange(rule: unknown = null, operation = 'trash.purge'): Promise<string> {
    const e = await expectHsmRejection(
      hsm.governance.setRule(undefined, operation, rule, pass('ann')),
      'approval-required',
    );
    const id = e.details?.request;
    expect(typeof id).toBe('string');
    return id as string;
  }

  beforeEach(async () => {
    clock = new TestClock();
    ({ hsm } = await createTestDevice({ clock }));
    for (const n of ['ann', 'bob', 'cat']) {
      await hsm.governance.addOfficer(pass(n), [{ role: 'device-so' }], OFFICER);
      people[n] = p256(n);
      await enroll(people[n]);
    }
  }, 60_000);

  it('turns a guarded change into a signed request that runs once when 2 of 3 approve', async () => {
    await guardRuleChanges();
    const rule = {
      timeoutSeconds: 600,
      alternatives: [{ groups: [{ members: ['ann', 'bob'], threshold: 1 }] }],
    };
    const id = await requestChange(rule);
    const view = await hsm.governance.showRequest(id);
    expect(view.evaluation.state).toBe('pending');
    expect(view.body.statement).toMatchObject({ operation: 'quorum.set', requester: 'ann' });
    // The statement is signed by the device key (device scope) over the prefixed canonical bytes.
    expect(view.body.signer).toBe('device');
    const device = new X509Certificate(Buffer.from((await hsm.chain('default')).device));
    expect(
      verify(
        'sha384',
        requestBytes(view.body.statement),
        { key: device.publicKey, dsaEncoding: 'der' },
        Buffer.from(view.body.signature, 'hex'),
      ),
    ).toBe(true);

    await expectHsmRejection(hsm.executeRequest(id), 'request-not-approved');
    await decide(id, people.bob!, 'approve');
    await expectHsmRejection(hsm.executeRequest(id), 'request-not-approved');
    await decide(id, people.cat!, 'approve');
    const done = await hsm.executeRequest(id);
    expect(done.body.state).toBe('executed');
    expect((await hsm.governance.rule(undefined, 'trash.purge')).version).toBe(1);
    // Exactly once.
    await expectHsmRejection(hsm.executeRequest(id), 'request-closed');
    const log = await auditEntries(hsm);
    expect(log.filter((e) => e.action === 'approval.execute')).toHaveLength(1);
    expect((await hsm.verifyAudit()).ok).toBe(true);
  });

  it('lists requests as showing each alone does, reading each key, principal and rule once', async () => {
    await guardRuleChanges();
    const ids: string[] = [];
    for (const op of ['trash.purge', 'key.export', 'policy.change', 'officers.change']) {
      const id = await requestChange(null, op);
      await decide(id, people.bob!, 'approve');
      await decide(id, people.cat!, 'reject');
      ids.push(id);
    }
    const { ApproverKeys } = await import('../../../../src/hsm/governance/approvers.js');
    const { QuorumRules } = await import('../../../../src/hsm/governance/quorum.js');
    const { Roles } = await import('../../../../src/hsm/governance/roles.js');
    const keys = vi.spyOn(ApproverKeys.prototype, 'get');
    const rules = vi.spyOn(QuorumRules.prototype, 'get');
    const principals = vi.spyOn(Roles.prototype, 'principal');
    let listed: Awaited<ReturnType<typeof hsm.governance.listRequests>>;
    try {
      listed = await hsm.governance.listRequests();
      // Four requests, each with bob's and cat's decisions under the one quorum.change rule.
      expect(keys).toHaveBeenCalledTimes(2);
      expect(principals).toHaveBeenCalledTimes(2);
      expect(rules).toHaveBeenCalledTimes(1);
    } finally {
      keys.mockRestore();
      rules.mockRestore();
      principals.mockRestore();
    }
    expect(listed.map((v) => v.id).sort()).toEqual([...ids].sort());
    for (const v of listed) {
      expect(v).toStrictEqual(await hsm.governance.showRequest(v.id));
      expect(v.evaluation.state).toBe('rejected');
      expect(v.approvals.map((a) => a.principal).sort()).toEqual(['bob', 'cat']);
    }
  });

  it('refuses an approval replayed onto another request', async () => {
    await guardRuleChanges();
    const first = await requestChange();
    const second = await requestChange({
      timeoutSeconds: 60,
      alternatives: [{ groups: [{ members: ['bob'], threshold: 1 }] }],
    });
    const view = await hsm.governance.showRequest(first);
    const bytes = approvalBytes(view.body.statement, 'approve', {
      principal: 'bob',
      key: people.bob!.fingerprint,
    });
    const sig = sign('sha256', bytes, people.bob!.key);
    await hsm.governance.decide(first, 'approve', people.bob!.fingerprint, sig);
    await expectHsmRejection(
      hsm.governance.decide(second, 'approve', people.bob!.fingerprint, sig),
      'approval-signature-invalid',
    );
  });

  it('stops counting a revoked key, and refuses its new approvals', async () => {
    await guardRuleChanges();
    const id = await requestChange();
    await decide(id, people.bob!, 'approve');
    await decide(id, people.cat!, 'approve');
    // bob enrols a second key and revokes the first: his approval no longer counts.
    const spare = p256('bob');
    await enroll(spare);
    const old = people.bob!.fingerprint;
    await hsm.governance.revokeApprover(old, pass('bob'));
    await expectHsmRejection(hsm.executeRequest(id), 'request-not-approved');
    await expectHsmRejection(decide(id, people.bob!, 'approve'), 'approver-key-revoked');
  });

  it('counts one person with two keys once', async () => {
    await guardRuleChanges();
    const spare = p256('bob');
    await enroll(spare);
    const id = await requestChange();
    await decide(id, people.bob!, 'approve');
    await expectHsmRejection(decide(id, spare, 'approve'), 'approval-duplicate');
    await expectHsmRejection(hsm.executeRequest(id), 'request-not-approved');
  });

  it('refuses the requester approving their own request unless the rule counts them', async () => {
    await guardRuleChanges();
    const id = await requestChange();
    await expectHsmRejection(decide(id, people.ann!, 'approve'), 'approval-requester');
  });

  it('honours the time lock and the timeout by the guarded clock', async () => {
    await guardRuleChanges({
      alternatives: [
        { groups: [{ members: ['ann', 'bob', 'cat'], threshold: 2 }] },
        { groups: [{ members: ['ann', 'bob', 'cat'], threshold: 1 }], timeLockSeconds: 600 },
      ],
    });
    const id = await requestChange();
    await decide(id, people.bob!, 'approve');
    await expectHsmRejection(hsm.executeRequest(id), 'request-time-locked');
    clock.advance(601);
    expect((await hsm.executeRequest(id)).body.state).toBe('executed');

    const late = await requestChange({
      timeoutSeconds: 60,
      alternatives: [{ groups: [{ members: ['cat'], threshold: 1 }] }],
    });
    clock.advance(3601);
    await expectHsmRejection(decide(late, people.bob!, 'approve'), 'request-expired');
    await expectHsmRejection(hsm.executeRequest(late), 'request-expired');
  });

  it('refuses a request whose rule changed while it was pending', async () => {
    await guardRuleChanges();
    const id = await requestChange();
    // The guarded rule itself changes (through its own approved request).
    const other = await requestChange(null, 'quorum.change');
    await decide(other, people.bob!, 'approve');
    await decide(other, people.cat!, 'approve');
    await hsm.executeRequest(other);
    await decide(id, people.bob!, 'approve').catch(() => undefined);
    await expectHsmRejection(hsm.executeRequest(id), 'request-rule-changed');
  });

  it('lets a late reject veto a met request before it runs', async () => {
    await guardRuleChanges();
    const id = await requestChange();
    await decide(id, people.bob!, 'approve');
    await decide(id, people.cat!, 'reject');
    await expectHsmRejection(hsm.executeRequest(id), 'request-rejected');
  });

  it('runs a request once when two callers race to execute it', async () => {
    await guardRuleChanges();
    const id = await requestChange();
    await decide(id, people.bob!, 'approve');
    await decide(id, people.cat!, 'approve');
    const results = await Promise.allSettled([hsm.executeRequest(id), hsm.executeRequest(id)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const failed = results.find((r) => r.status === 'rejected');
    expect((failed as PromiseRejectedResult).reason).toMatchObject({ code: 'request-closed' });
    expect((await hsm.governance.rule(undefined, 'trash.purge')).version).toBe(1);
  });

  it('refuses a rule no key holder can meet, and a key revocation that would lock everyone out', async () => {
    await expectHsmRejection(
      hsm.governance.setRule(
        undefined,
        'quorum.change',
        {
          timeoutSeconds: 60,
          alternatives: [{ groups: [{ members: ['ann', 'dan'], threshold: 2 }] }],
        },
        OFFICER,
      ),
      'quorum-lockout',
    );
    await hsm.governance.setRule(
      undefined,
      'officers.change',
      {
        timeoutSeconds: 60,
        requesterCounts: true,
        alternatives: [{ groups: [{ members: ['ann'], threshold: 1 }] }],
      },
      OFFICER,
    );
    await expectHsmRejection(
      hsm.governance.revokeApprover(people.ann!.fingerprint, pass('ann')),
      'quorum-lockout',
    );
  });

  it('refuses an enrolment whose proof was made by another key, and a non-member approval', async () => {
    const mallory = p256('ann');
    const proof = sign(
      'sha256',
      hsm.governance.enrollmentChallenge('ann', people.bob!.spki),
      mallory.key,
    );
    await expectHsmRejection(
      hsm.governance.enrollApprover('ann', people.bob!.spki, proof, pass('ann')),
      'approver-proof-invalid',
    );
    await hsm.governance.setRule(
      undefined,
      'quorum.change',
      {
        timeoutSeconds: 600,
        alternatives: [{ groups: [{ members: ['ann', 'bob'], threshold: 1 }] }],
      },
      OFFICER,
    );
    const id = await requestChange();
    await expectHsmRejection(decide(id, people.cat!, 'approve'), 'approval-not-member');
  });

  it('names the role a principal lacks', async () => {
    await hsm.governance.addOfficer(pass('dan'), [], OFFICER);
    const e = await expectHsmRejection(
      hsm.governance.setRule(undefined, 'trash.purge', null, pass('dan')),
      'role-required',
    );
    expect(e.details).toMatchObject({
      operation: 'quorum.set',
      needs: 'device-so',
      scope: 'device',
      principal: 'dan',
    });
  });
});

// Officer and partition administration over the REST API: listing the principals and their
// roles, granting and revoking device and partition roles, excluding and including the device
// SO, and revoking (suspending) a partition; each success and refusal (the role and its code,
// an unknown partition, a quorum rule turning the call into a 202) checked against the document.
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call -- every answer is checked against the OpenAPI document by the client before a test reads its fields as plain JSON */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiFixture, type ApiFixture } from '../../helpers/api.js';
import { decideAs, officerWithKey, pass, type Approver } from '../../helpers/governance.js';
import { auditEntries, OFFICER } from '../../helpers/hsm.js';

let f: ApiFixture;
let so: string;
let pso: string;
let user: string;
let auditor: string;
let otherPso: string;
let ann: Approver;

const ruleOf = (members: readonly string[]) => ({
  timeoutSeconds: 3600,
  alternatives: [{ groups: [{ members, threshold: 1 }] }],
});

/** Runs `fn` under a device officers.change rule that ann meets, cleared after with ann's approval. */
async function withOfficersRule(fn: () => Promise<void>): Promise<void> {
  await f.hsm.governance.setRule(undefined, 'officers.change', ruleOf(['ann']), OFFICER);
  try {
    await fn();
  } finally {
    const clear = await f.hsm.governance
      .setRule(undefined, 'officers.change', null, OFFICER)
      .catch((e: unknown) => e);
    const id = (clear as { details?: { request?: string } }).details?.request;
    if (id !== undefined) {
      await decideAs(f.hsm, id, ann);
      await f.hsm.executeRequest(id);
    }
  }
}

beforeAll(async () => {
  f = await startApiFixture();
  await f.hsm.createPartition('p2');
  ann = await officerWithKey(f.hsm, 'ann', [{ role: 'device-so' }], OFFICER);
  await f.hsm.governance.addOfficer(pass('carol'), [], OFFICER);
  so = await f.token('api-so', ['device-so'], []);
  pso = await f.token('app-pso', ['pso'], ['default']);
  user = await f.token('app-user', ['crypto-user'], ['default']);
  auditor = await f.token('app-auditor', ['auditor'], ['*']);
  otherPso = await f.token('p2-pso', ['pso'], ['p2']);
}, 120_000);

afterAll(async () => {
  await f.close();
});

describe('listing officers', () => {
  it('lists the principals with their roles and approver keys for a device reader', async () => {
    const r = await f.request('GET', '/v1/officers', { token: auditor });
    expect(r.status).toBe(200);
    const names = r.json.officers.map((o: { name: string }) => o.name);
    expect(names).toEqual([...names].sort());
    expect(r.json.officers).toContainEqual(
      expect.objectContaining({
        name: 'ann',
        type: 'officer',
        state: 'active',
        roles: [{ role: 'device-so', partition: null }],
        approverKeys: 1,
      }),
    );
    expect(r.json.officers).toContainEqual(
      expect.objectContaining({ name: 'carol', roles: [], approverKeys: 0 }),
    );
  });

  it("limits a partition's reader to that partition, and refuses others", async () => {
    const device = await f.request('GET', '/v1/officers', { token: pso });
    expect([device.status, device.json.code]).toEqual([403, 'role-required']);
    expect(device.json.details).toMatchObject({ operation: 'officer.list', scope: 'device' });
    const refused = await f.request('GET', '/v1/officers', { token: user });
    expect([refused.status, refused.json.code]).toEqual([403, 'role-required']);
    const there = await f.request('GET', '/v1/officers?partition=p2', { token: pso });
    expect([there.status, there.json.code]).toEqual([403, 'role-required']);
    const unknown = await f.request('GET', '/v1/officers?partition=nope', { token: so });
    expect([unknown.status, unknown.json.code]).toEqual([404, 'partition-not-found']);
  });
});

describe('granting and revoking roles', () => {
  it('grants and revokes a device role as device-so; refuses a pso', async () => {
    const refused = await f.request('POST', '/v1/officers/carol/roles', {
      token: pso,
      json: { role: 'auditor' },
    });
    expect([refused.status, refused.json.code]).toEqual([403, 'role-required']);
    expect(refused.json.details).toMatchObject({ operation: 'role.grant', needs: 'device-so' });
    const r = await f.request('POST', '/v1/officers/carol/roles', {
      token: so,
      json: { role: 'auditor' },
    });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ principal: 'carol', role: 'auditor', partition: null });
    const listed = await f.request('GET', '/v1/officers', { token: so });
    expect(listed.json.officers).toContainEqual(
      expect.objectContaining({ name: 'carol', roles: [{ role: 'auditor', partition: null }] }),
    );
    const revoked = await f.request('DELETE', '/v1/officers/carol/roles/auditor', { token: so });
    expect(revoked.json).toEqual({ principal: 'carol', role: 'auditor', partition: null });
    const again = await f.request('DELETE', '/v1/officers/carol/roles/auditor', { token: so });
    expect([again.status, again.json.code]).toEqual([400, 'invalid-argument']);
  });

  it("grants a partition role as that partition's pso; refuses another partition's", async () => {
    const outside = await f.request('POST', '/v1/officers/carol/roles', {
      token: otherPso,
      json: { role: 'crypto-officer', partition: 'default' },
    });
    expect([outside.status, outside.json.code]).toEqual([403, 'role-required']);
    expect(outside.json.details).toMatchObject({ operation: 'role.grant.partition' });
    const r = await f.request('POST', '/v1/officers/carol/roles', {
      token: pso,
      json: { role: 'crypto-officer', partition: 'default' },
    });
    expect(r.json).toEqual({ principal: 'carol', role: 'crypto-officer', partition: 'default' });
    const mine = await f.request('GET', '/v1/officers?partition=default', { token: pso });
    expect(mine.json.officers).toEqual([
      expect.objectContaining({
        name: 'carol',
        roles: [{ role: 'crypto-officer', partition: 'default' }],
      }),
    ]);
    const revokeOutside = await f.request(
      'DELETE',
      '/v1/officers/carol/roles/crypto-officer?partition=default',
      { token: otherPso },
    );
    expect([revokeOutside.status, revokeOutside.json.code]).toEqual([403, 'role-required']);
    const revoked = await f.request(
      'DELETE',
      '/v1/officers/carol/roles/crypto-officer?partition=default',
      { token: pso },
    );
    expect(revoked.status).toBe(200);
    expect((await f.hsm.governance.officers('default')).some((o) => o.name === 'carol')).toBe(
      false,
    );
  });

  it('refuses an unknown partition (404), a role out of its scope and an unknown role (400)', async () => {
    const unknown = await f.request('POST', '/v1/officers/carol/roles', {
      token: so,
      json: { role: 'pso', partition: 'nope' },
    });
    expect([unknown.status, unknown.json.code]).toEqual([404, 'partition-not-found']);
    const revokeUnknown = await f.request('DELETE', '/v1/officers/carol/roles/pso?partition=nope', {
      token: so,
    });
    expect([revokeUnknown.status, revokeUnknown.json.code]).toEqual([404, 'partition-not-found']);
    const scope = await f.request('POST', '/v1/officers/carol/roles', {
      token: so,
      json: { role: 'pso' },
    });
    expect([scope.status, scope.json.code]).toEqual([400, 'invalid-argument']);
    const role = await f.request('POST', '/v1/officers/carol/roles', {
      token: so,
      json: { role: 'root' },
    });
    expect([role.status, role.json.code]).toEqual([400, 'api-invalid-request']);
    const nobody = await f.request('POST', '/v1/officers/nobody/roles', {
      token: so,
      json: { role: 'auditor' },
    });
    expect([nobody.status, nobody.json.code]).toEqual([400, 'invalid-argument']);
  });

  it('turns a grant under an officers.change rule into 202 + Location, executed once approved', async () => {
    await withOfficersRule(async () => {
      const r = await f.request('POST', '/v1/officers/carol/roles', {
        token: so,
        json: { role: 'auditor' },
      });
      expect(r.status).toBe(202);
      expect(r.headers.location).toBe(`/v1/approvals/${r.json.id}`);
      expect(r.json).toMatchObject({ state: 'pending', operation: 'role.grant' });
      expect(r.json.statement.params).toMatchObject({ principal: 'carol', role: 'auditor' });
      const revoke = await f.request('DELETE', '/v1/officers/ann/roles/device-so', { token: so });
      expect(revoke.status).toBe(202);
      expect(revoke.json.operation).toBe('role.revoke');
      await f.request('POST', `/v1/approvals/${revoke.json.id}/cancel`, { token: so });
      await decideAs(f.hsm, r.json.id, ann);
      const done = await f.request('POST', `/v1/approvals/${r.json.id}/execute`, { token: so });
      expect(done.json.state).toBe('executed');
      const carol = (await f.hsm.governance.officers()).find((o) => o.name === 'carol');
      expect(carol?.roles).toEqual([{ role: 'auditor', partition: null }]);
    });
  });
});

describe('excluding the device SO', () => {
  it("excludes and includes the device SO as the partition's pso; refuses the device SO", async () => {
    const bySo = await f.request('POST', '/v1/partitions/default/exclude-so', { token: so });
    expect([bySo.status, bySo.json.code]).toEqual([403, 'role-required']);
    expect(bySo.json.details).toMatchObject({ operation: 'partition.exclude-so' });
    const r = await f.request('POST', '/v1/partitions/default/exclude-so', { token: pso });
    expect(r.json).toEqual({ partition: 'default', soExcluded: true });
    // The device SO no longer administers the partition.
    const policy = await f.request('PATCH', '/v1/partitions/default/policy', {
      token: so,
      json: { exportAllowed: true },
    });
    expect([policy.status, policy.json.code]).toEqual([403, 'so-excluded']);
    const include = await f.request('POST', '/v1/partitions/default/include-so', { token: so });
    expect([include.status, include.json.code]).toEqual([403, 'role-required']);
    const back = await f.request('POST', '/v1/partitions/default/include-so', { token: pso });
    expect(back.json).toEqual({ partition: 'default', soExcluded: false });
    const unknown = await f.request('POST', '/v1/partitions/nope/exclude-so', { token: pso });
    expect([unknown.status, unknown.json.code]).toEqual([404, 'partition-not-found']);
  });

  it('turns an exclusion under an so.exclusion rule into 202', async () => {
    await f.hsm.governance.setRule('p2', 'so.exclusion', ruleOf(['ann']), OFFICER);
    const r = await f.request('POST', '/v1/partitions/p2/exclude-so', { token: otherPso });
    expect(r.status).toBe(202);
    expect(r.headers.location).toBe(`/v1/approvals/${r.json.id}`);
    expect(r.json.operation).toBe('partition.exclude-so');
    expect(await f.hsm.governance.soExcluded('p2')).toBe(false);
  });
});

describe('revoking a partition', () => {
  it('revokes as device-so with the reason, once; refuses a pso and an unknown partition', async () => {
    await f.hsm.createPartition('p3');
    const byPso = await f.request('POST', '/v1/partitions/p3/revoke', {
      token: await f.token('p3-pso', ['pso'], ['p3']),
      json: { reason: 'keyCompromise' },
    });
    expect([byPso.status, byPso.json.code]).toEqual([403, 'role-required']);
    expect(byPso.json.details).toMatchObject({ operation: 'partition.revoke', needs: 'device-so' });
    const r = await f.request('POST', '/v1/partitions/p3/revoke', {
      token: so,
      json: { reason: 'keyCompromise' },
    });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ partition: 'p3', reason: 'keyCompromise' });
    expect(r.json.revokedSerials).toHaveLength(2);
    const state = await f.hsm.revocationState();
    expect(state.revoked.map((x) => x.serial).sort()).toEqual([...r.json.revokedSerials].sort());
    const again = await f.request('POST', '/v1/partitions/p3/revoke', { token: so });
    expect([again.status, again.json.code]).toEqual([403, 'partition-revoked']);
    const unknown = await f.request('POST', '/v1/partitions/nope/revoke', { token: so });
    expect([unknown.status, unknown.json.code]).toEqual([404, 'partition-not-found']);
    const badReason = await f.request('POST', '/v1/partitions/p2/revoke', {
      token: so,
      json: { reason: 'removeFromCRL' },
    });
    expect([badReason.status, badReason.json.code]).toEqual([400, 'api-invalid-request']);
  });

  it('turns a revocation under a partition.suspend rule into 202, and revokes once approved', async () => {
    await f.hsm.governance.setRule('p2', 'partition.suspend', ruleOf(['ann']), OFFICER);
    const r = await f.request('POST', '/v1/partitions/p2/revoke', { token: so });
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ operation: 'partition.revoke', state: 'pending' });
    expect(r.json.statement.params).toMatchObject({ reason: 'unspecified' });
    const before = (await f.hsm.revocationState()).revoked.length;
    expect(before).toBe(2);
    await decideAs(f.hsm, r.json.id, ann);
    const done = await f.request('POST', `/v1/approvals/${r.json.id}/execute`, { token: so });
    expect(done.json.state).toBe('executed');
    expect((await f.hsm.revocationState()).revoked.length).toBe(4);
  });
});

describe('API principals and local officers of the same name', () => {
  it("gives a token whose sub is a local officer's name only the roles of its claims", async () => {
    // ann is a local device-so; a token for sub ann with no roles is not her.
    const bare = await f.token('ann', [], []);
    const list = await f.request('GET', '/v1/officers', { token: bare });
    expect([list.status, list.json.code]).toEqual([403, 'role-required']);
    expect(list.json.details).toMatchObject({ principal: 'jwt:ann' });
    const grant = await f.request('POST', '/v1/officers/carol/roles', {
      token: bare,
      json: { role: 'crypto-user', partition: 'default' },
    });
    expect([grant.status, grant.json.code]).toEqual([403, 'role-required']);
    expect(grant.json.details).toMatchObject({
      operation: 'role.grant.partition',
      principal: 'jwt:ann',
    });
    const entries = (await auditEntries(f.hsm)).filter(
      (e) => e.action === 'api.request' && e.details.operation === 'grantRole',
    );
    expect(entries.at(-1)).toMatchObject({ actor: 'jwt:ann', outcome: 'refused' });
    expect(entries.some((e) => e.actor === 'ann')).toBe(false);
    // With the role in its claims, the token acts, under its own name.
    const granted = await f.token('ann', ['pso'], ['default']);
    const ok = await f.request('POST', '/v1/officers/carol/roles', {
      token: granted,
      json: { role: 'crypto-user', partition: 'default' },
    });
    expect(ok.status).toBe(200);
    const logged = (await auditEntries(f.hsm)).filter((e) => e.action === 'role.grant').at(-1);
    expect(logged?.actor).toBe('jwt:ann');
  });

  it("does not let the token read, cancel or execute the officer's requests", async () => {
    await withOfficersRule(async () => {
      const e = await f.hsm.governance
        .grantRole('carol', 'auditor', undefined, pass('ann'))
        .catch((x: unknown) => x as { code?: string; details?: { request?: string } });
      expect((e as { code?: string }).code).toBe('approval-required');
      const id = (e as { details?: { request?: string } }).details!.request!;
      expect((await f.hsm.governance.showRequest(id)).body.statement.requester).toBe('ann');
      const bare = await f.token('ann', ['crypto-user'], ['default']);
      const read = await f.request('GET', `/v1/approvals/${id}`, { token: bare });
      expect([read.status, read.json.code]).toEqual([403, 'role-required']);
      const listed = await f.request('GET', '/v1/approvals', { token: bare });
      expect(listed.json.approvals.map((a: { id: string }) => a.id)).not.toContain(id);
      const cancel = await f.request('POST', `/v1/approvals/${id}/cancel`, { token: bare });
      expect([cancel.status, cancel.json.code]).toEqual([403, 'role-required']);
      const exec = await f.request('POST', `/v1/approvals/${id}/execute`, { token: bare });
      expect([exec.status, exec.json.code]).toEqual([403, 'role-required']);
      expect((await f.hsm.governance.showRequest(id)).body.state).toBe('pending');
      await f.hsm.governance.cancel(id, pass('ann'));
    });
  });

  it("checks a token requester's request against its own credential, never the officer's roles", async () => {
    await withOfficersRule(async () => {
      const token = await f.token('ann', ['device-so'], []);
      const r = await f.request('POST', '/v1/officers/carol/roles', {
        token,
        json: { role: 'auditor' },
      });
      expect(r.status).toBe(202);
      expect(r.json.requester).toBe('jwt:ann');
      // The local officer ann is another principal: her approval counts for jwt:ann's request.
      await decideAs(f.hsm, r.json.id, ann);
      // Executed by the local operator, the requester's roles come from the role table, where
      // jwt:ann has none (the officer ann's device-so is not hers).
      const e = await f.hsm.executeRequest(r.json.id).catch((x: unknown) => x as { code?: string });
      expect((e as { code?: string }).code).toBe('role-required');
      const done = await f.request('POST', `/v1/approvals/${r.json.id}/execute`, { token });
      expect(done.json.state).toBe('executed');
    });
  });
});

// Principals authenticated outside the HSM (the REST API's JWT and mTLS callers): roles and
// partition scope from their credential, checked against the GOVERNED table; quorum rules still
// turn a guarded call into an approval request they are the requester of, and only their own
// credential re-proves their roles when the approved request executes.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { approvalBytes } from '../../../../src/hsm/governance/statement.js';
import {
  HSM_ERROR_CLASS,
  presentedName,
  presentedRole,
  type Hsm,
  type PresentedPrincipal,
} from '../../../../src/hsm/index.js';
import { auditEntries, createTestDevice, OFFICER } from '../../../helpers/hsm.js';
import { expectHsmRejection } from '../support.js';

const presented = (
  principal: string,
  roles: PresentedPrincipal['roles'],
  partitions: readonly string[] = ['default'],
): { presented: PresentedPrincipal } => ({
  presented: { principal: presentedName('jwt', principal), roles, partitions, via: 'jwt' },
});

describe('presentedRole', () => {
  const p: PresentedPrincipal = {
    principal: 'app',
    roles: ['pso', 'auditor'],
    partitions: ['a'],
    via: 'jwt',
  };
  it('holds partition roles only in the named partitions, device roles on the device', () => {
    expect(presentedRole(p, ['pso'], 'a')).toBe('pso');
    expect(presentedRole(p, ['pso'], 'b')).toBeUndefined();
    expect(presentedRole(p, ['pso'], undefined)).toBeUndefined();
    // A partition's auditor reads that partition, never the whole device.
    expect(presentedRole(p, ['auditor'], 'a')).toBe('auditor');
    expect(presentedRole(p, ['auditor'], undefined)).toBeUndefined();
    expect(presentedRole({ ...p, partitions: ['*'] }, ['auditor'], undefined)).toBe('auditor');
    expect(presentedRole(p, ['device-so'], undefined)).toBeUndefined();
  });
  it("holds device-so everywhere and '*' names every partition", () => {
    const so: PresentedPrincipal = { ...p, roles: ['device-so'], partitions: [] };
    expect(presentedRole(so, ['pso', 'device-so'], 'x')).toBe('device-so');
    const all: PresentedPrincipal = { ...p, roles: ['crypto-officer'], partitions: ['*'] };
    expect(presentedRole(all, ['crypto-officer'], 'anything')).toBe('crypto-officer');
  });
});

describe('every HsmError code', () => {
  it('has one class', () => {
    expect(Object.keys(HSM_ERROR_CLASS).length).toBeGreaterThan(50);
    expect(HSM_ERROR_CLASS['approval-required']).toBe('approval-required');
    expect(HSM_ERROR_CLASS['role-required']).toBe('refused');
  });
});

describe('governed calls by a presented principal', () => {
  let hsm: Hsm;
  let bob: { key: KeyObject; fingerprint: string };

  beforeAll(async () => {
    ({ hsm } = await createTestDevice());
    await hsm.setPartitionPolicy('default', { exportAllowed: true }, OFFICER);
    await hsm.governance.addOfficer(
      { name: 'bob', passphrase: 'passphrase of bob' },
      [{ role: 'device-so' }],
      OFFICER,
    );
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    const proof = sign('sha256', hsm.governance.enrollmentChallenge('bob', spki), privateKey);
    bob = {
      key: privateKey,
      fingerprint: await hsm.governance.enrollApprover('bob', spki, proof, OFFICER),
    };
  }, 60_000);

  it('refuses a principal without the role, or with it in another partition', async () => {
    const e = await expectHsmRejection(
      hsm.setPartitionPolicy('default', { importAllowed: true }, presented('app', ['crypto-user'])),
      'role-required',
    );
    expect(e.details).toMatchObject({ operation: 'partition.policy', principal: 'jwt:app' });
    await expectHsmRejection(
      hsm.setPartitionPolicy('default', { importAllowed: true }, presented('app', ['pso'], ['x'])),
      'role-required',
    );
    expect((await hsm.partition('default')).policy.importAllowed).toBe(false);
  });

  it('refuses a presented principal whose name is not qualified by its verification', async () => {
    for (const principal of ['so', 'mtls:so', 'jwt:', 'cli:so']) {
      const e = await expectHsmRejection(
        hsm.setPartitionPolicy(
          'default',
          { importAllowed: true },
          { presented: { principal, roles: ['device-so'], partitions: ['*'], via: 'jwt' } },
        ),
        'invalid-argument',
      );
      expect(e.details).toMatchObject({ field: 'principal' });
    }
    await expectHsmRejection(
      hsm.governance.cancel('00000000-0000-4000-8000-000000000000', {
        presented: { principal: 'so', roles: ['device-so'], partitions: ['*'], via: 'mtls' },
      }),
      'invalid-argument',
    );
    expect((await hsm.partition('default')).policy.importAllowed).toBe(false);
  });

  it('allows a principal whose credential grants the role in the partition, and logs it', async () => {
    const info = await hsm.setPartitionPolicy(
      'default',
      { importAllowed: true },
      presented('app-pso', ['pso']),
    );
    expect(info.policy.importAllowed).toBe(true);
    const last = (await auditEntries(hsm)).filter((e) => e.action === 'partition.policy').at(-1);
    expect(last?.actor).toBe('jwt:app-pso');
  });

  it('needs the role for an export too (it is not the local operator)', async () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 3072 });
    const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
    await hsm.generateKey('default', { label: 'ex1', algorithm: 'ecdsa-p256', extractable: true });
    await expectHsmRejection(
      hsm.exportKey(
        'default',
        'ex1',
        { kind: 'rsa-aes-kwp', spki },
        presented('app', ['crypto-user']),
      ),
      'role-required',
    );
    const wrapped = await hsm.exportKey(
      'default',
      'ex1',
      { kind: 'rsa-aes-kwp', spki },
      presented('app-co', ['crypto-officer']),
    );
    expect(wrapped.length).toBeGreaterThan(384);
  });

  it('turns a guarded call into a request it requested; only its own credential executes it', async () => {
    await hsm.governance.setRule(
      'default',
      'trash.restore',
      { timeoutSeconds: 3600, alternatives: [{ groups: [{ members: ['bob'], threshold: 1 }] }] },
      OFFICER,
    );
    await hsm.generateKey('default', { label: 'gone', algorithm: 'ecdsa-p256' });
    await hsm.deleteKey('default', 'gone');
    const who = presented('app-pso', ['pso']);
    const e = await expectHsmRejection(hsm.restoreKey('default', 'gone', who), 'approval-required');
    const id = String(e.details?.request);
    const view = await hsm.governance.showRequest(id);
    expect(view.body.statement.requester).toBe('jwt:app-pso');
    const bytes = approvalBytes(view.body.statement, 'approve', {
      principal: 'bob',
      key: bob.fingerprint,
    });
    await hsm.governance.decide(id, 'approve', bob.fingerprint, sign('sha256', bytes, bob.key));
    // Without the requester's credential its roles are looked up in the table: it has none.
    await expectHsmRejection(hsm.executeRequest(id), 'role-required');
    // With a credential that no longer grants the role: refused.
    await expectHsmRejection(
      hsm.executeRequest(id, presented('app-pso', ['crypto-user']).presented),
      'role-required',
    );
    const done = await hsm.executeRequest(id, who.presented);
    expect(done.body.state).toBe('executed');
    expect((await hsm.key('default', 'gone')).state).toBe('active');
  });

  it('lets the requester cancel its request and refuses another principal without a role', async () => {
    await hsm.deleteKey('default', 'gone');
    const who = presented('app-pso', ['pso']);
    const e = await expectHsmRejection(hsm.restoreKey('default', 'gone', who), 'approval-required');
    const id = String(e.details?.request);
    await expectHsmRejection(
      hsm.governance.cancel(id, presented('other', ['crypto-user'])),
      'role-required',
    );
    await hsm.governance.cancel(id, who);
    expect((await hsm.governance.showRequest(id)).body.state).toBe('cancelled');
  });

  it('appends an api.request entry naming the principal', async () => {
    await hsm.recordAccess({
      actor: 'app',
      outcome: 'success',
      details: { method: 'GET', route: '/v1/device', status: 200 },
    });
    const last = (await auditEntries(hsm)).at(-1);
    expect(last).toMatchObject({ actor: 'app', action: 'api.request', outcome: 'success' });
    expect(last?.details).toMatchObject({ route: '/v1/device', status: 200 });
  });
});

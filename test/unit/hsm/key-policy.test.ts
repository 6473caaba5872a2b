// Per-key approval policies (Smart Key Attributes) with a real store and real signatures: a key
// under a use rule signs only through a request whose statement holds the data, exactly once;
// block, unblock and modify under their rules; the policy in the key's attestation evidence;
// the partition's requirement of a use rule; an edited policy in the store file refused.
import { constants, createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inspectEvidence } from '../../../src/attestation/index.js';
import { Hsm } from '../../../src/hsm/index.js';
import { KEY_CLAIMS, parseEvidence } from '../../../src/pki/index.js';
import {
  decideAs,
  officerWithKey,
  requestOf,
  TestClock,
  type Approver,
} from '../../helpers/governance.js';
import { auditEntries, createTestDevice, OFFICER, type TestDevice } from '../../helpers/hsm.js';
import { expectHsmRejection, withRawDb } from './support.js';

/** ann, bob and cid: supervisors with approver keys (crypto officers of the partition). */
async function supervisors(hsm: Hsm): Promise<Record<string, Approver>> {
  const out: Record<string, Approver> = {};
  for (const n of ['ann', 'bob', 'cid']) {
    out[n] = await officerWithKey(
      hsm,
      n,
      [{ role: 'crypto-officer', partition: 'default' }],
      OFFICER,
    );
  }
  return out;
}

const approve = decideAs;

/** Two of the three supervisors within an hour. */
const TWO_OF_THREE = {
  timeoutSeconds: 3600,
  alternatives: [
    { groups: [{ name: 'supervisors', members: ['ann', 'bob', 'cid'], threshold: 2 }] },
  ],
};

const DATA = new Uint8Array(Buffer.from('release 4.2.0 manifest', 'utf8'));

function verifiesWith(spki: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  return verify('sha256', data, { key, dsaEncoding: 'der' }, signature);
}

describe('per-key approval policies', () => {
  let d: TestDevice;
  let hsm: Hsm;
  let people: Record<string, Approver>;

  beforeEach(async () => {
    d = await createTestDevice({ clock: new TestClock() });
    hsm = d.hsm;
    people = await supervisors(hsm);
  }, 60_000);

  afterEach(async () => {
    await hsm.close();
  });

  it('signs without approvals when the key has no use rule, and verifies', async () => {
    const key = await hsm.generateKey('default', { label: 'plain', algorithm: 'ecdsa-p256' });
    const { signature } = await hsm.sign('default', 'plain', { data: DATA });
    expect(verifiesWith(key.spki, DATA, signature)).toBe(true);
    expect(await hsm.verify('default', 'plain', { data: DATA }, signature)).toBe(true);
    const other = new Uint8Array(DATA);
    other[0] = (other[0] ?? 0) ^ 1;
    expect(await hsm.verify('default', 'plain', { data: other }, signature)).toBe(false);
    const entry = (await auditEntries(hsm)).find((e) => e.action === 'key.sign');
    expect(entry?.outcome).toBe('success');
    expect(entry?.details).toMatchObject({ label: 'plain', mode: 'data', bytes: DATA.length });
  });

  it('signs under a use rule only through a request holding the data, exactly once', async () => {
    const key = await hsm.generateKey('default', {
      label: 'ca',
      algorithm: 'ecdsa-p256',
      policy: { use: TWO_OF_THREE },
    });
    expect(key.attributes.policy?.version).toBe(1);
    const id = await requestOf(hsm.sign('default', 'ca', { data: DATA }));
    const view = await hsm.governance.showRequest(id);
    expect(view.body.statement.operation).toBe('key.sign');
    expect(view.body.statement.params).toMatchObject({
      key: key.id,
      label: 'ca',
      data: Buffer.from(DATA).toString('hex'),
    });
    expect(view.body.statement.rules).toEqual([
      expect.objectContaining({ scope: `key:${key.id}`, operation: 'key.use', version: 1 }),
    ]);
    // One approval is not enough.
    await approve(hsm, id, people.ann!);
    await expectHsmRejection(hsm.executeRequest(id), 'request-not-approved');
    // The approved request signs only what its statement holds.
    await approve(hsm, id, people.bob!);
    await expectHsmRejection(
      hsm.sign('default', 'ca', { data: new Uint8Array([1, 2, 3]) }, { request: id }),
      'request-not-approved',
    );
    const done = await hsm.executeRequest(id);
    expect(done.body.state).toBe('executed');
    const result = done.body.result as { signature: string; key: string };
    expect(result.key).toBe(key.id);
    expect(verifiesWith(key.spki, DATA, Buffer.from(result.signature, 'hex'))).toBe(true);
    await expectHsmRejection(hsm.executeRequest(id), 'request-closed');
    const signs = (await auditEntries(hsm)).filter(
      (e) => e.action === 'key.sign' && e.outcome === 'success',
    );
    expect(signs).toHaveLength(1);
    expect((await hsm.verifyAudit()).ok).toBe(true);
  });

  it('signs a digest through a request that holds the digest (RSA-PSS), verified over the data', async () => {
    const key = await hsm.generateKey('default', {
      label: 'pss',
      algorithm: 'rsa-pss-3072',
      policy: { use: TWO_OF_THREE },
    });
    const digest = new Uint8Array(createHash('sha256').update(DATA).digest());
    const id = await requestOf(hsm.sign('default', 'pss', { digest }));
    const view = await hsm.governance.showRequest(id);
    expect(view.body.statement.params).toMatchObject({
      digest: Buffer.from(digest).toString('hex'),
    });
    expect(view.body.statement.params).not.toHaveProperty('data');
    await approve(hsm, id, people.cid!);
    await approve(hsm, id, people.ann!);
    const done = await hsm.executeRequest(id);
    const signature = Buffer.from((done.body.result as { signature: string }).signature, 'hex');
    const pub = createPublicKey({ key: Buffer.from(key.spki), format: 'der', type: 'spki' });
    expect(
      verify(
        'sha256',
        DATA,
        { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
        signature,
      ),
    ).toBe(true);
    expect(await hsm.verify('default', 'pss', { digest }, signature)).toBe(true);
    expect(await hsm.verify('default', 'pss', { data: DATA }, signature)).toBe(true);
  });

  it('refuses a request whose key policy changed meanwhile (the rule version it names)', async () => {
    await hsm.generateKey('default', {
      label: 'mod',
      algorithm: 'ecdsa-p256',
      modifiable: true,
      policy: { use: TWO_OF_THREE },
    });
    const signing = await requestOf(hsm.sign('default', 'mod', { data: DATA }));
    // With no modify rule the use rule guards the change of the policy.
    const change = await requestOf(
      hsm.setKeyPolicy('default', 'mod', { use: { ...TWO_OF_THREE, requesterCounts: false } }),
    );
    await approve(hsm, change, people.ann!);
    await approve(hsm, change, people.cid!);
    await hsm.executeRequest(change);
    expect((await hsm.key('default', 'mod')).attributes.policy?.version).toBe(2);
    // Approvals still come in, but the request names version 1 of a policy now at version 2.
    await approve(hsm, signing, people.ann!);
    await approve(hsm, signing, people.bob!);
    await expectHsmRejection(hsm.executeRequest(signing), 'request-rule-changed');
  });

  it('a key made not modifiable keeps its policy for good, and no request is made for it', async () => {
    await hsm.generateKey('default', {
      label: 'fixed',
      algorithm: 'ecdsa-p256',
      policy: { use: TWO_OF_THREE },
    });
    await expectHsmRejection(hsm.setKeyPolicy('default', 'fixed', null), 'key-not-modifiable');
    expect(await hsm.governance.listRequests()).toEqual([]);
    expect((await hsm.key('default', 'fixed')).attributes.policy?.use).toBeDefined();
  });

  it('without a modify rule, a policy change needs every rule the policy has', async () => {
    await hsm.generateKey('default', {
      label: 'u',
      algorithm: 'ecdsa-p256',
      modifiable: true,
      policy: { unblock: TWO_OF_THREE },
    });
    const id = await requestOf(hsm.setKeyPolicy('default', 'u', null));
    const view = await hsm.governance.showRequest(id);
    expect(view.body.statement.rules.map((r) => r.operation)).toEqual(['key.unblock']);
    // A blocked key's policy does not change at all: unblock it first.
    await hsm.blockKey('default', 'u');
    await expectHsmRejection(hsm.setKeyPolicy('default', 'u', null), 'key-blocked');
    // The request made before the block names the policy version of then: still valid, but
    // refused at execution while the key is blocked.
    await approve(hsm, id, people.ann!);
    await approve(hsm, id, people.bob!);
    await expectHsmRejection(hsm.executeRequest(id), 'key-blocked');
  });

  it('deletes a key with a policy only under its modify rule, through an approved request', async () => {
    const ONE_OF_ANN = {
      timeoutSeconds: 3600,
      alternatives: [{ groups: [{ members: ['ann'], threshold: 1 }] }],
    };
    const key = await hsm.generateKey('default', {
      label: 'guarded',
      algorithm: 'ecdsa-p256',
      policy: { use: TWO_OF_THREE, modify: ONE_OF_ANN },
    });
    const id = await requestOf(hsm.deleteKey('default', 'guarded'));
    const view = await hsm.governance.showRequest(id);
    expect(view.body.statement.operation).toBe('key.delete');
    expect(view.body.statement.params).toMatchObject({ label: 'guarded', policyVersion: 1 });
    expect(view.body.statement.rules.map((r) => [r.scope, r.operation])).toEqual([
      [`key:${key.id}`, 'key.modify'],
    ]);
    // Not deleted until approved: still active and usable through its use rule.
    expect((await hsm.key('default', 'guarded')).state).toBe('active');
    await expectHsmRejection(hsm.executeRequest(id), 'request-not-approved');
    await approve(hsm, id, people.ann!);
    const done = await hsm.executeRequest(id);
    expect(done.body.result).toEqual({ key: key.id, destroyed: false });
    expect((await hsm.key('default', 'guarded')).state).toBe('invalidated');
    // Once is all: the request is closed.
    await expectHsmRejection(hsm.executeRequest(id), 'request-closed');
  });

  it('without a modify rule, deleting a key needs every rule its policy has; a key without one deletes at once', async () => {
    await hsm.generateKey('default', {
      label: 'used',
      algorithm: 'ecdsa-p256',
      policy: { use: TWO_OF_THREE, block: TWO_OF_THREE },
    });
    const id = await requestOf(hsm.deleteKey('default', 'used'));
    const view = await hsm.governance.showRequest(id);
    expect(view.body.statement.rules.map((r) => r.operation)).toEqual(['key.use', 'key.block']);
    await approve(hsm, id, people.ann!);
    await approve(hsm, id, people.bob!);
    await hsm.executeRequest(id);
    expect((await hsm.key('default', 'used')).state).toBe('invalidated');
    await hsm.generateKey('default', { label: 'free', algorithm: 'ecdsa-p256' });
    expect((await hsm.deleteKey('default', 'free'))?.state).toBe('invalidated');
  });

  it('refuses a deletion request made under an older version of the key policy', async () => {
    await hsm.generateKey('default', {
      label: 'moving',
      algorithm: 'ecdsa-p256',
      modifiable: true,
      policy: { use: TWO_OF_THREE },
    });
    const deletion = await requestOf(hsm.deleteKey('default', 'moving'));
    const change = await requestOf(
      hsm.setKeyPolicy('default', 'moving', { use: { ...TWO_OF_THREE, timeoutSeconds: 600 } }),
    );
    await approve(hsm, change, people.ann!);
    await approve(hsm, change, people.cid!);
    await hsm.executeRequest(change);
    await approve(hsm, deletion, people.ann!);
    await approve(hsm, deletion, people.bob!);
    await expectHsmRejection(hsm.executeRequest(deletion), 'request-rule-changed');
    expect((await hsm.key('default', 'moving')).state).toBe('active');
  });

  it('hands out no signer for a key under a use rule, nor for one that cannot sign', async () => {
    await hsm.generateKey('default', {
      label: 'ca',
      algorithm: 'ecdsa-p256',
      policy: { use: TWO_OF_THREE },
    });
    await expectHsmRejection(hsm.signer('default', 'ca'), 'approval-required');
    await hsm.generateKey('default', { label: 'v', algorithm: 'ecdsa-p256', purposes: ['verify'] });
    await expectHsmRejection(hsm.signer('default', 'v'), 'key-purpose-denied');
    // A use rule given later stops a signer made before.
    await hsm.generateKey('default', { label: 'm', algorithm: 'ecdsa-p256', modifiable: true });
    const signer = await hsm.signer('default', 'm');
    expect((await signer.sign(DATA)).length).toBeGreaterThan(60);
    await hsm.setKeyPolicy('default', 'm', { use: TWO_OF_THREE });
    await expectHsmRejection(signer.sign(DATA), 'approval-required');
  });

  it('exports a key under a use rule only through a request (wrapped under an RSA key)', async () => {
    await hsm.createPartition('exp', { policy: { exportAllowed: true } });
    await hsm.generateKey('exp', {
      label: 'x',
      algorithm: 'ecdsa-p256',
      extractable: true,
      policy: { use: TWO_OF_THREE },
    });
    const aes = await expectHsmRejection(
      hsm.exportKey('exp', 'x', { kind: 'aes-kwp', key: new Uint8Array(32) }),
      'invalid-argument',
    );
    expect(aes.details?.field).toBe('wrapping');
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 3072 });
    const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
    const id = await requestOf(hsm.exportKey('exp', 'x', { kind: 'rsa-aes-kwp', spki }));
    const view = await hsm.governance.showRequest(id);
    expect(view.body.statement.rules.map((r) => `${r.scope}/${r.operation}`)).toEqual([
      `key:${(await hsm.key('exp', 'x')).id}/key.use`,
    ]);
  });

  it('refuses a key row put back as it was before a block or a policy change', async () => {
    await hsm.generateKey('default', {
      label: 'r',
      algorithm: 'ecdsa-p256',
      modifiable: true,
    });
    const saved = withRawDb(d.storePath, (db) =>
      db.prepare("SELECT * FROM keys WHERE label = 'r'").get(),
    ) as Record<string, unknown>;
    await hsm.setKeyPolicy('default', 'r', { use: TWO_OF_THREE });
    await hsm.close();
    withRawDb(d.storePath, (db) => {
      db.prepare(
        "UPDATE keys SET attributes_json = ?, state = ?, audit_seq = ?, mac = ? WHERE label = 'r'",
      ).run(saved['attributes_json'], saved['state'], saved['audit_seq'], saved['mac']);
    });
    hsm = await Hsm.open(d.storePath, d.masterKey, { clock: new TestClock() });
    await expectHsmRejection(hsm.sign('default', 'r', { data: DATA }), 'integrity-failed');
  });

  it('blocks and unblocks under the rules of the key policy', async () => {
    await hsm.generateKey('default', {
      label: 'b',
      algorithm: 'ecdsa-p256',
      policy: { unblock: TWO_OF_THREE },
    });
    const blocked = await hsm.blockKey('default', 'b');
    expect(blocked.state).toBe('blocked');
    await expectHsmRejection(hsm.sign('default', 'b', { data: DATA }), 'key-blocked');
    await expectHsmRejection(hsm.deleteKey('default', 'b'), 'key-blocked');
    await expectHsmRejection(hsm.blockKey('default', 'b'), 'key-blocked');
    expect((await hsm.listKeys('default', { state: 'blocked' })).map((k) => k.label)).toEqual([
      'b',
    ]);
    const id = await requestOf(hsm.unblockKey('default', 'b'));
    await approve(hsm, id, people.bob!);
    await approve(hsm, id, people.cid!);
    await hsm.executeRequest(id);
    expect((await hsm.key('default', 'b')).state).toBe('active');
    await expectHsmRejection(hsm.unblockKey('default', 'b'), 'key-not-blocked');
    const { signature } = await hsm.sign('default', 'b', { data: DATA });
    expect(verifiesWith((await hsm.key('default', 'b')).spki, DATA, signature)).toBe(true);
  });

  it('a reject vetoes a signing request', async () => {
    await hsm.generateKey('default', {
      label: 'v',
      algorithm: 'ecdsa-p256',
      policy: { use: TWO_OF_THREE },
    });
    const id = await requestOf(hsm.sign('default', 'v', { data: DATA }));
    await approve(hsm, id, people.ann!);
    await approve(hsm, id, people.bob!, 'reject');
    await approve(hsm, id, people.cid!);
    await expectHsmRejection(hsm.executeRequest(id), 'request-rejected');
  });

  it('puts the policy in the attestation evidence, which the verifier reports', async () => {
    const key = await hsm.generateKey('default', {
      label: 'ev',
      algorithm: 'ecdsa-p256',
      policy: { use: TWO_OF_THREE },
    });
    const plain = await hsm.generateKey('default', { label: 'pl', algorithm: 'ecdsa-p256' });
    const claimOf = (evidence: Uint8Array) =>
      parseEvidence(evidence)
        .tbs.elements.flatMap((e) => e.claims)
        .find((c) => c.oid === KEY_CLAIMS.approvalPolicy.oid);
    const evidence = await hsm.attestKey('default', 'ev', { nonce: new Uint8Array([7]) });
    expect(claimOf(evidence)).toBeDefined();
    expect(claimOf(await hsm.attestKey('default', 'pl'))).toBeUndefined();
    const device = await hsm.device();
    const report = await inspectEvidence(evidence, {
      anchors: { certificates: [device.rootCertificate] },
      at: new Date('2026-12-01T10:00:00Z'),
      allowSoftware: true,
      expectSpki: key.spki,
    });
    expect(report.outcome).toBe('verified');
    const [claims] = report.claims['keys'] as { approvalPolicy?: string; keyState: string }[];
    expect(claims?.keyState).toBe('active');
    const policy = JSON.parse(claims?.approvalPolicy ?? 'null') as {
      use: { alternatives: { groups: { threshold: number; members: string[] }[] }[] };
    };
    expect(policy.use.alternatives[0]!.groups[0]).toMatchObject({
      threshold: 2,
      members: ['ann', 'bob', 'cid'],
    });
    expect(plain.attributes.policy).toBeUndefined();
  });

  it('refuses a key without a use rule where the partition requires one', async () => {
    await hsm.createPartition('strict', { policy: { keyUseRuleRequired: true } });
    await expectHsmRejection(
      hsm.generateKey('strict', { label: 'k', algorithm: 'ecdsa-p256' }),
      'policy-key-rule-required',
    );
    await expectHsmRejection(
      hsm.generateKey('strict', {
        label: 'k',
        algorithm: 'ecdsa-p256',
        policy: { block: TWO_OF_THREE },
      }),
      'policy-key-rule-required',
    );
    const ok = await hsm.generateKey('strict', {
      label: 'k',
      algorithm: 'ecdsa-p256',
      policy: { use: TWO_OF_THREE },
    });
    expect(ok.attributes.policy?.use).toBeDefined();
  });

  it('refuses a policy nobody can meet, an unknown rule name and a malformed rule', async () => {
    await expectHsmRejection(
      hsm.generateKey('default', {
        label: 'x',
        algorithm: 'ecdsa-p256',
        policy: {
          use: {
            timeoutSeconds: 60,
            alternatives: [{ groups: [{ members: ['nobody', 'ann'], threshold: 2 }] }],
          },
        },
      }),
      'quorum-lockout',
    );
    const unknown = await expectHsmRejection(
      hsm.generateKey('default', {
        label: 'x',
        algorithm: 'ecdsa-p256',
        policy: { sign: TWO_OF_THREE } as never,
      }),
      'quorum-rule-invalid',
    );
    expect(unknown.details?.field).toBe('policy.sign');
    await expectHsmRejection(
      hsm.generateKey('default', {
        label: 'x',
        algorithm: 'ecdsa-p256',
        policy: { use: { ...TWO_OF_THREE, timeoutSeconds: 0 } },
      }),
      'quorum-rule-invalid',
    );
    expect((await hsm.listKeys('default')).map((k) => k.label)).not.toContain('x');
  });

  it("refuses the partition's own keys, a key without the sign purpose, a bad digest", async () => {
    await expectHsmRejection(
      hsm.sign('default', 'partition-attestation', { data: DATA }),
      'system-key',
    );
    await hsm.generateKey('default', {
      label: 'enc',
      algorithm: 'ecdsa-p256',
      purposes: ['verify'],
    });
    await expectHsmRejection(hsm.sign('default', 'enc', { data: DATA }), 'key-purpose-denied');
    await hsm.generateKey('default', { label: 'ed', algorithm: 'ed25519' });
    const e = await expectHsmRejection(
      hsm.sign('default', 'ed', { digest: new Uint8Array(32) }),
      'invalid-argument',
    );
    expect(e.details?.field).toBe('digest');
    await hsm.generateKey('default', { label: 'p', algorithm: 'ecdsa-p256' });
    const short = await expectHsmRejection(
      hsm.sign('default', 'p', { digest: new Uint8Array(20) }),
      'invalid-argument',
    );
    expect(short.details).toMatchObject({ field: 'digest', expected: '32 bytes' });
  });

  it('refuses to sign with a key whose policy was removed in the store file', async () => {
    await hsm.generateKey('default', {
      label: 'ca',
      algorithm: 'ecdsa-p256',
      policy: { use: TWO_OF_THREE },
    });
    await hsm.close();
    withRawDb(d.storePath, (db) => {
      const row = db.prepare("SELECT attributes_json FROM keys WHERE label = 'ca'").get() as {
        attributes_json: string;
      };
      const attrs = JSON.parse(row.attributes_json) as Record<string, unknown>;
      delete attrs['policy'];
      db.prepare("UPDATE keys SET attributes_json = ? WHERE label = 'ca'").run(
        JSON.stringify(attrs),
      );
    });
    hsm = await Hsm.open(d.storePath, d.masterKey, { clock: new TestClock() });
    await expectHsmRejection(hsm.sign('default', 'ca', { data: DATA }), 'integrity-failed');
  });
});

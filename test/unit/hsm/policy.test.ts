// Deletion through the trash (invalidation), officer-only restore and purge, immediate
// destruction when invalidation is off, system keys, and read-only partitions.
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../../src/shared/index.js';
import { createTestDevice, OFFICER, type TestDevice } from '../../helpers/hsm.js';
import { expectHsmRejection, MESSAGE, verifySignature } from './support.js';

const NOW = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
const WRONG_OFFICER = { name: OFFICER.name, passphrase: 'wrong passphrase' } as const;

describe('invalidation (delete to the trash)', () => {
  let d: TestDevice;

  beforeAll(async () => {
    d = await createTestDevice({ clock: fixedClock(NOW) });
  });

  afterAll(async () => {
    await d.hsm.close();
  });

  it('moves a deleted key to the trash: listed, invalidated, unusable', async () => {
    const info = await d.hsm.generateKey('default', { label: 'k', algorithm: 'ecdsa-p256' });
    const early = await d.hsm.signer('default', 'k');
    expect(verifySignature('ecdsa-p256', info.spki, MESSAGE, await early.sign(MESSAGE))).toBe(true);

    const deleted = await d.hsm.deleteKey('default', 'k');
    expect(deleted).toBeDefined();
    expect(deleted?.state).toBe('invalidated');
    expect(deleted?.invalidatedAt).toEqual(NOW);
    expect(deleted?.id).toBe(info.id);
    expect((await d.hsm.key('default', 'k')).state).toBe('invalidated');
    expect((await d.hsm.listKeys('default')).map((k) => k.label)).toContain('k');
    expect((await d.hsm.listKeys('default', { state: 'invalidated' })).map((k) => k.label)).toEqual(
      ['k'],
    );
    expect(
      (await d.hsm.listKeys('default', { state: 'active' })).map((k) => k.label),
    ).not.toContain('k');

    // A signer obtained before the delete stops working, and the promise rejects.
    await expectHsmRejection(early.sign(MESSAGE), 'key-invalidated');
    // A new signer is refused outright.
    await expectHsmRejection(d.hsm.signer('default', 'k'), 'key-invalidated');
    // Deleting again is refused; the label stays taken.
    await expectHsmRejection(d.hsm.deleteKey('default', 'k'), 'key-invalidated');
    await expectHsmRejection(
      d.hsm.generateKey('default', { label: 'k', algorithm: 'ed25519' }),
      'key-exists',
    );
  });

  it('restores only with an authenticated officer', async () => {
    await expectHsmRejection(d.hsm.restoreKey('default', 'k', undefined), 'officer-required');
    await expectHsmRejection(
      d.hsm.restoreKey('default', 'k', WRONG_OFFICER),
      'officer-auth-failed',
    );
    await expectHsmRejection(
      d.hsm.restoreKey('default', 'k', { name: 'intruder', passphrase: OFFICER.passphrase }),
      'officer-auth-failed',
    );
    expect((await d.hsm.key('default', 'k')).state).toBe('invalidated');

    const restored = await d.hsm.restoreKey('default', 'k', OFFICER);
    expect(restored.state).toBe('active');
    expect(restored.invalidatedAt).toBeUndefined();
    expect(await d.hsm.key('default', 'k')).toEqual(restored);
    const sig = await (await d.hsm.signer('default', 'k')).sign(MESSAGE);
    expect(verifySignature('ecdsa-p256', restored.spki, MESSAGE, sig)).toBe(true);

    await expectHsmRejection(d.hsm.restoreKey('default', 'k', OFFICER), 'key-not-invalidated');
  });

  it('purges only an invalidated key and only with an officer', async () => {
    const info = await d.hsm.generateKey('default', { label: 'p', algorithm: 'ed25519' });
    const early = await d.hsm.signer('default', 'p');
    await expectHsmRejection(d.hsm.purgeKey('default', 'p', OFFICER), 'key-not-invalidated');
    expect((await d.hsm.key('default', 'p')).state).toBe('active');

    await d.hsm.deleteKey('default', 'p');
    await expectHsmRejection(d.hsm.purgeKey('default', 'p', undefined), 'officer-required');
    await expectHsmRejection(d.hsm.purgeKey('default', 'p', WRONG_OFFICER), 'officer-auth-failed');
    expect((await d.hsm.key('default', 'p')).state).toBe('invalidated');

    await d.hsm.purgeKey('default', 'p', OFFICER);
    await expectHsmRejection(d.hsm.key('default', 'p'), 'key-not-found');
    await expectHsmRejection(d.hsm.signer('default', 'p'), 'key-not-found');
    await expectHsmRejection(d.hsm.restoreKey('default', 'p', OFFICER), 'key-not-found');
    await expectHsmRejection(d.hsm.purgeKey('default', 'p', OFFICER), 'key-not-found');
    expect((await d.hsm.listKeys('default')).map((k) => k.id)).not.toContain(info.id);
    await expectHsmRejection(early.sign(MESSAGE), 'key-invalidated');

    // The label is free again, for a different key.
    const again = await d.hsm.generateKey('default', { label: 'p', algorithm: 'ed25519' });
    expect(again.id).not.toBe(info.id);
    expect(again.spki).not.toEqual(info.spki);
  });

  it('refuses to delete the partition keys or a non-destroyable key', async () => {
    await expectHsmRejection(d.hsm.deleteKey('default', 'partition-timestamp'), 'system-key');
    await expectHsmRejection(d.hsm.deleteKey('default', 'partition-attestation'), 'system-key');
    expect((await d.hsm.key('default', 'partition-timestamp')).state).toBe('active');
    await d.hsm.generateKey('default', {
      label: 'keeper',
      algorithm: 'ed25519',
      destroyable: false,
    });
    await expectHsmRejection(d.hsm.deleteKey('default', 'keeper'), 'key-not-destroyable');
    expect((await d.hsm.key('default', 'keeper')).state).toBe('active');
  });

  it('destroys at once when an officer turns invalidation off', async () => {
    await expectHsmRejection(
      d.hsm.setPartitionPolicy('default', { invalidation: false }, undefined),
      'officer-required',
    );
    expect((await d.hsm.partition('default')).policy.invalidation).toBe(true);
    await d.hsm.generateKey('default', { label: 'trash', algorithm: 'ed25519' });
    await d.hsm.deleteKey('default', 'trash');

    const p = await d.hsm.setPartitionPolicy('default', { invalidation: false }, OFFICER);
    expect(p.policy.invalidation).toBe(false);
    await d.hsm.generateKey('default', { label: 'now', algorithm: 'ed25519' });
    const early = await d.hsm.signer('default', 'now');
    expect(await d.hsm.deleteKey('default', 'now')).toBeUndefined();
    await expectHsmRejection(d.hsm.key('default', 'now'), 'key-not-found');
    await expectHsmRejection(early.sign(MESSAGE), 'key-invalidated');
    // A key already in the trash stays there until purged.
    await expectHsmRejection(d.hsm.deleteKey('default', 'trash'), 'key-invalidated');
    await d.hsm.purgeKey('default', 'trash', OFFICER);
    await expectHsmRejection(d.hsm.key('default', 'trash'), 'key-not-found');

    await d.hsm.setPartitionPolicy('default', { invalidation: true }, OFFICER);
  });
});

describe('read-only partitions', () => {
  let d: TestDevice;
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pkcs8 = new Uint8Array(ec.privateKey.export({ type: 'pkcs8', format: 'der' }));

  beforeAll(async () => {
    d = await createTestDevice();
    await d.hsm.createPartition('ro', { policy: { importAllowed: true } });
    await d.hsm.generateKey('ro', { label: 'live', algorithm: 'ecdsa-p256' });
    await d.hsm.generateKey('ro', { label: 'binned', algorithm: 'ecdsa-p256' });
    await d.hsm.deleteKey('ro', 'binned');
  });

  afterAll(async () => {
    await d.hsm.close();
  });

  it('can only be set by an officer', async () => {
    await expectHsmRejection(
      d.hsm.setPartitionPolicy('ro', { readOnly: true }, undefined),
      'officer-required',
    );
    await expectHsmRejection(
      d.hsm.setPartitionPolicy('ro', { readOnly: true }, WRONG_OFFICER),
      'officer-auth-failed',
    );
    expect((await d.hsm.partition('ro')).policy.readOnly).toBe(false);
    const p = await d.hsm.setPartitionPolicy('ro', { readOnly: true }, OFFICER);
    expect(p.policy).toEqual({
      exportAllowed: false,
      importAllowed: true,
      invalidation: true,
      readOnly: true,
      keyUseRuleRequired: false,
    });
  });

  it('refuses generate, import, delete, restore and purge', async () => {
    const before = await d.hsm.listKeys('ro');
    await expectHsmRejection(
      d.hsm.generateKey('ro', { label: 'new', algorithm: 'ed25519' }),
      'policy-read-only',
    );
    await expectHsmRejection(d.hsm.importKey('ro', { label: 'imp', pkcs8 }), 'policy-read-only');
    await expectHsmRejection(d.hsm.deleteKey('ro', 'live'), 'policy-read-only');
    await expectHsmRejection(d.hsm.restoreKey('ro', 'binned', OFFICER), 'policy-read-only');
    await expectHsmRejection(d.hsm.purgeKey('ro', 'binned', OFFICER), 'policy-read-only');
    expect(await d.hsm.listKeys('ro')).toEqual(before);
  });

  it('still signs with existing keys', async () => {
    const info = await d.hsm.key('ro', 'live');
    const sig = await (await d.hsm.signer('ro', 'live')).sign(MESSAGE);
    expect(verifySignature('ecdsa-p256', info.spki, MESSAGE, sig)).toBe(true);
    const ts = await (await d.hsm.timestampSigner('ro')).sign(MESSAGE);
    expect(
      verifySignature(
        'ecdsa-p256',
        (await d.hsm.key('ro', 'partition-timestamp')).spki,
        MESSAGE,
        ts,
      ),
    ).toBe(true);
  });

  it('does not affect other partitions', async () => {
    const k = await d.hsm.generateKey('default', { label: 'free', algorithm: 'ed25519' });
    expect(k.state).toBe('active');
  });

  it('can be lifted by an officer, after which changes work again', async () => {
    await expectHsmRejection(
      d.hsm.setPartitionPolicy('ro', { readOnly: false }, undefined),
      'officer-required',
    );
    expect(
      (await d.hsm.setPartitionPolicy('ro', { readOnly: false }, OFFICER)).policy.readOnly,
    ).toBe(false);
    expect((await d.hsm.generateKey('ro', { label: 'new', algorithm: 'ed25519' })).state).toBe(
      'active',
    );
    expect((await d.hsm.importKey('ro', { label: 'imp', pkcs8 })).attributes.origin).toBe(
      'imported',
    );
    expect((await d.hsm.restoreKey('ro', 'binned', OFFICER)).state).toBe('active');
    expect((await d.hsm.deleteKey('ro', 'live'))?.state).toBe('invalidated');
    await d.hsm.purgeKey('ro', 'live', OFFICER);
    await expectHsmRejection(d.hsm.key('ro', 'live'), 'key-not-found');
  });
});

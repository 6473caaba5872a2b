// Governance test helpers: a clock the test moves, officers with approver keys enrolled by
// proof of possession, approvals signed over the bytes the HSM asks for, and the request id of
// a call that became an approval request.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { expect } from 'vitest';
import { approvalBytes } from '../../src/hsm/governance/statement.js';
import type { Hsm, OfficerCredential } from '../../src/hsm/index.js';
import type { Clock } from '../../src/shared/index.js';
import { expectHsmRejection } from '../unit/hsm/support.js';

/** A clock the test moves. */
export class TestClock implements Clock {
  constructor(public ms = Date.parse('2026-12-01T10:00:00Z')) {}
  now(): Date {
    return new Date(this.ms);
  }
}

export interface Approver {
  readonly name: string;
  readonly key: KeyObject;
  readonly fingerprint: string;
}

/** The session credential of a test officer. */
export const pass = (name: string): OfficerCredential => ({
  name,
  passphrase: `passphrase of ${name}`,
});

/** Signs bytes as the approver's key type signs (Ed25519 pure, ECDSA and RSA over SHA-256). */
function signAs(key: KeyObject, bytes: Uint8Array): Uint8Array {
  return sign(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', bytes, key);
}

/** Enrols an officer with roles and an approver key of its own (P-256 or Ed25519). */
export async function officerWithKey(
  hsm: Hsm,
  name: string,
  roles: readonly { role: string; partition?: string }[],
  by: OfficerCredential,
  keyType: 'p256' | 'ed25519' = 'p256',
): Promise<Approver> {
  await hsm.governance.addOfficer(pass(name), roles, by);
  const { privateKey, publicKey } =
    keyType === 'ed25519'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const proof = signAs(privateKey, hsm.governance.enrollmentChallenge(name, spki));
  const fingerprint = await hsm.governance.enrollApprover(name, spki, proof, pass(name));
  return { name, key: privateKey, fingerprint };
}

/** The approver's signed decision on the request, over the bytes the HSM asks for. */
export async function decideAs(
  hsm: Hsm,
  id: string,
  a: Approver,
  decision: 'approve' | 'reject' = 'approve',
): Promise<unknown> {
  const view = await hsm.governance.showRequest(id);
  const bytes = approvalBytes(view.body.statement, decision, {
    principal: a.name,
    key: a.fingerprint,
  });
  return hsm.governance.decide(id, decision, a.fingerprint, signAs(a.key, bytes));
}

/** The id of the approval request a guarded call was turned into. */
export async function requestOf(p: Promise<unknown>): Promise<string> {
  const e = await expectHsmRejection(p, 'approval-required');
  expect(typeof e.details?.request).toBe('string');
  return e.details?.request as string;
}

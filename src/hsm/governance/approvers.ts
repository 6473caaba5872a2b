// Approver keys: a principal's public keys that approvals are signed with, enrolled only with
// a proof of possession (a signature over bytes binding the device, the principal and the key),
// revoked for good. One principal may hold several keys; an approval counts the principal once.
import {
  approverKey,
  verifyApproverSignature,
  type ApproverAlgorithm,
} from '../mechanisms/approver.js';
import type { JsonObject } from '../../shared/index.js';
import type { Core } from '../core.js';
import { HsmError } from '../errors.js';
import type { StoreReader, StoreTx } from '../store/device-store.js';
import type { GovernanceObject, GovernanceObjects } from './objects.js';
import { enrollmentBytes } from './statement.js';

export interface ApproverKeyBody extends JsonObject {
  readonly principal: string;
  readonly algorithm: ApproverAlgorithm;
  /** DER SubjectPublicKeyInfo, hex. */
  readonly spki: string;
  readonly enrolledAt: string;
  readonly revokedAt: string | null;
}

/** The bytes a key holder signs to enrol the key for a principal on this device. */
export function enrollmentChallenge(core: Core, principal: string, spki: Uint8Array): Uint8Array {
  return enrollmentBytes(core.deviceId, principal, readApproverKey(spki).fingerprint);
}

function readApproverKey(spki: Uint8Array): ReturnType<typeof approverKey> {
  try {
    return approverKey(spki);
  } catch (error) {
    throw new HsmError(
      'approver-key-unsupported',
      'approver keys are ECDSA P-256, Ed25519 or RSA of at least 3072 bits (PSS), as DER or PEM public keys',
      { cause: error },
    );
  }
}

export class ApproverKeys {
  constructor(
    private readonly core: Core,
    private readonly objects: GovernanceObjects,
  ) {}

  get(r: StoreReader, fingerprint: string): Promise<GovernanceObject<ApproverKeyBody> | undefined> {
    return this.objects.get<ApproverKeyBody>(r, 'approver-key', fingerprint);
  }

  async ofPrincipal(
    r: StoreReader,
    principal: string,
  ): Promise<GovernanceObject<ApproverKeyBody>[]> {
    return (await this.objects.list<ApproverKeyBody>(r, 'approver-key')).filter(
      (k) => k.body.principal === principal,
    );
  }

  /** Principals holding at least one unrevoked key. */
  async able(r: StoreReader): Promise<Set<string>> {
    const keys = await this.objects.list<ApproverKeyBody>(r, 'approver-key');
    return new Set(keys.filter((k) => k.body.revokedAt === null).map((k) => k.body.principal));
  }

  /** Enrols a key after checking the proof of possession, inside `tx`. */
  async enroll(
    tx: StoreTx,
    at: Date,
    principal: string,
    spki: Uint8Array,
    proof: Uint8Array,
    actor?: string,
  ): Promise<GovernanceObject<ApproverKeyBody>> {
    const info = readApproverKey(spki);
    if (
      !verifyApproverSignature(
        info.spki,
        enrollmentBytes(this.core.deviceId, principal, info.fingerprint),
        proof,
      )
    ) {
      throw new HsmError(
        'approver-proof-invalid',
        'the proof of possession is not a signature by this key over its enrolment bytes',
        { details: { principal, key: info.fingerprint } },
      );
    }
    if ((await this.get(tx, info.fingerprint)) !== undefined) {
      throw new HsmError(
        'invalid-argument',
        'this approver key is enrolled already (keys are never re-enrolled)',
        {
          details: { field: 'key', key: info.fingerprint },
        },
      );
    }
    return this.objects.put<ApproverKeyBody>(
      tx,
      at,
      'approver-key',
      info.fingerprint,
      'device',
      {
        principal,
        algorithm: info.algorithm,
        spki: Buffer.from(info.spki).toString('hex'),
        enrolledAt: at.toISOString(),
        revokedAt: null,
      },
      {
        action: 'approver.enroll',
        actor,
        details: { principal, key: info.fingerprint, algorithm: info.algorithm },
      },
    );
  }

  /** Revokes a key for good, inside `tx`. */
  async revoke(tx: StoreTx, at: Date, fingerprint: string, actor?: string): Promise<void> {
    const previous = await this.get(tx, fingerprint);
    if (previous === undefined) {
      throw new HsmError('approver-key-unknown', 'no approver key with that fingerprint', {
        details: { key: fingerprint.slice(0, 64) },
      });
    }
    if (previous.body.revokedAt !== null) return;
    await this.objects.put<ApproverKeyBody>(
      tx,
      at,
      'approver-key',
      fingerprint,
      'device',
      { ...previous.body, revokedAt: at.toISOString() },
      {
        action: 'approver.revoke',
        actor,
        details: { principal: previous.body.principal, key: fingerprint },
      },
      previous,
    );
  }
}

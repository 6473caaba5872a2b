// The CLI's exit code of every HsmError code, now derived from the one classification of the
// codes (src/hsm/error-classes.ts): the same codes as the table it replaced, and the REST API's
// statuses from the same classes (a client's fault never 5xx).
import { describe, expect, it } from 'vitest';
import { HSM_CLASS_STATUS } from '../../../src/api/index.js';
import { EXIT } from '../../../src/cli/exit-codes.js';
import { exitCodeFor } from '../../../src/cli/error-exit.js';
import { HSM_ERROR_CLASS, HsmError, type HsmErrorCode } from '../../../src/hsm/index.js';
import { PkiError } from '../../../src/pki/index.js';
import { AttestampError } from '../../../src/shared/index.js';
import { TsaError } from '../../../src/tsa/index.js';

/** The exit codes of the table that mapped codes one by one, before the classes. */
const BEFORE: readonly (readonly [HsmErrorCode, number])[] = [
  ['store-not-found', EXIT.notFound],
  ['store-exists', EXIT.exists],
  ['store-corrupt', EXIT.integrity],
  ['store-no-space', EXIT.noSpace],
  ['store-permission', EXIT.cantWrite],
  ['store-busy', EXIT.busy],
  ['store-unavailable', EXIT.failure],
  ['schema-too-new', EXIT.failure],
  ['master-key-missing', EXIT.auth],
  ['master-key-wrong', EXIT.auth],
  ['factory-not-found', EXIT.notFound],
  ['factory-invalid', EXIT.dataError],
  ['factory-passphrase-wrong', EXIT.auth],
  ['factory-passphrase-missing', EXIT.auth],
  ['csr-rejected', EXIT.failure],
  ['partition-not-found', EXIT.notFound],
  ['partition-exists', EXIT.exists],
  ['key-not-found', EXIT.notFound],
  ['key-exists', EXIT.exists],
  ['key-invalidated', EXIT.refused],
  ['key-not-invalidated', EXIT.refused],
  ['key-not-destroyable', EXIT.refused],
  ['key-not-extractable', EXIT.refused],
  ['system-key', EXIT.refused],
  ['policy-read-only', EXIT.refused],
  ['policy-export-denied', EXIT.refused],
  ['policy-import-denied', EXIT.refused],
  ['officer-required', EXIT.auth],
  ['officer-auth-failed', EXIT.auth],
  ['unwrap-failed', EXIT.dataError],
  ['decrypt-failed', EXIT.dataError],
  ['key-usage-exhausted', EXIT.refused],
  ['key-expired', EXIT.refused],
  ['partition-revoked', EXIT.refused],
  ['integrity-failed', EXIT.integrity],
  ['audit-head-mismatch', EXIT.rollback],
  ['quorum-rule-invalid', EXIT.dataError],
  ['quorum-lockout', EXIT.refused],
  ['role-required', EXIT.refused],
  ['key-blocked', EXIT.refused],
  ['key-not-blocked', EXIT.refused],
  ['key-not-modifiable', EXIT.refused],
  ['key-purpose-denied', EXIT.refused],
  ['policy-key-rule-required', EXIT.refused],
  ['approval-required', EXIT.pending],
  ['approval-signature-invalid', EXIT.refused],
  ['approval-not-member', EXIT.refused],
  ['approval-duplicate', EXIT.exists],
  ['approval-requester', EXIT.refused],
  ['approver-key-unknown', EXIT.notFound],
  ['approver-key-revoked', EXIT.refused],
  ['approver-key-unsupported', EXIT.dataError],
  ['approver-proof-invalid', EXIT.refused],
  ['request-not-found', EXIT.notFound],
  ['request-closed', EXIT.refused],
  ['request-expired', EXIT.refused],
  ['request-rejected', EXIT.refused],
  ['request-time-locked', EXIT.pending],
  ['request-not-approved', EXIT.pending],
  ['request-rule-changed', EXIT.refused],
  ['so-excluded', EXIT.refused],
  ['invalid-argument', EXIT.usage],
  ['backup-invalid', EXIT.dataError],
  ['backup-domain-unknown', EXIT.refused],
  ['backup-rollback', EXIT.rollback],
  ['backup-source-mismatch', EXIT.refused],
  ['backup-keys-protected', EXIT.refused],
  ['transport-key-unknown', EXIT.refused],
  ['transport-certificate-invalid', EXIT.dataError],
  ['migration-receipt-invalid', EXIT.dataError],
  ['partition-migrated', EXIT.refused],
];

describe('HsmError exit codes', () => {
  it('are those of the former per-code table, for every code', async () => {
    expect(BEFORE.map(([c]) => c).sort()).toEqual(Object.keys(HSM_ERROR_CLASS).sort());
    for (const [code, exit] of BEFORE) {
      expect(await exitCodeFor(new HsmError(code, 'x')), code).toBe(exit);
    }
  });
});

describe('HsmError HTTP statuses', () => {
  it("are 4xx for every class that is the caller's fault, 202-able approval, 5xx only for the HSM", () => {
    const serverSide = new Set([
      'operator-secret',
      'integrity',
      'rollback',
      'no-space',
      'cant-write',
      'busy',
      'unavailable',
      'internal',
    ]);
    for (const [cls, status] of Object.entries(HSM_CLASS_STATUS)) {
      if (serverSide.has(cls)) expect(status, cls).toBeGreaterThanOrEqual(500);
      else expect(status, cls).toBeLessThan(500);
    }
    expect(HSM_CLASS_STATUS['not-found']).toBe(404);
    expect(HSM_CLASS_STATUS.refused).toBe(403);
    expect(EXIT.pending).toBe(7);
  });
});

describe('exit codes of the other modules', () => {
  it('follow the module the error comes from, and only a real one of its errors', async () => {
    expect(await exitCodeFor(new TsaError('archive-integrity', 'x'))).toBe(EXIT.integrity);
    expect(await exitCodeFor(new TsaError('policy-unaccepted', 'x'))).toBe(EXIT.refused);
    expect(await exitCodeFor(new PkiError('der-invalid', 'x'))).toBe(EXIT.dataError);
    expect(await exitCodeFor(new Error('x'))).toBe(EXIT.failure);
    // An error that only borrows the name of the HSM's is not taken for one.
    class HsmErrorLookAlike extends AttestampError {}
    const lookAlike = new HsmErrorLookAlike('store-not-found', 'x');
    Object.defineProperty(lookAlike, 'name', { value: 'HsmError' });
    expect(await exitCodeFor(lookAlike)).toBe(EXIT.failure);
  });
});

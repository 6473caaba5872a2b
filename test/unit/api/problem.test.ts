// The HTTP status of the backup refusals: each a 4xx problem with its code (a client's fault is
// never a 5xx), backup-rollback a 409 by its own entry although its class (rollback) is a 500.
import { describe, expect, it } from 'vitest';
import { HSM_CODE_STATUS, statusOf } from '../../../src/api/index.js';
import { HsmError, type HsmErrorCode } from '../../../src/hsm/index.js';
import { CanonicalJsonError } from '../../../src/shared/index.js';
import { problemOf } from '../../../src/api/problem.js';

const BACKUP: readonly [HsmErrorCode, number][] = [
  ['backup-invalid', 422],
  ['backup-domain-unknown', 403],
  ['transport-key-unknown', 403],
  ['transport-certificate-invalid', 422],
  ['backup-rollback', 409],
  ['backup-source-mismatch', 403],
  ['backup-keys-protected', 403],
  ['migration-receipt-invalid', 422],
  ['partition-migrated', 403],
];

describe('backup problem statuses', () => {
  it.each(BACKUP)('%s is %i', (code, status) => {
    expect(statusOf(new HsmError(code, 'x'))).toBe(status);
  });

  it('overrides only codes that are a client fault, and only with a 4xx', () => {
    for (const [code, status] of Object.entries(HSM_CODE_STATUS)) {
      expect(status, code).toBeGreaterThanOrEqual(400);
      expect(status, code).toBeLessThan(500);
    }
    // The store's own rollback stays a server failure.
    expect(statusOf(new HsmError('audit-head-mismatch', 'x'))).toBe(500);
  });
});

describe('a value past the canonical JSON limits', () => {
  it('is a 422 problem with its code (a bundle too large to escrow in a request), not a 500', () => {
    const { problem, expected } = problemOf(new CanonicalJsonError('json-invalid', 'too long'));
    expect(expected).toBe(true);
    expect(problem).toMatchObject({ status: 422, code: 'json-invalid', detail: 'too long' });
  });
});

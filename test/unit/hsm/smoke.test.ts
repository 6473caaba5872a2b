import { describe, expect, it } from 'vitest';
import { createTestDevice } from '../../helpers/hsm.js';

describe('smoke', () => {
  it('initialises a device with a default partition', async () => {
    const d = await createTestDevice();
    const parts = d.hsm.listPartitions();
    expect(parts.map((p) => p.name)).toEqual(['default']);
    const keys = d.hsm.listKeys('default');
    expect(keys.map((k) => k.label).sort()).toEqual([
      'partition-attestation',
      'partition-timestamp',
    ]);
    expect(d.hsm.verifyAudit().ok).toBe(true);
    d.hsm.close();
  });
});

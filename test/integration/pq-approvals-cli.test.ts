// An approval request on a device whose key is ML-DSA-44: `approvals show` checks the HSM's
// signature over the statement with the key of the device certificate, read by src/pki (OpenSSL
// under Node 20 cannot read an ML-DSA key), and reports it verified.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createFactory, Hsm } from '../../src/hsm/index.js';
import { systemClock } from '../../src/shared/index.js';
import { runCli } from '../helpers/cli.js';
import { officerWithKey, pass, requestOf } from '../helpers/governance.js';
import { OFFICER } from '../helpers/hsm.js';
import { tempDir } from '../helpers/tmp.js';

let cwd: string;
let requestId: string;
const masterKey = randomBytes(32);

beforeAll(async () => {
  cwd = tempDir();
  const factory = await createFactory(join(cwd, 'factory'), {
    algorithm: 'ml-dsa-44',
    clock: systemClock,
  });
  mkdirSync(join(cwd, 'data'), { mode: 0o700 });
  const hsm = await Hsm.init({
    path: join(cwd, 'data', 'attestamp.sqlite'),
    masterKey: { kind: 'key', key: masterKey },
    factory,
    deviceAlgorithm: 'ml-dsa-44',
    officer: OFFICER,
  });
  try {
    await officerWithKey(hsm, 'ann', [{ role: 'device-so' }], OFFICER);
    await officerWithKey(hsm, 'bob', [{ role: 'device-so' }], OFFICER);
    await hsm.governance.setRule(
      undefined,
      'quorum.change',
      {
        timeoutSeconds: 3600,
        alternatives: [{ groups: [{ members: ['ann', 'bob'], threshold: 1 }] }],
      },
      OFFICER,
    );
    // Now a rule change is a request, signed by the device key.
    requestId = await requestOf(
      hsm.governance.setRule(undefined, 'trash.purge', null, pass('ann')),
    );
  } finally {
    await hsm.close();
  }
}, 120_000);

describe('approvals on a post-quantum device', () => {
  it('approvals show verifies the ML-DSA-44 signature over the statement', () => {
    const env = { ATTESTAMP_MASTER_KEY: masterKey.toString('hex') };
    const r = runCli(['approvals', 'show', requestId, '--json'], { cwd, env });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { statementVerified: boolean; state: string };
    expect(doc.statementVerified).toBe(true);
    expect(doc.state).toBe('pending');
  });
});

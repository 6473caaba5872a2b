// The migration receipt's CMS: built over a real partition attestation key, parsed strictly,
// its signature and its root -> device -> partition chain checked; a flipped byte is refused.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFactory, Hsm } from '../../../src/hsm/index.js';
import {
  buildMigrationReceipt,
  parseMigrationReceipt,
  receiptSignatureProblem,
  verifyBundleChain,
} from '../../../src/pki/index.js';
import { OFFICER } from '../../helpers/hsm.js';
import { TestClock } from '../../helpers/governance.js';
import { tempDir } from '../../helpers/tmp.js';

const clock = new TestClock();
let hsm: Hsm;

describe('migration receipt CMS', () => {
  beforeAll(async () => {
    const dir = tempDir();
    const factory = await createFactory(join(dir, 'factory'), { development: true, clock });
    hsm = await Hsm.init({
      path: join(dir, 'd.sqlite'),
      masterKey: { kind: 'key', key: randomBytes(32) },
      factory,
      officer: OFFICER,
      clock,
    });
  }, 60_000);

  afterAll(async () => {
    await hsm.close();
  });

  it('round trip: statement, signature and chain to the pinned root', async () => {
    const statement = new TextEncoder().encode('{"format":"attestamp-migration-receipt/v1"}');
    const receipt = await buildMigrationReceipt(statement, await hsm.attestationSigner('default'));
    const parsed = parseMigrationReceipt(receipt);
    expect(Buffer.from(parsed.statement)).toEqual(Buffer.from(statement));
    expect(await receiptSignatureProblem(parsed)).toBeUndefined();
    const device = await hsm.device();
    const ids = await verifyBundleChain(parsed, device.rootCertificate, clock.now());
    expect(ids).toEqual({
      deviceId: device.id,
      partitionId: (await hsm.partition('default')).id,
    });
  });

  it('a flipped byte of the statement is a signature problem', async () => {
    const statement = new TextEncoder().encode('{"format":"attestamp-migration-receipt/v1"}');
    const receipt = await buildMigrationReceipt(statement, await hsm.attestationSigner('default'));
    const at = Buffer.from(receipt).indexOf(Buffer.from(statement)) + 5;
    const copy = Uint8Array.from(receipt);
    copy[at]! ^= 0x01;
    expect(await receiptSignatureProblem(parseMigrationReceipt(copy))).toMatch(/messageDigest/);
  });
});

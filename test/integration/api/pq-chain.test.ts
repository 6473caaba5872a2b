// The largest certificates the HSM issues through the REST API: a device whose factory root and
// device key are SLH-DSA-SHA2-256f signs certificates with 49,856-octet signatures, each some
// 69,000 characters of PEM; the partition's chain and the device's come back whole, valid
// against the document's Pem bound (which 64 KiB did not hold).
/* eslint-disable @typescript-eslint/no-unsafe-member-access -- every answer is checked against the OpenAPI document before a test reads its fields as plain JSON */
import { X509Certificate, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFactory, Hsm } from '../../../src/hsm/index.js';
import { decodePem } from '../../../src/pki/index.js';
import { systemClock } from '../../../src/shared/index.js';
import { startApiFixture, type ApiFixture } from '../../helpers/api.js';
import { OFFICER, type TestDevice } from '../../helpers/hsm.js';
import { tempDir } from '../../helpers/tmp.js';

/** The signature of SLH-DSA-SHA2-256f (FIPS 205 Table 2), octets. */
const SIGNATURE = 49_856;

describe('an SLH-DSA-SHA2-256f device through the API', () => {
  let device: TestDevice;
  let f: ApiFixture;

  beforeAll(async () => {
    const dir = tempDir('slh-chain-');
    const factoryDir = join(dir, 'factory');
    const factory = await createFactory(factoryDir, {
      algorithm: 'slh-dsa-sha2-256f',
      development: true,
      clock: systemClock,
    });
    const masterKey = { kind: 'key', key: randomBytes(32) } as const;
    const storePath = join(dir, 'device.sqlite');
    const hsm = await Hsm.init({
      path: storePath,
      masterKey,
      factory,
      deviceAlgorithm: 'slh-dsa-sha2-256f',
      officer: OFFICER,
    });
    device = { dir, storePath, factoryDir, factory, masterKey, hsm };
    f = await startApiFixture({ device });
  }, 300_000);

  afterAll(async () => {
    await f.close();
    await device.hsm.close();
  });

  it('serves the partition chain and the device chain, each certificate over 64 KiB of PEM', async () => {
    const token = await f.token('app-auditor', ['auditor'], ['default']);
    const chain = await f.request('GET', '/v1/partitions/default/chain', { token });
    expect(chain.status, chain.text.slice(0, 300)).toBe(200);
    for (const name of ['partitionAttestation', 'partitionTimestamp', 'device', 'root']) {
      const pem = chain.json[name] as string;
      expect(pem.length, name).toBeGreaterThan(65_536);
      const der = decodePem(pem, 'CERTIFICATE');
      expect(der.length, name).toBeGreaterThan(SIGNATURE);
      expect(new X509Certificate(Buffer.from(der)).subject, name).not.toBe('');
    }
    const deviceChain = await f.request('GET', '/v1/device/chain', { token });
    expect(deviceChain.status).toBe(200);
    expect(deviceChain.json.certificates).toEqual([chain.json.device, chain.json.root]);
  });
});

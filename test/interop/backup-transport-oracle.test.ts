// A bundle addressed to a device's ML-KEM-768 transport key, opened by an independent
// implementation: the Node 26 oracle (test/helpers/oracle-node.ts, OpenSSL 3.5's ML-KEM). It
// loads the transport key from its seed, checks that its public key is the transport
// certificate's, decapsulates the KEMRecipientInfo's kemct, derives the KEK with HKDF-SHA256
// over a CMSORIforKEMOtherInfo it writes itself (RFC 9629 5), unwraps the content-encryption key
// (RFC 3394) and decrypts the records (AES-256-GCM, the authenticated attributes as additional
// data). The records it hands back are the keys the manifest names.
// White-box: the test opens the transport key's sealed seed with the device's key-encryption key
// (the HSM never lets it out), only to give the oracle what a second implementation needs.
// Skipped without the oracle; with CI=true a missing oracle fails the run.
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/hsm/core.js';
import { createFactory, Hsm } from '../../src/hsm/index.js';
import { parseRecords } from '../../src/hsm/backup/bundle.js';
import type { TransportKeyBody } from '../../src/hsm/backup/transport.js';
import { loadKey, publicPartOf, isHsmAlgorithm } from '../../src/hsm/key-crypto.js';
import { encodePqPkcs8 } from '../../src/hsm/pq/index.js';
import { open } from '../../src/hsm/wrap.js';
import { parseBackupBundle, parseCertificateFields } from '../../src/pki/index.js';
import { TestClock } from '../helpers/governance.js';
import { OFFICER } from '../helpers/hsm.js';
import { oracleNode } from '../helpers/oracle-node.js';
import { tempDir } from '../helpers/tmp.js';
import { requireAvailable } from '../helpers/tools.js';

const oracle = oracleNode();

/** The oracle's side: every step with node:crypto, the KDF input written out by hand. */
const SCRIPT = `
const c = require('node:crypto');
const i = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
const h = (s) => Buffer.from(s, 'hex');
const key = c.createPrivateKey({ key: h(i.pkcs8), format: 'der', type: 'pkcs8' });
const spki = c.createPublicKey(key).export({ format: 'der', type: 'spki' });
const ss = c.decapsulate(key, h(i.kemct));
// CMSORIforKEMOtherInfo ::= SEQUENCE { wrap { id-aes256-wrap }, kekLength 32 } (no ukm)
const info = h('3010' + '300b060960864801650304012d' + '020120');
const kek = Buffer.from(c.hkdfSync('sha256', ss, Buffer.alloc(0), info, 32));
const unwrap = c.createDecipheriv('id-aes256-wrap', kek, h('a6a6a6a6a6a6a6a6'));
const cek = Buffer.concat([unwrap.update(h(i.encryptedKey)), unwrap.final()]);
const gcm = c.createDecipheriv('aes-256-gcm', cek, h(i.nonce));
gcm.setAAD(h(i.aad));
gcm.setAuthTag(h(i.tag));
const plain = Buffer.concat([gcm.update(h(i.ciphertext)), gcm.final()]);
process.stdout.write(JSON.stringify({ spki: spki.toString('hex'), records: plain.toString('hex'),
  version: process.version, openssl: process.versions.openssl }));
`;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

interface OracleAnswer {
  readonly spki: string;
  readonly records: string;
  readonly version: string;
  readonly openssl: string;
}

function runOracle(input: Record<string, string>): { status: number | null; out: string } {
  const run = spawnSync(oracle.path!, ['-e', SCRIPT], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: run.status, out: run.status === 0 ? run.stdout : run.stderr };
}

describe.skipIf(requireAvailable('Node 26 post-quantum oracle', oracle.missing))(
  'a transport-key bundle opened by the Node 26 oracle',
  () => {
    const clock = new TestClock();
    let a: Hsm;
    let b: Hsm;
    let input: Record<string, string>;
    let certificateSpki: string;
    let manifestKeys: { id: string; algorithm: string; public: string }[];

    beforeAll(async () => {
      const dir = tempDir();
      const factory = await createFactory(join(dir, 'factory'), { development: true, clock });
      const device = (name: string): Promise<Hsm> =>
        Hsm.init({
          path: join(dir, `${name}.sqlite`),
          masterKey: { kind: 'key', key: randomBytes(32) },
          factory,
          officer: OFFICER,
          clock,
        });
      a = await device('a');
      b = await device('b');
      await a.generateKey('default', { label: 'signing', algorithm: 'ecdsa-p256' });
      await a.generateKey('default', { label: 'pq', algorithm: 'ml-dsa-65' });
      const t = await b.createTransportKey('ml-kem-768');
      const [deviceCert] = await b.deviceCertificateChain();
      const backup = await a.backupPartition('default', {
        transportCertificate: [t.certificate, deviceCert!],
      });
      manifestKeys = backup.manifest.keys.map((k) => ({
        id: k.id,
        algorithm: k.algorithm,
        public: k.public,
      }));
      certificateSpki = hex(parseCertificateFields(t.certificate).spki);

      const core = (b as unknown as { core: Core }).core;
      const [held] = await core.governance.objects.list<TransportKeyBody>(
        core.store,
        'transport-key',
      );
      const seed = open(
        core.keys.kek,
        Buffer.from(held!.body.sealed, 'hex'),
        `attestamp/transport-key/v1|${core.deviceId}|${held!.body.id}`,
      );
      const parsed = parseBackupBundle(backup.bundle);
      const [recipient] = parsed.recipients;
      if (recipient?.kind !== 'kem') throw new Error('expected one KEMRecipientInfo');
      expect(recipient.ukm).toBeUndefined();
      input = {
        pkcs8: hex(encodePqPkcs8('ml-kem-768', seed)),
        kemct: hex(recipient.kemct),
        encryptedKey: hex(recipient.encryptedKey),
        nonce: hex(parsed.nonce),
        aad: hex(parsed.authAttributes),
        tag: hex(parsed.tag),
        ciphertext: hex(parsed.ciphertext),
      };
    }, 120_000);

    afterAll(async () => {
      for (const h of [a, b] as (Hsm | undefined)[]) await h?.close();
    });

    it('decapsulates, derives the KEK, unwraps the CEK and decrypts the records', () => {
      const run = runOracle(input);
      expect(run.status, run.out).toBe(0);
      const answer = JSON.parse(run.out) as OracleAnswer;
      expect(answer.version.startsWith('v26.')).toBe(true);
      // The key that decapsulates is the key the certificate certifies.
      expect(answer.spki).toBe(certificateSpki);
      const records = parseRecords(Buffer.from(answer.records, 'hex'));
      expect([...records.keys()].sort()).toEqual(manifestKeys.map((k) => k.id).sort());
      for (const k of manifestKeys) {
        if (!isHsmAlgorithm(k.algorithm)) throw new Error(`unknown algorithm ${k.algorithm}`);
        const material = records.get(k.id)!;
        expect(hex(publicPartOf(k.algorithm, loadKey(k.algorithm, material)))).toBe(k.public);
      }
      expect(manifestKeys.some((k) => k.algorithm === 'ml-dsa-65')).toBe(true);
    });

    it('a flipped bit in the KEM ciphertext gives another secret: the unwrap fails', () => {
      const kemct = Buffer.from(input.kemct!, 'hex');
      kemct[100]! ^= 0x01;
      const run = runOracle({ ...input, kemct: kemct.toString('hex') });
      expect(run.status).not.toBe(0);
      expect(run.out).toMatch(/unwrap|bad decrypt|wrap/i);
    });
  },
);

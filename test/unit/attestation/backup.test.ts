// The offline backup check (src/attestation/backup.ts) on the RecipientInfos: they must be
// exactly the manifest's recipients (same count; a KEKRecipientInfo's keyIdentifier the domain
// id, a KEMRecipientInfo's or KeyAgreeRecipientInfo's rid the transport certificate's
// subjectKeyIdentifier the manifest names). Real bundles from real devices; the mismatches are
// re-signed by the source partition's own attestation key (white-box), so that only the
// recipients check can tell.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectBackup, type Report } from '../../../src/attestation/index.js';
import type { Core } from '../../../src/hsm/core.js';
import { createFactory, Hsm } from '../../../src/hsm/index.js';
import { partitionKeySigner } from '../../../src/hsm/keys/signers.js';
import {
  buildBackupSignedData,
  encodeAuthEnvelopedData,
  parseBackupBundle,
  type BundleRecipient,
} from '../../../src/pki/index.js';
import { TestClock } from '../../helpers/governance.js';
import { OFFICER } from '../../helpers/hsm.js';
import { tempDir } from '../../helpers/tmp.js';

const clock = new TestClock();

describe('inspectBackup: the RecipientInfos against the manifest', () => {
  let a: Hsm;
  let b: Hsm;
  let root: Uint8Array;
  let domainBundle: Uint8Array;
  let kemBundle: Uint8Array;
  let ecdhBundle: Uint8Array;

  const open = (location: string, factory: Parameters<typeof Hsm.init>[0]['factory']) =>
    Hsm.init({
      path: location,
      masterKey: { kind: 'key', key: randomBytes(32) },
      factory,
      officer: OFFICER,
      clock,
    });

  beforeAll(async () => {
    const dir = tempDir();
    const factory = await createFactory(join(dir, 'factory'), { development: true, clock });
    a = await open(join(dir, 'a.sqlite'), factory);
    b = await open(join(dir, 'b.sqlite'), factory);
    await a.createBackupDomain('vault');
    domainBundle = (await a.backupPartition('default', { domain: 'vault' })).bundle;
    const [deviceCert] = await b.deviceCertificateChain();
    for (const algorithm of ['ml-kem-768', 'ecdh-p256'] as const) {
      const k = await b.createTransportKey(algorithm);
      const { bundle } = await a.backupPartition('default', {
        transportCertificate: [k.certificate, deviceCert!],
      });
      if (algorithm === 'ml-kem-768') kemBundle = bundle;
      else ecdhBundle = bundle;
    }
    root = (await a.device()).rootCertificate;
  }, 60_000);

  afterAll(async () => {
    await a.close();
    await b.close();
  });

  /** The bundle with other RecipientInfos, signed again by the source's attestation key. */
  async function withRecipients(
    bundle: Uint8Array,
    change: (rs: readonly BundleRecipient[]) => BundleRecipient[],
  ): Promise<Uint8Array> {
    const p = parseBackupBundle(bundle);
    const content = encodeAuthEnvelopedData({
      recipients: change(p.recipients),
      nonce: p.nonce,
      ciphertext: p.ciphertext,
      tag: p.tag,
      authAttributes: p.authAttributes,
    });
    const core = (a as unknown as { core: Core }).core;
    const signer = await partitionKeySigner(core, 'default', 'partition-attestation');
    return buildBackupSignedData(content, signer);
  }

  const inspect = (bundle: Uint8Array): Promise<Report> =>
    inspectBackup(bundle, { anchors: { certificates: [root] } });
  const status = (r: Report, id: string) => r.checks.find((c) => c.id === id);

  it('a bundle for a domain, an ML-KEM and an ECDH transport key: the recipients check passes', async () => {
    for (const [bundle, named] of [
      [domainBundle, /KEKRecipientInfo for backup domain /],
      [kemBundle, /KEMRecipientInfo for transport key [0-9a-f]{40}/],
      [ecdhBundle, /KeyAgreeRecipientInfo for transport key [0-9a-f]{40}/],
    ] as const) {
      const r = await inspect(bundle);
      expect(r.outcome).toBe('verified');
      expect(status(r, 'backup.recipients')?.status).toBe('pass');
      expect(status(r, 'backup.recipients')?.detail).toMatch(named);
    }
  });

  it('the re-signing alone changes nothing: the same recipients still verify', async () => {
    const r = await inspect(await withRecipients(kemBundle, (rs) => [...rs]));
    expect(r.outcome).toBe('verified');
  });

  it('another domain id, another rid, another kind, or one recipient more: failed, by that check', async () => {
    const kem = parseBackupBundle(kemBundle).recipients[0]!;
    const kari = parseBackupBundle(ecdhBundle).recipients[0]!;
    if (kem.kind !== 'kem' || kari.kind !== 'kari') throw new Error('recipient kinds');
    const cases: [string, Uint8Array, RegExp][] = [
      [
        'domain id',
        await withRecipients(domainBundle, (rs) =>
          rs.map((r) =>
            r.kind === 'kek' ? { ...r, keyIdentifier: new TextEncoder().encode('other') } : r,
          ),
        ),
        /does not list the KEKRecipientInfo for backup domain other/,
      ],
      [
        'kem rid',
        await withRecipients(kemBundle, () => [
          { ...kem, subjectKeyIdentifier: Uint8Array.from(kem.subjectKeyIdentifier, (x) => x ^ 1) },
        ]),
        /does not list the KEMRecipientInfo/,
      ],
      [
        'kari rid',
        await withRecipients(ecdhBundle, () => [
          { ...kari, subjectKeyIdentifier: randomBytes(20) },
        ]),
        /does not list the KeyAgreeRecipientInfo/,
      ],
      // The ECDH key's rid in a KEMRecipientInfo: the manifest says ecdh-p256.
      [
        'kind',
        await withRecipients(ecdhBundle, () => [
          { ...kem, subjectKeyIdentifier: kari.subjectKeyIdentifier },
        ]),
        /does not list the KEMRecipientInfo/,
      ],
      [
        'count',
        await withRecipients(kemBundle, (rs) => [...rs, kari]),
        /2 RecipientInfos, the manifest lists 1/,
      ],
    ];
    for (const [what, bundle, detail] of cases) {
      const r = await inspect(bundle);
      expect(status(r, 'backup.signature')?.status, what).toBe('pass');
      expect(status(r, 'backup.recipients')?.status, what).toBe('fail');
      expect(status(r, 'backup.recipients')?.detail, what).toMatch(detail);
      expect(r.outcome, what).toBe('failed');
      expect(r.exitCode, what).toBe(1);
    }
  });
});

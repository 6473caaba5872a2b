// Blockchain keys through the HSM, on every store (SQLite file; PostgreSQL when a server is
// there): ecdsa-secp256k1 keys (generated and imported PKCS#8, low-S signatures over data and
// digests, verification, wrapped export), derivable keys (BIP 32 vectors 1 to 3 from their seeds
// and xprvs, SLIP-10 Ed25519 and P-256 vectors) with children derived into keys of the partition
// that sign, their xpubs and addresses (BIP 84, BIP 86 known answers), temporary children that
// expire (refused with key-expired, destroyed by the sweep, at open too), an expiry edited in a
// hostile store detected, the parent's use rule, and the evidence claims of a derived key.
import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inspectEvidence } from '../../../src/attestation/index.js';
import { Hsm, type AuditEntry } from '../../../src/hsm/index.js';
import { openStore } from '../../../src/hsm/store/open.js';
import { aesKeyUnwrapPad } from '../../../src/hsm/wrap.js';
import { isLowS } from '../../../src/pki/index.js';
import { postgresKind } from '../../helpers/device-stores.js';
import { decideAs, officerWithKey, requestOf, TestClock } from '../../helpers/governance.js';
import { BIP32_VECTORS, SLIP10_VECTORS } from '../../helpers/hd-vectors.js';
import { auditEntries, createTestDevice, OFFICER, type TestDevice } from '../../helpers/hsm.js';
import { freshDatabase, type FreshDatabase } from '../../helpers/postgres.js';
import { expectHsmRejection } from './support.js';

const te = new TextEncoder();
const DATA = te.encode('pay 0.1 BTC to the cold wallet');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

/** The BIP 39 seed of "abandon abandon ... about" (BIP 84 and BIP 86 test vectors). */
const ABANDON_SEED =
  '5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc19a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4';

/** The public key of an SPKI as SLIP-10 prints it (compressed EC point, 00 || A for Ed25519). */
function vectorPublic(spki: Uint8Array): string {
  const jwk = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).export({
    format: 'jwk',
  });
  const x = Buffer.from(jwk.x ?? '', 'base64url');
  if (jwk.kty === 'OKP') return `00${x.toString('hex')}`;
  const y = Buffer.from(jwk.y ?? '', 'base64url');
  const point = Uint8Array.of(4, ...x, ...y);
  const curve = jwk.crv === 'secp256k1' ? secp256k1 : p256;
  return hex(curve.Point.fromBytes(point).toBytes(true));
}

const nodeVerify = (spki: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean => {
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  return key.asymmetricKeyType === 'ed25519'
    ? verify(null, data, key, signature)
    : verify('sha256', data, { key, dsaEncoding: 'der' }, signature);
};

const STORES = [
  { name: 'SQLite', skip: false },
  { name: 'PostgreSQL', skip: postgresKind.unavailable },
] as const;

describe.each(STORES)('blockchain keys on the $name store', ({ name, skip }) => {
  let d: TestDevice;
  let hsm: Hsm;
  let clock: TestClock;
  let db: FreshDatabase | undefined;

  beforeEach(async () => {
    if (skip) return;
    db = name === 'PostgreSQL' ? await freshDatabase() : undefined;
    clock = new TestClock();
    d = await createTestDevice({ clock, ...(db === undefined ? {} : { location: db.url }) });
    hsm = d.hsm;
    await hsm.setPartitionPolicy('default', { exportAllowed: true, importAllowed: true }, OFFICER);
  }, 60_000);

  afterEach(async () => {
    if (skip) return;
    await hsm.close();
    await db?.drop();
  });

  describe.skipIf(skip)('ecdsa-secp256k1', () => {
    it('generates a key that signs data and digests low-S, which node:crypto verifies', async () => {
      const key = await hsm.generateKey('default', { label: 'k1', algorithm: 'ecdsa-secp256k1' });
      expect(key.attributes.purposes).toEqual(['sign', 'verify']);
      const jwk = createPublicKey({ key: Buffer.from(key.spki), format: 'der', type: 'spki' });
      expect(jwk.asymmetricKeyDetails?.namedCurve).toBe('secp256k1');
      for (let i = 0; i < 12; i++) {
        const data = te.encode(`message ${i}`);
        const { signature } = await hsm.sign('default', 'k1', { data });
        expect(isLowS('secp256k1', signature)).toBe(true);
        expect(nodeVerify(key.spki, data, signature)).toBe(true);
        expect(await hsm.verify('default', 'k1', { data }, signature)).toBe(true);
        const digest = sha256(data);
        const overDigest = (await hsm.sign('default', 'k1', { digest })).signature;
        expect(isLowS('secp256k1', overDigest)).toBe(true);
        expect(nodeVerify(key.spki, data, overDigest)).toBe(true);
        expect(await hsm.verify('default', 'k1', { digest }, overDigest)).toBe(true);
      }
      expect(
        await hsm.verify('default', 'k1', { data: te.encode('other') }, new Uint8Array(8)),
      ).toBe(false);
      await expectHsmRejection(
        hsm.sign('default', 'k1', { digest: new Uint8Array(48) }),
        'invalid-argument',
      );
    });

    it('imports a PKCS#8 secp256k1 key (not as a NIST ECDSA key), exports it wrapped', async () => {
      const pair = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
      const pkcs8 = new Uint8Array(pair.privateKey.export({ type: 'pkcs8', format: 'der' }));
      const key = await hsm.importKey('default', { label: 'imp', pkcs8, extractable: true });
      expect(key.algorithm).toBe('ecdsa-secp256k1');
      const { signature } = await hsm.sign('default', 'imp', { data: DATA });
      expect(verify('sha256', DATA, { key: pair.publicKey, dsaEncoding: 'der' }, signature)).toBe(
        true,
      );
      // A high-S signature of the same key is valid X9.62 and verifies; the HSM makes none.
      const kek = new Uint8Array(32).fill(7);
      const wrapped = await hsm.exportKey('default', 'imp', { kind: 'aes-kwp', key: kek });
      expect(hex(aesKeyUnwrapPad(kek, wrapped))).toBe(hex(pkcs8));
      const p256Key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const other = new Uint8Array(p256Key.privateKey.export({ type: 'pkcs8', format: 'der' }));
      expect((await hsm.importKey('default', { label: 'nist', pkcs8: other })).algorithm).toBe(
        'ecdsa-p256',
      );
      // OpenSSL-made signatures are high-S half the time: the HSM's never are.
      const own = sign('sha256', DATA, { key: pair.privateKey, dsaEncoding: 'der' });
      expect(await hsm.verify('default', 'imp', { data: DATA }, own)).toBe(true);
    });

    it('has the addresses of its public key, and a non-secp256k1 key has none', async () => {
      await hsm.generateKey('default', { label: 'k1', algorithm: 'ecdsa-secp256k1' });
      const eth = await hsm.keyAddress('default', 'k1', 'ethereum');
      expect(eth.address).toMatch(/^0x[0-9a-fA-F]{40}$/);
      expect((await hsm.keyAddress('default', 'k1', 'p2wpkh')).address).toMatch(/^bc1q/);
      expect((await hsm.keyAddress('default', 'k1', 'p2tr', 'testnet')).address).toMatch(/^tb1p/);
      await hsm.generateKey('default', { label: 'p', algorithm: 'ecdsa-p256' });
      await expectHsmRejection(hsm.keyAddress('default', 'p', 'p2wpkh'), 'invalid-argument');
    });
  });

  describe.skipIf(skip)('BIP 32 through the HSM', () => {
    it.each(BIP32_VECTORS.map((v) => [v.name, v] as const))(
      '%s: seed import, children at every chain path, xpub of each',
      async (_name, vector) => {
        await hsm.importHdKey(
          'default',
          { seed: bytes(vector.seed), algorithm: 'bip32-secp256k1' },
          { label: 'seed' },
        );
        expect((await hsm.extendedPublicKey('default', 'seed')).xpub).toBe(vector.chains[0]!.xpub);
        for (const [i, chain] of vector.chains.slice(1).entries()) {
          const child = await hsm.deriveChildKey(
            'default',
            'seed',
            chain.path.replace(/[hH]/g, "'"),
            {
              label: `c${i}`,
              persistent: true,
            },
          );
          expect(child.algorithm).toBe('bip32-secp256k1');
          expect(child.attributes.origin).toBe('derived');
          expect(child.attributes.derivation?.path).toBe(chain.path.replace(/[hH]/g, "'"));
          expect((await hsm.extendedPublicKey('default', `c${i}`)).xpub).toBe(chain.xpub);
        }
      },
    );

    it('imports every chain of vector 1 as an xprv and derives the next one relatively', async () => {
      const chains = BIP32_VECTORS[0]!.chains;
      for (const [i, chain] of chains.entries()) {
        const key = await hsm.importHdKey(
          'default',
          { xprv: chain.xprv },
          { label: `x${i}`, purposes: ['derive', 'sign', 'verify'] },
        );
        expect(key.attributes.origin).toBe('imported');
        expect((await hsm.extendedPublicKey('default', `x${i}`)).xpub).toBe(chain.xpub);
        const next = chains[i + 1];
        if (next === undefined) continue;
        const step = next.path.split('/').at(-1)!.replace(/[hH]/, "'");
        await hsm.deriveChildKey('default', `x${i}`, step, { label: `n${i}`, persistent: true });
        expect((await hsm.extendedPublicKey('default', `n${i}`)).xpub).toBe(next.xpub);
      }
      // An absolute path from a key that is not a master key is refused, naming the depth.
      await expectHsmRejection(
        hsm.deriveChildKey('default', 'x2', "m/0'", { label: 'bad' }),
        'invalid-argument',
      );
      // An xpub is a public key: refused as an import.
      await expectHsmRejection(
        hsm.importHdKey('default', { xprv: chains[0]!.xpub }, { label: 'pub' }),
        'invalid-argument',
      );
    });

    it('gives the BIP 84 and BIP 86 addresses of the "abandon ... about" wallet', async () => {
      await hsm.importHdKey(
        'default',
        { seed: bytes(ABANDON_SEED), algorithm: 'bip32-secp256k1' },
        { label: 'wallet' },
      );
      await hsm.deriveChildKey('default', 'wallet', "m/84'/0'/0'/0/0", { label: 'w84' });
      await hsm.deriveChildKey('default', 'wallet', "m/86'/0'/0'/0/0", { label: 'w86' });
      expect((await hsm.keyAddress('default', 'w84', 'p2wpkh')).address).toBe(
        'bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu',
      );
      expect((await hsm.keyAddress('default', 'w86', 'p2tr')).address).toBe(
        'bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr',
      );
      await hsm.deriveChildKey('default', 'wallet', "m/84'/0'/0'", { label: 'acct' });
      expect((await hsm.extendedPublicKey('default', 'acct', 'zpub')).xpub).toBe(
        'zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs',
      );
    });

    it('a derived secp256k1 child signs low-S; the master key does not sign by default', async () => {
      await hsm.generateKey('default', { label: 'm', algorithm: 'bip32-secp256k1' });
      const child = await hsm.deriveChildKey('default', 'm', "m/44'/60'/0'/0/0", { label: 'eth' });
      for (let i = 0; i < 8; i++) {
        const data = te.encode(`tx ${i}`);
        const { signature } = await hsm.sign('default', 'eth', { data });
        expect(isLowS('secp256k1', signature)).toBe(true);
        expect(nodeVerify(child.spki, data, signature)).toBe(true);
        const digest = (await hsm.sign('default', 'eth', { digest: sha256(data) })).signature;
        expect(isLowS('secp256k1', digest)).toBe(true);
        expect(await hsm.verify('default', 'eth', { data }, digest)).toBe(true);
      }
      expect((await hsm.keyAddress('default', 'eth', 'ethereum')).address).toMatch(/^0x/);
      await expectHsmRejection(hsm.sign('default', 'm', { data: DATA }), 'key-purpose-denied');
      // A child without the derive purpose derives nothing further.
      await expectHsmRejection(
        hsm.deriveChildKey('default', 'eth', '0', { label: 'grandchild' }),
        'key-purpose-denied',
      );
    });
  });

  describe.skipIf(skip)('SLIP-10 through the HSM', () => {
    const vectors = SLIP10_VECTORS.filter((v) => v.curve !== 'secp256k1');
    it.each(vectors.map((v) => [v.name, v] as const))('%s', async (_name, vector) => {
      const algorithm = vector.curve === 'ed25519' ? 'slip10-ed25519' : 'slip10-p256';
      const master = await hsm.importHdKey(
        'default',
        { seed: bytes(vector.seed), algorithm },
        { label: 'master' },
      );
      for (const [i, chain] of vector.chains.entries()) {
        const [path, fingerprint, , , publicKey] = chain;
        const key =
          path === 'm'
            ? master
            : await hsm.deriveChildKey('default', 'master', path, { label: `c${i}` });
        expect(vectorPublic(key.spki)).toBe(publicKey);
        if (path !== 'm') {
          expect(key.attributes.derivation?.parentFingerprint).toBe(fingerprint);
          const { signature } = await hsm.sign('default', `c${i}`, { data: DATA });
          expect(nodeVerify(key.spki, DATA, signature)).toBe(true);
        }
      }
    });

    it('refuses a non-hardened ed25519 path and an xpub of a SLIP-10 key', async () => {
      await hsm.generateKey('default', { label: 'ed', algorithm: 'slip10-ed25519' });
      const e = await expectHsmRejection(
        hsm.deriveChildKey('default', 'ed', "m/0'/1", { label: 'soft' }),
        'invalid-argument',
      );
      expect(e.details).toMatchObject({ field: 'path', segment: '1', position: 2 });
      await expectHsmRejection(hsm.extendedPublicKey('default', 'ed'), 'invalid-argument');
      await expectHsmRejection(hsm.keyAddress('default', 'ed', 'ethereum'), 'invalid-argument');
    });
  });

  describe.skipIf(skip)('temporary children', () => {
    it('expire: shown, refused with key-expired, destroyed by the sweep that follows', async () => {
      await hsm.generateKey('default', { label: 'm', algorithm: 'bip32-secp256k1' });
      const child = await hsm.deriveChildKey('default', 'm', "m/0'", {
        label: 't',
        expiresInSeconds: 60,
      });
      expect(child.attributes.expiresAt).toBe(new Date(clock.ms + 60_000).toISOString());
      await hsm.deriveChildKey('default', 'm', "m/4'", { label: 't2', expiresInSeconds: 60 });
      const p = await hsm.deriveChildKey('default', 'm', "m/1'", { label: 'p', persistent: true });
      expect(p.attributes.expiresAt).toBeUndefined();
      const d1 = await hsm.deriveChildKey('default', 'm', "m/2'", { label: 'd1' });
      expect(Date.parse(d1.attributes.expiresAt!) - clock.ms).toBe(3600_000);
      await hsm.sign('default', 't', { data: DATA });
      clock.ms += 60_000;
      // Showing an expired key is no use of it: it is shown, and kept.
      expect((await hsm.key('default', 't2')).label).toBe('t2');
      const e = await expectHsmRejection(hsm.sign('default', 't', { data: DATA }), 'key-expired');
      expect(e.details).toMatchObject({ label: 't' });
      // The refusal ran the sweep: every expired key is gone, the others stay.
      await expectHsmRejection(hsm.key('default', 't'), 'key-not-found');
      await expectHsmRejection(hsm.keyAddress('default', 't2', 'p2wpkh'), 'key-not-found');
      expect(await hsm.sweepExpiredKeys()).toBe(0);
      await hsm.deriveChildKey('default', 'm', "m/5'", { label: 't3', expiresInSeconds: 1 });
      clock.ms += 1000;
      expect(await hsm.sweepExpiredKeys()).toBe(1);
      await hsm.sign('default', 'p', { data: DATA });
      const entries: AuditEntry[] = await auditEntries(hsm);
      const expired = entries.filter((x) => x.action === 'key.expire').map((x) => x.details.label);
      expect(expired.sort()).toEqual(['t', 't2', 't3']);
      expect(entries.find((x) => x.action === 'key.derive-child')?.details).toMatchObject({
        label: 't',
        path: "m/0'",
      });
      // At open: the hour-long child has expired by then, the persistent one stays.
      await hsm.close();
      clock.ms += 3600_000;
      hsm = await Hsm.open(d.storePath, d.masterKey, { clock });
      await expectHsmRejection(hsm.key('default', 'd1'), 'key-not-found');
      expect((await hsm.key('default', 'p')).attributes.expiresAt).toBeUndefined();
      await expectHsmRejection(
        hsm.deriveChildKey('default', 'm', "m/3'", { label: 'x', expiresInSeconds: 0 }),
        'invalid-argument',
      );
      await expectHsmRejection(
        hsm.deriveChildKey('default', 'm', "m/3'", {
          label: 'x',
          persistent: true,
          expiresInSeconds: 5,
        }),
        'invalid-argument',
      );
    });

    it('an expiry moved later in a hostile store is an integrity failure, never obeyed', async () => {
      await hsm.generateKey('default', { label: 'm', algorithm: 'bip32-secp256k1' });
      const child = await hsm.deriveChildKey('default', 'm', "m/0'", {
        label: 't',
        expiresInSeconds: 60,
      });
      await hsm.close();
      const store = await openStore(d.storePath);
      try {
        const row = (await store.keys.byId(child.id))!;
        const a = JSON.parse(row.attributes_json) as Record<string, unknown>;
        const later = { ...a, expiresAt: '2099-01-01T00:00:00.000Z' };
        const next = { ...row, attributes_json: JSON.stringify(later) };
        expect(await store.tx((tx) => tx.keys.update(next, row.mac!))).toBe(true);
      } finally {
        await store.close();
      }
      clock.ms += 120_000;
      hsm = await Hsm.open(d.storePath, d.masterKey, { clock });
      await expectHsmRejection(hsm.sign('default', 't', { data: DATA }), 'integrity-failed');
    });

    it("under the parent's use rule a derivation is an approval request, then executed", async () => {
      const ann = await officerWithKey(
        hsm,
        'ann',
        [{ role: 'crypto-officer', partition: 'default' }],
        OFFICER,
      );
      await hsm.generateKey('default', {
        label: 'm',
        algorithm: 'bip32-secp256k1',
        policy: {
          use: {
            timeoutSeconds: 3600,
            alternatives: [{ groups: [{ name: 'g', members: ['ann'], threshold: 1 }] }],
          },
        },
      });
      const id = await requestOf(
        hsm.deriveChildKey('default', 'm', "m/84'/0'/0'", { label: 'acct', expiresInSeconds: 600 }),
      );
      const view = await hsm.governance.showRequest(id);
      expect(view.body.statement.params).toMatchObject({
        path: "m/84'/0'/0'",
        derived: { label: 'acct', expiresInSeconds: 600 },
      });
      await decideAs(hsm, id, ann);
      await hsm.executeRequest(id);
      const acct = await hsm.key('default', 'acct');
      expect(acct.attributes.derivation?.path).toBe("m/84'/0'/0'");
      expect(Date.parse(acct.attributes.expiresAt!) - clock.ms).toBe(600_000);
    });
  });

  describe.skipIf(skip)('evidence of a derived key', () => {
    it('claims its algorithm, path, parent and expiry, which the verifier reads', async () => {
      const master = await hsm.generateKey('default', { label: 'm', algorithm: 'slip10-p256' });
      const child = await hsm.deriveChildKey('default', 'm', "m/1'/2", { label: 'c' });
      const evidence = await hsm.attestKey('default', 'c');
      const root = (await hsm.device()).rootCertificate;
      const report = await inspectEvidence(evidence, {
        anchors: { certificates: [root] },
        at: clock.now(),
        allowSoftware: true,
        expectSpki: child.spki,
        require: {
          origin: 'derived',
          'derivation-path': "m/1'/2",
          'parent-key': master.id,
          'key-algorithm': 'slip10-p256',
        },
      });
      expect(report.outcome).toBe('verified');
      const [claims] = report.claims['keys'] as Record<string, unknown>[];
      expect(claims).toMatchObject({
        keyAlgorithm: 'slip10-p256',
        derivationPath: "m/1'/2",
        parentFingerprint: child.attributes.derivation?.parentFingerprint,
        parentKeyIdentifier: master.id,
      });
      expect(Date.parse(String(claims!['expiry']))).toBe(Date.parse(child.attributes.expiresAt!));
      expect(report.checks.find((c) => c.id === 'policy.key-expiry')?.status).toBe('pass');
    });
  });
});

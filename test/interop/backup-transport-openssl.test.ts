// A backup bundle made for a device's ECDH P-256 transport key (RFC 5753 KeyAgreeRecipientInfo,
// ephemeral-static, dhSinglePass-stdDH-sha256kdf-scheme with id-aes256-wrap) read by OpenSSL,
// which knows nothing of attestamp: `openssl cms -cmsout -print` parses the outer SignedData and
// the AuthEnvelopedData it carries (extracted, in a ContentInfo of its own), `openssl cms -verify`
// checks the signature with the root as its only anchor and hands out that AuthEnvelopedData, and
// OpenSSL opens it with the transport private key. OpenSSL before the fix of
// openssl/openssl#26101 (3.0.19 included) reads an AuthEnvelopedData's authAttrs as [2] instead
// of RFC 5083's [1] and leaves them out of the GCM additional data: there the test shows that the
// tag is the only obstacle to its CMS parser (the same bytes with [2] parse) and opens the bundle
// with OpenSSL's primitives step by step (ECDH, X9.63 KDF, RFC 3394 unwrap), GCM last in node;
// with a fixed OpenSSL, `openssl cms -cmsout -print` and `openssl cms -decrypt` do it all.
// The private key never leaves a device: the test takes it out of the target's sealed row
// (white-box, its own copy of the row's sealing label), which no HSM operation does.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/hsm/core.js';
import { createFactory, Hsm, type TransportKeyInfo } from '../../src/hsm/index.js';
import { parseRecords } from '../../src/hsm/backup/bundle.js';
import { open } from '../../src/hsm/wrap.js';
import {
  der,
  derReader,
  encodePem,
  id_ct_authEnvelopedData,
  parseBackupBundle,
  type ParsedBundle,
} from '../../src/pki/index.js';
import { systemClock } from '../../src/shared/index.js';
import { OFFICER } from '../helpers/hsm.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';

const skip = requireTool('openssl');

/** The PKCS#8 of a transport key, opened from its sealed governance row (test-side only). */
async function transportPrivateKey(hsm: Hsm, id: string): Promise<Uint8Array> {
  const core = (hsm as unknown as { core: Core }).core;
  const rows = await core.governance.objects.list<{ id: string; sealed: string }>(
    core.store,
    'transport-key',
  );
  const row = rows.find((o) => o.body.id === id);
  if (row === undefined) throw new Error('no such transport key row');
  return open(
    core.keys.kek,
    Buffer.from(row.body.sealed, 'hex'),
    `attestamp/transport-key/v1|${core.deviceId}|${id}`,
  );
}

/** SubjectPublicKeyInfo { { id-ecPublicKey, prime256v1 }, BIT STRING } up to the point. */
const P256_SPKI_PREFIX = '3059301306072a8648ce3d020106082a8648ce3d030107034200';

/**
 * ECC-CMS-SharedInfo { keyInfo { id-aes256-wrap }, suppPubInfo [2] { OCTET STRING 256 } }
 * (RFC 5753 7.2), DER by hand: the KDF input of a KARI without ukm.
 */
const SHARED_INFO_AES256_WRAP = '3015300b060960864801650304012da20604040000' + '0100';

const openssl = (args: readonly string[]) =>
  spawnSync('openssl', args, { encoding: 'utf8', timeout: 60_000 });

describe.skipIf(skip)('a bundle for an ECDH P-256 transport key, read by openssl', () => {
  let dir: string;
  let a: Hsm;
  let b: Hsm;
  let key: TransportKeyInfo;
  let bundle: Uint8Array;
  let parsed: ParsedBundle;
  let manifest: { keys: { id: string; label: string; public: string; algorithm: string }[] };

  beforeAll(async () => {
    dir = tempDir();
    const factory = await createFactory(join(dir, 'factory'), {
      development: true,
      clock: systemClock,
    });
    const device = (name: string) =>
      Hsm.init({
        path: join(dir, `${name}.sqlite`),
        masterKey: { kind: 'key', key: randomBytes(32) },
        factory,
        officer: OFFICER,
        defaultPartition: null,
      });
    a = await device('a');
    b = await device('b');
    await a.createPartition('p256', { attestationAlgorithm: 'ecdsa-p256' });
    await a.generateKey('p256', { label: 'k', algorithm: 'ecdsa-p256' });
    key = await b.createTransportKey('ecdh-p256');
    const [deviceCert] = await b.deviceCertificateChain();
    bundle = (
      await a.backupPartition('p256', { transportCertificate: [key.certificate, deviceCert!] })
    ).bundle;
    parsed = parseBackupBundle(bundle);
    manifest = JSON.parse(new TextDecoder().decode(parsed.manifest)) as typeof manifest;
    writeFileSync(join(dir, 'bundle.der'), bundle);
    writeFileSync(
      join(dir, 'root.pem'),
      encodePem('CERTIFICATE', (await a.device()).rootCertificate),
    );
    writeFileSync(join(dir, 'transport.pem'), encodePem('CERTIFICATE', key.certificate));
    writeFileSync(join(dir, 'content.der'), parsed.content);
    // ContentInfo { id-ct-authEnvelopedData, [0] EXPLICIT AuthEnvelopedData } (RFC 5083 2.1):
    // the eContent as a CMS object of its own, for openssl's parser.
    writeFileSync(
      join(dir, 'auth-enveloped.der'),
      der.seq(der.oid(id_ct_authEnvelopedData), der.contextConstructed(0, parsed.content)),
    );
  }, 60_000);

  afterAll(async () => {
    await a.close();
    await b.close();
  });

  /** Runs openssl cms -cmsout -print on a DER file; its output, or its error. */
  const cmsPrint = (file: string) =>
    openssl(['cms', '-cmsout', '-print', '-inform', 'DER', '-in', join(dir, file)]);

  /**
   * OpenSSL before the fix of openssl/openssl#26101 (in 3.0.19 too) reads authAttrs as [2] (and
   * never feeds them to GCM): an RFC 5083 AuthEnvelopedData with authAttrs [1] is refused at
   * the field after them. True when this openssl has that bug.
   */
  function authAttrsBug(): boolean {
    const r = cmsPrint('auth-enveloped.der');
    if (r.status === 0) return false;
    expect(r.stderr).toMatch(/Field=mac, Type=CMS_AuthEnvelopedData/);
    return true;
  }

  it('openssl cms parses the outer SignedData', () => {
    const outer = cmsPrint('bundle.der');
    expect(outer.status, outer.stderr).toBe(0);
    expect(outer.stdout).toMatch(/contentType: pkcs7-signedData/);
    expect(outer.stdout).toMatch(/eContentType: id-smime-ct-authEnvelopedData/);
    expect(outer.stdout).toMatch(/ecdsa-with-SHA256/);
  });

  it('openssl parses the AuthEnvelopedData and its KeyAgreeRecipientInfo', () => {
    // A plain DER parse first: every algorithm of the KARI profile and of the content.
    const dump = execFileSync(
      'openssl',
      ['asn1parse', '-inform', 'DER', '-i', '-in', join(dir, 'content.der')],
      { encoding: 'utf8' },
    );
    for (const name of [
      'dhSinglePass-stdDH-sha256kdf-scheme',
      'id-aes256-wrap',
      'id-ecPublicKey',
      'aes-256-gcm',
    ]) {
      expect(dump, name).toContain(name);
    }
    expect(dump.replace(/[^0-9A-F]/g, '')).toContain(key.subjectKeyIdentifier.toUpperCase());
    // Then the CMS parser. With the authAttrs bug, the same bytes with authAttrs tagged [2]
    // (what that parser expects) must parse: the tag is the only obstacle.
    let file = 'auth-enveloped.der';
    if (authAttrsBug()) {
      const { childrenOf, readTlv } = derReader;
      const f = childrenOf(parsed.content, readTlv(parsed.content, 0));
      expect(parsed.content[f[3]!.start]).toBe(0xa1);
      const patched = Uint8Array.from(parsed.content);
      patched[f[3]!.start] = 0xa2;
      writeFileSync(
        join(dir, 'auth-enveloped-2.der'),
        der.seq(der.oid(id_ct_authEnvelopedData), der.contextConstructed(0, patched)),
      );
      file = 'auth-enveloped-2.der';
    }
    const inner = cmsPrint(file);
    expect(inner.status, inner.stderr).toBe(0);
    expect(inner.stdout).toMatch(/contentType: id-smime-ct-authEnvelopedData/);
    expect(inner.stdout).toMatch(/d\.kari:/);
    expect(inner.stdout).toMatch(/dhSinglePass-stdDH-sha256kdf-scheme/);
    expect(inner.stdout).toMatch(/id-aes256-wrap/);
    expect(inner.stdout).toMatch(/aes-256-gcm/);
    expect(inner.stdout).toMatch(/d\.rKeyId:/);
    // The rid: the transport certificate's subjectKeyIdentifier.
    expect(inner.stdout.replace(/[^0-9a-f]/g, '')).toContain(key.subjectKeyIdentifier);
  });

  it('openssl cms -verify checks the signature against the root and hands out the AuthEnvelopedData', () => {
    const out = join(dir, 'verified.der');
    const verify = (anchor: string) =>
      openssl([
        'cms',
        '-verify',
        '-inform',
        'DER',
        '-in',
        join(dir, 'bundle.der'),
        '-CAfile',
        join(dir, anchor),
        '-purpose',
        'any',
        '-binary',
        '-out',
        out,
      ]);
    const r = verify('root.pem');
    expect(r.stderr).toMatch(/Verification successful/);
    expect(r.status).toBe(0);
    expect(Buffer.from(readFileSync(out))).toEqual(Buffer.from(parsed.content));
    // Another anchor (the transport certificate, no CA): refused.
    expect(verify('transport.pem').status).not.toBe(0);
  });

  it('openssl opens it with the transport private key: the records are the manifest keys', async () => {
    const pkcs8 = await transportPrivateKey(b, key.id);
    const priv = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
    // The key is the transport certificate's.
    const spki = (k: KeyObject) => Buffer.from(k.export({ format: 'der', type: 'spki' }));
    expect(spki(createPublicKey(priv))).toEqual(
      spki(createPublicKey(encodePem('CERTIFICATE', key.certificate))),
    );
    writeFileSync(join(dir, 'transport-key.pem'), priv.export({ format: 'pem', type: 'pkcs8' }), {
      mode: 0o600,
    });
    const r = parsed.recipients[0]!;
    if (r.kind !== 'kari') throw new Error('not a KeyAgreeRecipientInfo');
    if (!authAttrsBug()) {
      // A CMS implementation that reads RFC 5083 as written does it all.
      const out = join(dir, 'records.der');
      const d = openssl([
        'cms',
        '-decrypt',
        '-inform',
        'DER',
        '-in',
        join(dir, 'auth-enveloped.der'),
        '-recip',
        join(dir, 'transport.pem'),
        '-inkey',
        join(dir, 'transport-key.pem'),
        '-binary',
        '-out',
        out,
      ]);
      expect(d.status, d.stderr).toBe(0);
      checkRecords(new Uint8Array(readFileSync(out)));
      return;
    }
    // Otherwise OpenSSL's primitives, step by step: the ephemeral-static ECDH (RFC 5753 3.1.1),
    // the ANSI X9.63 KDF over ECC-CMS-SharedInfo (RFC 5753 7.2: written here by hand, the
    // KeyWrapAlgorithm id-aes256-wrap and a KEK of 256 bits), the RFC 3394 unwrap; then
    // AES-256-GCM with the authenticated attributes as additional data (openssl enc has no
    // AEAD mode).
    writeFileSync(
      join(dir, 'originator.der'),
      Buffer.concat([Buffer.from(P256_SPKI_PREFIX, 'hex'), r.originatorKey]),
    );
    const z = execFileSync('openssl', [
      'pkeyutl',
      '-derive',
      '-inkey',
      join(dir, 'transport-key.pem'),
      '-peerkey',
      join(dir, 'originator.der'),
      '-peerform',
      'DER',
    ]);
    expect(z).toHaveLength(32);
    const kek = execFileSync(
      'openssl',
      [
        'kdf',
        '-keylen',
        '32',
        '-kdfopt',
        'digest:SHA256',
        '-kdfopt',
        `hexsecret:${z.toString('hex')}`,
        '-kdfopt',
        `hexinfo:${SHARED_INFO_AES256_WRAP}`,
        'X963KDF',
      ],
      { encoding: 'utf8' },
    )
      .trim()
      .replace(/:/g, '');
    writeFileSync(join(dir, 'wrapped.bin'), r.encryptedKey);
    const cek = execFileSync('openssl', [
      'enc',
      '-d',
      '-id-aes256-wrap',
      '-K',
      kek,
      '-iv',
      'A6A6A6A6A6A6A6A6',
      '-in',
      join(dir, 'wrapped.bin'),
    ]);
    expect(cek).toHaveLength(32);
    const gcm = (tag: Uint8Array) => {
      const d = createDecipheriv('aes-256-gcm', cek, parsed.nonce);
      d.setAAD(parsed.authAttributes);
      d.setAuthTag(tag);
      return new Uint8Array(Buffer.concat([d.update(parsed.ciphertext), d.final()]));
    };
    checkRecords(gcm(parsed.tag));
    // The manifest is authenticated: another tag (or other attributes) does not open.
    expect(() => gcm(Uint8Array.from(parsed.tag, (x, i) => (i === 0 ? x ^ 1 : x)))).toThrow();
    // A flipped byte of the wrapped key: openssl's unwrap refuses it (its integrity check).
    const bad = Uint8Array.from(r.encryptedKey);
    bad[5]! ^= 0x01;
    writeFileSync(join(dir, 'wrapped-bad.bin'), bad);
    const refused = openssl([
      'enc',
      '-d',
      '-id-aes256-wrap',
      '-K',
      kek,
      '-iv',
      'A6A6A6A6A6A6A6A6',
      '-in',
      join(dir, 'wrapped-bad.bin'),
    ]);
    expect(refused.status).not.toBe(0);
  });

  /** The records decrypted: every key the manifest names, the user key its PKCS#8. */
  function checkRecords(records: Uint8Array): void {
    const byId = parseRecords(records);
    expect([...byId.keys()].sort()).toEqual(manifest.keys.map((k) => k.id).sort());
    const k = manifest.keys.find((x) => x.label === 'k')!;
    const material = createPrivateKey({
      key: Buffer.from(byId.get(k.id)!),
      format: 'der',
      type: 'pkcs8',
    });
    const pub = createPublicKey(material).export({ format: 'der', type: 'spki' });
    expect(Buffer.from(pub).toString('hex')).toBe(k.public);
  }
});

// Path validation, roles and revocation of the verifier (src/attestation/chain.ts; RFC 5280 6.1
// and 6.3, standards/attestation.md "What the verifier checks" 1-3 and 8): each check id passes
// on the profile chain and fails on a small hand-built chain that breaks exactly that rule.
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseCert } from '../../../src/attestation/certificate.js';
import {
  checkRevocation,
  checkRoles,
  validatePath,
  verifyChain,
  type ChainOptions,
} from '../../../src/attestation/chain.js';
import { Findings, type Report } from '../../../src/attestation/report.js';
import {
  ARC,
  authorityKeyIdentifier,
  basicConstraints,
  der,
  encodeHsmRole,
  encodeName,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_hsmRole,
  id_ce_keyEvidence,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
  id_ecdsa_with_SHA384,
  id_sha1WithRSAEncryption,
  keyUsage,
  subjectKeyIdentifier,
  type ExtensionSpec,
  type HsmRole,
  type TbsCertificateTemplate,
} from '../../../src/pki/index.js';
import { toHex } from '../../../src/shared/index.js';
import {
  AT,
  certify,
  DEVICE_ID,
  ecKey,
  EVIDENCE_VALUE,
  finding,
  hsmChain,
  keyAttestationCertificate,
  nextSerial,
  NOT_AFTER,
  NOT_BEFORE,
  PARTITION_ID,
  rawCertificate,
  rsaKey,
  signatureAlgorithmDer,
  signWith,
  statusOf,
  utcTime,
  type HsmChain,
  type Issued,
  type TestKey,
} from './support.js';

const PATH_CHECKS = [
  'trust.anchor',
  'path.build',
  'path.signatures',
  'path.leftover',
  'path.validity',
  'path.ca',
  'path.key-cert-sign',
  'path.path-length',
  'path.names',
  'path.key-ids',
  'path.critical-extensions',
  'path.algorithms',
  'path.der',
  'roles.chain',
  'roles.evidence-on-leaf',
  'revocation',
] as const;

function options(root: Issued, extra: Partial<ChainOptions> = {}): ChainOptions {
  return { anchors: { certificates: [root.der] }, at: AT, ...extra };
}

/** id -> status; fails when an id appears twice. */
function statuses(report: Report): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of report.checks) {
    expect(out[c.id], `${c.id} reported twice`).toBeUndefined();
    out[c.id] = c.status;
  }
  return out;
}

/** Every path and role check passes except those listed, which fail; revocation skipped. */
function expectOnly(report: Report, failing: readonly string[]): void {
  const expected = Object.fromEntries(
    PATH_CHECKS.map((id) => [
      id,
      failing.includes(id) ? 'fail' : id === 'revocation' ? 'skip' : 'pass',
    ]),
  );
  expect(statuses(report)).toEqual(expected);
  expect(report.outcome).toBe(failing.length === 0 ? 'verified' : 'failed');
}

const role = (r: HsmRole): ExtensionSpec => ({
  oid: id_ce_hsmRole,
  critical: false,
  value: encodeHsmRole(r),
});

/** A CA certificate with SKI, AKI, basicConstraints and keyCertSign, signed by `issuer`. */
async function ca(
  name: string,
  key: TestKey,
  issuer: Issued | undefined,
  extensions: readonly ExtensionSpec[] = [],
): Promise<Issued> {
  const subject = encodeName({ organization: 'attestamp unit test', commonName: name });
  const t: TbsCertificateTemplate = {
    serialNumber: nextSerial(),
    issuer: issuer?.name ?? subject,
    subject,
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER,
    spki: key.spki,
    extensions: [
      subjectKeyIdentifier(key.spki),
      authorityKeyIdentifier(issuer?.key.spki ?? key.spki),
      basicConstraints(true),
      keyUsage(['keyCertSign', 'cRLSign']),
      ...extensions,
    ],
  };
  return certify(t, key, issuer?.key ?? key);
}

describe('the profile chain verifies', () => {
  it('partition timestamp key -> device -> root: every check passes', async () => {
    const chain = await hsmChain();
    const report = await verifyChain([chain.timestamp.der, chain.device.der], options(chain.root));
    expectOnly(report, []);
    expect(report.exitCode).toBe(0);
    expect(report.anchor).toBe(parseCert(chain.root.der).sha256);
    expect(report.claims).toMatchObject({ deviceId: DEVICE_ID, partitionId: PARTITION_ID });
    expect((report.claims as { path: unknown[] }).path).toHaveLength(3);
  });

  it('key attestation certificate -> partition attestation key -> device -> root', async () => {
    const chain = await hsmChain();
    const leaf = await keyAttestationCertificate(chain.attestation);
    const report = await verifyChain(
      [leaf.der, chain.attestation.der, chain.device.der],
      options(chain.root),
    );
    expectOnly(report, []);
    expect(report.claims).toMatchObject({ deviceId: DEVICE_ID, partitionId: PARTITION_ID });
  });

  it('validatePath returns the path leaf first and anchor last', async () => {
    const chain = await hsmChain();
    const f = new Findings();
    const [leaf, device, root] = [chain.timestamp, chain.device, chain.root].map((c) =>
      parseCert(c.der),
    );
    const result = await validatePath(leaf!, [device!, root!], options(chain.root), f);
    expect(result.path?.map((c) => c.sha256)).toEqual([leaf!.sha256, device!.sha256, root!.sha256]);
    expect(result.anchor).toBe(root!.sha256);
    expect(f.outcome()).toBe('verified');
    expect(f.list.every((c) => c.status === 'pass')).toBe(true);
  });
});

describe('trust.anchor', () => {
  it('no anchor at all is a failure, never a silent pass', async () => {
    const chain = await hsmChain();
    for (const anchors of [{}, { certificates: [], sha256: [] }]) {
      const report = await verifyChain([chain.timestamp.der, chain.device.der, chain.root.der], {
        anchors,
        at: AT,
      });
      expect(statuses(report)).toEqual({ 'trust.anchor': 'fail' });
      expect(report.outcome).toBe('failed');
      expect(report.exitCode).toBe(1);
      expect(report.anchor).toBeUndefined();
    }
  });

  it('pins by certificate SHA-256 or SPKI SHA-256 name the anchor that was used', async () => {
    const chain = await hsmChain();
    const root = parseCert(chain.root.der);
    const certs = [chain.timestamp.der, chain.device.der, chain.root.der];
    const byCert = await verifyChain(certs, { anchors: { sha256: [root.sha256] }, at: AT });
    expectOnly(byCert, []);
    expect(byCert.anchor).toBe(root.sha256);
    const bySpki = await verifyChain(certs, { anchors: { sha256: [root.spkiSha256] }, at: AT });
    expectOnly(bySpki, []);
    expect(bySpki.anchor).toBe(root.spkiSha256);
    // Pinning the device makes it the anchor; the supplied root is then left over.
    const device = parseCert(chain.device.der);
    const byDevice = await verifyChain(certs, { anchors: { sha256: [device.sha256] }, at: AT });
    expect(byDevice.anchor).toBe(device.sha256);
    expect(statusOf(byDevice, 'path.leftover')).toBe('fail');
  });

  it('a supplied root that is not an anchor does not make the chain trusted', async () => {
    const chain = await hsmChain();
    const other = await hsmChain();
    const report = await verifyChain(
      [chain.timestamp.der, chain.device.der, chain.root.der],
      options(other.root),
    );
    expect(statuses(report)).toEqual({ 'path.build': 'fail' });
    expect(report.outcome).toBe('failed');
  });

  it('an anchor that is not a strict-DER certificate is a parse failure', async () => {
    const chain = await hsmChain();
    const report = await verifyChain([chain.timestamp.der, chain.device.der], {
      anchors: { certificates: [new Uint8Array([...chain.root.der, 0])] },
      at: AT,
    });
    expect(statuses(report)).toEqual({ 'trust.anchor': 'fail' });
    expect(report.outcome).toBe('unparseable');
    expect(report.exitCode).toBe(64);
  });
});

describe('path.build', () => {
  it('fails when an intermediate is missing', async () => {
    const chain = await hsmChain();
    const report = await verifyChain([chain.timestamp.der], options(chain.root));
    expect(statuses(report)).toEqual({ 'path.build': 'fail' });
    expect(finding(report, 'path.build').detail).toMatch(/no certificate issued the leaf/);
  });

  it('fails when no candidate issuer key verifies the signature (tampered leaf)', async () => {
    const chain = await hsmChain();
    const tampered = chain.timestamp.der.slice();
    tampered[tampered.length - 5]! ^= 0x01;
    const report = await verifyChain([tampered, chain.device.der], options(chain.root));
    expect(statuses(report)).toEqual({ 'path.build': 'fail' });
    expect(finding(report, 'path.build').detail).toMatch(/no candidate issuer's key verifies/);
  });

  it('fails when the path is longer than the limit', async () => {
    const rootKey = ecKey();
    const root = await ca('deep root', rootKey, undefined);
    let issuer = root;
    const intermediates: Issued[] = [];
    for (let i = 0; i < 9; i++) {
      issuer = await ca(`deep ${String(i)}`, ecKey(), issuer);
      intermediates.unshift(issuer);
    }
    const leaf = await keyAttestationCertificate(issuer);
    const report = await verifyChain([leaf.der, ...intermediates.map((c) => c.der)], options(root));
    expect(statuses(report)).toEqual({ 'path.build': 'fail' });
    expect(finding(report, 'path.build').detail).toBe('no anchor within 8 certificates');
    // Seven intermediates between leaf and root are within the limit.
    const shorter = await verifyChain(
      [
        (await keyAttestationCertificate(intermediates[2]!)).der,
        ...intermediates.slice(2).map((c) => c.der),
      ],
      options(root),
    );
    expect(statusOf(shorter, 'path.build')).toBe('pass');
    expect(statusOf(shorter, 'path.path-length')).toBe('pass');
  });
});

describe('path.leftover', () => {
  it('fails on a certificate that is not on the path', async () => {
    const chain = await hsmChain();
    const report = await verifyChain(
      [chain.timestamp.der, chain.device.der, chain.attestation.der],
      options(chain.root),
    );
    expectOnly(report, ['path.leftover']);
    expect(finding(report, 'path.leftover').detail).toBe(
      '1 certificate(s) not on the path, 0 duplicate(s)',
    );
  });

  it('fails on a duplicate', async () => {
    const chain = await hsmChain();
    const report = await verifyChain(
      [chain.timestamp.der, chain.device.der, chain.device.der],
      options(chain.root),
    );
    expectOnly(report, ['path.leftover']);
    expect(finding(report, 'path.leftover').detail).toBe(
      '0 certificate(s) not on the path, 1 duplicate(s)',
    );
  });

  it('the anchor itself may be supplied', async () => {
    const chain = await hsmChain();
    const report = await verifyChain(
      [chain.timestamp.der, chain.device.der, chain.root.der],
      options(chain.root),
    );
    expectOnly(report, []);
  });
});

describe('path.validity at the given time, anchor included', () => {
  it('fails before notBefore and after notAfter; the bounds themselves are inside', async () => {
    const chain = await hsmChain();
    const certs = [chain.timestamp.der, chain.device.der];
    const at = async (when: Date) => verifyChain(certs, options(chain.root, { at: when }));
    expectOnly(await at(new Date(NOT_BEFORE.getTime() - 1000)), ['path.validity']);
    expectOnly(await at(NOT_BEFORE), []);
    expectOnly(await at(NOT_AFTER), []);
    const late = await at(new Date(NOT_AFTER.getTime() + 1000));
    expectOnly(late, ['path.validity']);
    expect(finding(late, 'path.validity').detail).toMatch(/^certificate 0 is valid from /);
  });

  it('an expired leaf or an expired root fails alone', async () => {
    const early = new Date('2030-01-01T00:00:00Z');
    const leafExpired = await hsmChain({ timestamp: { notAfter: early } });
    const r1 = await verifyChain(
      [leafExpired.timestamp.der, leafExpired.device.der],
      options(leafExpired.root),
    );
    expectOnly(r1, ['path.validity']);
    expect(finding(r1, 'path.validity').detail).toMatch(/^certificate 0 /);
    const rootExpired = await hsmChain({ root: { notAfter: early } });
    const r2 = await verifyChain(
      [rootExpired.timestamp.der, rootExpired.device.der],
      options(rootExpired.root),
    );
    expectOnly(r2, ['path.validity']);
    expect(finding(r2, 'path.validity').detail).toMatch(/^certificate 2 /);
  });
});

describe('path.ca, path.key-cert-sign, path.path-length', () => {
  it('an issuer without basicConstraints, or with cA false, is not a CA', async () => {
    for (const device of [{ drop: [id_ce_basicConstraints] }, { set: [basicConstraints(false)] }]) {
      const chain = await hsmChain({ device });
      const report = await verifyChain(
        [chain.timestamp.der, chain.device.der],
        options(chain.root),
      );
      expectOnly(report, ['path.ca']);
      expect(finding(report, 'path.ca').detail).toBe(
        'certificate 1 issues certificate 0 but is not a CA',
      );
    }
  });

  it('a non-CA partition timestamp key that issues a certificate fails path.ca and roles.chain', async () => {
    const chain = await hsmChain();
    const leaf = await keyAttestationCertificate(chain.timestamp);
    const report = await verifyChain(
      [leaf.der, chain.timestamp.der, chain.device.der],
      options(chain.root),
    );
    expectOnly(report, ['path.ca', 'path.key-cert-sign', 'roles.chain']);
  });

  it('an issuer whose keyUsage lacks keyCertSign fails; an absent keyUsage does not', async () => {
    const noCertSign = await hsmChain({
      device: { set: [keyUsage(['digitalSignature', 'cRLSign'])] },
    });
    expectOnly(
      await verifyChain(
        [noCertSign.timestamp.der, noCertSign.device.der],
        options(noCertSign.root),
      ),
      ['path.key-cert-sign'],
    );
    const noKeyUsage = await hsmChain({ device: { drop: [id_ce_keyUsage] } });
    expectOnly(
      await verifyChain(
        [noKeyUsage.timestamp.der, noKeyUsage.device.der],
        options(noKeyUsage.root),
      ),
      [],
    );
  });

  it('pathLenConstraint: root pathLen 0 above a device fails; device pathLen 0 above two more fails', async () => {
    const tightRoot = await hsmChain({ root: { set: [basicConstraints(true, 0)] } });
    expectOnly(
      await verifyChain([tightRoot.timestamp.der, tightRoot.device.der], options(tightRoot.root)),
      ['path.path-length'],
    );
    const tightDevice = await hsmChain({ device: { set: [basicConstraints(true, 0)] } });
    // Device -> partition timestamp key: no intermediate below the device, pathLen 0 holds.
    expectOnly(
      await verifyChain(
        [tightDevice.timestamp.der, tightDevice.device.der],
        options(tightDevice.root),
      ),
      [],
    );
    // Device -> partition attestation key -> key attestation certificate: one intermediate.
    const leaf = await keyAttestationCertificate(tightDevice.attestation);
    expectOnly(
      await verifyChain(
        [leaf.der, tightDevice.attestation.der, tightDevice.device.der],
        options(tightDevice.root),
      ),
      ['path.path-length'],
    );
  });
});

describe('path.names and path.key-ids', () => {
  it('an issuer name that does not match stops the path at the build step', async () => {
    // The builder only follows exact name matches, so path.names passes on every built path
    // and a mismatch surfaces as path.build.
    const chain = await hsmChain();
    const otherName = encodeName({ commonName: 'not the device' });
    // The attestation key's subject with PrintableString instead of UTF8String values.
    const printable = (oid: string, text: string) =>
      der.setOf(der.seq(der.oid(oid), der.tlv(0x13, new TextEncoder().encode(text))));
    const sameTextOtherEncoding = der.seq(
      printable('2.5.4.10', 'attestamp unit test'),
      printable('2.5.4.11', PARTITION_ID),
      printable('2.5.4.3', 'partition attestation key'),
    );
    expect(sameTextOtherEncoding).not.toEqual(chain.attestation.name);
    for (const issuerName of [otherName, sameTextOtherEncoding]) {
      const leaf = await keyAttestationCertificate(chain.attestation, { issuerName });
      const report = await verifyChain(
        [leaf.der, chain.attestation.der, chain.device.der],
        options(chain.root),
      );
      expect(statuses(report)).toEqual({ 'path.build': 'fail' });
    }
  });

  it('a missing AKI on the leaf or a missing SKI on the issuer fails path.key-ids', async () => {
    const chain = await hsmChain();
    const noAki = await keyAttestationCertificate(chain.attestation, {
      drop: [id_ce_authorityKeyIdentifier],
    });
    expectOnly(
      await verifyChain([noAki.der, chain.attestation.der, chain.device.der], options(chain.root)),
      ['path.key-ids'],
    );
    const noSki = await hsmChain({ device: { drop: [id_ce_subjectKeyIdentifier] } });
    expectOnly(await verifyChain([noSki.timestamp.der, noSki.device.der], options(noSki.root)), [
      'path.key-ids',
    ]);
  });

  it('an AKI that names another key stops the path at the build step', async () => {
    const chain = await hsmChain();
    const leaf = await keyAttestationCertificate(chain.attestation, {
      set: [authorityKeyIdentifier(ecKey().spki)],
    });
    const report = await verifyChain(
      [leaf.der, chain.attestation.der, chain.device.der],
      options(chain.root),
    );
    expect(statuses(report)).toEqual({ 'path.build': 'fail' });
  });
});

describe('path.critical-extensions', () => {
  it('an unknown critical extension fails; the same extension non-critical passes', async () => {
    const chain = await hsmChain();
    const unknown = `${ARC}.99.1`;
    const critical = await keyAttestationCertificate(chain.attestation, {
      set: [{ oid: unknown, critical: true, value: der.nullValue() }],
    });
    const r1 = await verifyChain(
      [critical.der, chain.attestation.der, chain.device.der],
      options(chain.root),
    );
    expectOnly(r1, ['path.critical-extensions']);
    expect(finding(r1, 'path.critical-extensions').detail).toBe(
      `certificate 0 has the unknown critical extension ${unknown}`,
    );
    const plain = await keyAttestationCertificate(chain.attestation, {
      set: [{ oid: unknown, critical: false, value: der.nullValue() }],
    });
    expectOnly(
      await verifyChain([plain.der, chain.attestation.der, chain.device.der], options(chain.root)),
      [],
    );
  });

  it('an unknown critical extension on an intermediate fails too', async () => {
    const chain = await hsmChain({
      device: { set: [{ oid: `${ARC}.99.2`, critical: true, value: der.nullValue() }] },
    });
    expectOnly(await verifyChain([chain.timestamp.der, chain.device.der], options(chain.root)), [
      'path.critical-extensions',
    ]);
  });

  it('a repeated extension and a version 1 leaf fail', async () => {
    const chain = await hsmChain();
    const device = chain.device;
    const key = ecKey();
    const base = {
      issuer: device.name,
      subject: encodeName({ commonName: 'hand-made leaf' }),
      notBefore: utcTime('290101000000Z'),
      notAfter: utcTime('310101000000Z'),
      spki: key.spki,
    };
    const ids = [subjectKeyIdentifier(key.spki), authorityKeyIdentifier(device.key.spki)];
    const repeated = rawCertificate(
      { ...base, extensions: [...ids, basicConstraints(false), basicConstraints(false)] },
      device.key,
    );
    const r1 = await verifyChain([repeated, device.der], options(chain.root));
    expectOnly(r1, ['path.critical-extensions']);
    expect(finding(r1, 'path.critical-extensions').detail).toBe(
      'certificate 0 repeats an extension',
    );
    const v1 = rawCertificate({ ...base, version: 1 }, device.key);
    const r2 = await verifyChain([v1, device.der], options(chain.root));
    // A v1 certificate has no extensions, so no authority key identifier either.
    expectOnly(r2, ['path.critical-extensions', 'path.key-ids']);
    expect(finding(r2, 'path.critical-extensions').detail).toBe('certificate 0 is not version 3');
  });
});

describe('path.algorithms', () => {
  async function leafWithKey(chain: HsmChain, spki: Uint8Array) {
    const key: TestKey = { ...ecKey(), spki };
    return keyAttestationCertificate(chain.attestation, {}, key);
  }

  it('a leaf with an RSA-1024 key or a secp256k1 key fails; RSA-2048 passes', async () => {
    const chain = await hsmChain();
    const tail = [chain.attestation.der, chain.device.der];
    const rsa1024 = rsaKey(1024);
    const r1 = await verifyChain(
      [(await leafWithKey(chain, rsa1024.spki)).der, ...tail],
      options(chain.root),
    );
    expectOnly(r1, ['path.algorithms']);
    expect(finding(r1, 'path.algorithms').detail).toBe('certificate 0: RSA key of 1024 bits');

    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    const k1Spki = new Uint8Array(k1.publicKey.export({ type: 'spki', format: 'der' }));
    const r2 = await verifyChain(
      [(await leafWithKey(chain, k1Spki)).der, ...tail],
      options(chain.root),
    );
    expectOnly(r2, ['path.algorithms']);
    // Readable and verifiable, but not a certificate key (src/pki/algorithms/ecdsa.ts).
    expect(finding(r2, 'path.algorithms').detail).toBe(
      'certificate 0: elliptic curve secp256k1 is not on the allow-list for certificates',
    );

    const r3 = await verifyChain(
      [(await leafWithKey(chain, rsaKey(2048).spki)).der, ...tail],
      options(chain.root),
    );
    expectOnly(r3, []);
  });

  it('an RSA-1024 issuer fails even though its signatures verify', async () => {
    const weakKey = rsaKey(1024);
    const rootKey = ecKey();
    const root = await ca('root', rootKey, undefined, [role({ role: 'root' })]);
    const weak = await ca('weak device', weakKey, root, [role({ role: 'device', deviceId: 'd' })]);
    const leaf = await keyAttestationCertificate(weak);
    const report = await verifyChain([leaf.der, weak.der], options(root));
    expectOnly(report, ['path.algorithms']);
    expect(finding(report, 'path.algorithms').detail).toBe('certificate 1: RSA key of 1024 bits');
  });

  it('inner and outer signature algorithms must be the same', async () => {
    const chain = await hsmChain();
    const key = ecKey();
    const leaf = rawCertificate(
      {
        issuer: chain.attestation.name,
        subject: encodeName({ commonName: 'mismatched algorithms' }),
        notBefore: utcTime('290101000000Z'),
        notAfter: utcTime('310101000000Z'),
        spki: key.spki,
        extensions: [
          subjectKeyIdentifier(key.spki),
          authorityKeyIdentifier(chain.attestation.key.spki),
        ],
        innerAlgorithm: der.algorithmIdentifier(id_ecdsa_with_SHA384),
      },
      chain.attestation.key,
    );
    const report = await verifyChain(
      [leaf, chain.attestation.der, chain.device.der],
      options(chain.root),
    );
    expectOnly(report, ['path.algorithms']);
    expect(finding(report, 'path.algorithms').detail).toBe(
      'certificate 0: inner and outer signature algorithms differ',
    );
  });

  it('a SHA-1 signature on a certificate stops the path; the anchor self-signature is not checked', async () => {
    const rootKey = rsaKey(2048);
    const sha1 = der.algorithmIdentifier(id_sha1WithRSAEncryption, der.nullValue());
    const sha1Sign = (tbs: Uint8Array) => new Uint8Array(sign('sha1', tbs, rootKey.privateKey));
    const rootName = encodeName({ commonName: 'sha-1 self-signed root' });
    const rootDer = rawCertificate(
      {
        issuer: rootName,
        subject: rootName,
        notBefore: utcTime('290101000000Z'),
        notAfter: utcTime('310101000000Z'),
        spki: rootKey.spki,
        extensions: [
          subjectKeyIdentifier(rootKey.spki),
          authorityKeyIdentifier(rootKey.spki),
          basicConstraints(true),
          keyUsage(['keyCertSign']),
          role({ role: 'root' }),
        ],
        innerAlgorithm: sha1,
        outerAlgorithm: sha1,
        sign: sha1Sign,
      },
      rootKey,
    );
    const root: Issued = { der: rootDer, key: rootKey, name: rootName, serial: Uint8Array.of(1) };
    const device = await ca('device', ecKey(), root, [role({ role: 'device', deviceId: 'd' })]);
    const leaf = await keyAttestationCertificate(device);
    // The anchor is trusted by pinning, not by its own signature.
    expectOnly(await verifyChain([leaf.der, device.der], options(root)), []);

    // A device certificate signed with SHA-1 does not verify at all.
    const sha1Device = rawCertificate(
      {
        issuer: rootName,
        subject: encodeName({ commonName: 'sha-1 device' }),
        notBefore: utcTime('290101000000Z'),
        notAfter: utcTime('310101000000Z'),
        spki: device.key.spki,
        extensions: [
          subjectKeyIdentifier(device.key.spki),
          authorityKeyIdentifier(rootKey.spki),
          basicConstraints(true),
          keyUsage(['keyCertSign']),
        ],
        innerAlgorithm: sha1,
        outerAlgorithm: sha1,
        sign: sha1Sign,
      },
      rootKey,
    );
    const report = await verifyChain([sha1Device], options(root));
    expect(statuses(report)).toEqual({ 'path.algorithms': 'fail', 'path.build': 'fail' });
    expect(finding(report, 'path.algorithms').detail).toBe(
      `certificate 0: signature algorithm ${id_sha1WithRSAEncryption} is not on the allow-list`,
    );
    expect(report.outcome).toBe('failed');
  });
});

describe('roles.chain', () => {
  it('fails when the root or device role is missing or swapped', async () => {
    for (const tweaks of [
      { root: { drop: [id_ce_hsmRole] } },
      { device: { set: [role({ role: 'root' })] } },
      { root: { set: [role({ role: 'device', deviceId: DEVICE_ID })] } },
    ]) {
      const chain = await hsmChain(tweaks);
      const report = await verifyChain(
        [chain.timestamp.der, chain.device.der],
        options(chain.root),
      );
      expectOnly(report, ['roles.chain']);
    }
  });

  it('fails when a partition names another device', async () => {
    const chain = await hsmChain({ partitionDeviceId: 'SWHSM-FFFFFFFFFFFFFFFF' });
    const report = await verifyChain([chain.timestamp.der, chain.device.der], options(chain.root));
    expectOnly(report, ['roles.chain']);
    expect(finding(report, 'roles.chain').detail).toBe(
      `certificate 0 names device SWHSM-FFFFFFFFFFFFFFFF, the device certificate ${DEVICE_ID}`,
    );
  });

  it('fails on a malformed role extension', async () => {
    const chain = await hsmChain({
      timestamp: { set: [{ oid: id_ce_hsmRole, critical: false, value: der.seq(der.integer(3)) }] },
    });
    const report = await verifyChain([chain.timestamp.der, chain.device.der], options(chain.root));
    expect(finding(report, 'roles.chain')).toEqual({
      id: 'roles.chain',
      status: 'fail',
      detail: 'a role extension is malformed',
    });
    // The role check stops there: the evidence placement is not reported.
    expect(report.checks.some((c) => c.id === 'roles.evidence-on-leaf')).toBe(false);
    expect(report.outcome).toBe('failed');
  });

  it('fails when an intermediate below the device has no role, or the partition ids differ', async () => {
    const noRole = await hsmChain({ attestation: { drop: [id_ce_hsmRole] } });
    const leaf = await keyAttestationCertificate(noRole.attestation);
    const r1 = await verifyChain(
      [leaf.der, noRole.attestation.der, noRole.device.der],
      options(noRole.root),
    );
    expectOnly(r1, ['roles.chain']);
    expect(finding(r1, 'roles.chain').detail).toBe('certificate 1 has no role but issues another');

    const chain = await hsmChain();
    const otherPartition = await keyAttestationCertificate(chain.attestation, {
      set: [role({ role: 'partition-timestamp', deviceId: DEVICE_ID, partitionId: 'p2' })],
    });
    const r2 = await verifyChain(
      [otherPartition.der, chain.attestation.der, chain.device.der],
      options(chain.root),
    );
    expectOnly(r2, ['roles.chain']);
    expect(finding(r2, 'roles.chain').detail).toBe('partition ids differ along the chain');
  });

  it('checkRoles reports the ids it found', async () => {
    const chain = await hsmChain();
    const path = [chain.timestamp, chain.device, chain.root].map((c) => parseCert(c.der));
    const f = new Findings();
    expect(checkRoles(path, f)).toEqual({ deviceId: DEVICE_ID, partitionId: PARTITION_ID });
    expect(f.list.map((c) => [c.id, c.status])).toEqual([
      ['roles.chain', 'pass'],
      ['roles.evidence-on-leaf', 'pass'],
    ]);
  });
});

describe('roles.evidence-on-leaf', () => {
  const evidence: ExtensionSpec = {
    oid: id_ce_keyEvidence,
    critical: false,
    value: EVIDENCE_VALUE,
  };

  it('fails when an issuer carries the evidence extension', async () => {
    const chain = await hsmChain({ attestation: { set: [evidence] } });
    const leaf = await keyAttestationCertificate(chain.attestation);
    const report = await verifyChain(
      [leaf.der, chain.attestation.der, chain.device.der],
      options(chain.root),
    );
    expectOnly(report, ['roles.evidence-on-leaf']);
  });

  it('fails when the leaf with the evidence extension is a CA (forged-leaf pattern)', async () => {
    const chain = await hsmChain();
    const caLeaf = await keyAttestationCertificate(chain.attestation, {
      set: [basicConstraints(true, 0), keyUsage(['keyCertSign'])],
    });
    const report = await verifyChain(
      [caLeaf.der, chain.attestation.der, chain.device.der],
      options(chain.root),
    );
    expectOnly(report, ['roles.evidence-on-leaf']);
  });
});

describe('path.der', () => {
  it('a supplied certificate that is not strict DER is a parse failure', async () => {
    const chain = await hsmChain();
    const report = await verifyChain(
      [chain.timestamp.der, new Uint8Array([...chain.device.der, 0])],
      options(chain.root),
    );
    // A certificate that is not strict DER fails the chain (exit 1), as the path check says.
    expect(statuses(report)).toEqual({ 'path.der': 'fail' });
    expect(report.outcome).toBe('failed');
    expect(finding(report, 'path.der').detail).toMatch(/^certificate 1 is not a strict-DER/);
    // A signed issuer certificate whose basicConstraints value is empty: reported, not thrown.
    const malformed = await hsmChain({
      device: { set: [{ oid: id_ce_basicConstraints, critical: true, value: new Uint8Array(0) }] },
    });
    const r2 = await verifyChain(
      [malformed.timestamp.der, malformed.device.der],
      options(malformed.root),
    );
    expect(statuses(r2)).toEqual({ 'path.der': 'fail' });
    expect(finding(r2, 'path.der').detail).toBe(
      'certificate 1 is not a strict-DER certificate: malformed extension value',
    );
    const empty = await verifyChain([], options(chain.root));
    expect(statuses(empty)).toEqual({ 'path.build': 'fail' });
    expect(empty.outcome).toBe('unparseable');
  });
});

// RFC 5280 5.1: CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue }
// TBSCertList ::= SEQUENCE { version v2, signature, issuer, thisUpdate, nextUpdate OPTIONAL,
//   revokedCertificates SEQUENCE OF SEQUENCE { userCertificate, revocationDate } OPTIONAL }

function timeOf(at: Date): Uint8Array {
  const iso = at.toISOString();
  const digits = iso.replace(/[-:T]/g, '').slice(0, 14);
  const year = at.getUTCFullYear();
  return year >= 1950 && year < 2050
    ? utcTime(`${digits.slice(2)}Z`)
    : der.tlv(0x18, new TextEncoder().encode(`${digits}Z`));
}

interface CrlSpec {
  readonly revoked?: readonly Uint8Array[];
  readonly thisUpdate?: Date;
  readonly nextUpdate?: Date | null;
  /** Defaults to the issuer's key. */
  readonly signingKey?: TestKey;
  /** A thisUpdate Time TLV written as given. */
  readonly rawThisUpdate?: Uint8Array;
}

function buildCrl(issuer: Issued, spec: CrlSpec = {}): Uint8Array {
  const signingKey = spec.signingKey ?? issuer.key;
  const thisUpdate = spec.thisUpdate ?? new Date('2030-05-01T00:00:00Z');
  const nextUpdate =
    spec.nextUpdate === undefined ? new Date('2030-07-01T00:00:00Z') : spec.nextUpdate;
  const revoked = spec.revoked ?? [];
  const tbs = der.seq(
    der.integer(1),
    signatureAlgorithmDer(signingKey),
    issuer.name,
    spec.rawThisUpdate ?? timeOf(thisUpdate),
    ...(nextUpdate === null ? [] : [timeOf(nextUpdate)]),
    ...(revoked.length === 0
      ? []
      : [der.seq(...revoked.map((s) => der.seq(der.unsignedInteger(s), timeOf(thisUpdate))))]),
  );
  return der.seq(
    tbs,
    signatureAlgorithmDer(signingKey),
    der.tlv(0x03, Uint8Array.of(0), signWith(signingKey, tbs)),
  );
}

describe('revocation from given CRLs', () => {
  async function run(spec: {
    device?: CrlSpec | null;
    root?: CrlSpec | null;
    require?: boolean;
  }): Promise<{ report: Report; chain: HsmChain }> {
    const chain = await hsmChain();
    const crls: Uint8Array[] = [];
    if (spec.device !== null) crls.push(buildCrl(chain.device, spec.device));
    if (spec.root !== null) crls.push(buildCrl(chain.root, spec.root));
    const report = await verifyChain(
      [chain.timestamp.der, chain.device.der],
      options(chain.root, { crls, requireRevocation: spec.require ?? false }),
    );
    return { report, chain };
  }

  it('passes with current CRLs from both issuers that list other serials', async () => {
    const { report } = await run({ device: { revoked: [Uint8Array.of(0x7f, 1)] }, root: {} });
    expect(finding(report, 'revocation')).toEqual({
      id: 'revocation',
      status: 'pass',
      detail: 'no certificate on the path is revoked',
    });
    expect(report.outcome).toBe('verified');
  });

  it('fails when the device CRL lists the leaf, or the root CRL lists the device', async () => {
    const chain = await hsmChain();
    const certs = [chain.timestamp.der, chain.device.der];
    const leafRevoked = await verifyChain(
      certs,
      options(chain.root, {
        crls: [buildCrl(chain.device, { revoked: [chain.timestamp.serial] }), buildCrl(chain.root)],
      }),
    );
    expect(finding(leafRevoked, 'revocation')).toEqual({
      id: 'revocation',
      status: 'fail',
      detail: `certificate 0 (serial ${toHex(chain.timestamp.serial)}) is revoked`,
    });
    expect(leafRevoked.outcome).toBe('failed');
    expect(leafRevoked.exitCode).toBe(1);
    const deviceRevoked = await verifyChain(
      certs,
      options(chain.root, {
        crls: [buildCrl(chain.device), buildCrl(chain.root, { revoked: [chain.device.serial] })],
      }),
    );
    expect(statusOf(deviceRevoked, 'revocation')).toBe('fail');
    expect(finding(deviceRevoked, 'revocation').detail).toMatch(/^certificate 1 /);
  });

  it('checkRevocation on a validated path: a CRL naming the serial revokes it', async () => {
    const chain = await hsmChain();
    const path = [chain.timestamp, chain.device, chain.root].map((c) => parseCert(c.der));
    const revoked = new Findings();
    await checkRevocation(
      path,
      options(chain.root, {
        crls: [buildCrl(chain.device, { revoked: [chain.timestamp.serial] })],
      }),
      revoked,
    );
    expect(revoked.list.map((c) => [c.id, c.status])).toEqual([['revocation', 'fail']]);
    expect(revoked.outcome()).toBe('failed');
    const clean = new Findings();
    await checkRevocation(
      path,
      options(chain.root, {
        crls: [buildCrl(chain.device), buildCrl(chain.root)],
        requireRevocation: true,
      }),
      clean,
    );
    expect(clean.list.map((c) => [c.id, c.status])).toEqual([['revocation', 'pass']]);
    expect(clean.outcome()).toBe('verified');
  });

  it('a stale CRL (nextUpdate before --at) is indeterminate when required, a warning otherwise', async () => {
    const stale: CrlSpec = {
      revoked: [],
      thisUpdate: new Date('2030-01-01T00:00:00Z'),
      nextUpdate: new Date('2030-02-01T00:00:00Z'),
    };
    const required = await run({ device: stale, root: {}, require: true });
    expect(finding(required.report, 'revocation')).toEqual({
      id: 'revocation',
      status: 'warn',
      detail: 'no current CRL for certificate(s) 0',
    });
    expect(required.report.outcome).toBe('indeterminate');
    expect(required.report.exitCode).toBe(3);
    const optional = await run({ device: stale, root: {}, require: false });
    expect(statusOf(optional.report, 'revocation')).toBe('warn');
    expect(optional.report.outcome).toBe('verified');
  });

  it('a stale CRL that lists the leaf is not used either way', async () => {
    const chain = await hsmChain();
    const report = await verifyChain(
      [chain.timestamp.der, chain.device.der],
      options(chain.root, {
        crls: [
          buildCrl(chain.device, {
            revoked: [chain.timestamp.serial],
            thisUpdate: new Date('2030-01-01T00:00:00Z'),
            nextUpdate: new Date('2030-02-01T00:00:00Z'),
          }),
          buildCrl(chain.root),
        ],
        requireRevocation: true,
      }),
    );
    expect(statusOf(report, 'revocation')).toBe('warn');
    expect(report.outcome).toBe('indeterminate');
  });

  it('a CRL issued after --at, or a missing CRL, is indeterminate when required', async () => {
    const future = await run({
      device: { thisUpdate: new Date('2030-06-02T00:00:00Z'), nextUpdate: null },
      root: {},
      require: true,
    });
    expect(future.report.outcome).toBe('indeterminate');
    const missing = await run({ device: null, root: {}, require: true });
    expect(finding(missing.report, 'revocation').detail).toBe(
      'no current CRL for certificate(s) 0',
    );
    expect(missing.report.outcome).toBe('indeterminate');
    const none = await run({ device: null, root: null, require: true });
    expect(finding(none.report, 'revocation').detail).toBe(
      'no current CRL for certificate(s) 0, 1',
    );
    expect(none.report.outcome).toBe('indeterminate');
    const notRequired = await run({ device: null, root: null, require: false });
    expect(statusOf(notRequired.report, 'revocation')).toBe('skip');
    expect(notRequired.report.outcome).toBe('verified');
  });

  it('a CRL without nextUpdate and one with GeneralizedTime dates are read and used', async () => {
    const { report } = await run({
      device: { nextUpdate: null },
      root: {
        thisUpdate: new Date('1949-01-01T00:00:00Z'),
        nextUpdate: new Date('2050-01-01T00:00:00Z'),
      },
      require: true,
    });
    expect(statusOf(report, 'revocation')).toBe('pass');
    expect(report.outcome).toBe('verified');
  });

  it('a CRL with an impossible UTCTime is a parse failure, not a later date', async () => {
    const { report } = await run({ device: { rawThisUpdate: utcTime('301301000000Z') }, root: {} });
    expect(finding(report, 'revocation')).toEqual({
      id: 'revocation',
      status: 'fail',
      detail: 'a CRL could not be parsed',
    });
  });

  it('a CRL signed by the wrong key fails', async () => {
    const { report } = await run({ device: { signingKey: ecKey() }, root: {} });
    expect(finding(report, 'revocation')).toEqual({
      id: 'revocation',
      status: 'fail',
      detail: 'a CRL for certificate 0 is not signed by its issuer',
    });
    expect(report.outcome).toBe('failed');
  });

  it('a CRL from another issuer is not used; a CRL that is not strict DER is a parse failure', async () => {
    const chain = await hsmChain();
    const certs = [chain.timestamp.der, chain.device.der];
    const elsewhere: Issued = { ...chain.device, name: encodeName({ commonName: 'another CA' }) };
    const foreign = await verifyChain(
      certs,
      options(chain.root, {
        crls: [buildCrl(elsewhere, { revoked: [chain.timestamp.serial] }), buildCrl(chain.root)],
        requireRevocation: true,
      }),
    );
    expect(finding(foreign, 'revocation').detail).toBe('no current CRL for certificate(s) 0');
    expect(foreign.outcome).toBe('indeterminate');

    const trailing = new Uint8Array([...buildCrl(chain.device), 0x00]);
    const report = await verifyChain(certs, options(chain.root, { crls: [trailing] }));
    expect(finding(report, 'revocation')).toEqual({
      id: 'revocation',
      status: 'fail',
      detail: 'a CRL could not be parsed',
    });
    expect(report.outcome).toBe('unparseable');
    const impossible = der.seq(der.integer(1));
    expect(
      statusOf(await verifyChain(certs, options(chain.root, { crls: [impossible] })), 'revocation'),
    ).toBe('fail');
  });
});

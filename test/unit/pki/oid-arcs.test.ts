// Every OID in every object the project issues has arcs below 2^28 (RFC 5280 4.1.2.4; Go's
// crypto/x509 and encoding/asn1 and python-cryptography reject larger ones, README "Object
// identifiers"): factory roots, device certification requests and certificates, partition
// certificates for every timestamp key algorithm, evidence and key attestation certificates, and
// tokens and rejections from every unit, each walked generically by test/helpers/der-oids.ts. The
// project issues no CRLs (it only reads them), so there is none to walk.
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createFactory, Hsm, type Factory } from '../../../src/hsm/index.js';
import {
  ARC,
  buildCertificate,
  der,
  encodeName,
  id_aa_signingCertificateV2,
  id_ce_hsmRole,
  id_ce_keyEvidence,
  id_element,
  id_kp_attestationKey,
  id_sha256,
  id_tsaPolicyBaseline,
  id_tsaPolicyPostQuantum,
  KEY_CLAIMS,
  capabilityOid,
  type KeyAlgorithm,
  type Signer,
} from '../../../src/pki/index.js';
import { systemClock } from '../../../src/shared/index.js';
import { fixedTimeSource, TimeStampService, type UnitOptions } from '../../../src/tsa/index.js';
import { ARC_LIMIT, decodeOidArcs, findOids, oversizedArcs } from '../../helpers/der-oids.js';
import { OFFICER } from '../../helpers/hsm.js';
import { tempDir } from '../../helpers/tmp.js';
import { encodeTimeStampReq } from '../../helpers/tsq.js';

/** The arc the project used before: a 2.25 UUID arc (ITU-T X.667) with a 128-bit arc. */
const UUID_ARC = '2.25.290932336010228728432622296596402693424';

/** Every timestamp key algorithm a partition can have (the 4096-bit RSA ones encode alike). */
const TIMESTAMP_ALGORITHMS: readonly KeyAlgorithm[] = [
  'ecdsa-p256',
  'ecdsa-p384',
  'ed25519',
  'rsa-3072',
  'rsa-pss-3072',
];

describe('the OID walker (test/helpers/der-oids.ts)', () => {
  it('decodes the first two arcs from one subidentifier, and big arcs exactly', () => {
    expect(findOids(der.oid('1.2.840.113549.1.1.11')).map((f) => f.oid)).toEqual([
      '1.2.840.113549.1.1.11',
    ]);
    expect(findOids(der.oid(`${UUID_ARC}.7.1`))[0]!.oid).toBe(`${UUID_ARC}.7.1`);
    expect(findOids(der.oid('2.999.3'))[0]!.arcs).toEqual([2n, 999n, 3n]);
    expect(decodeOidArcs(Uint8Array.of(0x2a, 0x80, 0x01))).toBeUndefined();
    expect(decodeOidArcs(Uint8Array.of(0x2a, 0x86))).toBeUndefined();
  });

  it('flags the old UUID arc inside an extension value wrapped in an OCTET STRING', async () => {
    const wrapped = der.seq(der.oid('2.5.29.37'), der.octetString(der.seq(der.oid(UUID_ARC))));
    expect(oversizedArcs(wrapped)).toEqual([`${UUID_ARC} at 30/04>30/06`]);
    const inBitString = der.seq(der.tlv(0x03, Uint8Array.of(0), der.seq(der.oid(`${UUID_ARC}.1`))));
    expect(oversizedArcs(inBitString)).toEqual([`${UUID_ARC}.1 at 30/03>30/06`]);
    // A whole certificate with the old role extension OID, as the project issued before.
    const key = generateTestSigner();
    const cert = await buildCertificate(
      {
        serialNumber: Uint8Array.of(1),
        issuer: encodeName({ commonName: 'walker test' }),
        subject: encodeName({ commonName: 'walker test' }),
        notBefore: new Date('2025-01-01T00:00:00Z'),
        notAfter: new Date('2026-01-01T00:00:00Z'),
        spki: key.spki,
        extensions: [
          {
            oid: `${UUID_ARC}.7.1`,
            critical: false,
            value: der.seq(der.tlv(0x0a, Uint8Array.of(0))),
          },
          { oid: '2.5.29.37', critical: false, value: der.seq(der.oid(`${UUID_ARC}.3.1`)) },
        ],
      },
      key,
    );
    expect(oversizedArcs(cert)).toEqual([
      `${UUID_ARC}.7.1 at 30/30/a3/30/30/06`,
      `${UUID_ARC}.3.1 at 30/30/a3/30/30/04>30/06`,
    ]);
  });

  it('draws the line at 2^28', () => {
    expect(oversizedArcs(der.oid(`1.3.6.1.4.1.${ARC_LIMIT - 1n}`))).toEqual([]);
    expect(oversizedArcs(der.oid(`1.3.6.1.4.1.${ARC_LIMIT}`))).toHaveLength(1);
  });

  it('refuses input that is not DER rather than passing it', () => {
    expect(() => findOids(Uint8Array.of(0x30, 0x80, 0x00, 0x00))).toThrow(/not DER/);
    expect(() => findOids(Uint8Array.of(0x30, 0x05, 0x06))).toThrow(/not DER/);
  });

  it('leaves opaque octet strings alone', () => {
    const keyId = der.octetString(Uint8Array.from({ length: 20 }, (_, i) => 0xf0 - i));
    expect(findOids(der.seq(keyId))).toEqual([]);
  });
});

/** A throwaway P-256 signer from node:crypto. */
function generateTestSigner(): Pick<Signer, 'algorithm' | 'spki' | 'sign'> {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    algorithm: 'ecdsa-p256',
    spki: new Uint8Array(pair.publicKey.export({ type: 'spki', format: 'der' })),
    sign: (tbs) => Promise.resolve(new Uint8Array(sign('sha256', tbs, pair.privateKey))),
  };
}

interface Issued {
  readonly name: string;
  readonly der: Uint8Array;
  /** OIDs under the project arc the walk must find, so that a shallow walk cannot pass. */
  readonly mustContain: readonly string[];
}

/** A factory that also records the certification requests devices send it. */
function recording(factory: Factory, csrs: Uint8Array[]): Factory {
  return {
    label: factory.label,
    development: factory.development,
    organization: factory.organization,
    country: factory.country,
    rootCertificate: factory.rootCertificate,
    rootSha256: factory.rootSha256,
    issueCrl: (options, clock) => factory.issueCrl(options, clock),
    certifyDevice: (request, clock) => {
      csrs.push(request.csr);
      return factory.certifyDevice(request, clock);
    },
  };
}

describe('every object the project issues keeps its OID arcs below 2^28', () => {
  const issued: Issued[] = [];

  beforeAll(async () => {
    const dir = tempDir();
    const csrs: Uint8Array[] = [];
    // A second factory and device on other algorithms: only their certificates and request.
    const other = await createFactory(join(dir, 'factory-ed25519'), {
      algorithm: 'ed25519',
      development: true,
      clock: systemClock,
    });
    const otherHsm = await Hsm.init({
      path: join(dir, 'other.sqlite'),
      masterKey: { kind: 'key', key: randomBytes(32) },
      factory: recording(other, csrs),
      officer: OFFICER,
      deviceAlgorithm: 'rsa-pss-3072',
      defaultPartition: null,
      clock: systemClock,
    });
    issued.push(
      { name: 'ed25519 factory root', der: other.rootCertificate, mustContain: [id_ce_hsmRole] },
      {
        name: 'rsa-pss device',
        der: (await otherHsm.device()).certificate,
        mustContain: [id_ce_hsmRole],
      },
    );
    await otherHsm.close();

    const factory = await createFactory(join(dir, 'factory'), {
      development: true,
      clock: systemClock,
    });
    const hsm = await Hsm.init({
      path: join(dir, 'device.sqlite'),
      masterKey: { kind: 'key', key: randomBytes(32) },
      factory: recording(factory, csrs),
      officer: OFFICER,
      clock: systemClock,
    });
    for (const [i, csr] of csrs.entries()) {
      issued.push({ name: `device certification request ${i + 1}`, der: csr, mustContain: [] });
    }
    const device = await hsm.device();
    issued.push(
      { name: 'factory root', der: device.rootCertificate, mustContain: [id_ce_hsmRole] },
      { name: 'device', der: device.certificate, mustContain: [id_ce_hsmRole] },
    );

    const units: UnitOptions[] = [];
    for (const [i, algorithm] of TIMESTAMP_ALGORITHMS.entries()) {
      const partition = i === 0 ? 'default' : algorithm;
      if (i !== 0) {
        await hsm.createPartition(partition, {
          timestampAlgorithm: algorithm,
          ...(algorithm === 'ed25519' ? { attestationAlgorithm: 'ed25519' as const } : {}),
          ...(algorithm === 'rsa-3072' ? { timestampKeyUsageYears: 5 } : {}),
        });
      }
      const chain = await hsm.chain(partition);
      issued.push(
        {
          name: `${partition} partition attestation`,
          der: chain.partitionAttestation,
          mustContain: [id_ce_hsmRole, id_kp_attestationKey],
        },
        {
          name: `${partition} partition timestamp`,
          der: chain.partitionTimestamp,
          mustContain: [id_ce_hsmRole],
        },
        {
          name: `${partition} evidence about its timestamp key`,
          der: await hsm.attestKey(partition, 'partition-timestamp', { nonce: randomBytes(16) }),
          mustContain: [id_element.transaction, id_element.key, KEY_CLAIMS.neverExtractable.oid],
        },
        {
          name: `${partition} key attestation certificate for its timestamp key`,
          der: await hsm.attestKey(partition, 'partition-timestamp', { format: 'certificate' }),
          mustContain: [id_ce_keyEvidence, KEY_CLAIMS.partitionId.oid],
        },
      );
      const policies =
        i === 0
          ? [id_tsaPolicyBaseline]
          : algorithm === 'ed25519'
            ? [`${id_tsaPolicyBaseline}.${i}`, id_tsaPolicyPostQuantum]
            : [`${id_tsaPolicyBaseline}.${i}`];
      units.push({ name: partition, signer: await hsm.timestampSigner(partition), policies });
    }

    await hsm.generateKey('default', {
      label: 'user',
      algorithm: 'ecdsa-p256',
      purposes: ['sign', 'verify', 'derive'],
    });
    issued.push(
      {
        name: 'evidence about a user key',
        der: await hsm.attestKey('default', 'user', { nonce: randomBytes(8) }),
        mustContain: [id_element.platform, capabilityOid('derive')],
      },
      {
        name: 'key attestation certificate for a user key',
        der: await hsm.attestKey('default', 'user', {
          format: 'certificate',
          nonce: randomBytes(8),
        }),
        mustContain: [id_ce_keyEvidence, capabilityOid('sign')],
      },
    );

    for (const qualified of [false, true]) {
      const service = new TimeStampService({
        units,
        hashes: ['sha256', 'sha384', 'sha512'],
        legacySha1: false,
        precision: 3,
        accuracy: { seconds: 1, millis: 0, micros: 0 },
        includeIssuers: true,
        qualified,
        includeTsaName: true,
        verifyTokens: 'on',
        timeSource: fixedTimeSource(Date.now()),
        serials: { next: () => BigInt(`0x${randomBytes(8).toString('hex')}`) },
        archive: undefined,
      });
      for (const unit of units) {
        for (const policy of [undefined, ...unit.policies]) {
          const result = await service.respond(
            unit.name,
            encodeTimeStampReq({
              hashOid: id_sha256,
              digest: randomBytes(32),
              nonce: Uint8Array.of(0x01, ...randomBytes(7)),
              certReq: true,
              ...(policy === undefined ? {} : { policy }),
            }),
          );
          expect(result.status, unit.name).toBe('granted');
          issued.push({
            name: `token from ${unit.name}, policy ${policy ?? 'default'}, qualified ${String(qualified)}`,
            der: result.response,
            mustContain: [policy ?? unit.policies[0]!, id_aa_signingCertificateV2, id_ce_hsmRole],
          });
        }
      }
      const rejection = await service.respond(
        'default',
        encodeTimeStampReq({ hashOid: id_sha256, digest: randomBytes(32), policy: '1.2.3.4' }),
      );
      expect(rejection.status).toBe('rejection');
      issued.push({ name: 'rejection', der: rejection.response, mustContain: [] });
    }
    await hsm.close();
  }, 120_000);

  it('covers every kind of object', () => {
    const names = issued.map((i) => i.name);
    expect(names.filter((n) => n.startsWith('token from')).length).toBeGreaterThanOrEqual(
      2 * (TIMESTAMP_ALGORITHMS.length + 1),
    );
    expect(names.filter((n) => n.startsWith('device certification request'))).toHaveLength(2);
    expect(names).toContain('key attestation certificate for a user key');
  });

  it('finds the project OIDs where they are, nested in extension values and eContent', () => {
    for (const item of issued) {
      const found = new Set(findOids(item.der).map((f) => f.oid));
      for (const oid of item.mustContain) expect(found.has(oid), `${item.name}: ${oid}`).toBe(true);
    }
  });

  it('no OID anywhere has an arc at or above 2^28', () => {
    const problems = issued.flatMap((item) =>
      oversizedArcs(item.der).map((p) => `${item.name}: ${p}`),
    );
    expect(problems).toEqual([]);
  });

  it('the project arc itself is below the limit in every arc', () => {
    expect(ARC.split('.').every((a) => BigInt(a) < ARC_LIMIT)).toBe(true);
  });
});

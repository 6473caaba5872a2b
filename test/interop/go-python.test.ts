// Interop with parsers that refuse OID arcs of 2^28 and more (README "Object identifiers"):
// Go's crypto/x509 and encoding/asn1 (test/interop/go/parse.go), python-cryptography
// (test/interop/python/x509_oids.py) and the rfc3161ng client (test/interop/python/
// rfc3161ng_stamp.py), each against a device with an ECDSA P-256 unit and an RSA-3072 unit
// (Go and python-cryptography also an Ed25519 and an RSA-PSS unit) served by the real
// `attestamp serve`. Every certificate of every chain, the key attestation certificates, the
// certificates inside the tokens and the tokens' TSTInfo must parse, and each chain must verify
// in Go with the project root as the only root.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodePem,
  id_aa_signingCertificateV2,
  id_ce_hsmRole,
  id_ce_keyEvidence,
  id_contentType,
  id_ct_TSTInfo,
  id_element,
  id_kp_attestationKey,
  id_messageDigest,
  id_sha256,
  id_signedData,
  id_tsaPolicyBaseline,
  KEY_CLAIMS,
  parseCertificate,
} from '../../src/pki/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { requirePythonModules, requireTool, SYSTEM_PYTHON } from '../helpers/tools.js';
import { decodeResponse, encodeTimeStampReq } from '../helpers/tsq.js';
import { post, startTsa, type RunningTsa } from '../helpers/tsa.js';

const HERE = resolve(import.meta.dirname);
/** ECDSA P-256 (the default partition) and RSA-3072 for all three parsers; Ed25519 and RSA-PSS
 * for Go and python-cryptography (rfc3161ng verifies PKCS#1 v1.5 only). */
const UNITS = [
  { partition: 'default', path: '/', policy: id_tsaPolicyBaseline, algorithm: 'ecdsa-p256' },
  { partition: 'rsa', path: '/rsa', policy: `${id_tsaPolicyBaseline}.1`, algorithm: 'rsa-3072' },
  {
    partition: 'ed25519',
    path: '/ed25519',
    policy: `${id_tsaPolicyBaseline}.2`,
    algorithm: 'ed25519',
  },
  {
    partition: 'pss',
    path: '/pss',
    policy: `${id_tsaPolicyBaseline}.3`,
    algorithm: 'rsa-pss-3072',
  },
] as const;
const LEVELS = ['root', 'device', 'partition-attestation', 'partition-timestamp'] as const;
/** Go's x509.ExtKeyUsageTimeStamping. */
const GO_EKU_TIME_STAMPING = 8;

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** The serial number in lowercase hex without leading zeros, as Go and Python print it. */
function serialOf(der: Uint8Array): string {
  const hex = Buffer.from(parseCertificate(der).serialNumber.valueBlock.valueHexView).toString(
    'hex',
  );
  return BigInt(`0x${hex}`).toString(16);
}

/** The extension OIDs in order, as our own parser reads them. */
function extensionOids(der: Uint8Array): string[] {
  return (parseCertificate(der).extensions ?? []).map((e) => e.extnID);
}

interface Material {
  readonly cwd: string;
  readonly root: Uint8Array;
  /** Certificates by name: `<partition>/<level>` and `<partition>/key-attestation-*`. */
  readonly certificates: ReadonlyMap<string, Uint8Array>;
  readonly evidence: ReadonlyMap<string, Uint8Array>;
  /** TimeStampResp DER by unit, with the request's nonce (hex, no leading zeros). */
  readonly tokens: ReadonlyMap<string, { der: Uint8Array; nonce: string }>;
  readonly tsa: RunningTsa;
}

let material: Material | undefined;
const need = (): Material => {
  if (material === undefined) throw new Error('the device was not set up');
  return material;
};

const skipGo = requireTool('go');
const skipPython = requirePythonModules('cryptography');
const skipRfc3161ng = requirePythonModules('rfc3161ng', 'requests');

describe.skipIf(skipGo && skipPython && skipRfc3161ng)('parsers that cap OID arcs', () => {
  beforeAll(async () => {
    const cwd = tempDir();
    const ok = (args: string[]): void => {
      const r = runCli(args, { cwd });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    };
    ok(['init']);
    for (const u of UNITS) {
      if (u.partition !== 'default') {
        ok(['partition', 'create', u.partition, '--timestamp-algorithm', u.algorithm]);
      }
      ok(['key', 'generate', u.partition, '--label', 'user', '--algorithm', u.algorithm]);
    }
    const certificates = new Map<string, Uint8Array>();
    const evidence = new Map<string, Uint8Array>();
    for (const { partition } of UNITS) {
      ok(['chain', partition, '--out', join(cwd, partition)]);
      for (const level of LEVELS) {
        const pem = readFileSync(join(cwd, partition, `${level}.pem`), 'utf8');
        certificates.set(`${partition}/${level}`, decodePem(pem, 'CERTIFICATE'));
      }
      for (const label of ['user', 'partition-timestamp']) {
        const out = join(cwd, `${partition}-${label}.pem`);
        ok(['key', 'attest', partition, label, '--format', 'certificate', '--out', out]);
        certificates.set(
          `${partition}/key-attestation-${label}`,
          decodePem(readFileSync(out, 'utf8'), 'CERTIFICATE'),
        );
        const ev = join(cwd, `${partition}-${label}.evidence.pem`);
        ok(['key', 'attest', partition, label, '--nonce', '0a1b2c', '--out', ev]);
        evidence.set(`${partition}/${label}`, decodePem(readFileSync(ev, 'utf8'), 'EVIDENCE'));
      }
    }
    const tsa = await startTsa(cwd, [
      'serve',
      '--port',
      '0',
      ...UNITS.flatMap((u) => ['--unit', `${u.partition}:${u.path}`]),
    ]);
    const tokens = new Map<string, { der: Uint8Array; nonce: string }>();
    for (const u of UNITS) {
      const nonce = Uint8Array.of(0x3c, ...randomBytes(7));
      const r = await post(
        new URL(u.path, tsa.url).href,
        encodeTimeStampReq({ hashOid: id_sha256, digest: randomBytes(32), nonce, certReq: true }),
      );
      expect(r.status).toBe(200);
      tokens.set(u.partition, {
        der: r.body,
        nonce: BigInt(`0x${Buffer.from(nonce).toString('hex')}`).toString(16),
      });
    }
    material = {
      cwd,
      root: certificates.get('default/root')!,
      certificates,
      evidence,
      tokens,
      tsa,
    };
  }, 180_000);

  afterAll(async () => {
    if (material !== undefined && material.tsa.child.exitCode === null) {
      expect(await material.tsa.stop()).toBe(0);
    }
  });

  describe.skipIf(skipGo)("Go's crypto/x509 and encoding/asn1", () => {
    interface GoExtension {
      readonly oid: string;
      readonly critical: boolean;
    }
    interface GoCertificate {
      readonly name: string;
      readonly error?: string;
      readonly subject: string;
      readonly serial: string;
      readonly isCA: boolean;
      readonly publicKeyAlgorithm: string;
      readonly extensions: readonly GoExtension[];
      readonly unhandledCritical: readonly string[];
      readonly extKeyUsage: readonly number[];
      readonly unknownExtKeyUsage: readonly string[];
    }
    interface GoChain {
      readonly name: string;
      readonly error?: string;
      readonly paths?: readonly (readonly string[])[];
    }
    interface GoToken {
      readonly name: string;
      readonly error?: string;
      readonly status: number;
      readonly contentType: string;
      readonly eContentType: string;
      readonly version: number;
      readonly policy: string;
      readonly hashAlgorithm: string;
      readonly serial: string;
      readonly genTime: string;
      readonly genTimeText: string;
      readonly genTimeAsTime: string;
      readonly nonce: string;
      readonly tsaName: boolean;
      readonly signedAttributes: readonly string[];
      readonly certificates: readonly GoCertificate[];
      readonly timeStampingChain?: GoChain;
    }
    interface GoReport {
      readonly go: string;
      readonly certificates: readonly GoCertificate[];
      readonly chains: readonly GoChain[];
      readonly tokens: readonly GoToken[];
      readonly der: readonly { name: string; error?: string; oids: readonly string[] }[];
    }

    let report: GoReport;
    const certificate = (name: string): GoCertificate => {
      const c = report.certificates.find((x) => x.name === name);
      if (c === undefined) throw new Error(`no report for ${name}`);
      return c;
    };

    beforeAll(() => {
      const m = need();
      // Standard library only: no modules, no network, no toolchain download, a private cache.
      const work = mkdtempSync(join(tmpdir(), 'attestamp-go-'));
      const env = {
        ...process.env,
        GOCACHE: join(work, 'cache'),
        GOPATH: join(work, 'gopath'),
        GO111MODULE: 'off',
        GOPROXY: 'off',
        GOTOOLCHAIN: 'local',
        GOFLAGS: '',
        CGO_ENABLED: '0',
      };
      const bin = join(work, 'parse');
      const built = spawnSync('go', ['build', '-o', bin, join(HERE, 'go', 'parse.go')], {
        env,
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(built.status, built.stderr).toBe(0);
      const certificates = [...m.certificates].map(([name, der]) => ({ name, der: b64(der) }));
      const chains = UNITS.flatMap(({ partition }) => {
        const c = (level: string): string => b64(m.certificates.get(`${partition}/${level}`)!);
        return [
          {
            name: `${partition}/partition-timestamp`,
            leaf: c('partition-timestamp'),
            intermediates: [c('device')],
            usage: 'timeStamping',
          },
          {
            name: `${partition}/partition-attestation`,
            leaf: c('partition-attestation'),
            intermediates: [c('device')],
            usage: 'any',
          },
          ...['user', 'partition-timestamp'].map((label) => ({
            name: `${partition}/key-attestation-${label}`,
            leaf: c(`key-attestation-${label}`),
            intermediates: [c('partition-attestation'), c('device')],
            usage: 'any',
          })),
        ];
      });
      const input = JSON.stringify({
        roots: [b64(m.root)],
        at: new Date().toISOString(),
        certificates,
        chains,
        tokens: [...m.tokens].map(([name, t]) => ({ name, der: b64(t.der) })),
        der: [...m.evidence].map(([name, der]) => ({ name, der: b64(der) })),
      });
      const run = spawnSync(bin, [], { input, encoding: 'utf8', timeout: 60_000 });
      rmSync(work, { recursive: true, force: true });
      expect(run.status, run.stderr).toBe(0);
      report = JSON.parse(run.stdout) as GoReport;
    }, 180_000);

    it('x509.ParseCertificate reads every certificate, the role extension among its OIDs', () => {
      expect(report.go).toMatch(/^go1\./);
      expect(report.certificates).toHaveLength(need().certificates.size);
      for (const c of report.certificates) {
        expect(c.error, c.name).toBeUndefined();
        // Nothing critical that Go does not know: basicConstraints, keyUsage and EKU only.
        expect(c.unhandledCritical, c.name).toEqual([]);
        if (!c.name.includes('key-attestation')) {
          expect(
            c.extensions.map((e) => e.oid),
            c.name,
          ).toContain(id_ce_hsmRole);
        }
        const der = need().certificates.get(c.name)!;
        expect(
          c.extensions.map((e) => e.oid),
          c.name,
        ).toEqual(extensionOids(der));
        expect(c.serial, c.name).toBe(serialOf(der));
      }
      // An RSA-PSS timestamp key has an rsaEncryption SubjectPublicKeyInfo (PSS is its signing).
      const goKeyAlgorithm = { 'ecdsa-p256': 'ECDSA', 'rsa-3072': 'RSA', ed25519: 'Ed25519' };
      for (const { partition, algorithm } of UNITS) {
        const ts = certificate(`${partition}/partition-timestamp`);
        expect(ts.extKeyUsage).toEqual([GO_EKU_TIME_STAMPING]);
        expect(ts.publicKeyAlgorithm).toBe(
          algorithm === 'rsa-pss-3072' ? 'RSA' : goKeyAlgorithm[algorithm],
        );
        // The interim attestation-key EKU is a private OID Go reports as unknown.
        const att = certificate(`${partition}/partition-attestation`);
        expect(att.unknownExtKeyUsage).toEqual([id_kp_attestationKey]);
        expect(att.isCA).toBe(true);
        for (const label of ['user', 'partition-timestamp']) {
          const k = certificate(`${partition}/key-attestation-${label}`);
          expect(k.extensions).toContainEqual({ oid: id_ce_keyEvidence, critical: false });
          expect(k.isCA).toBe(false);
        }
      }
    });

    it('x509.Verify builds every chain to the project root (id-kp-timeStamping for the TSA)', () => {
      expect(report.chains).toHaveLength(UNITS.length * 4);
      for (const ch of report.chains) {
        expect(ch.error, ch.name).toBeUndefined();
        const [partition, level] = ch.name.split('/') as [string, string];
        const subject = (l: string): string => certificate(`${partition}/${l}`).subject;
        const above = level.startsWith('key-attestation')
          ? [subject('partition-attestation'), subject('device'), subject('root')]
          : [subject('device'), subject('root')];
        expect(ch.paths, ch.name).toEqual([[subject(level), ...above]]);
      }
    });

    it('encoding/asn1 unwraps each token and decodes its TSTInfo and signed attributes', () => {
      expect(report.tokens).toHaveLength(UNITS.length);
      for (const u of UNITS) {
        const t = report.tokens.find((x) => x.name === u.partition)!;
        expect(t.error ?? '', u.partition).toBe('');
        const ours = decodeResponse(need().tokens.get(u.partition)!.der).token!.tstInfo;
        expect(t).toMatchObject({
          status: 0,
          contentType: id_signedData,
          eContentType: id_ct_TSTInfo,
          version: 1,
          policy: u.policy,
          hashAlgorithm: id_sha256,
          serial: BigInt(
            `0x${Buffer.from(ours.serialNumber.valueBlock.valueHexView).toString('hex')}`,
          ).toString(16),
          nonce: need().tokens.get(u.partition)!.nonce,
        });
        // The instant our decoder reads, and the text as DER (no trailing fraction zeros).
        expect(Date.parse(t.genTime)).toBe(ours.genTime.getTime());
        expect(t.genTimeText).toMatch(/^\d{14}(\.\d*[1-9])?Z$/);
        // Go's encoding/asn1 (1.19 and later) decodes a GeneralizedTime into a time.Time only
        // without fractional seconds: with the default millisecond precision it refuses them.
        if (t.genTimeText.includes('.')) {
          expect(t.genTimeAsTime).toMatch(/^error: asn1: time did not serialize back/);
        } else expect(Date.parse(t.genTimeAsTime)).toBe(ours.genTime.getTime());
        expect(t.signedAttributes).toEqual(
          expect.arrayContaining([id_contentType, id_messageDigest, id_aa_signingCertificateV2]),
        );
        // certReq: the TSA certificate, the device and the root, each parsed by crypto/x509.
        expect(t.certificates.map((c) => c.subject)).toEqual([
          certificate(`${u.partition}/partition-timestamp`).subject,
          certificate(`${u.partition}/device`).subject,
          certificate(`${u.partition}/root`).subject,
        ]);
        for (const c of t.certificates) expect(c.error, c.name).toBeUndefined();
        expect(t.timeStampingChain?.error, u.partition).toBeUndefined();
        expect(t.timeStampingChain?.paths?.[0]).toHaveLength(3);
      }
    });

    it('encoding/asn1 reads every OID of the key attestation evidence', () => {
      expect(report.der).toHaveLength(need().evidence.size);
      for (const d of report.der) {
        expect(d.error, d.name).toBeUndefined();
        expect(d.oids, d.name).toEqual(
          expect.arrayContaining([
            id_element.transaction,
            id_element.platform,
            id_element.key,
            KEY_CLAIMS.neverExtractable.oid,
            KEY_CLAIMS.partitionId.oid,
          ]),
        );
      }
    });
  });

  describe.skipIf(skipPython)('python-cryptography', () => {
    interface PyCertificate {
      readonly name: string;
      readonly error?: string;
      readonly subject: string;
      readonly serial: string;
      readonly extensions: readonly { oid: string; critical: boolean }[];
    }
    interface PyReport {
      readonly cryptography: string;
      readonly certificates: readonly PyCertificate[];
      readonly pkcs7: readonly {
        name: string;
        error?: string;
        certificates: readonly PyCertificate[];
      }[];
    }
    let report: PyReport;

    beforeAll(() => {
      const m = need();
      const input = JSON.stringify({
        certificates: [...m.certificates].map(([name, der]) => ({ name, der: b64(der) })),
        pkcs7: [...m.tokens].map(([name, t]) => ({
          name,
          der: b64(decodeResponse(t.der).token!.contentInfoDer),
        })),
      });
      const run = spawnSync(SYSTEM_PYTHON, [join(HERE, 'python', 'x509_oids.py')], {
        input,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(run.status, run.stderr).toBe(0);
      report = JSON.parse(run.stdout) as PyReport;
    });

    it('x509.load_der_x509_certificate loads every certificate with its extension OIDs', () => {
      const m = need();
      expect(report.certificates).toHaveLength(m.certificates.size);
      for (const c of report.certificates) {
        expect(c.error, c.name).toBeUndefined();
        const oids = c.extensions.map((e) => e.oid);
        if (c.name.includes('key-attestation')) expect(oids, c.name).toContain(id_ce_keyEvidence);
        else expect(oids, c.name).toContain(id_ce_hsmRole);
        // The same certificate as our own parser reads it, not just any.
        expect(c.serial, c.name).toBe(serialOf(m.certificates.get(c.name)!));
        expect(oids, c.name).toEqual(extensionOids(m.certificates.get(c.name)!));
      }
    });

    it('pkcs7.load_der_pkcs7_certificates loads the certificates inside each token', () => {
      expect(report.pkcs7).toHaveLength(UNITS.length);
      for (const t of report.pkcs7) {
        expect(t.error, t.name).toBeUndefined();
        expect(t.certificates).toHaveLength(3);
        for (const c of t.certificates) {
          expect(
            c.extensions.map((e) => e.oid),
            c.name,
          ).toContain(id_ce_hsmRole);
        }
        expect(t.certificates.map((c) => c.serial)).toEqual(
          (['partition-timestamp', 'device', 'root'] as const).map((level) =>
            serialOf(need().certificates.get(`${t.name}/${level}`)!),
          ),
        );
      }
    });
  });

  describe.skipIf(skipRfc3161ng)('rfc3161ng against attestamp serve', () => {
    interface StampReport {
      readonly fetched: boolean;
      readonly genTime: string;
      readonly trailing: number;
      readonly policy: string;
      readonly nonce: string;
      readonly hashAlgorithm: string;
      readonly certificates: number;
      readonly checkSameData: boolean;
      readonly checkError?: string;
      readonly checkOtherData: boolean;
      readonly checkOtherError?: string;
    }

    function stamp(u: (typeof UNITS)[number], check: boolean): StampReport {
      const m = need();
      const run = spawnSync(
        SYSTEM_PYTHON,
        [
          join(HERE, 'python', 'rfc3161ng_stamp.py'),
          new URL(u.path, m.tsa.url).href,
          join(m.cwd, u.partition, 'partition-timestamp.pem'),
          ...(check ? ['--check'] : []),
        ],
        { encoding: 'utf8', timeout: 60_000 },
      );
      expect(run.status, run.stderr).toBe(0);
      return JSON.parse(run.stdout) as StampReport;
    }

    it('RSA unit: RemoteTimestamper fetches and check_timestamp verifies the token', () => {
      const r = stamp(UNITS[1], true);
      expect(r).toMatchObject({
        fetched: true,
        trailing: 0,
        policy: UNITS[1].policy,
        nonce: '5eed0123456789ab',
        hashAlgorithm: id_sha256,
        certificates: 3,
        checkSameData: true,
        checkOtherData: false,
      });
      expect(r.checkError).toBeUndefined();
      expect(r.checkOtherError).toMatch(/Message imprint mismatch/);
      expect(Math.abs(Date.parse(r.genTime) - Date.now())).toBeLessThan(120_000);
    });

    it('ECDSA unit: RemoteTimestamper fetches and decodes the token; check_timestamp cannot verify ECDSA', () => {
      const r = stamp(UNITS[0], false);
      expect(r).toMatchObject({
        fetched: true,
        trailing: 0,
        policy: UNITS[0].policy,
        nonce: '5eed0123456789ab',
        hashAlgorithm: id_sha256,
        certificates: 3,
        checkSameData: false,
      });
      // rfc3161ng 2.1 always calls public_key.verify(signature, data, PKCS1v15(), hash): an EC
      // public key's verify takes no padding, so it fails with a TypeError before any check of
      // the signature. The imprint check comes first and still works for other data.
      expect(r.checkError).toMatch(/TypeError/);
      expect(r.checkOtherError).toMatch(/Message imprint mismatch/);
      expect(Math.abs(Date.parse(r.genTime) - Date.now())).toBeLessThan(120_000);
    });
  });
});

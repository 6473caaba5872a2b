// attestamp-verify chain as a subprocess on RFC 5280 path validation: a handful of NIST PKITS
// tests with --profile x509 and the policy flags (test/vectors/pkits), and the project's own
// chain with --require-revocation against CRLs no verifier may use (RFC 5280 6.3.3): a delta CRL
// alone, an unknown critical CRL extension, a user-certificates-only CRL for the device.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/attestation/index.js';
import { der, encodePem, keyUsage } from '../../src/pki/index.js';
import { tempDir } from '../helpers/tmp.js';
import { runVerifyAsync } from '../helpers/verify.js';
import {
  AT,
  hsmChain,
  signatureAlgorithmDer,
  signWith,
  utcTime,
  type HsmChain,
  type Issued,
} from '../unit/attestation/support.js';

const PKITS = join(import.meta.dirname, '../vectors/pkits');

interface PkitsTest {
  readonly number: string;
  readonly name: string;
  readonly ee: string;
  readonly intermediates: readonly string[];
  readonly crls: readonly string[];
  readonly expected: 'valid' | 'invalid';
}
const pkits = JSON.parse(readFileSync(join(PKITS, 'tests.json'), 'utf8')) as PkitsTest[];

function pkitsArgs(dir: string, name: string): string[] {
  const t = pkits.find((x) => x.name === name);
  if (t === undefined) throw new Error(`no PKITS test ${name}`);
  const bundle = [t.ee, ...t.intermediates]
    .map((c) => encodePem('CERTIFICATE', new Uint8Array(readFileSync(join(PKITS, 'certs', c)))))
    .join('');
  const file = join(dir, `${name}.pem`);
  writeFileSync(file, bundle);
  return [
    'chain',
    file,
    '--anchor',
    join(PKITS, 'certs', 'TrustAnchorRootCertificate.crt'),
    '--at',
    '2022-05-01T00:00:00Z',
    '--require-revocation',
    ...t.crls.flatMap((c) => ['--crl', join(PKITS, 'crls', c)]),
    '--json',
  ];
}

describe('attestamp-verify chain --profile x509 on NIST PKITS', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir();
  });

  const cases: readonly [string, readonly string[], number][] = [
    ['ValidCertificatePathTest1', [], 0],
    ['InvalidRevokedEETest3', [], 1],
    ['InvalidMissingCRLTest1', [], 3],
    ['ValidNameChainingCapitalizationTest5', [], 0],
    ['ValidIDPwithindirectCRLTest24', [], 0],
    ['InvaliddeltaCRLTest3', [], 1],
    ['ValidDNnameConstraintsTest1', [], 0],
    ['InvalidDNSnameConstraintsTest38', [], 1],
    ['ValidDSASignaturesTest4', [], 1],
    ['AllCertificatesSamePolicyTest1', ['--explicit-policy'], 0],
    [
      'AllCertificatesSamePolicyTest1',
      ['--explicit-policy', '--policy', '2.16.840.1.101.3.2.1.48.2'],
      1,
    ],
    ['ValidPolicyMappingTest1', ['--inhibit-policy-mapping'], 1],
    ['inhibitAnyPolicyTest3', [], 0],
    ['inhibitAnyPolicyTest3', ['--inhibit-any-policy'], 1],
  ];

  it.concurrent.each(cases)('%s %j exits %i', async (name, flags, code) => {
    const r = await runVerifyAsync([...pkitsArgs(dir, name), '--profile', 'x509', ...flags], {
      cwd: dir,
    });
    expect(r.stderr).toBe('');
    expect(r.code, r.stdout).toBe(code);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.exitCode).toBe(code);
  });

  it('the attestamp profile (default) refuses a PKITS path: no HSM roles, no exact profile', async () => {
    const r = await runVerifyAsync(pkitsArgs(dir, 'ValidCertificatePathTest1'), { cwd: dir });
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.checks.find((c) => c.id === 'roles.chain')?.status).toBe('fail');
  });

  it('chain --help and token --help name the profile and the policy inputs', async () => {
    for (const kind of ['chain', 'token']) {
      const r = await runVerifyAsync([kind, '--help'], { cwd: dir });
      expect(r.code).toBe(0);
      for (const flag of [
        '--profile NAME',
        '--policy OID',
        '--explicit-policy',
        '--inhibit-policy-mapping',
        '--inhibit-any-policy',
      ])
        expect(r.stdout, kind).toContain(flag);
    }
  });

  it('refuses a bad --profile or --policy as a usage error', async () => {
    const base = pkitsArgs(dir, 'ValidCertificatePathTest1');
    const bad = await runVerifyAsync([...base, '--profile', 'pkix'], { cwd: dir });
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/--profile must be attestamp or x509/);
    const oid = await runVerifyAsync([...base, '--profile', 'x509', '--policy', 'any'], {
      cwd: dir,
    });
    expect(oid.code).toBe(64);
    expect(oid.stderr).toBe(
      'attestamp-verify: --policy must be a dotted object identifier, e.g. 2.5.29.32.0\n',
    );
  });
});

// RFC 5280 5.1 CertificateList with CRL extensions ([0] EXPLICIT Extensions).
function timeOf(at: Date): Uint8Array {
  return utcTime(`${at.toISOString().replace(/[-:T]/g, '').slice(2, 14)}Z`);
}

function extension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return der.seq(der.oid(oid), ...(critical ? [der.bool(true)] : []), der.octetString(value));
}

function buildCrl(
  issuer: Issued,
  extensions: readonly Uint8Array[],
  revoked: readonly Uint8Array[] = [],
): Uint8Array {
  const thisUpdate = new Date('2030-05-01T00:00:00Z');
  const tbs = der.seq(
    der.integer(1),
    signatureAlgorithmDer(issuer.key),
    issuer.name,
    timeOf(thisUpdate),
    timeOf(new Date('2030-07-01T00:00:00Z')),
    ...(revoked.length === 0
      ? []
      : [der.seq(...revoked.map((s) => der.seq(der.unsignedInteger(s), timeOf(thisUpdate))))]),
    ...(extensions.length === 0 ? [] : [der.contextConstructed(0, der.seq(...extensions))]),
  );
  return der.seq(
    tbs,
    signatureAlgorithmDer(issuer.key),
    der.tlv(0x03, Uint8Array.of(0), signWith(issuer.key, tbs)),
  );
}

const crlNumber = (n: number) => extension('2.5.29.20', false, der.integer(n));
const deltaIndicator = (base: number) => extension('2.5.29.27', true, der.integer(base));
/** IssuingDistributionPoint { onlyContainsUserCerts [1] TRUE } */
const userCertsOnly = extension(
  '2.5.29.28',
  true,
  der.seq(der.contextPrimitive(1, Uint8Array.of(0xff))),
);

describe('attestamp-verify chain --require-revocation on the project chain', () => {
  let dir: string;
  let chain: HsmChain;
  beforeAll(async () => {
    dir = tempDir();
    chain = await hsmChain();
    writeFileSync(
      join(dir, 'chain.pem'),
      encodePem('CERTIFICATE', chain.timestamp.der) + encodePem('CERTIFICATE', chain.device.der),
    );
    writeFileSync(join(dir, 'root.pem'), encodePem('CERTIFICATE', chain.root.der));
  });

  async function verify(
    crls: Record<string, Uint8Array>,
  ): Promise<{ code: number; report: Report }> {
    const args = ['chain', 'chain.pem', '--anchor', 'root.pem', '--at', AT.toISOString()];
    for (const [name, bytes] of Object.entries(crls)) {
      writeFileSync(join(dir, name), encodePem('X509 CRL', bytes));
      args.push('--crl', name);
    }
    const r = await runVerifyAsync([...args, '--require-revocation', '--json'], { cwd: dir });
    expect(r.stderr).toBe('');
    return { code: r.code, report: JSON.parse(r.stdout) as Report };
  }

  const detail = (report: Report, id: string) => report.checks.find((c) => c.id === id)?.detail;

  it('complete CRLs from the device and the root verify', async () => {
    const { code, report } = await verify({
      'ok-device.pem': buildCrl(chain.device, [crlNumber(1)]),
      'ok-root.pem': buildCrl(chain.root, [crlNumber(1)]),
    });
    expect(code).toBe(0);
    expect(detail(report, 'revocation')).toBe('no certificate on the path is revoked');
  });

  it('a delta CRL alone is not complete: the leaf is undetermined', async () => {
    const { code, report } = await verify({
      'delta-device.pem': buildCrl(chain.device, [crlNumber(2), deltaIndicator(1)]),
      'delta-root.pem': buildCrl(chain.root, [crlNumber(1)]),
    });
    expect(code).toBe(3);
    expect(report.outcome).toBe('indeterminate');
    expect(detail(report, 'revocation')).toBe('no current CRL for certificate(s) 0');
    expect(detail(report, 'revocation.crls')).toMatch(/a delta CRL alone is not a complete CRL/);
  });

  it('a delta CRL with its base decides: it revokes the leaf', async () => {
    const { code, report } = await verify({
      'base-device.pem': buildCrl(chain.device, [crlNumber(1)]),
      'delta2-device.pem': buildCrl(
        chain.device,
        [crlNumber(2), deltaIndicator(1)],
        [chain.timestamp.serial],
      ),
      'base-root.pem': buildCrl(chain.root, [crlNumber(1)]),
    });
    expect(code).toBe(1);
    expect(detail(report, 'revocation')).toMatch(/^certificate 0 \(serial [0-9a-f]+\) is revoked$/);
  });

  it('a CRL with an unknown critical extension is unusable', async () => {
    const { code, report } = await verify({
      'critical-device.pem': buildCrl(chain.device, [
        crlNumber(1),
        extension('1.3.6.1.4.1.99999.1', true, der.nullValue()),
      ]),
      'critical-root.pem': buildCrl(chain.root, [crlNumber(1)]),
    });
    expect(code).toBe(3);
    expect(detail(report, 'revocation.crls')).toBe(
      'certificate 0: a CRL is unusable: unknown critical CRL extension 1.3.6.1.4.1.99999.1',
    );
  });

  it('a CRL signed by an issuer without cRLSign is unusable', async () => {
    const noCrlSign = await hsmChain({
      device: { set: [keyUsage(['digitalSignature', 'keyCertSign'])] },
    });
    writeFileSync(
      join(dir, 'no-crl-sign.pem'),
      encodePem('CERTIFICATE', noCrlSign.timestamp.der) +
        encodePem('CERTIFICATE', noCrlSign.device.der),
    );
    writeFileSync(join(dir, 'no-crl-sign-root.pem'), encodePem('CERTIFICATE', noCrlSign.root.der));
    writeFileSync(
      join(dir, 'no-crl-sign-device.crl'),
      encodePem('X509 CRL', buildCrl(noCrlSign.device, [crlNumber(1)])),
    );
    writeFileSync(
      join(dir, 'no-crl-sign-root.crl'),
      encodePem('X509 CRL', buildCrl(noCrlSign.root, [crlNumber(1)])),
    );
    const r = await runVerifyAsync(
      [
        'chain',
        'no-crl-sign.pem',
        '--anchor',
        'no-crl-sign-root.pem',
        '--at',
        AT.toISOString(),
        '--crl',
        'no-crl-sign-device.crl',
        '--crl',
        'no-crl-sign-root.crl',
        '--require-revocation',
        '--json',
      ],
      { cwd: dir },
    );
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout) as Report;
    expect(detail(report, 'revocation.crls')).toBe(
      'certificate 0: a CRL is unusable: its issuer lacks cRLSign',
    );
  });

  it('a user-certificates-only CRL does not cover the device certificate', async () => {
    const { code, report } = await verify({
      'users-device.pem': buildCrl(chain.device, [crlNumber(1)]),
      'users-root.pem': buildCrl(chain.root, [crlNumber(1), userCertsOnly]),
    });
    expect(code).toBe(3);
    expect(detail(report, 'revocation')).toBe('no current CRL for certificate(s) 1');
    expect(detail(report, 'revocation.crls')).toBe(
      'certificate 1: a CRL does not cover it: it covers only end-entity certificates',
    );
  });
});

// Tokens from another TSA: OpenSSL as the time-stamp authority (`openssl ts -reply` with a TSA
// section, see `man ts`) under an openssl-made root and intermediate CA, with RSA and ECDSA P-256
// keys and both ESSCertID forms. attestamp-verify token must accept them with only the root as
// anchor, and reject them once a byte of the TSTInfo or of the signature is changed.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { der, id_aa_signingCertificate, id_aa_signingCertificateV2 } from '../../src/pki/index.js';
import { tempDir } from '../helpers/tmp.js';
import {
  failedChecks,
  openssl,
  statusOf,
  verifyJson,
  withAlteredGenTime,
  withAlteredSignature,
  type Verified,
} from '../helpers/token-pki.js';
import { requireTool } from '../helpers/tools.js';

const skip = requireTool('openssl');

const EXTENSIONS = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ext_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ext_tsa]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
`;

const POLICY = '1.2.3.4.1';

interface TsaConfig {
  readonly name: string;
  /** Hash of ESSCertID: sha256 writes signingCertificateV2, sha1 signingCertificate. */
  readonly essCertIdAlg: 'sha256' | 'sha1';
  readonly signerDigest: 'sha256' | 'sha384' | 'sha512';
  /** Also carry the intermediate in the token (the `certs` setting). */
  readonly carryIntermediate: boolean;
}

function tsaSection(c: TsaConfig): string {
  return `[tsa]
default_tsa = tsa_config
[tsa_config]
dir = .
serial = ./${c.name}.serial
signer_cert = ./tsa.pem
${c.carryIntermediate ? 'certs = ./int.pem\n' : ''}signer_key = ./tsa.key
signer_digest = ${c.signerDigest}
default_policy = ${POLICY}
digests = sha256, sha384, sha512
accuracy = secs:1, millisecs:500, microsecs:100
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = ${c.essCertIdAlg}
`;
}

function run(args: readonly string[], cwd: string): void {
  const r = openssl(args, cwd);
  expect(r.code, `openssl ${args.join(' ')}: ${r.stderr}`).toBe(0);
}

const KEYS = {
  rsa: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
  'ecdsa-p256': ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
} as const;

/** root -> intermediate -> TSA, all with keys of the given kind, in `cwd`. */
function buildCa(cwd: string, kind: keyof typeof KEYS): void {
  writeFileSync(join(cwd, 'ext.cnf'), EXTENSIONS);
  for (const name of ['root', 'int', 'tsa'])
    run(['genpkey', ...KEYS[kind], '-out', `${name}.key`], cwd);
  run(
    [
      'req',
      '-new',
      '-x509',
      '-config',
      'ext.cnf',
      '-key',
      'root.key',
      '-subj',
      `/O=attestamp interop/CN=OpenSSL test root ${kind}`,
      '-days',
      '3650',
      '-sha256',
      '-extensions',
      'ext_ca',
      '-out',
      'root.pem',
    ],
    cwd,
  );
  const issue = (name: string, subject: string, issuer: string, ext: string, serial: string) => {
    run(
      [
        'req',
        '-new',
        '-config',
        'ext.cnf',
        '-key',
        `${name}.key`,
        '-subj',
        subject,
        '-out',
        `${name}.csr`,
      ],
      cwd,
    );
    run(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        `${issuer}.pem`,
        '-CAkey',
        `${issuer}.key`,
        '-set_serial',
        serial,
        '-days',
        '365',
        '-sha256',
        '-extfile',
        'ext.cnf',
        '-extensions',
        ext,
        '-out',
        `${name}.pem`,
      ],
      cwd,
    );
  };
  issue(
    'int',
    `/O=attestamp interop/CN=OpenSSL test intermediate ${kind}`,
    'root',
    'ext_ca',
    '0x1a01',
  );
  issue('tsa', `/O=attestamp interop/CN=OpenSSL test TSA ${kind}`, 'int', 'ext_tsa', '0x2b02');
  writeFileSync(
    join(cwd, 'bundle.pem'),
    readFileSync(join(cwd, 'tsa.pem'), 'utf8') + readFileSync(join(cwd, 'int.pem'), 'utf8'),
  );
}

describe.skipIf(skip).each(['rsa', 'ecdsa-p256'] as const)(
  'OpenSSL as a TSA with %s keys',
  (kind) => {
    let cwd: string;

    /** openssl ts -query then -reply; the query with -cert unless told otherwise. */
    function stamp(config: TsaConfig, options: { cert?: boolean; hash?: string } = {}): string {
      const stem = `${config.name}${options.cert === false ? '-nocert' : ''}`;
      run(
        [
          'ts',
          '-query',
          '-data',
          'doc.txt',
          `-${options.hash ?? 'sha256'}`,
          ...(options.cert === false ? [] : ['-cert']),
          '-out',
          `${stem}.tsq`,
        ],
        cwd,
      );
      run(
        [
          'ts',
          '-reply',
          '-config',
          `${config.name}.cnf`,
          '-queryfile',
          `${stem}.tsq`,
          '-out',
          `${stem}.tsr`,
        ],
        cwd,
      );
      // OpenSSL itself accepts what it wrote, so every rejection below is ours to explain.
      run(
        [
          'ts',
          '-verify',
          '-in',
          `${stem}.tsr`,
          '-queryfile',
          `${stem}.tsq`,
          '-CAfile',
          'root.pem',
          '-untrusted',
          'bundle.pem',
        ],
        cwd,
      );
      return stem;
    }

    const CONFIGS: readonly TsaConfig[] = [
      { name: 'v2', essCertIdAlg: 'sha256', signerDigest: 'sha256', carryIntermediate: false },
      { name: 'v1', essCertIdAlg: 'sha1', signerDigest: 'sha256', carryIntermediate: false },
      { name: 'sha512', essCertIdAlg: 'sha256', signerDigest: 'sha512', carryIntermediate: false },
      { name: 'chain', essCertIdAlg: 'sha256', signerDigest: 'sha256', carryIntermediate: true },
    ];

    beforeAll(() => {
      cwd = tempDir();
      writeFileSync(join(cwd, 'doc.txt'), `attestamp interop with openssl ts (${kind})\n`);
      buildCa(cwd, kind);
      for (const c of CONFIGS) {
        writeFileSync(join(cwd, `${c.name}.cnf`), tsaSection(c));
        stamp(c);
      }
      stamp(CONFIGS[0]!, { cert: false });
    }, 60_000);

    const verify = (stem: string, extra: readonly string[] = []): Promise<Verified> =>
      verifyJson(
        ['token', '--token', `${stem}.tsr`, '--data', 'doc.txt', '--anchor', 'root.pem', ...extra],
        cwd,
      );

    it.each(CONFIGS.filter((c) => !c.carryIntermediate).map((c) => [c.name, c] as const))(
      'a token (%s) carrying the TSA certificate verifies with the intermediate from --certs',
      async (_name, config) => {
        const [withInt, withoutInt] = await Promise.all([
          verify(config.name, ['--certs', 'int.pem', '--request', `${config.name}.tsq`]),
          verify(config.name),
        ]);
        expect(failedChecks(withInt.report)).toEqual([]);
        expect(withInt.code).toBe(0);
        // The ESSCertID form the section asked for is the one in the token.
        const token = readFileSync(join(cwd, `${config.name}.tsr`));
        const v1 = token.includes(Buffer.from(der.oid(id_aa_signingCertificate)));
        const v2 = token.includes(Buffer.from(der.oid(id_aa_signingCertificateV2)));
        expect([v1, v2]).toEqual(config.essCertIdAlg === 'sha1' ? [true, false] : [false, true]);
        for (const id of [
          'token.imprint',
          'token.message-digest',
          'token.signature',
          'token.ess-cert-id',
          'token.signer-eku',
          'token.request',
          'token.encoding',
          'path.build',
        ])
          expect(statusOf(withInt.report, id), id).toBe('pass');
        // Only the root is trusted, and the token alone does not reach it.
        expect(withoutInt.code).toBe(1);
        expect(failedChecks(withoutInt.report)).toEqual(['path.build']);
      },
    );

    it('a token carrying the intermediate too (certs in the TSA section) needs no --certs', async () => {
      const { code, report } = await verify('chain', ['--request', 'chain.tsq']);
      expect(failedChecks(report)).toEqual([]);
      expect(code).toBe(0);
    });

    it('a token without certificates (query without -cert) verifies with --certs tsa+int bundle', async () => {
      const [bundle, none] = await Promise.all([
        verify('v2-nocert', ['--certs', 'bundle.pem', '--request', 'v2-nocert.tsq']),
        verify('v2-nocert', ['--certs', 'int.pem']),
      ]);
      expect(failedChecks(bundle.report)).toEqual([]);
      expect(bundle.code).toBe(0);
      expect(none.code).toBe(1);
      expect(failedChecks(none.report)).toEqual(['token.signer']);
    });

    it.each(['v2', 'v1', 'chain'])(
      'the %s token with a byte of the TSTInfo or of the signature changed fails (exit 1)',
      async (stem) => {
        const token = new Uint8Array(readFileSync(join(cwd, `${stem}.tsr`)));
        writeFileSync(join(cwd, `${stem}-time.tsr`), withAlteredGenTime(token));
        writeFileSync(join(cwd, `${stem}-sig.tsr`), withAlteredSignature(token));
        const [time, sig] = await Promise.all([
          verify(`${stem}-time`, ['--certs', 'int.pem']),
          verify(`${stem}-sig`, ['--certs', 'int.pem']),
        ]);
        expect(time.code).toBe(1);
        expect(failedChecks(time.report)).toEqual(['token.message-digest']);
        expect(sig.code).toBe(1);
        expect(failedChecks(sig.report)).toEqual(['token.signature']);
      },
    );
  },
);

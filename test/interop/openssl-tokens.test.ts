// Tokens from another TSA: OpenSSL as the time-stamp authority (`openssl ts -reply` with a TSA
// section, see `man ts`) under an openssl-made root and intermediate CA, with RSA and ECDSA P-256
// keys and both ESSCertID forms. attestamp-verify token must accept them with only the root as
// anchor, and reject them once a byte of the TSTInfo or of the signature is changed.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { der, id_aa_signingCertificate, id_aa_signingCertificateV2 } from '../../src/pki/index.js';
import { tempDir } from '../helpers/tmp.js';
import { buildCa, stamp, type TsaSettings } from '../helpers/openssl-tsa.js';
import {
  detailOf,
  failedChecks,
  statusOf,
  verifyJson,
  withAlteredGenTime,
  withAlteredSignature,
  type Verified,
} from '../helpers/token-pki.js';
import { requireTool } from '../helpers/tools.js';

const skip = requireTool('openssl');

type TsaConfig = TsaSettings & {
  readonly essCertIdAlg: 'sha256' | 'sha1';
  readonly signerDigest: 'sha256' | 'sha384' | 'sha512';
  readonly carryIntermediate: boolean;
};

/** The section every configuration here shares: full accuracy, no ordering, a TSA name. */
const section = (c: TsaConfig): TsaSettings => ({
  ...c,
  accuracy: 'secs:1, millisecs:500, microsecs:100',
  ordering: false,
  tsaName: true,
  essCertIdChain: false,
});

describe.skipIf(skip).each(['rsa', 'ecdsa-p256'] as const)(
  'OpenSSL as a TSA with %s keys',
  (kind) => {
    let cwd: string;

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
      for (const c of CONFIGS) stamp(cwd, section(c));
      stamp(cwd, section(CONFIGS[0]!), { cert: false });
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
        // The key kind and ESSCertID form are reported as information.
        expect(statusOf(withInt.report, 'token.property.signature-algorithm')).toBe('info');
        expect(detailOf(withInt.report, 'token.property.signature-algorithm')).toMatch(
          kind === 'rsa' ? /^RSA PKCS#1 v1\.5 with SHA-(256|512)/ : /^ECDSA with SHA(256|512);/,
        );
        expect(detailOf(withInt.report, 'token.property.ess-cert-id')).toMatch(
          config.essCertIdAlg === 'sha1' ? /ESSCertID v1/ : /ESSCertID v2/,
        );
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

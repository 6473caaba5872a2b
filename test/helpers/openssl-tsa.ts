// OpenSSL as a foreign time-stamp authority for the interop tests: an openssl-made root,
// intermediate and TSA certificate (RSA or ECDSA keys), a TSA section for `openssl ts -reply`
// with every setting `man ts` documents, and the query/reply/verify round.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { openssl } from './token-pki.js';

export const EXTENSIONS = `[req]
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

export const POLICY = '1.2.3.4.1';

export const KEYS = {
  rsa: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
  'ecdsa-p256': ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  'ecdsa-p384': ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
} as const;

export type KeyKind = keyof typeof KEYS;

/** Subject of the TSA certificate buildCa makes. */
export function tsaSubject(kind: KeyKind): string {
  return `/O=attestamp interop/CN=OpenSSL test TSA ${kind}`;
}

export function run(args: readonly string[], cwd: string): string {
  const r = openssl(args, cwd);
  expect(r.code, `openssl ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

/**
 * root -> intermediate -> TSA in `cwd`, all with keys of the given kind: root.pem, int.pem,
 * tsa.pem with their .key files, and bundle.pem (TSA then intermediate).
 */
export function buildCa(cwd: string, kind: KeyKind): void {
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
  issue('tsa', tsaSubject(kind), 'int', 'ext_tsa', '0x2b02');
  writeFileSync(
    join(cwd, 'bundle.pem'),
    readFileSync(join(cwd, 'tsa.pem'), 'utf8') + readFileSync(join(cwd, 'int.pem'), 'utf8'),
  );
}

/** The settings of an `openssl ts -reply` TSA section (see `man ts`). */
export interface TsaSettings {
  readonly name: string;
  /** ESSCertID hash: sha1 writes signingCertificate, anything else signingCertificateV2. */
  readonly essCertIdAlg?: 'sha1' | 'sha256' | 'sha384' | 'sha512';
  readonly signerDigest?: 'sha256' | 'sha384' | 'sha512';
  /** Also carry the intermediate in the token (the `certs` setting). */
  readonly carryIntermediate?: boolean;
  /** The `accuracy` line, e.g. 'secs:1, millisecs:500'; undefined leaves accuracy out. */
  readonly accuracy?: string;
  readonly ordering?: boolean;
  readonly tsaName?: boolean;
  /** ESSCertIDs for the whole chain (`ess_cert_id_chain`), not only the signer. */
  readonly essCertIdChain?: boolean;
}

export function tsaSection(c: TsaSettings): string {
  const lines = [
    '[tsa]',
    'default_tsa = tsa_config',
    '[tsa_config]',
    'dir = .',
    `serial = ./${c.name}.serial`,
    'signer_cert = ./tsa.pem',
    ...(c.carryIntermediate === true ? ['certs = ./int.pem'] : []),
    'signer_key = ./tsa.key',
    `signer_digest = ${c.signerDigest ?? 'sha256'}`,
    `default_policy = ${POLICY}`,
    'digests = sha256, sha384, sha512',
    ...(c.accuracy === undefined ? [] : [`accuracy = ${c.accuracy}`]),
    `ordering = ${c.ordering === true ? 'yes' : 'no'}`,
    `tsa_name = ${c.tsaName === false ? 'no' : 'yes'}`,
    `ess_cert_id_chain = ${c.essCertIdChain === true ? 'yes' : 'no'}`,
    `ess_cert_id_alg = ${c.essCertIdAlg ?? 'sha256'}`,
  ];
  return lines.join('\n') + '\n';
}

/**
 * openssl ts -query (for doc.txt) then -reply under the section `settings` names, written to
 * STEM.tsq and STEM.tsr; then openssl ts -verify, so that every rejection is the verifier's own.
 */
export function stamp(
  cwd: string,
  settings: TsaSettings,
  options: { cert?: boolean; hash?: string } = {},
): string {
  const stem = `${settings.name}${options.cert === false ? '-nocert' : ''}`;
  writeFileSync(join(cwd, `${settings.name}.cnf`), tsaSection(settings));
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
      `${settings.name}.cnf`,
      '-queryfile',
      `${stem}.tsq`,
      '-out',
      `${stem}.tsr`,
    ],
    cwd,
  );
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

// attestamp-verify: the standalone verifier's command line. Reads files and flags, calls the
// attestation library (which never touches files or the network) and maps the report to the
// exit codes of standards/attestation.md. Imports attestation, pki and shared only.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  EXIT_CODES,
  inspectAttestationCertificate,
  inspectEvidence,
  inspectToken,
  TOKEN_HASHES,
  type TokenOptions,
  REQUIRABLE,
  verifyChain,
  type EvidenceOptions,
  type PolicyInputs,
  type Report,
} from '../attestation/index.js';
import {
  PkiError,
  assertStrictDer,
  certificateSpki,
  decodePemAll,
  parseCertificate,
  parseCsr,
} from '../pki/index.js';
import { fromBase64, fromHex } from '../shared/index.js';

export interface VerifyIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly now: () => Date;
}

const USAGE = `Usage: attestamp-verify chain|evidence|certificate FILE [options]
       attestamp-verify token --token R.tsr (--data FILE | --digest HEX --hash ALG) [options]

Verifies an attestamp certificate chain, key attestation evidence, or a key attestation
certificate, offline. Trust comes only from the anchors you give (--anchor or --anchor-sha256);
nothing is fetched and no anchor means failure.

  chain FILE          PEM bundle, leaf first, then its issuers
  evidence FILE       evidence (PEM label EVIDENCE, or DER) with its certificates inside
  certificate FILE    key attestation certificate, then its issuers (PEM bundle)
  token               an RFC 3161 TimeStampResp or token (DER, PEM or base64), checked at
                      its genTime; with --evidence, also proves the signing key never left
                      its HSM partition

Token options:
  --token FILE              the response or token
  --data FILE | --digest HEX --hash ALG
                            the time-stamped data, or its digest (ALG: sha256, sha384, sha512,
                            sha3-256, sha3-384, sha3-512)
  --request FILE            the TimeStampReq: nonce, policy, imprint and certReq must match
  --certs FILE              untrusted certificates for tokens that do not carry their chain
  --evidence FILE           evidence for the TSA key (attestamp key attest, or GET /evidence)

Options:
  --anchor FILE             trust anchor certificate(s), PEM or DER (repeatable)
  --anchor-sha256 HEX       SHA-256 of an anchor certificate or of its public key (repeatable)
  --at TIME                 validate at this ISO 8601 time (default: now)
  --expect-spki FILE        the attested key must be this one: PEM public key, certificate or CSR
  --require LIST            required key attributes, e.g. extractable=false,never-extractable=true,
                            local=true,origin=generated (${Object.keys(REQUIRABLE).join(', ')})
  --allow-software          accept protection-class software (a software HSM)
  --nonce HEX               the nonce you sent: the evidence must carry exactly this one
  --crl FILE                CRL, PEM or DER (repeatable): complete and delta CRLs; the CRL
                            signers' certificates go into the chain or --certs file
  --require-revocation      missing CRLs make the result indeterminate (exit 3)

Path validation options (chain and token):
  --profile NAME            attestamp (default): RFC 5280 plus the HSM profile (exact name
                            encodings, key identifiers, roles); x509: RFC 5280 section 6 as
                            written, for any PKI
  --policy OID              user-initial-policy-set (repeatable; default any-policy)
  --explicit-policy         initial-explicit-policy: the path must carry an acceptable policy
  --inhibit-policy-mapping  initial-policy-mapping-inhibit
  --inhibit-any-policy      initial-any-policy-inhibit
  --json                    print the full report as JSON
  --help                    show this help

Exit codes: 0 verified, 1 cryptographic or chain failure, 2 policy failure, 3 indeterminate,
64 usage or parse error.
`;

class UsageError extends Error {}

function readInput(path: string, option: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch {
    throw new UsageError(`${option}: cannot read '${path}'`);
  }
}

/** All DER objects in a file: PEM blocks with one of the labels, or the file itself as DER. */
function derObjects(path: string, option: string, labels: readonly string[]): Uint8Array[] {
  const bytes = readInput(path, option);
  if (bytes[0] === 0x30) return [bytes];
  let blocks;
  try {
    blocks = decodePemAll(new TextDecoder().decode(bytes));
  } catch {
    throw new UsageError(`${option}: '${path}' is neither DER nor valid PEM`);
  }
  const found = blocks.filter((b) => labels.includes(b.label)).map((b) => b.der);
  if (found.length === 0)
    throw new UsageError(`${option}: '${path}' holds no ${labels.join(' or ')}`);
  return found;
}

/** SubjectPublicKeyInfo from a PEM/DER public key, certificate or CSR. */
function expectedSpki(path: string): Uint8Array {
  const bytes = readInput(path, '--expect-spki');
  let der: Uint8Array;
  let label = 'PUBLIC KEY';
  // DER input is taken as a SubjectPublicKeyInfo; certificates and CSRs come as PEM.
  if (bytes[0] === 0x30) der = bytes;
  else {
    const block = decodePemAll(new TextDecoder().decode(bytes)).find((b) =>
      ['PUBLIC KEY', 'CERTIFICATE', 'CERTIFICATE REQUEST'].includes(b.label),
    );
    if (block === undefined)
      throw new UsageError(`--expect-spki: '${path}' holds no public key, certificate or CSR`);
    der = block.der;
    label = block.label;
  }
  try {
    return spkiInside(der, label);
  } catch {
    throw new UsageError(`--expect-spki: '${path}' is malformed`);
  }
}

function spkiInside(der: Uint8Array, label: string): Uint8Array {
  if (label === 'CERTIFICATE') return certificateSpki(parseCertificate(der));
  if (label === 'CERTIFICATE REQUEST') return parseCsr(der).spki;
  assertStrictDer(der);
  return der;
}

/** A token file: DER, PEM of any label, or base64. */
function tokenBytes(path: string): Uint8Array {
  const bytes = readInput(path, '--token');
  if (bytes[0] === 0x30) return bytes;
  const text = new TextDecoder().decode(bytes);
  if (text.includes('-----BEGIN')) {
    const block = decodePemAll(text)[0];
    if (block === undefined) throw new UsageError(`--token: '${path}' is not valid PEM`);
    return block.der;
  }
  const b64 = fromBase64(text);
  if (b64 === undefined || b64[0] !== 0x30)
    throw new UsageError(`--token: '${path}' is neither DER, PEM nor base64`);
  return b64;
}

function tokenInputs(v: Readonly<Record<string, unknown>>): Partial<TokenOptions> {
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? v[k] : undefined);
  const data = str('data');
  const digest = str('digest');
  const hash = str('hash');
  if (data !== undefined && digest !== undefined)
    throw new UsageError('give --data or --digest, not both');
  if (data === undefined && digest === undefined)
    throw new UsageError('missing --data FILE or --digest HEX --hash ALG');
  const out: { -readonly [K in keyof TokenOptions]?: TokenOptions[K] } = {};
  if (data !== undefined) out.data = readInput(data, '--data');
  if (digest !== undefined) {
    const value = fromHex(digest);
    if (value === undefined || value.length === 0)
      throw new UsageError('--digest must be hex digits');
    // An own property: `in` would also accept Object.prototype names such as 'constructor'.
    if (hash === undefined || !Object.hasOwn(TOKEN_HASHES, hash)) {
      throw new UsageError(
        `--hash must be one of ${Object.keys(TOKEN_HASHES)
          .filter((h) => h !== 'sha1')
          .join(', ')}`,
      );
    }
    out.digest = { hash, value };
  }
  const request = str('request');
  if (request !== undefined)
    out.request = derObjects(request, '--request', ['TIMESTAMP REQUEST'])[0]!;
  const certs = str('certs');
  if (certs !== undefined) out.certificates = derObjects(certs, '--certs', ['CERTIFICATE']);
  const evidence = str('evidence');
  if (evidence !== undefined) out.evidence = derObjects(evidence, '--evidence', ['EVIDENCE'])[0]!;
  const at = str('at');
  if (at !== undefined) out.atOverride = new Date(at);
  return out;
}

function parseRequire(text: string): Record<string, boolean | string> {
  const out: Record<string, boolean | string> = {};
  for (const item of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [name = '', value = ''] = item.split('=');
    if (!Object.hasOwn(REQUIRABLE, name)) {
      throw new UsageError(
        `--require: unknown attribute '${name}' (known: ${Object.keys(REQUIRABLE).join(', ')})`,
      );
    }
    if (value === 'true' || value === 'false') out[name] = value === 'true';
    else if ((name === 'origin' || name === 'key-state') && /^[a-z-]+$/.test(value))
      out[name] = value;
    else
      throw new UsageError(
        `--require: '${item}' needs =true or =false (origin and key-state take a name)`,
      );
  }
  return out;
}

/** The RFC 5280 6.1.1 policy inputs from the command line, or undefined for the defaults. */
function policyInputs(v: Readonly<Record<string, unknown>>): PolicyInputs | undefined {
  const oids = Array.isArray(v.policy) ? v.policy.filter((o) => typeof o === 'string') : [];
  for (const oid of oids) {
    if (!/^[0-2](\.(0|[1-9]\d*))+$/.test(oid))
      throw new UsageError(`--policy: '${oid}' is not a dotted object identifier`);
  }
  const flag = (k: string) => v[k] === true;
  const out: PolicyInputs = {
    ...(oids.length === 0 ? {} : { initialPolicySet: oids }),
    ...(flag('explicit-policy') ? { initialExplicitPolicy: true } : {}),
    ...(flag('inhibit-policy-mapping') ? { initialPolicyMappingInhibit: true } : {}),
    ...(flag('inhibit-any-policy') ? { initialAnyPolicyInhibit: true } : {}),
  };
  return Object.keys(out).length === 0 ? undefined : out;
}

/** An ISO 8601 time on a calendar day that exists: Date rolls 2025-02-30 over to 2 March. */
function parseAt(text: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  const at = new Date(text);
  if (m === null || Number.isNaN(at.getTime())) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day ? at : undefined;
}

function summary(kind: string, report: Report): string {
  const lines: string[] = [];
  const head = {
    verified: 'VERIFIED',
    failed: 'FAILED (cryptographic or chain check)',
    'policy-failed': 'FAILED (policy)',
    indeterminate: 'INDETERMINATE',
    unparseable: 'UNPARSEABLE',
  }[report.outcome];
  lines.push(
    `${head}: ${kind}${report.anchor === undefined ? '' : ` anchored at ${report.anchor}`}`,
  );
  const claims = report.claims as {
    keys?: { identifier?: string; partitionId?: string }[];
    platform?: { deviceId?: string; protectionClass?: string };
  };
  for (const k of claims.keys ?? []) {
    lines.push(
      `  key ${k.identifier ?? '?'} in partition ${k.partitionId ?? '?'} of device ${claims.platform?.deviceId ?? '?'} (protection class ${claims.platform?.protectionClass ?? '?'})`,
    );
  }
  const proof = report.checks.find((c) => c.id === 'token.key-in-hsm' && c.status === 'pass');
  if (proof !== undefined) lines.push(`  ${proof.detail}`);
  for (const c of report.checks) {
    if (c.status === 'fail' || c.status === 'warn') {
      lines.push(`  ${c.status.toUpperCase()} ${c.id}: ${c.detail}`);
    }
  }
  return lines.join('\n') + '\n';
}

export async function verifyMain(argv: readonly string[], io: VerifyIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        anchor: { type: 'string', multiple: true },
        'anchor-sha256': { type: 'string', multiple: true },
        at: { type: 'string' },
        'expect-spki': { type: 'string' },
        require: { type: 'string' },
        'allow-software': { type: 'boolean' },
        nonce: { type: 'string' },
        crl: { type: 'string', multiple: true },
        'require-revocation': { type: 'boolean' },
        profile: { type: 'string' },
        policy: { type: 'string', multiple: true },
        'explicit-policy': { type: 'boolean' },
        'inhibit-policy-mapping': { type: 'boolean' },
        'inhibit-any-policy': { type: 'boolean' },
        token: { type: 'string' },
        data: { type: 'string' },
        digest: { type: 'string' },
        hash: { type: 'string' },
        request: { type: 'string' },
        certs: { type: 'string' },
        evidence: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    });
  } catch (error) {
    io.stderr(
      `attestamp-verify: ${error instanceof Error ? error.message : 'bad arguments'}\n${USAGE}`,
    );
    return EXIT_CODES.unparseable;
  }
  const v = parsed.values;
  if (v.help === true) {
    io.stdout(USAGE);
    return 0;
  }
  try {
    const [kind, positionalFile, ...extra] = parsed.positionals;
    if (kind !== 'chain' && kind !== 'evidence' && kind !== 'certificate' && kind !== 'token') {
      throw new UsageError(
        `the first argument must be chain, evidence, certificate or token${kind === undefined ? '' : `, not '${kind}'`}`,
      );
    }
    const file = kind === 'token' ? (v.token ?? positionalFile) : positionalFile;
    if (file === undefined) {
      throw new UsageError(kind === 'token' ? 'missing --token FILE' : 'missing FILE');
    }
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0] ?? ''}'`);
    const pins = (v['anchor-sha256'] ?? []).map((h) => {
      const clean = h.toLowerCase().replace(/:/g, '');
      if (fromHex(clean)?.length !== 32)
        throw new UsageError(`--anchor-sha256: '${h}' is not 64 hex digits`);
      return clean;
    });
    const anchors = (v.anchor ?? []).flatMap((p) => derObjects(p, '--anchor', ['CERTIFICATE']));
    let at = io.now();
    if (v.at !== undefined) {
      const parsed = parseAt(v.at);
      if (parsed === undefined) throw new UsageError(`--at: '${v.at}' is not an ISO 8601 time`);
      at = parsed;
    }
    let nonce: Uint8Array | undefined;
    if (v.nonce !== undefined) {
      nonce = fromHex(v.nonce);
      if (nonce === undefined || nonce.length === 0)
        throw new UsageError('--nonce must be hex digits');
    }
    const profile = v.profile ?? 'attestamp';
    if (profile !== 'attestamp' && profile !== 'x509')
      throw new UsageError(`--profile must be attestamp or x509, not '${profile}'`);
    if (profile === 'x509' && kind !== 'chain' && kind !== 'token')
      throw new UsageError('--profile x509 applies to chain and token only');
    const policy = policyInputs(v);
    const options: EvidenceOptions = {
      anchors: { certificates: anchors, sha256: pins },
      profile,
      ...(policy === undefined ? {} : { policy }),
      at,
      crls: (v.crl ?? []).flatMap((p) => derObjects(p, '--crl', ['X509 CRL'])),
      requireRevocation: v['require-revocation'] === true,
      allowSoftware: v['allow-software'] === true,
      ...(v.require === undefined ? {} : { require: parseRequire(v.require) }),
      ...(v['expect-spki'] === undefined ? {} : { expectSpki: expectedSpki(v['expect-spki']) }),
      ...(nonce === undefined ? {} : { nonce }),
    };
    let report: Report;
    if (kind === 'token') {
      report = await inspectToken(tokenBytes(file), {
        ...options,
        ...tokenInputs(v),
      });
    } else if (kind === 'evidence') {
      const [evidence] = derObjects(file, 'FILE', ['EVIDENCE']);
      report = await inspectEvidence(evidence!, options);
    } else {
      const certs = derObjects(file, 'FILE', ['CERTIFICATE']);
      report =
        kind === 'chain'
          ? await verifyChain(certs, options)
          : await inspectAttestationCertificate(certs, options);
    }
    io.stdout(v.json === true ? JSON.stringify(report, null, 2) + '\n' : summary(kind, report));
    return report.exitCode;
  } catch (error) {
    if (error instanceof UsageError || error instanceof PkiError) {
      io.stderr(`attestamp-verify: ${error.message}\n`);
      return EXIT_CODES.unparseable;
    }
    io.stderr(
      `attestamp-verify: internal error: ${error instanceof Error ? error.message : 'unknown'}\n`,
    );
    return 1;
  }
}

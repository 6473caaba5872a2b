// attestamp-verify: the standalone verifier's command line. Reads files and flags, calls the
// attestation library (which never touches files or the network) and maps the report to the
// exit codes of standards/attestation.md; with --json, one JSON document on standard output
// (schemas/verify/*.schema.json). Imports attestation, pki, shared and two node-only CLI helpers.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  EXIT_CODES,
  inspectAttestationCertificate,
  inspectBackup,
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
  decodePemAll,
  parseCertificateFields,
  parseCsr,
} from '../pki/index.js';
import { fromBase64, fromHex } from '../shared/index.js';
import { closeNames } from './close-names.js';
import { packageVersion } from './version.js';

export interface VerifyIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly now: () => Date;
}

interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly value?: string;
  readonly description: string;
}

/** Every option of the verifier, once; each subcommand lists the ones it takes. */
const OPTIONS: Readonly<Record<string, OptionSpec>> = {
  token: { type: 'string', value: 'FILE', description: 'the response or token (or give FILE)' },
  data: { type: 'string', value: 'FILE', description: 'the time-stamped data' },
  digest: {
    type: 'string',
    value: 'HEX',
    description: 'or its digest, with --hash (the data is then not needed)',
  },
  hash: {
    type: 'string',
    value: 'ALG',
    description: 'hash of --digest: sha256, sha384, sha512, sha3-256, sha3-384, sha3-512',
  },
  request: {
    type: 'string',
    value: 'FILE',
    description: 'the TimeStampReq: nonce, policy, imprint and certReq must match',
  },
  evidence: {
    type: 'string',
    value: 'FILE',
    description:
      'evidence for the TSA key (attestamp key attest, or GET /evidence): proves it never left its partition',
  },
  anchor: {
    type: 'string',
    multiple: true,
    value: 'FILE',
    description: 'trust anchor certificate(s), PEM or DER (repeatable)',
  },
  'anchor-sha256': {
    type: 'string',
    multiple: true,
    value: 'HEX',
    description: 'SHA-256 of an anchor certificate or of its public key (repeatable)',
  },
  at: {
    type: 'string',
    value: 'TIME',
    description: 'validate at this ISO 8601 time (default: now; a token: its genTime)',
  },
  certs: {
    type: 'string',
    value: 'FILE',
    description: 'untrusted certificates that may complete the path or sign a CRL (PEM bundle)',
  },
  crl: {
    type: 'string',
    multiple: true,
    value: 'FILE',
    description:
      "CRL, PEM or DER (repeatable); the CRL signers' certificates go in the input or --certs",
  },
  'require-revocation': {
    type: 'boolean',
    description: 'missing CRLs make the result indeterminate (exit 3)',
  },
  'expect-spki': {
    type: 'string',
    value: 'FILE',
    description: 'the attested key must be this one: PEM public key, certificate or CSR',
  },
  'expect-kcv': {
    type: 'string',
    value: 'HEX',
    description: 'a secret key (no public key): the attested key check value must be this one',
  },
  require: {
    type: 'string',
    value: 'LIST',
    description: `required key attributes, e.g. extractable=false,local=true,origin=generated (${Object.keys(REQUIRABLE).join(', ')})`,
  },
  'allow-software': {
    type: 'boolean',
    description: 'accept protection-class software (a software HSM)',
  },
  nonce: {
    type: 'string',
    value: 'HEX',
    description: 'the nonce you sent: the evidence must carry exactly this one',
  },
  profile: {
    type: 'string',
    value: 'NAME',
    description:
      'attestamp (default): RFC 5280 plus the HSM profile; x509: RFC 5280 section 6 as written, for any PKI',
  },
  policy: {
    type: 'string',
    multiple: true,
    value: 'OID',
    description: 'user-initial-policy-set (repeatable; default any-policy)',
  },
  'explicit-policy': {
    type: 'boolean',
    description: 'initial-explicit-policy: the path must carry an acceptable policy',
  },
  'inhibit-policy-mapping': { type: 'boolean', description: 'initial-policy-mapping-inhibit' },
  'inhibit-any-policy': { type: 'boolean', description: 'initial-any-policy-inhibit' },
  json: {
    type: 'boolean',
    description: 'print one JSON document: the report, or {"error": ...} (README "JSON contract")',
  },
  help: { type: 'boolean', description: 'show this help' },
  version: { type: 'boolean', description: 'print the version and exit' },
};

type Kind = 'chain' | 'evidence' | 'certificate' | 'token' | 'backup';

interface Subcommand {
  readonly usage: string;
  readonly summary: string;
  readonly options: readonly string[];
}

const TRUST = ['anchor', 'anchor-sha256', 'at', 'certs', 'crl', 'require-revocation'];
const POLICY = ['policy', 'explicit-policy', 'inhibit-policy-mapping', 'inhibit-any-policy'];
const KEY = ['expect-spki', 'expect-kcv', 'require', 'allow-software', 'nonce'];
const OUTPUT = ['json', 'help', 'version'];

const SUBCOMMANDS: Readonly<Record<Kind, Subcommand>> = {
  chain: {
    usage: 'attestamp-verify chain FILE [options]',
    summary: 'A certificate chain: PEM bundle, leaf first, then its issuers.',
    options: [...TRUST, 'profile', ...POLICY, ...OUTPUT],
  },
  evidence: {
    usage: 'attestamp-verify evidence FILE [options]',
    summary: 'Key attestation evidence (PEM label EVIDENCE, or DER) with its certificates inside.',
    options: [...TRUST, ...KEY, ...POLICY, ...OUTPUT],
  },
  certificate: {
    usage: 'attestamp-verify certificate FILE [options]',
    summary: 'A key attestation certificate, then its issuers (PEM bundle).',
    options: [...TRUST, ...KEY, ...POLICY, ...OUTPUT],
  },
  backup: {
    usage: 'attestamp-verify backup FILE --anchor ROOT [options]',
    summary:
      'A partition backup bundle (DER): structure, signature, chain, manifest and recipients; nothing decrypted.',
    options: [...TRUST, ...OUTPUT],
  },
  token: {
    usage: 'attestamp-verify token --token FILE (--data FILE | --digest HEX --hash ALG) [options]',
    summary:
      'An RFC 3161 TimeStampResp or token (DER, PEM or base64) from any TSA, checked at its genTime.',
    options: [
      'token',
      'data',
      'digest',
      'hash',
      'request',
      'evidence',
      'allow-software',
      ...TRUST,
      'profile',
      ...POLICY,
      ...OUTPUT,
    ],
  },
};

const KINDS = Object.keys(SUBCOMMANDS) as Kind[];

const EXIT_TEXT = `Exit codes: 0 verified, 1 cryptographic or chain failure, 2 policy failure, 3 indeterminate,
64 usage error or unparseable input.`;

function topHelp(): string {
  const lines = [
    'Usage: attestamp-verify chain|evidence|certificate|token|backup ... [options]',
    '       (attestamp-verify SUBCOMMAND --help for its options)',
    '',
    'Verifies an attestamp certificate chain, key attestation evidence, a key attestation',
    'certificate, an RFC 3161 time-stamp token or a partition backup bundle, offline.',
    'Trust comes only from the anchors you give (--anchor FILE or --anchor-sha256 HEX);',
    'nothing is fetched and no anchor means failure.',
    '',
    'Subcommands:',
  ];
  for (const k of KINDS) lines.push(`  ${k.padEnd(13)} ${SUBCOMMANDS[k].summary}`);
  lines.push('', 'Options anywhere: --json, --help, --version.', '', EXIT_TEXT);
  return lines.join('\n') + '\n';
}

function subcommandHelp(kind: Kind): string {
  const sub = SUBCOMMANDS[kind];
  const lines = [`Usage: ${sub.usage}`, '', sub.summary, '', 'Options:'];
  for (const name of sub.options) {
    const spec = OPTIONS[name]!;
    const flag = `--${name}${spec.value === undefined ? '' : ' ' + spec.value}`;
    lines.push(`  ${flag.padEnd(28)} ${spec.description}`);
  }
  lines.push('', EXIT_TEXT);
  return lines.join('\n') + '\n';
}

/** The stable codes of the error document (README "JSON contract"); every one exits 64. */
export type VerifyErrorCode = 'usage' | 'unreadable-input' | 'unparseable-input';

/** A refusal before any report: names the option or file, never repeats an option's value. */
class VerifyError extends Error {
  constructor(
    readonly code: VerifyErrorCode,
    message: string,
    readonly details: Readonly<Record<string, string | readonly string[]>> = {},
  ) {
    super(message);
  }
}

function usage(message: string, option?: string): VerifyError {
  return new VerifyError('usage', message, option === undefined ? {} : { option });
}

function readInput(path: string, option: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch {
    throw new VerifyError('unreadable-input', `${option}: cannot read '${path}'`, { option, path });
  }
}

/** All DER objects in a file: PEM blocks with one of the labels, or the file itself as DER. */
function derObjects(path: string, option: string, labels: readonly string[]): Uint8Array[] {
  const bytes = readInput(path, option);
  if (bytes[0] === 0x30) return [bytes];
  const unparseable = (why: string): VerifyError =>
    new VerifyError('unparseable-input', `${option}: '${path}' ${why}`, { option, path });
  const text = new TextDecoder().decode(bytes);
  let blocks;
  try {
    blocks = decodePemAll(text);
  } catch {
    throw unparseable('is neither DER nor valid PEM');
  }
  // A block cut short (no END line) would otherwise be dropped without a word.
  if ((text.match(/-----BEGIN /g) ?? []).length !== blocks.length)
    throw unparseable('holds a PEM block without its END line');
  const found = blocks.filter((b) => labels.includes(b.label)).map((b) => b.der);
  if (found.length === 0) throw unparseable(`holds no ${labels.join(' or ')}`);
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
      throw new VerifyError(
        'unparseable-input',
        `--expect-spki: '${path}' holds no public key, certificate or CSR`,
        { option: '--expect-spki', path },
      );
    der = block.der;
    label = block.label;
  }
  try {
    return spkiInside(der, label);
  } catch {
    throw new VerifyError('unparseable-input', `--expect-spki: '${path}' is malformed`, {
      option: '--expect-spki',
      path,
    });
  }
}

function spkiInside(der: Uint8Array, label: string): Uint8Array {
  if (label === 'CERTIFICATE') return parseCertificateFields(der).spki;
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
    if (block === undefined)
      throw new VerifyError('unparseable-input', `--token: '${path}' is not valid PEM`, {
        option: '--token',
        path,
      });
    return block.der;
  }
  const b64 = fromBase64(text);
  if (b64 === undefined || b64[0] !== 0x30)
    throw new VerifyError(
      'unparseable-input',
      `--token: '${path}' is neither DER, PEM nor base64`,
      {
        option: '--token',
        path,
      },
    );
  return b64;
}

function tokenInputs(v: Readonly<Record<string, unknown>>): Partial<TokenOptions> {
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? v[k] : undefined);
  const data = str('data');
  const digest = str('digest');
  const hash = str('hash');
  if (data !== undefined && digest !== undefined)
    throw usage('give --data or --digest, not both', '--digest');
  if (data === undefined && digest === undefined)
    throw usage('missing --data FILE or --digest HEX --hash ALG', '--data');
  const out: { -readonly [K in keyof TokenOptions]?: TokenOptions[K] } = {};
  if (data !== undefined) out.data = readInput(data, '--data');
  if (digest !== undefined) {
    const value = fromHex(digest);
    if (value === undefined || value.length === 0)
      throw usage('--digest must be hex digits', '--digest');
    // An own property: `in` would also accept Object.prototype names such as 'constructor'.
    if (hash === undefined || !Object.hasOwn(TOKEN_HASHES, hash)) {
      throw usage(
        `--hash must be one of ${Object.keys(TOKEN_HASHES)
          .filter((h) => h !== 'sha1')
          .join(', ')}`,
        '--hash',
      );
    }
    out.digest = { hash, value };
  }
  const request = str('request');
  if (request !== undefined)
    out.request = derObjects(request, '--request', ['TIMESTAMP REQUEST'])[0]!;
  const evidence = str('evidence');
  if (evidence !== undefined) out.evidence = derObjects(evidence, '--evidence', ['EVIDENCE'])[0]!;
  return out;
}

/** The attributes --require compares with a text value, and the form of that value. */
const TEXT_ATTRIBUTES: Readonly<Record<string, RegExp>> = {
  origin: /^[a-z-]+$/,
  'key-state': /^[a-z-]+$/,
  'key-algorithm': /^[a-z0-9-]+$/,
  'derivation-path': /^([mM]|[0-9]+['hH]?)(\/[0-9]+['hH]?)*$/,
  'parent-key': /^[0-9a-f-]{1,64}$/,
};

function parseRequire(text: string): Record<string, boolean | string> {
  const out: Record<string, boolean | string> = {};
  for (const item of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [name = '', value = ''] = item.split('=');
    if (!Object.hasOwn(REQUIRABLE, name)) {
      throw usage(
        `--require: unknown attribute '${name}' (known: ${Object.keys(REQUIRABLE).join(', ')})`,
        '--require',
      );
    }
    const text = TEXT_ATTRIBUTES[name];
    if (text !== undefined) {
      if (!text.test(value)) {
        throw usage(`--require: attribute '${name}' has a malformed value`, '--require');
      }
      out[name] = value;
    } else if (value === 'true' || value === 'false') out[name] = value === 'true';
    else
      throw usage(
        `--require: attribute '${name}' needs =true or =false (${Object.keys(TEXT_ATTRIBUTES).join(', ')} take a value)`,
        '--require',
      );
  }
  return out;
}

/** The RFC 5280 6.1.1 policy inputs from the command line, or undefined for the defaults. */
function policyInputs(v: Readonly<Record<string, unknown>>): PolicyInputs | undefined {
  const oids = Array.isArray(v.policy) ? v.policy.filter((o) => typeof o === 'string') : [];
  for (const oid of oids) {
    if (!/^[0-2](\.(0|[1-9]\d*))+$/.test(oid))
      throw usage('--policy must be a dotted object identifier, e.g. 2.5.29.32.0', '--policy');
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

/** Where the words of the command line stop being options (`--` ends them). */
function optionWords(argv: readonly string[]): readonly string[] {
  const end = argv.indexOf('--');
  return end === -1 ? argv : argv.slice(0, end);
}

interface Parsed {
  readonly kind: Kind;
  readonly positionals: readonly string[];
  readonly values: Readonly<Record<string, string | boolean | string[] | undefined>>;
}

/**
 * Parses leniently with tokens, then checks each option here, so that a message names the
 * option in one line and never repeats its value (parseArgs' strict messages span lines).
 */
function parseCommandLine(argv: readonly string[]): Parsed | 'top-help' {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const [name, spec] of Object.entries(OPTIONS))
    options[name] =
      spec.multiple === true ? { type: spec.type, multiple: true } : { type: spec.type };
  const parsed = parseArgs({
    args: [...argv],
    options,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const [first, ...positionals] = parsed.positionals;
  const wantsHelp = parsed.tokens.some(
    (t) => t.kind === 'option' && (t.name === 'help' || t.name === 'h'),
  );
  if (first === undefined) {
    if (wantsHelp) return 'top-help';
    throw usage(`name what to verify: ${KINDS.join(', ')} (see attestamp-verify --help)`);
  }
  if (!(KINDS as string[]).includes(first)) {
    const near = closeNames(first, KINDS);
    const hint = near.length > 0 ? `; did you mean ${near.join(' or ')}?` : '';
    throw new VerifyError(
      'usage',
      `unknown subcommand '${first}'${hint} (see attestamp-verify --help)`,
      { subcommand: first },
    );
  }
  const kind = first as Kind;
  const allowed = SUBCOMMANDS[kind].options;
  const see = `(see attestamp-verify ${kind} --help)`;
  for (const token of parsed.tokens) {
    if (token.kind !== 'option') continue;
    if (token.name === 'h') continue;
    const spec = OPTIONS[token.name];
    if (spec === undefined) {
      const near = closeNames(token.name, allowed);
      const hint =
        near.length > 0 ? `; did you mean ${near.map((n) => `--${n}`).join(' or ')}?` : '';
      throw new VerifyError('usage', `unknown option '${token.rawName}'${hint} ${see}`, {
        option: token.rawName,
        subcommand: kind,
        ...(near.length > 0 ? { suggestions: near.map((n) => `--${n}`) } : {}),
      });
    }
    if (!allowed.includes(token.name)) {
      const takers = KINDS.filter((k) => SUBCOMMANDS[k].options.includes(token.name));
      throw new VerifyError(
        'usage',
        `--${token.name} does not apply to ${kind} (it applies to ${takers.join(', ')}) ${see}`,
        { option: `--${token.name}`, subcommand: kind },
      );
    }
    // A following option is not a value (`--anchor --json`): parseArgs would take it as one.
    const swallowed = token.inlineValue === false && token.value.startsWith('--');
    if (spec.type === 'string' && (token.value === undefined || swallowed || token.value === ''))
      throw usage(
        `--${token.name} needs a value${spec.value ? ` (${spec.value})` : ''}`,
        `--${token.name}`,
      );
    if (spec.type === 'boolean' && token.inlineValue === true)
      throw usage(`--${token.name} takes no value`, `--${token.name}`);
    if (spec.multiple !== true) {
      const count = parsed.tokens.filter(
        (t) => t.kind === 'option' && t.name === token.name,
      ).length;
      if (count > 1)
        throw usage(
          `--${token.name} given ${String(count)} times; give it once`,
          `--${token.name}`,
        );
    }
  }
  return {
    kind,
    positionals,
    values: wantsHelp ? { ...parsed.values, help: true } : parsed.values,
  };
}

function errorDocument(error: VerifyError): string {
  return (
    JSON.stringify(
      { error: { code: error.code, message: error.message, details: error.details } },
      null,
      2,
    ) + '\n'
  );
}

export async function verifyMain(argv: readonly string[], io: VerifyIo): Promise<number> {
  const words = optionWords(argv);
  const json = words.includes('--json');
  if (words.includes('--version')) {
    io.stdout(`attestamp-verify ${packageVersion()}\n`);
    return 0;
  }
  try {
    const parsed = parseCommandLine(argv);
    if (parsed === 'top-help') {
      io.stdout(topHelp());
      return 0;
    }
    if (parsed.values.help === true) {
      io.stdout(subcommandHelp(parsed.kind));
      return 0;
    }
    const report = await run(parsed);
    io.stdout(json ? JSON.stringify(report, null, 2) + '\n' : summary(parsed.kind, report));
    return report.exitCode;
  } catch (error) {
    let refusal: VerifyError | undefined;
    if (error instanceof VerifyError) refusal = error;
    else if (error instanceof PkiError)
      refusal = new VerifyError('unparseable-input', error.message, { pkiCode: error.code });
    if (refusal !== undefined) {
      if (json) io.stdout(errorDocument(refusal));
      io.stderr(`attestamp-verify: ${refusal.message}\n`);
      return EXIT_CODES.unparseable;
    }
    const message = `internal error: ${error instanceof Error ? error.message : 'unknown'}`;
    if (json)
      io.stdout(
        JSON.stringify({ error: { code: 'internal', message, details: {} } }, null, 2) + '\n',
      );
    io.stderr(`attestamp-verify: ${message}\n`);
    return 1;
  }
}

async function run(parsed: Parsed): Promise<Report> {
  const { kind, values: v } = parsed;
  const str = (k: string): string | undefined => {
    const value = v[k];
    return typeof value === 'string' ? value : undefined;
  };
  const list = (k: string): string[] => {
    const value = v[k];
    return Array.isArray(value) ? value : [];
  };
  const [positionalFile, ...extra] = parsed.positionals;
  if (kind === 'token' && str('token') !== undefined && positionalFile !== undefined)
    throw usage('give the token once: --token FILE or FILE, not both', '--token');
  const file = kind === 'token' ? (str('token') ?? positionalFile) : positionalFile;
  if (file === undefined)
    throw usage(
      kind === 'token'
        ? 'missing --token FILE (see attestamp-verify token --help)'
        : `missing FILE (see attestamp-verify ${kind} --help)`,
      kind === 'token' ? '--token' : undefined,
    );
  if (extra.length > 0)
    throw usage(
      `unexpected argument number ${String(parsed.positionals.length)}: ${kind} takes one FILE (see attestamp-verify ${kind} --help)`,
    );
  const pins = list('anchor-sha256').map((h) => {
    const clean = h.toLowerCase().replace(/:/g, '');
    if (fromHex(clean)?.length !== 32)
      throw usage(
        '--anchor-sha256 must be 64 hex digits: the SHA-256 of the anchor certificate or of its public key',
        '--anchor-sha256',
      );
    return clean;
  });
  const anchors = list('anchor').flatMap((p) => derObjects(p, '--anchor', ['CERTIFICATE']));
  const atText = str('at');
  let at: Date | undefined;
  if (atText !== undefined) {
    at = parseAt(atText);
    if (at === undefined)
      throw usage(
        '--at must be an ISO 8601 time on a real date, e.g. 2026-12-01T06:43:52Z',
        '--at',
      );
  }
  const nonceText = str('nonce');
  let nonce: Uint8Array | undefined;
  if (nonceText !== undefined) {
    nonce = fromHex(nonceText);
    if (nonce === undefined || nonce.length === 0)
      throw usage('--nonce must be hex digits', '--nonce');
  }
  const profile = str('profile') ?? 'attestamp';
  if (profile !== 'attestamp' && profile !== 'x509')
    throw usage('--profile must be attestamp or x509', '--profile');
  const policy = policyInputs(v);
  const certs = str('certs');
  const requireText = str('require');
  const expectSpkiFile = str('expect-spki');
  const kcvText = str('expect-kcv');
  const expectKcv = kcvText === undefined ? undefined : fromHex(kcvText);
  if (kcvText !== undefined && expectKcv?.length !== 16) {
    throw usage('--expect-kcv must be 32 hex digits (a 16-byte key check value)', '--expect-kcv');
  }
  const options: EvidenceOptions = {
    anchors: { certificates: anchors, sha256: pins },
    profile,
    ...(policy === undefined ? {} : { policy }),
    at: at ?? new Date(),
    crls: list('crl').flatMap((p) => derObjects(p, '--crl', ['X509 CRL'])),
    requireRevocation: v['require-revocation'] === true,
    allowSoftware: v['allow-software'] === true,
    ...(certs === undefined ? {} : { certificates: derObjects(certs, '--certs', ['CERTIFICATE']) }),
    ...(requireText === undefined ? {} : { require: parseRequire(requireText) }),
    ...(expectSpkiFile === undefined ? {} : { expectSpki: expectedSpki(expectSpkiFile) }),
    ...(expectKcv === undefined ? {} : { expectKcv }),
    ...(nonce === undefined ? {} : { nonce }),
  };
  if (kind === 'token') {
    return inspectToken(tokenBytes(file), {
      ...options,
      ...tokenInputs(v),
      ...(at === undefined ? {} : { atOverride: at }),
    });
  }
  if (kind === 'backup') {
    // The chain is validated at the manifest's time unless --at is given.
    return inspectBackup(readInput(file, 'FILE'), {
      anchors: options.anchors,
      crls: options.crls ?? [],
      requireRevocation: options.requireRevocation === true,
      ...(options.certificates === undefined ? {} : { certificates: options.certificates }),
      ...(at === undefined ? {} : { at }),
    });
  }
  if (kind === 'evidence') {
    const [evidence] = derObjects(file, 'FILE', ['EVIDENCE']);
    return inspectEvidence(evidence!, options);
  }
  const bundle = derObjects(file, 'FILE', ['CERTIFICATE']);
  return kind === 'chain'
    ? verifyChain(bundle, options)
    : inspectAttestationCertificate(bundle, options);
}

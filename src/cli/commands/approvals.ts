// Approval request commands: list, show (with the bytes an approver signs), sign with a private
// key file, submit a signature made elsewhere (openssl), cancel, and execute once approved.
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  approverKey,
  backupResultBundle,
  HsmError,
  opensslSignCommand,
  signWithApproverKey,
  verifySignature,
  type Hsm,
} from '../../hsm/index.js';
import { KEY_ALGORITHMS, parseCertificateFields } from '../../pki/index.js';
import { flag, requiredOption, stringOption, type Command, type Invocation } from '../command.js';
import {
  officerCredential,
  readInputFile,
  withHsm,
  withOfficerHint,
  writePrivateFile,
} from '../context.js';
import { EXIT, InputError, UsageError } from '../exit-codes.js';
import {
  approvalBytes,
  requestBytes,
  type ApproverKey,
  type Decision,
  type RequestView,
} from '../governance-bytes.js';
import { jsonText } from '../output.js';
import { REMOTE_OPTIONS, requestViewOf, withTarget } from '../remote.js';
import type { ApiClient, OperationClass } from '../../client/index.js';
import { AUTHORITY_OPTIONS, describeRule } from './officer.js';
import { MASTER_OPTIONS } from './partition.js';

/** How to sign the bytes with openssl, for each approver key algorithm. */
export const opensslCommand = opensslSignCommand;

/** Where the request's context comes from: the local HSM, or the REST API. */
interface Context {
  partitionNames(): Promise<Map<string, string>>;
  /** The certificate of the key that signed the statement (device or partition attestation). */
  signerCertificate(view: RequestView, partitionName: string | undefined): Promise<Uint8Array>;
  /** The rule in force; undefined when this context cannot read it (a key's rule remotely). */
  ruleAt(
    scope: string,
    operation: string,
    partitionName: string | undefined,
  ): Promise<{ version: number; digest: string; rule: unknown } | undefined>;
}

function localContext(hsm: Hsm): Context {
  return {
    partitionNames: async () => new Map((await hsm.listPartitions()).map((p) => [p.id, p.name])),
    signerCertificate: async (view, name) =>
      view.body.signer === 'device' || name === undefined
        ? (await hsm.device()).certificate
        : (await hsm.chain(name)).partitionAttestation,
    ruleAt: async (scope, operation) => hsm.governance.ruleAt(scope, operation),
  };
}

const pemDer = (pem: string): Uint8Array => new Uint8Array(new X509Certificate(pem).raw);

function remoteContext(api: ApiClient): Context {
  return {
    partitionNames: async () => new Map((await api.partitions()).map((p) => [p.id, p.name])),
    signerCertificate: async (view, name) =>
      pemDer(
        view.body.signer === 'device' || name === undefined
          ? (await api.device()).certificate
          : (await api.partitionChain(name)).partitionAttestation,
      ),
    ruleAt: async (scope, operation, name) =>
      scope.startsWith('key:')
        ? undefined
        : api.quorumRule(operation as OperationClass, scope === 'device' ? undefined : name),
  };
}

function scopeName(scope: string, names: ReadonlyMap<string, string>): string {
  if (!scope.startsWith('partition:')) return scope;
  const name = names.get(scope.slice(10));
  return name === undefined ? scope : `partition ${name}`;
}

/**
 * Whether the HSM's signature over the statement checks against the key that made it: the
 * device certificate's key, or the partition attestation certificate's.
 */
async function statementVerified(
  ctx: Context,
  view: RequestView,
  names: ReadonlyMap<string, string>,
): Promise<boolean> {
  const scope = view.body.statement.scope;
  const name = names.get(scope.slice(10));
  if (view.body.signer !== 'device' && name === undefined) return false;
  const cert = await ctx.signerCertificate(view, name);
  // Read by src/pki, not OpenSSL: the device or attestation key may be one OpenSSL under this
  // Node cannot read (ML-DSA, SLH-DSA).
  const spki = parseCertificateFields(cert).spki;
  const data = requestBytes(view.body.statement);
  const signature = new Uint8Array(Buffer.from(view.body.signature, 'hex'));
  return KEY_ALGORITHMS.some((alg) => {
    try {
      return verifySignature(spki, alg, data, signature);
    } catch {
      return false;
    }
  });
}

/** A rule the context cannot read: a key's own rule over the API (key show prints it). */
const NOT_READ = Symbol('not read');

interface Shown {
  readonly view: RequestView;
  readonly verified: boolean;
  readonly names: ReadonlyMap<string, string>;
  readonly rules: readonly { readonly key: string; readonly rule: unknown }[];
}

/** The view with what a person needs beside it: the rules' content and the statement check. */
async function gatherWith(ctx: Context, view: RequestView): Promise<Shown> {
  const names = await ctx.partitionNames();
  const rules: { key: string; rule: unknown }[] = [];
  for (const ref of view.body.statement.rules) {
    let rule: unknown = undefined;
    const name = names.get(ref.scope.slice(10));
    const current = await ctx.ruleAt(ref.scope, ref.operation, name);
    if (current === undefined) rule = NOT_READ;
    else if (current.version === ref.version && current.digest === ref.digest) rule = current.rule;
    rules.push({ key: `${ref.scope}/${ref.operation}@${String(ref.version)}`, rule });
  }
  return { view, verified: await statementVerified(ctx, view, names), names, rules };
}

const gather = (hsm: Hsm, view: RequestView): Promise<Shown> => gatherWith(localContext(hsm), view);
const gatherRemote = (api: ApiClient, view: RequestView): Promise<Shown> =>
  gatherWith(remoteContext(api), view);

/**
 * A request's result as printed: an executed backup's bundle left out (`approvals download`
 * writes it, audited as backup.download).
 */
function resultJson(id: string, result: unknown): unknown {
  if (backupResultBundle(result) === undefined) return result;
  const copy = { ...(result as Record<string, unknown>) };
  delete copy['bundle'];
  return { ...copy, download: `attestamp approvals download ${id} --out FILE` };
}

export function requestJson(shown: Shown): Record<string, unknown> {
  const { view } = shown;
  const b = view.body;
  return {
    id: view.id,
    state: view.evaluation.state,
    statement: b.statement,
    signer: b.signer,
    signature: b.signature,
    statementVerified: shown.verified,
    closedAt: b.closedAt,
    closedBy: b.closedBy,
    result: resultJson(view.id, b.result),
    rules: view.evaluation.rules.map((r) => ({ ...r.ref, evaluation: r.state })),
    ...(view.evaluation.notBefore === undefined ? {} : { notBefore: view.evaluation.notBefore }),
    approvals: view.approvals.map((a) => ({
      principal: a.principal,
      key: a.key,
      decision: a.decision,
      at: a.at,
    })),
  };
}

function stateText(view: RequestView): string {
  const ev = view.evaluation;
  switch (ev.state) {
    case 'pending': {
      const needs = ev.rules.flatMap((r) => {
        if (r.state.state !== 'pending') return [];
        const fewest = Math.min(...r.state.missing.map((m) => m.reduce((x, y) => x + y, 0)));
        return [
          `${r.ref.operation} needs ${String(fewest)} more approval${fewest === 1 ? '' : 's'}`,
        ];
      });
      return `pending${needs.length > 0 ? ` (${needs.join('; ')})` : ''}`;
    }
    case 'time-locked':
      return `approved, time-locked until ${ev.notBefore ?? '?'}`;
    case 'approved':
      return "approved: run 'attestamp approvals execute' to carry it out";
    case 'rule-changed':
      return 'void: a rule it names changed since it was made (make a new request)';
    default:
      return ev.state;
  }
}

function printRequest(inv: Invocation, shown: Shown): void {
  const o = inv.io.stdout;
  const { view } = shown;
  const s = view.body.statement;
  o(`approval request ${view.id}\n`);
  o(`  operation:   ${s.operation}\n`);
  o(`  parameters:\n`);
  for (const [k, v] of Object.entries(s.params)) o(`    ${k}: ${JSON.stringify(v)}\n`);
  if (s.operation === 'key.sign' && 'digest' in s.params) {
    o('    (a digest only: check what it is the digest of before approving)\n');
  } else if (s.operation === 'key.sign' && typeof s.params['data'] === 'string') {
    const text = Buffer.from(s.params['data'], 'hex').toString('utf8');
    // Printable text is shown as text too (control characters escaped by JSON).
    if (!text.includes('\uFFFD')) o(`    data as text: ${JSON.stringify(text)}\n`);
  }
  o(`  scope:       ${scopeName(s.scope, shown.names)}\n`);
  o(`  target:      ${s.target === null ? 'none' : scopeName(s.target, shown.names)}\n`);
  o(`  requester:   ${s.requester}\n`);
  o(`  rules:\n`);
  s.rules.forEach((ref, i) => {
    o(
      `    ${ref.scope}/${ref.operation} version ${String(ref.version)} (digest ${ref.digest.slice(0, 16)}...)\n`,
    );
    const rule = shown.rules[i]?.rule;
    if (rule === NOT_READ) o("      (the key's own rule: attestamp key show prints it)\n");
    else if (rule === undefined)
      o('      (changed or cleared since: the request can no longer execute)\n');
    else for (const line of describeRule(rule, '      ')) o(`${line}\n`);
  });
  o(`  created:     ${s.createdAt}\n`);
  o(`  not before:  ${s.notBefore}\n`);
  o(`  expires:     ${s.expiresAt}\n`);
  o(`  state:       ${stateText(view)}\n`);
  if (view.body.closedAt !== null)
    o(`  closed:      ${view.body.closedAt} by ${view.body.closedBy ?? '?'}\n`);
  o(
    `  statement:   signed by the ${view.body.signer === 'device' ? 'device key' : 'partition attestation key'}: ${shown.verified ? 'signature verified' : 'SIGNATURE DOES NOT VERIFY'}\n`,
  );
  o(`  approvals:${view.approvals.length === 0 ? ' none yet' : ''}\n`);
  for (const a of view.approvals)
    o(`    ${a.principal} ${a.decision}d at ${a.at} with key ${a.key}\n`);
}

async function approverKeyOf(hsm: Hsm, fingerprint: string): Promise<ApproverKey> {
  const key = (await hsm.governance.approverKeys()).find((k) => k.id === fingerprint);
  if (key === undefined) {
    throw new HsmError('approver-key-unknown', 'no approver key with that fingerprint', {
      details: { key: fingerprint.slice(0, 64) },
    });
  }
  return key;
}

/** An approver key as the commands use it: its fingerprint, principal and algorithm. */
interface Approver {
  readonly id: string;
  readonly principal: string;
  readonly algorithm: ApproverKey['body']['algorithm'];
}

const localApprover = async (hsm: Hsm, fingerprint: string): Promise<Approver> => {
  const k = await approverKeyOf(hsm, fingerprint);
  return { id: k.id, principal: k.body.principal, algorithm: k.body.algorithm };
};

/**
 * An approver key over the API: the principal from the request's bytes-to-sign view (which any
 * caller may read), the scheme from the key file's public half when there is one, else from
 * the approver-key list (or the openssl command the server suggests).
 */
async function remoteApprover(
  api: ApiClient,
  id: string,
  decision: Decision,
  fingerprint: string,
  spki?: Uint8Array,
): Promise<Approver> {
  const toSign = (await api.getApproval(id, { decision, approverKey: fingerprint })).toSign;
  if (toSign === undefined) {
    throw new HsmError('approver-key-unknown', 'no approver key with that fingerprint', {
      details: { key: fingerprint.slice(0, 64) },
    });
  }
  const listed = (await api.approverKeys()).find((k) => k.fingerprint === fingerprint)?.algorithm;
  const suggested = toSign.openssl.includes('pkeyutl')
    ? 'ed25519'
    : toSign.openssl.includes('pss')
      ? 'rsa-pss-sha256'
      : 'ecdsa-p256-sha256';
  const algorithm = spki !== undefined ? approverKey(spki).algorithm : (listed ?? suggested);
  // The document's algorithm is the HSM's approver key algorithm as text.
  return {
    id: fingerprint,
    principal: toSign.principal,
    algorithm: algorithm as Approver['algorithm'],
  };
}

function decisionOption(inv: Invocation, name: string): Decision {
  const d = requiredOption(inv, name);
  if (d !== 'approve' && d !== 'reject')
    throw new UsageError(`--${name} must be approve or reject`);
  return d;
}

function output(inv: Invocation, shown: Shown, line: string): void {
  if (flag(inv, 'json')) inv.io.stdout(jsonText(requestJson(shown)));
  else {
    inv.io.stdout(`${line}\n`);
    printRequest(inv, shown);
  }
}

const ID = ['ID'] as const;

export const approvalsList: Command = {
  path: ['approvals', 'list'],
  summary: 'List approval requests and where each stands.',
  positionals: [],
  options: {
    state: {
      type: 'string',
      value: 'STATE',
      description: 'only requests in this state (pending, approved, executed, ...)',
    },
    ...MASTER_OPTIONS,
    ...REMOTE_OPTIONS,
  },
  async run(inv) {
    const only = stringOption(inv, 'state');
    const all = await withTarget<readonly RequestView[]>(
      inv,
      (hsm) => hsm.governance.listRequests(),
      async (api) => (await api.listApprovals()).map(requestViewOf),
    );
    const views = all.filter((v) => only === undefined || v.evaluation.state === only);
    const rows = views.map((v) => ({
      id: v.id,
      operation: v.body.statement.operation,
      scope: v.body.statement.scope,
      requester: v.body.statement.requester,
      state: v.evaluation.state,
      createdAt: v.body.statement.createdAt,
      expiresAt: v.body.statement.expiresAt,
      approvals: v.approvals.length,
    }));
    if (flag(inv, 'json')) inv.io.stdout(jsonText(rows));
    else
      for (const r of rows)
        inv.io.stdout(`${r.id}\t${r.operation}\t${r.state}\t${r.requester}\t${r.createdAt}\n`);
    return EXIT.ok;
  },
};

export const approvalsShow: Command = {
  path: ['approvals', 'show'],
  summary: 'Show an approval request as a person reads it, or write the bytes to sign.',
  positionals: [...ID],
  details: `Shows what the request will do (operation, parameters, target), who asked, the rules it must
meet (with their versions), its times, its state and the approvals so far, and whether the HSM's
signature over the statement verifies.
With --bytes approve|reject --approver-key FINGERPRINT --out FILE it writes exactly the bytes the
approver signs: a fixed prefix, then the canonical JSON (RFC 8785) of the decision, the approver
(principal and key) and the statement. Sign them with the approver key:
  openssl dgst -sha256 -sign key.pem -out sig.der FILE                      (ECDSA P-256)
  openssl pkeyutl -sign -rawin -inkey key.pem -in FILE -out sig.der         (Ed25519)
  openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sign key.pem -out sig.der FILE (RSA-PSS)
then hand the signature in with 'attestamp approvals submit'. A signature for approve is not a
signature for reject, nor for another request.`,
  options: {
    bytes: {
      type: 'string',
      value: 'DECISION',
      description: 'write the bytes to sign for approve or reject',
    },
    'approver-key': {
      type: 'string',
      value: 'FINGERPRINT',
      description: 'with --bytes: the key that will sign',
    },
    out: { type: 'string', value: 'FILE', description: 'with --bytes: where to write them' },
    ...MASTER_OPTIONS,
    ...REMOTE_OPTIONS,
  },
  async run(inv) {
    const id = inv.positionals[0]!;
    if (stringOption(inv, 'bytes') === undefined) {
      if (
        stringOption(inv, 'approver-key') !== undefined ||
        stringOption(inv, 'out') !== undefined
      ) {
        throw new UsageError('--approver-key and --out go with --bytes approve|reject');
      }
      const shown = await withTarget(
        inv,
        async (hsm) => gather(hsm, await hsm.governance.showRequest(id)),
        async (api) => gatherRemote(api, requestViewOf(await api.getApproval(id))),
      );
      if (flag(inv, 'json')) inv.io.stdout(jsonText(requestJson(shown)));
      else printRequest(inv, shown);
      return EXIT.ok;
    }
    const decision = decisionOption(inv, 'bytes');
    const fingerprint = requiredOption(inv, 'approver-key');
    const out = resolve(inv.io.cwd, requiredOption(inv, 'out'));
    const toSign = (view: RequestView, k: Approver) => ({
      key: k,
      bytes: approvalBytes(view.body.statement, decision, { principal: k.principal, key: k.id }),
    });
    const { bytes, key } = await withTarget(
      inv,
      async (hsm) =>
        toSign(await hsm.governance.showRequest(id), await localApprover(hsm, fingerprint)),
      async (api) =>
        toSign(
          requestViewOf(await api.getApproval(id)),
          await remoteApprover(api, id, decision, fingerprint),
        ),
    );
    writeFileSync(out, bytes);
    if (flag(inv, 'json')) {
      inv.io.stdout(
        jsonText({
          request: id,
          decision,
          approverKey: key.id,
          principal: key.principal,
          algorithm: key.algorithm,
          out,
          length: bytes.length,
          sha256: createHash('sha256').update(bytes).digest('hex'),
        }),
      );
    } else {
      inv.io.stdout(
        `the bytes ${key.principal} signs to ${decision} request ${id} were written to ${out}\n` +
          `sign them: ${opensslCommand(key.algorithm, out, 'sig.der')}\n` +
          `then: attestamp approvals submit ${id} --decision ${decision} --approver-key ${key.id} --signature sig.der\n`,
      );
    }
    return EXIT.ok;
  },
};

/** The public half (DER SPKI) of a PEM private key file that fingerprintOfKeyFile read. */
const spkiOfKeyFile = (pem: string): Uint8Array =>
  new Uint8Array(
    createPublicKey({ key: pem, format: 'pem' }).export({ format: 'der', type: 'spki' }),
  );

/** The fingerprint of the public half of a PEM private key. */
function fingerprintOfKeyFile(pem: string, path: string): string {
  try {
    const pub = createPublicKey({ key: pem, format: 'pem' });
    return createHash('sha256')
      .update(pub.export({ format: 'der', type: 'spki' }))
      .digest('hex');
  } catch {
    throw new InputError(`'${path}' is not an unencrypted PEM private key`);
  }
}

export const approvalsSign: Command = {
  path: ['approvals', 'sign'],
  summary: 'Sign a decision on a request with a private key file and submit it.',
  positionals: [...ID],
  details: `The key file is an unencrypted PEM private key of an enrolled approver key;
the key is found by its public half. This is the same as 'approvals show --bytes', openssl and
'approvals submit', on one machine: an approver who keeps the key elsewhere uses those instead.
Read the request ('attestamp approvals show ID') before approving it.`,
  options: {
    decision: { type: 'string', value: 'approve|reject', description: 'the decision (required)' },
    key: { type: 'string', value: 'KEY.pem', description: 'the private key file (required)' },
    ...MASTER_OPTIONS,
    ...REMOTE_OPTIONS,
  },
  async run(inv) {
    const id = inv.positionals[0]!;
    const decision = decisionOption(inv, 'decision');
    const path = resolve(inv.io.cwd, requiredOption(inv, 'key'));
    const keyFile = readInputFile(path, 'private key').toString('utf8');
    const fingerprint = fingerprintOfKeyFile(keyFile, path);
    // The bytes are made here from the statement the HSM signed, never taken from the server.
    const sign = (view: RequestView, k: Approver) =>
      signWithApproverKey(
        keyFile,
        k.algorithm,
        approvalBytes(view.body.statement, decision, { principal: k.principal, key: k.id }),
      );
    const shown = await withTarget(
      inv,
      async (hsm) => {
        const signature = sign(
          await hsm.governance.showRequest(id),
          await localApprover(hsm, fingerprint),
        );
        return gather(hsm, await hsm.governance.decide(id, decision, fingerprint, signature));
      },
      async (api) => {
        const signature = sign(
          requestViewOf(await api.getApproval(id)),
          await remoteApprover(api, id, decision, fingerprint, spkiOfKeyFile(keyFile)),
        );
        const after = await api.submitDecision(id, decision, fingerprint, signature);
        return gatherRemote(api, requestViewOf(after));
      },
    );
    output(inv, shown, `${decision} recorded for request ${id}`);
    return EXIT.ok;
  },
};

export const approvalsSubmit: Command = {
  path: ['approvals', 'submit'],
  summary: "Submit an approver's signed decision on a request (made with openssl).",
  positionals: [...ID],
  details: `--signature is the signature file over the bytes 'attestamp approvals show ID --bytes DECISION
--approver-key FINGERPRINT' wrote, for the same decision and key. The signature is the approver's
authority: no session is needed. A bad signature is refused (exit 2, approval-signature-invalid).`,
  options: {
    decision: { type: 'string', value: 'approve|reject', description: 'the decision (required)' },
    'approver-key': {
      type: 'string',
      value: 'FINGERPRINT',
      description: 'the key that signed (required)',
    },
    signature: { type: 'string', value: 'SIG.der', description: 'the signature file (required)' },
    ...MASTER_OPTIONS,
    ...REMOTE_OPTIONS,
  },
  async run(inv) {
    const id = inv.positionals[0]!;
    const decision = decisionOption(inv, 'decision');
    const fingerprint = requiredOption(inv, 'approver-key');
    const signature = readInputFile(
      resolve(inv.io.cwd, requiredOption(inv, 'signature')),
      'signature',
    );
    const sig = new Uint8Array(signature);
    const shown = await withTarget(
      inv,
      async (hsm) => gather(hsm, await hsm.governance.decide(id, decision, fingerprint, sig)),
      async (api) =>
        gatherRemote(api, requestViewOf(await api.submitDecision(id, decision, fingerprint, sig))),
    );
    output(inv, shown, `${decision} recorded for request ${id}`);
    return EXIT.ok;
  },
};

export const approvalsCancel: Command = {
  path: ['approvals', 'cancel'],
  summary: 'Cancel a pending request (its requester, or an officer of its scope).',
  positionals: [...ID],
  details:
    "Give the requester's or an officer's session with --officer and --officer-passphrase-file.",
  options: { ...AUTHORITY_OPTIONS, ...MASTER_OPTIONS },
  async run(inv) {
    const id = inv.positionals[0]!;
    const authority = officerCredential(inv);
    const shown = await withOfficerHint(inv, () =>
      withHsm(inv, async (hsm) => {
        await hsm.governance.cancel(id, authority);
        return gather(hsm, await hsm.governance.showRequest(id));
      }),
    );
    output(inv, shown, `request ${id} cancelled`);
    return EXIT.ok;
  },
};

export const approvalsExecute: Command = {
  path: ['approvals', 'execute'],
  summary: 'Carry out an approved request, exactly once.',
  positionals: [...ID],
  details: `Runs the operation the statement names with exactly its parameters, in one transaction with
the check that its rules are met now (by keys not revoked since, under the same rule versions).
Refused while pending or time-locked (exit 7), and when rejected, expired, cancelled or executed
(exit 2). Executable: quorum rule changes, role grants and revocations, approver key
revocation, the SO exclusion, partition policy and revocation, trash restore and purge, key
export (under an RSA public key), backup domain and transport key changes, partition backup
and restore (for a backup, attestamp partition backup NAME --request ID --out FILE executes it
and writes the bundle), and a key's own guarded operations (sign, block, unblock, policy
change: for a signature, attestamp key sign --request ID --out FILE writes it).
An approved audit export is carried out by attestamp audit export --request ID.`,
  options: { ...MASTER_OPTIONS },
  async run(inv) {
    const id = inv.positionals[0]!;
    const shown = await withHsm(inv, async (hsm) => gather(hsm, await hsm.executeRequest(id)));
    output(inv, shown, `request ${id} executed`);
    return EXIT.ok;
  },
};

export const approvalsDownload: Command = {
  path: ['approvals', 'download'],
  summary: 'Write the bundle an executed backup request made (audited as backup.download).',
  positionals: [...ID],
  details: `The result of an executed partition.backup request names the bundle's serial and SHA-256;
this writes the bundle itself to --out (mode 0600) and appends a backup.download entry to the
audit log. Over the REST API: GET /v1/approvals/{id}/bundle.`,
  options: {
    out: { type: 'string', value: 'FILE', description: 'where to write the bundle (mode 0600)' },
    ...MASTER_OPTIONS,
  },
  async run(inv) {
    const id = inv.positionals[0]!;
    const out = requiredOption(inv, 'out');
    const d = await withHsm(inv, (hsm) => hsm.backupDownload(id));
    writePrivateFile(resolve(inv.io.cwd, out), d.bundle);
    const facts = {
      request: d.request,
      partition: d.partition,
      serial: d.serial,
      sha256: d.digest,
    };
    inv.io.stdout(
      flag(inv, 'json')
        ? jsonText(facts)
        : `backup serial ${d.serial} of ${d.partition ?? '?'}, SHA-256 ${d.digest}\n`,
    );
    return EXIT.ok;
  },
};

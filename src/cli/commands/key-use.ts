// Key use and key policy commands: sign and verify (data or a digest), block and unblock, and
// a key's own approval policy (Smart Key Attributes).
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Hsm, KeyPolicyInput, SignInput } from '../../hsm/index.js';
import { SIGN_DATA_LIMIT } from '../../hsm/index.js';
import { flag, requiredOption, stringOption, type Command, type Invocation } from '../command.js';
import { readInputFile, withHsm } from '../context.js';
import { EXIT, InputError, UsageError } from '../exit-codes.js';
import { jsonText } from '../output.js';
import type { KeyPolicyInput as ClientKeyPolicy } from '../../client/index.js';
import {
  approvalRequired,
  keyViewOf,
  REMOTE_OPTIONS,
  withTarget,
  type KeyView,
} from '../remote.js';
import { keyJson } from './key.js';
import { MASTER_OPTIONS } from './partition.js';

const PARTITION_LABEL = ['PARTITION', 'LABEL'] as const;

/** Larger than any signature of a supported algorithm (SLH-DSA-SHA2-256f: 49,856 bytes). */
const SIGNATURE_FILE_LIMIT = 64 * 1024;

/** --in FILE or --digest HEX: exactly one. */
function signInput(inv: Invocation): SignInput {
  const file = stringOption(inv, 'in');
  const hex = stringOption(inv, 'digest');
  if ((file === undefined) === (hex === undefined)) {
    throw new UsageError('give exactly one of --in FILE (the data) and --digest HEX');
  }
  if (hex !== undefined) {
    if (!/^([0-9a-fA-F]{2})+$/.test(hex)) {
      throw new UsageError('--digest must be hexadecimal (an even number of digits)');
    }
    return { digest: new Uint8Array(Buffer.from(hex, 'hex')) };
  }
  const path = resolve(inv.io.cwd, file!);
  if (existsSync(path) && statSync(path).size > SIGN_DATA_LIMIT) {
    throw new InputError(
      `the --in file is larger than ${SIGN_DATA_LIMIT} bytes: sign its digest with --digest`,
    );
  }
  return { data: new Uint8Array(readInputFile(path, 'the --in file')) };
}

/** A policy file: JSON with any of use, block, unblock and modify, each a quorum rule. */
export function readPolicyFile(inv: Invocation, option: string): KeyPolicyInput {
  const path = resolve(inv.io.cwd, requiredOption(inv, option));
  const text = readInputFile(path, `the --${option} file`).toString('utf8');
  try {
    return JSON.parse(text) as KeyPolicyInput;
  } catch {
    throw new InputError(`the --${option} file is not JSON`);
  }
}

/** The signature an executed signing request holds (hex, as the HSM records it). */
function signedResult(result: unknown): {
  signature: Uint8Array;
  algorithm: string;
  keyId: string;
} {
  const r = (result ?? {}) as { signature?: unknown; algorithm?: unknown; key?: unknown };
  if (typeof r.signature !== 'string') throw new Error('the executed request has no signature');
  return {
    signature: new Uint8Array(Buffer.from(r.signature, 'hex')),
    algorithm: String(r.algorithm),
    keyId: String(r.key),
  };
}

const INPUT_OPTIONS = {
  in: { type: 'string', value: 'FILE', description: 'the data (at most 1 MiB)' },
  digest: {
    type: 'string',
    value: 'HEX',
    description: "a digest under the key algorithm's hash, computed by you (not for Ed25519)",
  },
} as const;

export const keySign: Command = {
  path: ['key', 'sign'],
  summary: 'Sign data or a digest with a user key (through an approval request under a use rule).',
  positionals: [...PARTITION_LABEL],
  details: `The signature is written to --out in the encoding certificates and CMS carry (ECDSA: DER
ECDSA-Sig-Value; RSA: the raw signature), so that openssl dgst -verify (data) or openssl pkeyutl
-verify (digest) checks it. When the key's own policy has a use rule, no signature is made:
an approval request holding the exact data or digest is (exit 7, its id printed). Once
approved, run the same command with --request ID (and --out) to carry it out and write the
signature.`,
  options: {
    ...INPUT_OPTIONS,
    out: {
      type: 'string',
      value: 'FILE',
      description: 'file to write the signature to (required)',
    },
    request: {
      type: 'string',
      value: 'ID',
      description: 'carry out this approved signing request instead (no --in or --digest)',
    },
    ...MASTER_OPTIONS,
    ...REMOTE_OPTIONS,
  },
  async run(inv) {
    const [partition, label] = inv.positionals as [string, string];
    const out = resolve(inv.io.cwd, requiredOption(inv, 'out'));
    const request = stringOption(inv, 'request');
    const noInput = () => {
      if (inv.options['in'] !== undefined || inv.options['digest'] !== undefined) {
        throw new UsageError('--request signs what its statement holds: no --in or --digest');
      }
    };
    const notThis = () =>
      new UsageError(`--request: ${request ?? ''} is not a request to sign with ${label}`);
    const result = await withTarget(
      inv,
      async (hsm: Hsm) => {
        if (request === undefined) return hsm.sign(partition, label, signInput(inv));
        noInput();
        const view = await hsm.governance.showRequest(request);
        const s = view.body.statement;
        const params = s.params as Record<string, unknown>;
        const pid = (await hsm.partition(partition)).id;
        if (
          s.operation !== 'key.sign' ||
          params['label'] !== label ||
          params['partition'] !== pid
        ) {
          throw notThis();
        }
        return signedResult((await hsm.executeRequest(request)).body.result);
      },
      async (api) => {
        if (request === undefined) {
          const r = await api.sign(partition, label, signInput(inv));
          if (r.kind === 'approval') throw approvalRequired(r.approval);
          return { signature: r.signature, algorithm: r.algorithm, keyId: r.key };
        }
        noInput();
        const view = await api.getApproval(request);
        const params = (view.statement as { params?: Record<string, unknown> }).params ?? {};
        const pid = (await api.partitions()).find((p) => p.name === partition)?.id;
        if (
          view.operation !== 'key.sign' ||
          params['label'] !== label ||
          params['partition'] !== pid
        ) {
          throw notThis();
        }
        return signedResult((await api.executeApproval(request)).result);
      },
    );
    writeFileSync(out, result.signature);
    if (flag(inv, 'json')) {
      inv.io.stdout(
        jsonText({
          partition,
          label,
          key: result.keyId,
          algorithm: result.algorithm,
          out,
          bytes: result.signature.length,
          ...(request === undefined ? {} : { request }),
        }),
      );
    } else {
      inv.io.stdout(`signed with ${label} (${result.algorithm}): ${out}\n`);
    }
    return EXIT.ok;
  },
};

export const keyVerify: Command = {
  path: ['key', 'verify'],
  summary: "Verify a signature with a user key's public key (exit 8 when it does not verify).",
  positionals: [...PARTITION_LABEL],
  options: {
    ...INPUT_OPTIONS,
    signature: {
      type: 'string',
      value: 'FILE',
      description: 'file holding the signature (required)',
    },
    ...MASTER_OPTIONS,
    ...REMOTE_OPTIONS,
  },
  async run(inv) {
    const [partition, label] = inv.positionals as [string, string];
    const input = signInput(inv);
    const sigPath = resolve(inv.io.cwd, requiredOption(inv, 'signature'));
    if (existsSync(sigPath) && statSync(sigPath).size > SIGNATURE_FILE_LIMIT) {
      throw new InputError(`the --signature file is larger than ${SIGNATURE_FILE_LIMIT} bytes`);
    }
    const signature = new Uint8Array(readInputFile(sigPath, 'the --signature file'));
    const valid = await withTarget(
      inv,
      (hsm) => hsm.verify(partition, label, input, signature),
      (api) => api.verify(partition, label, input, signature),
    );
    if (flag(inv, 'json')) inv.io.stdout(jsonText({ partition, label, valid }));
    else inv.io.stdout(valid ? 'signature verified\n' : 'signature does NOT verify\n');
    return valid ? EXIT.ok : EXIT.badSignature;
  },
};

function blockCommand(blocked: boolean): Command {
  const verb = blocked ? 'block' : 'unblock';
  return {
    path: ['key', verb],
    summary: blocked
      ? "Block a key: kept, but unusable until unblocked (under its policy's block rule)."
      : "Unblock a blocked key (under its policy's unblock rule).",
    positionals: [...PARTITION_LABEL],
    details: `Under the key's ${verb} rule this makes an approval request (exit 7); once approved, run
attestamp approvals execute ID.`,
    options: { ...MASTER_OPTIONS },
    async run(inv) {
      const [partition, label] = inv.positionals as [string, string];
      const key = await withHsm(inv, (hsm) =>
        blocked ? hsm.blockKey(partition, label) : hsm.unblockKey(partition, label),
      );
      if (flag(inv, 'json')) inv.io.stdout(jsonText(keyJson(key)));
      else inv.io.stdout(`key ${label} is ${key.state}\n`);
      return EXIT.ok;
    },
  };
}

export const keyBlock = blockCommand(true);
export const keyUnblock = blockCommand(false);

export const keyPolicy: Command = {
  path: ['key', 'policy'],
  summary: "Replace (--set FILE) or clear (--clear) a modifiable key's own approval policy.",
  positionals: [...PARTITION_LABEL],
  details: `The policy file is JSON with any of "use", "block", "unblock" and "modify", each a quorum
rule in the language of attestamp quorum set (see the README's governance section), e.g.
{"use": {"timeoutSeconds": 3600, "alternatives": [{"groups": [{"members": ["ann", "bob",
"cid"], "threshold": 2}]}]}}. Only a key generated with --modifiable can change its policy;
the change is guarded by the key's modify rule, or its use rule when it has none (exit 7 and a
request; then attestamp approvals execute ID). attestamp key show prints the policy. With
--api, through PUT /v1/partitions/P/keys/LABEL/policy (crypto-officer or pso of the partition).`,
  options: {
    set: { type: 'string', value: 'FILE', description: 'the new policy (JSON)' },
    clear: { type: 'boolean', description: 'remove every rule' },
    ...MASTER_OPTIONS,
    ...REMOTE_OPTIONS,
  },
  async run(inv) {
    const [partition, label] = inv.positionals as [string, string];
    const clear = flag(inv, 'clear');
    if (clear === (inv.options['set'] !== undefined)) {
      throw new UsageError('give exactly one of --set FILE and --clear');
    }
    const policy = clear ? null : readPolicyFile(inv, 'set');
    const key = await withTarget<KeyView>(
      inv,
      (hsm) => hsm.setKeyPolicy(partition, label, policy),
      async (api) => {
        // The file's JSON as the API takes it: the server checks it against the document and
        // the HSM's rule parser, as the local store does.
        const r = await api.setKeyPolicy(partition, label, policy as ClientKeyPolicy | null);
        if (r.kind === 'approval') throw approvalRequired(r.approval);
        return keyViewOf(r.value);
      },
    );
    if (flag(inv, 'json')) inv.io.stdout(jsonText(keyJson(key)));
    else inv.io.stdout(`key ${label}: policy version ${key.attributes.policy?.version ?? 0}\n`);
    return EXIT.ok;
  },
};

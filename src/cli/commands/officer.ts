// Governance commands for people and rules: officers and their roles, approver keys, quorum
// rules, and a partition's exclusion of the device security officer.
import { createHash, createPublicKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { HsmError, type Hsm, type OfficerCredential } from '../../hsm/index.js';
import { flag, requiredOption, stringOption, type Command, type Invocation } from '../command.js';
import { officerCredential, readInputFile, withHsm, withOfficerHint } from '../context.js';
import { EXIT, InputError, UsageError } from '../exit-codes.js';
import {
  OPERATION_CLASSES,
  ROLES,
  type ApproverKey,
  type StoredRule,
} from '../governance-bytes.js';
import { jsonText } from '../output.js';
import { REMOTE_OPTIONS, withTarget } from '../remote.js';
import { MASTER_OPTIONS } from './partition.js';

/** The officer whose session authorises a change: --officer and its passphrase. */
export const AUTHORITY_OPTIONS = {
  officer: {
    type: 'string',
    value: 'NAME',
    description: 'officer who authorises the change (default so)',
  },
  'officer-passphrase-file': {
    type: 'string',
    value: 'FILE',
    description: "that officer's passphrase file (or $ATTESTAMP_OFFICER_PASSPHRASE)",
  },
} as const;

const PARTITION_OPTION = {
  partition: {
    type: 'string',
    value: 'P',
    description: 'the partition the role or rule holds in (default: the device)',
  },
} as const;

export const APPROVAL_NOTE = `A change guarded by a quorum rule does not run: it becomes an approval request, whose id is
printed, and the command exits 7. See 'attestamp approvals show ID' for what happens next.`;

/** Runs a change that needs an officer's session, with the hint for a missing credential. */
export function asOfficer<T>(
  inv: Invocation,
  fn: (hsm: Hsm, authority: OfficerCredential | undefined) => Promise<T>,
): Promise<T> {
  const authority = officerCredential(inv);
  return withOfficerHint(inv, () => withHsm(inv, (hsm) => fn(hsm, authority)));
}

/** A public key file (PEM "PUBLIC KEY" or DER SubjectPublicKeyInfo) as canonical DER. */
export function readPublicKey(path: string): { spki: Uint8Array; fingerprint: string } {
  const bytes = readInputFile(path, 'public key');
  const text = bytes.toString('utf8');
  try {
    const key = text.includes('-----BEGIN')
      ? createPublicKey({ key: text, format: 'pem' })
      : createPublicKey({ key: bytes, format: 'der', type: 'spki' });
    if (key.type !== 'public') throw new Error('not a public key');
    const der = key.export({ format: 'der', type: 'spki' });
    return {
      spki: new Uint8Array(der),
      fingerprint: createHash('sha256').update(der).digest('hex'),
    };
  } catch {
    throw new InputError(
      `'${path}' is not a public key (PEM "PUBLIC KEY" or DER); make one with openssl pkey -in key.pem -pubout`,
    );
  }
}

/** Reads a secret from a file, or one line from standard input when the name is "-". */
function readPassphrase(path: string): string {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch {
    throw new InputError(
      `cannot read the passphrase ${path === '-' ? 'from standard input' : `file '${path}'`}`,
    );
  }
  const line = text.split(/\r?\n/)[0] ?? '';
  if (line.length === 0) throw new InputError('the new officer passphrase is empty');
  return line;
}

function parseRoleSpec(spec: string): { role: string; partition?: string } {
  const at = spec.indexOf('@');
  const role = at < 0 ? spec : spec.slice(0, at);
  const partition = at < 0 ? undefined : spec.slice(at + 1);
  if (!(ROLES as readonly string[]).includes(role)) {
    throw new UsageError(
      `--role: unknown role '${role.slice(0, 32)}' (roles: ${ROLES.join(', ')})`,
    );
  }
  if (partition !== undefined && partition.length === 0) {
    throw new UsageError(`--role ${role}@: name the partition after @`);
  }
  return partition === undefined ? { role } : { role, partition };
}

export function approverKeyJson(k: ApproverKey): Record<string, unknown> {
  return {
    fingerprint: k.id,
    principal: k.body.principal,
    algorithm: k.body.algorithm,
    enrolledAt: k.body.enrolledAt,
    revokedAt: k.body.revokedAt,
    state: k.body.revokedAt === null ? 'active' : 'revoked',
  };
}

function printKey(inv: Invocation, k: ApproverKey): void {
  inv.io.stdout(
    `${k.id}\t${k.body.principal}\t${k.body.algorithm}\t${k.body.revokedAt === null ? 'active' : `revoked ${k.body.revokedAt}`}\n`,
  );
}

const ROLES_TEXT = `Roles: device-so (the device's security officers: officers, approver keys, device rules,
partition creation and revocation), pso (a partition's security officers: its policy, trash,
rules, roles and the SO exclusion), auditor (audit export), crypto-officer (key export in a
partition), crypto-user (use of a partition's keys).`;

export const officerAdd: Command = {
  path: ['officer', 'add'],
  summary: 'Enrol an officer (a person with a session passphrase) with roles.',
  positionals: ['NAME'],
  details: `The new officer's passphrase (at least 8 characters) is read from --passphrase-file, or from
standard input with --passphrase-file - (one line); never from the command line. Each --role is
ROLE (on the device) or ROLE@PARTITION. Needs a device security officer's session (--officer,
--officer-passphrase-file).
${ROLES_TEXT}
${APPROVAL_NOTE}`,
  options: {
    role: {
      type: 'string',
      multiple: true,
      value: 'ROLE[@PARTITION]',
      description: 'a role to grant (repeatable)',
    },
    'passphrase-file': {
      type: 'string',
      value: 'FILE|-',
      description: "the new officer's passphrase (- reads standard input) (required)",
    },
    ...AUTHORITY_OPTIONS,
    ...MASTER_OPTIONS,
  },
  async run(inv) {
    const name = inv.positionals[0]!;
    const given = inv.options.role;
    const specs = (Array.isArray(given) ? given : []).map(parseRoleSpec);
    const passphrase = readPassphrase(requiredOption(inv, 'passphrase-file'));
    await asOfficer(inv, (hsm, authority) =>
      hsm.governance.addOfficer({ name, passphrase }, specs, authority),
    );
    const roles = specs.map((s) => ({ role: s.role, partition: s.partition ?? null }));
    if (flag(inv, 'json')) inv.io.stdout(jsonText({ officer: name, roles }));
    else {
      const list = roles.map((r) => (r.partition === null ? r.role : `${r.role}@${r.partition}`));
      inv.io.stdout(
        `officer ${name} enrolled${list.length > 0 ? ` with ${list.join(', ')}` : ''}\n`,
      );
    }
    return EXIT.ok;
  },
};

function roleCommand(change: 'grant' | 'revoke'): Command {
  return {
    path: ['officer', change],
    summary:
      change === 'grant'
        ? 'Grant a role to a principal, on the device or a partition.'
        : 'Revoke a role from a principal (refused if a rule could then not be met).',
    positionals: ['PRINCIPAL', 'ROLE'],
    details: `Device roles are granted by a device security officer; partition roles (--partition) by a
partition security officer (pso) or a device security officer.
${ROLES_TEXT}
${APPROVAL_NOTE}`,
    options: { ...PARTITION_OPTION, ...AUTHORITY_OPTIONS, ...MASTER_OPTIONS },
    async run(inv) {
      const [principal, role] = inv.positionals as [string, string];
      const partition = stringOption(inv, 'partition');
      await asOfficer(inv, (hsm, authority) =>
        change === 'grant'
          ? hsm.governance.grantRole(principal, role, partition, authority)
          : hsm.governance.revokeRole(principal, role, partition, authority),
      );
      if (flag(inv, 'json')) {
        inv.io.stdout(jsonText({ principal, role, partition: partition ?? null, change }));
      } else {
        const where = partition === undefined ? 'the device' : `partition ${partition}`;
        inv.io.stdout(
          `${change === 'grant' ? 'granted' : 'revoked'} ${role} ${change === 'grant' ? 'to' : 'from'} ${principal} on ${where}\n`,
        );
      }
      return EXIT.ok;
    },
  };
}

export const officerGrant = roleCommand('grant');
export const officerRevoke = roleCommand('revoke');

const KEY_TYPES = `Approver keys are ECDSA P-256, Ed25519 or RSA of at least 3072 bits (signing with PSS), e.g.
  openssl ecparam -name prime256v1 -genkey -noout -out key.pem
  openssl genpkey -algorithm ed25519 -out key.pem
  openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:3072 -out key.pem
  openssl pkey -in key.pem -pubout -out pub.pem`;

export const officerKeyChallenge: Command = {
  path: ['officer', 'key-challenge'],
  summary: 'Write the enrolment bytes an approver key must sign (proof of possession).',
  positionals: ['PRINCIPAL'],
  details: `${KEY_TYPES}
The bytes bind this device, the principal and the key's fingerprint. Sign them with the private
key and give the signature to 'attestamp officer enroll-key':
  openssl dgst -sha256 -sign key.pem -out proof.sig challenge.bin              (P-256)
  openssl pkeyutl -sign -rawin -inkey key.pem -in challenge.bin -out proof.sig (Ed25519)
  openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sign key.pem -out proof.sig challenge.bin
                                                                               (RSA-PSS)`,
  options: {
    key: { type: 'string', value: 'PUB.pem', description: 'the public key to enrol (required)' },
    out: { type: 'string', value: 'FILE', description: 'where to write the bytes (required)' },
    ...MASTER_OPTIONS,
  },
  async run(inv) {
    const principal = inv.positionals[0]!;
    const key = readPublicKey(resolve(inv.io.cwd, requiredOption(inv, 'key')));
    const out = resolve(inv.io.cwd, requiredOption(inv, 'out'));
    const bytes = await withHsm(inv, (hsm) =>
      hsm.governance.enrollmentChallenge(principal, key.spki),
    );
    writeFileSync(out, bytes);
    if (flag(inv, 'json')) {
      inv.io.stdout(
        jsonText({ principal, fingerprint: key.fingerprint, out, length: bytes.length }),
      );
    } else {
      inv.io.stdout(
        `enrolment bytes for key ${key.fingerprint} of ${principal} written to ${out}\n` +
          `sign them, e.g.: openssl dgst -sha256 -sign key.pem -out proof.sig ${out}\n`,
      );
    }
    return EXIT.ok;
  },
};

export const officerEnrollKey: Command = {
  path: ['officer', 'enroll-key'],
  summary: "Enrol an approver key for a principal, with the key's proof of possession.",
  positionals: ['PRINCIPAL'],
  details: `--proof is the signature over the bytes 'attestamp officer key-challenge' wrote. Authorised
by the principal's own session (--officer PRINCIPAL) or a device security officer's. Prints the
key's fingerprint (SHA-256 of its SubjectPublicKeyInfo), which names it in approvals.
${KEY_TYPES}
${APPROVAL_NOTE}`,
  options: {
    key: { type: 'string', value: 'PUB.pem', description: 'the public key (required)' },
    proof: {
      type: 'string',
      value: 'SIG',
      description: 'signature over the enrolment bytes (required)',
    },
    ...AUTHORITY_OPTIONS,
    ...MASTER_OPTIONS,
  },
  async run(inv) {
    const principal = inv.positionals[0]!;
    const key = readPublicKey(resolve(inv.io.cwd, requiredOption(inv, 'key')));
    const proof = readInputFile(resolve(inv.io.cwd, requiredOption(inv, 'proof')), 'proof');
    const enrolled = await asOfficer(inv, async (hsm, authority) => {
      const fp = await hsm.governance.enrollApprover(
        principal,
        key.spki,
        new Uint8Array(proof),
        authority,
      );
      return (await hsm.governance.approverKeys(principal)).find((k) => k.id === fp);
    });
    if (enrolled === undefined) throw new Error('the enrolled key is not listed');
    if (flag(inv, 'json')) inv.io.stdout(jsonText(approverKeyJson(enrolled)));
    else
      inv.io.stdout(
        `approver key ${enrolled.id} enrolled for ${principal} (${enrolled.body.algorithm})\n`,
      );
    return EXIT.ok;
  },
};

export const officerRevokeKey: Command = {
  path: ['officer', 'revoke-key'],
  summary: 'Revoke an approver key for good (refused if a rule could then not be met).',
  positionals: ['FINGERPRINT'],
  details: `Authorised by the key holder's own session or a device security officer's. Approvals made
with a revoked key no longer count toward any pending request.
${APPROVAL_NOTE}`,
  options: { ...AUTHORITY_OPTIONS, ...MASTER_OPTIONS },
  async run(inv) {
    const fingerprint = inv.positionals[0]!;
    const key = await asOfficer(inv, async (hsm, authority) => {
      await hsm.governance.revokeApprover(fingerprint, authority);
      return (await hsm.governance.approverKeys()).find((k) => k.id === fingerprint);
    });
    if (key === undefined) {
      throw new HsmError('approver-key-unknown', 'no approver key with that fingerprint');
    }
    if (flag(inv, 'json')) inv.io.stdout(jsonText(approverKeyJson(key)));
    else inv.io.stdout(`approver key ${fingerprint} revoked\n`);
    return EXIT.ok;
  },
};

/** A principal of the role table as `officer list --json` prints it (as the API answers it). */
export interface OfficerJson {
  readonly name: string;
  readonly type: string;
  readonly state: string;
  readonly createdAt: string;
  readonly roles: readonly { readonly role: string; readonly partition: string | null }[];
  readonly approverKeys: number;
}

function officerJson(o: OfficerJson): OfficerJson {
  return {
    name: o.name,
    type: o.type,
    state: o.state,
    createdAt: o.createdAt,
    roles: o.roles.map((r) => ({ role: r.role, partition: r.partition })),
    approverKeys: o.approverKeys,
  };
}

export const officerList: Command = {
  path: ['officer', 'list'],
  summary: 'List the principals of the role table with their roles (of one partition, or all).',
  positionals: [],
  details: `One line a principal: name, type (officer or application), state, its active roles
(ROLE on the device, ROLE@PARTITION in a partition; - for none) and how many usable approver
keys it has. With --partition, only the principals holding a role in that partition, with
their roles there. With --api, the API's principal needs device-so or auditor on the device
(with --partition: pso or auditor of the partition); API principals (tokens, client
certificates) are not listed, their roles are in their credentials.`,
  options: {
    partition: {
      type: 'string',
      value: 'P',
      description: 'only the principals holding a role in this partition',
    },
    ...MASTER_OPTIONS,
    ...REMOTE_OPTIONS,
  },
  async run(inv) {
    const partition = stringOption(inv, 'partition');
    const officers = await withTarget<readonly OfficerJson[]>(
      inv,
      (hsm) => hsm.governance.officers(partition),
      (api) => api.listOfficers(partition),
    );
    if (flag(inv, 'json')) {
      inv.io.stdout(jsonText(officers.map(officerJson)));
      return EXIT.ok;
    }
    for (const o of officers) {
      const roles = o.roles.map((r) =>
        r.partition === null ? r.role : `${r.role}@${r.partition}`,
      );
      inv.io.stdout(
        `${o.name}\t${o.type}\t${o.state}\t${roles.length === 0 ? '-' : roles.join(',')}\t${String(o.approverKeys)} approver key${o.approverKeys === 1 ? '' : 's'}\n`,
      );
    }
    return EXIT.ok;
  },
};

export const officerKeys: Command = {
  path: ['officer', 'keys'],
  summary: 'List approver keys (of one principal, or all).',
  positionals: [],
  optionalPositionals: ['PRINCIPAL'],
  details:
    'Give PRINCIPAL to list only its keys. One line a key: fingerprint, principal, algorithm, state.',
  options: { ...MASTER_OPTIONS },
  async run(inv) {
    const principal = inv.positionals[0];
    const keys = await withHsm(inv, (hsm) => hsm.governance.approverKeys(principal));
    if (flag(inv, 'json')) inv.io.stdout(jsonText(keys.map(approverKeyJson)));
    else for (const k of keys) printKey(inv, k);
    return EXIT.ok;
  },
};

// ------------------------------------------------------------------ quorum rules

function checkClass(name: string): string {
  if (!(OPERATION_CLASSES as readonly string[]).includes(name)) {
    throw new UsageError(
      `unknown operation class '${name.slice(0, 32)}' (classes: ${OPERATION_CLASSES.join(', ')})`,
    );
  }
  return name;
}

interface RuleShape {
  readonly alternatives: readonly {
    readonly groups: readonly { name: string; members: readonly string[]; threshold: number }[];
    readonly timeLockSeconds: number;
  }[];
  readonly timeoutSeconds: number;
  readonly requesterCounts: boolean;
}

function duration(seconds: number): string {
  if (seconds % 86400 === 0) return `${String(seconds / 86400)} d`;
  if (seconds % 3600 === 0) return `${String(seconds / 3600)} h`;
  if (seconds % 60 === 0) return `${String(seconds / 60)} min`;
  return `${String(seconds)} s`;
}

/** A rule in words, one line an alternative. */
export function describeRule(value: unknown, indent: string): string[] {
  if (value === null || typeof value !== 'object')
    return [`${indent}no rule: one authorised officer's session suffices`];
  const rule = value as RuleShape;
  const lines = rule.alternatives.map((a, i) => {
    const groups = a.groups
      .map((g) => `${String(g.threshold)} of ${g.members.join(', ')} (${g.name})`)
      .join(' and ');
    const lock = a.timeLockSeconds > 0 ? `, after a ${duration(a.timeLockSeconds)} time lock` : '';
    return `${indent}${rule.alternatives.length > 1 ? `either ${String(i + 1)}: ` : ''}${groups}${lock}`;
  });
  lines.push(
    `${indent}requests expire after ${duration(rule.timeoutSeconds)}; the requester's own approval ${rule.requesterCounts ? 'counts' : 'does not count'}`,
  );
  return lines;
}

function ruleJson(
  operation: string,
  r: { version: number; rule: unknown; digest: string },
  stored?: StoredRule,
): Record<string, unknown> {
  return {
    operation,
    version: r.version,
    digest: r.digest,
    rule: r.rule ?? null,
    setAt: stored?.setAt ?? null,
  };
}

export const quorumShow: Command = {
  path: ['quorum', 'show'],
  summary: 'Show the quorum rules of the device or a partition (all classes, or one).',
  positionals: [],
  optionalPositionals: ['OPERATION'],
  details: `Give OPERATION to show one class. Classes: ${OPERATION_CLASSES.join(', ')}.
A class without a rule needs one authorised officer's session; with a rule, every change of the
class becomes an approval request that the rule's approvers sign.`,
  options: { ...PARTITION_OPTION, ...MASTER_OPTIONS },
  async run(inv) {
    const only = inv.positionals[0];
    const classes = only === undefined ? [...OPERATION_CLASSES] : [checkClass(only)];
    const partition = stringOption(inv, 'partition');
    const rules = await withHsm(inv, async (hsm) => {
      const stored = await hsm.governance.rules(partition);
      const out: Record<string, unknown>[] = [];
      for (const c of classes) {
        const r = await hsm.governance.rule(partition, c);
        out.push(
          ruleJson(
            c,
            r,
            stored.find((s) => s.operation === c),
          ),
        );
      }
      return out;
    });
    if (flag(inv, 'json')) {
      inv.io.stdout(jsonText({ partition: partition ?? null, rules }));
      return EXIT.ok;
    }
    inv.io.stdout(
      `quorum rules of ${partition === undefined ? 'the device' : `partition ${partition}`}\n`,
    );
    for (const r of rules) {
      const v = Number(r.version);
      inv.io.stdout(`  ${String(r.operation)}${v > 0 ? ` (version ${String(v)})` : ''}\n`);
      for (const line of describeRule(r.rule, '    ')) inv.io.stdout(`${line}\n`);
    }
    return EXIT.ok;
  },
};

export const quorumSet: Command = {
  path: ['quorum', 'set'],
  summary: 'Set or clear the quorum rule of an operation class.',
  positionals: ['OPERATION'],
  details: `--rule FILE.json holds the rule: any one of its alternatives suffices; every group of an
alternative must be met by distinct principals (threshold of members); a reject by a member
vetoes; an alternative may carry a time lock (seconds after the request), the rule a timeout:
  {"alternatives": [{"groups": [{"name": "officers", "members": ["alice", "bob", "carol"],
    "threshold": 2}]}], "timeoutSeconds": 86400}
Add "timeLockSeconds": 86400 to an alternative for "after 24 h", and "requesterCounts": true to
let a requester's own approval count. --clear removes the rule (one officer suffices again).
A rule is refused when no principal with an approver key could meet it. The change is guarded by
the quorum.change rule and by the rule it replaces.
Classes: ${OPERATION_CLASSES.join(', ')}.
${APPROVAL_NOTE}`,
  options: {
    rule: { type: 'string', value: 'FILE.json', description: 'the rule to set' },
    clear: { type: 'boolean', description: 'remove the rule' },
    ...PARTITION_OPTION,
    ...AUTHORITY_OPTIONS,
    ...MASTER_OPTIONS,
  },
  async run(inv) {
    const operation = checkClass(inv.positionals[0]!);
    const file = stringOption(inv, 'rule');
    const clear = flag(inv, 'clear');
    if ((file === undefined) === !clear) throw new UsageError('give --rule FILE.json or --clear');
    let rule: unknown = null;
    if (file !== undefined) {
      const text = readInputFile(resolve(inv.io.cwd, file), 'rule').toString('utf8');
      try {
        rule = JSON.parse(text) as unknown;
      } catch {
        throw new InputError(`the rule file '${file}' is not JSON`);
      }
    }
    const partition = stringOption(inv, 'partition');
    const body = await asOfficer(inv, (hsm, authority) =>
      hsm.governance.setRule(partition, operation, rule, authority),
    );
    if (flag(inv, 'json')) {
      inv.io.stdout(
        jsonText({
          partition: partition ?? null,
          operation: body.operation,
          version: body.version,
          digest: body.digest,
          rule: body.rule,
          setAt: body.setAt,
        }),
      );
    } else {
      inv.io.stdout(
        `${body.rule === null ? 'cleared' : 'set'} the rule for ${operation} (version ${String(body.version)})\n`,
      );
      for (const line of describeRule(body.rule, '  ')) inv.io.stdout(`${line}\n`);
    }
    return EXIT.ok;
  },
};

// ------------------------------------------------------------------ SO exclusion

function soCommand(excluded: boolean): Command {
  return {
    path: ['partition', excluded ? 'exclude-so' : 'include-so'],
    summary: excluded
      ? "Exclude the device security officer from a partition (a PSO's decision)."
      : 'Let the device security officer act in a partition again.',
    positionals: ['PARTITION'],
    details: `Needs a partition security officer (pso) of the partition: --officer NAME
--officer-passphrase-file FILE. While excluded, a device security officer cannot change the
partition's policy, trash, keys, roles or rules, nor approve its requests (revoking the partition
stays possible). Trade-off: if every PSO credential of an excluded partition is lost, nobody can
administer the partition any more: it is lost. Guarded by the so.exclusion rule.
${APPROVAL_NOTE}`,
    options: { ...AUTHORITY_OPTIONS, ...MASTER_OPTIONS },
    async run(inv) {
      const partition = inv.positionals[0]!;
      const state = await asOfficer(inv, async (hsm, authority) => {
        await hsm.governance.setSoExclusion(partition, excluded, authority);
        return hsm.governance.soExcluded(partition);
      });
      if (flag(inv, 'json')) inv.io.stdout(jsonText({ partition, soExcluded: state }));
      else
        inv.io.stdout(
          `the device security officer is ${state ? 'excluded from' : 'included in'} partition ${partition}\n`,
        );
      return EXIT.ok;
    },
  };
}

export const partitionExcludeSo = soCommand(true);
export const partitionIncludeSo = soCommand(false);

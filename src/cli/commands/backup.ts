// Backup commands (README "Backup and migration"): backup domains (create, list, the three
// enrolment steps), partition backup and restore, and inspecting a bundle offline.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { inspectBackup, type Report } from '../../attestation/index.js';
import type { BackupDomainInfo, BackupTarget, ManifestRecipient } from '../../hsm/index.js';
import { decodePemAll, derOrPem } from '../../pki/index.js';
import { fromBase64 } from '../../shared/index.js';
import { flag, requiredOption, stringOption, type Command, type Invocation } from '../command.js';
import { readInputFile, withHsm } from '../context.js';
import { EXIT, InputError, UsageError } from '../exit-codes.js';
import { jsonText } from '../output.js';
import { MASTER_OPTIONS } from './partition.js';

const OUT = {
  out: { type: 'string', value: 'FILE', description: 'where to write it (mode 0600)' },
} as const;

/** A path the user gave, relative to the invocation's working folder. */
const at = (inv: Invocation, path: string): string => resolve(inv.io.cwd, path);

function domainJson(d: BackupDomainInfo): Record<string, unknown> {
  return { ...d, createdAt: d.createdAt.toISOString() };
}

export const domainCreate: Command = {
  path: ['domain', 'create'],
  summary: 'Create a backup domain whose key exists only inside this device (domain.change).',
  positionals: ['NAME'],
  options: { ...MASTER_OPTIONS },
  async run(inv) {
    const d = await withHsm(inv, (hsm) => hsm.createBackupDomain(inv.positionals[0]!));
    inv.io.stdout(flag(inv, 'json') ? jsonText(domainJson(d)) : `domain ${d.name} (${d.id})\n`);
    return EXIT.ok;
  },
};

export const domainList: Command = {
  path: ['domain', 'list'],
  summary: 'List the backup domains of this device (never their keys).',
  positionals: [],
  options: { ...MASTER_OPTIONS },
  async run(inv) {
    const all = await withHsm(inv, (hsm) => hsm.backupDomains());
    if (flag(inv, 'json')) inv.io.stdout(jsonText(all.map(domainJson)));
    else for (const d of all) inv.io.stdout(`${d.name}\t${d.id}\t${d.state}\t${d.origin}\n`);
    return EXIT.ok;
  },
};

export const domainJoinRequest: Command = {
  path: ['domain', 'join-request'],
  summary: 'Step 1 on the joining device: a signed request to join the backup domain NAME.',
  positionals: ['NAME'],
  options: { ...OUT, ...MASTER_OPTIONS },
  async run(inv) {
    const out = requiredOption(inv, 'out');
    const bytes = await withHsm(inv, (hsm) => hsm.backupDomainJoinRequest(inv.positionals[0]!));
    writeFileSync(at(inv, out), bytes, { mode: 0o600 });
    return EXIT.ok;
  },
};

export const domainEnrol: Command = {
  path: ['domain', 'enrol'],
  summary: 'Step 2 on an enrolled device: the domain key for the device that signed REQUEST.',
  positionals: ['NAME', 'REQUEST'],
  options: { ...OUT, ...MASTER_OPTIONS },
  async run(inv) {
    const out = requiredOption(inv, 'out');
    const request = readInputFile(at(inv, inv.positionals[1]!), 'join request');
    const bytes = await withHsm(inv, (hsm) => hsm.enrolDevice(inv.positionals[0]!, request));
    writeFileSync(at(inv, out), bytes, { mode: 0o600 });
    return EXIT.ok;
  },
};

export const domainJoin: Command = {
  path: ['domain', 'join'],
  summary: 'Step 3 on the joining device: take the domain key in from ENROLMENT.',
  positionals: ['ENROLMENT'],
  options: { ...MASTER_OPTIONS },
  async run(inv) {
    const enrolment = readInputFile(at(inv, inv.positionals[0]!), 'enrolment');
    const d = await withHsm(inv, (hsm) => hsm.joinBackupDomain(enrolment));
    inv.io.stdout(flag(inv, 'json') ? jsonText(domainJson(d)) : `domain ${d.name} (${d.id})\n`);
    return EXIT.ok;
  },
};

/** The certificates of a --transport-cert file: PEM CERTIFICATE blocks, transport first. */
function transportChain(inv: Invocation, file: string): Uint8Array[] {
  const text = readInputFile(at(inv, file), 'transport certificate').toString('utf8');
  let chain: Uint8Array[];
  try {
    chain = decodePemAll(text)
      .filter((b) => b.label === 'CERTIFICATE')
      .map((b) => b.der);
  } catch {
    throw new InputError(`--transport-cert: '${file}' is not PEM`);
  }
  if (chain.length < 2) {
    throw new InputError(
      `--transport-cert: '${file}' must hold the transport certificate then its device certificate (PEM), as attestamp device transport-key certificate writes them`,
    );
  }
  return chain;
}

/** The bundle an executed partition.backup request holds (its result), checked by its digest. */
function bundleOfResult(result: unknown): { bundle: Uint8Array; serial: number; digest: string } {
  const r = (result ?? {}) as { bundle?: unknown; serial?: unknown; digest?: unknown };
  const bundle = typeof r.bundle === 'string' ? fromBase64(r.bundle) : undefined;
  const digest = bundle === undefined ? '' : createHash('sha256').update(bundle).digest('hex');
  if (bundle === undefined || digest !== r.digest || typeof r.serial !== 'number') {
    throw new Error('the executed request holds no bundle');
  }
  return { bundle, serial: r.serial, digest };
}

export const partitionBackup: Command = {
  path: ['partition', 'backup'],
  summary:
    'Write the backup bundle of a partition for a backup domain or a transport key (partition.backup).',
  positionals: ['NAME'],
  details: `Give exactly one of --domain (every device enrolled in the domain can restore it) and
--transport-cert (only the device holding that transport key can: the file is the PEM chain
attestamp device transport-key certificate wrote on the target, checked here against this
device's factory root). Under a partition.backup quorum rule this makes an approval request
(exit 7); once approved, run attestamp partition backup NAME --request ID --out FILE to carry it
out and write the bundle (or, after attestamp approvals execute ID, to write the bundle it made).`,
  options: {
    domain: { type: 'string', value: 'DOMAIN', description: 'the backup domain (name or id)' },
    'transport-cert': {
      type: 'string',
      value: 'FILE',
      description: "the target device's transport certificate chain (PEM)",
    },
    request: {
      type: 'string',
      value: 'ID',
      description:
        'carry out this approved backup request instead (no --domain or --transport-cert)',
    },
    ...OUT,
    ...MASTER_OPTIONS,
  },
  async run(inv) {
    const name = inv.positionals[0]!;
    const out = requiredOption(inv, 'out');
    const domain = stringOption(inv, 'domain');
    const certFile = stringOption(inv, 'transport-cert');
    const request = stringOption(inv, 'request');
    if (request !== undefined && (domain !== undefined || certFile !== undefined)) {
      throw new UsageError(
        '--request backs up what its statement names: no --domain or --transport-cert',
      );
    }
    if (request === undefined && (domain === undefined) === (certFile === undefined)) {
      throw new UsageError(
        domain === undefined
          ? 'missing --domain or --transport-cert (give exactly one)'
          : '--domain and --transport-cert exclude each other (give exactly one)',
      );
    }
    const target: BackupTarget | undefined =
      domain !== undefined
        ? { domain }
        : certFile !== undefined
          ? { transportCertificate: transportChain(inv, certFile) }
          : undefined;
    const r = await withHsm(inv, async (hsm) => {
      if (target !== undefined) return hsm.backupPartition(name, target);
      const view = await hsm.governance.showRequest(request!);
      const s = view.body.statement;
      const partitionId = (await hsm.partition(name)).id;
      if (s.operation !== 'partition.backup' || s.params['partition'] !== partitionId) {
        throw new UsageError(`--request: ${request!} is not a request to back up ${name}`);
      }
      const done = view.body.state === 'executed' ? view : await hsm.executeRequest(request!);
      return bundleOfResult(done.body.result);
    });
    writeFileSync(at(inv, out), r.bundle, { mode: 0o600 });
    const facts = {
      serial: r.serial,
      sha256: r.digest,
      ...('manifest' in r
        ? { keys: r.manifest.keys.length, recipient: recipientJson(r.manifest.recipients[0]) }
        : {}),
      ...(request === undefined ? {} : { request }),
    };
    inv.io.stdout(
      flag(inv, 'json')
        ? jsonText(facts)
        : `backup serial ${r.serial}${'keys' in facts ? `, ${facts.keys} keys` : ''}, SHA-256 ${r.digest}\n`,
    );
    return EXIT.ok;
  },
};

/** Who can open the bundle, as --json prints it (schemas/cli/partition-backup.schema.json). */
function recipientJson(r: ManifestRecipient | undefined): Record<string, unknown> | undefined {
  if (r === undefined) return undefined;
  return r.kind === 'backup-domain'
    ? { kind: r.kind, domain: r.domain, name: r.name }
    : { kind: r.kind, device: r.device, algorithm: r.algorithm, certificateSha256: r.certificate };
}

export const partitionRestore: Command = {
  path: ['partition', 'restore'],
  summary: 'Restore a backup bundle as a new partition, or over the partition of that name.',
  positionals: ['FILE'],
  options: {
    name: { type: 'string', value: 'NAME', description: "partition name (default: the source's)" },
    'allow-rollback': {
      type: 'boolean',
      description: 'restoring over the partition may go back to an older serial',
    },
    'destroy-newer': {
      type: 'boolean',
      description: 'restoring over the partition may destroy the keys made after the backup',
    },
    ...MASTER_OPTIONS,
  },
  async run(inv) {
    const bundle = readInputFile(at(inv, inv.positionals[0]!), 'backup bundle');
    const name = stringOption(inv, 'name');
    const r = await withHsm(inv, (hsm) =>
      hsm.restorePartition(bundle, {
        ...(name === undefined ? {} : { name }),
        allowRollback: flag(inv, 'allow-rollback'),
        destroyNewer: flag(inv, 'destroy-newer'),
      }),
    );
    const facts = {
      partition: r.partition.name,
      id: r.partition.id,
      serial: r.serial,
      keys: r.keys,
      replaced: r.replaced,
      notCarried: r.skippedGovernance,
    };
    inv.io.stdout(
      flag(inv, 'json')
        ? jsonText(facts)
        : `restored ${facts.keys} keys to ${facts.partition} (serial ${facts.serial}${r.replaced ? ', replaced' : ''})\n` +
            (facts.notCarried.length > 0
              ? `not carried over: ${facts.notCarried.join(' ')}\n`
              : ''),
    );
    return EXIT.ok;
  },
};

function printReport(inv: Invocation, report: Report): void {
  if (flag(inv, 'json')) {
    inv.io.stdout(jsonText(report));
    return;
  }
  for (const c of report.checks) inv.io.stdout(`${c.status}\t${c.id}\t${c.detail}\n`);
  inv.io.stdout(`${report.outcome}\n`);
  inv.io.stdout(`${JSON.stringify(report.claims['manifest'], null, 2)}\n`);
}

export const backupInspect: Command = {
  path: ['backup', 'inspect'],
  summary: 'Verify a backup bundle and print its manifest, without opening the content.',
  positionals: ['FILE'],
  details: `Without --anchor, the chain is checked against this device's factory root.`,
  options: {
    anchor: { type: 'string', value: 'FILE', description: 'the trusted root (PEM or DER)' },
    ...MASTER_OPTIONS,
  },
  async run(inv) {
    const bundle = readInputFile(at(inv, inv.positionals[0]!), 'backup bundle');
    const anchorFile = stringOption(inv, 'anchor');
    const root =
      anchorFile === undefined
        ? await withHsm(inv, async (hsm) => (await hsm.device()).rootCertificate)
        : derOrPem(readInputFile(at(inv, anchorFile), 'anchor'), 'CERTIFICATE');
    const report = await inspectBackup(bundle, { anchors: { certificates: [root] } });
    printReport(inv, report);
    // A bundle that does not verify is an integrity failure of the input.
    return report.exitCode === 0 ? EXIT.ok : EXIT.integrity;
  },
};

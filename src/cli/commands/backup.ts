// Backup commands (README "Backup and migration"): backup domains (create, list, the three
// enrolment steps), partition backup and restore, and inspecting a bundle offline.
import { resolve } from 'node:path';
import { inspectBackup, type Report } from '../../attestation/index.js';
import {
  openCustodianShare,
  type BackupDomainInfo,
  type BackupTarget,
  type ManifestRecipient,
} from '../../hsm/index.js';
import { decodePemAll, derOrPem, encodeCustodianShare } from '../../pki/index.js';
import { flag, requiredOption, stringOption, type Command, type Invocation } from '../command.js';
import { readInputFile, withHsm, writePrivateFile } from '../context.js';
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
    writePrivateFile(at(inv, out), bytes);
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
    writePrivateFile(at(inv, out), bytes);
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

/** The values of a repeatable option (none: an empty list). */
function manyOption(inv: Invocation, name: string): string[] {
  const v = inv.options[name];
  if (v === undefined) return [];
  const all = Array.isArray(v) ? v : [v];
  if (all.some((x) => typeof x !== 'string' || x.length === 0)) {
    throw new UsageError(`--${name} needs a value`);
  }
  return all as string[];
}

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

export const partitionBackup: Command = {
  path: ['partition', 'backup'],
  summary:
    'Write the backup bundle of a partition for a backup domain, a transport key or custodians (partition.backup).',
  positionals: ['NAME'],
  details: `Give exactly one target: --domain (every device enrolled in the domain can restore it),
--transport-cert (only the device holding that transport key can: the file is the PEM chain
attestamp device transport-key certificate wrote on the target, checked here against this
device's factory root), or --custodian (repeated, one certificate each) with --threshold T (the
bundle's content key is split T-of-N, each share encrypted to one custodian's EC P-256
certificate with keyUsage keyAgreement; T custodians together can restore it with attestamp
backup open-share, then partition restore --share; such a bundle carries the user keys only,
every one exportable, else it is refused naming each key that is not). Under a partition.backup
quorum rule this makes an approval request (exit 7); once approved, run attestamp partition
backup NAME --request ID --out FILE to carry it out and write the bundle (or, after attestamp
approvals execute ID, to write the bundle it made; the download is audited).`,
  options: {
    domain: { type: 'string', value: 'DOMAIN', description: 'the backup domain (name or id)' },
    'transport-cert': {
      type: 'string',
      value: 'FILE',
      description: "the target device's transport certificate chain (PEM)",
    },
    custodian: {
      type: 'string',
      multiple: true,
      value: 'CERT',
      description: "a custodian's X.509 certificate, PEM or DER (repeatable, 2 to 16)",
    },
    threshold: {
      type: 'string',
      value: 'T',
      description: 'how many custodians together can open the bundle (with --custodian)',
    },
    request: {
      type: 'string',
      value: 'ID',
      description: 'carry out this approved backup request instead (no target option)',
    },
    ...OUT,
    ...MASTER_OPTIONS,
  },
  async run(inv) {
    const name = inv.positionals[0]!;
    const out = requiredOption(inv, 'out');
    const domain = stringOption(inv, 'domain');
    const certFile = stringOption(inv, 'transport-cert');
    const custodians = manyOption(inv, 'custodian');
    const thresholdText = stringOption(inv, 'threshold');
    const request = stringOption(inv, 'request');
    const targets = [domain !== undefined, certFile !== undefined, custodians.length > 0].filter(
      Boolean,
    ).length;
    if (request !== undefined && targets > 0) {
      throw new UsageError(
        '--request backs up what its statement names: no --domain, --transport-cert or --custodian',
      );
    }
    if (request === undefined && targets !== 1) {
      throw new UsageError(
        targets === 0
          ? 'missing --domain, --transport-cert or --custodian (give exactly one target)'
          : '--domain, --transport-cert and --custodian exclude each other (give exactly one)',
      );
    }
    if (custodians.length > 0) {
      if (thresholdText === undefined || !/^[0-9]{1,2}$/.test(thresholdText)) {
        throw new UsageError('--custodian needs --threshold T (a number from 2 to 16)');
      }
    } else if (thresholdText !== undefined) {
      throw new UsageError('--threshold goes with --custodian');
    }
    const target: BackupTarget | undefined =
      domain !== undefined
        ? { domain }
        : certFile !== undefined
          ? { transportCertificate: transportChain(inv, certFile) }
          : custodians.length > 0
            ? {
                custodians: {
                  threshold: Number(thresholdText),
                  certificates: custodians.map((c) =>
                    derOrPem(readInputFile(at(inv, c), 'custodian certificate'), 'CERTIFICATE'),
                  ),
                },
              }
            : undefined;
    const r = await withHsm(inv, async (hsm) => {
      if (target !== undefined) return hsm.backupPartition(name, target);
      const view = await hsm.governance.showRequest(request!);
      const s = view.body.statement;
      const partitionId = (await hsm.partition(name)).id;
      if (s.operation !== 'partition.backup' || s.params['partition'] !== partitionId) {
        throw new UsageError(`--request: ${request!} is not a request to back up ${name}`);
      }
      if (view.body.state !== 'executed') await hsm.executeRequest(request!);
      // The bundle the executed request holds, handed out by the audited download.
      return hsm.backupDownload(request!);
    });
    writePrivateFile(at(inv, out), r.bundle);
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
  if (r.kind === 'backup-domain') return { kind: r.kind, domain: r.domain, name: r.name };
  if (r.kind === 'custodians') {
    return {
      kind: r.kind,
      threshold: r.threshold,
      custodians: r.custodians.map((c) => ({
        certificateSha256: c.certificate,
        subject: c.subject,
      })),
    };
  }
  return {
    kind: r.kind,
    device: r.device,
    algorithm: r.algorithm,
    certificateSha256: r.certificate,
  };
}

export const partitionRestore: Command = {
  path: ['partition', 'restore'],
  summary: 'Restore a backup bundle as a new partition, or over the partition of that name.',
  positionals: ['FILE'],
  details: `A custodian bundle is restored from its custodians' share files (--share, at least the threshold of them), always as a new partition with new partition keys.`,
  options: {
    share: {
      type: 'string',
      multiple: true,
      value: 'SHARE',
      description: "a custodian's share file, from backup open-share (repeatable)",
    },
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
    const shares = manyOption(inv, 'share').map((f) => readInputFile(at(inv, f), 'share'));
    const r = await withHsm(inv, (hsm) =>
      hsm.restorePartition(bundle, {
        ...(name === undefined ? {} : { name }),
        ...(shares.length === 0 ? {} : { shares }),
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

export const backupOpenShare: Command = {
  path: ['backup', 'open-share'],
  summary: 'A custodian opens its share of a custodian bundle with its own private key.',
  positionals: ['FILE'],
  details: `Runs without a device: the bundle's structure and signature are checked, the share for --key is unwrapped and written to --out (mode 0600) for partition restore --share. The share is a secret: keep it as the key is kept.`,
  options: {
    key: {
      type: 'string',
      value: 'KEY.pem',
      description: "the custodian's EC P-256 private key (PEM PKCS#8 or SEC 1, or DER PKCS#8)",
    },
    out: { type: 'string', value: 'SHARE', description: 'where to write the share (mode 0600)' },
  },
  async run(inv) {
    const out = requiredOption(inv, 'out');
    const keyFile = requiredOption(inv, 'key');
    const bundle = readInputFile(at(inv, inv.positionals[0]!), 'backup bundle');
    const keyBytes = readInputFile(at(inv, keyFile), 'custodian key');
    let share;
    try {
      share = await openCustodianShare(bundle, keyBytes);
    } finally {
      keyBytes.fill(0);
    }
    const bytes = encodeCustodianShare(share);
    try {
      writePrivateFile(at(inv, out), bytes);
    } finally {
      share.share.fill(0);
      bytes.fill(0);
    }
    const facts = { index: share.index, threshold: share.threshold };
    inv.io.stdout(
      flag(inv, 'json')
        ? jsonText(facts)
        : `share ${share.index} of a ${share.threshold}-of-N bundle written\n`,
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

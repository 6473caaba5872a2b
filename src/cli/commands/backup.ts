// Backup commands (README "Backup and migration"): backup domains (create, list, the three
// enrolment steps), partition backup and restore, and inspecting a bundle offline.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { inspectBackup, type Report } from '../../attestation/index.js';
import { openCustodianShare, type BackupDomainInfo, type Hsm } from '../../hsm/index.js';
import { derOrPem, encodeCustodianShare } from '../../pki/index.js';
import { flag, requiredOption, stringOption, type Command, type Invocation } from '../command.js';
import { readInputFile, withHsm } from '../context.js';
import { EXIT, UsageError } from '../exit-codes.js';
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

export const partitionBackup: Command = {
  path: ['partition', 'backup'],
  summary:
    'Write the backup bundle of a partition for a backup domain or for custodians (partition.backup).',
  positionals: ['NAME'],
  details: `With --custodian (repeated, one certificate each) and --threshold T, the bundle's content key is split T-of-N: each share is encrypted to one custodian's EC P-256 certificate (keyUsage keyAgreement), and T custodians together can restore it (attestamp backup open-share, then partition restore --share). Such a bundle carries the user keys only, every one exportable (else it is refused naming each key that is not); the partition's own keys stay on the device.`,
  options: {
    domain: { type: 'string', value: 'DOMAIN', description: 'the backup domain (name or id)' },
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
    ...OUT,
    ...MASTER_OPTIONS,
  },
  async run(inv) {
    const out = requiredOption(inv, 'out');
    const custodians = manyOption(inv, 'custodian');
    const thresholdText = stringOption(inv, 'threshold');
    let target: Parameters<Hsm['backupPartition']>[1];
    if (custodians.length > 0) {
      if (stringOption(inv, 'domain') !== undefined) {
        throw new UsageError('--domain and --custodian are two targets: give one');
      }
      if (thresholdText === undefined || !/^[0-9]{1,2}$/.test(thresholdText)) {
        throw new UsageError('--custodian needs --threshold T (a number from 2 to 16)');
      }
      target = {
        custodians: {
          threshold: Number(thresholdText),
          certificates: custodians.map((c) =>
            derOrPem(readInputFile(at(inv, c), 'custodian certificate'), 'CERTIFICATE'),
          ),
        },
      };
    } else {
      if (thresholdText !== undefined) throw new UsageError('--threshold goes with --custodian');
      target = { domain: requiredOption(inv, 'domain') };
    }
    const r = await withHsm(inv, (hsm) => hsm.backupPartition(inv.positionals[0]!, target));
    writeFileSync(at(inv, out), r.bundle, { mode: 0o600 });
    const facts = { serial: r.serial, sha256: r.digest, keys: r.manifest.keys.length };
    inv.io.stdout(
      flag(inv, 'json')
        ? jsonText(facts)
        : `backup serial ${r.serial}, ${facts.keys} keys, SHA-256 ${r.digest}\n`,
    );
    return EXIT.ok;
  },
};

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
      writeFileSync(at(inv, out), bytes, { mode: 0o600 });
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

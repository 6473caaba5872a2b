// Migration commands (README "Backup and migration"): on the target, the migration receipt of a
// partition restored from another device's bundle; on the source, checking that receipt and
// taking the partition out of service (or, with --dry-run, only listing what would move).
import { resolve } from 'node:path';
import type { MigrationResult } from '../../hsm/index.js';
import { flag, requiredOption, stringOption, type Command, type Invocation } from '../command.js';
import { readInputFile, withHsm, writePrivateFile } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { jsonText } from '../output.js';
import { MASTER_OPTIONS } from './partition.js';

/** A path the user gave, relative to the invocation's working folder. */
const at = (inv: Invocation, path: string): string => resolve(inv.io.cwd, path);

export const partitionMigrateReceipt: Command = {
  path: ['partition', 'migrate', 'receipt'],
  summary:
    'On the target: write the migration receipt of a partition restored from another device.',
  positionals: ['NAME'],
  details: `The receipt is a CMS SignedData (DER) by the partition's attestation key, with its chain
(root, device, partition): it names the source device and partition, the backup's serial and
SHA-256, and every key the restore brought (the source's key id, the new id, label, role and
public part). Give it to the source's operator for 'partition migrate complete'. Audited as
partition.migrate.receipt; no quorum rule (it moves nothing).`,
  options: {
    out: { type: 'string', value: 'FILE', description: 'where to write the receipt (DER)' },
    ...MASTER_OPTIONS,
  },
  async run(inv) {
    const out = requiredOption(inv, 'out');
    const r = await withHsm(inv, (hsm) => hsm.migrationReceipt(inv.positionals[0]!));
    writePrivateFile(at(inv, out), r.receipt);
    const s = r.statement;
    const facts = {
      partition: s.target.name,
      sha256: r.digest,
      source: { ...s.source },
      keys: s.keys.length,
    };
    inv.io.stdout(
      flag(inv, 'json')
        ? jsonText(facts)
        : `receipt for ${facts.keys} keys from ${s.source.device}/${s.source.partition} (serial ${s.source.serial}), SHA-256 ${r.digest}\n`,
    );
    return EXIT.ok;
  },
};

function resultJson(r: MigrationResult): Record<string, unknown> {
  return {
    dryRun: r.dryRun,
    partition: r.partition.name,
    target: { ...r.target },
    serial: r.serial,
    receipt: r.receipt,
    migratedTo: r.partition.migratedTo ?? null,
    moving: r.moving.map((k) => ({ ...k })),
    refused: r.refused.map((k) => ({ ...k })),
  };
}

export const partitionMigrateComplete: Command = {
  path: ['partition', 'migrate', 'complete'],
  summary:
    "On the source: check the target's receipt, then take the partition out of service for good.",
  positionals: ['NAME'],
  details: `The receipt must verify against this device's factory root, be signed by the
partition the restore made on the target, and name a backup of NAME made for that device's
transport key (its SHA-256 in this device's audit log). Every key NAME holds must be in the
receipt with the same public part: keys made after the backup are refused by name (exit 2).
Then, under the partition's partition.suspend rule: NAME becomes read-only for good, every key
goes to the trash marked migratedTo (no use, no restore: partition-migrated), and its
certificates are revoked (superseded) for the next device CRL. --dry-run makes every check and
lists what would move and what is refused, and writes nothing. --bundle gives the backup bundle
too: its manifest then says exactly which keys the backup held.`,
  options: {
    receipt: { type: 'string', value: 'FILE', description: "the target's migration receipt" },
    bundle: { type: 'string', value: 'FILE', description: 'the backup bundle it acknowledges' },
    'dry-run': {
      type: 'boolean',
      description: 'check and list what would move, write nothing',
    },
    ...MASTER_OPTIONS,
  },
  async run(inv) {
    const receipt = readInputFile(at(inv, requiredOption(inv, 'receipt')), 'migration receipt');
    const bundleFile = stringOption(inv, 'bundle');
    const bundle =
      bundleFile === undefined ? undefined : readInputFile(at(inv, bundleFile), 'backup bundle');
    const dryRun = flag(inv, 'dry-run');
    const r = await withHsm(inv, (hsm) =>
      hsm.completeMigration(inv.positionals[0]!, {
        receipt,
        ...(bundle === undefined ? {} : { bundle }),
        dryRun,
      }),
    );
    if (flag(inv, 'json')) {
      inv.io.stdout(jsonText(resultJson(r)));
    } else {
      const o = inv.io.stdout;
      for (const k of r.moving) o(`moving\t${k.label}\t${k.role}\t${k.algorithm}\n`);
      for (const k of r.refused) o(`refused\t${k.label}\t${k.reason}\n`);
      o(
        r.dryRun
          ? `dry run: ${r.moving.length} keys would move to ${r.target.device}/${r.target.partition}, ${r.refused.length} refused; nothing written\n`
          : `migrated ${r.partition.name} to ${r.target.device}/${r.target.partition} (${r.target.name}): ${r.moving.length} keys in the trash here, partition read-only, certificates revoked\n`,
      );
    }
    // A dry run that finds keys the target lacks says so in its exit code too.
    return r.refused.length > 0 ? EXIT.refused : EXIT.ok;
  },
};

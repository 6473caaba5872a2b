// Store commands: `store migrate` copies the device store (SQLite under --data, or the store of
// --store) into a new, empty PostgreSQL database or SQLite file, and verifies the copy.
import { isAbsolute, resolve } from 'node:path';
import { formatAuditHead, isPostgresUrl } from '../../hsm/index.js';
import { flag, stringOption, type Command } from '../command.js';
import { withHsm } from '../context.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { jsonText } from '../output.js';
import { MASTER_OPTIONS } from './partition.js';

export const storeMigrate: Command = {
  path: ['store', 'migrate'],
  summary: 'Copy the device store into a new PostgreSQL database (or SQLite file) and verify it.',
  positionals: [],
  details: `Copies every row as stored: keys stay sealed under the same master key and are
written sealed. The source's audit log must verify; the copy must verify as extending the
source's head, every device, partition, key and officer row must authenticate in it, and every
sealed key must open (in memory) to its stored public key. The copy's log ends with a store.copy
entry. When a check fails, the destination holds a complete but unverified copy: drop it. The destination must be empty (a fresh database or a new file).
The source is left as it was: stop the servers that use it before copying, and point them at
the copy afterwards (--store URL); two live copies of one device diverge.
Give the URL's password in $PGPASSWORD or a ~/.pgpass file rather than in the URL.`,
  options: {
    to: {
      type: 'string',
      value: 'URL|FILE',
      description: 'destination: postgres://USER@HOST:PORT/DB, or a new SQLite file',
    },
    ...MASTER_OPTIONS,
  },
  async run(inv) {
    const to = stringOption(inv, 'to');
    if (to === undefined || to === '') throw new UsageError('--to URL|FILE is required');
    const location = isPostgresUrl(to) || isAbsolute(to) ? to : resolve(inv.io.cwd, to);
    const result = await withHsm(inv, (hsm) => hsm.copyTo(location));
    const report = {
      to: isPostgresUrl(to) ? 'postgres' : 'sqlite',
      ...result.counts,
      sourceHead: formatAuditHead(result.head),
    };
    if (flag(inv, 'json')) inv.io.stdout(jsonText(report));
    else {
      inv.io.stdout(
        `copied ${report.partitions} partitions, ${report.keys} keys, ${report.officers} officers, ${report.governance} governance objects, ${report.auditEntries} audit entries; the copy verifies and extends ${report.sourceHead}\n`,
      );
    }
    return EXIT.ok;
  },
};

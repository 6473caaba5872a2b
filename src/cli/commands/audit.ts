// Audit commands: verify the hash chain and MACs, export as JSON lines.
import { createWriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { flag, stringOption, type Command } from '../command.js';
import { withHsm } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { jsonText } from '../output.js';
import { MASTER_OPTIONS } from './partition.js';

export const auditVerify: Command = {
  path: ['audit', 'verify'],
  summary: 'Recompute the audit hash chain and MACs; name the first bad entry.',
  positionals: [],
  details: `Exit 0 when every entry checks out, 4 when one does not. Record the printed head hash
elsewhere: a later verification that ends on another head shows a truncated log.`,
  options: { ...MASTER_OPTIONS },
  async run(inv) {
    const v = await withHsm(inv, (hsm) => hsm.verifyAudit());
    if (flag(inv, 'json')) inv.io.stdout(jsonText(v));
    else if (v.ok) inv.io.stdout(`audit log verified: ${v.entries} entries, head ${v.head}\n`);
    else {
      inv.io.stdout(
        `audit log BROKEN at entry ${v.firstBad?.seq ?? '?'}: ${v.firstBad?.reason ?? 'unknown'}\n`,
      );
    }
    return v.ok ? EXIT.ok : EXIT.integrity;
  },
};

export const auditExport: Command = {
  path: ['audit', 'export'],
  summary: 'Write the audit log as JSON lines (to stdout, or to --out).',
  positionals: [],
  options: {
    out: { type: 'string', value: 'FILE', description: 'file to write (default stdout)' },
    ...MASTER_OPTIONS,
  },
  async run(inv) {
    const outPath = stringOption(inv, 'out');
    await withHsm(inv, async (hsm) => {
      if (outPath === undefined) {
        for (const e of hsm.exportAudit()) inv.io.stdout(JSON.stringify(e) + '\n');
        return;
      }
      const stream = createWriteStream(resolve(inv.io.cwd, outPath), { flags: 'wx' });
      for (const e of hsm.exportAudit()) stream.write(JSON.stringify(e) + '\n');
      await new Promise<void>((ok, fail) => {
        stream.on('error', fail);
        stream.end(ok);
      });
    });
    return EXIT.ok;
  },
};

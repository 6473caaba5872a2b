// Audit commands: verify the hash chain and MACs (optionally against a recorded head), print the
// head to record elsewhere, export as JSON lines.
import { createWriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { formatAuditHead, parseAuditHead, type AuditHead } from '../../hsm/index.js';
import { flag, stringOption, type Command, type Invocation } from '../command.js';
import { withHsm } from '../context.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { jsonText } from '../output.js';
import { MASTER_OPTIONS } from './partition.js';

/** The recorded head given with `option`, as SEQ:HASH. */
export function expectedHead(inv: Invocation, option: string): AuditHead | undefined {
  const text = stringOption(inv, option);
  if (text === undefined) return undefined;
  const head = parseAuditHead(text);
  if (head === undefined) {
    throw new UsageError(`--${option} must be SEQ:HASH (as printed by 'attestamp audit head')`);
  }
  return head;
}

export const auditVerify: Command = {
  path: ['audit', 'verify'],
  summary: 'Recompute the audit hash chain and MACs; name the first bad entry.',
  positionals: [],
  details: `Exit 0 when every entry checks out, 4 when one does not. With --expect-head SEQ:HASH
(recorded earlier from 'attestamp audit head'), exit 6 when the log does not pass through that
entry with that hash: an older copy of the store was put back, or the log was cut or replaced.
Without a recorded head, a whole older copy of the store cannot be told from the file alone.`,
  options: {
    'expect-head': {
      type: 'string',
      value: 'SEQ:HASH',
      description: 'a head recorded earlier that this log must extend (exit 6 otherwise)',
    },
    ...MASTER_OPTIONS,
  },
  async run(inv) {
    const expect = expectedHead(inv, 'expect-head');
    const v = await withHsm(inv, (hsm) => hsm.verifyAudit(expect));
    const extended = v.expectedHead?.extended;
    if (flag(inv, 'json')) inv.io.stdout(jsonText(v));
    else if (!v.ok) {
      inv.io.stdout(
        `audit log BROKEN at entry ${v.firstBad?.seq ?? '?'}: ${v.firstBad?.reason ?? 'unknown'}\n`,
      );
    } else if (extended === false && expect !== undefined) {
      inv.io.stdout(
        `audit log verified (${v.entries} entries) but does NOT extend the recorded head ${formatAuditHead(expect)}\n`,
      );
    } else inv.io.stdout(`audit log verified: ${v.entries} entries, head ${v.head}\n`);
    if (!v.ok) return EXIT.integrity;
    return extended === false ? EXIT.rollback : EXIT.ok;
  },
};

export const auditHead: Command = {
  path: ['audit', 'head'],
  summary: "Print the audit log's head (SEQ:HASH) to record outside the store.",
  positionals: [],
  details: `Verifies the log first (exit 4 when it is broken). Keep the printed SEQ:HASH somewhere
the store's writers cannot reach (a ticket, a second machine, a WORM log); give it later to
'audit verify --expect-head' or to 'serve --expect-audit-head' to detect a rollback.`,
  options: { ...MASTER_OPTIONS },
  async run(inv) {
    const head = await withHsm(inv, (hsm) => hsm.auditHead());
    if (flag(inv, 'json')) inv.io.stdout(jsonText({ ...head, head: formatAuditHead(head) }));
    else inv.io.stdout(`${formatAuditHead(head)}\n`);
    return EXIT.ok;
  },
};

export const auditExport: Command = {
  path: ['audit', 'export'],
  summary: 'Write the audit log as JSON lines (to stdout, or to --out).',
  positionals: [],
  details: `Under an audit.export quorum rule the export is an approval request (exit 7, its id
printed); once approved, export with --request ID (once).`,
  options: {
    out: { type: 'string', value: 'FILE', description: 'file to write (default stdout)' },
    request: {
      type: 'string',
      value: 'ID',
      description: 'the approved audit.export request this export carries out',
    },
    ...MASTER_OPTIONS,
  },
  async run(inv) {
    const outPath = stringOption(inv, 'out');
    const request = stringOption(inv, 'request');
    const authority = request === undefined ? undefined : { request };
    await withHsm(inv, async (hsm) => {
      if (outPath === undefined) {
        for await (const e of hsm.exportAudit(authority)) inv.io.stdout(JSON.stringify(e) + '\n');
        return;
      }
      const entries = hsm.exportAudit(authority);
      // The first entry (or a refusal under an audit.export rule) before the file exists.
      const first = await entries.next();
      const stream = createWriteStream(resolve(inv.io.cwd, outPath), { flags: 'wx' });
      if (first.done !== true) stream.write(JSON.stringify(first.value) + '\n');
      for await (const e of entries) stream.write(JSON.stringify(e) + '\n');
      await new Promise<void>((ok, fail) => {
        stream.on('error', fail);
        stream.end(ok);
      });
    });
    return EXIT.ok;
  },
};

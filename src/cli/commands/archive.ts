// Archive commands: verify the issuance archive's hash chain, export it, and find the responses
// an incident affects (by imprint, serial or time range).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex } from '../../shared/index.js';
import { Archive, type ArchiveRow } from '../../tsa/index.js';
import { flag, stringOption, type Command, type Invocation } from '../command.js';
import { dataDir } from '../context.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { jsonText } from '../output.js';
import { ARCHIVE_FILE } from './serve.js';

function openArchive(inv: Invocation): Archive | undefined {
  const path = join(dataDir(inv), ARCHIVE_FILE);
  if (!existsSync(path)) {
    inv.io.stderr(`attestamp tsa archive: no archive at '${path}' (nothing served yet)\n`);
    return undefined;
  }
  return Archive.openReadOnly(path);
}

function verifyArchive(inv: Invocation): number {
  const archive = openArchive(inv);
  if (archive === undefined) return EXIT.notFound;
  try {
    const v = archive.verify();
    if (flag(inv, 'json')) inv.io.stdout(jsonText(v));
    else if (v.ok) inv.io.stdout(`archive verified: ${v.entries} responses, head ${v.head}\n`);
    else
      inv.io.stdout(
        `archive BROKEN at entry ${v.firstBad?.seq ?? '?'}: ${v.firstBad?.reason ?? ''}\n`,
      );
    return v.ok ? EXIT.ok : EXIT.integrity;
  } finally {
    archive.close();
  }
}

function exportArchive(inv: Invocation): number {
  const archive = openArchive(inv);
  if (archive === undefined) return EXIT.notFound;
  try {
    printRows(inv, archive.export());
    return EXIT.ok;
  } finally {
    archive.close();
  }
}

function findInArchive(inv: Invocation): number {
  const imprintText = stringOption(inv, 'imprint');
  const serialText = stringOption(inv, 'serial');
  const from = stringOption(inv, 'from');
  const to = stringOption(inv, 'to');
  const imprint = imprintText === undefined ? undefined : fromHex(imprintText);
  if (imprintText !== undefined && (imprint === undefined || imprint.length === 0)) {
    throw new UsageError('--imprint must be hex digits');
  }
  let serial: bigint | undefined;
  if (serialText !== undefined) {
    if (!/^(\d+|0x[0-9a-fA-F]+)$/.test(serialText))
      throw new UsageError('--serial must be a decimal or 0x-hex number');
    serial = BigInt(serialText);
  }
  for (const [name, v] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (v !== undefined && !TIME_RE.test(v))
      throw new UsageError(`--${name} must be an ISO 8601 UTC time`);
  }
  if (imprint === undefined && serial === undefined && from === undefined && to === undefined) {
    throw new UsageError('give at least one of --imprint, --serial, --from, --to');
  }
  const archive = openArchive(inv);
  if (archive === undefined) return EXIT.notFound;
  try {
    const rows = archive.find({
      ...(imprint === undefined ? {} : { imprint }),
      ...(serial === undefined ? {} : { serial }),
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to: to.length === 10 ? `${to}T23:59:59.999Z` : to }),
    });
    const n = printRows(inv, rows);
    if (!flag(inv, 'json')) inv.io.stderr(`${n} response(s) found\n`);
    return n > 0 ? EXIT.ok : EXIT.notFound;
  } finally {
    archive.close();
  }
}

export const archiveVerify: Command = {
  path: ['tsa', 'archive', 'verify'],
  summary: "Recompute the issuance archive's hash chain; name the first bad entry.",
  positionals: [],
  options: {},
  run: (inv) => Promise.resolve(verifyArchive(inv)),
};

function printRows(inv: Invocation, rows: Iterable<ArchiveRow>): number {
  let n = 0;
  for (const r of rows) {
    inv.io.stdout(JSON.stringify(r) + '\n');
    n++;
  }
  return n;
}

export const archiveExport: Command = {
  path: ['tsa', 'archive', 'export'],
  summary: 'Write every archived response as JSON lines.',
  positionals: [],
  options: {},
  run: (inv) => Promise.resolve(exportArchive(inv)),
};

const TIME_RE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z)?$/;

export const archiveFind: Command = {
  path: ['tsa', 'archive', 'find'],
  summary: 'Find archived responses by imprint, serial or time range (JSON lines).',
  positionals: [],
  details: `Criteria combine with AND. Times are ISO 8601 in UTC (2026-11-27 or
2026-11-27T08:00:00Z) and compare with the time each response was issued or refused.`,
  options: {
    imprint: { type: 'string', value: 'HEX', description: 'the hashed message of the request' },
    serial: {
      type: 'string',
      value: 'N',
      description: 'token serial number (decimal, or hex with 0x)',
    },
    from: { type: 'string', value: 'TIME', description: 'issued at or after' },
    to: { type: 'string', value: 'TIME', description: 'issued at or before' },
  },
  run: (inv) => Promise.resolve(findInArchive(inv)),
};

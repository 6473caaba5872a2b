// Archive commands: verify the issuance archive's hash chain, export it, and find the responses
// an incident affects (by imprint, serial or time range).
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { assertStrictDer, decodePemAll, parseCertificateFields } from '../../pki/index.js';
import { fromHex } from '../../shared/index.js';
import {
  isPostgresUrl,
  openArchive as openIssuanceArchive,
  type ArchiveRow,
  type ArchiveVerification,
  type IssuanceArchive,
} from '../../tsa/index.js';
import { flag, stringOption, type Command, type Invocation } from '../command.js';
import { dataDir, masterKey, openHsm, readInputFile, storeLocation } from '../context.js';
import { CliError, EXIT, InputError, UsageError } from '../exit-codes.js';
import { jsonText } from '../output.js';
import { MASTER_OPTIONS } from './partition.js';
import { ARCHIVE_FILE } from './serve.js';

/** Where the archive is: the SQLite file under --data, or a postgres:// URL. */
/** The archive of --store (PostgreSQL, shared by the nodes), else the SQLite file under --data. */
function archiveTarget(inv: Invocation): string {
  const store = storeLocation(inv);
  return store.kind === 'postgres' ? store.location : join(dataDir(inv), ARCHIVE_FILE);
}

/** Opens the archive read-only: an audit of the archive must not change what it audits. */
async function openArchive(inv: Invocation): Promise<IssuanceArchive> {
  const target = archiveTarget(inv);
  if (isPostgresUrl(target)) return openIssuanceArchive(target, { mode: 'read-only' });
  const path = target;
  if (!existsSync(path)) {
    throw new CliError(
      'archive-not-found',
      EXIT.notFound,
      `no archive at '${path}' (nothing served yet; give --data DIR of the serving device)`,
    );
  }
  return openIssuanceArchive(path, { mode: 'read-only' });
}

/** The keys trusted to sign checkpoints, and where they came from (for the text report). */
interface CheckpointPins {
  readonly keys: readonly Uint8Array[];
  readonly source: string;
}

/** The SubjectPublicKeyInfos in a PEM file of certificates and public keys. */
function keysInFile(path: string): Uint8Array[] {
  const text = readInputFile(path, '--checkpoint-key').toString('utf8');
  const keys: Uint8Array[] = [];
  for (const block of decodePemAll(text)) {
    try {
      if (block.label === 'CERTIFICATE') keys.push(parseCertificateFields(block.der).spki);
      else if (block.label === 'PUBLIC KEY') {
        assertStrictDer(block.der);
        keys.push(block.der);
      }
    } catch {
      throw new InputError(`--checkpoint-key: a ${block.label} in '${path}' is malformed`);
    }
  }
  if (keys.length === 0) {
    throw new InputError(`--checkpoint-key: '${path}' holds no PEM certificate or public key`);
  }
  return keys;
}

/**
 * The checkpoint keys to pin: those of --checkpoint-key, else the timestamp keys of the
 * device's partitions (its TSA units) when the device store opens with the master key; else
 * none (each checkpoint is checked against the key it names, and the report says so).
 */
async function checkpointPins(inv: Invocation): Promise<CheckpointPins | undefined> {
  const given = inv.options['checkpoint-key'];
  const files = Array.isArray(given) ? given : typeof given === 'string' ? [given] : [];
  if (files.length > 0) {
    return { keys: files.flatMap(keysInFile), source: '--checkpoint-key' };
  }
  try {
    masterKey(inv);
  } catch {
    return undefined;
  }
  try {
    const hsm = await openHsm(inv);
    try {
      const partitions = await hsm.listPartitions();
      const keys = partitions.map((p) => parseCertificateFields(p.timestampCertificate).spki);
      return keys.length === 0 ? undefined : { keys, source: "the device's TSA unit keys" };
    } finally {
      await hsm.close();
    }
  } catch (error) {
    inv.io.stderr(
      `checkpoint keys not pinned: the device store did not open (${error instanceof Error ? error.message : 'unknown error'}); give --checkpoint-key FILE\n`,
    );
    return undefined;
  }
}

/** The verdict in one line, and one per chain and for the checkpoints when there are several. */
function verificationText(v: ArchiveVerification, pins?: CheckpointPins): string {
  const bad = v.firstBad;
  let text = v.ok
    ? `archive verified: ${v.entries} responses, head ${v.head}\n`
    : bad?.seq === 0
      ? `archive BROKEN: ${bad.reason}\n`
      : `archive BROKEN at entry ${bad?.seq ?? '?'}${bad?.node === undefined ? '' : ` of node ${bad.node}`}: ${bad?.reason ?? ''}\n`;
  for (const c of v.chains ?? []) {
    text += `  node ${c.node}: ${c.entries} responses, head ${c.headSeq}:${c.head}${c.ok ? '' : ' BROKEN'}\n`;
  }
  const cp = v.checkpoints;
  if (cp !== undefined) {
    const pinned = cp.keysPinned
      ? ` (pinned to ${pins?.source ?? 'the trusted keys'})`
      : ' (not pinned: compare with the TSA certificate, or give --checkpoint-key)';
    text += `  checkpoints: ${cp.verified} of ${cp.count} verified${cp.latest === undefined ? '' : `, latest ${cp.latest.id} by ${cp.latest.node} at ${cp.latest.at}`}${cp.keys.length === 0 ? '' : `; signed by key sha256 ${cp.keys.join(', ')}`}${pinned}\n`;
  }
  const serials = v.serials;
  if (serials !== undefined) {
    text += `  serials: ${serials.checked} checked${serials.ok ? ", unique and inside their nodes' blocks" : ' BROKEN'}\n`;
  }
  return text;
}

async function verifyArchive(inv: Invocation): Promise<number> {
  const postgres = isPostgresUrl(archiveTarget(inv));
  if (!postgres && inv.options['checkpoint-key'] !== undefined) {
    throw new UsageError(
      '--checkpoint-key applies to the PostgreSQL archive (--store URL) only: a SQLite archive has no checkpoints',
    );
  }
  const pins = postgres ? await checkpointPins(inv) : undefined;
  const archive = await openArchive(inv);
  try {
    const v = await archive.verify(pins === undefined ? {} : { checkpointKeys: pins.keys });
    inv.io.stdout(flag(inv, 'json') ? jsonText(v) : verificationText(v, pins));
    return v.ok ? EXIT.ok : EXIT.integrity;
  } finally {
    await archive.close();
  }
}

async function exportArchive(inv: Invocation): Promise<number> {
  const archive = await openArchive(inv);
  try {
    await printRows(inv, archive.export());
    return EXIT.ok;
  } finally {
    await archive.close();
  }
}

async function findInArchive(inv: Invocation): Promise<number> {
  const imprintText = stringOption(inv, 'imprint');
  const from = stringOption(inv, 'from');
  const to = stringOption(inv, 'to');
  const imprint = imprintText === undefined ? undefined : fromHex(imprintText);
  if (imprintText !== undefined && (imprint === undefined || imprint.length === 0)) {
    throw new UsageError('--imprint must be hex digits');
  }
  const serial = serialOption(inv);
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
  const archive = await openArchive(inv);
  try {
    const rows = await archive.find({
      ...(imprint === undefined ? {} : { imprint }),
      ...(serial === undefined ? {} : { serial }),
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to: to.length === 10 ? `${to}T23:59:59.999Z` : to }),
    });
    // --json: one document; without it, JSON lines (as export writes) and a count.
    if (flag(inv, 'json')) inv.io.stdout(jsonText({ responses: rows }));
    else {
      await printRows(inv, rows);
      inv.io.stderr(`${String(rows.length)} response(s) found\n`);
    }
    return rows.length > 0 ? EXIT.ok : EXIT.notFound;
  } finally {
    await archive.close();
  }
}

/** Reads --serial as a bigint (decimal, or hex with 0x). */
function serialOption(inv: Invocation): bigint | undefined {
  const text = stringOption(inv, 'serial');
  if (text === undefined) return undefined;
  if (!/^(\d+|0x[0-9a-fA-F]+)$/.test(text))
    throw new UsageError('--serial must be a decimal or 0x-hex number');
  return BigInt(text);
}

async function getFromArchive(inv: Invocation): Promise<number> {
  const serial = serialOption(inv);
  const imprintText = stringOption(inv, 'imprint');
  const imprint = imprintText === undefined ? undefined : fromHex(imprintText);
  if (imprintText !== undefined && (imprint === undefined || imprint.length === 0)) {
    throw new UsageError('--imprint must be hex digits');
  }
  if ((serial === undefined) === (imprint === undefined)) {
    throw new UsageError('give exactly one of --serial N or --imprint HEX');
  }
  const out = stringOption(inv, 'out');
  if (out === undefined) throw new UsageError('missing --out FILE (the token is binary)');
  const archive = await openArchive(inv);
  try {
    const rows = (
      await archive.find({
        ...(serial === undefined ? {} : { serial }),
        ...(imprint === undefined ? {} : { imprint }),
      })
    ).filter((r) => r.status === 'granted');
    if (rows.length === 0) {
      throw new CliError('token-not-found', EXIT.notFound, 'no granted response matches');
    }
    if (rows.length > 1) {
      throw new UsageError(
        `${String(rows.length)} tokens match this imprint (serials ${rows.map((r) => r.serial ?? '?').join(', ')}); choose one with --serial`,
      );
    }
    const row = rows[0]!;
    const bytes = await archive.response(row);
    if (bytes === 'not-kept' || bytes === undefined) {
      throw new CliError(
        'token-not-kept',
        EXIT.notFound,
        `the archive keeps only the SHA-256 of serial ${row.serial ?? '?'} (serve with --archive-responses full to keep tokens)`,
      );
    }
    if (bytes === 'mismatch') {
      throw new CliError(
        'archive-integrity',
        EXIT.integrity,
        `the kept response of serial ${row.serial ?? '?'} does not match its archived hash (entry ${String(row.seq)})`,
      );
    }
    const path = resolve(inv.io.cwd, out);
    await writeFile(path, bytes);
    if (flag(inv, 'json')) inv.io.stdout(jsonText({ out: path, ...row }));
    else inv.io.stdout(`serial ${row.serial ?? '?'} (${row.genTime ?? '?'}) written to ${path}\n`);
    return EXIT.ok;
  } finally {
    await archive.close();
  }
}

export const archiveGet: Command = {
  path: ['tsa', 'archive', 'get'],
  summary: 'Write an archived token byte for byte (needs --archive-responses full).',
  positionals: [],
  details: `Returns the exact TimeStampResp the TSA sent, checked against the SHA-256 in the
archive's hash chain, so that a lost token can be given back to its owner.`,
  options: {
    serial: { type: 'string', value: 'N', description: 'token serial (decimal, or hex with 0x)' },
    imprint: { type: 'string', value: 'HEX', description: 'the hashed message of the request' },
    out: { type: 'string', value: 'FILE', description: 'where to write the token (required)' },
  },
  run: (inv) => getFromArchive(inv),
};

export const archiveVerify: Command = {
  path: ['tsa', 'archive', 'verify'],
  summary: "Recompute the issuance archive's hash chain; name the first bad entry.",
  positionals: [],
  details: `On a PostgreSQL archive (--store URL) it also checks every node's chain against the
signed checkpoints of the chain heads (each node's checkpoints chained to one another), and that
every serial is unique and inside a block reserved by its node. Checkpoints must be signed by a
pinned key: those given with --checkpoint-key (repeatable), else the timestamp keys of the
device's partitions when the device store opens with the master key; with neither, each
checkpoint is checked against the key it names and the report says the keys are not pinned.`,
  options: {
    'checkpoint-key': {
      type: 'string',
      multiple: true,
      value: 'FILE',
      description: 'PEM certificate or public key trusted to sign checkpoints (repeatable)',
    },
    ...MASTER_OPTIONS,
  },
  run: (inv) => verifyArchive(inv),
};

async function printRows(
  inv: Invocation,
  rows: Iterable<ArchiveRow> | AsyncIterable<ArchiveRow>,
): Promise<number> {
  let n = 0;
  for await (const r of rows) {
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
  run: (inv) => exportArchive(inv),
};

const TIME_RE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z)?$/;

export const archiveFind: Command = {
  path: ['tsa', 'archive', 'find'],
  summary:
    'Find archived responses by imprint, serial or time range (JSON lines; --json: one document).',
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
  run: (inv) => findInArchive(inv),
};

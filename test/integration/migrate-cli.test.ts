// Partition migration through the operator CLI, between two devices of one factory (each its own
// data folder, store and master key): the transport key and the backup for it made through the
// library (their commands are still to come), the restore, `partition migrate receipt` on the
// target, `partition migrate complete --dry-run` and then the completion on the source, each
// --json document checked against its schema in schemas/cli; the refusals' exit codes (a key
// of the migrated partition, a second completion, a flipped byte, a key made after the backup).
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Hsm } from '../../src/hsm/index.js';
import { runMain, type CliResult } from '../helpers/cli.js';
import { schemaOf, validate } from '../helpers/json-schema.js';
import { tempDir } from '../helpers/tmp.js';

const SCHEMAS = resolve(import.meta.dirname, '../../schemas/cli');

let cwd: string;

const on = (data: string, args: readonly string[]) => runMain([...args, '--data', data], { cwd });

async function ok(data: string, args: readonly string[]): Promise<string> {
  const r = await on(data, args);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

interface ReceiptDoc {
  readonly sha256: string;
}

interface CompleteDoc {
  readonly migratedTo: string | null;
  readonly target: { readonly device: string; readonly partition: string };
  readonly moving: readonly { readonly label: string }[];
}

/** The --json document, once valid against its schema (so its fields are what the type says). */
function documentOf(r: CliResult, schema: string): unknown {
  const value: unknown = JSON.parse(r.stdout);
  const errors = validate(
    schemaOf(readFileSync(join(SCHEMAS, `${schema}.schema.json`), 'utf8')),
    value,
  );
  expect(errors, `${schema}: ${r.stdout.slice(0, 400)} ${r.stderr}`).toEqual([]);
  return value;
}

/** The device of a data folder, opened in this process with its master key file. */
async function open(data: string): Promise<Hsm> {
  const key = Buffer.from(readFileSync(join(cwd, data, 'master.key'), 'utf8').trim(), 'hex');
  return Hsm.open(join(cwd, data, 'attestamp.sqlite'), { kind: 'key', key });
}

/** On b a transport key; on a the backup of `partition` for it, written to `file`. */
async function backupFor(partition: string, file: string): Promise<void> {
  const b = await open('b');
  let chain: Uint8Array[];
  try {
    const t = await b.createTransportKey();
    chain = [t.certificate, (await b.deviceCertificateChain())[0]!];
  } finally {
    await b.close();
  }
  const a = await open('a');
  try {
    writeFileSync(
      join(cwd, file),
      (await a.backupPartition(partition, { transportCertificate: chain })).bundle,
    );
  } finally {
    await a.close();
  }
}

describe('partition migration through the CLI', () => {
  beforeAll(async () => {
    cwd = tempDir('migrate-cli');
    await ok('a', ['init']);
    await ok('b', ['init', '--factory', 'a-factory']);
    await ok('a', ['key', 'generate', 'default', '--label', 'k1', '--algorithm', 'ecdsa-p256']);
    await ok('a', ['partition', 'create', 'second']);
    await ok('a', ['key', 'generate', 'second', '--label', 'k2', '--algorithm', 'ed25519']);
    await backupFor('default', 'default.bundle');
    await backupFor('second', 'second.bundle');
    await ok('b', ['partition', 'restore', 'default.bundle', '--name', 'moved']);
    await ok('b', ['partition', 'restore', 'second.bundle', '--name', 'moved2']);
  }, 120_000);

  it('--help of both commands says what they do', async () => {
    const receipt = await on('b', ['partition', 'migrate', 'receipt', '--help']);
    expect(receipt.code).toBe(0);
    expect(receipt.stdout).toMatch(/Usage: attestamp partition migrate receipt NAME/);
    expect(receipt.stdout).toMatch(/--out FILE/);
    const complete = await on('a', ['partition', 'migrate', 'complete', '--help']);
    expect(complete.code).toBe(0);
    expect(complete.stdout).toMatch(/--dry-run/);
    expect(complete.stdout).toMatch(/--receipt FILE/);
  });

  it('receipt on the target, dry run then completion on the source', async () => {
    const r = await on('b', [
      'partition',
      'migrate',
      'receipt',
      'moved',
      '--out',
      'r.der',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const receipt = documentOf(r, 'partition-migrate-receipt') as ReceiptDoc;
    expect(receipt).toMatchObject({ partition: 'moved', keys: 3, source: { serial: 1 } });
    const head = await ok('a', ['audit', 'head', '--json']);
    const dry = await on('a', [
      'partition',
      'migrate',
      'complete',
      'default',
      '--receipt',
      'r.der',
      '--dry-run',
      '--json',
    ]);
    expect(dry.code, dry.stderr).toBe(0);
    const plan = documentOf(dry, 'partition-migrate-complete') as CompleteDoc;
    expect(plan).toMatchObject({ dryRun: true, migratedTo: null, refused: [] });
    expect(plan.moving.map((k) => k.label)).toContain('k1');
    expect(await ok('a', ['audit', 'head', '--json'])).toBe(head);
    // The key still signs before the completion.
    writeFileSync(join(cwd, 'doc.txt'), 'migrated\n');
    await ok('a', ['key', 'sign', 'default', 'k1', '--in', 'doc.txt', '--out', 'k1.sig']);
    const done = await on('a', [
      'partition',
      'migrate',
      'complete',
      'default',
      '--receipt',
      'r.der',
      '--json',
    ]);
    expect(done.code, done.stderr).toBe(0);
    const result = documentOf(done, 'partition-migrate-complete') as CompleteDoc;
    expect(result).toMatchObject({ dryRun: false, refused: [], receipt: receipt.sha256 });
    expect(result.migratedTo).toBe(`${result.target.device}/${result.target.partition}`);
    // Afterwards: the key refused (exit 2), a second completion refused (exit 2).
    const sign = await on('a', ['key', 'sign', 'default', 'k1', '--in', 'doc.txt', '--out', 'x']);
    expect(sign.code).toBe(2);
    expect(sign.stderr).toMatch(/migrated/);
    const again = await on('a', [
      'partition',
      'migrate',
      'complete',
      'default',
      '--receipt',
      'r.der',
      '--json',
    ]);
    expect(again.code).toBe(2);
    expect(documentOf(again, 'error')).toMatchObject({
      error: { code: 'partition-migrated' },
    });
    // The target's key signs on.
    await ok('b', ['key', 'sign', 'moved', 'k1', '--in', 'doc.txt', '--out', 'b.sig']);
  });

  it('a flipped byte is refused (65); a key made after the backup is refused by name (2)', async () => {
    await ok('b', ['partition', 'migrate', 'receipt', 'moved2', '--out', 'r2.der']);
    const bytes = readFileSync(join(cwd, 'r2.der'));
    bytes[bytes.length - 2]! ^= 0x01;
    writeFileSync(join(cwd, 'bad.der'), bytes);
    const bad = await on('a', [
      'partition',
      'migrate',
      'complete',
      'second',
      '--receipt',
      'bad.der',
    ]);
    expect(bad.code).toBe(65);
    expect(bad.stderr).toMatch(/does not verify/);
    await ok('a', ['key', 'generate', 'second', '--label', 'late', '--algorithm', 'ed25519']);
    const dry = await on('a', [
      'partition',
      'migrate',
      'complete',
      'second',
      '--receipt',
      'r2.der',
      '--dry-run',
    ]);
    expect(dry.code).toBe(2);
    expect(dry.stdout).toMatch(/^refused\tlate\t/m);
    expect(dry.stdout).toMatch(/nothing written/);
    const refused = await on('a', [
      'partition',
      'migrate',
      'complete',
      'second',
      '--receipt',
      'r2.der',
      '--bundle',
      'second.bundle',
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/late/);
    // The partition is untouched: its keys still sign.
    await ok('a', ['key', 'sign', 'second', 'k2', '--in', 'doc.txt', '--out', 'k2.sig']);
  });
});

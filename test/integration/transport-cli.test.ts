// Backups to a device transport key through the operator CLI, between two devices of one factory
// (each its own store and master key): the target creates a transport key (ML-KEM-768, ECDH
// P-256) and writes its certificate chain, the source backs a partition up with --transport-cert,
// the target inspects and restores it, a third device cannot; the same under approval requests
// (transport-key.create under the target's domain.change rule, the backup under the source's
// partition.backup rule), and the round trip on PostgreSQL stores. Every --json document checked
// against its schema in schemas/cli.
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodePemAll, parseBackupBundle } from '../../src/pki/index.js';
import { runMain, type CliResult } from '../helpers/cli.js';
import { schemaOf, validate } from '../helpers/json-schema.js';
import { freshDatabase, requirePostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';

const SCHEMAS = resolve(import.meta.dirname, '../../schemas/cli');
const skipPostgres = requirePostgres();

/** One device for the CLI: its data folder and, on PostgreSQL, its store URL. */
interface Device {
  readonly cwd: string;
  readonly data: string;
  readonly store?: string;
  env: Record<string, string>;
}

const run = (d: Device, args: readonly string[]): Promise<CliResult> =>
  runMain([...args, '--data', d.data, ...(d.store === undefined ? [] : ['--store', d.store])], {
    cwd: d.cwd,
    env: d.env,
  });

function checkSchema(schema: string, doc: unknown, what: string): void {
  const errors = validate(
    schemaOf(readFileSync(join(SCHEMAS, `${schema}.schema.json`), 'utf8')),
    doc,
  );
  expect(errors, `${schema}: ${what}`).toEqual([]);
}

/** Runs with --json, checks the exit code and the document against its schema, returns it. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the document's shape
async function json<T>(d: Device, args: readonly string[], code: number, schema: string) {
  const r = await run(d, [...args, '--json']);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(code);
  const doc: unknown = JSON.parse(r.stdout);
  checkSchema(schema, doc, args.join(' '));
  return { doc: doc as T, stderr: r.stderr };
}

async function ok(d: Device, args: readonly string[]): Promise<string> {
  const r = await run(d, args);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

interface TransportKeyDoc {
  id: string;
  algorithm: string;
  deviceId: string;
  subjectKeyIdentifier: string;
  certificateSha256: string;
}

interface BackupDoc {
  serial: number;
  sha256: string;
  keys?: number;
  recipient?: Record<string, unknown>;
  request?: string;
}

interface ErrorDoc {
  error: { code: string; message: string; details?: Record<string, unknown> };
  exitCode: number;
}

interface RequestDoc {
  id: string;
  state: string;
  statement: { operation: string; params: Record<string, unknown> };
}

/** Initialises a device (the first of a factory creates it; the others join it). */
async function init(d: Device, factory?: string): Promise<void> {
  await ok(d, ['init', ...(factory === undefined ? [] : ['--factory', factory])]);
  d.env = {
    ATTESTAMP_OFFICER_PASSPHRASE: readFileSync(
      join(d.cwd, d.data, 'officer.passphrase'),
      'utf8',
    ).trim(),
  };
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * The target's side: a transport key of the algorithm, its chain written to FILE (transport then
 * device certificate), checked against what list says.
 */
async function transportKey(
  target: Device,
  algorithm: 'ml-kem-768' | 'ecdh-p256',
  file: string,
): Promise<TransportKeyDoc> {
  const { doc: created } = await json<TransportKeyDoc>(
    target,
    ['device', 'transport-key', 'create', '--algorithm', algorithm],
    0,
    'transport-key',
  );
  expect(created.algorithm).toBe(algorithm);
  const { doc: listed } = await json<TransportKeyDoc[]>(
    target,
    ['device', 'transport-key', 'list'],
    0,
    'transport-key-list',
  );
  expect(listed).toContainEqual(created);
  const { doc: written } = await json<TransportKeyDoc & { out: string }>(
    target,
    ['device', 'transport-key', 'certificate', created.id, '--out', file],
    0,
    'transport-key-certificate',
  );
  expect(written).toMatchObject(created);
  const pem = decodePemAll(readFileSync(join(target.cwd, file), 'utf8'));
  expect(pem.map((b) => b.label)).toEqual(['CERTIFICATE', 'CERTIFICATE']);
  expect(sha256(pem[0]!.der)).toBe(created.certificateSha256);
  return created;
}

/** Source backs up to the chain in FILE; target inspects and restores it as NAME. */
async function roundTrip(
  source: Device,
  target: Device,
  key: TransportKeyDoc,
  file: string,
  name: string,
): Promise<void> {
  const bundleFile = `${name}.bundle`;
  const { doc: backup } = await json<BackupDoc>(
    source,
    ['partition', 'backup', 'default', '--transport-cert', file, '--out', bundleFile],
    0,
    'partition-backup',
  );
  expect(backup.recipient).toEqual({
    kind: 'transport-key',
    device: key.deviceId,
    algorithm: key.algorithm,
    certificateSha256: key.certificateSha256,
  });
  const bundle = readFileSync(join(source.cwd, bundleFile));
  expect(sha256(bundle)).toBe(backup.sha256);
  const r = parseBackupBundle(bundle).recipients[0]!;
  expect(r.kind).toBe(key.algorithm === 'ml-kem-768' ? 'kem' : 'kari');
  const inspected = await run(target, ['backup', 'inspect', bundleFile, '--json']);
  expect(inspected.code, inspected.stderr).toBe(0);
  const report = JSON.parse(inspected.stdout) as {
    outcome: string;
    checks: { id: string; status: string }[];
  };
  expect(report.outcome).toBe('verified');
  expect(report.checks).toContainEqual(expect.objectContaining({ id: 'backup.recipients' }));
  expect(report.checks.find((c) => c.id === 'backup.recipients')?.status).toBe('pass');
  const { doc: restored } = await json<{ partition: string; keys: number }>(
    target,
    ['partition', 'restore', bundleFile, '--name', name],
    0,
    'partition-restore',
  );
  expect(restored).toMatchObject({ partition: name, keys: backup.keys });
  expect(await ok(target, ['key', 'list', name, '--json'])).toContain('k1');
}

describe('backups to a transport key through the CLI', () => {
  let a: Device;
  let b: Device;
  let c: Device;

  beforeAll(async () => {
    const cwd = tempDir('transport-cli');
    a = { cwd, data: 'a', env: {} };
    b = { cwd, data: 'b', env: {} };
    c = { cwd, data: 'c', env: {} };
    await init(a);
    await init(b, 'a-factory');
    await init(c, 'a-factory');
    await ok(a, ['key', 'generate', 'default', '--label', 'k1', '--algorithm', 'ecdsa-p256']);
  }, 120_000);

  it('the target makes an ML-KEM-768 and an ECDH P-256 key; the source backs up to each; the target restores', async () => {
    const kem = await transportKey(b, 'ml-kem-768', 'kem.pem');
    await roundTrip(a, b, kem, 'kem.pem', 'via-kem');
    const ecdh = await transportKey(b, 'ecdh-p256', 'ecdh.pem');
    await roundTrip(a, b, ecdh, 'ecdh.pem', 'via-ecdh');
    // The default algorithm is ML-KEM-768.
    const dflt = await json<TransportKeyDoc>(
      b,
      ['device', 'transport-key', 'create'],
      0,
      'transport-key',
    );
    expect(dflt.doc.algorithm).toBe('ml-kem-768');
    const text = await ok(b, ['device', 'transport-key', 'list']);
    expect(text.trimEnd().split('\n')).toHaveLength(3);
    // A third device holds no key the bundle names: refused (2), nothing restored.
    const other = await json<ErrorDoc>(
      c,
      ['partition', 'restore', 'via-kem.bundle', '--name', 'x'],
      2,
      'error',
    );
    expect(other.doc.error.code).toBe('transport-key-unknown');
    expect(await ok(c, ['partition', 'list'])).not.toContain('x');
    // The independent verifier checks the same bundle against the root, the recipients too.
    const { verifyMain } = await import('../../src/cli/verify.js');
    let out = '';
    const code = await verifyMain(
      [
        'backup',
        join(a.cwd, 'via-ecdh.bundle'),
        '--anchor',
        join(a.cwd, 'a-factory/root.pem'),
        '--json',
      ],
      { stdout: (t) => (out += t), stderr: () => undefined, now: () => new Date() },
    );
    expect(code, out).toBe(0);
    const verified = JSON.parse(out) as { checks: { id: string; status: string }[] };
    expect(verified.checks).toContainEqual(
      expect.objectContaining({ id: 'backup.recipients', status: 'pass' }),
    );
  }, 120_000);

  it('usage errors name the argument; a chain without its device certificate is bad input', async () => {
    const both = await json<ErrorDoc>(
      a,
      [
        'partition',
        'backup',
        'default',
        '--domain',
        'vault',
        '--transport-cert',
        'kem.pem',
        '--out',
        'x.bundle',
      ],
      64,
      'error',
    );
    expect(both.doc.error.message).toMatch(
      /--domain, --transport-cert and --custodian exclude each other/,
    );
    const neither = await json<ErrorDoc>(
      a,
      ['partition', 'backup', 'default', '--out', 'x.bundle'],
      64,
      'error',
    );
    expect(neither.doc.error.message).toMatch(/missing --domain, --transport-cert or --custodian/);
    const withRequest = await json<ErrorDoc>(
      a,
      ['partition', 'backup', 'default', '--request', 'r', '--domain', 'v', '--out', 'x.bundle'],
      64,
      'error',
    );
    expect(withRequest.doc.error.message).toMatch(/--request/);
    const alg = await json<ErrorDoc>(
      b,
      ['device', 'transport-key', 'create', '--algorithm', 'rsa-2048'],
      64,
      'error',
    );
    expect(alg.doc.error.message).toMatch(/--algorithm must be one of ml-kem-768, ecdh-p256/);
    const pem = decodePemAll(readFileSync(join(a.cwd, 'kem.pem'), 'utf8'));
    writeFileSync(
      join(a.cwd, 'leaf-only.pem'),
      `-----BEGIN CERTIFICATE-----\n${Buffer.from(pem[0]!.der).toString('base64')}\n-----END CERTIFICATE-----\n`,
    );
    const leafOnly = await json<ErrorDoc>(
      a,
      ['partition', 'backup', 'default', '--transport-cert', 'leaf-only.pem', '--out', 'x.bundle'],
      65,
      'error',
    );
    expect(leafOnly.doc.error.message).toMatch(/--transport-cert/);
    // The transport certificate with another device's certificate after it: refused by the HSM.
    await ok(c, ['chain', 'default', '--out', 'c-chain']);
    const [cDevice] = decodePemAll(readFileSync(join(a.cwd, 'c-chain/device.pem'), 'utf8'));
    writeFileSync(
      join(a.cwd, 'wrong-device.pem'),
      [pem[0]!.der, cDevice!.der]
        .map(
          (d) =>
            `-----BEGIN CERTIFICATE-----\n${Buffer.from(d).toString('base64')}\n-----END CERTIFICATE-----\n`,
        )
        .join(''),
    );
    const wrong = await json<ErrorDoc>(
      a,
      [
        'partition',
        'backup',
        'default',
        '--transport-cert',
        'wrong-device.pem',
        '--out',
        'x.bundle',
      ],
      65,
      'error',
    );
    expect(wrong.doc.error.code).toBe('transport-certificate-invalid');
    const help = await run(a, ['partition', 'backup', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--transport-cert FILE/);
    expect(help.stdout).toMatch(/--request ID/);
    for (const sub of ['create', 'list', 'certificate']) {
      const h = await run(a, ['device', 'transport-key', sub, '--help']);
      expect(h.code, sub).toBe(0);
      expect(h.stdout, sub).toMatch(new RegExp(`attestamp device transport-key ${sub}`));
    }
  }, 120_000);
});

/** Enrols alice and bob with Ed25519 approver keys (the proof signed here) on the device. */
async function approvers(d: Device): Promise<void> {
  for (const who of ['alice', 'bob']) {
    writeFileSync(join(d.cwd, `${d.data}-${who}.pass`), `passphrase of ${who}\n`);
    // An absolute path: secret files are read as given, not under the invocation's folder.
    await ok(d, ['officer', 'add', who, '--passphrase-file', join(d.cwd, `${d.data}-${who}.pass`)]);
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    writeFileSync(
      join(d.cwd, `${d.data}-${who}.pem`),
      privateKey.export({ format: 'pem', type: 'pkcs8' }),
    );
    writeFileSync(
      join(d.cwd, `${d.data}-${who}.pub.pem`),
      publicKey.export({ format: 'pem', type: 'spki' }),
    );
    const key = `${d.data}-${who}.pub.pem`;
    const challenge = `${d.data}-${who}.challenge`;
    await ok(d, ['officer', 'key-challenge', who, '--key', key, '--out', challenge]);
    const proof = sign(null, readFileSync(join(d.cwd, challenge)), privateKey);
    writeFileSync(join(d.cwd, `${d.data}-${who}.proof`), proof);
    await ok(d, ['officer', 'enroll-key', who, '--key', key, '--proof', `${d.data}-${who}.proof`]);
  }
  writeFileSync(
    join(d.cwd, 'two-of-two.json'),
    JSON.stringify({
      alternatives: [{ groups: [{ name: 'both', members: ['alice', 'bob'], threshold: 2 }] }],
      timeoutSeconds: 3600,
    }),
  );
}

/** The request a guarded command made (exit 7), with the approval hint under its error line. */
async function madeRequest(d: Device, args: readonly string[]): Promise<string> {
  const { doc, stderr } = await json<ErrorDoc>(d, args, 7, 'error');
  expect(doc.error.code).toBe('approval-required');
  const id = String(doc.error.details?.request);
  expect(stderr).toContain(`approval request ${id} is waiting for its approvers`);
  expect(stderr).toContain(
    args.includes('backup')
      ? `attestamp partition backup PARTITION --request ${id} --out FILE`
      : `attestamp approvals execute ${id}`,
  );
  return id;
}

async function approveByBoth(d: Device, id: string): Promise<void> {
  for (const who of ['alice', 'bob']) {
    await json<RequestDoc>(
      d,
      ['approvals', 'sign', id, '--decision', 'approve', '--key', `${d.data}-${who}.pem`],
      0,
      'approval-request',
    );
  }
}

describe('transport keys and backups under approval requests', () => {
  it('transport-key.create under domain.change, the backup under partition.backup', async () => {
    const cwd = tempDir('transport-approvals');
    const a: Device = { cwd, data: 'a', env: {} };
    const b: Device = { cwd, data: 'b', env: {} };
    await init(a);
    await init(b, 'a-factory');
    await ok(a, ['key', 'generate', 'default', '--label', 'k1', '--algorithm', 'ed25519']);
    await approvers(b);
    await ok(b, ['quorum', 'set', 'domain.change', '--rule', 'two-of-two.json']);
    // The target's transport key: a request, approved by both, executed.
    const create = await madeRequest(b, [
      'device',
      'transport-key',
      'create',
      '--algorithm',
      'ecdh-p256',
    ]);
    const { doc: pending } = await json<unknown[]>(
      b,
      ['device', 'transport-key', 'list'],
      0,
      'transport-key-list',
    );
    expect(pending).toEqual([]);
    await approveByBoth(b, create);
    const { doc: executed } = await json<RequestDoc>(
      b,
      ['approvals', 'execute', create],
      0,
      'approval-request',
    );
    expect(executed.statement).toMatchObject({
      operation: 'transport-key.create',
      params: { algorithm: 'ecdh-p256' },
    });
    const { doc: keys } = await json<TransportKeyDoc[]>(
      b,
      ['device', 'transport-key', 'list'],
      0,
      'transport-key-list',
    );
    expect(keys.map((k) => k.algorithm)).toEqual(['ecdh-p256']);
    await ok(b, ['device', 'transport-key', 'certificate', keys[0]!.id, '--out', 't.pem']);

    // The source's backup to it: a request naming the target device and the certificate hash.
    await approvers(a);
    await ok(a, [
      'quorum',
      'set',
      'partition.backup',
      '--partition',
      'default',
      '--rule',
      'two-of-two.json',
    ]);
    const backup = await madeRequest(a, [
      'partition',
      'backup',
      'default',
      '--transport-cert',
      't.pem',
      '--out',
      'never.bundle',
    ]);
    const { doc: shown } = await json<RequestDoc>(
      a,
      ['approvals', 'show', backup],
      0,
      'approval-request',
    );
    expect(shown.statement.operation).toBe('partition.backup');
    expect(shown.statement.params).toMatchObject({
      targetDevice: keys[0]!.deviceId,
      transportKey: keys[0]!.certificateSha256,
    });
    // Not yet approved: --request is refused as pending (7), and writes nothing.
    const early = await json<ErrorDoc>(
      a,
      ['partition', 'backup', 'default', '--request', backup, '--out', 'early.bundle'],
      7,
      'error',
    );
    expect(early.doc.error.code).toBe('request-not-approved');
    expect(existsSync(join(cwd, 'early.bundle'))).toBe(false);
    await approveByBoth(a, backup);
    // A request for another partition's backup is not this one.
    await ok(a, ['partition', 'create', 'p2']);
    const notThis = await json<ErrorDoc>(
      a,
      ['partition', 'backup', 'p2', '--request', backup, '--out', 'x.bundle'],
      64,
      'error',
    );
    expect(notThis.doc.error.message).toMatch(/is not a request to back up p2/);
    const { doc: done } = await json<BackupDoc>(
      a,
      ['partition', 'backup', 'default', '--request', backup, '--out', 'approved.bundle'],
      0,
      'partition-backup',
    );
    expect(done).toMatchObject({ serial: 1, request: backup });
    const bundle = readFileSync(join(cwd, 'approved.bundle'));
    expect(sha256(bundle)).toBe(done.sha256);
    expect(parseBackupBundle(bundle).recipients[0]!.kind).toBe('kari');
    // Run again after execution: the same bundle, from the executed request's result.
    const { doc: again } = await json<BackupDoc>(
      a,
      ['partition', 'backup', 'default', '--request', backup, '--out', 'again.bundle'],
      0,
      'partition-backup',
    );
    expect(again.sha256).toBe(done.sha256);
    const { doc: restored } = await json<{ partition: string; keys: number }>(
      b,
      ['partition', 'restore', 'approved.bundle', '--name', 'copy'],
      0,
      'partition-restore',
    );
    expect(restored).toMatchObject({ partition: 'copy', keys: 3 });
    expect(await ok(b, ['key', 'list', 'copy', '--json'])).toContain('k1');
  }, 180_000);
});

describe.skipIf(skipPostgres)('backups to a transport key on PostgreSQL stores', () => {
  it('the target on PostgreSQL makes the key and restores; the source on PostgreSQL backs up', async () => {
    const source = await freshDatabase();
    const target = await freshDatabase();
    try {
      const cwd = tempDir('transport-pg');
      const a: Device = { cwd, data: 'a', store: source.url, env: {} };
      const b: Device = { cwd, data: 'b', store: target.url, env: {} };
      await init(a);
      await init(b, 'a-factory');
      for (const d of [a, b]) {
        const { doc } = await json<{ store: { dialect: string } }>(d, ['status'], 0, 'status');
        expect(doc.store.dialect).toBe('postgres');
      }
      await ok(a, ['key', 'generate', 'default', '--label', 'k1', '--algorithm', 'ecdsa-p256']);
      for (const algorithm of ['ml-kem-768', 'ecdh-p256'] as const) {
        const key = await transportKey(b, algorithm, `${algorithm}.pem`);
        await roundTrip(a, b, key, `${algorithm}.pem`, `via-${algorithm}`);
      }
    } finally {
      await source.drop();
      await target.drop();
    }
  }, 180_000);
});

// The light verifier package (packages/verify) as a user gets it: packed, installed offline into a
// scratch project from the packed file, with no native module and no server package, verifying
// a token, a chain and evidence through its API and its bin; and the static verification page in
// headless Chromium with a real token and a tampered one.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool, toolPath } from '../helpers/tools.js';
import { createTestCa, stampWith, withAlteredSignature } from '../helpers/token-pki.js';
import { encodePem } from '../../src/pki/index.js';

const ROOT = resolve(import.meta.dirname, '../..');
const PACKAGE = join(ROOT, 'packages/verify');
const NATIVE = /\.node$|^binding\.gyp$/;
const SERVER_PACKAGES = ['better-sqlite3', 'koa', 'pino', 'prom-client', 'jose'];

/** Every file under a folder. */
function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/** Installed packages: node_modules/NAME and node_modules/@scope/NAME. */
function packages(modules: string): string[] {
  return readdirSync(modules)
    .filter((n) => !n.startsWith('.'))
    .flatMap((n) =>
      n.startsWith('@') ? readdirSync(join(modules, n)).map((m) => `${n}/${m}`) : [n],
    );
}

/**
 * The installed folders of the package's dependencies and theirs, found as Node resolves them
 * (a nested node_modules first), so that each can be packed from this checkout for an offline
 * install; one version of each name.
 */
function dependencyFolders(): string[] {
  const manifest = (dir: string) =>
    JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
      dependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
    };
  const found = new Map<string, string>();
  const visit = (name: string, from: string): void => {
    let dir = from;
    for (;;) {
      const candidate = join(dir, 'node_modules', name);
      if (existsSync(join(candidate, 'package.json'))) {
        const seen = found.get(name);
        if (seen !== undefined) {
          expect(manifest(seen).version, `two versions of ${name}`).toBe(
            manifest(candidate).version,
          );
          return;
        }
        found.set(name, candidate);
        const m = manifest(candidate);
        for (const d of Object.keys({ ...m.dependencies, ...m.peerDependencies }))
          visit(d, candidate);
        return;
      }
      if (dir === ROOT) throw new Error(`${name} is not installed under ${from}`);
      dir = resolve(dir, dir.endsWith('node_modules') ? '..' : '../..');
      if (!dir.startsWith(ROOT)) dir = ROOT;
    }
  };
  for (const d of Object.keys(manifest(PACKAGE).dependencies ?? {})) visit(d, ROOT);
  return [...found.values()];
}

let scratch: string;
let work: string;
const doc = 'a document for the light verifier\n';

beforeAll(async () => {
  work = tempDir();
  scratch = join(work, 'scratch');
  execFileSync(process.execPath, [join(PACKAGE, 'build.js')], { stdio: 'pipe' });
  const packed = execFileSync('npm', ['pack', '--pack-destination', work, '--silent'], {
    cwd: PACKAGE,
    encoding: 'utf8',
  }).trim();
  mkdirSync(join(scratch, 'deps'), { recursive: true });
  writeFileSync(
    join(scratch, 'package.json'),
    '{"name":"scratch","private":true,"type":"module"}\n',
  );
  // No registry: the dependencies are packed from this checkout's installed copies.
  const deps = dependencyFolders().map((dir) =>
    execFileSync('npm', ['pack', dir, '--ignore-scripts', '--silent'], {
      cwd: join(scratch, 'deps'),
      encoding: 'utf8',
    })
      .trim()
      .split('\n')
      .pop()!,
  );
  execFileSync(
    'npm',
    [
      'install',
      '--offline',
      '--no-audit',
      '--no-fund',
      ...deps.map((d) => `./deps/${d}`),
      join(work, packed.split('\n').pop()!),
    ],
    { cwd: scratch, stdio: 'pipe' },
  );
  // A token from a test TSA, and the same token with its signature changed.
  const ca = await createTestCa();
  const signer = await ca.issueTsa();
  const token = await stampWith(signer, { data: doc });
  writeFileSync(join(work, 'doc.txt'), doc);
  writeFileSync(join(work, 'good.tsr'), token);
  writeFileSync(join(work, 'bad.tsr'), withAlteredSignature(token));
  writeFileSync(join(work, 'root.pem'), encodePem('CERTIFICATE', ca.root));
  // A device of the project for a chain and evidence.
  expect(runCli(['init'], { cwd: work }).code).toBe(0);
  expect(runCli(['chain', 'default', '--out', 'chain'], { cwd: work }).code).toBe(0);
  expect(
    runCli(['key', 'attest', 'default', 'partition-timestamp', '--out', 'evidence.pem'], {
      cwd: work,
    }).code,
  ).toBe(0);
  const chain = ['partition-timestamp.pem', 'device.pem'].map((f) =>
    readFileSync(join(work, 'chain', f), 'utf8'),
  );
  writeFileSync(join(work, 'chain.pem'), chain.join(''));
}, 240_000);

describe('the light verifier package', () => {
  it('is installed without a native module or a server package', () => {
    const modules = join(scratch, 'node_modules');
    const installed = packages(modules);
    expect(installed).toContain('attestamp-verify');
    for (const p of SERVER_PACKAGES) expect(installed).not.toContain(p);
    const native = files(modules).filter((f) => NATIVE.test(f.split('/').pop()!));
    expect(native).toEqual([]);
    // The package count and size are reported in the README; keep them small.
    expect(installed.length).toBeLessThan(20);
    const bytes = files(modules).reduce((n, f) => n + statSync(f).size, 0);
    expect(bytes).toBeLessThan(15 * 1024 * 1024);
  });

  it('its bin verifies a token, a chain and evidence, and fails a tampered token', () => {
    const bin = join(scratch, 'node_modules/.bin/attestamp-verify');
    const run = (args: string[]) =>
      spawnSync(bin, [...args, '--json'], { cwd: work, encoding: 'utf8' });
    const good = run(['token', '--token', 'good.tsr', '--data', 'doc.txt', '--anchor', 'root.pem']);
    expect(good.status, good.stderr).toBe(0);
    expect((JSON.parse(good.stdout) as { outcome: string }).outcome).toBe('verified');
    const bad = run(['token', '--token', 'bad.tsr', '--data', 'doc.txt', '--anchor', 'root.pem']);
    expect(bad.status).toBe(1);
    const chain = run(['chain', 'chain.pem', '--anchor', 'chain/root.pem']);
    expect(chain.status, chain.stdout).toBe(0);
    const evidence = run([
      'evidence',
      'evidence.pem',
      '--anchor',
      'chain/root.pem',
      '--allow-software',
    ]);
    expect(evidence.status, evidence.stdout).toBe(0);
  });

  it('its API verifies the token when imported by name', () => {
    writeFileSync(
      join(scratch, 'check.js'),
      `import { readFileSync } from 'node:fs';
import { inspectToken } from 'attestamp-verify';
import { decodePem } from 'attestamp-verify/pki';
const dir = process.argv[2];
const root = decodePem(readFileSync(dir + '/root.pem', 'utf8'), 'CERTIFICATE');
for (const name of ['good.tsr', 'bad.tsr']) {
  const r = await inspectToken(new Uint8Array(readFileSync(dir + '/' + name)), {
    anchors: { certificates: [root] }, at: new Date(), data: new Uint8Array(readFileSync(dir + '/doc.txt')),
  });
  console.log(name, r.outcome);
}
`,
    );
    const out = execFileSync(process.execPath, [join(scratch, 'check.js'), work], {
      cwd: scratch,
      encoding: 'utf8',
    });
    expect(out).toBe('good.tsr verified\nbad.tsr failed\n');
  });
});

describe.skipIf(requireTool('chromium'))('the verification page in headless Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: toolPath('chromium')!,
      args: ['--no-sandbox', '--disable-gpu'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser.close();
  });

  async function verifyIn(options: {
    kind: string;
    input: string;
    data?: string;
    anchor?: string;
    pin?: string;
  }): Promise<{ outcome: string; rows: string[][]; error: string }> {
    const file = join(scratch, 'node_modules/attestamp-verify/dist/page/index.html');
    expect(existsSync(file)).toBe(true);
    const p = await browser.newPage();
    const errors: string[] = [];
    p.on('pageerror', (e) => errors.push(e.message));
    await p.goto(pathToFileURL(file).href);
    await p.selectOption('#kind', options.kind);
    await p.setInputFiles('#input', join(work, options.input));
    if (options.data !== undefined) await p.setInputFiles('#data', join(work, options.data));
    if (options.anchor !== undefined) await p.setInputFiles('#anchor', join(work, options.anchor));
    if (options.pin !== undefined) await p.fill('#anchor-sha256', options.pin);
    await p.click('#verify');
    await p.waitForSelector('#outcome:not(:empty)');
    const outcome = (await p.textContent('#outcome')) ?? '';
    const cells = await p.locator('#checks td').allTextContents();
    const rows: string[][] = [];
    for (let i = 0; i < cells.length; i += 3) rows.push(cells.slice(i, i + 3));
    const error = (await p.textContent('#error')) ?? '';
    await p.close();
    expect(errors).toEqual([]);
    return { outcome, rows, error };
  }

  it('a real token verifies, with every check listed', async () => {
    const r = await verifyIn({
      kind: 'token',
      input: 'good.tsr',
      data: 'doc.txt',
      anchor: 'root.pem',
    });
    expect(r.outcome).toBe('VERIFIED');
    expect(r.rows.find((row) => row[0] === 'token.signature')?.[1]).toBe('pass');
    expect(r.rows.find((row) => row[0] === 'token.imprint')?.[1]).toBe('pass');
  });

  it('a tampered token fails on its signature', async () => {
    const r = await verifyIn({
      kind: 'token',
      input: 'bad.tsr',
      data: 'doc.txt',
      anchor: 'root.pem',
    });
    expect(r.outcome).toBe('FAILED');
    expect(r.rows.find((row) => row[0] === 'token.signature')?.[1]).toBe('fail');
  });

  it('the chain verifies to the SHA-256 of its root, and a wrong pin fails', async () => {
    const rootDer = Buffer.from(
      readFileSync(join(work, 'chain/root.pem'), 'utf8').replace(/-----[^-]+-----|\s/g, ''),
      'base64',
    );
    const { createHash } = await import('node:crypto');
    const pin = createHash('sha256').update(rootDer).digest('hex');
    // With only a pin, the chain file carries the root itself (bundle.pem: leaf, device, root).
    expect((await verifyIn({ kind: 'chain', input: 'chain/bundle.pem', pin })).outcome).toBe(
      'VERIFIED',
    );
    expect(
      (await verifyIn({ kind: 'chain', input: 'chain/bundle.pem', pin: 'ab'.repeat(32) })).outcome,
    ).toBe('FAILED');
  });

  it('unusable input gets a message, not a broken page', async () => {
    const r = await verifyIn({ kind: 'evidence', input: 'doc.txt', pin: 'zz' });
    expect(r.outcome).toBe('UNUSABLE INPUT');
    expect(r.error).toContain('64 hex digits');
  });
});

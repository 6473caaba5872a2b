// The verifier runs in a browser (ARCHITECTURE.md "attestation"): src/attestation/index.ts bundles
// with esbuild for the browser platform with every node built-in refused, and the bundle verifies
// the reference chain in a node:vm context that offers only browser globals (WebCrypto,
// TextEncoder/TextDecoder, atob/btoa, console): no process, require, Buffer or module.
import { constants, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, resolve } from 'node:path';
import vm from 'node:vm';
import { build, type Plugin } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../../src/attestation/index.js';
import { decodePem, encodeDer, signatureAlgorithmIdentifier } from '../../../src/pki/index.js';
import { pqSigningKey } from '../../helpers/pq-pki.js';
import { tempDir } from '../../helpers/tmp.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const ENTRY = join(ROOT, 'src/attestation/index.ts');
const REFERENCE = join(ROOT, 'certs/reference/default');
const GLOBAL_NAME = 'AttestampVerifier';
/** SHA-256 of certs/reference/default/root.pem (certs/README.md). */
const REFERENCE_ROOT_SHA256 = '7ed3e638425f783f40cb6a205eddb77a9a256d02b1d0f09fdc773acfe85bd52a';
/** Inside the validity of every reference certificate (issued 2026-12-01T08:49:07Z). */
const AT = '2027-06-01T00:00:00Z';

const NODE_BUILT_INS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const SERVER_PACKAGES = ['better-sqlite3', 'koa', 'pino'];

/** Fails the build on any import of a node built-in or a server package, wherever it is reached. */
const browserOnly: Plugin = {
  name: 'browser-only',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      const top = args.path.split('/')[0] ?? args.path;
      if (args.path.startsWith('node:') || NODE_BUILT_INS.has(args.path) || NODE_BUILT_INS.has(top))
        return { errors: [{ text: `node built-in '${args.path}' reached from ${args.importer}` }] };
      if (SERVER_PACKAGES.includes(top))
        return {
          errors: [{ text: `server package '${args.path}' reached from ${args.importer}` }],
        };
      return undefined;
    });
  },
};

const dir = tempDir('attestamp-browser-');

async function bundle(entry: string, format: 'esm' | 'iife', outfile: string): Promise<string> {
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format,
    ...(format === 'iife' ? { globalName: GLOBAL_NAME } : {}),
    target: 'es2022',
    outfile,
    plugins: [browserOnly],
    logLevel: 'silent',
  });
  return readFileSync(outfile, 'utf8');
}

function pemBase64(file: string): string {
  return Buffer.from(
    decodePem(readFileSync(join(REFERENCE, file), 'utf8'), 'CERTIFICATE'),
  ).toString('base64');
}

/** A byte buffer of another realm copied into this one (ArrayBuffer or view); others as given. */
function toThisRealm(value: unknown): unknown {
  if (ArrayBuffer.isView(value))
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice();
  if (Object.prototype.toString.call(value) === '[object ArrayBuffer]')
    return new Uint8Array(value as ArrayBuffer).slice();
  return value;
}

/**
 * globalThis.crypto for the sandbox. In a page, WebCrypto and the page's ArrayBuffers share one
 * realm; here node's SubtleCrypto would refuse the sandbox's buffers as foreign (instanceof), so
 * each argument is copied across. Nothing else is added: the methods are node's WebCrypto.
 */
function sandboxCrypto(): Pick<typeof globalThis.crypto, 'subtle' | 'getRandomValues'> {
  const real = globalThis.crypto;
  const subtle = new Proxy(real.subtle, {
    get(target, property) {
      const member: unknown = Reflect.get(target, property, target);
      if (typeof member !== 'function') return member;
      return (...args: unknown[]): unknown => Reflect.apply(member, target, args.map(toThisRealm));
    },
  });
  return {
    subtle,
    getRandomValues: <T extends ArrayBufferView | null>(array: T): T => {
      if (array === null) return array;
      const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
      bytes.set(real.getRandomValues(new Uint8Array(bytes.length)));
      return array;
    },
  };
}

/** A fresh context with only what a browser page offers the verifier. */
function browserContext(): vm.Context {
  return vm.createContext({
    crypto: sandboxCrypto(),
    TextEncoder,
    TextDecoder,
    atob,
    btoa,
    console,
  });
}

/** Runs an async expression in the context (it sees `input` and the bundle's global). */
async function run(
  context: vm.Context,
  input: Record<string, string>,
  body: string,
): Promise<string> {
  context.input = input;
  const result: unknown = vm.runInContext(
    `(async () => {
      const der = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      ${body}
    })()`,
    context,
  );
  const value: unknown = await result;
  if (typeof value !== 'string') throw new Error('the sandbox returned no string');
  return value;
}

let iife = '';

beforeAll(async () => {
  iife = await bundle(ENTRY, 'iife', join(dir, 'attestation.iife.js'));
});

describe('browser bundle of src/attestation', () => {
  it('esbuild refuses node built-ins: the verifier CLI, which reads files, does not bundle', async () => {
    const error: unknown = await bundle(
      join(ROOT, 'src/cli/verify.ts'),
      'esm',
      join(dir, 'cli.js'),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/node built-in 'node:(fs|util)' reached from/);
  });

  it('bundles as ESM for the browser, exporting the verifier', async () => {
    const esm = await bundle(ENTRY, 'esm', join(dir, 'attestation.esm.js'));
    expect(esm).toMatch(/export\s*\{[^}]*\bverifyChain\b/);
    expect(esm).not.toMatch(/\b__require\b/);
  });

  it('the IIFE bundle needs no require, process or Buffer', () => {
    expect(iife.length).toBeGreaterThan(10_000);
    expect(iife).not.toMatch(/\b__require\b|\brequire\(|\bprocess\.|\bBuffer\./);
  });

  it('the sandbox offers browser globals only', () => {
    const context = browserContext();
    const kinds: unknown = vm.runInContext(
      'JSON.stringify([typeof process, typeof require, typeof Buffer, typeof module, typeof crypto.subtle, typeof atob])',
      context,
    );
    expect(kinds).toBe(
      JSON.stringify(['undefined', 'undefined', 'undefined', 'undefined', 'object', 'function']),
    );
  });

  it('verifies the reference chain to verified, and a tampered leaf to failed', async () => {
    const context = browserContext();
    vm.runInContext(iife, context, { filename: 'attestation.iife.js' });
    const leaf = pemBase64('partition-timestamp.pem');
    const input = { leaf, device: pemBase64('device.pem'), root: pemBase64('root.pem'), at: AT };
    const verify = `
      const report = await ${GLOBAL_NAME}.verifyChain([der(input.leaf), der(input.device)], {
        anchors: { certificates: [der(input.root)] },
        at: new Date(input.at),
      });
      return JSON.stringify(report);`;

    const good = JSON.parse(await run(context, input, verify)) as Report;
    expect(good.outcome).toBe('verified');
    expect(good.exitCode).toBe(0);
    expect(good.anchor).toBe(REFERENCE_ROOT_SHA256);
    const byId = Object.fromEntries(good.checks.map((c) => [c.id, c.status]));
    expect(byId).toMatchObject({
      'trust.anchor': 'pass',
      'path.build': 'pass',
      'path.signatures': 'pass',
      'roles.chain': 'pass',
      revocation: 'skip',
    });
    expect(good.claims).toMatchObject({
      deviceId: 'SWHSM-839C898396202D35',
      partitionId: 'feb2c851-9800-4112-8b14-32a24433e50a',
    });

    // One letter of the leaf's subject changed: still strict DER, no longer what was signed.
    const bytes = Buffer.from(leaf, 'base64');
    const at = bytes.indexOf('time-stamping unit');
    expect(at).toBeGreaterThan(0);
    bytes[at] = 'T'.charCodeAt(0);
    const bad = JSON.parse(
      await run(context, { ...input, leaf: bytes.toString('base64') }, verify),
    ) as Report;
    expect(bad.outcome).toBe('failed');
    expect(bad.checks.find((c) => c.id === 'path.build')?.status).toBe('fail');

    // Without an anchor nothing is trusted, in the browser too.
    const none = JSON.parse(
      await run(
        context,
        input,
        `return JSON.stringify(await ${GLOBAL_NAME}.verifyChain([der(input.leaf), der(input.device)], { anchors: {}, at: new Date(input.at) }));`,
      ),
    ) as Report;
    expect(none.outcome).toBe('failed');
  });

  it('verifies an RSA-PSS signature through WebCrypto inside the sandbox', async () => {
    const context = browserContext();
    vm.runInContext(iife, context, { filename: 'attestation.iife.js' });
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const data = Buffer.from('attestamp browser check');
    const signature = sign('sha256', data, {
      key: privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    });
    const input = {
      spki: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
      algorithm: Buffer.from(
        encodeDer(signatureAlgorithmIdentifier('rsa-pss-3072').toSchema()),
      ).toString('base64'),
      data: data.toString('base64'),
      signature: signature.toString('base64'),
      tampered: Buffer.concat([data, Buffer.of(0)]).toString('base64'),
    };
    const result = await run(
      context,
      input,
      `const v = (d) => ${GLOBAL_NAME}.verifySignature(der(input.spki), der(input.algorithm), der(d), der(input.signature));
      return JSON.stringify([await v(input.data), await v(input.tampered)]);`,
    );
    expect(result).toBe('[true,false]');
  });

  it('verifies ML-DSA and SLH-DSA signatures in pure JavaScript inside the sandbox', async () => {
    const context = browserContext();
    vm.runInContext(iife, context, { filename: 'attestation.iife.js' });
    const data = Buffer.from('attestamp post-quantum browser check');
    const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
    const results: string[] = [];
    for (const name of ['ml-dsa-65', 'slh-dsa-sha2-128f'] as const) {
      const key = pqSigningKey(name);
      const input = {
        spki: b64(key.spki),
        algorithm: b64(key.algorithm),
        data: b64(data),
        signature: b64(key.sign(data)),
        tampered: b64(Buffer.concat([data, Buffer.of(0)])),
      };
      results.push(
        await run(
          context,
          input,
          `const v = (d) => ${GLOBAL_NAME}.verifySignature(der(input.spki), der(input.algorithm), der(d), der(input.signature));
          return JSON.stringify([await v(input.data), await v(input.tampered)]);`,
        ),
      );
    }
    expect(results).toEqual(['[true,false]', '[true,false]']);
  });
});

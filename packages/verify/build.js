// Assembles the light verifier package (attestamp-verify) from the project's build: the
// attestation, pki and shared modules and the verifier's command line, plus the static
// verification page bundled for the browser. Run `npm run build` first; then `npm pack` here.
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const compiled = join(root, 'dist/src');
const out = join(here, 'dist');

if (!existsSync(join(compiled, 'attestation/index.js'))) {
  console.error('attestamp-verify build: run `npm run build` first (no dist/src/attestation)');
  process.exit(1);
}

/** Copies the .js and .d.ts files of a compiled folder (source maps point outside the package). */
function copyModule(from, to) {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    const path = join(from, name);
    if (statSync(path).isDirectory()) copyModule(path, join(to, name));
    else if (name.endsWith('.js') || name.endsWith('.d.ts')) cpSync(path, join(to, name));
  }
}

rmSync(out, { recursive: true, force: true });
for (const module of ['shared', 'pki', 'attestation']) {
  copyModule(join(compiled, module), join(out, module));
}
mkdirSync(join(out, 'cli'), { recursive: true });
for (const name of ['attestamp-verify', 'verify', 'pipe', 'version', 'close-names']) {
  for (const ext of ['.js', '.d.ts'])
    cpSync(join(compiled, 'cli', name + ext), join(out, 'cli', name + ext));
}

await build({
  entryPoints: [join(root, 'src/page/verify-page.ts')],
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'es2022',
  minify: true,
  legalComments: 'eof',
  outfile: join(out, 'page/verify-page.js'),
  logLevel: 'warning',
});
cpSync(join(here, 'page/index.html'), join(out, 'page/index.html'));
console.log(`attestamp-verify assembled in ${out}`);

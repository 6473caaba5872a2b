// Walks the import graph of src and fails on an edge that ARCHITECTURE.md forbids.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');

type Module = 'shared' | 'pki' | 'hsm' | 'tsa' | 'attestation' | 'cli' | 'page';

/** Which modules each module may import (ARCHITECTURE.md, "Modules and who may import whom"). */
const ALLOWED: Readonly<Record<Module, readonly Module[]>> = {
  shared: [],
  pki: ['shared'],
  hsm: ['pki', 'shared'],
  tsa: ['hsm', 'pki', 'shared'],
  attestation: ['pki', 'shared'],
  cli: ['tsa', 'hsm', 'pki', 'attestation', 'shared'],
  /** The static verification page: the verifier's library in a browser. */
  page: ['attestation', 'pki', 'shared'],
};

/** Modules that must run in a browser: no node built-ins, no native or server packages. */
const BROWSER_SAFE: readonly Module[] = ['shared', 'pki', 'attestation', 'page'];
const SERVER_PACKAGES = ['better-sqlite3', 'pg', 'koa', '@koa/', 'pino'];

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return walk(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

function specifiers(source: string): string[] {
  const out: string[] = [];
  const re =
    /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]/g;
  for (const m of source.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  return out;
}

function moduleOf(file: string): Module {
  return relative(SRC, file).split(sep)[0] as Module;
}

function resolveLocal(from: string, spec: string): string {
  return resolve(dirname(from), spec).replace(/\.js$/, '.ts');
}

const files = walk(SRC);
const graph = new Map<string, string[]>(files.map((f) => [f, specifiers(readFileSync(f, 'utf8'))]));

/** Every src file reachable from `roots` through relative imports, roots included. */
function closure(roots: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of graph.get(file) ?? []) {
      if (spec.startsWith('.')) stack.push(resolveLocal(file, spec));
    }
  }
  return seen;
}

/**
 * The standalone verifier's command line: its bin, the command module it runs, and the two
 * helpers it shares with the operator CLI (node built-ins and no other import).
 */
const VERIFIER_BIN = [
  'cli/attestamp-verify.ts',
  'cli/verify.ts',
  'cli/pipe.ts',
  'cli/version.ts',
  'cli/close-names.ts',
].map((f) => join(SRC, f));

/**
 * What the verifier bin's closure must not contain: hsm, tsa, any other cli file, and node
 * built-ins outside src/cli (the library it calls must stay browser-safe).
 */
function verifierBinViolations(roots: readonly string[]): string[] {
  const bad: string[] = [];
  for (const file of closure(roots)) {
    const m = moduleOf(file);
    const name = relative(SRC, file);
    if (!graph.has(file)) bad.push(`${name} does not exist`);
    if (m === 'hsm' || m === 'tsa') bad.push(name);
    if (m === 'cli' && !VERIFIER_BIN.includes(file)) bad.push(name);
    if (m !== 'cli') {
      for (const spec of graph.get(file) ?? []) {
        if (spec.startsWith('node:')) bad.push(`${name} imports ${spec}`);
      }
    }
  }
  return bad;
}

describe('architecture', () => {
  it('finds the source files and their imports', () => {
    expect(files.length).toBeGreaterThan(20);
    expect([...graph.values()].flat().length).toBeGreaterThan(50);
  });

  it('cross-module imports follow the allowed edges and go through index.ts', () => {
    const violations: string[] = [];
    for (const [file, specs] of graph) {
      const from = moduleOf(file);
      for (const spec of specs.filter((s) => s.startsWith('.'))) {
        const target = resolveLocal(file, spec);
        const to = moduleOf(target);
        if (to === from) continue;
        if (!ALLOWED[from].includes(to)) violations.push(`${relative(SRC, file)} -> ${to}`);
        if (!target.endsWith(`${sep}${to}${sep}index.ts`)) {
          violations.push(`${relative(SRC, file)} bypasses ${to}/index.ts via ${spec}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it('browser-safe modules import no node built-ins or server packages', () => {
    const violations: string[] = [];
    for (const [file, specs] of graph) {
      if (!BROWSER_SAFE.includes(moduleOf(file))) continue;
      for (const spec of specs) {
        if (spec.startsWith('node:') || SERVER_PACKAGES.some((p) => spec.startsWith(p))) {
          violations.push(`${relative(SRC, file)} imports ${spec}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it('koa appears only under src/tsa/http', () => {
    const violations = [...graph]
      .filter(([, specs]) => specs.some((s) => s === 'koa' || s.startsWith('@koa/')))
      .map(([file]) => relative(SRC, file))
      .filter((f) => !f.startsWith(join('tsa', 'http')));
    expect(violations).toEqual([]);
  });

  it('private-key operations of node:crypto appear only in src/hsm', () => {
    const privateApis =
      /\b(createPrivateKey|generateKeyPair(Sync)?|privateDecrypt|privateEncrypt)\b/;
    const violations = files
      .filter((f) => moduleOf(f) !== 'hsm' && privateApis.test(readFileSync(f, 'utf8')))
      .map((f) => relative(SRC, f));
    expect(violations).toEqual([]);
  });

  it('the verifier closure never reaches hsm, tsa, cli or node built-ins', () => {
    const roots = files.filter((f) => moduleOf(f) === 'attestation');
    const seen = new Set<string>();
    const stack = [...roots];
    const bad: string[] = [];
    while (stack.length > 0) {
      const file = stack.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const m = moduleOf(file);
      if (m === 'hsm' || m === 'tsa' || m === 'cli') bad.push(relative(SRC, file));
      for (const spec of graph.get(file) ?? []) {
        if (spec.startsWith('node:')) bad.push(`${relative(SRC, file)} imports ${spec}`);
        if (spec.startsWith('.')) stack.push(resolveLocal(file, spec));
      }
    }
    expect(bad).toEqual([]);
  });

  it('the verifier bin (attestamp-verify, cli/verify) reaches only attestation, pki and shared', () => {
    for (const f of VERIFIER_BIN) expect(graph.has(f), relative(SRC, f)).toBe(true);
    const reached = closure(VERIFIER_BIN);
    const modules = new Set([...reached].map(moduleOf));
    expect([...modules].sort()).toEqual(['attestation', 'cli', 'pki', 'shared']);
    expect(verifierBinViolations(VERIFIER_BIN)).toEqual([]);
  });

  it('the verifier bin check fails on the operator bin, which wires the HSM and the TSA', () => {
    const bad = verifierBinViolations([join(SRC, 'cli/attestamp.ts')]);
    expect(bad).toContain(join('cli', 'main.ts'));
    expect(bad.some((f) => f.startsWith(`hsm${sep}`))).toBe(true);
    expect(bad.some((f) => f.startsWith(`tsa${sep}`))).toBe(true);
  });

  it('the checker itself catches a forbidden edge', () => {
    // A synthetic pki file importing hsm must be reported by the same rule.
    const from: Module = 'pki';
    const to: Module = 'hsm';
    expect(ALLOWED[from].includes(to)).toBe(false);
    expect(specifiers("import { Hsm } from '../hsm/index.js';")).toEqual(['../hsm/index.js']);
  });
});

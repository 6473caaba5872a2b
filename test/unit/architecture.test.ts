// Walks the import graph of src and fails on an edge that ARCHITECTURE.md forbids.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');

type Module = 'shared' | 'pki' | 'hsm' | 'tsa' | 'attestation' | 'cli';

/** Which modules each module may import (ARCHITECTURE.md, "Modules and who may import whom"). */
const ALLOWED: Readonly<Record<Module, readonly Module[]>> = {
  shared: [],
  pki: ['shared'],
  hsm: ['pki', 'shared'],
  tsa: ['hsm', 'pki', 'shared'],
  attestation: ['pki', 'shared'],
  cli: ['tsa', 'hsm', 'pki', 'attestation', 'shared'],
};

/** Modules that must run in a browser: no node built-ins, no native or server packages. */
const BROWSER_SAFE: readonly Module[] = ['shared', 'pki', 'attestation'];
const SERVER_PACKAGES = ['better-sqlite3', 'koa', '@koa/', 'pino'];

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

  it('the checker itself catches a forbidden edge', () => {
    // A synthetic pki file importing hsm must be reported by the same rule.
    const from: Module = 'pki';
    const to: Module = 'hsm';
    expect(ALLOWED[from].includes(to)).toBe(false);
    expect(specifiers("import { Hsm } from '../hsm/index.js';")).toEqual(['../hsm/index.js']);
  });
});

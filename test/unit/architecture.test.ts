// Walks the import graph of src and fails on an edge that ARCHITECTURE.md forbids, on pkijs
// objects outside src/pki and on SQL outside the stores.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');

type Module = 'shared' | 'pki' | 'hsm' | 'tsa' | 'api' | 'client' | 'attestation' | 'cli' | 'page';

/** Which modules each module may import (ARCHITECTURE.md, "Modules and who may import whom"). */
const ALLOWED: Readonly<Record<Module, readonly Module[]>> = {
  shared: [],
  pki: ['shared'],
  hsm: ['pki', 'shared'],
  tsa: ['hsm', 'pki', 'shared'],
  attestation: ['pki', 'shared'],
  /**
   * The REST API: the HSM, the TSA's shared HTTP pieces (rate limits, addresses), pki, and the
   * verifier (a backup bundle's offline report, POST /v1/backups/inspect).
   */
  api: ['hsm', 'tsa', 'attestation', 'pki', 'shared'],
  /** The REST API's client (attestamp/client): over HTTPS only, never the HSM or the server. */
  client: ['shared'],
  cli: ['api', 'client', 'tsa', 'hsm', 'pki', 'attestation', 'shared'],
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
    if (m === 'hsm' || m === 'tsa' || m === 'api') bad.push(name);
    if (m === 'cli' && !VERIFIER_BIN.includes(file)) bad.push(name);
    if (m !== 'cli') {
      for (const spec of graph.get(file) ?? []) {
        if (spec.startsWith('node:')) bad.push(`${name} imports ${spec}`);
      }
    }
  }
  return bad;
}

/** The ASN.1 object libraries whose objects stay inside src/pki (callers get plain data). */
function isAsn1Package(spec: string): boolean {
  return (
    spec === 'pkijs' ||
    spec === 'asn1js' ||
    spec.startsWith('@peculiar/asn1-') ||
    spec === '@peculiar/x509'
  );
}

/** Members only asn1js and pkijs objects have: calling them means holding such an object. */
const ASN1_OBJECT_MEMBERS = new Set([
  'toSchema',
  'toBER',
  'fromBER',
  'valueBlock',
  'idBlock',
  'lenBlock',
  'valueBeforeDecode',
]);

const parsed = new Map<string, ts.SourceFile>();

/** The syntax tree of a source (parsed once per name and text; no type checking). */
function sourceFile(name: string, text: string): ts.SourceFile {
  const key = `${name}\0${text}`;
  let sf = parsed.get(key);
  if (sf === undefined) {
    sf = ts.createSourceFile(name, text, ts.ScriptTarget.Latest, false);
    parsed.set(key, sf);
  }
  return sf;
}

function someDescendant(node: ts.Node, test: (n: ts.Node) => boolean): boolean {
  if (test(node)) return true;
  return ts.forEachChild(node, (child) => someDescendant(child, test) || undefined) ?? false;
}

function isExported(node: ts.Node): boolean {
  return (
    ts.canHaveModifiers(node) &&
    (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword)
  );
}

/**
 * The exported declarations of a pki source whose signature (parameter, return or member types,
 * not function bodies) names a type of an ASN.1 object library: pkijs objects leaving src/pki.
 */
function asn1TypedExports(name: string, text: string): string[] {
  const sf = sourceFile(name, text);
  const aliases = new Set<string>();
  for (const st of sf.statements) {
    if (!ts.isImportDeclaration(st) || !ts.isStringLiteral(st.moduleSpecifier)) continue;
    if (!isAsn1Package(st.moduleSpecifier.text)) continue;
    const clause = st.importClause;
    if (clause?.name !== undefined) aliases.add(clause.name.text);
    const bindings = clause?.namedBindings;
    if (bindings !== undefined && ts.isNamespaceImport(bindings)) aliases.add(bindings.name.text);
    if (bindings !== undefined && ts.isNamedImports(bindings)) {
      for (const e of bindings.elements) aliases.add(e.name.text);
    }
  }
  const names = (node: ts.Node | undefined): boolean =>
    node !== undefined && someDescendant(node, (n) => ts.isIdentifier(n) && aliases.has(n.text));
  const signature = (f: ts.SignatureDeclarationBase): boolean =>
    names(f.type) ||
    f.parameters.some((p) => names(p.type)) ||
    (f.typeParameters ?? []).some((t) => names(t.constraint));
  const out: string[] = [];
  if (aliases.size === 0) return out;
  for (const st of sf.statements) {
    if (!isExported(st)) continue;
    if (ts.isFunctionDeclaration(st) && st.name !== undefined && signature(st)) {
      out.push(st.name.text);
    } else if ((ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st)) && names(st)) {
      out.push(st.name.text);
    } else if (ts.isClassDeclaration(st) && st.name !== undefined) {
      const leaks = st.members.some(
        (m) =>
          ((ts.isPropertyDeclaration(m) || ts.isGetAccessor(m)) && names(m.type)) ||
          ((ts.isMethodDeclaration(m) || ts.isConstructorDeclaration(m)) && signature(m)),
      );
      if (leaks) out.push(st.name.text);
    } else if (ts.isVariableStatement(st)) {
      for (const d of st.declarationList.declarations) {
        const init = d.initializer;
        const fn =
          init !== undefined && (ts.isArrowFunction(init) || ts.isFunctionExpression(init))
            ? init
            : undefined;
        if (ts.isIdentifier(d.name) && (names(d.type) || (fn !== undefined && signature(fn)))) {
          out.push(d.name.text);
        }
      }
    }
  }
  return out;
}

/**
 * Where a file outside src/pki handles ASN.1 library objects: it imports such a library, uses
 * a member only their objects have, or imports from pki an export typed with their objects.
 */
function asn1ObjectUses(name: string, text: string, typedExports: ReadonlySet<string>): string[] {
  const sf = sourceFile(name, text);
  const found: string[] = [];
  const pkiNamespaces = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier !== undefined &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      const spec = node.moduleSpecifier.text;
      if (isAsn1Package(spec)) found.push(`imports ${spec}`);
      if (/(^|\/)pki\/index\.js$/.test(spec)) {
        const bindings = ts.isImportDeclaration(node)
          ? node.importClause?.namedBindings
          : node.exportClause;
        if (bindings !== undefined && ts.isNamespaceImport(bindings)) {
          pkiNamespaces.add(bindings.name.text);
        }
        if (
          bindings !== undefined &&
          (ts.isNamedImports(bindings) || ts.isNamedExports(bindings))
        ) {
          for (const e of bindings.elements) {
            const imported = (e.propertyName ?? e.name).text;
            if (typedExports.has(imported)) found.push(`takes ${imported} from pki`);
          }
        }
      }
    }
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg !== undefined && ts.isStringLiteral(arg) && isAsn1Package(arg.text)) {
        found.push(`imports ${arg.text}`);
      }
    }
    if (ts.isPropertyAccessExpression(node)) {
      const member = node.name.text;
      if (ASN1_OBJECT_MEMBERS.has(member)) found.push(`uses .${member}`);
      if (
        ts.isIdentifier(node.expression) &&
        pkiNamespaces.has(node.expression.text) &&
        typedExports.has(member)
      ) {
        found.push(`takes ${member} from pki`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return [...new Set(found)];
}

/** SQL in a string literal: the statements the stores run (uppercase, as the project writes). */
const SQL = /\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE TABLE|PRAGMA)\b/;
const SQL_PACKAGES = (spec: string): boolean =>
  spec === 'better-sqlite3' || spec === 'pg' || spec.startsWith('pg/');

/** Where a file speaks to a database: it imports a driver, or a string literal holds SQL. */
function sqlUses(name: string, text: string): string[] {
  const found = specifiers(text)
    .filter(SQL_PACKAGES)
    .map((spec) => `imports ${spec}`);
  const visit = (node: ts.Node): void => {
    if (
      ts.isStringLiteral(node) ||
      ts.isNoSubstitutionTemplateLiteral(node) ||
      ts.isTemplateHead(node) ||
      ts.isTemplateMiddle(node) ||
      ts.isTemplateTail(node)
    ) {
      const m = SQL.exec(node.text);
      if (m !== null) found.push(`SQL ${m[1]}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile(name, text));
  return [...new Set(found)];
}

/** Files that may hold SQL: the HSM store and the TSA archive's store. */
function mayHoldSql(rel: string): boolean {
  const posix = rel.split(sep).join('/');
  return (
    posix.startsWith('hsm/store/') || posix === 'tsa/archive.ts' || posix.startsWith('tsa/archive/')
  );
}

/**
 * Files outside src/pki that still handle pkijs objects, each with the reason it may for now.
 * Each must still offend: a fixed file has to leave this list.
 */
const ASN1_EXCEPTIONS: Readonly<Record<string, string>> = {};

/** Files outside the stores that still hold SQL, each with the reason; each must still offend. */
const SQL_EXCEPTIONS: Readonly<Record<string, string>> = {};

/** Every pki export typed with an ASN.1 library's objects, from the pki sources. */
function pkiAsn1TypedExports(): Set<string> {
  const out = new Set<string>();
  for (const f of files.filter((file) => moduleOf(file) === 'pki')) {
    for (const n of asn1TypedExports(f, readFileSync(f, 'utf8'))) out.add(n);
  }
  return out;
}

/** Violations of a rule over src, minus the listed exceptions, plus exceptions no longer needed. */
function ruleViolations(
  applies: (rel: string) => boolean,
  uses: (file: string, text: string) => string[],
  exceptions: Readonly<Record<string, string>>,
): string[] {
  const bad: string[] = [];
  const offenders = new Set<string>();
  for (const f of files) {
    const rel = relative(SRC, f).split(sep).join('/');
    if (!applies(rel)) continue;
    const found = uses(f, readFileSync(f, 'utf8'));
    if (found.length === 0) continue;
    offenders.add(rel);
    if (exceptions[rel] === undefined) bad.push(`${rel}: ${found.join(', ')}`);
  }
  for (const rel of Object.keys(exceptions)) {
    if (!offenders.has(rel)) bad.push(`${rel} is listed as an exception but no longer offends`);
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

  it('koa appears only under src/tsa/http and src/api', () => {
    const violations = [...graph]
      .filter(([, specs]) => specs.some((s) => s === 'koa' || s.startsWith('@koa/')))
      .map(([file]) => relative(SRC, file))
      .filter((f) => !f.startsWith(join('tsa', 'http')) && !f.startsWith(`api${sep}`));
    expect(violations).toEqual([]);
  });

  it('the API client (attestamp/client) reaches only itself and shared, and no server package', () => {
    const roots = files.filter((f) => moduleOf(f) === 'client');
    expect(roots.map((f) => relative(SRC, f))).toContain(join('client', 'index.ts'));
    const bad: string[] = [];
    for (const file of closure(roots)) {
      const m = moduleOf(file);
      if (m !== 'client' && m !== 'shared') bad.push(relative(SRC, file));
      for (const spec of graph.get(file) ?? []) {
        if (SERVER_PACKAGES.some((p) => spec === p || spec.startsWith(p))) {
          bad.push(`${relative(SRC, file)} imports ${spec}`);
        }
      }
    }
    expect(bad).toEqual([]);
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
      if (m === 'hsm' || m === 'tsa' || m === 'api' || m === 'cli') bad.push(relative(SRC, file));
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

  it('pkijs, asn1js and their objects stay inside src/pki (listed exceptions only)', () => {
    const typed = pkiAsn1TypedExports();
    expect(
      ruleViolations(
        (rel) => !rel.startsWith('pki/'),
        (f, text) => asn1ObjectUses(f, text, typed),
        ASN1_EXCEPTIONS,
      ),
    ).toEqual([]);
  });

  it('finds the pki exports that hand out pkijs or asn1js objects', () => {
    const typed = pkiAsn1TypedExports();
    for (const n of ['parseCertificate', 'signatureAlgorithmIdentifier', 'parseDer', 'pkijsName']) {
      expect(typed, n).toContain(n);
    }
    for (const n of ['parseCertificateFields', 'encodeSignatureAlgorithm', 'buildCertificate']) {
      expect(typed, n).not.toContain(n);
    }
  });

  it('SQL and database drivers appear only in the stores (listed exceptions only)', () => {
    expect(ruleViolations((rel) => !mayHoldSql(rel), sqlUses, SQL_EXCEPTIONS)).toEqual([]);
  });

  it('the pkijs rule catches imports, object members and pkijs-typed pki exports', () => {
    const typed = asn1TypedExports(
      'pki/x.ts',
      [
        "import * as pkijs from 'pkijs';",
        "import { Sequence } from 'asn1js';",
        'export function parse(der: Uint8Array): pkijs.Certificate { return x(der); }',
        'export function wrap(value: Sequence): Uint8Array { return y(value); }',
        'export const read = (d: Uint8Array): { cert: pkijs.Certificate } => z(d);',
        'export interface Parsed { readonly name: pkijs.RelativeDistinguishedNames }',
        'export function plain(der: Uint8Array): Uint8Array { return new pkijs.Certificate().x; }',
        'function internal(): pkijs.Certificate { return w(); }',
      ].join('\n'),
    );
    expect(typed.sort()).toEqual(['Parsed', 'parse', 'read', 'wrap']);
    const uses = (text: string): string[] => asn1ObjectUses('hsm/x.ts', text, new Set(typed));
    expect(uses("import * as asn1js from 'asn1js';")).toEqual(['imports asn1js']);
    expect(uses("import { Extension } from '@peculiar/asn1-x509';")).toEqual([
      'imports @peculiar/asn1-x509',
    ]);
    expect(uses("const m = await import('pkijs');")).toEqual(['imports pkijs']);
    expect(uses("import { parse, plain } from '../pki/index.js';")).toEqual([
      'takes parse from pki',
    ]);
    expect(uses("import * as pki from '../pki/index.js'; pki.read(d);")).toEqual([
      'takes read from pki',
    ]);
    expect(uses('const n = new Uint8Array(cert.subject.toSchema().toBER());').sort()).toEqual([
      'uses .toBER',
      'uses .toSchema',
    ]);
    expect(uses("import { plain } from '../pki/index.js'; // see .toSchema() in pki")).toEqual([]);
  });

  it('the SQL rule catches drivers and SQL in literals, not comments or prose', () => {
    expect(sqlUses('x.ts', "import Database from 'better-sqlite3';")).toEqual([
      'imports better-sqlite3',
    ]);
    expect(sqlUses('x.ts', "import pg from 'pg';")).toEqual(['imports pg']);
    expect(sqlUses('x.ts', "db.prepare('SELECT seq FROM audit').get();")).toEqual(['SQL SELECT']);
    expect(sqlUses('x.ts', 'db.exec(`CREATE TABLE t (a INTEGER)`);')).toEqual(['SQL CREATE TABLE']);
    expect(sqlUses('x.ts', 'q(`UPDATE keys SET state = ${s} WHERE id = 1`);')).toEqual([
      'SQL UPDATE keys SET',
    ]);
    expect(
      sqlUses('x.ts', "db.pragma('journal_mode = WAL'); db.exec('PRAGMA foreign_keys');"),
    ).toEqual(['SQL PRAGMA']);
    expect(
      sqlUses(
        'x.ts',
        "// SELECT in a comment\nthrow new Error('select a partition, then update it');",
      ),
    ).toEqual([]);
    expect(mayHoldSql('hsm/store/sqlite/keys.ts')).toBe(true);
    expect(mayHoldSql('tsa/archive/postgres.ts')).toBe(true);
    expect(mayHoldSql('tsa/archive.ts')).toBe(true);
    expect(mayHoldSql('tsa/archive-writer.ts')).toBe(false);
    expect(mayHoldSql('hsm/keys.ts')).toBe(false);
  });

  it('a listed exception that no longer offends fails the rule', () => {
    const violations = ruleViolations(
      () => false,
      () => ['x'],
      { 'hsm/gone.ts': 'fixed' },
    );
    expect(violations).toEqual(['hsm/gone.ts is listed as an exception but no longer offends']);
  });

  it('the checker itself catches a forbidden edge', () => {
    // A synthetic pki file importing hsm must be reported by the same rule.
    const from: Module = 'pki';
    const to: Module = 'hsm';
    expect(ALLOWED[from].includes(to)).toBe(false);
    expect(specifiers("import { Hsm } from '../hsm/index.js';")).toEqual(['../hsm/index.js']);
  });
});

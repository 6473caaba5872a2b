// The command framework: each command declares its positionals and options once; parsing,
// --help, and usage errors that name the bad argument are handled here.
import { parseArgs } from 'node:util';
import { closeNames } from './close-names.js';
import { UsageError } from './exit-codes.js';
import type { Io } from './output.js';

export { closeNames };

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly value?: string;
  readonly description: string;
}

export type OptionValues = Readonly<Record<string, string | boolean | string[] | undefined>>;

export interface Invocation {
  readonly io: Io;
  readonly positionals: readonly string[];
  readonly options: OptionValues;
}

export interface Command {
  readonly path: readonly string[];
  readonly summary: string;
  /** Names of the required positionals, in order (shown in usage). */
  readonly positionals: readonly string[];
  /** The last positional may be repeated (`FILE...`). */
  readonly variadic?: boolean;
  /** Positionals that may follow the required ones, in order (shown as `[NAME]`). */
  readonly optionalPositionals?: readonly string[];
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Extra paragraphs for --help. */
  readonly details?: string;
  run(invocation: Invocation): Promise<number>;
}

export const COMMON_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  data: {
    type: 'string',
    value: 'DIR',
    description: 'data folder (default: $ATTESTAMP_DATA or ./data)',
  },
  store: {
    type: 'string',
    value: 'URL',
    description:
      'device store in PostgreSQL, postgres://USER@HOST:PORT/DB (default: $ATTESTAMP_STORE, else the SQLite files under --data)',
  },
  json: { type: 'boolean', description: 'print machine-readable JSON' },
  help: { type: 'boolean', description: 'show this help' },
};

/** Options that may stand anywhere on the line, also before the command's name. */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  ...COMMON_OPTIONS,
  version: { type: 'boolean', description: 'print the version and exit' },
};

export function usageLine(command: Command): string {
  const optional = (command.optionalPositionals ?? []).map((p) => `[${p}]`);
  const pos =
    [...command.positionals, ...optional].join(' ') + (command.variadic === true ? '...' : '');
  return `attestamp ${command.path.join(' ')}${pos ? ' ' + pos : ''} [options]`;
}

export function helpText(command: Command): string {
  const all = { ...command.options, ...COMMON_OPTIONS };
  const lines = [`Usage: ${usageLine(command)}`, '', command.summary, ''];
  if (command.details !== undefined) lines.push(command.details.trim(), '');
  lines.push('Options:');
  for (const [name, spec] of Object.entries(all)) {
    const flag = `--${name}${spec.value === undefined ? '' : ' ' + spec.value}`;
    lines.push(`  ${flag.padEnd(30)} ${spec.description}`);
  }
  return lines.join('\n') + '\n';
}

export function parseInvocation(
  command: Command,
  argv: readonly string[],
  io: Io,
): Invocation | 'help' {
  const all = { ...command.options, ...COMMON_OPTIONS };
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const [name, spec] of Object.entries(all)) {
    options[name] =
      spec.multiple === true ? { type: spec.type, multiple: true } : { type: spec.type };
  }
  // Parsed leniently with tokens, then checked here, so that each message names the option in
  // one line of our own words (parseArgs' strict messages carry multi-line advice) and never
  // repeats a value, which may be a secret typed in the wrong place.
  const parsed = parseArgs({
    args: [...argv],
    options,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const see = `(see attestamp ${command.path.join(' ')} --help)`;
  for (const token of parsed.tokens) {
    if (token.kind !== 'option') continue;
    const spec = all[token.name];
    if (spec === undefined) {
      const near = closeNames(token.name, Object.keys(all));
      const hint =
        near.length > 0 ? `; did you mean ${near.map((n) => `--${n}`).join(' or ')}?` : '';
      throw new UsageError(`unknown option '${token.rawName}'${hint} ${see}`);
    }
    // A following option is not a value (`--label --json`): parseArgs would take it as one.
    const swallowed = token.inlineValue === false && token.value.startsWith('--');
    if (spec.type === 'string' && (token.value === undefined || swallowed)) {
      throw new UsageError(`--${token.name} needs a value${spec.value ? ` (${spec.value})` : ''}`);
    }
    if (spec.type === 'boolean' && token.inlineValue === true) {
      throw new UsageError(`--${token.name} takes no value`);
    }
    if (spec.type === 'string' && spec.multiple !== true) {
      const count = parsed.tokens.filter(
        (t) => t.kind === 'option' && t.name === token.name,
      ).length;
      if (count > 1)
        throw new UsageError(`--${token.name} given ${String(count)} times; give it once`);
    }
  }
  if (parsed.values.help === true) return 'help';
  const expected = command.positionals.length;
  if (parsed.positionals.length < expected) {
    const missing = command.positionals[parsed.positionals.length] ?? 'argument';
    throw new UsageError(`missing ${missing} ${see}`);
  }
  const most = expected + (command.optionalPositionals?.length ?? 0);
  if (parsed.positionals.length > most && command.variadic !== true) {
    const names = [
      ...command.positionals,
      ...(command.optionalPositionals ?? []).map((p) => `[${p}]`),
    ];
    const takes = most === 0 ? 'takes no arguments' : `takes ${names.join(' ')}`;
    throw new UsageError(
      `unexpected argument number ${String(most + 1)}: this command ${takes} ${see}`,
    );
  }
  return { io, positionals: parsed.positionals, options: parsed.values };
}

export function stringOption(inv: Invocation, name: string): string | undefined {
  const v = inv.options[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new UsageError(`--${name} needs a value`);
  if (v.length === 0) throw new UsageError(`--${name} must not be empty`);
  return v;
}

export function requiredOption(inv: Invocation, name: string): string {
  const v = stringOption(inv, name);
  if (v === undefined) throw new UsageError(`missing --${name}`);
  return v;
}

export function flag(inv: Invocation, name: string): boolean {
  return inv.options[name] === true;
}

/** Parses an on/off switch value, naming the option when it is neither. */
export function onOff(inv: Invocation, name: string): boolean | undefined {
  const v = stringOption(inv, name);
  if (v === undefined) return undefined;
  if (v === 'on' || v === 'true') return true;
  if (v === 'off' || v === 'false') return false;
  throw new UsageError(`--${name} must be on or off`);
}

// The command framework: each command declares its positionals and options once; parsing,
// --help, and usage errors that name the bad argument are handled here.
import { parseArgs } from 'node:util';
import { UsageError } from './exit-codes.js';
import type { Io } from './output.js';

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
  json: { type: 'boolean', description: 'print machine-readable JSON' },
  help: { type: 'boolean', description: 'show this help' },
};

export function usageLine(command: Command): string {
  const pos = command.positionals.join(' ');
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
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : 'invalid arguments');
  }
  if (parsed.values.help === true) return 'help';
  const expected = command.positionals.length;
  if (parsed.positionals.length < expected) {
    const missing = command.positionals[parsed.positionals.length] ?? 'argument';
    throw new UsageError(`missing ${missing}`);
  }
  if (parsed.positionals.length > expected) {
    throw new UsageError(`unexpected argument '${parsed.positionals[expected] ?? ''}'`);
  }
  return { io, positionals: parsed.positionals, options: parsed.values as OptionValues };
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

// The operator CLI: finds the command, runs it, and turns every error into a message that names
// the problem and a distinct exit code. Never prints secrets or stack traces.
import { AttestampError } from '../shared/index.js';
import {
  closeNames,
  GLOBAL_OPTIONS,
  helpText,
  parseInvocation,
  usageLine,
  type Command,
} from './command.js';
import { completionScript } from './completion.js';
import { packageVersion } from './version.js';
import { COMMAND_INDEX, type CommandEntry } from './commands/index.js';
import { approvalHint } from './approval-hint.js';
import { CliError, EXIT, InputError, UsageError } from './exit-codes.js';
import { jsonText, type Io } from './output.js';

/** Every command, loaded (for the top help, shell completion and tests). */
export async function loadCommands(): Promise<Command[]> {
  return Promise.all(COMMAND_INDEX.map((entry) => entry.load()));
}

async function topHelp(): Promise<string> {
  const lines = [
    'Usage: attestamp COMMAND [options]   (attestamp COMMAND --help for details)',
    '',
    'attestamp: RFC 3161 time-stamp authority on a software HSM with key attestation.',
    'A software HSM is not a certified module: keys are protected by the master key only.',
    '',
    'Commands:',
  ];
  for (const c of await loadCommands()) {
    lines.push(`  ${c.path.join(' ').padEnd(22)} ${c.summary}`);
  }
  lines.push(
    `  ${'completion bash|zsh'.padEnd(22)} Print a shell completion script.`,
    '',
    'Global options (anywhere on the line): --data DIR, --json, --help, --version.',
    '',
    'Exit codes: 0 ok, 1 failure, 2 refused by policy, 3 not found, 4 integrity failure,',
    '5 already exists, 6 audit log does not extend the recorded head, 7 approval request',
    'made or waiting (guarded by a quorum rule), 64 usage error,',
    '65 bad input data, 69 service unavailable, 73 store not writable (permission),',
    '74 no space left, 75 store locked (try again), 77 authentication failed.',
  );
  return lines.join('\n') + '\n';
}

/** Help for a group of commands (`attestamp key --help`): its subcommands, one a line. */
async function groupHelp(
  prefix: readonly string[],
  entries: readonly CommandEntry[],
): Promise<string> {
  const group = await Promise.all(entries.map((entry) => entry.load()));
  const lines = [`Usage: attestamp ${prefix.join(' ')} SUBCOMMAND [options]`, '', 'Subcommands:'];
  for (const c of group) lines.push(`  ${usageLine(c).padEnd(56)} ${c.summary}`);
  lines.push('', `attestamp ${prefix.join(' ')} SUBCOMMAND --help shows the options of one.`);
  return lines.join('\n') + '\n';
}

/**
 * Global options may stand anywhere, also before the command (`attestamp --data D key list`):
 * they are taken out of the words that name the command and handed to it after them.
 */
function splitGlobals(argv: readonly string[]): { words: string[]; globals: string[] } {
  const words: string[] = [];
  const globals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      words.push(...argv.slice(i));
      break;
    }
    const name = arg.startsWith('--') ? arg.slice(2).split('=')[0] : undefined;
    const spec = name === undefined ? undefined : GLOBAL_OPTIONS[name];
    if (spec === undefined && arg !== '-h') {
      words.push(arg);
      continue;
    }
    globals.push(arg);
    if (spec?.type === 'string' && !arg.includes('=') && i + 1 < argv.length) {
      globals.push(argv[++i] ?? '');
    }
  }
  return { words, globals: globals.map((g) => (g === '-h' ? '--help' : g)) };
}

function findCommand(
  words: readonly string[],
): { entry: CommandEntry; rest: string[] } | undefined {
  for (const c of [...COMMAND_INDEX].sort((a, b) => b.path.length - a.path.length)) {
    if (c.path.every((word, i) => words[i] === word)) {
      return { entry: c, rest: words.slice(c.path.length) };
    }
  }
  return undefined;
}

/** The longest run of leading words that starts some command's path, and those commands. */
function findGroup(words: readonly string[]): { prefix: string[]; group: CommandEntry[] } {
  let prefix: string[] = [];
  let group: CommandEntry[] = [];
  for (let n = 1; n <= words.length; n++) {
    const p = words.slice(0, n);
    const g = COMMAND_INDEX.filter(
      (c) => c.path.length > n - 1 && p.every((w, i) => c.path[i] === w),
    );
    if (g.length === 0) break;
    prefix = p;
    group = g;
  }
  return { prefix, group };
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  const { words, globals } = splitGlobals(argv);
  const wantsHelp = globals.includes('--help');
  const wantsJson = globals.includes('--json');
  if (globals.includes('--version')) {
    io.stdout(`attestamp ${packageVersion()}\n`);
    return EXIT.ok;
  }
  if (words.length === 0 || words[0] === 'help') {
    if (wantsHelp || words[0] === 'help') {
      io.stdout(await topHelp());
      return EXIT.ok;
    }
    io.stderr(await topHelp());
    return EXIT.usage;
  }
  if (words[0] === 'completion') return completion(words.slice(1), wantsHelp, io);
  const found = findCommand(words);
  if (found === undefined) {
    const { prefix, group } = findGroup(words);
    if (group.length === 0) {
      const near = closeNames(words[0] ?? '', [
        ...new Set(COMMAND_INDEX.map((c) => c.path[0] ?? '')),
      ]);
      const hint = near.length > 0 ? `; did you mean ${near.join(' or ')}?` : '';
      const message = `unknown command '${words[0] ?? ''}'${hint} (see attestamp --help)`;
      io.stderr(`attestamp: ${message}\n`);
      if (wantsJson) io.stdout(jsonText(errorDocument(new UsageError(message), EXIT.usage)));
      return EXIT.usage;
    }
    if (wantsHelp && prefix.length === words.length) {
      io.stdout(await groupHelp(prefix, group));
      return EXIT.ok;
    }
    const next = words[prefix.length];
    const message = next === undefined ? 'missing subcommand' : `unknown subcommand '${next}'`;
    io.stderr(`attestamp ${prefix.join(' ')}: ${message}\n`);
    io.stderr(await groupHelp(prefix, group));
    if (wantsJson) io.stdout(jsonText(errorDocument(new UsageError(message), EXIT.usage)));
    return EXIT.usage;
  }
  const { entry, rest } = found;
  const command = await entry.load();
  try {
    const inv = parseInvocation(command, [...rest, ...globals], io);
    if (inv === 'help') {
      io.stdout(helpText(command));
      return EXIT.ok;
    }
    return await command.run(inv);
  } catch (error) {
    const code = await (await import('./error-exit.js')).exitCodeFor(error);
    io.stderr(`attestamp ${command.path.join(' ')}: ${describe(error)}\n`);
    const hint = approvalHint(error);
    if (hint !== undefined) io.stderr(hint);
    if (wantsJson) io.stdout(jsonText(errorDocument(error, code)));
    return code;
  }
}

/** The one JSON document of a failed command under --json (schemas/cli/error.schema.json). */
export function errorDocument(
  error: unknown,
  exitCode: number,
): {
  error: { code: string; message: string; details?: Record<string, unknown> };
  exitCode: number;
} {
  let code = 'internal';
  if (error instanceof CliError) code = error.code;
  else if (error instanceof UsageError) code = 'usage';
  else if (error instanceof InputError) code = 'bad-input';
  else if (error instanceof AttestampError) code = (error as AttestampError).code;
  else if (error instanceof Error && 'code' in error && typeof error.code === 'string') code = 'io';
  const message =
    error instanceof UsageError ||
    error instanceof InputError ||
    error instanceof CliError ||
    error instanceof AttestampError
      ? error.message
      : describe(error);
  const details =
    error instanceof AttestampError && error.details !== undefined
      ? Object.fromEntries(Object.entries(error.details).filter(([, v]) => v !== undefined))
      : undefined;
  return { error: { code, message, ...(details === undefined ? {} : { details }) }, exitCode };
}

async function completion(args: readonly string[], help: boolean, io: Io): Promise<number> {
  const shell = args[0];
  if (!help && args.length === 1 && (shell === 'bash' || shell === 'zsh')) {
    io.stdout(completionScript(shell, await loadCommands()));
    return EXIT.ok;
  }
  if (help) {
    io.stdout(
      'Usage: attestamp completion bash|zsh\n\nPrint a completion script, e.g.\n' +
        '  source <(attestamp completion bash)\n' +
        '  attestamp completion zsh > "${fpath[1]}/_attestamp"\n',
    );
    return EXIT.ok;
  }
  io.stderr('attestamp completion: name the shell: bash or zsh\n');
  return EXIT.usage;
}

/** A one-line description that never includes secrets: codes, messages and safe details only. */
function describe(error: unknown): string {
  if (error instanceof UsageError || error instanceof InputError) return error.message;
  if (error instanceof CliError) return `${error.message} [${error.code}]`;
  if (error instanceof AttestampError) {
    const details = error.details
      ? Object.entries(error.details)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(' ')
      : '';
    return `${error.message} [${error.code}]${details ? ' ' + details : ''}`;
  }
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') {
    // File-system errors: the code and message name the path, which is not secret.
    return error.message;
  }
  return error instanceof Error ? `internal error: ${error.message}` : 'internal error';
}

// The operator CLI: finds the command, runs it, and turns every error into a message that names
// the problem and a distinct exit code. Never prints secrets or stack traces.
import { AttestampError } from '../shared/index.js';
import { helpText, parseInvocation, usageLine, type Command } from './command.js';
import { auditExport, auditHead, auditVerify } from './commands/audit.js';
import { archiveExport, archiveFind, archiveVerify } from './commands/archive.js';
import { chain } from './commands/chain.js';
import { serve } from './commands/serve.js';
import { factoryInit, init, start, status } from './commands/device.js';
import {
  keyAttest,
  keyDelete,
  keyExport,
  keyGenerate,
  keyImport,
  keyList,
  keyPurge,
  keyRestore,
  keyShow,
} from './commands/key.js';
import {
  partitionCreate,
  partitionList,
  partitionPolicy,
  partitionShow,
} from './commands/partition.js';
import { EXIT, exitCodeFor, InputError, UsageError } from './exit-codes.js';
import type { Io } from './output.js';

export const COMMANDS: readonly Command[] = [
  start,
  serve,
  init,
  status,
  factoryInit,
  partitionCreate,
  partitionList,
  partitionShow,
  partitionPolicy,
  keyGenerate,
  keyList,
  keyShow,
  keyAttest,
  keyDelete,
  keyRestore,
  keyPurge,
  keyExport,
  keyImport,
  keyAttest,
  chain,
  auditVerify,
  auditHead,
  auditExport,
  archiveVerify,
  archiveExport,
  archiveFind,
];

function topHelp(): string {
  const lines = [
    'Usage: attestamp COMMAND [options]   (attestamp COMMAND --help for details)',
    '',
    'attestamp: RFC 3161 time-stamp authority on a software HSM with key attestation.',
    'A software HSM is not a certified module: keys are protected by the master key only.',
    '',
    'Commands:',
  ];
  for (const c of COMMANDS) lines.push(`  ${c.path.join(' ').padEnd(22)} ${c.summary}`);
  lines.push(
    '',
    'Exit codes: 0 ok, 1 failure, 2 refused by policy, 3 not found, 4 integrity failure,',
    '5 already exists, 64 usage error, 65 bad input data, 77 authentication failed.',
  );
  return lines.join('\n') + '\n';
}

function findCommand(argv: readonly string[]): { command: Command; rest: string[] } | undefined {
  for (const c of [...COMMANDS].sort((a, b) => b.path.length - a.path.length)) {
    if (c.path.every((word, i) => argv[i] === word)) {
      return { command: c, rest: argv.slice(c.path.length) };
    }
  }
  return undefined;
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.stdout(topHelp());
    return argv.length === 0 ? EXIT.usage : EXIT.ok;
  }
  const found = findCommand(argv);
  if (found === undefined) {
    const group = COMMANDS.filter((c) => c.path[0] === argv[0]);
    if (group.length > 0) {
      io.stderr(`attestamp: unknown ${argv[0] ?? ''} command '${argv[1] ?? ''}'\n`);
      for (const c of group) io.stderr(`  ${usageLine(c)}\n`);
    } else {
      io.stderr(`attestamp: unknown command '${argv[0] ?? ''}' (see attestamp --help)\n`);
    }
    return EXIT.usage;
  }
  const { command, rest } = found;
  try {
    const inv = parseInvocation(command, rest, io);
    if (inv === 'help') {
      io.stdout(helpText(command));
      return EXIT.ok;
    }
    return await command.run(inv);
  } catch (error) {
    const code = exitCodeFor(error);
    io.stderr(`attestamp ${command.path.join(' ')}: ${describe(error)}\n`);
    if (code === EXIT.usage) io.stderr(`usage: ${usageLine(command)}\n`);
    return code;
  }
}

/** A one-line description that never includes secrets: codes, messages and safe details only. */
function describe(error: unknown): string {
  if (error instanceof UsageError || error instanceof InputError) return error.message;
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

// Command-line conventions of the operator CLI, as a subprocess: --version, global options
// anywhere, --help on every command and group, one-line usage errors that never repeat a value,
// a quiet end on a closed pipe, and completion scripts generated from the command table.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCommands } from '../../src/cli/main.js';
import { BIN, runCli, runMain } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';

const COMMANDS = await loadCommands();
let cwd: string;
const cli = (args: string[]) => runCli(args, { cwd });
const version = JSON.parse(
  spawnSync('npm', ['pkg', 'get', 'version'], { encoding: 'utf8' }).stdout,
) as string;

beforeAll(() => {
  cwd = tempDir();
  expect(runCli(['init', '--data', join(cwd, 'store')], { cwd }).code).toBe(0);
});

describe('operator CLI conventions', () => {
  it('--version prints the package version, also after a command', () => {
    for (const args of [['--version'], ['key', 'list', '--version']]) {
      const r = cli(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`attestamp ${version}\n`);
    }
  });

  it('global options may stand before the command', () => {
    const before = cli(['--data', join(cwd, 'store'), '--json', 'partition', 'list']);
    const after = cli(['partition', 'list', '--data', join(cwd, 'store'), '--json']);
    expect(before.code).toBe(0);
    expect(before.stdout).toBe(after.stdout);
    expect(JSON.parse(before.stdout)).toEqual(JSON.parse(after.stdout));
  });

  it('--help exits 0 with its own text on every command and every group', async () => {
    // In process (the binary is a three-line shell around main); the binary itself is checked
    // for one command and one group below.
    const help = (args: string[]) => runMain(args, { cwd });
    const groups = new Set<string>();
    for (const c of COMMANDS) {
      const r = await help([...c.path, '--help']);
      expect(r.code, c.path.join(' ')).toBe(0);
      expect(r.stdout).toContain(`Usage: attestamp ${c.path.join(' ')}`);
      expect(r.stdout).toContain(c.summary);
      for (let n = 1; n < c.path.length; n++) groups.add(c.path.slice(0, n).join(' '));
    }
    expect([...groups].sort()).toEqual(
      expect.arrayContaining([
        'approvals',
        'audit',
        'key',
        'officer',
        'partition',
        'quorum',
        'tsa',
        'tsa archive',
      ]),
    );
    for (const g of groups) {
      const r = await help([...g.split(' '), '--help']);
      expect(r.code, g).toBe(0);
      expect(r.stdout).toContain(`Usage: attestamp ${g} SUBCOMMAND`);
      for (const c of COMMANDS.filter((x) => x.path.join(' ').startsWith(g + ' '))) {
        expect(r.stdout, g).toContain(c.path.join(' '));
      }
    }
  });

  it('the binary answers --help for a command and a group as main does', async () => {
    for (const args of [
      ['key', 'generate', '--help'],
      ['tsa', 'archive', '--help'],
    ]) {
      const binary = cli(args);
      expect(binary.code, args.join(' ')).toBe(0);
      expect(binary.stdout).toBe((await runMain(args, { cwd })).stdout);
    }
  });

  it('a group without its subcommand lists them and exits 64', () => {
    const r = cli(['tsa', 'archive']);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('attestamp tsa archive: missing subcommand');
    expect(r.stderr).toContain('tsa archive verify');
    const unknown = cli(['key', 'frobnicate']);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain("unknown subcommand 'frobnicate'");
  });

  it('the top-level help lists each command once', () => {
    const r = cli(['--help']);
    for (const c of COMMANDS) {
      const line = new RegExp(
        `^  ${c.path.join(' ')} +${c.summary.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
        'gm',
      );
      expect(r.stdout.match(line), c.path.join(' ')).toHaveLength(1);
    }
  });

  it('usage errors are one line that names the flag and exits 64', () => {
    const cases: [string[], string][] = [
      [['key', 'list', 'default', '--colour'], "unknown option '--colour'"],
      [['key', 'list', 'default', '--jsn'], 'did you mean --json'],
      [['key', 'show', 'default', 'a', 'b'], 'unexpected argument number 3'],
      [['key', 'generate', 'default', '--label'], '--label needs a value'],
      [['key', 'list', 'default', '--json=yes'], '--json takes no value'],
      [['kee', 'list'], 'did you mean key'],
    ];
    for (const [args, text] of cases) {
      const r = cli(['--data', join(cwd, 'store'), ...args]);
      expect(r.code, args.join(' ')).toBe(64);
      expect(r.stderr, args.join(' ')).toContain(text);
      expect(r.stderr.trimEnd().split('\n'), args.join(' ')).toHaveLength(1);
    }
  });

  it('a value in the wrong place is never repeated back', () => {
    const secret = 'a'.repeat(64);
    const r = cli(['key', 'show', 'default', 'label', secret]);
    expect(r.code).toBe(64);
    expect(r.stderr).not.toContain(secret);
  });

  it('a wrong --data folder is "not found" (3) and says what to do', () => {
    const r = cli(['--data', join(cwd, 'nowhere'), 'key', 'list', 'default']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('store-not-found');
    expect(r.stderr).toContain('attestamp init');
  });

  it('a reader that closes the pipe early ends the command quietly', () => {
    const r = spawnSync(
      'sh',
      [
        '-c',
        `"${process.execPath}" "${BIN}" --data "${join(cwd, 'store')}" audit export | head -c 10`,
      ],
      { encoding: 'utf8', cwd },
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toHaveLength(10);
    expect(r.stderr).not.toContain('EPIPE');
    expect(r.stderr).not.toContain('Error');
  });
});

describe('--json errors', () => {
  it('every failure under --json is one JSON document naming the code, also for usage errors', () => {
    const cases: [string[], number, string][] = [
      [['key', 'list', 'default', '--colour', '--json'], 64, 'usage'],
      [['--json', 'kee', 'list'], 64, 'usage'],
      [['--json', 'tsa', 'archive'], 64, 'usage'],
      [['--data', join(cwd, 'nowhere'), 'key', 'list', 'default', '--json'], 3, 'store-not-found'],
      [
        ['--data', join(cwd, 'store'), 'key', 'show', 'default', 'nope', '--json'],
        3,
        'key-not-found',
      ],
      [
        ['--data', join(cwd, 'store'), 'partition', 'show', 'nope', '--json'],
        3,
        'partition-not-found',
      ],
    ];
    for (const [args, exit, code] of cases) {
      const r = cli(args);
      expect(r.code, args.join(' ')).toBe(exit);
      const doc = JSON.parse(r.stdout) as {
        error: { code: string; message: string; details?: Record<string, unknown> };
        exitCode: number;
      };
      expect(Object.keys(doc).sort(), args.join(' ')).toEqual(['error', 'exitCode']);
      expect(doc.exitCode).toBe(exit);
      expect(doc.error.code, args.join(' ')).toBe(code);
      expect(doc.error.message.length).toBeGreaterThan(0);
    }
  });

  it('without --json an error prints nothing on standard output', () => {
    const r = cli(['--data', join(cwd, 'store'), 'key', 'show', 'default', 'nope']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('key-not-found');
  });
});

describe('shell completion', () => {
  it('needs the shell named', () => {
    expect(cli(['completion']).code).toBe(64);
    expect(cli(['completion', 'fish']).code).toBe(64);
    expect(cli(['completion', '--help']).code).toBe(0);
  });

  it('bash completes commands, subcommands and options from the command table', () => {
    const r = cli(['completion', 'bash']);
    expect(r.code).toBe(0);
    const script = join(cwd, 'attestamp.bash');
    writeFileSync(script, r.stdout);
    const words = (...typed: string[]): string[] =>
      spawnSync('bash', ['-c', `source "${script}"; _attestamp_words "$@"`, '_', ...typed], {
        encoding: 'utf8',
      })
        .stdout.split(' ')
        .filter((w) => w !== '');
    expect(words()).toEqual(expect.arrayContaining(['key', 'partition', 'tsa', 'completion']));
    expect(words('key')).toEqual(expect.arrayContaining(['generate', 'list', 'attest']));
    expect(words('tsa', 'archive')).toEqual(expect.arrayContaining(['verify', 'export', 'find']));
    // After the positionals the options of the command are offered.
    const generate = COMMANDS.find((c) => c.path.join(' ') === 'key generate')!;
    expect(words('key', 'generate', 'default')).toEqual(
      expect.arrayContaining([...Object.keys(generate.options).map((o) => `--${o}`), '--data']),
    );
    const complete = spawnSync(
      'bash',
      [
        '-c',
        `source "${script}"; COMP_WORDS=(attestamp key gen); COMP_CWORD=2; _attestamp; printf '%s\\n' "\${COMPREPLY[@]}"`,
      ],
      { encoding: 'utf8' },
    );
    expect(complete.stdout.trim()).toBe('generate');
  });

  describe.skipIf(requireTool('zsh'))('zsh', () => {
    it('the zsh script is valid zsh', () => {
      const r = cli(['completion', 'zsh']);
      expect(r.code).toBe(0);
      expect(r.stdout.startsWith('#compdef attestamp\n')).toBe(true);
      const file = join(cwd, '_attestamp');
      writeFileSync(file, r.stdout);
      const check = spawnSync('zsh', ['-n', file], { encoding: 'utf8' });
      expect(check.stderr).toBe('');
      expect(check.status).toBe(0);
      const words = spawnSync(
        'zsh',
        ['-c', `compdef() { :; }; source "${file}"; _attestamp_words key`],
        { encoding: 'utf8' },
      );
      expect(words.stdout).toContain('generate');
    });
  });
});

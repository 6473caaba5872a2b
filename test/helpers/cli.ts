// Runs the built operator CLI as a subprocess and captures its exit code and output.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

export const BIN = resolve(import.meta.dirname, '../../dist/src/cli/attestamp.js');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(
  args: readonly string[],
  options: { cwd: string; env?: Readonly<Record<string, string>>; input?: string },
): CliResult {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('ATTESTAMP_')) env[k] = v;
  }
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: { ...env, ...options.env },
    encoding: 'utf8',
    timeout: 60_000,
    ...(options.input === undefined ? {} : { input: options.input }),
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

// Runs the built standalone verifier (attestamp-verify), or any other program, as a subprocess and
// captures its exit code and output.
import { spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import type { CliResult } from './cli.js';

export const VERIFY_BIN = resolve(import.meta.dirname, '../../dist/src/cli/attestamp-verify.js');

export function runVerify(args: readonly string[], options: { cwd: string }): CliResult {
  const r = spawnSync(process.execPath, [VERIFY_BIN, ...args], {
    cwd: options.cwd,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a program without blocking, so that several can run at once. */
export function runProgram(
  program: string,
  args: readonly string[],
  options: { cwd: string },
): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(program, [...args], {
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', fail);
    child.on('close', (code) => {
      done({ code: code ?? -1, stdout, stderr });
    });
  });
}

export function runVerifyAsync(
  args: readonly string[],
  options: { cwd: string },
): Promise<CliResult> {
  return runProgram(process.execPath, [VERIFY_BIN, ...args], options);
}

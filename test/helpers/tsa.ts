// Starts the real TSA (`attestamp start|serve --port 0`) as a subprocess and stops it again.
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN } from './cli.js';
import { waitForMatch } from './wait.js';

export interface RunningTsa {
  readonly port: number;
  readonly url: string;
  readonly child: ChildProcess;
  stderr(): string;
  /** Everything the server printed on standard output so far. */
  stdout(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** How long startTsa waits for the listening line (the suite's test timeout is 60 s). */
const START_TIMEOUT_MS = 40_000;

export function startTsa(
  cwd: string,
  args: readonly string[] = ['start', '--port', '0'],
  env: Readonly<Record<string, string>> = {},
): Promise<RunningTsa> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    // Shorter than the test timeout, so that a server that never listens is reported with what
    // it printed instead of as a bare test timeout.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `the TSA did not start in ${START_TIMEOUT_MS} ms; stdout: ${out}; stderr: ${err}`,
        ),
      );
    }, START_TIMEOUT_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the TSA exited with ${String(code)} before listening: ${err}`));
    });
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/[^\s]+:(\d+)\/)/.exec(out);
      if (m === null) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({
        port: Number(m[2]),
        url: m[1]!,
        child,
        stderr: () => err,
        stdout: () => out,
        stop: () =>
          new Promise((done) => {
            if (child.exitCode !== null) {
              done(child.exitCode);
              return;
            }
            child.once('exit', (code) => {
              done(code);
            });
            child.kill('SIGTERM');
          }),
      });
    });
  });
}

/** POSTs a body to the TSA and returns status, content type and bytes. */
export async function post(
  url: string,
  body: Uint8Array,
  contentType = 'application/timestamp-query',
  signal?: AbortSignal,
  headers: Readonly<Record<string, string>> = {},
): Promise<{ status: number; type: string | null; body: Uint8Array }> {
  const r = await fetch(url, {
    method: 'POST',
    body,
    headers: { ...headers, 'content-type': contentType },
    ...(signal === undefined ? {} : { signal }),
  });
  return {
    status: r.status,
    type: r.headers.get('content-type'),
    body: new Uint8Array(await r.arrayBuffer()),
  };
}

/**
 * The URL of a listener that the server names in a start-up line printed after the HTTP one
 * startTsa waits for: its HTTPS listener or its metrics listener, on `host`. Waited for.
 */
export async function listenerUrl(
  tsa: RunningTsa,
  kind: 'https' | 'metrics',
  host = '127.0.0.1',
): Promise<string> {
  const at = host.replace(/\./g, '\\.');
  const pattern =
    kind === 'https'
      ? new RegExp(`listening on (https://${at}:\\d+/)`)
      : new RegExp(`metrics on (http://${at}:\\d+/metrics)`);
  return (await waitForMatch(`the ${kind} listener line`, () => tsa.stdout(), pattern))[1]!;
}

// Where the CLI writes: injected streams so that commands can be run in-process by tests.

export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

export const processIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
};

/** JSON replacer: byte arrays as hex, dates as ISO strings. */
export function jsonText(value: unknown): string {
  return (
    JSON.stringify(
      value,
      (_key, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v),
      2,
    ) + '\n'
  );
}

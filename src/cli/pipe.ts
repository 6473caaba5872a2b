// Standard streams of the two command lines: a closed pipe ends the process quietly.

/**
 * A reader that stops early (`attestamp audit export | head`) closes the pipe: end quietly, as
 * Unix tools do, instead of dying with an EPIPE stack trace. Other stream errors still surface.
 */
export function endQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
}

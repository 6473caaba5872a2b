#!/usr/bin/env node
// Entry point of the standalone verifier (`attestamp-verify`).
import { endQuietlyOnClosedPipe } from './pipe.js';
import { verifyMain } from './verify.js';

endQuietlyOnClosedPipe();
process.exitCode = await verifyMain(process.argv.slice(2), {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  now: () => new Date(),
});

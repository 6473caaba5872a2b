#!/usr/bin/env node
// Entry point of the standalone verifier (`attestamp-verify`).
import { verifyMain } from './verify.js';

process.exitCode = await verifyMain(process.argv.slice(2), {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  now: () => new Date(),
});

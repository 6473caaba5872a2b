// Test runner configuration: one suite for unit, adversarial, integration and interop tests.
import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // One test file per core, at least two: most files wait on the CLI, servers and interop
    // clients they start, so vitest's default (one core left free) leaves a two-core machine
    // running the files one at a time.
    maxWorkers: Math.max(2, availableParallelism()),
  },
});

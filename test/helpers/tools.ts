// Third-party command-line clients for the interop tests: present on PATH, or skipped locally and
// a failure when CI=true (ARCHITECTURE.md, "Tests").
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { expect, it } from 'vitest';

/** Whether an executable of this name is on PATH. */
export function hasTool(name: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not in this folder
    }
  }
  return false;
}

/**
 * Returns true when the tests that need these tools must be skipped (for `describe.skipIf`).
 * With CI=true a missing tool also registers a failing test, so the run cannot pass without it.
 */
export function requireTool(...names: readonly string[]): boolean {
  const missing = names.filter((n) => !hasTool(n));
  if (missing.length === 0) return false;
  if (process.env.CI === 'true') {
    it(`the interop clients ${names.join(', ')} are installed (CI=true)`, () => {
      expect.fail(`missing on PATH: ${missing.join(', ')}`);
    });
  }
  return true;
}

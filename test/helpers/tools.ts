// Third-party command-line clients for the interop tests: present on PATH, or skipped locally and
// a failure when CI=true (ARCHITECTURE.md, "Tests").
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { expect, it, type TestContext } from 'vitest';

/** The path of the executable of this name on PATH, if there is one. */
export function toolPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/** Whether an executable of this name is on PATH. */
export function hasTool(name: string): boolean {
  return toolPath(name) !== undefined;
}

/**
 * Returns true when the tests that need these tools must be skipped (for `describe.skipIf`).
 * With CI=true a missing tool also registers a failing test, so the run cannot pass without it.
 */
export function requireTool(...names: readonly string[]): boolean {
  const missing = names.filter((n) => !hasTool(n));
  return requireAvailable(
    names.join(', '),
    missing.length === 0 ? undefined : `on PATH: ${missing.join(', ')}`,
  );
}

/**
 * Like requireTool for a client that is not a bare name on PATH (a Python module, say):
 * `missing` says what is absent, undefined when everything is there.
 */
export function requireAvailable(clients: string, missing: string | undefined): boolean {
  if (missing === undefined) return false;
  if (process.env.CI === 'true') {
    it(`the interop clients ${clients} are installed (CI=true)`, () => {
      expect.fail(`missing ${missing}`);
    });
  }
  return true;
}

/**
 * The system Python with its Debian packages (python3-cryptography, python3-rfc3161ng): a
 * python3 earlier on PATH may be another installation (a pyenv shim) without them.
 */
export const SYSTEM_PYTHON = process.env.ATTESTAMP_TEST_PYTHON ?? '/usr/bin/python3';

/** Returns true when the tests must be skipped: SYSTEM_PYTHON cannot import these modules. */
export function requirePythonModules(...modules: readonly string[]): boolean {
  const missing = modules.filter(
    (m) => spawnSync(SYSTEM_PYTHON, ['-c', `import ${m}`], { stdio: 'ignore' }).status !== 0,
  );
  return requireAvailable(
    `${SYSTEM_PYTHON} with ${modules.join(', ')}`,
    missing.length === 0 ? undefined : `python modules ${missing.join(', ')} for ${SYSTEM_PYTHON}`,
  );
}

/**
 * For a test that needs a capability of the machine rather than a client (mounting a tmpfs,
 * running as root), called where `missing` is absent: skips the test, or fails it with CI=true,
 * so that a CI run cannot pass without having run it.
 */
export function skipWithout(ctx: TestContext, missing: string): void {
  if (process.env.CI === 'true') expect.fail(`this test needs ${missing} (CI=true)`);
  ctx.skip();
}

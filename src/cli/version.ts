// The package name and version shown by `--version`, read from the nearest package.json above
// the running file (works from the sources under test and from the built dist/ alike).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** `name version`, e.g. `attestamp 0.1.0`; `unknown` when no package.json can be read. */
export function packageVersion(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (typeof parsed === 'object' && parsed !== null && 'version' in parsed) {
        const version = parsed.version;
        if (typeof version === 'string') return (cached = version);
      }
    } catch {
      // not here: look one folder up
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return (cached = 'unknown');
}

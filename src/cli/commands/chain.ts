// The chain command: writes a partition's certificates as PEM files.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { encodePem, sha256Fingerprint } from '../../pki/index.js';
import { flag, requiredOption, type Command } from '../command.js';
import { withHsm } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { jsonText } from '../output.js';
import { MASTER_OPTIONS } from './partition.js';

export const chain: Command = {
  path: ['chain'],
  summary: "Write a partition's certificate chain: root, device, attestation and timestamp keys.",
  positionals: ['PARTITION'],
  details: `Writes root.pem, device.pem, partition-attestation.pem, partition-timestamp.pem and
bundle.pem (timestamp, device, root: leaf first) into --out.`,
  options: {
    out: { type: 'string', value: 'DIR', description: 'folder to write into (required)' },
    ...MASTER_OPTIONS,
  },
  async run(inv) {
    const out = resolve(inv.io.cwd, requiredOption(inv, 'out'));
    const c = await withHsm(inv, (hsm) => hsm.chain(inv.positionals[0]!));
    mkdirSync(out, { recursive: true });
    const files: Record<string, Uint8Array> = {
      'root.pem': c.root,
      'device.pem': c.device,
      'partition-attestation.pem': c.partitionAttestation,
      'partition-timestamp.pem': c.partitionTimestamp,
    };
    for (const [name, der] of Object.entries(files)) {
      writeFileSync(join(out, name), encodePem('CERTIFICATE', der));
    }
    writeFileSync(
      join(out, 'bundle.pem'),
      [c.partitionTimestamp, c.device, c.root].map((d) => encodePem('CERTIFICATE', d)).join(''),
    );
    const summary = Object.fromEntries(
      Object.entries(files).map(([name, der]) => [name, sha256Fingerprint(der)]),
    );
    if (flag(inv, 'json')) inv.io.stdout(jsonText({ out, sha256: summary }));
    else {
      for (const [name, fp] of Object.entries(summary)) inv.io.stdout(`${name}\tSHA-256 ${fp}\n`);
      inv.io.stdout(`written to ${out}\n`);
    }
    return EXIT.ok;
  },
};

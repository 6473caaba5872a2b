// Device transport key commands (README "Backup and migration"): create a transport key inside
// the device (its domain.change rule), list them, and write one's certificate chain (transport
// certificate, then device certificate) for a source device to back a partition up to.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TransportKeyInfo } from '../../hsm/index.js';
import { encodePem, TRANSPORT_ALGORITHMS, type TransportAlgorithm } from '../../pki/index.js';
import { flag, requiredOption, stringOption, type Command, type Invocation } from '../command.js';
import { withHsm } from '../context.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { jsonText } from '../output.js';
import { MASTER_OPTIONS } from './partition.js';

/** A transport key as --json prints it (schemas/cli/transport-key.schema.json): no key bytes. */
export function transportKeyJson(k: TransportKeyInfo): Record<string, unknown> {
  return {
    id: k.id,
    algorithm: k.algorithm,
    createdAt: k.createdAt.toISOString(),
    deviceId: k.deviceId,
    subjectKeyIdentifier: k.subjectKeyIdentifier,
    certificateSha256: k.certificateDigest,
    notAfter: k.notAfter.toISOString(),
  };
}

const line = (k: TransportKeyInfo): string =>
  `${k.id}\t${k.algorithm}\t${k.createdAt.toISOString()}\tSHA-256 ${k.certificateDigest}\n`;

function algorithmOption(inv: Invocation): TransportAlgorithm {
  const v = stringOption(inv, 'algorithm') ?? 'ml-kem-768';
  if (!(TRANSPORT_ALGORITHMS as readonly string[]).includes(v)) {
    throw new UsageError(`--algorithm must be one of ${TRANSPORT_ALGORITHMS.join(', ')}`);
  }
  return v as TransportAlgorithm;
}

export const transportKeyCreate: Command = {
  path: ['device', 'transport-key', 'create'],
  summary:
    'Generate a transport key inside this device, certified by the device key (domain.change).',
  positionals: [],
  details: `The private part never leaves the device: it serves only to open backup bundles made for
its certificate (attestamp partition backup NAME --transport-cert FILE on the source device).
Under a domain.change quorum rule this makes an approval request (exit 7); once approved,
attestamp approvals execute ID creates the key.`,
  options: {
    algorithm: {
      type: 'string',
      value: 'ALG',
      description: `ml-kem-768 (default, RFC 9629 KEMRecipientInfo) or ecdh-p256 (RFC 5753)`,
    },
    ...MASTER_OPTIONS,
  },
  async run(inv) {
    const algorithm = algorithmOption(inv);
    const k = await withHsm(inv, (hsm) => hsm.createTransportKey(algorithm));
    inv.io.stdout(flag(inv, 'json') ? jsonText(transportKeyJson(k)) : line(k));
    return EXIT.ok;
  },
};

export const transportKeyList: Command = {
  path: ['device', 'transport-key', 'list'],
  summary: "List this device's transport keys (their certificates' facts, never the keys).",
  positionals: [],
  options: { ...MASTER_OPTIONS },
  async run(inv) {
    const all = await withHsm(inv, (hsm) => hsm.transportKeys());
    if (flag(inv, 'json')) inv.io.stdout(jsonText(all.map(transportKeyJson)));
    else for (const k of all) inv.io.stdout(line(k));
    return EXIT.ok;
  },
};

export const transportKeyCertificate: Command = {
  path: ['device', 'transport-key', 'certificate'],
  summary: "Write a transport key's certificate chain (PEM: transport, then device certificate).",
  positionals: ['ID'],
  details: `ID is the transport key's id or the SHA-256 of its certificate. The file is what the source
device needs: attestamp partition backup NAME --transport-cert FILE checks it against its own
factory root.`,
  options: {
    out: { type: 'string', value: 'FILE', description: 'where to write the PEM chain (required)' },
    ...MASTER_OPTIONS,
  },
  async run(inv) {
    const out = resolve(inv.io.cwd, requiredOption(inv, 'out'));
    const { key, device } = await withHsm(inv, async (hsm) => ({
      key: await hsm.transportKey(inv.positionals[0]!),
      device: (await hsm.deviceCertificateChain())[0]!,
    }));
    writeFileSync(
      out,
      [key.certificate, device].map((der) => encodePem('CERTIFICATE', der)).join(''),
    );
    if (flag(inv, 'json')) inv.io.stdout(jsonText({ ...transportKeyJson(key), out }));
    else inv.io.stdout(`transport key ${key.id} (${key.algorithm}): ${out}\n`);
    return EXIT.ok;
  },
};

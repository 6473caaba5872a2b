// CRL commands: 'crl issue' by the device key (partition certificates) or the factory root key
// (device certificates), and 'partition revoke' (RFC 5280 5).
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { openFactory } from '../../hsm/index.js';
import { CRL_REASONS, encodePem, isCrlReason, sha256Fingerprint } from '../../pki/index.js';
import { systemClock } from '../../shared/index.js';
import { flag, requiredOption, stringOption, type Command, type Invocation } from '../command.js';
import { officerCredential, storeLocation, withHsm, withOfficerHint } from '../context.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { jsonText } from '../output.js';
import { factoryPassphrase } from './device.js';
import { MASTER_OPTIONS, OFFICER_OPTIONS } from './partition.js';

const DEFAULT_NEXT_UPDATE_DAYS = 7;

function nextUpdateDays(inv: Invocation): number {
  const text = stringOption(inv, 'next-update-days');
  if (text === undefined) return DEFAULT_NEXT_UPDATE_DAYS;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 366) {
    throw new UsageError('--next-update-days must be a whole number from 1 to 366');
  }
  return n;
}

function writeCrl(
  inv: Invocation,
  crl: Uint8Array,
  result: { issuer: string; crlNumber: number; revoked?: number; recorded?: boolean },
): void {
  const outOption = stringOption(inv, 'out');
  const out = outOption === undefined ? undefined : resolve(inv.io.cwd, outOption);
  if (out !== undefined) writeFileSync(out, crl);
  if (flag(inv, 'json')) {
    inv.io.stdout(
      jsonText({
        ...result,
        sha256: sha256Fingerprint(crl),
        pem: encodePem('X509 CRL', crl),
        ...(out === undefined ? {} : { out }),
      }),
    );
  } else if (out === undefined) inv.io.stdout(encodePem('X509 CRL', crl));
  else inv.io.stderr(`CRL ${result.crlNumber} of the ${result.issuer} written to ${out} (DER)\n`);
}

export const crlIssue: Command = {
  path: ['crl', 'issue'],
  summary: 'Issue a CRL: by the device (partition certificates) or the factory (devices).',
  positionals: [],
  details: `--by device signs a CRL with the device key over the partition certificates it issued,
listing those revoked with 'attestamp partition revoke'. --by factory signs a CRL with the
factory root key over the device certificates (the factory folder keeps its cRLNumber in
crl-state.json and the CRL in root.crl); when a device store is found at --data it is recorded
there too, so that the server publishes it. Profile (RFC 5280 5): version 2, authorityKeyIdentifier,
cRLNumber (monotonic), thisUpdate, nextUpdate (--next-update-days, default 7), reason codes.
The server publishes the latest ones at PATH/crl/device.crl and PATH/crl/root.crl. Written as
DER with --out, else as PEM ("X509 CRL") on standard output.`,
  options: {
    by: { type: 'string', value: 'ISSUER', description: 'device or factory (required)' },
    factory: { type: 'string', value: 'DIR', description: 'factory folder (with --by factory)' },
    'factory-passphrase-file': {
      type: 'string',
      value: 'FILE',
      description: 'passphrase of an encrypted factory root key',
    },
    'next-update-days': {
      type: 'string',
      value: 'N',
      description: `days to nextUpdate (default ${DEFAULT_NEXT_UPDATE_DAYS})`,
    },
    out: { type: 'string', value: 'FILE', description: 'write the DER CRL here' },
    ...MASTER_OPTIONS,
  },
  async run(inv) {
    const by = requiredOption(inv, 'by');
    const days = nextUpdateDays(inv);
    if (by === 'device') {
      const crl = await withHsm(inv, (hsm) => hsm.issueDeviceCrl({ nextUpdateDays: days }));
      const state = await withHsm(inv, (hsm) => hsm.revocationState());
      writeCrl(inv, crl, {
        issuer: 'device',
        crlNumber: state.lastCrlNumber.device,
        revoked: state.revoked.length,
      });
      return EXIT.ok;
    }
    if (by !== 'factory') throw new UsageError('--by must be device or factory');
    const dir = stringOption(inv, 'factory');
    if (dir === undefined) throw new UsageError('--by factory needs --factory DIR');
    const factory = openFactory(
      resolve(inv.io.cwd, dir),
      factoryPassphrase(inv, 'factory-passphrase-file'),
    );
    const { crl, crlNumber } = await factory.issueCrl({ nextUpdateDays: days }, systemClock);
    const store = storeLocation(inv);
    const recorded = store.kind === 'postgres' || existsSync(store.location);
    if (recorded) {
      await withHsm(inv, async (hsm) => {
        await hsm.recordRootCrl(crl, crlNumber);
      });
    }
    writeCrl(inv, crl, { issuer: 'root', crlNumber, recorded });
    return EXIT.ok;
  },
};

export const partitionRevoke: Command = {
  path: ['partition', 'revoke'],
  summary: "Revoke a partition's certificates for the device's next CRL (needs the officer).",
  positionals: ['NAME'],
  details: `Both certificates of the partition (attestation and timestamp keys) are listed on every
CRL the device issues from then on ('attestamp crl issue --by device'). The decision is written
to the audit log. Reasons: ${Object.keys(CRL_REASONS).join(', ')}.`,
  options: {
    reason: {
      type: 'string',
      value: 'REASON',
      description: 'CRL reason code (default unspecified)',
    },
    ...OFFICER_OPTIONS,
    ...MASTER_OPTIONS,
  },
  async run(inv) {
    const name = inv.positionals[0]!;
    const reason = stringOption(inv, 'reason') ?? 'unspecified';
    if (!isCrlReason(reason) || reason === 'removeFromCRL') {
      throw new UsageError(
        `--reason must be one of ${Object.keys(CRL_REASONS)
          .filter((r) => r !== 'removeFromCRL')
          .join(', ')}`,
      );
    }
    const officer = officerCredential(inv);
    const state = await withOfficerHint(inv, () =>
      withHsm(inv, (hsm) => hsm.revokePartition(name, reason, officer)),
    );
    const serials = state.revoked.map((r) => r.serial);
    if (flag(inv, 'json'))
      inv.io.stdout(jsonText({ partition: name, reason, revokedSerials: serials }));
    else inv.io.stdout(`partition ${name} revoked (${reason}); issue a new device CRL\n`);
    return EXIT.ok;
  },
};

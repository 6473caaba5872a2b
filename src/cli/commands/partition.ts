// Partition commands: create, list, show, policy.
import type { PartitionInfo, PartitionPolicy } from '../../hsm/index.js';
import {
  isKeyAlgorithm,
  keyAlgorithmInfo,
  KEY_ALGORITHMS,
  sha256Fingerprint,
  type KeyAlgorithm,
} from '../../pki/index.js';
import { flag, onOff, stringOption, type Command, type Invocation } from '../command.js';
import { officerCredential, withHsm, withOfficerHint } from '../context.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { jsonText } from '../output.js';

export const OFFICER_OPTIONS = {
  officer: { type: 'string', value: 'NAME', description: 'security officer name (default so)' },
  'officer-passphrase-file': {
    type: 'string',
    value: 'FILE',
    description: 'officer passphrase file (or $ATTESTAMP_OFFICER_PASSPHRASE)',
  },
} as const;

export const MASTER_OPTIONS = {
  'master-key-file': {
    type: 'string',
    value: 'FILE',
    description: 'master key file (default DATA/master.key; or $ATTESTAMP_MASTER_KEY)',
  },
} as const;

/**
 * The operator's warning for a timestamp unit whose tokens `openssl ts -verify` cannot check:
 * RSA-PSS (a long-standing OpenSSL limitation) and the post-quantum algorithms (OpenSSL 3.0 has
 * none). The tokens are valid CMS; users who check them with OpenSSL see them fail. undefined
 * for other algorithms.
 */
export function opensslTsWarning(alg: KeyAlgorithm): string | undefined {
  const info = keyAlgorithmInfo(alg);
  const limitation = info.opensslTsLimitation;
  if (limitation === undefined) return undefined;
  const verifiers = info.tokenVerifiers ?? 'attestamp-verify, Java and Python verify them';
  const ownUnit =
    info.postQuantum === true
      ? '; serve it as a unit of its own path, whose policy defaults to the post-quantum ARC.6.2'
      : '';
  return `${alg} time-stamp tokens cannot be verified with 'openssl ts -verify' (${limitation}); ${verifiers}. Use rsa-3072 or ecdsa-p256 for clients that verify with OpenSSL${ownUnit}`;
}

function algorithm(inv: Invocation, name: string, fallback: KeyAlgorithm): KeyAlgorithm {
  const v = stringOption(inv, name);
  if (v === undefined) return fallback;
  if (!isKeyAlgorithm(v))
    throw new UsageError(`--${name} must be one of ${KEY_ALGORITHMS.join(', ')}`);
  return v;
}

export function partitionJson(p: PartitionInfo): Record<string, unknown> {
  return {
    name: p.name,
    id: p.id,
    createdAt: p.createdAt.toISOString(),
    policy: p.policy,
    attestationCertificateSha256: sha256Fingerprint(p.attestationCertificate),
    timestampCertificateSha256: sha256Fingerprint(p.timestampCertificate),
  };
}

function printPartition(inv: Invocation, p: PartitionInfo): void {
  const o = inv.io.stdout;
  o(`partition ${p.name} (${p.id})\n`);
  o(`  created:            ${p.createdAt.toISOString()}\n`);
  o(`  export allowed:     ${p.policy.exportAllowed ? 'yes' : 'no'}\n`);
  o(`  import allowed:     ${p.policy.importAllowed ? 'yes' : 'no'}\n`);
  o(
    `  invalidation:       ${p.policy.invalidation ? 'on (delete moves keys to the trash)' : 'off (delete destroys)'}\n`,
  );
  o(`  read-only:          ${p.policy.readOnly ? 'yes' : 'no'}\n`);
  o(`  key use rule:       ${p.policy.keyUseRuleRequired ? 'required' : 'optional'}\n`);
  o(`  attestation cert:   SHA-256 ${sha256Fingerprint(p.attestationCertificate)}\n`);
  o(`  timestamp cert:     SHA-256 ${sha256Fingerprint(p.timestampCertificate)}\n`);
}

function policyChanges(inv: Invocation): Partial<PartitionPolicy> {
  const changes: { -readonly [K in keyof PartitionPolicy]?: boolean } = {};
  const exp = onOff(inv, 'export');
  const imp = onOff(inv, 'import');
  const inval = onOff(inv, 'invalidation');
  const ro = onOff(inv, 'read-only');
  const rule = onOff(inv, 'key-use-rule');
  if (rule !== undefined) changes.keyUseRuleRequired = rule;
  if (exp !== undefined) changes.exportAllowed = exp;
  if (imp !== undefined) changes.importAllowed = imp;
  if (inval !== undefined) changes.invalidation = inval;
  if (ro !== undefined) changes.readOnly = ro;
  return changes;
}

const POLICY_OPTIONS = {
  export: {
    type: 'string',
    value: 'on|off',
    description: 'allow export of extractable keys (default off)',
  },
  import: { type: 'string', value: 'on|off', description: 'allow key import (default off)' },
  invalidation: {
    type: 'string',
    value: 'on|off',
    description: 'delete moves keys to the trash (default on)',
  },
  'read-only': {
    type: 'string',
    value: 'on|off',
    description: 'refuse every change (default off)',
  },
  'key-use-rule': {
    type: 'string',
    value: 'on|off',
    description: 'every new key must carry a use rule in its own policy (default off)',
  },
} as const;

export const partitionCreate: Command = {
  path: ['partition', 'create'],
  summary:
    'Create a partition with its own attestation and timestamp keys, certified by the device.',
  positionals: ['NAME'],
  details: `A policy other than the default (export off, import off, invalidation on, read-only off)
is set through 'attestamp partition policy', which needs a security officer.`,
  options: {
    'timestamp-algorithm': {
      type: 'string',
      value: 'ALG',
      description: `timestamp key algorithm (default ecdsa-p256; ${KEY_ALGORITHMS.join(', ')})`,
    },
    'attestation-algorithm': {
      type: 'string',
      value: 'ALG',
      description: 'attestation key algorithm (default ecdsa-p384)',
    },
    'timestamp-key-usage-years': {
      type: 'string',
      value: 'N',
      description: 'privateKeyUsagePeriod of the timestamp key in years (default: none)',
    },
    ...MASTER_OPTIONS,
  },
  async run(inv) {
    const name = inv.positionals[0]!;
    const yearsText = stringOption(inv, 'timestamp-key-usage-years');
    const years = yearsText === undefined ? undefined : Number(yearsText);
    if (years !== undefined && (!Number.isInteger(years) || years < 1 || years > 30)) {
      throw new UsageError('--timestamp-key-usage-years must be a whole number from 1 to 30');
    }
    const tsAlg = algorithm(inv, 'timestamp-algorithm', 'ecdsa-p256');
    const attAlg = algorithm(inv, 'attestation-algorithm', 'ecdsa-p384');
    const warning = opensslTsWarning(tsAlg);
    if (warning !== undefined) inv.io.stderr(`warning: ${warning}\n`);
    const p = await withHsm(inv, (hsm) =>
      hsm.createPartition(name, {
        timestampAlgorithm: tsAlg,
        attestationAlgorithm: attAlg,
        ...(years === undefined ? {} : { timestampKeyUsageYears: years }),
      }),
    );
    if (flag(inv, 'json')) inv.io.stdout(jsonText(partitionJson(p)));
    else printPartition(inv, p);
    return EXIT.ok;
  },
};

export const partitionList: Command = {
  path: ['partition', 'list'],
  summary: 'List the partitions of the device.',
  positionals: [],
  options: { ...MASTER_OPTIONS },
  async run(inv) {
    const parts = await withHsm(inv, (hsm) => hsm.listPartitions());
    if (flag(inv, 'json')) inv.io.stdout(jsonText(parts.map(partitionJson)));
    else
      for (const p of parts)
        inv.io.stdout(`${p.name}\t${p.id}${p.policy.readOnly ? '\tread-only' : ''}\n`);
    return EXIT.ok;
  },
};

export const partitionShow: Command = {
  path: ['partition', 'show'],
  summary: 'Show a partition, its security policy and certificate fingerprints.',
  positionals: ['NAME'],
  options: { ...MASTER_OPTIONS },
  async run(inv) {
    const p = await withHsm(inv, (hsm) => hsm.partition(inv.positionals[0]!));
    if (flag(inv, 'json')) inv.io.stdout(jsonText(partitionJson(p)));
    else printPartition(inv, p);
    return EXIT.ok;
  },
};

export const partitionPolicy: Command = {
  path: ['partition', 'policy'],
  summary: "Change a partition's security policy (needs the security officer).",
  positionals: ['NAME'],
  options: { ...POLICY_OPTIONS, ...OFFICER_OPTIONS, ...MASTER_OPTIONS },
  async run(inv) {
    const changes = policyChanges(inv);
    if (Object.keys(changes).length === 0) {
      throw new UsageError('give at least one of --export, --import, --invalidation, --read-only');
    }
    const officer = officerCredential(inv);
    const p = await withOfficerHint(inv, () =>
      withHsm(inv, (hsm) => hsm.setPartitionPolicy(inv.positionals[0]!, changes, officer)),
    );
    if (flag(inv, 'json')) inv.io.stdout(jsonText(partitionJson(p)));
    else printPartition(inv, p);
    return EXIT.ok;
  },
};

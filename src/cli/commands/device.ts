// Commands for the factory and the device store: factory init, init, status, start.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createFactory, Hsm, HsmError, openFactory, type Factory } from '../../hsm/index.js';
import {
  isKeyAlgorithm,
  KEY_ALGORITHMS,
  parseCertificateFields,
  sha256Fingerprint,
  type KeyAlgorithm,
} from '../../pki/index.js';
import { systemClock } from '../../shared/index.js';
import { flag, requiredOption, stringOption, type Command, type Invocation } from '../command.js';
import {
  dataDir,
  developmentFactoryDir,
  ensureDir,
  localPrincipal,
  masterKey,
  masterKeyForInit,
  MASTER_KEY_FILE,
  officerCredential,
  OFFICER_PASSPHRASE_FILE,
  readSecretFile,
  storeLocation,
  withHsm,
  writeSecretFile,
} from '../context.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { jsonText } from '../output.js';

function algorithmOption(inv: Invocation, name: string, fallback: KeyAlgorithm): KeyAlgorithm {
  const v = stringOption(inv, name);
  if (v === undefined) return fallback;
  if (!isKeyAlgorithm(v)) {
    throw new UsageError(`--${name} must be one of ${KEY_ALGORITHMS.join(', ')}`);
  }
  return v;
}

export function factoryPassphrase(inv: Invocation, option: string): string | undefined {
  const file = stringOption(inv, option);
  if (file !== undefined) return readSecretFile(file, 'factory passphrase');
  const env = inv.io.env.ATTESTAMP_FACTORY_PASSPHRASE;
  return env === undefined || env === '' ? undefined : env;
}

const ALGORITHM_HELP = `one of ${KEY_ALGORITHMS.join(', ')}`;

export const factoryInit: Command = {
  path: ['factory', 'init'],
  summary: 'Create a factory: the root key and self-signed root certificate that certify devices.',
  positionals: [],
  details: `The factory folder holds root-key.pem (mode 0600), root.pem and factory.json. Keep it
apart from every device store: the root's private key never enters a device.`,
  options: {
    out: { type: 'string', value: 'DIR', description: 'factory folder to create (required)' },
    algorithm: {
      type: 'string',
      value: 'ALG',
      description: `root key algorithm (default ecdsa-p384; ${ALGORITHM_HELP})`,
    },
    organization: {
      type: 'string',
      value: 'O',
      description: 'organisation name (default attestamp)',
    },
    country: { type: 'string', value: 'CC', description: 'two-letter country code (default XX)' },
    'passphrase-file': {
      type: 'string',
      value: 'FILE',
      description: 'encrypt the root key with this passphrase (or $ATTESTAMP_FACTORY_PASSPHRASE)',
    },
    development: { type: 'boolean', description: 'label the factory as a development factory' },
  },
  async run(inv) {
    const out = resolve(inv.io.cwd, requiredOption(inv, 'out'));
    const country = stringOption(inv, 'country');
    if (country !== undefined && !/^[A-Z]{2}$/.test(country)) {
      throw new UsageError('--country must be two capital letters');
    }
    const passphrase = factoryPassphrase(inv, 'passphrase-file');
    const factory = await createFactory(out, {
      algorithm: algorithmOption(inv, 'algorithm', 'ecdsa-p384'),
      ...(stringOption(inv, 'organization') === undefined
        ? {}
        : { organization: stringOption(inv, 'organization') }),
      ...(country === undefined ? {} : { country }),
      development: flag(inv, 'development'),
      ...(passphrase === undefined ? {} : { passphrase }),
      clock: systemClock,
    });
    const result = { folder: out, label: factory.label, rootSha256: factory.rootSha256 };
    if (flag(inv, 'json')) inv.io.stdout(jsonText(result));
    else {
      inv.io.stdout(`factory created in ${out} (${factory.label})\n`);
      inv.io.stdout(`root certificate SHA-256: ${factory.rootSha256}\n`);
    }
    return EXIT.ok;
  },
};

async function loadOrCreateFactory(
  inv: Invocation,
): Promise<{ factory: Factory; dir: string; created: boolean }> {
  const given = stringOption(inv, 'factory');
  const passphrase = factoryPassphrase(inv, 'factory-passphrase-file');
  if (given !== undefined) {
    const dir = resolve(inv.io.cwd, given);
    return { factory: openFactory(dir, passphrase), dir, created: false };
  }
  const dir = developmentFactoryDir(inv);
  if (existsSync(join(dir, 'factory.json'))) {
    return { factory: openFactory(dir, passphrase), dir, created: false };
  }
  const factory = await createFactory(dir, { development: true, clock: systemClock });
  return { factory, dir, created: true };
}

const INIT_OPTIONS = {
  factory: {
    type: 'string',
    value: 'DIR',
    description:
      'factory that certifies the device (default: a development factory beside the data folder)',
  },
  'factory-passphrase-file': {
    type: 'string',
    value: 'FILE',
    description: 'passphrase of an encrypted factory root key',
  },
  'device-algorithm': {
    type: 'string',
    value: 'ALG',
    description: 'device key algorithm (default ecdsa-p384)',
  },
  officer: { type: 'string', value: 'NAME', description: 'security officer name (default so)' },
  'officer-passphrase-file': {
    type: 'string',
    value: 'FILE',
    description: 'officer passphrase (or $ATTESTAMP_OFFICER_PASSPHRASE); generated when absent',
  },
  'master-key-file': {
    type: 'string',
    value: 'FILE',
    description: 'file with the 64-hex-digit master key (default DATA/master.key, created)',
  },
  'no-default-partition': {
    type: 'boolean',
    description: 'do not create the partition named default',
  },
  'if-needed': { type: 'boolean', description: 'do nothing when the store exists already' },
} as const;

export async function runInit(inv: Invocation, quiet: boolean): Promise<{ created: boolean }> {
  const data = dataDir(inv);
  const store = storeLocation(inv);
  if (store.kind === 'sqlite' && existsSync(store.location)) {
    if (flag(inv, 'if-needed')) return { created: false };
    throw new HsmError(
      'store-exists',
      'a device store exists already (use --if-needed to accept it)',
      {
        details: { data },
      },
    );
  }
  const deviceAlgorithm = algorithmOption(inv, 'device-algorithm', 'ecdsa-p384');
  ensureDir(data);
  const { factory, dir: factoryDir, created: factoryCreated } = await loadOrCreateFactory(inv);
  let officer = officerCredential(inv);
  let officerFile: string | undefined;
  if (officer === undefined) {
    officerFile = join(data, OFFICER_PASSPHRASE_FILE);
    const passphrase = existsSync(officerFile)
      ? readSecretFile(officerFile, 'officer passphrase')
      : randomBytes(24).toString('base64url');
    if (!existsSync(officerFile)) writeSecretFile(officerFile, passphrase + '\n');
    officer = { name: stringOption(inv, 'officer') ?? 'so', passphrase };
  }
  const keyFile = join(data, MASTER_KEY_FILE);
  const master =
    existsSync(keyFile) && stringOption(inv, 'master-key-file') === undefined
      ? { input: masterKey(inv) }
      : masterKeyForInit(inv);
  let hsm: Hsm;
  try {
    hsm = await Hsm.init({
      path: store.location,
      masterKey: master.input,
      factory,
      officer,
      deviceAlgorithm,
      defaultPartition: flag(inv, 'no-default-partition') ? null : 'default',
      actor: localPrincipal(),
    });
  } catch (error) {
    // In PostgreSQL the store's existence shows only when it is created.
    if (error instanceof HsmError && error.code === 'store-exists' && flag(inv, 'if-needed')) {
      return { created: false };
    }
    throw error;
  }
  const device = await hsm.device();
  await hsm.close();
  if (quiet) return { created: true };
  const result = {
    data,
    deviceId: device.id,
    factory: { folder: factoryDir, label: factory.label, created: factoryCreated },
    rootSha256: factory.rootSha256,
    masterKeyFile: master.createdFile,
    officerPassphraseFile: officerFile,
  };
  if (flag(inv, 'json')) {
    inv.io.stdout(jsonText(result));
  } else {
    inv.io.stdout(`device ${device.id} initialised in ${data}\n`);
    inv.io.stdout(
      `factory: ${factory.label} (${factoryDir})${factoryCreated ? ', created' : ''}\n`,
    );
    inv.io.stdout(`root certificate SHA-256: ${factory.rootSha256}\n`);
    if (factory.development) {
      inv.io.stdout(
        'warning: development factory; certificates chain to a root that is not for production\n',
      );
    }
    if (master.createdFile !== undefined) {
      inv.io.stdout(
        `master key written to ${master.createdFile} (mode 0600); keep a copy apart from the data\n`,
      );
    }
    if (officerFile !== undefined) {
      inv.io.stdout(`officer passphrase written to ${officerFile} (mode 0600); move it offline\n`);
    }
  }
  return { created: true };
}

export const init: Command = {
  path: ['init'],
  summary: 'Create a device store: device key generated inside, certified by the factory root.',
  positionals: [],
  details: `Without --factory, a development factory is created beside the data folder
(DATA-factory) and labelled as such. The master key comes from $ATTESTAMP_MASTER_KEY,
$ATTESTAMP_MASTER_PASSPHRASE or --master-key-file; otherwise DATA/master.key is created.`,
  options: INIT_OPTIONS,
  async run(inv) {
    await runInit(inv, false);
    return EXIT.ok;
  },
};

interface StatusReport {
  readonly data: string;
  /** Which store holds the device, and where: a file path, or a URL without its password. */
  readonly store: { readonly dialect: 'sqlite' | 'postgres'; readonly location: string };
  readonly device: {
    readonly id: string;
    readonly factory: string;
    readonly development: boolean;
    readonly rootSha256: string;
    readonly certificateNotAfter: string;
  };
  readonly partitions: readonly {
    readonly name: string;
    readonly id: string;
    readonly policy: Readonly<Record<string, boolean>>;
    readonly keys: { readonly active: number; readonly invalidated: number };
    readonly timestampCertificateSha256: string;
  }[];
  readonly audit: { readonly ok: boolean; readonly entries: number; readonly head: string };
}

export async function statusReport(inv: Invocation): Promise<StatusReport> {
  return withHsm(inv, async (hsm) => {
    const device = await hsm.device();
    const cert = parseCertificateFields(device.certificate);
    const audit = await hsm.verifyAudit();
    const partitions = [];
    for (const p of await hsm.listPartitions()) {
      partitions.push({ partition: p, keys: await hsm.listKeys(p.name) });
    }
    return {
      data: dataDir(inv),
      store: hsm.storeInfo(),
      device: {
        id: device.id,
        factory: device.factoryLabel,
        development: device.development,
        rootSha256: sha256Fingerprint(device.rootCertificate),
        certificateNotAfter: cert.notAfter.toISOString(),
      },
      partitions: partitions.map(({ partition: p, keys }) => {
        return {
          name: p.name,
          id: p.id,
          policy: { ...p.policy },
          keys: {
            active: keys.filter((k) => k.state === 'active').length,
            invalidated: keys.filter((k) => k.state === 'invalidated').length,
          },
          timestampCertificateSha256: sha256Fingerprint(p.timestampCertificate),
        };
      }),
      audit: { ok: audit.ok, entries: audit.entries, head: audit.head },
    };
  });
}

export function printStatus(inv: Invocation, s: StatusReport): void {
  const out = inv.io.stdout;
  out(`data folder:  ${s.data}\n`);
  out(
    `store:        ${s.store.dialect === 'postgres' ? 'PostgreSQL' : 'SQLite'} ${s.store.location}\n`,
  );
  out(`device:       ${s.device.id} (software HSM, not a certified module)\n`);
  out(
    `factory:      ${s.device.factory}${s.device.development ? ' (development, not for production)' : ''}\n`,
  );
  out(`root SHA-256: ${s.device.rootSha256}\n`);
  out(`device certificate valid until ${s.device.certificateNotAfter}\n`);
  for (const p of s.partitions) {
    const flags = Object.entries(p.policy)
      .map(([k, v]) => `${k}=${v ? 'on' : 'off'}`)
      .join(' ');
    out(
      `partition ${p.name}: ${p.keys.active} active, ${p.keys.invalidated} invalidated keys; ${flags}\n`,
    );
  }
  out(
    `audit log:    ${s.audit.entries} entries, ${s.audit.ok ? 'chain verified' : 'CHAIN BROKEN'}\n`,
  );
}

export const status: Command = {
  path: ['status'],
  summary: 'Show the device, its partitions and the state of the audit log.',
  positionals: [],
  options: {
    'master-key-file': INIT_OPTIONS['master-key-file'],
  },
  async run(inv) {
    const s = await statusReport(inv);
    if (flag(inv, 'json')) inv.io.stdout(jsonText(s));
    else printStatus(inv, s);
    return s.audit.ok ? EXIT.ok : EXIT.integrity;
  },
};

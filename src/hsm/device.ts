// The device identity: creating a device store (device key generated inside, certified by the
// factory, first officer enrolled), opening one under its master key (a wrong key fails before
// anything is written), the one-time migration of an older store, and the device's signer.
import { randomBytes, randomUUID } from 'node:crypto';
import { buildCsr, encodeName, type DistinguishedName, type KeyAlgorithm } from '../pki/index.js';
import type { Signer } from '../pki/index.js';
import { systemClock, type Clock, type Logger } from '../shared/index.js';
import { verifyAudit } from './audit/log.js';
import { Core } from './core.js';
import { HsmError } from './errors.js';
import type { Factory } from './issuing/factory.js';
import { integrityError } from './integrity.js';
import { generateKey, signWith } from './key-crypto.js';
import { generatedAttributes } from './keys/attributes.js';
import { keyAad, sealPrivateKey } from './keys/sealing.js';
import { signerFor } from './keys/signers.js';
import {
  checkKeyCheckValue,
  deriveMasterKeys,
  makeKeyCheckValue,
  newScryptParams,
  resolveMasterSecret,
  type MasterKeyInput,
  type ScryptParams,
} from './master-key.js';
import { hashCredential } from './roles.js';
import { retryPendingScrub } from './scrub.js';
import type { DeviceStore, StoreReader, StoreTx } from './store/device-store.js';
import { createStore } from './store/open.js';
import { SCHEMA_VERSION } from './store/schema-version.js';
import type { OfficerCredential } from './types.js';
import { checkName } from './views.js';

const DEVICE_CERT_YEARS = 20;

export interface DeviceOptions {
  readonly clock?: Clock;
  /**
   * The principal of calls made without a credential, as written to the audit log (the CLI gives
   * `cli:<os user>`, the server `tsa`); an officer who proves a credential is logged by name.
   */
  readonly actor?: string;
  /** Where the HSM's warnings go (a scrub left pending after a purge); silent by default. */
  readonly logger?: Logger;
}

export interface CreateDeviceOptions extends DeviceOptions {
  /** Where the store is made: a file path (SQLite) or a postgres:// URL. */
  readonly location: string;
  readonly masterKey: MasterKeyInput;
  readonly factory: Factory;
  readonly deviceAlgorithm?: KeyAlgorithm;
  readonly officer: OfficerCredential;
}

/** Creates a device store: device key inside, certified by the factory, the first officer. */
export async function createDevice(options: CreateDeviceOptions): Promise<Core> {
  const clock = options.clock ?? systemClock;
  const actor = options.actor ?? 'operator';
  checkName('officer', options.officer.name);
  if (options.officer.passphrase.length < 8) {
    throw new HsmError('invalid-argument', 'officer passphrase must have at least 8 characters');
  }
  const deviceAlgorithm = options.deviceAlgorithm ?? 'ecdsa-p384';
  const deviceId = `SWHSM-${randomBytes(8).toString('hex').toUpperCase()}`;
  const kdf: ScryptParams | undefined =
    options.masterKey.kind === 'passphrase' ? newScryptParams() : undefined;
  const secret = resolveMasterSecret(options.masterKey, kdf);
  const keys = deriveMasterKeys(secret, deviceId);
  secret.fill(0);

  // Key generation and certification happen before the store exists, so a failure leaves
  // nothing behind.
  const deviceKey = await generateKey(deviceAlgorithm);
  const subject: DistinguishedName = {
    country: options.factory.country,
    organization: options.factory.organization,
    organizationalUnit: 'attestamp software HSM',
    commonName: `attestamp device ${deviceId}`,
    serialNumber: deviceId,
  };
  const csr = await buildCsr(encodeName(subject), {
    algorithm: deviceAlgorithm,
    spki: deviceKey.publicPart,
    sign: (tbs) => Promise.resolve(signWith(deviceKey.privateKey, deviceAlgorithm, tbs)),
  });
  const certificate = await options.factory.certifyDevice(
    { csr, deviceId, deviceAlgorithm, subject, validityYears: DEVICE_CERT_YEARS },
    clock,
  );
  const officer = hashCredential(options.officer.name, options.officer.passphrase);

  const store = await createStore(options.location);
  const core = new Core(store, keys, deviceId, clock, actor, options.logger);
  const rows = core.rows;
  const now = clock.now();
  const deviceKeyId = randomUUID();
  try {
    await store.tx(async (tx) => {
      await tx.migrate();
      await tx.meta.set('device_id', deviceId);
      await tx.meta.set('master_source', options.masterKey.kind);
      if (kdf !== undefined) await tx.meta.set('master_kdf', JSON.stringify(kdf));
      await tx.meta.set('kcv', Buffer.from(makeKeyCheckValue(keys, deviceId)).toString('hex'));
      const seq = await core.audit(tx, now, {
        action: 'device.init',
        keyId: deviceKeyId,
        outcome: 'success',
        details: {
          deviceId,
          algorithm: deviceAlgorithm,
          factory: options.factory.label,
          rootSha256: options.factory.rootSha256,
          schemaVersion: SCHEMA_VERSION,
        },
      });
      await tx.keys.insert(
        rows.sealKey({
          id: deviceKeyId,
          partition_id: null,
          label: 'device',
          role: 'device',
          kind: 'asymmetric',
          algorithm: deviceAlgorithm,
          spki: Buffer.from(deviceKey.publicPart),
          attributes_json: JSON.stringify(generatedAttributes({ destroyable: false })),
          state: 'active',
          created_at: now.toISOString(),
          invalidated_at: null,
          wrapped: sealPrivateKey(
            keys.kek,
            deviceAlgorithm,
            deviceKey.privateKey,
            keyAad(deviceId, null, deviceKeyId),
          ),
          audit_seq: seq,
        }),
      );
      await tx.device.insert(
        rows.sealDevice({
          id: deviceId,
          key_id: deviceKeyId,
          root_certificate: Buffer.from(options.factory.rootCertificate),
          certificate: Buffer.from(certificate),
          factory_label: options.factory.label,
          development: options.factory.development ? 1 : 0,
          organization: options.factory.organization,
          country: options.factory.country,
          created_at: now.toISOString(),
        }),
      );
      await tx.officers.insert(
        rows.sealOfficer({
          name: officer.name,
          params_json: JSON.stringify(officer.params),
          hash: Buffer.from(officer.hash),
          created_at: now.toISOString(),
        }),
      );
      await core.audit(tx, now, {
        action: 'officer.enrol',
        outcome: 'success',
        details: { officer: officer.name },
      });
      await seedOfficers(core, tx, now);
    });
  } catch (cause) {
    await store.close();
    throw cause;
  }
  return core;
}

/** Opens an existing store under its master key; migrates an older schema once. */
export async function openDevice(
  store: DeviceStore,
  masterKey: MasterKeyInput,
  options: DeviceOptions = {},
): Promise<Core> {
  try {
    const version = await store.meta.schemaVersion();
    if (version === 0) throw new HsmError('store-corrupt', 'the file is not a device store');
    if (version > SCHEMA_VERSION) {
      throw new HsmError('schema-too-new', 'the store was written by a newer attestamp', {
        details: { storeVersion: version, supported: SCHEMA_VERSION },
      });
    }
    await store.assertSchema([version, SCHEMA_VERSION]);
    const deviceId = await store.meta.get('device_id');
    const kcv = await store.meta.get('kcv');
    if (deviceId === undefined || kcv === undefined) {
      throw new HsmError('store-corrupt', 'the store lacks its device identity');
    }
    const kdfText = await store.meta.get('master_kdf');
    const kdf = kdfText === undefined ? undefined : (JSON.parse(kdfText) as ScryptParams);
    if (kdf !== undefined && masterKey.kind === 'key') {
      throw new HsmError('master-key-wrong', 'this store uses a master passphrase, not a key');
    }
    const secret = resolveMasterSecret(masterKey, kdf);
    const keys = deriveMasterKeys(secret, deviceId);
    secret.fill(0);
    const kcvFormat = checkKeyCheckValue(keys, deviceId, Buffer.from(kcv, 'hex'));
    const core = new Core(
      store,
      keys,
      deviceId,
      options.clock ?? systemClock,
      options.actor ?? 'operator',
      options.logger,
    );
    if (version < SCHEMA_VERSION) await migrateStore(core, version, kcvFormat);
    await retryPendingScrub(core);
    // Rows are checked where they are used, not here: a store with a tampered row still opens
    // for 'audit verify' and 'audit export', and refuses every use of that row.
    return core;
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** Schema versions the log says the store was created with or migrated to. */
async function loggedSchemaVersions(r: StoreReader): Promise<number[]> {
  const versions: number[] = [];
  for (const e of await r.audit.schemaEntries()) {
    const d = JSON.parse(e.details_json) as Record<string, unknown>;
    const v = e.action === 'device.init' ? d.schemaVersion : d.to;
    if (typeof v === 'number') versions.push(v);
  }
  return versions;
}

/**
 * Upgrades a store written by an earlier release, once, under the master key, in one
 * transaction with its audit entry. From schema 1 (before row MACs) the rows are trusted as they
 * are (they could not be checked before) and each gets its MAC; from schema 2 every key row must
 * verify under its old encoding first, and is sealed again under the new one (with its kind);
 * from schema 3 no row changes (schema 4 adds the governance table, empty, and the audit
 * entries' object, none in older entries), so none is sealed again: rows are checked where they
 * are used, as before. A store that was already migrated and had its version set back is
 * refused, as its log says otherwise. The log checks run inside the migration's transaction.
 */
async function migrateStore(core: Core, from: number, kcvFormat: 1 | 2): Promise<void> {
  await core.guard({ action: 'store.migrate' }, async () => {
    // Schema 1 predates row MACs and the key-check value of format 2; schema 2 has both.
    if (kcvFormat !== (from === 1 ? 1 : 2)) {
      throw integrityError('device', 'the key-check value does not match the schema version');
    }
    await core.store.tx(async (tx) => {
      const log = await verifyAudit(tx, core.keys.auditKey);
      if (!log.ok) {
        throw integrityError('device', 'the audit log does not verify; refusing to migrate');
      }
      if ((await loggedSchemaVersions(tx)).some((v) => v > from)) {
        throw integrityError('device', 'the log records a newer schema than the store says');
      }
      // Authenticated rows are checked under their old encoding before anything changes.
      if (from === 2) await core.rows.checkKeysBeforeV3(tx);
      const applied = await tx.migrate();
      const seq = await core.audit(tx, core.clock.now(), {
        action: 'store.migrate',
        outcome: 'success',
        details: { from: applied.from, to: applied.to },
      });
      if (from === 1) {
        await core.rows.authenticateAll(tx, seq);
        await tx.meta.set(
          'kcv',
          Buffer.from(makeKeyCheckValue(core.keys, core.deviceId, 2)).toString('hex'),
        );
      } else if (from === 2) {
        await core.rows.resealKeys(tx);
      }
      // Before schema 4 every officer was the device's security officer.
      if (from < 4) await seedOfficers(core, tx, core.clock.now());
    });
  });
}

/** Each officer without a principal becomes one, holding the device SO role. */
async function seedOfficers(core: Core, tx: StoreTx, at: Date): Promise<void> {
  const roles = core.governance.roles;
  for (const o of await tx.officers.all()) {
    if ((await roles.principal(tx, o.name)) !== undefined) continue;
    await roles.addPrincipal(tx, at, o.name, 'officer');
    await roles.grant(tx, at, o.name, 'device-so', 'device');
  }
}

/** The device key's signer, with the device certificate and the root as its chain. */
export async function deviceSigner(core: Core, r: StoreReader): Promise<Signer> {
  const device = await core.device(r);
  const keyRow = await core.rows.keyById(r, device.key_id);
  if (keyRow?.role !== 'device' || keyRow.partition_id !== null) {
    throw integrityError('device', 'the device row does not name the device key');
  }
  return signerFor(core, keyRow, [
    new Uint8Array(device.certificate),
    new Uint8Array(device.root_certificate),
  ]);
}

// Builds a factory and a device store in a temporary folder for tests.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  createFactory,
  Hsm,
  type AuditEntry,
  type Factory,
  type MasterKeyInput,
} from '../../src/hsm/index.js';
import { systemClock, type Clock } from '../../src/shared/index.js';
import { tempDir } from './tmp.js';

export const OFFICER = { name: 'so', passphrase: 'correct horse battery staple' } as const;

export interface TestDevice {
  readonly dir: string;
  readonly storePath: string;
  readonly factoryDir: string;
  readonly factory: Factory;
  readonly masterKey: MasterKeyInput;
  readonly hsm: Hsm;
}

/** A device in a SQLite file of a temp folder, or at `location` (a postgres:// URL). */
export async function createTestDevice(
  options: { clock?: Clock; location?: string } = {},
): Promise<TestDevice> {
  const clock = options.clock ?? systemClock;
  const dir = tempDir();
  const factoryDir = join(dir, 'factory');
  const factory = await createFactory(factoryDir, { development: true, clock });
  const masterKey: MasterKeyInput = { kind: 'key', key: randomBytes(32) };
  const storePath = options.location ?? join(dir, 'device.sqlite');
  const hsm = await Hsm.init({ path: storePath, masterKey, factory, officer: OFFICER, clock });
  return { dir, storePath, factoryDir, factory, masterKey, hsm };
}

/** A device of `factory` on a store at `location` (a file path or postgres:// URL), its own master key. */
export function initDevice(factory: Factory, location: string, clock: Clock): Promise<Hsm> {
  return Hsm.init({
    path: location,
    masterKey: { kind: 'key', key: randomBytes(32) },
    factory,
    officer: OFFICER,
    clock,
  });
}

/** Every entry of the device's audit log, in sequence order. */
export async function auditEntries(hsm: Hsm): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  for await (const entry of hsm.exportAudit()) entries.push(entry);
  return entries;
}

// Principals and their roles: officers (people, with a passphrase for sessions) and
// applications; each role granted in a scope (the device, or one partition). The table of which
// role every governed operation needs, in which scope, under which quorum class, is here too.
import type { JsonObject } from '../../shared/index.js';
import { HsmError } from '../errors.js';
import type { StoreReader, StoreTx } from '../store/device-store.js';
import type { GovernanceObject, GovernanceObjects } from './objects.js';
import { isPrincipalName } from './rules.js';

export const ROLES = ['device-so', 'pso', 'auditor', 'crypto-officer', 'crypto-user'] as const;
export type Role = (typeof ROLES)[number];

/** Where a role holds: device-so only on the device; pso and the crypto roles on a partition. */
export const ROLE_SCOPES: Readonly<Record<Role, readonly ('device' | 'partition')[]>> = {
  'device-so': ['device'],
  pso: ['partition'],
  auditor: ['device', 'partition'],
  'crypto-officer': ['partition'],
  'crypto-user': ['partition'],
};

export type PrincipalType = 'officer' | 'application';

export interface PrincipalBody extends JsonObject {
  readonly name: string;
  readonly type: PrincipalType;
  readonly state: 'active' | 'suspended';
  readonly createdAt: string;
}

export interface RoleBody extends JsonObject {
  readonly principal: string;
  readonly role: Role;
  readonly scope: string;
  readonly state: 'active' | 'revoked';
  readonly at: string;
}

/** The quorum classes: what a rule is set for. */
export const OPERATION_CLASSES = [
  'partition.create',
  'partition.suspend',
  'policy.change',
  'officers.change',
  'quorum.change',
  'trash.restore',
  'trash.purge',
  'key.export',
  'so.exclusion',
  'audit.export',
  'partition.backup',
  'partition.restore',
  'domain.change',
] as const;
export type OperationClass = (typeof OPERATION_CLASSES)[number];

export interface Governed {
  /** The quorum class whose rule guards it; none for key uses (their key's policy does). */
  readonly class: OperationClass | undefined;
  /** Any of these roles, in the operation's scope (device-so: on the device). */
  readonly roles: readonly Role[];
  readonly scope: 'device' | 'partition';
  /** Whether a device SO excluded from the partition may still do it (suspend, revoke). */
  readonly excludedSo?: boolean;
}

/** Every governed operation: the role it needs, its scope, and its quorum class. */
export const GOVERNED: Readonly<Record<string, Governed>> = {
  'partition.create': { class: 'partition.create', roles: ['device-so'], scope: 'device' },
  'partition.revoke': {
    class: 'partition.suspend',
    roles: ['device-so'],
    scope: 'partition',
    excludedSo: true,
  },
  'partition.policy': { class: 'policy.change', roles: ['device-so', 'pso'], scope: 'partition' },
  'key.restore': { class: 'trash.restore', roles: ['device-so', 'pso'], scope: 'partition' },
  'key.purge': { class: 'trash.purge', roles: ['device-so', 'pso'], scope: 'partition' },
  'key.export': {
    class: 'key.export',
    roles: ['device-so', 'pso', 'crypto-officer'],
    scope: 'partition',
  },
  'role.grant': { class: 'officers.change', roles: ['device-so'], scope: 'device' },
  'role.grant.partition': {
    class: 'officers.change',
    roles: ['pso', 'device-so'],
    scope: 'partition',
  },
  'role.revoke': { class: 'officers.change', roles: ['device-so'], scope: 'device' },
  'role.revoke.partition': {
    class: 'officers.change',
    roles: ['pso', 'device-so'],
    scope: 'partition',
  },
  'officer.add': { class: 'officers.change', roles: ['device-so'], scope: 'device' },
  'approver.enroll': { class: 'officers.change', roles: ['device-so'], scope: 'device' },
  'approver.revoke': { class: 'officers.change', roles: ['device-so'], scope: 'device' },
  'quorum.set': { class: 'quorum.change', roles: ['device-so'], scope: 'device' },
  'quorum.set.partition': {
    class: 'quorum.change',
    roles: ['pso', 'device-so'],
    scope: 'partition',
  },
  'partition.exclude-so': { class: 'so.exclusion', roles: ['pso'], scope: 'partition' },
  'partition.include-so': { class: 'so.exclusion', roles: ['pso'], scope: 'partition' },
  // A key's own uses and state: guarded by the rules of the key's approval policy.
  'key.sign': {
    class: undefined,
    roles: ['crypto-user', 'crypto-officer'],
    scope: 'partition',
  },
  // A secret key's uses (keys/secret-use.ts), under its use rule like a signature. Wrapping
  // takes another key out of the device: the key.export class and the export roles apply, as
  // to an export. Unwrapping makes a key: the roles that create keys.
  'key.derive': { class: undefined, roles: ['crypto-user', 'crypto-officer'], scope: 'partition' },
  // A child of a derivable key (BIP 32, SLIP-10): under the parent's use rule, as a derivation.
  'key.derive-child': {
    class: undefined,
    roles: ['crypto-user', 'crypto-officer'],
    scope: 'partition',
  },
  'key.encrypt': { class: undefined, roles: ['crypto-user', 'crypto-officer'], scope: 'partition' },
  'key.decrypt': { class: undefined, roles: ['crypto-user', 'crypto-officer'], scope: 'partition' },
  'key.mac': { class: undefined, roles: ['crypto-user', 'crypto-officer'], scope: 'partition' },
  'key.verify-mac': {
    class: undefined,
    roles: ['crypto-user', 'crypto-officer'],
    scope: 'partition',
  },
  'key.wrap': {
    class: 'key.export',
    roles: ['device-so', 'pso', 'crypto-officer'],
    scope: 'partition',
  },
  'key.unwrap': {
    class: undefined,
    roles: ['crypto-officer', 'pso', 'device-so'],
    scope: 'partition',
  },
  'key.block': { class: undefined, roles: ['crypto-officer', 'pso'], scope: 'partition' },
  'key.unblock': { class: undefined, roles: ['crypto-officer', 'pso'], scope: 'partition' },
  'key.policy': { class: undefined, roles: ['crypto-officer', 'pso'], scope: 'partition' },
  // Deleting a key: under its policy's modify rule (or every rule it has), when it has one.
  'key.delete': {
    class: undefined,
    roles: ['crypto-officer', 'pso', 'device-so'],
    scope: 'partition',
  },
  // Backup and migration (src/hsm/backup): a backup takes every key of the partition out of it
  // (sealed to a backup domain); a restore makes a partition, or replaces one under its own
  // rules; a backup domain's key is created, given to another device or taken in on the device.
  'partition.backup': {
    class: 'partition.backup',
    roles: ['device-so', 'pso'],
    scope: 'partition',
  },
  'partition.restore': { class: 'partition.restore', roles: ['device-so'], scope: 'device' },
  'partition.restore.over': {
    class: 'partition.restore',
    roles: ['device-so', 'pso'],
    scope: 'partition',
  },
  // Migration (src/hsm/backup/migration.ts): the target's receipt is an operator's act, audited
  // (it only states what the restore did); completing on the source takes the partition out of
  // service for good, as a suspension does: the partition.suspend class.
  'partition.migrate.receipt': {
    class: undefined,
    roles: ['device-so', 'pso'],
    scope: 'partition',
  },
  'partition.migrate': {
    class: 'partition.suspend',
    roles: ['device-so', 'pso'],
    scope: 'partition',
  },
  // Handing out the bundle an approved backup made (its request's result): no rule of its own
  // (the backup was approved), the roles that may back the partition up, audited.
  'backup.download': { class: undefined, roles: ['device-so', 'pso'], scope: 'partition' },
  'domain.create': { class: 'domain.change', roles: ['device-so'], scope: 'device' },
  'domain.enrol': { class: 'domain.change', roles: ['device-so'], scope: 'device' },
  'domain.join': { class: 'domain.change', roles: ['device-so'], scope: 'device' },
  // A transport key decides who can open bundles, as a domain does: the same class.
  'transport-key.create': { class: 'domain.change', roles: ['device-so'], scope: 'device' },
  'audit.export': {
    class: 'audit.export',
    roles: ['auditor', 'device-so', 'pso'],
    scope: 'device',
  },
};

export const partitionScope = (partitionId: string): string => `partition:${partitionId}`;

export const roleId = (principal: string, role: Role, scope: string): string =>
  `${principal}/${role}/${scope}`;

export function checkPrincipalName(name: string): void {
  if (!isPrincipalName(name)) {
    throw new HsmError(
      'invalid-argument',
      'a principal name is 1 to 64 letters, digits and . _ @ - (starting with a letter or digit)',
      { details: { field: 'principal' } },
    );
  }
}

export function checkRole(role: string, scope: string): Role {
  if (!(ROLES as readonly string[]).includes(role)) {
    throw new HsmError('invalid-argument', `unknown role; roles are ${ROLES.join(', ')}`, {
      details: { field: 'role' },
    });
  }
  const r = role as Role;
  const kind = scope === 'device' ? 'device' : 'partition';
  if (!ROLE_SCOPES[r].includes(kind)) {
    throw new HsmError('invalid-argument', `the role ${r} is not granted on a ${kind}`, {
      details: { field: 'scope', role: r },
    });
  }
  return r;
}

export class Roles {
  constructor(readonly objects: GovernanceObjects) {}

  principal(r: StoreReader, name: string): Promise<GovernanceObject<PrincipalBody> | undefined> {
    return this.objects.get<PrincipalBody>(r, 'principal', name);
  }

  /** The active roles of a principal (all scopes). */
  async rolesOf(r: StoreReader, principal: string): Promise<RoleBody[]> {
    const all = await this.objects.list<RoleBody>(r, 'role');
    return all.map((o) => o.body).filter((b) => b.principal === principal && b.state === 'active');
  }

  /** Whether the principal holds one of `roles` in `scope` (device-so counts on the device). */
  async holds(
    r: StoreReader,
    principal: string,
    roles: readonly Role[],
    scope: string,
  ): Promise<Role | undefined> {
    const p = await this.principal(r, principal);
    if (p?.body.state !== 'active') return undefined;
    for (const role of roles) {
      const where = role === 'device-so' ? 'device' : scope;
      const g = await this.objects.get<RoleBody>(r, 'role', roleId(principal, role, where));
      if (g?.body.state === 'active') return role;
    }
    return undefined;
  }

  /** Creates a principal (inside `tx`); refused when the name is taken. */
  async addPrincipal(
    tx: StoreTx,
    at: Date,
    name: string,
    type: PrincipalType,
    actor?: string,
  ): Promise<void> {
    checkPrincipalName(name);
    if ((await this.principal(tx, name)) !== undefined) {
      throw new HsmError('invalid-argument', 'a principal of that name exists', {
        details: { field: 'principal', principal: name },
      });
    }
    await this.objects.put<PrincipalBody>(
      tx,
      at,
      'principal',
      name,
      'device',
      { name, type, state: 'active', createdAt: at.toISOString() },
      { action: 'principal.add', actor, details: { principal: name, type } },
    );
  }

  /** Grants (or re-grants) a role in a scope, inside `tx`. */
  async grant(
    tx: StoreTx,
    at: Date,
    principal: string,
    role: Role,
    scope: string,
    actor?: string,
  ): Promise<void> {
    if ((await this.principal(tx, principal))?.body.state !== 'active') {
      throw new HsmError('invalid-argument', 'no active principal of that name', {
        details: { field: 'principal', principal },
      });
    }
    const id = roleId(principal, role, scope);
    const previous = await this.objects.get<RoleBody>(tx, 'role', id);
    if (previous?.body.state === 'active') return;
    await this.objects.put<RoleBody>(
      tx,
      at,
      'role',
      id,
      scope,
      { principal, role, scope, state: 'active', at: at.toISOString() },
      {
        action: 'role.grant',
        actor,
        partitionId: scope.startsWith('partition:') ? scope.slice(10) : undefined,
        details: { principal, role, scope },
      },
      previous,
    );
  }

  /** Revokes a role, inside `tx`; refused when it is not held. */
  async revoke(
    tx: StoreTx,
    at: Date,
    principal: string,
    role: Role,
    scope: string,
    actor?: string,
  ): Promise<void> {
    const id = roleId(principal, role, scope);
    const previous = await this.objects.get<RoleBody>(tx, 'role', id);
    if (previous?.body.state !== 'active') {
      throw new HsmError('invalid-argument', 'the principal does not hold that role there', {
        details: { field: 'role', principal, role, scope },
      });
    }
    await this.objects.put<RoleBody>(
      tx,
      at,
      'role',
      id,
      scope,
      { ...previous.body, state: 'revoked', at: at.toISOString() },
      {
        action: 'role.revoke',
        actor,
        partitionId: scope.startsWith('partition:') ? scope.slice(10) : undefined,
        details: { principal, role, scope },
      },
      previous,
    );
  }
}

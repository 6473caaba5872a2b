// Backup domains (README "Backup and migration"): an AES-256 key that exists only inside the
// devices enrolled in the domain, sealed under each one's key-encryption key in an authenticated
// governance row. A device creates a domain under its device quorum; another device of the same
// factory joins in three signed steps, each under a quorum: the joining device draws an
// ML-KEM-768 key pair and signs a request with its device key; an enrolled device checks the
// request against its own pinned root and answers with the domain key wrapped (AES-KW) under a
// key derived (HKDF-SHA-256) from an ML-KEM encapsulation to that key, signed by its device key;
// the joining device checks the answer the same way and keeps the domain key.
import { createHash, createHmac, hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import {
  encodeSignatureAlgorithm,
  isKeyAlgorithm,
  parseCertificateFields,
  verifyDeviceCertificate,
  verifySignature,
} from '../../pki/index.js';
import { bytesEqual, fromBase64, toBase64, type JsonObject } from '../../shared/index.js';
import type { Core, Operation } from '../core.js';
import { deviceSigner } from '../device.js';
import { HsmError } from '../errors.js';
import type { RequestAuthority } from '../governance/authorize.js';
import { canonicalJson } from '../governance/canonical-json.js';
import type { GovernanceObject } from '../governance/objects.js';
import type { PresentedAuthority } from '../governance/presented.js';
import type { StoreReader } from '../store/device-store.js';
import { checkName } from '../views.js';
import { aesKeyUnwrap, aesKeyWrap, open, seal } from '../wrap.js';

export interface DomainBody extends JsonObject {
  readonly id: string;
  readonly name: string;
  /**
   * active: the key is held; pending: a join request waits for its answer (no key yet); done:
   * a join request answered and joined (its seed gone).
   */
  readonly state: 'active' | 'pending' | 'done';
  readonly createdAt: string;
  /** created here, or enrolled from the device named in `from`. */
  readonly origin: 'created' | 'enrolled' | 'request';
  readonly from: string | null;
  /** The domain key (active) or the ML-KEM seed (pending), sealed under the device's KEK. */
  readonly sealed: string;
  /** Key check value of the domain key (hex); for a pending request, its public key's SHA-256. */
  readonly kcv: string;
}

/** What callers see of a domain: never the key. */
export interface BackupDomainInfo {
  readonly id: string;
  readonly name: string;
  readonly state: 'active' | 'pending' | 'done';
  readonly origin: 'created' | 'enrolled' | 'request';
  readonly from: string | null;
  readonly createdAt: Date;
  readonly kcv: string;
}

const info = (b: DomainBody): BackupDomainInfo => ({
  id: b.id,
  name: b.name,
  state: b.state,
  origin: b.origin,
  from: b.from,
  createdAt: new Date(b.createdAt),
  kcv: b.kcv,
});

const aad = (deviceId: string, id: string): string =>
  `attestamp/backup-domain/v1|${deviceId}|${id}`;

/** The domain key's check value: HMAC-SHA-256 under it of a fixed label, 16 octets (hex). */
export function domainKcv(key: Uint8Array): string {
  return createHmac('sha256', key)
    .update('attestamp backup-domain kcv v1')
    .digest()
    .subarray(0, 16)
    .toString('hex');
}

const invalid = (message: string, cause?: unknown, details?: Record<string, string>): HsmError =>
  new HsmError('backup-invalid', `domain enrolment: ${message}`, {
    ...(cause === undefined ? {} : { cause }),
    ...(details === undefined ? {} : { details }),
  });

/** Every domain record of the device (authenticated rows). */
export async function listDomains(core: Core, r: StoreReader): Promise<BackupDomainInfo[]> {
  const all = await core.governance.objects.list<DomainBody>(r, 'backup-domain');
  return all.map((o) => info(o.body));
}

async function domainObject(
  core: Core,
  r: StoreReader,
  id: string,
): Promise<GovernanceObject<DomainBody> | undefined> {
  return core.governance.objects.get<DomainBody>(r, 'backup-domain', id);
}

/** The key of an active domain this device holds; undefined when it holds none of that id. */
export async function domainKey(
  core: Core,
  r: StoreReader,
  id: string,
): Promise<Uint8Array | undefined> {
  const o = await domainObject(core, r, id);
  if (o?.body.state !== 'active') return undefined;
  const key = open(core.keys.kek, Buffer.from(o.body.sealed, 'hex'), aad(core.deviceId, id));
  if (domainKcv(key) !== o.body.kcv) {
    throw new HsmError('integrity-failed', 'the backup domain key does not match its check value', {
      details: { table: 'governance', object: `backup-domain:${id}` },
    });
  }
  return key;
}

/** The active domain of that name (or id). */
export async function requireDomain(
  core: Core,
  r: StoreReader,
  nameOrId: string,
): Promise<DomainBody> {
  for (const d of await core.governance.objects.list<DomainBody>(r, 'backup-domain')) {
    if (d.body.state === 'active' && (d.body.name === nameOrId || d.body.id === nameOrId)) {
      return d.body;
    }
  }
  throw new HsmError('backup-domain-unknown', 'this device is not enrolled in that backup domain', {
    details: { domain: nameOrId.slice(0, 64) },
  });
}

/** Creates a backup domain on this device, under the device's domain.change quorum rule. */
export function createBackupDomain(
  core: Core,
  name: string,
  authority?: RequestAuthority | PresentedAuthority,
): Promise<BackupDomainInfo> {
  checkName('domain', name);
  const op: Operation = { action: 'domain.create', details: { domain: name } };
  return core.guard(op, async () => {
    await core.governance.requireOpenRequest(authority);
    const call = { action: 'domain.create', params: { name } };
    const grant = await core.governance.authorizeOperator(authority, op, call);
    const id = randomUUID();
    const key = randomBytes(32);
    const now = core.clock.now();
    try {
      return await core.store.tx(async (tx) => {
        await grant.check(tx, now);
        await requireFreeDomainName(core, tx, name);
        const body: DomainBody = {
          id,
          name,
          state: 'active',
          createdAt: now.toISOString(),
          origin: 'created',
          from: null,
          sealed: Buffer.from(seal(core.keys.kek, key, aad(core.deviceId, id))).toString('hex'),
          kcv: domainKcv(key),
        };
        await core.governance.objects.put(tx, now, 'backup-domain', id, 'device', body, {
          action: 'domain.create',
          actor: op.actor,
          details: { domain: id, name, kcv: body.kcv },
        });
        await grant.done(tx, now, { domain: id, name });
        return info(body);
      });
    } finally {
      key.fill(0);
    }
  });
}

async function requireFreeDomainName(core: Core, r: StoreReader, name: string): Promise<void> {
  for (const d of await core.governance.objects.list<DomainBody>(r, 'backup-domain')) {
    if (d.body.name === name && d.body.state === 'active') {
      throw new HsmError('invalid-argument', 'a backup domain of that name exists on the device', {
        details: { domain: name },
      });
    }
  }
}

/** A signed enrolment message: canonical JSON, the signer's device chain and its signature. */
interface SignedMessage {
  readonly statement: string;
  readonly algorithm: string;
  /** Device certificate, then root (base64 DER). */
  readonly chain: readonly [string, string];
  readonly signature: string;
}

async function signMessage(core: Core, statement: JsonObject): Promise<Uint8Array> {
  const signer = await deviceSigner(core, core.store);
  const text = canonicalJson(statement);
  const signature = await signer.sign(new TextEncoder().encode(text));
  const chain = await core.deviceChain(core.store);
  const msg: SignedMessage = {
    statement: text,
    algorithm: signer.algorithm,
    chain: [toBase64(chain[0]!), toBase64(chain[1]!)],
    signature: toBase64(signature),
  };
  return new TextEncoder().encode(JSON.stringify(msg));
}

/**
 * A message signed by another device of this factory: its chain checked against this device's
 * pinned root, its signature by that device key. Returns the statement and the signer's id.
 */
async function verifyMessage(
  core: Core,
  bytes: Uint8Array,
): Promise<{ statement: Record<string, unknown>; deviceId: string; digest: string }> {
  let msg: Partial<Record<keyof SignedMessage, unknown>>;
  try {
    msg = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as typeof msg;
  } catch {
    throw invalid('not a signed enrolment message');
  }
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  const chain = Array.isArray(msg.chain) ? (msg.chain as unknown[]) : [];
  const device = fromBase64(str(chain[0]));
  const root = fromBase64(str(chain[1]));
  const signature = fromBase64(str(msg.signature));
  if (device === undefined || root === undefined || signature === undefined) {
    throw invalid('malformed chain or signature');
  }
  const own = await core.device(core.store);
  if (!bytesEqual(root, own.root_certificate)) throw invalid('signed under another factory root');
  let deviceId: string;
  try {
    deviceId = await verifyDeviceCertificate(device, root, core.clock.now());
  } catch (cause) {
    throw new HsmError(
      'backup-invalid',
      'domain enrolment: the device certificate does not verify',
      {
        cause,
      },
    );
  }
  const alg = str(msg.algorithm);
  if (!isKeyAlgorithm(alg)) throw invalid('unknown signature algorithm');
  const text = str(msg.statement);
  const ok = await verifySignature(
    parseCertificateFields(device).spki,
    encodeSignatureAlgorithm(alg),
    new TextEncoder().encode(text),
    signature,
  );
  if (!ok) throw invalid('the signature does not verify');
  let statement: Record<string, unknown>;
  try {
    statement = JSON.parse(text) as Record<string, unknown>;
    if (canonicalJson(statement as JsonObject) !== text) throw new Error('not canonical');
  } catch {
    throw invalid('statement not canonical JSON');
  }
  return {
    statement,
    deviceId,
    digest: createHash('sha256').update(text).digest('hex'),
  };
}

/**
 * Step 1, on the joining device: a fresh ML-KEM-768 key pair (its seed kept sealed in a pending
 * domain record) and the request, signed by the device key. No quorum: it grants nothing.
 */
export function domainJoinRequest(core: Core, name: string): Promise<Uint8Array> {
  checkName('domain', name);
  const op: Operation = { action: 'domain.request', details: { domain: name } };
  return core.guard(op, async () => {
    const id = randomUUID();
    const seed = randomBytes(64);
    const { publicKey } = ml_kem768.keygen(seed);
    const now = core.clock.now();
    try {
      const statement = {
        format: 'attestamp-domain-join-request/v1',
        request: id,
        domain: name,
        device: core.deviceId,
        at: now.toISOString(),
        kem: 'ml-kem-768',
        publicKey: toBase64(publicKey),
      };
      const bytes = await signMessage(core, statement);
      await core.store.tx(async (tx) => {
        const body: DomainBody = {
          id,
          name,
          state: 'pending',
          createdAt: now.toISOString(),
          origin: 'request',
          // A pending request names the digest of its statement: the answer names it too.
          from: createHash('sha256').update(canonicalJson(statement)).digest('hex'),
          sealed: Buffer.from(seal(core.keys.kek, seed, aad(core.deviceId, id))).toString('hex'),
          kcv: createHash('sha256').update(publicKey).digest('hex'),
        };
        await core.governance.objects.put(tx, now, 'backup-domain', id, 'device', body, {
          action: 'domain.request',
          details: { request: id, name },
        });
      });
      return bytes;
    } finally {
      seed.fill(0);
    }
  });
}

/**
 * Step 2, on an enrolled device, under its domain.change quorum rule: the domain key for the
 * device that signed `request`, encapsulated to its ML-KEM key and signed by this device.
 */
export function enrolDevice(
  core: Core,
  domain: string,
  request: Uint8Array,
  authority?: RequestAuthority | PresentedAuthority,
): Promise<Uint8Array> {
  const op: Operation = { action: 'domain.enrol', details: { domain: domain.slice(0, 64) } };
  return core.guard(op, async () => {
    await core.governance.requireOpenRequest(authority);
    const req = await verifyMessage(core, request);
    const s = req.statement;
    if (s['format'] !== 'attestamp-domain-join-request/v1' || s['kem'] !== 'ml-kem-768') {
      throw invalid('not a join request');
    }
    if (req.deviceId !== s['device'] || req.deviceId === core.deviceId) {
      throw invalid('the request names another device (or this one)');
    }
    const d = await requireDomain(core, core.store, domain);
    if (s['domain'] !== d.name) {
      throw invalid('the request is for another domain', undefined, {
        domain: d.name,
        requested: String(s['domain']).slice(0, 64),
      });
    }
    const publicKey = fromBase64(String(s['publicKey']));
    if (publicKey?.length !== 1184) throw invalid('not an ML-KEM-768 public key');
    const call = {
      action: 'domain.enrol',
      params: { domain: d.id, device: req.deviceId, request: req.digest },
      // Under a rule, the request's execution needs the signed join request itself.
      escrow: { message: toBase64(request) },
    };
    op.details = { ...op.details, device: req.deviceId };
    const grant = await core.governance.authorizeOperator(authority, op, call);
    const key = await domainKey(core, core.store, d.id);
    if (key === undefined) throw new HsmError('backup-domain-unknown', 'the domain key is gone');
    const { cipherText, sharedSecret } = ml_kem768.encapsulate(publicKey);
    const kek = Buffer.from(
      hkdfSync(
        'sha256',
        sharedSecret,
        new Uint8Array(0),
        `attestamp domain-enrol v1|${req.digest}`,
        32,
      ),
    );
    let wrapped: Uint8Array;
    try {
      wrapped = aesKeyWrap(kek, key, 'kw');
    } finally {
      kek.fill(0);
      sharedSecret.fill(0);
      key.fill(0);
    }
    const now = core.clock.now();
    const answer = await signMessage(core, {
      format: 'attestamp-domain-enrolment/v1',
      domain: d.id,
      name: d.name,
      kcv: d.kcv,
      to: req.deviceId,
      request: req.digest,
      at: now.toISOString(),
      ciphertext: toBase64(cipherText),
      wrappedKey: toBase64(wrapped),
    });
    await core.store.tx(async (tx) => {
      await grant.check(tx, now);
      await core.audit(tx, now, {
        actor: op.actor,
        action: 'domain.enrol',
        outcome: 'success',
        details: { domain: d.id, device: req.deviceId, request: req.digest },
      });
      await grant.done(tx, now, {
        domain: d.id,
        device: req.deviceId,
        enrolment: toBase64(answer),
      });
    });
    return answer;
  });
}

/**
 * Step 3, on the joining device, under its domain.change quorum rule: the answer to its pending
 * request, checked (this factory's root, the sponsor's signature, this device, the request it
 * made, the key check value), and the domain key kept.
 */
export function joinBackupDomain(
  core: Core,
  enrolment: Uint8Array,
  authority?: RequestAuthority | PresentedAuthority,
): Promise<BackupDomainInfo> {
  const op: Operation = { action: 'domain.join' };
  return core.guard(op, async () => {
    await core.governance.requireOpenRequest(authority);
    const ans = await verifyMessage(core, enrolment);
    const s = ans.statement;
    if (s['format'] !== 'attestamp-domain-enrolment/v1' || s['to'] !== core.deviceId) {
      throw invalid('not an enrolment for this device');
    }
    const domainId = String(s['domain']);
    const name = String(s['name']);
    checkName('domain', name);
    if (!/^[0-9a-f-]{36}$/.test(domainId)) throw invalid('the domain id is malformed');
    const pending = (
      await core.governance.objects.list<DomainBody>(core.store, 'backup-domain')
    ).find(
      (o) =>
        o.body.state === 'pending' && o.body.origin === 'request' && o.body.from === s['request'],
    );
    if (pending === undefined) throw invalid('no join request is pending');
    if (pending.body.name !== name) {
      throw invalid('the answer is for another domain than the request', undefined, {
        domain: name,
        requested: pending.body.name,
      });
    }
    const call = {
      action: 'domain.join',
      params: { domain: domainId, from: ans.deviceId, enrolment: ans.digest },
      escrow: { message: toBase64(enrolment) },
    };
    const grant = await core.governance.authorizeOperator(authority, op, call);
    // The request it answers: one of ours, by the digest of its statement.
    const seed = open(
      core.keys.kek,
      Buffer.from(pending.body.sealed, 'hex'),
      aad(core.deviceId, pending.id),
    );
    const { secretKey, publicKey } = ml_kem768.keygen(seed);
    seed.fill(0);
    if (createHash('sha256').update(publicKey).digest('hex') !== pending.body.kcv) {
      throw new HsmError('integrity-failed', 'the pending join request does not match its key');
    }
    const ct = fromBase64(String(s['ciphertext']));
    const wrapped = fromBase64(String(s['wrappedKey']));
    if (ct === undefined || wrapped === undefined) throw invalid('malformed answer');
    let key: Uint8Array;
    try {
      const ss = ml_kem768.decapsulate(ct, secretKey);
      const kek = Buffer.from(
        hkdfSync(
          'sha256',
          ss,
          new Uint8Array(0),
          `attestamp domain-enrol v1|${String(s['request'])}`,
          32,
        ),
      );
      try {
        key = aesKeyUnwrap(kek, wrapped, 'kw');
      } finally {
        kek.fill(0);
        ss.fill(0);
      }
    } catch (cause) {
      throw new HsmError('backup-invalid', 'domain enrolment: the domain key does not unwrap', {
        cause,
      });
    } finally {
      secretKey.fill(0);
    }
    try {
      if (domainKcv(key) !== s['kcv'])
        throw invalid('the domain key does not match its check value');
      const now = core.clock.now();
      return await core.store.tx(async (tx) => {
        await grant.check(tx, now);
        if ((await domainObject(core, tx, domainId)) !== undefined) {
          throw new HsmError('invalid-argument', 'this device holds that domain already', {
            details: { domain: domainId },
          });
        }
        const held = await core.governance.objects.list<DomainBody>(tx, 'backup-domain');
        if (held.some((o) => o.body.state === 'active' && o.body.name === name)) {
          throw new HsmError('invalid-argument', 'this device holds a domain of that name', {
            details: { domain: name },
          });
        }
        const body: DomainBody = {
          id: domainId,
          name,
          state: 'active',
          createdAt: now.toISOString(),
          origin: 'enrolled',
          from: ans.deviceId,
          sealed: Buffer.from(seal(core.keys.kek, key, aad(core.deviceId, domainId))).toString(
            'hex',
          ),
          kcv: domainKcv(key),
        };
        await core.governance.objects.put(tx, now, 'backup-domain', domainId, 'device', body, {
          action: 'domain.join',
          actor: op.actor,
          details: { domain: domainId, from: ans.deviceId, enrolment: ans.digest },
        });
        // The request is answered and done: its seed is no longer kept.
        await core.governance.objects.put(
          tx,
          now,
          'backup-domain',
          pending.id,
          'device',
          { ...pending.body, sealed: '', state: 'done', origin: 'request', kcv: 'answered' },
          { action: 'domain.request', details: { request: pending.id, answered: true } },
          pending,
        );
        await grant.done(tx, now, { domain: domainId, from: ans.deviceId });
        return info(body);
      });
    } finally {
      key.fill(0);
    }
  });
}

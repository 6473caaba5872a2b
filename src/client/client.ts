// The typed REST API client: openapi-fetch over the types generated from the OpenAPI document,
// on undici's fetch with its own dispatcher (the server's CA, a client certificate for mutual
// TLS), a bearer token, and every refusal raised as an ApiClientError with the server's code.
import createClient, { type Client } from 'openapi-fetch';
import { Agent, fetch as undiciFetch, Request as UndiciRequest } from 'undici';
import { ApiClientError, problemError, transportError, type Problem } from './errors.js';
import type { components, paths } from './schema.js';

type Schemas = components['schemas'];
export type Device = Schemas['Device'];
export type Partition = Schemas['Partition'];
export type Chain = Schemas['Chain'];
export type PartitionChain =
  paths['/v1/partitions/{partition}/chain']['get']['responses']['200']['content']['application/json'];
export type Key = Schemas['Key'];
export type Approval = Schemas['Approval'];
export type ApproverKey = Schemas['ApproverKey'];
export type RuleInForce = Schemas['RuleInForce'];
export type OperationClass = Schemas['OperationClass'];
export type Algorithm = Schemas['Algorithm'];
export type KeyState = Key['state'];
export type Decision = 'approve' | 'reject';
export type GenerateKeyBody =
  paths['/v1/partitions/{partition}/keys']['post']['requestBody']['content']['application/json'];
/** A key to import: exactly one of pkcs8, seed (with algorithm) or xprv. */
export type ImportKeyBody =
  paths['/v1/partitions/{partition}/keys/import']['post']['requestBody']['content']['application/json'];
export type Officer = Schemas['Officer'];
export type Role = Schemas['Role'];
export type RoleChange = Schemas['RoleChange'];
export type SoExclusion = Schemas['SoExclusion'];
export type CrlReason = Schemas['CrlReason'];
/**
 * A key's own approval policy as given: any of use, block, unblock and modify, each a quorum
 * rule (the README's rule language) or null. The document types a rule as any object (the
 * HSM's rule parser checks it), which the generated type cannot hold.
 */
export type KeyPolicyInput = {
  readonly [rule in keyof Schemas['KeyPolicyInput']]?: Readonly<Record<string, unknown>> | null;
};
export type DeriveChildBody =
  paths['/v1/partitions/{partition}/keys/{label}/children']['post']['requestBody']['content']['application/json'];
export type KeyAddressType = 'p2wpkh' | 'p2tr' | 'ethereum';
export type KeyAddress =
  paths['/v1/partitions/{partition}/keys/{label}/address']['get']['responses']['200']['content']['application/json'];
export type PartitionRevocation =
  paths['/v1/partitions/{partition}/revoke']['post']['responses']['200']['content']['application/json'];

export type BackupDomain = Schemas['BackupDomain'];
export type TransportKey = Schemas['TransportKey'];
export type RestoreResult =
  paths['/v1/restores']['post']['responses']['201']['content']['application/json'];

/**
 * Who can open a bundle: a backup domain (name or id), a target's transport chain (DER), or
 * `threshold` of the custodians whose certificates (DER) are given.
 */
export type BackupTarget =
  | { readonly domain: string }
  | { readonly transportCertificate: readonly Uint8Array[] }
  | {
      readonly custodians: {
        readonly threshold: number;
        readonly certificates: readonly Uint8Array[];
      };
    };

/** A migration receipt (DER) with its SHA-256 (hex) and signed statement. */
export interface MigrationReceipt {
  readonly receipt: Uint8Array;
  readonly digest: string;
  readonly statement: Readonly<Record<string, unknown>>;
}

export type MigrationResult =
  paths['/v1/partitions/{partition}/migration']['post']['responses']['200']['content']['application/json'];

export interface CompleteMigrationOptions {
  /** The bundle the receipt names (optional). */
  readonly bundle?: Uint8Array;
  readonly dryRun?: boolean;
}

/** A bundle made (or downloaded), with its serial and SHA-256 (hex). */
export interface Bundle {
  readonly bundle: Uint8Array;
  readonly serial: number;
  readonly digest: string;
}

export interface RestoreOptions {
  readonly name?: string;
  readonly allowRollback?: boolean;
  readonly destroyNewer?: boolean;
}

/** The answer of a call a quorum rule may guard: done at once, or the approval request made. */
export type Guarded<T> =
  | { readonly kind: 'done'; readonly value: T }
  | { readonly kind: 'approval'; readonly approval: Approval };

/** What to sign or verify: the data, or a digest under the key algorithm's hash. */
export type SignInput = { readonly data: Uint8Array } | { readonly digest: Uint8Array };

/** A signature made at once, or the approval request a key's use rule made instead. */
export type SignResult =
  | {
      readonly kind: 'signature';
      readonly signature: Uint8Array;
      readonly algorithm: string;
      readonly key: string;
    }
  | { readonly kind: 'approval'; readonly approval: Approval };

/** An AEAD encryption made at once, or the approval request the key's use rule made instead. */
export type EncryptResult =
  | {
      readonly kind: 'ciphertext';
      readonly nonce: Uint8Array;
      readonly ciphertext: Uint8Array;
      readonly algorithm: string;
      readonly key: string;
      readonly encryptions: number;
      readonly limit: number;
    }
  | { readonly kind: 'approval'; readonly approval: Approval };

/** A decryption, or the approval request the key's use rule made instead. */
export type DecryptResult =
  | {
      readonly kind: 'plaintext';
      readonly plaintext: Uint8Array;
      readonly algorithm: string;
      readonly key: string;
    }
  | { readonly kind: 'approval'; readonly approval: Approval };

/** A MAC, or the approval request the key's use rule made instead. */
export type MacResult =
  | {
      readonly kind: 'mac';
      readonly mac: Uint8Array;
      readonly algorithm: string;
      readonly key: string;
    }
  | { readonly kind: 'approval'; readonly approval: Approval };

/** A wrapped key, or the approval request a rule made instead. */
export type WrapResult =
  | {
      readonly kind: 'wrapped';
      readonly wrapped: Uint8Array;
      readonly mode: 'kw' | 'kwp';
      readonly key: string;
      readonly wrappedKey: string;
    }
  | { readonly kind: 'approval'; readonly approval: Approval };

export type UnwrapBody =
  paths['/v1/partitions/{partition}/keys/{label}/unwrap']['post']['requestBody']['content']['application/json'];

/** A new key unwrapped, or the approval request the wrapping key's use rule made instead. */
export type UnwrapResult =
  | { readonly kind: 'key'; readonly key: Key }
  | { readonly kind: 'approval'; readonly approval: Approval };

type DeriveBody =
  paths['/v1/partitions/{partition}/keys/{label}/derive']['post']['requestBody']['content']['application/json'];

/** HKDF (RFC 5869) of a shared secret: the hash (default sha256), salt and info as bytes. */
export interface KdfInput {
  readonly hash?: NonNullable<DeriveBody['kdf']>['hash'];
  readonly salt?: Uint8Array;
  readonly info?: Uint8Array;
}

/** The secret key a shared secret becomes, and the HKDF that makes it. */
export interface DeriveKeyOptions {
  readonly kdf?: KdfInput;
  readonly newKey: DeriveBody['newKey'];
}

/** Where a derivation's shared secret comes from: a peer's public key (PEM) or a ciphertext. */
export type SharedSecretInput =
  { readonly peerPublicKey: string } | { readonly ciphertext: Uint8Array };

/** A derived key, or the approval request the base key's use rule made instead. */
export type DeriveResult =
  | { readonly kind: 'key'; readonly key: Key }
  | { readonly kind: 'approval'; readonly approval: Approval };

/** A key made by encapsulation, and the ciphertext the peer derives the same key from. */
export interface EncapsulateResult {
  readonly key: Key;
  readonly ciphertext: Uint8Array;
  readonly kem: 'ml-kem-768' | 'ml-kem-1024';
}

export interface ApiClientOptions {
  /** The API's origin, e.g. https://hsm.example:8443 (a path prefix is kept). */
  readonly url: string;
  /** A JWT sent as `Authorization: Bearer`. */
  readonly token?: string;
  /** PEM client certificate and its key, for mutual TLS. */
  readonly cert?: string | Uint8Array;
  readonly key?: string | Uint8Array;
  /** PEM CA certificates to trust for the server instead of the system's. */
  readonly ca?: string | Uint8Array;
  /** Connect and answer time limit (default 30 s). */
  readonly timeoutMs?: number;
}

export interface ApiClient {
  /** The openapi-fetch client for every operation of the document, typed from it. */
  readonly raw: Client<paths>;
  device(): Promise<Device>;
  partitions(): Promise<Partition[]>;
  partitionChain(partition: string): Promise<PartitionChain>;
  listKeys(partition: string, state?: KeyState): Promise<Key[]>;
  getKey(partition: string, label: string): Promise<Key>;
  generateKey(partition: string, body: GenerateKeyBody, idempotencyKey?: string): Promise<Key>;
  /**
   * Imports a key when the partition's policy allows import: a PKCS#8 private key (base64), or
   * a derivable key from a seed (base64, with its algorithm) or an extended private key.
   */
  importKey(partition: string, body: ImportKeyBody, idempotencyKey?: string): Promise<Key>;
  sign(partition: string, label: string, input: SignInput): Promise<SignResult>;
  verify(
    partition: string,
    label: string,
    input: SignInput,
    signature: Uint8Array,
  ): Promise<boolean>;
  /** AEAD encryption under a nonce the HSM draws (secret keys). */
  encrypt(
    partition: string,
    label: string,
    plaintext: Uint8Array,
    aad?: Uint8Array,
  ): Promise<EncryptResult>;
  decrypt(
    partition: string,
    label: string,
    input:
      | { readonly nonce: Uint8Array; readonly ciphertext: Uint8Array; readonly aad?: Uint8Array }
      | { readonly request: string },
  ): Promise<DecryptResult>;
  mac(partition: string, label: string, data: Uint8Array): Promise<MacResult>;
  verifyMac(partition: string, label: string, data: Uint8Array, mac: Uint8Array): Promise<boolean>;
  wrapKey(partition: string, label: string, key: string, mode?: 'kw' | 'kwp'): Promise<WrapResult>;
  unwrapKey(
    partition: string,
    label: string,
    body: Omit<UnwrapBody, 'wrapped'> & { readonly wrapped: Uint8Array },
  ): Promise<UnwrapResult>;
  /** A new secret key from a shared secret of the key `label` (ECDH, X25519, ML-KEM). */
  deriveKey(
    partition: string,
    label: string,
    source: SharedSecretInput,
    options: DeriveKeyOptions,
    idempotencyKey?: string,
  ): Promise<DeriveResult>;
  /** A new secret key encapsulated to a peer's ML-KEM public key (PEM), and its ciphertext. */
  encapsulateKey(
    partition: string,
    peerPublicKey: string,
    options: DeriveKeyOptions,
    idempotencyKey?: string,
  ): Promise<EncapsulateResult>;
  listApprovals(): Promise<Approval[]>;
  getApproval(
    id: string,
    toSign?: { readonly decision: Decision; readonly approverKey: string },
  ): Promise<Approval>;
  submitDecision(
    id: string,
    decision: Decision,
    approverKey: string,
    signature: Uint8Array,
  ): Promise<Approval>;
  executeApproval(id: string): Promise<Approval>;
  approverKeys(principal?: string): Promise<ApproverKey[]>;
  quorumRule(operation: OperationClass, partition?: string): Promise<RuleInForce>;
  /** The principals of the role table with their roles (of one partition, or all). */
  listOfficers(partition?: string): Promise<Officer[]>;
  /** Grants a role on the device (no partition) or in a partition. */
  grantRole(principal: string, role: Role, partition?: string): Promise<Guarded<RoleChange>>;
  revokeRole(principal: string, role: Role, partition?: string): Promise<Guarded<RoleChange>>;
  /** Excludes the device SO from a partition, or lets it act there again. */
  excludeSo(partition: string): Promise<Guarded<SoExclusion>>;
  includeSo(partition: string): Promise<Guarded<SoExclusion>>;
  /** Suspends a partition by revoking its certificates (reason: unspecified by default). */
  revokePartition(partition: string, reason?: CrlReason): Promise<Guarded<PartitionRevocation>>;
  /** Replaces a modifiable key's own approval policy; null clears it. */
  setKeyPolicy(
    partition: string,
    label: string,
    policy: KeyPolicyInput | null,
  ): Promise<Guarded<Key>>;
  /**
   * Derives the child at `body.path` of a derivable key (BIP 32, SLIP-10) into a new key; under
   * the parent's use rule, the approval request made instead.
   */
  deriveChildKey(partition: string, label: string, body: DeriveChildBody): Promise<Guarded<Key>>;
  /** The extended public key of a bip32-secp256k1 key (xpub, tpub, zpub or vpub). */
  keyXpub(
    partition: string,
    label: string,
    prefix?: 'xpub' | 'tpub' | 'zpub' | 'vpub',
  ): Promise<string>;
  /** The Bitcoin (P2WPKH, P2TR) or Ethereum address of a secp256k1 key. */
  keyAddress(
    partition: string,
    label: string,
    type: KeyAddressType,
    network?: 'mainnet' | 'testnet',
  ): Promise<KeyAddress>;
  /** The device's backup domains (never their keys). */
  backupDomains(): Promise<BackupDomain[]>;
  /** The transport keys of the device, with their certificates. */
  transportKeys(): Promise<TransportKey[]>;
  /** The backup bundle of a partition; under its partition.backup rule, the request made. */
  backupPartition(partition: string, target: BackupTarget): Promise<Guarded<Bundle>>;
  /** Restores a bundle (sent as raw bytes); under a partition.restore rule, the request made. */
  restorePartition(bundle: Uint8Array, options?: RestoreOptions): Promise<Guarded<RestoreResult>>;
  /** The bundle of an executed backup request (audited on the HSM as backup.download). */
  downloadBackup(id: string): Promise<Bundle>;
  /** On a migration's target: the receipt of a partition restored from another device. */
  migrationReceipt(partition: string): Promise<MigrationReceipt>;
  /** On a migration's source: checks the receipt, then completes (or dry-runs) the migration. */
  completeMigration(
    partition: string,
    receipt: Uint8Array,
    options?: CompleteMigrationOptions,
  ): Promise<Guarded<MigrationResult>>;
  /** Closes the connections (the client is unusable after). */
  close(): Promise<void>;
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const fromB64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'));

function isProblem(value: unknown): value is Problem {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.code === 'string' && typeof v.status === 'number' && typeof v.detail === 'string';
}

/** The error of a non-2xx answer: its problem document, or a bad-response error. */
function answerError(error: unknown, response: Response): ApiClientError {
  if (isProblem(error)) return problemError(error);
  return new ApiClientError(
    'client-bad-response',
    `the server answered ${String(response.status)} without a problem document`,
    response.status,
  );
}

/** The data of an openapi-fetch result, or its error raised. */
function unwrap<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (r.response.ok && r.data !== undefined) return r.data;
  if (r.response.ok) {
    throw new ApiClientError(
      'client-bad-response',
      `the server answered ${String(r.response.status)} without a body`,
      r.response.status,
    );
  }
  throw answerError(r.error, r.response);
}

/** A guarded call's answer: 202 is the approval request it became, another 2xx the result. */
function guarded<T>(r: { data?: unknown; error?: unknown; response: Response }): Guarded<T> {
  const data = unwrap(r);
  return r.response.status === 202
    ? { kind: 'approval', approval: data as Approval }
    : { kind: 'done', value: data as T };
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const base = options.url.replace(/\/+$/, '');
  const url = new URL(base);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ApiClientError(
      'client-connection-failed',
      `the API URL must be https:// (got ${url.protocol})`,
      0,
    );
  }
  const timeout = options.timeoutMs ?? 30_000;
  const agent = new Agent({
    connect: {
      ...(options.ca === undefined ? {} : { ca: Buffer.from(options.ca) }),
      ...(options.cert === undefined ? {} : { cert: Buffer.from(options.cert) }),
      ...(options.key === undefined ? {} : { key: Buffer.from(options.key) }),
      timeout,
    },
    headersTimeout: timeout,
    bodyTimeout: timeout,
  });
  const authorization =
    options.token === undefined ? {} : { authorization: `Bearer ${options.token}` };

  // undici's fetch, Request and Response are the WHATWG ones Node's global types describe (from
  // undici's own declarations); the casts and the rule exceptions bridge the two declarations.
  const send = async (request: Request): Promise<Response> => {
    try {
      // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- see above
      return await undiciFetch(request as unknown as UndiciRequest, {
        dispatcher: agent,
      });
    } catch (error) {
      throw transportError(error, base);
    }
  };
  const raw = createClient<paths>({
    baseUrl: base,
    headers: authorization,
    fetch: send,
    Request: UndiciRequest as unknown as typeof Request,
  });

  /** An operation the generated types do not have yet (hand-written against its shape). */
  async function post(
    path: string,
    body: unknown,
    idempotencyKey?: string,
  ): Promise<{ status: number; json: unknown }> {
    const response = await send(
      // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- see send
      new UndiciRequest(`${base}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...authorization,
          ...(idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey }),
        },
        body: JSON.stringify(body),
      }),
    );
    let json: unknown;
    try {
      json = await response.json();
    } catch {
      json = undefined;
    }
    if (!response.ok) throw answerError(json, response);
    if (typeof json !== 'object' || json === null) {
      throw new ApiClientError(
        'client-bad-response',
        `the server answered ${String(response.status)} without a JSON body`,
        response.status,
      );
    }
    return { status: response.status, json };
  }

  /** A bundle answered as JSON (Accept: application/json): its bytes decoded. */
  const bundleOf = (v: unknown): Bundle => {
    const o = v as { bundle: string; serial: number; digest: string };
    return { bundle: fromB64(o.bundle), serial: o.serial, digest: o.digest };
  };
  const JSON_ONLY = { accept: 'application/json' } as const;

  const keyPath = (partition: string, label: string, op: string) =>
    `/v1/partitions/${encodeURIComponent(partition)}/keys/${encodeURIComponent(label)}/${op}`;
  const deriveBody = (options: DeriveKeyOptions) => ({
    ...(options.kdf === undefined
      ? {}
      : {
          kdf: {
            ...(options.kdf.hash === undefined ? {} : { hash: options.kdf.hash }),
            ...(options.kdf.salt === undefined ? {} : { salt: b64(options.kdf.salt) }),
            ...(options.kdf.info === undefined ? {} : { info: b64(options.kdf.info) }),
          },
        }),
    newKey: options.newKey,
  });
  const inputBody = (input: SignInput) =>
    'data' in input ? { data: b64(input.data) } : { digest: b64(input.digest) };

  return {
    raw,
    device: async () => unwrap(await raw.GET('/v1/device')),
    partitions: async () => unwrap(await raw.GET('/v1/partitions')).partitions,
    partitionChain: async (partition) =>
      unwrap(
        await raw.GET('/v1/partitions/{partition}/chain', { params: { path: { partition } } }),
      ),
    listKeys: async (partition, state) =>
      unwrap(
        await raw.GET('/v1/partitions/{partition}/keys', {
          params: { path: { partition }, query: state === undefined ? {} : { state } },
        }),
      ).keys,
    getKey: async (partition, label) =>
      unwrap(
        await raw.GET('/v1/partitions/{partition}/keys/{label}', {
          params: { path: { partition, label } },
        }),
      ),
    generateKey: async (partition, body, idempotencyKey) =>
      unwrap(
        await raw.POST('/v1/partitions/{partition}/keys', {
          params: {
            path: { partition },
            ...(idempotencyKey === undefined
              ? {}
              : { header: { 'Idempotency-Key': idempotencyKey } }),
          },
          body,
        }),
      ),
    importKey: async (partition, body, idempotencyKey) =>
      unwrap(
        await raw.POST('/v1/partitions/{partition}/keys/import', {
          params: {
            path: { partition },
            ...(idempotencyKey === undefined
              ? {}
              : { header: { 'Idempotency-Key': idempotencyKey } }),
          },
          body,
        }),
      ),
    async sign(partition, label, input) {
      const r = await post(keyPath(partition, label, 'sign'), inputBody(input));
      if (r.status === 202) return { kind: 'approval', approval: r.json as Approval };
      const s = r.json as { signature?: unknown; algorithm?: unknown; key?: unknown };
      if (typeof s.signature !== 'string') {
        throw new ApiClientError('client-bad-response', 'the answer has no signature', r.status);
      }
      return {
        kind: 'signature',
        signature: new Uint8Array(Buffer.from(s.signature, 'base64')),
        algorithm: String(s.algorithm),
        key: String(s.key),
      };
    },
    async verify(partition, label, input, signature) {
      const r = await post(keyPath(partition, label, 'verify'), {
        ...inputBody(input),
        signature: b64(signature),
      });
      const v = (r.json as { valid?: unknown }).valid;
      if (typeof v !== 'boolean') {
        throw new ApiClientError('client-bad-response', 'the answer has no validity', r.status);
      }
      return v;
    },
    async encrypt(partition, label, plaintext, aad) {
      const r = await post(keyPath(partition, label, 'encrypt'), {
        plaintext: b64(plaintext),
        ...(aad === undefined ? {} : { aad: b64(aad) }),
      });
      if (r.status === 202) return { kind: 'approval', approval: r.json as Approval };
      const e = r.json as Record<string, unknown>;
      if (typeof e['nonce'] !== 'string' || typeof e['ciphertext'] !== 'string') {
        throw new ApiClientError('client-bad-response', 'the answer has no ciphertext', r.status);
      }
      return {
        kind: 'ciphertext',
        nonce: fromB64(e['nonce']),
        ciphertext: fromB64(e['ciphertext']),
        algorithm: String(e['algorithm']),
        key: String(e['key']),
        encryptions: Number(e['encryptions']),
        limit: Number(e['limit']),
      };
    },
    async decrypt(partition, label, input) {
      const body =
        'request' in input
          ? { request: input.request }
          : {
              nonce: b64(input.nonce),
              ciphertext: b64(input.ciphertext),
              ...(input.aad === undefined ? {} : { aad: b64(input.aad) }),
            };
      const r = await post(keyPath(partition, label, 'decrypt'), body);
      if (r.status === 202) return { kind: 'approval', approval: r.json as Approval };
      const d = r.json as Record<string, unknown>;
      if (typeof d['plaintext'] !== 'string') {
        throw new ApiClientError('client-bad-response', 'the answer has no plaintext', r.status);
      }
      return {
        kind: 'plaintext',
        plaintext: fromB64(d['plaintext']),
        algorithm: String(d['algorithm']),
        key: String(d['key']),
      };
    },
    async mac(partition, label, data) {
      const r = await post(keyPath(partition, label, 'mac'), { data: b64(data) });
      if (r.status === 202) return { kind: 'approval', approval: r.json as Approval };
      const m = r.json as Record<string, unknown>;
      if (typeof m['mac'] !== 'string') {
        throw new ApiClientError('client-bad-response', 'the answer has no mac', r.status);
      }
      return {
        kind: 'mac',
        mac: fromB64(m['mac']),
        algorithm: String(m['algorithm']),
        key: String(m['key']),
      };
    },
    async verifyMac(partition, label, data, mac) {
      const r = await post(keyPath(partition, label, 'verify-mac'), {
        data: b64(data),
        mac: b64(mac),
      });
      const v = (r.json as { valid?: unknown }).valid;
      if (typeof v !== 'boolean') {
        throw new ApiClientError('client-bad-response', 'the answer has no validity', r.status);
      }
      return v;
    },
    async wrapKey(partition, label, key, mode) {
      const r = await post(keyPath(partition, label, 'wrap'), {
        key,
        ...(mode === undefined ? {} : { mode }),
      });
      if (r.status === 202) return { kind: 'approval', approval: r.json as Approval };
      const w = r.json as Record<string, unknown>;
      if (typeof w['wrapped'] !== 'string') {
        throw new ApiClientError('client-bad-response', 'the answer has no wrapped key', r.status);
      }
      return {
        kind: 'wrapped',
        wrapped: fromB64(w['wrapped']),
        mode: w['mode'] === 'kw' ? 'kw' : 'kwp',
        key: String(w['key']),
        wrappedKey: String(w['wrappedKey']),
      };
    },
    async unwrapKey(partition, label, body) {
      const r = await post(keyPath(partition, label, 'unwrap'), {
        ...body,
        wrapped: b64(body.wrapped),
      });
      if (r.status === 202) return { kind: 'approval', approval: r.json as Approval };
      return { kind: 'key', key: r.json as Key };
    },
    async deriveKey(partition, label, source, options, idempotencyKey) {
      const r = await post(
        keyPath(partition, label, 'derive'),
        {
          ...('peerPublicKey' in source
            ? { peerPublicKey: source.peerPublicKey }
            : { ciphertext: b64(source.ciphertext) }),
          ...deriveBody(options),
        },
        idempotencyKey,
      );
      if (r.status === 202) return { kind: 'approval', approval: r.json as Approval };
      return { kind: 'key', key: r.json as Key };
    },
    async encapsulateKey(partition, peerPublicKey, options, idempotencyKey) {
      const r = await post(
        `/v1/partitions/${encodeURIComponent(partition)}/keys/encapsulate`,
        { peerPublicKey, ...deriveBody(options) },
        idempotencyKey,
      );
      const e = r.json as { key?: unknown; ciphertext?: unknown; kem?: unknown };
      if (typeof e.ciphertext !== 'string' || (e.kem !== 'ml-kem-768' && e.kem !== 'ml-kem-1024')) {
        throw new ApiClientError('client-bad-response', 'the answer has no ciphertext', r.status);
      }
      return { key: e.key as Key, ciphertext: fromB64(e.ciphertext), kem: e.kem };
    },
    listApprovals: async () => unwrap(await raw.GET('/v1/approvals')).approvals,
    getApproval: async (id, toSign) =>
      unwrap(
        await raw.GET('/v1/approvals/{id}', {
          params: { path: { id }, query: toSign === undefined ? {} : { ...toSign } },
        }),
      ),
    submitDecision: async (id, decision, approverKey, signature) =>
      unwrap(
        await raw.POST('/v1/approvals/{id}/decisions', {
          params: { path: { id } },
          body: { decision, approverKey, signature: b64(signature) },
        }),
      ),
    executeApproval: async (id) =>
      unwrap(await raw.POST('/v1/approvals/{id}/execute', { params: { path: { id } } })),
    approverKeys: async (principal) =>
      unwrap(
        await raw.GET('/v1/approver-keys', {
          params: { query: principal === undefined ? {} : { principal } },
        }),
      ).keys,
    quorumRule: async (operation, partition) =>
      unwrap(
        await raw.GET('/v1/quorum-rules/{operation}', {
          params: {
            path: { operation },
            query: partition === undefined ? {} : { partition },
          },
        }),
      ),
    listOfficers: async (partition) =>
      unwrap(
        await raw.GET('/v1/officers', {
          params: { query: partition === undefined ? {} : { partition } },
        }),
      ).officers,
    grantRole: async (principal, role, partition) =>
      guarded(
        await raw.POST('/v1/officers/{principal}/roles', {
          params: { path: { principal } },
          body: { role, ...(partition === undefined ? {} : { partition }) },
        }),
      ),
    revokeRole: async (principal, role, partition) =>
      guarded(
        await raw.DELETE('/v1/officers/{principal}/roles/{role}', {
          params: {
            path: { principal, role },
            query: partition === undefined ? {} : { partition },
          },
        }),
      ),
    excludeSo: async (partition) =>
      guarded(
        await raw.POST('/v1/partitions/{partition}/exclude-so', {
          params: { path: { partition } },
        }),
      ),
    includeSo: async (partition) =>
      guarded(
        await raw.POST('/v1/partitions/{partition}/include-so', {
          params: { path: { partition } },
        }),
      ),
    revokePartition: async (partition, reason) =>
      guarded(
        await raw.POST('/v1/partitions/{partition}/revoke', {
          params: { path: { partition } },
          ...(reason === undefined ? {} : { body: { reason } }),
        }),
      ),
    setKeyPolicy: async (partition, label, policy) =>
      guarded(
        await raw.PUT('/v1/partitions/{partition}/keys/{label}/policy', {
          params: { path: { partition, label } },
          body: { policy: policy as Schemas['KeyPolicyInput'] | null },
        }),
      ),
    deriveChildKey: async (partition, label, body) =>
      guarded(
        await raw.POST('/v1/partitions/{partition}/keys/{label}/children', {
          params: { path: { partition, label } },
          body,
        }),
      ),
    keyXpub: async (partition, label, prefix) =>
      unwrap(
        await raw.GET('/v1/partitions/{partition}/keys/{label}/xpub', {
          params: { path: { partition, label }, query: prefix === undefined ? {} : { prefix } },
        }),
      ).xpub,
    keyAddress: async (partition, label, type, network) =>
      unwrap(
        await raw.GET('/v1/partitions/{partition}/keys/{label}/address', {
          params: {
            path: { partition, label },
            query: { type, ...(network === undefined ? {} : { network }) },
          },
        }),
      ),
    backupDomains: async () => unwrap(await raw.GET('/v1/backup-domains')).domains,
    transportKeys: async () => unwrap(await raw.GET('/v1/transport-keys')).transportKeys,
    backupPartition: async (partition, target) => {
      const g = guarded<unknown>(
        await raw.POST('/v1/partitions/{partition}/backups', {
          params: { path: { partition } },
          headers: JSON_ONLY,
          body:
            'domain' in target
              ? { domain: target.domain }
              : 'custodians' in target
                ? {
                    custodians: {
                      threshold: target.custodians.threshold,
                      certificates: target.custodians.certificates.map(b64),
                    },
                  }
                : { transportCertificate: target.transportCertificate.map(b64) },
        }),
      );
      return g.kind === 'approval' ? g : { kind: 'done', value: bundleOf(g.value) };
    },
    restorePartition: async (bundle, options = {}) => {
      const query = new URLSearchParams({
        ...(options.name === undefined ? {} : { name: options.name }),
        ...(options.allowRollback === true ? { allowRollback: 'true' } : {}),
        ...(options.destroyNewer === true ? { destroyNewer: 'true' } : {}),
      }).toString();
      const response = await send(
        // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- see send
        new UndiciRequest(`${base}/v1/restores${query === '' ? '' : `?${query}`}`, {
          method: 'POST',
          headers: { 'content-type': 'application/octet-stream', ...authorization },
          body: bundle,
        }),
      );
      let json: unknown;
      try {
        json = await response.json();
      } catch {
        json = undefined;
      }
      return guarded<RestoreResult>({ data: json, error: json, response });
    },
    migrationReceipt: async (partition) => {
      const r = unwrap(
        await raw.POST('/v1/partitions/{partition}/migration-receipt', {
          params: { path: { partition } },
          headers: JSON_ONLY,
        }),
      ) as { receipt: string; digest: string; statement: Record<string, unknown> };
      return { receipt: fromB64(r.receipt), digest: r.digest, statement: r.statement };
    },
    completeMigration: async (partition, receipt, options = {}) =>
      guarded<MigrationResult>(
        await raw.POST('/v1/partitions/{partition}/migration', {
          params: { path: { partition } },
          headers: JSON_ONLY,
          body: {
            receipt: b64(receipt),
            ...(options.bundle === undefined ? {} : { bundle: b64(options.bundle) }),
            ...(options.dryRun === undefined ? {} : { dryRun: options.dryRun }),
          },
        }),
      ),
    downloadBackup: async (id) =>
      bundleOf(
        unwrap(
          await raw.GET('/v1/approvals/{id}/bundle', {
            params: { path: { id } },
            headers: JSON_ONLY,
          }),
        ),
      ),
    close: () => agent.close(),
  };
}

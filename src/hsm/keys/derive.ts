// Keys made from a shared secret, inside the HSM: a key-agreement key (ECDH, X25519) with a
// peer's public key, an ML-KEM key decapsulating a ciphertext, or an encapsulation to a peer's
// ML-KEM public key. The shared secret goes through HKDF (RFC 5869) into a new secret key of the
// partition and is wiped; it is never returned. The new key leaves only as any key does, by a
// wrapped export under its own flag and the partition policy.
import { hkdfSync, randomUUID } from 'node:crypto';
import type { JsonObject } from '../../shared/index.js';
import type { Core, Operation } from '../core.js';
import { HsmError } from '../errors.js';
import type { Authority } from '../governance/authorize.js';
import { KEY_RULE_CLASSES } from '../governance/quorum.js';
import { isHsmAlgorithm, mechanismFor, type HsmAlgorithm, type Mechanism } from '../key-crypto.js';
import { checkAlgorithmPurposes, defaultPurposes } from '../mechanisms/index.js';
import type { KeyRow } from '../store/device-store.js';
import type { KeyAttributes, KeyInfo, KeyPurpose } from '../types.js';
import { checkName, parseAttributes, toKeyInfo, toPartitionInfo } from '../views.js';
import { checkPurposes } from './attributes.js';
import { insertKey, requireFreeLabel, requireWritable } from './lifecycle.js';
import { keyParams, keyRules } from './policy.js';
import { rowAlgorithm } from './sealing.js';
import { privateKeyOf, requireUsable } from './use.js';

/** The HKDF of RFC 5869 that turns a shared secret into the new key. */
export interface KdfOptions {
  readonly hash: 'sha256' | 'sha384' | 'sha512';
  /** HKDF salt (default: none, i.e. a string of zeros of the hash length, RFC 5869 2.2). */
  readonly salt?: Uint8Array;
  /** HKDF info: the context both sides bind the key to (default: empty). */
  readonly info?: Uint8Array;
}

/** The key the shared secret becomes: a secret key of the partition. */
export interface DerivedKeyOptions {
  readonly label: string;
  readonly algorithm: HsmAlgorithm;
  readonly purposes?: readonly KeyPurpose[];
  readonly extractable?: boolean;
}

/** Where the shared secret comes from, with a key of the partition. */
export type SharedSecretSource =
  { readonly peerPublicKey: Uint8Array } | { readonly ciphertext: Uint8Array };

export interface DeriveOptions {
  readonly kdf: KdfOptions;
  readonly key: DerivedKeyOptions;
}

/** Inputs beyond these sizes are not a public key, ciphertext, salt or info of any mechanism. */
const INPUT_LIMIT = 8 * 1024;
const HASHES = ['sha256', 'sha384', 'sha512'] as const;

function checkBytes(field: string, value: unknown, required: boolean): Uint8Array | undefined {
  if (value === undefined && !required) return undefined;
  if (!(value instanceof Uint8Array) || value.length > INPUT_LIMIT) {
    throw new HsmError('invalid-argument', `${field} is bytes, at most ${INPUT_LIMIT}`, {
      details: { field },
    });
  }
  return value;
}

/** The target mechanism: a secret key algorithm that can be derived; refused by name otherwise. */
function targetOf(options: DeriveOptions): { mechanism: Mechanism; length: number } {
  checkName('label', options.key.label);
  const { algorithm } = options.key;
  if (!isHsmAlgorithm(algorithm)) {
    throw new HsmError('invalid-argument', 'unsupported key algorithm', {
      details: { algorithm: String(algorithm), field: 'algorithm' },
    });
  }
  const mechanism: Mechanism = mechanismFor(algorithm);
  if (mechanism.keyClass !== 'secret' || mechanism.secretLength === undefined) {
    throw new HsmError('invalid-argument', 'a shared secret derives secret keys only', {
      details: { algorithm, field: 'algorithm' },
    });
  }
  if (!(HASHES as readonly string[]).includes(options.kdf.hash)) {
    throw new HsmError('invalid-argument', `the KDF hash is one of ${HASHES.join(', ')}`, {
      details: { field: 'hash' },
    });
  }
  checkBytes('salt', options.kdf.salt, false);
  checkBytes('info', options.kdf.info, false);
  checkPurposes(options.key.purposes ?? []);
  checkAlgorithmPurposes(algorithm, options.key.purposes ?? defaultPurposes(algorithm));
  return { mechanism, length: mechanism.secretLength };
}

/** HKDF-SHA-2 of the shared secret (wiped here) into `length` bytes, which the caller wipes. */
export function hkdf(secret: Uint8Array, kdf: KdfOptions, length: number): Uint8Array {
  try {
    return new Uint8Array(
      hkdfSync(
        kdf.hash,
        secret,
        kdf.salt ?? new Uint8Array(0),
        kdf.info ?? new Uint8Array(0),
        length,
      ),
    );
  } finally {
    secret.fill(0);
  }
}

/** The attributes of a derived key: never local, sensitive, extractable only when asked. */
function derivedAttributes(
  mechanism: Mechanism,
  options: DerivedKeyOptions,
  base: KeyAttributes | undefined,
): KeyAttributes {
  const extractable = options.extractable ?? false;
  return {
    extractable,
    sensitive: true,
    // PKCS#11 5.18: a derived key is always sensitive (never extractable) only when its base was.
    alwaysSensitive: base?.alwaysSensitive ?? true,
    neverExtractable: !extractable && (base?.neverExtractable ?? true),
    local: false,
    modifiable: false,
    copyable: false,
    destroyable: true,
    purposes: options.purposes ?? mechanism.purposes?.default ?? [],
    origin: 'derived',
  };
}

function hex(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : Buffer.from(bytes).toString('hex');
}

/** What a request to derive names exactly (for an approval statement and its re-execution). */
function deriveParams(
  base: JsonObject,
  source: SharedSecretSource,
  options: DeriveOptions,
): JsonObject {
  const { kdf, key } = options;
  return {
    ...base,
    ...('peerPublicKey' in source
      ? { peerPublicKey: hex(source.peerPublicKey)! }
      : { ciphertext: hex(source.ciphertext)! }),
    hash: kdf.hash,
    ...(kdf.salt === undefined ? {} : { salt: hex(kdf.salt)! }),
    ...(kdf.info === undefined ? {} : { info: hex(kdf.info)! }),
    derived: {
      label: key.label,
      algorithm: key.algorithm,
      ...(key.purposes === undefined ? {} : { purposes: [...key.purposes] }),
      extractable: key.extractable ?? false,
    },
  };
}

/** The shared secret of a key of the partition with the source, by the key's own mechanism. */
function sharedSecret(core: Core, row: KeyRow, source: SharedSecretSource): Uint8Array {
  const mechanism: Mechanism = mechanismFor(rowAlgorithm(row));
  const key = privateKeyOf(core, row);
  if ('peerPublicKey' in source && mechanism.agree !== undefined) {
    return mechanism.agree(key, checkBytes('peerPublicKey', source.peerPublicKey, true)!);
  }
  if ('ciphertext' in source && mechanism.decapsulate !== undefined) {
    return mechanism.decapsulate(key, checkBytes('ciphertext', source.ciphertext, true)!);
  }
  throw new HsmError(
    'invalid-argument',
    'peerPublicKey' in source
      ? 'the key does not agree on secrets (an ECDH or X25519 key does)'
      : 'the key does not decapsulate (an ML-KEM key does)',
    { details: { label: row.label, algorithm: row.algorithm } },
  );
}

/**
 * Derives a new secret key of the partition from a shared secret of the key `label` (the base):
 * agreement with a peer's public key, or decapsulation of a ciphertext. The base needs the
 * derive purpose; under its use rule the call becomes an approval request naming every input.
 */
export function deriveKey(
  core: Core,
  partitionName: string,
  label: string,
  source: SharedSecretSource,
  options: DeriveOptions,
  authority?: Authority,
): Promise<KeyInfo> {
  const op: Operation = { action: 'key.derive', details: { partition: partitionName, label } };
  return core.guard(op, async () => {
    const { mechanism, length } = targetOf(options);
    const before = await core
      .locate(core.store, partitionName, label, op)
      .catch(async (e: unknown) => {
        await core.governance.requireOpenRequest(authority);
        throw e;
      });
    requireUsable(before.row, 'derive');
    const call = {
      action: 'key.derive',
      partitionId: before.partition.id,
      params: deriveParams(keyParams(before), source, options),
      keyRules: keyRules(before.row, [KEY_RULE_CLASSES.use]),
    };
    const grant = await core.governance.authorizeOperator(authority, op, call);
    const now = core.clock.now();
    const id = randomUUID();
    return core.store.tx(async (tx) => {
      await grant.check(tx, now);
      const found = await core.locate(tx, partitionName, label, op);
      if (found.row.id !== before.row.id) {
        throw new HsmError('store-busy', 'the key changed meanwhile; try again', {
          details: { label },
        });
      }
      requireUsable(found.row, 'derive');
      requireWritable(toPartitionInfo(found.partition).policy);
      await requireFreeLabel(tx, found.partition.id, options.key.label);
      const okm = hkdf(sharedSecret(core, found.row, source), options.kdf, length);
      try {
        const key = mechanism.load(okm);
        const attributes = derivedAttributes(mechanism, options.key, parseAttributes(found.row));
        const seq = await core.audit(tx, now, {
          actor: op.actor,
          action: 'key.derive',
          partitionId: found.partition.id,
          keyId: id,
          outcome: 'success',
          details: {
            label: options.key.label,
            algorithm: options.key.algorithm,
            from: found.row.id,
            fromLabel: label,
            source: 'peerPublicKey' in source ? 'agreement' : 'decapsulation',
            hash: options.kdf.hash,
          },
        });
        const row = await insertKey(core, tx, {
          id,
          partitionId: found.partition.id,
          label: options.key.label,
          role: 'user',
          algorithm: options.key.algorithm,
          spki: mechanism.publicPart(key),
          attributes,
          privateKey: key,
          now,
          auditSeq: seq,
        });
        await grant.done(tx, now, { key: id, label: options.key.label });
        return toKeyInfo(row, found.partition.name);
      } finally {
        okm.fill(0);
      }
    });
  });
}

/** A key made by encapsulation to a peer's ML-KEM public key, and the ciphertext for the peer. */
export interface EncapsulatedKey {
  readonly key: KeyInfo;
  readonly ciphertext: Uint8Array;
  /** The KEM the peer's public key is of. */
  readonly kem: HsmAlgorithm;
}

/**
 * Encapsulates a fresh shared secret to a peer's ML-KEM public key (SPKI DER) and derives a new
 * secret key of the partition from it; the peer derives the same key by decapsulating the
 * ciphertext with the same KDF. A key creation like generation: the partition must be writable.
 */
export function encapsulateKey(
  core: Core,
  partitionName: string,
  kem: HsmAlgorithm,
  peerPublicKey: Uint8Array,
  options: DeriveOptions,
): Promise<EncapsulatedKey> {
  const op: Operation = {
    action: 'key.encapsulate',
    details: { partition: partitionName, label: options.key.label },
  };
  return core.guard(op, async () => {
    const { mechanism, length } = targetOf(options);
    if (!isHsmAlgorithm(kem) || mechanismFor(kem).encapsulate === undefined) {
      throw new HsmError('invalid-argument', 'the algorithm does not encapsulate (ML-KEM does)', {
        details: { algorithm: kem, field: 'kem' },
      });
    }
    const { ciphertext, sharedSecret: secret } = mechanismFor(kem).encapsulate!(
      checkBytes('peerPublicKey', peerPublicKey, true)!,
    );
    const okm = hkdf(secret, options.kdf, length);
    const id = randomUUID();
    const now = core.clock.now();
    try {
      const key = mechanism.load(okm);
      const attributes = derivedAttributes(mechanism, options.key, undefined);
      const info = await core.store.tx(async (tx) => {
        const partition = await core.partitionRow(tx, partitionName);
        op.partitionId = partition.id;
        requireWritable(toPartitionInfo(partition).policy);
        await requireFreeLabel(tx, partition.id, options.key.label);
        const seq = await core.audit(tx, now, {
          action: 'key.encapsulate',
          partitionId: partition.id,
          keyId: id,
          outcome: 'success',
          details: {
            label: options.key.label,
            algorithm: options.key.algorithm,
            kem,
            hash: options.kdf.hash,
          },
        });
        const row = await insertKey(core, tx, {
          id,
          partitionId: partition.id,
          label: options.key.label,
          role: 'user',
          algorithm: options.key.algorithm,
          spki: mechanism.publicPart(key),
          attributes,
          privateKey: key,
          now,
          auditSeq: seq,
        });
        return toKeyInfo(row, partition.name);
      });
      return { key: info, ciphertext, kem };
    } finally {
      okm.fill(0);
    }
  });
}

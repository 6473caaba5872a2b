// What a route handler receives (the verified principal, the validated parameters and body)
// and answers (status, JSON body, Location), and the views of the HSM's data it answers with.
import { createPublicKey } from 'node:crypto';
import {
  backupResultBundle,
  HsmError,
  isSecretAlgorithm,
  presentedRole,
  requestBytes,
  type DeviceInfo,
  type Hsm,
  type KeyInfo,
  type PartitionInfo,
  type PresentedPrincipal,
  type RequestView,
  type Role,
} from '../../hsm/index.js';
import { encodePem, jwkFormOf } from '../../pki/index.js';
import type { JsonValue } from '../../shared/index.js';

export interface Call {
  /** The authenticated principal (undefined only for public operations). */
  readonly principal: PresentedPrincipal | undefined;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, unknown>>;
  readonly body: unknown;
  /** The raw body of an operation that takes application/octet-stream (a DER message). */
  readonly bytes?: Uint8Array;
  /** The Accept header ('' when absent), for operations that answer bytes or JSON. */
  readonly accept: string;
}

export interface Answer {
  readonly status: number;
  /** JSON, or bytes (a DER message) sent as they are under `type`. */
  readonly body: unknown;
  readonly location?: string;
  /** The media type of a bytes body (application/octet-stream by default). */
  readonly type?: string;
}

export type Handler = (call: Call) => Promise<Answer>;

export interface RouteContext {
  readonly hsm: Hsm;
  /** The OpenAPI document as JSON (GET /v1/openapi.json). */
  readonly document: unknown;
}

export const ok = (body: unknown, status = 200, location?: string): Answer =>
  location === undefined ? { status, body } : { status, body, location };

/** Every role: reading a partition's public data needs any role in it. */
export const ANY_ROLE: readonly Role[] = [
  'device-so',
  'pso',
  'auditor',
  'crypto-officer',
  'crypto-user',
];
/** Creating and deleting keys. */
export const KEY_ADMIN: readonly Role[] = ['device-so', 'pso', 'crypto-officer'];

export function principalOf(call: Call): PresentedPrincipal {
  if (call.principal === undefined) throw new Error('an authenticated route without a principal');
  return call.principal;
}

/**
 * The API's own role check for calls the HSM does not govern (reads, key generation): the
 * same rule as the HSM's (presentedRole), with the same error.
 */
export function requireRole(
  p: PresentedPrincipal,
  roles: readonly Role[],
  partition: string | undefined,
  operation: string,
): void {
  if (presentedRole(p, roles, partition) !== undefined) return;
  const scope = partition === undefined ? 'device' : `partition ${partition}`;
  throw new HsmError(
    'role-required',
    `${operation} needs the role ${roles.join(' or ')} in ${scope}`,
    {
      details: {
        operation,
        needs: roles.join('|'),
        scope: partition === undefined ? 'device' : `partition:${partition}`,
        principal: p.principal,
      },
    },
  );
}

export const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
export const pem = (label: string, der: Uint8Array): string => encodePem(label, der);
export const certPem = (der: Uint8Array): string => encodePem('CERTIFICATE', der);

export function deviceView(d: DeviceInfo): Record<string, unknown> {
  return {
    id: d.id,
    factoryLabel: d.factoryLabel,
    development: d.development,
    createdAt: d.createdAt.toISOString(),
    organization: d.organization,
    country: d.country,
    certificate: certPem(d.certificate),
  };
}

export function partitionView(p: PartitionInfo): Record<string, unknown> {
  return { id: p.id, name: p.name, policy: { ...p.policy }, createdAt: p.createdAt.toISOString() };
}

/**
 * The public key as a JWK: EC, OKP and RSA as node:crypto writes them (RFC 7518, RFC 8037), ML-DSA
 * as the AKP key type of draft-ietf-cose-dilithium, and null for a key with no JWK form (SLH-DSA,
 * or one this Node's OpenSSL cannot read).
 */
export function publicJwkOf(spki: Uint8Array): Record<string, unknown> | null {
  const form = jwkFormOf(spki);
  if (form.kind === 'akp') return { ...form.jwk };
  if (form.kind === 'none') return null;
  try {
    const publicKey = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    return { ...publicKey.export({ format: 'jwk' }) };
  } catch {
    return null;
  }
}

export function keyView(k: KeyInfo): Record<string, unknown> {
  // A secret key has no public key: its row's public part is its key check value.
  const secret = isSecretAlgorithm(k.algorithm);
  return {
    id: k.id,
    partition: k.partitionName,
    label: k.label,
    role: k.role,
    algorithm: k.algorithm,
    state: k.state,
    createdAt: k.createdAt.toISOString(),
    invalidatedAt: k.invalidatedAt === undefined ? null : k.invalidatedAt.toISOString(),
    attributes: { ...k.attributes, purposes: [...k.attributes.purposes] },
    publicKey: secret ? null : { pem: pem('PUBLIC KEY', k.spki), jwk: publicJwkOf(k.spki) },
    ...(secret ? { keyCheckValue: Buffer.from(k.spki).toString('hex') } : {}),
  };
}

/**
 * A request's result as shown: an executed backup's bundle is left out (handing it out is its
 * own audited call, GET /v1/approvals/{id}/bundle, named in `download`).
 */
export function resultView(id: string, result: JsonValue): JsonValue {
  if (backupResultBundle(result) === undefined) return result;
  const copy: Record<string, JsonValue> = { ...(result as Record<string, JsonValue>) };
  delete copy['bundle'];
  return { ...copy, download: `/v1/approvals/${id}/bundle` };
}

/** A request as JSON: its statement, the exact bytes the HSM signed, its state and approvals. */
export function approvalView(v: RequestView): Record<string, unknown> {
  const b = v.body;
  const s = b.statement;
  return JSON.parse(
    JSON.stringify({
      id: v.id,
      state: v.evaluation.state,
      requester: s.requester,
      operation: s.operation,
      statement: s,
      statementBytes: b64(requestBytes(s)),
      signer: b.signer,
      signature: b.signature,
      closedAt: b.closedAt,
      closedBy: b.closedBy,
      result: resultView(v.id, b.result),
      ...(v.evaluation.notBefore === undefined ? {} : { notBefore: v.evaluation.notBefore }),
      rules: v.evaluation.rules.map((r) => ({ ref: r.ref, evaluation: r.state })),
      approvals: v.approvals.map((a) => ({
        principal: a.principal,
        key: a.key,
        decision: a.decision,
        at: a.at,
      })),
    }),
  ) as Record<string, unknown>;
}

/** Base64 text to bytes (the schema checked the alphabet). */
export const fromB64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'));

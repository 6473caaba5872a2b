// What a backup bundle and a migration receipt share on the receiving side: each is a
// SignedData by a partition attestation key of this factory, carrying an RFC 8785 statement
// (the manifest, the receipt statement). Each caller names its own fault (backup-invalid,
// migration-receipt-invalid).
import { verifyBundleChain, type ParsedBundle } from '../../pki/index.js';
import type { JsonValue } from '../../shared/index.js';
import type { Core } from '../core.js';
import type { HsmError } from '../errors.js';
import { canonicalJson } from '../governance/canonical-json.js';

/** The error of a structure that does not verify, with the reason and its cause. */
export type Fault = (reason: string, cause?: unknown) => HsmError;

export const isText = (v: unknown): v is string => typeof v === 'string';
export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
export const KEY_ROLES: readonly string[] = [
  'partition-attestation',
  'partition-timestamp',
  'user',
];

/**
 * The signer's device and partition: the chain exactly root (this device's pinned factory
 * root, byte for byte), a device it certified, that device's partition attestation certificate.
 */
export async function signerIds(
  core: Core,
  parsed: Pick<ParsedBundle, 'certificates' | 'signer'>,
  fault: Fault,
): Promise<{ deviceId: string; partitionId: string }> {
  const device = await core.device(core.store);
  try {
    return await verifyBundleChain(parsed, device.root_certificate, core.clock.now());
  } catch (cause) {
    throw fault("the chain does not lead to this device's root", cause);
  }
}

/** The value of the statement's octets: UTF-8 JSON in its RFC 8785 form, else `fault`. */
export function canonicalValue(bytes: Uint8Array, what: string, fault: Fault): unknown {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    const value = JSON.parse(text) as JsonValue;
    if (canonicalJson(value) !== text) throw new Error('not canonical');
    return value;
  } catch (cause) {
    throw fault(`the ${what} is not canonical JSON`, cause);
  }
}
